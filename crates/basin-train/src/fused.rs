//! Fused CPU kernels for the hot operations of a training step: bias
//! addition, ReLU and cross-entropy, each with a hand-written backward pass.
//!
//! Why: candle's generic versions spend most of a small net's step in
//! overhead (the bias gradient is a strided `sum_keepdim` over the batch,
//! ReLU's backward is three tensor ops, cross-entropy five). These kernels
//! do the same arithmetic in one pass over contiguous memory. Off the CPU
//! (CUDA), or for non-contiguous inputs, the plain candle ops are used.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Shape, Tensor};

use crate::dense::{self, gemm_with, view, view_mut, FAER_MIN_WORK};
use faer::Par;

pub(crate) fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> candle_core::Result<&'a [f32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::F32(v), Some((a, b))) => Ok(&v[a..b]),
        _ => candle_core::bail!("{what} must be contiguous f32"),
    }
}

fn fast(t: &Tensor) -> bool {
    t.device().is_cpu() && t.is_contiguous() && t.dtype() == candle_core::DType::F32
}

/// `x + b` with `b` broadcast along axis 1 of `x` (`N × C` or `N × C × H × W`).
///
/// # Errors
/// Candle errors (shape mismatch).
pub(crate) fn bias_add(x: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    let c = b.dim(0)?;
    if fast(x) && fast(b) && x.rank() >= 2 && x.dim(1)? == c {
        let inner = x.dims()[2..].iter().product();
        return x.apply_op2(b, BiasAdd { c, inner });
    }
    let shape: Vec<usize> = (0..x.rank()).map(|d| if d == 1 { c } else { 1 }).collect();
    x.broadcast_add(&b.reshape(shape)?)
}

/// `x · wᵀ + b` for `x` (`N × in`), `w` (`out × in`, PyTorch layout), `b` (`out`).
///
/// Why fused: candle's matmul backward always computes the gradient of
/// both operands, so the first layer's product with the input batch, a
/// constant, cost a third more than it must (a whole `N × out × in`
/// product, the largest of an MNIST MLP's step). This op computes the input
/// gradient only when the input is itself tracked (a hidden layer, or the
/// patches of a convolution after the first), adds the bias in the
/// product's own buffer, and runs the three products of a large layer in
/// faer (see [`crate::dense`]: AVX-512 kernels, and threads that help
/// without changing the bits; 1.8× faster than candle's on the MNIST MLP's
/// step), those of a small layer in candle's own matmul.
pub(crate) fn linear(x: &Tensor, w: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    if fast(x) && fast(w) && fast(b) && x.rank() == 2 && w.rank() == 2 && b.dims() == [w.dim(0)?] {
        let work = x.dim(0)?.saturating_mul(w.dim(0)?).saturating_mul(w.dim(1)?);
        let faer = (work >= FAER_MIN_WORK).then(dense::threads);
        return x.apply_op3(w, b, Linear { input_grad: x.track_op(), faer });
    }
    bias_add(&x.matmul(&w.t()?)?, b)
}

/// See [`linear`].
struct Linear {
    input_grad: bool,
    /// faer's products with this parallelism (large layers: all three of
    /// its products have the same size), or `None` for candle's (small
    /// ones, where its per-call cost is lower); chosen from the shapes
    /// alone, so a given net always takes the same path.
    faer: Option<Par>,
}

