//! A hand-written training step for plain CNNs on the CPU: forward pass,
//! cross-entropy and backward pass outside candle's autograd.
//!
//! Why: on the MNIST benchmark CNN, candle's graph spent half the step on
//! bookkeeping rather than arithmetic — every node's gradient accumulated as
//! a zero tensor plus the incoming one (20 % of samples), the layout copies
//! of `N × H × W × C` ↔ `N × C × H × W` permutes (10 %), fresh zeroed
//! allocations (11 %) — and the products themselves took under a fifth.
//! Here activations stay channels-last (`N × H × W × C`), so a convolution's
//! output rows are the next layer's pixels with no transpose; patches are
//! copied as runs of `C` contiguous channels; every buffer is reused from
//! step to step; and the products run in faer.
//!
//! Threads: the batch is cut into chunks of [`CHUNK_IMAGES`] images; each
//! chunk runs its whole forward and backward pass on one thread, and the
//! chunks' parameter gradients are summed in chunk order. The bits depend on
//! that constant, never on the thread count.
//!
//! Covered: nets compiled from [`crate::Layers::Cnn`] without BatchNorm or
//! residual blocks (strided convolutions or average pooling). Anything else
//! returns `None` from [`CnnStep::new`] and trains through candle.

use candle_core::{Storage, Tensor, Var};
use rayon::prelude::*;

use crate::dense::{gemm, view, view_mut};
use crate::error::{TrainError, TrainResult};
use crate::fused::f32_slice;
use crate::model::{Model, Op};
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

/// One step of the compiled forward program. `param` indexes
/// [`CnnStep::params`]; `relu` marks a ReLU fused onto the output.
#[derive(Debug, Clone)]
enum Layer {
    /// 3×3 convolution, padding 1.
    Conv { param: usize, input: Grid, output: Grid, stride: usize, relu: bool },
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
            Layer::Flatten { input } => input.len(),
            Layer::Linear { m, .. } => m,
        }
    }
}

/// A layer's parameters: names in the model, and this step's values
/// (convolution weights reordered to `c_out × (ky, kx, c_in)`, the patch
/// column order).
#[derive(Debug)]
struct Param {
    weight: String,
    bias: String,
    /// `Some(c_in)` for a convolution (its weight is reordered).
    conv_c_in: Option<usize>,
    w: Vec<f32>,
    b: Vec<f32>,
}

/// Buffers of one chunk of the batch, reused from step to step.
#[derive(Debug, Default)]
struct Chunk {
    /// `acts[0]` the input (channels last), `acts[i + 1]` layer `i`'s output.
    acts: Vec<Vec<f32>>,
    /// Patches of each convolution layer (empty for other layers).
    patches: Vec<Vec<f32>>,
    grad: Vec<f32>,
    grad_in: Vec<f32>,
    patch_grad: Vec<f32>,
    /// Per parameter: this chunk's weight and bias gradients.
    w_grad: Vec<Vec<f32>>,
    b_grad: Vec<Vec<f32>>,
    /// Sum of the chunk's cross-entropy terms.
    loss: f64,
}

/// The hand-written training step of a plain CNN (see the module docs).
#[derive(Debug)]
pub(crate) struct CnnStep {
    input: Grid,
    n_classes: usize,
    layers: Vec<Layer>,
    params: Vec<Param>,
    chunks: Vec<Chunk>,
}

