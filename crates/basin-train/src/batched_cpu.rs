//! The CPU engine of [`crate::jump_and_retrain_batched`]: K jumps of one
//! plain MLP retrained side by side with hand-written forward and backward
//! passes on buffers allocated once.
//!
//! Why not candle here: after the fused kernels a digits-MLP step is a
//! handful of small matrix products, and candle's autograd adds, per step,
//! a fresh tensor for every intermediate and gradient (with a zero-filled
//! accumulator for each), a gradient for the input batch that nobody needs,
//! and one set of evaluation passes per jump. This engine instead
//!
//! * trains the jumps independently (each jump's step is a few faer matrix
//!   products into its own preallocated buffers), spread over rayon's
//!   threads one jump per task, so the products themselves stay
//!   single-threaded and no thread spins inside a tiny product;
//! * evaluates all live jumps on the same rows at once: the first layer of
//!   every jump is one product `X · [W₁ … W_K]ᵀ` (an `N × K·h` output, far
//!   better use of the caches and FMA units than K products of width `h`),
//!   then each jump's remaining layers read their columns in place.
//!
//! The arithmetic is the sequential path's (same loss, gradients, SGD
//! update, batch order per jump) up to float rounding: products are summed
//! in another order. Results do not depend on the number of threads (each
//! product runs on one thread; per-chunk sums are reduced in a fixed order).

use basin_data::Dataset;
use faer::MatRef;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::dense::{gemm, view, view_mut};
use crate::error::{invalid, TrainResult};
use crate::eval::{gather_rows, Metrics};
use crate::fused::relu_mask;
use crate::model::ParamInfo;
use crate::optim::{momentum_step, param_step, SgdConfig};

/// Rows per evaluation chunk: the chunk's first-layer output for 16 jumps
/// of width 64 (256 kB) stays in L2.
const EVAL_ROWS: usize = 64;

/// `z[r, :] += b` for every row of a `rows × b.len()` block, then ReLU when `relu`.
#[inline]
fn add_bias(z: &mut [f32], b: &[f32], relu: bool) {
    // Two loops rather than a test per value: each vectorises.
    if relu {
        for row in z.chunks_exact_mut(b.len()) {
            row.iter_mut().zip(b).for_each(|(v, &bb)| {
                let s = *v + bb;
                // A compare and select, not `f32::max` (which also tests for NaN).
                *v = if s > 0.0 { s } else { 0.0 };
            });
        }
    } else {
        for row in z.chunks_exact_mut(b.len()) {
            row.iter_mut().zip(b).for_each(|(v, &bb)| *v += bb);
        }
    }
}

/// `eˣ` for `x ≤ 0` (arguments shifted by their row maximum), within
/// 3·10⁻⁷ relative of the true value, 0 below −87, NaN for NaN.
///
/// Why not `f32::exp`: the softmax of every step and evaluation calls it
/// once per logit, and libm's scalar call was a fifth of the engine's time;
/// this form (`2ᵏ·eʳ`, `r = x − k·ln 2` in two parts, a degree-6 Taylor
/// polynomial for `|r| ≤ ln2/2`, `2ᵏ` built from the exponent bits, round to
/// nearest with the 1.5·2²³ trick) has no branch or call, so loops over a
/// block of logits vectorise.
#[inline]
fn exp_nonpositive(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2²³
    let xc = x.max(-87.0);
    let shifted = xc * LOG2E + ROUND;
    let k = shifted - ROUND;
    // k is an integer in [−126, 0]: it sits in the low mantissa bits of `shifted`.
    let k_int = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    let r = (xc - k * LN2_HI) - k * LN2_LO;
    // Estrin's scheme: a shorter dependency chain than Horner's.
    let r2 = r * r;
    let p01 = 1.0 + r;
    let p23 = 0.5 + r * (1.0 / 6.0);
    let p45 = 1.0 / 24.0 + r * (1.0 / 120.0);
    let p6 = 1.0 / 720.0;
    let p = p01 + r2 * (p23 + r2 * (p45 + r2 * p6));
    let two_k = f32::from_bits(k_int.wrapping_add(127) << 23);
    // `+ (x − x)` keeps a NaN argument NaN (the clamp above drops it).
    #[allow(clippy::eq_op)]
    let e = p * two_k + (x - x);
    if x < -87.0 {
        0.0
    } else {
        e
    }
}

