//! Native PHATE (Moon et al. 2019) with the semantics of the Python packages
//! `phate` 2.0.0 and `graphtools` 2.1.0.
//!
//! Pipeline: optional randomized PCA to `n_pca` columns, exact kNN search and
//! alpha-decay kernel (exact radius search), `(K + K^T)/2`, row-normalised
//! diffusion operator `P`, optional landmarks (spectral clustering), `t` from
//! the von Neumann entropy knee, potential `-log(P^t + 1e-7)` (or the gamma
//! family), potential distances, classic MDS, metric MDS (SGD or SMACOF).
//!
//! # Choices and differences from phate 2.0
//! - **kNN search** ([`KnnSearch`], all exact): brute force for inputs with more
//!   than 15 columns or fewer than 2048 rows, as graphtools/scikit-learn do for
//!   PHATE's 100 PCA columns, but with single-precision GEMM tiles and a
//!   rigorous per-pair rounding bound to pick candidates, whose distances are
//!   then recomputed in f64 (the kernel is bit-for-bit that of an f64 scan); a
//!   k-d tree (exact k-nearest then radius search) for euclidean or Minkowski
//!   data with at most 15 columns and at least 2048 rows. On noise-dominated
//!   100-dimensional data such as gen_dla no tree prunes (scikit-learn's ball
//!   tree is slower than its brute force there), hence brute force.
//! - **Kernel radius**: every pair with affinity >= `thresh` (graphtools widens
//!   its search until it gets there). With `knn_max = m`, only the m nearest
//!   others count.
//! - **`P^t`**: `P = D^(-1/2) A D^(1/2)` with `A` symmetric, so `P^t` comes
//!   from `A^t` by sparse products on column blocks, in f64; with landmarks
//!   from binary powers of the landmark operator's symmetric form `S` (half
//!   GEMMs, and sparse products for the factors `S` itself while it is
//!   sparse; computed beside the singular values for t), in f32: `S` and its
//!   powers are entrywise nonnegative, so the products' errors are small
//!   relative ones and the potential moves by under 1e-5 (tested against
//!   f64). phate multiplies dense f64 matrices.
//! - **Potential distances**: f64 on the exact path (phate's to 1e-5);
//!   between landmarks, which only feed MDS, through a centred f32 Gram
//!   matrix with near pairs recomputed in f64 (within about 1e-6 of the
//!   largest distance).
//! - **t auto**: singular values of `P` (or of the landmark operator) from the
//!   eigenvalues of `P P^T`, as phate's `svd`, so t is the same.
//! - **Classic MDS**: as phate (PCA scores of the double-centred squared
//!   distances, i.e. eigenvector x |eigenvalue|, by scikit-learn's randomized
//!   SVD recipe: 10 extra vectors, 7 power iterations).
//! - **PCA**: scikit-learn's randomized recipe; the range finder's products
//!   run in f32 (the subspace error comes from the power iterations, not from
//!   the rounding), `B = Q^T X` and the projection in f64.
//! - **Metric MDS**: phate's SGD schedule with a ChaCha8 pair sampler (so not
//!   bit-identical to numpy's; targets held as 16-bit fractions of the
//!   largest), or scikit-learn's SMACOF exactly.
//! - **Non-metric MDS**: scikit-learn's non-metric SMACOF (isotonic
//!   disparities) started from the SGD layout, as phate's `mds='nonmetric'`.
//! - **Landmarks**: graphtools' construction exactly given the clusters; the
//!   clusters come from scikit-learn's recipe (randomized SVD with 7 power
//!   iterations, in f32 up to the last orthonormalisation, then
//!   MiniBatchKMeans with greedy k-means++ seeding), seeded with ChaCha8 and
//!   stopped after 3 passes over the data instead of up to 100 (same t and
//!   DEMaP within phate's own seed spread on gen_dla; plain Lloyd k-means
//!   gives lumpier clusters, a smaller t and a lower DEMaP).
//! - **Threads**: coarse rayon tasks around single-threaded kernels (no
//!   barrier-synchronised BLAS), so a loaded machine slows basin in proportion.
//!   Blocks are fixed and partial sums added in a fixed order, so the bytes
//!   of a fit do not depend on the number of threads.
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
mod sparse_dense;
mod total_order;
mod tridiag;
mod vne;

pub use demap::{demap, spearman};
pub use errors::PhateError;
pub use fit::{Phate, PhateFit, PhateGraph};
pub use hyperparams::{Distance, KnnSearch, Mds, MdsDistance, PhateParams, T};
pub use landmarks::Landmarks;
pub use mds::{classic_mds, procrustes, sgd_mds, smacof, smacof_nonmetric};
pub use pca::Pca;
pub use sparse::Csr;
pub use vne::{find_knee_point, von_neumann_entropy};
