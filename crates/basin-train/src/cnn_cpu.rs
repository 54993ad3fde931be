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

use crate::dense::{gemm, view, view_mut};
use crate::error::{TrainError, TrainResult};
use crate::fused::{f32_slice, relu_value};
use crate::model::{Model, Op, BN_EPS, BN_MOMENTUM};
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

/// Builds the layer list from the model's program.
struct Compiler<'a> {
    model: &'a Model,
    grid: Grid,
    /// Flat width once flattened.
    width: Option<usize>,
    layers: Vec<Layer>,
    params: Vec<Param>,
    bns: Vec<BnState>,
}

impl Compiler<'_> {
    fn dims(&self, name: &str) -> Option<Vec<usize>> {
        self.model.parameters().get(name).map(|v| v.dims().to_vec())
    }

    fn conv(&mut self, name: &str, stride: usize) -> Option<()> {
        if self.width.is_some() {
            return None;
        }
        let weight = format!("{name}.weight");
        let dims = self.dims(&weight)?;
        let c_out = *dims.first()?;
        let bias = format!("{name}.bias");
        if dims != [c_out, self.grid.c, 3, 3] || self.dims(&bias)? != [c_out] || stride == 0 {
            return None;
        }
        let input = self.grid;
        let output = Grid { h: (input.h - 1) / stride + 1, w: (input.w - 1) / stride + 1, c: c_out };
        self.layers.push(Layer::Conv { param: self.params.len(), input, output, stride, relu: false });
        self.params.push(Param::new(weight, bias, Some(input.c), (c_out * 9 * input.c, c_out)));
        self.grid = output;
        Some(())
    }

    fn batch_norm(&mut self, name: &str) -> Option<()> {
        let c = self.grid.c;
        if self.width.is_some() || self.dims(&format!("{name}.weight"))? != [c] || self.dims(&format!("{name}.bias"))? != [c] {
            return None;
        }
        let buffer = |what: &str| format!("{name}.{what}");
        if !self.model.buffers().contains_key(&buffer("running_mean"))
            || !self.model.buffers().contains_key(&buffer("running_var"))
        {
            return None;
        }
        self.layers.push(Layer::BatchNorm { param: self.params.len(), bn: self.bns.len(), grid: self.grid, relu: false });
        self.params.push(Param::new(format!("{name}.weight"), format!("{name}.bias"), None, (c, c)));
        self.bns.push(BnState {
            running_mean_name: buffer("running_mean"),
            running_var_name: buffer("running_var"),
            running_mean: Vec::new(),
            running_var: Vec::new(),
            mean: Vec::new(),
            inv_std: Vec::new(),
            batch_var: Vec::new(),
            count: 0,
        });
        Some(())
    }

    fn relu(&mut self) -> Option<()> {
        let relu = self.layers.last_mut()?.relu_mut()?;
        if *relu {
            return None;
        }
        *relu = true;
        Some(())
    }

    fn op(&mut self, op: &Op) -> Option<()> {
        match op {
            Op::Conv { name, stride } => self.conv(name, *stride)?,
            Op::BatchNorm(name) => self.batch_norm(name)?,
            Op::Relu => self.relu()?,
            Op::AvgPool2 => {
                let g = self.grid;
                if self.width.is_some() || g.h < 2 || g.w < 2 {
                    return None;
                }
                let output = Grid { h: g.h / 2, w: g.w / 2, c: g.c };
                self.layers.push(Layer::AvgPool { input: g, output });
                self.grid = output;
            }
            Op::Flatten => {
                if self.width.is_some() {
                    return None;
                }
                self.layers.push(Layer::Flatten { input: self.grid });
                self.width = Some(self.grid.len());
            }
            Op::Linear(name) => {
                let k = self.width?;
                let weight = format!("{name}.weight");
                let dims = self.dims(&weight)?;
                let bias = format!("{name}.bias");
                if dims.len() != 2 || dims[1] != k || self.dims(&bias)? != [dims[0]] {
                    return None;
                }
                self.layers.push(Layer::Linear { param: self.params.len(), k, m: dims[0], relu: false });
                self.params.push(Param::new(weight, bias, None, (dims[0] * k, dims[0])));
                self.width = Some(dims[0]);
            }
            // Model::forward: relu(h + bn_b(conv_b(relu(bn_a(conv_a(h)))))).
            Op::Residual { name, batch_norm } => {
                let (from, grid) = (self.layers.len(), self.grid);
                self.conv(&format!("{name}.conv_a"), 1)?;
                if *batch_norm {
                    self.batch_norm(&format!("{name}.bn_a"))?;
                }
                self.relu()?;
                self.conv(&format!("{name}.conv_b"), 1)?;
                if *batch_norm {
                    self.batch_norm(&format!("{name}.bn_b"))?;
                }
                if self.grid != grid || from == 0 {
                    return None;
                }
                self.layers.push(Layer::AddSkip { from, grid, relu: true });
            }
            Op::ToImage { .. } => return None,
        }
        Some(())
    }
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
            grads.push((model_var(model, &p.weight)?, p.w_grad.as_slice()));
            grads.push((model_var(model, &p.bias)?, p.b_grad.as_slice()));
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
            read_var(model_buffer(model, &bn.running_mean_name)?, &mut bn.running_mean)?;
            read_var(model_buffer(model, &bn.running_var_name)?, &mut bn.running_var)?;
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
                let buf = model_buffer(model, name)?;
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

