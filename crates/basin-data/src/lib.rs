//! # basin-data
//!
//! The data every basin stage trains and evaluates on:
//!
//! * [`shipped`] — the two small real image sets that ship with basin
//!   (UCI digits, 5,000 MNIST images), read from `data/images/`.
//! * [`idx`] and [`cifar`] — loaders for user-supplied full data sets in
//!   their original formats (MNIST/Fashion-MNIST IDX, CIFAR-10 binary batches).
//! * [`table`] — CSV or Parquet feature tables.
//! * [`split`] — seeded, stratified train/validation/test splits;
//!   [`standardize`] — per-feature standardisation fitted on the training split.
//! * [`noise`] — label corruption for memorising nets; [`augment`] — random
//!   shifts and horizontal flips.
//! * [`rng`] — independent random streams derived from one root seed.
//!
//! Same seed, same bytes: every random choice goes through [`rng::stream`].

mod dataset;
mod error;

pub mod augment;
pub mod cifar;
pub mod idx;
pub mod noise;
pub mod rng;
pub mod shipped;
pub mod split;
pub mod standardize;
pub mod table;

pub use dataset::{Dataset, ImageShape};
pub use error::{DataError, DataResult};
