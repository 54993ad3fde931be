//! # basin-store
//!
//! Every basin stage reads and writes Parquet through this crate, so every
//! file is self-describing and opens as it is in pandas, pyarrow, polars and
//! DuckDB:
//!
//! * [`schema`] — the documented layouts (`splits`, `runs`, `trajectories`,
//!   `embeddings`, `diagrams`, `features`, `comparisons`) with versions.
//! * [`provenance`] — key-value metadata in every footer: schema name and
//!   version, basin version, parameters, seeds, inputs' content hashes.
//! * [`write_table`] / [`read_table`] — atomic writes (temporary file, then
//!   rename) and validating reads whose errors name the file and column.
//! * [`columns`] — typed access to columns.
//!
//! ## Schemas
#![doc = include_str!("../SCHEMAS.md")]

mod error;
mod parquet;

pub mod atomic;
pub mod columns;
pub mod provenance;
pub mod schema;

pub use error::{StoreError, StoreResult};
pub use parquet::{polars_type, read_any_parquet, read_provenance, read_table, read_table_columns, validate, write_table};
pub use provenance::{InputDigest, Provenance};

/// Re-export of polars, so stages build frames with the same version.
pub use polars;
