//! faer matrix products on row-major `f32` slices, shared by the
//! hand-written CPU kernels (the batched jump engine, the fused linear layer
//! and convolution products).
//!
//! Why faer rather than candle's matmul: faer dispatches to AVX-512 kernels
//! at run time (candle 0.11's `gemm` stops at AVX2 without nightly), and its
//! threads split the product's output into blocks, so a second core speeds
//! up a training step (candle's threaded `gemm` barely did) while every
//! output value is still summed in one fixed order: the bits do not depend
//! on the thread count (tested below).

use faer::{Accum, MatMut, MatRef, Par};

/// `dst ← lhs · rhs` (or `dst += …` with `accumulate`), on the calling thread.
pub(crate) fn gemm(dst: MatMut<'_, f32>, lhs: MatRef<'_, f32>, rhs: MatRef<'_, f32>, accumulate: bool) {
    gemm_with(dst, lhs, rhs, accumulate, Par::Seq);
}

/// `dst ← lhs · rhs` (or `dst += …`) with the given parallelism.
pub(crate) fn gemm_with(dst: MatMut<'_, f32>, lhs: MatRef<'_, f32>, rhs: MatRef<'_, f32>, accumulate: bool, par: Par) {
    let acc = if accumulate { Accum::Add } else { Accum::Replace };
    faer::linalg::matmul::matmul(dst, acc, lhs, rhs, 1.0f32, par);
}

/// [`crate::fused::linear`] runs products with fewer multiply-adds than this
/// in candle's own matmul, whose per-call cost is lower than faer's for such
/// small products (measured: 64 against 78 µs per digits-MLP step), and
/// larger ones in faer on all of rayon's threads.
pub(crate) const FAER_MIN_WORK: usize = 1 << 20;

/// rayon's threads when there are several, else the calling thread.
pub(crate) fn threads() -> Par {
    match rayon::current_num_threads() {
        0 | 1 => Par::Seq,
        n => Par::rayon(n),
    }
}

/// A row-major `rows × cols` view of `s`.
pub(crate) fn view(s: &[f32], rows: usize, cols: usize) -> MatRef<'_, f32> {
    MatRef::from_row_major_slice(&s[..rows * cols], rows, cols)
}

/// A mutable row-major `rows × cols` view of `s`.
pub(crate) fn view_mut(s: &mut [f32], rows: usize, cols: usize) -> MatMut<'_, f32> {
    MatMut::from_row_major_slice_mut(&mut s[..rows * cols], rows, cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Threads split faer's output, never a dot product: the same bits on
    /// 1, 2 and 3 threads, for the training step's shapes (transposed
    /// operands included).
    #[test]
    fn products_are_bit_identical_at_any_thread_count() {
        let mut state = 7u32;
        let mut values = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    #[allow(clippy::cast_precision_loss)]
                    let u = (state >> 8) as f32 / (1u32 << 24) as f32;
                    u - 0.5
                })
                .collect()
        };
        for &(m, k, n) in &[(128, 784, 256), (256, 128, 784), (25_088, 9, 16), (6_272, 144, 32), (128, 512, 10)] {
            let a = values(m * k);
            let b = values(n * k);
            let run = |par: Par| {
                let mut out = vec![0.0f32; m * n];
                // a (m × k) · bᵀ (k × n), b stored n × k as a weight is
                gemm_with(view_mut(&mut out, m, n), view(&a, m, k), view(&b, n, k).transpose(), false, par);
                out
            };
            let one = run(Par::Seq);
            for threads in [2, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let many = pool.install(|| run(Par::rayon(threads)));
                assert!(one.iter().zip(&many).all(|(x, y)| x.to_bits() == y.to_bits()), "{m}×{k}×{n} at {threads} threads");
            }
        }
    }
}
