//! Training a base net: [`train`], its settings [`TrainConfig`], the data
//! [`Splits`], and the per-epoch record [`TrajectoryPoint`].

use basin_data::{augment::augment_batch, noise::corrupt_labels, rng::stream, Dataset};
use candle_core::Device;
use candle_nn::Optimizer;
use ndarray::ArrayViewMut2;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::arch::Architecture;
use crate::checkpoint::Checkpoint;
use crate::cnn_cpu::CnnStep;
use crate::error::{invalid, TrainError, TrainResult};
use crate::eval::{check_fits, cross_entropy, evaluate, gather_rows, to_tensors, Metrics};
use crate::model::{Mode, Model};
use crate::optim::{LrSchedule, SgdConfig, SgdMomentum};

/// Train, validation and test splits of one data set.
#[derive(Debug, Clone)]
pub struct Splits {
    /// Rows the net is trained on (clean labels: label noise is applied by
    /// [`train`] and [`crate::jump_and_retrain`] from the config's seed).
    pub train: Dataset,
    /// Validation rows.
    pub val: Dataset,
    /// Test rows.
    pub test: Dataset,
}

/// Metrics of a net at one epoch, with its flattened weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrajectoryPoint {
    /// 0 = before training (base nets) or the jump point (jumps); `e` = after
    /// `e` epochs.
    pub epoch: u32,
    /// Mean cross-entropy on the training split (with its noisy labels when
    /// label noise is on), BatchNorm in evaluation mode, no augmentation.
    pub train_loss: f64,
    /// Accuracy on the training split.
    pub train_acc: f64,
    /// Loss on the validation split.
    pub val_loss: f64,
    /// Accuracy on the validation split.
    pub val_acc: f64,
    /// Loss on the test split.
    pub test_loss: f64,
    /// Accuracy on the test split.
    pub test_acc: f64,
    /// The training loss or a weight is NaN/inf; no later epoch follows.
    pub diverged: bool,
    /// Trainable parameters in the flattened order (see [`crate::model`]);
    /// empty in base-training history unless [`TrainConfig::log_weights`].
    pub weights: Vec<f32>,
}

/// Settings of [`train`]; every field has a default, so a TOML table may
/// name only what it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// Passes over the training split.
    pub epochs: u32,
    /// Rows per step (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Base learning rate.
    pub lr: f64,
    /// SGD momentum.
    pub momentum: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// L2 weight decay.
    pub weight_decay: f64,
    /// Learning-rate schedule over the epochs.
    pub schedule: LrSchedule,
    /// Random shifts (and flips, with `hflip`) of each training batch.
    pub augment: bool,
    /// Largest shift in pixels when augmenting.
    pub max_shift: usize,
    /// Random horizontal flips when augmenting (natural images only).
    pub hflip: bool,
    /// Fraction of training labels replaced by uniform random labels.
    pub label_noise: f64,
    /// Root seed: streams `init`, `order`, `augment`, `label-noise`.
    pub seed: u64,
    /// Keep the flattened weights in every history point.
    pub log_weights: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 30,
            batch_size: 128,
            lr: 0.05,
            momentum: 0.9,
            nesterov: false,
            weight_decay: 5e-4,
            schedule: LrSchedule::Constant,
            augment: false,
            max_shift: 1,
            hflip: false,
            label_noise: 0.0,
            seed: 0,
            log_weights: false,
        }
    }
}

impl TrainConfig {
    /// Checks every field.
    ///
    /// # Errors
    /// [`TrainError::InvalidParameter`] naming the first bad field.
    pub fn validate(&self) -> TrainResult<()> {
        check_sgd(self.batch_size, self.lr, self.momentum, self.weight_decay)?;
        if !(0.0..=1.0).contains(&self.label_noise) {
            return Err(invalid("label_noise", format!("{} is not in [0, 1]", self.label_noise)));
        }
        Ok(())
    }

