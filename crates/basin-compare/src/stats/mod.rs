//! Correlations with p-values and bootstrap confidence intervals.
//!
//! [`pearson`] and [`spearman`] give the coefficient alone; [`correlate`]
//! adds scipy's two-sided p-value and a seeded percentile-bootstrap interval,
//! after dropping pairs with a NaN on either side.

mod bootstrap;
mod correlation;
mod stratified;

pub use bootstrap::BootstrapConfig;
pub use correlation::{average_ranks, correlation_p_value, pearson, spearman};
pub use stratified::{pool_within_strata, stratified_correlation, StratifiedCorrelation, MIN_STRATUM, POOLED};

use correlation::{check_pairs, is_constant, pearson_unchecked};

use crate::error::{CompareError, Result};

/// Which coefficient [`correlate`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorrelationMethod {
    /// Linear (product-moment) correlation.
    Pearson,
    /// Rank correlation, ties given average ranks.
    Spearman,
}

impl CorrelationMethod {
    /// Lower-case name, as written in tables ("pearson", "spearman").
    pub fn name(self) -> &'static str {
        match self {
            Self::Pearson => "pearson",
            Self::Spearman => "spearman",
        }
    }
}

/// A correlation estimate with its test and interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    /// The coefficient computed.
    pub method: CorrelationMethod,
    /// The coefficient on all complete pairs; NaN when an input is constant.
    pub estimate: f64,
    /// Two-sided p-value (t distribution with `n - 2` degrees of freedom).
    pub p_value: f64,
    /// Lower end of the percentile bootstrap interval.
    pub ci_low: f64,
    /// Upper end of the percentile bootstrap interval.
    pub ci_high: f64,
    /// Number of complete pairs used.
    pub n: usize,
    /// Pairs dropped because `x` or `y` was NaN.
    pub dropped_nan: usize,
    /// Bootstrap resamples left out of the interval because their
    /// coefficient was undefined (a constant resample; likely only for tiny n).
    pub undefined_resamples: usize,
}

/// Coefficient, p-value and bootstrap interval of `x` against `y`.
///
/// Pairs where either value is NaN are dropped first (their number is in
/// [`Correlation::dropped_nan`] and logged). When what is left of `x` or `y`
/// is constant the coefficient is undefined: like scipy, the estimate,
/// p-value and interval are NaN (and a warning is logged) rather than an
/// error, so a sweep over many features keeps going and the NaN is recorded.
///
/// # Errors
/// Length mismatch, fewer than 3 complete pairs, infinite values, or an
/// invalid [`BootstrapConfig`].
///
/// # Example
/// ```
/// use basin_compare::{correlate, BootstrapConfig, CorrelationMethod};
/// let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, f64::NAN];
/// let y = [1.5, 1.9, 3.2, 3.9, 5.3, 5.8, 7.0];
/// let boot = BootstrapConfig { resamples: 200, ..BootstrapConfig::default() };
/// let c = correlate(&x, &y, CorrelationMethod::Pearson, &boot).unwrap();
/// assert_eq!((c.n, c.dropped_nan), (6, 1));
/// assert!(c.estimate > 0.9 && c.p_value < 0.01);
/// assert!(c.ci_low <= c.estimate && c.estimate <= c.ci_high);
/// ```
pub fn correlate(
    x: &[f64],
    y: &[f64],
    method: CorrelationMethod,
    boot: &BootstrapConfig,
) -> Result<Correlation> {
    boot.check()?;
    if x.len() != y.len() {
        return Err(CompareError::LengthMismatch {
            left: "x",
            left_len: x.len(),
            right: "y",
            right_len: y.len(),
        });
    }
    for (name, values) in [("x", x), ("y", y)] {
        if let Some((index, value)) = values.iter().enumerate().find(|(_, v)| v.is_infinite()) {
            return Err(CompareError::InvalidParameter {
                name,
                reason: format!("infinite value {value} at index {index}"),
            });
        }
    }
    let (xs, ys): (Vec<f64>, Vec<f64>) = x
        .iter()
        .zip(y)
        .filter(|(a, b)| !a.is_nan() && !b.is_nan())
        .map(|(&a, &b)| (a, b))
        .unzip();
    let dropped_nan = x.len() - xs.len();
    if dropped_nan > 0 {
        tracing::debug!(
            "{}: dropped {dropped_nan} of {} pairs with a NaN",
            method.name(),
            x.len()
        );
    }
    check_pairs(&xs, &ys)?;
    let n = xs.len();
    let statistic = |a: &[f64], b: &[f64]| -> f64 {
        if is_constant(a) || is_constant(b) {
            return f64::NAN;
        }
        match method {
            CorrelationMethod::Pearson => pearson_unchecked(a, b),
            CorrelationMethod::Spearman => pearson_unchecked(&average_ranks(a), &average_ranks(b)),
        }
    };
    let estimate = match method {
        CorrelationMethod::Pearson => pearson(&xs, &ys)?,
        CorrelationMethod::Spearman => spearman(&xs, &ys)?,
    };
    if estimate.is_nan() {
        return Ok(Correlation {
            method,
            estimate,
            p_value: f64::NAN,
            ci_low: f64::NAN,
            ci_high: f64::NAN,
            n,
            dropped_nan,
            undefined_resamples: 0,
        });
    }
    let (ci_low, ci_high, undefined_resamples) =
        bootstrap::percentile_interval(&xs, &ys, boot, statistic);
    if undefined_resamples > 0 {
        tracing::debug!(
            "{}: {undefined_resamples} of {} bootstrap resamples were constant and left out of the interval",
            method.name(),
            boot.resamples
        );
    }
    Ok(Correlation {
        method,
        estimate,
        p_value: correlation_p_value(estimate, n),
        ci_low,
        ci_high,
        n,
        dropped_nan,
        undefined_resamples,
    })
}
