//! Reading the upstream stages' Parquet outputs into plain structs.
//!
//! Only the store's schemas are used here, never another stage's code: the
//! comparison stage reads whatever the training, PHATE, topology and landscape
//! stages wrote.

use std::collections::BTreeMap;
use std::path::Path;

use basin_store::columns::{bools, f32_lists, f64s, i64s, strings};
use basin_store::polars::prelude::{DataFrame, DataType};
use basin_store::schema::{DIAGRAMS, EMBEDDINGS, FEATURES, POTENTIAL_DISTANCES, PROBES, RUNS, TRAJECTORIES};
use basin_store::{read_table, read_table_columns};

use crate::error::{CompareError, CompareResult};

/// One trained net: its final metrics and its hyper-parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Stable id of the net.
    pub run_id: String,
    /// Final training loss (against the labels it was trained on).
    pub train_loss: f64,
    /// Final training accuracy.
    pub train_acc: f64,
    /// Final test loss.
    pub test_loss: f64,
    /// Final test accuracy.
    pub test_acc: f64,
    /// Generalization gap, test loss − train loss.
    pub gen_gap: f64,
    /// Every grid hyper-parameter (`weight_decay`, `batch_size`, `augment`,
    /// `label_noise`, …) as text, for use as a class label.
    pub hyper: BTreeMap<String, String>,
}

/// The columns of a `runs` table that are not hyper-parameters.
const RUN_METRIC_COLUMNS: &[&str] = &[
    "run_id",
    "dataset",
    "architecture",
    "seed",
    "epochs",
    "train_loss",
    "train_acc",
    "train_loss_clean",
    "train_acc_clean",
    "val_loss",
    "val_acc",
    "test_loss",
    "test_acc",
    "gen_gap",
    "n_parameters",
    "diverged",
    "checkpoint",
];

/// Reads a `runs` table.
///
/// # Errors
/// A store error naming the file, or [`CompareError::Input`] for an empty table
/// or a repeated `run_id`.
pub fn read_runs(path: &Path) -> CompareResult<Vec<Run>> {
    let (df, _) = read_table(path, &RUNS)?;
    let ids = strings(&df, "run_id", path)?;
    let cols = |name: &str| f64s(&df, name, path);
    let (train_loss, train_acc, test_loss, test_acc, gen_gap) =
        (cols("train_loss")?, cols("train_acc")?, cols("test_loss")?, cols("test_acc")?, cols("gen_gap")?);
    let hyper_columns: Vec<String> = df
        .get_column_names()
        .iter()
        .map(ToString::to_string)
        .filter(|c| !RUN_METRIC_COLUMNS.contains(&c.as_str()))
        .collect();
    let mut hyper_values = Vec::with_capacity(hyper_columns.len());
    for name in &hyper_columns {
        hyper_values.push(column_as_text(&df, name, path)?);
    }
    let mut runs = Vec::with_capacity(ids.len());
    for (i, run_id) in ids.into_iter().enumerate() {
        if runs.iter().any(|r: &Run| r.run_id == run_id) {
            return Err(CompareError::Input { path: path.to_path_buf(), reason: format!("run_id `{run_id}` appears twice (row {i})") });
        }
        let hyper = hyper_columns.iter().zip(&hyper_values).map(|(n, v)| (n.clone(), v[i].clone())).collect();
        runs.push(Run {
            run_id,
            train_loss: train_loss[i],
            train_acc: train_acc[i],
            test_loss: test_loss[i],
            test_acc: test_acc[i],
            gen_gap: gen_gap[i],
            hyper,
        });
    }
    if runs.is_empty() {
        return Err(CompareError::Input { path: path.to_path_buf(), reason: "has no rows".into() });
    }
    Ok(runs)
}

/// A column of any simple type rendered as text (`0.001`, `true`, `16`).
fn column_as_text(df: &DataFrame, name: &str, path: &Path) -> CompareResult<Vec<String>> {
    let column = df.column(name).map_err(|e| CompareError::Input { path: path.to_path_buf(), reason: e.to_string() })?;
    Ok(match column.dtype() {
        DataType::Boolean => bools(df, name, path)?.into_iter().map(|b| b.to_string()).collect(),
        DataType::Int64 | DataType::Int32 => i64s(df, name, path)?.into_iter().map(|v| v.to_string()).collect(),
        DataType::Float64 | DataType::Float32 => f64s(df, name, path)?.into_iter().map(|v| v.to_string()).collect(),
        _ => strings(df, name, path)?,
    })
}

