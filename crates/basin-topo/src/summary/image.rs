//! Persistence images (Adams et al. 2017), with gudhi's discretisation.

use ndarray::Array2;

use crate::{PersistencePair, TopoError, TopoResult};

/// The weight of a point, a function of its persistence `ℓ = death − birth`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum ImageWeight {
    /// Every point weighs 1.
    #[default]
    Constant,
    /// `ℓ^q`: `q = 1` is the linear ramp that makes the image continuous
    /// near the diagonal.
    PersistencePower(f64),
}

/// Parameters of [`persistence_image`].
#[derive(Debug, Clone, PartialEq)]
pub struct PersistenceImageParams {
    /// Standard deviation of the Gaussian (`> 0`).
    pub bandwidth: f64,
    /// Weight of a point.
    pub weight: ImageWeight,
    /// Pixels along birth and along persistence (`[nx, ny]`, both `≥ 1`).
    pub resolution: [usize; 2],
    /// `[birth_min, birth_max, persistence_min, persistence_max]`: the first
    /// and last pixel centres on each axis.
    pub range: [f64; 4],
}

/// The persistence image of the finite bars.
///
/// Each bar `(b, d)` becomes the point `(b, ℓ = d − b)`; the image at pixel
/// centre `(x, y)` is `Σ w(ℓ) · exp(−((x − b)² + (y − ℓ)²) / 2σ²) / (2πσ²)`,
/// with pixel centres `linspace(birth_min, birth_max, nx)` ×
/// `linspace(persistence_min, persistence_max, ny)` — gudhi's
/// `PersistenceImage`. Essential bars are skipped.
///
/// # Returns
/// An `ny × nx` array (row = persistence, column = birth); its row-major
/// flattening is gudhi's feature vector.
///
/// # Errors
/// [`TopoError::InvalidParameter`] for a bandwidth that is not finite and
/// positive, a zero resolution, a non-finite or reversed range, or a
/// non-finite weight exponent.
///
/// # Example
/// ```
/// use basin_topo::summary::{persistence_image, ImageWeight, PersistenceImageParams};
/// use basin_topo::PersistencePair;
/// let params = PersistenceImageParams {
///     bandwidth: 1.0,
///     weight: ImageWeight::Constant,
///     resolution: [2, 1],
///     range: [0.0, 1.0, 1.0, 1.0],
/// };
/// let img = persistence_image(&[PersistencePair { dim: 0, birth: 0.0, death: 1.0 }], &params).unwrap();
/// let peak = 1.0 / (2.0 * std::f64::consts::PI);
/// assert!((img[[0, 0]] - peak).abs() < 1e-15);
/// assert!((img[[0, 1]] - peak * (-0.5f64).exp()).abs() < 1e-15);
/// ```
pub fn persistence_image(
    pairs: &[PersistencePair],
    params: &PersistenceImageParams,
) -> TopoResult<Array2<f64>> {
    check(params)?;
    let [nx, ny] = params.resolution;
    let [x0, x1, y0, y1] = params.range;
    let xs = super::linspace(x0, x1, nx);
    let ys = super::linspace(y0, y1, ny);
    let two_var = 2.0 * params.bandwidth * params.bandwidth;
    let norm = 1.0 / (std::f64::consts::PI * two_var);
    let mut image = Array2::zeros((ny, nx));
    for bar in pairs.iter().filter(|b| b.death.is_finite()) {
        let (b, l) = (bar.birth, bar.persistence());
        let w = match params.weight {
            ImageWeight::Constant => 1.0,
            ImageWeight::PersistencePower(q) => l.powf(q),
        };
        // The Gaussian factorises: one exponential per column and per row.
        let gx: Vec<f64> = xs.iter().map(|&x| (-(x - b) * (x - b) / two_var).exp()).collect();
        for (iy, &y) in ys.iter().enumerate() {
            let gy = w * norm * (-(y - l) * (y - l) / two_var).exp();
            for (ix, &g) in gx.iter().enumerate() {
                image[[iy, ix]] += gy * g;
            }
        }
    }
    Ok(image)
}

fn check(params: &PersistenceImageParams) -> TopoResult<()> {
    let bad = |name, reason: String| Err(TopoError::InvalidParameter { name, reason });
    if !(params.bandwidth.is_finite() && params.bandwidth > 0.0) {
        return bad("bandwidth", format!("{} must be finite and > 0", params.bandwidth));
    }
    if params.resolution.contains(&0) {
        return bad("resolution", format!("{:?} must have both entries ≥ 1", params.resolution));
    }
    let [x0, x1, y0, y1] = params.range;
    if !params.range.iter().all(|v| v.is_finite()) || x0 > x1 || y0 > y1 {
        return bad(
            "range",
            format!("{:?} must be finite with min ≤ max on both axes", params.range),
        );
    }
    if let ImageWeight::PersistencePower(q) = params.weight {
        if !q.is_finite() {
            return bad("weight", format!("exponent {q} must be finite"));
        }
    }
    Ok(())
}
