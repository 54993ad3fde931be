//! Every summary of one diagram dimension in one call, on grids shared by
//! all the diagrams to be compared.

use super::{
    betti_curve, landscape, persistence_entropy, persistence_image, total_persistence,
    truncate_essential, PersistenceImageParams,
};
use crate::{PersistencePair, TopoError, TopoResult};

/// Parameters of [`features`]. Use the same values for every diagram that is
/// to be compared (same grid, same image range).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureParams {
    /// Exponent of the total persistence.
    pub p: f64,
    /// Truncate essential bars at this value before everything else (the
    /// sublevel convention uses the maximum function value); `None` leaves
    /// them essential (skipped by all summaries but the Betti curve).
    pub essential_at: Option<f64>,
    /// Sample points of the Betti curve and the landscapes.
    pub grid: Vec<f64>,
    /// Number of landscapes.
    pub landscape_levels: usize,
    /// The persistence image.
    pub image: PersistenceImageParams,
}

/// The summaries of one diagram dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// `Σ (death − birth)^p`.
    pub total_persistence: f64,
    /// Persistence entropy (natural log).
    pub entropy: f64,
    /// Betti numbers on `grid`.
    pub betti_curve: Vec<f64>,
    /// `landscape_levels × grid.len()` values, row-major (level first).
    pub landscape: Vec<f64>,
    /// `ny × nx` pixels, row-major (persistence rows, birth columns).
    pub image: Vec<f64>,
}

/// All summaries of `pairs` (one dimension; `dim` is ignored).
///
/// # Errors
/// [`TopoError::InvalidParameter`] for a non-finite `p` or `essential_at`,
/// and as [`landscape`] and [`persistence_image`].
///
/// # Example
/// ```
/// use basin_topo::summary::{features, linspace, FeatureParams, PersistenceImageParams};
/// use basin_topo::PersistencePair;
/// let bars = [
///     PersistencePair { dim: 0, birth: 0.0, death: f64::INFINITY },
///     PersistencePair { dim: 0, birth: 0.5, death: 1.0 },
/// ];
/// let params = FeatureParams {
///     p: 2.0,
///     essential_at: Some(2.0),
///     grid: linspace(0.0, 2.0, 5),
///     landscape_levels: 2,
///     image: PersistenceImageParams {
///         bandwidth: 0.1,
///         weight: Default::default(),
///         resolution: [4, 3],
///         range: [0.0, 2.0, 0.0, 2.0],
///         discretisation: Default::default(),
///     },
/// };
/// let f = features(&bars, &params).unwrap();
/// assert_eq!(f.total_persistence, 4.0 + 0.25);
/// assert_eq!(f.betti_curve, vec![1.0, 2.0, 1.0, 1.0, 0.0]);
/// assert_eq!((f.landscape.len(), f.image.len()), (10, 12));
/// ```
pub fn features(pairs: &[PersistencePair], params: &FeatureParams) -> TopoResult<Features> {
    if !params.p.is_finite() {
        return Err(TopoError::InvalidParameter {
            name: "p",
            reason: format!("{} must be finite", params.p),
        });
    }
    let bars = match params.essential_at {
        Some(at) if !at.is_finite() => {
            return Err(TopoError::InvalidParameter {
                name: "essential_at",
                reason: format!("{at} must be finite"),
            })
        }
        Some(at) => truncate_essential(pairs, at),
        None => pairs.to_vec(),
    };
    Ok(Features {
        total_persistence: total_persistence(&bars, params.p),
        entropy: persistence_entropy(&bars),
        betti_curve: betti_curve(&bars, &params.grid),
        landscape: landscape(&bars, params.landscape_levels, &params.grid)?
            .into_iter()
            .collect(),
        image: persistence_image(&bars, &params.image)?
            .into_iter()
            .collect(),
    })
}
