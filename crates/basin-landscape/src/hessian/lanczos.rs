//! Lanczos iteration with full reorthogonalisation for a symmetric operator
//! given only through matrix-vector products (Golub & Van Loan §10.1).
//!
//! After m steps, T_m = Qᵀ A Q is tridiagonal; its eigenvalues (Ritz values)
//! approximate A's extreme eigenvalues first. For a Ritz pair (θ, y = Q s)
//! the residual ‖A y − θ y‖ equals |β_m · s_m| (the last entry of s), so
//! every estimate comes with its own error bound at no extra cost.

use nalgebra::{DMatrix, SymmetricEigen};
use rand::Rng;
use rand_distr::StandardNormal;

use crate::errors::{invalid, LandscapeResult};

/// Result of a Lanczos run.
#[derive(Debug, Clone, PartialEq)]
pub struct LanczosResult {
    /// Ritz values, largest first.
    pub ritz_values: Vec<f64>,
    /// Residual bound |β_m s_m| of each Ritz value, same order.
    pub residuals: Vec<f64>,
    /// Squared first components τₖ² of the eigenvectors of T (quadrature
    /// weights for stochastic Lanczos quadrature), same order.
    pub weights: Vec<f64>,
    /// Ritz vectors of the `n_vectors` largest Ritz values (unit norm).
    pub ritz_vectors: Vec<Vec<f64>>,
    /// Largest Ritz value after each step: the convergence trace.
    pub trace: Vec<f64>,
    /// Steps taken (fewer than asked when the Krylov space closed).
    pub steps: usize,
}

/// Runs `steps` Lanczos steps of `apply` (a symmetric operator on ℝⁿ) from
/// the start vector `start`.
///
/// # Arguments
/// * `n` — dimension.
/// * `apply` — v ↦ A·v.
/// * `start` — start vector (any non-zero vector; normalised here).
/// * `steps` — Krylov dimension m (capped at n).
/// * `n_vectors` — how many top Ritz vectors to form.
///
/// # Errors
/// [`crate::LandscapeError::InvalidParameter`] for `steps` = 0, a zero or
/// non-finite start or operator output; errors of `apply`.
pub fn lanczos<F>(n: usize, mut apply: F, start: &[f64], steps: usize, n_vectors: usize) -> LandscapeResult<LanczosResult>
where
    F: FnMut(&[f64]) -> LandscapeResult<Vec<f64>>,
{
    if steps == 0 || n == 0 {
        return Err(invalid("steps", "Lanczos needs at least one step and a non-empty space"));
    }
    let steps = steps.min(n);
    let norm0 = norm(start);
    if !(norm0.is_finite() && norm0 > 0.0) || start.len() != n {
        return Err(invalid("start", "the start vector must be finite, non-zero and of the operator's dimension"));
    }
    let mut q: Vec<Vec<f64>> = vec![start.iter().map(|x| x / norm0).collect()];
    let (mut alpha, mut beta) = (Vec::with_capacity(steps), Vec::with_capacity(steps));
    let mut trace = Vec::with_capacity(steps);
    for j in 0..steps {
        let mut w = apply(&q[j])?;
        if w.len() != n || w.iter().any(|x| !x.is_finite()) {
            return Err(invalid("operator", format!("step {j}: the product is not finite (NaN loss or gradient at θ?)")));
        }
        let a = dot(&w, &q[j]);
        alpha.push(a);
        // Full reorthogonalisation, twice ("twice is enough", Parlett).
        for _ in 0..2 {
            for qi in &q {
                let c = dot(&w, qi);
                w.iter_mut().zip(qi).for_each(|(wk, qk)| *wk -= c * qk);
            }
        }
        let b = norm(&w);
        trace.push(tridiagonal_eigen(&alpha, &beta).0.first().copied().unwrap_or(f64::NAN));
        let scale = alpha.iter().map(|a: &f64| a.abs()).fold(0.0f64, f64::max).max(1e-300);
        if j + 1 == steps || b <= 1e-12 * scale {
            beta.push(b);
            break;
        }
        beta.push(b);
        q.push(w.iter().map(|x| x / b).collect());
    }
    let m = alpha.len();
    let (values, vectors) = tridiagonal_eigen(&alpha, &beta[..m - 1]);
    let last_beta = beta[m - 1];
    let residuals = (0..m).map(|k| (last_beta * vectors[(m - 1, k)]).abs()).collect();
    let weights = (0..m).map(|k| vectors[(0, k)].powi(2)).collect();
    let ritz_vectors = (0..n_vectors.min(m))
        .map(|k| {
            let mut y = vec![0.0; n];
            for (i, qi) in q.iter().take(m).enumerate() {
                let s = vectors[(i, k)];
                y.iter_mut().zip(qi).for_each(|(yk, qk)| *yk += s * qk);
            }
            y
        })
        .collect();
    Ok(LanczosResult { ritz_values: values, residuals, weights, ritz_vectors, trace, steps: m })
}

/// Eigenvalues (largest first) and eigenvectors (columns, same order) of
/// the symmetric tridiagonal matrix with diagonal `alpha` and off-diagonal `beta`.
fn tridiagonal_eigen(alpha: &[f64], beta: &[f64]) -> (Vec<f64>, DMatrix<f64>) {
    let m = alpha.len();
    if m == 0 {
        return (Vec::new(), DMatrix::zeros(0, 0));
    }
    let t = DMatrix::from_fn(m, m, |i, j| {
        if i == j {
            alpha[i]
        } else if i + 1 == j && i < beta.len() {
            beta[i]
        } else if j + 1 == i && j < beta.len() {
            beta[j]
        } else {
            0.0
        }
    });
    let e = SymmetricEigen::new(t);
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| e.eigenvalues[b].total_cmp(&e.eigenvalues[a]));
    let values = order.iter().map(|&k| e.eigenvalues[k]).collect();
    let vectors = DMatrix::from_fn(m, m, |i, k| e.eigenvectors[(i, order[k])]);
    (values, vectors)
}

/// A standard normal start vector from `rng`.
pub fn gaussian_vector<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<f64> {
    (0..n).map(|_| rng.sample(StandardNormal)).collect()
}

/// A Rademacher (±1) vector from `rng`.
pub fn rademacher_vector<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<f64> {
    (0..n).map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 }).collect()
}

pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub(crate) fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}
