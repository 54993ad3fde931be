//! Builder for PHATE settings, with the defaults of `phate.PHATE` 2.0.0.

use crate::errors::PhateError;

/// Diffusion time: chosen from the von Neumann entropy knee, or fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum T {
    /// Knee of the von Neumann entropy curve of `P^t`, t = 1..=`t_max` (phate's `t='auto'`).
    Auto,
    /// A given diffusion time (>= 1).
    Fixed(usize),
}

/// Distance between input rows (phate's `knn_dist`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Distance {
    /// Euclidean distance.
    Euclidean,
    /// `1 - cos(x, y)`, clipped to [0, 2] as scikit-learn does; a zero row has distance 1 to all.
    Cosine,
    /// Minkowski distance of order p >= 1.
    Minkowski(f64),
    /// The input is an n x n distance matrix (zero diagonal, non-negative).
    Precomputed,
}

/// Distance between potential rows before MDS (phate's `mds_dist`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MdsDistance {
    /// Euclidean distance (phate's default).
    Euclidean,
    /// Cosine distance.
    Cosine,
}

/// Neighbour search for the kernel; every choice is exact (the kernel is the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KnnSearch {
    /// A k-d tree for euclidean or Minkowski data with at most 15 columns and at
    /// least 2048 rows, brute force otherwise (scikit-learn's rule of thumb: trees
    /// prune too little above ~15 dimensions).
    #[default]
    Auto,
    /// Every pair (single-precision GEMM with a rounding bound, then f64 distances).
    BruteForce,
    /// The k-d tree (euclidean or Minkowski; other metrics fall back to brute force).
    KdTree,
}

/// MDS variant (phate's `mds` and `mds_solver`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mds {
    /// Classic MDS only, computed as phate does: the top eigenpairs of the
    /// double-centred squared distances, coordinates = eigenvector x |eigenvalue|.
    Classic,
    /// Metric MDS by SGD on random pairs, initialised by classic MDS (phate 2.0 default).
    Metric,
    /// Metric MDS by SMACOF (Guttman transform), initialised by classic MDS.
    Smacof,
    /// Non-metric MDS (phate's `mds='nonmetric'`): SGD metric MDS, then
    /// scikit-learn's non-metric SMACOF from it (isotonic disparities).
    NonMetric,
}

/// Settings for PHATE; create with [`crate::Phate::params`] and chain setters.
///
/// Defaults: `n_components` 2, `knn` 5, `decay` 40, `thresh` 1e-4, `n_pca` 100,
/// `n_landmark` 2000, `t` auto (`t_max` 100), `gamma` 1, euclidean distances,
/// metric MDS by SGD, `knn_max` none, `seed` 0, all threads.
#[derive(Debug, Clone, PartialEq)]
pub struct PhateParams {
    pub(crate) n_components: usize,
    pub(crate) knn: usize,
    pub(crate) decay: f64,
    pub(crate) thresh: f64,
    pub(crate) n_pca: Option<usize>,
    pub(crate) n_landmark: Option<usize>,
    pub(crate) n_svd: usize,
    pub(crate) t: T,
    pub(crate) t_max: usize,
    pub(crate) gamma: f64,
    pub(crate) distance: Distance,
    pub(crate) mds: Mds,
    pub(crate) mds_dist: MdsDistance,
    pub(crate) knn_max: Option<usize>,
    pub(crate) knn_search: KnnSearch,
    pub(crate) seed: u64,
    pub(crate) n_jobs: Option<usize>,
}

impl Default for PhateParams {
    fn default() -> Self {
        Self {
            n_components: 2,
            knn: 5,
            decay: 40.0,
            thresh: 1e-4,
            n_pca: Some(100),
            n_landmark: Some(2000),
            n_svd: 100,
            t: T::Auto,
            t_max: 100,
            gamma: 1.0,
            distance: Distance::Euclidean,
            mds: Mds::Metric,
            mds_dist: MdsDistance::Euclidean,
            knn_max: None,
            knn_search: KnnSearch::Auto,
            seed: 0,
            n_jobs: None,
        }
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        #[must_use]
        pub fn $name(mut self, $name: $ty) -> Self {
            self.$name = $name;
            self
        }
    };
}

