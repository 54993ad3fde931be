//! A net built from an [`Architecture`]: its parameters (candle `Var`s, kept
//! sorted by name), its BatchNorm running statistics, and its forward pass.
//!
//! # Flattened order
//! Every vector of weights basin writes (trajectories, directions) is the
//! concatenation of the trainable parameters **sorted by name** (byte order,
//! so `fc10` sorts before `fc2`), each flattened row-major in its PyTorch
//! layout (`out × in` for linear layers, `out × in × kh × kw` for
//! convolutions). BatchNorm running statistics are buffers, not parameters:
//! they are saved in checkpoints but not in the flattened vector.
//! [`Model::parameter_layout`] gives the `(name, shape, offset)` of each piece.

use std::collections::BTreeMap;

use candle_core::{DType, Device, Tensor, Var, D};
use rand::Rng;
use rand_distr::{Distribution, Uniform};
use serde::{Deserialize, Serialize};

use crate::arch::{Architecture, Downsample, Layers};
use crate::error::{invalid, TrainError, TrainResult};
use crate::fused;

/// BatchNorm's ε, PyTorch's default.
pub(crate) const BN_EPS: f64 = 1e-5;
/// BatchNorm's running-statistics momentum, PyTorch's default.
pub(crate) const BN_MOMENTUM: f64 = 0.1;

/// Where one parameter tensor sits in the flattened weight vector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamInfo {
    /// Parameter name, e.g. `fc0.weight`.
    pub name: String,
    /// Shape in PyTorch layout.
    pub shape: Vec<usize>,
    /// Offset of its first value in the flattened vector.
    pub offset: usize,
}

impl ParamInfo {
    /// Number of values.
    #[must_use]
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// `true` for a parameter without values (never built by basin).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How a forward pass treats BatchNorm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Normalise with the running statistics; nothing changes.
    Eval,
    /// Normalise with the batch statistics and update the running ones with
    /// `running ← (1 − momentum)·running + momentum·batch` (PyTorch's rule,
    /// unbiased batch variance). Training uses momentum 0.1.
    Train {
        /// Weight of the batch statistics in the update.
        bn_momentum: f64,
    },
}

impl Mode {
    /// Training mode with PyTorch's default BatchNorm momentum.
    pub const TRAIN: Self = Self::Train { bn_momentum: BN_MOMENTUM };
}

/// One step of the forward program compiled from the architecture.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// Reshape flat rows to `N × C × H × W`.
    ToImage { c: usize, h: usize, w: usize },
    /// `x Wᵀ + b`.
    Linear(String),
    /// 3×3 convolution, padding 1.
    Conv { name: String, stride: usize },
    /// BatchNorm over all but the channel axis.
    BatchNorm(String),
    Relu,
    AvgPool2,
    Flatten,
    /// ResNet basic block.
    Residual { name: String, batch_norm: bool },
}

/// A net: architecture, parameters and BatchNorm buffers on one device.
#[derive(Debug, Clone)]
pub struct Model {
    arch: Architecture,
    program: Vec<Op>,
    params: BTreeMap<String, Var>,
    buffers: BTreeMap<String, Var>,
    device: Device,
}

/// Shapes of all parameters and buffers, and the forward program.
struct Blueprint {
    program: Vec<Op>,
    /// `(name, shape, fan_in)` in construction order; `fan_in = 0` marks a
    /// BatchNorm parameter or buffer (constant initialisation).
    params: Vec<(String, Vec<usize>, usize)>,
    buffers: Vec<(String, Vec<usize>)>,
}

impl Blueprint {
    fn linear(&mut self, name: String, fan_in: usize, out: usize) {
        self.params.push((format!("{name}.weight"), vec![out, fan_in], fan_in));
        self.params.push((format!("{name}.bias"), vec![out], fan_in));
        self.program.push(Op::Linear(name));
    }

    fn conv(&mut self, name: String, c_in: usize, c_out: usize, stride: usize) {
        let fan_in = c_in * 9;
        self.params.push((format!("{name}.weight"), vec![c_out, c_in, 3, 3], fan_in));
        self.params.push((format!("{name}.bias"), vec![c_out], fan_in));
        self.program.push(Op::Conv { name, stride });
    }

