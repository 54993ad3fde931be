//! Dense helpers on top of faer: GEMM on ndarray views, orthonormalisation
//! and a seeded randomized SVD for top singular pairs.

use faer::{Accum, MatMut, MatRef, Par};
use ndarray::parallel::prelude::*;
use ndarray::{s, Array1, Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

fn as_faer(a: &ArrayView2<'_, f64>) -> (Option<Array2<f64>>, usize, usize) {
    // faer wants a plain row-major slice; copy only when the view is strided.
    if a.is_standard_layout() {
        (None, a.nrows(), a.ncols())
    } else {
        (
            Some(a.as_standard_layout().into_owned()),
            a.nrows(),
            a.ncols(),
        )
    }
}

/// `a * b^T` when `bt` is true, else `a * b`, multi-threaded by output row
/// blocks, each a single-threaded faer GEMM: coarse tasks that need no
/// barrier, so a loaded machine slows them in proportion instead of stalling
/// them (faer's own parallel kernels spin at barriers).
pub(crate) fn gemm(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>, bt: bool) -> Array2<f64> {
    let b = b.as_standard_layout();
    let (m, k) = a.dim();
    let n = if bt { b.nrows() } else { b.ncols() };
    let threads = rayon::current_num_threads();
    if threads == 1 || m < 64 || (m as f64) * (n as f64) * (k as f64) < 4e6 {
        return gemm_seq(a, b.view(), bt);
    }
    let a = a.as_standard_layout();
    let rows = m.div_ceil(threads * 4).max(16);
    let mut out = Array2::<f64>::zeros((m, n));
    out.axis_chunks_iter_mut(Axis(0), rows)
        .into_par_iter()
        .zip(a.axis_chunks_iter(Axis(0), rows).into_par_iter())
        .for_each(|(mut o, ab)| {
            let r = o.nrows();
            if let Some(osl) = o.as_slice_mut() {
                gemm_into(ab, b.view(), bt, osl, r, n);
            }
        });
    out
}

/// A row-major `rows x cols` view with row stride `stride` over `s`, as the
/// transpose of a column-major view: faer 0.24's own
/// `MatMut::from_row_major_slice_with_stride_mut` lays the view out
/// column-major (faer-rs PR #267), so writing through it goes out of bounds.
pub(crate) fn row_major_strided_mut<T>(
    s: &mut [T],
    rows: usize,
    cols: usize,
    stride: usize,
) -> MatMut<'_, T> {
    MatMut::from_column_major_slice_with_stride_mut(s, cols, rows, stride).transpose_mut()
}

/// Rows per task of [`gemm_sym`].
const SYM_BAND: usize = 256;