#[allow(clippy::cast_possible_truncation)]
fn inv_std(var: f64) -> f32 {
    (1.0 / (var + BN_EPS).sqrt()) as f32
}

/// The batch mean and biased variance of each channel of activation `i`
/// (two passes, f64 sums per chunk added in chunk order), as the statistics
/// `bn` normalises with.
fn batch_statistics(chunks: &mut [Chunk], i: usize, grid: Grid, bn: &mut BnState) {
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

fn batch_error(reason: String) -> TrainError {
    TrainError::Data { dataset: "batch".into(), reason }
}

fn model_var<'a>(model: &'a Model, name: &str) -> TrainResult<&'a Var> {
    model
        .parameters()
        .get(name)
        .ok_or_else(|| TrainError::InvalidParameter { name: "model", reason: format!("no parameter `{name}`") })
}

fn model_buffer<'a>(model: &'a Model, name: &str) -> TrainResult<&'a Var> {
    model
        .buffers()
        .get(name)
        .ok_or_else(|| TrainError::InvalidParameter { name: "model", reason: format!("no buffer `{name}`") })
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
        read_var(model_var(model, &self.weight)?, into)?;
        read_var(model_var(model, &self.bias)?, &mut self.b)?;
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

    /// First half of BatchNorm's backward (training mode) on one chunk:
    /// `Σ g·x̂` and `Σ g` per channel, the chunk's share of the scale's and
    /// shift's gradients (f32 within an image, f64 across images).
    fn batch_norm_partial_sums(&self, layer: &Layer, i: usize, ch: &mut Chunk) {
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
    fn batch_norm_input_grad(&self, layer: &Layer, i: usize, ch: &mut Chunk, dgamma: &[f32], dbeta: &[f32]) {
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

/// Rows of `C × H × W` values to channels-last images.
fn to_channels_last(x: &[f32], n: usize, g: Grid, out: &mut Vec<f32>) {
    out.clear();
    if g.c == 1 {
        out.extend_from_slice(&x[..n * g.len()]);
        return;
    }
    out.resize(n * g.len(), 0.0);
    for (src, dst) in x.chunks_exact(g.len()).zip(out.chunks_exact_mut(g.len())) {
        chw_to_hwc(src, dst, g);
    }
}

fn hwc_to_chw(src: &[f32], dst: &mut [f32], g: Grid) {
    let plane = g.h * g.w;
    for (p, px) in src.chunks_exact(g.c).enumerate() {
        for (ci, &v) in px.iter().enumerate() {
            dst[ci * plane + p] = v;
        }
    }
}

fn chw_to_hwc(src: &[f32], dst: &mut [f32], g: Grid) {
    let plane = g.h * g.w;
    for (p, px) in dst.chunks_exact_mut(g.c).enumerate() {
        for (ci, v) in px.iter_mut().enumerate() {
            *v = src[ci * plane + p];
        }
    }
}

/// Input pixel under kernel tap `(ky, kx)` of output `(oy, ox)` (padding 1),
/// or `None` in the padding.
#[inline]
fn tap(input: Grid, stride: usize, oy: usize, ox: usize, ky: usize, kx: usize) -> Option<usize> {
    let iy = (oy * stride + ky).checked_sub(1)?;
    let ix = (ox * stride + kx).checked_sub(1)?;
    (iy < input.h && ix < input.w).then_some(iy * input.w + ix)
}

/// Calls `f(image, row, tap, pixel)` for every kernel tap that falls inside
/// the image: patch row `row` (over the chunk's images, `(image, oy, ox)`
/// order), tap `ky·3 + kx`, input `pixel` within the image. The loop both
/// [`im2col`] and its adjoint [`col2im`] walk.
#[inline]
fn for_each_tap(n: usize, input: Grid, output: Grid, stride: usize, mut f: impl FnMut(usize, usize, usize, usize)) {
    let mut row = 0;
    for img in 0..n {
        for oy in 0..output.h {
            for ox in 0..output.w {
                for ky in 0..3 {
                    for kx in 0..3 {
                        if let Some(px) = tap(input, stride, oy, ox, ky, kx) {
                            f(img, row, ky * 3 + kx, px);
                        }
                    }
                }
                row += 1;
            }
        }
    }
}

/// Patch rows `(image, oy, ox)`, columns `(ky, kx, c)`: each tap copies the
/// pixel's `C` contiguous channels; taps in the padding stay 0.
fn im2col(x: &[f32], n: usize, input: Grid, output: Grid, stride: usize, patches: &mut Vec<f32>) {
    let (c, len) = (input.c, input.len());
    let k = 9 * c;
    patches.clear();
    patches.resize(n * output.h * output.w * k, 0.0);
    for_each_tap(n, input, output, stride, |img, row, t, px| {
        patches[row * k + t * c..][..c].copy_from_slice(&x[img * len + px * c..][..c]);
    });
}

/// Adjoint of [`im2col`]: adds each patch gradient onto its pixels (`out`
/// starts at zero).
fn col2im(patch_grad: &[f32], n: usize, input: Grid, output: Grid, stride: usize, out: &mut [f32]) {
    let (c, len) = (input.c, input.len());
    let k = 9 * c;
    for_each_tap(n, input, output, stride, |img, row, t, px| {
        let src = &patch_grad[row * k + t * c..][..c];
        out[img * len + px * c..][..c].iter_mut().zip(src).for_each(|(d, s)| *d += s);
    });
}

/// `out (rows × m) = b + x (rows × k) · wᵀ`, `w` stored `m × k`.
fn affine(out: &mut [f32], x: &[f32], w: &[f32], b: &[f32], rows: usize, k: usize, m: usize) {
    for row in out.chunks_exact_mut(m) {
        row.copy_from_slice(b);
    }
    gemm(view_mut(out, rows, m), view(x, rows, k), view(w, m, k).transpose(), true);
}

/// `dW (m × k) = gᵀ · x`, `db = Σ_rows g`.
fn parameter_grads(g: &[f32], x: &[f32], rows: usize, k: usize, m: usize, w_grad: &mut Vec<f32>, b_grad: &mut Vec<f32>) {
    w_grad.clear();
    w_grad.resize(m * k, 0.0);
    gemm(view_mut(w_grad, m, k), view(g, rows, m).transpose(), view(x, rows, k), false);
    b_grad.clear();
    b_grad.resize(m, 0.0);
    for row in g.chunks_exact(m) {
        b_grad.iter_mut().zip(row).for_each(|(a, v)| *a += v);
    }
}

fn relu_in_place(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = relu_value(*x));
}

/// Zeroes the gradient where the ReLU's output is not positive.
fn relu_mask(g: &mut [f32], y: &[f32]) {
    g.iter_mut().zip(y).for_each(|(g, &y)| *g = if y > 0.0 { *g } else { 0.0 });
}

fn avg_pool(x: &[f32], n: usize, input: Grid, output: Grid, out: &mut [f32]) {
    let c = input.c;
    for (img, o) in x.chunks_exact(input.len()).zip(out.chunks_exact_mut(output.len())).take(n) {
        for oy in 0..output.h {
            for ox in 0..output.w {
                let dst = &mut o[(oy * output.w + ox) * c..][..c];
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let src = &img[((2 * oy + dy) * input.w + 2 * ox + dx) * c..][..c];
                    dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
                }
                dst.iter_mut().for_each(|d| *d *= 0.25);
            }
        }
    }
}