/// One point of a jump-and-retrain trajectory, without its weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    /// Seed of the jump direction.
    pub jump_seed: i64,
    /// Step size of the jump.
    pub step_size: f64,
    /// 0 = the jump point, then after every retraining epoch.
    pub epoch: i64,
    /// Training loss.
    pub train_loss: f64,
    /// Training accuracy.
    pub train_acc: f64,
    /// Test loss.
    pub test_loss: f64,
    /// Test accuracy.
    pub test_acc: f64,
    /// The retrain diverged at this row.
    pub diverged: bool,
}

/// Reads the losses of a merged `trajectories` file (the weights are not read).
/// Returns the net's id and its points in file order.
///
/// # Errors
/// A store error naming the file; [`CompareError::Input`] when it holds
/// several nets or none.
pub fn read_curves(path: &Path) -> CompareResult<(String, Vec<CurvePoint>)> {
    let columns = ["run_id", "jump_seed", "step_size", "epoch", "train_loss", "train_acc", "test_loss", "test_acc", "diverged"];
    let (df, _) = read_table_columns(path, &TRAJECTORIES, &columns)?;
    let run_id = single_run_id(&df, path)?;
    let (seed, step, epoch) = (i64s(&df, "jump_seed", path)?, f64s(&df, "step_size", path)?, i64s(&df, "epoch", path)?);
    let (trl, tra, tel, tea) = (f64s(&df, "train_loss", path)?, f64s(&df, "train_acc", path)?, f64s(&df, "test_loss", path)?, f64s(&df, "test_acc", path)?);
    let diverged = bools(&df, "diverged", path)?;
    let points = (0..df.height())
        .map(|i| CurvePoint {
            jump_seed: seed[i],
            step_size: step[i],
            epoch: epoch[i],
            train_loss: trl[i],
            train_acc: tra[i],
            test_loss: tel[i],
            test_acc: tea[i],
            diverged: diverged[i],
        })
        .collect();
    Ok((run_id, points))
}

fn single_run_id(df: &DataFrame, path: &Path) -> CompareResult<String> {
    let ids = strings(df, "run_id", path)?;
    let first = ids.first().cloned().ok_or_else(|| CompareError::Input { path: path.to_path_buf(), reason: "has no rows".into() })?;
    if let Some((row, other)) = ids.iter().enumerate().find(|(_, id)| **id != first) {
        return Err(CompareError::Input {
            path: path.to_path_buf(),
            reason: format!("holds several nets (`{first}`, and `{other}` at row {row}); pass one file per net"),
        });
    }
    Ok(first)
}

/// One embedded trajectory point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmbeddedPoint {
    /// Jump seed.
    pub jump_seed: i64,
    /// Step size.
    pub step_size: f64,
    /// Epoch.
    pub epoch: i64,
    /// First PHATE coordinate.
    pub x: f64,
    /// Second PHATE coordinate.
    pub y: f64,
}

/// Reads a per-net `embeddings` file (its first two coordinates).
///
/// # Errors
/// A store error naming the file; [`CompareError::Input`] for several nets.
pub fn read_embedding(path: &Path) -> CompareResult<(String, Vec<EmbeddedPoint>)> {
    let (df, _) = read_table(path, &EMBEDDINGS)?;
    let run_id = single_run_id(&df, path)?;
    let (seed, step, epoch) = (i64s(&df, "jump_seed", path)?, f64s(&df, "step_size", path)?, i64s(&df, "epoch", path)?);
    let (x, y) = (f64s(&df, "phate_1", path)?, f64s(&df, "phate_2", path)?);
    let points = (0..df.height())
        .map(|i| EmbeddedPoint { jump_seed: seed[i], step_size: step[i], epoch: epoch[i], x: x[i], y: y[i] })
        .collect();
    Ok((run_id, points))
}

/// The potential-distance matrix of one net, with the trajectory key of each row.
#[derive(Debug, Clone, PartialEq)]
pub struct PotentialDistances {
    /// (jump seed, step size, epoch) of each row, in file order.
    pub keys: Vec<(i64, f64, i64)>,
    /// Row-major n × n distances.
    pub distances: Vec<f32>,
}

impl PotentialDistances {
    /// Distance between rows `i` and `j`.
    #[must_use]
    pub fn get(&self, i: usize, j: usize) -> f64 {
        f64::from(self.distances[i * self.keys.len() + j])
    }
}

