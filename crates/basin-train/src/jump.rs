//! Jump and retrain (Horoi et al. 2022): from a trained net θₒ, step along a
//! filter-normalised Gaussian direction d (Li et al. 2018) to θₒ + s·d and
//! retrain with SGD, logging every epoch.
//!
//! # BatchNorm
//! BatchNorm weights and biases are 1-dimensional, so the direction is zero
//! on them: the jump leaves them as they are. The running statistics are
//! buffers, not parameters: by default the jump point keeps θₒ's (stale for
//! the moved weights); with [`JumpConfig::recompute_bn_stats`] they are
//! recomputed at the jump point, before epoch 0 is logged, as the cumulative
//! average over one ordered pass of the training split in batches
//! (`torch.optim.swa_utils.update_bn`'s rule). Retraining then updates them
//! with momentum 0.1 as usual.

use basin_data::rng::stream;
use candle_core::Device;
use candle_nn::Optimizer;
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::checkpoint::Checkpoint;
use crate::error::{invalid, TrainResult};
use crate::eval::{gather_rows, to_tensors};
use crate::model::{Mode, Model};
use crate::optim::{SgdConfig, SgdMomentum};
use crate::train::{check_sgd, check_splits, record, train_epoch, Splits, TrajectoryPoint};

/// Settings of one jump; every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JumpConfig {
    /// Seed of the direction (stream `jump`) and of the retraining batch
    /// order (stream `jump-order`). The same seed gives the same direction
    /// for every step size.
    pub seed: u64,
    /// Step size s in θ = θₒ + s·d.
    pub step: f64,
    /// Retraining epochs E (E + 1 points are logged).
    pub epochs: u32,
    /// Learning rate.
    pub lr: f64,
    /// SGD momentum.
    pub momentum: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// Weight decay.
    pub weight_decay: f64,
    /// Rows per step.
    pub batch_size: usize,
    /// Recompute BatchNorm running statistics at the jump point.
    pub recompute_bn_stats: bool,
}

impl Default for JumpConfig {
    /// The paper's retraining: 40 epochs, lr 1e-3, momentum 0.9, weight decay
    /// 1e-4, batch 128; seed 0, step 0.25.
    fn default() -> Self {
        Self {
            seed: 0,
            step: 0.25,
            epochs: 40,
            lr: 1e-3,
            momentum: 0.9,
            nesterov: false,
            weight_decay: 1e-4,
            batch_size: 128,
            recompute_bn_stats: false,
        }
    }
}

impl JumpConfig {
    /// Checks every field.
    ///
    /// # Errors
    /// [`crate::TrainError::InvalidParameter`] naming the first bad field.
    pub fn validate(&self) -> TrainResult<()> {
        check_sgd(self.batch_size, self.lr, self.momentum, self.weight_decay)?;
        if !self.step.is_finite() {
            return Err(invalid("step", format!("{} is not finite", self.step)));
        }
        Ok(())
    }

    pub(crate) fn sgd(&self) -> SgdConfig {
        SgdConfig { lr: self.lr, momentum: self.momentum, weight_decay: self.weight_decay, nesterov: self.nesterov }
    }
}

/// Filter-normalises a direction in place: for every parameter with ≥ 2
/// dimensions, each output row i (a neuron's incoming weights, a
/// convolution filter) becomes `d_i · ‖θ_i‖ / (‖d_i‖ + 1e-10)`; parameters
/// with one dimension (biases, BatchNorm) become 0.
///
/// `theta` and `direction` are flattened in `model`'s order.
///
/// # Errors
/// [`crate::TrainError::InvalidParameter`] when a length does not match the model.
pub fn filter_normalize(model: &Model, theta: &[f32], direction: &mut [f32]) -> TrainResult<()> {
    let n = model.n_parameters();
    if theta.len() != n || direction.len() != n {
        return Err(invalid("direction", format!("{} / {} values for {n} parameters", theta.len(), direction.len())));
    }
    for p in model.parameter_layout() {
        let d = &mut direction[p.offset..p.offset + p.len()];
        if p.shape.len() < 2 {
            d.iter_mut().for_each(|v| *v = 0.0);
            continue;
        }
        let row = p.len() / p.shape[0];
        let th = &theta[p.offset..p.offset + p.len()];
        for (d_i, th_i) in d.chunks_mut(row).zip(th.chunks(row)) {
            let norm = |v: &[f32]| v.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
            let scale = norm(th_i) / (norm(d_i) + 1e-10);
            #[allow(clippy::cast_possible_truncation)]
            d_i.iter_mut().for_each(|v| *v = (f64::from(*v) * scale) as f32);
        }
    }
    Ok(())
}