impl CustomOp3 for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, k) = l1.shape().dims2()?;
        let (m, k2) = l2.shape().dims2()?;
        if k != k2 {
            candle_core::bail!("linear: input has {k} columns, weight {k2}");
        }
        let b = f32_slice(s3, l3, "linear bias")?;
        let Some(par) = self.faer else {
            use candle_core::backend::BackendStorage;
            // Candle's own product with the transposed weight view, as `matmul(&w.t())` calls it.
            let mut out = s1.matmul(s2, (1, n, m, k), l1, &l2.transpose(0, 1)?)?;
            match &mut out {
                CpuStorage::F32(v) => {
                    for row in v.chunks_mut(m) {
                        row.iter_mut().zip(b).for_each(|(o, &bc)| *o += bc);
                    }
                }
                _ => candle_core::bail!("linear: expected f32"),
            }
            return Ok((out, Shape::from((n, m))));
        };
        let x = f32_slice(s1, l1, "linear input")?;
        let w = f32_slice(s2, l2, "linear weight")?;
        let mut out = vec![0.0f32; n * m];
        for row in out.chunks_exact_mut(m) {
            row.copy_from_slice(b);
        }
        // out = b + x · wᵀ
        gemm_with(view_mut(&mut out, n, m), view(x, n, k), view(w, m, k).transpose(), true, par);
        Ok((CpuStorage::F32(out), Shape::from((n, m))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let g = grad.contiguous()?;
        let (_, m) = g.dims2()?;
        let gb = g.apply_op1_no_bwd(&ChannelSum { c: m, inner: 1 })?;
        let Some(par) = self.faer else {
            // (xᵀ·g)ᵀ, the product candle's backward computes for `w.t()`.
            let gw = x.t()?.matmul(&g)?.t()?.contiguous()?;
            let gx = if self.input_grad { Some(g.matmul(w)?) } else { None };
            return Ok((gx, Some(gw), Some(gb)));
        };
        // dW = gᵀ · x (out × in)
        let gw = g.apply_op2_no_bwd(x, &Product { transpose_lhs: true, transpose_rhs: false, par })?;
        // dX = g · W (N × in)
        let gx = if self.input_grad { Some(g.apply_op2_no_bwd(w, &Product { transpose_lhs: false, transpose_rhs: false, par })?) } else { None };
        Ok((gx, Some(gw), Some(gb)))
    }
}

/// `op(lhs) · op(rhs)` of two contiguous row-major matrices, `op` the
/// transpose where asked: the backward products of [`linear`].
struct Product {
    transpose_lhs: bool,
    transpose_rhs: bool,
    par: Par,
}

impl CustomOp2 for Product {
    fn name(&self) -> &'static str {
        "product"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (r1, c1) = l1.shape().dims2()?;
        let (r2, c2) = l2.shape().dims2()?;
        let a = view(f32_slice(s1, l1, "product lhs")?, r1, c1);
        let b = view(f32_slice(s2, l2, "product rhs")?, r2, c2);
        let a = if self.transpose_lhs { a.transpose() } else { a };
        let b = if self.transpose_rhs { b.transpose() } else { b };
        if a.ncols() != b.nrows() {
            candle_core::bail!("product: {}×{} by {}×{}", a.nrows(), a.ncols(), b.nrows(), b.ncols());
        }
        let (m, n) = (a.nrows(), b.ncols());
        let mut out = vec![0.0f32; m * n];
        gemm_with(view_mut(&mut out, m, n), a, b, false, self.par);
        Ok((CpuStorage::F32(out), Shape::from((m, n))))
    }
}

/// `x + b` for stacked nets: `x` is `K × B × O`, `b` is `K × 1 × O`.
pub(crate) fn stacked_bias_add(x: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    let (k, rows, o) = x.dims3()?;
    if fast(x) && fast(b) && b.dims() == [k, 1, o] {
        return x.apply_op2(b, StackedBiasAdd { rows, o });
    }
    x.broadcast_add(b)
}

/// `max(x, 0)`.
pub(crate) fn relu(x: &Tensor) -> candle_core::Result<Tensor> {
    if fast(x) {
        return x.apply_op1(Relu);
    }
    x.relu()
}

