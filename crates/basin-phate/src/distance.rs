//! Pairwise distances in row blocks. Euclidean and cosine blocks go through a
//! GEMM (the `|x|^2 + |y|^2 - 2 x.y` identity, as scikit-learn's brute force does);
//! the distances that end up in the kernel are recomputed directly so the
//! cancellation error of that identity never reaches the affinities.

use crate::hyperparams::Distance;
use crate::linalg::{gemm_sym, mirror_lower, sym_product_lower};
use ndarray::parallel::prelude::*;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis, CowArray};
use rayon::slice::{ParallelSlice, ParallelSliceMut};

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
/// DEMaP); exact where the Gram identity would lose digits. Exactly
/// symmetric, as scipy's squareform(pdist(.)) is.
pub(crate) fn pairwise(x: ArrayView2<'_, f64>, d: Distance) -> Array2<f64> {
    match d {
        Distance::Euclidean | Distance::Cosine => pairwise_from_gram(x, d),
        Distance::Minkowski(_) | Distance::Precomputed => {
            let owned = x.to_owned();
            let mut out = Metric::new(&owned, d).self_block();
            let n = out.nrows();
            for i in 0..n {
                out[[i, i]] = 0.0;
                for j in (i + 1)..n {
                    let v = out[[i, j]];
                    out[[j, i]] = v;
                }
            }
            out
        }
    }
}

/// Euclidean or cosine [`pairwise`] in one pass over the lower triangle of
/// the Gram matrix (a half GEMM): each distance from the Gram identity,
/// recomputed directly where cancellation is large relative to the result
/// (near-duplicates), then mirrored by tiles. Forming the whole Gram
/// matrix, converting it and mirroring the distances row by row took three
/// more passes over n x n, one of them serial and strided (0.15 s at 2,000
/// points, a third of it outside the GEMM).
fn pairwise_from_gram(x: ArrayView2<'_, f64>, d: Distance) -> Array2<f64> {
    let cosine = d == Distance::Cosine;
    let rows = if cosine {
        CowArray::from(l2_normalized(x))
    } else {
        x.as_standard_layout()
    };
    let (n, k) = rows.dim();
    let sq_norms = rows.map_axis(Axis(1), |r| r.dot(&r));
    let flat = rows.as_slice().unwrap_or(&[]);
    let mut g: Vec<f64> = sym_product_lower(flat, flat, n, k, 1.0f64);
    g.par_chunks_mut(n.max(1)).enumerate().for_each(|(i, row)| {
        for (j, v) in row.iter_mut().enumerate().take(i) {
            let dist = if cosine {
                (1.0 - *v).clamp(0.0, 2.0)
            } else {
                (sq_norms[i] + sq_norms[j] - 2.0 * *v).max(0.0).sqrt()
            };
            let suspicious = if cosine {
                dist < 1e-6
            } else {
                dist * dist < 1e-6 * (sq_norms[i] + sq_norms[j])
            };
            *v = if suspicious {
                exact_distance(d, rows.row(i), rows.row(j))
            } else {
                dist
            };
        }
        if let Some(diag) = row.get_mut(i) {
            *diag = 0.0;
        }
    });
    mirror_lower(&mut g, n);
    Array2::from_shape_vec((n, n), g).unwrap_or_else(|_| Array2::zeros((n, n)))
}

/// Below this share of `|a|^2 + |b|^2` (rows centred), a squared distance from
/// the single-precision Gram identity is recomputed directly in f64.
const SINGLE_CANCELLATION: f64 = 1e-2;

