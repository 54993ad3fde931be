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
///
/// Reference: D. F. Crouse, "On implementing 2D rectangular assignment
/// algorithms", IEEE Trans. Aerospace and Electronic Systems 52(4), 2016.
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
            if reduced < best
                || (reduced == best && row_of_col[c] == NONE && row_of_col[best_col] != NONE)
            {
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

    // Shortest augmenting paths (Crouse 2016, the algorithm of scipy's
    // linear_sum_assignment): one pass over the unvisited columns per step,
    // potentials updated once per search.
    let mut shortest = vec![f64::INFINITY; size];
    let mut path = vec![NONE; size];
    let mut remaining: Vec<usize> = Vec::with_capacity(size);
    let mut visited_rows: Vec<usize> = Vec::new();
    let mut visited_cols: Vec<usize> = Vec::new();
    for start in 0..size {
        if col_of_row[start] != NONE {
            continue;
        }
        shortest.fill(f64::INFINITY);
        remaining.clear();
        remaining.extend(0..size);
        visited_rows.clear();
        visited_cols.clear();
        let mut min_value = 0.0;
        let mut row = start;
        let sink = loop {
            visited_rows.push(row);
            let (mut lowest, mut at) = (f64::INFINITY, NONE);
            for (k, &c) in remaining.iter().enumerate() {
                let reduced = min_value + entry(row, c) - u[row] - v[c];
                if reduced < shortest[c] {
                    path[c] = row;
                    shortest[c] = reduced;
                }
                // Among equally near columns prefer a free one: it ends the
                // search (interchangeable diagonal slots make ties the rule).
                if shortest[c] < lowest || (shortest[c] == lowest && row_of_col[c] == NONE) {
                    lowest = shortest[c];
                    at = k;
                }
            }
            if at == NONE {
                // Only reachable with non-finite costs, which the caller
                // excludes; never index out of bounds.
                at = 0;
            }
            min_value = lowest;
            let col = remaining.swap_remove(at);
            visited_cols.push(col);
            if row_of_col[col] == NONE {
                break col;
            }
            row = row_of_col[col];
        };
        // Dual update: keeps reduced costs ≥ 0 and makes the path tight.
        u[start] += min_value;
        for &r in &visited_rows[1..] {
            u[r] += min_value - shortest[col_of_row[r]];
        }
        for &c in &visited_cols {
            v[c] -= min_value - shortest[c];
        }
        // Augment along the path back to `start`.
        let mut col = sink;
        loop {
            let r = path[col];
            row_of_col[col] = r;
            // r takes col; its former column is the next to reassign.
            std::mem::swap(&mut col_of_row[r], &mut col);
            if r == start {
                break;
            }
        }
    }
    col_of_row
}
