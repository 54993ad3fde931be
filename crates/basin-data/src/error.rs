//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while loading or preparing data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not in the expected format; the message says where.
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the row/byte offset.
        reason: String,
    },
    /// A parameter is out of range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// Inconsistent data.
    #[error("{0}")]
    Invalid(String),
    /// Reading a table through the store failed.
    #[error(transparent)]
    Store(#[from] basin_store::StoreError),
}

/// Shorthand for results of this crate.
pub type DataResult<T> = Result<T, DataError>;
