//! The lower-star filtration of a vertex function on a graph, and its
//! persistence in dimension 0 (union–find, elder rule) and, for the graph
//! seen as a 1-complex, dimension 1 (every cycle-closing edge is essential).

use super::knn::KnnGraph;
use super::params::BarLocation;
use super::union_find::UnionFind;
use crate::PersistencePair;

/// A bar and where it is born and dies.
pub(crate) type LocatedBar = (PersistencePair, BarLocation);

/// A graph relabelled so that vertex `v` is the `v`-th in filtration order
/// (by value, ties by original index) and edges are sorted by their
/// filtration order: `(hi, lo)` lexicographically, `lo < hi`. Because the
/// vertex order sorts values, an edge's value is that of its `hi` end and the
/// edge order sorts edge values.
pub(crate) struct LowerStar {
    /// The function value of the vertex at each filtration position.
    pub(crate) sorted_values: Vec<f64>,
    /// Edges `(lo, hi)` in filtration positions, sorted by `(hi, lo)`.
    pub(crate) edges: Vec<(usize, usize)>,
    /// The original index of the vertex at each filtration position.
    pub(crate) vertex_at: Vec<usize>,
}

impl LowerStar {
    /// `values` must have one finite entry per vertex of `graph` (checked by
    /// the caller).
    pub(crate) fn new(graph: &KnnGraph, values: &[f64]) -> Self {
        let mut order: Vec<usize> = (0..graph.n).collect();
        order.sort_unstable_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
        let mut position = vec![0; graph.n];
        for (pos, &v) in order.iter().enumerate() {
            position[v] = pos;
        }
        let mut edges: Vec<(usize, usize)> = graph
            .edges
            .iter()
            .map(|&(i, j)| {
                let (a, b) = (position[i], position[j]);
                (a.min(b), a.max(b))
            })
            .collect();
        edges.sort_unstable_by_key(|&(lo, hi)| (hi, lo));
        Self {
            sorted_values: order.iter().map(|&v| values[v]).collect(),
            edges,
            vertex_at: order,
        }
    }

    /// The filtration value of edge number `e`.
    pub(crate) fn edge_value(&self, e: usize) -> f64 {
        self.sorted_values[self.edges[e].1]
    }
}

/// D0 of the lower-star filtration, and the indices of the edges that close
/// a cycle (the positive edges, each the birth of a 1-cycle).
pub(crate) fn zero_dimensional(
    filtration: &LowerStar,
    keep_zero_persistence: bool,
) -> (Vec<LocatedBar>, Vec<usize>) {
    let n = filtration.sorted_values.len();
    let mut components = UnionFind::new(n);
    let mut pairs = Vec::new();
    let mut cycle_edges = Vec::new();
    for (e, &(lo, hi)) in filtration.edges.iter().enumerate() {
        let (root_lo, root_hi) = (components.find(lo), components.find(hi));
        if root_lo == root_hi {
            cycle_edges.push(e);
            continue;
        }
        // Elder rule: the component born later (larger position) dies.
        let younger = root_lo.max(root_hi);
        let pair = PersistencePair {
            dim: 0,
            birth: filtration.sorted_values[younger],
            death: filtration.sorted_values[hi],
        };
        if keep_zero_persistence || pair.death > pair.birth {
            let location = BarLocation {
                birth_vertex: filtration.vertex_at[younger],
                death_vertex: Some(filtration.vertex_at[hi]),
            };
            pairs.push((pair, location));
        }
        components.link(root_lo, root_hi);
    }
    for v in 0..n {
        if components.find(v) == v {
            let pair = PersistencePair {
                dim: 0,
                birth: filtration.sorted_values[v],
                death: f64::INFINITY,
            };
            let location = BarLocation {
                birth_vertex: filtration.vertex_at[v],
                death_vertex: None,
            };
            pairs.push((pair, location));
        }
    }
    (pairs, cycle_edges)
}

/// D1 of the graph as a 1-complex: nothing fills a cycle, so every
/// cycle-closing edge is an essential class born at its value.
pub(crate) fn graph_cycles(filtration: &LowerStar, cycle_edges: &[usize]) -> Vec<LocatedBar> {
    cycle_edges
        .iter()
        .map(|&e| essential_cycle(filtration, e))
        .collect()
}

/// The essential D1 bar born at edge `e`, located at the edge's upper vertex.
pub(crate) fn essential_cycle(filtration: &LowerStar, e: usize) -> LocatedBar {
    let pair = PersistencePair {
        dim: 1,
        birth: filtration.edge_value(e),
        death: f64::INFINITY,
    };
    let location = BarLocation {
        birth_vertex: filtration.vertex_at[filtration.edges[e].1],
        death_vertex: None,
    };
    (pair, location)
}
