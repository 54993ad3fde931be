//! The training loss as a function of the flattened weights, its gradient,
//! and Hessian-vector products.
//!
//! # Why finite differences of gradients
//! `basin_train::Model::forward` runs fused CPU kernels (bias-add, ReLU,
//! cross-entropy, convolution) whose backward passes are hand-written and
//! not themselves differentiable, so candle cannot back-propagate twice
//! through them. Hessian-vector products are therefore central differences
//! of exact (back-propagated) gradients:
//!
//! H·v ≈ ‖v‖ · (∇L(θ + h·v̂) − ∇L(θ − h·v̂)) / (2h),  v̂ = v/‖v‖,
//!
//! accumulated in f64. The truncation error is h²/6 · ‖∇³L[v̂, v̂, ·]‖ and
//! the rounding error about ε₃₂·‖∇L‖/h (ε₃₂ ≈ 6e-8, gradients in f32); the
//! default h = 1e-3 balances them. ReLU kinks make the loss only piecewise
//! smooth: a difference across a kink measures the average curvature over
//! the ±h segment, which is what a smoothed Hessian of a ReLU net means.
//! `tests/hessian.rs` checks H·v against JAX's exact Hessian of a tiny MLP.
//!
//! BatchNorm runs in evaluation mode (running statistics fixed), so the
//! loss is a function of the weights alone.

use basin_data::Dataset;
use basin_train::{Mode, Model};
use candle_core::Tensor;

use crate::errors::{invalid, LandscapeResult};

/// Rows per forward/backward pass (bounds memory, not results).
const CHUNK: usize = 1024;

/// Default finite-difference step h along the unit direction.
pub const DEFAULT_FD_STEP: f64 = 1e-3;

/// The mean cross-entropy of a net on a data set, as a function of its
/// flattened weights.
#[derive(Debug)]
pub struct LossFunction {
    model: Model,
    chunks: Vec<(Tensor, Tensor, f64)>,
    theta: Vec<f32>,
    fd_step: f64,
}

impl LossFunction {
    /// The loss of `model` (copied; its weights are the point θ) on `data`.
    ///
    /// # Errors
    /// [`crate::LandscapeError::InvalidParameter`] for an empty data set or
    /// a bad step; candle errors.
    pub fn new(model: &Model, data: &Dataset, fd_step: f64) -> LandscapeResult<Self> {
        if data.is_empty() {
            return Err(invalid("data", format!("{}: no rows", data.name)));
        }
        if !(fd_step.is_finite() && fd_step > 0.0) {
            return Err(invalid("fd_step", format!("{fd_step} is not a positive step")));
        }
        let model = model.deep_clone()?;
        let d = data.features.ncols();
        let n = data.len();
        let mut chunks = Vec::new();
        let idx: Vec<usize> = (0..n).collect();
        for c in idx.chunks(CHUNK) {
            let mut x = Vec::with_capacity(c.len() * d);
            for &i in c {
                x.extend(data.features.row(i).iter().copied());
            }
            let y: Vec<u32> = c.iter().map(|&i| data.labels[i]).collect();
            #[allow(clippy::cast_precision_loss)]
            let w = c.len() as f64 / n as f64;
            chunks.push((Tensor::from_vec(x, (c.len(), d), model.device())?, Tensor::from_vec(y, c.len(), model.device())?, w));
        }
        let theta = model.flat_weights()?;
        Ok(Self { model, chunks, theta, fd_step })
    }

    /// The point θ the derivatives are taken at.
    #[must_use]
    pub fn theta(&self) -> &[f32] {
        &self.theta
    }

    /// Number of parameters.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.theta.len()
    }

    /// The net (layout of the flattened parameters).
    #[must_use]
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Loss and gradient at `weights`, the gradient in the flattened order.
    ///
    /// # Errors
    /// Wrong length; candle errors.
    pub fn loss_and_gradient(&self, weights: &[f32]) -> LandscapeResult<(f64, Vec<f64>)> {
        self.model.set_flat_weights(weights)?;
        let mut grad = vec![0.0f64; weights.len()];
        let mut loss = 0.0f64;
        for (x, y, w) in &self.chunks {
            let logits = self.model.forward(x, Mode::Eval)?;
            let l = candle_nn::loss::cross_entropy(&logits, y)?;
            loss += w * f64::from(l.to_scalar::<f32>()?);
            let grads = l.backward()?;
            let mut offset = 0;
            for v in self.model.parameters().values() {
                let n = v.elem_count();
                if let Some(g) = grads.get(v.as_tensor()) {
                    for (acc, gi) in grad[offset..offset + n].iter_mut().zip(g.flatten_all()?.to_vec1::<f32>()?) {
                        *acc += w * f64::from(gi);
                    }
                }
                offset += n;
            }
        }
        Ok((loss, grad))
    }

    /// The loss at θ + t·v.
    ///
    /// # Errors
    /// Candle errors.
    pub fn loss_along(&self, v: &[f64], t: f64) -> LandscapeResult<f64> {
        #[allow(clippy::cast_possible_truncation)]
        let w: Vec<f32> = self.theta.iter().zip(v).map(|(&a, &b)| (f64::from(a) + t * b) as f32).collect();
        self.model.set_flat_weights(&w)?;
        let mut loss = 0.0;
        for (x, y, wt) in &self.chunks {
            let logits = self.model.forward(x, Mode::Eval)?;
            loss += wt * f64::from(candle_nn::loss::cross_entropy(&logits, y)?.to_scalar::<f32>()?);
        }
        Ok(loss)
    }

    /// H·v at θ by central differences of gradients (see the module docs).
    ///
    /// # Errors
    /// [`crate::LandscapeError::InvalidParameter`] (`v`) for a wrong length
    /// or non-finite entries; candle errors.
    pub fn hvp(&self, v: &[f64]) -> LandscapeResult<Vec<f64>> {
        if v.len() != self.theta.len() {
            return Err(invalid("v", format!("{} entries for {} parameters", v.len(), self.theta.len())));
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if !norm.is_finite() {
            return Err(invalid("v", "not finite"));
        }
        if norm == 0.0 {
            return Ok(vec![0.0; v.len()]);
        }
        let h = self.fd_step;
        let shifted = |sign: f64| -> Vec<f32> {
            #[allow(clippy::cast_possible_truncation)]
            self.theta.iter().zip(v).map(|(&t, &vi)| (f64::from(t) + sign * h * vi / norm) as f32).collect()
        };
        let (_, gp) = self.loss_and_gradient(&shifted(1.0))?;
        let (_, gm) = self.loss_and_gradient(&shifted(-1.0))?;
        Ok(gp.iter().zip(&gm).map(|(a, b)| norm * (a - b) / (2.0 * h)).collect())
    }
}
