//! Pearson and Spearman coefficients and their two-sided p-values, computed
//! as `scipy.stats.pearsonr` and `scipy.stats.spearmanr` do.

use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::error::{CompareError, Result};

/// Fewest pairs for which a correlation and its t-test are defined (the t
/// distribution has `n - 2` degrees of freedom).
pub(crate) const MIN_PAIRS: usize = 3;

/// Pearson's product-moment correlation of `x` and `y`.
///
/// Centres both vectors, scales them to unit norm and takes their dot
/// product, clipped to `[-1, 1]` (as scipy does).
///
/// # Returns
/// The coefficient, or `NaN` when `x` or `y` is constant (every value equal):
/// the coefficient is then undefined, and scipy likewise returns `NaN` (with a
/// `ConstantInputWarning`); a `tracing` warning is emitted here.
///
/// # Errors
/// [`CompareError::LengthMismatch`] when the lengths differ,
/// [`CompareError::TooFewObservations`] for fewer than 3 pairs. NaN values are
/// not dropped here (the result is then NaN); [`crate::correlate`] drops them.
///
/// # Example
/// ```
/// // scipy.stats.pearsonr([1, 2, 3, 4], [2, 4, 5, 9]).statistic
/// let r = basin_compare::pearson(&[1.0, 2.0, 3.0, 4.0], &[2.0, 4.0, 5.0, 9.0]).unwrap();
/// assert!((r - 0.9647638212377322).abs() < 1e-12);
/// ```
pub fn pearson(x: &[f64], y: &[f64]) -> Result<f64> {
    check_pairs(x, y)?;
    if is_constant(x) || is_constant(y) {
        tracing::debug!(
            "pearson: an input is constant; the correlation is undefined (NaN), as in scipy"
        );
        return Ok(f64::NAN);
    }
    Ok(pearson_unchecked(x, y))
}

/// Spearman's rank correlation: Pearson's coefficient of the ranks, ties
/// given their average rank (scipy's `rankdata(method="average")`).
///
/// # Returns
/// The coefficient, or `NaN` when `x` or `y` is constant (as scipy).
///
/// # Errors
/// As [`pearson`].
///
/// # Example
/// ```
/// // Monotone but not linear: Spearman sees a perfect relation.
/// let rho = basin_compare::spearman(&[1.0, 2.0, 3.0, 4.0], &[1.0, 8.0, 27.0, 64.0]).unwrap();
/// assert!((rho - 1.0).abs() < 1e-12);
/// ```
pub fn spearman(x: &[f64], y: &[f64]) -> Result<f64> {
    check_pairs(x, y)?;
    if is_constant(x) || is_constant(y) {
        tracing::debug!(
            "spearman: an input is constant; the correlation is undefined (NaN), as in scipy"
        );
        return Ok(f64::NAN);
    }
    Ok(pearson_unchecked(&average_ranks(x), &average_ranks(y)))
}

/// Two-sided p-value of the null hypothesis "no correlation" for a
/// coefficient `r` from `n` pairs: Student's t with `n - 2` degrees of
/// freedom, `t = r sqrt((n - 2) / (1 - r^2))`, as scipy's `spearmanr`
/// (scipy's `pearsonr` uses the equivalent beta distribution of `r`).
///
/// Returns 0 for `|r| = 1` and `NaN` for a `NaN` coefficient or `n < 3`.
pub fn correlation_p_value(r: f64, n: usize) -> f64 {
    if r.is_nan() || n < MIN_PAIRS {
        return f64::NAN;
    }
    let df = (n - 2) as f64;
    let one_minus_r2 = (1.0 - r) * (1.0 + r);
    if one_minus_r2 <= 0.0 {
        return 0.0;
    }
    let t = r.abs() * (df / one_minus_r2).sqrt();
    match StudentsT::new(0.0, 1.0, df) {
        Ok(dist) => (2.0 * dist.sf(t)).min(1.0),
        Err(_) => f64::NAN,
    }
}

/// Ranks from 1 to n, ties sharing the average of the ranks they span.
///
/// # Example
/// ```
/// assert_eq!(basin_compare::stats::average_ranks(&[10.0, 20.0, 10.0, 5.0]), vec![2.5, 4.0, 2.5, 1.0]);
/// ```
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end (0-based) hold ranks start+1..=end; their mean:
        let rank = (start + end + 1) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

pub(crate) fn check_pairs(x: &[f64], y: &[f64]) -> Result<()> {
    if x.len() != y.len() {
        return Err(CompareError::LengthMismatch {
            left: "x",
            left_len: x.len(),
            right: "y",
            right_len: y.len(),
        });
    }
    if x.len() < MIN_PAIRS {
        return Err(CompareError::TooFewObservations {
            what: "a correlation",
            needed: MIN_PAIRS,
            got: x.len(),
        });
    }
    Ok(())
}

/// scipy's test: every value equal to the first.
pub(crate) fn is_constant(values: &[f64]) -> bool {
    values.iter().all(|&v| v == values[0])
}

/// Pearson's r of two non-constant vectors of equal length.
pub(crate) fn pearson_unchecked(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mean_x = x.iter().sum::<f64>() / n;
    let mean_y = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        let (dx, dy) = (a - mean_x, b - mean_y);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    (sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0)
}
