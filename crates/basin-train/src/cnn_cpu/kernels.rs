//! The per-chunk kernels: layout changes, patches, products, ReLU, pooling
//! and the cross-entropy, on channels-last slices.

use super::Grid;
use crate::dense::{gemm, view, view_mut};
use crate::fused::{cross_entropy_row, log_sum_exp, relu_value};

/// Rows of `C × H × W` values to channels-last images.
pub(super) fn to_channels_last(x: &[f32], n: usize, g: Grid, out: &mut Vec<f32>) {
    out.clear();
    if g.c == 1 {
        out.extend_from_slice(&x[..n * g.len()]);
        return;
    }
    out.resize(n * g.len(), 0.0);
    for (src, dst) in x.chunks_exact(g.len()).zip(out.chunks_exact_mut(g.len())) {
        chw_to_hwc(src, dst, g);
    }
}

pub(super) fn hwc_to_chw(src: &[f32], dst: &mut [f32], g: Grid) {
    let plane = g.h * g.w;
    for (p, px) in src.chunks_exact(g.c).enumerate() {
        for (ci, &v) in px.iter().enumerate() {
            dst[ci * plane + p] = v;
        }
    }
}

pub(super) fn chw_to_hwc(src: &[f32], dst: &mut [f32], g: Grid) {
    let plane = g.h * g.w;
    for (p, px) in dst.chunks_exact_mut(g.c).enumerate() {
        for (ci, v) in px.iter_mut().enumerate() {
            *v = src[ci * plane + p];
        }
    }
}

/// Input pixel under kernel tap `(ky, kx)` of output `(oy, ox)` (padding 1),
/// or `None` in the padding.
#[inline]
pub(super) fn tap(input: Grid, stride: usize, oy: usize, ox: usize, ky: usize, kx: usize) -> Option<usize> {
    let iy = (oy * stride + ky).checked_sub(1)?;
    let ix = (ox * stride + kx).checked_sub(1)?;
    (iy < input.h && ix < input.w).then_some(iy * input.w + ix)
}

/// Calls `f(image, row, tap, pixel)` for every kernel tap that falls inside
/// the image: patch row `row` (over the chunk's images, `(image, oy, ox)`
/// order), tap `ky·3 + kx`, input `pixel` within the image. The loop both
/// [`im2col`] and its adjoint [`col2im`] walk.
#[inline]
pub(super) fn for_each_tap(n: usize, input: Grid, output: Grid, stride: usize, mut f: impl FnMut(usize, usize, usize, usize)) {
    let mut row = 0;
    for img in 0..n {
        for oy in 0..output.h {
            for ox in 0..output.w {
                for ky in 0..3 {
                    for kx in 0..3 {
                        if let Some(px) = tap(input, stride, oy, ox, ky, kx) {
                            f(img, row, ky * 3 + kx, px);
                        }
                    }
                }
                row += 1;
            }
        }
    }
}

/// Patch rows `(image, oy, ox)`, columns `(ky, kx, c)`: each tap copies the
/// pixel's `C` contiguous channels; taps in the padding stay 0.
pub(super) fn im2col(x: &[f32], n: usize, input: Grid, output: Grid, stride: usize, patches: &mut Vec<f32>) {
    let (c, len) = (input.c, input.len());
    let k = 9 * c;
    patches.clear();
    patches.resize(n * output.h * output.w * k, 0.0);
    for_each_tap(n, input, output, stride, |img, row, t, px| {
        patches[row * k + t * c..][..c].copy_from_slice(&x[img * len + px * c..][..c]);
    });
}

/// Adjoint of [`im2col`]: adds each patch gradient onto its pixels (`out`
/// starts at zero).
pub(super) fn col2im(patch_grad: &[f32], n: usize, input: Grid, output: Grid, stride: usize, out: &mut [f32]) {
    let (c, len) = (input.c, input.len());
    let k = 9 * c;
    for_each_tap(n, input, output, stride, |img, row, t, px| {
        let src = &patch_grad[row * k + t * c..][..c];
        out[img * len + px * c..][..c].iter_mut().zip(src).for_each(|(d, s)| *d += s);
    });
}

