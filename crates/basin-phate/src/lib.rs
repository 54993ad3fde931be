//! Native PHATE (Moon et al. 2019) with the semantics of the Python packages
//! `phate` 2.0.0 and `graphtools` 2.1.0.
//!
//! Pipeline: optional randomized PCA to `n_pca` columns, exact brute-force kNN
//! alpha-decay kernel (GEMM distances, exact radius search), `(K + K^T)/2`,
//! row-normalised diffusion operator `P`, optional landmarks (spectral
//! clustering), `t` from the von Neumann entropy knee, potential
//! `-log(P^t + 1e-7)` (or the gamma family), potential distances, classic MDS,
//! metric MDS (SGD or SMACOF).
//!
//! ```
//! use basin_phate::{Phate, T};
//! use ndarray::Array2;
//! let x = Array2::from_shape_fn((80, 4), |(i, j)| (i as f64 * 0.3).sin() * (j + 1) as f64 + i as f64 * 0.05);
//! let fit = Phate::params().knn(5).t(T::Auto).seed(1).fit(x.view()).unwrap();
//! assert_eq!(fit.embedding.dim(), (80, 2));
//! assert!(fit.potential_distances().is_some());
//! // change t without rebuilding the kernel
//! let again = fit.refit(&Phate::params().t(T::Fixed(5))).unwrap();
//! assert_eq!(again.t, 5);
//! ```

mod demap;
mod distance;
mod errors;
mod fit;
mod hyperparams;
mod kernel;
mod landmarks;
mod linalg;
mod mds;
mod pca;
mod potential;
mod sparse;
mod vne;

pub use demap::{demap, spearman};
pub use errors::PhateError;
pub use fit::{Phate, PhateFit, PhateGraph};
pub use hyperparams::{Distance, Mds, MdsDistance, PhateParams, T};
pub use landmarks::Landmarks;
pub use mds::{classic_mds, procrustes, sgd_mds, smacof};
pub use pca::Pca;
pub use sparse::Csr;
pub use vne::{find_knee_point, von_neumann_entropy};
