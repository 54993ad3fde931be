//! Frames of the landscape outputs in the store's schemas.

use basin_store::columns::f32_list_column;
use basin_store::polars::prelude::*;

use crate::errors::LandscapeResult;
use crate::probe::ProbePoint;

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
