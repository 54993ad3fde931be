//! Parameters of the sublevel computation and its entry point.

use ndarray::ArrayView2;

use super::flag::flag_cycles;
use super::graph::{graph_cycles, zero_dimensional, LowerStar};
use super::knn::{bridge_components, nearest_neighbour_graph, validate_distance_matrix, KnnGraph};
use crate::summary::{total_persistence, truncate_essential};
use crate::{Diagram, TopoError, TopoResult};

/// Which complex the filtration lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Complex {
    /// The kNN graph as a 1-dimensional complex (the paper's choice): all of
    /// D1 is essential.
    #[default]
    Graph,
    /// The clique complex of the kNN graph up to triangles: filled cycles get
    /// finite D1 bars.
    Flag,
}

/// How the kNN graph is made connected (see the module docs, "Connectivity").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Connectivity {
    /// The kNN graph plus the shortest edges that join its components (the
    /// minimum spanning tree of the components, by the same distances).
    /// Unchanged when the kNN graph is connected.
    #[default]
    Bridged,
    /// The kNN graph as it is (the paper's construction); it may fall apart,
    /// and then each component keeps an essential D0 class.
    Knn,
}

/// Parameters of [`SublevelParams::compute`]; builder setters take and return
/// `self`.
///
/// Defaults: `k = 20`, [`Connectivity::Bridged`], [`Complex::Graph`], `p = 2`,
/// zero-persistence bars dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct SublevelParams {
    k: usize,
    connectivity: Connectivity,
    complex: Complex,
    p: f64,
    keep_zero_persistence: bool,
}

impl Default for SublevelParams {
    fn default() -> Self {
        Self {
            k: 20,
            connectivity: Connectivity::Bridged,
            complex: Complex::Graph,
            p: 2.0,
            keep_zero_persistence: false,
        }
    }
}

/// Where a bar is born and dies, as indices of the input points (rows of the
/// distance matrix, e.g. trajectory checkpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarLocation {
    /// D0: the local minimum that starts the component. D1: the vertex whose
    /// entry closes the cycle (upper end of the cycle-closing edge).
    pub birth_vertex: usize,
    /// D0: the vertex at which the component merges into an older one (a
    /// saddle). D1: the highest vertex of the triangle that fills the cycle.
    /// `None` for essential bars.
    pub death_vertex: Option<usize>,
}

/// What [`SublevelParams::compute`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct SublevelOutput {
    /// D0 and D1 (`max_dim = 1`); essential classes have infinite death.
    pub diagram: Diagram,
    /// For each bar of `diagram.pairs` (same order), its birth and death
    /// vertices.
    pub locations: Vec<BarLocation>,
    /// `Σ (death − birth)^p` for D0 and D1, essential classes truncated at
    /// [`max_value`](Self::max_value).
    pub total_persistence: [f64; 2],
    /// The largest function value, where essential classes are truncated.
    pub max_value: f64,
    /// The kNN graph the filtration was built on (original vertex indices).
    pub graph: KnnGraph,
    /// Edges added to connect the kNN graph ([`Connectivity::Bridged`]; 0
    /// when it was connected, with [`Connectivity::Knn`], or for
    /// [`SublevelParams::compute_on_graph`]).
    pub bridges: usize,
    /// Triangles enumerated (flag mode; 0 in graph mode).
    pub triangles_visited: usize,
}

impl SublevelParams {
    /// The defaults: `k = 20`, bridged kNN graph, graph complex, `p = 2`.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Neighbours per point of the kNN graph (`1 ≤ k < n`).
    #[must_use]
    pub fn k(mut self, k: usize) -> Self {
        self.k = k;
        self
    }

    /// Whether the kNN graph is bridged into one component
    /// ([`Connectivity::Bridged`], default) or left as it is ([`Connectivity::Knn`]).
    #[must_use]
    pub fn connectivity(mut self, connectivity: Connectivity) -> Self {
        self.connectivity = connectivity;
        self
    }

    /// The complex: [`Complex::Graph`] or [`Complex::Flag`].
    #[must_use]
    pub fn complex(mut self, complex: Complex) -> Self {
        self.complex = complex;
        self
    }

    /// Exponent of the total persistence (`p > 0`, finite).
    #[must_use]
    pub fn p(mut self, p: f64) -> Self {
        self.p = p;
        self
    }

    /// Keep bars with `death == birth` (dropped by default).
    #[must_use]
    pub fn keep_zero_persistence(mut self, keep: bool) -> Self {
        self.keep_zero_persistence = keep;
        self
    }

    fn check(&self) -> TopoResult<()> {
        if self.k == 0 {
            return Err(TopoError::InvalidParameter {
                name: "k",
                reason: "k = 0; the kNN graph needs at least one neighbour per point".into(),
            });
        }
        if !(self.p.is_finite() && self.p > 0.0) {
            return Err(TopoError::InvalidParameter {
                name: "p",
                reason: format!(
                    "p = {}; the total-persistence exponent must be finite and > 0",
                    self.p
                ),
            });
        }
        Ok(())
    }

