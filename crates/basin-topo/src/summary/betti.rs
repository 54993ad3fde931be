//! Betti curves.

use crate::PersistencePair;

/// The Betti curve on a grid: at each `x`, the number of bars alive at `x`,
/// `#{birth ≤ x < death}` (essential bars alive forever), as gudhi's
/// `BettiCurve(predefined_grid=...)`.
///
/// # Arguments
/// * `pairs` — the bars (select one dimension first).
/// * `grid` — where to evaluate, any order.
///
/// # Returns
/// One count per grid point, as `f64` for use as a feature vector.
///
/// # Complexity
/// `O((m + g) log m)` for `m` bars and `g` grid points.
///
/// # Example
/// ```
/// use basin_topo::{summary::betti_curve, PersistencePair};
/// let bar = |b, d| PersistencePair { dim: 1, birth: b, death: d };
/// let bars = [bar(0.0, 2.0), bar(1.0, f64::INFINITY)];
/// assert_eq!(betti_curve(&bars, &[-1.0, 0.0, 1.0, 2.0, 9.0]), vec![0.0, 1.0, 2.0, 1.0, 1.0]);
/// ```
#[must_use]
pub fn betti_curve(pairs: &[PersistencePair], grid: &[f64]) -> Vec<f64> {
    let mut births: Vec<f64> = pairs.iter().map(|b| b.birth).collect();
    let mut deaths: Vec<f64> = pairs.iter().map(|b| b.death).collect();
    births.sort_unstable_by(f64::total_cmp);
    deaths.sort_unstable_by(f64::total_cmp);
    grid.iter()
        .map(|&x| {
            let born = births.partition_point(|&b| b <= x);
            let dead = deaths.partition_point(|&d| d <= x);
            born as f64 - dead as f64
        })
        .collect()
}
