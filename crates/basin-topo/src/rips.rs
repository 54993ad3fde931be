//! Vietoris–Rips persistence, after Ripser (Bauer 2021, "Ripser: efficient
//! computation of Vietoris–Rips persistence barcodes").
//!
//! * 0-dimensional bars by union–find over the edges in filtration order;
//! * higher dimensions by **cohomology with clearing**: the columns of
//!   dimension `d` are the `d`-simplices that are not pivots of dimension
//!   `d - 1`, reduced from the largest filtration value down;
//! * **implicit coboundaries**: simplices are indices in the combinatorial
//!   number system (`binomial`), cofacets are enumerated from the index and
//!   the distances (`coboundary`), never stored;
//! * **apparent and emergent pairs**: zero-persistence pairs found by a local
//!   test are skipped without building their columns;
//! * only the reduction matrix `V` is stored; the working coboundary is a
//!   sorted run of older entries plus a small 4-ary heap of recent pushes,
//!   with the pivot kept aside so a column addition never pushes the entries
//!   it cancels (`working_column`);
//! * the memory a run needs is estimated first (simplex counts per dimension
//!   under the threshold: exact for edges, Knuth's random-probe estimate of
//!   the clique tree above) and refused over `max_memory` ([`estimate_memory`]);
//! * simplex indices are checked: a `C(n, max_dim + 2)` that does not fit the
//!   56 index bits of a key is refused with [`TopoError::IndexOverflow`];
//! * **sparse mode** when a threshold leaves out some edges: neighbour lists
//!   sorted by vertex, cofacets found by merging them;
//! * **threads** ([`RipsParams::n_threads`]): the apparent-pair tests of the
//!   edges, the assembly of the columns and the reduction run on a rayon
//!   pool. The reduction advances a window of columns at once against the
//!   pivots settled so far and settles them in column order, so that every
//!   column goes through the additions of the sequential run: bars, cocycles
//!   and cycles are identical for any number of threads (module `parallel`).
//!   A single long column (the sphere of `data/tda`) stays one thread's work;
//! * **representative cycles** of 1-dimensional bars
//!   ([`RipsParams::cycles`]): a partial homology reduction of the death
//!   triangles after the cohomology run (module `cycles`).
//!
//! Semantics follow ripser.py 0.6.15 exactly: filtration values are `f32`;
//! a simplex enters at the largest distance among its vertices; the
//! threshold keeps the simplices of diameter `≤ threshold` in every input
//! mode; without a threshold (or with `+∞`) the enclosing radius
//! `min_i max_j d(i, j)` is used, past which the complex is a cone so no
//! bar of positive dimension changes; bars of zero length are not reported
//! (ripser.py drops them), bars with equal or zero filtration values of
//! positive length are; every dimension-0 component gives one essential bar.
//!
//! Differences from ripser.py: a non-zero diagonal (ripser.py's "vertex
//! births") is refused instead of silently switching to sparse mode;
//! sparse edges are undirected (ripser.py reads only the `i < j` entries of
//! a sparse matrix) and conflicting duplicates are refused.
//!
//! # Example
//! ```
//! use basin_topo::rips::{Metric, RipsInput, RipsParams};
//! use ndarray::array;
//!
//! // Four corners of a unit square: one loop from 1 to √2.
//! let points = array![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
//! let input = RipsInput::PointCloud { points: points.view(), metric: Metric::Euclidean };
//! let out = RipsParams::new().max_dim(1).threshold(Some(2.0)).compute(&input)?;
//! let h1: Vec<_> = out.diagram.in_dim(1).collect();
//! assert_eq!(h1.len(), 1);
//! assert_eq!(h1[0].birth, 1.0);
//! assert_eq!(h1[0].death, f64::from(2f32.sqrt()));
//! assert_eq!(out.diagram.count(0), 4);
//! # Ok::<(), basin_topo::TopoError>(())
//! ```

mod apparent;
mod binomial;
mod coboundary;
mod column;
mod cycles;
mod distance_matrix;
mod io;
mod memory;
mod parallel;
mod pivot_map;
mod reduction;
mod types;
mod union_find;
mod working_column;

pub use io::{
    parse_distance_matrix, parse_lower_distance_matrix, parse_point_cloud, parse_sparse_triplets,
    read_distance_matrix, read_lower_distance_matrix, read_point_cloud, read_sparse_triplets,
};
pub use memory::{default_memory_budget, MemoryEstimate};

