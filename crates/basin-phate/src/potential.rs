//! Diffusion powers `P^t` and the potential transform of phate
//! (`PHATE._calculate_potential`).
//!
//! Both operators are similar to a symmetric matrix: `P = D^-1 K =
//! D^(-1/2) A D^(1/2)` with `A = D^(-1/2) K D^(-1/2)`, and the landmark operator
//! is `Da^(-1/2) S Da^(1/2)` with `S = F F^T`. So `P^t = D^(-1/2) A^t D^(1/2)`,
//! and `A^t` is symmetric, which halves every dense product below:
//! - sparse `A` (exact path): `A^t` by t sparse products on blocks of
//!   [`BLOCK_COLS`] columns (each block stays in cache), most of them computed beside the
//!   spectrum before t is known; phate instead multiplies dense n x n
//!   matrices log2(t) times;
//! - `S` (landmarks): binary powers `S^(2^k)` by half GEMMs in single
//!   precision (see [`BinaryPowers`] for why that is accurate; products by
//!   `S` itself are sparse while `S` is), computed
//!   beside the singular values for t, which do not depend on them, then the
//!   product of those in t's binary expansion, as numpy's `matrix_power`.

use crate::linalg::{sym_product, sym_product_lower};
use crate::sparse::Csr;
use crate::sparse_dense::SparseRows32;
use ndarray::parallel::prelude::*;
use ndarray::{Array2, Axis};
use std::sync::atomic::{AtomicBool, Ordering};

/// `diag(d)^(-1/2) M diag(d)^(1/2)` in place (a zero row where `d` is not
/// positive): a power of a symmetric form back to the diffusion operator's,
/// and the landmark operator from its symmetric form.
pub(crate) fn unsymmetrize(m: &mut Array2<f64>, d: &[f64]) {
    let sq = sqrt_degrees(d);
    m.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(i, mut row)| {
            let inv = inv_or_zero(sq[i]);
            for (v, s) in row.iter_mut().zip(&sq) {
                *v *= inv * s;
            }
        });
}

/// `sqrt(max(d, 0))` of every degree.
fn sqrt_degrees(d: &[f64]) -> Vec<f64> {
    d.iter().map(|v| v.max(0.0).sqrt()).collect()
}

/// `1 / s`, or 0 for a row whose degree is not positive.
#[inline]
fn inv_or_zero(s: f64) -> f64 {
    if s > 0.0 {
        1.0 / s
    } else {
        0.0
    }
}

/// Rows and columns per tile of [`unsymmetrized_from_lower`].
const UNSYM_TILE: usize = 64;

/// [`unsymmetrize`] of the symmetric f32 matrix whose lower triangle
/// (diagonal included) `lower` holds (row-major `m x m`, the upper triangle
/// not read), into a new f64 matrix: the mirror, the conversion and the
/// scaling in one pass, by tiles so the transposed reads stay in cache. The
/// same arithmetic as mirroring, converting and then [`unsymmetrize`], so the
/// same bits.
fn unsymmetrized_from_lower(lower: &[f32], m: usize, d: &[f64]) -> Array2<f64> {
    let sq = sqrt_degrees(d);
    let mut out = Array2::<f64>::zeros((m, m));
    out.axis_chunks_iter_mut(Axis(0), UNSYM_TILE)
        .into_par_iter()
        .enumerate()
        .for_each(|(band, mut rows)| {
            let r0 = band * UNSYM_TILE;
            for c0 in (0..m).step_by(UNSYM_TILE) {
                let c1 = (c0 + UNSYM_TILE).min(m);
                for (di, mut row) in rows.axis_iter_mut(Axis(0)).enumerate() {
                    let i = r0 + di;
                    let inv = inv_or_zero(sq[i]);
                    for j in c0..c1 {
                        let v = if j <= i {
                            lower[i * m + j]
                        } else {
                            lower[j * m + i]
                        };
                        row[j] = f64::from(v) * (inv * sq[j]);
                    }
                }
            }
        });
    out
}