    fn batch_norm(&mut self, name: String, c: usize, push_op: bool) {
        self.params.push((format!("{name}.weight"), vec![c], 0));
        self.params.push((format!("{name}.bias"), vec![c], 0));
        self.buffers.push((format!("{name}.running_mean"), vec![c]));
        self.buffers.push((format!("{name}.running_var"), vec![c]));
        if push_op {
            self.program.push(Op::BatchNorm(name));
        }
    }

    fn new(arch: &Architecture) -> Self {
        let mut bp = Self { program: Vec::new(), params: Vec::new(), buffers: Vec::new() };
        match &arch.layers {
            Layers::Mlp { hidden, batch_norm } => {
                let mut width = arch.input.len();
                for (i, &h) in hidden.iter().enumerate() {
                    bp.linear(format!("fc{i}"), width, h);
                    if *batch_norm {
                        bp.batch_norm(format!("bn{i}"), h, true);
                    }
                    bp.program.push(Op::Relu);
                    width = h;
                }
                bp.linear(format!("fc{}", hidden.len()), width, arch.n_classes);
            }
            Layers::Cnn { channels, downsample, residual, batch_norm } => {
                let s = arch.input;
                bp.program.push(Op::ToImage { c: s.channels, h: s.height, w: s.width });
                let mut c_in = s.channels;
                let stride = if *downsample == Downsample::Strided { 2 } else { 1 };
                for (i, &c) in channels.iter().enumerate() {
                    bp.conv(format!("conv{i}"), c_in, c, stride);
                    if *batch_norm {
                        bp.batch_norm(format!("bn{i}"), c, true);
                    }
                    bp.program.push(Op::Relu);
                    if *downsample == Downsample::AvgPool {
                        bp.program.push(Op::AvgPool2);
                    }
                    if *residual {
                        let name = format!("res{i}");
                        let fan_in = c * 9;
                        for half in ["a", "b"] {
                            bp.params.push((format!("{name}.conv_{half}.weight"), vec![c, c, 3, 3], fan_in));
                            bp.params.push((format!("{name}.conv_{half}.bias"), vec![c], fan_in));
                            if *batch_norm {
                                bp.batch_norm(format!("{name}.bn_{half}"), c, false);
                            }
                        }
                        bp.program.push(Op::Residual { name, batch_norm: *batch_norm });
                    }
                    c_in = c;
                }
                let (h, w) = arch.cnn_output_hw(channels.len());
                bp.program.push(Op::Flatten);
                bp.linear("fc".into(), c_in * h * w, arch.n_classes);
            }
        }
        bp
    }
}

impl Model {
    /// Builds a net with PyTorch's default initialisation drawn from `rng`:
    /// weights and biases of linear and convolution layers uniform in
    /// `±1/√fan_in` (what `kaiming_uniform_(a=√5)` gives), BatchNorm weight 1,
    /// bias 0, running mean 0, running variance 1. Values are drawn in
    /// construction order (layer by layer, weight then bias).
    ///
    /// # Arguments
    /// * `arch` — the architecture.
    /// * `rng` — the seeded stream (basin uses `stream(seed, "init")`).
    /// * `device` — where the tensors live.
    ///
    /// # Errors
    /// [`TrainError::InvalidParameter`] for an invalid architecture.
    ///
    /// # Example
    /// ```
    /// use basin_train::{Architecture, Model};
    /// use basin_data::{rng::stream, ImageShape};
    /// let arch = Architecture::mlp(ImageShape::flat(4), &[3], 2);
    /// let m = Model::new(&arch, &mut stream(0, "init"), &candle_core::Device::Cpu).unwrap();
    /// assert_eq!(m.n_parameters(), 4 * 3 + 3 + 3 * 2 + 2);
    /// let bound = 1.0 / 2.0; // 1/√fan_in of fc0
    /// let w = m.flat_weights().unwrap();
    /// assert!(w[..15].iter().all(|v| v.abs() <= bound)); // fc0.bias, fc0.weight
    /// ```
    pub fn new<R: Rng + ?Sized>(arch: &Architecture, rng: &mut R, device: &Device) -> TrainResult<Self> {
        arch.validate()?;
        let bp = Blueprint::new(arch);
        let mut params = BTreeMap::new();
        for (name, shape, fan_in) in &bp.params {
            let n: usize = shape.iter().product();
            let values: Vec<f32> = if *fan_in == 0 {
                let one = name.ends_with(".weight");
                vec![if one { 1.0 } else { 0.0 }; n]
            } else {
                #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
                let bound = (1.0 / (*fan_in as f64).sqrt()) as f32;
                let dist = Uniform::new_inclusive(-bound, bound)
                    .map_err(|e| invalid("init", format!("{name}: {e}")))?;
                (0..n).map(|_| dist.sample(rng)).collect()
            };
            params.insert(name.clone(), Var::from_slice(&values, shape.as_slice(), device)?);
        }
        let mut buffers = BTreeMap::new();
        for (name, shape) in &bp.buffers {
            let fill = if name.ends_with("running_var") { 1.0f32 } else { 0.0 };
            let n: usize = shape.iter().product();
            buffers.insert(name.clone(), Var::from_slice(&vec![fill; n], shape.as_slice(), device)?);
        }
        Ok(Self { arch: arch.clone(), program: bp.program, params, buffers, device: device.clone() })
    }

