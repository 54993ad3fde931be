//! Exact p-Wasserstein matching cost of finite diagrams as a small
//! transportation problem, solved on a sparse set of candidate pairs and
//! proved optimal on all pairs by its dual.
//!
//! # The problem
//! The usual `(n + m) × (n + m)` assignment (each bar to a bar of the other
//! diagram or to a diagonal slot) has `m` identical diagonal rows and `n`
//! identical diagonal columns. Merged, they become one source `Δ_B` of
//! supply `m` and one sink `Δ_A` of demand `n` (the transportation problem
//! POT solves for gudhi):
//!
//! ```text
//!            b_1 … b_m      Δ_A (demand n)
//! a_1 … a_n  d(a_i, b_j)^p  diag(a_i)^p
//! Δ_B (m)    diag(b_j)^p    0
//! ```
//!
//! # The algorithm
//! Successive shortest paths with dual potentials `u` (rows), `v`
//! (columns), reduced costs `c − u − v ≥ 0`, flow only on tight edges:
//!
//! 1. **Candidates.** Each `a_i` keeps its `K` cheapest `b_j` and each `b_j`
//!    its `K` cheapest `a_i`; pairs with `d^p ≥ diag(a_i)^p + diag(b_j)^p` are
//!    never needed when some unit goes `Δ_B → Δ_A` (sending both to the
//!    diagonal is no dearer) and are left out of the candidates.
//! 2. **Greedy start.** Column then row reduction on the candidates, and every
//!    row that finds a tight column with room takes it.
//! 3. **Augmentation.** For each remaining unit of supply, a Dijkstra search
//!    (binary heap, sparse edges; the backward edges of `Δ_A` are the rows
//!    sent to it) to the nearest column with room; potentials updated, the
//!    path flipped.
//! 4. **Certificate.** The duals are checked on *all* `n m` pairs. If every
//!    reduced cost is `≥ −ε`, the flow is optimal for the full problem (LP
//!    duality; `ε` is `1e−12` of the largest cost, far below the rounding of
//!    the sum). Otherwise the violating pairs join the candidates, the rows
//!    they leave infeasible are re-priced and released, and step 3 resumes.
//!
//! `O(nm)` time for the candidates and each check; each augmentation visits
//! the part of the sparse graph nearer than the nearest free column, which
//! after the greedy start is usually small.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::GroundMetric;
use crate::PersistencePair;

/// Candidates per bar: enough that the first certificate nearly always holds.
const CANDIDATES: usize = 8;

const NONE: usize = usize::MAX;

/// `min over matchings Σ cost^p` between two lists of finite bars, each bar
/// free to go to the diagonal.
pub(crate) fn finite_wasserstein_power(
    a: &[PersistencePair],
    b: &[PersistencePair],
    p: f64,
    ground: GroundMetric,
) -> f64 {
    let (n, m) = (a.len(), b.len());
    let power = |x: f64| {
        if p == 1.0 {
            x
        } else if p == 2.0 {
            x * x
        } else {
            x.powf(p)
        }
    };
    let alpha: Vec<f64> = a.iter().map(|x| power(ground.to_diagonal(x))).collect();
    let beta: Vec<f64> = b.iter().map(|y| power(ground.to_diagonal(y))).collect();
    if n == 0 || m == 0 {
        return alpha.iter().sum::<f64>() + beta.iter().sum::<f64>();
    }
    let mut cost = Vec::with_capacity(n * m);
    for x in a {
        cost.extend(b.iter().map(|y| power(ground.between(x, y))));
    }
    if cost
        .iter()
        .chain(&alpha)
        .chain(&beta)
        .any(|c| !c.is_finite())
    {
        // A cost overflowed (huge coordinates or order): the sum does too.
        return f64::INFINITY;
    }
    let mut problem = Transport::new(n, m, cost, alpha, beta, CANDIDATES);
    problem.solve();
    problem.total_cost()
}

/// A `(f64, node)` heap entry ordered as a min-heap on the distance.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry(f64, usize);

impl Eq for Entry {}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(other.1.cmp(&self.1))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// `scratch` ← the `k` candidates of `pool` with the least `cost` (all of
/// them when there are no more than `k`), in no particular order.
fn k_cheapest(scratch: &mut Vec<usize>, k: usize, pool: impl Iterator<Item = usize>, cost: impl Fn(usize) -> f64) {
    scratch.clear();
    scratch.extend(pool);
    if scratch.len() > k {
        scratch.select_nth_unstable_by(k - 1, |&x, &y| cost(x).total_cmp(&cost(y)));
        scratch.truncate(k);
    }
}

