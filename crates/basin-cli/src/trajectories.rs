//! Trajectory rows to and from the `trajectories` schema.

use std::path::Path;

use anyhow::Result;
use basin_store::columns::f32_list_column;
use basin_store::polars::prelude::*;
use basin_train::TrajectoryPoint;

/// The key of one trajectory: which net, direction and step.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrajectoryKey<'a> {
    pub run_id: &'a str,
    pub jump_seed: u64,
    pub step_size: f64,
}

/// One `trajectories` frame from the points of one shard.
pub(crate) fn frame(key: &TrajectoryKey<'_>, points: &[TrajectoryPoint]) -> Result<DataFrame> {
    let n = points.len();
    let f = |g: fn(&TrajectoryPoint) -> f64| points.iter().map(g).collect::<Vec<f64>>();
    let weights: Vec<Vec<f32>> = points.iter().map(|p| p.weights.clone()).collect();
    let seed = i64::try_from(key.jump_seed)?;
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
