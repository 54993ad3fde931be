//! Diffusion powers `P^t` and the potential transform of phate
//! (`PHATE._calculate_potential`).

use crate::linalg::gemm;
use crate::sparse::Csr;
use ndarray::Array2;

/// How the diffusion operator is stored, so `P^t` can be formed without dense
/// n x n x n products when the operator is sparse or factored.
pub(crate) enum Operator<'a> {
    /// Exact path: sparse `P` (n x n).
    Sparse(&'a Csr),
    /// Landmark path: `L = A * B` with sparse `A` (m x n) and `B` (n x m), and `L` dense.
    Factored { a: &'a Csr, b: &'a Csr, dense: &'a Array2<f64> },
}

/// `P^t` as a dense matrix.
pub(crate) fn matrix_power(op: &Operator<'_>, t: usize) -> Array2<f64> {
    match op {
        Operator::Sparse(p) => {
            // Repeated sparse x dense products: t * nnz * n flops, far below the
            // log2(t) dense n^3 products of repeated squaring for kNN kernels.
            let mut m = p.to_dense();
            for _ in 1..t {
                m = p.mul_dense(m.view());
            }
            m
        }
        Operator::Factored { a, b, dense } => {
            let mdim = dense.nrows() as f64;
            let per_step_factored = 2.0 * (a.nnz() + b.nnz()) as f64 * mdim;
            let squarings = (usize::BITS - t.leading_zeros()) as f64 + f64::from(t.count_ones());
            let dense_cost = squarings * 2.0 * mdim * mdim * mdim;
            if per_step_factored * (t as f64 - 1.0) <= dense_cost {
                let mut m = (*dense).clone();
                for _ in 1..t {
                    let bm = b.mul_dense(m.view());
                    m = a.mul_dense(bm.view());
                }
                m
            } else {
                dense_power(dense, t)
            }
        }
    }
}

/// `M^t` by repeated squaring (numpy's `matrix_power`).
pub(crate) fn dense_power(m: &Array2<f64>, t: usize) -> Array2<f64> {
    let mut result: Option<Array2<f64>> = None;
    let mut base = m.clone();
    let mut e = t;
    while e > 0 {
        if e & 1 == 1 {
            result = Some(match result {
                None => base.clone(),
                Some(r) => gemm(r.view(), base.view(), false),
            });
        }
        e >>= 1;
        if e > 0 {
            base = gemm(base.view(), base.view(), false);
        }
    }
    result.unwrap_or_else(|| Array2::eye(m.nrows()))
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
