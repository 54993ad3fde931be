//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while building, training, jumping or
/// (de)serialising a net.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A configuration value is out of range; `name` is the parameter.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter, as spelled in the config structs.
        name: &'static str,
        /// Why it was refused, with the offending value.
        reason: String,
    },
    /// The data do not fit the architecture (input size, classes, empty split).
    #[error("data set `{dataset}`: {reason}")]
    Data {
        /// The split or data set.
        dataset: String,
        /// What does not fit.
        reason: String,
    },
    /// A checkpoint file is malformed or does not match its architecture.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong (missing tensor, shape, metadata key).
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A tensor operation failed inside candle.
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// Preparing the data (label noise) failed.
    #[error(transparent)]
    DataPrep(#[from] basin_data::DataError),
}

/// Shorthand for results of this crate.
pub type TrainResult<T> = Result<T, TrainError>;

pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> TrainError {
    TrainError::InvalidParameter { name, reason: reason.into() }
}