/// The landmark operator's symmetric form `S` and its binary powers `S^2,
/// S^4, ...`, in single precision.
///
/// Why f32 is enough here: `S` and all its powers are entrywise nonnegative,
/// so every entry of a product is a sum of nonnegative terms and comes out
/// with a small *relative* error (no cancellation), about sqrt(m) * 6e-8 per
/// product at worst m * 6e-8. The potential `-log(P^t + 1e-7)` turns a
/// relative error `e` of an entry into an absolute error below `e`, so the
/// potential moves by ~1e-5 at most, far below the seed-to-seed spread of the
/// embedding, while each product runs at twice the f64 rate. The exact path
/// (no landmarks), whose potential distances are checked against phate to
/// 1e-5, stays in f64.
///
/// While `S` itself is sparse (its nonzeros in `sparse`), the products with
/// `S` as a factor (`S^2`, and `S` times the rest of t's expansion when t is
/// odd) are sparse products ([`crate::sparse_dense`]); the later powers are
/// dense.
#[derive(Debug, Clone, Default)]
pub(crate) struct BinaryPowers {
    m: usize,
    s: Vec<f32>,
    sparse: Option<SparseRows32>,
    /// `S^2, S^4, ...` (row-major m x m each).
    pows: Vec<Vec<f32>>,
}

impl BinaryPowers {
    /// `S^2, S^4, ...` up to the largest power of two <= `up_to`, by half
    /// GEMMs (squares of a symmetric matrix are symmetric), the first by a
    /// sparse product when `sparse` (`S`'s nonzeros) is given.
    pub(crate) fn new(s: &Array2<f64>, sparse: Option<&SparseRows32>, up_to: usize) -> Self {
        let m = s.nrows();
        let mut p = Self {
            m,
            s: s.iter().map(|&v| v as f32).collect(),
            sparse: sparse.filter(|sp| sp.n() == m).cloned(),
            pows: Vec::new(),
        };
        p.extend(up_to);
        p
    }

    /// Squares the last power until the next power of two would exceed `up_to`.
    fn extend(&mut self, up_to: usize) {
        let m = self.m;
        while (2usize << self.pows.len()) <= up_to {
            let next = match (self.pows.last(), &self.sparse) {
                (None, Some(sp)) => sp.times_dense_transposed(&self.s, None),
                (last, _) => {
                    let last = last.unwrap_or(&self.s);
                    sym_product(last, last, m, m, 1.0f32)
                }
            };
            self.pows.push(next);
        }
    }

    /// `D^(-1/2) S^t D^(1/2)` (in f64): the product of the powers in t's binary
    /// expansion, as numpy's `matrix_power` forms it. Powers of one matrix
    /// commute, so every product is symmetric and a half GEMM.
    pub(crate) fn power(mut self, t: usize, d: &[f64]) -> Array2<f64> {
        let m = self.m;
        self.extend(t);
        if let (Some(sp), true, true) = (&self.sparse, t & 1 == 1, t > 1) {
            // S times the dense product of the other factors (S^(t-1))
            let rest = self.dense_product(t - 1);
            let st = sp.times_dense_transposed(&rest, None);
            return unsymmetrized_from_lower(&st, m, d);
        }
        let factors: Vec<&[f32]> = (0..=self.pows.len())
            .filter(|&k| t >> k & 1 == 1)
            .map(|k| {
                if k == 0 {
                    &self.s[..]
                } else {
                    &self.pows[k - 1][..]
                }
            })
            .collect();
        match factors.as_slice() {
            [] => {
                let mut st = Array2::eye(m);
                unsymmetrize(&mut st, d);
                st
            }
            [only] => {
                let mut st =
                    Array2::from_shape_vec((m, m), only.iter().map(|&v| f64::from(v)).collect())
                        .unwrap_or_else(|_| Array2::zeros((m, m)));
                unsymmetrize(&mut st, d);
                st
            }
            [first, middle @ .., last] => {
                // every product but the last mirrored (the next one reads
                // whole rows); the last straight from its lower triangle
                let mut acc: Option<Vec<f32>> = None;
                for p in middle {
                    let a = acc.as_deref().unwrap_or(first);
                    acc = Some(sym_product(a, p, m, m, 1.0f32));
                }
                let a = acc.as_deref().unwrap_or(first);
                unsymmetrized_from_lower(&sym_product_lower(a, last, m, m, 1.0f32), m, d)
            }
        }
    }
}

impl BinaryPowers {
    /// `S^t` (whole, row-major) for an even `t >= 2` whose powers of two
    /// are all computed: the product of those in t's binary expansion.
    fn dense_product(&self, t: usize) -> Vec<f32> {
        let m = self.m;
        let mut factors = (1..=self.pows.len())
            .filter(|&k| t >> k & 1 == 1)
            .map(|k| &self.pows[k - 1][..]);
        let first = factors.next().unwrap_or(&self.s[..]);
        let mut acc: Option<Vec<f32>> = None;
        for p in factors {
            let a = acc.as_deref().unwrap_or(first);
            acc = Some(sym_product(a, p, m, m, 1.0f32));
        }
        acc.unwrap_or_else(|| first.to_vec())
    }
}

