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
    let assignment = minimum_assignment(&cost, size);
    assignment
        .iter()
        .enumerate()
        .map(|(row, &col)| cost[row * size + col])
        .sum()
}

/// Minimum-cost perfect assignment of a square `size × size` row-major cost
/// matrix: for each row, its column. `O(size³)`.
fn minimum_assignment(cost: &[f64], size: usize) -> Vec<usize> {
    // 1-based with a virtual column 0, as in the classical formulation.
    let mut u = vec![0.0f64; size + 1];
    let mut v = vec![0.0f64; size + 1];
    let mut row_of_col = vec![0usize; size + 1];
    let mut way = vec![0usize; size + 1];
    for row in 1..=size {
        row_of_col[0] = row;
        let mut col0 = 0usize;
        let mut min_slack = vec![f64::INFINITY; size + 1];
        let mut used = vec![false; size + 1];
        loop {
            used[col0] = true;
            let r = row_of_col[col0];
            let mut delta = f64::INFINITY;
            let mut col1 = 0usize;
            for col in 1..=size {
                if !used[col] {
                    let reduced = cost[(r - 1) * size + (col - 1)] - u[r] - v[col];
                    if reduced < min_slack[col] {
                        min_slack[col] = reduced;
                        way[col] = col0;
                    }
                    if min_slack[col] < delta {
                        delta = min_slack[col];
                        col1 = col;
                    }
                }
            }
            for col in 0..=size {
                if used[col] {
                    u[row_of_col[col]] += delta;
                    v[col] -= delta;
                } else {
                    min_slack[col] -= delta;
                }
            }
            col0 = col1;
            if row_of_col[col0] == 0 {
                break;
            }
        }
        // Flip the augmenting path back to the virtual column.
        loop {
            let prev = way[col0];
            row_of_col[col0] = row_of_col[prev];
            col0 = prev;
            if col0 == 0 {
                break;
            }
        }
    }
    let mut col_of_row = vec![0usize; size];
    for col in 1..=size {
        col_of_row[row_of_col[col] - 1] = col - 1;
    }
    col_of_row
}
