//! D1 of the flag (clique) complex up to triangles under the lower-star
//! filtration: triangles are enumerated in filtration order and their
//! boundary columns reduced over Z/2 (the standard persistence algorithm).

use super::graph::{essential_cycle, LocatedBar, LowerStar};
use super::params::BarLocation;
use crate::PersistencePair;

const UNPAIRED: u32 = u32::MAX;

/// The result of the triangle reduction.
pub(crate) struct FlagCycles {
    /// D1 bars: finite for filled cycles, essential for the others.
    pub(crate) pairs: Vec<LocatedBar>,
    /// Number of triangles enumerated before every cycle was accounted for.
    pub(crate) triangles_visited: usize,
}

/// Reduces the triangle columns of the flag complex of `filtration`'s graph.
///
/// Triangles are visited in filtration order — `(c, b, a)` lexicographically
/// for vertices `a < b < c` in filtration positions, which sorts them by value
/// `f(c)` — so columns are reduced as they are generated and never all held.
/// A reduced column's lowest entry (its youngest edge) is a positive edge; the
/// pair (edge, triangle) is a D1 bar. Once every positive edge is paired the
/// remaining triangles can only create 2-cycles, so the enumeration stops.
pub(crate) fn flag_cycles(
    filtration: &LowerStar,
    cycle_edges: &[usize],
    keep_zero_persistence: bool,
) -> FlagCycles {
    let n = filtration.sorted_values.len();
    let edges = &filtration.edges;
    // Edges with upper end `h` are `edges[offset[h]..offset[h + 1]]`, their
    // lower ends ascending.
    let mut offset = vec![0usize; n + 1];
    for &(_, hi) in edges {
        offset[hi + 1] += 1;
    }
    for h in 0..n {
        offset[h + 1] += offset[h];
    }
    let lower = |h: usize| &edges[offset[h]..offset[h + 1]];

    if cycle_edges.is_empty() {
        // A forest: no cycles to fill (and no triangles to enumerate).
        return FlagCycles {
            pairs: Vec::new(),
            triangles_visited: 0,
        };
    }
    let mut pivot_owner = vec![UNPAIRED; edges.len()];
    let mut reduced: Vec<Vec<u32>> = Vec::new();
    let mut pairs = Vec::new();
    let mut paired = 0usize;
    let mut triangles_visited = 0usize;
    let mut column: Vec<u32> = Vec::new();
    let mut scratch: Vec<u32> = Vec::new();

    'outer: for c in 0..n {
        let lower_c = lower(c);
        for (j, &(b, _)) in lower_c.iter().enumerate() {
            let lower_b = lower(b);
            // Common lower neighbours a < b of b and c: sorted intersection.
            let (mut x, mut y) = (0, 0);
            while x < j && y < lower_b.len() {
                let (a_c, a_b) = (lower_c[x].0, lower_b[y].0);
                if a_c < a_b {
                    x += 1;
                } else if a_b < a_c {
                    y += 1;
                } else {
                    triangles_visited += 1;
                    // Boundary, ascending in edge order: ab < ac < bc.
                    column.clear();
                    column.extend([offset[b] + y, offset[c] + x, offset[c] + j].map(|e| e as u32));
                    while let Some(&pivot) = column.last() {
                        let owner = pivot_owner[pivot as usize];
                        if owner == UNPAIRED {
                            break;
                        }
                        symmetric_difference(&column, &reduced[owner as usize], &mut scratch);
                        std::mem::swap(&mut column, &mut scratch);
                    }
                    if let Some(&pivot) = column.last() {
                        pivot_owner[pivot as usize] = reduced.len() as u32;
                        reduced.push(column.clone());
                        paired += 1;
                        let pair = PersistencePair {
                            dim: 1,
                            birth: filtration.edge_value(pivot as usize),
                            death: filtration.sorted_values[c],
                        };
                        if keep_zero_persistence || pair.death > pair.birth {
                            let location = BarLocation {
                                birth_vertex: filtration.vertex_at[edges[pivot as usize].1],
                                death_vertex: Some(filtration.vertex_at[c]),
                            };
                            pairs.push((pair, location));
                        }
                        if paired == cycle_edges.len() {
                            break 'outer;
                        }
                    }
                    x += 1;
                    y += 1;
                }
            }
        }
    }
    pairs.extend(
        cycle_edges
            .iter()
            .filter(|&&e| pivot_owner[e] == UNPAIRED)
            .map(|&e| essential_cycle(filtration, e)),
    );
    FlagCycles {
        pairs,
        triangles_visited,
    }
}

/// `out = a △ b` for ascending index lists (addition over Z/2).
fn symmetric_difference(a: &[u32], b: &[u32], out: &mut Vec<u32>) {
    out.clear();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
}
