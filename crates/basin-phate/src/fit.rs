//! The PHATE pipeline: graph (PCA, kernel, diffusion operator, landmarks) once,
//! then t, potential, potential distances and MDS, re-runnable on the cached graph.

use crate::distance::{pairwise, pairwise_euclidean_single, Metric};
use crate::errors::PhateError;
use crate::hyperparams::{Distance, KnnSearch, Mds, MdsDistance, PhateParams, T};
use crate::kernel::{affinity_rows, check_precomputed, precomputed_rows, symmetrized, KernelSpec};
use crate::knn::SearchMethod;
use crate::landmarks::{spectral_landmarks, Landmarks};
use crate::mds::{classic_mds, procrustes, sgd_mds, smacof, smacof_nonmetric};
use crate::pca::Pca;
use crate::potential::{potential, power_sparse, BinaryPowers, SpeculativePowers};
use crate::sparse::Csr;
use crate::vne::{
    find_knee_point, singular_values_landmarks, singular_values_sparse,
    singular_values_sparse_beside, von_neumann_entropy,
};
use ndarray::{Array2, ArrayView2};
use std::sync::{Arc, OnceLock};

/// Entry point: `Phate::params().knn(5).fit(x.view())`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Phate;

impl Phate {
    /// Default settings (those of `phate.PHATE()` 2.0.0, seed 0).
    #[must_use]
    pub fn params() -> PhateParams {
        PhateParams::default()
    }
}

/// Everything that does not depend on t, gamma or the MDS settings: PCA,
/// kernel, diffusion operator, landmarks and the spectrum of the operator.
#[derive(Debug)]
pub struct PhateGraph {
    n_features: usize,
    distance: Distance,
    spec: KernelSpec,
    search: SearchMethod,
    pca: Option<Pca>,
    data_nu: Option<Array2<f64>>,
    kernel: Csr,
    diff_op: Csr,
    landmarks: Option<Landmarks>,
    singular_values: OnceLock<Vec<f64>>,
}

impl PhateGraph {
    /// Symmetrised alpha-decay kernel (n x n, sparse).
    #[must_use]
    pub fn kernel(&self) -> &Csr {
        &self.kernel
    }

    /// Row-stochastic diffusion operator (n x n, sparse).
    #[must_use]
    pub fn diff_op(&self) -> &Csr {
        &self.diff_op
    }

    /// Landmarks, when n > n_landmark.
    #[must_use]
    pub fn landmarks(&self) -> Option<&Landmarks> {
        self.landmarks.as_ref()
    }

    /// Number of points.
    #[must_use]
    pub fn n_points(&self) -> usize {
        self.kernel.nrows()
    }

    /// `P^t` (or the landmark operator to the t), see [`crate::potential`]:
    /// sparse powers of the symmetric form on the exact path, binary powers of
    /// the landmark operator's symmetric form; either continues from what
    /// was computed beside the spectrum (`ahead`).
    fn diffusion_power(&self, t: usize, ahead: PowersAhead) -> Array2<f64> {
        if let Some(l) = &self.landmarks {
            let pows = match ahead {
                PowersAhead::Landmark(p) => p,
                _ => BinaryPowers::new(&l.sym, l.sym_sparse.as_ref(), 1),
            };
            return pows.power(t, &l.deg);
        }
        let (a, d, ahead) = match ahead {
            PowersAhead::Sparse(a, d, p) => (a, d, p),
            _ => {
                let (a, d) = self.kernel.sym_normalized();
                (a, d, SpeculativePowers::default())
            }
        };
        power_sparse(&a, &d, t, ahead)
    }

