//! Von Neumann entropy of the diffusion operator and phate's knee detector
//! (`phate.vne.compute_von_neumann_entropy`, `phate.vne.find_knee_point`).

use crate::errors::PhateError;
use crate::landmarks::Landmarks;
use crate::linalg::sym_product;
use crate::sparse::Csr;
use crate::tridiag::{symmetric_eigenvalues, symmetric_eigenvalues_beside, Real};
use ndarray::Array2;
use std::sync::atomic::AtomicBool;

/// Singular values of a sparse operator (the exact path's diffusion operator),
/// descending, from the eigenvalues of `P P^T`: the Gram matrix in f64,
/// reduced in f32, for the reason [`singular_values_dense`] gives (a
/// nonnegative operator, so the Gram entries carry a small relative error,
/// and the reduction moves each eigenvalue by about sqrt(n) * 6e-8 of the
/// largest, a few 1e-6 at 2,000 points). These values only choose t: the
/// powers and potential distances stay in f64.
/// Against phate's f64 SVD the entropy curves differ by 3e-7 to 2.7e-6 on
/// the reference cases (1e-14 in f64), with the same t; the band stage runs
/// at twice the f64 rate (2,000 points: whole run 0.83x).
pub(crate) fn singular_values_sparse(p: &Csr) -> Result<Vec<f64>, PhateError> {
    singular_values_sparse_beside(p, |_| ()).0
}

/// [`singular_values_sparse`], running `beside` during the eigensolver's
/// single-threaded phases (see [`symmetric_eigenvalues_beside`]).
pub(crate) fn singular_values_sparse_beside<R: Send>(
    p: &Csr,
    beside: impl FnOnce(&AtomicBool) -> R + Send,
) -> (Result<Vec<f64>, PhateError>, R) {
    let g = p.mul_to_dense(&p.transpose());
    let n = g.nrows();
    // row-major whatever g's layout (ndarray iterates in logical order)
    let g32: Vec<f32> = g.iter().map(|&v| v as f32).collect();
    drop(g);
    let (eig, r) = symmetric_eigenvalues_beside(g32, n, beside);
    (eig.map(sorted_singular_values), r)
}

/// Singular values of a dense operator (the landmark operator), descending,
/// in single precision. Why that is enough: the operator is nonnegative, so
/// every entry of its Gram matrix `L L^T` is a sum of nonnegative terms and
/// comes out of an f32 product with a small relative error (as the landmark
/// powers, [`crate::potential::BinaryPowers`]); the f32 reduction then moves
/// each eigenvalue by about sqrt(m) * 6e-8 of the largest. The entropies of
/// `L^t` move by ~1e-6 relative (2e-6 on gen_dla at 2,000 points, LAPACK's
/// ssyevd against dsyevd, with the same knee), orders of magnitude below what the choice of
/// landmarks itself changes; the singular values that rounding blurs most
/// (below ~1e-3, where the square root amplifies an eigenvalue's error) weigh
/// least in every entropy. The Gram product and the band reduction run at
/// twice the f64 rate.
pub(crate) fn singular_values_dense(p: &Array2<f64>) -> Result<Vec<f64>, PhateError> {
    let (m, k) = p.dim();
    let p32: Vec<f32> = p.iter().map(|&v| v as f32).collect();
    sv_from_gram(sym_product(&p32, &p32, m, k, 1.0f32), m)
}

/// Singular values of the landmark operator `L = Da^(-1/2) S Da^(1/2)`,
/// descending, as [`singular_values_dense`] of it. While `S` is sparse, the
/// Gram matrix `L L^T = Da^(-1/2) S Da S Da^(-1/2)` is one sparse product
/// ([`crate::sparse_dense`]: rows of `S` scaled by `Da^(-1/2)`, times `Da S
/// Da^(-1/2)`), in f32 as the dense path's: nonnegative terms again.
pub(crate) fn singular_values_landmarks(l: &Landmarks) -> Result<Vec<f64>, PhateError> {
    let Some(sp) = &l.sym_sparse else {
        return singular_values_dense(&l.landmark_op);
    };
    let m = l.sym.nrows();
    let r: Vec<f64> = l
        .deg
        .iter()
        .map(|&d| if d > 0.0 { 1.0 / d.sqrt() } else { 0.0 })
        .collect();
    let x: Vec<f32> = l
        .sym
        .indexed_iter()
        .map(|((j, k), &v)| (l.deg[j].max(0.0) * v * r[k]) as f32)
        .collect();
    let r32: Vec<f32> = r.iter().map(|&v| v as f32).collect();
    sv_from_gram(sp.times_dense_transposed(&x, Some(&r32)), m)
}

