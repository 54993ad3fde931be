//! # basin-compare
//!
//! The statistics of basin's comparison stage:
//!
//! * [`stats`] — Pearson and Spearman correlations with scipy's two-sided
//!   p-values and seeded percentile-bootstrap confidence intervals.
//! * [`cv`] — repeated stratified *group* k-fold cross-validation: all rows
//!   of one net stay in one fold; standardisation is fitted on training
//!   folds only.
//! * [`learners`] — logistic regression, SVM, decision tree, random forest,
//!   kNN, Gaussian naive Bayes (all from linfa) and the majority baseline;
//!   [`permutation_labels`] gives the scrambled-label baseline.
//!
//! Everything random is seeded (ChaCha8, and rand 0.8's `StdRng` inside
//! linfa-ensemble): the same inputs and seed give identical results.

mod error;

pub mod cv;
pub mod learners;
pub mod stats;

pub use cv::{
    cross_validate, cross_validate_with, permutation_labels, stratified_group_kfold, CvConfig,
    CvScore,
};
pub use error::{CompareError, Result};
pub use learners::{fit_predict, standardize, Learner, LearnerParams, SvmKernel};
pub use stats::{correlate, pearson, spearman, BootstrapConfig, Correlation, CorrelationMethod};
