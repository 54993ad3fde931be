//! Frames of the landscape outputs in the store's schemas.

use basin_store::columns::f32_list_column;
use basin_store::polars::prelude::*;

use crate::errors::LandscapeResult;
use crate::probe::ProbePoint;
use crate::surface::Surface;

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
