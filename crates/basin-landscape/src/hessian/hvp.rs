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
//! accumulated in f64.
//!
//! # ReLU kinks
//! Differences of gradients taken across a ReLU kink pick up the kink's
//! jump (ReLU'' is a Dirac delta), which autograd's Hessian (PyTorch, JAX,
//! PyHessian) leaves out, and whose size grows as h shrinks: on a trained
//! digits MLP the top "eigenvalue" moved from 4 to 38 as h went from 1e-2
//! to 1e-4. For MLPs without BatchNorm the gradients are therefore taken
//! with every ReLU's on/off pattern frozen at θ (each pre-activation times
//! its 0/1 mask at θ), in plain candle ops: the loss is then smooth along
//! the difference, and H·v is autograd's Hessian-vector product up to
//! h²/6 · ‖∇³L[v̂, v̂, ·]‖ plus about ε₃₂·‖∇L‖/h of rounding (ε₃₂ ≈ 6e-8,
//! gradients in f32); h = 1e-3 balances the two. Other architectures (CNNs,
//! BatchNorm) use the net's own forward pass, kinks included; their
//! estimates depend on h and [`LossFunction::frozen_relu`] says so.
//! `tests/hessian.rs` checks H·v against JAX's exact Hessian of a tiny MLP,
//! with and without pre-activations next to a kink.
//!
//! BatchNorm runs in evaluation mode (running statistics fixed), so the
//! loss is a function of the weights alone.

use basin_data::Dataset;
use basin_train::{Layers, Mode, Model};
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
    /// Per chunk, the 0/1 ReLU masks of every hidden layer at θ (MLPs
    /// without BatchNorm); empty when the net's own forward pass is used.
    masks: Vec<Vec<Tensor>>,
    n_hidden: usize,
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
        let n_hidden = match &model.architecture().layers {
            Layers::Mlp { hidden, batch_norm: false } => Some(hidden.len()),
            _ => None,
        };
        let mut f = Self { model, chunks, masks: Vec::new(), n_hidden: n_hidden.unwrap_or(0), theta, fd_step };
        if n_hidden.is_some() {
            f.masks = f.chunks.iter().map(|(x, _, _)| f.relu_masks(x)).collect::<LandscapeResult<_>>()?;
        }
        Ok(f)
    }

    /// `true` when gradients are taken with the ReLU pattern frozen at θ
    /// (MLPs without BatchNorm), so H·v is autograd's Hessian-vector product.
    #[must_use]
    pub fn frozen_relu(&self) -> bool {
        !self.masks.is_empty()
    }

    fn layer(&self, i: usize) -> LandscapeResult<(&Tensor, &Tensor)> {
        let p = self.model.parameters();
        let get = |n: String| p.get(&n).map(candle_core::Var::as_tensor).ok_or_else(|| invalid("model", format!("no parameter `{n}`")));
        Ok((get(format!("fc{i}.weight"))?, get(format!("fc{i}.bias"))?))
    }

    /// The 0/1 masks (pre-activation > 0) of every hidden layer at the
    /// model's current weights.
    fn relu_masks(&self, x: &Tensor) -> LandscapeResult<Vec<Tensor>> {
        let mut h = x.clone();
        let mut masks = Vec::with_capacity(self.n_hidden);
        for i in 0..self.n_hidden {
            let (w, b) = self.layer(i)?;
            let z = h.matmul(&w.t()?)?.broadcast_add(b)?;
            let m = z.gt(0.0)?.to_dtype(candle_core::DType::F32)?;
            h = (z * &m)?;
            masks.push(m);
        }
        Ok(masks)
    }

    /// Logits of an MLP with the ReLU pattern `masks`, in plain candle ops.
    fn frozen_forward(&self, x: &Tensor, masks: &[Tensor]) -> LandscapeResult<Tensor> {
        let mut h = x.clone();
        for (i, m) in masks.iter().enumerate() {
            let (w, b) = self.layer(i)?;
            h = (h.matmul(&w.t()?)?.broadcast_add(b)? * m)?;
        }
        let (w, b) = self.layer(self.n_hidden)?;
        Ok(h.matmul(&w.t()?)?.broadcast_add(b)?)
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
        for (c, (x, y, w)) in self.chunks.iter().enumerate() {
            let logits = match self.masks.get(c) {
                Some(m) => self.frozen_forward(x, m)?,
                None => self.model.forward(x, Mode::Eval)?,
            };
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