/// Mean cross-entropy of `logits` (`N × C`) against `u32` labels.
pub(crate) fn cross_entropy(logits: &Tensor, labels: &Tensor) -> candle_core::Result<Tensor> {
    if fast(logits) && labels.device().is_cpu() && labels.is_contiguous() && logits.rank() == 2 {
        return logits.apply_op2(labels, CrossEntropy);
    }
    candle_nn::loss::cross_entropy(logits, labels)
}

/// `x[n, c, i] + b[c]` over `x` viewed as `outer × c × inner`.
#[derive(Clone, Copy)]
struct BiasAdd {
    c: usize,
    inner: usize,
}

impl CustomOp2 for BiasAdd {
    fn name(&self) -> &'static str {
        "bias-add"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, "bias-add input")?;
        let b = f32_slice(s2, l2, "bias")?;
        let mut out = x.to_vec();
        if self.inner == 1 {
            for row in out.chunks_mut(self.c) {
                row.iter_mut().zip(b).for_each(|(o, &bc)| *o += bc);
            }
        } else {
            for chunk in out.chunks_mut(self.c * self.inner) {
                for (plane, &bc) in chunk.chunks_mut(self.inner).zip(b) {
                    plane.iter_mut().for_each(|o| *o += bc);
                }
            }
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        _b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let g = grad.contiguous()?;
        let gb = g.apply_op1_no_bwd(&ChannelSum { c: self.c, inner: self.inner })?;
        Ok((Some(g), Some(gb)))
    }
}

/// `Σ_{n,i} x[n, c, i]` for each `c`: the bias gradient.
struct ChannelSum {
    c: usize,
    inner: usize,
}

impl CustomOp1 for ChannelSum {
    fn name(&self) -> &'static str {
        "channel-sum"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l, "channel-sum input")?;
        let mut out = vec![0.0f32; self.c];
        if self.inner == 1 {
            for row in x.chunks(self.c) {
                out.iter_mut().zip(row).for_each(|(o, &v)| *o += v);
            }
        } else {
            for chunk in x.chunks(self.c * self.inner) {
                for (plane, o) in chunk.chunks(self.inner).zip(out.iter_mut()) {
                    *o += plane.iter().sum::<f32>();
                }
            }
        }
        Ok((CpuStorage::F32(out), Shape::from(self.c)))
    }
}

/// `x[k, r, o] + b[k, o]`.
#[derive(Clone, Copy)]
struct StackedBiasAdd {
    rows: usize,
    o: usize,
}

impl CustomOp2 for StackedBiasAdd {
    fn name(&self) -> &'static str {
        "stacked-bias-add"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, "stacked bias-add input")?;
        let b = f32_slice(s2, l2, "stacked bias")?;
        let mut out = x.to_vec();
        for (block, bk) in out.chunks_mut(self.rows * self.o).zip(b.chunks(self.o)) {
            for row in block.chunks_mut(self.o) {
                row.iter_mut().zip(bk).for_each(|(v, &bb)| *v += bb);
            }
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        _b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let g = grad.contiguous()?;
        let gb = g.apply_op1_no_bwd(&StackedRowSum(*self))?;
        Ok((Some(g), Some(gb)))
    }
}

/// `Σ_r x[k, r, o]`, shaped `K × 1 × O`.
struct StackedRowSum(StackedBiasAdd);

impl CustomOp1 for StackedRowSum {
    fn name(&self) -> &'static str {
        "stacked-row-sum"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l, "stacked row-sum input")?;
        let (rows, o) = (self.0.rows, self.0.o);
        let k = x.len() / (rows * o).max(1);
        let mut out = vec![0.0f32; k * o];
        for (block, ok) in x.chunks(rows * o).zip(out.chunks_mut(o)) {
            for row in block.chunks(o) {
                ok.iter_mut().zip(row).for_each(|(a, &v)| *a += v);
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((k, 1, o))))
    }
}