impl CnnStep {
    /// Compiles the model's program, or `None` when this step does not cover
    /// it (no convolution, BatchNorm, residual blocks, not on the CPU).
    pub(crate) fn new(model: &Model) -> Option<Self> {
        if !model.device().is_cpu() || model.has_batch_norm() {
            return None;
        }
        let program = model.program();
        let Some(Op::ToImage { c, h, w }) = program.first() else { return None };
        let input = Grid { h: *h, w: *w, c: *c };
        let mut grid = input;
        let mut width = None::<usize>; // flat width once flattened
        let mut layers = Vec::new();
        let mut params = Vec::new();
        let shape_of = |name: &str| model.parameters().get(name).map(|v| v.dims().to_vec());
        for op in &program[1..] {
            match op {
                Op::Conv { name, stride } => {
                    if width.is_some() {
                        return None;
                    }
                    let weight = format!("{name}.weight");
                    let dims = shape_of(&weight)?;
                    let (c_out, c_in) = (dims[0], dims[1]);
                    if dims != [c_out, grid.c, 3, 3] || c_in != grid.c {
                        return None;
                    }
                    let output = Grid { h: (grid.h - 1) / stride + 1, w: (grid.w - 1) / stride + 1, c: c_out };
                    layers.push(Layer::Conv { param: params.len(), input: grid, output, stride: *stride, relu: false });
                    params.push(Param::new(weight, format!("{name}.bias"), Some(c_in)));
                    grid = output;
                }
                Op::Relu => match layers.last_mut() {
                    Some(Layer::Conv { relu, .. } | Layer::Linear { relu, .. }) if !*relu => *relu = true,
                    _ => return None,
                },
                Op::AvgPool2 => {
                    if width.is_some() || grid.h < 2 || grid.w < 2 {
                        return None;
                    }
                    let output = Grid { h: grid.h / 2, w: grid.w / 2, c: grid.c };
                    layers.push(Layer::AvgPool { input: grid, output });
                    grid = output;
                }
                Op::Flatten => {
                    if width.is_some() {
                        return None;
                    }
                    layers.push(Layer::Flatten { input: grid });
                    width = Some(grid.len());
                }
                Op::Linear(name) => {
                    let k = width?;
                    let weight = format!("{name}.weight");
                    let dims = shape_of(&weight)?;
                    if dims.len() != 2 || dims[1] != k {
                        return None;
                    }
                    layers.push(Layer::Linear { param: params.len(), k, m: dims[0], relu: false });
                    params.push(Param::new(weight, format!("{name}.bias"), None));
                    width = Some(dims[0]);
                }
                Op::ToImage { .. } | Op::BatchNorm(_) | Op::Residual { .. } => return None,
            }
        }
        let n_classes = model.architecture().n_classes;
        (width == Some(n_classes) && layers.iter().any(|l| matches!(l, Layer::Conv { .. })))
            .then_some(Self { input, n_classes, layers, params, chunks: Vec::new() })
    }

    /// One SGD step on the batch `x` (`labels.len()` rows of the model's
    /// input, as [`Model::forward`] takes them): the gradient of the mean
    /// cross-entropy, then `opt`'s update. Returns the batch's mean loss.
    ///
    /// # Errors
    /// [`TrainError::Data`] for a label out of range or a batch of the wrong
    /// width; candle errors when reading or writing the parameters.
    pub(crate) fn step(&mut self, model: &Model, opt: &mut SgdMomentum, x: &[f32], labels: &[u32]) -> TrainResult<f64> {
        let (loss, grads) = self.loss_and_gradients(model, x, labels)?;
        opt.step_pairs(&grads)?;
        Ok(loss)
    }

    /// The batch's mean cross-entropy and its gradient for every parameter,
    /// in the model's layouts, paired with the parameters' variables.
    ///
    /// # Errors
    /// As [`CnnStep::step`].
    pub(crate) fn loss_and_gradients(
        &mut self,
        model: &Model,
        x: &[f32],
        labels: &[u32],
    ) -> TrainResult<(f64, Vec<(Var, Tensor)>)> {
        self.check_batch(x, labels)?;
        for p in &mut self.params {
            p.load(model)?;
        }
        let n = labels.len();
        let d = self.input.len();
        let used = n.div_ceil(CHUNK_IMAGES);
        let (pass, chunks) = self.pass(n, used);
        chunks.par_iter_mut().zip(x.par_chunks(CHUNK_IMAGES * d).zip(labels.par_chunks(CHUNK_IMAGES))).for_each(
            |(chunk, (x, y))| pass.run(chunk, x, y),
        );
        #[allow(clippy::cast_precision_loss)]
        let loss = self.chunks[..used].iter().map(|c| c.loss).sum::<f64>() / n as f64;
        Ok((loss, self.gradients(model, &self.chunks[..used])?))
    }

