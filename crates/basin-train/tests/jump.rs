//! Jump and retrain: directions, determinism, divergence, BatchNorm.

mod common;

use basin_data::{rng::stream, ImageShape};
use basin_train::{
    filter_normalize, filter_normalized_direction, jump_and_retrain, recompute_bn_stats, train, Architecture,
    Checkpoint, JumpConfig, Layers, Model, TrainConfig,
};
use candle_core::Device;
use proptest::prelude::*;

fn row_norms_match(model: &Model, theta: &[f32], d: &[f32]) {
    for p in model.parameter_layout() {
        let (th, dd) = (&theta[p.offset..p.offset + p.len()], &d[p.offset..p.offset + p.len()]);
        if p.shape.len() < 2 {
            assert!(dd.iter().all(|&v| v == 0.0), "{} should be zero", p.name);
            continue;
        }
        let row = p.len() / p.shape[0];
        for (i, (t, v)) in th.chunks(row).zip(dd.chunks(row)).enumerate() {
            let n = |x: &[f32]| x.iter().map(|&a| f64::from(a).powi(2)).sum::<f64>().sqrt();
            assert!((n(t) - n(v)).abs() <= 1e-5 * n(t) + 1e-9, "{} row {i}: ‖θ‖ {} vs ‖d‖ {}", p.name, n(t), n(v));
        }
    }
}

#[test]
fn direction_has_filter_norms_and_zero_one_dim_parts() {
    let arch = Architecture {
        input: ImageShape { channels: 1, height: 8, width: 8 },
        n_classes: 10,
        layers: Layers::Cnn {
            channels: vec![4, 8],
            downsample: basin_train::Downsample::Strided,
            residual: true,
            batch_norm: true,
        },
    };
    let model = Model::new(&arch, &mut stream(0, "init"), &Device::Cpu).unwrap();
    let theta = model.flat_weights().unwrap();
    let d = filter_normalized_direction(&model, &mut stream(1, "jump")).unwrap();
    row_norms_match(&model, &theta, &d);
    // Same seed, same direction; another seed, another one.
    assert_eq!(d, filter_normalized_direction(&model, &mut stream(1, "jump")).unwrap());
    assert_ne!(d, filter_normalized_direction(&model, &mut stream(2, "jump")).unwrap());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn filter_normalize_gives_row_norms_of_theta(
        widths in proptest::collection::vec(1usize..6, 0..3),
        seed in 0u64..1000,
        scale in 0.01f32..100.0,
    ) {
        let arch = Architecture::mlp(ImageShape::flat(3), &widths, 2);
        let model = Model::new(&arch, &mut stream(seed, "init"), &Device::Cpu).unwrap();
        let theta = model.flat_weights().unwrap();
        let mut rng = stream(seed, "d");
        let mut d: Vec<f32> = (0..theta.len()).map(|_| scale * (rand::Rng::random::<f32>(&mut rng) - 0.5)).collect();
        filter_normalize(&model, &theta, &mut d).unwrap();
        row_norms_match(&model, &theta, &d);
    }
}

fn base_net(splits: &basin_train::Splits, arch: &Architecture) -> Checkpoint {
    let cfg = TrainConfig { epochs: 3, batch_size: 32, lr: 0.05, label_noise: 0.2, seed: 9, ..TrainConfig::default() };
    train(arch, &cfg, splits, &Device::Cpu, |_| {}).unwrap().checkpoint
}

#[test]
fn same_seed_gives_byte_identical_trajectories() {
    let splits = common::head(&common::digits_splits(), 200);
    let arch = Architecture::mlp(ImageShape::flat(64), &[32, 16], 10);
    let net = base_net(&splits, &arch);
    let theta0 = net.model.flat_weights().unwrap();
    let cfg = JumpConfig { seed: 2, step: 0.5, epochs: 3, batch_size: 32, ..JumpConfig::default() };
    let mut streamed = Vec::new();
    let a = jump_and_retrain(&net, &cfg, &splits, &Device::Cpu, |p| streamed.push(p.clone())).unwrap();
    let b = jump_and_retrain(&net, &cfg, &splits, &Device::Cpu, |_| {}).unwrap();
    assert_eq!(a.len(), 4);
    assert_eq!(streamed, a);
    for (p, q) in a.iter().zip(&b) {
        assert_eq!(p.epoch, q.epoch);
        assert_eq!(p.train_loss.to_bits(), q.train_loss.to_bits());
        assert_eq!(p.test_loss.to_bits(), q.test_loss.to_bits());
        let bits = |w: &[f32]| w.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&p.weights), bits(&q.weights));
    }
    // Epoch 0 is θₒ + step·d, and the checkpoint is untouched.
    let d = filter_normalized_direction(&net.model, &mut stream(2, "jump")).unwrap();
    for ((w, t), dd) in a[0].weights.iter().zip(&theta0).zip(&d) {
        assert_eq!(*w, t + 0.5 * dd);
    }
    assert_eq!(net.model.flat_weights().unwrap(), theta0);
    // Retraining moves the weights and changes the loss.
    assert_ne!(a[3].weights, a[0].weights);
    // Another seed jumps elsewhere.
    let c = jump_and_retrain(&net, &JumpConfig { seed: 3, ..cfg }, &splits, &Device::Cpu, |_| {}).unwrap();
    assert_ne!(c[0].weights, a[0].weights);
}

