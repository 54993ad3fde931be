//! Dense helpers on top of faer: GEMM on ndarray views, symmetric eigenvalues,
//! orthonormalisation and a seeded subspace iteration for top eigenpairs.

use crate::errors::PhateError;
use faer::{Accum, MatMut, MatRef, Par};
use ndarray::{s, Array1, Array2, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

fn as_faer(a: &ArrayView2<'_, f64>) -> (Option<Array2<f64>>, usize, usize) {
    // faer wants a plain row-major slice; copy only when the view is strided.
    if a.is_standard_layout() {
        (None, a.nrows(), a.ncols())
    } else {
        (Some(a.as_standard_layout().into_owned()), a.nrows(), a.ncols())
    }
}

/// `a * b^T` when `bt` is true, else `a * b`, multi-threaded.
pub(crate) fn gemm(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>, bt: bool) -> Array2<f64> {
    gemm_par(a, b, bt, Par::rayon(0))
}

/// Single-threaded GEMM, for use inside loops that rayon already splits
/// (nested faer parallelism spin-waits on busy machines).
pub(crate) fn gemm_seq(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>, bt: bool) -> Array2<f64> {
    gemm_par(a, b, bt, Par::Seq)
}

fn gemm_par(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>, bt: bool, par: Par) -> Array2<f64> {
    let (ac, m, k) = as_faer(&a);
    let (bc, br, bcn) = as_faer(&b);
    let asl = ac.as_ref().map_or_else(|| a.as_slice().unwrap_or(&[]), |x| x.as_slice().unwrap_or(&[]));
    let bsl = bc.as_ref().map_or_else(|| b.as_slice().unwrap_or(&[]), |x| x.as_slice().unwrap_or(&[]));
    let n = if bt { br } else { bcn };
    let mut out = Array2::<f64>::zeros((m, n));
    if m == 0 || n == 0 || k == 0 {
        return out;
    }
    let fa = MatRef::from_row_major_slice(asl, m, k);
    let fb0 = MatRef::from_row_major_slice(bsl, br, bcn);
    let fb = if bt { fb0.transpose() } else { fb0 };
    let osl = out.as_slice_mut().unwrap_or(&mut []);
    let fo = MatMut::from_row_major_slice_mut(osl, m, n);
    faer::linalg::matmul::matmul(fo, Accum::Replace, fa, fb, 1.0, par);
    out
}

/// `a * b^T` in single precision, single-threaded: `a` is m x k and `b` is
/// nb x k, both row-major slices; the result is m x nb, row-major.
pub(crate) fn gemm_f32_seq(a: &[f32], m: usize, b: &[f32], nb: usize, k: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; m * nb];
    if m == 0 || nb == 0 || k == 0 {
        return out;
    }
    let fa = MatRef::from_row_major_slice(a, m, k);
    let fb = MatRef::from_row_major_slice(b, nb, k).transpose();
    let fo = MatMut::from_row_major_slice_mut(&mut out, m, nb);
    faer::linalg::matmul::matmul(fo, Accum::Replace, fa, fb, 1.0f32, Par::Seq);
    out
}

/// All eigenvalues of a symmetric matrix, ascending.
pub(crate) fn symmetric_eigenvalues(a: &Array2<f64>) -> Result<Vec<f64>, PhateError> {
    let n = a.nrows();
    let sl = a.as_slice().unwrap_or(&[]);
    let m = MatRef::from_row_major_slice(sl, n, n);
    m.self_adjoint_eigenvalues(faer::Side::Lower).map_err(|e| PhateError::Numerical {
        stage: "eigenvalues",
        reason: format!("{e:?}"),
    })
}

/// Eigen-decomposition of a symmetric matrix: eigenvalues ascending, eigenvectors as columns.
pub(crate) fn symmetric_eigen(a: &Array2<f64>) -> Result<(Vec<f64>, Array2<f64>), PhateError> {
    let n = a.nrows();
    let sl = a.as_slice().unwrap_or(&[]);
    let m = MatRef::from_row_major_slice(sl, n, n);
    let e = m.self_adjoint_eigen(faer::Side::Lower).map_err(|e| PhateError::Numerical {
        stage: "eigendecomposition",
        reason: format!("{e:?}"),
    })?;
    let vals: Vec<f64> = (0..n).map(|i| e.S()[i]).collect();
    let u = e.U();
    let vecs = Array2::from_shape_fn((n, n), |(i, j)| u[(i, j)]);
    Ok((vals, vecs))
}

/// Orthonormalises the columns of `q` in place (Householder QR, thin Q).
pub(crate) fn orthonormalize(q: &mut Array2<f64>) {
    let (n, l) = q.dim();
    let m = faer::Mat::<f64>::from_fn(n, l, |i, j| q[[i, j]]);
    let thin = m.qr().compute_thin_Q();
    for i in 0..n {
        for j in 0..l {
            q[[i, j]] = thin[(i, j)];
        }
    }
}

/// Gaussian n x l matrix from a seed.
pub(crate) fn gaussian(n: usize, l: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((n, l), |_| StandardNormal.sample(&mut rng))
}

/// Eigen-decomposition of a small symmetric matrix, eigenvalues descending by `key`.
pub(crate) fn small_symmetric_eigen(
    a: &Array2<f64>,
    key: impl Fn(f64) -> f64,
) -> (Array1<f64>, Array2<f64>) {
    let n = a.nrows();
    let m = nalgebra::DMatrix::from_fn(n, n, |i, j| 0.5 * (a[[i, j]] + a[[j, i]]));
    let e = m.symmetric_eigen();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&x, &y| key(e.eigenvalues[y]).total_cmp(&key(e.eigenvalues[x])));
    let vals = Array1::from_iter(order.iter().map(|&i| e.eigenvalues[i]));
    let vecs = Array2::from_shape_fn((n, n), |(r, c)| e.eigenvectors[(r, order[c])]);
    (vals, vecs)
}

/// Top-`k` eigenpairs by |eigenvalue| of the symmetric operator `apply` (n x n),
/// by subspace iteration with `k + 10` vectors until the Ritz values settle.
pub(crate) fn top_eigen_abs(
    n: usize,
    k: usize,
    seed: u64,
    apply: impl Fn(ArrayView2<'_, f64>) -> Array2<f64>,
) -> (Array1<f64>, Array2<f64>) {
    let l = (k + 10).min(n);
    let mut q = gaussian(n, l, seed);
    orthonormalize(&mut q);
    let mut prev = vec![f64::INFINITY; k.min(l)];
    let mut vals = Array1::zeros(l);
    let mut vecs;
    for it in 0..500 {
        let z = apply(q.view());
        let h = gemm(q.t(), z.view(), false);
        let (v, w) = small_symmetric_eigen(&h, f64::abs);
        vals = v;
        vecs = w;
        let done = prev
            .iter()
            .zip(vals.iter())
            .all(|(p, c)| (p - c).abs() <= 1e-13 * c.abs().max(1e-300));
        if done && it > 2 {
            q = gemm(q.view(), vecs.view(), false);
            break;
        }
        prev = vals.iter().take(k.min(l)).copied().collect();
        // Rotate to Ritz vectors then take one more power step.
        q = z.dot(&vecs);
        orthonormalize(&mut q);
    }
    let kk = k.min(l);
    (vals.slice(s![..kk]).to_owned(), q.slice(s![.., ..kk]).to_owned())
}