    /// Builds a net from named tensors (a checkpoint), checking that every
    /// parameter and buffer of `arch` is present with the right shape.
    ///
    /// # Errors
    /// [`TrainError::InvalidParameter`] (`tensors`) naming the missing or
    /// mis-shaped tensor.
    pub fn from_tensors(arch: &Architecture, tensors: &BTreeMap<String, Tensor>, device: &Device) -> TrainResult<Self> {
        arch.validate()?;
        let bp = Blueprint::new(arch);
        let take = |name: &str, shape: &[usize]| -> TrainResult<Var> {
            let t = tensors.get(name).ok_or_else(|| invalid("tensors", format!("missing tensor `{name}`")))?;
            if t.dims() != shape {
                return Err(invalid("tensors", format!("`{name}` has shape {:?}, expected {shape:?}", t.dims())));
            }
            Ok(Var::from_tensor(&t.to_dtype(DType::F32)?.to_device(device)?)?)
        };
        let mut params = BTreeMap::new();
        for (name, shape, _) in &bp.params {
            params.insert(name.clone(), take(name, shape)?);
        }
        let mut buffers = BTreeMap::new();
        for (name, shape) in &bp.buffers {
            buffers.insert(name.clone(), take(name, shape)?);
        }
        Ok(Self { arch: arch.clone(), program: bp.program, params, buffers, device: device.clone() })
    }

    /// The architecture.
    #[must_use]
    pub fn architecture(&self) -> &Architecture {
        &self.arch
    }

    /// The device holding the tensors.
    #[must_use]
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// `(name, shape, offset)` of each trainable parameter in the flattened
    /// order (sorted by name).
    #[must_use]
    pub fn parameter_layout(&self) -> Vec<ParamInfo> {
        let mut offset = 0;
        self.params
            .iter()
            .map(|(name, v)| {
                let info = ParamInfo { name: name.clone(), shape: v.dims().to_vec(), offset };
                offset += info.len();
                info
            })
            .collect()
    }

    /// Total number of trainable values.
    #[must_use]
    pub fn n_parameters(&self) -> usize {
        self.params.values().map(|v| v.elem_count()).sum()
    }

    /// The trainable parameters, sorted by name.
    #[must_use]
    pub fn parameters(&self) -> &BTreeMap<String, Var> {
        &self.params
    }

    /// The BatchNorm running statistics, sorted by name (empty without BatchNorm).
    #[must_use]
    pub fn buffers(&self) -> &BTreeMap<String, Var> {
        &self.buffers
    }

    /// `true` when the net has BatchNorm layers.
    #[must_use]
    pub fn has_batch_norm(&self) -> bool {
        !self.buffers.is_empty()
    }

    /// The parameters as `Var`s in the flattened order (for an optimizer).
    #[must_use]
    pub fn vars(&self) -> Vec<Var> {
        self.params.values().cloned().collect()
    }