use binomial::BinomialCoeffTable;
use coboundary::{CofacetEnumerator, DenseCofacets, SparseCofacets};
use cycles::{representative_cycles, CycleInput};
use distance_matrix::{prepare, PreparedInput, RipsMatrix};
use reduction::{Cocycle, Reducer};
use types::Value;

use crate::{Diagram, TopoError, TopoResult};

/// Distance between the rows of a point cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Metric {
    /// `‖x - y‖₂`.
    #[default]
    Euclidean,
    /// `1 - x·y / (‖x‖ ‖y‖)`, clipped to `[0, 2]` as scikit-learn does.
    Cosine,
}

/// The data a Rips filtration is built on.
#[derive(Debug, Clone, Copy)]
pub enum RipsInput<'a> {
    /// Points as rows, with the metric between them.
    PointCloud {
        /// `n × d` coordinates.
        points: ndarray::ArrayView2<'a, f64>,
        /// Distance between rows.
        metric: Metric,
    },
    /// A full symmetric `n × n` matrix with zero diagonal.
    DistanceMatrix(ndarray::ArrayView2<'a, f64>),
    /// The entries below the diagonal, row by row: `d(1,0), d(2,0), d(2,1), d(3,0), …`.
    LowerTriangular {
        /// Number of points.
        n: usize,
        /// `n (n - 1) / 2` distances.
        values: &'a [f64],
    },
    /// Some distances; absent pairs are infinitely far apart.
    Sparse {
        /// Number of points.
        n: usize,
        /// Undirected edges `(i, j, distance)`.
        edges: &'a [(usize, usize, f64)],
    },
}

/// Parameters of a Rips persistence computation (builder).
#[derive(Debug, Clone, PartialEq)]
pub struct RipsParams {
    max_dim: usize,
    threshold: Option<f64>,
    modulus: u32,
    max_memory: Option<u64>,
    cocycles: bool,
    cycles: bool,
    n_threads: usize,
}

impl Default for RipsParams {
    fn default() -> Self {
        Self {
            max_dim: 1,
            threshold: None,
            modulus: 2,
            max_memory: default_memory_budget(),
            cocycles: false,
            cycles: false,
            n_threads: 1,
        }
    }
}

/// A representative cycle: edges `[u, v]` (`u < v`, point indices) with
/// their coefficients in Z/p written in `(-p/2, p/2]`; see [`RipsOutput::cycles`].
pub type RepresentativeCycle = Vec<([usize; 2], i64)>;

/// Result of [`RipsParams::compute`].
#[derive(Debug, Clone)]
pub struct RipsOutput {
    /// Bars of dimensions `0..=max_dim`, essential ones with `death = ∞`.
    pub diagram: Diagram,
    /// With [`RipsParams::cocycles`]: for each bar of `diagram.pairs` (same
    /// order), the simplices of a representative cocycle as increasing
    /// vertex lists (empty for dimension 0).
    pub cocycles: Option<Vec<Vec<Vec<usize>>>>,
    /// The coefficients of those simplices in Z/p, written in `(-p/2, p/2]`.
    pub cocycle_coefficients: Option<Vec<Vec<i64>>>,
    /// With [`RipsParams::cycles`]: for each bar of `diagram.pairs` (same
    /// order), a representative cycle of a 1-dimensional bar as edges
    /// `[u, v]` (`u < v`) with coefficients in Z/p written in `(-p/2, p/2]`,
    /// oriented so that `∂[u, v] = v − u`; empty for other dimensions. A
    /// finite bar `[b, d)` gets the cycle of the homology reduction: its
    /// latest edge has length `b`, it is a boundary at `d` and not before,
    /// and it pairs to a non-zero value with the bar's cocycle. An essential
    /// bar gets its birth edge closed by a path of the minimum spanning forest.
    pub cycles: Option<Vec<RepresentativeCycle>>,
    /// The threshold used (the enclosing radius when none was given).
    pub threshold: f64,
    /// Number of edges of length `≤ threshold`.
    pub num_edges: usize,
    /// The estimate checked against the budget before computing.
    pub memory: MemoryEstimate,
}

fn is_prime(p: u32) -> bool {
    p >= 2 && (2..).take_while(|d| d * d <= p).all(|d| p % d != 0)
}

impl RipsParams {
    /// Defaults: `max_dim` 1, no threshold (enclosing radius), Z/2, budget
    /// [`default_memory_budget`], no cocycles or cycles, one thread.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Highest homology dimension computed.
    #[must_use]
    pub fn max_dim(mut self, max_dim: usize) -> Self {
        self.max_dim = max_dim;
        self
    }