#[test]
fn diverging_jump_is_flagged_and_stops_cleanly() {
    let splits = common::head(&common::digits_splits(), 100);
    let arch = Architecture::mlp(ImageShape::flat(64), &[16], 10);
    let net = base_net(&splits, &arch);
    let cfg = JumpConfig { step: 1.0, epochs: 10, lr: 1e4, momentum: 0.9, batch_size: 16, ..JumpConfig::default() };
    let points = jump_and_retrain(&net, &cfg, &splits, &Device::Cpu, |_| {}).unwrap();
    let last = points.last().unwrap();
    assert!(last.diverged, "losses {:?}", points.iter().map(|p| p.train_loss).collect::<Vec<_>>());
    assert!(points.len() < 11);
    assert!(points[..points.len() - 1].iter().all(|p| !p.diverged));
}

#[test]
fn recomputed_bn_stats_are_the_training_means() {
    let splits = common::head(&common::digits_splits(), 128);
    let arch = Architecture {
        input: ImageShape::flat(64),
        n_classes: 10,
        layers: Layers::Mlp { hidden: vec![8], batch_norm: true },
    };
    let model = Model::new(&arch, &mut stream(4, "init"), &Device::Cpu).unwrap();
    recompute_bn_stats(&model, &splits.train, 32).unwrap();
    // Pre-BN activations x·Wᵀ + b, averaged over all rows (4 equal batches,
    // so the cumulative average of batch means is the overall mean).
    let x = candle_core::Tensor::from_slice(splits.train.features.as_slice().unwrap(), (128, 64), &Device::Cpu).unwrap();
    let w = model.parameters()["fc0.weight"].as_tensor();
    let b = model.parameters()["fc0.bias"].as_tensor();
    let z = x.matmul(&w.t().unwrap()).unwrap().broadcast_add(b).unwrap();
    let mean = z.mean(0).unwrap().to_vec1::<f32>().unwrap();
    let running = model.buffers()["bn0.running_mean"].to_vec1::<f32>().unwrap();
    for (a, r) in mean.iter().zip(&running) {
        assert!((a - r).abs() < 1e-4, "mean {a} vs running {r}");
    }

    // A jump with recomputation logs the same epoch-0 point twice; without
    // it, the stale statistics give another loss.
    let net = base_net(&splits, &arch);
    let cfg = JumpConfig { step: 1.0, epochs: 0, recompute_bn_stats: true, batch_size: 32, ..JumpConfig::default() };
    let a = jump_and_retrain(&net, &cfg, &splits, &Device::Cpu, |_| {}).unwrap();
    let b = jump_and_retrain(&net, &cfg, &splits, &Device::Cpu, |_| {}).unwrap();
    let c = jump_and_retrain(&net, &JumpConfig { recompute_bn_stats: false, ..cfg }, &splits, &Device::Cpu, |_| {})
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(a[0].weights, c[0].weights);
    assert_ne!(a[0].train_loss, c[0].train_loss);
}

#[test]
fn same_net_same_checkpoint_bytes() {
    // safetensors writes its metadata from a HashMap; basin sorts the header
    // so two saves of one net are byte-identical.
    use basin_train::{save_checkpoint, Architecture, Checkpoint, Model, TrainConfig};
    let dev = candle_core::Device::Cpu;
    let arch = Architecture::mlp(basin_data::ImageShape::flat(5), &[4], 3);
    let model = Model::new(&arch, &mut basin_data::rng::stream(2, "init"), &dev).unwrap();
    let mut ck = Checkpoint::new(model, Some(TrainConfig::default()));
    for k in ["run_id", "dataset", "split_seed", "basin_version", "a", "b", "c"] {
        ck.metadata.insert(k.into(), format!("value of {k}"));
    }
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for i in 0..4 {
        let p = dir.path().join(format!("{i}.safetensors"));
        save_checkpoint(&p, &ck).unwrap();
        files.push(std::fs::read(&p).unwrap());
    }
    assert!(files.windows(2).all(|w| w[0] == w[1]), "checkpoint bytes differ between saves");
    let back = basin_train::load_checkpoint(dir.path().join("0.safetensors"), &dev).unwrap();
    assert_eq!(back.model.flat_weights().unwrap(), ck.model.flat_weights().unwrap());
    assert_eq!(back.metadata["run_id"], "value of run_id");
}