/// Softmax pieces of a `rows × c` block of logits: `e` gets `exp(z − max)`
/// per row, `sums` the row sums and `maxes` the row maxima.
#[inline]
fn shifted_exp(z: &[f32], c: usize, e: &mut [f32], sums: &mut [f32], maxes: &mut [f32]) {
    for ((row, er), m) in z.chunks_exact(c).zip(e.chunks_exact_mut(c)).zip(maxes.iter_mut()) {
        *m = row.iter().fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
        er.iter_mut().zip(row).for_each(|(a, &v)| *a = v - *m);
    }
    let n = sums.len() * c;
    e[..n].iter_mut().for_each(|v| *v = exp_nonpositive(*v));
    for (s, er) in sums.iter_mut().zip(e.chunks_exact(c)) {
        *s = er.iter().sum();
    }
}

/// Sum of the cross-entropy losses and number of correct rows of a
/// `rows × c` block of logits; `e`, `sums`, `maxes` are scratch.
#[inline]
fn loss_and_correct(
    z: &[f32],
    c: usize,
    y: &[u32],
    e: &mut [f32],
    sums: &mut [f32],
    maxes: &mut [f32],
) -> (f64, usize) {
    let rows = y.len();
    shifted_exp(&z[..rows * c], c, e, &mut sums[..rows], &mut maxes[..rows]);
    let (mut loss, mut correct) = (0.0f64, 0usize);
    for (((row, &label), &s), &m) in z.chunks_exact(c).zip(y).zip(sums.iter()).zip(maxes.iter()) {
        let label = label as usize;
        loss += f64::from(m + s.ln() - row[label]);
        correct += usize::from(argmax(row) == label);
    }
    (loss, correct)
}

/// Index of the first largest value (NaN never wins).
#[inline]
fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// One jump: its parameters, momentum, batch order and work buffers.
pub(crate) struct Jump {
    /// Layer widths `n₀ (input), n₁, …, classes`.
    widths: Vec<usize>,
    /// Weights per layer, PyTorch layout `out × in`.
    w: Vec<Vec<f32>>,
    /// Biases per layer.
    b: Vec<Vec<f32>>,
    /// Momentum buffers of `w` and `b`.
    mw: Vec<Vec<f32>>,
    mb: Vec<Vec<f32>>,
    /// Gradients of `w` and `b` for the current batch.
    gw: Vec<Vec<f32>>,
    gb: Vec<Vec<f32>>,
    /// Input batch (`B × n₀`) and labels.
    x: Vec<f32>,
    y: Vec<u32>,
    /// Outputs per layer (`B × n_{l+1}`): ReLU'd for hidden layers, logits last.
    act: Vec<Vec<f32>>,
    /// Gradient of the loss with respect to each layer's pre-activation output.
    delta: Vec<Vec<f32>>,
    /// Softmax row sums and maxima of the batch.
    sums: Vec<f32>,
    maxes: Vec<f32>,
    order_rng: ChaCha8Rng,
    order: Vec<usize>,
    /// `false` once a logged point diverged: the jump is no longer trained.
    pub(crate) alive: bool,
}

