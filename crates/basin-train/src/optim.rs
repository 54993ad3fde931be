//! Stochastic gradient descent with momentum and weight decay, PyTorch's
//! semantics (`torch.optim.SGD` with dampening 0), and learning-rate schedules.
//!
//! For every parameter θ with gradient g:
//! ```text
//! g ← g + wd·θ
//! b ← μ·b + g            (b starts at 0, so the first step gives b = g as in PyTorch)
//! d ← g + μ·b  (Nesterov)  or  d ← b
//! θ ← θ − lr·d
//! ```
//! On the CPU the update runs in place on the parameter and momentum
//! storages (two fused passes, no allocation); elsewhere it uses tensor ops.

use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, Layout, Storage, Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::fused::f32_slice;

/// Settings of [`SgdMomentum`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SgdConfig {
    /// Learning rate.
    pub lr: f64,
    /// Momentum μ (0 for plain SGD).
    pub momentum: f64,
    /// L2 weight decay added to the gradient.
    pub weight_decay: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
}

impl Default for SgdConfig {
    /// The jump-retraining defaults: lr 1e-3, momentum 0.9, weight decay 1e-4.
    fn default() -> Self {
        Self { lr: 1e-3, momentum: 0.9, weight_decay: 1e-4, nesterov: false }
    }
}

/// SGD with momentum; implements candle's [`candle_nn::Optimizer`].
///
/// # Example
/// ```
/// use basin_train::{SgdConfig, SgdMomentum};
/// use candle_core::{Device, Var};
/// use candle_nn::Optimizer;
/// let w = Var::new(&[1.0f32], &Device::Cpu).unwrap();
/// let cfg = SgdConfig { lr: 0.1, momentum: 0.9, weight_decay: 0.0, nesterov: false };
/// let mut opt = SgdMomentum::new(vec![w.clone()], cfg).unwrap();
/// let loss = w.as_tensor().sqr().unwrap().sum_all().unwrap(); // gradient 2w = 2
/// opt.backward_step(&loss).unwrap();
/// assert!((w.to_vec1::<f32>().unwrap()[0] - 0.8).abs() < 1e-6);
/// ```
#[derive(Debug)]
pub struct SgdMomentum {
    vars: Vec<Var>,
    momentum_buffers: Vec<Var>,
    cfg: SgdConfig,
}

impl SgdMomentum {
    /// The current settings.
    #[must_use]
    pub fn config(&self) -> SgdConfig {
        self.cfg
    }

    /// Zeroes the momentum buffers (a fresh start from the current weights).
    ///
    /// # Errors
    /// A candle error when writing fails.
    pub fn reset(&mut self) -> candle_core::Result<()> {
        for b in &self.momentum_buffers {
            b.set(&b.zeros_like()?)?;
        }
        Ok(())
    }

    fn step_var(&self, var: &Var, buf: &Var, grad: &Tensor) -> candle_core::Result<()> {
        let c = self.cfg;
        let all_cpu = var.device().is_cpu() && var.is_contiguous() && grad.is_contiguous();
        if all_cpu {
            let (storage, layout) = grad.storage_and_layout();
            if let Storage::Cpu(g) = &*storage {
                return update_in_place(var, buf, f32_slice(g, layout, "gradient")?, c);
            }
        }
        let g = if c.weight_decay == 0.0 { grad.clone() } else { (grad + var.as_tensor().affine(c.weight_decay, 0.0)?)? };
        let b = (buf.as_tensor().affine(c.momentum, 0.0)? + &g)?;
        let d = if c.nesterov { (&g + b.affine(c.momentum, 0.0)?)? } else { b.clone() };
        buf.set(&b)?;
        var.set(&(var.as_tensor() - d.affine(c.lr, 0.0)?)?)
    }
}

impl SgdMomentum {
    /// Updates each variable of `grads` found among this optimizer's
    /// variables with its gradient, given as the values of a contiguous f32
    /// CPU tensor of the variable's shape: the step of the hand-written CPU
    /// pass, which computes gradients without candle's graph. The same two
    /// in-place passes as [`SgdMomentum`]'s own step, reading the gradient
    /// from the slice (no tensor is built for it).
    ///
    /// # Errors
    /// A gradient of the wrong length, or a variable not contiguous f32 on
    /// the CPU.
    pub(crate) fn step_slices(&mut self, grads: &[(&Var, &[f32])]) -> candle_core::Result<()> {
        for (var, buf) in self.vars.iter().zip(&self.momentum_buffers) {
            let Some(&(_, g)) = grads.iter().find(|(v, _)| v.id() == var.id()) else { continue };
            if g.len() != var.elem_count() {
                candle_core::bail!("sgd: gradient of {} values for a parameter of {}", g.len(), var.elem_count());
            }
            update_in_place(var, buf, g, self.cfg)?;
        }
        Ok(())
    }
}

/// The CPU update in two in-place passes over the storages: `b ← μ·b + g +
/// wd·θ`, then `θ ← θ − lr·(b, or g + wd·θ + μ·b with Nesterov)`.
fn update_in_place(var: &Var, buf: &Var, g: &[f32], c: SgdConfig) -> candle_core::Result<()> {
    buf.inplace_op2(var.as_tensor(), &MomentumUpdate { g, c })?;
    var.inplace_op2(buf.as_tensor(), &ParamUpdate { g, c })
}