    /// Sublevel persistence of `values` on the kNN graph of `distances`.
    ///
    /// # Arguments
    /// * `distances` — `n × n` distance matrix (PHATE potential distances of
    ///   one net's trajectory points): symmetric, finite, non-negative.
    /// * `values` — the function (loss) at each of the `n` points, finite.
    ///
    /// # Returns
    /// D0 and D1 of the lower-star filtration, total persistence per
    /// dimension, and the graph.
    ///
    /// # Errors
    /// [`TopoError::InvalidParameter`] for `k` (0 or ≥ n) or `p`;
    /// [`TopoError::InvalidInput`] for a bad matrix (see
    /// [`knn_graph`](super::knn_graph)), `values.len() != n`, or a non-finite value.
    ///
    /// # Complexity
    /// `O(n²)` for the graph, `O(E α(n))` for D0; flag mode adds the triangle
    /// reduction, in practice near-linear in the number of triangles.
    ///
    /// # Example
    /// ```
    /// use basin_topo::sublevel::{Complex, SublevelParams};
    /// use ndarray::Array2;
    /// // Eight points on a circle; the function is a height with two minima.
    /// let n = 8;
    /// let angle = |i: usize| i as f64 * std::f64::consts::TAU / n as f64;
    /// let d = Array2::from_shape_fn((n, n), |(i, j)| {
    ///     let (a, b) = (angle(i), angle(j));
    ///     ((a.cos() - b.cos()).powi(2) + (a.sin() - b.sin()).powi(2)).sqrt()
    /// });
    /// let f: Vec<f64> = (0..n).map(|i| (2.0 * angle(i)).cos()).collect();
    /// let out = SublevelParams::new().k(2).compute(d.view(), &f).unwrap();
    /// // The cycle graph: two minima (one dies), one essential loop.
    /// assert_eq!(out.diagram.count(0), 2);
    /// assert_eq!(out.diagram.count(1), 1);
    /// assert!(out.diagram.in_dim(1).all(|b| b.is_essential()));
    /// let flag = SublevelParams::new().k(2).complex(Complex::Flag);
    /// assert_eq!(flag.compute(d.view(), &f).unwrap().diagram.count(1), 1);
    /// ```
    pub fn compute(
        &self,
        distances: ArrayView2<'_, f64>,
        values: &[f64],
    ) -> TopoResult<SublevelOutput> {
        self.check()?;
        validate_distance_matrix(distances)?;
        let n = distances.nrows();
        if values.len() != n {
            return Err(TopoError::InvalidInput(format!(
                "values has {} entries but the distance matrix has {n} rows; one value per point is required",
                values.len()
            )));
        }
        let knn = nearest_neighbour_graph(distances, self.k)?;
        let (graph, bridges) = match self.connectivity {
            Connectivity::Bridged => {
                let bridged = bridge_components(&knn, distances);
                let added = bridged.edges.len() - knn.edges.len();
                (bridged, added)
            }
            Connectivity::Knn => (knn, 0),
        };
        let mut out = self.compute_on_graph(graph, values)?;
        out.bridges = bridges;
        Ok(out)
    }

    /// Sublevel persistence of `values` on a given graph (`k` and the
    /// connectivity are ignored: the graph is used as it is).
    ///
    /// # Errors
    /// [`TopoError::InvalidInput`] for an empty graph, an edge with an
    /// endpoint `≥ n` or a loop, `values.len() != n`, or a non-finite value;
    /// [`TopoError::IndexOverflow`] for 2³² edges or more.
    pub fn compute_on_graph(&self, graph: KnnGraph, values: &[f64]) -> TopoResult<SublevelOutput> {
        self.check()?;
        let n = graph.n;
        if n == 0 {
            return Err(TopoError::InvalidInput("the graph has no vertices".into()));
        }
        if values.len() != n {
            return Err(TopoError::InvalidInput(format!(
                "values has {} entries but the graph has {n} vertices",
                values.len()
            )));
        }
        if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(TopoError::InvalidInput(format!(
                "values[{i}] is {v}; function values must be finite"
            )));
        }
        if let Some(&(i, j)) = graph
            .edges
            .iter()
            .find(|&&(i, j)| i >= n || j >= n || i == j)
        {
            return Err(TopoError::InvalidInput(format!(
                "edge ({i}, {j}) is a loop or has an endpoint ≥ n = {n}"
            )));
        }
        if graph.edges.len() >= u32::MAX as usize {
            // The triangle reduction stores edge indices as u32.
            return Err(TopoError::IndexOverflow(format!(
                "{} edges do not fit the 32-bit edge indices of the reduction",
                graph.edges.len()
            )));
        }
        let mut graph = graph;
        graph.edges = graph
            .edges
            .iter()
            .map(|&(i, j)| (i.min(j), i.max(j)))
            .collect();
        graph.edges.sort_unstable();
        graph.edges.dedup();

        let filtration = LowerStar::new(&graph, values);
        let (mut bars, cycle_edges) = zero_dimensional(&filtration, self.keep_zero_persistence);
        let mut triangles_visited = 0;
        match self.complex {
            Complex::Graph => bars.extend(graph_cycles(&filtration, &cycle_edges)),
            Complex::Flag => {
                let cycles = flag_cycles(&filtration, &cycle_edges, self.keep_zero_persistence);
                triangles_visited = cycles.triangles_visited;
                bars.extend(cycles.pairs);
            }
        }
        let (pairs, locations): (Vec<_>, Vec<_>) = bars.into_iter().unzip();
        let max_value = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let truncated = truncate_essential(&pairs, max_value);
        let total = |dim: usize| {
            let bars: Vec<_> = truncated.iter().copied().filter(|b| b.dim == dim).collect();
            total_persistence(&bars, self.p)
        };
        Ok(SublevelOutput {
            total_persistence: [total(0), total(1)],
            diagram: Diagram { pairs, max_dim: 1 },
            locations,
            max_value,
            bridges: 0,
            graph,
            triangles_visited,
        })
    }
}
