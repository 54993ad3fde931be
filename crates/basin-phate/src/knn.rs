//! Exact neighbour search for the kernel: for every query row, every fitted row
//! that the alpha-decay kernel can keep (the knn + 1 nearest, self included, and
//! every row within `radius_factor` times the knn-th distance), with exact f64
//! distances.
//!
//! Two exact searches, chosen by [`SearchMethod::auto`]:
//! - **Brute force** (high-dimensional or small inputs): single-precision GEMM
//!   tiles of `|x|^2 + |y|^2 - 2 x.y` pick candidates, with a rigorous rounding
//!   bound per pair so that no row the kernel needs can be missed; the
//!   candidates' distances are then recomputed in f64. Single precision doubles
//!   the GEMM rate; the bound costs a handful of extra candidates per row.
//!   When the queries are the fitted rows (fitting, not `transform`), only
//!   half the dot products are computed: each off-diagonal tile serves both
//!   of its blocks.
//! - **k-d tree** ([`crate::kdtree`], inputs with few columns and many rows):
//!   exact k-nearest then exact radius search, O(n log n) for low dimensions.
//!
//! Minkowski distances other than p = 2 use the tree or a direct f64 scan.

use crate::distance::Metric;
use crate::hyperparams::Distance;
use crate::kdtree::KdTree;
use crate::linalg::gemm_f32_seq_into;
use ndarray::parallel::prelude::*;
use ndarray::{s, Array2, ArrayView1, ArrayView2, Axis};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// How the candidates of each kernel row are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SearchMethod {
    /// Every pair, single-precision GEMM with a rounding bound (euclidean, cosine).
    BruteGemm,
    /// Every pair, distances computed directly in f64 (other Minkowski p).
    BruteDirect,
    /// Exact k-d tree (euclidean or Minkowski, few columns).
    KdTree,
}

/// Largest column count for which the k-d tree is used; above it the tree
/// prunes too little (scikit-learn switches to brute force above 15 too).
pub(crate) const KDTREE_MAX_DIM: usize = 15;
/// Fewest fitted rows for which the k-d tree is used; below it brute force is
/// as fast.
pub(crate) const KDTREE_MIN_ROWS: usize = 2048;

impl SearchMethod {
    /// The tree for euclidean/Minkowski data with at most [`KDTREE_MAX_DIM`]
    /// columns and at least [`KDTREE_MIN_ROWS`] rows, else brute force.
    pub(crate) fn auto(distance: Distance, n: usize, d: usize) -> Self {
        let tree_metric = matches!(distance, Distance::Euclidean | Distance::Minkowski(_));
        if tree_metric && d <= KDTREE_MAX_DIM && n >= KDTREE_MIN_ROWS {
            return Self::KdTree;
        }
        match distance {
            Distance::Euclidean | Distance::Cosine => Self::BruteGemm,
            _ => Self::BruteDirect,
        }
    }
}

/// What the search must return for each query row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Need {
    /// Index (0-based, in increasing distance) of the bandwidth neighbour:
    /// knn when the query is itself a fitted row (its zero distance counts), else knn - 1.
    pub(crate) k: usize,
    /// Keep at most this many nearest (knn_max + self), or all.
    pub(crate) cap: Option<usize>,
    /// Radius multiplier on the bandwidth distance (`(-ln thresh)^(1/decay)`).
    pub(crate) factor: f64,
}

impl Need {
    /// How many nearest a search must hold at once: the bandwidth neighbour
    /// and everything before it, or the cap when it is larger.
    pub(crate) fn nearest_kept(&self) -> usize {
        self.cap.map_or(self.k + 1, |c| c.max(self.k + 1))
    }
}

