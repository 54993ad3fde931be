//! Standardisation fitted on the training split only, so no statistic of the
//! validation or test data leaks into training.

use ndarray::{Array1, ArrayView2, ArrayViewMut2, Axis};

/// How the mean and scale are pooled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Standardization {
    /// Leave the inputs as loaded (pixels in `[0, 1]`).
    None,
    /// One mean and standard deviation over every value (the usual choice for
    /// images: keeps the relative intensity of pixels).
    Global,
    /// A mean and standard deviation per column (feature tables). Constant
    /// columns are centred and left unscaled rather than divided by zero.
    PerFeature,
}

/// A fitted standardisation: `x' = (x − mean) / scale`.
///
/// # Example
/// ```
/// use basin_data::standardize::{Standardizer, Standardization};
/// use ndarray::array;
/// let train = array![[0.0f32, 5.0], [2.0, 5.0]];
/// let s = Standardizer::fit(train.view(), Standardization::PerFeature);
/// let mut x = train.clone();
/// s.apply(&mut x.view_mut());
/// assert_eq!(x, array![[-1.0f32, 0.0], [1.0, 0.0]]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    /// Per-column means (all equal for [`Standardization::Global`]).
    pub mean: Array1<f32>,
    /// Per-column scales.
    pub scale: Array1<f32>,
}

impl Standardizer {
    /// Fits the statistics on `train` (population standard deviation, as
    /// scikit-learn's `StandardScaler`).
    #[must_use]
    pub fn fit(train: ArrayView2<'_, f32>, mode: Standardization) -> Self {
        let d = train.ncols();
        match mode {
            Standardization::None => Self { mean: Array1::zeros(d), scale: Array1::ones(d) },
            Standardization::Global => {
                let n = train.len().max(1) as f64;
                let mean = train.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
                let var = train.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
                let sd = if var > 0.0 { var.sqrt() } else { 1.0 };
                Self { mean: Array1::from_elem(d, mean as f32), scale: Array1::from_elem(d, sd as f32) }
            }
            Standardization::PerFeature => {
                let n = train.nrows().max(1) as f64;
                let mut mean = Array1::zeros(d);
                let mut scale = Array1::ones(d);
                for (j, col) in train.axis_iter(Axis(1)).enumerate() {
                    let m = col.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
                    let var = col.iter().map(|&v| (f64::from(v) - m).powi(2)).sum::<f64>() / n;
                    mean[j] = m as f32;
                    scale[j] = if var > 0.0 { var.sqrt() as f32 } else { 1.0 };
                }
                Self { mean, scale }
            }
        }
    }

    /// Standardises `x` in place.
    pub fn apply(&self, x: &mut ArrayViewMut2<'_, f32>) {
        for mut row in x.rows_mut() {
            for ((v, &m), &s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = (*v - m) / s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn matches_sklearn_standard_scaler() {
        // sklearn.preprocessing.StandardScaler().fit([[1,2],[3,6],[5,7]]):
        // mean_ = [3, 5], scale_ = [1.63299316, 2.1602469]
        let x = array![[1.0f32, 2.0], [3.0, 6.0], [5.0, 7.0]];
        let s = Standardizer::fit(x.view(), Standardization::PerFeature);
        assert!((s.mean[0] - 3.0).abs() < 1e-6 && (s.mean[1] - 5.0).abs() < 1e-6);
        assert!((s.scale[0] - 1.632_993_2).abs() < 1e-5 && (s.scale[1] - 2.160_246_9).abs() < 1e-5);
    }

    #[test]
    fn global_pools_all_values() {
        let x = array![[0.0f32, 2.0], [4.0, 6.0]];
        let s = Standardizer::fit(x.view(), Standardization::Global);
        assert!(s.mean.iter().all(|&m| (m - 3.0).abs() < 1e-6));
        assert!(s.scale.iter().all(|&v| (v - 5.0f32.sqrt()).abs() < 1e-6));
    }
}
