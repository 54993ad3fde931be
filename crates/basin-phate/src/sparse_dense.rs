//! Sparse times dense in single precision, for the landmark operator's
//! symmetric form `S` while it is sparse.
//!
//! `S = F F^T` links two landmarks only when their clusters share kernel
//! edges: on gen_dla 8.7 % (5,000 points) to 10.4 % (20,000) of its entries
//! are nonzero. A half GEMM does m^3 multiply-adds whatever the zeros, a
//! sparse product nnz x m; at these densities that is 4-5x fewer, and the
//! products of `S` with a dense matrix (`S^2`, the odd factor of `S^t`, the
//! Gram matrix of the landmark operator for the spectrum) took 0.07-0.08 s
//! against 0.10-0.13 s for a half GEMM on one core at 2,000 landmarks.
//!
//! How it stays cache-bound rather than memory-bound: the dense operand is
//! copied into panels of [`PANEL`] columns stored contiguously (2,000 rows
//! x 32 f32 = 256 KiB, inside L2), and each panel is swept by every sparse
//! row. Gathering the same 32 columns straight from the row-major matrix
//! touched one page per row (2,000 pages a panel), and ran at 12 GFLOP/s
//! against 20-23 packed. Each output entry is one sum over its row's
//! nonzeros in storage order, whatever the thread count.

use ndarray::Array2;
use rayon::prelude::*;

/// Columns of the dense operand per packed panel (four AVX2 registers of
/// accumulators; 16 ran at 16-19 GFLOP/s, 32 and 64 at 19-23).
const PANEL: usize = 32;

/// Largest share of nonzero entries for which [`SparseRows32`] replaces a
/// half GEMM. Measured cost per product: 0.7x the half GEMM's at 10.4 %
/// nonzero; a sparse nonzero costs about 6.6 times a dense entry of the
/// half GEMM, so the two meet near 15 %.
pub(crate) const SPARSE_MAX_DENSITY: f64 = 0.12;

/// A square sparse matrix by rows, single precision (u32 column indices).
#[derive(Debug, Clone)]
pub(crate) struct SparseRows32 {
    n: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl SparseRows32 {
    /// The nonzeros of the square matrix `a` (as f32), or `None` when more
    /// than `max_density` of its entries are nonzero (or it is too large for
    /// u32 indices).
    pub(crate) fn from_dense_if_sparse(a: &Array2<f64>, max_density: f64) -> Option<Self> {
        let n = a.nrows();
        if a.ncols() != n || n == 0 || u32::try_from(n).is_err() {
            return None;
        }
        let nnz = a.iter().filter(|&&v| v != 0.0).count();
        if nnz as f64 > max_density * (n * n) as f64 {
            return None;
        }
        let mut indptr = Vec::with_capacity(n + 1);
        let mut indices = Vec::with_capacity(nnz);
        let mut values = Vec::with_capacity(nnz);
        indptr.push(0);
        for row in a.rows() {
            for (j, &v) in row.iter().enumerate() {
                if v != 0.0 {
                    // n fits in u32 (checked above)
                    indices.push(j as u32);
                    values.push(v as f32);
                }
            }
            indptr.push(indices.len());
        }
        Some(Self {
            n,
            indptr,
            indices,
            values,
        })
    }

    /// Rows (and columns).
    pub(crate) fn n(&self) -> usize {
        self.n
    }

    /// `(diag(row_scale) A X)^T` (n x n, row-major) for a dense `x` (n x n,
    /// row-major); with `row_scale` `None`, `(A X)^T`. For the symmetric
    /// products it serves (`A` and `X` commuting symmetric matrices, or a
    /// Gram matrix) that transpose is the product itself; writing it
    /// transposed keeps each panel's output in its own contiguous rows.
    pub(crate) fn times_dense_transposed(&self, x: &[f32], row_scale: Option<&[f32]>) -> Vec<f32> {
        let n = self.n;
        debug_assert_eq!(x.len(), n * n);
        debug_assert!(row_scale.is_none_or(|s| s.len() == n));
        let mut out = vec![0.0f32; n * n];
        out.par_chunks_mut(PANEL * n).enumerate().for_each_init(
            || vec![[0.0f32; PANEL]; n],
            |panel, (p, out_rows)| {
                let c0 = p * PANEL;
                let width = out_rows.len() / n;
                // the panel's columns of x, one row of x per entry; the last
                // panel's missing columns stay 0 (never written out)
                for (j, dst) in panel.iter_mut().enumerate() {
                    dst[..width].copy_from_slice(&x[j * n + c0..j * n + c0 + width]);
                }
                sweep_panel(self, panel, row_scale, out_rows, width);
            },
        );
        out
    }
}

/// Every sparse row against one packed panel: `out_rows[c * n + i] =
/// scale_i * sum_j a_ij panel[j][c]` for the panel's `width` columns.
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq+avx512bw",
    "x86_64+avx2+fma"
))]
fn sweep_panel(
    a: &SparseRows32,
    panel: &[[f32; PANEL]],
    row_scale: Option<&[f32]>,
    out_rows: &mut [f32],
    width: usize,
) {
    let n = a.n;
    for i in 0..n {
        let (start, end) = (a.indptr[i], a.indptr[i + 1]);
        let mut acc = [0.0f32; PANEL];
        for (&j, &v) in a.indices[start..end].iter().zip(&a.values[start..end]) {
            let xj = &panel[j as usize];
            for c in 0..PANEL {
                // fused, so the bits are the same with or without FMA units
                acc[c] = v.mul_add(xj[c], acc[c]);
            }
        }
        let scale = row_scale.map_or(1.0, |s| s[i]);
        for (c, &v) in acc.iter().enumerate().take(width) {
            out_rows[c * n + i] = v * scale;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Against f64 dense products, on a matrix of more than one panel and a
    /// partial last panel, with a row scale; empty rows included; and the
    /// density cut-off.
    #[test]
    fn matches_dense_product() {
        let n = 77;
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let a = Array2::from_shape_fn((n, n), |(i, _)| {
            if i % 10 != 3 && rng.random::<f64>() < 0.1 {
                rng.random::<f64>()
            } else {
                0.0
            }
        });
        let x = Array2::from_shape_fn((n, n), |_| rng.random::<f64>() - 0.5);
        let scale: Vec<f64> = (0..n).map(|i| 0.5 + i as f64 / n as f64).collect();
        let sp = SparseRows32::from_dense_if_sparse(&a, 0.2).expect("about 9 % nonzero");
        assert!(SparseRows32::from_dense_if_sparse(&a, 0.01).is_none());
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let s32: Vec<f32> = scale.iter().map(|&v| v as f32).collect();
        for with_scale in [false, true] {
            let got = sp.times_dense_transposed(&x32, with_scale.then_some(&s32[..]));
            let mut reference = a.dot(&x);
            if with_scale {
                for (i, mut row) in reference.rows_mut().into_iter().enumerate() {
                    row *= scale[i];
                }
            }
            let worst = (0..n)
                .flat_map(|i| (0..n).map(move |j| (i, j)))
                .map(|(i, j)| (f64::from(got[j * n + i]) - reference[[i, j]]).abs())
                .fold(0.0f64, f64::max);
            assert!(worst < 1e-5, "max |diff| {worst:e}");
            assert!(
                worst > 0.0,
                "f32 gave the f64 answer exactly: not exercised"
            );
        }
    }
}