impl PhateParams {
    setter!(/// Embedding dimension (>= 1).
        n_components: usize);
    setter!(/// Neighbours for the adaptive bandwidth, self not counted (>= 1).
        knn: usize);
    setter!(/// Alpha-decay exponent of `exp(-(d/sigma)^decay)` (> 0).
        decay: f64);
    setter!(/// Affinities below this are dropped (0 < thresh < 1); phate fixes 1e-4.
        thresh: f64);
    setter!(/// PCA dimension when the data has more columns; `None` disables PCA.
        n_pca: Option<usize>);
    setter!(/// Landmark count, used when n > n_landmark; `None` disables landmarks.
        n_landmark: Option<usize>);
    setter!(/// SVD components for the spectral clustering of landmarks (graphtools' `n_svd`, 100).
        n_svd: usize);
    setter!(/// Diffusion time.
        t: T);
    setter!(/// Largest t scanned by [`T::Auto`] (phate's `t_max`, 100).
        t_max: usize);
    setter!(/// Informational distance constant in [-1, 1]; 1 = log potential, 0 = square root.
        gamma: f64);
    setter!(/// Input distance.
        distance: Distance);
    setter!(/// MDS variant.
        mds: Mds);
    setter!(/// Distance between potentials.
        mds_dist: MdsDistance);
    setter!(/// Cap on neighbours per point in the kernel (>= knn); `None` = exact radius search.
        knn_max: Option<usize>);
    setter!(/// Neighbour search (all exact); [`KnnSearch::Auto`] picks by shape.
        knn_search: KnnSearch);
    setter!(/// Seed for PCA, landmarks and MDS.
        seed: u64);
    setter!(/// Threads; `None` uses the current rayon pool.
        n_jobs: Option<usize>);

    /// Checks every setting once and names the first bad one.
    ///
    /// # Errors
    /// [`PhateError::InvalidParameter`] naming the parameter and its value.
    pub fn check(&self) -> Result<(), PhateError> {
        let bad = |name: &'static str, value: String, reason: &'static str| {
            Err(PhateError::InvalidParameter {
                name,
                value,
                reason,
            })
        };
        if self.n_components == 0 {
            return bad("n_components", "0".into(), "must be >= 1");
        }
        if self.knn == 0 {
            return bad("knn", "0".into(), "must be >= 1");
        }
        if !(self.decay.is_finite() && self.decay > 0.0) {
            return bad("decay", self.decay.to_string(), "must be finite and > 0");
        }
        if !(self.thresh > 0.0 && self.thresh < 1.0) {
            return bad("thresh", self.thresh.to_string(), "must be in (0, 1)");
        }
        if self.n_pca == Some(0) {
            return bad("n_pca", "0".into(), "must be >= 1 or None");
        }
        if let Some(m) = self.n_landmark {
            if m < 2 {
                return bad("n_landmark", m.to_string(), "must be >= 2 or None");
            }
        }
        if self.n_svd == 0 {
            return bad("n_svd", "0".into(), "must be >= 1");
        }
        if let T::Fixed(0) = self.t {
            return bad("t", "0".into(), "must be >= 1");
        }
        if self.t_max < 3 {
            return bad(
                "t_max",
                self.t_max.to_string(),
                "must be >= 3 for the knee search",
            );
        }
        if !(-1.0..=1.0).contains(&self.gamma) {
            return bad("gamma", self.gamma.to_string(), "must be in [-1, 1]");
        }
        if let Distance::Minkowski(p) = self.distance {
            if !(p.is_finite() && p >= 1.0) {
                return bad(
                    "distance",
                    format!("Minkowski({p})"),
                    "p must be finite and >= 1",
                );
            }
        }
        if let Some(k) = self.knn_max {
            if k < self.knn {
                return bad("knn_max", k.to_string(), "must be >= knn");
            }
        }
        if self.n_jobs == Some(0) {
            return bad("n_jobs", "0".into(), "must be >= 1 or None");
        }
        Ok(())
    }

    /// phate nudges 0.99 < gamma < 1 to 0.99 (numerically unstable); we do the same.
    pub(crate) fn effective_gamma(&self) -> f64 {
        if self.gamma > 0.99 && self.gamma < 1.0 {
            0.99
        } else {
            self.gamma
        }
    }
}