/// Reads a per-net `potential_distances` file.
///
/// # Errors
/// A store error naming the file; [`CompareError::Input`] when a row's length
/// differs from the number of rows.
pub fn read_potential(path: &Path) -> CompareResult<(String, PotentialDistances)> {
    let (df, _) = read_table(path, &POTENTIAL_DISTANCES)?;
    let run_id = single_run_id(&df, path)?;
    let (seed, step, epoch) = (i64s(&df, "jump_seed", path)?, f64s(&df, "step_size", path)?, i64s(&df, "epoch", path)?);
    let rows = f32_lists(&df, "distances", path)?;
    let n = rows.len();
    let mut distances = Vec::with_capacity(n * n);
    for (i, row) in rows.iter().enumerate() {
        if row.len() != n {
            return Err(CompareError::Input { path: path.to_path_buf(), reason: format!("row {i} has {} distances, expected {n}", row.len()) });
        }
        distances.extend_from_slice(row);
    }
    let keys = (0..n).map(|i| (seed[i], step[i], epoch[i])).collect();
    Ok((run_id, PotentialDistances { keys, distances }))
}

/// One persistence pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    /// Homology dimension.
    pub dim: i64,
    /// Birth.
    pub birth: f64,
    /// Death (+inf for an essential class).
    pub death: f64,
}

/// Reads a `diagrams` file of one net.
///
/// # Errors
/// A store error naming the file.
pub fn read_diagram(path: &Path) -> CompareResult<(String, Vec<Pair>)> {
    let (df, _) = read_table(path, &DIAGRAMS)?;
    let run_id = single_run_id(&df, path)?;
    let (dim, birth, death) = (i64s(&df, "dim", path)?, f64s(&df, "birth", path)?, f64s(&df, "death", path)?);
    Ok((run_id, (0..df.height()).map(|i| Pair { dim: dim[i], birth: birth[i], death: death[i] }).collect()))
}

/// The loss and accuracy at probe points of one net (naive or grid baseline).
#[derive(Debug, Clone, PartialEq)]
pub struct Probes {
    /// The sampler: `naive`, `grid`, …
    pub method: String,
    /// Training loss per sample, in sample order (NaN when not finite).
    pub train_loss: Vec<f64>,
    /// Training accuracy per sample.
    pub train_acc: Vec<f64>,
}

/// Reads a `probes` file of one net and one method, ordered by `sample`.
///
/// # Errors
/// A store error naming the file; [`CompareError::Input`] for several nets or
/// methods in one file.
pub fn read_probes(path: &Path) -> CompareResult<(String, Probes)> {
    let (df, _) = read_table(path, &PROBES)?;
    let run_id = single_run_id(&df, path)?;
    let methods = strings(&df, "method", path)?;
    let method = methods.first().cloned().unwrap_or_default();
    if let Some(row) = methods.iter().position(|m| *m != method) {
        return Err(CompareError::Input { path: path.to_path_buf(), reason: format!("mixes methods `{method}` and `{}` (row {row})", methods[row]) });
    }
    let sample = i64s(&df, "sample", path)?;
    let (loss, acc) = (f64s(&df, "train_loss", path)?, f64s(&df, "train_acc", path)?);
    let mut order: Vec<usize> = (0..df.height()).collect();
    order.sort_by_key(|&i| sample[i]);
    Ok((
        run_id,
        Probes { method, train_loss: order.iter().map(|&i| loss[i]).collect(), train_acc: order.iter().map(|&i| acc[i]).collect() },
    ))
}

/// One row of a `features` table.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureRow {
    /// The net.
    pub run_id: String,
    /// Feature set.
    pub feature_set: String,
    /// Feature name.
    pub feature: String,
    /// Value.
    pub value: f64,
}

/// Reads a `features` table (long format).
///
/// # Errors
/// A store error naming the file.
pub fn read_features(path: &Path) -> CompareResult<Vec<FeatureRow>> {
    let (df, _) = read_table(path, &FEATURES)?;
    let (ids, sets, names, values) =
        (strings(&df, "run_id", path)?, strings(&df, "feature_set", path)?, strings(&df, "feature", path)?, f64s(&df, "value", path)?);
    Ok((0..df.height())
        .map(|i| FeatureRow { run_id: ids[i].clone(), feature_set: sets[i].clone(), feature: names[i].clone(), value: values[i] })
        .collect())
}
