//! A twice-differentiable forward pass of basin's nets, in plain candle ops,
//! and Hessian-vector products by double backward.
//!
//! `basin_train::Model::forward` runs fused CPU kernels (bias-add, ReLU,
//! 3×3 convolution) as candle custom ops whose backward passes are
//! hand-written and are not themselves recorded in candle's graph, so they
//! cannot be differentiated a second time. [`logits`] builds the same
//! function from candle's own ops (`matmul`, `index_select`, `relu`,
//! broadcasting arithmetic), every one of which candle can differentiate
//! through its own backward pass: MLPs, strided or average-pooled CNNs,
//! residual blocks and BatchNorm in evaluation mode (running statistics as
//! constants).
//!
//! It is written for the cost of the second backward pass, which is
//! dominated by the number of large element-wise ops: CNN activations are
//! kept channel-major (`C × N × H × W`), so each 3×3 convolution is one
//! gather (im2col) and one matrix product with no transposes; a BatchNorm
//! in evaluation mode is an affine map per channel, folded with the
//! convolution's bias into the kernel rows and one bias add (the same
//! function of the same parameters, so the same Hessian).
//!
//! # Double backward in candle
//! candle's `Tensor::backward` detaches every gradient it computes unless
//! the environment variable `CANDLE_GRAD_DO_NOT_DETACH` is set (non-empty,
//! not `0`): candle-core 0.11's `backprop.rs` reads it once per thread, into
//! a thread-local, the first time that thread back-propagates. With it set,
//! the gradient g(θ) = ∇L(θ) stays a function of the parameters in the
//! graph, and back-propagating the scalar g·v gives
//!
//! H·v = ∇(∇L(θ)·v),
//!
//! exact up to f32 rounding (no step size). ReLU's second derivative is taken
//! as 0 at every point, as autograd does in PyTorch and JAX (and PyHessian),
//! so the Hessian is that of the net with its ReLU pattern at θ.
//!
//! The variable only keeps the graph alive: the values candle computes are
//! the same with and without it (basin-cli's `tests/landscape.rs` checks
//! that training and jump-and-retrain write the same bytes with it set).
//! `basin` sets it for its `landscape` subcommands before any thread starts;
//! a program using this module sets it at its own start (see
//! [`double_backward_available`]).

use basin_train::{Downsample, Layers, Model};
use candle_core::{Tensor, Var};

use crate::errors::{invalid, LandscapeResult};

/// BatchNorm's ε, PyTorch's default (as in `basin_train`).
const BN_EPS: f64 = 1e-5;

/// `true` when candle keeps gradients differentiable on the calling thread
/// (`CANDLE_GRAD_DO_NOT_DETACH` was set before the thread's first backward
/// pass). Checked on y = (x²)² at x = 2: y'' = 12x² = 48. A detached
/// gradient still carries each op's local derivative (d(x²)/dx = 2x is
/// built from x), so a single op would pass either way; the chain of two
/// is what loses the term through the upstream gradient (it would give 16).
///
/// # Example
/// ```
/// // Without the variable in the environment candle detaches gradients.
/// if std::env::var_os("CANDLE_GRAD_DO_NOT_DETACH").is_none() {
///     assert!(!basin_landscape::hessian::autodiff::double_backward_available());
/// }
/// ```
#[must_use]
pub fn double_backward_available() -> bool {
    let probe = || -> candle_core::Result<bool> {
        let x = Var::new(&[2.0f32], &candle_core::Device::Cpu)?;
        let y = x.as_tensor().sqr()?.sqr()?.sum_all()?;
        let g = y.backward()?;
        let Some(dx) = g.get(x.as_tensor()) else { return Ok(false) };
        let h = dx.sum_all()?.backward()?;
        Ok(h.get(x.as_tensor()).map(|t| t.to_vec1::<f32>()).transpose()?.is_some_and(|v| (v[0] - 48.0).abs() < 1e-3))
    };
    probe().unwrap_or(false)
}

