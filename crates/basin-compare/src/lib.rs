//! # basin-compare
//!
//! Tells well-generalizing nets from poorly-generalizing ones by what their
//! jump-and-retrain trajectories, PHATE embeddings and topology show
//! (Horoi et al. 2022, §4), and shows it in figures and a report.
//!
//! * [`inputs`] — the upstream stages' Parquet tables as plain structs;
//! * [`features`] — features per net (J&R vectors, baselines, PHATE summaries,
//!   topology and landscape pass-through), in the store's `features` layout;
//! * [`plots`] — every figure, PNG and SVG, with a shipped font.

pub mod error;
pub mod features;
pub mod inputs;
pub mod plots;

pub use error::{CompareError, CompareResult};
