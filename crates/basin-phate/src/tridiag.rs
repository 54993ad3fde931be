//! All eigenvalues of a dense symmetric matrix in two stages, as LAPACK's
//! `dsyevd_2stage` does it: a blocked Householder reduction to a band of width
//! [`BAND`] (GEMMs on row blocks, in parallel), Householder bulge chasing from
//! the band to a tridiagonal (short reflectors on a window that stays in
//! cache), then root-free QL (`dsterf`) on the tridiagonal.
//!
//! Why not faer's `self_adjoint_evd`: its one-stage reduction reads the whole
//! trailing matrix once per column (a matrix-vector product per column, bound
//! by memory). On a dense 2000 x 2000 Gram matrix, the size of the landmark
//! operator's, it took 1.1 s on one core and 1.3–1.5 s on two, against
//! 0.27 s here on two (band 0.15 s, bulge chasing 0.07 s, QL 0.04 s), where
//! nearly all flops of the first stage are GEMMs at ~95 GFLOP/s.
//!
//! Every product runs on a fixed partition (row blocks of [`ROW_BLOCK`], each
//! a single-threaded GEMM), so the eigenvalues have the same bits on any
//! number of threads.
//!
//! The two reduction stages run in f64 or f32 ([`Real`]); the tridiagonal's
//! eigenvalues are always found in f64. The spectra that choose t (the
//! landmark operator's, and the exact path's `P P^T`) use f32 (see
//! [`crate::vne`] for why that is accurate enough): the band stage
//! runs at twice the f64 rate (0.20-0.28 -> 0.10-0.14 s at 2,000), while the
//! bulge chasing, bound by the latency of short reflectors, is no faster.

use crate::errors::PhateError;
use crate::linalg::row_major_strided_mut;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

/// Width of the band after the first stage. Wider bands make the first
/// stage's GEMMs more efficient and the bulge chasing dearer (its flops grow
/// as n^2 times the band).
const BAND: usize = 32;

/// Rows per task in the first stage's products.
const ROW_BLOCK: usize = 64;

/// The precisions the two reduction stages run in: f64, and f32 for the
/// spectrum behind t (see [`crate::vne`]). The tridiagonal's eigenvalues are
/// always found in f64.
pub(crate) trait Real:
    faer::traits::ComplexField
    + Copy
    + Default
    + Send
    + Sync
    + PartialOrd
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + 'static
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// 1/2.
    const HALF: Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// `sqrt(self^2 + other^2)` without overflow.
    fn hypot(self, other: Self) -> Self;
    /// Widening to f64.
    fn to_f64(self) -> f64;
    /// [`dot_lanes`] with one vector register's worth of lanes.
    fn dot(a: &[Self], b: &[Self]) -> Self;
    /// [`panel_qr`] compiled for AVX-512 and AVX2, chosen at run time.
    fn panel_qr(p: &mut [Self], m: usize, r: usize) -> Vec<Self>;
    /// [`chase_to_tridiagonal`] compiled for AVX-512 and AVX2, chosen at run time.
    fn chase_to_tridiagonal(w: &mut [Self], n: usize, b: usize) -> (Vec<f64>, Vec<f64>);
}

macro_rules! impl_real {
    ($t:ty, $lanes:literal, $panel:ident, $chase:ident) => {
        // No fused multiply-add in these targets: the same bits on every CPU.
        #[multiversion::multiversion(targets(
            "x86_64+avx512f+avx512vl+avx512dq+avx512bw",
            "x86_64+avx2"
        ))]
        fn $panel(p: &mut [$t], m: usize, r: usize) -> Vec<$t> {
            panel_qr(p, m, r)
        }

        #[multiversion::multiversion(targets(
            "x86_64+avx512f+avx512vl+avx512dq+avx512bw",
            "x86_64+avx2"
        ))]
        fn $chase(w: &mut [$t], n: usize, b: usize) -> (Vec<f64>, Vec<f64>) {
            chase_to_tridiagonal(w, n, b)
        }

        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const HALF: Self = 0.5;
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn hypot(self, other: Self) -> Self {
                <$t>::hypot(self, other)
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                f64::from(self)
            }
            #[inline(always)]
            fn dot(a: &[Self], b: &[Self]) -> Self {
                dot_lanes::<$t, $lanes>(a, b)
            }
            fn panel_qr(p: &mut [Self], m: usize, r: usize) -> Vec<Self> {
                $panel(p, m, r)
            }
            fn chase_to_tridiagonal(w: &mut [Self], n: usize, b: usize) -> (Vec<f64>, Vec<f64>) {
                $chase(w, n, b)
            }
        }
    };
}