    /// Summed cross-entropy and the number of correct predictions (largest
    /// logit, the first on ties) over the rows `x` with `labels`, in chunks
    /// of [`EVAL_ROWS`] rows; checks as [`CnnStep::step`].
    ///
    /// # Errors
    /// As [`CnnStep::step`].
    pub(crate) fn loss_sum_and_correct(&mut self, model: &Model, x: &[f32], labels: &[u32]) -> TrainResult<(f64, usize)> {
        self.check_batch(x, labels)?;
        for p in &mut self.params {
            p.load(model)?;
        }
        let d = self.input.len();
        let (mut loss, mut correct) = (0.0f64, 0usize);
        for (xs, ys) in x.chunks(EVAL_ROWS * d).zip(labels.chunks(EVAL_ROWS)) {
            let used = ys.len().div_ceil(CHUNK_IMAGES);
            let (pass, chunks) = self.pass(ys.len(), used);
            let results: Vec<(f64, usize)> = chunks
                .par_iter_mut()
                .zip(xs.par_chunks(CHUNK_IMAGES * d).zip(ys.par_chunks(CHUNK_IMAGES)))
                .map(|(ch, (x, y))| {
                    pass.run_forward(ch, x, y.len());
                    score(&ch.acts[pass.layers.len()], y, pass.n_classes)
                })
                .collect();
            for (l, c) in results {
                loss += l;
                correct += c;
            }
        }
        Ok((loss, correct))
    }