/// `max(v, 0)` that keeps NaN (as PyTorch's ReLU does): `f32::max` would
/// turn a NaN activation into 0 and hide a diverging run from its loss.
/// Written as a select, which vectorises (a conditional store branched on
/// every value's sign).
#[inline]
pub(crate) fn relu_value(v: f32) -> f32 {
    if v < 0.0 {
        0.0
    } else {
        v
    }
}

struct Relu;

impl CustomOp1 for Relu {
    fn name(&self) -> &'static str {
        "relu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l, "relu input")?;
        Ok((CpuStorage::F32(x.iter().map(|&v| relu_value(v)).collect()), l.shape().clone()))
    }

    fn bwd(&self, _x: &Tensor, res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(grad.contiguous()?.apply_op2_no_bwd(res, &ReluGrad)?))
    }
}

/// `grad · [res > 0]`.
struct ReluGrad;

impl CustomOp2 for ReluGrad {
    fn name(&self) -> &'static str {
        "relu-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let mut out = f32_slice(s1, l1, "relu gradient")?.to_vec();
        relu_mask(&mut out, f32_slice(s2, l2, "relu output")?);
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

fn labels_of<'a>(s: &'a CpuStorage, l: &Layout) -> candle_core::Result<&'a [u32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::U32(v), Some((a, b))) => Ok(&v[a..b]),
        _ => candle_core::bail!("labels must be contiguous u32"),
    }
}

/// Row-wise log-sum-exp, shifted by the row maximum for stability.
pub(crate) fn log_sum_exp(row: &[f32]) -> f32 {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    m + row.iter().map(|&v| (v - m).exp()).sum::<f32>().ln()
}

/// One row of the cross-entropy: writes `(softmax(z) − onehot(label)) ·
/// scale` into `grad` and returns `logsumexp(z) − z[label]`. Shared by
/// [`CrossEntropyGrad`] and the hand-written CNN pass.
pub(crate) fn cross_entropy_row(z: &[f32], label: usize, scale: f32, grad: &mut [f32]) -> f32 {
    let lse = log_sum_exp(z);
    for (g, &v) in grad.iter_mut().zip(z) {
        *g = (v - lse).exp() * scale;
    }
    grad[label] -= scale;
    lse - z[label]
}

/// ReLU's backward in place: `g` zeroed where the ReLU's output `r` is not
/// positive (a select, which vectorises).
pub(crate) fn relu_mask(g: &mut [f32], r: &[f32]) {
    g.iter_mut().zip(r).for_each(|(g, &r)| *g = if r > 0.0 { *g } else { 0.0 });
}

/// `mean_n (logsumexp(z_n) − z_{n, y_n})`.
struct CrossEntropy;

impl CustomOp2 for CrossEntropy {
    fn name(&self) -> &'static str {
        "cross-entropy"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let z = f32_slice(s1, l1, "logits")?;
        let y = labels_of(s2, l2)?;
        let c = l1.dims()[1];
        // As candle's `cross_entropy`: one label per row of logits (a zip
        // would quietly drop rows or labels), and at least one class.
        if c == 0 || y.len() * c != z.len() {
            candle_core::bail!("cross-entropy: {} labels for logits of shape {:?}", y.len(), l1.dims())
        }
        let mut total = 0.0f32;
        for (row, &label) in z.chunks(c).zip(y) {
            let Some(&zy) = row.get(label as usize) else {
                candle_core::bail!("label {label} out of range for {c} classes")
            };
            total += log_sum_exp(row) - zy;
        }
        #[allow(clippy::cast_precision_loss)]
        let mean = total / y.len().max(1) as f32;
        Ok((CpuStorage::F32(vec![mean]), Shape::from(())))
    }

    fn bwd(
        &self,
        z: &Tensor,
        y: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let g = z.apply_op2_no_bwd(y, &CrossEntropyGrad)?.broadcast_mul(grad)?;
        Ok((Some(g), None))
    }
}

/// `(softmax(z_n) − onehot(y_n)) / N`.
struct CrossEntropyGrad;

