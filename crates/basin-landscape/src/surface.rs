//! Loss surfaces: the training loss on a regular grid of coefficients along
//! a few directions, θ = θ_c + Σₖ cₖ·dₖ (Li et al. 2018).

use basin_data::Dataset;
use basin_train::Model;

use crate::errors::{invalid, LandscapeError, LandscapeResult};
use crate::evaluate::evaluate_train_points;

/// Default memory budget of a surface: 2 GiB.
pub const DEFAULT_MEMORY_BUDGET: u128 = 2 << 30;

/// A loss surface: one point per element of the Cartesian product of its
/// axes, the first axis slowest.
#[derive(Debug, Clone, PartialEq)]
pub struct Surface {
    /// The coefficient values along each direction.
    pub axes: Vec<Vec<f32>>,
    /// Coefficients of every point, `axes.len()` values each.
    pub coords: Vec<Vec<f32>>,
    /// Training loss at every point (NaN/inf kept as computed).
    pub train_loss: Vec<f64>,
    /// Training accuracy at every point.
    pub train_acc: Vec<f64>,
}

impl Surface {
    /// Number of points along each axis.
    #[must_use]
    pub fn shape(&self) -> Vec<usize> {
        self.axes.iter().map(Vec::len).collect()
    }

    /// Index of the point whose per-axis indices are `idx` (first axis slowest).
    #[must_use]
    pub fn index(&self, idx: &[usize]) -> usize {
        idx.iter().zip(self.shape()).fold(0, |acc, (&i, n)| acc * n + i)
    }

    /// The training loss read off a 2-dimensional surface at (x, y) by
    /// bilinear interpolation between the four grid points around it; NaN
    /// outside the grid, for another dimension, or when a corner is not
    /// finite (nothing is imputed).
    #[must_use]
    pub fn interpolate_2d(&self, x: f64, y: f64) -> f64 {
        if self.axes.len() != 2 {
            return f64::NAN;
        }
        let (Some((i, tx)), Some((j, ty))) = (locate(&self.axes[0], x), locate(&self.axes[1], y)) else { return f64::NAN };
        let v = |a: usize, b: usize| self.train_loss[self.index(&[a, b])];
        let (v00, v01, v10, v11) = (v(i, j), v(i, j + 1), v(i + 1, j), v(i + 1, j + 1));
        (1.0 - tx) * ((1.0 - ty) * v00 + ty * v01) + tx * ((1.0 - ty) * v10 + ty * v11)
    }
}

/// The cell `i` with `axis[i] ≤ x ≤ axis[i+1]` and the fraction of the way
/// across it; `None` outside the axis.
fn locate(axis: &[f32], x: f64) -> Option<(usize, f64)> {
    if axis.len() < 2 || !x.is_finite() {
        return None;
    }
    let (lo, hi) = (f64::from(axis[0]), f64::from(axis[axis.len() - 1]));
    if x < lo || x > hi {
        return None;
    }
    let i = axis.windows(2).position(|w| x <= f64::from(w[1])).unwrap_or(axis.len() - 2);
    let (a, b) = (f64::from(axis[i]), f64::from(axis[i + 1]));
    Some((i, if b > a { (x - a) / (b - a) } else { 0.0 }))
}

/// `resolution` evenly spaced values from `lo` to `hi`, both included.
///
/// # Errors
/// [`LandscapeError::InvalidParameter`] (`resolution`, `range`) for fewer
/// than 2 points or a non-finite or empty range.
pub fn linspace(lo: f64, hi: f64, resolution: usize) -> LandscapeResult<Vec<f32>> {
    if resolution < 2 {
        return Err(invalid("resolution", format!("{resolution}: an axis needs at least 2 points")));
    }
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return Err(invalid("range", format!("[{lo}, {hi}] is not a finite, non-empty interval")));
    }
    let last = (resolution - 1) as f64;
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    Ok((0..resolution).map(|j| (lo + (hi - lo) * j as f64 / last) as f32).collect())
}

/// Bytes a surface needs: the result table (coordinates, two metrics, row
/// overhead), the directions, and one weight vector and net per worker.
/// Saturates at `u128::MAX` instead of overflowing.
#[must_use]
pub fn estimate_surface_bytes(n_points: u128, dims: u128, n_parameters: u128, workers: u128) -> u128 {
    let table = n_points.saturating_mul(dims.saturating_mul(4).saturating_add(16 + 48));
    let directions = dims.saturating_add(1).saturating_mul(n_parameters).saturating_mul(4);
    let nets = workers.saturating_mul(n_parameters).saturating_mul(12);
    table.saturating_add(directions).saturating_add(nets)
}