/// In place on the momentum buffer: `b ← μ·b + g + wd·θ`.
struct MomentumUpdate<'a> {
    g: &'a [f32],
    c: SgdConfig,
}

impl candle_core::InplaceOp2 for MomentumUpdate<'_> {
    fn name(&self) -> &'static str {
        "sgd-momentum"
    }

    fn cpu_fwd(&self, dst: &mut CpuStorage, dst_l: &Layout, th: &CpuStorage, th_l: &Layout) -> candle_core::Result<()> {
        momentum_step(f32_slice_mut(dst, dst_l, "momentum buffer")?, self.g, f32_slice(th, th_l, "parameter")?, self.c);
        Ok(())
    }
}

/// In place on the parameter: `θ ← θ − lr·d`, `d = b` or (Nesterov)
/// `d = g + wd·θ + μ·b`.
struct ParamUpdate<'a> {
    g: &'a [f32],
    c: SgdConfig,
}

impl candle_core::InplaceOp2 for ParamUpdate<'_> {
    fn name(&self) -> &'static str {
        "sgd-param"
    }

    fn cpu_fwd(&self, dst: &mut CpuStorage, dst_l: &Layout, b: &CpuStorage, b_l: &Layout) -> candle_core::Result<()> {
        param_step(f32_slice_mut(dst, dst_l, "parameter")?, f32_slice(b, b_l, "momentum buffer")?, self.g, self.c);
        Ok(())
    }
}

impl candle_nn::Optimizer for SgdMomentum {
    type Config = SgdConfig;

    fn new(vars: Vec<Var>, config: SgdConfig) -> candle_core::Result<Self> {
        let momentum_buffers =
            vars.iter().map(|v| Var::zeros(v.shape(), v.dtype(), v.device())).collect::<candle_core::Result<_>>()?;
        Ok(Self { vars, momentum_buffers, cfg: config })
    }

    fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        for (var, buf) in self.vars.iter().zip(&self.momentum_buffers) {
            if let Some(g) = grads.get(var) {
                self.step_var(var, buf, g)?;
            }
        }
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.cfg.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.cfg.lr = lr;
    }
}

fn f32_slice_mut<'a>(s: &'a mut CpuStorage, l: &Layout, what: &str) -> candle_core::Result<&'a mut [f32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::F32(v), Some((a, b))) => Ok(&mut v[a..b]),
        _ => candle_core::bail!("sgd: {what} must be contiguous f32"),
    }
}

/// `b ← μ·b + g + wd·θ` over one tensor's values: PyTorch's SGD momentum
/// buffer, shared by [`SgdMomentum`] and the batched CPU engine.
pub(crate) fn momentum_step(b: &mut [f32], g: &[f32], th: &[f32], c: SgdConfig) {
    #[allow(clippy::cast_possible_truncation)]
    let (mu, wd) = (c.momentum as f32, c.weight_decay as f32);
    for ((b, &g), &th) in b.iter_mut().zip(g).zip(th) {
        *b = mu * *b + (g + wd * th);
    }
}

/// `θ ← θ − lr·d` with `d = b`, or (Nesterov) `d = g + wd·θ + μ·b`, after
/// [`momentum_step`] has updated `b`.
pub(crate) fn param_step(th: &mut [f32], b: &[f32], g: &[f32], c: SgdConfig) {
    #[allow(clippy::cast_possible_truncation)]
    let (lr, mu, wd) = (c.lr as f32, c.momentum as f32, c.weight_decay as f32);
    if c.nesterov {
        for ((th, &b), &g) in th.iter_mut().zip(b).zip(g) {
            *th -= lr * ((g + wd * *th) + mu * b);
        }
    } else {
        for (th, &b) in th.iter_mut().zip(b) {
            *th -= lr * b;
        }
    }
}

/// Learning rate as a function of the epoch (stepped once per epoch, like
/// PyTorch's epoch schedulers).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LrSchedule {
    /// The base rate throughout.
    #[default]
    Constant,
    /// `lr · gamma^⌊epoch / every⌋` (`StepLR`).
    Step {
        /// Epochs between decays.
        every: u32,
        /// Decay factor.
        gamma: f64,
    },
    /// `min_lr + (lr − min_lr)·(1 + cos(π·epoch/epochs))/2` (`CosineAnnealingLR`
    /// with `T_max` = the number of epochs).
    Cosine {
        /// Rate reached at the last epoch.
        #[serde(default)]
        min_lr: f64,
    },
}

impl LrSchedule {
    /// Learning rate for 0-based `epoch` of `epochs`.
    ///
    /// # Example
    /// ```
    /// use basin_train::LrSchedule;
    /// let s = LrSchedule::Step { every: 2, gamma: 0.5 };
    /// assert_eq!(s.rate(1.0, 3, 10), 0.5);
    /// let c = LrSchedule::Cosine { min_lr: 0.0 };
    /// assert!((c.rate(1.0, 5, 10) - 0.5).abs() < 1e-12);
    /// ```
    #[must_use]
    pub fn rate(&self, base: f64, epoch: u32, epochs: u32) -> f64 {
        match *self {
            Self::Constant => base,
            Self::Step { every, gamma } => base * gamma.powi(i32::try_from(epoch / every.max(1)).unwrap_or(i32::MAX)),
            Self::Cosine { min_lr } => {
                let t = f64::from(epoch) / f64::from(epochs.max(1));
                min_lr + (base - min_lr) * (1.0 + (std::f64::consts::PI * t).cos()) / 2.0
            }
        }
    }
}
