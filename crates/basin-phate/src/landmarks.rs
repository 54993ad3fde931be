//! graphtools' `LandmarkGraph`: spectral clusters of the kernel become
//! landmarks; `pmn` sums kernel rows per cluster, the landmark operator is
//! `normalize(pmn) * normalize(pmn^T)` and `normalize(pmn^T)` carries any
//! landmark-level result back to every point. Nothing here is n x n dense.

use crate::fit::Stopwatch;
use crate::kmeans::minibatch_kmeans;
use crate::linalg::{
    at_b, gaussian_f32, gemm, orthonormalize, randomized_power_iterations,
    reorthogonalize_f32_with, small_symmetric_eigen,
};
use crate::potential::unsymmetrize;
use crate::sparse::{inv_sqrt, Csr};
use crate::sparse_dense::{SparseRows32, SPARSE_MAX_DENSITY};
use ndarray::{s, Array2};

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
    /// `Da^(-1/2) S Da^(1/2)`, so its powers are `Da^(-1/2) S^t Da^(1/2)`, from
    /// products of symmetric matrices (half GEMMs).
    pub(crate) sym: Array2<f64>,
    /// Row sums `Da` of the unnormalised `pmn`.
    pub(crate) deg: Vec<f64>,
    /// `S`'s nonzeros while it is sparse enough for sparse products to beat
    /// half GEMMs (see [`crate::sparse_dense`]).
    pub(crate) sym_sparse: Option<SparseRows32>,
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
        let pmn_t = pmn_raw.transpose();
        let deg = pmn_raw.row_sums();
        let col = pmn_t.row_sums();
        let pnm = pmn_t.l1_normalized();
        let f = pmn_raw.scale_rows_cols(&inv_sqrt(&deg), &inv_sqrt(&col));
        let sym = f.mul_to_dense(&f.transpose());
        // normalize(pmn) normalize(pmn^T) = Da^(-1/2) S Da^(1/2): a scaling of
        // S rather than a second sparse product into a fresh dense matrix
        let mut landmark_op = sym.clone();
        unsymmetrize(&mut landmark_op, &deg);
        let sym_sparse = SparseRows32::from_dense_if_sparse(&sym, SPARSE_MAX_DENSITY);
        Self {
            clusters,
            transitions: pnm,
            landmark_op,
            sym,
            deg,
            sym_sparse,
        }
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
/// diffusion affinity, by scikit-learn's `randomized_svd` recipe: oversampling
/// 10, `n_iter` power iterations of `A^T A` (for a symmetric A: two products
/// each, so the range is that of `A^(2 n_iter + 1) Omega`), then Rayleigh-Ritz.
/// scikit-learn renormalises (LU) after every product; the spectrum of the
/// diffusion affinity lies in [-1, 1], so nothing overflows and one Cholesky QR
/// every third product keeps the block well-conditioned at a fifth of the cost.
///
/// The power iteration runs in single precision, its start, products and
/// the Cholesky QRs between them, with two n x (k + 10) buffers alternating
/// (a fresh block per product was first-touched page by page); the last
/// orthonormalisation and the Rayleigh-Ritz step run in f64. The products
/// are bound by gathering rows of the block, and the subspace after 9 or 15
/// products is set by the spectrum's gaps. The f64 tail is not for show: with
/// it in f32 as well (0.1 s less at 20,000 points), the entropy knee at 5,000
/// points fell early (t <= 11) for 18 of 60 seeds against 10 of 60 (phate
/// 2.0: 2 of 15), so the clusters it seeds are not as good.
///
/// Returns `V` (n x `min(n_svd, n)`, row-major, in f32 for k-means) and its
/// column count.
fn spectral_vectors(diff_aff: &Csr, n_svd: usize, seed: u64) -> (Vec<f32>, usize) {
    let n = diff_aff.nrows();
    let k = n_svd.min(n);
    let l = (k + 10).min(n);
    let n_iter = randomized_power_iterations(k, n);
    let vals = diff_aff.values_f32();
    let mut q32 = gaussian_f32(n, l, seed);
    // the other buffer of the ping-pong (see `Csr::mul_dense_f32_into`)
    let mut spare = vec![0.0f32; n * l];
    let products = 2 * n_iter + 1;
    for p in 1..=products {
        diff_aff.mul_dense_f32_into(&vals, &q32, l, &mut spare);
        std::mem::swap(&mut q32, &mut spare);
        if p % 3 == 0 && p < products {
            reorthogonalize_f32_with(&mut q32, &mut spare, n, l);
        }
    }
    drop(spare);
    let mut q = Array2::from_shape_vec((n, l), q32.into_iter().map(f64::from).collect())
        .unwrap_or_else(|_| Array2::zeros((n, l)));
    orthonormalize(&mut q);
    // Rayleigh-Ritz: the affinity is symmetric, so its right singular vectors are
    // its eigenvectors ordered by |eigenvalue|.
    let aq = diff_aff.mul_dense(q.view());
    let h = at_b(q.view(), aq.view());
    let (_, w) = small_symmetric_eigen(&h, f64::abs);
    let v = gemm(q.view(), w.slice(s![.., ..k]), false);
    (v.iter().map(|&x| x as f32).collect(), k)
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
    let clock = Stopwatch::new();
    // P V in single precision for k-means (which runs in f32); the affinity
    // and V go out of scope first, so they are not resident beside k-means'
    // own tables
    let (feats, rows, cols) = {
        let (diff_aff, _) = kernel.sym_normalized();
        let (v32, k) = spectral_vectors(&diff_aff, n_svd, seed);
        drop(diff_aff);
        (
            diff_op.mul_dense_f32(&diff_op.values_f32(), &v32, k),
            diff_op.nrows(),
            k,
        )
    };
    clock.lap("  spectral vectors");
    let labels = minibatch_kmeans(feats, rows, cols, n_landmark, seed.wrapping_add(1));
    clock.lap("  k-means");
    let l = Landmarks::from_clusters(kernel, &labels);
    clock.lap("  landmark operator");
    l
}