/// `a * b^T` for a product known to be symmetric (`a b^T = b a^T`, e.g. `V V^T`
/// or commuting powers): only the lower triangle is multiplied (half the
/// flops), then mirrored.
pub(crate) fn gemm_sym(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Array2<f64> {
    let a = a.as_standard_layout();
    let b = b.as_standard_layout();
    let (m, k) = a.dim();
    let out = sym_product(
        a.as_slice().unwrap_or(&[]),
        b.as_slice().unwrap_or(&[]),
        m,
        k,
        1.0,
    );
    Array2::from_shape_vec((m, m), out).unwrap_or_else(|_| Array2::zeros((m, m)))
}

/// [`gemm_sym`] on row-major slices (`a`, `b`: m x k; the result m x m), for
/// f64 or f32 (`one` is the type's 1).
pub(crate) fn sym_product<T>(asl: &[T], bsl: &[T], m: usize, k: usize, one: T) -> Vec<T>
where
    T: faer::traits::ComplexField + Copy + Default + Send + Sync,
{
    let mut out = sym_product_lower(asl, bsl, m, k, one);
    mirror_lower(&mut out, m);
    out
}

/// [`sym_product`] with only the lower triangle (diagonal included) filled
/// in, for a caller that transforms it before mirroring (see
/// [`mirror_lower`]); the upper triangle holds zeros or partial values.
pub(crate) fn sym_product_lower<T>(asl: &[T], bsl: &[T], m: usize, k: usize, one: T) -> Vec<T>
where
    T: faer::traits::ComplexField + Copy + Default + Send + Sync,
{
    let mut out = vec![T::default(); m * m];
    if m == 0 {
        return out;
    }
    // Row bands of SYM_BAND rows, each one sequential GEMM of the band against
    // every row up to its end, written straight into the output: tall enough
    // that packing `b` once per band costs little next to its flops. Bands go
    // in pairs (first with last, ...) so every task has about the same work.
    let band = SYM_BAND;
    let mut bands: Vec<(usize, &mut [T])> = out.chunks_mut(band * m).enumerate().collect();
    let mut tasks: Vec<Vec<(usize, &mut [T])>> = Vec::new();
    while !bands.is_empty() {
        let first = bands.remove(0);
        let mut task = vec![first];
        if let Some(last) = bands.pop() {
            task.push(last);
        }
        tasks.push(task);
    }
    tasks.into_par_iter().for_each(|task| {
        for (bi, rows) in task {
            let r0 = bi * band;
            let nr = rows.len() / m;
            let r1 = r0 + nr;
            let lhs = MatRef::from_row_major_slice(&asl[r0 * k..r1 * k], nr, k);
            let rhs = MatRef::from_row_major_slice(&bsl[..r1 * k], r1, k);
            // the band's first r1 columns (row stride m)
            let dst = row_major_strided_mut(rows, nr, r1, m);
            faer::linalg::matmul::matmul(dst, Accum::Replace, lhs, rhs.transpose(), one, Par::Seq);
        }
    });
    out
}

/// Upper triangle of the row-major `m x m` matrix from its lower triangle, by
/// tiles so both sides stay in cache; row bands in parallel, each reading the
/// lower triangle below it from a copy of that tile column.
pub(crate) fn mirror_lower<T: Copy + Send + Sync>(out: &mut [T], m: usize) {
    let tile = 64usize;
    let nt = m.div_ceil(tile);
    // transposed copies of the tiles below the diagonal, gathered in parallel
    let tiles: Vec<(usize, usize)> = (0..nt).flat_map(|i| (0..i).map(move |j| (i, j))).collect();
    let src: &[T] = out;
    let vals: Vec<Vec<T>> = tiles
        .par_iter()
        .map(|&(i, j)| {
            let (r0, r1) = (i * tile, ((i + 1) * tile).min(m));
            let (c0, c1) = (j * tile, ((j + 1) * tile).min(m));
            let mut t = Vec::with_capacity((r1 - r0) * (c1 - c0));
            for c in c0..c1 {
                for r in r0..r1 {
                    t.push(src[r * m + c]);
                }
            }
            t
        })
        .collect();
    for (&(i, j), v) in tiles.iter().zip(vals) {
        let (r0, r1) = (i * tile, ((i + 1) * tile).min(m));
        let (c0, c1) = (j * tile, ((j + 1) * tile).min(m));
        let w = r1 - r0;
        for (c, chunk) in (c0..c1).zip(v.chunks_exact(w)) {
            out[c * m + r0..c * m + r1].copy_from_slice(chunk);
        }
    }
    for t in 0..nt {
        let (r0, r1) = (t * tile, ((t + 1) * tile).min(m));
        for i in r0..r1 {
            for j in (i + 1)..r1 {
                out[i * m + j] = out[j * m + i];
            }
        }
    }
}

/// `out` (`m x n`, row-major) <- `a * b^T` when `bt`, else `a * b`, on this thread.
fn gemm_into(
    a: ArrayView2<'_, f64>,
    b: ArrayView2<'_, f64>,
    bt: bool,
    out: &mut [f64],
    m: usize,
    n: usize,
) {
    let (ac, _, k) = as_faer(&a);
    let (bc, br, bcn) = as_faer(&b);
    let asl = ac.as_ref().map_or_else(
        || a.as_slice().unwrap_or(&[]),
        |x| x.as_slice().unwrap_or(&[]),
    );
    let bsl = bc.as_ref().map_or_else(
        || b.as_slice().unwrap_or(&[]),
        |x| x.as_slice().unwrap_or(&[]),
    );
    if m == 0 || n == 0 || k == 0 {
        out.fill(0.0);
        return;
    }
    let fa = MatRef::from_row_major_slice(asl, m, k);
    let fb0 = MatRef::from_row_major_slice(bsl, br, bcn);
    let fb = if bt { fb0.transpose() } else { fb0 };
    let fo = MatMut::from_row_major_slice_mut(out, m, n);
    faer::linalg::matmul::matmul(fo, Accum::Replace, fa, fb, 1.0, Par::Seq);
}

/// `a * b^T` (or `a * b`) on this thread only, into a new matrix.
fn gemm_seq(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>, bt: bool) -> Array2<f64> {
    let (m, n) = (a.nrows(), if bt { b.nrows() } else { b.ncols() });
    let mut out = Array2::<f64>::zeros((m, n));
    if let Some(osl) = out.as_slice_mut() {
        gemm_into(a, b, bt, osl, m, n);
    }
    out
}

/// `a^T a` (columns' Gram matrix) for a tall `a`.
pub(crate) fn gram(a: ArrayView2<'_, f64>) -> Array2<f64> {
    at_b(a, a)
}

/// `a^T b` for `a` and `b` with the same rows, in parallel on a partition
/// fixed by the shapes alone, so the bytes do not depend on the thread
/// count: for a wide `a` (PCA's `X^T Q`), blocks of its columns, each one
/// product over every row; otherwise row blocks multiplied in parallel and
/// added in block order (not by rayon's `reduce`, whose order follows the
/// work stealing).
pub(crate) fn at_b(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Array2<f64> {
    let (la, lb) = (a.ncols(), b.ncols());
    let a = a.as_standard_layout();
    let b = b.as_standard_layout();
    if la >= 2 * AT_B_COLUMN_BLOCK {
        return at_b_by_columns(a.view(), b.view());
    }
    let parts: Vec<Array2<f64>> = a
        .axis_chunks_iter(Axis(0), 2048)
        .into_par_iter()
        .zip(b.axis_chunks_iter(Axis(0), 2048).into_par_iter())
        .map(|(ab, bb)| {
            let mut g = Array2::<f64>::zeros((la, lb));
            let r = ab.nrows();
            if let (Some(asl), Some(bsl), Some(gs)) =
                (ab.as_slice(), bb.as_slice(), g.as_slice_mut())
            {
                let fa = MatRef::from_row_major_slice(asl, r, la);
                let fb = MatRef::from_row_major_slice(bsl, r, lb);
                let fo = MatMut::from_row_major_slice_mut(gs, la, lb);
                faer::linalg::matmul::matmul(fo, Accum::Replace, fa.transpose(), fb, 1.0, Par::Seq);
            }
            g
        })
        .collect();
    parts
        .into_iter()
        .fold(Array2::zeros((la, lb)), |sum, part| sum + part)
}

/// Columns of `a` per task in [`at_b`] for a wide `a`.
const AT_B_COLUMN_BLOCK: usize = 128;

/// [`at_b`] by blocks of `a`'s columns (standard-layout inputs).
fn at_b_by_columns(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Array2<f64> {
    let (n, la, lb) = (a.nrows(), a.ncols(), b.ncols());
    let (Some(asl), Some(bsl)) = (a.as_slice(), b.as_slice()) else {
        return a.t().dot(&b);
    };
    let out = at_b_column_blocks(asl, n, la, bsl, lb, AT_B_COLUMN_BLOCK, 1.0);
    Array2::from_shape_vec((la, lb), out).unwrap_or_else(|_| Array2::zeros((la, lb)))
}

/// `a^T b` on row-major slices (`a`: n x la, `b`: n x lb; the result la x lb)
/// by fixed blocks of `block` columns of `a`, each one sequential product over
/// every row, in parallel; for f64 or f32 (`one` is the type's 1).
fn at_b_column_blocks<T>(
    a: &[T],
    n: usize,
    la: usize,
    b: &[T],
    lb: usize,
    block: usize,
    one: T,
) -> Vec<T>
where
    T: faer::traits::ComplexField + Copy + Default + Send + Sync,
{
    let mut out = vec![T::default(); la * lb];
    if n == 0 || la == 0 || lb == 0 {
        return out;
    }
    out.par_chunks_mut(block * lb)
        .enumerate()
        .for_each(|(bi, o)| {
            let c0 = bi * block;
            let width = o.len() / lb;
            faer::linalg::matmul::matmul(
                MatMut::from_row_major_slice_mut(o, width, lb),
                Accum::Replace,
                MatRef::from_row_major_slice_with_stride(&a[c0..], n, width, la).transpose(),
                MatRef::from_row_major_slice(b, n, lb),
                one,
                Par::Seq,
            );
        });
    out
}

/// Rows of `a` per task in [`gemm_f32`] and columns per task in
/// [`at_b_f32`]: fixed, so the partition (and the bits) do not depend on the
/// thread count.
const F32_ROW_BLOCK: usize = 256;
const F32_COLUMN_BLOCK: usize = 64;

/// `a * b` in single precision (`a`: m x k, `b`: k x nb, row-major slices; the
/// result m x nb), parallel over fixed row blocks of `a` (one sequential
/// faer GEMM each).
pub(crate) fn gemm_f32(a: &[f32], m: usize, k: usize, b: &[f32], nb: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; m * nb];
    gemm_f32_into(&mut out, a, m, k, b, nb);
    out
}

/// [`gemm_f32`] into `out` (m x nb, overwritten).
pub(crate) fn gemm_f32_into(out: &mut [f32], a: &[f32], m: usize, k: usize, b: &[f32], nb: usize) {
    debug_assert_eq!(out.len(), m * nb);
    if m == 0 || nb == 0 {
        return;
    }
    if k == 0 {
        out.fill(0.0);
        return;
    }
    let rows = F32_ROW_BLOCK;
    out.par_chunks_mut(rows * nb)
        .zip(a.par_chunks(rows * k))
        .for_each(|(o, ab)| {
            let r = o.len() / nb;
            faer::linalg::matmul::matmul(
                MatMut::from_row_major_slice_mut(o, r, nb),
                Accum::Replace,
                MatRef::from_row_major_slice(ab, r, k),
                MatRef::from_row_major_slice(b, k, nb),
                1.0f32,
                Par::Seq,
            );
        });
}

/// `a^T * b` in single precision (`a`: n x d, `b`: n x l, row-major slices;
/// the result d x l), parallel over fixed blocks of `a`'s columns.
pub(crate) fn at_b_f32(a: &[f32], n: usize, d: usize, b: &[f32], l: usize) -> Vec<f32> {
    at_b_column_blocks(a, n, d, b, l, F32_COLUMN_BLOCK, 1.0f32)
}

/// `a * b^T` in single precision, single-threaded: `a` is m x k and `b` is
/// nb x k, both row-major slices; the result is m x nb, row-major.
pub(crate) fn gemm_f32_seq(a: &[f32], m: usize, b: &[f32], nb: usize, k: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; m * nb];
    gemm_f32_seq_into(&mut out, a, m, b, nb, k);
    out
}

/// [`gemm_f32_seq`] into `out` (its first m x nb values are overwritten): for
/// loops that would otherwise allocate, zero and fault in a fresh megabyte per
/// tile.
pub(crate) fn gemm_f32_seq_into(
    out: &mut [f32],
    a: &[f32],
    m: usize,
    b: &[f32],
    nb: usize,
    k: usize,
) {
    let out = &mut out[..m * nb];
    if m == 0 || nb == 0 {
        return;
    }
    if k == 0 {
        out.fill(0.0);
        return;
    }
    let fa = MatRef::from_row_major_slice(a, m, k);
    let fb = MatRef::from_row_major_slice(b, nb, k).transpose();
    let fo = MatMut::from_row_major_slice_mut(out, m, nb);
    faer::linalg::matmul::matmul(fo, Accum::Replace, fa, fb, 1.0f32, Par::Seq);
}

/// Orthonormalises the columns of `q` in place: Cholesky QR twice (two
/// parallel GEMMs each; the second pass restores orthogonality to rounding
/// level), or Householder QR when the columns are too ill-conditioned for it.
pub(crate) fn orthonormalize(q: &mut Array2<f64>) {
    for _ in 0..2 {
        if !cholesky_qr_step(q) {
            householder_orthonormalize(q);
            return;
        }
    }
}

/// One Cholesky QR pass (Householder if it fails): enough to keep the columns
/// of a power iteration well-conditioned between products.
pub(crate) fn reorthogonalize(q: &mut Array2<f64>) {
    if !cholesky_qr_step(q) {
        householder_orthonormalize(q);
    }
}

/// One `Q <- Q R^-1` with `R^T R = Q^T Q`; false when the Gram matrix is not
/// numerically positive definite (cond(Q) beyond ~1e7).
fn cholesky_qr_step(q: &mut Array2<f64>) -> bool {
    let l = q.ncols();
    let g = gram(q.view());
    let Some(linv) =
        inverse_cholesky_factor(nalgebra::DMatrix::from_fn(l, l, |i, j| g[[i, j]]), 1e-7)
    else {
        return false;
    };
    // Q R^-1 = Q L^-T
    let rinv = Array2::from_shape_fn((l, l), |(i, j)| linv[(j, i)]);
    *q = gemm(q.view(), rinv.view(), false);
    q.iter().all(|v| v.is_finite())
}

/// `L^-1` for the Cholesky factor `L L^T = gram` of a Cholesky QR pass, or
/// `None` when the factorisation fails or a pivot falls to `pivot_floor` of
/// the first or below (cond(Q) too large for the Gram matrix's precision).
fn inverse_cholesky_factor(
    gram: nalgebra::DMatrix<f64>,
    pivot_floor: f64,
) -> Option<nalgebra::DMatrix<f64>> {
    let lower = gram.cholesky()?.l();
    let first = lower[(0, 0)].abs().max(1e-300);
    if !(0..lower.nrows()).all(|i| lower[(i, i)] > pivot_floor * first) {
        return None;
    }
    lower.try_inverse()
}

/// Thin Q of a Householder QR, single-threaded: `Mat::qr` and
/// `compute_thin_Q` run on faer's global parallelism (all of rayon's
/// threads), whose blocking follows the thread count, and so would the bits.
fn householder_orthonormalize(q: &mut Array2<f64>) {
    use faer::dyn_stack::{MemBuffer, MemStack};
    use faer::linalg::householder;
    use faer::linalg::qr::no_pivoting::factor;
    let (n, l) = q.dim();
    let size = n.min(l);
    if size == 0 {
        return;
    }
    let mut qr = faer::Mat::<f64>::from_fn(n, l, |i, j| q[[i, j]]);
    let block = factor::recommended_block_size::<f64>(n, l);
    let mut coeff = faer::Mat::<f64>::zeros(block, size);
    let scratch = factor::qr_in_place_scratch::<f64>(n, l, block, Par::Seq, Default::default());
    factor::qr_in_place(
        qr.as_mut(),
        coeff.as_mut(),
        Par::Seq,
        MemStack::new(&mut MemBuffer::new(scratch)),
        Default::default(),
    );
    // The Householder vectors: the unit lower trapezoid of the first `size` columns.
    let basis = faer::Mat::<f64>::from_fn(n, size, |i, j| match i.cmp(&j) {
        std::cmp::Ordering::Less => 0.0,
        std::cmp::Ordering::Equal => 1.0,
        std::cmp::Ordering::Greater => qr[(i, j)],
    });
    let mut thin = faer::Mat::<f64>::identity(n, size);
    let scratch = householder::apply_block_householder_sequence_on_the_left_in_place_scratch::<f64>(
        n, block, size,
    );
    householder::apply_block_householder_sequence_on_the_left_in_place_with_conj(
        basis.as_ref(),
        coeff.as_ref(),
        faer::Conj::No,
        thin.as_mut(),
        Par::Seq,
        MemStack::new(&mut MemBuffer::new(scratch)),
    );
    for i in 0..n {
        for j in 0..size {
            q[[i, j]] = thin[(i, j)];
        }
    }
}

/// Gaussian n x l matrix from a seed.
pub(crate) fn gaussian(n: usize, l: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((n, l), |_| StandardNormal.sample(&mut rng))
}

/// Rows per random stream of [`gaussian_f32`].
const GAUSSIAN_ROW_BLOCK: usize = 1024;

/// Gaussian n x l matrix (row-major, single precision) from a seed, drawn in
/// parallel: each block of [`GAUSSIAN_ROW_BLOCK`] rows from its own ChaCha
/// stream (the block's index), so the values do not depend on the thread
/// count. The landmark power iteration's 20,000 x 110 start took 0.03-0.05 s
/// drawn serially in f64 and converted.
pub(crate) fn gaussian_f32(n: usize, l: usize, seed: u64) -> Vec<f32> {
    let mut out = vec![0.0f32; n * l];
    if l == 0 {
        return out;
    }
    out.par_chunks_mut(GAUSSIAN_ROW_BLOCK * l)
        .enumerate()
        .for_each(|(b, block)| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(b as u64);
            block
                .iter_mut()
                .for_each(|v| *v = StandardNormal.sample(&mut rng));
        });
    out
}

