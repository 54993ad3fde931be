//! A hand-written training step for CNNs on the CPU: forward pass,
//! cross-entropy and backward pass outside candle's autograd.
//!
//! Why: on the MNIST benchmark CNN, candle's graph spent half the step on
//! bookkeeping rather than arithmetic — every node's gradient accumulated as
//! a zero tensor plus the incoming one (20 % of samples), the layout copies
//! of `N × H × W × C` ↔ `N × C × H × W` permutes (10 %), fresh zeroed
//! allocations (11 %) — and the products themselves took under a fifth.
//! Here activations stay channels-last (`N × H × W × C`), so a convolution's
//! output rows are the next layer's pixels with no transpose; patches are
//! copied as runs of `C` contiguous channels; buffers are reused from step
//! to step; and the products run in faer.
//!
//! Threads: the batch is cut into chunks of [`CHUNK_IMAGES`] images. Layer
//! by layer, the chunks run in parallel on rayon's threads; a BatchNorm in
//! training mode adds its per-chunk sums (batch statistics forward, the
//! scale's and shift's gradients backward) in chunk order, and the chunks'
//! parameter gradients are summed in chunk order. The bits depend on that
//! constant, never on the thread count.
//!
//! Covered: every net compiled from [`crate::Layers::Cnn`] (strided
//! convolutions or average pooling, residual blocks, BatchNorm with
//! PyTorch's running-statistics update). MLPs, and any program this module
//! does not recognise, get `None` from [`CnnStep::new`] and train through
//! candle.

use candle_core::{Storage, Tensor, Var};
use rayon::prelude::*;

use batch_norm::{batch_statistics, inv_std};
use compile::Compiler;
use kernels::{
    affine, avg_pool, avg_pool_backward, chw_to_hwc, col2im, hwc_to_chw, im2col, parameter_grads, relu_in_place,
    score, softmax_cross_entropy, to_channels_last,
};

use crate::dense::{gemm, view, view_mut};
use crate::error::{TrainError, TrainResult};
use crate::fused::{f32_slice, relu_mask};
use crate::model::{Model, Op, BN_MOMENTUM};
use crate::optim::SgdMomentum;

/// Images per chunk of the batch (see the module documentation).
pub(crate) const CHUNK_IMAGES: usize = 32;

/// Rows per evaluation round (bounds the buffers: every chunk of a round
/// keeps its activations).
const EVAL_ROWS: usize = 8 * CHUNK_IMAGES;

/// One image's activation grid, channels last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Grid {
    h: usize,
    w: usize,
    c: usize,
}

impl Grid {
    fn len(self) -> usize {
        self.h * self.w * self.c
    }
}

/// One step of the compiled forward program: layer `i` reads activation `i`
/// and writes activation `i + 1`. `param` indexes [`CnnStep::params`],
/// `bn` [`CnnStep::bns`]; `relu` marks a ReLU fused onto the output.
#[derive(Debug, Clone)]
enum Layer {
    /// 3×3 convolution, padding 1.
    Conv { param: usize, input: Grid, output: Grid, stride: usize, relu: bool },
    /// BatchNorm over every axis but the channels.
    BatchNorm { param: usize, bn: usize, grid: Grid, relu: bool },
    /// Adds activation `from` (a residual block's input) to this layer's input.
    AddSkip { from: usize, grid: Grid, relu: bool },
    /// 2×2 average pool (an odd last row or column is dropped, as PyTorch does).
    AvgPool { input: Grid, output: Grid },
    /// Channels-last grid to the `C × H × W` feature order candle's flatten gives.
    Flatten { input: Grid },
    /// `x Wᵀ + b`, `k` inputs, `m` outputs.
    Linear { param: usize, k: usize, m: usize, relu: bool },
}

impl Layer {
    /// Values per image of this layer's output.
    fn output_len(&self) -> usize {
        match *self {
            Layer::Conv { output, .. } | Layer::AvgPool { output, .. } => output.len(),
            Layer::BatchNorm { grid, .. } | Layer::AddSkip { grid, .. } => grid.len(),
            Layer::Flatten { input } => input.len(),
            Layer::Linear { m, .. } => m,
        }
    }

