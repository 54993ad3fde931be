//! MDS as phate 2.0 runs it (`phate.mds.embed_MDS`): classic MDS, then metric
//! MDS by SGD (`phate.sgd_mds.sgd_mds_metric`) or SMACOF (scikit-learn's
//! `smacof`, metric, init = classic), re-oriented onto the classic layout by
//! scipy's `procrustes`.

use crate::linalg::{gemm_f32, top_singular_pairs};
use ndarray::parallel::prelude::*;
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::slice::{ParallelSlice, ParallelSliceMut};

/// Classic MDS as phate computes it (`phate.mds.classic`): square the
/// distances, double-centre, and take scikit-learn's randomized PCA scores
/// of that matrix, `U_k S_k` (top singular pairs by `linalg::top_singular_pairs`,
/// the same recipe: 10 extra vectors, 7 power iterations).
///
/// The double-centred matrix is built in f64 and stored in f32 (one pass
/// after the means): the 16 products of the power iteration read it whole
/// and are bound by those reads, half as many bytes in f32. The products
/// (f32 inputs, f32 sums of mixed signs: the rows of B sum to zero) carry
/// an error of about sqrt(n) * 6e-8 relative to |B| |q|, ~3e-6 at 2,000
/// points; the layout only starts metric MDS, and orients it (against
/// phate's classic layouts the reference disparities stay below 1e-13).
///
/// # Arguments
/// * `d` - symmetric n x n distances.
/// * `k` - output dimension.
/// * `seed` - start of the range finder.
#[must_use]
pub fn classic_mds(d: ArrayView2<'_, f64>, k: usize, seed: u64) -> Array2<f64> {
    let n = d.nrows();
    let b = double_centred_f32(d);
    let (s, u) = top_singular_pairs(n, k, seed, |q| {
        let l = q.ncols();
        let q32: Vec<f32> = q.iter().map(|&v| v as f32).collect();
        let bq = gemm_f32(&b, n, n, &q32, l);
        Array2::from_shape_vec((n, l), bq.into_iter().map(f64::from).collect())
            .unwrap_or_else(|_| Array2::zeros((n, l)))
    });
    let mut y = Array2::zeros((n, k));
    for c in 0..s.len().min(k) {
        for i in 0..n {
            y[[i, c]] = u[[i, c]] * s[c];
        }
    }
    y
}

/// Rows per task of [`double_centred_f32`].
const CENTRE_ROWS: usize = 64;

/// `B = D2 - 1 c^T - (r - mean(c)) 1^T` with `D2` the squared distances, `c`
/// its column means and `r` its row means: phate's double centring (column
/// means subtracted, then the row means of the result), in f64, stored as
/// f32 (row-major).
fn double_centred_f32(d: ArrayView2<'_, f64>) -> Vec<f32> {
    let (n, m) = d.dim();
    let d = d.as_standard_layout();
    let src = d.as_slice().unwrap_or(&[]);
    if n == 0 || m == 0 {
        return Vec::new();
    }
    // row means, and column sums per block of rows (added in block order)
    let parts: Vec<(Vec<f64>, Vec<f64>)> = src
        .par_chunks(CENTRE_ROWS * m)
        .map(|rows| {
            let mut col = vec![0.0f64; m];
            let mut row_means = Vec::with_capacity(rows.len() / m);
            for r in rows.chunks_exact(m) {
                let mut sum = 0.0;
                for (c, &v) in col.iter_mut().zip(r) {
                    let v2 = v * v;
                    *c += v2;
                    sum += v2;
                }
                row_means.push(sum / m as f64);
            }
            (row_means, col)
        })
        .collect();
    let mut col_means = vec![0.0f64; m];
    let mut row_means = Vec::with_capacity(n);
    for (r, c) in parts {
        row_means.extend(r);
        col_means.iter_mut().zip(&c).for_each(|(a, b)| *a += b);
    }
    col_means.iter_mut().for_each(|c| *c /= n as f64);
    let mean_of_col_means = col_means.iter().sum::<f64>() / m as f64;
    let mut b = vec![0.0f32; n * m];
    b.par_chunks_mut(CENTRE_ROWS * m)
        .zip(src.par_chunks(CENTRE_ROWS * m))
        .enumerate()
        .for_each(|(blk, (out, rows))| {
            for (i, (o, r)) in out
                .chunks_exact_mut(m)
                .zip(rows.chunks_exact(m))
                .enumerate()
            {
                let shift = row_means[blk * CENTRE_ROWS + i] - mean_of_col_means;
                for ((o, &v), &c) in o.iter_mut().zip(r).zip(&col_means) {
                    *o = (v * v - c - shift) as f32;
                }
            }
        });
    b
}

