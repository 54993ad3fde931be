//! Exact bottleneck distance of finite diagrams: the smallest candidate
//! value `r` at which the diagonal-augmented bipartite graph of pairs within
//! `r` has a perfect matching, found by binary search; each test is two
//! Hopcroft–Karp maximum matchings on the points far from the diagonal.

use super::GroundMetric;
use crate::PersistencePair;

const FREE: usize = usize::MAX;

/// Bottleneck distance between two lists of finite bars (L∞ ground metric).
pub(crate) fn finite_bottleneck(a: &[PersistencePair], b: &[PersistencePair]) -> f64 {
    let (n, m) = (a.len(), b.len());
    if n == 0 && m == 0 {
        return 0.0;
    }
    let ground = GroundMetric::LInfinity;
    let cross: Vec<f64> = a
        .iter()
        .flat_map(|p| b.iter().map(move |q| ground.between(p, q)))
        .collect();
    let diag_a: Vec<f64> = a.iter().map(|p| ground.to_diagonal(p)).collect();
    let diag_b: Vec<f64> = b.iter().map(|q| ground.to_diagonal(q)).collect();

    // The distance is one of the matching costs.
    let mut candidates: Vec<f64> = cross
        .iter()
        .chain(&diag_a)
        .chain(&diag_b)
        .copied()
        .collect();
    candidates.sort_unstable_by(f64::total_cmp);
    candidates.dedup();

    // A perfect matching of the diagonal-augmented graph at threshold r
    // exists iff some matching of the A–B graph (pairs within r) covers
    // every point too far from the diagonal (diag > r) on both sides: the
    // rest go to the diagonal and the unused diagonal slots pair up for free.
    // By the Mendelsohn–Dulmage theorem such a matching exists iff one
    // covers the far points of A and one covers the far points of B, two
    // ordinary maximum-matching tests on graphs without diagonal vertices.
    let feasible = |r: f64| {
        let far_a: Vec<usize> = (0..n).filter(|&i| diag_a[i] > r).collect();
        let adjacency: Vec<Vec<usize>> = far_a
            .iter()
            .map(|&i| (0..m).filter(|&j| cross[i * m + j] <= r).collect())
            .collect();
        if maximum_matching(&adjacency, m) < far_a.len() {
            return false;
        }
        let far_b: Vec<usize> = (0..m).filter(|&j| diag_b[j] > r).collect();
        let adjacency: Vec<Vec<usize>> = far_b
            .iter()
            .map(|&j| (0..n).filter(|&i| cross[i * m + j] <= r).collect())
            .collect();
        maximum_matching(&adjacency, n) == far_b.len()
    };
    // Smallest feasible candidate; the largest is always feasible (every
    // point can go to the diagonal).
    let (mut lo, mut hi) = (0usize, candidates.len() - 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if feasible(candidates[mid]) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    candidates[lo]
}

/// Hopcroft–Karp: size of a maximum matching of the bipartite graph with
/// left vertices `0..adjacency.len()` and right vertices `0..n_right`.
fn maximum_matching(adjacency: &[Vec<usize>], n_right: usize) -> usize {
    let n_left = adjacency.len();
    let mut match_left = vec![FREE; n_left];
    let mut match_right = vec![FREE; n_right];
    let mut layer = vec![usize::MAX; n_left];
    let mut size = 0;
    loop {
        // BFS from the free left vertices, layering by alternating paths.
        let mut queue: Vec<usize> = (0..n_left).filter(|&u| match_left[u] == FREE).collect();
        for u in 0..n_left {
            layer[u] = if match_left[u] == FREE { 0 } else { usize::MAX };
        }
        let mut found = false;
        let mut head = 0;
        while head < queue.len() {
            let u = queue[head];
            head += 1;
            for &v in &adjacency[u] {
                let w = match_right[v];
                if w == FREE {
                    found = true;
                } else if layer[w] == usize::MAX {
                    layer[w] = layer[u] + 1;
                    queue.push(w);
                }
            }
        }
        if !found {
            return size;
        }
        // DFS along the layers for vertex-disjoint shortest augmenting paths.
        let mut next_edge = vec![0usize; n_left];
        for u in 0..n_left {
            if match_left[u] == FREE
                && augment(
                    u,
                    adjacency,
                    &mut match_left,
                    &mut match_right,
                    &mut layer,
                    &mut next_edge,
                )
            {
                size += 1;
            }
        }
    }
}

/// Iterative DFS from the free left vertex `root` along layered edges; flips
/// the path when it reaches a free right vertex.
fn augment(
    root: usize,
    adjacency: &[Vec<usize>],
    match_left: &mut [usize],
    match_right: &mut [usize],
    layer: &mut [usize],
    next_edge: &mut [usize],
) -> bool {
    // Stack of (left vertex, right vertex used to reach the next one).
    let mut path: Vec<(usize, usize)> = Vec::new();
    let mut u = root;
    loop {
        if next_edge[u] < adjacency[u].len() {
            let v = adjacency[u][next_edge[u]];
            next_edge[u] += 1;
            let w = match_right[v];
            if w == FREE {
                // Augment: flip every edge on the path.
                path.push((u, v));
                for &(x, y) in &path {
                    match_left[x] = y;
                    match_right[y] = x;
                }
                return true;
            }
            if layer[w] == layer[u] + 1 {
                path.push((u, v));
                u = w;
            }
        } else {
            // Dead end: never visit u again in this phase.
            layer[u] = usize::MAX;
            match path.pop() {
                Some((parent, _)) => u = parent,
                None => return false,
            }
        }
    }
}
