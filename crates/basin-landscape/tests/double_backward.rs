//! Hessian-vector products by double backward against JAX's exact Hessians
//! of a tiny MLP (tests/reference/make_hessian.py), two tiny CNNs and a
//! BatchNorm MLP (tests/reference/make_hessian_cnn.py: strided with
//! BatchNorm and a residual block; average-pooled), against central
//! differences, and against a dense Hessian assembled column by column
//! (nalgebra).
//!
//! This test binary has its own `main` (no libtest harness) because candle
//! reads `CANDLE_GRAD_DO_NOT_DETACH` once per thread: the variable must be in
//! the environment before any thread starts, which only `main` can promise.

use std::collections::BTreeMap;

use basin_data::{rng::stream, Dataset, ImageShape};
use basin_landscape::hessian::autodiff::{double_backward_available, logits};
use basin_landscape::hessian::estimators::{analyze, HessianConfig};
use basin_landscape::hessian::hvp::{HvpMethod, LossFunction};
use basin_train::{Architecture, Downsample, Layers, Mode, Model};
use candle_core::{Device, Tensor};
use nalgebra::{DMatrix, SymmetricEigen};
use ndarray::Array2;
use serde_json::Value;

fn reference_file(name: &str) -> Value {
    let text = std::fs::read_to_string(format!(
        "{}/tests/reference/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn rows(r: &Value, width: usize, shape: ImageShape) -> Dataset {
    let x: Vec<f32> = r["x"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| floats(row).into_iter().map(|v| v as f32))
        .collect();
    let n = x.len() / width;
    let y: Vec<u32> = r["y"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    Dataset::new(
        "ref",
        Array2::from_shape_vec((n, width), x).unwrap(),
        y,
        shape,
        3,
    )
    .unwrap()
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn norm(a: &[f64]) -> f64 {
    a.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// The 4-5-3 ReLU MLP of make_hessian.py and its data.
fn mlp(file: &str) -> (Value, Model, Dataset) {
    let r = reference_file(file);
    let model = Model::new(
        &Architecture::mlp(ImageShape::flat(4), &[5], 3),
        &mut stream(0, "init"),
        &Device::Cpu,
    )
    .unwrap();
    let theta: Vec<f32> = floats(&r["theta"]).iter().map(|&x| x as f32).collect();
    model.set_flat_weights(&theta).unwrap();
    let data = rows(&r, 4, ImageShape::flat(4));
    (r, model, data)
}

/// The nets of make_hessian_cnn.py.
const NETS: [&str; 3] = ["cnn_bn_res", "cnn_pool", "mlp_bn"];

/// One net of make_hessian_cnn.py, built from its named tensors.
fn cnn(name: &str) -> (Value, Model, Dataset) {
    let all = reference_file("hessian_cnn.json");
    let r = all[name].clone();
    let (shape, layers) = match name {
        "cnn_bn_res" => (
            ImageShape {
                channels: 1,
                height: 5,
                width: 5,
            },
            Layers::Cnn {
                channels: vec![2],
                downsample: Downsample::Strided,
                residual: true,
                batch_norm: true,
            },
        ),
        "mlp_bn" => (ImageShape::flat(4), Layers::Mlp { hidden: vec![5], batch_norm: true }),
        "cnn_pool" => (
            ImageShape {
                channels: 1,
                height: 7,
                width: 7,
            },
            Layers::Cnn {
                channels: vec![2, 3],
                downsample: Downsample::AvgPool,
                residual: false,
                batch_norm: false,
            },
        ),
        other => panic!("no net {other}"),
    };
    let arch = Architecture {
        input: shape,
        n_classes: 3,
        layers,
    };
    // Shapes from a freshly built net of the same architecture.
    let template = Model::new(&arch, &mut stream(0, "init"), &Device::Cpu).unwrap();
    let mut tensors = BTreeMap::new();
    for (n, t) in template.named_tensors() {
        let vals: Vec<f32> = floats(&r["tensors"][&n])
            .iter()
            .map(|&x| x as f32)
            .collect();
        tensors.insert(
            n.clone(),
            Tensor::from_vec(vals, t.dims(), &Device::Cpu).unwrap(),
        );
    }
    let model = Model::from_tensors(&arch, &tensors, &Device::Cpu).unwrap();
    let theta: Vec<f32> = floats(&r["theta"]).iter().map(|&x| x as f32).collect();
    assert_eq!(
        model.flat_weights().unwrap(),
        theta,
        "{name}: basin's flattened order is the script's"
    );
    let data = rows(&r, shape.len(), shape);
    (r, model, data)
}

fn dense(f: &LossFunction) -> DMatrix<f64> {
    let n = f.dim();
    let mut h = DMatrix::zeros(n, n);
    for i in 0..n {
        let mut e = vec![0.0; n];
        e[i] = 1.0;
        for (j, v) in f.hvp(&e).unwrap().into_iter().enumerate() {
            h[(j, i)] = v;
        }
    }
    h
}

fn descending_eigenvalues(h: &DMatrix<f64>) -> Vec<f64> {
    let mut ev: Vec<f64> = SymmetricEigen::new((h + h.transpose()) * 0.5)
        .eigenvalues
        .iter()
        .copied()
        .collect();
    ev.sort_by(|a, b| b.total_cmp(a));
    ev
}

fn the_environment_variable_enables_double_backward() {
    assert!(double_backward_available());
}

fn mlp_loss_gradient_and_hvp_match_jax() {
    let (r, model, data) = mlp("hessian_mlp.json");
    let f = LossFunction::new(&model, &data, HvpMethod::DoubleBackward).unwrap();
    assert!(f.exact() && !f.frozen_relu());
    let (loss, grad) = f.loss_and_gradient(f.theta()).unwrap();
    assert!((loss - r["loss"].as_f64().unwrap()).abs() < 1e-6, "{loss}");
    assert!(max_abs_diff(&grad, &floats(&r["gradient"])) < 1e-6);
    let want = floats(&r["hv"]);
    let hv = f.hvp(&floats(&r["v"])).unwrap();
    // f32 arithmetic, no step: ~1e-6 of ‖Hv‖ (differences: 1e-3).
    assert!(
        max_abs_diff(&hv, &want) < 1e-5 * norm(&want),
        "H·v off by {} (‖Hv‖ = {})",
        max_abs_diff(&hv, &want),
        norm(&want)
    );
}

fn mlp_dense_hessian_matches_jax() {
    let (r, model, data) = mlp("hessian_mlp.json");
    let f = LossFunction::new(&model, &data, HvpMethod::DoubleBackward).unwrap();
    let h = dense(&f);
    let want = DMatrix::from_row_iterator(
        43,
        43,
        r["hessian"].as_array().unwrap().iter().flat_map(floats),
    );
    let err = (&h - &want).abs().max();
    assert!(err < 1e-5, "dense Hessian off by {err}");
    assert!(
        (&h - h.transpose()).abs().max() < 1e-5,
        "symmetric up to f32 rounding"
    );
    assert!(max_abs_diff(&descending_eigenvalues(&h), &floats(&r["eigenvalues"])) < 1e-5);
}

fn a_kink_next_to_theta_changes_nothing() {
    // Row 0's first pre-activation is 2e-5 from the kink: no step, nothing crossed.
    let (r, model, data) = mlp("hessian_mlp_kink.json");
    let f = LossFunction::new(&model, &data, HvpMethod::DoubleBackward).unwrap();
    let want = floats(&r["hv"]);
    let hv = f.hvp(&floats(&r["v"])).unwrap();
    assert!(
        max_abs_diff(&hv, &want) < 1e-5 * norm(&want),
        "H·v off by {}",
        max_abs_diff(&hv, &want)
    );
}

fn mlp_double_backward_agrees_with_frozen_differences() {
    let (r, model, data) = mlp("hessian_mlp.json");
    let exact = LossFunction::new(&model, &data, HvpMethod::DoubleBackward).unwrap();
    let diff = LossFunction::new(&model, &data, HvpMethod::Differences { step: 1e-3 }).unwrap();
    let v = floats(&r["v"]);
    let (a, b) = (exact.hvp(&v).unwrap(), diff.hvp(&v).unwrap());
    assert!(
        max_abs_diff(&a, &b) < 1e-3 * norm(&a),
        "{}",
        max_abs_diff(&a, &b)
    );
}

fn cnn_logits_match_the_nets_forward_and_jax() {
    for name in NETS {
        let (r, model, data) = cnn(name);
        let x = Tensor::from_vec(
            data.features.iter().copied().collect::<Vec<f32>>(),
            (data.len(), data.features.ncols()),
            &Device::Cpu,
        )
        .unwrap();
        let ours: Vec<f32> = logits(&model, &x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let fused: Vec<f32> = model
            .forward(&x, Mode::Eval)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let jax: Vec<f64> = r["logits"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(floats)
            .collect();
        let ours: Vec<f64> = ours.into_iter().map(f64::from).collect();
        let fused: Vec<f64> = fused.into_iter().map(f64::from).collect();
        assert!(
            max_abs_diff(&ours, &fused) < 1e-5,
            "{name}: twice-differentiable forward vs the net's: {}",
            max_abs_diff(&ours, &fused)
        );
        assert!(
            max_abs_diff(&ours, &jax) < 1e-5,
            "{name}: vs JAX: {}",
            max_abs_diff(&ours, &jax)
        );
    }
}

fn cnn_loss_gradient_and_hvp_match_jax() {
    for name in NETS {
        let (r, model, data) = cnn(name);
        let f = LossFunction::new(&model, &data, HvpMethod::DoubleBackward).unwrap();
        assert!(f.exact());
        let (loss, grad) = f.loss_and_gradient(f.theta()).unwrap();
        assert!(
            (loss - r["loss"].as_f64().unwrap()).abs() < 1e-6,
            "{name}: loss {loss}"
        );
        let g = floats(&r["gradient"]);
        assert!(
            max_abs_diff(&grad, &g) < 1e-5 * norm(&g).max(1.0),
            "{name}: gradient off by {}",
            max_abs_diff(&grad, &g)
        );
        for k in 0..2 {
            let want = floats(&r["hv"][k]);
            let hv = f.hvp(&floats(&r["v"][k])).unwrap();
            assert!(
                max_abs_diff(&hv, &want) < 1e-5 * norm(&want),
                "{name} v{k}: H·v off by {} (‖Hv‖ = {})",
                max_abs_diff(&hv, &want),
                norm(&want)
            );
        }
    }
}

fn cnn_dense_hessian_is_symmetric_with_jax_spectrum() {
    for name in NETS {
        let (r, model, data) = cnn(name);
        let f = LossFunction::new(&model, &data, HvpMethod::DoubleBackward).unwrap();
        let h = dense(&f);
        let scale = h.abs().max();
        assert!(
            (&h - h.transpose()).abs().max() < 1e-5 * scale.max(1.0),
            "{name}: asymmetry {}",
            (&h - h.transpose()).abs().max()
        );
        let ev = descending_eigenvalues(&h);
        let want = floats(&r["eigenvalues"]);
        assert_eq!(ev.len(), want.len());
        assert!(
            max_abs_diff(&ev, &want) < 1e-4,
            "{name}: spectrum off by {}",
            max_abs_diff(&ev, &want)
        );
        assert!(
            (h.trace() - r["trace"].as_f64().unwrap()).abs() < 1e-4,
            "{name}: trace {}",
            h.trace()
        );
    }
}

fn cnn_hvp_agrees_with_central_differences() {
    // Differences of the fused forward's gradients cross a few ReLU kinks,
    // so they agree with the exact product only to the size of those jumps.
    // Both are measured on the same random direction; h = 1e-3.
    for name in NETS {
        let (r, model, data) = cnn(name);
        let exact = LossFunction::new(&model, &data, HvpMethod::DoubleBackward).unwrap();
        let diff = LossFunction::new(&model, &data, HvpMethod::Differences { step: 1e-3 }).unwrap();
        assert!(!diff.exact(), "{name}: differences cross kinks on a CNN");
        let v = floats(&r["v"][0]);
        let (a, b) = (exact.hvp(&v).unwrap(), diff.hvp(&v).unwrap());
        let rel = norm(&a.iter().zip(&b).map(|(x, y)| x - y).collect::<Vec<_>>()) / norm(&a);
        assert!(rel < 2e-2, "{name}: ‖Hv_exact − Hv_diff‖/‖Hv‖ = {rel}");
    }
}

fn estimators_on_a_batchnorm_resnet_match_jax() {
    let (r, model, data) = cnn("cnn_bn_res");
    let f = LossFunction::new(&model, &data, HvpMethod::DoubleBackward).unwrap();
    let eig = floats(&r["eigenvalues"]);
    let cfg = HessianConfig {
        lanczos_steps: 40,
        hutchinson_probes: 200,
        slq_probes: 0,
        per_layer: false,
        ..HessianConfig::default()
    };
    let rep = analyze(&f, &cfg, || {}).unwrap();
    let all = &rep.blocks[0];
    assert!(
        (all.top_eigenvalues[0] - eig[0]).abs() < 1e-3,
        "λ₁ {} vs {}",
        all.top_eigenvalues[0],
        eig[0]
    );
    assert!(
        (all.min_eigenvalue - eig[eig.len() - 1]).abs() < 1e-2,
        "λ_min {} vs {}",
        all.min_eigenvalue,
        eig[eig.len() - 1]
    );
    let trace = r["trace"].as_f64().unwrap();
    let (lo, hi) = all.trace.ci95();
    assert!(
        lo <= trace && trace <= hi,
        "trace {trace} outside [{lo}, {hi}]"
    );
}

fn main() {
    // Before any thread exists (see the module docs). The 2021 edition's
    // `set_var` is safe to call; doing it first in `main` makes it sound.
    std::env::set_var("CANDLE_GRAD_DO_NOT_DETACH", "1");
    let tests: &[(&str, fn())] = &[
        (
            "the_environment_variable_enables_double_backward",
            the_environment_variable_enables_double_backward,
        ),
        (
            "mlp_loss_gradient_and_hvp_match_jax",
            mlp_loss_gradient_and_hvp_match_jax,
        ),
        (
            "mlp_dense_hessian_matches_jax",
            mlp_dense_hessian_matches_jax,
        ),
        (
            "a_kink_next_to_theta_changes_nothing",
            a_kink_next_to_theta_changes_nothing,
        ),
        (
            "mlp_double_backward_agrees_with_frozen_differences",
            mlp_double_backward_agrees_with_frozen_differences,
        ),
        (
            "cnn_logits_match_the_nets_forward_and_jax",
            cnn_logits_match_the_nets_forward_and_jax,
        ),
        (
            "cnn_loss_gradient_and_hvp_match_jax",
            cnn_loss_gradient_and_hvp_match_jax,
        ),
        (
            "cnn_dense_hessian_is_symmetric_with_jax_spectrum",
            cnn_dense_hessian_is_symmetric_with_jax_spectrum,
        ),
        (
            "cnn_hvp_agrees_with_central_differences",
            cnn_hvp_agrees_with_central_differences,
        ),
        (
            "estimators_on_a_batchnorm_resnet_match_jax",
            estimators_on_a_batchnorm_resnet_match_jax,
        ),
    ];
    // `cargo test -- NAME` runs the tests whose name contains NAME.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let (mut passed, mut failed) = (0, Vec::new());
    for (name, test) in tests {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        if std::panic::catch_unwind(test).is_ok() {
            println!("test {name} ... ok");
            passed += 1;
        } else {
            println!("test {name} ... FAILED");
            failed.push(*name);
        }
    }
    println!("\n{passed} passed, {} failed", failed.len());
    if !failed.is_empty() {
        std::process::exit(101);
    }
}