/// scipy's `procrustes(reference, moving)`: both centred and scaled to unit
/// Frobenius norm, `moving` rotated (and reflected) and scaled onto `reference`.
/// Returns the aligned `moving` and the disparity (sum of squared differences).
///
/// # Example
/// ```
/// use ndarray::array;
/// let a = array![[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]];
/// let b = array![[0.0, 0.0], [0.0, 3.0], [-6.0, 0.0]]; // a rotated and scaled
/// let (_, disparity) = basin_phate::procrustes(a.view(), b.view());
/// assert!(disparity < 1e-12);
/// ```
#[must_use]
pub fn procrustes(
    reference: ArrayView2<'_, f64>,
    moving: ArrayView2<'_, f64>,
) -> (Array2<f64>, f64) {
    let standardize = |m: ArrayView2<'_, f64>| {
        let mean = m
            .mean_axis(Axis(0))
            .unwrap_or_else(|| Array1::zeros(m.ncols()));
        let mut c = &m - &mean.view().insert_axis(Axis(0));
        let nrm = c.iter().map(|v| v * v).sum::<f64>().sqrt();
        if nrm > 0.0 {
            c /= nrm;
        }
        c
    };
    let m1 = standardize(reference);
    let m2 = standardize(moving);
    // orthogonal_procrustes(m1, m2): svd(m1^T m2) = u w v^T, R = u v^T, scale = sum(w)
    let a = m1.t().dot(&m2);
    let k = a.nrows();
    let na = nalgebra::DMatrix::from_fn(k, a.ncols(), |i, j| a[[i, j]]);
    let svd = na.svd(true, true);
    let (Some(u), Some(vt)) = (svd.u, svd.v_t) else {
        return (m2, f64::NAN);
    };
    let r = &u * &vt;
    let scale: f64 = svd.singular_values.iter().sum();
    let rt = Array2::from_shape_fn((r.ncols(), r.nrows()), |(i, j)| r[(j, i)]);
    let aligned = m2.dot(&rt) * scale;
    let disparity = (&m1 - &aligned).iter().map(|v| v * v).sum();
    (aligned, disparity)
}

/// Euclidean distances between the rows of a low-dimensional layout.
fn layout_distances(y: &Array2<f64>) -> Array2<f64> {
    let n = y.nrows();
    let mut out = Array2::zeros((n, n));
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(i, mut row)| {
            let yi = y.row(i);
            for j in 0..n {
                row[j] = yi
                    .iter()
                    .zip(y.row(j))
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    .sqrt();
            }
        });
    out
}

/// Metric SMACOF exactly as scikit-learn 1.9's `_smacof_single` with `init`
/// (max_iter 3000, eps 1e-6).
#[must_use]
pub fn smacof(
    d: ArrayView2<'_, f64>,
    init: &Array2<f64>,
    max_iter: usize,
    eps: f64,
) -> Array2<f64> {
    smacof_single(d, init, max_iter, eps, false)
}

