//! Back-propagated gradients against central finite differences.

use basin_data::{rng::stream, ImageShape};
use basin_train::{Architecture, Downsample, Layers, Mode, Model};
use candle_core::{Device, Tensor};
use rand::Rng;

fn loss(model: &Model, x: &Tensor, y: &Tensor) -> Tensor {
    let logits = model.forward(x, Mode::TRAIN).unwrap();
    candle_nn::loss::cross_entropy(&logits, y).unwrap()
}

/// Compares ∂L/∂θ_k from `backward` with (L(θ + h·e_k) − L(θ − h·e_k)) / 2h
/// for `n_checks` coordinates spread over every parameter tensor.
fn check(arch: &Architecture, n_rows: usize, seed: u64) {
    let dev = Device::Cpu;
    let model = Model::new(arch, &mut stream(seed, "init"), &dev).unwrap();
    let mut rng = stream(seed, "test-data");
    let d = arch.input.len();
    let xs: Vec<f32> = (0..n_rows * d).map(|_| rng.random_range(-1.0..1.0)).collect();
    let ys: Vec<u32> = (0..n_rows).map(|i| (i % arch.n_classes) as u32).collect();
    let x = Tensor::from_vec(xs, (n_rows, d), &dev).unwrap();
    let y = Tensor::from_vec(ys, n_rows, &dev).unwrap();

    let grads = loss(&model, &x, &y).backward().unwrap();
    let mut analytic = Vec::new();
    for v in model.parameters().values() {
        analytic.extend(grads.get(v.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap());
    }
    let theta = model.flat_weights().unwrap();
    assert_eq!(analytic.len(), theta.len());

    let h = 1e-3f32;
    let mut checked = 0;
    for p in model.parameter_layout() {
        for j in 0..3.min(p.len()) {
            let k = p.offset + (j * 7919) % p.len();
            let mut t = theta.clone();
            t[k] = theta[k] + h;
            model.set_flat_weights(&t).unwrap();
            let lp = loss(&model, &x, &y).to_scalar::<f32>().unwrap();
            t[k] = theta[k] - h;
            model.set_flat_weights(&t).unwrap();
            let lm = loss(&model, &x, &y).to_scalar::<f32>().unwrap();
            let numeric = (lp - lm) / (2.0 * h);
            let a = analytic[k];
            let tol = 2e-3 + 2e-2 * a.abs();
            assert!((numeric - a).abs() < tol, "{} [{k}]: backprop {a}, finite difference {numeric}", p.name);
            checked += 1;
        }
    }
    model.set_flat_weights(&theta).unwrap();
    assert!(checked >= model.parameter_layout().len());
}

#[test]
fn mlp_gradients_match_finite_differences() {
    check(&Architecture::mlp(ImageShape::flat(6), &[5, 4], 3), 8, 1);
}

#[test]
fn batchnorm_mlp_gradients_match_finite_differences() {
    let arch = Architecture {
        input: ImageShape::flat(6),
        n_classes: 3,
        layers: Layers::Mlp { hidden: vec![5], batch_norm: true },
    };
    check(&arch, 8, 2);
}

#[test]
fn residual_batchnorm_cnn_gradients_match_finite_differences() {
    let arch = Architecture {
        input: ImageShape { channels: 2, height: 6, width: 6 },
        n_classes: 3,
        layers: Layers::Cnn { channels: vec![3, 4], downsample: Downsample::Strided, residual: true, batch_norm: true },
    };
    check(&arch, 4, 3);
}

#[test]
fn avgpool_cnn_gradients_match_finite_differences() {
    let arch = Architecture {
        // 7 → 3 → 1: odd sizes, where the pool drops a row and a column.
        input: ImageShape { channels: 1, height: 7, width: 7 },
        n_classes: 3,
        layers: Layers::Cnn { channels: vec![3, 2], downsample: Downsample::AvgPool, residual: false, batch_norm: false },
    };
    check(&arch, 4, 4);
}
