//! Errors of the PHATE stage: settings errors first, then run-time errors.

use thiserror::Error;

/// Everything that can go wrong when fitting or applying PHATE.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum PhateError {
    /// A parameter is outside its valid range.
    #[error("invalid parameter `{name}` = {value}: {reason}")]
    InvalidParameter {
        /// Parameter name as in the builder.
        name: &'static str,
        /// The offending value, formatted.
        value: String,
        /// What is allowed.
        reason: &'static str,
    },
    /// The input has no rows or no columns.
    #[error("input is empty: {rows} rows x {cols} columns")]
    EmptyInput {
        /// Rows of the input.
        rows: usize,
        /// Columns of the input.
        cols: usize,
    },
    /// Fewer than `knn + 2` points: graphtools would silently lower `knn` to n - 2;
    /// basin refuses instead.
    #[error("{n} points but knn = {knn} needs at least knn + 2 = {} points", knn + 2)]
    TooFewPoints {
        /// Number of points.
        n: usize,
        /// Requested neighbours.
        knn: usize,
    },
    /// NaN or infinite value in the input.
    #[error("non-finite value {value} at row {row}, column {col}")]
    NonFinite {
        /// Row of the value.
        row: usize,
        /// Column of the value.
        col: usize,
        /// The value itself.
        value: f64,
    },
    /// A precomputed distance matrix that is not square, negative or not zero on its diagonal.
    #[error("precomputed distance matrix is invalid: {reason} (row {row}, column {col})")]
    BadPrecomputed {
        /// What is wrong.
        reason: &'static str,
        /// Row of the first bad entry.
        row: usize,
        /// Column of the first bad entry.
        col: usize,
    },
    /// Data passed to `transform` has the wrong number of columns.
    #[error("transform input has {got} columns, the fitted data had {expected}")]
    ShapeMismatch {
        /// Columns expected.
        expected: usize,
        /// Columns given.
        got: usize,
    },
    /// The requested operation needs something the fit does not have.
    #[error("not available: {0}")]
    Unavailable(&'static str),
    /// A numerical routine failed (e.g. eigenvalue iteration did not converge).
    #[error("numerical failure in {stage}: {reason}")]
    Numerical {
        /// Pipeline stage.
        stage: &'static str,
        /// Details.
        reason: String,
    },
}
