//! A twice-differentiable forward pass of basin's nets, in plain candle ops,
//! and Hessian-vector products by double backward.
//!
//! `basin_train::Model::forward` runs fused CPU kernels (bias-add, ReLU,
//! 3×3 convolution) as candle custom ops whose backward passes are
//! hand-written and are not themselves recorded in candle's graph, so they
//! cannot be differentiated a second time. [`logits`] builds the same net
//! from candle's own ops (`matmul`, `conv2d`, `relu`, broadcasting
//! arithmetic), every one of which candle can differentiate through its own
//! backward pass: MLPs, strided or average-pooled CNNs, residual blocks and
//! BatchNorm in evaluation mode (running statistics as constants).
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
/// is what loses the 2u · d(2x)/dx-through-u term (it would give 16).
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
        let Some(dx) = g.get(x.as_tensor()) else {
            return Ok(false);
        };
        let h = dx.sum_all()?.backward()?;
        Ok(h.get(x.as_tensor())
            .map(|t| t.to_vec1::<f32>())
            .transpose()?
            .is_some_and(|v| (v[0] - 48.0).abs() < 1e-3))
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
                h = net.linear(&h, &format!("fc{i}"))?;
                if *batch_norm {
                    h = net.batch_norm(&h, &format!("bn{i}"))?;
                }
                h = h.relu()?;
            }
            net.linear(&h, &format!("fc{}", hidden.len()))
        }
        Layers::Cnn {
            channels,
            downsample,
            residual,
            batch_norm,
        } => {
            let s = arch.input;
            let mut h = x.reshape((x.dim(0)?, s.channels, s.height, s.width))?;
            let stride = if *downsample == Downsample::Strided {
                2
            } else {
                1
            };
            for i in 0..channels.len() {
                h = net.conv(&h, &format!("conv{i}"), stride)?;
                if *batch_norm {
                    h = net.batch_norm(&h, &format!("bn{i}"))?;
                }
                h = h.relu()?;
                if *downsample == Downsample::AvgPool {
                    h = avg_pool2(&h)?;
                }
                if *residual {
                    let name = format!("res{i}");
                    let mut r = net.conv(&h, &format!("{name}.conv_a"), 1)?;
                    if *batch_norm {
                        r = net.batch_norm(&r, &format!("{name}.bn_a"))?;
                    }
                    r = net.conv(&r.relu()?, &format!("{name}.conv_b"), 1)?;
                    if *batch_norm {
                        r = net.batch_norm(&r, &format!("{name}.bn_b"))?;
                    }
                    h = (h + r)?.relu()?;
                }
            }
            net.linear(&h.flatten_from(1)?, "fc")
        }
    }
}

/// The parameters of one net, looked up by name.
struct Net<'a> {
    model: &'a Model,
}

impl Net<'_> {
    fn param(&self, name: &str) -> LandscapeResult<&Tensor> {
        self.model
            .parameters()
            .get(name)
            .map(Var::as_tensor)
            .ok_or_else(|| invalid("model", format!("no parameter `{name}`")))
    }

    /// A BatchNorm buffer as a constant: detached, so no gradient is
    /// computed for it.
    fn buffer(&self, name: &str) -> LandscapeResult<Tensor> {
        self.model
            .buffers()
            .get(name)
            .map(|v| v.as_tensor().detach())
            .ok_or_else(|| invalid("model", format!("no buffer `{name}`")))
    }

    fn linear(&self, x: &Tensor, name: &str) -> LandscapeResult<Tensor> {
        let w = self.param(&format!("{name}.weight"))?;
        let b = self.param(&format!("{name}.bias"))?;
        Ok(x.matmul(&w.t()?)?.broadcast_add(b)?)
    }

    /// 3×3 convolution with padding 1, bias per output channel.
    fn conv(&self, x: &Tensor, name: &str, stride: usize) -> LandscapeResult<Tensor> {
        let w = self.param(&format!("{name}.weight"))?;
        let b = self.param(&format!("{name}.bias"))?;
        let c = b.dim(0)?;
        Ok(x.conv2d(w, 1, stride, 1, 1)?
            .broadcast_add(&b.reshape((1, c, 1, 1))?)?)
    }

    /// BatchNorm in evaluation mode over every axis but 1:
    /// (x − running_mean) / √(running_var + ε) · weight + bias.
    fn batch_norm(&self, x: &Tensor, name: &str) -> LandscapeResult<Tensor> {
        let c = x.dim(1)?;
        let shape: Vec<usize> = (0..x.rank()).map(|d| if d == 1 { c } else { 1 }).collect();
        let weight = self
            .param(&format!("{name}.weight"))?
            .reshape(shape.as_slice())?;
        let bias = self
            .param(&format!("{name}.bias"))?
            .reshape(shape.as_slice())?;
        let mean = self
            .buffer(&format!("{name}.running_mean"))?
            .reshape(shape.as_slice())?;
        let std = (self.buffer(&format!("{name}.running_var"))? + BN_EPS)?
            .sqrt()?
            .reshape(shape.as_slice())?;
        Ok(x.broadcast_sub(&mean)?
            .broadcast_div(&std)?
            .broadcast_mul(&weight)?
            .broadcast_add(&bias)?)
    }
}

/// 2×2 average pool dropping an odd last row/column (PyTorch's
/// `avg_pool2d(2)`), as a reshape and a mean: candle's own `avg_pool2d`
/// backward goes through `upsample_nearest2d`, whose backward overwrites
/// rather than accumulates, so this form is the one that differentiates
/// twice without surprises.
fn avg_pool2(x: &Tensor) -> LandscapeResult<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let (h2, w2) = (h / 2, w / 2);
    let cropped = if (2 * h2, 2 * w2) == (h, w) {
        x.clone()
    } else {
        x.narrow(2, 0, 2 * h2)?.narrow(3, 0, 2 * w2)?.contiguous()?
    };
    Ok(cropped
        .reshape((n, c, h2, 2, w2, 2))?
        .sum_keepdim(5)?
        .sum_keepdim(3)?
        .reshape((n, c, h2, w2))?
        .affine(0.25, 0.0)?)
}
