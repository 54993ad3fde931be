//! Directions in weight space for surfaces: filter-normalised random
//! directions (Li et al. 2018) and the difference of two minima.

use basin_data::rng::stream;
use basin_train::{filter_normalized_direction, Model};

use crate::errors::{invalid, LandscapeResult};

/// What a random direction does on 1-dimensional parameters (biases,
/// BatchNorm weights and biases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BiasBn {
    /// Zero on them: they stay at θₒ (jump-and-retrain's normalisation, Li
    /// et al.'s `--xignore biasbn`).
    #[default]
    Zero,
    /// Equal to θₒ's own values on them (Li et al.'s code without
    /// `biasbn` ignored: a 1-dim parameter's filter-normalised direction is
    /// the parameter itself).
    Keep,
}

/// `count` filter-normalised random directions drawn in turn from stream
/// `purpose` of `seed` with [`basin_train::filter_normalized_direction`].
///
/// # Errors
/// Reading the weights; [`crate::LandscapeError::InvalidParameter`] when a
/// direction is zero (a net without multi-dimensional parameters).
///
/// # Example
/// ```
/// use basin_landscape::{random_directions, BiasBn};
/// use basin_train::{Architecture, Model};
/// use basin_data::{rng::stream, ImageShape};
/// let m = Model::new(&Architecture::mlp(ImageShape::flat(3), &[2], 2), &mut stream(0, "init"), &candle_core::Device::Cpu).unwrap();
/// let d = random_directions(&m, 2, 0, "surface", BiasBn::Zero).unwrap();
/// assert_eq!(d.len(), 2);
/// assert_eq!(&d[0][..2], &[0.0, 0.0]); // fc0.bias
/// ```
pub fn random_directions(model: &Model, count: usize, seed: u64, purpose: &str, bias_bn: BiasBn) -> LandscapeResult<Vec<Vec<f32>>> {
    let mut rng = stream(seed, purpose);
    let theta = model.flat_weights()?;
    let layout = model.parameter_layout();
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let mut d = filter_normalized_direction(model, &mut rng)?;
        if bias_bn == BiasBn::Keep {
            for p in layout.iter().filter(|p| p.shape.len() < 2) {
                d[p.offset..p.offset + p.len()].copy_from_slice(&theta[p.offset..p.offset + p.len()]);
            }
        }
        if d.iter().all(|&v| v == 0.0) {
            return Err(invalid("model", "a filter-normalised direction is zero: the net has no parameter with two or more dimensions"));
        }
        out.push(d);
    }
    Ok(out)
}

/// θ₂ − θ₁: with coefficients α this spans θ = (1−α)θ₁ + αθ₂.
///
/// # Errors
/// [`crate::LandscapeError::InvalidParameter`] (`other`) when the lengths
/// differ (checkpoints of different architectures).
pub fn difference(theta1: &[f32], theta2: &[f32]) -> LandscapeResult<Vec<f32>> {
    if theta1.len() != theta2.len() {
        return Err(invalid("other", format!("{} parameters, the net has {} (another architecture?)", theta2.len(), theta1.len())));
    }
    Ok(theta1.iter().zip(theta2).map(|(&a, &b)| b - a).collect())
}