    /// All parameters and buffers by name (what a checkpoint stores).
    #[must_use]
    pub fn named_tensors(&self) -> BTreeMap<String, Tensor> {
        self.params
            .iter()
            .chain(&self.buffers)
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect()
    }

    /// A deep copy whose tensors do not share storage with `self`.
    ///
    /// # Errors
    /// A candle error when copying fails.
    pub fn deep_clone(&self) -> TrainResult<Self> {
        let copy = |m: &BTreeMap<String, Var>| -> TrainResult<BTreeMap<String, Var>> {
            m.iter().map(|(k, v)| Ok((k.clone(), Var::from_tensor(&v.as_tensor().copy()?)?))).collect()
        };
        Ok(Self {
            arch: self.arch.clone(),
            program: self.program.clone(),
            params: copy(&self.params)?,
            buffers: copy(&self.buffers)?,
            device: self.device.clone(),
        })
    }

    /// The trainable parameters flattened in the documented order.
    ///
    /// # Errors
    /// A candle error when reading the tensors fails.
    pub fn flat_weights(&self) -> TrainResult<Vec<f32>> {
        let mut out = Vec::with_capacity(self.n_parameters());
        for v in self.params.values() {
            out.extend(v.flatten_all()?.to_vec1::<f32>()?);
        }
        Ok(out)
    }

    /// Overwrites the trainable parameters from a flattened vector.
    ///
    /// # Errors
    /// [`TrainError::InvalidParameter`] (`weights`) when the length differs
    /// from [`Model::n_parameters`].
    pub fn set_flat_weights(&self, weights: &[f32]) -> TrainResult<()> {
        if weights.len() != self.n_parameters() {
            return Err(invalid(
                "weights",
                format!("{} values for a net with {} parameters", weights.len(), self.n_parameters()),
            ));
        }
        let mut offset = 0;
        for v in self.params.values() {
            let n = v.elem_count();
            v.set(&Tensor::from_slice(&weights[offset..offset + n], v.shape(), &self.device)?)?;
            offset += n;
        }
        Ok(())
    }

    /// Resets BatchNorm running statistics to mean 0, variance 1.
    ///
    /// # Errors
    /// A candle error when writing fails.
    pub fn reset_bn_stats(&self) -> TrainResult<()> {
        for (name, v) in &self.buffers {
            let t = if name.ends_with("running_var") { v.ones_like()? } else { v.zeros_like()? };
            v.set(&t)?;
        }
        Ok(())
    }

    /// The parameter `name`, or an error naming it.
    pub(crate) fn param(&self, name: &str) -> TrainResult<&Var> {
        self.params
            .get(name)
            .ok_or_else(|| TrainError::InvalidParameter { name: "model", reason: format!("no parameter `{name}`") })
    }

    /// The BatchNorm buffer `name`, or an error naming it.
    pub(crate) fn buffer(&self, name: &str) -> TrainResult<&Var> {
        self.buffers
            .get(name)
            .ok_or_else(|| TrainError::InvalidParameter { name: "model", reason: format!("no buffer `{name}`") })
    }

    /// The compiled forward program (for the hand-written CPU step).
    pub(crate) fn program(&self) -> &[Op] {
        &self.program
    }

    /// Logits for a batch of flattened inputs (`N × input.len()`).
    ///
    /// # Errors
    /// [`TrainError::Data`] when the input width does not match; candle errors.
    pub fn forward(&self, x: &Tensor, mode: Mode) -> TrainResult<Tensor> {
        let (_, width) = x.dims2()?;
        if width != self.arch.input.len() {
            return Err(TrainError::Data {
                dataset: "input".into(),
                reason: format!("{width} features, the net expects {}", self.arch.input.len()),
            });
        }
        let mut h = x.clone();
        for op in &self.program {
            h = match op {
                Op::ToImage { c, h: hh, w } => h.reshape((h.dim(0)?, *c, *hh, *w))?,
                Op::Linear(name) => self.linear(&h, name)?,
                Op::Conv { name, stride } => self.conv(&h, name, *stride)?,
                Op::BatchNorm(name) => self.batch_norm(&h, name, mode)?,
                Op::Relu => fused::relu(&h)?,
                Op::AvgPool2 => avg_pool2(&h)?,
                Op::Flatten => h.flatten_from(1)?,
                Op::Residual { name, batch_norm } => {
                    let mut r = self.conv(&h, &format!("{name}.conv_a"), 1)?;
                    if *batch_norm {
                        r = self.batch_norm(&r, &format!("{name}.bn_a"), mode)?;
                    }
                    r = self.conv(&fused::relu(&r)?, &format!("{name}.conv_b"), 1)?;
                    if *batch_norm {
                        r = self.batch_norm(&r, &format!("{name}.bn_b"), mode)?;
                    }
                    fused::relu(&(h + r)?)?
                }
            };
        }
        Ok(h)
    }

