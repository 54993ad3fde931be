//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in `basin-compare`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
    /// A parameter is out of its valid range; the message names it.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter's name as the user spells it.
        name: &'static str,
        /// Why the value was refused.
        reason: String,
    },
    /// Two inputs that must have one entry per observation differ in length.
    #[error("length mismatch: `{left}` has {left_len} entries but `{right}` has {right_len}")]
    LengthMismatch {
        /// Name of the first input.
        left: &'static str,
        /// Its length.
        left_len: usize,
        /// Name of the second input.
        right: &'static str,
        /// Its length.
        right_len: usize,
    },
    /// Too few observations (after dropping NaN pairs) for the statistic.
    #[error("{what} needs at least {needed} observations, got {got}")]
    TooFewObservations {
        /// The statistic or procedure.
        what: &'static str,
        /// The minimum it needs.
        needed: usize,
        /// What was left.
        got: usize,
    },
    /// A feature value is NaN or infinite; classifiers refuse such rows
    /// rather than impute them.
    #[error("feature matrix has a non-finite value {value} at row {row}, column {column}")]
    NonFiniteFeature {
        /// Row index (0-based) in the matrix passed in.
        row: usize,
        /// Column index (0-based).
        column: usize,
        /// The offending value.
        value: f64,
    },
    /// A linfa learner failed to fit.
    #[error("{learner} failed to fit: {message}")]
    Learner {
        /// The learner's name.
        learner: &'static str,
        /// linfa's error, as text.
        message: String,
    },
    /// Reading or writing a basin table failed.
    #[error(transparent)]
    Store(#[from] basin_store::StoreError),
    /// An input file is readable but unusable.
    #[error("{path}: {reason}")]
    Input {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The inputs disagree with each other (nets missing, keys that differ).
    #[error("{0}")]
    Mismatch(String),
    /// A statistic or learner could not be computed.
    #[error("{0}")]
    Analysis(String),
    /// Drawing a figure failed.
    #[error("figure {path}: {reason}")]
    Plot {
        /// The figure's file.
        path: PathBuf,
        /// What the backend said.
        reason: String,
    },
    /// Writing the report failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Rendering the report's template failed.
    #[error("report template: {0}")]
    Template(String),
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, CompareError>;

/// The same as [`Result`], named for use beside `std::result::Result`.
pub type CompareResult<T> = std::result::Result<T, CompareError>;
