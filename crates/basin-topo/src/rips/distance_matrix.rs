//! Distance matrices the reduction reads: a dense square matrix and sparse
//! neighbour lists (Ripser's `compressed_lower_distance_matrix` and
//! `sparse_distance_matrix`), and the checked conversion of every
//! [`RipsInput`](super::RipsInput) mode into them.

use rayon::prelude::*;

use super::binomial::BinomialCoeffTable;
use super::types::{make_key, Key, Value};
use super::{Metric, RipsInput};
use crate::{TopoError, TopoResult};

/// What the reduction needs from a distance matrix.
pub(crate) trait RipsMatrix: Sync {
    /// Number of points.
    fn size(&self) -> usize;
    /// Distance between two points, `+∞` for a pair absent from a sparse matrix.
    fn dist(&self, i: usize, j: usize) -> Value;
    /// Every edge of length `≤ threshold` as a key `(length, edge index, 1)`.
    fn edges(&self, threshold: Value, binomial: &BinomialCoeffTable) -> Vec<Key>;
}

/// A full `n × n` matrix of `f32` distances, row major (one row read per
/// cofacet, so the enumeration walks contiguous memory).
#[derive(Debug, Clone)]
pub(crate) struct DenseDistanceMatrix {
    n: usize,
    values: Vec<Value>,
}

impl DenseDistanceMatrix {
    /// Row `i` of the matrix.
    #[inline]
    pub(crate) fn row(&self, i: usize) -> &[Value] {
        &self.values[i * self.n..(i + 1) * self.n]
    }

    /// Radius of the smallest ball centred at a point that holds every
    /// point: `min_i max_j d(i, j)`. Beyond it the Rips complex is a cone,
    /// so no class of positive dimension lives past it.
    pub(crate) fn enclosing_radius(&self) -> Value {
        (0..self.n)
            .map(|i| self.row(i).iter().copied().fold(0.0, Value::max))
            .fold(Value::INFINITY, Value::min)
    }

    /// Largest distance.
    pub(crate) fn max_distance(&self) -> Value {
        self.values.iter().copied().fold(0.0, Value::max)
    }

    /// The neighbour lists of the pairs at distance `≤ threshold`.
    pub(crate) fn to_sparse(&self, threshold: Value) -> SparseDistanceMatrix {
        let neighbors = (0..self.n)
            .map(|i| {
                self.row(i)
                    .iter()
                    .enumerate()
                    .filter(|&(j, &d)| j != i && d <= threshold)
                    .map(|(j, &d)| (j as u32, d))
                    .collect()
            })
            .collect();
        SparseDistanceMatrix { neighbors }
    }
}

impl RipsMatrix for DenseDistanceMatrix {
    fn size(&self) -> usize {
        self.n
    }

    #[inline]
    fn dist(&self, i: usize, j: usize) -> Value {
        self.values[i * self.n + j]
    }

    fn edges(&self, threshold: Value, binomial: &BinomialCoeffTable) -> Vec<Key> {
        let mut edges = Vec::new();
        for i in 1..self.n {
            let base = binomial.get(i, 2);
            for (j, &d) in self.row(i)[..i].iter().enumerate() {
                if d <= threshold {
                    edges.push(make_key(d, base + j as u64, 1));
                }
            }
        }
        edges
    }
}

/// Sorted neighbour lists `(vertex, distance)`: the edges of a thresholded
/// or sparse input.
#[derive(Debug, Clone)]
pub(crate) struct SparseDistanceMatrix {
    pub(crate) neighbors: Vec<Vec<(u32, Value)>>,
}

impl SparseDistanceMatrix {
    /// `min_i max_j d(i, j)` with absent pairs at `+∞`.
    pub(crate) fn enclosing_radius(&self) -> Value {
        let n = self.neighbors.len();
        self.neighbors
            .iter()
            .filter(|nb| nb.len() + 1 == n)
            .map(|nb| nb.iter().map(|&(_, d)| d).fold(0.0, Value::max))
            .fold(if n <= 1 { 0.0 } else { Value::INFINITY }, Value::min)
    }

    /// Keeps only the edges of length `≤ threshold`.
    pub(crate) fn truncate(&mut self, threshold: Value) {
        for nb in &mut self.neighbors {
            nb.retain(|&(_, d)| d <= threshold);
        }
    }

    /// Number of (undirected) edges.
    pub(crate) fn num_edges(&self) -> usize {
        self.neighbors.iter().map(Vec::len).sum::<usize>() / 2
    }
}

impl RipsMatrix for SparseDistanceMatrix {
    fn size(&self) -> usize {
        self.neighbors.len()
    }

    fn dist(&self, i: usize, j: usize) -> Value {
        let nb = &self.neighbors[i];
        match nb.binary_search_by_key(&(j as u32), |&(v, _)| v) {
            Ok(pos) => nb[pos].1,
            Err(_) => Value::INFINITY,
        }
    }

