//! The symmetrised k-nearest-neighbour graph of a distance matrix.

use ndarray::ArrayView2;

use crate::{TopoError, TopoResult};

/// Relative tolerance for `d[i, j] == d[j, i]`: distances computed by two
/// different summation orders may differ in the last bits.
const SYMMETRY_TOLERANCE: f64 = 1e-9;

/// Entries down to `−NEGATIVE_TOLERANCE · max(1, max d)` are rounding noise
/// (a cosine distance of `−1e−17`), accepted as they are; below, refused.
const NEGATIVE_TOLERANCE: f64 = 1e-12;

/// An undirected simple graph on `n` vertices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnnGraph {
    /// Number of vertices.
    pub n: usize,
    /// Each undirected edge once, as `(i, j)` with `i < j`, sorted.
    pub edges: Vec<(usize, usize)>,
}

/// Checks that `distances` is a non-empty, square, finite, non-negative and
/// symmetric matrix (up to rounding: relative asymmetry ≤ 1e−9, negative
/// entries ≥ −1e−12 · max(1, max d)).
///
/// # Errors
/// [`TopoError::InvalidInput`] naming the first offending entry.
pub(crate) fn validate_distance_matrix(distances: ArrayView2<'_, f64>) -> TopoResult<()> {
    let (rows, cols) = distances.dim();
    if rows == 0 {
        return Err(TopoError::InvalidInput(
            "distance matrix is empty (0 rows)".into(),
        ));
    }
    if rows != cols {
        return Err(TopoError::InvalidInput(format!(
            "distance matrix must be square, got {rows} rows × {cols} columns"
        )));
    }
    // Fast pass first; the slow search for the offending entry only on failure.
    let largest = distances
        .iter()
        .fold(1.0f64, |m, &v| if v > m { v } else { m });
    let floor = -NEGATIVE_TOLERANCE * largest;
    if !distances.iter().all(|&v| v.is_finite() && v >= floor) {
        for ((i, j), &v) in distances.indexed_iter() {
            if !v.is_finite() {
                return Err(TopoError::InvalidInput(format!(
                    "distance matrix entry ({i}, {j}) is {v}; distances must be finite"
                )));
            }
            if v < floor {
                return Err(TopoError::InvalidInput(format!(
                    "distance matrix entry ({i}, {j}) is {v}; distances must be non-negative"
                )));
            }
        }
    }
    // Symmetry, in square tiles so that the transposed reads stay in cache.
    const TILE: usize = 32;
    for i0 in (0..rows).step_by(TILE) {
        for j0 in (i0..rows).step_by(TILE) {
            for i in i0..(i0 + TILE).min(rows) {
                for j in j0.max(i + 1)..(j0 + TILE).min(rows) {
                    let (a, b) = (distances[[i, j]], distances[[j, i]]);
                    if (a - b).abs() > SYMMETRY_TOLERANCE * a.abs().max(b.abs()).max(1.0) {
                        return Err(TopoError::InvalidInput(format!(
                            "distance matrix is not symmetric: entry ({i}, {j}) is {a} but ({j}, {i}) is {b}"
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Builds the kNN graph of a distance matrix.
///
/// Vertex `i` is joined to `j` when `j` is among the `k` nearest neighbours of
/// `i` or `i` among those of `j` (union symmetrisation). A point is not its
/// own neighbour; ties are broken by the smaller index, so the graph is a
/// deterministic function of the matrix.
///
/// # Arguments
/// * `distances` — `n × n` symmetric, non-negative, finite matrix.
/// * `k` — neighbours per point, `1 ≤ k < n`.
///
/// # Returns
/// The graph, every undirected edge once.
///
/// # Errors
/// [`TopoError::InvalidInput`] for an empty, non-square, non-finite, negative
/// or non-symmetric matrix; [`TopoError::InvalidParameter`] (`k`) when
/// `k == 0` or `k ≥ n`.
///
/// # Complexity
/// `O(n²)` time (one pass per row keeping the k nearest), `O(n k)` memory.
///
/// # Example
/// ```
/// use basin_topo::sublevel::knn_graph;
/// use ndarray::array;
/// let d = array![[0.0, 1.0, 5.0], [1.0, 0.0, 2.0], [5.0, 2.0, 0.0]];
/// let g = knn_graph(d.view(), 1).unwrap();
/// assert_eq!(g.edges, vec![(0, 1), (1, 2)]);
/// ```
pub fn knn_graph(distances: ArrayView2<'_, f64>, k: usize) -> TopoResult<KnnGraph> {
    validate_distance_matrix(distances)?;
    nearest_neighbour_graph(distances, k)
}

/// [`knn_graph`] of a matrix already validated.
pub(crate) fn nearest_neighbour_graph(
    distances: ArrayView2<'_, f64>,
    k: usize,
) -> TopoResult<KnnGraph> {
    let n = distances.nrows();
    if k == 0 || k >= n {
        return Err(TopoError::InvalidParameter {
            name: "k",
            reason: format!(
                "k = {k} must satisfy 1 ≤ k < n, where n = {n} is the number of points"
            ),
        });
    }
    let mut edges = Vec::with_capacity(n * k);
    // The k nearest so far, ascending by (distance, index); a candidate
    // enters only if it precedes the current k-th in that order, so most
    // cost one comparison. Candidates are visited outwards from i (i+1, i−1,
    // i+2, ...): trajectory points are stored in time order, so near indices
    // are near points, the k-th distance drops early and later candidates are
    // rejected at once (scanning 0..n would insert every point approaching i).
    let mut nearest: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
    for i in 0..n {
        nearest.clear();
        let row = distances.row(i);
        let before = |a: (f64, usize), b: (f64, usize)| a.0 < b.0 || (a.0 == b.0 && a.1 < b.1);
        let outwards = (1..n).flat_map(|step| [i.checked_add(step), i.checked_sub(step)]);
        for j in outwards.flatten().filter(|&j| j < n) {
            let candidate = (row[j], j);
            if nearest.len() == k && !before(candidate, nearest[k - 1]) {
                continue;
            }
            let at = nearest.partition_point(|&kept| before(kept, candidate));
            nearest.insert(at, candidate);
            nearest.truncate(k);
        }
        edges.extend(nearest.iter().map(|&(_, j)| (i.min(j), i.max(j))));
    }
    edges.sort_unstable();
    edges.dedup();
    Ok(KnnGraph { n, edges })
}

/// Adds to `graph` the shortest edges of `distances` that join its
/// connected components, as Kruskal's algorithm would pick them: the
/// result is the graph plus the minimum spanning tree of the complete graph
/// in which the graph's own edges weigh nothing. A connected graph is
/// returned unchanged; `c` components get exactly `c − 1` new edges.
///
/// # Arguments
/// * `graph` — a graph on the `n` points of `distances` (edges `(i, j)`, `i < j`).
/// * `distances` — the `n × n` matrix the bridges are measured in.
///
/// # Returns
/// The connected graph, edges sorted, each once.
///
/// # Errors
/// [`TopoError::InvalidInput`] when `distances` is not `n × n` or not a valid
/// distance matrix, or an edge has an endpoint `≥ n`.
///
/// # Complexity
/// `O(n² + E)`: Prim's algorithm on the dense matrix, contracting the
/// graph's components.
///
/// # Example
/// ```
/// use basin_topo::sublevel::{connect_components, knn_graph};
/// use ndarray::array;
/// // Two pairs far apart: the 1-NN graph has two components.
/// let d = array![[0.0, 1.0, 9.0, 8.0], [1.0, 0.0, 7.0, 9.0], [9.0, 7.0, 0.0, 1.0], [8.0, 9.0, 1.0, 0.0]];
/// let g = knn_graph(d.view(), 1).unwrap();
/// assert_eq!(g.edges, vec![(0, 1), (2, 3)]);
/// // The shortest bridge is (1, 2) at 7.
/// assert_eq!(connect_components(&g, d.view()).unwrap().edges, vec![(0, 1), (1, 2), (2, 3)]);
/// ```
pub fn connect_components(
    graph: &KnnGraph,
    distances: ArrayView2<'_, f64>,
) -> TopoResult<KnnGraph> {
    validate_distance_matrix(distances)?;
    if distances.nrows() != graph.n {
        return Err(TopoError::InvalidInput(format!(
            "the graph has {} vertices but the distance matrix {} rows",
            graph.n,
            distances.nrows()
        )));
    }
    if let Some(&(i, j)) = graph.edges.iter().find(|&&(i, j)| i.max(j) >= graph.n) {
        return Err(TopoError::InvalidInput(format!(
            "edge ({i}, {j}) has an endpoint ≥ n = {}",
            graph.n
        )));
    }
    Ok(bridge_components(graph, distances))
}

/// [`connect_components`] on validated input.
pub(crate) fn bridge_components(graph: &KnnGraph, distances: ArrayView2<'_, f64>) -> KnnGraph {
    let n = graph.n;
    let mut adjacent = vec![Vec::new(); n];
    for &(i, j) in &graph.edges {
        adjacent[i].push(j);
        adjacent[j].push(i);
    }
    // Prim from vertex 0 where graph edges cost 0: a vertex reachable at
    // cost 0 joins at once (its whole component is swept in by the stack),
    // otherwise the nearest outside vertex joins by a bridge.
    let mut in_tree = vec![false; n];
    let mut best = vec![f64::INFINITY; n];
    let mut best_from = vec![usize::MAX; n];
    let mut bridges = Vec::new();
    let mut stack = Vec::new();
    let mut joined = 0;
    let mut next = Some(0);
    while let Some(start) = next {
        // Sweep the component of `start` in.
        stack.push(start);
        in_tree[start] = true;
        while let Some(x) = stack.pop() {
            joined += 1;
            for &y in &adjacent[x] {
                if !in_tree[y] {
                    in_tree[y] = true;
                    stack.push(y);
                }
            }
            let row = distances.row(x);
            for y in 0..n {
                if !in_tree[y] && row[y] < best[y] {
                    best[y] = row[y];
                    best_from[y] = x;
                }
            }
        }
        if joined == n {
            break;
        }
        // The nearest vertex outside (ties: the smaller index).
        next = (0..n)
            .filter(|&y| !in_tree[y])
            .min_by(|&a, &b| best[a].total_cmp(&best[b]).then(a.cmp(&b)));
        if let Some(y) = next {
            let x = best_from[y];
            bridges.push((x.min(y), x.max(y)));
        }
    }
    let mut edges = graph.edges.clone();
    edges.extend(bridges);
    edges.sort_unstable();
    edges.dedup();
    KnnGraph { n, edges }
}