/// Non-metric SMACOF as scikit-learn 1.9's `_smacof_single(metric=False)`,
/// which phate's `mds='nonmetric'` runs from the metric layout: each iteration
/// replaces the distances by disparities, the isotonic (monotone) regression
/// of the layout distances on the input dissimilarities over the non-zero
/// upper-triangle pairs, rescaled to sum of squares n (n - 1) / 2; the first
/// iteration uses the dissimilarities themselves.
///
/// # Example
/// ```
/// use ndarray::{array, Array2};
/// // four points on a line, dissimilarities a monotone transform of distance
/// let x = array![[0.0], [1.0], [2.0], [3.0]];
/// let d = Array2::from_shape_fn((4, 4), |(i, j)| ((x[[i, 0]] - x[[j, 0]]) as f64).abs().powi(2));
/// let init = array![[0.1, 0.0], [0.9, 0.1], [2.1, -0.1], [2.9, 0.0]];
/// let y = basin_phate::smacof_nonmetric(d.view(), &init, 300, 1e-9);
/// // the order along the line is kept
/// assert!(y[[0, 0]] < y[[1, 0]] && y[[1, 0]] < y[[2, 0]] && y[[2, 0]] < y[[3, 0]]
///     || y[[0, 0]] > y[[1, 0]] && y[[1, 0]] > y[[2, 0]] && y[[2, 0]] > y[[3, 0]]);
/// ```
#[must_use]
pub fn smacof_nonmetric(
    d: ArrayView2<'_, f64>,
    init: &Array2<f64>,
    max_iter: usize,
    eps: f64,
) -> Array2<f64> {
    smacof_single(d, init, max_iter, eps, true)
}

/// Pool-adjacent-violators: the non-decreasing least-squares fit to `y` (in
/// place), with unit weights per entry; `groups` are runs of tied x values,
/// which scikit-learn first averages into one point of summed weight.
fn isotonic_in_place(y: &mut [f64], groups: &[(usize, usize)]) {
    // one block per tie group: (sum, weight, first group, last group)
    let mut blocks: Vec<(f64, f64, usize, usize)> = Vec::with_capacity(groups.len());
    for (g, &(a, b)) in groups.iter().enumerate() {
        let mut cur = (y[a..b].iter().sum::<f64>(), (b - a) as f64, g, g);
        while let Some(&last) = blocks.last() {
            if last.0 / last.1 >= cur.0 / cur.1 {
                blocks.pop();
                cur = (last.0 + cur.0, last.1 + cur.1, last.2, cur.3);
            } else {
                break;
            }
        }
        blocks.push(cur);
    }
    for (sum, w, g0, g1) in blocks {
        let v = sum / w;
        let (a, b) = (groups[g0].0, groups[g1].1);
        y[a..b].fill(v);
    }
}

fn smacof_single(
    d: ArrayView2<'_, f64>,
    init: &Array2<f64>,
    max_iter: usize,
    eps: f64,
    nonmetric: bool,
) -> Array2<f64> {
    let n = d.nrows();
    let k = init.ncols();
    if d.iter().all(|&v| v == 0.0) {
        return Array2::zeros((n, k));
    }
    // non-metric: the non-zero upper-triangle pairs sorted by dissimilarity
    // (stable, so ties keep scikit-learn's row-major order), and their tie runs
    let (pairs, groups) = if nonmetric {
        let mut pairs: Vec<(usize, usize)> = (0..n)
            .flat_map(|i| ((i + 1)..n).map(move |j| (i, j)))
            .filter(|&(i, j)| d[[i, j]] != 0.0)
            .collect();
        pairs.sort_by(|a, b| d[[a.0, a.1]].total_cmp(&d[[b.0, b.1]]));
        let mut groups = Vec::new();
        let mut start = 0;
        for p in 1..=pairs.len() {
            if p == pairs.len()
                || d[[pairs[p].0, pairs[p].1]] != d[[pairs[start].0, pairs[start].1]]
            {
                groups.push((start, p));
                start = p;
            }
        }
        (pairs, groups)
    } else {
        (Vec::new(), Vec::new())
    };
    // The disparities: the distances themselves (metric), or their isotonic
    // fit (non-metric), which needs a buffer of its own.
    let mut fitted_disp = nonmetric.then(|| Array2::<f64>::zeros((n, n)));
    let mut x = init.clone();
    let mut dist = layout_distances(&x);
    let mut old_stress: Option<f64> = None;
    let mut fitted = vec![0.0; pairs.len()];
    for it in 0..max_iter {
        if nonmetric {
            for (f, &(i, j)) in fitted.iter_mut().zip(&pairs) {
                *f = if it < 1 { d[[i, j]] } else { dist[[i, j]] };
            }
            if it >= 1 {
                isotonic_in_place(&mut fitted, &groups);
            }
            let ss: f64 = fitted.iter().map(|v| v * v).sum();
            let scale = if ss > 0.0 {
                ((n * (n - 1)) as f64 / 2.0 / ss).sqrt()
            } else {
                0.0
            };
            // Entries outside `pairs` are never written, so they stay 0.
            if let Some(disp) = fitted_disp.as_mut() {
                for (&f, &(i, j)) in fitted.iter().zip(&pairs) {
                    disp[[i, j]] = f * scale;
                    disp[[j, i]] = f * scale;
                }
            }
        }
        let disp = match &fitted_disp {
            Some(fitted) => fitted.view(),
            None => d.view(),
        };
        // Guttman transform X <- B(X) X / n, without forming B.
        let mut xn = Array2::zeros((n, k));
        xn.axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .for_each(|(i, mut out)| {
                let mut rsum = 0.0;
                for j in 0..n {
                    let dij = if dist[[i, j]] == 0.0 {
                        1e-5
                    } else {
                        dist[[i, j]]
                    };
                    let ratio = disp[[i, j]] / dij;
                    rsum += ratio;
                    for c in 0..k {
                        out[c] -= ratio * x[[j, c]];
                    }
                }
                for c in 0..k {
                    out[c] = (out[c] + rsum * x[[i, c]]) / n as f64;
                }
            });
        x = xn;
        dist = layout_distances(&x);
        let stress: f64 = dist
            .iter()
            .zip(disp.iter())
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            / 2.0;
        if let Some(old) = old_stress {
            let ssd: f64 = dist.iter().map(|v| v * v).sum::<f64>() / 2.0;
            if (old - stress) / ssd < eps {
                break;
            }
        }
        old_stress = Some(stress);
    }
    x
}