    fn edges(&self, threshold: Value, binomial: &BinomialCoeffTable) -> Vec<Key> {
        let mut edges = Vec::new();
        for (i, nb) in self.neighbors.iter().enumerate() {
            let base = binomial.get(i, 2);
            for &(j, d) in nb.iter().take_while(|&&(j, _)| (j as usize) < i) {
                if d <= threshold {
                    edges.push(make_key(d, base + u64::from(j), 1));
                }
            }
        }
        edges
    }
}

/// The input after validation: dense or sparse.
#[derive(Debug, Clone)]
pub(crate) enum PreparedInput {
    Dense(DenseDistanceMatrix),
    Sparse(SparseDistanceMatrix),
}

impl PreparedInput {
    pub(crate) fn size(&self) -> usize {
        match self {
            Self::Dense(m) => m.n,
            Self::Sparse(m) => m.neighbors.len(),
        }
    }
}

/// `Σ f(a_k, b_k)` in eight interleaved partial sums, combined in a fixed
/// order: the compiler can vectorise it (a single running sum is bound by the
/// latency of each addition), the result is deterministic and within a few
/// ulps of the sequential sum — far below the `f32` the distances are kept in.
#[inline]
fn lane_sum(a: &[f64], b: &[f64], f: impl Fn(f64, f64) -> f64) -> f64 {
    let mut acc = [0.0f64; 8];
    let (chunks_a, chunks_b) = (a.chunks_exact(8), b.chunks_exact(8));
    let mut tail = 0.0;
    for (x, y) in chunks_a.remainder().iter().zip(chunks_b.remainder()) {
        tail += f(*x, *y);
    }
    for (x, y) in chunks_a.zip(chunks_b) {
        for k in 0..8 {
            acc[k] += f(x[k], y[k]);
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// Distances as `f32` like ripser.py; `-0.0` becomes `0.0` so that key bits
/// order like values.
#[inline]
fn to_value(d: f64) -> Value {
    let v = d as Value;
    if v == 0.0 {
        0.0
    } else {
        v
    }
}

fn check_distance(d: f64, what: impl FnOnce() -> String) -> TopoResult<()> {
    if d.is_nan() || d < 0.0 || d.is_infinite() {
        return Err(TopoError::InvalidInput(format!(
            "{} is {d}; distances must be finite and non-negative",
            what()
        )));
    }
    Ok(())
}

/// Validates an input and converts it to `f32` distances, the matrix the
/// reduction reads; `pool` computes a point cloud's distances on threads.
///
/// # Errors
/// [`TopoError::InvalidInput`] for empty, ragged, non-square, non-symmetric
/// input, a non-zero diagonal, NaN, infinite or negative values, vertex ids
/// out of range, conflicting duplicate edges and zero vectors under the
/// cosine metric.
pub(crate) fn prepare(
    input: &RipsInput<'_>,
    pool: Option<&rayon::ThreadPool>,
) -> TopoResult<PreparedInput> {
    match input {
        RipsInput::PointCloud { points, metric } => point_cloud(points, *metric, pool),
        RipsInput::DistanceMatrix(m) => full_matrix(m),
        RipsInput::LowerTriangular { n, values } => lower_triangular(*n, values),
        RipsInput::Sparse { n, edges } => sparse(*n, edges),
    }
}

fn empty_error() -> TopoError {
    TopoError::InvalidInput("empty input: no points".into())
}

fn point_cloud(
    points: &ndarray::ArrayView2<'_, f64>,
    metric: Metric,
    pool: Option<&rayon::ThreadPool>,
) -> TopoResult<PreparedInput> {
    let n = points.nrows();
    if n == 0 {
        return Err(empty_error());
    }
    for ((i, j), &x) in points.indexed_iter() {
        if !x.is_finite() {
            return Err(TopoError::InvalidInput(format!(
                "point {i}, coordinate {j} is {x}; coordinates must be finite"
            )));
        }
    }
    let rows: Vec<Vec<f64>> = points.rows().into_iter().map(|r| r.to_vec()).collect();
    let norms: Vec<f64> = rows
        .iter()
        .map(|r| r.iter().map(|x| x * x).sum::<f64>().sqrt())
        .collect();
    if metric == Metric::Cosine {
        if let Some(i) = norms.iter().position(|&s| s == 0.0) {
            return Err(TopoError::InvalidInput(format!(
                "point {i} is the zero vector: its cosine distance is undefined"
            )));
        }
    }
    let distance = |i: usize, j: usize| -> Value {
        let (a, b) = (&rows[i], &rows[j]);
        let d = match metric {
            Metric::Euclidean => lane_sum(a, b, |x, y| (x - y) * (x - y)).sqrt(),
            // As scikit-learn's cosine_distances: 1 - cos, clipped to [0, 2].
            Metric::Cosine => {
                (1.0 - lane_sum(a, b, |x, y| x * y) / (norms[i] * norms[j])).clamp(0.0, 2.0)
            }
        };
        to_value(d)
    };
    // Row i's lower part holds d(i, j) for j < i, written in place; rows are
    // independent, so threads share them (the values do not depend on the
    // thread count). Then the upper triangle mirrors it.
    let mut values = vec![0.0 as Value; n * n];
    let fill_lower = |(i, row): (usize, &mut [Value])| {
        for (j, v) in row[..i].iter_mut().enumerate() {
            *v = distance(i, j);
        }
    };
    match pool {
        Some(pool) => pool.install(|| values.par_chunks_mut(n).enumerate().for_each(fill_lower)),
        None => values.chunks_mut(n).enumerate().for_each(fill_lower),
    }
    for i in 0..n {
        for j in 0..i {
            values[j * n + i] = values[i * n + j];
        }
    }
    Ok(PreparedInput::Dense(DenseDistanceMatrix { n, values }))
}

fn full_matrix(m: &ndarray::ArrayView2<'_, f64>) -> TopoResult<PreparedInput> {
    let (n, cols) = m.dim();
    if n == 0 {
        return Err(empty_error());
    }
    if n != cols {
        return Err(TopoError::InvalidInput(format!(
            "distance matrix is {n} × {cols}; it must be square"
        )));
    }
    let mut values = vec![0.0 as Value; n * n];
    for i in 0..n {
        let d = m[[i, i]];
        if d != 0.0 {
            return Err(TopoError::InvalidInput(format!(
                "diagonal entry ({i}, {i}) is {d}; it must be 0"
            )));
        }
        for j in 0..i {
            let (a, b) = (m[[i, j]], m[[j, i]]);
            check_distance(a, || format!("entry ({i}, {j})"))?;
            check_distance(b, || format!("entry ({j}, {i})"))?;
            if (a - b).abs() > 1e-9 * a.abs().max(b.abs()).max(1.0) {
                return Err(TopoError::InvalidInput(format!(
                    "distance matrix is not symmetric: entry ({i}, {j}) = {a} but ({j}, {i}) = {b}"
                )));
            }
            let v = to_value(a);
            values[i * n + j] = v;
            values[j * n + i] = v;
        }
    }
    Ok(PreparedInput::Dense(DenseDistanceMatrix { n, values }))
}

fn lower_triangular(n: usize, lower: &[f64]) -> TopoResult<PreparedInput> {
    if n == 0 {
        return Err(empty_error());
    }
    let expected = n * (n - 1) / 2;
    if lower.len() != expected {
        return Err(TopoError::InvalidInput(format!(
            "lower-triangular matrix of {n} points needs {expected} values, got {}",
            lower.len()
        )));
    }
    let mut values = vec![0.0 as Value; n * n];
    let mut k = 0;
    for i in 1..n {
        for j in 0..i {
            let d = lower[k];
            check_distance(d, || {
                format!("entry ({i}, {j}) (value {k} of the lower triangle)")
            })?;
            let v = to_value(d);
            values[i * n + j] = v;
            values[j * n + i] = v;
            k += 1;
        }
    }
    Ok(PreparedInput::Dense(DenseDistanceMatrix { n, values }))
}

fn sparse(n: usize, edges: &[(usize, usize, f64)]) -> TopoResult<PreparedInput> {
    if n == 0 {
        return Err(empty_error());
    }
    if n > u32::MAX as usize {
        return Err(TopoError::InvalidInput(format!(
            "{n} points exceed the supported {}",
            u32::MAX
        )));
    }
    let mut neighbors: Vec<Vec<(u32, Value)>> = vec![Vec::new(); n];
    for (row, &(i, j, d)) in edges.iter().enumerate() {
        if i >= n || j >= n {
            return Err(TopoError::InvalidInput(format!(
                "edge {row} ({i}, {j}) names a vertex ≥ n = {n}"
            )));
        }
        check_distance(d, || format!("edge {row} ({i}, {j})"))?;
        if i == j {
            if d != 0.0 {
                return Err(TopoError::InvalidInput(format!(
                    "edge {row} is a loop ({i}, {i}) of length {d}; vertex births are not supported"
                )));
            }
            continue;
        }
        let v = to_value(d);
        neighbors[i].push((j as u32, v));
        neighbors[j].push((i as u32, v));
    }
    for (i, nb) in neighbors.iter_mut().enumerate() {
        nb.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        for w in nb.windows(2) {
            if w[0].0 == w[1].0 && w[0].1 != w[1].1 {
                return Err(TopoError::InvalidInput(format!(
                    "edge ({i}, {}) is given twice with lengths {} and {}",
                    w[0].0, w[0].1, w[1].1
                )));
            }
        }
        nb.dedup_by_key(|e| e.0);
    }
    Ok(PreparedInput::Sparse(SparseDistanceMatrix { neighbors }))
}