/// Candidates (column, exact distance) of every query row: a superset of what
/// the kernel keeps, always containing the true k + 1 nearest (and the cap nearest).
/// `self_search`: the queries are the fitted rows themselves (`metric.x`), so
/// the brute force can use the symmetry of their distances.
pub(crate) fn candidates(
    metric: &Metric<'_>,
    queries: ArrayView2<'_, f64>,
    need: &Need,
    method: SearchMethod,
    self_search: bool,
) -> Vec<Vec<(usize, f64)>> {
    match method {
        SearchMethod::BruteGemm => match BruteF32::new(metric) {
            Some(b) if self_search => b.self_candidates(metric, need),
            Some(b) => b.candidates(metric, queries, need),
            None => direct_candidates(metric, queries, need),
        },
        SearchMethod::BruteDirect => direct_candidates(metric, queries, need),
        SearchMethod::KdTree => {
            let tree = KdTree::build(metric.x.view(), metric.distance);
            queries
                .axis_iter(Axis(0))
                .into_par_iter()
                .map(|q| tree.candidates(q, need))
                .collect()
        }
    }
}

/// The `len` smallest values seen so far, ascending (len is knn + 1 or the cap: small).
struct TopK {
    vals: Vec<f32>,
    len: usize,
}

impl TopK {
    fn new(len: usize) -> Self {
        Self {
            vals: Vec::with_capacity(len + 1),
            len,
        }
    }

    fn worst(&self) -> f32 {
        if self.vals.len() < self.len {
            f32::INFINITY
        } else {
            self.vals[self.len - 1]
        }
    }

    fn get(&self, i: usize) -> f32 {
        self.vals.get(i).copied().unwrap_or(f32::INFINITY)
    }

    fn push(&mut self, v: f32) {
        if v >= self.worst() {
            return;
        }
        let pos = self.vals.partition_point(|&x| x <= v);
        self.vals.insert(pos, v);
        self.vals.truncate(self.len);
    }
}

/// Fitted rows in single precision, centred (euclidean) and scaled by a power
/// of two so nothing overflows or underflows, with per-row rounding bounds.
struct BruteF32 {
    x: Vec<f32>,
    n: usize,
    d: usize,
    /// Squared norms (euclidean) of the f32 rows.
    norms: Vec<f32>,
    /// Per-row half of the rounding bound: |score~ - score| <= slack_i + slack_j.
    slack: Vec<f32>,
    center: Vec<f64>,
    scale: f64,
    cosine: bool,
}

/// Unit roundoff of f32.
const U32: f64 = f32::EPSILON as f64 / 2.0;

impl BruteF32 {
    /// None when the metric is not euclidean/cosine or the data cannot be
    /// represented safely in f32 (the direct f64 scan is used then).
    fn new(metric: &Metric<'_>) -> Option<Self> {
        let x = &metric.x;
        let (n, d) = x.dim();
        let cosine = match metric.distance {
            Distance::Euclidean => false,
            Distance::Cosine => true,
            _ => return None,
        };
        let center: Vec<f64> = if cosine {
            vec![0.0; d]
        } else {
            x.mean_axis(Axis(0))?.to_vec()
        };
        let max_abs = x
            .axis_iter(Axis(0))
            .flat_map(|r| {
                r.iter()
                    .zip(&center)
                    .map(|(v, c)| (v - c).abs())
                    .collect::<Vec<_>>()
            })
            .fold(0.0f64, f64::max);
        // cosine rows are unit (or zero) already; scale euclidean rows to [-2, 2]
        let scale = if cosine || max_abs == 0.0 {
            1.0
        } else {
            (-(max_abs.log2().round().clamp(-1000.0, 1000.0))).exp2()
        };
        let mut x32 = Vec::with_capacity(n * d);
        for r in x.axis_iter(Axis(0)) {
            x32.extend(r.iter().zip(&center).map(|(v, c)| ((v - c) * scale) as f32));
        }
        let norms: Vec<f32> = x32
            .chunks_exact(d.max(1))
            .map(|r| r.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() as f32)
            .collect();
        let slack = Self::slack_of(&norms, d, cosine);
        Some(Self {
            x: x32,
            n,
            d,
            norms,
            slack,
            center,
            scale,
            cosine,
        })
    }

