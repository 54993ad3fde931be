//! Mini-batch k-means as graphtools runs it for landmarks (scikit-learn's
//! `MiniBatchKMeans(n_landmark, init_size=3 n_landmark, n_init=1,
//! batch_size=10000)`): greedy k-means++ seeding (2 + ln k trials per centre)
//! on a random sample of `init_size` points drawn with replacement, then
//! mini-batch steps (batches drawn with replacement, per-centre learning rate
//! 1 / count, random reassignment of centres whose count falls below 1% of the
//! largest, early stop after 10 steps without improvement of the smoothed batch
//! inertia), then every point labelled by its nearest centre.
//!
//! The one deliberate difference: at most [`KMEANS_EPOCHS`] passes over the data
//! instead of scikit-learn's 100 (which early stopping cuts to ~20 at n = 20 000).
//! On gen_dla (5 000 to 20 000 points) phate with `max_iter=3` picks the same t
//! and reaches the same DEMaP within its seed-to-seed spread (see
//! `benches/results/basin-phate.md`); the full schedule costs 10x more.
//!
//! The cluster structure is what matters here: plain Lloyd iterations, or
//! k-means++ without the greedy trials, give lumpier clusters whose landmark
//! operator loses entropy faster, so t comes out smaller and DEMaP lower.
//! Distances are single precision (GEMM); ties may break differently from f64,
//! which k-means does not care about.

use crate::linalg::{gemm_f32_seq, gemm_f32_seq_into};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Passes over the data in the mini-batch phase (scikit-learn: `max_iter` = 100).
pub(crate) const KMEANS_EPOCHS: usize = 3;

/// Rows in single precision with their squared norms.
struct Rows32 {
    x: Vec<f32>,
    d: usize,
    norms: Vec<f32>,
}

impl Rows32 {
    fn from_f32(x: Vec<f32>, d: usize) -> Self {
        let norms = x
            .chunks_exact(d.max(1))
            .map(|r| r.iter().map(|v| v * v).sum())
            .collect();
        Self { x, d, norms }
    }

    fn len(&self) -> usize {
        self.norms.len()
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.x[i * self.d..(i + 1) * self.d]
    }

    fn gather(&self, idx: &[usize]) -> Self {
        let mut x = Vec::with_capacity(idx.len() * self.d);
        for &i in idx {
            x.extend_from_slice(self.row(i));
        }
        Self {
            x,
            d: self.d,
            norms: idx.iter().map(|&i| self.norms[i]).collect(),
        }
    }
}

/// Nearest centre of every row and the squared distance to it.
fn assign(rows: &Rows32, centres: &Rows32) -> (Vec<usize>, Vec<f32>) {
    let (n, k, d) = (rows.len(), centres.len(), rows.d);
    let block = 128usize;
    let parts: Vec<(Vec<usize>, Vec<f32>)> = (0..n.div_ceil(block))
        .into_par_iter()
        // one buffer of dot products per rayon job, not a fresh megabyte per block
        .map_init(
            || vec![0.0f32; block * k],
            |buf, b| {
                let (r0, r1) = (b * block, ((b + 1) * block).min(n));
                let g = &mut buf[..(r1 - r0) * k];
                gemm_f32_seq_into(g, &rows.x[r0 * d..r1 * d], r1 - r0, &centres.x, k, d);
                let mut labels = Vec::with_capacity(r1 - r0);
                let mut dist = Vec::with_capacity(r1 - r0);
                for (r, gr) in g.chunks_exact(k.max(1)).enumerate() {
                    let (arg, best) = nearest_centre(gr, &centres.norms);
                    labels.push(arg);
                    dist.push((best + rows.norms[r0 + r]).max(0.0));
                }
                (labels, dist)
            },
        )
        .collect();
    let mut labels = Vec::with_capacity(n);
    let mut dist = Vec::with_capacity(n);
    for (l, dd) in parts {
        labels.extend(l);
        dist.extend(dd);
    }
    (labels, dist)
}

/// Lanes of [`nearest_centre`]'s running minimum.
const NEAREST_LANES: usize = 16;

