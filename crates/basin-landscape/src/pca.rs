//! PCA directions of an optimizer path (Li et al. 2018 §7): the principal
//! components of the matrix [θᵢ − θ_final] over the path's saved points, and
//! every point's projection onto them.
//!
//! The fit follows scikit-learn's `PCA` (columns centred, components from the
//! SVD, `explained_variance_ratio_`), computed through the n × n Gram matrix
//! since a path has far fewer points than the net has parameters. Signs are
//! fixed so that each component's entry of largest magnitude is positive.
//! Projections follow Li et al.'s `project_trajectory`: coordinates are the
//! dot products of θᵢ − θ_final with the unit components (not centred).

use nalgebra::{DMatrix, SymmetricEigen};

use crate::errors::{invalid, LandscapeResult};

/// Principal directions of a path and the path projected onto them.
#[derive(Debug, Clone, PartialEq)]
pub struct PathPca {
    /// Unit-norm principal directions, largest variance first.
    pub directions: Vec<Vec<f32>>,
    /// Share of the variance of [θᵢ − θ_final] each direction explains.
    pub explained_variance_ratio: Vec<f64>,
    /// Coordinates ⟨θᵢ − θ_final, dₖ⟩ of every path point (NaN for a point
    /// with non-finite weights, which is kept but not fitted).
    pub coords: Vec<Vec<f64>>,
    /// Distance of every point from the plane (span of the directions
    /// through θ_final): ‖(θᵢ − θ_final) − Σₖ cᵢₖ dₖ‖.
    pub off_plane: Vec<f64>,
}

/// Fits `n_components` PCA directions to `path` relative to `origin`
/// (θ_final) and projects every point.
///
/// # Errors
/// [`crate::LandscapeError::InvalidParameter`] when rows have other lengths
/// than `origin` (`path`, naming the row) or when fewer than
/// `n_components + 1` rows are finite (`n_components`).
pub fn path_pca(path: &[Vec<f32>], origin: &[f32], n_components: usize) -> LandscapeResult<PathPca> {
    let p = origin.len();
    if let Some(row) = path.iter().position(|r| r.len() != p) {
        return Err(invalid("path", format!("row {row} has {} weights, the origin {p} (another architecture?)", path[row].len())));
    }
    let finite: Vec<usize> = (0..path.len()).filter(|&i| path[i].iter().all(|v| v.is_finite())).collect();
    if n_components == 0 || finite.len() < n_components + 1 {
        return Err(invalid("n_components", format!("{n_components} components need at least {} finite path points, got {}", n_components + 1, finite.len())));
    }
    let diff = |i: usize, j: usize| f64::from(path[i][j]) - f64::from(origin[j]);
    // Column means of the fitted rows.
    let m = finite.len();
    let mut mean = vec![0.0f64; p];
    for &i in &finite {
        for (j, mj) in mean.iter_mut().enumerate() {
            *mj += diff(i, j);
        }
    }
    mean.iter_mut().for_each(|v| *v /= m as f64);
    let centred: Vec<Vec<f64>> = finite.iter().map(|&i| (0..p).map(|j| diff(i, j) - mean[j]).collect()).collect();
    let gram = DMatrix::from_fn(m, m, |a, b| dot(&centred[a], &centred[b]));
    let eig = SymmetricEigen::new(gram);
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
    let total: f64 = eig.eigenvalues.iter().map(|v| v.max(0.0)).sum();
    let mut directions = Vec::with_capacity(n_components);
    let mut explained = Vec::with_capacity(n_components);
    for &k in order.iter().take(n_components) {
        let lambda = eig.eigenvalues[k];
        if lambda <= total * 1e-12 || lambda <= 0.0 {
            return Err(invalid("n_components", format!("the path spans fewer than {n_components} dimensions")));
        }
        let u = eig.eigenvectors.column(k);
        let mut d: Vec<f64> = (0..p).map(|j| (0..m).map(|a| centred[a][j] * u[a]).sum::<f64>()).collect();
        let norm = dot(&d, &d).sqrt();
        let big = d.iter().copied().fold(0.0f64, |acc, v| if v.abs() > acc.abs() { v } else { acc });
        let sign = if big < 0.0 { -1.0 } else { 1.0 };
        d.iter_mut().for_each(|v| *v *= sign / norm);
        directions.push(d);
        explained.push(lambda / total);
    }
    let mut coords = Vec::with_capacity(path.len());
    let mut off_plane = Vec::with_capacity(path.len());
    for i in 0..path.len() {
        if !finite.contains(&i) {
            coords.push(vec![f64::NAN; n_components]);
            off_plane.push(f64::NAN);
            continue;
        }
        let v: Vec<f64> = (0..p).map(|j| diff(i, j)).collect();
        let c: Vec<f64> = directions.iter().map(|d| dot(&v, d)).collect();
        let residual: f64 = (0..p).map(|j| (v[j] - directions.iter().zip(&c).map(|(d, ck)| ck * d[j]).sum::<f64>()).powi(2)).sum();
        coords.push(c);
        off_plane.push(residual.sqrt());
    }
    #[allow(clippy::cast_possible_truncation)]
    let directions = directions.into_iter().map(|d| d.into_iter().map(|v| v as f32).collect()).collect();
    Ok(PathPca { directions, explained_variance_ratio: explained, coords, off_plane })
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