    /// The read-only pass over a batch of `batch` rows, and the buffers of
    /// its first `used` chunks (kept when a smaller batch comes, such as an
    /// epoch's last, so the next full batch allocates nothing).
    fn pass(&mut self, batch: usize, used: usize) -> (Pass<'_>, &mut [Chunk]) {
        if self.chunks.len() < used {
            self.chunks.resize_with(used, Chunk::default);
        }
        let Self { input, n_classes, layers, params, chunks } = self;
        (Pass { layers, params, input: *input, n_classes: *n_classes, batch }, &mut chunks[..used])
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

    /// Sums the chunks' gradients in chunk order and returns them as tensors
    /// in the model's layouts, paired with their variables.
    fn gradients(&self, model: &Model, chunks: &[Chunk]) -> TrainResult<Vec<(Var, Tensor)>> {
        let mut out = Vec::with_capacity(2 * self.params.len());
        for (j, p) in self.params.iter().enumerate() {
            let mut w = chunks[0].w_grad[j].clone();
            let mut b = chunks[0].b_grad[j].clone();
            for c in &chunks[1..] {
                w.iter_mut().zip(&c.w_grad[j]).for_each(|(a, g)| *a += g);
                b.iter_mut().zip(&c.b_grad[j]).for_each(|(a, g)| *a += g);
            }
            if let Some(c_in) = p.conv_c_in {
                w = patch_order_to_model(&w, c_in);
            }
            for (name, g) in [(&p.weight, w), (&p.bias, b)] {
                let var = model_var(model, name)?;
                let t = Tensor::from_vec(g, var.shape(), var.device())?;
                out.push((var.clone(), t));
            }
        }
        Ok(out)
    }
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

impl Param {
    fn new(weight: String, bias: String, conv_c_in: Option<usize>) -> Self {
        Self { weight, bias, conv_c_in, w: Vec::new(), b: Vec::new() }
    }

    /// Copies this step's values out of the model.
    fn load(&mut self, model: &Model) -> TrainResult<()> {
        read_var(model_var(model, &self.weight)?, &mut self.w)?;
        read_var(model_var(model, &self.bias)?, &mut self.b)?;
        if let Some(c_in) = self.conv_c_in {
            self.w = model_order_to_patch(&self.w, c_in);
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

/// `c_out × c_in × 3 × 3` (the model's layout) to `c_out × 3 × 3 × c_in`.
fn model_order_to_patch(w: &[f32], c_in: usize) -> Vec<f32> {
    let mut out = vec![0.0; w.len()];
    for (src, dst) in w.chunks_exact(9 * c_in).zip(out.chunks_exact_mut(9 * c_in)) {
        for ci in 0..c_in {
            for t in 0..9 {
                dst[t * c_in + ci] = src[ci * 9 + t];
            }
        }
    }
    out
}

/// Inverse of [`model_order_to_patch`].
fn patch_order_to_model(w: &[f32], c_in: usize) -> Vec<f32> {
    let mut out = vec![0.0; w.len()];
    for (src, dst) in w.chunks_exact(9 * c_in).zip(out.chunks_exact_mut(9 * c_in)) {
        for ci in 0..c_in {
            for t in 0..9 {
                dst[ci * 9 + t] = src[t * c_in + ci];
            }
        }
    }
    out
}

/// One chunk's forward and backward pass (read-only view of the step).
struct Pass<'a> {
    layers: &'a [Layer],
    params: &'a [Param],
    input: Grid,
    n_classes: usize,
    /// Rows of the whole batch (the loss is their mean).
    batch: usize,
}

impl Pass<'_> {
    /// Forward and backward pass of one chunk: loss and parameter gradients.
    fn run(&self, ch: &mut Chunk, x: &[f32], labels: &[u32]) {
        let n = labels.len();
        self.run_forward(ch, x, n);
        ch.w_grad.resize_with(self.params.len(), Vec::new);
        ch.b_grad.resize_with(self.params.len(), Vec::new);
        let logits = &ch.acts[self.layers.len()];
        ch.loss = softmax_cross_entropy(logits, labels, self.n_classes, self.batch, &mut ch.grad);
        for (i, layer) in self.layers.iter().enumerate().rev() {
            let need_input_grad = i > 0;
            self.backward(layer, n, ch, i, need_input_grad);
            if need_input_grad {
                std::mem::swap(&mut ch.grad, &mut ch.grad_in);
            }
        }
    }

    /// Forward pass of `n` rows: the logits end up in the last of `ch.acts`.
    fn run_forward(&self, ch: &mut Chunk, x: &[f32], n: usize) {
        let n_layers = self.layers.len();
        ch.acts.resize_with(n_layers + 1, Vec::new);
        ch.patches.resize_with(n_layers, Vec::new);
        to_channels_last(x, n, self.input, &mut ch.acts[0]);
        for (i, layer) in self.layers.iter().enumerate() {
            let (before, after) = ch.acts.split_at_mut(i + 1);
            self.forward(layer, n, &before[i], &mut after[0], &mut ch.patches[i]);
        }
    }

    fn forward(&self, layer: &Layer, n: usize, x: &[f32], out: &mut Vec<f32>, patches: &mut Vec<f32>) {
        out.clear();
        out.resize(n * layer.output_len(), 0.0);
        match *layer {
            Layer::Conv { param, input, output, stride, relu } => {
                let p = &self.params[param];
                let rows = n * output.h * output.w;
                let k = 9 * input.c;
                im2col(x, n, input, output, stride, patches);
                affine(out, patches, &p.w, &p.b, rows, k, output.c);
                if relu {
                    relu_in_place(out);
                }
            }
            Layer::AvgPool { input, output } => avg_pool(x, n, input, output, out),
            Layer::Flatten { input } => {
                for (src, dst) in x.chunks_exact(input.len()).zip(out.chunks_exact_mut(input.len())) {
                    hwc_to_chw(src, dst, input);
                }
            }
            Layer::Linear { param, k, m, relu } => {
                let p = &self.params[param];
                affine(out, x, &p.w, &p.b, n, k, m);
                if relu {
                    relu_in_place(out);
                }
            }
        }
    }

    /// Back-propagates `ch.grad` (gradient of layer `i`'s output) into the
    /// parameter gradients and, with `input_grad`, into `ch.grad_in`.
    fn backward(&self, layer: &Layer, n: usize, ch: &mut Chunk, i: usize, input_grad: bool) {
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

/// Patch rows `(image, oy, ox)`, columns `(ky, kx, c)`: each tap copies the
/// pixel's `C` contiguous channels.
fn im2col(x: &[f32], n: usize, input: Grid, output: Grid, stride: usize, patches: &mut Vec<f32>) {
    let c = input.c;
    let k = 9 * c;
    patches.clear();
    patches.resize(n * output.h * output.w * k, 0.0);
    let mut rows = patches.chunks_exact_mut(k);
    for img in x.chunks_exact(input.len()).take(n) {
        for oy in 0..output.h {
            for ox in 0..output.w {
                let Some(row) = rows.next() else { return };
                for ky in 0..3 {
                    for kx in 0..3 {
                        if let Some(px) = tap(input, stride, oy, ox, ky, kx) {
                            row[(ky * 3 + kx) * c..][..c].copy_from_slice(&img[px * c..][..c]);
                        }
                    }
                }
            }
        }
    }
}

/// Adjoint of [`im2col`]: adds each patch gradient onto its pixels (`out`
/// starts at zero).
fn col2im(patch_grad: &[f32], n: usize, input: Grid, output: Grid, stride: usize, out: &mut [f32]) {
    let c = input.c;
    let k = 9 * c;
    let mut rows = patch_grad.chunks_exact(k);
    for img in out.chunks_exact_mut(input.len()).take(n) {
        for oy in 0..output.h {
            for ox in 0..output.w {
                let Some(row) = rows.next() else { return };
                for ky in 0..3 {
                    for kx in 0..3 {
                        if let Some(px) = tap(input, stride, oy, ox, ky, kx) {
                            let dst = &mut img[px * c..][..c];
                            dst.iter_mut().zip(&row[(ky * 3 + kx) * c..][..c]).for_each(|(d, s)| *d += s);
                        }
                    }
                }
            }
        }
    }
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
    // `max` would turn NaN into 0 and hide a diverging run; keep NaN, as candle's relu does.
    // An unconditional store of a select vectorises; a conditional store
    // branched on every value's sign and took half the step. NaN stays NaN
    // (`max(0.0)` would zero it), so a diverging run shows in its loss.
    v.iter_mut().for_each(|x| *x = if *x < 0.0 { 0.0 } else { *x });
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
        Architecture {
            input,
            n_classes: 5,
            layers: Layers::Cnn { channels: channels.to_vec(), downsample, residual: false, batch_norm: false },
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
        let (loss, grads) = step.loss_and_gradients(model, x, y).unwrap();
        let by_id = |var: &Var| {
            model.parameters().iter().find(|(_, v)| v.id() == var.id()).map(|(n, _)| n.clone()).unwrap()
        };
        let mut named: Vec<(String, Vec<f32>)> =
            grads.iter().map(|(v, g)| (by_id(v), g.flatten_all().unwrap().to_vec1().unwrap())).collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        (loss, named)
    }

    /// The hand-written pass gives candle's loss and gradients on strided
    /// and pooled nets, one and three input channels, odd grid sizes (the
    /// pool drops a row), and batches that fill one chunk, several chunks,
    /// or leave a partial last chunk.
    #[test]
    fn gradients_match_candle_autograd() {
        let cases = [
            (ImageShape { channels: 1, height: 28, width: 28 }, vec![4, 6, 6], Downsample::Strided, 45),
            (ImageShape { channels: 3, height: 9, width: 7 }, vec![5, 4], Downsample::AvgPool, 70),
            (ImageShape { channels: 2, height: 6, width: 6 }, vec![3], Downsample::Strided, 1),
            (ImageShape { channels: 1, height: 8, width: 8 }, vec![4], Downsample::AvgPool, CHUNK_IMAGES),
        ];
        for (i, (shape, channels, down, n)) in cases.into_iter().enumerate() {
            let arch = cnn(shape, &channels, down);
            let model = Model::new(&arch, &mut stream(i as u64, "init"), &Device::Cpu).unwrap();
            let mut step = CnnStep::new(&model).expect("a plain CNN is covered");
            let (x, y) = batch(n, shape.len(), i as u64);
            let (want_loss, want) = candle_gradients(&model, &x, &y);
            let (loss, got) = hand_gradients(&mut step, &model, &x, &y);
            assert!((loss - want_loss).abs() < 1e-5, "case {i}: loss {loss} vs {want_loss}");
            assert_eq!(got.len(), want.len(), "case {i}");
            for ((name, g), (wname, w)) in got.iter().zip(&want) {
                assert_eq!(name, wname);
                let scale = w.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-3);
                let worst = g.iter().zip(w).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
                assert!(worst <= 2e-5 * scale, "case {i} {name}: max difference {worst} (scale {scale})");
            }
        }
    }

    /// Training through [`crate::TrainStep`] follows candle's training within
    /// float rounding over several SGD-momentum steps.
    #[test]
    fn training_matches_candle_training() {
        let arch = cnn(ImageShape { channels: 1, height: 12, width: 12 }, &[4, 8], Downsample::Strided);
        let cfg = SgdConfig { lr: 0.05, momentum: 0.9, weight_decay: 1e-3, nesterov: true };
        let a = Model::new(&arch, &mut stream(3, "init"), &Device::Cpu).unwrap();
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
        let start = Model::new(&arch, &mut stream(3, "init"), &Device::Cpu).unwrap().flat_weights().unwrap();
        let travelled = wa.iter().zip(&start).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        assert!(travelled > 1e-3, "training moved the weights by only {travelled}");
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
        let arch = cnn(ImageShape { channels: 1, height: 28, width: 28 }, &[8, 16], Downsample::Strided);
        let model = Model::new(&arch, &mut stream(5, "init"), &Device::Cpu).unwrap();
        let (x, y) = batch(150, 784, 5);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut step = CnnStep::new(&model).unwrap();
            pool.install(|| hand_gradients(&mut step, &model, &x, &y))
        };
        let (one, three) = (run(1), run(3));
        assert_eq!(one.0.to_bits(), three.0.to_bits());
        for ((name, a), (_, b)) in one.1.iter().zip(&three.1) {
            assert!(a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits()), "{name}");
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

    /// Nets the pass does not cover train through candle.
    #[test]
    fn only_plain_cnns_on_the_cpu_are_covered() {
        let img = ImageShape { channels: 1, height: 8, width: 8 };
        let build = |arch: &Architecture| Model::new(arch, &mut stream(0, "init"), &Device::Cpu).unwrap();
        assert!(CnnStep::new(&build(&Architecture::mlp(img, &[8], 5))).is_none());
        for (residual, batch_norm) in [(true, false), (false, true)] {
            let arch = Architecture {
                input: img,
                n_classes: 5,
                layers: Layers::Cnn { channels: vec![4], downsample: Downsample::Strided, residual, batch_norm },
            };
            assert!(CnnStep::new(&build(&arch)).is_none(), "residual {residual}, batch norm {batch_norm}");
        }
        assert!(CnnStep::new(&build(&cnn(img, &[4], Downsample::Strided))).is_some());
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
        let mut nan = x.clone();
        nan[7] = f32::NAN;
        let (loss, _) = step.loss_and_gradients(&model, &nan, &[0, 1, 2]).unwrap();
        assert!(loss.is_nan());
    }
}
