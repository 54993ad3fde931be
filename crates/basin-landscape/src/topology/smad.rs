//! SMAD, the saddle–minimum average distance of the Landscaper paper
//! (Chen, Hadler et al., arXiv 2602.07135): a summary of how rugged a loss
//! landscape is, from its merge tree.
//!
//! # Definition (as Landscaper 1.x computes it)
//! Landscaper's `LossLandscape.smad(normalize, weighted)` takes every edge
//! of the sublevel-set merge tree that joins a minimum to a saddle (each
//! leaf's edge to the saddle where its component first merges) and its gap
//! g = |L(saddle) − L(minimum)|:
//!
//! * plain: SMAD = mean of g over those edges;
//! * `normalize`: each g divided by the loss range, max L − min L over the
//!   landscape;
//! * `weighted`: SMAD = mean of g · |B(m)| / N, with B(m) the minimum's
//!   basin in the Morse–Smale complex (topopy's "unstable manifold": the
//!   points whose steepest descent ends at m) and N the number of points.
//!
//! A landscape with one minimum has no such edge: SMAD = 0. Unlike the
//! average persistence (elder rule: a minimum's gap to the saddle where it
//! *dies*), SMAD measures every minimum, the global one included, to the
//! *first* saddle above it.
//!
//! # Differences from Landscaper
//! The graph is basin's (grid axis neighbours or kNN, [`super::graph`])
//! rather than nglpy's empty-region graph; steepest descent follows the
//! neighbour with the largest drop per unit distance when coordinates are
//! given (topopy's "steepest" gradient), the largest drop otherwise;
//! non-finite losses are left out, so N, the range and the basins count
//! finite points only. `tests/merge_tree.rs` checks all three variants on
//! hand-worked paths and against Landscaper's formula evaluated on topopy
//! 1.0.4's merge tree and Morse–Smale complex of the same grids
//! (`tests/reference/make_smad.py`).

use super::merge_tree::{MergeTree, NodeKind};
use crate::errors::{invalid, LandscapeResult};

/// The three SMAD variants of a landscape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Smad {
    /// Mean saddle–minimum gap.
    pub plain: f64,
    /// Mean gap divided by the loss range.
    pub normalized: f64,
    /// Mean of gap / range × basin share (`normalize = True, weighted = True`).
    pub weighted: f64,
}

/// For every vertex, the local minimum its steepest descent ends at (`None`
/// for a non-finite value). A vertex with no lower neighbour (values
/// compared with ties broken by index, as the merge tree orders them) is
/// its own minimum.
///
/// # Arguments
/// * `values` — the loss at every vertex.
/// * `adjacency` — symmetric adjacency lists over the same vertices.
/// * `points` — coordinates of the vertices: the drop is divided by the
///   Euclidean distance (`None`: plain drop, as on a uniform grid).
///
/// # Errors
/// [`crate::LandscapeError::InvalidParameter`] when the lengths differ or a
/// neighbour is out of range.
///
/// # Example
/// ```
/// use basin_landscape::topology::{graph::grid_graph, smad::descent_basins};
/// // Valleys at 1 and 3 on a path; vertex 2 drops further towards 1.
/// let b = descent_basins(&[2.0, 0.0, 3.0, 1.0, 4.0], &grid_graph(&[5]), None).unwrap();
/// assert_eq!(b, vec![Some(1), Some(1), Some(1), Some(3), Some(3)]);
/// ```
pub fn descent_basins(
    values: &[f64],
    adjacency: &[Vec<usize>],
    points: Option<&[Vec<f64>]>,
) -> LandscapeResult<Vec<Option<usize>>> {
    let n = values.len();
    if adjacency.len() != n {
        return Err(invalid(
            "adjacency",
            format!("{} lists for {n} values", adjacency.len()),
        ));
    }
    if let Some(p) = points {
        if p.len() != n {
            return Err(invalid(
                "points",
                format!("{} points for {n} values", p.len()),
            ));
        }
    }
    let lower = |a: usize, b: usize| values[a].total_cmp(&values[b]).then(a.cmp(&b)).is_lt();
    let mut next = vec![usize::MAX; n];
    for v in (0..n).filter(|&v| values[v].is_finite()) {
        let mut best = (0.0f64, v);
        for &u in &adjacency[v] {
            if u >= n {
                return Err(invalid(
                    "adjacency",
                    format!("vertex {v} has neighbour {u}, beyond the {n} vertices"),
                ));
            }
            if !values[u].is_finite() || !lower(u, v) {
                continue;
            }
            let drop = values[v] - values[u];
            let dist = points.map_or(1.0, |p| {
                p[v].iter()
                    .zip(&p[u])
                    .map(|(a, b)| (a - b).powi(2))
                    .sum::<f64>()
                    .sqrt()
            });
            let slope = if dist > 0.0 {
                drop / dist
            } else {
                f64::INFINITY
            };
            if best.1 == v || slope > best.0 || (slope == best.0 && lower(u, best.1)) {
                best = (slope, u);
            }
        }
        next[v] = best.1;
    }
    // Follow the descent; every step goes strictly down in (value, index),
    // so the chains end.
    let mut out: Vec<Option<usize>> = vec![None; n];
    for v in (0..n).filter(|&v| values[v].is_finite()) {
        if out[v].is_some() {
            continue;
        }
        let mut chain = vec![v];
        let mut m = v;
        while next[m] != m {
            m = next[m];
            if let Some(end) = out[m] {
                m = end;
                break;
            }
            chain.push(m);
        }
        for c in chain {
            out[c] = Some(m);
        }
    }
    Ok(out)
}