fn avg_pool_backward(g: &[f32], n: usize, input: Grid, output: Grid, out: &mut [f32]) {
    let c = input.c;
    for (gi, o) in g.chunks_exact(output.len()).zip(out.chunks_exact_mut(input.len())).take(n) {
        for oy in 0..output.h {
            for ox in 0..output.w {
                let src = &gi[(oy * output.w + ox) * c..][..c];
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let dst = &mut o[((2 * oy + dy) * input.w + 2 * ox + dx) * c..][..c];
                    dst.iter_mut().zip(src).for_each(|(d, s)| *d = 0.25 * s);
                }
            }
        }
    }
}

/// Summed cross-entropy and correct predictions of `logits` (first
/// largest logit wins a tie).
fn score(logits: &[f32], labels: &[u32], classes: usize) -> (f64, usize) {
    let (mut loss, mut correct) = (0.0f64, 0usize);
    for (z, &y) in logits.chunks_exact(classes).zip(labels) {
        // Candle's argmax: the first value, replaced only by a strictly larger one.
        let (best, max) = z.iter().enumerate().skip(1).fold((0, z[0]), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
        let sum: f32 = z.iter().map(|&v| (v - max).exp()).sum();
        loss += f64::from(max + sum.ln() - z[y as usize]);
        correct += usize::from(best == y as usize);
    }
    (loss, correct)
}

/// Sum of the rows' cross-entropy terms; `grad` receives the gradient of
/// the batch mean (`(softmax − onehot) / batch`).
fn softmax_cross_entropy(logits: &[f32], labels: &[u32], classes: usize, batch: usize, grad: &mut Vec<f32>) -> f64 {
    grad.clear();
    grad.resize(logits.len(), 0.0);
    #[allow(clippy::cast_precision_loss)]
    let scale = 1.0 / batch as f32;
    let mut loss = 0.0f64;
    for ((z, g), &y) in logits.chunks_exact(classes).zip(grad.chunks_exact_mut(classes)).zip(labels) {
        let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = z.iter().map(|&v| (v - max).exp()).sum();
        let lse = max + sum.ln();
        loss += f64::from(lse - z[y as usize]);
        for (gv, &zv) in g.iter_mut().zip(z) {
            *gv = (zv - lse).exp() * scale;
        }
        g[y as usize] -= scale;
    }
    loss
}

#[cfg(test)]
mod tests {
    use basin_data::{rng::stream, ImageShape};
    use candle_core::Device;
    use candle_nn::Optimizer;
    use rand::Rng;

    use super::*;
    use crate::arch::{Architecture, Downsample, Layers};
    use crate::eval::cross_entropy;
    use crate::model::Mode;
    use crate::optim::SgdConfig;

    fn cnn(input: ImageShape, channels: &[usize], downsample: Downsample) -> Architecture {
        resnet(input, channels, downsample, false, false)
    }

    fn resnet(input: ImageShape, channels: &[usize], downsample: Downsample, residual: bool, batch_norm: bool) -> Architecture {
        Architecture {
            input,
            n_classes: 5,
            layers: Layers::Cnn { channels: channels.to_vec(), downsample, residual, batch_norm },
        }
    }

    fn batch(n: usize, d: usize, seed: u64) -> (Vec<f32>, Vec<u32>) {
        let mut rng = stream(seed, "cnn-step-test");
        let x = (0..n * d).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let y = (0..n).map(|_| rng.random_range(0..5u32)).collect();
        (x, y)
    }

    /// Candle's autograd on the same batch: loss and the gradient of each parameter.
    fn candle_gradients(model: &Model, x: &[f32], y: &[u32]) -> (f64, Vec<(String, Vec<f32>)>) {
        let d = model.architecture().input.len();
        let xt = Tensor::from_slice(x, (y.len(), d), &Device::Cpu).unwrap();
        let yt = Tensor::from_slice(y, y.len(), &Device::Cpu).unwrap();
        let loss = cross_entropy(&model.forward(&xt, Mode::TRAIN).unwrap(), &yt).unwrap();
        let grads = loss.backward().unwrap();
        let per_param = model
            .parameters()
            .iter()
            .map(|(name, v)| (name.clone(), grads.get(v).unwrap().flatten_all().unwrap().to_vec1().unwrap()))
            .collect();
        (f64::from(loss.to_scalar::<f32>().unwrap()), per_param)
    }

    fn hand_gradients(step: &mut CnnStep, model: &Model, x: &[f32], y: &[u32]) -> (f64, Vec<(String, Vec<f32>)>) {
        let loss = step.loss_and_gradients(model, x, y).unwrap();
        let mut named: Vec<(String, Vec<f32>)> = step
            .params
            .iter()
            .flat_map(|p| [(p.weight.clone(), p.w_grad.clone()), (p.bias.clone(), p.b_grad.clone())])
            .collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        (loss, named)
    }

    /// The hand-written pass gives candle's loss and gradients on strided
    /// and pooled nets, one and three input channels, odd grid sizes (the
    /// pool drops a row), and batches that fill one chunk, several chunks,
    /// or leave a partial last chunk.
    #[test]
    fn gradients_match_candle_autograd() {
        let mnist = ImageShape { channels: 1, height: 28, width: 28 };
        let rgb = ImageShape { channels: 3, height: 9, width: 7 };
        let cases = [
            (mnist, vec![4, 6, 6], Downsample::Strided, false, false, 45),
            (rgb, vec![5, 4], Downsample::AvgPool, false, false, 70),
            (ImageShape { channels: 2, height: 6, width: 6 }, vec![3], Downsample::Strided, false, false, 1),
            (ImageShape { channels: 1, height: 8, width: 8 }, vec![4], Downsample::AvgPool, false, false, CHUNK_IMAGES),
            // ResNet-lite: residual blocks, BatchNorm (batch statistics over several chunks), both.
            (mnist, vec![4, 6], Downsample::Strided, true, false, 45),
            (rgb, vec![5, 4], Downsample::Strided, false, true, 70),
            (rgb, vec![4, 6], Downsample::AvgPool, true, true, 70),
            (ImageShape { channels: 3, height: 8, width: 8 }, vec![4], Downsample::Strided, true, true, 2),
        ];
        for (i, (shape, channels, down, residual, bn, n)) in cases.into_iter().enumerate() {
            let arch = resnet(shape, &channels, down, residual, bn);
            let model = Model::new(&arch, &mut stream(i as u64, "init"), &Device::Cpu).unwrap();
            let mut step = CnnStep::new(&model).expect("a CNN is covered");
            let (x, y) = batch(n, shape.len(), i as u64);
            // Both passes update BatchNorm's running statistics: each on its own copy.
            let twin = model.deep_clone().unwrap();
            let (want_loss, want) = candle_gradients(&twin, &x, &y);
            let (loss, got) = hand_gradients(&mut step, &model, &x, &y);
            for ((name, a), (_, b)) in model.buffers().iter().zip(twin.buffers()) {
                let (a, b) = (a.flatten_all().unwrap().to_vec1::<f32>().unwrap(), b.flatten_all().unwrap().to_vec1::<f32>().unwrap());
                let worst = a.iter().zip(&b).map(|(p, q)| (p - q).abs()).fold(0.0f32, f32::max);
                assert!(worst < 1e-5, "case {i} {name}: running statistics differ by {worst}");
            }
            if bn {
                let moved = model.buffers().values().any(|v| {
                    let v = v.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                    v.iter().any(|&x| x != 0.0 && x != 1.0)
                });
                assert!(moved, "case {i}: the running statistics were not updated");
            }
            assert!((loss - want_loss).abs() < 1e-5, "case {i}: loss {loss} vs {want_loss}");
            assert_eq!(got.len(), want.len(), "case {i}");
            for ((name, g), (wname, w)) in got.iter().zip(&want) {
                assert_eq!(name, wname);
                let scale = w.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                let worst = g.iter().zip(w).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
                // The absolute floor covers a convolution bias before BatchNorm,
                // whose gradient is zero up to rounding in both passes.
                assert!(worst <= 2e-5 * scale + 1e-6, "case {i} {name}: max difference {worst} (scale {scale})");
            }
        }
    }

    /// Training through [`crate::TrainStep`] follows candle's training within
    /// float rounding over several SGD-momentum steps.
    #[test]
    fn training_matches_candle_training() {
        for arch in [
            cnn(ImageShape { channels: 1, height: 12, width: 12 }, &[4, 8], Downsample::Strided),
            resnet(ImageShape { channels: 1, height: 12, width: 12 }, &[4, 8], Downsample::Strided, true, true),
        ] {
            train_both_ways(&arch);
        }
    }

    fn train_both_ways(arch: &Architecture) {
        let cfg = SgdConfig { lr: 0.05, momentum: 0.9, weight_decay: 1e-3, nesterov: true };
        let a = Model::new(arch, &mut stream(3, "init"), &Device::Cpu).unwrap();
        let b = a.deep_clone().unwrap();
        let mut opt_a = SgdMomentum::new(a.vars(), cfg).unwrap();
        let mut opt_b = SgdMomentum::new(b.vars(), cfg).unwrap();
        let mut step = CnnStep::new(&a).unwrap();
        for s in 0..8 {
            let (x, y) = batch(40, 144, 10 + s);
            step.step(&a, &mut opt_a, &x, &y).unwrap();
            let xt = Tensor::from_slice(&x, (40, 144), &Device::Cpu).unwrap();
            let yt = Tensor::from_slice(&y, 40, &Device::Cpu).unwrap();
            opt_b.backward_step(&cross_entropy(&b.forward(&xt, Mode::TRAIN).unwrap(), &yt).unwrap()).unwrap();
        }
        let (wa, wb) = (a.flat_weights().unwrap(), b.flat_weights().unwrap());
        let worst = wa.iter().zip(&wb).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "weights differ by {worst}");
        let start = Model::new(arch, &mut stream(3, "init"), &Device::Cpu).unwrap().flat_weights().unwrap();
        let travelled = wa.iter().zip(&start).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        assert!(travelled > 1e-3, "training moved the weights by only {travelled}");
        for ((name, va), (_, vb)) in a.buffers().iter().zip(b.buffers()) {
            let (va, vb) = (va.flatten_all().unwrap().to_vec1::<f32>().unwrap(), vb.flatten_all().unwrap().to_vec1::<f32>().unwrap());
            let worst = va.iter().zip(&vb).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
            assert!(worst < 1e-4, "{name} differs by {worst}");
        }
        // Evaluation mode (BatchNorm on the running statistics) on the trained net.
        let (x, y) = batch(90, 144, 99);
        let (loss, correct) = CnnStep::new(&a).unwrap().loss_sum_and_correct(&a, &x, &y).unwrap();
        let logits = a.forward(&Tensor::from_slice(&x, (90, 144), &Device::Cpu).unwrap(), Mode::Eval).unwrap();
        let want = cross_entropy(&logits, &Tensor::from_slice(&y, 90, &Device::Cpu).unwrap()).unwrap();
        let want_correct = crate::model::predictions(&logits).unwrap().iter().zip(&y).filter(|(p, l)| p == l).count();
        assert!((loss / 90.0 - f64::from(want.to_scalar::<f32>().unwrap())).abs() < 1e-5);
        assert_eq!(correct, want_correct);
    }

    /// A smaller batch after a larger one (an epoch's last) sums only its
    /// own chunks: the same gradients as on a fresh step.
    #[test]
    fn a_smaller_batch_ignores_the_chunks_of_a_larger_one() {
        let arch = cnn(ImageShape { channels: 1, height: 10, width: 10 }, &[4], Downsample::Strided);
        let model = Model::new(&arch, &mut stream(2, "init"), &Device::Cpu).unwrap();
        let (big_x, big_y) = batch(4 * CHUNK_IMAGES, 100, 1);
        let (x, y) = batch(CHUNK_IMAGES + 3, 100, 2);
        let mut reused = CnnStep::new(&model).unwrap();
        hand_gradients(&mut reused, &model, &big_x, &big_y);
        let after_big = hand_gradients(&mut reused, &model, &x, &y);
        let fresh = hand_gradients(&mut CnnStep::new(&model).unwrap(), &model, &x, &y);
        assert_eq!(after_big.0.to_bits(), fresh.0.to_bits());
        assert_eq!(after_big.1, fresh.1);
    }

    /// Chunks run on rayon's threads and are summed in chunk order: the same
    /// bits on 1 and 3 threads.
    #[test]
    fn gradients_are_bit_identical_at_any_thread_count() {
        let mnist = ImageShape { channels: 1, height: 28, width: 28 };
        for arch in [cnn(mnist, &[8, 16], Downsample::Strided), resnet(mnist, &[4, 8], Downsample::Strided, true, true)] {
            let start = Model::new(&arch, &mut stream(5, "init"), &Device::Cpu).unwrap();
            let (x, y) = batch(150, 784, 5);
            let run = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let model = start.deep_clone().unwrap();
                let mut step = CnnStep::new(&model).unwrap();
                let grads = pool.install(|| hand_gradients(&mut step, &model, &x, &y));
                let eval = pool.install(|| CnnStep::new(&model).unwrap().loss_sum_and_correct(&model, &x, &y).unwrap());
                (grads, eval.0.to_bits(), eval.1, model.flat_weights().unwrap())
            };
            let (one, three) = (run(1), run(3));
            assert_eq!(one.0 .0.to_bits(), three.0 .0.to_bits());
            for ((name, a), (_, b)) in one.0 .1.iter().zip(&three.0 .1) {
                assert!(a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits()), "{name}");
            }
            assert_eq!((one.1, one.2), (three.1, three.2), "evaluation");
        }
    }

    /// Evaluation through the hand-written forward pass gives candle's loss
    /// and accuracy (more rows than one evaluation round, partial chunks).
    #[test]
    fn evaluation_matches_candle() {
        let arch = cnn(ImageShape { channels: 3, height: 10, width: 10 }, &[6, 8], Downsample::Strided);
        let model = Model::new(&arch, &mut stream(9, "init"), &Device::Cpu).unwrap();
        let n = EVAL_ROWS + 37;
        let (x, y) = batch(n, 300, 9);
        let mut step = CnnStep::new(&model).unwrap();
        let (loss, correct) = step.loss_sum_and_correct(&model, &x, &y).unwrap();
        let xt = Tensor::from_slice(&x, (n, 300), &Device::Cpu).unwrap();
        let logits = model.forward(&xt, Mode::Eval).unwrap();
        let want_loss = cross_entropy(&logits, &Tensor::from_slice(&y, n, &Device::Cpu).unwrap()).unwrap();
        let want_correct =
            crate::model::predictions(&logits).unwrap().iter().zip(&y).filter(|(p, l)| p == l).count();
        #[allow(clippy::cast_precision_loss)]
        let mean = loss / n as f64;
        assert!((mean - f64::from(want_loss.to_scalar::<f32>().unwrap())).abs() < 1e-5, "{mean}");
        assert_eq!(correct, want_correct);
        assert!(correct > 0 && correct < n, "{correct} of {n}: an uninformative check");
    }

    /// MLPs train through candle; every CNN variant takes the hand-written pass.
    #[test]
    fn cnns_on_the_cpu_are_covered_and_mlps_are_not() {
        let img = ImageShape { channels: 1, height: 8, width: 8 };
        let build = |arch: &Architecture| Model::new(arch, &mut stream(0, "init"), &Device::Cpu).unwrap();
        assert!(CnnStep::new(&build(&Architecture::mlp(img, &[8], 5))).is_none());
        let mut bn_mlp = Architecture::mlp(img, &[8], 5);
        bn_mlp.layers = Layers::Mlp { hidden: vec![8], batch_norm: true };
        assert!(CnnStep::new(&build(&bn_mlp)).is_none());
        for down in [Downsample::Strided, Downsample::AvgPool] {
            for (residual, batch_norm) in [(false, false), (true, false), (false, true), (true, true)] {
                let arch = resnet(img, &[4, 4], down, residual, batch_norm);
                assert!(CnnStep::new(&build(&arch)).is_some(), "{down:?}, residual {residual}, batch norm {batch_norm}");
            }
        }
    }

    /// A bad batch is an error naming the row or the sizes, and a NaN input
    /// gives a NaN loss instead of a panic (the divergence rule records it).
    #[test]
    fn bad_batches_are_errors_and_nan_propagates() {
        let arch = cnn(ImageShape { channels: 1, height: 8, width: 8 }, &[4], Downsample::Strided);
        let model = Model::new(&arch, &mut stream(0, "init"), &Device::Cpu).unwrap();
        let mut step = CnnStep::new(&model).unwrap();
        let (x, mut y) = batch(3, 64, 0);
        y[2] = 5;
        let err = step.loss_and_gradients(&model, &x, &y).unwrap_err().to_string();
        assert!(err.contains("row 2 has label 5"), "{err}");
        let err = step.loss_and_gradients(&model, &x[1..], &[0, 1, 2]).unwrap_err().to_string();
        assert!(err.contains("191 values for 3 rows of 64 features"), "{err}");
        let other = Model::new(&cnn(ImageShape { channels: 1, height: 8, width: 8 }, &[6], Downsample::Strided), &mut stream(0, "init"), &Device::Cpu).unwrap();
        let err = step.loss_and_gradients(&other, &x, &[0, 1, 2]).unwrap_err().to_string();
        assert!(err.contains("`conv0.weight` has 54 values, the step was built for 36"), "{err}");
        let mut nan = x.clone();
        nan[7] = f32::NAN;
        let loss = step.loss_and_gradients(&model, &nan, &[0, 1, 2]).unwrap();
        assert!(loss.is_nan());
    }
}