    /// Rounding bound. Euclidean: rounding the centred rows to f32 moves a
    /// squared distance by <= 4.01 u (|x|^2 + |y|^2); the f32 dot product errs by
    /// <= d u (|x|^2 + |y|^2) / 2 in any summation order; forming
    /// `|x|^2 + |y|^2 - 2 g` adds <= 3 u (|x|^2 + |y|^2). We take
    /// (d + 16) u (|x|^2 + |y|^2), about twice the sum, plus an absolute floor for
    /// subnormal products. Cosine: the same terms with unit norms.
    fn slack_of(norms: &[f32], d: usize, cosine: bool) -> Vec<f32> {
        let c = (d as f64 + 16.0) * U32;
        norms
            .iter()
            .map(|&nv| {
                let s = if cosine { c } else { c * f64::from(nv) + 1e-30 };
                s as f32
            })
            .collect()
    }

    fn candidates(
        &self,
        metric: &Metric<'_>,
        queries: ArrayView2<'_, f64>,
        need: &Need,
    ) -> Vec<Vec<(usize, f64)>> {
        let nq = queries.nrows();
        let mut q32 = Vec::with_capacity(nq * self.d);
        for r in queries.axis_iter(Axis(0)) {
            q32.extend(
                r.iter()
                    .zip(&self.center)
                    .map(|(v, c)| ((v - c) * self.scale) as f32),
            );
        }
        if q32.iter().any(|v| !v.is_finite()) {
            return direct_candidates(metric, queries, need);
        }
        let qnorms: Vec<f32> = q32
            .chunks_exact(self.d.max(1))
            .map(|r| r.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() as f32)
            .collect();
        let qslack = Self::slack_of(&qnorms, self.d, self.cosine);
        let block = 256usize;
        let starts: Vec<usize> = (0..nq).step_by(block).collect();
        let parts: Vec<Vec<Vec<(usize, f64)>>> = starts
            .into_par_iter()
            .map(|start| {
                let end = (start + block).min(nq);
                let rows = end - start;
                let qb = &q32[start * self.d..end * self.d];
                self.block_candidates(qb, &qnorms[start..end], &qslack[start..end], rows, need)
                    .into_iter()
                    .enumerate()
                    .map(|(r, cols)| with_exact_distances(metric, queries.row(start + r), cols))
                    .collect()
            })
            .collect();
        parts.into_iter().flatten().collect()
    }

    /// Candidate columns of `rows` query rows: streams column tiles through a
    /// single-threaded f32 GEMM, keeps the smallest upper bounds and every
    /// column whose lower bound can still be within the radius.
    fn block_candidates(
        &self,
        qb: &[f32],
        qn: &[f32],
        qs: &[f32],
        rows: usize,
        need: &Need,
    ) -> Vec<Vec<usize>> {
        let keep = need.nearest_kept();
        let mut tops: Vec<TopK> = (0..rows).map(|_| TopK::new(keep)).collect();
        let mut thr = vec![f32::INFINITY; rows];
        let mut cand: Vec<Vec<(usize, f32)>> = vec![Vec::new(); rows];
        let tile = 1024usize;
        let scan = self.tile_scan(need);
        // one tile of dot products, reused tile after tile
        let mut tile_dots = vec![0.0f32; rows * tile.min(self.n)];
        let mut c0 = 0;
        while c0 < self.n {
            let c1 = (c0 + tile).min(self.n);
            let g = &mut tile_dots[..rows * (c1 - c0)];
            gemm_f32_seq_into(
                g,
                qb,
                rows,
                &self.x[c0 * self.d..c1 * self.d],
                c1 - c0,
                self.d,
            );
            let (xn, xs) = (&self.norms[c0..c1], &self.slack[c0..c1]);
            for r in 0..rows {
                let grow = &g[r * (c1 - c0)..(r + 1) * (c1 - c0)];
                scan_tile_row(
                    &scan,
                    TileRow {
                        dots: grow,
                        norms: xn,
                        slack: xs,
                        first_col: c0,
                        query_norm: qn[r],
                        query_slack: qs[r],
                    },
                    (&mut tops[r], &mut thr[r], &mut cand[r]),
                );
            }
            c0 = c1;
        }
        cand.into_iter()
            .zip(thr)
            .map(|(c, t)| kept_columns(c, t))
            .collect()
    }

