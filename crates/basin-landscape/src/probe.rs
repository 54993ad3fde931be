//! The *naive* and *grid* baselines of Horoi et al. 2022 §4: losses at points
//! around a minimum θₒ, evaluated without retraining.
//!
//! * [`naive_probes`] — for every point of the net's jump-and-retrain
//!   trajectories, one fresh random filter-normalised direction dᵢ, scaled so
//!   that θᵢ = θₒ + cᵢ·dᵢ lies at that point's distance from θₒ.
//! * [`grid_probes`] — a regular R×R×R grid on [−1, 1]³ spanned by three
//!   random filter-normalised directions (R = 9 gives 729 points, about the
//!   656 points of a net's trajectories).
//!
//! Directions are drawn with [`basin_train::filter_normalized_direction`]
//! (biases and BatchNorm parameters stay at θₒ; BatchNorm running statistics
//! are θₒ's, as at a jump point without recomputation).

use basin_data::rng::stream;
use basin_train::{filter_normalized_direction, Model};

use crate::errors::{invalid, LandscapeError, LandscapeResult};
use crate::evaluate::{evaluate_points, EvalSets, PointMetrics};

/// Largest number of grid points [`grid_probes`] accepts (R = 100).
pub const MAX_GRID_POINTS: usize = 1_000_000;

/// One evaluated point around θₒ.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbePoint {
    /// Coefficients cᵢ along the method's directions.
    pub coords: Vec<f32>,
    /// ‖θ − θₒ‖, computed from the weights actually evaluated.
    pub distance: f64,
    /// Losses and accuracies at θ.
    pub metrics: PointMetrics,
}

/// Euclidean distance of every row from `theta0`, in f64.
///
/// # Errors
/// [`LandscapeError::BadRow`] naming `path` and the row when a row's length
/// differs from `theta0`'s (weights of another architecture).
pub fn distances_from(theta0: &[f32], rows: &[Vec<f32>], path: &std::path::Path) -> LandscapeResult<Vec<f64>> {
    rows.iter()
        .enumerate()
        .map(|(row, w)| {
            if w.len() != theta0.len() {
                return Err(LandscapeError::BadRow {
                    path: path.to_path_buf(),
                    row,
                    reason: format!("{} weights, the net has {} parameters (another architecture?)", w.len(), theta0.len()),
                });
            }
            Ok(distance(theta0, w))
        })
        .collect()
}

fn distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| (f64::from(y) - f64::from(x)).powi(2)).sum::<f64>().sqrt()
}

fn norm(v: &[f32]) -> f64 {
    v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt()
}

/// The naive baseline: point i lies at distance `distances[i]` from θₒ (the
/// model's weights) along its own random filter-normalised direction, drawn
/// from stream `probe-naive-<i>` of `seed`. Its coordinate is the scale c
/// with θ = θₒ + c·d. A non-finite distance gives a NaN point, kept.
///
/// # Errors
/// [`LandscapeError::InvalidParameter`] when the net has no parameter that a
/// filter-normalised direction moves; evaluation errors.
pub fn naive_probes(
    model: &Model,
    distances: &[f64],
    seed: u64,
    sets: &EvalSets,
    on_done: impl Fn() + Sync,
) -> LandscapeResult<Vec<ProbePoint>> {
    let theta0 = model.flat_weights()?;
    let direction = |i: usize| -> LandscapeResult<Vec<f32>> {
        Ok(filter_normalized_direction(model, &mut stream(seed, &format!("probe-naive-{i}")))?)
    };
    // Scales first (cheap, sequential) so the weights can be rebuilt in the
    // workers without keeping all points in memory.
    let mut scales = Vec::with_capacity(distances.len());
    for (i, &dist) in distances.iter().enumerate() {
        if !dist.is_finite() {
            scales.push(f64::NAN);
            continue;
        }
        let n = norm(&direction(i)?);
        if n == 0.0 {
            return Err(invalid("model", "a filter-normalised direction is zero: the net has no parameter with two or more dimensions"));
        }
        scales.push(dist / n);
    }
    let point = |i: usize| -> LandscapeResult<Option<Vec<f32>>> {
        if !scales[i].is_finite() {
            return Ok(None);
        }
        #[allow(clippy::cast_possible_truncation)]
        let c = scales[i] as f32;
        Ok(Some(theta0.iter().zip(direction(i)?).map(|(&t, d)| t + c * d).collect()))
    };
    let metrics = evaluate_points(model, distances.len(), point, sets, on_done)?;
    let mut out = Vec::with_capacity(distances.len());
    for (i, m) in metrics.into_iter().enumerate() {
        let distance = match point(i)? {
            Some(w) => distance(&theta0, &w),
            None => f64::NAN,
        };
        #[allow(clippy::cast_possible_truncation)]
        out.push(ProbePoint { coords: vec![scales[i] as f32], distance, metrics: m });
    }
    Ok(out)
}