    fn relu_mut(&mut self) -> Option<&mut bool> {
        match self {
            Layer::Conv { relu, .. }
            | Layer::BatchNorm { relu, .. }
            | Layer::AddSkip { relu, .. }
            | Layer::Linear { relu, .. } => Some(relu),
            Layer::AvgPool { .. } | Layer::Flatten { .. } => None,
        }
    }
}

/// A layer's parameters: names in the model, and this step's values
/// (convolution weights reordered to `c_out × (ky, kx, c_in)`, the patch
/// column order; a BatchNorm's scale and shift).
#[derive(Debug)]
struct Param {
    weight: String,
    bias: String,
    /// `Some(c_in)` for a convolution (its weight is reordered).
    conv_c_in: Option<usize>,
    /// Values of the weight and the bias the compiled layer expects.
    sizes: (usize, usize),
    w: Vec<f32>,
    b: Vec<f32>,
    /// The weight as read, before reordering (a convolution's).
    raw: Vec<f32>,
    /// This step's weight and bias gradients, in the model's layouts.
    w_grad: Vec<f32>,
    b_grad: Vec<f32>,
}

/// A BatchNorm layer's statistics: the running ones (buffers of the model)
/// and the ones this pass normalises with (the batch's in training, the
/// running ones in evaluation).
#[derive(Debug)]
struct BnState {
    running_mean_name: String,
    running_var_name: String,
    running_mean: Vec<f32>,
    running_var: Vec<f32>,
    mean: Vec<f32>,
    inv_std: Vec<f32>,
    /// The batch's biased variance (training), for the running update.
    batch_var: Vec<f64>,
    /// Values per channel in the batch (training).
    count: usize,
}

/// Buffers of one chunk of the batch, reused from step to step.
#[derive(Debug, Default)]
struct Chunk {
    /// Images in this chunk.
    rows: usize,
    /// `acts[0]` the input (channels last), `acts[i + 1]` layer `i`'s output.
    acts: Vec<Vec<f32>>,
    /// Patches of each convolution layer (empty for other layers).
    patches: Vec<Vec<f32>>,
    grad: Vec<f32>,
    grad_in: Vec<f32>,
    patch_grad: Vec<f32>,
    /// Gradient waiting for a residual block's input (from its skip).
    skip_grad: Vec<f32>,
    /// Per-channel partial sums for BatchNorm statistics.
    sums: Vec<f64>,
    /// Per parameter: this chunk's weight and bias gradients.
    w_grad: Vec<Vec<f32>>,
    b_grad: Vec<Vec<f32>>,
    /// Sum of the chunk's cross-entropy terms.
    loss: f64,
}

/// The hand-written training step of a CNN (see the module docs).
#[derive(Debug)]
pub(crate) struct CnnStep {
    input: Grid,
    n_classes: usize,
    layers: Vec<Layer>,
    params: Vec<Param>,
    bns: Vec<BnState>,
    /// `skip_into[i]`: activation `i` is a residual block's input.
    skip_into: Vec<bool>,
    chunks: Vec<Chunk>,
}

impl CnnStep {
    /// Compiles the model's program, or `None` when this step does not cover
    /// it (no convolution, not on the CPU, an unexpected program).
    pub(crate) fn new(model: &Model) -> Option<Self> {
        if !model.device().is_cpu() {
            return None;
        }
        let program = model.program();
        let Some(Op::ToImage { c, h, w }) = program.first() else { return None };
        let input = Grid { h: *h, w: *w, c: *c };
        let mut cc =
            Compiler { model, grid: input, width: None, layers: Vec::new(), params: Vec::new(), bns: Vec::new() };
        for op in &program[1..] {
            cc.op(op)?;
        }
        let n_classes = model.architecture().n_classes;
        // The passes assume a convolution first: it needs no input gradient,
        // and a BatchNorm there would have no statistics barrier before it.
        if cc.width != Some(n_classes) || !matches!(cc.layers.first(), Some(Layer::Conv { .. })) {
            return None;
        }
        let mut skip_into = vec![false; cc.layers.len() + 1];
        for l in &cc.layers {
            if let Layer::AddSkip { from, .. } = l {
                skip_into[*from] = true;
            }
        }
        Some(Self { input, n_classes, layers: cc.layers, params: cc.params, bns: cc.bns, skip_into, chunks: Vec::new() })
    }

