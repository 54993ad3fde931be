//! The training loss as a function of the flattened weights, its gradient,
//! and Hessian-vector products, by one of two [`HvpMethod`]s.
//!
//! # Double backward (the default, every architecture)
//! H·v = ∇(∇L(θ)·v), back-propagating twice through a forward pass built
//! from plain candle ops ([`super::autodiff`]; needs
//! `CANDLE_GRAD_DO_NOT_DETACH=1`, which `basin` sets itself). Exact up to
//! f32 rounding, no step size, ReLU'' = 0 as in PyTorch, JAX and PyHessian:
//! the Hessian of the net with its ReLU pattern at θ. MLPs, CNNs (strided or
//! average-pooled), residual blocks and BatchNorm (evaluation mode).
//!
//! # Central differences of gradients (`HvpMethod::Differences`)
//! `basin_train::Model::forward` runs fused CPU kernels whose backward
//! passes are hand-written and not themselves differentiable; the difference
//! method uses exact (back-propagated) gradients of that forward pass:
//!
//! H·v ≈ ‖v‖ · (∇L(θ + h·v̂) − ∇L(θ − h·v̂)) / (2h),  v̂ = v/‖v‖,
//!
//! accumulated in f64.
//!
//! Differences of gradients taken across a ReLU kink pick up the kink's
//! jump (ReLU'' is a Dirac delta), which autograd's Hessian leaves out, and
//! whose size grows as h shrinks: on a trained digits MLP the top
//! "eigenvalue" moved from 4 to 38 as h went from 1e-2 to 1e-4. For MLPs
//! without BatchNorm the gradients are therefore taken with every ReLU's
//! on/off pattern frozen at θ (each pre-activation times its 0/1 mask at θ),
//! in plain candle ops: the loss is then smooth along the difference, and
//! H·v is autograd's Hessian-vector product up to h²/6 · ‖∇³L[v̂, v̂, ·]‖
//! plus about ε₃₂·‖∇L‖/h of rounding (ε₃₂ ≈ 6e-8, gradients in f32);
//! h = 1e-3 balances the two. Other architectures (CNNs, BatchNorm) use the
//! net's own forward pass, kinks included; their estimates depend on h
//! ([`LossFunction::exact`] is `false` for them).
//!
//! | architecture | double backward | differences |
//! |---|---|---|
//! | MLP | exact | exact up to O(h²) (ReLU pattern frozen) |
//! | MLP + BatchNorm, CNN, residual | exact | h-dependent across ReLU kinks |
//!
//! `tests/hessian.rs` checks the difference method and
//! `tests/double_backward.rs` the double backward against JAX's exact
//! Hessians of a tiny MLP and a tiny CNN (strided and pooled, residual,
//! BatchNorm), against central differences and against a dense Hessian
//! assembled column by column (nalgebra).
//!
//! BatchNorm runs in evaluation mode (running statistics fixed), so the
//! loss is a function of the weights alone.

use basin_data::Dataset;
use basin_train::{Layers, Mode, Model};
use candle_core::Tensor;

use super::autodiff;
use crate::errors::{invalid, LandscapeResult};

/// Most rows per forward/backward pass (bounds memory, not results).
const CHUNK: usize = 1024;

/// Activation values per chunk that a double backward keeps alive at once
/// (about 16 MiB of f32 per copy); CNN chunks are cut to fit.
const CHUNK_ACTIVATIONS: usize = 1 << 22;

/// Default finite-difference step h along the unit direction.
pub const DEFAULT_FD_STEP: f64 = 1e-3;

/// How [`LossFunction::hvp`] computes Hessian-vector products (see the
/// module docs for which is exact for which architecture).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum HvpMethod {
    /// H·v = ∇(∇L·v) by double backward: exact, every architecture. Needs
    /// `CANDLE_GRAD_DO_NOT_DETACH=1` in the environment (see
    /// [`super::autodiff`]).
    #[default]
    DoubleBackward,
    /// Central differences of back-propagated gradients with step `step`
    /// along the unit direction (ReLU pattern frozen for plain MLPs).
    Differences {
        /// h, e.g. [`DEFAULT_FD_STEP`].
        step: f64,
    },
}

