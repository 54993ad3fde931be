//! # basin-compare
//!
//! The statistics of basin's comparison stage:
//!
//! * [`stats`] — Pearson and Spearman correlations with scipy's two-sided
//!   p-values and seeded percentile-bootstrap confidence intervals.
//! * [`cv`] — repeated stratified *group* k-fold cross-validation: all rows
//!   of one net stay in one fold; standardisation is fitted on training
//!   folds only.
//! * [`learners`] — logistic regression, SVM, kNN and Gaussian naive Bayes
//!   from linfa, a reproducible CART tree and random forest written here,
//!   and the majority baseline;
//!   [`permutation_labels`] gives the scrambled-label baseline.
//!
//! Everything random is seeded (ChaCha8): the same inputs and seed give
//! identical results, whatever the number of threads.

mod error;

pub mod cv;
pub mod learners;
pub mod stats;

pub use cv::{
    cross_validate, cross_validate_with, permutation_labels, stratified_group_kfold,
    stratified_group_kfold_unshuffled, CvConfig, CvScore,
};
pub use error::{CompareError, Result};
pub use learners::{fit_predict, standardize, Learner, LearnerParams, SvmKernel};
pub use stats::{correlate, pearson, spearman, BootstrapConfig, Correlation, CorrelationMethod};
