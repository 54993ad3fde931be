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
//! # Choices and differences from phate 2.0
//! - **kNN search**: always exact brute force, parallel over row blocks, with
//!   the block distances from one GEMM (faer) and the distances that enter the
//!   kernel recomputed directly. graphtools/scikit-learn also use brute force for
//!   more than 15 dimensions, which PHATE inputs (100 PCA components) have; no
//!   tree or graph index is implemented yet, so very large low-dimensional
//!   inputs pay O(n^2 d).
//! - **Kernel radius**: brute force sees every distance, so the kernel holds
//!   every pair with affinity >= `thresh` (graphtools widens its search until
//!   it gets there). With `knn_max = m`, only the m nearest others count.
//! - **`P^t`**: t sparse x dense products, or one symmetric eigensolve of
//!   `D^(-1/2) K D^(-1/2)` (landmarks: `F F^T`), whichever is cheaper; phate
//!   multiplies dense matrices.
//! - **t auto**: singular values of `P` from the eigenvalues of `P P^T`.
//! - **Classic MDS**: as phate (PCA scores of the double-centred squared
//!   distances, i.e. eigenvector x |eigenvalue|), by subspace iteration to
//!   convergence instead of a 7-step randomized SVD.
//! - **Metric MDS**: phate's SGD schedule with a ChaCha8 pair sampler (so not
//!   bit-identical to numpy's), or scikit-learn's SMACOF exactly.
//! - **Landmarks**: graphtools' construction exactly given the clusters; the
//!   clusters come from a seeded randomized SVD + k-means++/Lloyd, not
//!   scikit-learn's MiniBatchKMeans, so they differ (and t may differ).
//! - **Bad input**: NaN/inf, empty input, fewer than knn + 2 points and bad
//!   precomputed matrices are errors; duplicates follow graphtools (bandwidth
//!   floored at machine epsilon); identical points embed at the origin.
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
mod kdtree;
mod kernel;
mod kmeans;
mod knn;
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
pub use hyperparams::{Distance, KnnSearch, Mds, MdsDistance, PhateParams, T};
pub use landmarks::Landmarks;
pub use mds::{classic_mds, procrustes, sgd_mds, smacof};
pub use pca::Pca;
pub use sparse::Csr;
pub use vne::{find_knee_point, von_neumann_entropy};
