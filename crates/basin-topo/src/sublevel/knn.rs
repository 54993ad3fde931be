//! The symmetrised k-nearest-neighbour graph of a distance matrix.

use ndarray::ArrayView2;

use crate::{TopoError, TopoResult};

/// Relative tolerance for `d[i, j] == d[j, i]`: distances computed by two
/// different summation orders may differ in the last bits.
const SYMMETRY_TOLERANCE: f64 = 1e-9;

/// An undirected simple graph on `n` vertices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnnGraph {
    /// Number of vertices.
    pub n: usize,
    /// Each undirected edge once, as `(i, j)` with `i < j`, sorted.
    pub edges: Vec<(usize, usize)>,
}

/// Checks that `distances` is a non-empty, square, finite, non-negative and
/// symmetric matrix.
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
    for ((i, j), &v) in distances.indexed_iter() {
        if !v.is_finite() {
            return Err(TopoError::InvalidInput(format!(
                "distance matrix entry ({i}, {j}) is {v}; distances must be finite"
            )));
        }
        if v < 0.0 {
            return Err(TopoError::InvalidInput(format!(
                "distance matrix entry ({i}, {j}) is {v}; distances must be non-negative"
            )));
        }
    }
    for i in 0..rows {
        for j in (i + 1)..rows {
            let (a, b) = (distances[[i, j]], distances[[j, i]]);
            if (a - b).abs() > SYMMETRY_TOLERANCE * a.abs().max(b.abs()).max(1.0) {
                return Err(TopoError::InvalidInput(format!(
                    "distance matrix is not symmetric: entry ({i}, {j}) is {a} but ({j}, {i}) is {b}"
                )));
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
/// `O(n²)` time (one selection per row), `O(n k)` memory.
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
pub(crate) fn nearest_neighbour_graph(distances: ArrayView2<'_, f64>, k: usize) -> TopoResult<KnnGraph> {
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
    let mut row: Vec<(f64, usize)> = Vec::with_capacity(n - 1);
    for i in 0..n {
        row.clear();
        row.extend((0..n).filter(|&j| j != i).map(|j| (distances[[i, j]], j)));
        let nearest_first = |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
        if k < row.len() {
            row.select_nth_unstable_by(k - 1, nearest_first);
        }
        edges.extend(row[..k].iter().map(|&(_, j)| (i.min(j), i.max(j))));
    }
    edges.sort_unstable();
    edges.dedup();
    Ok(KnnGraph { n, edges })
}
