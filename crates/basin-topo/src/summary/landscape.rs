//! Persistence landscapes (Bubenik 2015).

use ndarray::Array2;

use crate::{PersistencePair, TopoError, TopoResult};

/// The first `levels` persistence landscapes sampled on `grid`.
///
/// `λ_k(x)` is the k-th largest value of the tents
/// `max(0, min(x − birth, death − x))` over the finite bars (essential bars
/// skipped; truncate them first to include them). These are Bubenik's values;
/// gudhi's `Landscape` returns them times `√2`.
///
/// # Arguments
/// * `pairs` — the bars (select one dimension first).
/// * `levels` — number of landscapes `k ≥ 1`; levels beyond the number of
///   bars are zero.
/// * `grid` — sample points.
///
/// # Returns
/// A `levels × grid.len()` array, row `k − 1` holding `λ_k`; flatten
/// row-major (`into_raw_vec_and_offset`) for gudhi's layout.
///
/// # Errors
/// [`TopoError::InvalidParameter`] (`levels`) when `levels == 0`.
///
/// # Complexity
/// `O(g · m log m)` for `g` grid points and `m` bars.
///
/// # Example
/// ```
/// use basin_topo::{summary::landscape, PersistencePair};
/// let bar = |b, d| PersistencePair { dim: 1, birth: b, death: d };
/// let l = landscape(&[bar(0.0, 4.0), bar(1.0, 3.0)], 2, &[1.0, 2.0]).unwrap();
/// assert_eq!(l.row(0).to_vec(), vec![1.0, 2.0]);
/// assert_eq!(l.row(1).to_vec(), vec![0.0, 1.0]);
/// ```
pub fn landscape(
    pairs: &[PersistencePair],
    levels: usize,
    grid: &[f64],
) -> TopoResult<Array2<f64>> {
    if levels == 0 {
        return Err(TopoError::InvalidParameter {
            name: "levels",
            reason: "the number of landscapes must be at least 1".into(),
        });
    }
    let finite: Vec<&PersistencePair> = pairs.iter().filter(|b| b.death.is_finite()).collect();
    let mut out = Array2::zeros((levels, grid.len()));
    let mut tents: Vec<f64> = Vec::with_capacity(finite.len());
    for (g, &x) in grid.iter().enumerate() {
        tents.clear();
        tents.extend(
            finite
                .iter()
                .map(|b| (x - b.birth).min(b.death - x))
                .filter(|&t| t > 0.0),
        );
        tents.sort_unstable_by(|a, b| b.total_cmp(a));
        for (k, &t) in tents.iter().take(levels).enumerate() {
            out[[k, g]] = t;
        }
    }
    Ok(out)
}
