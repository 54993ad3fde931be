//! The classifiers scored by cross-validation, built on linfa.
//!
//! [`fit_predict`] fits one learner on training rows and labels test rows.
//! Every learner first checks for a training set with a single class and
//! then predicts that class without calling linfa (several linfa learners
//! refuse one class). Ties between classes go to the smallest label
//! throughout, as in scikit-learn.

mod knn;
mod params;
mod standardize;
mod svm;
mod tree;

pub use params::{LearnerParams, SvmKernel};
pub use standardize::standardize;

use linfa::prelude::*;
use linfa_bayes::GaussianNb;
use linfa_logistic::MultiLogisticRegression;
use ndarray::{Array1, Array2};

use crate::error::{CompareError, Result};

/// A classifier, scored by [`crate::cross_validate`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Learner {
    /// Multinomial logistic regression with an L2 penalty
    /// (linfa-logistic `MultiLogisticRegression`, L-BFGS).
    Logistic,
    /// Support vector classifier (linfa-svm), one-vs-one over classes.
    Svm,
    /// CART decision tree, Gini impurity, grown to purity (scikit-learn's
    /// `DecisionTreeClassifier` defaults; written here, see `tree.rs` for
    /// why not linfa-trees).
    DecisionTree,
    /// Random forest: bootstrap samples, `floor(sqrt(p))` features tried per
    /// split, mean leaf frequencies (scikit-learn's `RandomForestClassifier`
    /// defaults), seeded.
    RandomForest,
    /// k nearest neighbours, Euclidean, majority vote (linfa-nn).
    Knn {
        /// Neighbours that vote.
        k: usize,
    },
    /// Gaussian naive Bayes (linfa-bayes).
    GaussianNb,
    /// Always the most frequent training label: the chance baseline.
    Majority,
}

impl Learner {
    /// The learners of a comparison, baseline last: logistic, SVM, decision
    /// tree, random forest, 5-nearest neighbours, Gaussian naive Bayes, majority.
    pub fn standard_set() -> Vec<Learner> {
        vec![
            Self::Logistic,
            Self::Svm,
            Self::DecisionTree,
            Self::RandomForest,
            Self::Knn { k: 5 },
            Self::GaussianNb,
            Self::Majority,
        ]
    }

    /// A short name for tables and logs ("logistic", "svm", "knn5", ...).
    pub fn name(&self) -> String {
        match self {
            Self::Knn { k } => format!("knn{k}"),
            other => other.static_name().to_string(),
        }
    }

    /// Parses a name as [`Learner::name`] writes it (`knn5` is kNN with k = 5,
    /// `knn` alone k = 5); `None` for an unknown name.
    ///
    /// # Example
    /// ```
    /// use basin_compare::Learner;
    /// assert_eq!(Learner::from_name("knn3"), Some(Learner::Knn { k: 3 }));
    /// assert_eq!(Learner::from_name("svm"), Some(Learner::Svm));
    /// assert_eq!(Learner::from_name("lasso"), None);
    /// ```
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "logistic" => Self::Logistic,
            "svm" => Self::Svm,
            "decision_tree" | "tree" => Self::DecisionTree,
            "random_forest" | "forest" => Self::RandomForest,
            "gaussian_nb" => Self::GaussianNb,
            "majority" => Self::Majority,
            "knn" => Self::Knn { k: 5 },
            other => {
                let k: usize = other.strip_prefix("knn")?.parse().ok()?;
                (k > 0).then_some(Self::Knn { k })?
            }
        })
    }

    pub(crate) fn static_name(&self) -> &'static str {
        match self {
            Self::Logistic => "logistic",
            Self::Svm => "svm",
            Self::DecisionTree => "decision_tree",
            Self::RandomForest => "random_forest",
            Self::Knn { .. } => "knn",
            Self::GaussianNb => "gaussian_nb",
            Self::Majority => "majority",
        }
    }
}

