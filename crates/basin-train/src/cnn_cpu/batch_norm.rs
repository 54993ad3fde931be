//! BatchNorm in training mode across the chunks: batch statistics forward,
//! the scale's and shift's gradient sums backward, each added in chunk order.

use rayon::prelude::*;

use super::{BnState, Chunk, Ctx, Grid, Layer};
use crate::fused::relu_mask;
use crate::model::BN_EPS;

/// `1/√(var + ε)`, BatchNorm's scale.
#[allow(clippy::cast_possible_truncation)]
pub(super) fn inv_std(var: f64) -> f32 {
    (1.0 / (var + BN_EPS).sqrt()) as f32
}

/// The batch mean and biased variance of each channel of activation `i`
/// (two passes, f64 sums per chunk added in chunk order), as the statistics
/// `bn` normalises with.
pub(super) fn batch_statistics(chunks: &mut [Chunk], i: usize, grid: Grid, bn: &mut BnState) {
    let c = grid.c;
    bn.count = chunks.iter().map(|ch| ch.rows).sum::<usize>() * grid.h * grid.w;
    #[allow(clippy::cast_precision_loss)]
    let count = bn.count as f64;
    let pixels = grid.h * grid.w;
    chunks.par_iter_mut().for_each(|ch| channel_sums(&ch.acts[i], c, pixels, None, &mut ch.sums));
    #[allow(clippy::cast_possible_truncation)]
    {
        bn.mean = reduce_sums(chunks, c).into_iter().map(|s| (s / count) as f32).collect();
    }
    let mean = &bn.mean;
    chunks.par_iter_mut().for_each(|ch| channel_sums(&ch.acts[i], c, pixels, Some(mean), &mut ch.sums));
    bn.batch_var = reduce_sums(chunks, c).into_iter().map(|s| s / count).collect();
    bn.inv_std = bn.batch_var.iter().map(|&v| inv_std(v)).collect();
}

/// Per-channel sums of `x` (channels last, images of `pixels` pixels), or
/// of `(x − mean)²`: f32 within an image (short sums that vectorise), f64
/// across images.
fn channel_sums(x: &[f32], c: usize, pixels: usize, mean: Option<&[f32]>, out: &mut Vec<f64>) {
    out.clear();
    out.resize(c, 0.0);
    let mut part = vec![0.0f32; c];
    for img in x.chunks_exact(c * pixels) {
        part.fill(0.0);
        for px in img.chunks_exact(c) {
            match mean {
                None => part.iter_mut().zip(px).for_each(|(s, &v)| *s += v),
                Some(m) => part.iter_mut().zip(px).zip(m).for_each(|((s, &v), &m)| *s += (v - m) * (v - m)),
            }
        }
        out.iter_mut().zip(&part).for_each(|(o, &p)| *o += f64::from(p));
    }
}

fn reduce_sums(chunks: &[Chunk], c: usize) -> Vec<f64> {
    let mut total = vec![0.0f64; c];
    for ch in chunks {
        total.iter_mut().zip(&ch.sums).for_each(|(t, s)| *t += s);
    }
    total
}

impl Ctx<'_> {
    /// First half of BatchNorm's backward (training mode) on one chunk:
    /// `Σ g·x̂` and `Σ g` per channel, the chunk's share of the scale's and
    /// shift's gradients (f32 within an image, f64 across images).
    pub(super) fn batch_norm_partial_sums(&self, layer: &Layer, i: usize, ch: &mut Chunk) {
        let Layer::BatchNorm { param, bn, grid, relu } = *layer else { return };
        let (s, c) = (&self.bns[bn], grid.c);
        if relu {
            relu_mask(&mut ch.grad, &ch.acts[i + 1]);
        }
        let (mut dg, mut db) = (vec![0.0f64; c], vec![0.0f64; c]);
        let (mut pg, mut pb) = (vec![0.0f32; c], vec![0.0f32; c]);
        let image = c * grid.h * grid.w;
        for (gi, xi) in ch.grad.chunks_exact(image).zip(ch.acts[i].chunks_exact(image)) {
            pg.fill(0.0);
            pb.fill(0.0);
            for (gp, xp) in gi.chunks_exact(c).zip(xi.chunks_exact(c)) {
                for ((((a, b), &g), &x), (&m, &is)) in
                    pg.iter_mut().zip(pb.iter_mut()).zip(gp).zip(xp).zip(s.mean.iter().zip(&s.inv_std))
                {
                    *a += g * ((x - m) * is);
                    *b += g;
                }
            }
            dg.iter_mut().zip(&pg).for_each(|(d, &p)| *d += f64::from(p));
            db.iter_mut().zip(&pb).for_each(|(d, &p)| *d += f64::from(p));
        }
        #[allow(clippy::cast_possible_truncation)]
        {
            ch.w_grad[param] = dg.iter().map(|&v| v as f32).collect();
            ch.b_grad[param] = db.iter().map(|&v| v as f32).collect();
        }
    }

    /// Second half, from the batch's summed `dgamma` and `dbeta`:
    /// `dx = γ/σ · (g − dβ/N − x̂·dγ/N)` into `ch.grad_in`.
    pub(super) fn batch_norm_input_grad(&self, layer: &Layer, i: usize, ch: &mut Chunk, dgamma: &[f32], dbeta: &[f32]) {
        let Layer::BatchNorm { param, bn, grid, .. } = *layer else { return };
        let (s, c) = (&self.bns[bn], grid.c);
        #[allow(clippy::cast_precision_loss)]
        let inv_count = 1.0 / s.count as f32;
        // Per channel: a = γ/σ, b = dβ/N, e = dγ/N, so dx = a·(g − b − (x − mean)·σ⁻¹·e).
        let a: Vec<f32> = self.params[param].w.iter().zip(&s.inv_std).map(|(&g, &is)| g * is).collect();
        let b: Vec<f32> = dbeta.iter().map(|&v| v * inv_count).collect();
        let e: Vec<f32> = dgamma.iter().zip(&s.inv_std).map(|(&v, &is)| v * inv_count * is).collect();
        ch.grad_in.clear();
        ch.grad_in.resize(ch.grad.len(), 0.0);
        for ((o, gp), xp) in ch.grad_in.chunks_exact_mut(c).zip(ch.grad.chunks_exact(c)).zip(ch.acts[i].chunks_exact(c)) {
            for (((((o, &g), &x), &m), &a), (&b, &e)) in
                o.iter_mut().zip(gp).zip(xp).zip(&s.mean).zip(&a).zip(b.iter().zip(&e))
            {
                *o = a * (g - b - (x - m) * e);
            }
        }
    }
}
