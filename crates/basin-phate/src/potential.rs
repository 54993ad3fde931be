//! Diffusion powers `P^t` and the potential transform of phate
//! (`PHATE._calculate_potential`).
//!
//! Both operators are similar to a symmetric matrix: `P = D^-1 K =
//! D^(-1/2) A D^(1/2)` with `A = D^(-1/2) K D^(-1/2)`, and the landmark operator
//! is `Da^(-1/2) S Da^(1/2)` with `S = F F^T`. So `P^t = D^(-1/2) A^t D^(1/2)`,
//! and `A^t` is symmetric, which halves every dense product below:
//! - sparse `A` (exact path): `A^s` by s sparse products on blocks of 16
//!   columns (each block stays in cache), then `A^t = A^s (A^(t-s))^T` by one
//!   half GEMM; phate instead multiplies dense n x n matrices log2(t) times;
//! - dense `S` (landmarks): binary powers `S^(2^k)` by half GEMMs (computed
//!   beside the singular values for t, which do not depend on them), then the
//!   product of those in t's binary expansion, as numpy's `matrix_power`.

use crate::linalg::gemm_sym;
use crate::sparse::Csr;
use ndarray::parallel::prelude::*;
use ndarray::{Array2, Axis};

/// `diag(d)^(-1/2) M diag(d)^(1/2)` in place.
fn unsymmetrize(m: &mut Array2<f64>, d: &[f64]) {
    let sq: Vec<f64> = d.iter().map(|v| v.sqrt()).collect();
    m.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(i, mut row)| {
            let inv = if sq[i] > 0.0 { 1.0 / sq[i] } else { 0.0 };
            for (v, s) in row.iter_mut().zip(&sq) {
                *v *= inv * s;
            }
        });
}

/// `S^2, S^4, ...` up to the largest power of two <= `up_to`, by half GEMMs
/// (squares of a symmetric matrix are symmetric); `S` itself is not copied.
pub(crate) fn binary_powers(s: &Array2<f64>, up_to: usize) -> Vec<Array2<f64>> {
    let mut pows: Vec<Array2<f64>> = Vec::new();
    extend_powers(s, &mut pows, up_to);
    pows
}

/// Squares the last of `S, S^2, S^4, ...` (`pows` holds all but `S`) until
/// the next power of two would exceed `up_to`.
fn extend_powers(s: &Array2<f64>, pows: &mut Vec<Array2<f64>>, up_to: usize) {
    while (2usize << pows.len()) <= up_to {
        let next = {
            let last = pows.last().unwrap_or(s);
            gemm_sym(last.view(), last.view())
        };
        pows.push(next);
    }
}

/// `D^(-1/2) S^t D^(1/2)` from `S` and its binary powers `S^2, S^4, ...`
/// (squared further if t needs more): the product of the powers in t's binary
/// expansion, as numpy's `matrix_power` forms it. Powers of one matrix
/// commute, so every product is symmetric and a half GEMM.
pub(crate) fn power_from_binary(
    s: &Array2<f64>,
    mut pows: Vec<Array2<f64>>,
    t: usize,
    d: &[f64],
) -> Array2<f64> {
    extend_powers(s, &mut pows, t);
    let mut acc: Option<Array2<f64>> = None;
    for k in 0..=pows.len() {
        if t >> k & 1 == 1 {
            let p = if k == 0 { s } else { &pows[k - 1] };
            acc = Some(match acc {
                None => p.clone(),
                Some(a) => gemm_sym(a.view(), p.view()),
            });
        }
    }
    let mut st = acc.unwrap_or_else(|| Array2::eye(d.len()));
    unsymmetrize(&mut st, d);
    st
}

/// `A^s` applied to the identity columns `c0..c0 + 16` (fewer at the end), as
/// n rows of 16 values (with AVX2 where the CPU has it; same bits either way).
#[multiversion::multiversion(targets("x86_64+avx2"))]
fn power_block(a: &Csr, s: usize, c0: usize) -> Vec<[f64; 16]> {
    let n = a.nrows();
    let mut x = vec![[0.0f64; 16]; n];
    for l in 0..16.min(n - c0) {
        x[c0 + l][l] = 1.0;
    }
    let mut y = vec![[0.0f64; 16]; n];
    for _ in 0..s {
        for (i, yi) in y.iter_mut().enumerate() {
            let (cols, vals) = a.row(i);
            let mut acc = [0.0f64; 16];
            for (&j, &v) in cols.iter().zip(vals) {
                let xj = &x[j];
                for l in 0..16 {
                    acc[l] += v * xj[l];
                }
            }
            *yi = acc;
        }
        std::mem::swap(&mut x, &mut y);
    }
    x
}

/// `P^t = D^(-1/2) A^t D^(1/2)` for the sparse symmetric `A` with degrees `d`.
pub(crate) fn power_sparse(a: &Csr, d: &[f64], t: usize) -> Array2<f64> {
    let n = a.nrows();
    let s = t / 2;
    let blocks: Vec<usize> = (0..n).step_by(16).collect();
    // column blocks of A^s, in parallel (each block is independent)
    let parts: Vec<Vec<[f64; 16]>> = blocks.par_iter().map(|&c0| power_block(a, s, c0)).collect();
    let mut lo = Array2::<f64>::zeros((n, n));
    lo.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(i, mut row)| {
            for (b, part) in blocks.iter().zip(&parts) {
                for l in 0..16.min(n - b) {
                    row[b + l] = part[i][l];
                }
            }
        });
    drop(parts);
    let mut pt = if t - s > s {
        let hi = a.mul_dense(lo.view());
        gemm_sym(lo.view(), hi.view())
    } else {
        gemm_sym(lo.view(), lo.view())
    };
    unsymmetrize(&mut pt, d);
    pt
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