/// Index and score of the smallest `|c|^2 - 2 x.c` over the centres, from the
/// dot products `g`: the first index among equal scores, NaN never chosen,
/// index 0 when nothing is below infinity. One pass that keeps a running
/// minimum and its index per lane (compare and blend, vectorised with AVX-512
/// or AVX2 where the CPU has it), then the lanes' minimum and the smallest
/// index holding it. It reads each dot product once: the scores written back
/// and then scanned twice (minimum, then its first position) took three
/// passes over a 1 MB block of dot products per 128 rows.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2"))]
fn nearest_centre(g: &[f32], norms: &[f32]) -> (usize, f32) {
    let mut best = [f32::INFINITY; NEAREST_LANES];
    let mut at = [u32::MAX; NEAREST_LANES];
    let (gc, nc) = (
        g.chunks_exact(NEAREST_LANES),
        norms.chunks_exact(NEAREST_LANES),
    );
    let (g_tail, n_tail) = (gc.remainder(), nc.remainder());
    for (chunk, (g16, n16)) in gc.zip(nc).enumerate() {
        let base = (chunk * NEAREST_LANES) as u32;
        for l in 0..NEAREST_LANES {
            let score = n16[l] - 2.0 * g16[l];
            let lower = score < best[l];
            best[l] = if lower { score } else { best[l] };
            at[l] = if lower { base + l as u32 } else { at[l] };
        }
    }
    // lanes hold increasing indices, so a strict < keeps each lane's first
    let tail0 = g.len() - g_tail.len();
    let (mut min, mut arg) = (f32::INFINITY, usize::MAX);
    let lanes = best.iter().zip(&at).map(|(&v, &i)| (v, i as usize));
    let tail = g_tail
        .iter()
        .zip(n_tail)
        .enumerate()
        .map(|(l, (&gv, &cn))| (cn - 2.0 * gv, tail0 + l));
    for (v, i) in lanes.chain(tail) {
        if v < min || (v == min && i < arg) {
            (min, arg) = (v, i);
        }
    }
    if min == f32::INFINITY {
        return (0, min);
    }
    (arg, min)
}

/// `g <- max(0, |x|^2 + |c|^2 - 2 g)` for dot products `g` of one centre with
/// rows of squared norms `norms`.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2"))]
fn squared_distances(g: &mut [f32], norms: &[f32], centre_norm: f32) {
    for (v, &xn) in g.iter_mut().zip(norms) {
        let d2 = xn + centre_norm - 2.0 * *v;
        *v = if d2 > 0.0 { d2 } else { 0.0 };
    }
}

/// Values per f64 partial sum in [`potential_with`].
const POTENTIAL_CHUNK: usize = 1024;

/// Sum of min(closest, dist) (the potential if a candidate joined), in f32
/// lanes of 16 with an f64 total per [`POTENTIAL_CHUNK`] values; `if` rather than `f32::min`
/// so it vectorises.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2"))]
fn potential_with(closest: &[f32], dist: &[f32]) -> f64 {
    let mut total = 0.0f64;
    for (cc, dc) in closest
        .chunks(POTENTIAL_CHUNK)
        .zip(dist.chunks(POTENTIAL_CHUNK))
    {
        let mut lanes = [0.0f32; 16];
        let mut ci = cc.chunks_exact(16);
        let mut di = dc.chunks_exact(16);
        for (c16, d16) in (&mut ci).zip(&mut di) {
            for l in 0..16 {
                lanes[l] += if d16[l] < c16[l] { d16[l] } else { c16[l] };
            }
        }
        let tail: f32 = ci
            .remainder()
            .iter()
            .zip(di.remainder())
            .map(|(&c, &dv)| if dv < c { dv } else { c })
            .sum();
        total += f64::from(lanes.iter().sum::<f32>() + tail);
    }
    total
}

/// Largest table of squared distances [`kmeans_plusplus`] keeps (256 MiB:
/// samples of up to 8,192 rows, so up to 2,730 landmarks).
const SEED_TABLE_MAX_BYTES: usize = 256 << 20;

/// Sample rows per task when the table is built.
const SEED_TABLE_ROW_BLOCK: usize = 256;

/// Squared distances from k-means++ candidates to every row of the sample.
enum SampleDistances<'a> {
    /// All pairs, one f32 GEMM up front (row-major n x n).
    Table { table: Vec<f32>, n: usize },
    /// Each step's candidates against the rows, by blocks of [`POTENTIAL_CHUNK`]
    /// rows in parallel.
    Streamed(&'a Rows32),
}

