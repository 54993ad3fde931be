//! Correlations within strata of the grid (for example each label-noise ×
//! augmentation cell) and their pooled value.
//!
//! Why: a hyper-parameter that moves both a feature and the test loss onto
//! another scale can hide a relation that holds inside every cell of the
//! grid, or fake one that holds in none (Simpson's paradox). On the MNIST
//! study the paper's measure, sublevel total persistence, has no pooled
//! relation with test loss (Spearman 0.04) but a strong one among the nets
//! trained without augmentation (0.60–0.87), so the report states both.
//!
//! * Per stratum: [`correlate`] on that stratum's nets (strata with fewer
//!   than [`MIN_STRATUM`] complete pairs are left out).
//! * Pooled within strata: the strata's coefficients averaged with weights
//!   `n` (Hunter & Schmidt's sample-size-weighted mean correlation). Not
//!   Fisher's z: with strata of 4–6 nets a coefficient of ±1 is common, and
//!   its infinite z would decide the pooled value alone. The interval is a
//!   percentile bootstrap that resamples nets within each stratum; the
//!   p-value is a permutation test that shuffles the measure within each
//!   stratum (so the strata's own levels are kept), `(1 + #{|r̄*| ≥ |r̄|}) /
//!   (1 + permutations)`. Both use the bootstrap's resample count and seed.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::bootstrap::interval_of;
use super::correlation::{average_ranks, is_constant, pearson_unchecked};
use super::{correlate, BootstrapConfig, Correlation, CorrelationMethod};
use crate::error::{CompareError, Result};

/// Fewest complete pairs a stratum needs to enter (with 3 a rank correlation
/// takes only the values ±1 and ±1/2).
pub const MIN_STRATUM: usize = 4;

/// Name of the pooled row in [`StratifiedCorrelation::strata`] listings and tables.
pub const POOLED: &str = "pooled within strata";

/// A correlation per stratum and their pooled value.
#[derive(Debug, Clone, PartialEq)]
pub struct StratifiedCorrelation {
    /// `(stratum label, its correlation)` for every stratum with at least
    /// [`MIN_STRATUM`] complete pairs, in label order.
    pub strata: Vec<(String, Correlation)>,
    /// The pooled within-strata coefficient (`n` = nets in the strata
    /// pooled, those with a finite coefficient; `dropped_nan` = pairs with a
    /// non-finite value anywhere; `undefined_resamples` = bootstrap
    /// resamples in which some pooled stratum came out constant); `None`
    /// when no stratum qualifies.
    pub pooled: Option<Correlation>,
}

/// Sample-size-weighted mean of `(coefficient, n)` pairs: `(pooled
/// coefficient, Σn)`. Pairs with `n` < [`MIN_STRATUM`] or a non-finite
/// coefficient are skipped; `None` when nothing is left.
///
/// # Example
/// ```
/// use basin_compare::stats::pool_within_strata;
/// let (r, n) = pool_within_strata(&[(0.5, 10), (-0.2, 30)]).unwrap();
/// assert!((r - (-0.025)).abs() < 1e-12 && n == 40);
/// ```
#[must_use]
pub fn pool_within_strata(cells: &[(f64, usize)]) -> Option<(f64, usize)> {
    let (mut sum, mut total) = (0.0, 0usize);
    for &(r, n) in cells {
        if n >= MIN_STRATUM && r.is_finite() {
            sum += n as f64 * r;
            total += n;
        }
    }
    (total > 0).then(|| (sum / total as f64, total))
}