/// Steps of the 16-bit fixed-point targets: a target `t` in [0, 1] is stored
/// as `round(t * TARGET_STEPS)`.
const TARGET_STEPS: f64 = 65535.0;

/// The strict upper triangle of a symmetric target matrix, row by row,
/// divided by its largest entry and stored as 16-bit fixed point (the
/// diagonal is never read: pairs with `i == j` are skipped).
///
/// Why 16 bits: the SGD loop is bound by random reads of these targets, and
/// 2 bytes per pair (an eighth of the f64 matrix) keeps more of them in
/// cache; at 2,000 points the loop takes ~0.6x the time it took with f32. The
/// rounding error, at most 7.6e-6 of the largest distance, is far below the
/// noise of the sampled gradient: the layouts differ from the f32 ones by
/// 1e-6 relative (Frobenius) and DEMaP is the same to five digits.
struct PackedTargets {
    /// The triangle, then one 0 (the "target" of a pair `i == j`).
    values: Vec<u16>,
    /// Offset of row i's first entry, minus i + 1 (so entry (i, j) is at
    /// `start[i] + j`).
    start: Vec<usize>,
}

impl PackedTargets {
    /// `d`'s strict upper triangle divided by `scale` (its largest entry).
    fn new(d: ArrayView2<'_, f64>, scale: f64) -> Self {
        let n = d.nrows();
        let mut values = Vec::with_capacity(n * n.saturating_sub(1) / 2 + 1);
        let mut start = Vec::with_capacity(n);
        for i in 0..n {
            start.push(values.len().wrapping_sub(i + 1));
            values.extend((i + 1..n).map(|j| {
                // `as` saturates, and NaN (never passed: fit checks) maps to 0
                ((d[[i, j]] / scale).clamp(0.0, 1.0) * TARGET_STEPS).round() as u16
            }));
        }
        values.push(0);
        Self { values, start }
    }

    /// Where the target between `i` and `j` is in `values` (the trailing 0
    /// when `i == j`).
    #[inline]
    fn offset(&self, i: usize, j: usize) -> usize {
        // min/max and a select rather than branches: the pairs are random,
        // so a branch on i < j would be mispredicted half the time
        let (a, b) = (i.min(j), i.max(j));
        let diagonal = self.values.len() - 1;
        if a == b {
            diagonal
        } else {
            self.start[a].wrapping_add(b)
        }
    }