/// [`reorthogonalize`] of a row-major n x l block in single precision: one
/// Cholesky QR pass with the Gram matrix and `Q R^-1` as f32 GEMMs (the small
/// Cholesky factor in f64), or the f64 pass when the block is too
/// ill-conditioned for f32 (cond(Q) beyond ~1e3). For power iterations whose
/// products run in f32 anyway: only the block's conditioning matters
/// between products, and the f64 round trip (two conversions of the block,
/// f64 GEMMs) took 0.03 s per pass at 20,000 x 110.
#[cfg(test)]
pub(crate) fn reorthogonalize_f32(q: &mut Vec<f32>, n: usize, l: usize) {
    reorthogonalize_f32_with(q, &mut vec![0.0; n * l], n, l);
}

/// [`reorthogonalize_f32`] with `spare` (n x l) as the output of `Q R^-1`,
/// swapped into `q`: a power iteration passes its idle buffer rather than
/// faulting in a fresh block per pass.
pub(crate) fn reorthogonalize_f32_with(q: &mut Vec<f32>, spare: &mut Vec<f32>, n: usize, l: usize) {
    if l == 0 || n == 0 {
        return;
    }
    spare.resize(n * l, 0.0);
    if cholesky_qr_step_f32(q, n, l, spare) {
        std::mem::swap(q, spare);
        return;
    }
    let mut q64 = Array2::from_shape_fn((n, l), |(i, j)| f64::from(q[i * l + j]));
    reorthogonalize(&mut q64);
    *q = q64.iter().map(|&v| v as f32).collect();
}

