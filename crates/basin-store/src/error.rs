//! The store's error type.

use std::path::PathBuf;

/// Everything that can go wrong reading or writing basin's Parquet files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file system refused.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not readable Parquet (truncated, corrupt, not Parquet).
    #[error("{path}: not a readable Parquet file ({reason})")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// A column is missing or has the wrong type.
    #[error("{path}: column `{column}`: {reason} (schema `{schema}`)")]
    Column {
        /// The file.
        path: PathBuf,
        /// The schema it was read as.
        schema: &'static str,
        /// The offending column.
        column: String,
        /// What is wrong.
        reason: String,
    },
    /// A value inside a column is unusable.
    #[error("{path}: column `{column}`, row {row}: {reason}")]
    Value {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// The 0-based row.
        row: usize,
        /// What is wrong.
        reason: String,
    },
    /// The file's basin metadata is missing, of another schema, or too new.
    #[error("{path}: {reason}")]
    Metadata {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Polars failed while building or writing a frame.
    #[error("{context}: {source}")]
    Polars {
        /// What basin was doing.
        context: String,
        /// Polars' error.
        #[source]
        source: polars::error::PolarsError,
    },
}

/// Shorthand for results of this crate.
pub type StoreResult<T> = Result<T, StoreError>;