    /// t from the entropy knee and `P^t`. With landmarks, the singular values
    /// (one dense symmetric eigenproblem, [`crate::tridiag`]) and the binary
    /// powers of the operator up to `S^16` (half GEMMs in f32, see
    /// [`BinaryPowers`]; more if t needs them) are independent, so they run
    /// side by side (the powers fill the eigensolver's single-threaded
    /// phases); the powers that t needs are then multiplied together. Since
    /// the spectrum runs in f32 too, `S^32` no longer fits beside it: up to
    /// `S^16` the stage took 0.55 s against 0.64 s at 20,000 (t = 20), and
    /// was no slower at t = 53 or 64 (medians of 5 alternating runs).
    fn choose_t_and_power(&self, t: T, t_max: usize) -> Result<TAndPower, PhateError> {
        let t = match t {
            T::Fixed(t) => return Ok((t, None, self.diffusion_power(t, PowersAhead::None))),
            T::Auto => t,
        };
        debug_assert_eq!(t, T::Auto);
        let (sv, pows) = match (&self.landmarks, self.singular_values.get()) {
            (Some(l), None) => {
                let (sv, pows) = rayon::join(
                    || self.compute_singular_values(),
                    || BinaryPowers::new(&l.sym, l.sym_sparse.as_ref(), 16),
                );
                let sv = sv?;
                (
                    self.singular_values.get_or_init(|| sv).as_slice(),
                    PowersAhead::Landmark(pows),
                )
            }
            (None, None) => {
                let (a, d) = self.kernel.sym_normalized();
                let (sv, ahead) = singular_values_sparse_beside(&self.diff_op, |done| {
                    SpeculativePowers::compute(&a, done)
                });
                let sv = sv?;
                (
                    self.singular_values.get_or_init(|| sv).as_slice(),
                    PowersAhead::Sparse(a, d, ahead),
                )
            }
            _ => (self.spectrum()?, PowersAhead::None),
        };
        let h = von_neumann_entropy(sv, t_max);
        let t = find_knee_point(&h)?;
        Ok((t, Some(h), self.diffusion_power(t, pows)))
    }

    fn compute_singular_values(&self) -> Result<Vec<f64>, PhateError> {
        match &self.landmarks {
            Some(l) => singular_values_landmarks(l),
            None => singular_values_sparse(&self.diff_op),
        }
    }

    fn spectrum(&self) -> Result<&[f64], PhateError> {
        if let Some(s) = self.singular_values.get() {
            return Ok(s);
        }
        let s = self.compute_singular_values()?;
        Ok(self.singular_values.get_or_init(|| s))
    }
}

/// Powers computed beside the spectrum, before t is known.
enum PowersAhead {
    None,
    /// The landmark operator's binary powers.
    Landmark(BinaryPowers),
    /// The exact path's symmetric operator, its degrees and the column blocks
    /// of its powers.
    Sparse(Csr, Vec<f64>, SpeculativePowers),
}

/// The chosen t, the entropy curve (t auto) and `P^t`.
type TAndPower = (usize, Option<Vec<f64>>, Array2<f64>);

/// A fitted PHATE embedding with its intermediate results.
#[derive(Debug, Clone)]
pub struct PhateFit {
    /// n x n_components embedding of every input point.
    pub embedding: Array2<f64>,
    /// Diffusion time used (chosen or given).
    pub t: usize,
    /// Von Neumann entropy of P^t, t = 1..=t_max (entry k is for t = k + 1, as
    /// in phate whose knee index is the returned t); `None` for a fixed t.
    pub entropy_curve: Option<Vec<f64>>,
    graph: Arc<PhateGraph>,
    potential: Array2<f64>,
    potential_distances: Array2<f64>,
    mds_embedding: Array2<f64>,
}

fn run_in_pool<R: Send>(
    n_jobs: Option<usize>,
    f: impl FnOnce() -> R + Send,
) -> Result<R, PhateError> {
    match n_jobs {
        None => Ok(f()),
        Some(j) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(j)
                .build()
                .map_err(|e| PhateError::Numerical {
                    stage: "thread pool",
                    reason: e.to_string(),
                })?;
            Ok(pool.install(f))
        }
    }
}

/// Stage timings on stderr when `BASIN_PHATE_TIMING` is set (benchmarks only):
/// wall time, the process's CPU time and how much of it the kernel spent,
/// and minor page faults (all from /proc: a loaded machine shows as CPU well
/// below threads x wall, fresh memory as faults and system time).
pub(crate) struct Stopwatch(Option<std::cell::Cell<(std::time::Instant, ProcessCounters)>>);

/// CPU seconds (user, system) and minor page faults of this process so far.
#[derive(Clone, Copy)]
struct ProcessCounters {
    user: f64,
    system: f64,
    minor_faults: f64,
}

impl ProcessCounters {
    fn read() -> Self {
        // minflt, utime and stime: fields 10, 14 and 15 of /proc/self/stat
        // (times in clock ticks of 100 Hz)
        let fields = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| {
                let rest = s.rsplit_once(')')?.1;
                let f: Vec<f64> = rest
                    .split_whitespace()
                    .map(|v| v.parse().unwrap_or(f64::NAN))
                    .collect();
                Some((*f.get(7)?, *f.get(11)? / 100.0, *f.get(12)? / 100.0))
            });
        let (minor_faults, user, system) = fields.unwrap_or((f64::NAN, f64::NAN, f64::NAN));
        Self {
            user,
            system,
            minor_faults,
        }
    }
}