/// The transportation problem and its flow. Rows `0..n` are the bars of
/// `a`, row `n` is `Δ_B`; columns `0..m` the bars of `b`, column `m` is `Δ_A`.
struct Transport {
    n: usize,
    m: usize,
    /// `d(a_i, b_j)^p`, row major.
    cost: Vec<f64>,
    alpha: Vec<f64>,
    beta: Vec<f64>,
    /// Candidate columns of each bar row (`b` indices, sorted, no duplicates).
    candidates: Vec<Vec<usize>>,
    u: Vec<f64>,
    v: Vec<f64>,
    /// Column of each bar row (`m` = `Δ_A`), or `NONE`.
    col_of_row: Vec<usize>,
    /// Row of each bar column (`n` = `Δ_B`), or `NONE`.
    row_of_col: Vec<usize>,
    /// Bar rows sent to `Δ_A`, and where each sits in that list.
    diagonal_rows: Vec<usize>,
    diagonal_slot: Vec<usize>,
    /// Units sent `Δ_B → Δ_A`, and `Δ_B`'s supply not yet sent.
    diagonal_to_diagonal: usize,
    delta_b_left: usize,
    /// Tolerance of the certificate: `1e−12` of the largest cost (the costs
    /// never change, so it is computed once).
    eps: f64,
}

impl Transport {
    /// The problem with `k` candidates per bar (fewer only cost certificate rounds).
    fn new(n: usize, m: usize, cost: Vec<f64>, alpha: Vec<f64>, beta: Vec<f64>, k: usize) -> Self {
        let largest = cost.iter().chain(&alpha).chain(&beta).fold(0.0f64, |a, &b| a.max(b));
        let mut t = Self {
            n,
            m,
            cost,
            alpha,
            beta,
            candidates: vec![Vec::new(); n],
            u: vec![0.0; n + 1],
            v: vec![0.0; m + 1],
            col_of_row: vec![NONE; n],
            row_of_col: vec![NONE; m],
            diagonal_rows: Vec::new(),
            diagonal_slot: vec![NONE; n],
            diagonal_to_diagonal: 0,
            delta_b_left: m,
            eps: 1e-12 * largest.max(f64::MIN_POSITIVE),
        };
        t.pick_candidates(k);
        t
    }

    #[inline]
    fn c(&self, i: usize, j: usize) -> f64 {
        self.cost[i * self.m + j]
    }

    /// Whether pair `(i, j)` can be worth matching at all.
    #[inline]
    fn useful(&self, i: usize, j: usize) -> bool {
        self.c(i, j) < self.alpha[i] + self.beta[j]
    }

    fn pick_candidates(&mut self, k: usize) {
        let (n, m) = (self.n, self.m);
        let (k_rows, k_cols) = (k.min(m).max(1), k.min(n).max(1));
        let mut scratch: Vec<usize> = Vec::with_capacity(m.max(n));
        for i in 0..n {
            k_cheapest(&mut scratch, k_rows, (0..m).filter(|&j| self.useful(i, j)), |j| self.c(i, j));
            self.candidates[i].extend_from_slice(&scratch);
        }
        for j in 0..m {
            k_cheapest(&mut scratch, k_cols, (0..n).filter(|&i| self.useful(i, j)), |i| self.c(i, j));
            for &i in &scratch {
                self.candidates[i].push(j);
            }
        }
        for list in &mut self.candidates {
            list.sort_unstable();
            list.dedup();
        }
    }

    /// Bar rows first, one source at a time: while a bar row is free, `Δ_A`
    /// has room (its demand `n` exceeds the bar rows sent to it), so every
    /// search stops at the latest at the diagonal, and `Δ_A`'s backward
    /// edges (one per row sent there) are never expanded. `Δ_B`'s supply
    /// goes last, all of it at once while the direct edge to `Δ_A` is a
    /// shortest path.
    fn solve(&mut self) {
        self.greedy_start();
        loop {
            let free: Vec<usize> = (0..self.n)
                .filter(|&i| self.col_of_row[i] == NONE)
                .collect();
            for source in free {
                if !self.augment(source) {
                    // Cannot happen: every row reaches Δ_A. Leave the flow
                    // as it is rather than loop.
                    return;
                }
            }
            while self.delta_b_left > 0 {
                if !self.augment(self.n) {
                    return;
                }
            }
            if !self.certify() {
                return;
            }
        }
    }

