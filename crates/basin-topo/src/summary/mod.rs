//! Numbers and feature vectors computed from a persistence diagram.
//!
//! Every function takes a slice of [`PersistencePair`]s and ignores their
//! `dim`: select one dimension first (`diagram.in_dim(1)`).
//!
//! # Essential classes
//! Total persistence, entropy, landscapes and images are defined on finite
//! bars; essential bars (infinite death) are **skipped** by them. To count
//! essential classes, truncate them first with [`truncate_essential`] (the
//! sublevel module truncates at the maximum function value). Betti curves
//! count essential bars as alive forever.
//!
//! # Conventions (checked against gudhi 3.13 `gudhi.representations`)
//! * Betti curve at `x`: `#{bars with birth ≤ x < death}` (gudhi `BettiCurve`).
//! * Entropy: `−Σ pᵢ ln pᵢ`, `pᵢ = ℓᵢ / Σ ℓ`, natural log (gudhi `Entropy`,
//!   scalar mode); bars of zero length contribute 0.
//! * Landscapes: Bubenik's `λ_k(x)` = k-th largest of `max(0, min(x − b, d − x))`.
//!   gudhi's `Landscape` returns these values times `√2` (it measures the
//!   tents in rotated coordinates); basin returns Bubenik's values.
//! * Persistence images: gudhi's `PersistenceImage` — points in
//!   (birth, persistence) coordinates, a normalised Gaussian of standard
//!   deviation `bandwidth` evaluated at pixel *centres* on
//!   `linspace(range)` grids, times a weight of the point; or, with
//!   [`Discretisation::PixelIntegrals`], persim's `PersistenceImager`
//!   (the Gaussian integrated over each pixel).

mod betti;
mod features;
mod image;
mod landscape;

pub use betti::betti_curve;
pub use features::{features, FeatureParams, Features};
pub use image::{persistence_image, Discretisation, ImageWeight, PersistenceImageParams};
pub use landscape::landscape;

use crate::PersistencePair;

/// `Σ (death − birth)^p` over the finite bars.
///
/// Essential bars are skipped (truncate them first with
/// [`truncate_essential`] to count them).
///
/// # Arguments
/// * `pairs` — the bars (any dimension; select one first).
/// * `p` — exponent, usually `p ≥ 1`.
///
/// # Example
/// ```
/// use basin_topo::{summary::total_persistence, PersistencePair};
/// let bars = [
///     PersistencePair { dim: 1, birth: 0.0, death: 2.0 },
///     PersistencePair { dim: 1, birth: 1.0, death: 2.0 },
///     PersistencePair { dim: 1, birth: 1.0, death: f64::INFINITY },
/// ];
/// assert_eq!(total_persistence(&bars, 2.0), 5.0);
/// ```
#[must_use]
pub fn total_persistence(pairs: &[PersistencePair], p: f64) -> f64 {
    // Folded from +0.0: `Sum` for f64 starts at −0.0, which an empty diagram
    // would report as "-0".
    finite(pairs)
        .map(|b| b.persistence().powf(p))
        .fold(0.0, |a, x| a + x)
}

/// The bars with every infinite death replaced by `max(at, birth)`.
///
/// # Example
/// ```
/// use basin_topo::{summary::truncate_essential, PersistencePair};
/// let bars = [PersistencePair { dim: 0, birth: 1.0, death: f64::INFINITY }];
/// assert_eq!(truncate_essential(&bars, 3.0)[0].death, 3.0);
/// ```
#[must_use]
pub fn truncate_essential(pairs: &[PersistencePair], at: f64) -> Vec<PersistencePair> {
    pairs
        .iter()
        .map(|&b| {
            if b.is_essential() {
                PersistencePair {
                    death: at.max(b.birth),
                    ..b
                }
            } else {
                b
            }
        })
        .collect()
}

/// Persistence entropy `−Σ pᵢ ln pᵢ` with `pᵢ = ℓᵢ / Σ ℓ`, `ℓ` the lengths of
/// the finite bars (essential bars skipped; `0 ln 0 = 0`).
///
/// Returns 0 for a diagram without finite bars of positive length.
///
/// # Example
/// ```
/// use basin_topo::{summary::persistence_entropy, PersistencePair};
/// let bar = |b, d| PersistencePair { dim: 0, birth: b, death: d };
/// // Two equal bars: ln 2.
/// let h = persistence_entropy(&[bar(0.0, 1.0), bar(2.0, 3.0)]);
/// assert!((h - 2f64.ln()).abs() < 1e-15);
/// ```
#[must_use]
pub fn persistence_entropy(pairs: &[PersistencePair]) -> f64 {
    let total: f64 = finite(pairs).map(PersistencePair::persistence).sum();
    if total <= 0.0 {
        return 0.0;
    }
    -finite(pairs)
        .map(|b| b.persistence() / total)
        .filter(|&p| p > 0.0)
        .map(|p| p * p.ln())
        .sum::<f64>()
}

/// The finite bars.
fn finite(pairs: &[PersistencePair]) -> impl Iterator<Item = &PersistencePair> + '_ {
    pairs.iter().filter(|b| b.death.is_finite())
}

/// `n` evenly spaced values from `start` to `end` inclusive (numpy's
/// `linspace`), the grid the summaries are usually sampled on.
///
/// # Example
/// ```
/// assert_eq!(basin_topo::summary::linspace(0.0, 1.0, 3), vec![0.0, 0.5, 1.0]);
/// ```
#[must_use]
pub fn linspace(start: f64, end: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![start],
        _ => {
            let step = (end - start) / (n - 1) as f64;
            (0..n)
                .map(|i| {
                    if i == n - 1 {
                        end
                    } else {
                        start + i as f64 * step
                    }
                })
                .collect()
        }
    }
}
