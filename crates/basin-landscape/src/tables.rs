//! Frames of the landscape outputs in the store's schemas.

use basin_store::columns::f32_list_column;
use basin_store::polars::prelude::*;

use crate::errors::LandscapeResult;
use crate::probe::ProbePoint;
use crate::hessian::estimators::{Estimate, HessianReport};
use crate::surface::Surface;
use crate::topology::merge_tree::{MergeTree, NodeKind};
use crate::topology::smad::Smad;

/// A `probes` frame (see `basin_store::schema::PROBES`): one row per point,
/// `sample` numbering the points in order. Non-finite losses are written as
/// NaN with `finite = false`.
///
/// # Errors
/// Polars errors when building the frame.
pub fn probes_frame(run_id: &str, method: &str, points: &[ProbePoint]) -> LandscapeResult<DataFrame> {
    let n = points.len();
    let f = |g: fn(&ProbePoint) -> f64| points.iter().map(|p| nan_if_not_finite(g(p))).collect::<Vec<f64>>();
    let coords: Vec<Vec<f32>> = points.iter().map(|p| p.coords.clone()).collect();
    #[allow(clippy::cast_possible_wrap)]
    let sample: Vec<i64> = (0..n as i64).collect();
    let df = DataFrame::new(
        n,
        vec![
            Column::new("run_id".into(), vec![run_id; n]),
            Column::new("method".into(), vec![method; n]),
            Column::new("sample".into(), sample),
            f32_list_column("coords", &coords),
            Column::new("distance".into(), points.iter().map(|p| p.distance).collect::<Vec<f64>>()),
            Column::new("train_loss".into(), f(|p| p.metrics.train_loss)),
            Column::new("train_acc".into(), f(|p| p.metrics.train_acc)),
            Column::new("val_loss".into(), f(|p| p.metrics.val_loss)),
            Column::new("val_acc".into(), f(|p| p.metrics.val_acc)),
            Column::new("test_loss".into(), f(|p| p.metrics.test_loss)),
            Column::new("test_acc".into(), f(|p| p.metrics.test_acc)),
            Column::new("finite".into(), points.iter().map(|p| p.metrics.is_finite()).collect::<Vec<bool>>()),
        ],
    )?;
    Ok(df)
}

/// The schema says "NaN when not finite": ±inf becomes NaN, the `finite`
/// column keeps the flag.
fn nan_if_not_finite(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        f64::NAN
    }
}

/// A `surfaces` frame (see `basin_store::schema::SURFACES`).
///
/// # Errors
/// Polars errors when building the frame.
pub fn surfaces_frame(run_id: &str, name: &str, s: &Surface) -> LandscapeResult<DataFrame> {
    let n = s.coords.len();
    #[allow(clippy::cast_possible_wrap)]
    let point: Vec<i64> = (0..n as i64).collect();
    Ok(DataFrame::new(
        n,
        vec![
            Column::new("run_id".into(), vec![run_id; n]),
            Column::new("surface".into(), vec![name; n]),
            Column::new("point".into(), point),
            f32_list_column("coords", &s.coords),
            Column::new("train_loss".into(), s.train_loss.iter().map(|&v| nan_if_not_finite(v)).collect::<Vec<f64>>()),
            Column::new("train_acc".into(), s.train_acc.clone()),
            Column::new("finite".into(), s.train_loss.iter().map(|v| v.is_finite()).collect::<Vec<bool>>()),
        ],
    )?)
}

/// One projected point of an optimizer path (a `paths` row).
#[derive(Debug, Clone, PartialEq)]
pub struct PathPoint {
    /// Epoch of the point in its trajectory.
    pub epoch: i64,
    /// Coordinates on the plane.
    pub coords: Vec<f64>,
    /// Distance off the plane.
    pub off_plane: f64,
    /// Training loss at the point itself.
    pub true_loss: f64,
    /// Training loss read off the surface at the projection.
    pub surface_loss: f64,
}

/// A `paths` frame (see `basin_store::schema::PATHS`).
///
/// # Errors
/// Polars errors when building the frame.
pub fn paths_frame(run_id: &str, surface: &str, explained_variance: f64, points: &[PathPoint]) -> LandscapeResult<DataFrame> {
    let n = points.len();
    #[allow(clippy::cast_possible_wrap)]
    let index: Vec<i64> = (0..n as i64).collect();
    #[allow(clippy::cast_possible_truncation)]
    let coords: Vec<Vec<f32>> = points.iter().map(|p| p.coords.iter().map(|&c| c as f32).collect()).collect();
    Ok(DataFrame::new(
        n,
        vec![
            Column::new("run_id".into(), vec![run_id; n]),
            Column::new("surface".into(), vec![surface; n]),
            Column::new("point".into(), index),
            Column::new("epoch".into(), points.iter().map(|p| p.epoch).collect::<Vec<i64>>()),
            f32_list_column("coords", &coords),
            Column::new("off_plane".into(), points.iter().map(|p| p.off_plane).collect::<Vec<f64>>()),
            Column::new("true_loss".into(), points.iter().map(|p| nan_if_not_finite(p.true_loss)).collect::<Vec<f64>>()),
            Column::new("surface_loss".into(), points.iter().map(|p| nan_if_not_finite(p.surface_loss)).collect::<Vec<f64>>()),
            Column::new("explained_variance".into(), vec![explained_variance; n]),
            Column::new("finite".into(), points.iter().map(|p| p.true_loss.is_finite() && p.off_plane.is_finite()).collect::<Vec<bool>>()),
        ],
    )?)
}