/// Columns per block of the exact path's sparse powers. Each nonzero of a row
/// adds its scaled row of the block into the row's accumulators, one chain of
/// additions per lane; with 32 lanes (four AVX-512 registers) each step of the
/// chain does twice the work of 16 at the same latency, and the block (n x 32
/// f64, 512 KiB at 2,000 points) still stays in L2. Every entry sums the same
/// terms in the same order whatever the width, so the bits do not depend on it.
const BLOCK_COLS: usize = 32;

/// One block's rows.
type BlockRows = Vec<[f64; BLOCK_COLS]>;

/// The identity columns `c0..c0 + BLOCK_COLS` (fewer at the end) as n rows.
fn identity_block(n: usize, c0: usize) -> BlockRows {
    let mut x = vec![[0.0f64; BLOCK_COLS]; n];
    for l in 0..BLOCK_COLS.min(n - c0) {
        x[c0 + l][l] = 1.0;
    }
    x
}

/// `x <- A^steps x` for a block of [`BLOCK_COLS`] columns (`y` is scratch of the same
/// length), with AVX-512 or AVX2 where the CPU has it; same bits either way,
/// and however the steps are split between calls.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2"))]
fn advance_block(a: &Csr, x: &mut BlockRows, y: &mut BlockRows, steps: usize) {
    for _ in 0..steps {
        for (i, yi) in y.iter_mut().enumerate() {
            let (cols, vals) = a.row(i);
            let mut acc = [0.0f64; BLOCK_COLS];
            for (&j, &v) in cols.iter().zip(vals) {
                let xj = &x[j];
                for l in 0..BLOCK_COLS {
                    acc[l] += v * xj[l];
                }
            }
            *yi = acc;
        }
        std::mem::swap(x, y);
    }
}

/// Column blocks of `A^j`, computed before t is known: on the exact path the
/// spectrum that t comes from ends in ~0.2 s of single-threaded bulge
/// chasing and QL at 2,000 points, and the other core spends it here.
/// Block `b` (the `b`-th [`BLOCK_COLS`] columns) holds `A^depth` of its identity
/// columns. The blocks are taken to [`SPECULATIVE_DEPTH`] steps one after
/// the other, then all of them [`SPECULATIVE_ROUND`] steps further per round
/// (up to [`SPECULATIVE_MAX_DEPTH`]) until the spectrum is done; a block that
/// turns out deeper than t is recomputed, so the result never depends on how
/// far this got.
#[derive(Debug, Default)]
pub(crate) struct SpeculativePowers {
    blocks: Vec<(usize, BlockRows)>,
}

/// Steps each block is taken in the first pass: below the t that the entropy
/// knee picks on most data (44 to 64 on gen_dla at 2,000 to 10,000 points).
const SPECULATIVE_DEPTH: usize = 16;

/// Steps added to every block per later round. At 2,000 points one step of
/// all 63 blocks takes ~8 ms on one core, and the first pass ends well before
/// the spectrum; rounds keep the blocks at equal depth, so no block is left
/// far behind when t arrives (the rest is split over both cores). The price:
/// when speculation passes t, every block starts again from the identity
/// (on gen_dla at 2,000 points it reaches 28 to 36 for t = 44).
const SPECULATIVE_ROUND: usize = 4;

/// No block goes deeper than this ahead of t (phate's `t_max` is 100).
const SPECULATIVE_MAX_DEPTH: usize = 100;

impl SpeculativePowers {
    /// Powers of the sparse symmetric `a`, on this thread, until `stop`.
    pub(crate) fn compute(a: &Csr, stop: &AtomicBool) -> Self {
        let n = a.nrows();
        let mut blocks: Vec<(usize, BlockRows)> = Vec::new();
        let mut y = vec![[0.0f64; BLOCK_COLS]; n];
        let stopped = || stop.load(Ordering::Relaxed);
        'first: for c0 in (0..n).step_by(BLOCK_COLS) {
            let mut x = identity_block(n, c0);
            for depth in 0..SPECULATIVE_DEPTH {
                if stopped() {
                    if depth > 0 {
                        blocks.push((depth, x));
                    }
                    break 'first;
                }
                advance_block(a, &mut x, &mut y, 1);
            }
            blocks.push((SPECULATIVE_DEPTH, x));
        }
        if blocks.len() < n.div_ceil(BLOCK_COLS) {
            return Self { blocks };
        }
        let mut target = SPECULATIVE_DEPTH;
        'rounds: while target < SPECULATIVE_MAX_DEPTH {
            target = (target + SPECULATIVE_ROUND).min(SPECULATIVE_MAX_DEPTH);
            for (depth, x) in &mut blocks {
                while *depth < target {
                    if stopped() {
                        break 'rounds;
                    }
                    advance_block(a, x, &mut y, 1);
                    *depth += 1;
                }
            }
        }
        Self { blocks }
    }
}

