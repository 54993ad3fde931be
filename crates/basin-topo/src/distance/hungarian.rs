//! Exact p-Wasserstein matching cost of finite diagrams: the Hungarian
//! algorithm (shortest augmenting paths with dual potentials) on the
//! diagonal-augmented square cost matrix.

use super::GroundMetric;
use crate::PersistencePair;

/// `min over matchings Σ cost^p` between two lists of finite bars, each bar
/// free to go to the diagonal.
///
/// The `(n + m) × (n + m)` matrix: `a_i` to `b_j` at `d(a_i, b_j)^p`, `a_i` to
/// any of the `n` diagonal slots at `diag(a_i)^p`, any of the `m` diagonal
/// slots to `b_j` at `diag(b_j)^p`, diagonal to diagonal free. Letting a point
/// use any diagonal slot (rather than its own) changes no optimum and keeps
/// every entry finite.
pub(crate) fn finite_wasserstein_power(
    a: &[PersistencePair],
    b: &[PersistencePair],
    p: f64,
    ground: GroundMetric,
) -> f64 {
    let (n, m) = (a.len(), b.len());
    let size = n + m;
    if size == 0 {
        return 0.0;
    }
    let mut cost = vec![0.0f64; size * size];
    for i in 0..n {
        let to_diagonal = ground.to_diagonal(&a[i]).powf(p);
        for j in 0..m {
            cost[i * size + j] = ground.between(&a[i], &b[j]).powf(p);
        }
        for j in m..size {
            cost[i * size + j] = to_diagonal;
        }
    }
    for j in 0..m {
        let to_diagonal = ground.to_diagonal(&b[j]).powf(p);
        for i in n..size {
            cost[i * size + j] = to_diagonal;
        }
    }
    if cost.iter().any(|c| !c.is_finite()) {
        // A cost overflowed (huge coordinates or order): the sum does too.
        return f64::INFINITY;
    }
    let assignment = minimum_assignment(&cost, size);
    assignment
        .iter()
        .enumerate()
        .map(|(row, &col)| cost[row * size + col])
        .sum()
}

/// Minimum-cost perfect assignment of a square `size × size` row-major cost
/// matrix: for each row, its column.
///
/// Dual potentials `u` (rows), `v` (columns) with `cost − u − v ≥ 0` and
/// matched entries at zero reduced cost. Initialisation: column then row
/// reduction, and every row that finds a free column of zero reduced cost is
/// matched at once (on diagrams most are: diagonal slots are interchangeable).
/// Each remaining row is matched by a Dijkstra search for a shortest
/// augmenting path in reduced costs. `O(size³)` worst case.
fn minimum_assignment(cost: &[f64], size: usize) -> Vec<usize> {
    const NONE: usize = usize::MAX;
    let entry = |r: usize, c: usize| cost[r * size + c];
    let mut v: Vec<f64> = (0..size)
        .map(|c| (0..size).map(|r| entry(r, c)).fold(f64::INFINITY, f64::min))
        .collect();
    let mut u = vec![0.0f64; size];
    let mut row_of_col = vec![NONE; size];
    let mut col_of_row = vec![NONE; size];
    for r in 0..size {
        let (mut best, mut best_col) = (entry(r, 0) - v[0], 0);
        for c in 1..size {
            let reduced = entry(r, c) - v[c];
            // Prefer a free column among the minima.
            if reduced < best || (reduced == best && row_of_col[c] == NONE && row_of_col[best_col] != NONE) {
                best = reduced;
                best_col = c;
            }
        }
        u[r] = best;
        if row_of_col[best_col] == NONE {
            row_of_col[best_col] = r;
            col_of_row[r] = best_col;
        }
    }

    let mut min_slack = vec![0.0f64; size];
    let mut way = vec![NONE; size];
    let mut visited = vec![false; size];
    let mut visited_cols: Vec<usize> = Vec::with_capacity(size);
    for start in 0..size {
        if col_of_row[start] != NONE {
            continue;
        }
        min_slack.fill(f64::INFINITY);
        visited.fill(false);
        visited_cols.clear();
        // Dijkstra over columns; `row` is the row reached last.
        let mut row = start;
        let mut reached_from = NONE; // the column matched to `row` (none for `start`)
        let end_col = loop {
            let mut delta = f64::INFINITY;
            let mut next = NONE;
            for c in 0..size {
                if visited[c] {
                    continue;
                }
                let reduced = entry(row, c) - u[row] - v[c];
                if reduced < min_slack[c] {
                    min_slack[c] = reduced;
                    way[c] = reached_from;
                }
                // Among equally near columns prefer a free one: it ends the
                // search (diagonal slots make such ties the rule).
                if min_slack[c] < delta
                    || (min_slack[c] == delta && row_of_col[c] == NONE && next != NONE && row_of_col[next] != NONE)
                {
                    delta = min_slack[c];
                    next = c;
                }
            }
            if next == NONE {
                // Only reachable with non-finite costs, which the caller
                // excludes; never index out of bounds.
                next = visited.iter().position(|&seen| !seen).unwrap_or(0);
            }
            // Shift potentials along the tree so `next` gets zero reduced cost.
            u[start] += delta;
            for &c in &visited_cols {
                u[row_of_col[c]] += delta;
                v[c] -= delta;
            }
            for c in 0..size {
                if !visited[c] {
                    min_slack[c] -= delta;
                }
            }
            visited[next] = true;
            visited_cols.push(next);
            if row_of_col[next] == NONE {
                break next;
            }
            row = row_of_col[next];
            reached_from = next;
        };
        // Flip the augmenting path back to `start`.
        let mut c = end_col;
        loop {
            let prev = way[c];
            let r = if prev == NONE { start } else { row_of_col[prev] };
            row_of_col[c] = r;
            col_of_row[r] = c;
            if prev == NONE {
                break;
            }
            c = prev;
        }
    }
    col_of_row
}