impl Stopwatch {
    pub(crate) fn new() -> Self {
        Self(
            std::env::var_os("BASIN_PHATE_TIMING").map(|_| {
                std::cell::Cell::new((std::time::Instant::now(), ProcessCounters::read()))
            }),
        )
    }

    pub(crate) fn lap(&self, stage: &str) {
        if let Some(c) = &self.0 {
            let (now, counters) = (std::time::Instant::now(), ProcessCounters::read());
            let (t0, c0) = c.get();
            eprintln!(
                "basin-phate: {stage}: {:.3} s wall, {:.2} s cpu ({:.2} system), {:.0} page faults",
                (now - t0).as_secs_f64(),
                counters.user + counters.system - c0.user - c0.system,
                counters.system - c0.system,
                counters.minor_faults - c0.minor_faults,
            );
            c.set((now, counters));
        }
    }
}

fn check_finite(x: ArrayView2<'_, f64>) -> Result<(), PhateError> {
    match x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        Some(((row, col), &value)) => Err(PhateError::NonFinite { row, col, value }),
        None => Ok(()),
    }
}

impl PhateParams {
    /// The exact neighbour search for n x d data under these settings.
    fn search_method(&self, (n, d): (usize, usize)) -> SearchMethod {
        let auto = SearchMethod::auto(self.distance, n, d);
        match self.knn_search {
            KnnSearch::Auto => auto,
            KnnSearch::BruteForce if auto == SearchMethod::KdTree => {
                SearchMethod::auto(self.distance, 0, d)
            }
            KnnSearch::BruteForce => auto,
            KnnSearch::KdTree
                if matches!(self.distance, Distance::Euclidean | Distance::Minkowski(_)) =>
            {
                SearchMethod::KdTree
            }
            KnnSearch::KdTree => auto,
        }
    }

    /// Runs PHATE on `x` (rows = points; for [`Distance::Precomputed`], the
    /// n x n distance matrix).
    ///
    /// # Arguments
    /// * `x` - n x d data, or n x n distances.
    ///
    /// # Errors
    /// Invalid settings, empty or non-finite input, fewer than knn + 2 points,
    /// a bad precomputed matrix, or a numerical failure.
    ///
    /// # Example
    /// ```
    /// use basin_phate::{Mds, Phate, T};
    /// use ndarray::Array2;
    /// let x = Array2::from_shape_fn((60, 3), |(i, j)| ((i * 7 + j * 3) % 11) as f64 + i as f64 * 0.1);
    /// let fit = Phate::params().knn(4).t(T::Fixed(10)).mds(Mds::Classic).fit(x.view()).unwrap();
    /// assert_eq!(fit.embedding.dim(), (60, 2));
    /// assert_eq!(fit.t, 10);
    /// assert!(fit.embedding.iter().all(|v| v.is_finite()));
    /// ```
    pub fn fit(&self, x: ArrayView2<'_, f64>) -> Result<PhateFit, PhateError> {
        let graph = self.build_graph(x)?;
        self.fit_graph(graph)
    }