impl_real!(f64, 8, panel_qr_f64, chase_to_tridiagonal_f64);
impl_real!(f32, 16, panel_qr_f32, chase_to_tridiagonal_f32);

/// Eigenvalues of the symmetric `n x n` row-major matrix `a`, ascending.
/// Only the lower triangle is read; `a` is the workspace (overwritten).
pub(crate) fn symmetric_eigenvalues<T: Real>(a: Vec<T>, n: usize) -> Result<Vec<f64>, PhateError> {
    symmetric_eigenvalues_beside(a, n, |_| ()).0
}

/// [`symmetric_eigenvalues`], running `beside` on another thread during the
/// solver's single-threaded phases (bulge chasing and QL, after the parallel
/// band reduction); `done` is set when those end, so `beside` can stop early.
pub(crate) fn symmetric_eigenvalues_beside<T: Real, R: Send>(
    mut a: Vec<T>,
    n: usize,
    beside: impl FnOnce(&AtomicBool) -> R + Send,
) -> (Result<Vec<f64>, PhateError>, R) {
    let w = &mut a;
    reduce_to_band(w, n, BAND);
    let done = AtomicBool::new(false);
    rayon::join(
        || {
            let (mut d, mut e) = T::chase_to_tridiagonal(w, n, BAND);
            let ql = tridiagonal_eigenvalues(&mut d, &mut e);
            done.store(true, Ordering::Relaxed);
            ql?;
            d.sort_by(f64::total_cmp);
            Ok(d)
        },
        || beside(&done),
    )
}

/// A Householder reflector `H = I - tau v v^T` with `v[0] = 1` and
/// `H x = beta e_1` (LAPACK's `dlarfg`): `v[1..]` overwrites `x[1..]`,
/// returns `(tau, beta)`.
#[inline(always)]
fn householder<T: Real>(x: &mut [T]) -> (T, T) {
    let alpha = x[0];
    let tail = dot(&x[1..], &x[1..]);
    if tail == T::ZERO {
        return (T::ZERO, alpha);
    }
    let norm = alpha.hypot(tail.sqrt());
    let beta = if alpha >= T::ZERO { -norm } else { norm };
    let tau = (beta - alpha) / beta;
    let scale = T::ONE / (alpha - beta);
    x[1..].iter_mut().for_each(|v| *v *= scale);
    x[0] = T::ONE;
    (tau, beta)
}

/// First stage: `Q^T A Q` with bandwidth `b`, by panels of `b` columns. For
/// the panel below the band, a Householder QR `P = (I - V T V^T) R`; then the
/// trailing matrix `A22 <- Q^T A22 Q = A22 - W V^T - V W^T` with
/// `W = X - V (T^T V^T X) / 2`, `X = A22 V T` (LAPACK's `dsytrd` update,
/// blocked). Only the lower triangle (and the diagonal blocks of the current
/// partition, mirrored before use) is kept up to date.
fn reduce_to_band<T: Real>(w: &mut [T], n: usize, b: usize) {
    let mut k = 0;
    while k + b + 1 < n {
        let top = k + b;
        let m = n - top;
        let r = b.min(m);
        // the panel (rows top.., columns k..k + b) transposed: b rows of
        // length m, so each reflector and each column it acts on is contiguous
        let mut panel = vec![T::ZERO; b * m];
        for i in 0..m {
            let row = &w[(top + i) * n + k..(top + i) * n + k + b];
            for (c, &value) in row.iter().enumerate() {
                panel[c * m + i] = value;
            }
        }
        let taus = T::panel_qr(&mut panel, m, r);
        // R back into the matrix (zeros below it), V kept apart (m x r, row-major)
        let mut v = vec![T::ZERO; m * r];
        for i in 0..m {
            for c in 0..b {
                let p = panel[c * m + i];
                let (keep, vv) = match i.cmp(&c) {
                    std::cmp::Ordering::Less => (p, T::ZERO),
                    std::cmp::Ordering::Equal => (p, T::ONE),
                    std::cmp::Ordering::Greater => (T::ZERO, p),
                };
                w[(top + i) * n + k + c] = keep;
                if c < r {
                    v[i * r + c] = vv;
                }
            }
        }
        let t = block_reflector_factor(&v, m, r, &taus);
        update_trailing(w, n, top, &v, &t, r);
        k += b;
    }
}