impl HvpMethod {
    /// `double-backward` or `differences`, as the CLI spells it.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::DoubleBackward => "double-backward",
            Self::Differences { .. } => "differences",
        }
    }
}

/// The mean cross-entropy of a net on a data set, as a function of its
/// flattened weights.
///
/// # Example
/// ```
/// use basin_data::{rng::stream, Dataset, ImageShape};
/// use basin_landscape::hessian::hvp::{HvpMethod, LossFunction};
/// use basin_train::{Architecture, Model};
/// let model = Model::new(&Architecture::mlp(ImageShape::flat(2), &[3], 2), &mut stream(0, "init"), &candle_core::Device::Cpu).unwrap();
/// let x = ndarray::Array2::from_shape_vec((2, 2), vec![1.0f32, 0.0, 0.0, 1.0]).unwrap();
/// let data = Dataset::new("two", x, vec![0, 1], ImageShape::flat(2), 2).unwrap();
/// let f = LossFunction::new(&model, &data, HvpMethod::Differences { step: 1e-3 }).unwrap();
/// assert_eq!(f.dim(), 2 * 3 + 3 + 3 * 2 + 2);
/// let hv = f.hvp(&vec![0.0; f.dim()]).unwrap();
/// assert!(hv.iter().all(|&x| x == 0.0));
/// ```
#[derive(Debug)]
pub struct LossFunction {
    model: Model,
    chunks: Vec<(Tensor, Tensor, f64)>,
    /// Per chunk, the 0/1 ReLU masks of every hidden layer at θ (MLPs
    /// without BatchNorm, difference method); empty otherwise.
    masks: Vec<Vec<Tensor>>,
    n_hidden: usize,
    theta: Vec<f32>,
    method: HvpMethod,
}

impl LossFunction {
    /// The loss of `model` (copied; its weights are the point θ) on `data`.
    ///
    /// # Errors
    /// [`crate::LandscapeError::InvalidParameter`] for an empty data set, a
    /// bad step (`fd_step`), or double backward when candle detaches
    /// gradients on this thread (`hvp`: `CANDLE_GRAD_DO_NOT_DETACH` unset);
    /// candle errors.
    pub fn new(model: &Model, data: &Dataset, method: HvpMethod) -> LandscapeResult<Self> {
        if data.is_empty() {
            return Err(invalid("data", format!("{}: no rows", data.name)));
        }
        match method {
            HvpMethod::Differences { step } if !(step.is_finite() && step > 0.0) => {
                return Err(invalid("fd_step", format!("{step} is not a positive step")));
            }
            HvpMethod::DoubleBackward if !autodiff::double_backward_available() => {
                return Err(invalid(
                    "hvp",
                    "double backward needs CANDLE_GRAD_DO_NOT_DETACH=1 in the environment before the program starts (`basin landscape` sets it; \
                     a program of your own must set it itself), or use the difference method",
                ));
            }
            _ => {}
        }
        let model = model.deep_clone()?;
        let d = data.features.ncols();
        let n = data.len();
        let rows_per_chunk = match method {
            HvpMethod::DoubleBackward => {
                (CHUNK_ACTIVATIONS / activations_per_row(&model).max(1)).clamp(1, CHUNK)
            }
            HvpMethod::Differences { .. } => CHUNK,
        };
        let mut chunks = Vec::new();
        let idx: Vec<usize> = (0..n).collect();
        for c in idx.chunks(rows_per_chunk) {
            let mut x = Vec::with_capacity(c.len() * d);
            for &i in c {
                x.extend(data.features.row(i).iter().copied());
            }
            let y: Vec<u32> = c.iter().map(|&i| data.labels[i]).collect();
            #[allow(clippy::cast_precision_loss)]
            let w = c.len() as f64 / n as f64;
            chunks.push((
                Tensor::from_vec(x, (c.len(), d), model.device())?,
                Tensor::from_vec(y, c.len(), model.device())?,
                w,
            ));
        }
        let theta = model.flat_weights()?;
        let frozen = match (&model.architecture().layers, method) {
            (
                Layers::Mlp {
                    hidden,
                    batch_norm: false,
                },
                HvpMethod::Differences { .. },
            ) => Some(hidden.len()),
            _ => None,
        };
        let mut f = Self {
            model,
            chunks,
            masks: Vec::new(),
            n_hidden: frozen.unwrap_or(0),
            theta,
            method,
        };
        if frozen.is_some() {
            f.masks = f
                .chunks
                .iter()
                .map(|(x, _, _)| f.relu_masks(x))
                .collect::<LandscapeResult<_>>()?;
        }
        Ok(f)
    }

