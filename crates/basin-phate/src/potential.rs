//! Diffusion powers `P^t` and the potential transform of phate
//! (`PHATE._calculate_potential`).

use crate::errors::PhateError;
use crate::linalg::{gemm, symmetric_eigen};
use crate::sparse::Csr;
use ndarray::Array2;

/// How the diffusion operator is stored, so `P^t` can be formed without dense
/// n x n x n products when the operator is sparse or factored.
pub(crate) enum Operator<'a> {
    /// Exact path: sparse `P` (n x n).
    Sparse(&'a Csr),
    /// `P = D^(-1/2) S D^(1/2)` with `S` symmetric positive semi-definite
    /// (dense) and `d` the degrees: the landmark operator, or `D^-1 K`.
    Symmetrizable { s: &'a Array2<f64>, d: &'a [f64] },
}

/// `D^(-1/2) S^t D^(1/2)` from one symmetric eigendecomposition `S = V L V^T`:
/// `S^t = (V L^(t/2)) (V L^(t/2))^T`, a single GEMM instead of log2(t) of them.
fn symmetric_power(s: &Array2<f64>, d: &[f64], t: usize) -> Result<Array2<f64>, PhateError> {
    let (vals, mut v) = symmetric_eigen(s)?;
    let half = t as f64 / 2.0;
    for (c, &l) in vals.iter().enumerate() {
        // S is PSD; clamp rounding noise below zero.
        let f = l.max(0.0).powf(half);
        v.column_mut(c).mapv_inplace(|x| x * f);
    }
    let mut st = gemm(v.view(), v.view(), true);
    let n = st.nrows();
    for i in 0..n {
        for j in 0..n {
            st[[i, j]] *= (d[j] / d[i]).sqrt();
        }
    }
    Ok(st)
}

/// `P^t` as a dense matrix.
pub(crate) fn matrix_power(op: &Operator<'_>, t: usize) -> Result<Array2<f64>, PhateError> {
    Ok(match op {
        Operator::Sparse(p) => {
            // Repeated sparse x dense products: t * nnz * n flops, far below the
            // log2(t) dense n^3 products of repeated squaring for kNN kernels.
            let mut m = p.to_dense();
            for _ in 1..t {
                m = p.mul_dense(m.view());
            }
            m
        }
        Operator::Symmetrizable { s, d } => symmetric_power(s, d, t)?,
    })
}

/// phate's potential: `-log(P^t + 1e-7)` for gamma = 1, `P^t` for gamma = -1,
/// else `(P^t)^c / c` with `c = (1 - gamma) / 2`.
pub(crate) fn potential(mut pt: Array2<f64>, gamma: f64) -> Array2<f64> {
    if gamma == 1.0 {
        pt.par_mapv_inplace(|v| -(v + 1e-7).ln());
    } else if gamma == -1.0 {
    } else {
        let c = (1.0 - gamma) / 2.0;
        pt.par_mapv_inplace(|v| v.powf(c) / c);
    }
    pt
}
