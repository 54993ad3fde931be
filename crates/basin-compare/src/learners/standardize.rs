//! Feature standardisation fitted on training rows only.

use ndarray::{Array2, Axis};

/// Centres and scales every column of `train` and `test` with the mean and
/// population standard deviation of `train`'s column (scikit-learn's
/// `StandardScaler`: a constant column is only centred, its scale taken as 1).
///
/// # Example
/// ```
/// use ndarray::array;
/// let mut train = array![[1.0, 5.0], [3.0, 5.0]];
/// let mut test = array![[2.0, 6.0]];
/// basin_compare::standardize(&mut train, &mut test);
/// assert_eq!(train, array![[-1.0, 0.0], [1.0, 0.0]]);
/// assert_eq!(test, array![[0.0, 1.0]]);
/// ```
pub fn standardize(train: &mut Array2<f64>, test: &mut Array2<f64>) {
    if train.nrows() == 0 {
        return;
    }
    let n = train.nrows() as f64;
    for (mut train_column, mut test_column) in train
        .axis_iter_mut(Axis(1))
        .zip(test.axis_iter_mut(Axis(1)))
    {
        let mean = train_column.sum() / n;
        let variance = train_column.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        let scale = if variance > 0.0 { variance.sqrt() } else { 1.0 };
        train_column.mapv_inplace(|v| (v - mean) / scale);
        test_column.mapv_inplace(|v| (v - mean) / scale);
    }
}
