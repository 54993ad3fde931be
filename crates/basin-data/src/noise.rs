//! Label corruption: the classic recipe for nets that memorise
//! (Zhang et al. 2017, "Understanding deep learning requires rethinking
//! generalization").

use rand::seq::index::sample;
use rand::Rng;

use crate::error::{DataError, DataResult};

/// Replaces a seeded `fraction` of `labels` by labels drawn uniformly from
/// `0..n_classes` (a replaced label may, by chance, equal the original, as in
/// Zhang et al.). Exactly `round(fraction · n)` rows are redrawn.
///
/// # Errors
/// [`DataError::InvalidParameter`] when `fraction` is outside `[0, 1]` or
/// `n_classes` is zero.
///
/// # Example
/// ```
/// use basin_data::{noise::corrupt_labels, rng::stream};
/// let labels = vec![0u32; 100];
/// let noisy = corrupt_labels(&labels, 1.0, 10, &mut stream(0, "label-noise")).unwrap();
/// assert!(noisy.iter().any(|&l| l != 0));
/// assert_eq!(corrupt_labels(&labels, 0.0, 10, &mut stream(0, "x")).unwrap(), labels);
/// ```
pub fn corrupt_labels<R: Rng + ?Sized>(
    labels: &[u32],
    fraction: f64,
    n_classes: usize,
    rng: &mut R,
) -> DataResult<Vec<u32>> {
    if !(0.0..=1.0).contains(&fraction) || fraction.is_nan() {
        return Err(DataError::InvalidParameter {
            name: "label_noise",
            reason: format!("{fraction} is not a fraction in [0, 1]"),
        });
    }
    if n_classes == 0 {
        return Err(DataError::InvalidParameter { name: "n_classes", reason: "must be positive".into() });
    }
    let mut out = labels.to_vec();
    let n_corrupt = ((fraction * labels.len() as f64).round() as usize).min(labels.len());
    let mut rows = sample(rng, labels.len(), n_corrupt).into_vec();
    // Sorted so the labels drawn below do not depend on the sampler's order.
    rows.sort_unstable();
    for r in rows {
        out[r] = rng.random_range(0..n_classes as u32);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn corrupts_the_requested_share() {
        let labels: Vec<u32> = (0..1000).map(|i| i % 10).collect();
        let noisy = corrupt_labels(&labels, 0.5, 10, &mut stream(3, "label-noise")).unwrap();
        let changed = labels.iter().zip(&noisy).filter(|(a, b)| a != b).count();
        // 500 redrawn, 9/10 of them land on another class: 450 ± a few sd.
        assert!((400..=500).contains(&changed), "{changed} labels changed");
        let again = corrupt_labels(&labels, 0.5, 10, &mut stream(3, "label-noise")).unwrap();
        assert_eq!(noisy, again);
    }

    #[test]
    fn rejects_bad_fraction() {
        let err = corrupt_labels(&[0], 1.5, 10, &mut stream(0, "x")).unwrap_err();
        assert!(err.to_string().contains("label_noise"));
    }
}