/// `Q R^-1` in f32 with `R^T R = Q^T Q` into `out`; false when the f32 Gram
/// matrix is not safely positive definite or the result is not finite.
fn cholesky_qr_step_f32(q: &[f32], n: usize, l: usize, out: &mut [f32]) -> bool {
    let g = at_b_f32(q, n, l, q, l);
    // the lower triangle (nalgebra's Cholesky reads only that); f32 Gram
    // entries carry ~1e-7 of the largest, so a pivot below 1e-3 of the first
    // means cond(Q) near the limit where that error dominates
    let Some(linv) = inverse_cholesky_factor(
        nalgebra::DMatrix::from_fn(l, l, |i, j| f64::from(g[i.max(j) * l + i.min(j)])),
        1e-3,
    ) else {
        return false;
    };
    // R^-1 = L^-T, row-major
    let rinv: Vec<f32> = (0..l * l).map(|e| linv[(e % l, e / l)] as f32).collect();
    gemm_f32_into(out, q, n, l, &rinv, l);
    out.iter().all(|v| v.is_finite())
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

/// Power iterations of scikit-learn's `randomized_svd` with `n_iter="auto"`:
/// 7 when `k` is below a tenth of the matrix's smaller side, else 4.
pub(crate) fn randomized_power_iterations(k: usize, smaller_side: usize) -> usize {
    if (k as f64) < 0.1 * smaller_side as f64 {
        7
    } else {
        4
    }
}

/// Top-`k` singular values (descending) and left singular vectors of the
/// symmetric n x n operator `apply`, by scikit-learn's `randomized_svd`
/// recipe: a Gaussian block of `k + 10` columns, `n_iter` power iterations
/// (7, or 4 when k >= n / 10; two products each, orthonormalised after
/// every product), then the SVD of the small `Q^T A` from the eigenvalues of
/// `Q^T A A^T Q`. A fixed amount of work, as in the reference: a loop until
/// the Ritz pairs converged ran into its cap whenever the top eigenvalues
/// were close together (the double-centred distances of a trajectory).
pub(crate) fn top_singular_pairs(
    n: usize,
    k: usize,
    seed: u64,
    apply: impl Fn(ArrayView2<'_, f64>) -> Array2<f64>,
) -> (Array1<f64>, Array2<f64>) {
    let l = (k + 10).min(n);
    let kk = k.min(l);
    let n_iter = randomized_power_iterations(k, n);
    let mut q = apply(gaussian(n, l, seed).view());
    orthonormalize(&mut q);
    for _ in 0..2 * n_iter {
        q = apply(q.view());
        orthonormalize(&mut q);
    }
    let aq = apply(q.view());
    let (vals, w) = small_symmetric_eigen(&at_b(aq.view(), aq.view()), |v| v);
    let s = vals.iter().take(kk).map(|&v| v.max(0.0).sqrt()).collect();
    let u = gemm(q.view(), w.slice(s![.., ..kk]), false);
    (s, u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    /// The single-precision products equal the f64 ones to f32 accuracy,
    /// on shapes around their block sizes (one block, a partial block, many).
    #[test]
    fn single_precision_products_match_f64() {
        for (n, d, l) in [(3, 2, 1), (40, 17, 5), (500, 300, 11), (70, 1000, 9)] {
            let a = gaussian(n, d, (n + d) as u64);
            let b = gaussian(d, l, 7);
            let c = gaussian(n, l, 8);
            let a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
            let b32: Vec<f32> = b.iter().map(|&v| v as f32).collect();
            let c32: Vec<f32> = c.iter().map(|&v| v as f32).collect();
            let ab = gemm_f32(&a32, n, d, &b32, l);
            let atc = at_b_f32(&a32, n, d, &c32, l);
            let (ab64, atc64) = (a.dot(&b), a.t().dot(&c));
            let tol = 1e-5 * (d.max(n) as f64).sqrt();
            let err1 = ab
                .iter()
                .zip(ab64.iter())
                .map(|(x, y)| (f64::from(*x) - y).abs())
                .fold(0.0, f64::max);
            let err2 = atc
                .iter()
                .zip(atc64.iter())
                .map(|(x, y)| (f64::from(*x) - y).abs())
                .fold(0.0, f64::max);
            assert!(
                err1 < tol && err2 < tol,
                "{n} x {d} x {l}: {err1:e} {err2:e}"
            );
        }
    }

    /// `gemm_sym` equals the full product on sizes around its band width
    /// (one band, a partial band, an odd number of bands to pair), for a
    /// symmetric product of two different factors (`A S` and `A`, `S`
    /// symmetric, so `(A S) A^T` is symmetric).
    #[test]
    fn symmetric_product_matches_the_full_product() {
        for m in [1, 5, SYM_BAND - 1, SYM_BAND + 3, 3 * SYM_BAND + 17] {
            let a = gaussian(m, 40, m as u64);
            let g = gaussian(40, 40, 3);
            let sym = &g + &g.t();
            let b = a.dot(&sym);
            let ours = gemm_sym(b.view(), a.view());
            let full = b.dot(&a.t());
            let err = ours
                .iter()
                .zip(full.iter())
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max);
            let scale = full.iter().fold(1.0f64, |acc, v| acc.max(v.abs()));
            assert!(err <= 1e-12 * scale, "m = {m}: {err:e}");
            assert!((0..m).all(|i| (0..m).all(|j| ours[[i, j]] == ours[[j, i]])));
        }
    }

    /// A spectrum like a double-centred squared-distance matrix's: one large
    /// eigenvalue, a second 1e4 times smaller and negative, a decaying rest.
    /// The top singular pairs match the construction.
    #[test]
    fn randomized_top_singular_pairs_match_the_spectrum() {
        let n = 200;
        let basis = {
            let mut q = gaussian(n, n, 8);
            orthonormalize(&mut q);
            q
        };
        let lambda: Vec<f64> = (0..n)
            .map(|i| match i {
                0 => 50.0,
                1 => -5e-3,
                _ => 1e-3 * 0.9f64.powi(i as i32),
            })
            .collect();
        let a = Array2::from_shape_fn((n, n), |(i, j)| {
            (0..n)
                .map(|c| basis[[i, c]] * lambda[c] * basis[[j, c]])
                .sum::<f64>()
        });
        let (s, u) = top_singular_pairs(n, 2, 3, |q| gemm(a.view(), q, false));
        assert!((s[0] - 50.0).abs() < 1e-12 * 50.0, "{}", s[0]);
        assert!((s[1] - 5e-3).abs() < 1e-9, "{}", s[1]);
        for c in 0..2 {
            let dot: f64 = (0..n).map(|i| u[[i, c]] * basis[[i, c]]).sum();
            assert!(
                (dot.abs() - 1.0).abs() < 1e-8,
                "vector {c}: |cos| = {}",
                dot.abs()
            );
        }
    }

    /// `a^T b` for a wide `a` (PCA's `X^T Q`: split by columns) and a tall
    /// one (split by rows) agree with ndarray's product, with the same bytes
    /// on 1 and 3 threads.
    #[test]
    fn at_b_wide_and_tall() {
        for (n, la) in [(700, 1000), (700, 300), (5000, 20)] {
            let a = gaussian(n, la, 11);
            let b = gaussian(n, 17, 12);
            let expected = a.t().dot(&b);
            let one = pool(1).install(|| at_b(a.view(), b.view()));
            let three = pool(3).install(|| at_b(a.view(), b.view()));
            assert_eq!(one, three, "{n} x {la}");
            let err = (&one - &expected)
                .iter()
                .fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(err < 1e-10, "{n} x {la}: {err:e}");
        }
    }

    /// The landmark power iteration's single-precision pieces: the Gaussian
    /// start and the Cholesky QR pass give the same bits on 1 and 3 threads;
    /// the pass leaves orthonormal columns (to f32 rounding) spanning the
    /// input's columns; a rank-deficient block, which f32 Cholesky refuses,
    /// still comes out orthonormal through the f64 fallback.
    #[test]
    fn single_precision_reorthogonalisation() {
        let (n, l) = (5000, 24);
        let run = |threads: usize| {
            pool(threads).install(|| {
                let g = gaussian_f32(n, l, 9);
                let mut q = g.clone();
                reorthogonalize_f32(&mut q, n, l);
                (g, q)
            })
        };
        let (g1, q1) = run(1);
        let (g3, q3) = run(3);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&g1), bits(&g3), "gaussian_f32 depends on the threads");
        assert_eq!(
            bits(&q1),
            bits(&q3),
            "reorthogonalize_f32 depends on the threads"
        );
        let mean = g1.iter().map(|&v| f64::from(v)).sum::<f64>() / g1.len() as f64;
        let var = g1.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / g1.len() as f64;
        assert!(
            mean.abs() < 0.01 && (var - 1.0).abs() < 0.02,
            "mean {mean} var {var}"
        );
        let to64 = |v: &[f32], cols: usize| {
            Array2::from_shape_fn((n, cols), |(i, j)| f64::from(v[i * cols + j]))
        };
        let orthonormal = |q: &Array2<f64>, tol: f64| {
            let g = gram(q.view());
            let cols = q.ncols();
            (0..cols)
                .all(|i| (0..cols).all(|j| (g[[i, j]] - f64::from(u8::from(i == j))).abs() < tol))
        };
        let q = to64(&q1, l);
        assert!(orthonormal(&q, 1e-4));
        // same column space: the input minus its projection is rounding
        let a = to64(&g1, l);
        let residual = &a - &gemm(q.view(), at_b(q.view(), a.view()).view(), false);
        assert!(residual.iter().all(|v| v.abs() < 1e-3));
        // columns 12.. repeat columns ..12: Householder in f64 takes over
        let mut deficient = g1.clone();
        for i in 0..n {
            for j in 12..l {
                deficient[i * l + j] = deficient[i * l + j - 12];
            }
        }
        reorthogonalize_f32(&mut deficient, n, l);
        assert!(orthonormal(&to64(&deficient, l), 1e-5));
    }

    /// The products that feed the landmarks and PCA give the same bytes on
    /// any number of threads (rayon's `reduce` would add the row blocks of
    /// `a^T b` in an order that depends on the work stealing).
    #[test]
    fn products_do_not_depend_on_the_thread_count() {
        // 5 row blocks of 2048 for `at_b`; a product big enough for `gemm`'s
        // threads, with a long inner dimension (PCA's, the input's columns).
        let a = gaussian(10_000, 12, 1);
        let b = gaussian(10_000, 7, 2);
        let x = gaussian(1000, 2000, 3);
        let y = gaussian(30, 2000, 4);
        let run = |threads: usize| {
            pool(threads).install(|| {
                let mut q = a.clone();
                orthonormalize(&mut q);
                (at_b(a.view(), b.view()), gemm(x.view(), y.view(), true), q)
            })
        };
        let one = run(1);
        // the single-precision products of PCA's range finder
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let z32: Vec<f32> = gaussian(2000, 11, 6).iter().map(|&v| v as f32).collect();
        let w32: Vec<f32> = gaussian(1000, 11, 7).iter().map(|&v| v as f32).collect();
        let run32 = |threads: usize| {
            pool(threads).install(|| {
                (
                    gemm_f32(&x32, 1000, 2000, &z32, 11),
                    at_b_f32(&x32, 1000, 2000, &w32, 11),
                )
            })
        };
        let (p1, p3) = (run32(1), run32(3));
        assert!(p1
            .0
            .iter()
            .zip(&p3.0)
            .all(|(u, v)| u.to_bits() == v.to_bits()));
        assert!(p1
            .1
            .iter()
            .zip(&p3.1)
            .all(|(u, v)| u.to_bits() == v.to_bits()));
        // Rank-deficient columns: Cholesky QR refuses them, Householder QR runs.
        let mut deficient = gaussian(3000, 40, 5);
        for j in 20..40 {
            let src = deficient.column(j - 20).to_owned();
            deficient.column_mut(j).assign(&src);
        }
        let householder = |threads: usize| {
            pool(threads).install(|| {
                let mut q = deficient.clone();
                orthonormalize(&mut q);
                q
            })
        };
        let h1 = householder(1);
        // It is still an orthonormal basis of the column space (of rank 20).
        let g = gram(h1.view());
        for i in 0..40 {
            for j in 0..40 {
                let expected = if i == j { 1.0 } else { 0.0 };
                assert!(
                    (g[[i, j]] - expected).abs() < 1e-10,
                    "Q^T Q [{i}, {j}] = {}",
                    g[[i, j]]
                );
            }
        }
        let residual =
            &deficient - &gemm(h1.view(), at_b(h1.view(), deficient.view()).view(), false);
        assert!(residual.iter().all(|v| v.abs() < 1e-9));
        for threads in [2, 3, 4] {
            assert_eq!(
                h1,
                householder(threads),
                "Householder QR at {threads} threads"
            );
        }
        for threads in [2, 3, 4] {
            let other = run(threads);
            assert_eq!(one.0, other.0, "a^T b at {threads} threads");
            assert_eq!(one.1, other.1, "gemm at {threads} threads");
            assert_eq!(one.2, other.2, "orthonormalize at {threads} threads");
        }
    }
}