    /// One SGD step on the batch `x` (`labels.len()` rows of the model's
    /// input, as [`Model::forward`] takes them), BatchNorm in training mode:
    /// the gradient of the mean cross-entropy, then `opt`'s update; the
    /// running statistics are updated as [`Model::forward`] does. Returns the
    /// batch's mean loss.
    ///
    /// # Errors
    /// [`TrainError::Data`] for a label out of range or a batch of the wrong
    /// width; candle errors when reading or writing the parameters.
    pub(crate) fn step(&mut self, model: &Model, opt: &mut SgdMomentum, x: &[f32], labels: &[u32]) -> TrainResult<f64> {
        let loss = self.loss_and_gradients(model, x, labels)?;
        let mut grads = Vec::with_capacity(2 * self.params.len());
        for p in &self.params {
            grads.push((model.param(&p.weight)?, p.w_grad.as_slice()));
            grads.push((model.param(&p.bias)?, p.b_grad.as_slice()));
        }
        opt.step_slices(&grads)?;
        Ok(loss)
    }

    /// The batch's mean cross-entropy; every parameter's gradient is left in
    /// [`Param::w_grad`] / [`Param::b_grad`] in the model's layouts (BatchNorm
    /// in training mode; its running statistics are updated).
    ///
    /// # Errors
    /// As [`CnnStep::step`].
    pub(crate) fn loss_and_gradients(&mut self, model: &Model, x: &[f32], labels: &[u32]) -> TrainResult<f64> {
        self.check_batch(x, labels)?;
        let n = labels.len();
        if let Some(Layer::BatchNorm { grid, .. }) =
            self.layers.iter().find(|l| matches!(l, Layer::BatchNorm { grid, .. } if n * grid.h * grid.w < 2))
        {
            return Err(batch_error(format!(
                "BatchNorm needs more than one value per channel in training mode ({n} rows of {}×{})",
                grid.h, grid.w
            )));
        }
        self.load(model)?;
        let used = n.div_ceil(CHUNK_IMAGES);
        self.forward(x, used, true);
        self.update_running_statistics(model)?;
        self.backward(labels, used);
        #[allow(clippy::cast_precision_loss)]
        let loss = self.chunks[..used].iter().map(|c| c.loss).sum::<f64>() / n as f64;
        self.sum_gradients(used);
        Ok(loss)
    }

    /// Summed cross-entropy and the number of correct predictions (largest
    /// logit, the first on ties) over the rows `x` with `labels`, BatchNorm
    /// in evaluation mode, in rounds of [`EVAL_ROWS`] rows; checks as
    /// [`CnnStep::step`].
    ///
    /// # Errors
    /// As [`CnnStep::step`].
    pub(crate) fn loss_sum_and_correct(&mut self, model: &Model, x: &[f32], labels: &[u32]) -> TrainResult<(f64, usize)> {
        self.check_batch(x, labels)?;
        self.load(model)?;
        for bn in &mut self.bns {
            bn.mean.clone_from(&bn.running_mean);
            bn.inv_std = bn.running_var.iter().map(|&v| inv_std(f64::from(v))).collect();
        }
        let d = self.input.len();
        let (mut loss, mut correct) = (0.0f64, 0usize);
        let last = self.layers.len();
        let classes = self.n_classes;
        for (xs, ys) in x.chunks(EVAL_ROWS * d).zip(labels.chunks(EVAL_ROWS)) {
            let used = ys.len().div_ceil(CHUNK_IMAGES);
            self.forward(xs, used, false);
            let results: Vec<(f64, usize)> = self.chunks[..used]
                .par_iter()
                .zip(ys.par_chunks(CHUNK_IMAGES))
                .map(|(ch, y)| score(&ch.acts[last], y, classes))
                .collect();
            for (l, c) in results {
                loss += l;
                correct += c;
            }
        }
        Ok((loss, correct))
    }

