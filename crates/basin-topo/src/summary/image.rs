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

/// How the Gaussian surface becomes pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Discretisation {
    /// The surface evaluated at pixel centres; `range` gives the first and
    /// last centres on each axis (gudhi's `PersistenceImage`).
    #[default]
    PixelCentres,
    /// The surface integrated over each pixel (Adams et al. 2017); `range`
    /// gives the outer edges of the image on each axis (persim's
    /// `PersistenceImager` with `pixel_size = (max − min) / resolution`).
    PixelIntegrals,
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
    /// and last pixel centres ([`Discretisation::PixelCentres`]) or the image
    /// edges ([`Discretisation::PixelIntegrals`]) on each axis.
    pub range: [f64; 4],
    /// Pixel centres (gudhi) or pixel integrals (persim).
    pub discretisation: Discretisation,
}

/// The persistence image of the finite bars.
///
/// Each bar `(b, d)` becomes the point `(b, ℓ = d − b)` carrying the
/// isotropic Gaussian `w(ℓ) · exp(−((x − b)² + (y − ℓ)²) / 2σ²) / (2πσ²)`.
/// * [`Discretisation::PixelCentres`]: the sum evaluated at pixel centres
///   `linspace(birth_min, birth_max, nx)` ×
///   `linspace(persistence_min, persistence_max, ny)` — gudhi's
///   `PersistenceImage`.
/// * [`Discretisation::PixelIntegrals`]: the sum integrated over the pixels of
///   the grid with edges `linspace(birth_min, birth_max, nx + 1)` ×
///   `linspace(persistence_min, persistence_max, ny + 1)`, a product of
///   normal CDF differences — persim's `PersistenceImager` (its image is the
///   transpose of this one).
///
/// Essential bars are skipped.
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
///     discretisation: Default::default(),
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
    let sigma = params.bandwidth;
    let (xs, ys) = match params.discretisation {
        Discretisation::PixelCentres => (super::linspace(x0, x1, nx), super::linspace(y0, y1, ny)),
        Discretisation::PixelIntegrals => (
            super::linspace(x0, x1, nx + 1),
            super::linspace(y0, y1, ny + 1),
        ),
    };
    let mut image = Array2::zeros((ny, nx));
    for bar in pairs.iter().filter(|b| b.death.is_finite()) {
        let (b, l) = (bar.birth, bar.persistence());
        let w = match params.weight {
            ImageWeight::Constant => 1.0,
            ImageWeight::PersistencePower(q) => l.powf(q),
        };
        // The isotropic Gaussian factorises: one factor per column, one per row.
        let gx = axis_factors(params.discretisation, &xs, b, sigma);
        for (iy, gy) in axis_factors(params.discretisation, &ys, l, sigma)
            .into_iter()
            .enumerate()
        {
            for (ix, &g) in gx.iter().enumerate() {
                image[[iy, ix]] += w * gy * g;
            }
        }
    }
    Ok(image)
}

/// One axis' factor of the Gaussian `N(mean, σ²)`: its density at each pixel
/// centre (`grid` = centres), or its mass in each pixel, `Φ((e₁ − mean)/σ) −
/// Φ((e₀ − mean)/σ)` (`grid` = edges).
fn axis_factors(discretisation: Discretisation, grid: &[f64], mean: f64, sigma: f64) -> Vec<f64> {
    match discretisation {
        Discretisation::PixelCentres => {
            let norm = 1.0 / ((2.0 * std::f64::consts::PI).sqrt() * sigma);
            grid.iter()
                .map(|&x| norm * (-(x - mean) * (x - mean) / (2.0 * sigma * sigma)).exp())
                .collect()
        }
        Discretisation::PixelIntegrals => {
            // Φ(z) = erfc(−z/√2)/2, accurate in both tails.
            let cdf: Vec<f64> = grid
                .iter()
                .map(|&e| 0.5 * libm::erfc(-(e - mean) / (sigma * std::f64::consts::SQRT_2)))
                .collect();
            cdf.windows(2).map(|w| w[1] - w[0]).collect()
        }
    }
}

fn check(params: &PersistenceImageParams) -> TopoResult<()> {
    let bad = |name, reason: String| Err(TopoError::InvalidParameter { name, reason });
    if !(params.bandwidth.is_finite() && params.bandwidth > 0.0) {
        return bad(
            "bandwidth",
            format!("{} must be finite and > 0", params.bandwidth),
        );
    }
    if params.resolution.contains(&0) {
        return bad(
            "resolution",
            format!("{:?} must have both entries ≥ 1", params.resolution),
        );
    }
    let [x0, x1, y0, y1] = params.range;
    if !params.range.iter().all(|v| v.is_finite()) || x0 > x1 || y0 > y1 {
        return bad(
            "range",
            format!(
                "{:?} must be finite with min ≤ max on both axes",
                params.range
            ),
        );
    }
    if let ImageWeight::PersistencePower(q) = params.weight {
        if !q.is_finite() {
            return bad("weight", format!("exponent {q} must be finite"));
        }
    }
    Ok(())
}