/// A `hessian` frame (see `basin_store::schema::HESSIAN`) of one report.
///
/// # Errors
/// Polars errors when building the frame.
pub fn hessian_frame(run_id: &str, rep: &HessianReport, subsampled_top: Option<&Estimate>) -> LandscapeResult<DataFrame> {
    let mut rows = HessianRows::default();
    let nan = f64::NAN;
    if let Some(e) = subsampled_top {
        let (lo, hi) = e.ci95();
        #[allow(clippy::cast_precision_loss)]
        rows.push("all", "eigenvalue_subsampled", 0, e.mean, [lo, hi, nan, e.n as f64]);
    }
    rows.push("all", "loss", 0, rep.loss, [nan; 4]);
    rows.push("all", "gradient_norm", 0, rep.gradient_norm, [nan; 4]);
    rows.push("all", "sharpness", 0, rep.sharpness, [nan; 4]);
    for b in &rep.blocks {
        let name = b.block.as_str();
        #[allow(clippy::cast_precision_loss)]
        rows.push(name, "n_parameters", 0, b.n_parameters as f64, [nan; 4]);
        for (k, (v, r)) in b.top_eigenvalues.iter().zip(&b.top_residuals).enumerate() {
            rows.push(name, "eigenvalue", k, *v, [nan, nan, *r, nan]);
        }
        rows.push(name, "min_eigenvalue", 0, b.min_eigenvalue, [nan, nan, b.min_residual, nan]);
        rows.push(name, "eig_ratio", 0, b.eig_ratio(), [nan; 4]);
        let (lo, hi) = b.trace.ci95();
        #[allow(clippy::cast_precision_loss)]
        rows.push(name, "trace", 0, b.trace.mean, [lo, hi, nan, b.trace.n as f64]);
        for (k, v) in b.convergence.iter().enumerate() {
            rows.push(name, "lanczos_step", k, *v, [nan; 4]);
        }
        if !b.slq.is_empty() {
            for (k, (x, w)) in b.slq.iter().enumerate() {
                rows.push(name, "slq_node", k, *x, [nan, nan, nan, *w]);
            }
            rows.push(name, "slq_trace", 0, b.slq_trace(), [nan; 4]);
        }
    }
    rows.frame(run_id)
}

/// The `features` rows (feature set `landscape`) of a Hessian report: the
/// whole net's `top_eigenvalue`, `min_eigenvalue`, `eig_ratio`, `trace`,
/// `sharpness`, `loss`, and per layer `top_eigenvalue:<layer>` and
/// `trace:<layer>`.
///
/// # Errors
/// Polars errors when building the frame.
pub fn hessian_features_frame(run_id: &str, rep: &HessianReport) -> LandscapeResult<DataFrame> {
    let mut names = Vec::new();
    let mut values = Vec::new();
    let all = &rep.blocks[0];
    for (n, v) in [
        ("top_eigenvalue", all.top_eigenvalues[0]),
        ("min_eigenvalue", all.min_eigenvalue),
        ("eig_ratio", all.eig_ratio()),
        ("trace", all.trace.mean),
        ("sharpness", rep.sharpness),
        ("loss", rep.loss),
    ] {
        names.push(n.to_owned());
        values.push(v);
    }
    for b in &rep.blocks[1..] {
        names.push(format!("top_eigenvalue:{}", b.block));
        values.push(b.top_eigenvalues[0]);
        names.push(format!("trace:{}", b.block));
        values.push(b.trace.mean);
    }
    features_frame(run_id, &names, &values)
}

/// A `features` frame (feature set `landscape`).
///
/// # Errors
/// Polars errors when building the frame.
pub fn features_frame(run_id: &str, names: &[String], values: &[f64]) -> LandscapeResult<DataFrame> {
    let n = names.len();
    Ok(DataFrame::new(
        n,
        vec![
            Column::new("run_id".into(), vec![run_id; n]),
            Column::new("feature_set".into(), vec!["landscape"; n]),
            Column::new("feature".into(), names.to_vec()),
            Column::new("value".into(), values.to_vec()),
        ],
    )?)
}

#[derive(Default)]
struct HessianRows {
    block: Vec<String>,
    statistic: Vec<&'static str>,
    index: Vec<i64>,
    value: Vec<f64>,
    extra: [Vec<f64>; 4],
}