impl Jump {
    /// A jump starting at the flattened weights `theta` (the documented
    /// order, described by `layout`) of an MLP with `widths`.
    pub(crate) fn new(
        widths: &[usize],
        layout: &[ParamInfo],
        theta: &[f32],
        batch_size: usize,
        order_rng: ChaCha8Rng,
    ) -> TrainResult<Self> {
        let layers = widths.len() - 1;
        let piece = |name: String, len: usize| -> TrainResult<Vec<f32>> {
            let p = layout.iter().find(|p| p.name == name).ok_or_else(|| invalid("model", format!("no `{name}`")))?;
            if p.len() != len {
                return Err(invalid("model", format!("`{name}` has {} values, expected {len}", p.len())));
            }
            Ok(theta[p.offset..p.offset + len].to_vec())
        };
        let mut w = Vec::with_capacity(layers);
        let mut b = Vec::with_capacity(layers);
        for l in 0..layers {
            w.push(piece(format!("fc{l}.weight"), widths[l + 1] * widths[l])?);
            b.push(piece(format!("fc{l}.bias"), widths[l + 1])?);
        }
        let zeros_like = |v: &[Vec<f32>]| v.iter().map(|t| vec![0.0f32; t.len()]).collect::<Vec<_>>();
        let per_layer = |f: &dyn Fn(usize) -> usize| (0..layers).map(|l| vec![0.0f32; f(l)]).collect::<Vec<_>>();
        Ok(Self {
            widths: widths.to_vec(),
            mw: zeros_like(&w),
            mb: zeros_like(&b),
            gw: zeros_like(&w),
            gb: zeros_like(&b),
            w,
            b,
            x: vec![0.0; batch_size * widths[0]],
            y: vec![0; batch_size],
            act: per_layer(&|l| batch_size * widths[l + 1]),
            delta: per_layer(&|l| batch_size * widths[l + 1]),
            sums: vec![0.0; batch_size],
            maxes: vec![0.0; batch_size],
            order_rng,
            order: Vec::new(),
            alive: true,
        })
    }

    /// The flattened weights in the documented order.
    pub(crate) fn flat_weights(&self, layout: &[ParamInfo], n: usize) -> Vec<f32> {
        let mut out = vec![0.0f32; n];
        for p in layout {
            let src = p.name.strip_prefix("fc").and_then(|rest| {
                let (l, kind) = rest.split_once('.')?;
                let l: usize = l.parse().ok()?;
                match kind {
                    "weight" => self.w.get(l),
                    "bias" => self.b.get(l),
                    _ => None,
                }
            });
            if let Some(src) = src {
                out[p.offset..p.offset + p.len()].copy_from_slice(src);
            }
        }
        out
    }

    /// One pass over `data` in this jump's next batch order.
    pub(crate) fn train_epoch(&mut self, data: &Dataset, batch_size: usize, sgd: SgdConfig) {
        let n = data.len();
        self.order.clear();
        self.order.extend(0..n);
        self.order.shuffle(&mut self.order_rng);
        let order = std::mem::take(&mut self.order);
        for idx in order.chunks(batch_size) {
            self.step(data, idx, sgd);
        }
        self.order = order;
    }

    /// Forward, backward and SGD update on rows `idx`.
    #[inline]
    fn step(&mut self, data: &Dataset, idx: &[usize], sgd: SgdConfig) {
        let rows = idx.len();
        let layers = self.w.len();
        let wd = &self.widths;
        gather_rows(data, idx, &mut self.x, &mut self.y);
        // Forward: act[l] = relu(act[l-1] · W_lᵀ + b_l), logits last.
        for l in 0..layers {
            let (before, rest) = self.act.split_at_mut(l);
            let input: &[f32] = if l == 0 { &self.x } else { &before[l - 1] };
            let out = &mut rest[0];
            gemm(
                view_mut(out, rows, wd[l + 1]),
                view(input, rows, wd[l]),
                view(&self.w[l], wd[l + 1], wd[l]).transpose(),
                false,
            );
            add_bias(&mut out[..rows * wd[l + 1]], &self.b[l], l + 1 < layers);
        }
        // Loss gradient: (softmax − one-hot) / B, as the fused cross-entropy.
        let c = wd[layers];
        #[allow(clippy::cast_precision_loss)]
        let inv_n = 1.0 / rows as f32;
        let top = &mut self.delta[layers - 1];
        shifted_exp(&self.act[layers - 1][..rows * c], c, top, &mut self.sums[..rows], &mut self.maxes[..rows]);
        for ((g, &label), &s) in top.chunks_exact_mut(c).zip(&self.y[..rows]).zip(&self.sums) {
            let scale = inv_n / s;
            g.iter_mut().for_each(|v| *v *= scale);
            g[label as usize] -= inv_n;
        }
        // Backward: dW_l = δ_lᵀ · act[l-1], db_l = Σ_rows δ_l,
        // δ_{l-1} = (δ_l · W_l) ⊙ [act[l-1] > 0]; no gradient for the input.
        for l in (0..layers).rev() {
            let input: &[f32] = if l == 0 { &self.x } else { &self.act[l - 1] };
            let delta = &self.delta[l];
            gemm(
                view_mut(&mut self.gw[l], wd[l + 1], wd[l]),
                view(delta, rows, wd[l + 1]).transpose(),
                view(input, rows, wd[l]),
                false,
            );
            let gb = &mut self.gb[l];
            gb.iter_mut().for_each(|v| *v = 0.0);
            for row in delta[..rows * wd[l + 1]].chunks_exact(wd[l + 1]) {
                gb.iter_mut().zip(row).for_each(|(a, &v)| *a += v);
            }
            if l > 0 {
                let (lower, upper) = self.delta.split_at_mut(l);
                let below = &mut lower[l - 1];
                gemm(
                    view_mut(below, rows, wd[l]),
                    view(&upper[0], rows, wd[l + 1]),
                    view(&self.w[l], wd[l + 1], wd[l]),
                    false,
                );
                let a = &self.act[l - 1];
                relu_mask(&mut below[..rows * wd[l]], a);
            }
        }
        for l in 0..layers {
            // The arithmetic of `SgdMomentum`'s CPU kernels, tensor by tensor.
            momentum_step(&mut self.mw[l], &self.gw[l], &self.w[l], sgd);
            param_step(&mut self.w[l], &self.mw[l], &self.gw[l], sgd);
            momentum_step(&mut self.mb[l], &self.gb[l], &self.b[l], sgd);
            param_step(&mut self.b[l], &self.mb[l], &self.gb[l], sgd);
        }
    }
}