/// Fits `learner` on `(x_train, y_train)` and predicts a label for each row
/// of `x_test`. Features are used as given (standardise them beforehand with
/// [`standardize`] where wanted); `seed` drives the seeded learners.
///
/// # Errors
/// Shape mismatches, an empty training set, non-finite features, invalid
/// `params` and failures inside linfa.
///
/// # Example
/// ```
/// use basin_compare::{fit_predict, Learner, LearnerParams};
/// use ndarray::array;
/// let x_train = array![[0.0, 0.0], [0.1, 0.2], [3.0, 3.0], [3.2, 2.9]];
/// let x_test = array![[0.05, 0.1], [3.1, 3.1]];
/// let p = fit_predict(&Learner::Knn { k: 1 }, &LearnerParams::default(), &x_train, &[4, 4, 7, 7], &x_test, 0).unwrap();
/// assert_eq!(p, vec![4, 7]);
/// ```
pub fn fit_predict(
    learner: &Learner,
    params: &LearnerParams,
    x_train: &Array2<f64>,
    y_train: &[usize],
    x_test: &Array2<f64>,
    seed: u64,
) -> Result<Vec<usize>> {
    if x_train.nrows() != y_train.len() {
        return Err(CompareError::LengthMismatch {
            left: "x_train rows",
            left_len: x_train.nrows(),
            right: "y_train",
            right_len: y_train.len(),
        });
    }
    if x_train.ncols() != x_test.ncols() {
        return Err(CompareError::LengthMismatch {
            left: "x_train columns",
            left_len: x_train.ncols(),
            right: "x_test columns",
            right_len: x_test.ncols(),
        });
    }
    if y_train.is_empty() {
        return Err(CompareError::TooFewObservations {
            what: "fitting a learner",
            needed: 1,
            got: 0,
        });
    }
    crate::cv::check_finite(x_train.view())?;
    crate::cv::check_finite(x_test.view())?;
    params.check(learner)?;
    if matches!(learner, Learner::Majority) || y_train.iter().all(|&l| l == y_train[0]) {
        return Ok(vec![majority_label(y_train); x_test.nrows()]);
    }
    let fail = |message: String| CompareError::Learner {
        learner: learner.static_name(),
        message,
    };
    let targets = Array1::from(y_train.to_vec());
    match learner {
        Learner::Logistic => {
            let model = MultiLogisticRegression::default()
                .alpha(params.logistic_alpha)
                .max_iterations(params.logistic_max_iterations)
                .gradient_tolerance(params.logistic_gradient_tolerance)
                .fit(&Dataset::new(x_train.clone(), targets))
                .map_err(|e| fail(e.to_string()))?;
            Ok(model.predict(x_test).to_vec())
        }
        Learner::Svm => svm::one_vs_one(params, x_train, y_train, x_test).map_err(fail),
        Learner::DecisionTree => Ok(tree::decision_tree(x_train, y_train, x_test, seed)),
        Learner::RandomForest => Ok(tree::random_forest(
            x_train,
            y_train,
            x_test,
            params.forest_trees,
            seed,
        )),
        Learner::Knn { k } => knn::fit_predict(*k, x_train, y_train, x_test).map_err(fail),
        Learner::GaussianNb => {
            let model = GaussianNb::params()
                .fit(&Dataset::new(x_train.clone(), targets))
                .map_err(|e| fail(e.to_string()))?;
            Ok(model.predict(x_test).to_vec())
        }
        Learner::Majority => Ok(vec![majority_label(y_train); x_test.nrows()]),
    }
}

/// The most frequent label, the smallest among equally frequent ones.
pub(crate) fn majority_label(labels: &[usize]) -> usize {
    let mut counts = std::collections::BTreeMap::new();
    for &l in labels {
        *counts.entry(l).or_insert(0usize) += 1;
    }
    // max_by_key keeps the last maximum; iterate in reverse so it is the smallest label.
    counts
        .into_iter()
        .rev()
        .max_by_key(|&(_, c)| c)
        .map_or(0, |(l, _)| l)
}
