//! Trajectory rows to and from the `trajectories` schema, and the weight
//! point clouds that PHATE and the Rips stage read from it.

use std::path::Path;

use anyhow::{bail, Result};
use basin_store::columns::{self, f32_list_column};
use basin_store::polars::prelude::*;
use basin_store::read_table;
use basin_store::schema::TRAJECTORIES;
use basin_train::TrajectoryPoint;
use ndarray::Array2;

/// The key of one trajectory: which net, direction and step.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrajectoryKey<'a> {
    pub run_id: &'a str,
    pub jump_seed: u64,
    pub step_size: f64,
}

/// `jump_seed` of the rows of a base net's own training path (`basin train
/// --trajectory-out`), whose `step_size` is 0 and epoch 0 the initialisation.
pub(crate) const BASE_TRAINING_SEED: i64 = -1;

/// One `trajectories` frame from the points of one shard.
pub(crate) fn frame(key: &TrajectoryKey<'_>, points: &[TrajectoryPoint]) -> Result<DataFrame> {
    frame_with_seed(key.run_id, i64::try_from(key.jump_seed)?, key.step_size, points)
}

/// One `trajectories` frame with an explicit `jump_seed` column value
/// (negative for [`BASE_TRAINING_SEED`]).
pub(crate) fn frame_with_seed(run_id: &str, seed: i64, step_size: f64, points: &[TrajectoryPoint]) -> Result<DataFrame> {
    let key = TrajectoryKey { run_id, jump_seed: 0, step_size };
    let n = points.len();
    let f = |g: fn(&TrajectoryPoint) -> f64| points.iter().map(g).collect::<Vec<f64>>();
    let weights: Vec<Vec<f32>> = points.iter().map(|p| p.weights.clone()).collect();
    Ok(DataFrame::new(
        n,
        vec![
            Column::new("run_id".into(), vec![key.run_id; n]),
            Column::new("jump_seed".into(), vec![seed; n]),
            Column::new("step_size".into(), vec![key.step_size; n]),
            Column::new("epoch".into(), points.iter().map(|p| i64::from(p.epoch)).collect::<Vec<_>>()),
            Column::new("train_loss".into(), f(|p| p.train_loss)),
            Column::new("train_acc".into(), f(|p| p.train_acc)),
            Column::new("val_loss".into(), f(|p| p.val_loss)),
            Column::new("val_acc".into(), f(|p| p.val_acc)),
            Column::new("test_loss".into(), f(|p| p.test_loss)),
            Column::new("test_acc".into(), f(|p| p.test_acc)),
            Column::new("diverged".into(), points.iter().map(|p| p.diverged).collect::<Vec<_>>()),
            f32_list_column("weights", &weights),
        ],
    )?)
}

/// Stacks frames of one schema read from `paths`, in that order.
pub(crate) fn stack(frames: Vec<(DataFrame, &Path)>) -> Result<DataFrame> {
    let mut iter = frames.into_iter();
    let Some((mut acc, _)) = iter.next() else { anyhow::bail!("nothing to merge") };
    for (df, path) in iter {
        acc.vstack_mut(&df).map_err(|e| anyhow::anyhow!("{}: cannot be stacked with the files before it: {e}", path.display()))?;
    }
    acc.rechunk_mut();
    Ok(acc)
}

/// Trajectory rows of one file: the key columns and the weights matrix.
pub(crate) struct Points {
    pub run_id: Vec<String>,
    pub jump_seed: Vec<i64>,
    pub step_size: Vec<f64>,
    pub epoch: Vec<i64>,
    pub train_loss: Vec<f64>,
    pub test_loss: Vec<f64>,
    pub weights: Array2<f64>,
}

pub(crate) fn read_points(path: &Path) -> Result<Points> {
    read_points_every(path, 1)
}

/// The points of a trajectories file whose epoch is a multiple of
/// `epoch_stride` (1: every point), diverged points left out as in
/// [`read_points`]. Filtering here, before the weights are widened to f64,
/// keeps the memory of a large joint embedding to the points it uses.
pub(crate) fn read_points_every(path: &Path, epoch_stride: usize) -> Result<Points> {
    let (df, _) = read_table(path, &TRAJECTORIES)?;
    let epochs = columns::i64s(&df, "epoch", path)?;
    let lists = columns::f32_lists(&df, "weights", path)?;
    let dim = lists.first().map_or(0, Vec::len);
    if let Some(row) = lists.iter().position(|w| w.len() != dim) {
        bail!("{}: row {row} has {} weights, the first row {dim}", path.display(), lists[row].len());
    }
    // A diverged point (flagged, or with NaN/inf weights) has no meaningful
    // position: it is left out of embeddings and point clouds, and stays in
    // the trajectories file with its flag.
    let diverged = columns::bools(&df, "diverged", path)?;
    let stride = i64::try_from(epoch_stride.max(1)).unwrap_or(i64::MAX);
    let on_stride: Vec<usize> = (0..lists.len()).filter(|&i| epochs[i] % stride == 0).collect();
    let keep: Vec<usize> =
        on_stride.iter().copied().filter(|&i| !diverged[i] && lists[i].iter().all(|v| v.is_finite())).collect();
    if keep.len() < on_stride.len() {
        tracing::warn!("{}: {} diverged rows left out", path.display(), on_stride.len() - keep.len());
    }
    let mut weights = Array2::zeros((keep.len(), dim));
    for (mut row, &r) in weights.rows_mut().into_iter().zip(&keep) {
        row.iter_mut().zip(&lists[r]).for_each(|(w, &v)| *w = f64::from(v));
    }
    let pick_s = |v: Vec<String>| keep.iter().map(|&i| v[i].clone()).collect::<Vec<_>>();
    let pick_i = |v: Vec<i64>| keep.iter().map(|&i| v[i]).collect::<Vec<_>>();
    let pick_f = |v: Vec<f64>| keep.iter().map(|&i| v[i]).collect::<Vec<_>>();
    Ok(Points {
        run_id: pick_s(columns::strings(&df, "run_id", path)?),
        jump_seed: pick_i(columns::i64s(&df, "jump_seed", path)?),
        step_size: pick_f(columns::f64s(&df, "step_size", path)?),
        epoch: pick_i(epochs),
        train_loss: pick_f(columns::f64s(&df, "train_loss", path)?),
        test_loss: pick_f(columns::f64s(&df, "test_loss", path)?),
        weights,
    })
}

/// The points of several files, in order (one file's points are returned
/// as they are, without copying its weights).
pub(crate) fn concat(mut points: Vec<Points>) -> Points {
    if points.len() == 1 {
        if let Some(one) = points.pop() {
            return one;
        }
    }
    let dim = points.first().map_or(0, |p| p.weights.ncols());
    let n: usize = points.iter().map(|p| p.epoch.len()).sum();
    let mut all = Points {
        run_id: Vec::with_capacity(n),
        jump_seed: Vec::with_capacity(n),
        step_size: Vec::with_capacity(n),
        epoch: Vec::with_capacity(n),
        train_loss: Vec::with_capacity(n),
        test_loss: Vec::with_capacity(n),
        weights: Array2::zeros((n, dim)),
    };
    let mut row = 0;
    for p in points {
        let m = p.epoch.len();
        all.weights.slice_mut(ndarray::s![row..row + m, ..]).assign(&p.weights);
        row += m;
        all.run_id.extend(p.run_id);
        all.jump_seed.extend(p.jump_seed);
        all.step_size.extend(p.step_size);
        all.epoch.extend(p.epoch);
        all.train_loss.extend(p.train_loss);
        all.test_loss.extend(p.test_loss);
    }
    all
}