    fn check_batch(&self, x: &[f32], labels: &[u32]) -> TrainResult<()> {
        let n = labels.len();
        let d = self.input.len();
        if n == 0 || x.len() != n * d {
            return Err(batch_error(format!("{} values for {n} rows of {d} features", x.len())));
        }
        if let Some((row, &l)) = labels.iter().enumerate().find(|(_, &l)| l as usize >= self.n_classes) {
            return Err(batch_error(format!("row {row} has label {l}, the net has {} classes", self.n_classes)));
        }
        Ok(())
    }

    /// Copies this step's parameters and running statistics out of the model.
    fn load(&mut self, model: &Model) -> TrainResult<()> {
        for p in &mut self.params {
            p.load(model)?;
        }
        for bn in &mut self.bns {
            read_var(model.buffer(&bn.running_mean_name)?, &mut bn.running_mean)?;
            read_var(model.buffer(&bn.running_var_name)?, &mut bn.running_var)?;
        }
        Ok(())
    }

    /// Forward pass of the rows `x` over the first `used` chunks. Each chunk
    /// runs its layers on one thread; in training, the chunks meet before
    /// every BatchNorm, which first adds up its batch statistics in chunk
    /// order (one parallel segment per stretch between BatchNorms, one in
    /// all for a net without them: few thread hand-offs, and a chunk's
    /// activations stay in its core's cache from layer to layer).
    fn forward(&mut self, x: &[f32], used: usize, train: bool) {
        if self.chunks.len() < used {
            // Buffers of chunks a smaller batch leaves idle (an epoch's last)
            // are kept, so the next full batch allocates nothing.
            self.chunks.resize_with(used, Chunk::default);
        }
        let Self { input, layers, params, bns, chunks, .. } = self;
        let chunks = &mut chunks[..used];
        let (input, d) = (*input, input.len());
        let n_layers = layers.len();
        let is_barrier = |k: usize| train && matches!(layers[k], Layer::BatchNorm { .. });
        let mut start = 0;
        loop {
            let end = (start + 1..n_layers).find(|&k| is_barrier(k)).unwrap_or(n_layers);
            let ctx = Ctx { params, bns };
            chunks.par_iter_mut().zip(x.par_chunks(CHUNK_IMAGES * d)).for_each(|(ch, x)| {
                if start == 0 {
                    ch.rows = x.len() / d;
                    ch.acts.resize_with(n_layers + 1, Vec::new);
                    ch.patches.resize_with(n_layers, Vec::new);
                    ch.w_grad.resize_with(ctx.params.len(), Vec::new);
                    ch.b_grad.resize_with(ctx.params.len(), Vec::new);
                    to_channels_last(x, ch.rows, input, &mut ch.acts[0]);
                }
                for (k, layer) in layers.iter().enumerate().take(end).skip(start) {
                    ctx.forward(layer, k, ch);
                }
            });
            if end == n_layers {
                break;
            }
            if let Layer::BatchNorm { bn, grid, .. } = layers[end] {
                batch_statistics(chunks, end, grid, &mut bns[bn]);
            }
            start = end;
        }
    }