    /// How Hessian-vector products are computed.
    #[must_use]
    pub fn method(&self) -> HvpMethod {
        self.method
    }

    /// `true` when gradients are differenced with the ReLU pattern frozen
    /// at θ (difference method on an MLP without BatchNorm).
    #[must_use]
    pub fn frozen_relu(&self) -> bool {
        !self.masks.is_empty()
    }

    /// `true` when H·v is autograd's Hessian-vector product (double
    /// backward, or differences with the ReLU pattern frozen); `false` when
    /// differences cross ReLU kinks and so depend on the step.
    #[must_use]
    pub fn exact(&self) -> bool {
        self.method == HvpMethod::DoubleBackward || self.frozen_relu()
    }

    fn layer(&self, i: usize) -> LandscapeResult<(&Tensor, &Tensor)> {
        let p = self.model.parameters();
        let get = |n: String| {
            p.get(&n)
                .map(candle_core::Var::as_tensor)
                .ok_or_else(|| invalid("model", format!("no parameter `{n}`")))
        };
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

    /// The logits of chunk `c` by the forward pass the method differentiates.
    fn chunk_logits(&self, c: usize, x: &Tensor) -> LandscapeResult<Tensor> {
        match (self.method, self.masks.get(c)) {
            (HvpMethod::DoubleBackward, _) => autodiff::logits(&self.model, x),
            (_, Some(m)) => self.frozen_forward(x, m),
            (_, None) => Ok(self.model.forward(x, Mode::Eval)?),
        }
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
            let l = candle_nn::loss::cross_entropy(&self.chunk_logits(c, x)?, y)?;
            loss += w * f64::from(l.to_scalar::<f32>()?);
            add_gradients(&l.backward()?, self.model.parameters(), *w, &mut grad)?;
        }
        Ok((loss, grad))
    }

    /// The loss at θ + t·v.
    ///
    /// # Errors
    /// Candle errors.
    pub fn loss_along(&self, v: &[f64], t: f64) -> LandscapeResult<f64> {
        #[allow(clippy::cast_possible_truncation)]
        let w: Vec<f32> = self
            .theta
            .iter()
            .zip(v)
            .map(|(&a, &b)| (f64::from(a) + t * b) as f32)
            .collect();
        self.model.set_flat_weights(&w)?;
        let mut loss = 0.0;
        for (x, y, wt) in &self.chunks {
            let logits = self.model.forward(x, Mode::Eval)?;
            loss += wt * f64::from(candle_nn::loss::cross_entropy(&logits, y)?.to_scalar::<f32>()?);
        }
        Ok(loss)
    }