    /// The fixed part of a scan: the radius multiplier on the k-th score
    /// (squared for euclidean scores), rounded up.
    fn tile_scan(&self, need: &Need) -> TileScan {
        let mult = if self.cosine {
            need.factor
        } else {
            need.factor * need.factor
        };
        // f32 rounding of the multiplier, the product and the sum below must not shrink the radius
        let mult = (mult * (1.0 + 16.0 * U32)) as f32;
        TileScan {
            mult,
            k: need.k,
            cap: need.cap,
            cosine: self.cosine,
        }
    }

    /// [`Self::candidates`] of the fitted rows themselves, from half the dot
    /// products: their matrix is symmetric, so each square tile `(I, J)` with
    /// `I < J` is multiplied once and scanned twice, row by row for the rows
    /// of `I` and column by column for the rows of `J` (see
    /// [`scan_tile_columns`]). At 20,000 x 100 the GEMM was 0.8 of the
    /// search's 1.1 CPU-seconds.
    ///
    /// Tiles go to the threads from one queue, the diagonal ones first and
    /// then by distance from the diagonal (neighbours are often close in the
    /// input order, so thresholds tighten early). Each row block's state sits
    /// behind a lock, as two tiles can update it at once. The result does not
    /// depend on the order: a row's top scores are the smallest of all its
    /// upper bounds, its threshold only falls, and the final filter keeps
    /// exactly the columns whose lower bound is within the final threshold,
    /// sorted by column.
    fn self_candidates(&self, metric: &Metric<'_>, need: &Need) -> Vec<Vec<(usize, f64)>> {
        let (n, d) = (self.n, self.d);
        if self.x.iter().any(|v| !v.is_finite()) {
            return direct_candidates(metric, metric.x.view(), need);
        }
        let scan = self.tile_scan(need);
        let keep = need.nearest_kept();
        let tile = SELF_TILE;
        let blocks = n.div_ceil(tile);
        let range = |b: usize| (b * tile, ((b + 1) * tile).min(n));
        let states: Vec<Mutex<BlockState>> = (0..blocks)
            .map(|b| {
                let (r0, r1) = range(b);
                Mutex::new(BlockState::new(r1 - r0, keep))
            })
            .collect();
        let mut tiles = Vec::with_capacity(blocks * (blocks + 1) / 2);
        for off in 0..blocks {
            tiles.extend((0..blocks - off).map(|b| (b, b + off)));
        }
        let next = AtomicUsize::new(0);
        let workers = rayon::current_num_threads().clamp(1, tiles.len().max(1));
        (0..workers).into_par_iter().for_each(|_| {
            let mut dots = vec![0.0f32; tile * tile.min(n)];
            while let Some(&(bi, bj)) = tiles.get(next.fetch_add(1, Ordering::Relaxed)) {
                let ((r0, r1), (c0, c1)) = (range(bi), range(bj));
                let (rows, cols) = (r1 - r0, c1 - c0);
                let g = &mut dots[..rows * cols];
                gemm_f32_seq_into(
                    g,
                    &self.x[r0 * d..r1 * d],
                    rows,
                    &self.x[c0 * d..c1 * d],
                    cols,
                    d,
                );
                let g: &[f32] = g;
                self.scan_tile(&scan, g, (r0, rows), (c0, cols), &mut lock(&states[bi]));
                if bi != bj {
                    scan_tile_columns(
                        &scan,
                        TileColumns {
                            dots: g,
                            rows: (r0, rows),
                            cols: (c0, cols),
                            norms: &self.norms,
                            slack: &self.slack,
                        },
                        &mut lock(&states[bj]),
                    );
                }
            }
        });
        let parts: Vec<Vec<Vec<(usize, f64)>>> = states
            .into_par_iter()
            .enumerate()
            .map(|(b, state)| {
                let state = state.into_inner().unwrap_or_else(PoisonError::into_inner);
                let r0 = range(b).0;
                state
                    .cand
                    .into_iter()
                    .zip(state.thr)
                    .enumerate()
                    .map(|(r, (c, t))| {
                        with_exact_distances(metric, metric.x.row(r0 + r), kept_columns(c, t))
                    })
                    .collect()
            })
            .collect();
        parts.into_iter().flatten().collect()
    }