    /// Cross-entropy and backward pass, in parallel segments as the
    /// forward's: a BatchNorm's scale and shift gradients are summed over the
    /// chunks in chunk order before its input gradient is formed.
    fn backward(&mut self, labels: &[u32], used: usize) {
        let Self { layers, params, bns, skip_into, chunks, n_classes, .. } = self;
        let chunks = &mut chunks[..used];
        let ctx = Ctx { params, bns };
        let n_layers = layers.len();
        let batch = labels.len();
        let classes = *n_classes;
        // Gradient of layer `k`'s output to that of its input.
        let finish = |ch: &mut Chunk, k: usize| {
            if k > 0 {
                std::mem::swap(&mut ch.grad, &mut ch.grad_in);
                if skip_into[k] {
                    ch.grad.iter_mut().zip(&ch.skip_grad).for_each(|(g, s)| *g += s);
                }
            }
        };
        let mut top = n_layers; // this segment runs layers below `top`
        let mut pending: Option<(usize, Vec<f32>, Vec<f32>)> = None; // a BatchNorm's summed gradients
        loop {
            let stop = (0..top).rev().find(|&k| matches!(layers[k], Layer::BatchNorm { .. }));
            let low = stop.map_or(0, |b| b + 1);
            chunks.par_iter_mut().zip(labels.par_chunks(CHUNK_IMAGES)).for_each(|(ch, y)| {
                match &pending {
                    None => ch.loss = softmax_cross_entropy(&ch.acts[n_layers], y, classes, batch, &mut ch.grad),
                    Some((b, dgamma, dbeta)) => {
                        if *b > 0 {
                            ctx.batch_norm_input_grad(&layers[*b], *b, ch, dgamma, dbeta);
                            finish(ch, *b);
                        }
                    }
                }
                for k in (low..top).rev() {
                    ctx.backward(&layers[k], k, ch, k > 0);
                    finish(ch, k);
                }
                if let Some(b) = stop {
                    ctx.batch_norm_partial_sums(&layers[b], b, ch);
                }
            });
            let Some(b) = stop else { break };
            let Layer::BatchNorm { param, .. } = layers[b] else { unreachable!("stop is a BatchNorm") };
            let (mut dgamma, mut dbeta) = (Vec::new(), Vec::new());
            chunk_sum_into(chunks, param, &mut dgamma, &mut dbeta);
            pending = Some((b, dgamma, dbeta));
            top = b;
        }
    }

    /// Writes the running statistics `Model::forward` would after this
    /// training batch: `(1 − m)·running + m·batch`, the variance unbiased.
    fn update_running_statistics(&mut self, model: &Model) -> TrainResult<()> {
        #[allow(clippy::cast_possible_truncation)]
        for bn in &self.bns {
            #[allow(clippy::cast_precision_loss)]
            let unbias = bn.count as f64 / (bn.count - 1) as f64;
            let m = BN_MOMENTUM;
            let mean: Vec<f32> = bn
                .running_mean
                .iter()
                .zip(&bn.mean)
                .map(|(&r, &b)| ((1.0 - m) * f64::from(r) + m * f64::from(b)) as f32)
                .collect();
            let var: Vec<f32> = bn
                .running_var
                .iter()
                .zip(&bn.batch_var)
                .map(|(&r, &b)| ((1.0 - m) * f64::from(r) + m * unbias * b) as f32)
                .collect();
            for (name, v) in [(&bn.running_mean_name, mean), (&bn.running_var_name, var)] {
                let buf = model.buffer(name)?;
                buf.set(&Tensor::from_vec(v, buf.shape(), buf.device())?)?;
            }
        }
        Ok(())
    }

    /// Sums the chunks' gradients in chunk order into each parameter's
    /// gradient buffers, in the model's layouts (the buffers are reused:
    /// fresh multi-megabyte gradients every step cost page faults).
    fn sum_gradients(&mut self, used: usize) {
        let chunks = &self.chunks[..used];
        for (j, p) in self.params.iter_mut().enumerate() {
            match p.conv_c_in {
                Some(c_in) => {
                    // `raw` is free once the step's weights are reordered.
                    chunk_sum_into(chunks, j, &mut p.raw, &mut p.b_grad);
                    p.w_grad.resize(p.raw.len(), 0.0);
                    patch_order_to_model(&p.raw, c_in, &mut p.w_grad);
                }
                None => chunk_sum_into(chunks, j, &mut p.w_grad, &mut p.b_grad),
            }
        }
    }
}

/// Parameter `j`'s weight and bias gradients summed over the chunks in
/// chunk order, into `w` and `b`.
fn chunk_sum_into(chunks: &[Chunk], j: usize, w: &mut Vec<f32>, b: &mut Vec<f32>) {
    w.clone_from(&chunks[0].w_grad[j]);
    b.clone_from(&chunks[0].b_grad[j]);
    for c in &chunks[1..] {
        w.iter_mut().zip(&c.w_grad[j]).for_each(|(a, g)| *a += g);
        b.iter_mut().zip(&c.b_grad[j]).for_each(|(a, g)| *a += g);
    }
}

