//! Loss and accuracy of a net at many points of its weight space, in
//! parallel over points.
//!
//! Every worker thread owns a [`Model::deep_clone`] of the net, overwrites its
//! weights with one point after another and calls [`basin_train::evaluate`]
//! on each split. Points are independent and results come back in point
//! order, so the output does not depend on the number of threads.

use basin_data::Dataset;
use basin_train::{evaluate, Checkpoint, Metrics, Model, Splits};
use rayon::prelude::*;

use crate::errors::{invalid, LandscapeResult};

/// The three splits as the net is evaluated on them: the training split with
/// the labels the net was trained on (noisy ones under label noise, as in
/// base training and jump-and-retrain), validation and test as they are.
#[derive(Debug, Clone)]
pub struct EvalSets {
    /// Training rows with the net's own training labels.
    pub train: Dataset,
    /// Validation rows.
    pub val: Dataset,
    /// Test rows.
    pub test: Dataset,
}

impl EvalSets {
    /// The splits a checkpoint is evaluated on: its training config's label
    /// noise is applied to the training split (same seed, same labels as
    /// during training), exactly as [`basin_train::jump_and_retrain`] does.
    ///
    /// # Errors
    /// Errors of [`basin_train::TrainConfig::training_data`].
    pub fn for_checkpoint(net: &Checkpoint, splits: &Splits) -> LandscapeResult<Self> {
        let train = match &net.train_config {
            Some(cfg) => cfg.training_data(&splits.train)?,
            None => splits.train.clone(),
        };
        Ok(Self { train, val: splits.val.clone(), test: splits.test.clone() })
    }
}

/// Loss and accuracy on the three splits at one point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointMetrics {
    /// Cross-entropy on the training split (NaN/inf kept as computed).
    pub train_loss: f64,
    /// Accuracy on the training split.
    pub train_acc: f64,
    /// Validation loss.
    pub val_loss: f64,
    /// Validation accuracy.
    pub val_acc: f64,
    /// Test loss.
    pub test_loss: f64,
    /// Test accuracy.
    pub test_acc: f64,
}

impl PointMetrics {
    /// Every metric NaN: a point that could not be placed (e.g. a
    /// non-finite distance); it is kept and flagged, not dropped.
    pub const NAN: Self =
        Self { train_loss: f64::NAN, train_acc: f64::NAN, val_loss: f64::NAN, val_acc: f64::NAN, test_loss: f64::NAN, test_acc: f64::NAN };

    /// `true` when all three losses are finite.
    #[must_use]
    pub fn is_finite(&self) -> bool {
        self.train_loss.is_finite() && self.val_loss.is_finite() && self.test_loss.is_finite()
    }
}

/// Evaluates `model` on `sets` at the weights `weights_of(i)` for every
/// `i < n`, in parallel over points.
///
/// # Arguments
/// * `model` — the net (its weights are not modified; workers clone it).
/// * `n` — number of points.
/// * `weights_of` — the flattened weights of point `i`, or `None` for a point
///   that cannot be placed (its metrics are NaN).
/// * `sets` — the splits.
/// * `on_done` — called once per finished point (progress bars).
///
/// # Errors
/// Errors of `weights_of`, of cloning the model and of evaluation.
pub fn evaluate_points<F, P>(model: &Model, n: usize, weights_of: F, sets: &EvalSets, on_done: P) -> LandscapeResult<Vec<PointMetrics>>
where
    F: Fn(usize) -> LandscapeResult<Option<Vec<f32>>> + Sync,
    P: Fn() + Sync,
{
    map_points(model, n, weights_of, |m| m.map_or(Ok(PointMetrics::NAN), |m| evaluate_at(m, sets)), on_done)
}

/// Training-split loss and accuracy at every point (what surfaces show).
///
/// # Errors
/// As [`evaluate_points`].
pub fn evaluate_train_points<F, P>(model: &Model, n: usize, weights_of: F, train: &Dataset, on_done: P) -> LandscapeResult<Vec<Metrics>>
where
    F: Fn(usize) -> LandscapeResult<Option<Vec<f32>>> + Sync,
    P: Fn() + Sync,
{
    let nan = Metrics { loss: f64::NAN, accuracy: f64::NAN };
    map_points(model, n, weights_of, |m| m.map_or(Ok(nan), |m| Ok(evaluate(m, train)?)), on_done)
}

/// The parallel loop behind the evaluators: `eval` sees a worker's clone of
/// `model` holding point `i`'s weights, or `None` for an unplaceable point.
fn map_points<T, F, G, P>(model: &Model, n: usize, weights_of: F, eval: G, on_done: P) -> LandscapeResult<Vec<T>>
where
    T: Send,
    F: Fn(usize) -> LandscapeResult<Option<Vec<f32>>> + Sync,
    G: Fn(Option<&Model>) -> LandscapeResult<T> + Sync,
    P: Fn() + Sync,
{
    (0..n)
        .into_par_iter()
        .map_init(
            || model.deep_clone(),
            |worker, i| {
                let worker = worker.as_ref().map_err(|e| invalid("model", format!("cannot clone the net: {e}")))?;
                let out = match weights_of(i)? {
                    Some(w) => {
                        worker.set_flat_weights(&w)?;
                        eval(Some(worker))?
                    }
                    None => eval(None)?,
                };
                on_done();
                Ok(out)
            },
        )
        .collect()
}

/// Metrics of `model` with its current weights.
///
/// # Errors
/// Errors of [`basin_train::evaluate`].
pub fn evaluate_at(model: &Model, sets: &EvalSets) -> LandscapeResult<PointMetrics> {
    let train = evaluate(model, &sets.train)?;
    let val = evaluate(model, &sets.val)?;
    let test = evaluate(model, &sets.test)?;
    Ok(PointMetrics {
        train_loss: train.loss,
        train_acc: train.accuracy,
        val_loss: val.loss,
        val_acc: val.accuracy,
        test_loss: test.loss,
        test_acc: test.accuracy,
    })
}