impl<'a> SampleDistances<'a> {
    fn new(x: &'a Rows32, max_bytes: usize) -> Self {
        let n = x.len();
        if n.saturating_mul(n).saturating_mul(4) > max_bytes {
            return Self::Streamed(x);
        }
        // X X^T in full, by blocks of rows in parallel, each block's dot
        // products (the streamed path's GEMM) turned into squared distances
        // while in cache: a symmetric product would halve the flops but then
        // mirror 4 n^2 bytes, which costs more here
        let (d, block) = (x.d, SEED_TABLE_ROW_BLOCK);
        let mut table = vec![0.0f32; n * n];
        table
            .par_chunks_mut(block * n)
            .enumerate()
            .for_each(|(b, rows)| {
                let (r0, r1) = (b * block, b * block + rows.len() / n);
                gemm_f32_seq_into(rows, &x.x[r0 * d..r1 * d], r1 - r0, &x.x, n, d);
                for (row, &own) in rows.chunks_exact_mut(n).zip(&x.norms[r0..r1]) {
                    squared_distances(row, &x.norms, own);
                }
            });
        Self::Table { table, n }
    }

    /// `f(rows)` with `rows[t]` the squared distances of candidate `c[t]` to
    /// every sample row.
    fn with_rows<R>(&self, c: &[usize], f: impl FnOnce(&[&[f32]]) -> R) -> R {
        match self {
            Self::Table { table, n } => {
                let n = *n;
                let rows: Vec<&[f32]> = c.iter().map(|&i| &table[i * n..(i + 1) * n]).collect();
                f(&rows)
            }
            Self::Streamed(x) => {
                let (n, d, t) = (x.len(), x.d, c.len());
                let cand = x.gather(c);
                let mut out = vec![0.0f32; t * n];
                let blocks: Vec<Vec<f32>> = (0..n.div_ceil(POTENTIAL_CHUNK))
                    .into_par_iter()
                    .map(|b| {
                        let (r0, r1) = (b * POTENTIAL_CHUNK, ((b + 1) * POTENTIAL_CHUNK).min(n));
                        let mut g = gemm_f32_seq(&cand.x, t, &x.x[r0 * d..r1 * d], r1 - r0, d);
                        for (ti, row) in g.chunks_mut(r1 - r0).enumerate() {
                            squared_distances(row, &x.norms[r0..r1], cand.norms[ti]);
                        }
                        g
                    })
                    .collect();
                for (b, g) in blocks.iter().enumerate() {
                    let r0 = b * POTENTIAL_CHUNK;
                    let w = g.len() / t.max(1);
                    for ti in 0..t {
                        out[ti * n + r0..ti * n + r0 + w].copy_from_slice(&g[ti * w..(ti + 1) * w]);
                    }
                }
                let rows: Vec<&[f32]> = out.chunks(n.max(1)).collect();
                f(&rows)
            }
        }
    }
}

/// Greedy k-means++ (scikit-learn's `_kmeans_plusplus`): each new centre is the
/// best of `2 + ln k` candidates drawn proportionally to the squared distance
/// to the nearest centre so far, "best" meaning the lowest total potential.
///
/// The squared distances between all rows of the sample are computed first
/// when they fit in `max_table_bytes` (graphtools' sample is 3 k rows: 6,000
/// for 2,000 landmarks, a 144 MB table), so that a step only reads its
/// candidates' rows. Computing each step's candidates instead means 2 + ln k
/// small GEMMs per step, three times the flops of the whole table (every row
/// is drawn about three times) at a fraction of the GEMM rate, and a
/// fork-join per step: 0.25-0.3 s for the 2,000 steps at 20,000 points,
/// against 0.13-0.17 s with the table. Both give the same centres.
fn kmeans_plusplus(
    x: &Rows32,
    k: usize,
    rng: &mut ChaCha8Rng,
    max_table_bytes: usize,
) -> Vec<usize> {
    let n = x.len();
    let trials = 2 + (k as f64).ln() as usize;
    let distances = SampleDistances::new(x, max_table_bytes);
    let first = rng.random_range(0..n);
    let mut centres = vec![first];
    let mut closest: Vec<f32> = distances.with_rows(&[first], |r| r[0].to_vec());
    let mut pot: f64 = closest.iter().map(|&v| f64::from(v)).sum();
    let mut cumsum = vec![0.0f64; n];
    while centres.len() < k.min(n) {
        let mut acc = 0.0;
        for (c, &v) in cumsum.iter_mut().zip(&closest) {
            acc += f64::from(v);
            *c = acc;
        }
        let cands: Vec<usize> = (0..trials)
            .map(|_| {
                let r = rng.random::<f64>() * pot;
                cumsum.partition_point(|&c| c < r).min(n - 1)
            })
            .collect();
        distances.with_rows(&cands, |rows| {
            let pots: Vec<f64> = rows
                .iter()
                .map(|row| potential_with(&closest, row))
                .collect();
            let best = (0..trials).fold(0usize, |b, t| if pots[t] < pots[b] { t } else { b });
            for (c, &dv) in closest.iter_mut().zip(rows[best]) {
                if dv < *c {
                    *c = dv;
                }
            }
            pot = pots[best];
            centres.push(cands[best]);
        });
    }
    centres
}

