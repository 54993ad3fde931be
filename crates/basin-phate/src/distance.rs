//! Pairwise distances in row blocks. Euclidean and cosine blocks go through a
//! GEMM (the `|x|^2 + |y|^2 - 2 x.y` identity, as scikit-learn's brute force does);
//! the distances that end up in the kernel are recomputed directly so the
//! cancellation error of that identity never reaches the affinities.

use crate::hyperparams::Distance;
use crate::linalg::gemm_sym;
use ndarray::parallel::prelude::*;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

/// Input rows prepared for one metric: cosine rows are L2-normalised once.
pub(crate) struct Metric<'a> {
    pub(crate) distance: Distance,
    pub(crate) x: std::borrow::Cow<'a, Array2<f64>>,
    sq_norms: Array1<f64>,
}

impl<'a> Metric<'a> {
    pub(crate) fn new(x: &'a Array2<f64>, distance: Distance) -> Self {
        let x = match distance {
            Distance::Cosine => std::borrow::Cow::Owned(l2_normalized(x.view())),
            _ => std::borrow::Cow::Borrowed(x),
        };
        let sq_norms = x.map_axis(Axis(1), |r| r.dot(&r));
        Self {
            distance,
            x,
            sq_norms,
        }
    }

    /// Prepares query rows (not part of the fitted data) the same way.
    pub(crate) fn prepare_query(&self, y: ArrayView2<'_, f64>) -> Array2<f64> {
        match self.distance {
            Distance::Cosine => l2_normalized(y),
            _ => y.to_owned(),
        }
    }

    /// Distance between prepared rows `a` and `b`, computed directly.
    pub(crate) fn exact(&self, a: ArrayView1<'_, f64>, b: ArrayView1<'_, f64>) -> f64 {
        exact_distance(self.distance, a, b)
    }

    /// Approximate distances between all fitted rows (n x n); the Gram matrix
    /// of euclidean/cosine rows is symmetric, so only half is multiplied.
    pub(crate) fn self_block(&self) -> Array2<f64> {
        match self.distance {
            Distance::Euclidean | Distance::Cosine => {
                self.distances_from_gram(gemm_sym(self.x.view(), self.x.view()), &self.sq_norms)
            }
            Distance::Minkowski(_) | Distance::Precomputed => {
                let n = self.x.nrows();
                let mut out = Array2::zeros((n, n));
                out.axis_iter_mut(Axis(0))
                    .into_par_iter()
                    .enumerate()
                    .for_each(|(i, mut row)| {
                        for j in 0..n {
                            row[j] = self.exact(self.x.row(i), self.x.row(j));
                        }
                    });
                out
            }
        }
    }

    /// Distances from dot products `g` (queries x fitted) and the queries' squared norms.
    fn distances_from_gram(&self, mut g: Array2<f64>, qn: &Array1<f64>) -> Array2<f64> {
        if self.distance == Distance::Cosine {
            g.par_mapv_inplace(|s| (1.0 - s).clamp(0.0, 2.0));
            return g;
        }
        g.axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .for_each(|(i, mut row)| {
                for (j, v) in row.iter_mut().enumerate() {
                    *v = (qn[i] + self.sq_norms[j] - 2.0 * *v).max(0.0).sqrt();
                }
            });
        g
    }
}

/// Rows divided by their L2 norm; zero rows stay zero (scikit-learn's `normalize`).
pub(crate) fn l2_normalized(x: ArrayView2<'_, f64>) -> Array2<f64> {
    let mut out = x.to_owned();
    for mut r in out.axis_iter_mut(Axis(0)) {
        let n = r.dot(&r).sqrt();
        if n > 0.0 {
            r.mapv_inplace(|v| v / n);
        }
    }
    out
}

/// Direct distance between two (prepared) rows.
pub(crate) fn exact_distance(d: Distance, a: ArrayView1<'_, f64>, b: ArrayView1<'_, f64>) -> f64 {
    match d {
        Distance::Euclidean | Distance::Precomputed => a
            .iter()
            .zip(b.iter())
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f64>()
            .sqrt(),
        Distance::Cosine => (1.0 - a.dot(&b)).clamp(0.0, 2.0),
        Distance::Minkowski(p) => {
            if (p - 1.0).abs() < f64::EPSILON {
                a.iter().zip(b.iter()).map(|(x, y)| (x - y).abs()).sum()
            } else if (p - 2.0).abs() < f64::EPSILON {
                a.iter()
                    .zip(b.iter())
                    .map(|(x, y)| (x - y) * (x - y))
                    .sum::<f64>()
                    .sqrt()
            } else {
                a.iter()
                    .zip(b.iter())
                    .map(|(x, y)| (x - y).abs().powf(p))
                    .sum::<f64>()
                    .powf(1.0 / p)
            }
        }
    }
}

/// Dense pairwise distances between the rows of `x` (used on potentials and for
/// DEMaP); exact where the Gram identity would lose digits.
pub(crate) fn pairwise(x: ArrayView2<'_, f64>, d: Distance) -> Array2<f64> {
    let owned = x.to_owned();
    let m = Metric::new(&owned, d);
    let mut out = m.self_block();
    let n = out.nrows();
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(i, mut row)| {
            for j in 0..n {
                if i == j {
                    row[j] = 0.0;
                    continue;
                }
                // Recompute where cancellation in the Gram identity is large
                // relative to the result (near-duplicates).
                let suspicious = match d {
                    Distance::Euclidean => row[j] * row[j] < 1e-6 * (m.sq_norms[i] + m.sq_norms[j]),
                    Distance::Cosine => row[j] < 1e-6,
                    _ => false,
                };
                if suspicious {
                    row[j] = m.exact(m.x.row(i), m.x.row(j));
                }
            }
        });
    // Exact symmetry, as scipy's squareform(pdist(.)) has.
    for i in 0..n {
        for j in (i + 1)..n {
            let v = out[[i, j]];
            out[[j, i]] = v;
        }
    }
    out
}