    fn linear(&self, x: &Tensor, name: &str) -> TrainResult<Tensor> {
        let w = self.param(&format!("{name}.weight"))?;
        let b = self.param(&format!("{name}.bias"))?;
        Ok(fused::linear(x, w, b)?)
    }

    fn conv(&self, x: &Tensor, name: &str, stride: usize) -> TrainResult<Tensor> {
        let w = self.param(&format!("{name}.weight"))?;
        let b = self.param(&format!("{name}.bias"))?;
        Ok(fused::conv3x3(x, w, b, stride)?)
    }

    /// BatchNorm over every axis but 1 (channels / features).
    fn batch_norm(&self, x: &Tensor, name: &str, mode: Mode) -> TrainResult<Tensor> {
        let c = x.dim(1)?;
        let bshape: Vec<usize> = (0..x.rank()).map(|d| if d == 1 { c } else { 1 }).collect();
        let weight = self.param(&format!("{name}.weight"))?.reshape(bshape.as_slice())?;
        let bias = self.param(&format!("{name}.bias"))?.reshape(bshape.as_slice())?;
        let rm = self.buffer(&format!("{name}.running_mean"))?;
        let rv = self.buffer(&format!("{name}.running_var"))?;
        let (mean, var) = match mode {
            Mode::Eval => (rm.as_tensor().reshape(bshape.as_slice())?, rv.as_tensor().reshape(bshape.as_slice())?),
            Mode::Train { bn_momentum } => {
                let axes: Vec<usize> = (0..x.rank()).filter(|&d| d != 1).collect();
                let count = x.elem_count() / c;
                if count < 2 {
                    return Err(TrainError::Data {
                        dataset: "batch".into(),
                        reason: format!("BatchNorm `{name}` needs more than one value per channel in training mode"),
                    });
                }
                let mean = x.mean_keepdim(axes.as_slice())?;
                let var = x.broadcast_sub(&mean)?.sqr()?.mean_keepdim(axes.as_slice())?;
                // Running statistics use the unbiased variance, as PyTorch does.
                #[allow(clippy::cast_precision_loss)]
                let unbias = count as f64 / (count - 1) as f64;
                let m = bn_momentum;
                rm.set(&rm.as_tensor().affine(1.0 - m, 0.0)?.add(&mean.detach().flatten_all()?.affine(m, 0.0)?)?)?;
                rv.set(&rv.as_tensor().affine(1.0 - m, 0.0)?.add(&var.detach().flatten_all()?.affine(m * unbias, 0.0)?)?)?;
                (mean, var)
            }
        };
        let xhat = x.broadcast_sub(&mean)?.broadcast_div(&(var + BN_EPS)?.sqrt()?)?;
        Ok(xhat.broadcast_mul(&weight)?.broadcast_add(&bias)?)
    }
}

/// 2×2 average pool, dropping an odd last row/column as PyTorch does. The
/// crop is explicit because candle 0.11's `avg_pool2d` backward spreads the
/// gradient over the dropped row/column too (it upsamples to the input size).
fn avg_pool2(x: &Tensor) -> candle_core::Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    let (h2, w2) = (h / 2 * 2, w / 2 * 2);
    if (h2, w2) == (h, w) {
        x.avg_pool2d(2)
    } else {
        x.narrow(2, 0, h2)?.narrow(3, 0, w2)?.avg_pool2d(2)
    }
}

/// Class with the largest logit for each row.
pub(crate) fn predictions(logits: &Tensor) -> TrainResult<Vec<u32>> {
    Ok(logits.argmax(D::Minus1)?.to_vec1::<u32>()?)
}
