//! graphtools' alpha-decay kernel: adaptive bandwidth sigma_i = distance to the
//! knn-th neighbour (self not counted), affinity `exp(-(d / sigma_i)^decay)`, kept
//! when >= `thresh`, i.e. every point within the radius
//! `sigma_i * (-ln thresh)^(1/decay)` (graphtools widens its search until it
//! reaches that radius; brute force sees all points at once, so it is exact here).
//! Then `(K + K^T) / 2`.

use crate::distance::Metric;
use crate::errors::PhateError;
use crate::knn::{candidates, Need, SearchMethod};
use crate::sparse::Csr;
use ndarray::parallel::prelude::*;
use ndarray::{ArrayView2, Axis};

/// Settings the kernel needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KernelSpec {
    pub(crate) knn: usize,
    pub(crate) decay: f64,
    pub(crate) thresh: f64,
    pub(crate) knn_max: Option<usize>,
}

impl KernelSpec {
    fn radius_factor(&self) -> f64 {
        (-self.thresh.ln()).powf(1.0 / self.decay)
    }

    /// Affinities of one row from its distances to all candidate columns.
    /// `self_included`: the row is one of the fitted points (its zero distance
    /// to itself counts among the knn + 1 nearest, as in graphtools).
    fn row_affinities(
        &self,
        mut cand: Vec<(usize, f64)>,
        self_included: bool,
    ) -> (f64, Vec<(usize, f64)>) {
        cand.sort_unstable_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        let k = if self_included {
            self.knn
        } else {
            self.knn - 1
        };
        let sigma = cand.get(k).map_or(f64::EPSILON, |c| c.1).max(f64::EPSILON);
        if let Some(m) = self.knn_max {
            cand.truncate(if self_included { m + 1 } else { m });
        }
        let out = cand
            .into_iter()
            .filter_map(|(j, d)| {
                let mut a = (-(d / sigma).powf(self.decay)).exp();
                if a.is_nan() {
                    a = 1.0;
                }
                (a >= self.thresh).then_some((j, a))
            })
            .collect();
        (sigma, out)
    }
}

/// Row-wise affinities of `queries` (prepared rows) to the fitted rows of `metric`,
/// from the exact neighbour search `method` (see [`crate::knn`]).
/// `self_included`: the queries are the fitted rows themselves (`metric.x`).
pub(crate) fn affinity_rows(
    metric: &Metric<'_>,
    queries: ArrayView2<'_, f64>,
    spec: &KernelSpec,
    self_included: bool,
    method: SearchMethod,
) -> Vec<Vec<(usize, f64)>> {
    let need = Need {
        k: if self_included {
            spec.knn
        } else {
            spec.knn - 1
        },
        cap: spec.knn_max.map(|m| if self_included { m + 1 } else { m }),
        factor: spec.radius_factor(),
    };
    debug_assert!(!self_included || queries.dim() == metric.x.dim());
    candidates(metric, queries, &need, method, self_included)
        .into_par_iter()
        .map(|cand| spec.row_affinities(cand, self_included).1)
        .collect()
}

/// Kernel rows from a precomputed distance matrix (graphtools' TraditionalGraph:
/// every column is a candidate, so `knn_max` does not apply).
pub(crate) fn precomputed_rows(
    d: ArrayView2<'_, f64>,
    spec: &KernelSpec,
) -> Vec<Vec<(usize, f64)>> {
    let spec = KernelSpec {
        knn_max: None,
        ..*spec
    };
    d.axis_iter(Axis(0))
        .into_par_iter()
        .map(|row| {
            let cand = row.iter().copied().enumerate().collect();
            spec.row_affinities(cand, true).1
        })
        .collect()
}

/// Checks a precomputed distance matrix: square, finite, non-negative, zero diagonal.
pub(crate) fn check_precomputed(d: ArrayView2<'_, f64>) -> Result<(), PhateError> {
    if d.nrows() != d.ncols() {
        return Err(PhateError::BadPrecomputed {
            reason: "not square",
            row: d.nrows(),
            col: d.ncols(),
        });
    }
    for ((i, j), &v) in d.indexed_iter() {
        if !v.is_finite() {
            return Err(PhateError::NonFinite {
                row: i,
                col: j,
                value: v,
            });
        }
        if v < 0.0 {
            return Err(PhateError::BadPrecomputed {
                reason: "negative distance",
                row: i,
                col: j,
            });
        }
        if i == j && v != 0.0 {
            return Err(PhateError::BadPrecomputed {
                reason: "non-zero diagonal",
                row: i,
                col: j,
            });
        }
    }
    Ok(())
}

/// `(K + K^T) / 2` from the row lists.
pub(crate) fn symmetrized(n_cols: usize, rows: Vec<Vec<(usize, f64)>>) -> Csr {
    let k = Csr::from_rows(n_cols, rows);
    let kt = k.transpose();
    k.add_scaled(&kt, 0.5)
}
