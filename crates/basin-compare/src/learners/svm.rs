//! Multiclass SVM as one-vs-one votes of linfa-svm's binary classifiers,
//! as libsvm (scikit-learn's `SVC`) does: linfa-svm itself is binary only.

use linfa::prelude::*;
use linfa_svm::Svm;
use ndarray::{Array1, Array2, Axis};

use crate::learners::{LearnerParams, SvmKernel};

/// One binary SVM per pair of classes; each votes for one of its two classes
/// and the class with most votes wins, the smallest label among ties.
pub(super) fn one_vs_one(
    params: &LearnerParams,
    x_train: &Array2<f64>,
    y_train: &[usize],
    x_test: &Array2<f64>,
) -> Result<Vec<usize>, String> {
    let mut classes = y_train.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let mut votes = Array2::<usize>::zeros((x_test.nrows(), classes.len()));
    for a in 0..classes.len() {
        for b in a + 1..classes.len() {
            let rows: Vec<usize> = (0..y_train.len())
                .filter(|&i| y_train[i] == classes[a] || y_train[i] == classes[b])
                .collect();
            let records = x_train.select(Axis(0), &rows);
            let is_a: Array1<bool> = rows.iter().map(|&i| y_train[i] == classes[a]).collect();
            let hyper = Svm::<f64, bool>::params().pos_neg_weights(params.svm_c, params.svm_c);
            let hyper = match params.svm_kernel {
                SvmKernel::Linear => hyper.linear_kernel(),
                // linfa's Gaussian kernel is exp(-|x - x'|^2 / eps): eps = 1 / gamma.
                SvmKernel::Rbf { gamma } => hyper.gaussian_kernel(1.0 / gamma),
                SvmKernel::RbfScale => hyper.gaussian_kernel(1.0 / scale_gamma(x_train)),
            };
            let model = hyper
                .fit(&Dataset::new(records, is_a))
                .map_err(|e| e.to_string())?;
            let says_a: Array1<bool> = model.predict(x_test);
            for (row, &vote_a) in says_a.iter().enumerate() {
                votes[[row, if vote_a { a } else { b }]] += 1;
            }
        }
    }
    Ok(votes
        .outer_iter()
        .map(|row| {
            // First maximum: the smallest label among tied classes.
            let best = row
                .iter()
                .enumerate()
                .fold(0, |best, (c, &v)| if v > row[best] { c } else { best });
            classes[best]
        })
        .collect())
}

/// scikit-learn's `gamma="scale"`: `1 / (n_features * X.var())`, the variance
/// over all training values; 1 when that variance is 0.
fn scale_gamma(x: &Array2<f64>) -> f64 {
    let n = x.len() as f64;
    let mean = x.sum() / n;
    let variance = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    if variance > 0.0 {
        1.0 / (x.ncols() as f64 * variance)
    } else {
        1.0
    }
}