    /// Scans a `rows x cols` tile of dot products (row-major) for the fitted
    /// rows `r0..r0 + rows` against the columns `c0..c0 + cols`.
    fn scan_tile(
        &self,
        scan: &TileScan,
        dots: &[f32],
        (r0, rows): (usize, usize),
        (c0, cols): (usize, usize),
        state: &mut BlockState,
    ) {
        let (xn, xs) = (&self.norms[c0..c0 + cols], &self.slack[c0..c0 + cols]);
        for r in 0..rows {
            scan_tile_row(
                scan,
                TileRow {
                    dots: &dots[r * cols..(r + 1) * cols],
                    norms: xn,
                    slack: xs,
                    first_col: c0,
                    query_norm: self.norms[r0 + r],
                    query_slack: self.slack[r0 + r],
                },
                (&mut state.tops[r], &mut state.thr[r], &mut state.cand[r]),
            );
        }
    }
}

/// The columns among a row's candidates (column, lower bound) whose lower
/// bound is within the row's final threshold `t`, ascending (the row scan
/// finds them in that order already; the self-search in tile order).
fn kept_columns(cand: Vec<(usize, f32)>, t: f32) -> Vec<usize> {
    let mut cols: Vec<usize> = cand
        .into_iter()
        .filter(|&(_, lo)| lo <= t)
        .map(|(j, _)| j)
        .collect();
    cols.sort_unstable();
    cols
}

/// Exact distances from the prepared query row `q` to the fitted rows `cols`.
fn with_exact_distances(
    metric: &Metric<'_>,
    q: ArrayView1<'_, f64>,
    cols: Vec<usize>,
) -> Vec<(usize, f64)> {
    cols.into_iter()
        .map(|j| (j, metric.exact(q, metric.x.row(j))))
        .collect()
}

/// Side of the square tiles of the symmetric self-search: a 256 x 256 f32
/// tile (256 KiB) stays in a core's L2 cache between its two scans.
const SELF_TILE: usize = 256;

/// The search state of one block of rows: top scores, threshold, candidates
/// (column, lower bound) of each row.
struct BlockState {
    tops: Vec<TopK>,
    thr: Vec<f32>,
    cand: Vec<Vec<(usize, f32)>>,
}

impl BlockState {
    fn new(rows: usize, keep: usize) -> Self {
        Self {
            tops: (0..rows).map(|_| TopK::new(keep)).collect(),
            thr: vec![f32::INFINITY; rows],
            cand: vec![Vec::new(); rows],
        }
    }
}

/// Locks a block's state; a panic elsewhere cannot leave it half updated in
/// a way that matters here (the whole search unwinds), so poisoning is ignored.
fn lock(m: &Mutex<BlockState>) -> std::sync::MutexGuard<'_, BlockState> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What stays fixed while one query block scans the fitted rows.
struct TileScan {
    /// Radius multiplier on the k-th score, rounded up.
    mult: f32,
    k: usize,
    cap: Option<usize>,
    cosine: bool,
}