    /// Keep simplices of diameter `≤ threshold`; `None` or `+∞`: the enclosing radius.
    #[must_use]
    pub fn threshold(mut self, threshold: Option<f64>) -> Self {
        self.threshold = threshold;
        self
    }

    /// Coefficients in Z/`modulus`, a prime below 256.
    #[must_use]
    pub fn modulus(mut self, modulus: u32) -> Self {
        self.modulus = modulus;
        self
    }

    /// Refuse runs whose estimate exceeds this many bytes (`None`: no limit).
    #[must_use]
    pub fn max_memory(mut self, max_memory: Option<u64>) -> Self {
        self.max_memory = max_memory;
        self
    }

    /// Also return representative cocycles.
    #[must_use]
    pub fn cocycles(mut self, cocycles: bool) -> Self {
        self.cocycles = cocycles;
        self
    }

    /// Also return representative cycles of the 1-dimensional bars (see
    /// [`RipsOutput::cycles`]). Cheap: a partial homology reduction of the
    /// death triangles after the cohomology run.
    ///
    /// # Example
    /// ```
    /// use basin_topo::rips::{Metric, RipsInput, RipsParams};
    /// use ndarray::array;
    /// // A unit square: its loop [1, √2) is the cycle of its four sides.
    /// let points = array![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
    /// let input = RipsInput::PointCloud { points: points.view(), metric: Metric::Euclidean };
    /// let out = RipsParams::new().threshold(Some(2.0)).cycles(true).n_threads(2).compute(&input)?;
    /// let bar = out.diagram.pairs.iter().position(|p| p.dim == 1).unwrap();
    /// let mut edges: Vec<[usize; 2]> = out.cycles.unwrap()[bar].iter().map(|&(e, _)| e).collect();
    /// edges.sort();
    /// assert_eq!(edges, vec![[0, 1], [0, 3], [1, 2], [2, 3]]);
    /// # Ok::<(), basin_topo::TopoError>(())
    /// ```
    #[must_use]
    pub fn cycles(mut self, cycles: bool) -> Self {
        self.cycles = cycles;
        self
    }

    /// Worker threads (`0`: all cores; default 1). With more than one, the
    /// distances of a point cloud, the apparent-pair tests of the edges, the
    /// assembly of the columns of each dimension and the reduction itself run
    /// in parallel (see the `parallel` module: rounds over a window of columns
    /// that reproduce the sequential column additions). The result — bars, their order,
    /// cocycles and cycles — does not depend on it. Cost: up to 512 columns
    /// per thread are in flight with their working coboundaries, which the
    /// memory estimate does not model (peak memory +0–15 % on `data/tda`
    /// with 2 threads); CPU time equals one thread's.
    #[must_use]
    pub fn n_threads(mut self, n_threads: usize) -> Self {
        self.n_threads = n_threads;
        self
    }

    fn check(&self) -> TopoResult<()> {
        if !(is_prime(self.modulus) && self.modulus < 256) {
            return Err(TopoError::InvalidParameter {
                name: "modulus",
                reason: format!("{} is not a prime below 256", self.modulus),
            });
        }
        if let Some(t) = self.threshold {
            if t.is_nan() || t < 0.0 {
                return Err(TopoError::InvalidParameter {
                    name: "threshold",
                    reason: format!("{t} is not a non-negative number"),
                });
            }
        }
        Ok(())
    }

