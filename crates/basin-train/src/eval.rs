//! Cross-entropy loss, accuracy, and evaluation of a net on a data set.

use basin_data::Dataset;
use candle_core::{Device, Tensor};

use crate::cnn_cpu::CnnStep;
use crate::error::{TrainError, TrainResult};
use crate::model::{predictions, Mode, Model};

/// Rows evaluated per forward pass (bounds memory, not results).
const EVAL_CHUNK: usize = 1024;

/// Mean cross-entropy loss and accuracy of a net on a data set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    /// Mean cross-entropy (natural log), NaN/inf when the net diverged.
    pub loss: f64,
    /// Fraction of rows whose largest logit is the label.
    pub accuracy: f64,
}

/// Mean cross-entropy of `logits` (`N × classes`) against `labels` (`u32`),
/// the loss basin trains with: a fused kernel with a hand-written backward
/// pass on the CPU, candle's `cross_entropy` elsewhere.
///
/// # Errors
/// Candle errors (shape mismatch, a label out of range on the CPU).
///
/// # Example
/// ```
/// use basin_train::cross_entropy;
/// use candle_core::{Device, Tensor};
/// let z = Tensor::new(&[[0.0f32, 0.0], [2.0, 0.0]], &Device::Cpu).unwrap();
/// let y = Tensor::new(&[0u32, 0], &Device::Cpu).unwrap();
/// let loss = cross_entropy(&z, &y).unwrap().to_scalar::<f32>().unwrap();
/// let expected = (2f32.ln() + (1.0 + (-2f32).exp()).ln()) / 2.0;
/// assert!((loss - expected).abs() < 1e-6);
/// ```
pub fn cross_entropy(logits: &Tensor, labels: &Tensor) -> candle_core::Result<Tensor> {
    crate::fused::cross_entropy(logits, labels)
}

/// Checks that a data set fits the net.
pub(crate) fn check_fits(model: &Model, data: &Dataset) -> TrainResult<()> {
    let arch = model.architecture();
    let bad = |reason: String| Err(TrainError::Data { dataset: data.name.clone(), reason });
    if data.features.ncols() != arch.input.len() {
        return bad(format!("{} features per row, the net takes {}", data.features.ncols(), arch.input.len()));
    }
    if let Some((row, &l)) = data.labels.iter().enumerate().find(|(_, &l)| l as usize >= arch.n_classes) {
        return bad(format!("row {row} has label {l}, the net has {} classes", arch.n_classes));
    }
    Ok(())
}

/// Copies rows `idx` of `data` into `buf` (reused between calls).
pub(crate) fn gather_rows(data: &Dataset, idx: &[usize], buf: &mut Vec<f32>, labels: &mut Vec<u32>) {
    let d = data.features.ncols();
    buf.clear();
    labels.clear();
    for &i in idx {
        let row = data.features.row(i);
        match row.as_slice() {
            Some(s) => buf.extend_from_slice(s),
            None => buf.extend(row.iter().copied()),
        }
        labels.push(data.labels[i]);
    }
    debug_assert_eq!(buf.len(), idx.len() * d);
}

pub(crate) fn to_tensors(x: &[f32], y: &[u32], d: usize, device: &Device) -> TrainResult<(Tensor, Tensor)> {
    let n = y.len();
    Ok((Tensor::from_slice(x, (n, d), device)?, Tensor::from_slice(y, n, device)?))
}

/// Loss and accuracy of `model` on `data`, BatchNorm in evaluation mode.
/// CNNs on the CPU run the hand-written forward pass of [`crate::TrainStep`].
///
/// # Arguments
/// * `model` — the net.
/// * `data` — rows and labels; the width must match the net's input.
///
/// # Errors
/// [`TrainError::Data`] when the data set is empty or does not fit the net.
///
/// # Example
/// ```
/// use basin_train::{evaluate, Architecture, Model};
/// use basin_data::{rng::stream, Dataset, ImageShape};
/// use ndarray::array;
/// let arch = Architecture::mlp(ImageShape::flat(2), &[], 2);
/// let m = Model::new(&arch, &mut stream(0, "init"), &candle_core::Device::Cpu).unwrap();
/// m.set_flat_weights(&[0.0, 0.0, 1.0, 0.0, 0.0, 1.0]).unwrap(); // fc0.bias, fc0.weight = I
/// let ds = Dataset::new("toy", array![[2.0f32, 0.0], [0.0, 2.0]], vec![0, 1], ImageShape::flat(2), 2).unwrap();
/// let m = evaluate(&m, &ds).unwrap();
/// assert_eq!(m.accuracy, 1.0);
/// assert!((m.loss - (1.0 + (-2.0f64).exp()).ln()).abs() < 1e-6);
/// ```
pub fn evaluate(model: &Model, data: &Dataset) -> TrainResult<Metrics> {
    check_fits(model, data)?;
    if data.is_empty() {
        return Err(TrainError::Data { dataset: data.name.clone(), reason: "no rows to evaluate".into() });
    }
    let d = data.features.ncols();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let (mut loss_sum, mut correct) = (0.0f64, 0usize);
    let idx: Vec<usize> = (0..data.len()).collect();
    let mut cnn = CnnStep::new(model);
    for chunk in idx.chunks(EVAL_CHUNK) {
        gather_rows(data, chunk, &mut x, &mut y);
        if let Some(cnn) = &mut cnn {
            let (loss, right) = cnn.loss_sum_and_correct(model, &x, &y)?;
            loss_sum += loss;
            correct += right;
            continue;
        }
        let (xt, yt) = to_tensors(&x, &y, d, model.device())?;
        let logits = model.forward(&xt, Mode::Eval)?;
        let loss = f64::from(cross_entropy(&logits, &yt)?.to_scalar::<f32>()?);
        #[allow(clippy::cast_precision_loss)]
        {
            loss_sum += loss * chunk.len() as f64;
        }
        correct += predictions(&logits)?.iter().zip(&y).filter(|(p, l)| p == l).count();
    }
    #[allow(clippy::cast_precision_loss)]
    let n = data.len() as f64;
    #[allow(clippy::cast_precision_loss)]
    Ok(Metrics { loss: loss_sum / n, accuracy: correct as f64 / n })
}