    #[cfg(test)]
    fn supply_left(&self) -> usize {
        self.col_of_row.iter().filter(|&&c| c == NONE).count() + self.delta_b_left
    }

    /// Column reduction, row reduction, and tight edges taken greedily.
    fn greedy_start(&mut self) {
        let (n, m) = (self.n, self.m);
        // v_j: the cheapest way into b_j (from Δ_B at diag(b_j)^p, or a candidate).
        self.v[..m].copy_from_slice(&self.beta);
        for i in 0..n {
            for &j in &self.candidates[i] {
                let c = self.cost[i * m + j];
                if c < self.v[j] {
                    self.v[j] = c;
                }
            }
        }
        self.v[m] = 0.0;
        // Rows: the cheapest reduced edge, taken if its column has room.
        let mut delta_a_room = n;
        for i in 0..n {
            let (mut best, mut best_col) = (self.alpha[i] - self.v[m], m);
            for &j in &self.candidates[i] {
                let reduced = self.cost[i * m + j] - self.v[j];
                // Among equally cheap columns prefer one with room.
                if reduced < best
                    || (reduced == best
                        && self.col_is_full(best_col, delta_a_room)
                        && !self.col_is_full(j, delta_a_room))
                {
                    best = reduced;
                    best_col = j;
                }
            }
            self.u[i] = best;
            if best_col == m && delta_a_room > 0 {
                self.assign(i, m);
                delta_a_room -= 1;
            } else if best_col < m && self.row_of_col[best_col] == NONE {
                self.assign(i, best_col);
            }
        }
        // Δ_B: u = 0 is tight with Δ_A and with every b_j whose cheapest way in is the diagonal.
        self.u[n] = 0.0;
        for j in 0..m {
            if self.row_of_col[j] == NONE && self.beta[j] == self.v[j] {
                self.row_of_col[j] = n;
                self.delta_b_left -= 1;
            }
        }
        // Δ_B's remaining supply waits for the end (see `solve`).
    }

    fn col_is_full(&self, col: usize, delta_a_room: usize) -> bool {
        if col == self.m {
            delta_a_room == 0
        } else {
            self.row_of_col[col] != NONE
        }
    }

    fn delta_a_room(&self) -> usize {
        self.n - self.diagonal_rows.len() - self.diagonal_to_diagonal
    }

    /// Sends bar row `i` to column `col` (which must have room).
    fn assign(&mut self, i: usize, col: usize) {
        self.col_of_row[i] = col;
        if col == self.m {
            self.diagonal_slot[i] = self.diagonal_rows.len();
            self.diagonal_rows.push(i);
        } else {
            self.row_of_col[col] = i;
        }
    }

    /// Takes bar row `i` off its column.
    fn unassign(&mut self, i: usize) {
        let col = std::mem::replace(&mut self.col_of_row[i], NONE);
        if col == self.m {
            let slot = self.diagonal_slot[i];
            self.diagonal_rows.swap_remove(slot);
            if let Some(&moved) = self.diagonal_rows.get(slot) {
                self.diagonal_slot[moved] = slot;
            }
            self.diagonal_slot[i] = NONE;
        } else if col != NONE {
            self.row_of_col[col] = NONE;
        }
    }