    /// The training split as the net sees it: labels corrupted by
    /// `label_noise` from stream `label-noise` of `seed` (unchanged when 0).
    ///
    /// # Errors
    /// Errors of [`corrupt_labels`].
    pub fn training_data(&self, train: &Dataset) -> TrainResult<Dataset> {
        let mut data = train.clone();
        if self.label_noise > 0.0 {
            data.labels =
                corrupt_labels(&train.labels, self.label_noise, train.n_classes, &mut stream(self.seed, "label-noise"))?;
        }
        Ok(data)
    }
}

pub(crate) fn check_sgd(batch_size: usize, lr: f64, momentum: f64, weight_decay: f64) -> TrainResult<()> {
    if batch_size == 0 {
        return Err(invalid("batch_size", "must be positive"));
    }
    if !(lr.is_finite() && lr > 0.0) {
        return Err(invalid("lr", format!("{lr} (must be positive)")));
    }
    if !(0.0..1.0).contains(&momentum) {
        return Err(invalid("momentum", format!("{momentum} is not in [0, 1)")));
    }
    if !(weight_decay.is_finite() && weight_decay >= 0.0) {
        return Err(invalid("weight_decay", format!("{weight_decay} (must be ≥ 0)")));
    }
    Ok(())
}

/// A trained net and its history.
#[derive(Debug, Clone)]
pub struct TrainedNet {
    /// The net with its architecture and training settings; save it with
    /// [`crate::save_checkpoint`].
    pub checkpoint: Checkpoint,
    /// One point per epoch, from 0 (initialisation) to the last epoch run.
    pub history: Vec<TrajectoryPoint>,
}

/// Augmentation settings for one epoch, with their stream.
pub(crate) struct Augment<'a> {
    pub(crate) max_shift: usize,
    pub(crate) hflip: bool,
    pub(crate) rng: &'a mut ChaCha8Rng,
}

/// One pass over `data` in an order drawn from `order_rng`.
pub(crate) fn train_epoch(
    model: &Model,
    opt: &mut SgdMomentum,
    data: &Dataset,
    batch_size: usize,
    order_rng: &mut ChaCha8Rng,
    mut augment: Option<Augment<'_>>,
) -> TrainResult<()> {
    let d = data.features.ncols();
    let mut order: Vec<usize> = (0..data.len()).collect();
    order.shuffle(order_rng);
    let (mut x, mut y) = (Vec::with_capacity(batch_size * d), Vec::with_capacity(batch_size));
    let mut step = TrainStep::new(model);
    for idx in order.chunks(batch_size) {
        // BatchNorm cannot normalise a batch of one row in training mode.
        if idx.len() < 2 && model.has_batch_norm() {
            continue;
        }
        gather_rows(data, idx, &mut x, &mut y);
        if let Some(a) = augment.as_mut() {
            let mut view = ArrayViewMut2::from_shape((idx.len(), d), x.as_mut_slice())
                .map_err(|e| invalid("batch", e.to_string()))?;
            augment_batch(&mut view, data.shape, a.max_shift, a.hflip, a.rng);
        }
        step.step(model, opt, &x, &y)?;
    }
    Ok(())
}

/// One SGD step of a net on a batch, by the fastest path that covers the
/// net: a hand-written forward and backward pass on the CPU for CNNs
/// (residual blocks and BatchNorm included; channels-last activations, faer
/// products, buffers reused between steps), candle's autograd for MLPs and
/// on other devices. Both compute the gradient of the batch's mean
/// cross-entropy (BatchNorm in training mode, running statistics updated
/// with momentum 0.1) and hand it to the optimizer; they agree within float
/// rounding (tested).
///
/// Build one per model and reuse it: it keeps the CNN step's buffers.
///
/// # Example
/// ```
/// use basin_data::{rng::stream, ImageShape};
/// use basin_train::{Architecture, Model, SgdConfig, SgdMomentum, TrainStep};
/// use candle_core::Device;
/// use candle_nn::Optimizer;
/// let arch = Architecture::cnn(ImageShape { channels: 1, height: 8, width: 8 }, &[4], 3);
/// let model = Model::new(&arch, &mut stream(0, "init"), &Device::Cpu).unwrap();
/// let mut opt = SgdMomentum::new(model.vars(), SgdConfig::default()).unwrap();
/// let mut step = TrainStep::new(&model);
/// assert!(step.is_hand_written()); // a plain CNN on the CPU
/// let before = model.flat_weights().unwrap();
/// let x = vec![0.5f32; 2 * 64];
/// step.step(&model, &mut opt, &x, &[0, 2]).unwrap();
/// assert_ne!(model.flat_weights().unwrap(), before);
/// ```
#[derive(Debug)]
pub struct TrainStep {
    cnn: Option<CnnStep>,
}