/// `a . b` with `L` running sums, so that it vectorises (8 for f64, 16 for
/// f32: one AVX-512 register); a fixed order of operations, so the same bits
/// on every CPU.
#[inline(always)]
fn dot_lanes<T: Real, const L: usize>(a: &[T], b: &[T]) -> T {
    let len = a.len().min(b.len());
    let split = len - len % L;
    let mut acc = [T::ZERO; L];
    for (x, y) in a[..split].chunks_exact(L).zip(b[..split].chunks_exact(L)) {
        for l in 0..L {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = T::ZERO;
    for (x, y) in a[split..len].iter().zip(&b[split..len]) {
        tail += *x * *y;
    }
    // lane l with lane l + L/2, then neighbours pairwise: for L = 8,
    // ((0 + 4) + (1 + 5)) + ((2 + 6) + (3 + 7))
    let mut width = L / 2;
    for l in 0..width {
        acc[l] += acc[l + width];
    }
    while width > 1 {
        width /= 2;
        for l in 0..width {
            acc[l] = acc[2 * l] + acc[2 * l + 1];
        }
    }
    acc[0] + tail
}

#[inline(always)]
fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    T::dot(a, b)
}

/// `y <- y - f x`.
#[inline(always)]
fn axpy_sub<T: Real>(y: &mut [T], f: T, x: &[T]) {
    y.iter_mut().zip(x).for_each(|(a, &b)| *a -= f * b);
}

/// Householder QR of a panel stored transposed (`b` rows of length `m`, row
/// `c` = panel column `c`), in place: R on and above the diagonal, the
/// reflectors' vectors below it. Returns the `r` taus. With AVX-512 or AVX2 where the
/// CPU has it (no fused multiply-add, same bits).
#[inline(always)]
fn panel_qr<T: Real>(p: &mut [T], m: usize, r: usize) -> Vec<T> {
    let mut taus = Vec::with_capacity(r);
    for c in 0..r {
        let (head, rest) = p.split_at_mut((c + 1) * m);
        let x = &mut head[c * m + c..];
        let (tau, beta) = householder(x);
        taus.push(tau);
        if tau != T::ZERO {
            // each later column: col -= tau (v . col) v
            for col in rest.chunks_exact_mut(m) {
                let col = &mut col[c..];
                let s = tau * dot(x, col);
                axpy_sub(col, s, x);
            }
        }
        x[0] = beta;
    }
    taus
}

/// Upper triangular `T` (r x r, row-major) with `H_0 H_1 ... H_(r-1) =
/// I - V T V^T` (LAPACK's `dlarft`, forward, columnwise).
fn block_reflector_factor<T: Real>(v: &[T], m: usize, r: usize, taus: &[T]) -> Vec<T> {
    let mut t = vec![T::ZERO; r * r];
    let mut z = vec![T::ZERO; r];
    for i in 0..r {
        t[i * r + i] = taus[i];
        if i == 0 || taus[i] == T::ZERO {
            continue;
        }
        // z = V[:, ..i]^T v_i (v_i is zero above row i)
        z[..i].fill(T::ZERO);
        for row in i..m {
            let vi = v[row * r + i];
            z[..i]
                .iter_mut()
                .zip(&v[row * r..row * r + i])
                .for_each(|(a, &vv)| *a += vv * vi);
        }
        // T[..i, i] = -tau_i T[..i, ..i] z
        for a in 0..i {
            let s = (a..i).fold(T::ZERO, |s, c| s + t[a * r + c] * z[c]);
            t[a * r + i] = -taus[i] * s;
        }
    }
    t
}

/// `A22 <- A22 - W V^T - V W^T` for the trailing matrix at rows and columns
/// `top..` (see [`reduce_to_band`]).
fn update_trailing<T: Real>(w: &mut [T], n: usize, top: usize, v: &[T], t: &[T], r: usize) {
    let m = n - top;
    mirror_diagonal_blocks(w, n, top);
    // VT = V T (m x r)
    let mut vt = vec![T::ZERO; m * r];
    matmul(
        MatMut::from_row_major_slice_mut(&mut vt, m, r),
        Accum::Replace,
        MatRef::from_row_major_slice(v, m, r),
        MatRef::from_row_major_slice(t, r, r),
        T::ONE,
    );
    // X = A22 VT, from the lower triangle: row block I gets
    // A22[I, ..end(I)] VT[..end(I)] + A22[end(I).., I]^T VT[end(I)..]
    let mut x = vec![T::ZERO; m * r];
    {
        let wr: &[T] = w;
        x.par_chunks_mut(ROW_BLOCK * r)
            .enumerate()
            .for_each(|(bi, xb)| {
                let p0 = bi * ROW_BLOCK;
                let rows = xb.len() / r;
                let p1 = p0 + rows;
                let mut out = MatMut::from_row_major_slice_mut(xb, rows, r);
                let left = MatRef::from_row_major_slice_with_stride(
                    &wr[(top + p0) * n + top..],
                    rows,
                    p1,
                    n,
                );
                let vt_head = MatRef::from_row_major_slice(&vt[..p1 * r], p1, r);
                matmul(out.as_mut(), Accum::Replace, left, vt_head, T::ONE);
                if p1 < m {
                    let below = MatRef::from_row_major_slice_with_stride(
                        &wr[(top + p1) * n + top + p0..],
                        m - p1,
                        rows,
                        n,
                    );
                    let vt_tail = MatRef::from_row_major_slice(&vt[p1 * r..], m - p1, r);
                    matmul(out, Accum::Add, below.transpose(), vt_tail, T::ONE);
                }
            });
    }
    // M = T^T (V^T X) (r x r), then W = X - V M / 2
    let mut vx = vec![T::ZERO; r * r];
    matmul(
        MatMut::from_row_major_slice_mut(&mut vx, r, r),
        Accum::Replace,
        MatRef::from_row_major_slice(v, m, r).transpose(),
        MatRef::from_row_major_slice(&x, m, r),
        T::ONE,
    );
    let mut mm = vec![T::ZERO; r * r];
    matmul(
        MatMut::from_row_major_slice_mut(&mut mm, r, r),
        Accum::Replace,
        MatRef::from_row_major_slice(t, r, r).transpose(),
        MatRef::from_row_major_slice(&vx, r, r),
        T::ONE,
    );
    matmul(
        MatMut::from_row_major_slice_mut(&mut x, m, r),
        Accum::Add,
        MatRef::from_row_major_slice(v, m, r),
        MatRef::from_row_major_slice(&mm, r, r),
        -T::HALF,
    );
    // A22[I, ..end(I)] -= [W V][I] [V W][..end(I)]^T
    let mut wv = vec![T::ZERO; m * 2 * r];
    let mut vw = vec![T::ZERO; m * 2 * r];
    for i in 0..m {
        wv[i * 2 * r..i * 2 * r + r].copy_from_slice(&x[i * r..(i + 1) * r]);
        wv[i * 2 * r + r..(i + 1) * 2 * r].copy_from_slice(&v[i * r..(i + 1) * r]);
        vw[i * 2 * r..i * 2 * r + r].copy_from_slice(&v[i * r..(i + 1) * r]);
        vw[i * 2 * r + r..(i + 1) * 2 * r].copy_from_slice(&x[i * r..(i + 1) * r]);
    }
    w[top * n..]
        .par_chunks_mut(ROW_BLOCK * n)
        .enumerate()
        .for_each(|(bi, rows_slice)| {
            let p0 = bi * ROW_BLOCK;
            let rows = rows_slice.len() / n;
            let p1 = p0 + rows;
            let lhs = MatRef::from_row_major_slice(&wv[p0 * 2 * r..p1 * 2 * r], rows, 2 * r);
            let rhs = MatRef::from_row_major_slice(&vw[..p1 * 2 * r], p1, 2 * r);
            // rows p0..p1, columns ..p1 of A22 (row stride n)
            let dst = row_major_strided_mut(&mut rows_slice[top..], rows, p1, n);
            matmul(dst, Accum::Add, lhs, rhs.transpose(), -T::ONE);
        });
}

/// Upper halves of the `ROW_BLOCK` diagonal blocks of the trailing matrix at
/// `top..` from their lower halves: the products above read whole rows of a
/// diagonal block.
fn mirror_diagonal_blocks<T: Real>(w: &mut [T], n: usize, top: usize) {
    let mut p0 = top;
    while p0 < n {
        let p1 = (p0 + ROW_BLOCK).min(n);
        for i in p0..p1 {
            for j in (i + 1)..p1 {
                w[i * n + j] = w[j * n + i];
            }
        }
        p0 = p1;
    }
}

/// Second stage: a band of width `b` (lower triangle) to tridiagonal by
/// bulge chasing. Sweep `j` zeroes column `j` below its subdiagonal with one
/// reflector on rows `j+1..=j+b`; applying it on the right fills a bulge
/// below the band, whose first column the next reflector (`b` rows further
/// down) zeroes, and so on to the end. The rest of each bulge is zeroed by
/// the next sweep, so the nonzeros never reach further than `b` below the
/// rows a reflector acts on. Only the lower triangle is read and written
/// (as LAPACK's `dsb2st` kernels do): half the flops of a two-sided update
/// of a full window. Returns the diagonal and subdiagonal.
#[inline(always)]
fn chase_to_tridiagonal<T: Real>(w: &mut [T], n: usize, b: usize) -> (Vec<f64>, Vec<f64>) {
    let mut x = vec![T::ZERO; b];
    let mut y = vec![T::ZERO; b];
    for j in 0..n.saturating_sub(2) {
        let (mut c, mut r0) = (j, j + 1);
        while r0 < n {
            let r1 = (r0 + b - 1).min(n - 1);
            let len = r1 - r0 + 1;
            if len < 2 {
                break;
            }
            for i in 0..len {
                x[i] = w[(r0 + i) * n + c];
            }
            let (tau, beta) = householder(&mut x[..len]);
            if tau != T::ZERO {
                chase_step(w, n, (c, r0, len, b), &x[..len], tau, &mut y);
            }
            w[r0 * n + c] = beta;
            for i in 1..len {
                w[(r0 + i) * n + c] = T::ZERO;
            }
            c = r0;
            r0 = r1 + 1;
        }
    }
    let d: Vec<f64> = (0..n).map(|i| w[i * n + i].to_f64()).collect();
    let e: Vec<f64> = (0..n)
        .map(|i| {
            if i + 1 < n {
                w[(i + 1) * n + i].to_f64()
            } else {
                0.0
            }
        })
        .collect();
    (d, e)
}

/// `A <- H A H` for `H = I - tau v v^T` on rows and columns `R = r0..r0+len`,
/// on the lower triangle only, where it changes anything in a band step
/// (`shape = (c, r0, len, b)`, `c` the column the reflector zeroes, handled
/// by the caller):
/// - from the left, the previous block's other columns `c+1..r0` of rows R;
/// - from both sides, the diagonal block `A[R, R]`;
/// - from the right, the `b` rows below R in columns R (the new bulge).
///
/// Contiguous row operations only (with AVX-512 or AVX2 where the CPU has it; no fused
/// multiply-add, same bits).
#[inline(always)]
fn chase_step<T: Real>(
    w: &mut [T],
    n: usize,
    shape: (usize, usize, usize, usize),
    v: &[T],
    tau: T,
    y: &mut [T],
) {
    let (c, r0, len, b) = shape;
    // left: A[R, c+1..r0] -= tau v (v^T A[R, c+1..r0])
    let (lo, hi) = (c + 1, r0);
    if lo < hi {
        let s = &mut y[..hi - lo];
        s.fill(T::ZERO);
        for (i, &vi) in v.iter().enumerate() {
            let row = &w[(r0 + i) * n + lo..(r0 + i) * n + hi];
            s.iter_mut().zip(row).for_each(|(a, &x)| *a += vi * x);
        }
        for (i, &vi) in v.iter().enumerate() {
            let row = &mut w[(r0 + i) * n + lo..(r0 + i) * n + hi];
            axpy_sub(row, tau * vi, s);
        }
    }
    // both sides: D <- D - v z^T - z v^T with p = tau D v, z = p - (tau/2)(p.v) v
    let p = &mut y[..len];
    p.fill(T::ZERO);
    for i in 0..len {
        let row = &w[(r0 + i) * n + r0..(r0 + i) * n + r0 + i];
        let vi = v[i];
        p[i] += dot(row, &v[..i]) + w[(r0 + i) * n + r0 + i] * vi;
        p[..i].iter_mut().zip(row).for_each(|(a, &x)| *a += vi * x);
    }
    p.iter_mut().for_each(|a| *a *= tau);
    let half = T::HALF * tau * dot(p, v);
    p.iter_mut().zip(v).for_each(|(a, &vi)| *a -= half * vi);
    for i in 0..len {
        let row = &mut w[(r0 + i) * n + r0..=(r0 + i) * n + r0 + i];
        let (vi, zi) = (v[i], p[i]);
        row.iter_mut()
            .zip(&v[..=i])
            .zip(&p[..=i])
            .for_each(|((a, &vj), &zj)| *a -= vi * zj + zi * vj);
    }
    // right: rows below R, A[q, R] -= tau (A[q, R] . v) v^T
    let end = (r0 + len - 1 + b).min(n - 1);
    for q in r0 + len..=end {
        let row = &mut w[q * n + r0..q * n + r0 + len];
        let f = tau * dot(row, v);
        axpy_sub(row, f, v);
    }
}

/// Eigenvalues of the symmetric tridiagonal matrix with diagonal `d` and
/// subdiagonal `e` (`e[i]` couples `i` and `i + 1`; the last entry is
/// ignored), by the Pal-Walker-Kahan root-free QL iteration of LAPACK's
/// `dsterf`: it works on the squared couplings, so a rotation costs divisions
/// only (no square root), and each block is swept from its larger end (by
/// reversing it where dsterf would switch to QR). They replace `d`; `e` is
/// overwritten.
fn tridiagonal_eigenvalues(d: &mut [f64], e: &mut [f64]) -> Result<(), PhateError> {
    let n = d.len();
    if n <= 1 {
        return Ok(());
    }
    let eps = f64::EPSILON / 2.0;
    let eps2 = eps * eps;
    let safmin = f64::MIN_POSITIVE;
    let ssfmax = (1.0 / safmin).sqrt() / 3.0;
    let ssfmin = safmin.sqrt() / eps2;
    let max_iterations = 30 * n;
    let mut iterations = 0usize;
    let mut l1 = 0usize;
    while l1 < n {
        if l1 > 0 {
            e[l1 - 1] = 0.0;
        }
        // the unreduced block l1..=m
        let mut m = l1;
        while m + 1 < n {
            let t = e[m].abs();
            if t == 0.0 || t <= d[m].abs().sqrt() * d[m + 1].abs().sqrt() * eps {
                e[m] = 0.0;
                break;
            }
            m += 1;
        }
        let (block_lo, block_hi) = (l1, m);
        l1 = m + 1;
        if block_hi == block_lo {
            continue;
        }
        // scale the block into a safe range for the squared couplings
        let norm = (block_lo..=block_hi)
            .map(|i| d[i].abs())
            .chain((block_lo..block_hi).map(|i| e[i].abs()))
            .fold(0.0f64, f64::max);
        let scale = if norm > ssfmax {
            ssfmax / norm
        } else if norm < ssfmin && norm > 0.0 {
            ssfmin / norm
        } else {
            1.0
        };
        if scale != 1.0 {
            d[block_lo..=block_hi].iter_mut().for_each(|v| *v *= scale);
            e[block_lo..block_hi].iter_mut().for_each(|v| *v *= scale);
        }
        for v in &mut e[block_lo..block_hi] {
            *v *= *v;
        }
        // dsterf runs QL from the end with the smaller diagonal entry and QR
        // otherwise; reversing the block (the same spectrum) lets QL do both
        if d[block_hi].abs() < d[block_lo].abs() {
            d[block_lo..=block_hi].reverse();
            e[block_lo..block_hi].reverse();
        }
        root_free_ql(
            d,
            e,
            block_lo,
            block_hi,
            eps2,
            &mut iterations,
            max_iterations,
        )?;
        if scale != 1.0 {
            d[block_lo..=block_hi].iter_mut().for_each(|v| *v /= scale);
        }
    }
    Ok(())
}

/// Eigenvalues of `[[a, b], [b, c]]` (LAPACK's `dlae2`).
fn eigenvalues_2x2(a: f64, b: f64, c: f64) -> (f64, f64) {
    let sm = a + c;
    let adf = (a - c).abs();
    let ab = (2.0 * b).abs();
    let (acmx, acmn) = if a.abs() > c.abs() { (a, c) } else { (c, a) };
    let rt = if adf > ab {
        adf * (1.0 + (ab / adf).powi(2)).sqrt()
    } else if adf < ab {
        ab * (1.0 + (adf / ab).powi(2)).sqrt()
    } else {
        ab * std::f64::consts::SQRT_2
    };
    if sm != 0.0 {
        let rt1 = 0.5 * (sm + rt.copysign(sm));
        (rt1, (acmx / rt1) * acmn - (b / rt1) * b)
    } else {
        (0.5 * rt, -0.5 * rt)
    }
}

/// The shift of a root-free step from the top 2 x 2 of the block at `l`
/// (coupling `e2 = e^2` with its neighbour `next`).
fn root_free_shift(p: f64, next: f64, e2: f64) -> f64 {
    let rte = e2.sqrt();
    let sigma = (next - p) / (2.0 * rte);
    let r = sigma.hypot(1.0);
    p - rte / (sigma + r.copysign(sigma))
}

/// QL sweeps on the block `l..=lend` (squared couplings in `e`).
fn root_free_ql(
    d: &mut [f64],
    e: &mut [f64],
    mut l: usize,
    lend: usize,
    eps2: f64,
    iterations: &mut usize,
    max_iterations: usize,
) -> Result<(), PhateError> {
    loop {
        let mut m = l;
        while m < lend {
            if e[m].abs() <= eps2 * (d[m] * d[m + 1]).abs() {
                break;
            }
            m += 1;
        }
        if m < lend {
            e[m] = 0.0;
        }
        if m == l {
            l += 1;
            if l > lend {
                return Ok(());
            }
            continue;
        }
        if m == l + 1 {
            let (a, b) = eigenvalues_2x2(d[l], e[l].sqrt(), d[l + 1]);
            d[l] = a;
            d[l + 1] = b;
            e[l] = 0.0;
            l += 2;
            if l > lend {
                return Ok(());
            }
            continue;
        }
        *iterations += 1;
        if *iterations > max_iterations {
            return Err(not_converged());
        }
        let sigma = root_free_shift(d[l], d[l + 1], e[l]);
        let (mut c, mut s) = (1.0f64, 0.0f64);
        let mut gamma = d[m] - sigma;
        let mut p = gamma * gamma;
        for i in (l..m).rev() {
            let bb = e[i];
            let r = p + bb;
            if i + 1 != m {
                e[i + 1] = s * r;
            }
            let oldc = c;
            c = p / r;
            s = bb / r;
            let oldgam = gamma;
            let alpha = d[i];
            gamma = c * (alpha - sigma) - s * oldgam;
            d[i + 1] = oldgam + (alpha - gamma);
            p = if c != 0.0 {
                gamma * gamma / c
            } else {
                oldc * bb
            };
        }
        e[l] = s * p;
        d[l] = sigma + gamma;
    }
}

fn not_converged() -> PhateError {
    PhateError::Numerical {
        stage: "eigenvalues",
        reason: "root-free QL did not converge in 30 n iterations".into(),
    }
}

/// `dst <- beta dst + alpha lhs rhs` on this thread.
fn matmul<T: Real>(
    dst: MatMut<'_, T>,
    beta: Accum,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    alpha: T,
) {
    faer::linalg::matmul::matmul(dst, beta, lhs, rhs, alpha, Par::Seq);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn faer_eigenvalues(a: &[f64], n: usize) -> Vec<f64> {
        let m = faer::Mat::<f64>::from_fn(n, n, |i, j| a[i.max(j) * n + i.min(j)]);
        let mut v: Vec<f64> = m
            .self_adjoint_eigenvalues(faer::Side::Lower)
            .unwrap_or_default();
        v.sort_by(f64::total_cmp);
        v
    }

    fn random_symmetric(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let v: f64 = rng.random::<f64>() - 0.5;
                a[i * n + j] = v;
                a[j * n + i] = v;
            }
        }
        a
    }

    fn max_diff(a: &[f64], b: &[f64]) -> f64 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    }

    /// Against faer's one-stage solver, on sizes around the band and block
    /// widths (one panel, a partial panel, several row blocks).
    #[test]
    fn matches_faer_on_random_matrices() {
        for (n, seed) in [
            (1, 1),
            (2, 2),
            (3, 3),
            (33, 4),
            (34, 5),
            (35, 6),
            (65, 7),
            (100, 8),
            (257, 9),
        ] {
            let a = random_symmetric(n, seed);
            let ours = symmetric_eigenvalues(a.clone(), n).unwrap();
            let reference = faer_eigenvalues(&a, n);
            let scale = reference.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            assert!(max_diff(&ours, &reference) <= 1e-12 * scale, "n = {n}");
        }
    }

    /// The single-precision reduction (the landmark path's spectrum) is
    /// backward stable in f32: every eigenvalue within a few f32 roundings of
    /// the largest, at sizes around the band and block widths.
    #[test]
    fn single_precision_matches_faer_to_f32_rounding() {
        for (n, seed) in [(2, 1), (33, 2), (65, 3), (257, 4)] {
            let a = random_symmetric(n, seed);
            let a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
            let ours = symmetric_eigenvalues(a32, n).unwrap();
            let reference = faer_eigenvalues(&a, n);
            let scale = reference.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            let err = max_diff(&ours, &reference) / scale;
            assert!(err <= 10.0 * f64::from(f32::EPSILON), "n = {n}: {err:e}");
            // and not the f64 answer by accident of the test: f32 input rounding alone moves them
            if n > 2 {
                assert!(err > 1e-12, "n = {n}: f32 path looks like f64 ({err:e})");
            }
        }
    }

    /// A Gram matrix with eigenvalues spread over many decades (like the
    /// spectrum of `P P^T`) and repeated ones.
    #[test]
    fn matches_faer_on_graded_and_repeated_spectra() {
        let n = 150;
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let g: Vec<f64> = (0..n * n).map(|_| rng.random::<f64>() - 0.5).collect();
        // B = G diag(s) G^T with s graded 1 .. 1e-12, and zero rank deficit
        let s: Vec<f64> = (0..n)
            .map(|k| {
                if k % 10 == 0 {
                    0.0
                } else {
                    10f64.powf(-12.0 * k as f64 / n as f64)
                }
            })
            .collect();
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..n).map(|k| g[i * n + k] * s[k] * g[j * n + k]).sum();
            }
        }
        let ours = symmetric_eigenvalues(a.clone(), n).unwrap();
        let reference = faer_eigenvalues(&a, n);
        let scale = reference.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(max_diff(&ours, &reference) <= 1e-13 * scale);
        // identity: every eigenvalue 1
        let mut eye = vec![0.0; n * n];
        (0..n).for_each(|i| eye[i * n + i] = 1.0);
        let ones = symmetric_eigenvalues(eye, n).unwrap();
        assert!(ones.iter().all(|&v| (v - 1.0).abs() < 1e-15));
    }

    /// The second stage leaves nothing below the subdiagonal (the stages
    /// keep the lower triangle; the upper one is scratch).
    #[test]
    fn reduction_is_tridiagonal_and_similar() {
        let n = 300;
        let a = random_symmetric(n, 21);
        let mut w = a.clone();
        reduce_to_band(&mut w, n, BAND);
        for i in 0..n {
            for j in 0..i.saturating_sub(BAND) {
                assert_eq!(w[i * n + j], 0.0, "band ({i}, {j})");
            }
        }
        let (d, e) = chase_to_tridiagonal(&mut w, n, BAND);
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .filter(|&(i, j)| i > j + 1)
            .map(|(i, j)| w[i * n + j].abs())
            .fold(0.0, f64::max);
        assert!(off < 1e-13, "largest entry off the tridiagonal: {off:e}");
        // similarity keeps the Frobenius norm
        let fro_a: f64 = a.iter().map(|v| v * v).sum();
        let fro_t: f64 = d.iter().map(|v| v * v).sum::<f64>()
            + 2.0 * e[..n - 1].iter().map(|v| v * v).sum::<f64>();
        assert!((fro_a - fro_t).abs() < 1e-10 * fro_a);
    }

    /// The root-free QL against closed forms: the path Laplacian
    /// (eigenvalues `2 - 2 cos(k pi / (n + 1))`), tilted both ways so that
    /// blocks are swept as they come and reversed, and scaled by 1e200 and 1e-200 so
    /// the squared couplings need the block scaling; and a split matrix
    /// (a zero coupling) whose halves are solved apart.
    #[test]
    fn root_free_iteration_matches_closed_forms() {
        let n = 300;
        let exact: Vec<f64> = (1..=n)
            .map(|k| 2.0 - 2.0 * (k as f64 * std::f64::consts::PI / (n as f64 + 1.0)).cos())
            .collect();
        for (tilt, scale) in [
            (0.0, 1.0),
            (1e-3, 1.0),
            (-1e-3, 1.0),
            (0.0, 1e200),
            (0.0, 1e-200),
        ] {
            // a tilt keeps the spectrum close but makes one end larger
            let mut d: Vec<f64> = (0..n).map(|i| (2.0 + tilt * i as f64) * scale).collect();
            let mut e = vec![-scale; n];
            tridiagonal_eigenvalues(&mut d, &mut e).unwrap();
            d.sort_by(f64::total_cmp);
            if tilt == 0.0 {
                let err = d
                    .iter()
                    .zip(&exact)
                    .map(|(a, b)| (a / scale - b).abs())
                    .fold(0.0, f64::max);
                assert!(err < 1e-13, "scale {scale:e}: {err:e}");
            } else {
                let mut dense = vec![0.0; n * n];
                for i in 0..n {
                    dense[i * n + i] = 2.0 + tilt * i as f64;
                    if i + 1 < n {
                        dense[(i + 1) * n + i] = -1.0;
                    }
                }
                let reference = faer_eigenvalues(&dense, n);
                assert!(max_diff(&d, &reference) < 1e-13, "tilt {tilt}");
            }
        }
        let mut d = vec![1.0, 2.0, 3.0, 10.0, 20.0];
        let mut e = vec![0.0, 0.0, 0.0, 0.0, 0.0];
        e[3] = 5.0;
        tridiagonal_eigenvalues(&mut d, &mut e).unwrap();
        d.sort_by(f64::total_cmp);
        let (lo, hi) = (15.0 - 50f64.sqrt(), 15.0 + 50f64.sqrt());
        let want = [1.0, 2.0, 3.0, lo, hi];
        assert!(
            d.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12),
            "{d:?}"
        );
    }

    /// Same bits on 1 and 3 threads.
    #[test]
    fn same_bits_on_any_number_of_threads() {
        let n = 200;
        let a = random_symmetric(n, 31);
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| symmetric_eigenvalues(a.clone(), n).unwrap())
        };
        let one = run(1);
        let three = run(3);
        assert!(one
            .iter()
            .zip(&three)
            .all(|(x, y)| x.to_bits() == y.to_bits()));
    }
}