/// Square roots of the eigenvalues of a Gram matrix (n x n row-major; two-stage
/// reduction, see [`crate::tridiag`]; the bits do not depend on the thread
/// count). The matrix's own storage is the solver's workspace.
fn sv_from_gram<T: Real>(g: Vec<T>, n: usize) -> Result<Vec<f64>, PhateError> {
    symmetric_eigenvalues(g, n).map(sorted_singular_values)
}

/// Square roots of a Gram matrix's eigenvalues (negative rounding clipped
/// to 0), descending.
fn sorted_singular_values(eigenvalues: Vec<f64>) -> Vec<f64> {
    let mut s: Vec<f64> = eigenvalues.into_iter().map(|l| l.max(0.0).sqrt()).collect();
    s.sort_by(|a, b| b.total_cmp(a));
    s
}

/// Entropy of the normalised spectrum of `P^t` for t = 1..=`t_max`
/// (entry `k` is for `P^(k+1)`, as in phate).
///
/// # Arguments
/// * `singular_values` - singular values of `P`.
/// * `t_max` - number of powers.
#[must_use]
pub fn von_neumann_entropy(singular_values: &[f64], t_max: usize) -> Vec<f64> {
    let mut cur = singular_values.to_vec();
    let mut out = Vec::with_capacity(t_max);
    for _ in 0..t_max {
        let sum: f64 = cur.iter().sum();
        let h: f64 = cur
            .iter()
            .map(|v| {
                let p = v / sum + f64::EPSILON;
                -p * p.ln()
            })
            .sum();
        out.push(h);
        cur.iter_mut()
            .zip(singular_values)
            .for_each(|(c, s)| *c *= s);
    }
    out
}