    /// One unit from `source` (a free bar row, or `n` = `Δ_B` with supply
    /// left) along a shortest augmenting path, or all of `Δ_B`'s supply that
    /// the path can take when it is the direct edge to `Δ_A`; `false` if no
    /// path exists.
    fn augment(&mut self, source: usize) -> bool {
        let (n, m) = (self.n, self.m);
        // Nodes: rows 0..=n, then columns as n + 1 + c.
        let total = n + m + 2;
        let col_node = |c: usize| n + 1 + c;
        let mut dist = vec![f64::INFINITY; total];
        let mut pred = vec![NONE; total];
        let mut settled: Vec<usize> = Vec::new();
        let mut done = vec![false; total];
        let mut heap = BinaryHeap::new();
        dist[source] = 0.0;
        heap.push(Entry(0.0, source));
        let mut sink = NONE;
        while let Some(Entry(d, node)) = heap.pop() {
            if done[node] || d > dist[node] {
                continue;
            }
            done[node] = true;
            settled.push(node);
            if node <= n {
                let r = node;
                let relax = |c: usize,
                             cost: f64,
                             dist: &mut Vec<f64>,
                             pred: &mut Vec<usize>,
                             heap: &mut BinaryHeap<Entry>| {
                    let nd = d + (cost - self.u[r] - self.v[c]).max(0.0);
                    let cn = col_node(c);
                    if nd < dist[cn] {
                        dist[cn] = nd;
                        pred[cn] = r;
                        heap.push(Entry(nd, cn));
                    }
                };
                if r < n {
                    for &j in &self.candidates[r] {
                        relax(j, self.cost[r * m + j], &mut dist, &mut pred, &mut heap);
                    }
                    relax(m, self.alpha[r], &mut dist, &mut pred, &mut heap);
                } else {
                    for j in 0..m {
                        relax(j, self.beta[j], &mut dist, &mut pred, &mut heap);
                    }
                    relax(m, 0.0, &mut dist, &mut pred, &mut heap);
                }
            } else {
                let c = node - n - 1;
                let has_room = if c == m {
                    self.delta_a_room() > 0
                } else {
                    self.row_of_col[c] == NONE
                };
                if has_room {
                    sink = c;
                    break;
                }
                // Backward edges (tight): the rows sending to c.
                let back = |r: usize,
                            dist: &mut Vec<f64>,
                            pred: &mut Vec<usize>,
                            heap: &mut BinaryHeap<Entry>| {
                    if d < dist[r] {
                        dist[r] = d;
                        pred[r] = node;
                        heap.push(Entry(d, r));
                    }
                };
                if c < m {
                    back(self.row_of_col[c], &mut dist, &mut pred, &mut heap);
                } else {
                    for &r in &self.diagonal_rows {
                        back(r, &mut dist, &mut pred, &mut heap);
                    }
                    if self.diagonal_to_diagonal > 0 {
                        back(n, &mut dist, &mut pred, &mut heap);
                    }
                }
            }
        }
        if sink == NONE {
            return false;
        }
        let reach = dist[col_node(sink)];
        for &node in &settled {
            let slack = reach - dist[node];
            if slack > 0.0 {
                if node <= n {
                    self.u[node] += slack;
                } else {
                    self.v[node - n - 1] -= slack;
                }
            }
        }
        if source == n && sink == m && pred[col_node(m)] == n {
            // Δ_B → Δ_A directly: a shortest path for every unit that fits.
            let units = self.delta_b_left.min(self.delta_a_room());
            self.diagonal_to_diagonal += units;
            self.delta_b_left -= units;
            return true;
        }
        // Flip the path, from the sink back to its source row.
        let mut c = sink;
        loop {
            let r = pred[col_node(c)];
            let from = pred[r];
            // r moves one unit from its previous column (`from`) to c.
            if r < n {
                self.unassign(r);
                self.assign(r, c);
            } else {
                if c < m {
                    self.row_of_col[c] = n;
                } else {
                    self.diagonal_to_diagonal += 1;
                }
                match from {
                    NONE => self.delta_b_left -= 1,
                    f => {
                        let f = f - n - 1;
                        if f < m {
                            self.row_of_col[f] = NONE;
                        } else {
                            self.diagonal_to_diagonal -= 1;
                        }
                    }
                }
            }
            if from == NONE {
                break;
            }
            c = from - n - 1;
        }
        true
    }

    /// Checks the duals on every pair; adds the violated pairs to the
    /// candidates and releases the rows they make infeasible. `true` when
    /// something was added (the flow must be completed again).
    fn certify(&mut self) -> bool {
        let (n, m, eps) = (self.n, self.m, self.eps);
        let mut added = false;
        for i in 0..n {
            let mut violated = false;
            for j in 0..m {
                let reduced = self.cost[i * m + j] - self.u[i] - self.v[j];
                if reduced < -eps {
                    if let Err(at) = self.candidates[i].binary_search(&j) {
                        self.candidates[i].insert(at, j);
                        violated = true;
                    }
                }
            }
            if violated {
                added = true;
                // Re-price the row to its cheapest edge; a row whose edge is
                // no longer tight gives its column back.
                let mut best = self.alpha[i] - self.v[m];
                for &j in &self.candidates[i] {
                    best = best.min(self.cost[i * m + j] - self.v[j]);
                }
                self.u[i] = best;
                let col = self.col_of_row[i];
                let paid = match col {
                    NONE => f64::NAN,
                    c if c == m => self.alpha[i] - self.v[m],
                    c => self.cost[i * m + c] - self.v[c],
                };
                if col != NONE && paid > best {
                    self.unassign(i);
                }
            }
        }
        added
    }