/// One query row against one tile of fitted rows.
struct TileRow<'a> {
    /// f32 dot products with the tile's rows.
    dots: &'a [f32],
    norms: &'a [f32],
    slack: &'a [f32],
    /// Column of the tile's first row.
    first_col: usize,
    query_norm: f32,
    query_slack: f32,
}

impl TileScan {
    /// Upper bound on the score a candidate may have and still be kept.
    fn threshold(&self, top: &TopK, slack: f32) -> f32 {
        let mut t = self.mult * top.get(self.k);
        if let Some(c) = self.cap {
            t = t.min(top.get(c - 1));
        }
        t + slack
    }
}

/// Scores per step of the tile scans: their lower bounds fill four AVX-512
/// registers, then a count of those within the threshold decides whether
/// any needs a closer look.
/// (Sixteen per step with an OR of comparisons compiled to a mix of 8-, 4-,
/// 2- and 1-wide operations, about 50 instructions per 16 scores.)
const SCAN_CHUNK: usize = 64;

/// Lower bounds of one query row's scores against a tile, [`SCAN_CHUNK`] at
/// a time (vectorised, with AVX-512 or AVX2 where the CPU has it); only a
/// chunk with a lower bound within the threshold is looked at element by
/// element, in order, updating the row's top scores, threshold and
/// candidates (`state`).
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2"))]
fn scan_tile_row(
    scan: &TileScan,
    row: TileRow<'_>,
    state: (&mut TopK, &mut f32, &mut Vec<(usize, f32)>),
) {
    let (top, t, cr) = state;
    let (qnr, qsr) = (row.query_norm, row.query_slack);
    let mut lo = [0.0f32; SCAN_CHUNK];
    let width = row.dots.len();
    let mut base = 0;
    while base < width {
        let len = (width - base).min(SCAN_CHUNK);
        let (gc, nc, sc) = (
            &row.dots[base..base + len],
            &row.norms[base..base + len],
            &row.slack[base..base + len],
        );
        let any = match (
            <&[f32; SCAN_CHUNK]>::try_from(gc),
            <&[f32; SCAN_CHUNK]>::try_from(nc),
            <&[f32; SCAN_CHUNK]>::try_from(sc),
        ) {
            (Ok(g), Ok(nrm), Ok(slack)) => {
                lower_bounds(g, nrm, slack, qnr, *t, scan.cosine, &mut lo)
            }
            _ => {
                // the last, short chunk: padded lanes get an infinite lower bound
                let mut g = [0.0f32; SCAN_CHUNK];
                let mut nrm = [0.0f32; SCAN_CHUNK];
                let mut slack = [f32::NEG_INFINITY; SCAN_CHUNK];
                g[..len].copy_from_slice(gc);
                nrm[..len].copy_from_slice(nc);
                slack[..len].copy_from_slice(sc);
                lower_bounds(&g, &nrm, &slack, qnr, *t, scan.cosine, &mut lo)
            }
        };
        if any {
            for l in 0..len {
                if lo[l] <= *t {
                    top.push(lo[l] + 2.0 * sc[l] + qsr);
                    *t = scan.threshold(top, qsr);
                    if lo[l] <= *t {
                        cr.push((row.first_col + base + l, lo[l]));
                    }
                }
            }
        }
        base += len;
    }
}

/// Lower bounds `lo` of [`SCAN_CHUNK`] scores from their dot products
/// (`score - slack`, the score being `|q|^2 + |x|^2 - 2 q.x`, or `1 - q.x`
/// for cosine); true when any is within `t`. Decided by a count of
/// comparisons, which vectorises (compare, mask, add); a minimum or an OR of
/// comparisons compiled to scalar or mixed-width code.
#[inline(always)]
fn lower_bounds(
    g: &[f32; SCAN_CHUNK],
    nrm: &[f32; SCAN_CHUNK],
    slack: &[f32; SCAN_CHUNK],
    qn: f32,
    t: f32,
    cosine: bool,
    lo: &mut [f32; SCAN_CHUNK],
) -> bool {
    if cosine {
        for l in 0..SCAN_CHUNK {
            lo[l] = (1.0 - g[l]) - slack[l];
        }
    } else {
        for l in 0..SCAN_CHUNK {
            lo[l] = (qn + nrm[l] - 2.0 * g[l]) - slack[l];
        }
    }
    let mut within = 0u32;
    for &v in lo.iter() {
        within += u32::from(v <= t);
    }
    within > 0
}