impl CustomOp2 for CrossEntropyGrad {
    fn name(&self) -> &'static str {
        "cross-entropy-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let z = f32_slice(s1, l1, "logits")?;
        let y = labels_of(s2, l2)?;
        let c = l1.dims()[1];
        #[allow(clippy::cast_precision_loss)]
        let inv_n = 1.0 / y.len().max(1) as f32;
        let mut out = vec![0.0f32; z.len()];
        for ((row, g), &label) in z.chunks(c).zip(out.chunks_mut(c)).zip(y) {
            cross_entropy_row(row, label as usize, inv_n, g);
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var, D};

    /// Fused and plain candle ops give the same values and gradients.
    #[test]
    fn fused_ops_match_candle_ops() {
        let dev = Device::Cpu;
        let x = Var::new(&[[[0.5f32, -1.0], [2.0, -0.25]], [[-3.0, 1.5], [0.75, 0.0]]], &dev).unwrap(); // 2×2×2
        let b = Var::new(&[0.1f32, -0.2], &dev).unwrap();
        let w = Tensor::new(&[[1.0f32, -2.0], [0.5, 3.0], [1.5, 0.25], [-1.0, 2.0]], &dev).unwrap(); // 4 × 2
        let y = Tensor::new(&[1u32, 0], &dev).unwrap();
        let run = |fused: bool| {
            let h = if fused {
                bias_add(&x, &b).unwrap()
            } else {
                x.broadcast_add(&b.reshape((1, 2, 1)).unwrap()).unwrap()
            };
            let h = if fused { relu(&h).unwrap() } else { h.relu().unwrap() };
            let z =
                h.flatten_from(1).unwrap().matmul(&w).unwrap().narrow(D::Minus1, 0, 2).unwrap().contiguous().unwrap();
            let loss =
                if fused { cross_entropy(&z, &y).unwrap() } else { candle_nn::loss::cross_entropy(&z, &y).unwrap() };
            let g = loss.backward().unwrap();
            let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            (loss.to_scalar::<f32>().unwrap(), flat(g.get(&x).unwrap()), flat(g.get(&b).unwrap()))
        };
        let (l1, gx1, gb1) = run(true);
        let (l2, gx2, gb2) = run(false);
        assert!((l1 - l2).abs() < 1e-6, "{l1} vs {l2}");
        for (a, b) in gx1.iter().chain(&gb1).zip(gx2.iter().chain(&gb2)) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        assert!(gb1.iter().any(|&v| v != 0.0));
    }

    /// A label count that does not match the rows of logits is an error, as
    /// in candle's `cross_entropy`, not a loss over the rows that have one.
    #[test]
    fn cross_entropy_refuses_a_label_count_mismatch() {
        let dev = Device::Cpu;
        let z = Tensor::new(&[[0.0f32, 1.0], [2.0, 0.0], [0.5, 0.5]], &dev).unwrap();
        for labels in [&[0u32, 1][..], &[0, 1, 1, 0][..]] {
            let y = Tensor::new(labels, &dev).unwrap();
            assert!(candle_nn::loss::cross_entropy(&z, &y).is_err());
            let err = cross_entropy(&z, &y).unwrap_err().to_string();
            assert!(err.contains(&format!("{} labels", labels.len())), "{err}");
        }
        let y = Tensor::new(&[0u32, 1, 1], &dev).unwrap();
        assert!(cross_entropy(&z, &y).is_ok());
    }
}

