//! The crate's error type.

/// Everything that can go wrong in `basin-topo`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TopoError {
    /// A parameter is out of its valid range; the message names it.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter's name as the user spells it.
        name: &'static str,
        /// Why the value was refused.
        reason: String,
    },
    /// The input data is unusable (NaN, ragged, non-symmetric, empty, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The computation would need more memory than allowed.
    #[error("estimated memory {estimated_bytes} bytes exceeds the budget of {budget_bytes} bytes: {advice}")]
    MemoryBudget {
        /// The estimate, in bytes.
        estimated_bytes: u128,
        /// The allowed budget, in bytes.
        budget_bytes: u128,
        /// What the user can change (threshold, max dimension, budget).
        advice: String,
    },
    /// Combinatorial index arithmetic would overflow.
    #[error("index overflow: {0}")]
    IndexOverflow(String),
}

/// Shorthand for results of this crate.
pub type TopoResult<T> = Result<T, TopoError>;