/// Correlation of `x` with `y` within each stratum (`stratum[i]` is net
/// `i`'s label) and pooled within strata; see the module docs.
///
/// Pairs with a non-finite value on either side are left out (counted in
/// the pooled row's `dropped_nan`).
///
/// # Errors
/// Length mismatch or an invalid [`BootstrapConfig`].
///
/// # Example
/// ```
/// use basin_compare::stats::stratified_correlation;
/// use basin_compare::{BootstrapConfig, CorrelationMethod};
/// // Within each stratum y rises with x; across strata it falls.
/// let x = [1.0, 2.0, 3.0, 4.0, 5.0, 11.0, 12.0, 13.0, 14.0, 15.0];
/// let y = [10.0, 11.0, 12.5, 13.0, 14.0, 0.0, 1.5, 2.0, 3.0, 4.0];
/// let s: Vec<String> = ["a", "a", "a", "a", "a", "b", "b", "b", "b", "b"].map(String::from).to_vec();
/// let boot = BootstrapConfig { resamples: 200, ..BootstrapConfig::default() };
/// let c = stratified_correlation(&x, &y, &s, CorrelationMethod::Spearman, &boot).unwrap();
/// assert_eq!(c.strata.len(), 2);
/// assert!(c.pooled.unwrap().estimate > 0.99);
/// ```
pub fn stratified_correlation(
    x: &[f64],
    y: &[f64],
    stratum: &[String],
    method: CorrelationMethod,
    boot: &BootstrapConfig,
) -> Result<StratifiedCorrelation> {
    boot.check()?;
    for (name, len) in [("y", y.len()), ("strata", stratum.len())] {
        if len != x.len() {
            return Err(CompareError::LengthMismatch { left: "x", left_len: x.len(), right: name, right_len: len });
        }
    }
    // Complete pairs per stratum, in label order. Infinite values (an
    // essential class's persistence, a diverged loss) are left out like NaN,
    // whichever stratum they fall in.
    let mut cells: BTreeMap<&str, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for ((&a, &b), s) in x.iter().zip(y).zip(stratum) {
        if a.is_finite() && b.is_finite() {
            let cell = cells.entry(s.as_str()).or_default();
            cell.0.push(a);
            cell.1.push(b);
        }
    }
    cells.retain(|_, (a, _)| a.len() >= MIN_STRATUM);
    let mut strata = Vec::new();
    for (label, (a, b)) in &cells {
        strata.push(((*label).to_owned(), correlate(a, b, method, boot)?));
    }
    let summary: Vec<(f64, usize)> = strata.iter().map(|(_, c)| (c.estimate, c.n)).collect();
    let pooled = pool_within_strata(&summary).map(|(estimate, n)| {
        let used: Vec<&(Vec<f64>, Vec<f64>)> =
            cells.values().zip(&strata).filter(|(_, (_, c))| c.estimate.is_finite()).map(|(cell, _)| cell).collect();
        let (ci_low, ci_high, undefined) = pooled_interval(&used, method, boot);
        Correlation {
            method,
            estimate,
            p_value: permutation_p_value(&used, estimate, method, boot),
            ci_low,
            ci_high,
            n,
            dropped_nan: x.iter().zip(y).filter(|(a, b)| !a.is_finite() || !b.is_finite()).count(),
            undefined_resamples: undefined,
        }
    });
    Ok(StratifiedCorrelation { strata, pooled })
}

/// The coefficient of one sample, NaN when either side is constant.
fn coefficient(x: &[f64], y: &[f64], method: CorrelationMethod) -> f64 {
    if is_constant(x) || is_constant(y) {
        return f64::NAN;
    }
    match method {
        CorrelationMethod::Pearson => pearson_unchecked(x, y),
        CorrelationMethod::Spearman => pearson_unchecked(&average_ranks(x), &average_ranks(y)),
    }
}

