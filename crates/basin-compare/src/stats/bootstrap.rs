//! Percentile bootstrap over pairs.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{CompareError, Result};

/// Settings of the percentile bootstrap confidence interval.
#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapConfig {
    /// Number of resamples (with replacement, of whole `(x, y)` pairs).
    pub resamples: usize,
    /// Coverage of the interval, in `(0, 1)`.
    pub confidence: f64,
    /// Seed of the ChaCha8 generator: the same seed gives the same interval.
    pub seed: u64,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self {
            resamples: 2000,
            confidence: 0.95,
            seed: 0,
        }
    }
}

impl BootstrapConfig {
    pub(crate) fn check(&self) -> Result<()> {
        if self.resamples == 0 {
            return Err(CompareError::InvalidParameter {
                name: "resamples",
                reason: "must be at least 1".into(),
            });
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(CompareError::InvalidParameter {
                name: "confidence",
                reason: format!("must lie strictly between 0 and 1, got {}", self.confidence),
            });
        }
        Ok(())
    }
}

/// Percentile bootstrap interval of `statistic` over resampled pairs.
///
/// Resamples whose statistic is NaN (a resample that happens to be constant)
/// are left out of the percentiles; `(low, high, left_out)` is returned.
/// All NaN gives `(NaN, NaN, resamples)`.
pub(crate) fn percentile_interval(
    x: &[f64],
    y: &[f64],
    config: &BootstrapConfig,
    statistic: impl Fn(&[f64], &[f64]) -> f64,
) -> (f64, f64, usize) {
    let n = x.len();
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut estimates = Vec::with_capacity(config.resamples);
    let (mut xs, mut ys) = (vec![0.0; n], vec![0.0; n]);
    for _ in 0..config.resamples {
        for k in 0..n {
            let i = rng.random_range(0..n);
            xs[k] = x[i];
            ys[k] = y[i];
        }
        let estimate = statistic(&xs, &ys);
        if !estimate.is_nan() {
            estimates.push(estimate);
        }
    }
    interval_of(estimates, config)
}

/// The percentile interval of the defined bootstrap `estimates` out of
/// `config.resamples`: `(low, high, resamples left out)`; all left out gives
/// `(NaN, NaN, resamples)`.
pub(crate) fn interval_of(mut estimates: Vec<f64>, config: &BootstrapConfig) -> (f64, f64, usize) {
    let left_out = config.resamples - estimates.len();
    if estimates.is_empty() {
        return (f64::NAN, f64::NAN, left_out);
    }
    estimates.sort_by(f64::total_cmp);
    let tail = (1.0 - config.confidence) / 2.0;
    (
        percentile(&estimates, tail),
        percentile(&estimates, 1.0 - tail),
        left_out,
    )
}

/// numpy's default (`linear`) percentile of sorted values, `q` in `[0, 1]`.
pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    let position = q * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let fraction = position - below as f64;
    sorted[below] + (sorted[above] - sorted[below]) * fraction
}