/// Cluster labels of the rows of `x` (n x d, row-major, single precision)
/// into at most `k` clusters; see the module docs.
pub(crate) fn minibatch_kmeans(x: Vec<f32>, n: usize, d: usize, k: usize, seed: u64) -> Vec<usize> {
    debug_assert_eq!(x.len(), n * d);
    let k = k.min(n);
    let all = Rows32::from_f32(x, d);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let init_size = (3 * k).min(n);
    let init_idx: Vec<usize> = if init_size < n {
        (0..init_size).map(|_| rng.random_range(0..n)).collect()
    } else {
        (0..n).collect()
    };
    let sample = all.gather(&init_idx);
    let seeds = kmeans_plusplus(&sample, k, &mut rng, SEED_TABLE_MAX_BYTES);
    let mut centres: Vec<f64> = seeds
        .iter()
        .flat_map(|&i| sample.row(i).iter().map(|&v| f64::from(v)))
        .collect();
    let kk = seeds.len();

    let batch = 10_000usize.min(n);
    let n_steps = KMEANS_EPOCHS * n / batch;
    let mut counts = vec![0.0f64; kk];
    let mut since_reassign = 0usize;
    let (mut ewa, mut ewa_min): (Option<f64>, Option<f64>) = (None, None);
    let mut no_improvement = 0usize;
    for step in 0..n_steps {
        since_reassign += batch;
        let reassign = counts.contains(&0.0) || since_reassign >= 10 * kk;
        if reassign {
            since_reassign = 0;
        }
        let idx: Vec<usize> = (0..batch).map(|_| rng.random_range(0..n)).collect();
        let rows = all.gather(&idx);
        let c32 = Rows32::from_f32(centres.iter().map(|&v| v as f32).collect(), d);
        let (labels, dist) = assign(&rows, &c32);
        let inertia: f64 = dist.iter().map(|&v| f64::from(v)).sum();
        // centre <- (centre * count + sum of its batch rows) / (count + batch count)
        let mut sums = vec![0.0f64; kk * d];
        let mut bc = vec![0.0f64; kk];
        for (r, &l) in labels.iter().enumerate() {
            bc[l] += 1.0;
            for (s, &v) in sums[l * d..(l + 1) * d].iter_mut().zip(rows.row(r)) {
                *s += f64::from(v);
            }
        }
        for c in 0..kk {
            if bc[c] > 0.0 {
                let w = counts[c];
                for (cv, s) in centres[c * d..(c + 1) * d]
                    .iter_mut()
                    .zip(&sums[c * d..(c + 1) * d])
                {
                    *cv = (*cv * w + s) / (w + bc[c]);
                }
                counts[c] += bc[c];
            }
        }
        if reassign {
            let max = counts.iter().copied().fold(0.0f64, f64::max);
            let mut low: Vec<usize> = (0..kk).filter(|&c| counts[c] < 0.01 * max).collect();
            if low.len() * 2 > batch {
                // keep the batch/2 lowest counts only
                low.sort_by(|&a, &b| counts[a].total_cmp(&counts[b]));
                low.truncate(batch / 2);
            }
            if !low.is_empty() {
                let is_low: Vec<bool> = {
                    let mut v = vec![false; kk];
                    low.iter().for_each(|&c| v[c] = true);
                    v
                };
                let floor = (0..kk)
                    .filter(|&c| !is_low[c])
                    .map(|c| counts[c])
                    .fold(f64::INFINITY, f64::min);
                let picks = rand::seq::index::sample(&mut rng, batch, low.len()).into_vec();
                for (&c, &p) in low.iter().zip(&picks) {
                    for (cv, &v) in centres[c * d..(c + 1) * d].iter_mut().zip(rows.row(p)) {
                        *cv = f64::from(v);
                    }
                    counts[c] = if floor.is_finite() { floor } else { 0.0 };
                }
            }
        }
        // early stop on the smoothed batch inertia (the first step only sees the seeding)
        if step == 0 {
            continue;
        }
        let bi = inertia / batch as f64;
        let alpha = (batch as f64 * 2.0 / (n as f64 + 1.0)).min(1.0);
        let e = ewa.map_or(bi, |e| e * (1.0 - alpha) + bi * alpha);
        ewa = Some(e);
        if ewa_min.is_none_or(|m| e < m) {
            no_improvement = 0;
            ewa_min = Some(e);
        } else {
            no_improvement += 1;
        }
        if no_improvement >= 10 {
            break;
        }
    }
    let c32 = Rows32::from_f32(centres.iter().map(|&v| v as f32).collect(), d);
    assign(&all, &c32).0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass scan against the definition (first index of the
    /// smallest score, NaN never chosen, 0 when nothing is finite), with
    /// ties across lanes and in the tail, NaN and infinite scores.
    #[test]
    fn nearest_centre_is_the_first_smallest_score() {
        let reference = |g: &[f32], norms: &[f32]| -> (usize, f32) {
            let mut best = (0usize, f32::INFINITY);
            for (i, (&gv, &cn)) in g.iter().zip(norms).enumerate() {
                let s = cn - 2.0 * gv;
                if s < best.1 {
                    best = (i, s);
                }
            }
            best
        };
        let mut state = 12345u32;
        let mut next = || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1 << 24) as f32
        };
        for k in [1usize, 5, 16, 17, 40, 2000] {
            for case in 0..20 {
                // few distinct values, so ties are common
                let mut g: Vec<f32> = (0..k).map(|_| (next() * 4.0).floor()).collect();
                let norms: Vec<f32> = (0..k).map(|_| (next() * 3.0).floor()).collect();
                if case % 5 == 1 {
                    g[k / 2] = f32::NAN;
                }
                if case % 5 == 2 {
                    g[k - 1] = f32::NEG_INFINITY;
                }
                if case % 5 == 3 {
                    g.iter_mut().for_each(|v| *v = f32::NAN);
                }
                let (ours, theirs) = (nearest_centre(&g, &norms), reference(&g, &norms));
                assert_eq!(ours.0, theirs.0, "k {k} case {case}");
                assert_eq!(ours.1.to_bits(), theirs.1.to_bits(), "k {k} case {case}");
            }
        }
    }

    /// Three well-separated blobs: every blob gets its own cluster.
    #[test]
    fn separates_blobs() {
        let n = 300;
        let x: Vec<f64> = (0..n)
            .flat_map(|i| {
                let c = (i % 3) as f64 * 100.0;
                let h = ((i * 7919) % 101) as f64 / 101.0;
                [c + h, c - h, h * 0.5]
            })
            .collect();
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let labels = minibatch_kmeans(x32, n, 3, 3, 1);
        for i in 0..n {
            assert_eq!(labels[i], labels[i % 3], "row {i}");
        }
        assert_ne!(labels[0], labels[1]);
        assert_ne!(labels[1], labels[2]);
        assert_ne!(labels[0], labels[2]);
    }

    /// The table of all sample distances and the per-step GEMMs pick the
    /// same centres (each distance is the same f32 dot product either way).
    #[test]
    fn seeding_table_and_streamed_agree() {
        let (n, d) = (700, 12);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let x: Vec<f32> = (0..n * d)
            .map(|_| rng.random::<f32>() * 4.0 - 2.0)
            .collect();
        let rows = Rows32::from_f32(x, d);
        let k = 60;
        let table = kmeans_plusplus(&rows, k, &mut ChaCha8Rng::seed_from_u64(9), usize::MAX);
        let streamed = kmeans_plusplus(&rows, k, &mut ChaCha8Rng::seed_from_u64(9), 0);
        assert_eq!(table.len(), k);
        assert_eq!(table, streamed);
        let mut unique = table.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), k, "a centre was picked twice");
    }
}
