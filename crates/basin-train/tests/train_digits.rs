//! Base training on the shipped digits: a well-generalising MLP and a net
//! that memorises fully random labels.

mod common;

use basin_data::ImageShape;
use basin_train::{evaluate, load_checkpoint, save_checkpoint, train, Architecture, TrainConfig};
use candle_core::Device;

#[test]
fn good_digits_mlp_reaches_95_percent_test_accuracy() {
    let splits = common::digits_splits();
    let arch = Architecture::mlp(ImageShape::flat(64), &[64], 10);
    let cfg = TrainConfig { epochs: 15, batch_size: 64, lr: 0.05, weight_decay: 5e-4, seed: 0, ..TrainConfig::default() };
    let mut seen = 0;
    let net = train(&arch, &cfg, &splits, &Device::Cpu, |_| seen += 1).unwrap();
    assert_eq!(seen, 16);
    let last = net.history.last().unwrap();
    eprintln!("good digits MLP: train acc {:.4}, test acc {:.4}", last.train_acc, last.test_acc);
    assert!(!last.diverged);
    assert!(last.test_acc >= 0.95, "test accuracy {}", last.test_acc);
    assert!(last.train_acc >= last.test_acc - 0.02);
    // The first point is the untrained net: about chance.
    assert!(net.history[0].test_acc < 0.3, "untrained accuracy {}", net.history[0].test_acc);
    // The history agrees with a fresh evaluation of the returned net.
    let te = evaluate(&net.checkpoint.model, &splits.test).unwrap();
    assert_eq!(te.accuracy, last.test_acc);
    assert_eq!(te.loss, last.test_loss);

    // Save → load keeps weights, architecture and settings.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("good.safetensors");
    save_checkpoint(&path, &net.checkpoint).unwrap();
    let back = load_checkpoint(&path, &Device::Cpu).unwrap();
    assert_eq!(back.train_config.as_ref(), Some(&cfg));
    assert_eq!(back.model.architecture(), &arch);
    assert_eq!(back.model.flat_weights().unwrap(), net.checkpoint.model.flat_weights().unwrap());
}

#[test]
fn random_label_net_memorises() {
    let splits = common::head(&common::digits_splits(), 300);
    let arch = Architecture::mlp(ImageShape::flat(64), &[512], 10);
    let cfg = TrainConfig {
        epochs: 120,
        batch_size: 32,
        lr: 0.05,
        weight_decay: 0.0,
        label_noise: 1.0,
        seed: 3,
        ..TrainConfig::default()
    };
    let net = train(&arch, &cfg, &splits, &Device::Cpu, |_| {}).unwrap();
    let last = net.history.last().unwrap();
    eprintln!("random-label MLP: train acc {:.4}, test acc {:.4}", last.train_acc, last.test_acc);
    assert!(last.train_acc >= 0.95, "train accuracy on random labels {}", last.train_acc);
    assert!(last.test_acc <= 0.25, "test accuracy {} should be near chance (0.1)", last.test_acc);
}

#[test]
fn augmented_training_is_deterministic_and_differs_from_plain() {
    let splits = common::head(&common::digits_splits(), 200);
    let arch = Architecture::cnn(ImageShape { channels: 1, height: 8, width: 8 }, &[4, 8], 10);
    let base = TrainConfig { epochs: 2, batch_size: 32, seed: 5, log_weights: true, ..TrainConfig::default() };
    let aug = TrainConfig { augment: true, ..base.clone() };
    let a = train(&arch, &aug, &splits, &Device::Cpu, |_| {}).unwrap();
    let b = train(&arch, &aug, &splits, &Device::Cpu, |_| {}).unwrap();
    let c = train(&arch, &base, &splits, &Device::Cpu, |_| {}).unwrap();
    assert_eq!(a.history, b.history);
    assert_eq!(a.history[0], c.history[0]); // same init stream
    assert_ne!(a.history[2].weights, c.history[2].weights);
}

#[test]
fn mismatched_data_is_an_error_naming_the_split() {
    let splits = common::head(&common::digits_splits(), 50);
    let arch = Architecture::mlp(ImageShape::flat(63), &[4], 10);
    let err = train(&arch, &TrainConfig::default(), &splits, &Device::Cpu, |_| {}).unwrap_err();
    assert!(err.to_string().contains("64 features"), "{err}");
    let bad = TrainConfig { batch_size: 0, ..TrainConfig::default() };
    let err = train(&Architecture::mlp(ImageShape::flat(64), &[4], 10), &bad, &splits, &Device::Cpu, |_| {});
    assert!(err.unwrap_err().to_string().contains("batch_size"));
}