/// Euclidean [`pairwise`] through a single-precision Gram matrix (a half f32
/// GEMM, twice the f64 rate), for the landmark potentials, whose distances
/// only feed MDS: the SGD solver stores its targets to 1.5e-5 of the largest
/// and classic MDS double-centres in f32. The rows are centred first (the
/// distances do not move; the norms, and so the identity's cancellation,
/// shrink), and every pair whose squared distance comes out below
/// [`SINGLE_CANCELLATION`] of `|a|^2 + |b|^2` is recomputed directly in f64.
/// On gen_dla's landmark potentials at 20,000 points (2,000 landmarks, t =
/// 20) that is 0.1 % of the pairs, and every distance is within 1.1e-6 of the
/// largest of the f64 ones (1.7e-5 relative); without centring the identity
/// was off by 7.5e-4 of the largest. The exact path, checked against phate
/// to 1e-5, keeps [`pairwise`].
pub(crate) fn pairwise_euclidean_single(x: ArrayView2<'_, f64>) -> Array2<f64> {
    let x = x.as_standard_layout();
    let (n, k) = x.dim();
    let mean = x.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(k));
    let mut centred = vec![0.0f32; n * k];
    centred
        .par_chunks_mut(k.max(1))
        .zip(x.axis_iter(Axis(0)).into_par_iter())
        .for_each(|(c, row)| {
            for ((cv, &v), &mu) in c.iter_mut().zip(row.iter()).zip(mean.iter()) {
                *cv = (v - mu) as f32;
            }
        });
    let sq: Vec<f64> = centred
        .par_chunks(k.max(1))
        .map(|r| r.iter().map(|&v| f64::from(v) * f64::from(v)).sum())
        .collect();
    let g = sym_product_lower(&centred, &centred, n, k, 1.0f32);
    drop(centred);
    let mut out = vec![0.0f64; n * n];
    out.par_chunks_mut(n.max(1))
        .zip(g.par_chunks(n.max(1)))
        .enumerate()
        .for_each(|(i, (row, gi))| {
            for j in 0..i {
                let scale = sq[i] + sq[j];
                let d2 = scale - 2.0 * f64::from(gi[j]);
                row[j] = if d2 >= SINGLE_CANCELLATION * scale {
                    d2.sqrt()
                } else {
                    exact_distance(Distance::Euclidean, x.row(i), x.row(j))
                };
            }
        });
    drop(g);
    mirror_lower(&mut out, n);
    Array2::from_shape_vec((n, n), out).unwrap_or_else(|_| Array2::zeros((n, n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The single-precision path on rows far from the origin, with
    /// near-duplicates (recomputed in f64) and spread rows: every distance
    /// within 1e-5 of the largest of the direct ones, the duplicates at
    /// their true tiny distance, exactly symmetric, zero diagonal.
    #[test]
    fn single_precision_distances_match_direct() {
        let (n, k) = (300, 40);
        let x = Array2::from_shape_fn((n, k), |(i, j)| {
            let base = 50.0 + ((i / 2) * 37 + j * 11) as f64 % 17.0 + ((i / 2) as f64).sqrt();
            base + if i % 2 == 1 {
                1e-6 * (j + 1) as f64
            } else {
                0.0
            }
        });
        let ours = pairwise_euclidean_single(x.view());
        let direct = pairwise(x.view(), Distance::Euclidean);
        let dmax = direct.iter().copied().fold(0.0, f64::max);
        let mut worst = 0.0f64;
        for i in 0..n {
            assert_eq!(ours[[i, i]], 0.0);
            for j in 0..n {
                assert_eq!(ours[[i, j]].to_bits(), ours[[j, i]].to_bits());
                worst = worst.max((ours[[i, j]] - direct[[i, j]]).abs());
            }
        }
        assert!(worst <= 1e-5 * dmax, "worst {worst:e} of {dmax}");
        assert!(worst > 0.0, "f32 path gave the f64 bits: not exercised");
        let true_d = (1..=k)
            .map(|c| (1e-6 * c as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!((ours[[0, 1]] - true_d).abs() < 1e-6 * true_d);
    }

    /// Rows far from the origin with near-duplicates among them (where the
    /// Gram identity cancels): every distance within 1e-12 of the direct
    /// formula relative to the rows' scale, exactly symmetric, zero diagonal;
    /// for euclidean and cosine, and for more rows than one GEMM band.
    #[test]
    fn gram_distances_match_direct_and_are_symmetric() {
        let (n, k) = (300, 7);
        let x = Array2::from_shape_fn((n, k), |(i, j)| {
            let base = 1e3 + ((i / 2) * 31 + j * 17) as f64 % 13.0;
            // every odd row is its predecessor moved by 1e-9
            base + if i % 2 == 1 {
                1e-9 * (j + 1) as f64
            } else {
                0.0
            }
        });
        for d in [Distance::Euclidean, Distance::Cosine] {
            let ours = pairwise(x.view(), d);
            let rows = match d {
                Distance::Cosine => l2_normalized(x.view()),
                _ => x.clone(),
            };
            let scale = match d {
                Distance::Cosine => 1.0,
                _ => 1e3,
            };
            for i in 0..n {
                assert_eq!(ours[[i, i]], 0.0);
                for j in 0..n {
                    assert_eq!(ours[[i, j]].to_bits(), ours[[j, i]].to_bits());
                    if i != j {
                        let direct = exact_distance(d, rows.row(i), rows.row(j));
                        let err = (ours[[i, j]] - direct).abs();
                        assert!(
                            err <= 1e-12 * scale,
                            "{d:?} ({i}, {j}): {} vs {direct}",
                            ours[[i, j]]
                        );
                    }
                }
            }
            // the near-duplicates come out at their true, tiny distance
            if d == Distance::Euclidean {
                let true_d = (1..=k)
                    .map(|c| (1e-9 * c as f64).powi(2))
                    .sum::<f64>()
                    .sqrt();
                assert!((ours[[0, 1]] - true_d).abs() < 1e-3 * true_d);
            }
        }
    }
}
