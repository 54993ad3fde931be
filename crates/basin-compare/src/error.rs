//! The comparison stage's error type.

use std::path::PathBuf;

/// Everything that can go wrong comparing nets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
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
    /// A setting is out of range.
    #[error("parameter `{name}`: {reason}")]
    Param {
        /// The parameter.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
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

/// `Result` with [`CompareError`].
pub type CompareResult<T> = Result<T, CompareError>;