/// Logits of `model` for the rows `x` (`N × input.len()`), with BatchNorm in
/// evaluation mode, built from candle ops that can be differentiated twice.
/// Equal to `model.forward(x, Mode::Eval)` up to f32 rounding.
///
/// # Errors
/// [`crate::LandscapeError::InvalidParameter`] (`model`) when a parameter
/// the architecture names is missing; candle errors (e.g. a wrong input width).
pub fn logits(model: &Model, x: &Tensor) -> LandscapeResult<Tensor> {
    let arch = model.architecture();
    let net = Net { model };
    match &arch.layers {
        Layers::Mlp { hidden, batch_norm } => {
            let mut h = x.clone();
            for i in 0..hidden.len() {
                let bn = batch_norm.then(|| format!("bn{i}"));
                h = net.linear(&h, &format!("fc{i}"), bn.as_deref())?.relu()?;
            }
            net.linear(&h, &format!("fc{}", hidden.len()), None)
        }
        Layers::Cnn { channels, downsample, residual, batch_norm } => {
            let s = arch.input;
            // Channel-major activations, C × N × H × W (see the module docs).
            let mut h = x.reshape((x.dim(0)?, s.channels, s.height, s.width))?.transpose(0, 1)?.contiguous()?;
            let stride = if *downsample == Downsample::Strided { 2 } else { 1 };
            let bn = |name: String| batch_norm.then_some(name);
            for i in 0..channels.len() {
                h = net.conv(&h, &format!("conv{i}"), stride, bn(format!("bn{i}")).as_deref())?.relu()?;
                if *downsample == Downsample::AvgPool {
                    h = avg_pool2(&h)?;
                }
                if *residual {
                    let name = format!("res{i}");
                    let r = net.conv(&h, &format!("{name}.conv_a"), 1, bn(format!("{name}.bn_a")).as_deref())?.relu()?;
                    let r = net.conv(&r, &format!("{name}.conv_b"), 1, bn(format!("{name}.bn_b")).as_deref())?;
                    h = (h + r)?.relu()?;
                }
            }
            // Back to N × (C·H·W) in PyTorch's flattening order for `fc`.
            net.linear(&h.transpose(0, 1)?.flatten_from(1)?, "fc", None)
        }
    }
}

/// The parameters of one net, looked up by name.
struct Net<'a> {
    model: &'a Model,
}

impl Net<'_> {
    fn param(&self, name: &str) -> LandscapeResult<&Tensor> {
        self.model.parameters().get(name).map(Var::as_tensor).ok_or_else(|| invalid("model", format!("no parameter `{name}`")))
    }

    /// A BatchNorm buffer as a constant: detached, so no gradient is
    /// computed for it.
    fn buffer(&self, name: &str) -> LandscapeResult<Tensor> {
        self.model.buffers().get(name).map(|v| v.as_tensor().detach()).ok_or_else(|| invalid("model", format!("no buffer `{name}`")))
    }

    /// Per-channel scale and shift of layer `name`'s bias `b` followed by
    /// BatchNorm `bn` in evaluation mode: BN(z + b) = z·a + c with
    /// a = weight / √(running_var + ε), c = (b − running_mean)·a + bias.
    /// Without BatchNorm, a = None and c = b.
    fn affine(&self, b: &Tensor, bn: Option<&str>) -> LandscapeResult<(Option<Tensor>, Tensor)> {
        let Some(bn) = bn else { return Ok((None, b.clone())) };
        let std = (self.buffer(&format!("{bn}.running_var"))? + BN_EPS)?.sqrt()?;
        let a = self.param(&format!("{bn}.weight"))?.div(&std)?;
        let c = ((b - self.buffer(&format!("{bn}.running_mean"))?)? * &a)?.add(self.param(&format!("{bn}.bias"))?)?;
        Ok((Some(a), c))
    }

    /// `x Wᵀ + b` (then BatchNorm `bn`, folded), `x` being `N × in`.
    fn linear(&self, x: &Tensor, name: &str, bn: Option<&str>) -> LandscapeResult<Tensor> {
        let w = self.param(&format!("{name}.weight"))?;
        let (a, c) = self.affine(self.param(&format!("{name}.bias"))?, bn)?;
        let w = match a {
            Some(a) => w.broadcast_mul(&a.unsqueeze(1)?)?,
            None => w.clone(),
        };
        Ok(x.matmul(&w.t()?)?.broadcast_add(&c)?)
    }

    /// 3×3 convolution with padding 1 (then BatchNorm `bn`, folded) of the
    /// channel-major `x` (`C × N × H × W`): one im2col gather and one matrix
    /// product, `C_out × N × Ho × Wo` out.
    fn conv(&self, x: &Tensor, name: &str, stride: usize, bn: Option<&str>) -> LandscapeResult<Tensor> {
        let w = self.param(&format!("{name}.weight"))?;
        let (c_out, c_in, _, _) = w.dims4()?;
        let n = x.dim(1)?;
        let (a, c) = self.affine(self.param(&format!("{name}.bias"))?, bn)?;
        let mut w = w.reshape((c_out, c_in * 9))?;
        if let Some(a) = a {
            w = w.broadcast_mul(&a.unsqueeze(1)?)?;
        }
        let (cols, ho, wo) = im2col_3x3(x, stride)?;
        Ok(w.matmul(&cols)?.broadcast_add(&c.unsqueeze(1)?)?.reshape((c_out, n, ho, wo))?)
    }
}

