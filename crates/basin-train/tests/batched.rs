//! Batched jumps give the sequential trajectories within float tolerance.

mod common;

use basin_data::ImageShape;
use basin_train::{jump_and_retrain, jump_and_retrain_batched, train, Architecture, JumpConfig, Layers, TrainConfig};
use candle_core::Device;

#[test]
fn batched_jumps_match_sequential_jumps() {
    let splits = common::head(&common::digits_splits(), 200);
    let arch = Architecture::mlp(ImageShape::flat(64), &[32, 16], 10);
    let cfg = TrainConfig { epochs: 3, batch_size: 32, lr: 0.05, label_noise: 0.1, seed: 1, ..TrainConfig::default() };
    let net = train(&arch, &cfg, &splits, &Device::Cpu, |_| {}).unwrap().checkpoint;
    let jumps: Vec<JumpConfig> = [(0, 0.25), (0, 1.0), (1, 0.5), (2, 0.75)]
        .iter()
        .map(|&(seed, step)| JumpConfig { seed, step, epochs: 4, lr: 0.01, batch_size: 48, ..JumpConfig::default() })
        .collect();
    let mut calls = 0;
    let batched = jump_and_retrain_batched(&net, &jumps, &splits, &Device::Cpu, |_, _| calls += 1).unwrap();
    assert_eq!(calls, 4 * 5);
    let mut worst = 0.0f32;
    for (j, traj) in jumps.iter().zip(&batched) {
        let seq = jump_and_retrain(&net, j, &splits, &Device::Cpu, |_| {}).unwrap();
        assert_eq!(seq.len(), traj.len());
        // The jump point is computed identically.
        assert_eq!(seq[0], traj[0]);
        for (a, b) in seq.iter().zip(traj) {
            assert_eq!(a.epoch, b.epoch);
            assert!((a.train_loss - b.train_loss).abs() < 1e-4, "epoch {}: {} vs {}", a.epoch, a.train_loss, b.train_loss);
            assert!((a.test_loss - b.test_loss).abs() < 1e-4);
            for (x, y) in a.weights.iter().zip(&b.weights) {
                worst = worst.max((x - y).abs());
            }
        }
        // Retraining moved the weights, so the comparison is not vacuous.
        assert_ne!(seq[0].weights, seq[4].weights);
    }
    assert!(worst < 1e-4, "largest weight difference {worst}");
}

#[test]
fn batched_jumps_refuse_mixed_settings_and_batchnorm() {
    let splits = common::head(&common::digits_splits(), 64);
    let arch = Architecture { input: ImageShape::flat(64), n_classes: 10, layers: Layers::Mlp { hidden: vec![4], batch_norm: true } };
    let cfg = TrainConfig { epochs: 1, batch_size: 32, ..TrainConfig::default() };
    let bn = train(&arch, &cfg, &splits, &Device::Cpu, |_| {}).unwrap().checkpoint;
    let err = jump_and_retrain_batched(&bn, &[JumpConfig::default()], &splits, &Device::Cpu, |_, _| {}).unwrap_err();
    assert!(err.to_string().contains("jumps"), "{err}");
    let plain = train(&Architecture::mlp(ImageShape::flat(64), &[4], 10), &cfg, &splits, &Device::Cpu, |_| {}).unwrap();
    let mixed = [JumpConfig::default(), JumpConfig { lr: 0.1, ..JumpConfig::default() }];
    let err = jump_and_retrain_batched(&plain.checkpoint, &mixed, &splits, &Device::Cpu, |_, _| {}).unwrap_err();
    assert!(err.to_string().contains("jump 1"), "{err}");
}

/// The CPU engine runs one jump per thread and reduces evaluation chunks in
/// a fixed order: the trajectories do not depend on the thread count.
#[test]
fn batched_jumps_do_not_depend_on_the_thread_count() {
    let splits = common::head(&common::digits_splits(), 300);
    let arch = Architecture::mlp(ImageShape::flat(64), &[24], 10);
    let cfg = TrainConfig { epochs: 2, batch_size: 32, lr: 0.05, seed: 2, ..TrainConfig::default() };
    let net = train(&arch, &cfg, &splits, &Device::Cpu, |_| {}).unwrap().checkpoint;
    let jumps: Vec<JumpConfig> =
        (0..5).map(|i| JumpConfig { seed: i, step: 0.5, epochs: 3, lr: 0.01, batch_size: 64, ..JumpConfig::default() }).collect();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| jump_and_retrain_batched(&net, &jumps, &splits, &Device::Cpu, |_, _| {}).unwrap())
    };
    let one = run(1);
    assert_eq!(one, run(3));
    assert_ne!(one[0][0].weights, one[0][3].weights);
}