/// `P^t = D^(-1/2) A^t D^(1/2)` for the sparse symmetric `A` with degrees `d`,
/// continuing from `ahead` where it got (see [`SpeculativePowers`]): every
/// column block of `A^t` by sparse products, in parallel. At 2,000 points
/// (t = 44) this took 0.14 s against 0.21-0.26 s for `A^(t/2)` by sparse
/// products and then one dense half GEMM, before speculation went past 16.
pub(crate) fn power_sparse(a: &Csr, d: &[f64], t: usize, ahead: SpeculativePowers) -> Array2<f64> {
    let n = a.nrows();
    let blocks: Vec<usize> = (0..n).step_by(BLOCK_COLS).collect();
    let mut ahead: Vec<Option<(usize, BlockRows)>> = ahead.blocks.into_iter().map(Some).collect();
    ahead.resize_with(blocks.len(), || None);
    // column blocks of A^t, in parallel (each block is independent)
    let parts: Vec<BlockRows> = blocks
        .par_iter()
        .zip(ahead.into_par_iter())
        .map(|(&c0, ahead)| {
            let (done, mut x) = match ahead {
                Some((depth, x)) if depth <= t => (depth, x),
                _ => (0, identity_block(n, c0)),
            };
            let mut y = vec![[0.0f64; BLOCK_COLS]; n];
            advance_block(a, &mut x, &mut y, t - done);
            x
        })
        .collect();
    // the blocks' rows into P^t's rows, scaled as `unsymmetrize` does
    let sq = sqrt_degrees(d);
    let mut pt = Array2::<f64>::zeros((n, n));
    pt.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(i, mut row)| {
            let inv = inv_or_zero(sq[i]);
            for (b, part) in blocks.iter().zip(&parts) {
                for l in 0..BLOCK_COLS.min(n - b) {
                    row[b + l] = part[i][l] * (inv * sq[b + l]);
                }
            }
        });
    pt
}