/// One tile read the other way round: its columns are the query rows (the
/// block of `state`), its rows the fitted rows they are scored against.
struct TileColumns<'a> {
    /// Row-major `rows.1 x cols.1` dot products.
    dots: &'a [f32],
    /// First fitted row and count of the tile's rows.
    rows: (usize, usize),
    /// First row and count of the query block (the tile's columns).
    cols: (usize, usize),
    /// Norms and slacks of all fitted rows.
    norms: &'a [f32],
    slack: &'a [f32],
}

/// [`scan_tile_row`] for every column of a tile at once, walking the tile row
/// by row so that no transpose is needed (a copy of each tile cost 0.13
/// CPU-seconds at 20,000 points): [`SCAN_CHUNK`] columns' lower bounds
/// against their own thresholds per step, and only a lane within its
/// threshold updates that query row's state. A query row meets the fitted
/// rows in increasing order, as in the row scan.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2"))]
fn scan_tile_columns(scan: &TileScan, tile: TileColumns<'_>, state: &mut BlockState) {
    let ((r0, rows), (c0, cols)) = (tile.rows, tile.cols);
    let (qn, qs) = (&tile.norms[c0..c0 + cols], &tile.slack[c0..c0 + cols]);
    let mut lo = [0.0f32; SCAN_CHUNK];
    for r in 0..rows {
        let i = r0 + r;
        let (ni, si) = (tile.norms[i], tile.slack[i]);
        let grow = &tile.dots[r * cols..(r + 1) * cols];
        let mut base = 0;
        while base < cols {
            let len = (cols - base).min(SCAN_CHUNK);
            let any = match (
                <&[f32; SCAN_CHUNK]>::try_from(&grow[base..base + len]),
                <&[f32; SCAN_CHUNK]>::try_from(&qn[base..base + len]),
                <&[f32; SCAN_CHUNK]>::try_from(&state.thr[base..base + len]),
            ) {
                (Ok(g), Ok(q), Ok(t)) => column_lower_bounds(g, q, ni, si, t, scan.cosine, &mut lo),
                _ => {
                    // the last, short chunk: padded lanes never pass (threshold -inf)
                    let mut g = [0.0f32; SCAN_CHUNK];
                    let mut q = [0.0f32; SCAN_CHUNK];
                    let mut t = [f32::NEG_INFINITY; SCAN_CHUNK];
                    g[..len].copy_from_slice(&grow[base..base + len]);
                    q[..len].copy_from_slice(&qn[base..base + len]);
                    t[..len].copy_from_slice(&state.thr[base..base + len]);
                    column_lower_bounds(&g, &q, ni, si, &t, scan.cosine, &mut lo)
                }
            };
            if any {
                for (q, &low) in (base..base + len).zip(&lo) {
                    if low <= state.thr[q] {
                        let top = &mut state.tops[q];
                        top.push(low + 2.0 * si + qs[q]);
                        state.thr[q] = scan.threshold(top, qs[q]);
                        if low <= state.thr[q] {
                            state.cand[q].push((i, low));
                        }
                    }
                }
            }
            base += len;
        }
    }
}

