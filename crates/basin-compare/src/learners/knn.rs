//! k-nearest-neighbour vote on linfa-nn's exact neighbour search.

use linfa_nn::distance::L2Dist;
use linfa_nn::{LinearSearch, NearestNeighbour};
use ndarray::Array2;

/// Majority label of the `k` nearest training rows (Euclidean), ties to the
/// smallest label (scikit-learn's `KNeighborsClassifier` with uniform
/// weights). `k` larger than the training set uses every training row.
pub(super) fn fit_predict(
    k: usize,
    x_train: &Array2<f64>,
    y_train: &[usize],
    x_test: &Array2<f64>,
) -> Result<Vec<usize>, String> {
    let k = if k > y_train.len() {
        tracing::warn!(
            "knn: k = {k} exceeds the {} training rows; using all of them",
            y_train.len()
        );
        y_train.len()
    } else {
        k
    };
    let index = LinearSearch::new()
        .from_batch(x_train, L2Dist)
        .map_err(|e| e.to_string())?;
    let mut predicted = Vec::with_capacity(x_test.nrows());
    for row in x_test.rows() {
        let neighbours = index.k_nearest(row, k).map_err(|e| e.to_string())?;
        let labels: Vec<usize> = neighbours.iter().map(|&(_, i)| y_train[i]).collect();
        predicted.push(super::majority_label(&labels));
    }
    Ok(predicted)
}
