//! Hessian-vector products by central differences, Lanczos, Hutchinson and SLQ against JAX's exact
//! Hessian of a tiny ReLU MLP (tests/reference/make_hessian.py).

use basin_data::{rng::stream, Dataset, ImageShape};
use basin_landscape::hessian::estimators::{analyze, HessianConfig};
use basin_landscape::hessian::hvp::{HvpMethod, LossFunction};
use basin_landscape::hessian::lanczos::{gaussian_vector, lanczos};
use basin_train::{Architecture, Model};
use candle_core::Device;
use nalgebra::{DMatrix, SymmetricEigen};
use ndarray::Array2;
use serde_json::Value;

fn reference() -> Value {
    reference_file("hessian_mlp.json")
}

fn reference_file(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{}/tests/reference/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn loss_function(r: &Value) -> LossFunction {
    loss_function_with_step(r, 1e-3)
}

fn loss_function_with_step(r: &Value, h: f64) -> LossFunction {
    let model = Model::new(&Architecture::mlp(ImageShape::flat(4), &[5], 3), &mut stream(0, "init"), &Device::Cpu).unwrap();
    let theta: Vec<f32> = floats(&r["theta"]).iter().map(|&x| x as f32).collect();
    model.set_flat_weights(&theta).unwrap();
    let rows: Vec<f32> = r["x"].as_array().unwrap().iter().flat_map(|row| floats(row).into_iter().map(|x| x as f32)).collect();
    let n = rows.len() / 4;
    let labels: Vec<u32> = r["y"].as_array().unwrap().iter().map(|y| y.as_u64().unwrap() as u32).collect();
    let ds = Dataset::new("ref", Array2::from_shape_vec((n, 4), rows).unwrap(), labels, ImageShape::flat(4), 3).unwrap();
    LossFunction::new(&model, &ds, HvpMethod::Differences { step: h }).unwrap()
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

#[test]
fn loss_gradient_and_hvp_match_jax() {
    let r = reference();
    let f = loss_function(&r);
    let (loss, grad) = f.loss_and_gradient(f.theta()).unwrap();
    assert!((loss - r["loss"].as_f64().unwrap()).abs() < 1e-6, "{loss}");
    assert!(max_abs_diff(&grad, &floats(&r["gradient"])) < 1e-6);
    let hv = f.hvp(&floats(&r["v"])).unwrap();
    let want = floats(&r["hv"]);
    let scale = want.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!(max_abs_diff(&hv, &want) < 1e-3 * scale, "H·v off by {} (‖Hv‖ = {scale})", max_abs_diff(&hv, &want));
}

#[test]
fn dense_hessian_from_hvps_matches_jax() {
    let r = reference();
    let f = loss_function(&r);
    let n = f.dim();
    assert_eq!(n, 43);
    let mut h = DMatrix::zeros(n, n);
    for i in 0..n {
        let mut e = vec![0.0; n];
        e[i] = 1.0;
        for (j, v) in f.hvp(&e).unwrap().into_iter().enumerate() {
            h[(j, i)] = v;
        }
    }
    let want = DMatrix::from_row_iterator(n, n, r["hessian"].as_array().unwrap().iter().flat_map(floats));
    let err = (&h - &want).abs().max();
    assert!(err < 2e-3, "dense Hessian off by {err}");
    assert!((&h - h.transpose()).abs().max() < 2e-3, "symmetric up to the difference error");
    let mut ev: Vec<f64> = SymmetricEigen::new((&h + h.transpose()) * 0.5).eigenvalues.iter().copied().collect();
    ev.sort_by(|a, b| b.total_cmp(a));
    assert!(max_abs_diff(&ev, &floats(&r["eigenvalues"])) < 2e-3);
}

#[test]
fn estimators_match_jax_with_honest_uncertainty() {
    let r = reference();
    let f = loss_function(&r);
    let eig = floats(&r["eigenvalues"]);
    let cfg = HessianConfig { lanczos_steps: 20, hutchinson_probes: 200, slq_probes: 8, slq_steps: 20, ..HessianConfig::default() };
    let rep = analyze(&f, &cfg, || {}).unwrap();
    let all = &rep.blocks[0];
    assert_eq!(all.block, "all");
    assert_eq!(all.top_eigenvalues.len(), 3, "top_k = 3");
    for (k, (top, residual)) in all.top_eigenvalues.iter().zip(&all.top_residuals).enumerate() {
        assert!((top - eig[k]).abs() < 2e-3, "λ{k}: {top} vs {}", eig[k]);
        assert!(*residual < 1e-2, "residual {residual}");
    }
    assert!((all.min_eigenvalue - eig[42]).abs() < 2e-3, "λ_min {} vs {}", all.min_eigenvalue, eig[42]);
    assert!((all.eig_ratio() - (eig[42] / eig[0]).abs()).abs() < 1e-3);
    // The convergence trace is non-decreasing (Ritz values interlace) and ends at λ₁.
    assert!(all.convergence.windows(2).all(|w| w[1] >= w[0] - 1e-9));
    assert_eq!(*all.convergence.last().unwrap(), all.top_eigenvalues[0]);
    // Hutchinson: the exact trace lies in the 95 % interval.
    let trace = r["trace"].as_f64().unwrap();
    let (lo, hi) = all.trace.ci95();
    assert!(lo <= trace && trace <= hi, "trace {trace} outside [{lo}, {hi}]");
    assert!(hi - lo < 0.5 * trace.abs(), "the interval is informative");
    // SLQ: weights sum to 1, nodes inside the spectrum, trace estimate close.
    assert!((all.slq.iter().map(|(_, w)| w).sum::<f64>() - 1.0).abs() < 1e-9);
    assert!(all.slq.iter().all(|(x, _)| *x <= eig[0] + 1e-3 && *x >= eig[42] - 1e-3));
    assert!((all.slq_trace() - trace).abs() < 0.35 * trace.abs(), "SLQ trace {} vs {trace}", all.slq_trace());
    // Per layer: the diagonal blocks of the Hessian.
    for b in &rep.blocks[1..] {
        let top = r["block_top_eigenvalue"][&b.block].as_f64().unwrap();
        let tr = r["block_trace"][&b.block].as_f64().unwrap();
        assert!((b.top_eigenvalues[0] - top).abs() < 2e-3, "{}: {} vs {top}", b.block, b.top_eigenvalues[0]);
        let (lo, hi) = b.trace.ci95();
        assert!(lo <= tr && tr <= hi, "{}: trace {tr} outside [{lo}, {hi}]", b.block);
    }
    assert_eq!(rep.blocks.iter().map(|b| b.block.as_str()).collect::<Vec<_>>(), ["all", "fc0", "fc1"]);
    assert!(rep.sharpness > 0.0 && rep.sharpness.is_finite());
    // 200 Hutchinson probes per block, 20 Lanczos steps (18 for fc1's 18
    // parameters), 8 SLQ runs of 20 steps on the whole net.
    assert_eq!(rep.n_hvp, 3 * 200 + 20 + 20 + 18 + 8 * 20);
    // Same seed, same numbers.
    assert_eq!(analyze(&f, &cfg, || {}).unwrap(), rep);
}

#[test]
fn lanczos_finds_the_extremes_of_a_known_spectrum() {
    // diag(1, 2, …, 200): the extremes converge first.
    let n = 200;
    let apply = |v: &[f64]| Ok(v.iter().enumerate().map(|(i, x)| (i + 1) as f64 * x).collect());
    let start = gaussian_vector(n, &mut stream(3, "start"));
    let r = lanczos(n, apply, &start, 40, 1).unwrap();
    let (top, bottom) = (r.ritz_values[0], r.ritz_values[39]);
    assert!((top - 200.0).abs() < 1e-2 && (bottom - 1.0).abs() < 1e-2, "{:?}", (top, bottom));
    // Each Ritz value lies within its residual bound of an eigenvalue.
    assert!((top - 200.0).abs() <= r.residuals[0] && (bottom - 1.0).abs() <= r.residuals[39]);
    // The Ritz vector is close to e₂₀₀ (up to sign).
    assert!(r.ritz_vectors[0][199].abs() > 0.9);
    // A space that closes early stops early: rank-2 operator.
    let rank2 = |v: &[f64]| Ok(v.iter().enumerate().map(|(i, x)| if i < 2 { 5.0 * x } else { 0.0 }).collect());
    let r = lanczos(10, rank2, &[1.0; 10], 10, 0).unwrap();
    assert!(r.steps <= 3, "{}", r.steps);
}

#[test]
fn bad_settings_are_refused() {
    let r = reference();
    let f = loss_function(&r);
    for cfg in [
        HessianConfig { top_k: 0, ..HessianConfig::default() },
        HessianConfig { lanczos_steps: 2, top_k: 3, ..HessianConfig::default() },
        HessianConfig { hutchinson_probes: 1, ..HessianConfig::default() },
        HessianConfig { sharpness_epsilon: -1.0, ..HessianConfig::default() },
    ] {
        assert!(analyze(&f, &cfg, || {}).is_err(), "{cfg:?}");
    }
    assert!(f.hvp(&[1.0]).is_err());
}

#[test]
fn a_kink_next_to_theta_does_not_change_the_hessian() {
    // Row 0's first pre-activation is 2e-5: differences with h = 1e-2,
    // 1e-3 and 1e-4 all cross the kink; JAX's Hessian leaves it out, and so
    // does the frozen ReLU pattern.
    let r = reference_file("hessian_mlp_kink.json");
    let want = floats(&r["hv"]);
    let scale = want.iter().map(|x| x * x).sum::<f64>().sqrt();
    for h in [1e-2, 1e-3, 1e-4] {
        let f = loss_function_with_step(&r, h);
        assert!(f.frozen_relu());
        let hv = f.hvp(&floats(&r["v"])).unwrap();
        assert!(max_abs_diff(&hv, &want) < 2e-3 * scale, "h = {h}: H·v off by {} (‖Hv‖ = {scale})", max_abs_diff(&hv, &want));
    }
    let f = loss_function(&r);
    let rep = analyze(&f, &HessianConfig { lanczos_steps: 43, hutchinson_probes: 2, slq_probes: 0, per_layer: false, ..HessianConfig::default() }, || {}).unwrap();
    let eig = floats(&r["eigenvalues"]);
    assert!((rep.blocks[0].top_eigenvalues[0] - eig[0]).abs() < 2e-3, "{} vs {}", rep.blocks[0].top_eigenvalues[0], eig[0]);
    assert!((rep.blocks[0].min_eigenvalue - eig[42]).abs() < 2e-3);
}

#[test]
fn double_backward_without_the_environment_variable_is_refused() {
    // This harness does not set CANDLE_GRAD_DO_NOT_DETACH (tests/double_backward.rs
    // does): candle detaches gradients, so the exact method must say why it
    // cannot run rather than return a Hessian missing its chain-rule terms.
    if std::env::var_os("CANDLE_GRAD_DO_NOT_DETACH").is_some() {
        return; // set by the caller's environment: nothing to refuse
    }
    let r = reference();
    let model = Model::new(&Architecture::mlp(ImageShape::flat(4), &[5], 3), &mut stream(0, "init"), &Device::Cpu).unwrap();
    let rows: Vec<f32> = r["x"].as_array().unwrap().iter().flat_map(|row| floats(row).into_iter().map(|x| x as f32)).collect();
    let labels: Vec<u32> = r["y"].as_array().unwrap().iter().map(|y| y.as_u64().unwrap() as u32).collect();
    let ds = Dataset::new("ref", Array2::from_shape_vec((rows.len() / 4, 4), rows).unwrap(), labels, ImageShape::flat(4), 3).unwrap();
    let e = LossFunction::new(&model, &ds, HvpMethod::DoubleBackward).unwrap_err().to_string();
    assert!(e.contains("CANDLE_GRAD_DO_NOT_DETACH") && e.contains("hvp"), "{e}");
    assert!(!basin_landscape::hessian::autodiff::double_backward_available());
    assert!(LossFunction::new(&model, &ds, HvpMethod::Differences { step: 0.0 }).unwrap_err().to_string().contains("fd_step"));
}