/// Refuses a grid with `shape` points per axis for a net of `n_parameters`
/// when [`estimate_surface_bytes`] exceeds `memory_budget` bytes: call it
/// before computing directions (Hessian directions cost Lanczos steps).
///
/// # Errors
/// [`LandscapeError::MemoryBudget`] naming the number of grid points.
///
/// # Example
/// ```
/// use basin_landscape::check_surface_budget;
/// assert!(check_surface_budget(&[51, 51], 4810, 1 << 30).is_ok());
/// let e = check_surface_budget(&[41; 4], 4810, 1 << 20).unwrap_err();
/// assert!(e.to_string().contains("2825761 grid points"));
/// ```
pub fn check_surface_budget(shape: &[usize], n_parameters: usize, memory_budget: u128) -> LandscapeResult<()> {
    let n_points = shape.iter().try_fold(1u128, |acc, &a| acc.checked_mul(a as u128)).unwrap_or(u128::MAX);
    let workers = rayon::current_num_threads() as u128;
    let bytes = estimate_surface_bytes(n_points, shape.len() as u128, n_parameters as u128, workers);
    if bytes > memory_budget || n_points > usize::MAX as u128 {
        return Err(LandscapeError::MemoryBudget {
            estimated_bytes: bytes,
            budget_bytes: memory_budget,
            advice: format!("{n_points} grid points: lower the resolution or the number of directions"),
        });
    }
    Ok(())
}

/// Evaluates the training loss and accuracy over the grid `axes` of
/// coefficients along `directions` around `centre`, in parallel over points.
///
/// # Arguments
/// * `model` — the net (architecture and buffers; its weights are not used).
/// * `centre` — θ_c, flattened.
/// * `directions` — one direction per axis, flattened like `centre`.
/// * `axes` — the coefficient values along each direction.
/// * `train` — the training split.
/// * `memory_budget` — bytes the surface may use (see [`estimate_surface_bytes`]).
/// * `on_done` — called once per evaluated point.
///
/// # Errors
/// [`LandscapeError::MemoryBudget`] when the grid is too large (refused
/// before any work), [`LandscapeError::InvalidParameter`] for mismatched
/// lengths, evaluation errors.
pub fn surface(
    model: &Model,
    centre: &[f32],
    directions: &[Vec<f32>],
    axes: &[Vec<f32>],
    train: &Dataset,
    memory_budget: u128,
    on_done: impl Fn() + Sync,
) -> LandscapeResult<Surface> {
    if directions.len() != axes.len() || axes.is_empty() {
        return Err(invalid("directions", format!("{} directions for {} axes", directions.len(), axes.len())));
    }
    let n = centre.len();
    if n != model.n_parameters() || directions.iter().any(|d| d.len() != n) {
        return Err(invalid("directions", format!("weights and directions must have the net's {} parameters", model.n_parameters())));
    }
    let shape: Vec<usize> = axes.iter().map(Vec::len).collect();
    check_surface_budget(&shape, n, memory_budget)?;
    let n_points: usize = shape.iter().product();
    #[allow(clippy::cast_possible_truncation)]
    let coords: Vec<Vec<f32>> = (0..n_points)
        .map(|mut i| {
            let mut c = vec![0.0f32; shape.len()];
            for k in (0..shape.len()).rev() {
                c[k] = axes[k][i % shape[k]];
                i /= shape[k];
            }
            c
        })
        .collect();
    let weights = |i: usize| -> LandscapeResult<Option<Vec<f32>>> {
        let c = &coords[i];
        Ok(Some((0..n).map(|j| centre[j] + directions.iter().zip(c).map(|(d, &ck)| ck * d[j]).sum::<f32>()).collect()))
    };
    let metrics = evaluate_train_points(model, coords.len(), weights, train, on_done)?;
    Ok(Surface {
        axes: axes.to_vec(),
        coords,
        train_loss: metrics.iter().map(|m| m.loss).collect(),
        train_acc: metrics.iter().map(|m| m.accuracy).collect(),
    })
}