/// Lower bounds of [`SCAN_CHUNK`] query rows' scores against one fitted row
/// (norm `ni`, slack `si`); true when any is within its own threshold `t[l]`
/// (a count, as in [`lower_bounds`]).
#[inline(always)]
fn column_lower_bounds(
    g: &[f32; SCAN_CHUNK],
    qn: &[f32; SCAN_CHUNK],
    ni: f32,
    si: f32,
    t: &[f32; SCAN_CHUNK],
    cosine: bool,
    lo: &mut [f32; SCAN_CHUNK],
) -> bool {
    if cosine {
        for l in 0..SCAN_CHUNK {
            lo[l] = (1.0 - g[l]) - si;
        }
    } else {
        for l in 0..SCAN_CHUNK {
            lo[l] = (qn[l] + ni - 2.0 * g[l]) - si;
        }
    }
    let mut within = 0u32;
    for l in 0..SCAN_CHUNK {
        within += u32::from(lo[l] <= t[l]);
    }
    within > 0
}

/// Candidates from distances computed directly in f64 (any metric).
fn direct_candidates(
    metric: &Metric<'_>,
    queries: ArrayView2<'_, f64>,
    need: &Need,
) -> Vec<Vec<(usize, f64)>> {
    let n = metric.x.nrows();
    let block = 128usize;
    let starts: Vec<usize> = (0..queries.nrows()).step_by(block).collect();
    let parts: Vec<Vec<Vec<(usize, f64)>>> = starts
        .into_par_iter()
        .map(|start| {
            let end = (start + block).min(queries.nrows());
            let q = queries.slice(s![start..end, ..]);
            let dist: Array2<f64> = Array2::from_shape_fn((q.nrows(), n), |(i, j)| {
                metric.exact(q.row(i), metric.x.row(j))
            });
            dist.axis_iter(Axis(0))
                .map(|row| select_exact(row, need))
                .collect()
        })
        .collect();
    parts.into_iter().flatten().collect()
}

/// The needed columns of one row of exact distances.
pub(crate) fn select_exact(row: ArrayView1<'_, f64>, need: &Need) -> Vec<(usize, f64)> {
    let mut tmp: Vec<f64> = row.to_vec();
    let n = tmp.len();
    let kth = |v: &mut Vec<f64>, k: usize| -> f64 {
        let k = k.min(n - 1);
        *v.select_nth_unstable_by(k, f64::total_cmp).1
    };
    let mut r = kth(&mut tmp, need.k) * need.factor;
    if let Some(c) = need.cap {
        if c < n {
            r = r.min(kth(&mut tmp, c - 1));
        }
    }
    row.iter()
        .enumerate()
        .filter(|(_, &d)| d <= r)
        .map(|(j, &d)| (j, d))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule `tests/knn_search.rs::auto_uses_tree_and_agrees` relies on
    /// (it can only see that the kernels agree): the tree for euclidean or
    /// Minkowski data with few columns and many rows, brute force otherwise.
    #[test]
    fn auto_picks_the_tree_only_for_few_columns_and_many_rows() {
        use Distance::{Cosine, Euclidean, Minkowski};
        let (many, few) = (KDTREE_MIN_ROWS, KDTREE_MIN_ROWS - 1);
        assert_eq!(SearchMethod::auto(Euclidean, 2500, 3), SearchMethod::KdTree);
        assert_eq!(
            SearchMethod::auto(Euclidean, many, KDTREE_MAX_DIM),
            SearchMethod::KdTree
        );
        assert_eq!(
            SearchMethod::auto(Minkowski(1.0), many, 2),
            SearchMethod::KdTree
        );
        assert_eq!(
            SearchMethod::auto(Euclidean, few, 3),
            SearchMethod::BruteGemm
        );
        assert_eq!(
            SearchMethod::auto(Euclidean, many, KDTREE_MAX_DIM + 1),
            SearchMethod::BruteGemm
        );
        assert_eq!(
            SearchMethod::auto(Cosine, 10 * many, 3),
            SearchMethod::BruteGemm
        );
        assert_eq!(
            SearchMethod::auto(Minkowski(3.0), few, 3),
            SearchMethod::BruteDirect
        );
        assert_eq!(
            SearchMethod::auto(Minkowski(3.0), many, 100),
            SearchMethod::BruteDirect
        );
    }
}