/// The 3×3 patches (padding 1, stride `stride`) of the channel-major `x`
/// (`C × N × H × W`) as one matrix, `(C·9) × (N·Ho·Wo)`: row c·9 + 3·kh + kw
/// (the layout of a flattened `C × 3 × 3` kernel), column n·Ho·Wo + oh·Wo +
/// ow. Zero padding and one `index_select`, whose backward (`index_add`)
/// and second backward (`index_select` again) are plain gathers and
/// scatters. (candle's own `conv2d` backward runs `conv_transpose2d`, a
/// direct loop on the CPU, and its second backward a dilated `conv2d`.)
fn im2col_3x3(x: &Tensor, stride: usize) -> LandscapeResult<(Tensor, usize, usize)> {
    let (c, n, h, w) = x.dims4()?;
    let (hp, wp) = (h + 2, w + 2);
    let (ho, wo) = ((h - 1) / stride + 1, (w - 1) / stride + 1);
    let plane = hp * wp;
    let padded = x.pad_with_zeros(2, 1, 1)?.pad_with_zeros(3, 1, 1)?.reshape((c, n * plane))?;
    let mut idx = Vec::with_capacity(9 * n * ho * wo);
    for kh in 0..3 {
        for kw in 0..3 {
            for img in 0..n {
                for oh in 0..ho {
                    for ow in 0..wo {
                        #[allow(clippy::cast_possible_truncation)]
                        idx.push((img * plane + (oh * stride + kh) * wp + ow * stride + kw) as u32);
                    }
                }
            }
        }
    }
    let idx = Tensor::from_vec(idx, 9 * n * ho * wo, x.device())?;
    Ok((padded.index_select(&idx, 1)?.reshape((c * 9, n * ho * wo))?, ho, wo))
}

/// 2×2 average pool of the channel-major `x`, dropping an odd last
/// row/column as PyTorch's `avg_pool2d(2)` does, as a reshape and a mean:
/// candle's own `avg_pool2d` backward goes through `upsample_nearest2d`,
/// whose backward overwrites rather than accumulates.
fn avg_pool2(x: &Tensor) -> LandscapeResult<Tensor> {
    let (c, n, h, w) = x.dims4()?;
    let (h2, w2) = (h / 2, w / 2);
    let cropped = if (2 * h2, 2 * w2) == (h, w) { x.clone() } else { x.narrow(2, 0, 2 * h2)?.narrow(3, 0, 2 * w2)?.contiguous()? };
    Ok(cropped.reshape((c, n, h2, 2, w2, 2))?.sum_keepdim(5)?.sum_keepdim(3)?.reshape((c, n, h2, w2))?.affine(0.25, 0.0)?)
}
