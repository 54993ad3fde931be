//! Random forest from linfa-ensemble, with a deterministic vote.

use linfa::prelude::*;
use linfa_ensemble::RandomForestParams;
use linfa_trees::DecisionTree;
use ndarray::{Array1, Array2, Axis};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;

use crate::learners::LearnerParams;

/// linfa-ensemble's random forest: each tree is fitted on a bootstrap
/// resample of the rows and on `ceil(sqrt(p))` features drawn with
/// replacement (a random subspace per tree, where scikit-learn's
/// `RandomForestClassifier` draws features per split; the equivalent
/// scikit-learn model is `BaggingClassifier(max_features=ceil(sqrt(p)),
/// bootstrap_features=True)`).
///
/// Fitting is linfa-ensemble's, seeded with `seed`; the vote is done here,
/// because linfa-ensemble breaks tied votes in `HashMap` order, which varies
/// from run to run. Ties go to the smallest label.
pub(super) fn fit_predict(
    params: &LearnerParams,
    x_train: &Array2<f64>,
    y_train: &[usize],
    x_test: &Array2<f64>,
    seed: u64,
) -> Result<Vec<usize>, String> {
    let features = x_train.ncols();
    let subspace = (features as f64).sqrt().ceil();
    // linfa-ensemble takes ceil(features * proportion) features; half a
    // feature below the target keeps float rounding from adding one.
    let proportion = ((subspace - 0.5) / features as f64).clamp(f64::MIN_POSITIVE, 1.0);
    let forest =
        RandomForestParams::new_fixed_rng(DecisionTree::params(), StdRng::seed_from_u64(seed))
            .ensemble_size(params.forest_trees)
            .bootstrap_proportion(1.0)
            .feature_proportion(proportion)
            .fit(&Dataset::new(
                x_train.clone(),
                Array1::from(y_train.to_vec()),
            ))
            .map_err(|e| e.to_string())?;

    let mut classes = y_train.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let mut votes = Array2::<usize>::zeros((x_test.nrows(), classes.len()));
    for (tree, feature_indices) in forest.models.iter().zip(&forest.model_features) {
        let predicted: Array1<usize> = tree.predict(&x_test.select(Axis(1), feature_indices));
        for (row, label) in predicted.iter().enumerate() {
            if let Ok(c) = classes.binary_search(label) {
                votes[[row, c]] += 1;
            }
        }
    }
    Ok(votes
        .outer_iter()
        .map(|row| {
            let best = row
                .iter()
                .enumerate()
                .fold(0, |best, (c, &v)| if v > row[best] { c } else { best });
            classes[best]
        })
        .collect())
}