    /// Computes the persistence diagrams of the Rips filtration of `input`.
    ///
    /// # Arguments
    /// * `input` — points, a full, lower-triangular or sparse distance matrix.
    ///
    /// # Errors
    /// * [`TopoError::InvalidParameter`] for a modulus that is not a prime
    ///   below 256 or a negative/NaN threshold;
    /// * [`TopoError::InvalidInput`] for empty, ragged, non-symmetric input,
    ///   NaN or negative distances (the message names the entry);
    /// * [`TopoError::MemoryBudget`] when [`estimate_memory`] exceeds `max_memory`;
    /// * [`TopoError::IndexOverflow`] when `C(n, max_dim + 2)` does not fit a
    ///   simplex index.
    ///
    /// # Example
    /// ```
    /// use basin_topo::rips::{RipsInput, RipsParams};
    /// // Three points on a line: two bars [0, 1) and one essential class.
    /// let lower = [1.0, 2.0, 1.0];
    /// let out = RipsParams::new().compute(&RipsInput::LowerTriangular { n: 3, values: &lower })?;
    /// assert_eq!(out.diagram.count(0), 3);
    /// assert_eq!(out.diagram.in_dim(0).filter(|p| p.is_essential()).count(), 1);
    /// # Ok::<(), basin_topo::TopoError>(())
    /// ```
    pub fn compute(&self, input: &RipsInput<'_>) -> TopoResult<RipsOutput> {
        self.check()?;
        self.check_dense_size(input)?;
        let pool = self.thread_pool();
        let prepared = prepare(input, pool.as_ref())?;
        let plan = self.plan(&prepared)?;
        if let Some(budget) = self.max_memory {
            if plan.memory.bytes > budget {
                return Err(TopoError::MemoryBudget {
                    estimated_bytes: u128::from(plan.memory.bytes),
                    budget_bytes: u128::from(budget),
                    advice: format!(
                        "estimated simplices per dimension {:?} at threshold {}; \
                         lower `max_dim`, set a smaller `threshold`, or raise `max_memory`",
                        plan.memory
                            .simplices_per_dim
                            .iter()
                            .map(|c| c.round())
                            .collect::<Vec<_>>(),
                        plan.memory.threshold
                    ),
                });
            }
        }
        let n = prepared.size();
        let binomial = BinomialCoeffTable::new(n, effective_dim(self.max_dim, n) + 2)?;
        let threshold = plan.threshold;
        let (pairs, cocycles, cycles) = match prepared {
            // Dense enumeration (one distance lookup per vertex, cofacets over
            // the threshold skipped) wins unless the threshold leaves out most
            // edges; then merging neighbour lists is cheaper.
            PreparedInput::Dense(m)
                if threshold >= m.max_distance() || plan.num_edges >= n * (n - 1) / 8 =>
            {
                self.run::<_, DenseCofacets>(&m, &binomial, threshold, pool.as_ref())
            }
            PreparedInput::Dense(m) => self.run::<_, SparseCofacets>(
                &m.to_sparse(threshold),
                &binomial,
                threshold,
                pool.as_ref(),
            ),
            PreparedInput::Sparse(mut m) => {
                m.truncate(threshold);
                self.run::<_, SparseCofacets>(&m, &binomial, threshold, pool.as_ref())
            }
        };
        let diagram = Diagram {
            pairs,
            max_dim: self.max_dim,
        };
        let (cocycles, cocycle_coefficients) = match cocycles {
            Some(c) => {
                let (simplices, coefficients) = c
                    .into_iter()
                    .map(|z| z.into_iter().unzip::<_, _, Vec<_>, Vec<_>>())
                    .unzip();
                (Some(simplices), Some(coefficients))
            }
            None => (None, None),
        };
        Ok(RipsOutput {
            diagram,
            cocycles,
            cocycle_coefficients,
            cycles,
            threshold: f64::from(threshold),
            num_edges: plan.num_edges,
            memory: plan.memory,
        })
    }

    fn run<M: RipsMatrix, E: CofacetEnumerator<M>>(
        &self,
        m: &M,
        binomial: &BinomialCoeffTable,
        threshold: Value,
        pool: Option<&rayon::ThreadPool>,
    ) -> (
        Vec<crate::PersistencePair>,
        Option<Vec<Cocycle>>,
        Option<Vec<RepresentativeCycle>>,
    ) {
        let dim = effective_dim(self.max_dim, m.size());
        let mut reducer = Reducer::<M, E>::new(
            m,
            binomial,
            dim,
            threshold,
            self.modulus,
            self.cocycles,
            self.cycles,
            pool,
        );
        reducer.compute_barcodes();
        let cocycles = self.cocycles.then(|| std::mem::take(&mut reducer.cocycles));
        let cycles = self.cycles.then(|| {
            let input = CycleInput {
                bars: &reducer.dim1_bars,
                pivots: &reducer.dim1_pivots,
                tree_edges: &reducer.tree_edges,
                inverse: &reducer.inverse,
            };
            let mut found =
                representative_cycles(&reducer.ctx(), &mut reducer.apparent(), &input).into_iter();
            reducer
                .pairs
                .iter()
                .map(|p| {
                    if p.dim == 1 {
                        found.next().flatten().unwrap_or_default()
                    } else {
                        Vec::new()
                    }
                })
                .collect()
        });
        (std::mem::take(&mut reducer.pairs), cocycles, cycles)
    }

    /// The worker threads (`None` for one thread; a pool that cannot be
    /// built falls back to one thread, which gives the same result).
    fn thread_pool(&self) -> Option<rayon::ThreadPool> {
        match self.n_threads {
            1 => None,
            t => rayon::ThreadPoolBuilder::new().num_threads(t).build().ok(),
        }
    }