/// A filter-normalised Gaussian direction for `model` from `rng`: standard
/// normal values drawn parameter by parameter in the flattened order (1-dim
/// parameters draw nothing), then [`filter_normalize`]d.
///
/// # Errors
/// Candle errors when reading the weights.
///
/// # Example
/// ```
/// use basin_train::{filter_normalized_direction, Architecture, Model};
/// use basin_data::{rng::stream, ImageShape};
/// let m = Model::new(&Architecture::mlp(ImageShape::flat(3), &[2], 2), &mut stream(0, "init"), &candle_core::Device::Cpu).unwrap();
/// let d = filter_normalized_direction(&m, &mut stream(0, "jump")).unwrap();
/// assert_eq!(&d[..2], &[0.0, 0.0]); // fc0.bias
/// ```
pub fn filter_normalized_direction<R: Rng + ?Sized>(model: &Model, rng: &mut R) -> TrainResult<Vec<f32>> {
    let theta = model.flat_weights()?;
    let mut d = vec![0.0f32; theta.len()];
    for p in model.parameter_layout() {
        if p.shape.len() >= 2 {
            d[p.offset..p.offset + p.len()].iter_mut().for_each(|v| *v = rng.sample(StandardNormal));
        }
    }
    filter_normalize(model, &theta, &mut d)?;
    Ok(d)
}

/// Recomputes BatchNorm running statistics as the cumulative average of the
/// batch statistics over one ordered pass of `data` (no-op without BatchNorm).
///
/// # Errors
/// Candle errors.
pub fn recompute_bn_stats(model: &Model, data: &basin_data::Dataset, batch_size: usize) -> TrainResult<()> {
    if !model.has_batch_norm() {
        return Ok(());
    }
    model.reset_bn_stats()?;
    let d = data.features.ncols();
    let idx: Vec<usize> = (0..data.len()).collect();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let mut k = 0u32;
    for chunk in idx.chunks(batch_size.max(2)) {
        if chunk.len() < 2 {
            continue;
        }
        k += 1;
        gather_rows(data, chunk, &mut x, &mut y);
        let (xt, _) = to_tensors(&x, &y, d, model.device())?;
        model.forward(&xt, Mode::Train { bn_momentum: 1.0 / f64::from(k) })?;
    }
    Ok(())
}

/// Jumps from a trained net and retrains it, logging epoch 0 (the jump
/// point) and every later epoch; stops cleanly after the first diverged
/// point (NaN/inf loss or weights), which is returned with `diverged` set.
///
/// The training split gets the checkpoint's label noise (same seed, same
/// labels as in base training); no augmentation. The checkpoint is not
/// modified.
///
/// # Arguments
/// * `net` — the trained net θₒ (with its training settings).
/// * `jump` — seed, step and retraining settings.
/// * `splits` — the same splits the net was trained on.
/// * `device` — where to retrain.
/// * `on_epoch` — called with each point as soon as it is computed.
///
/// # Errors
/// [`crate::TrainError::InvalidParameter`] for bad settings,
/// [`crate::TrainError::Data`] when the splits do not fit, candle errors.
pub fn jump_and_retrain(
    net: &Checkpoint,
    jump: &JumpConfig,
    splits: &Splits,
    device: &Device,
    mut on_epoch: impl FnMut(&TrajectoryPoint),
) -> TrainResult<Vec<TrajectoryPoint>> {
    jump.validate()?;
    let model = Model::from_tensors(net.model.architecture(), &net.model.named_tensors(), device)?;
    let model = model.deep_clone()?;
    check_splits(&model, splits)?;
    let train_data = match &net.train_config {
        Some(cfg) => cfg.training_data(&splits.train)?,
        None => splits.train.clone(),
    };
    let theta0 = model.flat_weights()?;
    let direction = filter_normalized_direction(&model, &mut stream(jump.seed, "jump"))?;
    #[allow(clippy::cast_possible_truncation)]
    let step = jump.step as f32;
    let jumped: Vec<f32> = theta0.iter().zip(&direction).map(|(&t, &d)| t + step * d).collect();
    model.set_flat_weights(&jumped)?;
    if jump.recompute_bn_stats {
        recompute_bn_stats(&model, &train_data, jump.batch_size)?;
    }
    let mut points = Vec::with_capacity(jump.epochs as usize + 1);
    let first = record(&model, 0, &train_data, splits, true)?;
    on_epoch(&first);
    let mut diverged = first.diverged;
    points.push(first);
    let mut opt = SgdMomentum::new(model.vars(), jump.sgd())?;
    let mut order_rng = stream(jump.seed, "jump-order");
    for epoch in 1..=jump.epochs {
        if diverged {
            break;
        }
        train_epoch(&model, &mut opt, &train_data, jump.batch_size, &mut order_rng, None)?;
        let point = record(&model, epoch, &train_data, splits, true)?;
        on_epoch(&point);
        diverged = point.diverged;
        points.push(point);
    }
    Ok(points)
}
