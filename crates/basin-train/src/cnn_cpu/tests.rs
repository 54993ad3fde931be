//! The hand-written pass against candle's autograd.

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