    /// Refuses before allocating an `n × n` distance matrix over the budget.
    fn check_dense_size(&self, input: &RipsInput<'_>) -> TopoResult<()> {
        let n = match input {
            RipsInput::PointCloud { points, .. } => points.nrows(),
            RipsInput::DistanceMatrix(m) => m.nrows(),
            RipsInput::LowerTriangular { n, .. } => *n,
            RipsInput::Sparse { .. } => return Ok(()),
        };
        let bytes = (n as u128) * (n as u128) * 4;
        match self.max_memory {
            Some(budget) if bytes > u128::from(budget) => Err(TopoError::MemoryBudget {
                estimated_bytes: bytes,
                budget_bytes: u128::from(budget),
                advice: format!(
                    "the {n} × {n} distance matrix alone exceeds the budget; \
                     use fewer points, a sparse input, or raise `max_memory`"
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Threshold, edge count and memory estimate of a prepared input.
    fn plan(&self, prepared: &PreparedInput) -> TopoResult<Plan> {
        let given = self.threshold.filter(|t| t.is_finite()).map(|t| t as Value);
        let max_dim = effective_dim(self.max_dim, prepared.size());
        let top_dim = max_dim + 1;
        Ok(match prepared {
            PreparedInput::Dense(m) => {
                let threshold = given.unwrap_or_else(|| m.enclosing_radius());
                let n = m.size();
                let num_edges = (0..n)
                    .map(|i| m.row(i)[..i].iter().filter(|&&d| d <= threshold).count())
                    .sum();
                let counts = memory::simplex_counts(m, threshold, num_edges, top_dim);
                let bytes = memory::estimate_bytes(&counts, max_dim, (n * n * 4) as f64);
                Plan {
                    threshold,
                    num_edges,
                    memory: MemoryEstimate {
                        simplices_per_dim: counts,
                        bytes,
                        threshold: f64::from(threshold),
                    },
                }
            }
            PreparedInput::Sparse(m) => {
                let threshold = given.unwrap_or_else(|| m.enclosing_radius());
                let num_edges = m
                    .neighbors
                    .iter()
                    .enumerate()
                    .map(|(i, nb)| {
                        nb.iter()
                            .filter(|&&(j, d)| (j as usize) < i && d <= threshold)
                            .count()
                    })
                    .sum();
                let counts = memory::simplex_counts(m, threshold, num_edges, top_dim);
                let bytes = memory::estimate_bytes(&counts, max_dim, (m.num_edges() * 16) as f64);
                Plan {
                    threshold,
                    num_edges,
                    memory: MemoryEstimate {
                        simplices_per_dim: counts,
                        bytes,
                        threshold: f64::from(threshold),
                    },
                }
            }
        })
    }
}

/// `n` points have no simplices above dimension `n - 1`: computing further
/// dimensions would only cost table space.
fn effective_dim(max_dim: usize, n: usize) -> usize {
    max_dim.min(n.saturating_sub(1))
}

struct Plan {
    threshold: Value,
    num_edges: usize,
    memory: MemoryEstimate,
}

/// Estimates the memory [`RipsParams::compute`] would need, without computing.
///
/// # Errors
/// As [`RipsParams::compute`] for invalid parameters or input.
pub fn estimate_memory(input: &RipsInput<'_>, params: &RipsParams) -> TopoResult<MemoryEstimate> {
    params.check()?;
    Ok(params.plan(&prepare(input, None)?)?.memory)
}

/// Ripser-style text of a diagram: per dimension a header line
/// `persistence intervals in dim d:` and one ` [birth,death)` line per bar
/// (` [birth, )` for essential ones), dimensions in increasing order and
/// bars sorted by (birth, death).
#[must_use]
pub fn to_ripser_text(diagram: &Diagram) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for dim in 0..=diagram.max_dim {
        let _ = writeln!(out, "persistence intervals in dim {dim}:");
        let mut bars: Vec<_> = diagram.in_dim(dim).collect();
        bars.sort_by(|a, b| {
            a.birth
                .total_cmp(&b.birth)
                .then(a.death.total_cmp(&b.death))
        });
        for p in bars {
            // Values are f32 underneath: print them as such (shortest round trip).
            if p.is_essential() {
                let _ = writeln!(out, " [{}, )", p.birth as f32);
            } else {
                let _ = writeln!(out, " [{},{})", p.birth as f32, p.death as f32);
            }
        }
    }
    out
}