/// Knee of `y` over x = 0, 1, ... (phate's `find_knee_point` with its default x):
/// the break point minimising the summed absolute residuals of two least-squares lines.
///
/// # Errors
/// [`PhateError::InvalidParameter`] when `y` has fewer than 3 entries.
///
/// # Example
/// ```
/// let y: Vec<f64> = (0..20).map(|x| (-(x as f64) / 10.0).exp()).collect();
/// assert_eq!(basin_phate::find_knee_point(&y).unwrap(), 8);
/// ```
pub fn find_knee_point(y: &[f64]) -> Result<usize, PhateError> {
    let len = y.len();
    if len < 3 {
        return Err(PhateError::InvalidParameter {
            name: "t_max",
            value: len.to_string(),
            reason: "knee search needs at least 3 entropy values",
        });
    }
    let x: Vec<f64> = (0..len).map(|i| i as f64).collect();
    let fit = |xs: &[f64], ys: &[f64]| -> (Vec<f64>, Vec<f64>) {
        // cumulative least-squares fits over prefixes of length 2..=len
        let (mut sxy, mut sx, mut sy, mut sxx) = (0.0, 0.0, 0.0, 0.0);
        let mut m = Vec::new();
        let mut b = Vec::new();
        for i in 0..xs.len() {
            sxy += xs[i] * ys[i];
            sx += xs[i];
            sy += ys[i];
            sxx += xs[i] * xs[i];
            if i >= 1 {
                let n = (i + 1) as f64;
                let det = n * sxx - sx * sx;
                m.push((n * sxy - sx * sy) / det);
                b.push(-(sx * sxy - sxx * sy) / det);
            }
        }
        (m, b)
    };
    let (mfwd, bfwd) = fit(&x, y);
    let xr: Vec<f64> = x.iter().rev().copied().collect();
    let yr: Vec<f64> = y.iter().rev().copied().collect();
    let (mut mbck, mut bbck) = fit(&xr, &yr);
    mbck.reverse();
    bbck.reverse();
    let mut best = (f64::INFINITY, 1usize);
    for bp in 1..len - 1 {
        let fwd: f64 = (0..=bp)
            .map(|i| (mfwd[bp - 1] * x[i] + bfwd[bp - 1] - y[i]).abs())
            .sum();
        let bck: f64 = (bp..len)
            .map(|i| (mbck[bp - 1] * x[i] + bbck[bp - 1] - y[i]).abs())
            .sum();
        let err = fwd + bck;
        // np.argmin keeps the first minimum; NaN never wins here.
        if err < best.0 {
            best = (err, bp);
        }
    }
    Ok(best.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::gemm_sym;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The landmark operator's spectrum through the sparse Gram product
    /// against the dense one (both f32) and f64, on `Landmarks` from a sparse
    /// kernel (clusters of 4 points along a chain): within f32 rounding of
    /// the largest singular value, with the same knee.
    #[test]
    fn sparse_landmark_spectrum_matches_dense() {
        let n = 1200;
        let mut rng = ChaCha8Rng::seed_from_u64(23);
        let mut rows: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
        for i in 0..n {
            for _ in 0..3 {
                let j = (i + 1 + rng.random_range(0..6)) % n;
                let v: f64 = rng.random();
                rows[i].push((j, v));
                rows[j].push((i, v));
            }
            rows[i].push((i, 1.0));
        }
        for r in &mut rows {
            r.sort_by_key(|e| e.0);
            r.dedup_by_key(|e| e.0);
        }
        let kernel = Csr::from_rows(n, rows);
        let labels: Vec<usize> = (0..n).map(|i| i / 4).collect();
        let l = Landmarks::from_clusters(&kernel, &labels);
        assert!(
            l.sym_sparse.is_some(),
            "a chain's landmark operator is sparse"
        );
        let sparse = singular_values_landmarks(&l).unwrap();
        let dense = singular_values_dense(&l.landmark_op).unwrap();
        let g = gemm_sym(l.landmark_op.view(), l.landmark_op.view());
        let mut exact: Vec<f64> = symmetric_eigenvalues(g.iter().copied().collect(), l.len())
            .unwrap()
            .into_iter()
            .map(|v| v.max(0.0).sqrt())
            .collect();
        exact.sort_by(|a, b| b.total_cmp(a));
        for (name, ours) in [("sparse", &sparse), ("dense", &dense)] {
            let worst = ours
                .iter()
                .zip(&exact)
                .map(|(a, b)| (a * a - b * b).abs())
                .fold(0.0, f64::max);
            assert!(worst < 1e-5 * exact[0] * exact[0], "{name}: {worst:e}");
        }
        assert_ne!(sparse, dense, "the sparse product was not used");
        assert_eq!(
            find_knee_point(&von_neumann_entropy(&sparse, 100)).unwrap(),
            find_knee_point(&von_neumann_entropy(&exact, 100)).unwrap()
        );
    }

    /// The landmark path's single-precision spectrum against double
    /// precision, on a row-stochastic operator like a landmark operator (each
    /// landmark mostly reaches its neighbours along a chain, with a few
    /// long-range links): singular values within f32 rounding of the largest,
    /// entropies within 1e-5 relative, the same knee.
    #[test]
    fn single_precision_spectrum_keeps_entropy_and_knee() {
        let m = 400;
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let mut p = Array2::<f64>::zeros((m, m));
        for i in 0..m {
            for _ in 0..12 {
                let j = if rng.random::<f64>() < 0.9 {
                    (i + rng.random_range(0..9)) % m
                } else {
                    rng.random_range(0..m)
                };
                p[[i, j]] += rng.random::<f64>();
            }
            let s: f64 = p.row(i).sum();
            p.row_mut(i).mapv_inplace(|v| v / s);
        }
        let ours = singular_values_dense(&p).unwrap();
        let g = gemm_sym(p.view(), p.view());
        let mut reference: Vec<f64> = symmetric_eigenvalues(g.iter().copied().collect(), m)
            .unwrap()
            .into_iter()
            .map(|l| l.max(0.0).sqrt())
            .collect();
        reference.sort_by(|a, b| b.total_cmp(a));
        let worst_sq = ours
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a * a - b * b).abs())
            .fold(0.0, f64::max);
        assert!(worst_sq < 1e-5, "eigenvalues of P P^T: {worst_sq:e}");
        let (h, h_ref) = (
            von_neumann_entropy(&ours, 100),
            von_neumann_entropy(&reference, 100),
        );
        let worst_h = h
            .iter()
            .zip(&h_ref)
            .map(|(a, b)| (a - b).abs() / b.abs())
            .fold(0.0, f64::max);
        assert!(worst_h < 1e-5, "entropy relative error {worst_h:e}");
        assert!(
            worst_h > 0.0,
            "the f32 path gave the f64 answer exactly: not exercised"
        );
        assert_eq!(
            find_knee_point(&h).unwrap(),
            find_knee_point(&h_ref).unwrap()
        );
    }
}