    fn total_cost(&self) -> f64 {
        let (n, m) = (self.n, self.m);
        let mut sum = 0.0;
        for i in 0..n {
            sum += match self.col_of_row[i] {
                // (NONE only if an augmentation failed, which cannot happen.)
                c if c == m || c == NONE => self.alpha[i],
                c => self.cost[i * m + c],
            };
        }
        for j in 0..m {
            if self.row_of_col[j] == n {
                sum += self.beta[j];
            }
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::super::hungarian;
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn bars(rng: &mut ChaCha8Rng, count: usize, spread: f64, offset: f64) -> Vec<PersistencePair> {
        (0..count)
            .map(|_| {
                let birth = offset + rng.random::<f64>() * spread;
                let death = birth + rng.random::<f64>() * spread;
                PersistencePair {
                    dim: 1,
                    birth,
                    death,
                }
            })
            .collect()
    }

    fn solve_with(
        a: &[PersistencePair],
        b: &[PersistencePair],
        p: f64,
        ground: GroundMetric,
        k: usize,
    ) -> f64 {
        let power = |x: f64| x.powf(p);
        let cost = a
            .iter()
            .flat_map(|x| b.iter().map(move |y| power(ground.between(x, y))))
            .collect();
        let alpha = a.iter().map(|x| power(ground.to_diagonal(x))).collect();
        let beta = b.iter().map(|y| power(ground.to_diagonal(y))).collect();
        let mut t = Transport::new(a.len(), b.len(), cost, alpha, beta, k);
        t.solve();
        // The flow is complete and balanced.
        assert_eq!(t.supply_left(), 0);
        assert_eq!(t.delta_a_room(), 0);
        assert!(t.row_of_col.iter().all(|&r| r != NONE));
        t.total_cost()
    }

    /// Against the dense Hungarian solver of the full (n + m)² assignment,
    /// with few candidates so that the certificate rounds do the work.
    #[test]
    fn equals_the_dense_assignment() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for round in 0..120 {
            let (n, m) = (rng.random_range(0..40), rng.random_range(0..40));
            let spread = [0.1, 1.0, 10.0][round % 3];
            let mut a = bars(&mut rng, n, spread, 0.0);
            let mut b = bars(&mut rng, m, spread, 0.3 * spread);
            if round % 5 == 0 {
                // Duplicated bars: ties everywhere.
                a.extend(a.clone());
                b.extend(a.iter().take(5).copied());
            }
            for ground in [GroundMetric::LInfinity, GroundMetric::L2] {
                for p in [1.0, 2.0, 3.5] {
                    let dense = hungarian::finite_wasserstein_power(&a, &b, p, ground);
                    for k in [1, 2, CANDIDATES] {
                        let sparse = solve_with(&a, &b, p, ground, k);
                        assert!(
                            (sparse - dense).abs() <= 1e-9 * dense.max(1.0),
                            "round {round} n {} m {} p {p} {ground:?} k {k}: {sparse} vs {dense}",
                            a.len(),
                            b.len()
                        );
                    }
                }
            }
        }
    }

    /// A cluster far from the diagonal where the nearest candidates are not
    /// enough: bars on a line, the optimum shifts every bar by one.
    #[test]
    fn certificate_adds_the_pairs_it_needs() {
        let a: Vec<_> = (0..30)
            .map(|i| PersistencePair {
                dim: 1,
                birth: f64::from(i),
                death: f64::from(i) + 100.0,
            })
            .collect();
        let b: Vec<_> = (0..30)
            .map(|i| PersistencePair {
                dim: 1,
                birth: f64::from(i) + 0.6,
                death: f64::from(i) + 100.6,
            })
            .collect();
        for p in [1.0, 2.0] {
            let dense = hungarian::finite_wasserstein_power(&a, &b, p, GroundMetric::LInfinity);
            let sparse = solve_with(&a, &b, p, GroundMetric::LInfinity, 1);
            assert!(
                (sparse - dense).abs() <= 1e-9 * dense,
                "p {p}: {sparse} vs {dense}"
            );
        }
    }
}
