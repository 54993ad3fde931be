//! DEMaP (Moon et al. 2019): Spearman correlation between geodesic distances on
//! a kNN graph of the input and distances in the embedding.

use crate::distance::pairwise;
use crate::hyperparams::Distance;
use crate::total_order::TotalF64;
use ndarray::ArrayView2;
use rayon::prelude::*;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// DEMaP of `embedding` against `data`: symmetric kNN graph (`k` nearest
/// others, euclidean edge weights, union of both directions), all-pairs
/// Dijkstra, Spearman correlation with the embedding's euclidean distances over
/// the upper triangle. Same construction as `make_reference.py`.
///
/// # Example
/// ```
/// use ndarray::Array2;
/// let x = Array2::from_shape_fn((30, 3), |(i, j)| (i * (j + 1)) as f64);
/// let d = basin_phate::demap(x.view(), x.view(), 5);
/// assert!(d > 0.99);
/// ```
#[must_use]
pub fn demap(data: ArrayView2<'_, f64>, embedding: ArrayView2<'_, f64>, k: usize) -> f64 {
    let n = data.nrows();
    let d = pairwise(data, Distance::Euclidean);
    let mut adj: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for i in 0..n {
        let mut order: Vec<usize> = (0..n).filter(|&j| j != i).collect();
        order.sort_by(|&a, &b| d[[i, a]].total_cmp(&d[[i, b]]));
        for &j in order.iter().take(k) {
            adj[i].push((j, d[[i, j]]));
            adj[j].push((i, d[[i, j]]));
        }
    }
    let geo: Vec<Vec<f64>> = (0..n)
        .into_par_iter()
        .map(|s| {
            let mut dist = vec![f64::INFINITY; n];
            dist[s] = 0.0;
            let mut heap = BinaryHeap::new();
            heap.push(Reverse((TotalF64(0.0), s)));
            while let Some(Reverse((TotalF64(du), u))) = heap.pop() {
                if du > dist[u] {
                    continue;
                }
                for &(v, w) in &adj[u] {
                    let nd = du + w;
                    if nd < dist[v] {
                        dist[v] = nd;
                        heap.push(Reverse((TotalF64(nd), v)));
                    }
                }
            }
            dist
        })
        .collect();
    let e = pairwise(embedding, Distance::Euclidean);
    let mut a = Vec::with_capacity(n * (n - 1) / 2);
    let mut b = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in (i + 1)..n {
            a.push(geo[i][j]);
            b.push(e[[i, j]]);
        }
    }
    spearman(&a, &b)
}

/// Average ranks (ties share their mean rank), as scipy's `rankdata`.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &p in &idx[i..=j] {
            r[p] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman rank correlation.
#[must_use]
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}