    /// Builds the t-independent part (PCA, kNN kernel, diffusion operator,
    /// landmarks); reuse it with [`PhateParams::fit_graph`] or [`PhateFit::refit`].
    ///
    /// # Errors
    /// As [`PhateParams::fit`].
    pub fn build_graph(&self, x: ArrayView2<'_, f64>) -> Result<Arc<PhateGraph>, PhateError> {
        self.check()?;
        let (n, d) = x.dim();
        if n == 0 || d == 0 {
            return Err(PhateError::EmptyInput { rows: n, cols: d });
        }
        check_finite(x)?;
        if n < self.knn + 2 {
            return Err(PhateError::TooFewPoints { n, knn: self.knn });
        }
        if self.n_components >= n {
            return Err(PhateError::InvalidParameter {
                name: "n_components",
                value: self.n_components.to_string(),
                reason: "must be smaller than the number of points",
            });
        }
        let spec = KernelSpec {
            knn: self.knn,
            decay: self.decay,
            thresh: self.thresh,
            knn_max: self.knn_max,
        };
        run_in_pool(self.n_jobs, || {
            let clock = Stopwatch::new();
            let mut search = SearchMethod::BruteDirect;
            let (rows, pca, data_nu) = if self.distance == Distance::Precomputed {
                check_precomputed(x)?;
                (precomputed_rows(x, &spec), None, None)
            } else {
                // phate: PCA only when n_pca < min(n, d)
                let (pca, data_nu) = match self.n_pca.filter(|&k| k < n.min(d)) {
                    Some(k) => {
                        let (pca, projected) = Pca::fit_transform(x, k, self.seed);
                        (Some(pca), projected)
                    }
                    None => (None, x.to_owned()),
                };
                let metric = Metric::new(&data_nu, self.distance);
                search = self.search_method(data_nu.dim());
                let rows = affinity_rows(&metric, metric.x.view(), &spec, true, search);
                (rows, pca, Some(data_nu))
            };
            clock.lap("pca + knn kernel rows");
            let kernel = symmetrized(n, rows);
            let diff_op = kernel.l1_normalized();
            clock.lap("symmetrise + normalise");
            let landmarks = match self.n_landmark {
                Some(m) if n > m => Some(spectral_landmarks(
                    &kernel, &diff_op, m, self.n_svd, self.seed,
                )),
                _ => None,
            };
            clock.lap("landmarks");
            Ok(Arc::new(PhateGraph {
                n_features: d,
                distance: self.distance,
                spec,
                search,
                pca,
                data_nu,
                kernel,
                diff_op,
                landmarks,
                singular_values: OnceLock::new(),
            }))
        })?
    }

    /// Runs t selection, potential, potential distances and MDS on a cached
    /// graph; graph settings in `self` (knn, decay, distance, ...) are ignored.
    ///
    /// # Errors
    /// Invalid settings or a numerical failure.
    pub fn fit_graph(&self, graph: Arc<PhateGraph>) -> Result<PhateFit, PhateError> {
        self.check()?;
        let m = graph
            .landmarks
            .as_ref()
            .map_or(graph.n_points(), Landmarks::len);
        if self.n_components >= m {
            return Err(PhateError::InvalidParameter {
                name: "n_components",
                value: self.n_components.to_string(),
                reason: "must be smaller than the number of points (or landmarks)",
            });
        }
        run_in_pool(self.n_jobs, || {
            let clock = Stopwatch::new();
            let (t, entropy_curve, pt) = graph.choose_t_and_power(self.t, self.t_max)?;
            clock.lap("t selection + P^t");
            let pot = potential(pt, self.effective_gamma());
            let dist = match self.mds_dist {
                MdsDistance::Euclidean => Distance::Euclidean,
                MdsDistance::Cosine => Distance::Cosine,
            };
            clock.lap("potential");
            // landmark potentials only feed MDS: single precision (see
            // pairwise_euclidean_single); the exact path's match phate to 1e-5
            let mut pd = if graph.landmarks.is_some() && dist == Distance::Euclidean {
                pairwise_euclidean_single(pot.view())
            } else {
                pairwise(pot.view(), dist)
            };
            // All points alike (e.g. identical inputs): distances are rounding
            // noise, which metric MDS would blow up to unit size. Zero them.
            let pot_scale = pot.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            if pd.iter().all(|&v| v <= 1e-12 * pot_scale) {
                pd.fill(0.0);
            }
            clock.lap("potential distances");
            let y_classic = classic_mds(pd.view(), self.n_components, self.seed);
            clock.lap("classic mds");
            let y = match self.mds {
                Mds::Classic => y_classic,
                Mds::Metric => {
                    procrustes(
                        y_classic.view(),
                        sgd_mds(pd.view(), &y_classic, self.seed).view(),
                    )
                    .0
                }
                Mds::Smacof => {
                    procrustes(
                        y_classic.view(),
                        smacof(pd.view(), &y_classic, 3000, 1e-6).view(),
                    )
                    .0
                }
                Mds::NonMetric => {
                    let metric = sgd_mds(pd.view(), &y_classic, self.seed);
                    procrustes(
                        y_classic.view(),
                        smacof_nonmetric(pd.view(), &metric, 3000, 1e-6).view(),
                    )
                    .0
                }
            };
            clock.lap("metric mds");
            if y.iter().any(|v| !v.is_finite()) {
                return Err(PhateError::Numerical {
                    stage: "mds",
                    reason: "non-finite coordinates".into(),
                });
            }
            let embedding = match &graph.landmarks {
                Some(l) => l.transitions.mul_dense(y.view()),
                None => y.clone(),
            };
            Ok(PhateFit {
                embedding,
                t,
                entropy_curve,
                graph: Arc::clone(&graph),
                potential: pot,
                potential_distances: pd,
                mds_embedding: y,
            })
        })?
    }
}

