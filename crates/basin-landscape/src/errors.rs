//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in `basin-landscape`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LandscapeError {
    /// A parameter is out of its valid range; the message names it.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter's name as the user spells it.
        name: &'static str,
        /// Why the value was refused.
        reason: String,
    },
    /// Input rows do not fit the net (another architecture, ragged rows).
    #[error("{path}: row {row}: {reason}")]
    BadRow {
        /// The file the row came from (empty when the rows came from memory).
        path: PathBuf,
        /// 0-based row.
        row: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The computation would need more memory than allowed.
    #[error("estimated memory {estimated_bytes} bytes exceeds the budget of {budget_bytes} bytes: {advice}")]
    MemoryBudget {
        /// The estimate, in bytes.
        estimated_bytes: u128,
        /// The allowed budget, in bytes.
        budget_bytes: u128,
        /// What the user can change.
        advice: String,
    },
    /// Drawing an image failed.
    #[error("{path}: cannot draw: {reason}")]
    Plot {
        /// The image file.
        path: PathBuf,
        /// The plotting library's message.
        reason: String,
    },
    /// Training-side errors (evaluation, weights).
    #[error(transparent)]
    Train(#[from] basin_train::TrainError),
    /// Candle errors outside basin-train.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// Polars failed while building a frame.
    #[error("building a frame: {0}")]
    Frame(#[from] basin_store::polars::error::PolarsError),
    /// Parquet store errors.
    #[error(transparent)]
    Store(#[from] basin_store::StoreError),
}

/// Shorthand for results of this crate.
pub type LandscapeResult<T> = Result<T, LandscapeError>;

pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> LandscapeError {
    LandscapeError::InvalidParameter { name, reason: reason.into() }
}
