//! Memory estimate of a run before it starts: simplex counts per dimension
//! under the threshold (exact for vertices and edges, Knuth's unbiased
//! random-probe estimate of the clique search tree above), turned into bytes
//! by the storage model of the reduction.

use super::distance_matrix::RipsMatrix;
use super::types::Value;

/// Bytes per stored simplex key (`(diameter, index, coefficient)` in a `u128`).
const KEY_BYTES: f64 = 16.0;
/// Bytes per pivot in the pivot map (key, column, coefficient, load factor).
const PIVOT_BYTES: f64 = 32.0;
/// Probes of the Knuth estimator (deterministic).
const PROBES: usize = 2048;

/// The estimate returned by [`estimate_memory`](super::estimate_memory).
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryEstimate {
    /// Estimated number of simplices of dimension `0..=max_dim + 1` with
    /// diameter `≤ threshold` (exact for dimensions 0 and 1).
    pub simplices_per_dim: Vec<f64>,
    /// Estimated peak bytes of the computation.
    pub bytes: u64,
    /// The threshold the counts refer to (after the enclosing-radius cutoff).
    pub threshold: f64,
}

/// SplitMix64: a fixed-seed generator so the estimate is reproducible.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        ((u128::from(self.next()) * bound as u128) >> 64) as usize
    }
}

/// Simplex counts per dimension `0..=top_dim`.
pub(crate) fn simplex_counts<M: RipsMatrix>(
    m: &M,
    threshold: Value,
    num_edges: usize,
    top_dim: usize,
) -> Vec<f64> {
    let n = m.size();
    let mut counts = vec![0.0; top_dim + 1];
    counts[0] = n as f64;
    if top_dim >= 1 {
        counts[1] = num_edges as f64;
    }
    if top_dim < 2 || n == 0 {
        return counts;
    }
    // A probe walks one random path of the search tree that lists each
    // clique once by increasing vertices; the product of the branching
    // factors along it is an unbiased estimate of the nodes at each depth.
    let mut rng = SplitMix64(0x005E_ED0F_B451);
    let mut sums = vec![0.0; top_dim + 1];
    let mut candidates: Vec<usize> = Vec::with_capacity(n);
    let mut next: Vec<usize> = Vec::with_capacity(n);
    for _ in 0..PROBES {
        let v = rng.below(n);
        candidates.clear();
        candidates.extend((v + 1..n).filter(|&u| m.dist(v, u) <= threshold));
        let mut weight = n as f64;
        for sum in sums.iter_mut().skip(2) {
            if candidates.is_empty() {
                break;
            }
            weight *= candidates.len() as f64;
            let u = candidates[rng.below(candidates.len())];
            next.clear();
            next.extend(
                candidates
                    .iter()
                    .copied()
                    .filter(|&w| w > u && m.dist(u, w) <= threshold),
            );
            std::mem::swap(&mut candidates, &mut next);
            *sum += weight * candidates.len() as f64;
        }
    }
    for d in 2..=top_dim {
        counts[d] = sums[d] / PROBES as f64;
    }
    counts
}

/// Peak bytes: the distances plus, at the worst dimension `d`, the list of
/// `(d-1)`-simplices being extended, the `d`-simplices kept for the next
/// dimension, the columns to reduce and the pivot map.
pub(crate) fn estimate_bytes(counts: &[f64], max_dim: usize, distance_bytes: f64) -> u64 {
    let edges = counts.get(1).copied().unwrap_or(0.0);
    let mut peak = 2.0 * KEY_BYTES * edges;
    for d in 2..=max_dim {
        let below = counts[d - 1];
        let here = counts[d];
        let kept = if d < max_dim { here } else { 0.0 };
        let pivots = here.min(counts.get(d + 1).copied().unwrap_or(here));
        peak = peak.max(KEY_BYTES * (below + kept + here) + PIVOT_BYTES * pivots);
    }
    let total = distance_bytes + peak;
    if total >= u64::MAX as f64 {
        u64::MAX
    } else {
        total as u64
    }
}

/// Half of the memory the OS reports available (`MemAvailable` in
/// `/proc/meminfo`), or `None` where that cannot be read.
#[must_use]
pub fn default_memory_budget() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024) / 2)
}