    /// The fixed-point targets (see [`Self::to_f64`]) at `offsets`, into
    /// `out`. A loop of nothing but independent loads, so the CPU keeps many
    /// of these cache misses in flight: computing each offset in the same
    /// loop left it 4 times the instructions per load and fewer loads in
    /// its window.
    fn gather(&self, offsets: &[usize], out: &mut Vec<u16>) {
        out.clear();
        out.extend(offsets.iter().map(|&o| self.values[o]));
    }

    /// A fixed-point target as a fraction of the largest.
    #[inline]
    fn to_f64(q: u16) -> f64 {
        f64::from(q) * (1.0 / TARGET_STEPS)
    }
}

/// Per-pair scratch of one SGD pass: squared layout distances, then the
/// gradient weights, and the squared errors.
#[derive(Default)]
struct PairScratch {
    weights: Vec<f64>,
    errors2: Vec<f64>,
}

/// From each pair's squared layout distance (in `s.weights`) and its target:
/// the gradient weight `-2 (target - dist) / dist` (over `s.weights`) and the
/// squared error (into `s.errors2`). One loop over slices of nothing but
/// elementwise arithmetic, so it vectorises: the square roots and divisions
/// run four (AVX2) or eight (AVX-512) to a register instead of one chain per
/// pair (waiting on them was about a quarter of the pass's samples in
/// `perf`). Correctly rounded operations either way: the same bits as one
/// pair at a time.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2"))]
fn pair_weights(s: &mut PairScratch, targets: &[u16]) {
    s.errors2.clear();
    s.errors2.resize(s.weights.len(), 0.0);
    for ((w, e2), &q) in s.weights.iter_mut().zip(&mut s.errors2).zip(targets) {
        let dist = w.sqrt().max(1e-10);
        let err = PackedTargets::to_f64(q) - dist;
        *w = -2.0 * err / dist;
        *e2 = err * err;
    }
}

/// One SGD pass's gradient over `pairs` (with their fixed-point `targets`) for
/// a layout `y` of `K` columns, added into `g`; returns the summed squared
/// errors and the pairs used (`i == j` skipped). Fixed-size rows for the usual
/// 2 or 3 columns: the same arithmetic in the same order as [`sgd_pairs_dyn`],
/// without its bounds checks and inner loops. Three passes (distances,
/// [`pair_weights`], gradients); `y` does not change within one, so the
/// differences recomputed in the last are the first's.
fn sgd_pairs<const K: usize>(
    y: &[f64],
    g: &mut [f64],
    pairs: &[(u32, u32)],
    targets: &[u16],
    s: &mut PairScratch,
) -> (f64, usize) {
    let row = |m: &[f64], i: usize| -> [f64; K] {
        let mut r = [0.0; K];
        r.copy_from_slice(&m[i * K..(i + 1) * K]);
        r
    };
    let diff = |i: usize, j: usize| -> [f64; K] {
        let (yi, yj) = (row(y, i), row(y, j));
        let mut d = [0.0; K];
        for c in 0..K {
            d[c] = yi[c] - yj[c];
        }
        d
    };
    s.weights.clear();
    s.weights.extend(pairs.iter().map(|&(i, j)| {
        let d = diff(i as usize, j as usize);
        let mut dist2 = 0.0;
        for v in d {
            dist2 += v * v;
        }
        dist2
    }));
    pair_weights(s, targets);
    let (mut se, mut cnt) = (0.0, 0usize);
    for ((&(i, j), &w), &e2) in pairs.iter().zip(&s.weights).zip(&s.errors2) {
        if i == j {
            continue;
        }
        let (i, j) = (i as usize, j as usize);
        let dv = diff(i, j).map(|v| v * w);
        for (gv, d) in g[i * K..(i + 1) * K].iter_mut().zip(&dv) {
            *gv += d;
        }
        for (gv, d) in g[j * K..(j + 1) * K].iter_mut().zip(&dv) {
            *gv -= d;
        }
        se += e2;
        cnt += 1;
    }
    (se, cnt)
}