fn batch_error(reason: String) -> TrainError {
    TrainError::Data { dataset: "batch".into(), reason }
}

impl Param {
    fn new(weight: String, bias: String, conv_c_in: Option<usize>, sizes: (usize, usize)) -> Self {
        Self {
            weight,
            bias,
            conv_c_in,
            sizes,
            w: Vec::new(),
            b: Vec::new(),
            raw: Vec::new(),
            w_grad: Vec::new(),
            b_grad: Vec::new(),
        }
    }

    /// Copies this step's values out of the model.
    ///
    /// # Errors
    /// A parameter missing, of another size than compiled (a different
    /// model than the step was built for), or not f32 on the CPU.
    fn load(&mut self, model: &Model) -> TrainResult<()> {
        let into = if self.conv_c_in.is_some() { &mut self.raw } else { &mut self.w };
        read_var(model.param(&self.weight)?, into)?;
        read_var(model.param(&self.bias)?, &mut self.b)?;
        if let Some(c_in) = self.conv_c_in {
            self.w.resize(self.raw.len(), 0.0);
            model_order_to_patch(&self.raw, c_in, &mut self.w);
        }
        let got_w = if self.conv_c_in.is_some() { self.raw.len() } else { self.w.len() };
        for (name, got, want) in [(&self.weight, got_w, self.sizes.0), (&self.bias, self.b.len(), self.sizes.1)] {
            if got != want {
                return Err(TrainError::InvalidParameter {
                    name: "model",
                    reason: format!("`{name}` has {got} values, the step was built for {want} (another model?)"),
                });
            }
        }
        Ok(())
    }
}

fn read_var(var: &Var, out: &mut Vec<f32>) -> TrainResult<()> {
    let (storage, layout) = var.storage_and_layout();
    let Storage::Cpu(s) = &*storage else {
        return Err(TrainError::InvalidParameter { name: "device", reason: "the CNN step runs on the CPU".into() });
    };
    out.clear();
    out.extend_from_slice(f32_slice(s, layout, "parameter")?);
    Ok(())
}

/// `c_out × c_in × 3 × 3` (the model's layout) to `c_out × 3 × 3 × c_in`
/// (`out` as long as `w`).
fn model_order_to_patch(w: &[f32], c_in: usize, out: &mut [f32]) {
    for (src, dst) in w.chunks_exact(9 * c_in).zip(out.chunks_exact_mut(9 * c_in)) {
        for ci in 0..c_in {
            for t in 0..9 {
                dst[t * c_in + ci] = src[ci * 9 + t];
            }
        }
    }
}

/// Inverse of [`model_order_to_patch`].
fn patch_order_to_model(w: &[f32], c_in: usize, out: &mut [f32]) {
    for (src, dst) in w.chunks_exact(9 * c_in).zip(out.chunks_exact_mut(9 * c_in)) {
        for ci in 0..c_in {
            for t in 0..9 {
                dst[ci * 9 + t] = src[t * c_in + ci];
            }
        }
    }
}

/// What a layer's chunk-parallel work reads: this step's parameters and
/// BatchNorm statistics.
struct Ctx<'a> {
    params: &'a [Param],
    bns: &'a [BnState],
}

