//! Neighbour graphs over evaluated points, as adjacency lists.

use crate::errors::{invalid, LandscapeResult};

/// Axis neighbours of a regular grid of shape `shape` (points in row-major
/// order, first axis slowest): 2·d neighbours inside the grid. This is the
/// 1-skeleton of the cubical complex, so the H0 of its lower-star filtration
/// is gudhi's `CubicalComplex(vertices=…)` H0.
///
/// # Example
/// ```
/// let g = basin_landscape::topology::graph::grid_graph(&[2, 3]);
/// assert_eq!(g[0], vec![1, 3]);       // (0,0) ~ (0,1), (1,0)
/// assert_eq!(g[4], vec![1, 3, 5]);    // (1,1) ~ (0,1), (1,0), (1,2)
/// ```
#[must_use]
pub fn grid_graph(shape: &[usize]) -> Vec<Vec<usize>> {
    let n: usize = shape.iter().product();
    let strides: Vec<usize> = (0..shape.len()).map(|k| shape[k + 1..].iter().product()).collect();
    (0..n)
        .map(|i| {
            let mut nb = Vec::with_capacity(2 * shape.len());
            for (k, &s) in strides.iter().enumerate() {
                let coord = (i / s) % shape[k];
                if coord > 0 {
                    nb.push(i - s);
                }
                if coord + 1 < shape[k] {
                    nb.push(i + s);
                }
            }
            nb.sort_unstable();
            nb
        })
        .collect()
}

/// The k-nearest-neighbour graph of `points` (Euclidean, brute force,
/// ties by index), symmetrised: `mutual = false` joins i and j when either
/// is among the other's k nearest, `mutual = true` only when both are.
/// Points with a non-finite coordinate get no neighbours.
///
/// # Errors
/// [`crate::LandscapeError::InvalidParameter`] for k = 0 or ragged points.
///
/// # Complexity
/// O(n² d) time, O(n k) memory.
pub fn knn_graph(points: &[Vec<f64>], k: usize, mutual: bool) -> LandscapeResult<Vec<Vec<usize>>> {
    if k == 0 {
        return Err(invalid("k", "must be at least 1"));
    }
    let d = points.first().map_or(0, Vec::len);
    if let Some(i) = points.iter().position(|p| p.len() != d) {
        return Err(invalid("points", format!("point {i} has {} coordinates, point 0 has {d}", points[i].len())));
    }
    let n = points.len();
    let ok: Vec<bool> = points.iter().map(|p| p.iter().all(|x| x.is_finite())).collect();
    let mut nearest: Vec<Vec<usize>> = vec![Vec::new(); n];
    for i in (0..n).filter(|&i| ok[i]) {
        let mut dist: Vec<(f64, usize)> = (0..n)
            .filter(|&j| j != i && ok[j])
            .map(|j| (points[i].iter().zip(&points[j]).map(|(a, b)| (a - b).powi(2)).sum::<f64>(), j))
            .collect();
        dist.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        nearest[i] = dist.into_iter().take(k).map(|(_, j)| j).collect();
    }
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
    for i in 0..n {
        for &j in &nearest[i] {
            let keep = !mutual || nearest[j].contains(&i);
            if keep {
                adj[i].push(j);
                adj[j].push(i);
            }
        }
    }
    for a in &mut adj {
        a.sort_unstable();
        a.dedup();
    }
    Ok(adj)
}

/// The grid shape of `coords` when they form a full regular grid in
/// row-major order (first coordinate slowest), as `surfaces` and `probes`
/// grids do: the sorted distinct values of each coordinate are the axes and
/// row i holds lattice point i. `None` otherwise.
#[must_use]
pub fn detect_grid(coords: &[Vec<f32>]) -> Option<Vec<usize>> {
    let d = coords.first()?.len();
    if d == 0 || coords.iter().any(|c| c.len() != d || c.iter().any(|x| !x.is_finite())) {
        return None;
    }
    let axes: Vec<Vec<f32>> = (0..d)
        .map(|k| {
            let mut a: Vec<f32> = coords.iter().map(|c| c[k]).collect();
            a.sort_by(f32::total_cmp);
            a.dedup();
            a
        })
        .collect();
    let shape: Vec<usize> = axes.iter().map(Vec::len).collect();
    if shape.iter().product::<usize>() != coords.len() {
        return None;
    }
    let strides: Vec<usize> = (0..d).map(|k| shape[k + 1..].iter().product()).collect();
    let in_order = coords.iter().enumerate().all(|(i, c)| (0..d).all(|k| c[k] == axes[k][(i / strides[k]) % shape[k]]));
    in_order.then_some(shape)
}