    /// H·v at θ by the loss function's [`HvpMethod`] (see the module docs).
    ///
    /// # Errors
    /// [`crate::LandscapeError::InvalidParameter`] (`v`) for a wrong length
    /// or non-finite entries; candle errors.
    pub fn hvp(&self, v: &[f64]) -> LandscapeResult<Vec<f64>> {
        if v.len() != self.theta.len() {
            return Err(invalid(
                "v",
                format!("{} entries for {} parameters", v.len(), self.theta.len()),
            ));
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if !norm.is_finite() {
            return Err(invalid("v", "not finite"));
        }
        if norm == 0.0 {
            return Ok(vec![0.0; v.len()]);
        }
        match self.method {
            HvpMethod::DoubleBackward => self.hvp_double_backward(v, norm),
            HvpMethod::Differences { step } => self.hvp_differences(v, norm, step),
        }
    }

    fn hvp_differences(&self, v: &[f64], norm: f64, h: f64) -> LandscapeResult<Vec<f64>> {
        let shifted = |sign: f64| -> Vec<f32> {
            #[allow(clippy::cast_possible_truncation)]
            self.theta
                .iter()
                .zip(v)
                .map(|(&t, &vi)| (f64::from(t) + sign * h * vi / norm) as f32)
                .collect()
        };
        let (_, gp) = self.loss_and_gradient(&shifted(1.0))?;
        let (_, gm) = self.loss_and_gradient(&shifted(-1.0))?;
        Ok(gp
            .iter()
            .zip(&gm)
            .map(|(a, b)| norm * (a - b) / (2.0 * h))
            .collect())
    }

    /// ∇(∇L·v̂)·‖v‖ chunk by chunk: the first backward keeps its graph
    /// (`CANDLE_GRAD_DO_NOT_DETACH`), the second differentiates g·v̂.
    fn hvp_double_backward(&self, v: &[f64], norm: f64) -> LandscapeResult<Vec<f64>> {
        self.model.set_flat_weights(&self.theta)?;
        let params = self.model.parameters();
        let mut unit = Vec::with_capacity(params.len());
        let mut offset = 0;
        for var in params.values() {
            let n = var.elem_count();
            #[allow(clippy::cast_possible_truncation)]
            let vals: Vec<f32> = v[offset..offset + n]
                .iter()
                .map(|&x| (x / norm) as f32)
                .collect();
            unit.push(Tensor::from_vec(vals, var.shape(), self.model.device())?);
            offset += n;
        }
        let mut hv = vec![0.0f64; v.len()];
        for (x, y, w) in &self.chunks {
            let loss = candle_nn::loss::cross_entropy(&autodiff::logits(&self.model, x)?, y)?;
            let grads = loss.backward()?;
            let mut gv: Option<Tensor> = None;
            for (var, u) in params.values().zip(&unit) {
                if let Some(g) = grads.get(var.as_tensor()) {
                    let term = (g * u)?.sum_all()?;
                    gv = Some(match gv {
                        Some(acc) => (acc + term)?,
                        None => term,
                    });
                }
            }
            let Some(gv) = gv else { continue };
            add_gradients(&gv.backward()?, params, w * norm, &mut hv)?;
        }
        Ok(hv)
    }
}

/// `out += scale · ∇` over the flattened parameters (in the model's sorted
/// order), for the parameters `grads` holds a gradient of.
fn add_gradients(
    grads: &candle_core::backprop::GradStore,
    params: &std::collections::BTreeMap<String, candle_core::Var>,
    scale: f64,
    out: &mut [f64],
) -> LandscapeResult<()> {
    let mut offset = 0;
    for var in params.values() {
        let n = var.elem_count();
        if let Some(g) = grads.get(var.as_tensor()) {
            for (acc, gi) in out[offset..offset + n].iter_mut().zip(g.flatten_all()?.to_vec1::<f32>()?) {
                *acc += scale * f64::from(gi);
            }
        }
        offset += n;
    }
    Ok(())
}

/// Activation values one input row produces in the forward pass (the
/// outputs of every layer), to size the double-backward chunks.
fn activations_per_row(model: &Model) -> usize {
    let arch = model.architecture();
    match &arch.layers {
        Layers::Mlp { hidden, .. } => {
            2 * hidden.iter().sum::<usize>() + arch.n_classes + arch.input.len()
        }
        Layers::Cnn {
            channels,
            downsample,
            residual,
            ..
        } => {
            let (mut h, mut w) = (arch.input.height, arch.input.width);
            let mut total = arch.input.len();
            for &c in channels {
                let full = c * h * w;
                (h, w) = match downsample {
                    basin_train::Downsample::Strided => (h.div_ceil(2), w.div_ceil(2)),
                    basin_train::Downsample::AvgPool => (h / 2, w / 2),
                };
                let out = c * h * w;
                // conv, BatchNorm and ReLU outputs (and the pre-pool map),
                // and the residual block's four maps.
                total += 3 * out
                    + if *downsample == basin_train::Downsample::AvgPool {
                        2 * full
                    } else {
                        0
                    }
                    + if *residual { 6 * out } else { 0 };
            }
            total + arch.n_classes
        }
    }
}