/// `out (rows × m) = b + x (rows × k) · wᵀ`, `w` stored `m × k`.
pub(super) fn affine(out: &mut [f32], x: &[f32], w: &[f32], b: &[f32], rows: usize, k: usize, m: usize) {
    for row in out.chunks_exact_mut(m) {
        row.copy_from_slice(b);
    }
    gemm(view_mut(out, rows, m), view(x, rows, k), view(w, m, k).transpose(), true);
}

/// `dW (m × k) = gᵀ · x`, `db = Σ_rows g`.
pub(super) fn parameter_grads(g: &[f32], x: &[f32], rows: usize, k: usize, m: usize, w_grad: &mut Vec<f32>, b_grad: &mut Vec<f32>) {
    w_grad.clear();
    w_grad.resize(m * k, 0.0);
    gemm(view_mut(w_grad, m, k), view(g, rows, m).transpose(), view(x, rows, k), false);
    b_grad.clear();
    b_grad.resize(m, 0.0);
    for row in g.chunks_exact(m) {
        b_grad.iter_mut().zip(row).for_each(|(a, v)| *a += v);
    }
}

pub(super) fn relu_in_place(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = relu_value(*x));
}

pub(super) fn avg_pool(x: &[f32], n: usize, input: Grid, output: Grid, out: &mut [f32]) {
    let c = input.c;
    for (img, o) in x.chunks_exact(input.len()).zip(out.chunks_exact_mut(output.len())).take(n) {
        for oy in 0..output.h {
            for ox in 0..output.w {
                let dst = &mut o[(oy * output.w + ox) * c..][..c];
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let src = &img[((2 * oy + dy) * input.w + 2 * ox + dx) * c..][..c];
                    dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
                }
                dst.iter_mut().for_each(|d| *d *= 0.25);
            }
        }
    }
}

pub(super) fn avg_pool_backward(g: &[f32], n: usize, input: Grid, output: Grid, out: &mut [f32]) {
    let c = input.c;
    for (gi, o) in g.chunks_exact(output.len()).zip(out.chunks_exact_mut(input.len())).take(n) {
        for oy in 0..output.h {
            for ox in 0..output.w {
                let src = &gi[(oy * output.w + ox) * c..][..c];
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let dst = &mut o[((2 * oy + dy) * input.w + 2 * ox + dx) * c..][..c];
                    dst.iter_mut().zip(src).for_each(|(d, s)| *d = 0.25 * s);
                }
            }
        }
    }
}

/// Summed cross-entropy and correct predictions of `logits` (first
/// largest logit wins a tie).
pub(super) fn score(logits: &[f32], labels: &[u32], classes: usize) -> (f64, usize) {
    let (mut loss, mut correct) = (0.0f64, 0usize);
    for (z, &y) in logits.chunks_exact(classes).zip(labels) {
        // Candle's argmax: the first value, replaced only by a strictly larger one.
        let (best, _) = z.iter().enumerate().skip(1).fold((0, z[0]), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
        loss += f64::from(log_sum_exp(z) - z[y as usize]);
        correct += usize::from(best == y as usize);
    }
    (loss, correct)
}

/// Sum of the rows' cross-entropy terms; `grad` receives the gradient of
/// the batch mean (`(softmax − onehot) / batch`).
pub(super) fn softmax_cross_entropy(logits: &[f32], labels: &[u32], classes: usize, batch: usize, grad: &mut Vec<f32>) -> f64 {
    grad.clear();
    grad.resize(logits.len(), 0.0);
    #[allow(clippy::cast_precision_loss)]
    let scale = 1.0 / batch as f32;
    let mut loss = 0.0f64;
    for ((z, g), &y) in logits.chunks_exact(classes).zip(grad.chunks_exact_mut(classes)).zip(labels) {
        loss += f64::from(cross_entropy_row(z, y as usize, scale, g));
    }
    loss
}