impl HessianRows {
    fn push(&mut self, block: &str, statistic: &'static str, index: usize, value: f64, extra: [f64; 4]) {
        self.block.push(block.to_owned());
        self.statistic.push(statistic);
        self.index.push(i64::try_from(index).unwrap_or(i64::MAX));
        self.value.push(value);
        for (col, v) in self.extra.iter_mut().zip(extra) {
            col.push(v);
        }
    }

    fn frame(self, run_id: &str) -> LandscapeResult<DataFrame> {
        let n = self.value.len();
        let [lo, hi, res, w] = self.extra;
        Ok(DataFrame::new(
            n,
            vec![
                Column::new("run_id".into(), vec![run_id; n]),
                Column::new("block".into(), self.block),
                Column::new("statistic".into(), self.statistic),
                Column::new("index".into(), self.index),
                Column::new("value".into(), self.value),
                Column::new("ci_low".into(), lo),
                Column::new("ci_high".into(), hi),
                Column::new("residual".into(), res),
                Column::new("weight".into(), w),
            ],
        )?)
    }
}

/// A `merge_trees` frame (see `basin_store::schema::MERGE_TREES`).
///
/// # Errors
/// Polars errors when building the frame.
pub fn merge_tree_frame(run_id: &str, source: &str, tree: &MergeTree) -> LandscapeResult<DataFrame> {
    let n = tree.nodes.len();
    let mut persistence = vec![f64::NAN; n];
    for p in &tree.pairs {
        if let Some(i) = tree.nodes.iter().position(|nd| nd.kind == NodeKind::Minimum && nd.vertex == p.birth_vertex) {
            persistence[i] = p.persistence();
        }
    }
    let idx = |i: usize| i64::try_from(i).unwrap_or(i64::MAX);
    Ok(DataFrame::new(
        n,
        vec![
            Column::new("run_id".into(), vec![run_id; n]),
            Column::new("source".into(), vec![source; n]),
            Column::new("node".into(), (0..n).map(idx).collect::<Vec<i64>>()),
            Column::new("parent".into(), tree.nodes.iter().map(|nd| nd.parent.map_or(-1, idx)).collect::<Vec<i64>>()),
            Column::new("vertex".into(), tree.nodes.iter().map(|nd| idx(nd.vertex)).collect::<Vec<i64>>()),
            Column::new("value".into(), tree.nodes.iter().map(|nd| nd.value).collect::<Vec<f64>>()),
            Column::new(
                "kind".into(),
                tree.nodes.iter().map(|nd| if nd.kind == NodeKind::Minimum { "minimum" } else { "saddle" }).collect::<Vec<&str>>(),
            ),
            Column::new("persistence".into(), persistence),
        ],
    )?)
}

/// A `diagrams` frame of a merge tree's H0 pairs, `source` prefixed `merge-tree:`.
///
/// # Errors
/// Polars errors when building the frame.
pub fn merge_tree_diagram_frame(run_id: &str, source: &str, tree: &MergeTree) -> LandscapeResult<DataFrame> {
    let n = tree.pairs.len();
    Ok(DataFrame::new(
        n,
        vec![
            Column::new("source".into(), vec![format!("merge-tree:{source}"); n]),
            Column::new("run_id".into(), vec![run_id; n]),
            Column::new("dim".into(), vec![0i64; n]),
            Column::new("birth".into(), tree.pairs.iter().map(|p| p.birth).collect::<Vec<f64>>()),
            Column::new("death".into(), tree.pairs.iter().map(|p| p.death).collect::<Vec<f64>>()),
            Column::new("essential".into(), tree.pairs.iter().map(|p| p.death.is_infinite()).collect::<Vec<bool>>()),
        ],
    )?)
}

/// The `features` rows of a merge tree: `<prefix>n_minima`, `n_saddles`,
/// `avg_persistence`, `max_persistence`, `n_nonfinite`, and the Landscaper
/// paper's SMAD as `smad`, `smad_normalized` and `smad_weighted` (see
/// [`crate::topology::smad`]).
///
/// # Errors
/// Polars errors when building the frame.
pub fn merge_tree_features_frame(run_id: &str, prefix: &str, tree: &MergeTree, smad: &Smad) -> LandscapeResult<DataFrame> {
    #[allow(clippy::cast_precision_loss)]
    let rows = [
        ("n_minima", tree.n_minima() as f64),
        ("n_saddles", tree.n_saddles() as f64),
        ("avg_persistence", tree.average_persistence()),
        ("max_persistence", tree.max_persistence()),
        ("n_nonfinite", tree.n_nonfinite as f64),
        ("smad", smad.plain),
        ("smad_normalized", smad.normalized),
        ("smad_weighted", smad.weighted),
    ];
    let names: Vec<String> = rows.iter().map(|(n, _)| format!("{prefix}{n}")).collect();
    let values: Vec<f64> = rows.iter().map(|(_, v)| *v).collect();
    features_frame(run_id, &names, &values)
}