impl PhateFit {
    /// The cached graph (kernel, diffusion operator, landmarks).
    #[must_use]
    pub fn graph(&self) -> &Arc<PhateGraph> {
        &self.graph
    }

    /// Symmetrised kernel (n x n, sparse).
    #[must_use]
    pub fn kernel(&self) -> &Csr {
        &self.graph.kernel
    }

    /// Diffusion operator (n x n, sparse).
    #[must_use]
    pub fn diff_op(&self) -> &Csr {
        &self.graph.diff_op
    }

    /// Landmark operator (m x m) when landmarks are on.
    #[must_use]
    pub fn landmark_op(&self) -> Option<&Array2<f64>> {
        self.graph.landmarks.as_ref().map(Landmarks::landmark_op)
    }

    /// Landmarks when on.
    #[must_use]
    pub fn landmarks(&self) -> Option<&Landmarks> {
        self.graph.landmarks.as_ref()
    }

    /// Potential of the operator that was powered: n x n on the exact path,
    /// m x m (landmarks) otherwise.
    #[must_use]
    pub fn potential(&self) -> &Array2<f64> {
        &self.potential
    }

    /// Potential distances between all points (n x n) on the exact path;
    /// `None` with landmarks (see [`PhateFit::landmark_potential_distances`]).
    #[must_use]
    pub fn potential_distances(&self) -> Option<&Array2<f64>> {
        self.graph
            .landmarks
            .is_none()
            .then_some(&self.potential_distances)
    }

    /// Potential distances between landmarks (m x m) when landmarks are on
    /// (euclidean ones through a single-precision Gram matrix, near pairs
    /// recomputed in f64: within about 1e-6 of the largest distance, as MDS
    /// needs; the exact path's [`PhateFit::potential_distances`] stay f64).
    #[must_use]
    pub fn landmark_potential_distances(&self) -> Option<&Array2<f64>> {
        self.graph
            .landmarks
            .is_some()
            .then_some(&self.potential_distances)
    }

    /// MDS layout before interpolation (landmarks x k, or = embedding).
    #[must_use]
    pub fn mds_embedding(&self) -> &Array2<f64> {
        &self.mds_embedding
    }

    /// Re-runs t, potential and MDS with new settings on the cached graph.
    ///
    /// # Errors
    /// As [`PhateParams::fit_graph`].
    pub fn refit(&self, params: &PhateParams) -> Result<Self, PhateError> {
        params.fit_graph(Arc::clone(&self.graph))
    }

    /// Places new points into the embedding through their kernel rows to the
    /// fitted points (graphtools' `extend_to_data` + `interpolate`): bandwidth =
    /// distance to the knn-th fitted point, affinities row-normalised, then
    /// averaged over the embedding (through the landmarks when they are on).
    ///
    /// # Errors
    /// Precomputed fits, wrong column count, non-finite values.
    pub fn transform(&self, y: ArrayView2<'_, f64>) -> Result<Array2<f64>, PhateError> {
        let g = &self.graph;
        let Some(data_nu) = &g.data_nu else {
            return Err(PhateError::Unavailable(
                "transform of a fit on a precomputed distance matrix",
            ));
        };
        if y.ncols() != g.n_features {
            return Err(PhateError::ShapeMismatch {
                expected: g.n_features,
                got: y.ncols(),
            });
        }
        check_finite(y)?;
        let y_nu = g
            .pca
            .as_ref()
            .map_or_else(|| y.to_owned(), |p| p.transform(y));
        let metric = Metric::new(data_nu, g.distance);
        let q = metric.prepare_query(y_nu.view());
        let spec = KernelSpec {
            knn_max: None,
            ..g.spec
        };
        let rows = affinity_rows(&metric, q.view(), &spec, false, g.search);
        let trans = match &g.landmarks {
            Some(l) => {
                let agg = rows
                    .into_iter()
                    .map(|r| r.into_iter().map(|(j, v)| (l.clusters[j], v)).collect())
                    .collect();
                Csr::from_rows(l.len(), agg).l1_normalized()
            }
            None => Csr::from_rows(g.n_points(), rows).l1_normalized(),
        };
        Ok(trans.mul_dense(self.mds_embedding.view()))
    }
}