/// 3×3 convolution (padding 1) as im2col + one [`linear`] product (bias
/// included), then the transpose back to `N × C × H × W`. Replaces candle
/// 0.11's CPU conv2d, whose tiled kernel and backward (a convolution with the
/// whole gradient map as kernel) dominate a small CNN's step.
pub(crate) fn conv3x3(x: &Tensor, w: &Tensor, b: &Tensor, stride: usize) -> candle_core::Result<Tensor> {
    if !(fast(x) && fast(w) && fast(b)) {
        return bias_add(&x.conv2d(w, 1, stride, 1, 1)?, b);
    }
    let (n, c, h, wd) = x.dims4()?;
    let c_out = w.dim(0)?;
    let geo = Im2Col { c, h, w: wd, stride, ho: (h - 1) / stride + 1, wo: (wd - 1) / stride + 1 };
    let patches = x.apply_op1(geo)?; // (N·Ho·Wo) × (C·9)
    let out = linear(&patches, &w.reshape((c_out, c * 9))?, b)?; // (N·Ho·Wo) × C_out
    out.reshape((n, geo.ho, geo.wo, c_out))?.permute((0, 3, 1, 2))?.contiguous()
}

/// Patch extraction for a 3×3 kernel, padding 1: row `(n, y, x)` holds the
/// `C × 3 × 3` input values under the kernel at output `(y, x)`, in the
/// weight's `(c, ky, kx)` order; out-of-image values are 0.
#[derive(Clone, Copy)]
struct Im2Col {
    c: usize,
    h: usize,
    w: usize,
    stride: usize,
    ho: usize,
    wo: usize,
}

impl Im2Col {
    /// Input offset (within one image) for output `(oy, ox)`, channel `ci`,
    /// kernel `(ky, kx)`, or `None` in the padding.
    #[inline]
    fn source(&self, oy: usize, ox: usize, ci: usize, ky: usize, kx: usize) -> Option<usize> {
        let iy = (oy * self.stride + ky).checked_sub(1)?;
        let ix = (ox * self.stride + kx).checked_sub(1)?;
        (iy < self.h && ix < self.w).then_some((ci * self.h + iy) * self.w + ix)
    }
}

impl CustomOp1 for Im2Col {
    fn name(&self) -> &'static str {
        "im2col-3x3"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l, "conv input")?;
        let img = self.c * self.h * self.w;
        let n = x.len() / img.max(1);
        let k = self.c * 9;
        let mut out = vec![0.0f32; n * self.ho * self.wo * k];
        let mut rows = out.chunks_mut(k);
        for im in x.chunks(img) {
            for oy in 0..self.ho {
                for ox in 0..self.wo {
                    let Some(row) = rows.next() else { candle_core::bail!("im2col: output too small") };
                    for ci in 0..self.c {
                        for ky in 0..3 {
                            for kx in 0..3 {
                                if let Some(src) = self.source(oy, ox, ci, ky, kx) {
                                    row[ci * 9 + ky * 3 + kx] = im[src];
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((n * self.ho * self.wo, k))))
    }

    fn bwd(&self, _x: &Tensor, _res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(grad.contiguous()?.apply_op1_no_bwd(&Col2Im(*self))?))
    }
}

/// Adjoint of [`Im2Col`]: scatters patch gradients back onto the image.
struct Col2Im(Im2Col);

impl CustomOp1 for Col2Im {
    fn name(&self) -> &'static str {
        "col2im-3x3"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = f32_slice(s, l, "patch gradient")?;
        let p = self.0;
        let k = p.c * 9;
        let per_image = p.ho * p.wo * k;
        let n = g.len() / per_image.max(1);
        let img = p.c * p.h * p.w;
        let mut out = vec![0.0f32; n * img];
        for (gi, im) in g.chunks(per_image).zip(out.chunks_mut(img)) {
            let mut rows = gi.chunks(k);
            for oy in 0..p.ho {
                for ox in 0..p.wo {
                    let Some(row) = rows.next() else { candle_core::bail!("col2im: input too small") };
                    for ci in 0..p.c {
                        for ky in 0..3 {
                            for kx in 0..3 {
                                if let Some(dst) = p.source(oy, ox, ci, ky, kx) {
                                    im[dst] += row[ci * 9 + ky * 3 + kx];
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((n, p.c, p.h, p.w))))
    }
}