/// Two-sided permutation p-value of the pooled coefficient: `y` shuffled
/// within each stratum, `(1 + #{|r̄*| ≥ |r̄|}) / (1 + permutations)`.
fn permutation_p_value(cells: &[&(Vec<f64>, Vec<f64>)], observed: f64, method: CorrelationMethod, boot: &BootstrapConfig) -> f64 {
    // Another stream than the interval's, from the same seed.
    let mut rng = ChaCha8Rng::seed_from_u64(boot.seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut shuffled: Vec<Vec<f64>> = cells.iter().map(|(_, y)| y.clone()).collect();
    let mut summary = Vec::with_capacity(cells.len());
    let mut extreme = 0usize;
    // Ties in floating point: count values within rounding of |r̄| as extreme.
    let bar = observed.abs() - 1e-12;
    for _ in 0..boot.resamples {
        summary.clear();
        for ((x, _), ys) in cells.iter().zip(&mut shuffled) {
            ys.shuffle(&mut rng);
            summary.push((coefficient(x, ys, method), x.len()));
        }
        if pool_within_strata(&summary).is_some_and(|(r, _)| r.abs() >= bar) {
            extreme += 1;
        }
    }
    (1 + extreme) as f64 / (1 + boot.resamples) as f64
}

/// Percentile interval of the pooled coefficient when nets are resampled
/// with replacement within each stratum: `(low, high, resamples left out)`.
fn pooled_interval(cells: &[&(Vec<f64>, Vec<f64>)], method: CorrelationMethod, boot: &BootstrapConfig) -> (f64, f64, usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(boot.seed);
    let mut estimates = Vec::with_capacity(boot.resamples);
    let mut summary = Vec::with_capacity(cells.len());
    for _ in 0..boot.resamples {
        summary.clear();
        for (x, y) in cells {
            let n = x.len();
            let (mut xs, mut ys) = (Vec::with_capacity(n), Vec::with_capacity(n));
            for _ in 0..n {
                let i = rng.random_range(0..n);
                xs.push(x[i]);
                ys.push(y[i]);
            }
            summary.push((coefficient(&xs, &ys, method), n));
        }
        // A resample in which some stratum came out constant has no
        // estimate over the same strata as the point estimate: it is left
        // out (and counted), as single correlations treat constant resamples.
        if summary.iter().all(|(r, _)| r.is_finite()) {
            if let Some((r, _)) = pool_within_strata(&summary) {
                estimates.push(r);
            }
        }
    }
    interval_of(estimates, boot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::spearman;

    fn labels(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn pooling_weights_by_n_and_skips_small_or_undefined_strata() {
        let (r, n) = pool_within_strata(&[(0.5, 10), (-0.2, 20), (0.9, 3), (f64::NAN, 50)]).unwrap();
        assert!((r - (0.5 * 10.0 - 0.2 * 20.0) / 30.0).abs() < 1e-15, "{r}");
        assert_eq!(n, 30);
        assert!(pool_within_strata(&[(0.3, 3)]).is_none());
        // A stratum at ±1 weighs as its size says, no more (Fisher's z would make it decide alone).
        let (r, _) = pool_within_strata(&[(0.2, 4), (-1.0, 4), (0.8, 4), (-0.8, 4)]).unwrap();
        assert!((r - (-0.2)).abs() < 1e-15, "{r}");
    }

    /// Each stratum's row is the plain correlation of its own nets; the
    /// pooled row reverses the sign of the pooled-over-nets coefficient in
    /// a Simpson's-paradox layout, and its interval brackets it.
    #[test]
    fn strata_are_their_own_correlations_and_pooling_sees_through_the_offset() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 30.0];
        let y = [10.0, 12.0, 11.0, 13.0, 15.0, 14.0, 0.0, 1.5, 1.0, 3.0, 4.0, 3.5, 9.0];
        let s = labels(&["a", "a", "a", "a", "a", "a", "b", "b", "b", "b", "b", "b", "c"]);
        let boot = BootstrapConfig { resamples: 500, confidence: 0.9, seed: 3 };
        let c = stratified_correlation(&x, &y, &s, CorrelationMethod::Spearman, &boot).unwrap();
        // stratum c has one net: left out
        assert_eq!(c.strata.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        for (label, corr) in &c.strata {
            let idx: Vec<usize> = (0..x.len()).filter(|&i| &s[i] == label).collect();
            let (a, b): (Vec<f64>, Vec<f64>) = idx.iter().map(|&i| (x[i], y[i])).unzip();
            assert!((corr.estimate - spearman(&a, &b).unwrap()).abs() < 1e-12);
            assert_eq!(corr.n, 6);
        }
        let overall = spearman(&x, &y).unwrap();
        let pooled = c.pooled.clone().unwrap();
        assert!(overall < 0.0 && pooled.estimate > 0.7, "overall {overall}, pooled {}", pooled.estimate);
        assert!((pooled.estimate - (c.strata[0].1.estimate + c.strata[1].1.estimate) / 2.0).abs() < 1e-12);
        assert!(pooled.ci_low <= pooled.estimate && pooled.estimate <= pooled.ci_high);
        // Within-stratum shuffles rarely reach r̄ ≈ 0.8 with 6 + 6 nets.
        assert!(pooled.p_value > 0.0 && pooled.p_value < 0.02, "{}", pooled.p_value);
        assert_eq!((pooled.n, pooled.dropped_nan), (12, 0));
        // the same seed gives the same interval
        let again = stratified_correlation(&x, &y, &s, CorrelationMethod::Spearman, &boot).unwrap();
        assert_eq!(again, c);
    }

    /// Unequal strata (4, 5 and 7 nets), a negative relation, a constant
    /// stratum and non-finite values: the pooled value is the hand-computed
    /// n-weighted mean of the finite strata, the interval lies below 0, and
    /// the permutation p-value sees the (negative) relation.
    #[test]
    fn unequal_strata_pool_by_size_and_constant_or_nonfinite_values_stay_out() {
        let mut x = Vec::new();
        let mut y = Vec::new();
        let mut s = Vec::new();
        // a: 4 nets, exactly decreasing; b: 5 nets, mostly decreasing; c: 7 nets, decreasing with noise
        for (label, xs, ys) in [
            ("a", vec![1.0, 2.0, 3.0, 4.0], vec![4.0, 3.0, 2.0, 1.0]),
            ("b", vec![1.0, 2.0, 3.0, 4.0, 5.0], vec![5.0, 3.0, 4.0, 2.0, 1.0]),
            ("c", vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], vec![7.0, 5.0, 6.0, 4.0, 2.0, 3.0, 1.0]),
            // d: constant feature, so its coefficient is NaN and it is not pooled
            ("d", vec![2.0; 5], vec![1.0, 2.0, 3.0, 4.0, 5.0]),
        ] {
            for (a, b) in xs.into_iter().zip(ys) {
                x.push(a);
                y.push(b);
                s.push(label.to_owned());
            }
        }
        // non-finite values are dropped wherever they are
        x.extend([f64::INFINITY, 1.0]);
        y.extend([1.0, f64::NAN]);
        s.extend(["a".to_owned(), "e".to_owned()]);
        let boot = BootstrapConfig { resamples: 999, confidence: 0.9, seed: 1 };
        let c = stratified_correlation(&x, &y, &s, CorrelationMethod::Spearman, &boot).unwrap();
        let labels: Vec<&str> = c.strata.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels, ["a", "b", "c", "d"], "a stratum of exactly MIN_STRATUM nets enters");
        let r: Vec<f64> = c.strata.iter().map(|(_, c)| c.estimate).collect();
        assert!((r[0] + 1.0).abs() < 1e-12 && (r[1] + 0.9).abs() < 1e-12, "{r:?}");
        assert!(r[3].is_nan());
        let pooled = c.pooled.unwrap();
        let want = (4.0 * r[0] + 5.0 * r[1] + 7.0 * r[2]) / 16.0;
        assert!((pooled.estimate - want).abs() < 1e-12, "{} vs {want}", pooled.estimate);
        assert_eq!((pooled.n, pooled.dropped_nan), (16, 2));
        assert!(pooled.ci_high < 0.0 && pooled.ci_low <= pooled.estimate && pooled.estimate <= pooled.ci_high);
        // stratum a (4 nets) resamples to a constant often: those resamples are counted, not pooled over fewer strata
        assert!(pooled.undefined_resamples > 0);
        // two-sided: a strong negative relation is significant
        assert!(pooled.p_value < 0.01, "{}", pooled.p_value);
    }

    #[test]
    fn no_qualifying_stratum_gives_no_pooled_value_and_bad_lengths_are_errors() {
        let s = labels(&["a", "a", "b", "b"]);
        let c = stratified_correlation(&[1.0, 2.0, 3.0, 4.0], &[1.0, 2.0, 4.0, 3.0], &s, CorrelationMethod::Pearson, &BootstrapConfig::default()).unwrap();
        assert!(c.strata.is_empty() && c.pooled.is_none());
        let err = stratified_correlation(&[1.0], &[1.0], &s, CorrelationMethod::Pearson, &BootstrapConfig::default()).unwrap_err();
        assert!(err.to_string().contains("strata"), "{err}");
    }
}
