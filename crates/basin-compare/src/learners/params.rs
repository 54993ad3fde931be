//! Hyperparameters of the learners.

use crate::error::{CompareError, Result};
use crate::learners::Learner;

/// Kernel of the support vector classifier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SvmKernel {
    /// `exp(-gamma |x - x'|^2)` with scikit-learn's `gamma="scale"`:
    /// `1 / (n_features * variance of all training values)`.
    RbfScale,
    /// `exp(-gamma |x - x'|^2)` with a fixed gamma.
    Rbf {
        /// The kernel's inverse squared length scale.
        gamma: f64,
    },
    /// `<x, x'>`.
    Linear,
}

/// Hyperparameters shared by [`crate::fit_predict`] and
/// [`crate::cross_validate_with`]. The defaults are scikit-learn's.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnerParams {
    /// L2 penalty of logistic regression; `1 / C` of scikit-learn's
    /// `LogisticRegression` (default 1).
    pub logistic_alpha: f64,
    /// L-BFGS iterations allowed (default 1000).
    pub logistic_max_iterations: u64,
    /// L-BFGS stopping tolerance on the gradient (default 1e-6).
    pub logistic_gradient_tolerance: f64,
    /// Soft-margin penalty `C` of the SVM (default 1).
    pub svm_c: f64,
    /// SVM kernel (default RBF with `gamma="scale"`).
    pub svm_kernel: SvmKernel,
    /// Trees in the random forest (default 100).
    pub forest_trees: usize,
}

impl Default for LearnerParams {
    fn default() -> Self {
        Self {
            logistic_alpha: 1.0,
            logistic_max_iterations: 1000,
            logistic_gradient_tolerance: 1e-6,
            svm_c: 1.0,
            svm_kernel: SvmKernel::RbfScale,
            forest_trees: 100,
        }
    }
}

impl LearnerParams {
    /// Refuses values the learner cannot use, naming the parameter.
    pub fn check(&self, learner: &Learner) -> Result<()> {
        let positive = |name: &'static str, value: f64| {
            if value > 0.0 && value.is_finite() {
                Ok(())
            } else {
                Err(CompareError::InvalidParameter {
                    name,
                    reason: format!("must be positive and finite, got {value}"),
                })
            }
        };
        match learner {
            Learner::Logistic => {
                positive("logistic_alpha", self.logistic_alpha)?;
                positive(
                    "logistic_gradient_tolerance",
                    self.logistic_gradient_tolerance,
                )?;
                if self.logistic_max_iterations == 0 {
                    return Err(CompareError::InvalidParameter {
                        name: "logistic_max_iterations",
                        reason: "must be at least 1".into(),
                    });
                }
            }
            Learner::Svm => {
                positive("svm_c", self.svm_c)?;
                if let SvmKernel::Rbf { gamma } = self.svm_kernel {
                    positive("gamma", gamma)?;
                }
            }
            Learner::RandomForest if self.forest_trees == 0 => {
                return Err(CompareError::InvalidParameter {
                    name: "forest_trees",
                    reason: "must be at least 1".into(),
                });
            }
            Learner::Knn { k: 0 } => {
                return Err(CompareError::InvalidParameter {
                    name: "k",
                    reason: "must be at least 1".into(),
                });
            }
            _ => {}
        }
        Ok(())
    }
}