/// Work buffers of one chunk of evaluation rows, kept between calls so
/// that evaluating every epoch allocates nothing.
#[derive(Default)]
pub(crate) struct EvalScratch {
    x: Vec<f32>,
    y: Vec<u32>,
    idx: Vec<usize>,
    /// First-layer outputs of all jumps, `rows × K·h₁`.
    h: Vec<f32>,
    /// One jump's outputs of the later layers.
    later: Vec<Vec<f32>>,
    /// One jump's logits when they are columns of `h` (no hidden layer).
    z: Vec<f32>,
    e: Vec<f32>,
    sums: Vec<f32>,
    maxes: Vec<f32>,
    /// `(loss sum, correct rows)` per jump.
    out: Vec<(f64, usize)>,
}

/// What [`evaluate_all`] keeps between calls: per-chunk buffers and the
/// stacked first layers, so that evaluating every epoch allocates nothing.
#[derive(Default)]
pub(crate) struct Evaluator {
    chunks: Vec<EvalScratch>,
    w0: Vec<f32>,
    b0: Vec<f32>,
}

/// Loss and accuracy of every jump in `jumps` on each of `sets`, evaluated
/// together: per chunk of rows, the first layers of all jumps are one
/// product `X · [W₁ … W_K]ᵀ`. Chunks run in parallel; their sums are added
/// in chunk order, so the result does not depend on the thread count.
pub(crate) fn evaluate_all(jumps: &[&Jump], sets: &[&Dataset], ev: &mut Evaluator) -> Vec<Vec<Metrics>> {
    let Some(first) = jumps.first() else {
        return vec![Vec::new(); sets.len()];
    };
    let widths = &first.widths;
    let (d, h1) = (widths[0], widths[1]);
    let layers = widths.len() - 1;
    let c = widths[layers];
    let k = jumps.len();
    // [W₁ … W_K] stacked as one (K·h₁) × d matrix, biases likewise.
    let Evaluator { chunks: scratch, w0, b0 } = ev;
    w0.clear();
    b0.clear();
    for j in jumps {
        w0.extend_from_slice(&j.w[0]);
        b0.extend_from_slice(&j.b[0]);
    }
    let (w0, b0) = (&*w0, &*b0);
    sets.iter()
        .map(|data| {
            let n = data.len();
            let n_chunks = n.div_ceil(EVAL_ROWS);
            if scratch.len() < n_chunks {
                scratch.resize_with(n_chunks, EvalScratch::default);
            }
            scratch[..n_chunks].par_iter_mut().enumerate().for_each(|(ci, sc)| {
                let start = ci * EVAL_ROWS;
                let rows = (start + EVAL_ROWS).min(n) - start;
                sc.idx.clear();
                sc.idx.extend(start..start + rows);
                gather_rows(data, &sc.idx, &mut sc.x, &mut sc.y);
                sc.h.resize(rows * k * h1, 0.0);
                gemm(view_mut(&mut sc.h, rows, k * h1), view(&sc.x, rows, d), view(w0, k * h1, d).transpose(), false);
                add_bias(&mut sc.h, b0, layers > 1);
                sc.later.resize_with(layers - 1, Vec::new);
                for (l, buf) in sc.later.iter_mut().enumerate() {
                    buf.resize(rows * widths[l + 2], 0.0);
                }
                sc.e.resize(rows * c, 0.0);
                sc.sums.resize(rows, 0.0);
                sc.maxes.resize(rows, 0.0);
                sc.out.clear();
                for (ji, j) in jumps.iter().enumerate() {
                    // Jump ji's first-layer output: columns ji·h₁.. of h (row stride K·h₁).
                    for l in 1..layers {
                        let (done, rest) = sc.later.split_at_mut(l - 1);
                        let input = match done.last() {
                            Some(prev) => view(prev, rows, widths[l]),
                            None => MatRef::from_row_major_slice_with_stride(&sc.h[ji * h1..], rows, h1, k * h1),
                        };
                        let out = &mut rest[0];
                        let w = view(&j.w[l], widths[l + 1], widths[l]).transpose();
                        gemm(view_mut(out, rows, widths[l + 1]), input, w, false);
                        add_bias(out, &j.b[l], l + 1 < layers);
                    }
                    let z: &[f32] = if let Some(last) = sc.later.last() {
                        last
                    } else {
                        sc.z.clear();
                        for r in 0..rows {
                            let at = r * k * h1 + ji * h1;
                            sc.z.extend_from_slice(&sc.h[at..at + c]);
                        }
                        &sc.z
                    };
                    sc.out.push(loss_and_correct(z, c, &sc.y, &mut sc.e, &mut sc.sums, &mut sc.maxes));
                }
            });
            #[allow(clippy::cast_precision_loss)]
            let nf = n as f64;
            (0..k)
                .map(|ji| {
                    let (loss, correct) = scratch[..n_chunks]
                        .iter()
                        .fold((0.0f64, 0usize), |(l, c), sc| (l + sc.out[ji].0, c + sc.out[ji].1));
                    #[allow(clippy::cast_precision_loss)]
                    Metrics { loss: loss / nf, accuracy: correct as f64 / nf }
                })
                .collect()
        })
        .collect()
}