impl TrainStep {
    /// Chooses the path for `model`.
    #[must_use]
    pub fn new(model: &Model) -> Self {
        Self { cnn: CnnStep::new(model) }
    }

    /// Candle's autograd for every net: the reference the hand-written pass
    /// is tested against, and the other side of an A/B timing.
    #[must_use]
    pub fn candle_autograd() -> Self {
        Self { cnn: None }
    }

    /// Whether the hand-written CPU pass runs this net.
    #[must_use]
    pub fn is_hand_written(&self) -> bool {
        self.cnn.is_some()
    }

    /// One step on the rows `x` (row-major, `labels.len()` rows of the
    /// model's input width) in training mode.
    ///
    /// # Errors
    /// [`TrainError::Data`] for a batch that does not fit the net (width,
    /// label out of range); candle errors.
    pub fn step(&mut self, model: &Model, opt: &mut SgdMomentum, x: &[f32], labels: &[u32]) -> TrainResult<()> {
        if let Some(cnn) = &mut self.cnn {
            cnn.step(model, opt, x, labels)?;
            return Ok(());
        }
        let d = model.architecture().input.len();
        if x.len() != labels.len() * d {
            return Err(TrainError::Data {
                dataset: "batch".into(),
                reason: format!("{} values for {} rows of {d} features", x.len(), labels.len()),
            });
        }
        let (xt, yt) = to_tensors(x, labels, d, model.device())?;
        let logits = model.forward(&xt, Mode::TRAIN)?;
        let loss = cross_entropy(&logits, &yt)?;
        opt.backward_step(&loss)?;
        Ok(())
    }
}

/// Evaluates on all three splits and builds the trajectory point.
pub(crate) fn record(
    model: &Model,
    epoch: u32,
    train: &Dataset,
    splits: &Splits,
    with_weights: bool,
) -> TrainResult<TrajectoryPoint> {
    let tr = evaluate(model, train)?;
    let va = evaluate(model, &splits.val)?;
    let te = evaluate(model, &splits.test)?;
    let mut p = trajectory_point(epoch, [&tr, &va, &te], model.flat_weights()?);
    if !with_weights {
        p.weights = Vec::new();
    }
    Ok(p)
}

/// The point logged for one epoch from the metrics on the train, val and
/// test splits and the flattened weights: diverged when the training loss or
/// any weight is not finite (the rule of every retraining engine).
pub(crate) fn trajectory_point(epoch: u32, [tr, va, te]: [&Metrics; 3], weights: Vec<f32>) -> TrajectoryPoint {
    let diverged = !tr.loss.is_finite() || weights.iter().any(|w| !w.is_finite());
    TrajectoryPoint {
        epoch,
        train_loss: tr.loss,
        train_acc: tr.accuracy,
        val_loss: va.loss,
        val_acc: va.accuracy,
        test_loss: te.loss,
        test_acc: te.accuracy,
        diverged,
        weights,
    }
}

pub(crate) fn check_splits(model: &Model, splits: &Splits) -> TrainResult<()> {
    for ds in [&splits.train, &splits.val, &splits.test] {
        check_fits(model, ds)?;
        if ds.is_empty() {
            return Err(TrainError::Data { dataset: ds.name.clone(), reason: "split is empty".into() });
        }
    }
    Ok(())
}

