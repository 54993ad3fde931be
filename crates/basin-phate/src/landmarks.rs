//! graphtools' `LandmarkGraph`: spectral clusters of the kernel become
//! landmarks; `pmn` sums kernel rows per cluster, the landmark operator is
//! `normalize(pmn) * normalize(pmn^T)` and `normalize(pmn^T)` carries any
//! landmark-level result back to every point. Nothing here is n x n dense.

use crate::linalg::{gaussian, gemm, gemm_seq, orthonormalize, small_symmetric_eigen};
use crate::sparse::Csr;
use ndarray::{s, Array2, ArrayView2, Axis};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use ndarray::parallel::prelude::*;

/// Landmark structures built from the kernel and a clustering.
#[derive(Debug, Clone)]
pub struct Landmarks {
    /// Landmark index of every point (clusters renumbered 0..m in label order).
    pub clusters: Vec<usize>,
    /// Row-normalised `pmn^T` (n x m): point to landmark transitions.
    pub(crate) transitions: Csr,
    /// `pmn * transitions` (m x m), the landmark diffusion operator.
    pub(crate) landmark_op: Array2<f64>,
    /// `S = F F^T` with `F = Da^(-1/2) C Db^(-1/2)`: the landmark operator is
    /// `Da^(-1/2) S Da^(1/2)`, so its powers come from one symmetric eigensolve.
    pub(crate) sym: Array2<f64>,
    /// Row sums `Da` of the unnormalised `pmn`.
    pub(crate) deg: Vec<f64>,
}

impl Landmarks {
    /// Builds the landmark operator from a kernel and a cluster label per point;
    /// empty clusters are dropped as `np.unique` does.
    #[must_use]
    pub fn from_clusters(kernel: &Csr, labels: &[usize]) -> Self {
        let mut uniq: Vec<usize> = labels.to_vec();
        uniq.sort_unstable();
        uniq.dedup();
        let max_label = uniq.last().copied().unwrap_or(0);
        let mut remap = vec![usize::MAX; max_label + 1];
        for (new, &old) in uniq.iter().enumerate() {
            remap[old] = new;
        }
        let clusters: Vec<usize> = labels.iter().map(|&l| remap[l]).collect();
        let m = uniq.len();
        let n = kernel.nrows();
        let mut rows: Vec<Vec<(usize, f64)>> = vec![Vec::new(); m];
        for (i, &c) in clusters.iter().enumerate() {
            let (cols, vals) = kernel.row(i);
            rows[c].extend(cols.iter().copied().zip(vals.iter().copied()));
        }
        let pmn_raw = Csr::from_rows(n, rows);
        let pnm = pmn_raw.transpose().l1_normalized();
        let pmn = pmn_raw.l1_normalized();
        let landmark_op = pmn.mul_sparse(&pnm).to_dense();
        let deg = pmn_raw.row_sums();
        let col = pmn_raw.transpose().row_sums();
        let inv = |v: &[f64]| -> Vec<f64> { v.iter().map(|x| if *x > 0.0 { 1.0 / x.sqrt() } else { 0.0 }).collect() };
        let f = pmn_raw.scale_rows_cols(&inv(&deg), &inv(&col));
        let sym = f.mul_sparse(&f.transpose()).to_dense();
        Self { clusters, transitions: pnm, landmark_op, sym, deg }
    }

    /// Number of landmarks.
    #[must_use]
    pub fn len(&self) -> usize {
        self.landmark_op.nrows()
    }

    /// True when there are no landmarks.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The landmark diffusion operator (m x m).
    #[must_use]
    pub fn landmark_op(&self) -> &Array2<f64> {
        &self.landmark_op
    }

    /// Point-to-landmark transitions (n x m, sparse).
    #[must_use]
    pub fn transitions(&self) -> &Csr {
        &self.transitions
    }
}

/// Top right singular vectors (rows of V^T as columns) of the symmetric
/// diffusion affinity, by a randomized range finder with `n_iter` power steps
/// (scikit-learn's `randomized_svd`: oversampling 10, 7 steps for few components).
fn spectral_vectors(diff_aff: &Csr, n_svd: usize, seed: u64) -> Array2<f64> {
    let n = diff_aff.nrows();
    let k = n_svd.min(n);
    let l = (k + 10).min(n);
    let n_iter = if (k as f64) < 0.1 * n as f64 { 7 } else { 4 };
    let mut q = gaussian(n, l, seed);
    q = diff_aff.mul_dense(q.view());
    orthonormalize(&mut q);
    for _ in 0..n_iter {
        q = diff_aff.mul_dense(q.view());
        orthonormalize(&mut q);
    }
    // Rayleigh-Ritz: the affinity is symmetric, so its right singular vectors are
    // its eigenvectors ordered by |eigenvalue|.
    let aq = diff_aff.mul_dense(q.view());
    let h = gemm(q.t(), aq.view(), false);
    let (_, w) = small_symmetric_eigen(&h, f64::abs);
    let v = gemm(q.view(), w.view(), false);
    v.slice(s![.., ..k]).to_owned()
}

/// Squared euclidean distance with four independent accumulators (vectorises).
fn squared_distance(x: &[f64], y: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (xc, yc) = (x.chunks_exact(4), y.chunks_exact(4));
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (a, b) in xc.zip(yc) {
        for l in 0..4 {
            let d = a[l] - b[l];
            acc[l] += d * d;
        }
    }
    let tail: f64 = xr.iter().zip(yr).map(|(a, b)| (a - b) * (a - b)).sum();
    acc[0] + acc[1] + acc[2] + acc[3] + tail
}