/// [`sgd_pairs`] for any number of columns `k`.
fn sgd_pairs_dyn(
    y: &[f64],
    g: &mut [f64],
    k: usize,
    pairs: &[(u32, u32)],
    targets: &[u16],
    s: &mut PairScratch,
) -> (f64, usize) {
    let rows = |i: u32, j: u32| {
        let (i, j) = (i as usize, j as usize);
        (&y[i * k..(i + 1) * k], &y[j * k..(j + 1) * k])
    };
    s.weights.clear();
    s.weights.extend(pairs.iter().map(|&(i, j)| {
        let (yi, yj) = rows(i, j);
        yi.iter()
            .zip(yj)
            .fold(0.0, |acc, (a, b)| acc + (a - b) * (a - b))
    }));
    pair_weights(s, targets);
    let (mut se, mut cnt) = (0.0, 0usize);
    for ((&(i, j), &w), &e2) in pairs.iter().zip(&s.weights).zip(&s.errors2) {
        if i == j {
            continue;
        }
        let (yi, yj) = rows(i, j);
        let (i, j) = (i as usize, j as usize);
        for c in 0..k {
            let dv = (yi[c] - yj[c]) * w;
            g[i * k + c] += dv;
            g[j * k + c] -= dv;
        }
        se += e2;
        cnt += 1;
    }
    (se, cnt)
}

/// One of [`sgd_mds`]'s fixed pair ranges and its buffers, reused pass
/// after pass.
struct PairRange {
    /// The range's own stream (ChaCha's stream number = the range's index).
    rng: ChaCha8Rng,
    /// Two 32-bit draws per pair.
    draws: Vec<u32>,
    pairs: Vec<(u32, u32)>,
    offsets: Vec<usize>,
    targets: Vec<u16>,
    scratch: PairScratch,
    /// This range's gradient (n x k).
    grad: Vec<f64>,
}

impl PairRange {
    fn new(seed: u64, index: usize, len: usize, grad_len: usize) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(index as u64);
        Self {
            rng,
            draws: vec![0; 2 * len],
            pairs: Vec::new(),
            offsets: Vec::new(),
            targets: Vec::new(),
            scratch: PairScratch::default(),
            grad: vec![0.0; grad_len],
        }
    }
}