/// phate's potential: `-log(P^t + 1e-7)` for gamma = 1, `P^t` for gamma = -1,
/// else `(P^t)^c / c` with `c = (1 - gamma) / 2`.
pub(crate) fn potential(mut pt: Array2<f64>, gamma: f64) -> Array2<f64> {
    if gamma == 1.0 {
        pt.par_mapv_inplace(|v| -(v + 1e-7).ln());
    } else if gamma == -1.0 {
    } else {
        let c = (1.0 - gamma) / 2.0;
        pt.par_mapv_inplace(|v| v.powf(c) / c);
    }
    pt
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A landmark-like operator: `F` nonnegative and sparse (m x 4m, a few
    /// entries per column), `S = Da^-1/2 C Db^-1 C^T Da^-1/2`.
    fn landmark_like(m: usize, seed: u64) -> (Array2<f64>, Vec<f64>) {
        let n = 4 * m;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut c = Array2::<f64>::zeros((m, n));
        for j in 0..n {
            let home = j % m;
            for _ in 0..4 {
                let near = (home + rng.random_range(0..7)) % m;
                c[[near, j]] += rng.random::<f64>();
            }
        }
        let da: Vec<f64> = c.rows().into_iter().map(|r| r.sum()).collect();
        let db: Vec<f64> = c.columns().into_iter().map(|col| col.sum()).collect();
        let f = Array2::from_shape_fn((m, n), |(a, i)| c[[a, i]] / (da[a] * db[i]).sqrt());
        (f.dot(&f.t()), da)
    }

    /// The exact path's `P^t` has the same bits whether none, some or all of
    /// its column blocks were computed ahead, and when they went deeper than
    /// t (recomputed).
    #[test]
    fn speculative_powers_do_not_change_the_bits() {
        let n = 100;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut dense = Array2::<f64>::zeros((n, n));
        for i in 0..n {
            for _ in 0..4 {
                let j = (i + rng.random_range(0..9)) % n;
                let v: f64 = rng.random();
                dense[[i, j]] += v;
                dense[[j, i]] += v;
            }
        }
        let rows = dense
            .rows()
            .into_iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .filter(|(_, v)| **v != 0.0)
                    .map(|(j, v)| (j, *v))
                    .collect()
            })
            .collect();
        let (a, d) = Csr::from_rows(n, rows).sym_normalized();
        for t in [6, 41] {
            let plain = power_sparse(&a, &d, t, SpeculativePowers::default());
            let all = SpeculativePowers::compute(&a, &AtomicBool::new(false));
            assert_eq!(all.blocks.len(), n.div_ceil(BLOCK_COLS));
            let mut some = SpeculativePowers::compute(&a, &AtomicBool::new(false));
            some.blocks.truncate(3);
            some.blocks[2] = (5, {
                let mut x = identity_block(n, 2 * BLOCK_COLS);
                advance_block(&a, &mut x, &mut vec![[0.0; BLOCK_COLS]; n], 5);
                x
            });
            // a block past the first pass but short of t (split 17 + 3)
            some.blocks[1] = (20, {
                let mut x = identity_block(n, BLOCK_COLS);
                advance_block(&a, &mut x, &mut vec![[0.0; BLOCK_COLS]; n], 17);
                advance_block(&a, &mut x, &mut vec![[0.0; BLOCK_COLS]; n], 3);
                x
            });
            assert!(all.blocks.iter().all(|b| b.0 == SPECULATIVE_MAX_DEPTH));
            let none = SpeculativePowers::compute(&a, &AtomicBool::new(true));
            assert!(none.blocks.is_empty());
            for ahead in [all, some, none] {
                let got = power_sparse(&a, &d, t, ahead);
                assert!(
                    got.iter()
                        .zip(plain.iter())
                        .all(|(x, y)| x.to_bits() == y.to_bits()),
                    "t = {t}"
                );
            }
            // and it is P^t: D^(-1/2) A^t D^(1/2) by dense products, rows
            // summing to 1
            let ad = a.to_dense();
            let mut reference = Array2::<f64>::eye(n);
            for _ in 0..t {
                reference = reference.dot(&ad);
            }
            unsymmetrize(&mut reference, &d);
            let worst = plain
                .iter()
                .zip(reference.iter())
                .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
            assert!(worst < 1e-13, "t = {t}: max |diff| {worst:e}");
            for r in plain.rows() {
                assert!((r.sum() - 1.0).abs() < 1e-12);
            }
        }
    }

    /// The single-precision binary powers give `P^t` within the relative
    /// error the nonnegativity argument promises, and the potential within
    /// 1e-5, against f64 repeated multiplication: by half GEMMs only, and
    /// with the products by `S` sparse (odd and even t, t = 1 and a power of
    /// two among them).
    #[test]
    fn single_precision_powers_are_accurate_entrywise() {
        let m = 300;
        let (s, da) = landmark_like(m, 5);
        let sparse =
            SparseRows32::from_dense_if_sparse(&s, crate::sparse_dense::SPARSE_MAX_DENSITY);
        assert!(sparse.is_some(), "the test operator is sparse enough");
        for (t, sp) in [1, 6, 16, 20, 53]
            .into_iter()
            .flat_map(|t| [(t, None), (t, sparse.as_ref())])
            .chain([
                (2, sparse.as_ref()),
                (33, sparse.as_ref()),
                (25, sparse.as_ref()),
            ])
        {
            let ours = BinaryPowers::new(&s, sp, 16).power(t, &da);
            let mut reference = Array2::<f64>::eye(m);
            for _ in 0..t {
                reference = reference.dot(&s);
            }
            unsymmetrize(&mut reference, &da);
            let mut worst_rel = 0.0f64;
            let mut worst_pot = 0.0f64;
            for (a, b) in ours.iter().zip(reference.iter()) {
                if *b > 1e-30 {
                    worst_rel = worst_rel.max((a - b).abs() / b);
                }
                worst_pot = worst_pot.max(((a + 1e-7).ln() - (b + 1e-7).ln()).abs());
            }
            let how = if sp.is_some() { "sparse" } else { "dense" };
            assert!(
                worst_rel < 1e-4,
                "t = {t} {how}: relative error {worst_rel:e}"
            );
            assert!(
                worst_pot < 1e-5,
                "t = {t} {how}: potential error {worst_pot:e}"
            );
            // rows of P^t are probability distributions
            for row in ours.rows() {
                assert!((row.sum() - 1.0).abs() < 1e-5);
            }
        }
    }
}