/// k-means: k-means++ seeding on a subsample of `3 * m` points (scikit-learn's
/// `init_size`), then Lloyd iterations on all points with GEMM distances.
fn kmeans(x: ArrayView2<'_, f64>, m: usize, seed: u64, max_iter: usize) -> Vec<usize> {
    let n = x.nrows();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let sub: Vec<usize> = sample(&mut rng, n, (3 * m).min(n)).into_vec();
    let xs = x.select(Axis(0), &sub);
    // k-means++ seeding
    let mut centers = Vec::with_capacity(m);
    let first = rng.random_range(0..xs.nrows());
    centers.push(first);
    let sqd = |a: usize, b: usize| -> f64 {
        let (ra, rb) = (xs.row(a), xs.row(b));
        match (ra.as_slice(), rb.as_slice()) {
            (Some(x), Some(y)) => squared_distance(x, y),
            _ => ra.iter().zip(rb.iter()).map(|(u, v)| (u - v) * (u - v)).sum(),
        }
    };
    let mut mind: Vec<f64> = (0..xs.nrows()).into_par_iter().map(|i| sqd(i, first)).collect();
    while centers.len() < m.min(xs.nrows()) {
        let total: f64 = mind.iter().sum();
        let next = if total > 0.0 {
            let mut r = rng.random::<f64>() * total;
            let mut pick = xs.nrows() - 1;
            for (i, &d) in mind.iter().enumerate() {
                r -= d;
                if r <= 0.0 {
                    pick = i;
                    break;
                }
            }
            pick
        } else {
            rng.random_range(0..xs.nrows())
        };
        centers.push(next);
        mind.par_iter_mut().enumerate().for_each(|(i, md)| {
            let d = sqd(i, next);
            if d < *md {
                *md = d;
            }
        });
    }
    let c0 = xs.select(Axis(0), &centers);
    // Lloyd iterations on the subsample (as MiniBatchKMeans fits on batches),
    // O(3 m^2 d) each, then three on every point, O(n m d) each.
    let c = lloyd(xs.view(), c0, max_iter).0;
    // a few full-data iterations polish the centres (DEMaP drops without them)
    lloyd(x, c, 3).1
}

/// Lloyd iterations from centres `c`; returns the centres and the labels of
/// the final assignment (`max_iter = 0`: just assign).
fn lloyd(x: ArrayView2<'_, f64>, mut c: Array2<f64>, max_iter: usize) -> (Array2<f64>, Vec<usize>) {
    let n = x.nrows();
    let mut labels = vec![0usize; n];
    let xn: Vec<f64> = x.axis_iter(Axis(0)).map(|r| r.dot(&r)).collect();
    for it in 0..=max_iter {
        let cn: Vec<f64> = c.axis_iter(Axis(0)).map(|r| r.dot(&r)).collect();
        // Row blocks keep the point-to-centre distances at block x m, never n x m.
        let starts: Vec<usize> = (0..n).step_by(256).collect();
        let new: Vec<usize> = starts
            .into_par_iter()
            .flat_map_iter(|start| {
                let end = (start + 256).min(n);
                let g = gemm_seq(x.slice(s![start..end, ..]), c.view(), true);
                let (xn, cn) = (&xn, &cn);
                (0..end - start)
                    .map(|r| {
                        let i = start + r;
                        let mut best = (f64::INFINITY, 0usize);
                        for (j, &v) in g.row(r).iter().enumerate() {
                            let d = xn[i] + cn[j] - 2.0 * v;
                            if d < best.0 {
                                best = (d, j);
                            }
                        }
                        best.1
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let changed = new.iter().zip(&labels).filter(|(a, b)| a != b).count();
        labels = new;
        // stop once fewer than 0.1% of the points move
        if it == max_iter || (it > 0 && changed * 1000 <= n) {
            break;
        }
        let mut sums = Array2::<f64>::zeros(c.dim());
        let mut counts = vec![0usize; c.nrows()];
        for (i, &l) in labels.iter().enumerate() {
            sums.row_mut(l).scaled_add(1.0, &x.row(i));
            counts[l] += 1;
        }
        for (j, &cnt) in counts.iter().enumerate() {
            if cnt > 0 {
                let row = sums.row(j).mapv(|v| v / cnt as f64);
                c.row_mut(j).assign(&row);
            }
        }
    }
    (c, labels)
}

/// Spectral clustering of the kernel into at most `n_landmark` landmarks, as
/// graphtools does it (SVD of the diffusion affinity, k-means on `P V`).
pub(crate) fn spectral_landmarks(
    kernel: &Csr,
    diff_op: &Csr,
    n_landmark: usize,
    n_svd: usize,
    seed: u64,
) -> Landmarks {
    let deg = kernel.row_sums();
    let inv_sqrt: Vec<f64> = deg.iter().map(|d| if *d > 0.0 { 1.0 / d.sqrt() } else { 0.0 }).collect();
    let diff_aff = kernel.scale_rows_cols(&inv_sqrt, &inv_sqrt);
    let timing = std::env::var_os("BASIN_PHATE_TIMING").is_some();
    let clock = std::time::Instant::now();
    let v = spectral_vectors(&diff_aff, n_svd, seed);
    let feats = diff_op.mul_dense(v.view());
    if timing {
        eprintln!("basin-phate:   spectral vectors: {:.3} s", clock.elapsed().as_secs_f64());
    }
    let labels = kmeans(feats.view(), n_landmark, seed.wrapping_add(1), 20);
    if timing {
        eprintln!("basin-phate:   k-means: {:.3} s", clock.elapsed().as_secs_f64());
    }
    let l = Landmarks::from_clusters(kernel, &labels);
    if timing {
        eprintln!("basin-phate:   landmark operator: {:.3} s", clock.elapsed().as_secs_f64());
    }
    l
}