/// The lattice of [`grid_probes`]: every (c₁, c₂, c₃) with cₖ =
/// −1 + 2·j/(R−1), j = 0…R−1, c₁ slowest and c₃ fastest.
///
/// # Errors
/// [`LandscapeError::InvalidParameter`] (`resolution`) when R < 2 or R³
/// exceeds [`MAX_GRID_POINTS`].
///
/// # Example
/// ```
/// let g = basin_landscape::grid_lattice(3).unwrap();
/// assert_eq!(g.len(), 27);
/// assert_eq!(g[0], [-1.0, -1.0, -1.0]);
/// assert_eq!(g[13], [0.0, 0.0, 0.0]);
/// assert_eq!(g[26], [1.0, 1.0, 1.0]);
/// ```
pub fn grid_lattice(resolution: usize) -> LandscapeResult<Vec<[f32; 3]>> {
    if resolution < 2 {
        return Err(invalid("resolution", format!("{resolution}: a grid needs at least 2 points per axis")));
    }
    let total = resolution.checked_pow(3).filter(|&t| t <= MAX_GRID_POINTS);
    if total.is_none() {
        return Err(invalid("resolution", format!("{resolution}³ points exceed the limit of {MAX_GRID_POINTS}")));
    }
    let axis = axis_values(resolution);
    let mut out = Vec::with_capacity(resolution.pow(3));
    for &a in &axis {
        for &b in &axis {
            for &c in &axis {
                out.push([a, b, c]);
            }
        }
    }
    Ok(out)
}

/// `resolution` evenly spaced values on [−1, 1], both ends included, the
/// middle one exactly 0 when `resolution` is odd.
#[must_use]
pub fn axis_values(resolution: usize) -> Vec<f32> {
    if resolution < 2 {
        return vec![0.0; resolution];
    }
    let last = (resolution - 1) as f64;
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    (0..resolution).map(|j| ((2.0 * j as f64 - last) / last) as f32).collect()
}

/// The grid baseline: θₒ + c₁d₁ + c₂d₂ + c₃d₃ over [`grid_lattice`], the
/// three directions drawn in turn from stream `probe-grid` of `seed`.
///
/// # Errors
/// Invalid resolution (see [`grid_lattice`]); evaluation errors.
pub fn grid_probes(
    model: &Model,
    resolution: usize,
    seed: u64,
    sets: &EvalSets,
    on_done: impl Fn() + Sync,
) -> LandscapeResult<Vec<ProbePoint>> {
    let lattice = grid_lattice(resolution)?;
    let theta0 = model.flat_weights()?;
    let mut rng = stream(seed, "probe-grid");
    let dirs: Vec<Vec<f32>> = (0..3).map(|_| filter_normalized_direction(model, &mut rng)).collect::<Result<_, _>>()?;
    let weights = |c: &[f32; 3]| -> Vec<f32> {
        (0..theta0.len()).map(|k| theta0[k] + c[0] * dirs[0][k] + c[1] * dirs[1][k] + c[2] * dirs[2][k]).collect()
    };
    let metrics = evaluate_points(model, lattice.len(), |i| Ok(Some(weights(&lattice[i]))), sets, on_done)?;
    Ok(lattice
        .iter()
        .zip(metrics)
        .map(|(c, m)| ProbePoint { coords: c.to_vec(), distance: distance(&theta0, &weights(c)), metrics: m })
        .collect())
}