/// phate 2.0's SGD metric MDS (`sgd_mds_metric`): random pairs per iteration,
/// exponentially decaying step (s_gd2 schedule), distances scaled by their max.
/// Same schedule and sizes as phate; the pair sampler is ChaCha8 instead of
/// numpy's Mersenne twister, so results agree in quality, not bit for bit.
/// `d` must be symmetric: only its strict upper triangle is read.
#[must_use]
pub fn sgd_mds(d: ArrayView2<'_, f64>, init: &Array2<f64>, seed: u64) -> Array2<f64> {
    let n = d.nrows();
    let k = init.ncols();
    let (n_iter, pairs) = if n < 1000 {
        (300usize, n * n / 10)
    } else if n < 5000 {
        (500, (n as f64 * (n as f64).ln() * 2.0) as usize)
    } else {
        (800, (n as f64 * (n as f64).ln() * 2.0) as usize)
    };
    let dmax = d.iter().copied().fold(0.0f64, f64::max);
    if dmax <= 0.0 {
        // All targets are zero: every point at the origin is the exact optimum
        // (phate would rescale rounding noise to unit size instead).
        return Array2::zeros((n, k));
    }
    let scale = dmax;
    let mut y = init.clone();
    let mean = y.mean().unwrap_or(0.0);
    let std =
        (y.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / y.len().max(1) as f64).sqrt();
    if std > 0.0 {
        y /= std;
    }
    let total = n as f64 * (n as f64 - 1.0) / 2.0;
    let batch_scale = (total / pairs.max(1) as f64).sqrt();
    let eta_max = 0.001 * batch_scale;
    let eta_min = 0.001 * 0.01 * batch_scale;
    let lambda = (eta_max / eta_min).ln() / (n_iter.saturating_sub(1).max(1)) as f64;
    // One random stream per pair range (ChaCha's stream number), each drawn
    // by the range's own task: parallel, and the same pairs on any number of
    // threads.
    let chunks = 8usize;
    let mut prev: Option<f64> = None;
    // Targets in 16-bit fixed point, pre-divided by the scale, upper triangle
    // only (the matrix is symmetric): see PackedTargets.
    let dn = PackedTargets::new(d, scale);
    let mut yv: Vec<f64> = y.iter().copied().collect();
    let per = pairs.div_ceil(chunks);
    // A fixed number of pair ranges, each with its own random stream and
    // gradient buffer, summed in order: the result does not depend on the
    // thread count.
    let mut ranges: Vec<PairRange> = (0..chunks)
        .map(|c| {
            let len = ((c + 1) * per).min(pairs) - (c * per).min(pairs);
            PairRange::new(seed, c, len, n * k)
        })
        .collect();
    for it in 0..n_iter {
        let lr = eta_max * (-lambda * it as f64).exp();
        // Two 32-bit draws per pair mapped to 0..n by a widening multiply
        // (bias below n / 2^32, immaterial for a stochastic sampler; drawing in
        // bulk is much faster than one bounded draw at a time).
        let (yr, dr) = (&yv, &dn);
        let stats: Vec<(f64, usize)> = ranges
            .par_iter_mut()
            .map(|r| {
                r.grad.fill(0.0);
                r.rng.fill(&mut r.draws[..]);
                // below n, and n fits in u32 (the packed triangle holds n^2 / 2 targets)
                let draw = |v: u32| ((u64::from(v) * n as u64) >> 32) as u32;
                r.pairs.clear();
                r.pairs
                    .extend(r.draws.chunks_exact(2).map(|p| (draw(p[0]), draw(p[1]))));
                // Gather the targets first (the packed targets are n^2 bytes,
                // the reads random): offsets, then the loads alone.
                r.offsets.clear();
                r.offsets.extend(
                    r.pairs
                        .iter()
                        .map(|&(i, j)| dr.offset(i as usize, j as usize)),
                );
                dr.gather(&r.offsets, &mut r.targets);
                let (g, ij, tg, sc) = (&mut r.grad, &r.pairs, &r.targets, &mut r.scratch);
                match k {
                    2 => sgd_pairs::<2>(yr, g, ij, tg, sc),
                    3 => sgd_pairs::<3>(yr, g, ij, tg, sc),
                    _ => sgd_pairs_dyn(yr, g, k, ij, tg, sc),
                }
            })
            .collect();
        let (sum_err2, count) = stats
            .iter()
            .fold((0.0, 0usize), |a, b| (a.0 + b.0, a.1 + b.1));
        if count == 0 {
            continue;
        }
        for r in &ranges {
            for (yv, gv) in yv.iter_mut().zip(&r.grad) {
                *yv -= lr * gv;
            }
        }
        let stress = sum_err2 / count as f64;
        if let Some(p) = prev {
            if (stress - p).abs() / (p + 1e-10) < 1e-6 && it > 50 {
                break;
            }
        }
        prev = Some(stress);
    }
    let y = Array2::from_shape_vec((n, k), yv).unwrap_or_else(|_| Array2::zeros((n, k)));
    y * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass double centring equals phate's two steps (column means
    /// subtracted, then the row means of the result) to f32 rounding, on a
    /// matrix of more rows than one task and with distinct row and column
    /// means; its rows and columns sum to zero.
    #[test]
    fn double_centring_matches_two_steps() {
        let n = 150;
        let d = Array2::from_shape_fn((n, n), |(i, j)| {
            ((i * 7 + j * 3) % 23) as f64 * 0.5 + (i as f64) * 0.01
        });
        let mut b = d.mapv(|v| v * v);
        let col = b.mean_axis(Axis(0)).unwrap();
        b -= &col.view().insert_axis(Axis(0));
        let row = b.mean_axis(Axis(1)).unwrap();
        b -= &row.view().insert_axis(Axis(1));
        let ours = double_centred_f32(d.view());
        let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (o, r) in ours.iter().zip(b.iter()) {
            assert!((f64::from(*o) - r).abs() <= 1e-6 * scale, "{o} vs {r}");
        }
        let ours =
            Array2::from_shape_vec((n, n), ours.iter().map(|&v| f64::from(v)).collect()).unwrap();
        for s in ours
            .sum_axis(Axis(0))
            .iter()
            .chain(ours.sum_axis(Axis(1)).iter())
        {
            assert!(s.abs() <= 1e-4 * scale, "sum {s}");
        }
    }
}