impl Ctx<'_> {
    /// Layer `i` on one chunk: activation `i` (and a skip's source) to `i + 1`.
    fn forward(&self, layer: &Layer, i: usize, ch: &mut Chunk) {
        let n = ch.rows;
        let (before, after) = ch.acts.split_at_mut(i + 1);
        let (x, out) = (&before[i], &mut after[0]);
        out.clear();
        out.resize(n * layer.output_len(), 0.0);
        let relu = match *layer {
            Layer::Conv { param, input, output, stride, relu } => {
                let p = &self.params[param];
                let patches = &mut ch.patches[i];
                im2col(x, n, input, output, stride, patches);
                affine(out, patches, &p.w, &p.b, n * output.h * output.w, 9 * input.c, output.c);
                relu
            }
            Layer::BatchNorm { param, bn, grid, relu } => {
                let (p, s) = (&self.params[param], &self.bns[bn]);
                // y = (x − mean)·γ/σ + β as one multiply-add per value.
                let scale: Vec<f32> = s.inv_std.iter().zip(&p.w).map(|(&is, &g)| is * g).collect();
                let shift: Vec<f32> = p.b.iter().zip(&s.mean).zip(&scale).map(|((&b, &m), &a)| b - m * a).collect();
                for (o, px) in out.chunks_exact_mut(grid.c).zip(x.chunks_exact(grid.c)) {
                    for (((o, &v), &a), &b) in o.iter_mut().zip(px).zip(&scale).zip(&shift) {
                        *o = v * a + b;
                    }
                }
                relu
            }
            Layer::AddSkip { from, relu, .. } => {
                out.iter_mut().zip(x).zip(&before[from]).for_each(|((o, &a), &b)| *o = a + b);
                relu
            }
            Layer::AvgPool { input, output } => {
                avg_pool(x, n, input, output, out);
                false
            }
            Layer::Flatten { input } => {
                for (src, dst) in x.chunks_exact(input.len()).zip(out.chunks_exact_mut(input.len())) {
                    hwc_to_chw(src, dst, input);
                }
                false
            }
            Layer::Linear { param, k, m, relu } => {
                let p = &self.params[param];
                affine(out, x, &p.w, &p.b, n, k, m);
                relu
            }
        };
        if relu {
            relu_in_place(out);
        }
    }

    /// Back-propagates `ch.grad` (gradient of layer `i`'s output) into the
    /// parameter gradients and, with `input_grad`, into `ch.grad_in`
    /// (every layer but BatchNorm, see [`Ctx::batch_norm_backward`]).
    fn backward(&self, layer: &Layer, i: usize, ch: &mut Chunk, input_grad: bool) {
        let n = ch.rows;
        let x = &ch.acts[i];
        let y = &ch.acts[i + 1];
        let g = &mut ch.grad;
        let gi = &mut ch.grad_in;
        if input_grad {
            gi.clear();
            gi.resize(x.len(), 0.0);
        }
        match *layer {
            Layer::Conv { param, input, output, stride, relu } => {
                if relu {
                    relu_mask(g, y);
                }
                let rows = n * output.h * output.w;
                let k = 9 * input.c;
                let p = &self.params[param];
                parameter_grads(g, &ch.patches[i], rows, k, output.c, &mut ch.w_grad[param], &mut ch.b_grad[param]);
                if input_grad {
                    let pg = &mut ch.patch_grad;
                    pg.clear();
                    pg.resize(rows * k, 0.0);
                    // dP = g · W'
                    gemm(view_mut(pg, rows, k), view(g, rows, output.c), view(&p.w, output.c, k), false);
                    col2im(pg, n, input, output, stride, gi);
                }
            }
            Layer::AddSkip { relu, .. } => {
                if relu {
                    relu_mask(g, y);
                }
                // The sum's gradient goes to both addends: the branch now, the
                // block's input when the pass reaches it.
                ch.skip_grad.clone_from(g);
                if input_grad {
                    gi.copy_from_slice(g);
                }
            }
            Layer::AvgPool { input, output } => avg_pool_backward(g, n, input, output, gi),
            Layer::Flatten { input } => {
                for (src, dst) in g.chunks_exact(input.len()).zip(gi.chunks_exact_mut(input.len())) {
                    chw_to_hwc(src, dst, input);
                }
            }
            Layer::Linear { param, k, m, relu } => {
                if relu {
                    relu_mask(g, y);
                }
                let p = &self.params[param];
                parameter_grads(g, x, n, k, m, &mut ch.w_grad[param], &mut ch.b_grad[param]);
                if input_grad {
                    gemm(view_mut(gi, n, k), view(g, n, m), view(&p.w, m, k), false);
                }
            }
            Layer::BatchNorm { .. } => unreachable!("BatchNorm's backward reduces over the chunks"),
        }
    }
}

mod batch_norm;
mod compile;
mod kernels;
#[cfg(test)]
mod tests;