/// Trains a net from PyTorch-default initialisation with SGD.
///
/// Streams of `cfg.seed`: `init` (weights), `order` (batch order),
/// `augment`, `label-noise`. After every epoch (and at epoch 0, before
/// training) the net is evaluated on the three splits and `on_epoch` is
/// called. Training stops early, without error, when it diverges.
///
/// # Arguments
/// * `arch` — the architecture; `splits` must match its input and classes.
/// * `cfg` — the hyper-parameters.
/// * `splits` — train/val/test data (clean labels).
/// * `device` — where to train.
/// * `on_epoch` — called with each history point (progress bars, logs).
///
/// # Errors
/// [`TrainError::InvalidParameter`] for bad settings, [`TrainError::Data`]
/// when the splits do not fit the net, candle errors.
///
/// # Example
/// ```
/// use basin_train::{train, Architecture, Splits, TrainConfig};
/// use basin_data::{Dataset, ImageShape};
/// use ndarray::Array2;
/// let x = Array2::from_shape_fn((40, 2), |(i, j)| if (i % 2 == j) { 1.0f32 } else { 0.0 });
/// let y = (0..40).map(|i| (i % 2) as u32).collect();
/// let ds = Dataset::new("xor-ish", x, y, ImageShape::flat(2), 2).unwrap();
/// let splits = Splits { train: ds.clone(), val: ds.clone(), test: ds };
/// let cfg = TrainConfig { epochs: 20, batch_size: 8, lr: 0.1, ..TrainConfig::default() };
/// let net = train(&Architecture::mlp(ImageShape::flat(2), &[8], 2), &cfg, &splits, &candle_core::Device::Cpu, |_| {}).unwrap();
/// assert_eq!(net.history.len(), 21);
/// assert_eq!(net.history.last().unwrap().train_acc, 1.0);
/// ```
pub fn train(
    arch: &Architecture,
    cfg: &TrainConfig,
    splits: &Splits,
    device: &Device,
    mut on_epoch: impl FnMut(&TrajectoryPoint),
) -> TrainResult<TrainedNet> {
    cfg.validate()?;
    let model = Model::new(arch, &mut stream(cfg.seed, "init"), device)?;
    check_splits(&model, splits)?;
    let train_data = cfg.training_data(&splits.train)?;
    let mut order_rng = stream(cfg.seed, "order");
    let mut augment_rng = stream(cfg.seed, "augment");
    let sgd = SgdConfig { lr: cfg.lr, momentum: cfg.momentum, weight_decay: cfg.weight_decay, nesterov: cfg.nesterov };
    let mut opt = SgdMomentum::new(model.vars(), sgd)?;
    let mut history = Vec::with_capacity(cfg.epochs as usize + 1);
    let first = record(&model, 0, &train_data, splits, cfg.log_weights)?;
    on_epoch(&first);
    let mut diverged = first.diverged;
    history.push(first);
    for epoch in 0..cfg.epochs {
        if diverged {
            break;
        }
        opt.set_learning_rate(cfg.schedule.rate(cfg.lr, epoch, cfg.epochs));
        let augment =
            cfg.augment.then_some(Augment { max_shift: cfg.max_shift, hflip: cfg.hflip, rng: &mut augment_rng });
        train_epoch(&model, &mut opt, &train_data, cfg.batch_size, &mut order_rng, augment)?;
        let point = record(&model, epoch + 1, &train_data, splits, cfg.log_weights)?;
        tracing::debug!(epoch = point.epoch, train_acc = point.train_acc, test_acc = point.test_acc, "epoch done");
        on_epoch(&point);
        diverged = point.diverged;
        history.push(point);
    }
    Ok(TrainedNet { checkpoint: Checkpoint::new(model, Some(cfg.clone())), history })
}