/// Trains every live jump for one epoch, one jump per rayon task.
pub(crate) fn train_epoch_all(jumps: &mut [Jump], data: &Dataset, batch_size: usize, sgd: SgdConfig) {
    jumps.par_iter_mut().filter(|j| j.alive).for_each(|j| j.train_epoch(data, batch_size, sgd));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_nonpositive_is_within_3e7_of_exp() {
        let mut worst = 0.0f64;
        for i in 0..=870_000 {
            let x = -f64::from(i) * 1e-4;
            #[allow(clippy::cast_possible_truncation)]
            let xf = x as f32;
            let exact = f64::from(xf).exp();
            let rel = (f64::from(exp_nonpositive(xf)) - exact).abs() / exact;
            worst = worst.max(rel);
        }
        assert!(worst < 3e-7, "largest relative error {worst}");
        assert!(worst > 0.0);
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(-88.0), 0.0);
        assert_eq!(exp_nonpositive(f32::NEG_INFINITY), 0.0);
        assert!(exp_nonpositive(f32::NAN).is_nan());
    }

    #[test]
    fn loss_and_correct_match_the_definition() {
        // Two rows of three logits, labels 2 and 0.
        let z = [1.0f32, 2.0, 3.0, 0.5, 0.25, -1.0];
        let (mut e, mut s, mut m) = (vec![0.0; 6], vec![0.0; 2], vec![0.0; 2]);
        let (loss, correct) = loss_and_correct(&z, 3, &[2, 0], &mut e, &mut s, &mut m);
        let ce = |row: &[f32], y: usize| {
            let lse = row.iter().map(|&v| f64::from(v).exp()).sum::<f64>().ln();
            lse - f64::from(row[y])
        };
        assert!((loss - (ce(&z[..3], 2) + ce(&z[3..], 0))).abs() < 1e-6, "{loss}");
        assert_eq!(correct, 2);
    }
}