/// SMAD of a merge tree (see the module docs): plain, normalised by the
/// loss range, and weighted by basin shares (normalised).
///
/// # Arguments
/// * `tree` — the merge tree of `values` on `adjacency`.
/// * `values`, `adjacency`, `points` — as given to the tree (and to
///   [`descent_basins`]).
///
/// # Errors
/// Errors of [`descent_basins`].
///
/// # Example
/// ```
/// use basin_landscape::topology::{graph::grid_graph, merge_tree::merge_tree, smad::smad};
/// let values = [2.0, 0.0, 3.0, 1.0, 4.0];
/// let g = grid_graph(&[5]);
/// let s = smad(&merge_tree(&values, &g).unwrap(), &values, &g, None).unwrap();
/// // Gaps 3 − 0 and 3 − 1; range 4; basins {0, 1, 2} and {3, 4} of 5 points.
/// assert_eq!(s.plain, 2.5);
/// assert_eq!(s.normalized, 0.625);
/// assert!((s.weighted - (0.75 * 0.6 + 0.5 * 0.4) / 2.0).abs() < 1e-12);
/// ```
pub fn smad(
    tree: &MergeTree,
    values: &[f64],
    adjacency: &[Vec<usize>],
    points: Option<&[Vec<f64>]>,
) -> LandscapeResult<Smad> {
    let basins = descent_basins(values, adjacency, points)?;
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let n = finite.len();
    let range = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        - finite.iter().copied().fold(f64::INFINITY, f64::min);
    let mut basin_size = vec![0usize; values.len()];
    for m in basins.iter().flatten() {
        basin_size[*m] += 1;
    }
    let edges: Vec<(f64, usize)> = tree
        .nodes
        .iter()
        .filter(|nd| nd.kind == NodeKind::Minimum)
        .filter_map(|nd| {
            nd.parent.map(|p| {
                (
                    (tree.nodes[p].value - nd.value).abs(),
                    basin_size[nd.vertex],
                )
            })
        })
        .collect();
    if edges.is_empty() {
        return Ok(Smad {
            plain: 0.0,
            normalized: 0.0,
            weighted: 0.0,
        });
    }
    #[allow(clippy::cast_precision_loss)]
    let (k, n) = (edges.len() as f64, n as f64);
    let plain = edges.iter().map(|(g, _)| g).sum::<f64>() / k;
    if range <= 0.0 {
        // Every value equal: every gap is 0 too.
        return Ok(Smad {
            plain,
            normalized: 0.0,
            weighted: 0.0,
        });
    }
    #[allow(clippy::cast_precision_loss)]
    let weighted = edges
        .iter()
        .map(|&(g, b)| g / range * b as f64 / n)
        .sum::<f64>()
        / k;
    Ok(Smad {
        plain,
        normalized: plain / range,
        weighted,
    })
}
