//! # basin-compare
//!
//! Tells well-generalizing nets from poorly-generalizing ones by what their
//! jump-and-retrain trajectories, PHATE embeddings and topology show
//! (Horoi et al. 2022, §4), and shows it in figures and a report.
//!
//! * [`inputs`] — the upstream stages' Parquet tables as plain structs (only
//!   the store's schemas are used, never another stage's code);
//! * [`features`] — features per net: J&R vectors, the naive and grid
//!   baselines, PHATE summaries, topology and landscape pass-through;
//! * [`stats`] — Pearson and Spearman correlations with scipy's two-sided
//!   p-values and seeded percentile-bootstrap confidence intervals;
//! * [`cv`] — repeated stratified *group* k-fold cross-validation: all rows
//!   of one net stay in one fold; standardisation is fitted on training
//!   folds only;
//! * [`learners`] — logistic regression, SVM, kNN and Gaussian naive Bayes
//!   from linfa, a reproducible CART tree and random forest written here,
//!   and the majority baseline; [`permutation_labels`] gives the
//!   scrambled-label baseline;
//! * [`analysis`] — every feature set against every target and learner;
//! * [`plots`] — every figure, PNG and SVG, with a shipped font;
//! * [`report`] — `report.md` and a self-contained, explorable `report.html`.
//!
//! Everything random is seeded (ChaCha8): the same inputs and seed give
//! identical results, whatever the number of threads.

mod error;

pub mod analysis;
pub mod cv;
pub mod features;
pub mod inputs;
pub mod learners;
pub mod plots;
pub mod report;
pub mod stats;

pub use analysis::{analyse, Analysis, AnalysisConfig};
pub use cv::{cross_validate, cross_validate_with, permutation_labels, stratified_group_kfold, stratified_group_kfold_unshuffled, CvConfig, CvScore};
pub use error::{CompareError, CompareResult, Result};
pub use learners::{fit_predict, standardize, Learner, LearnerParams, SvmKernel};
pub use report::{write_report, ReportConfig, ReportInputs};
pub use stats::{correlate, pearson, spearman, BootstrapConfig, Correlation, CorrelationMethod};
