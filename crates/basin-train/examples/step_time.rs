//! Per-step training time of the benchmark nets, for
//! `benches/train_vs_pytorch.py` (which runs PyTorch beside it).
//!
//! ```text
//! cargo run --release -p basin-train --example step_time -- digits-mlp [steps]
//! cargo run --release -p basin-train --example step_time -- jumps16 [epochs]
//! ```
//! Prints one JSON line per measurement. Uses mimalloc, as the basin CLI does.
//! `BASIN_DEVICE=cuda` (a build with `--features cuda`) times the same on
//! the GPU; the clock stops after the device has finished its queue.

use std::time::Instant;

use basin_data::{rng::stream, Dataset, ImageShape};
use basin_train::{
    jump_and_retrain, jump_and_retrain_batched, Architecture, Checkpoint, Downsample, JumpConfig, Layers, Model, SgdConfig, SgdMomentum,
    Splits, TrainStep,
};
use candle_core::Device;
use candle_nn::Optimizer;
use ndarray::Array2;
use rand::Rng;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// CPU time of the whole process (all threads) in seconds, from
/// `/proc/self/stat` (utime + stime, 100 ticks/s on Linux): robust to other
/// processes competing for the cores, unlike wall-clock time.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the ")" closing the command name: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
    (ticks(11) + ticks(12)) / 100.0
}

/// The device named by `BASIN_DEVICE` (`cpu` when unset).
fn device() -> Device {
    match std::env::var("BASIN_DEVICE").as_deref() {
        Ok("cuda") => Device::new_cuda(0).expect("CUDA device 0 (build with --features cuda)"),
        _ => Device::Cpu,
    }
}

fn bench_net(name: &str) -> Option<(Architecture, usize)> {
    let mnist = ImageShape { channels: 1, height: 28, width: 28 };
    match name {
        "digits-mlp" => Some((Architecture::mlp(ImageShape { channels: 1, height: 8, width: 8 }, &[64], 10), 64)),
        "mnist-mlp" => Some((Architecture::mlp(mnist, &[256], 10), 784)),
        "mnist-cnn" => Some((Architecture::cnn(mnist, &[16, 32, 32], 10), 784)),
        // The CIFAR-10 study's ResNet-lite: strided stages, a residual block each, BatchNorm.
        "cifar-resnet" => {
            let cifar = ImageShape { channels: 3, height: 32, width: 32 };
            let layers = Layers::Cnn { channels: vec![32, 64, 128], downsample: Downsample::Strided, residual: true, batch_norm: true };
            Some((Architecture { input: cifar, n_classes: 10, layers }, cifar.len()))
        }
        _ => None,
    }
}

fn random_data(n: usize, shape: ImageShape, seed: u64) -> Dataset {
    let mut rng = stream(seed, "bench-data");
    let x = Array2::from_shape_fn((n, shape.len()), |_| rng.random_range(-1.0f32..1.0));
    let y = (0..n).map(|_| rng.random_range(0..10u32)).collect();
    Dataset::new("bench", x, y, shape, 10).expect("consistent shapes")
}

fn time_steps(arch: &Architecture, d: usize, steps: usize, candle: bool) -> (f64, f64) {
    let dev = device();
    let model = Model::new(arch, &mut stream(0, "init"), &dev).expect("model");
    let mut opt =
        SgdMomentum::new(model.vars(), SgdConfig { lr: 0.01, momentum: 0.9, weight_decay: 5e-4, nesterov: false })
            .expect("optimizer");
    let data = random_data(1024, arch.input, 1);
    let xs = data.features.as_slice().expect("contiguous").to_vec();
    let batch = 128;
    let mut engine = if candle { TrainStep::candle_autograd() } else { TrainStep::new(&model) };
    let mut step = |i: usize| {
        let start = (i * batch) % 1024;
        engine.step(&model, &mut opt, &xs[start * d..(start + batch) * d], &data.labels[start..start + batch]).expect("step");
    };
    for i in 0..steps.div_ceil(10).max(3) {
        step(i);
    }
    dev.synchronize().expect("synchronize");
    let (t, c) = (Instant::now(), cpu_seconds());
    for i in 0..steps {
        step(i);
    }
    dev.synchronize().expect("synchronize");
    (t.elapsed().as_secs_f64() / steps as f64, (cpu_seconds() - c) / steps as f64)
}

/// Sequential then batched retraining of `k` jumps; `only` = `sequential`
/// or `batched` runs one of them (for profilers and instruction counts).
fn time_jumps(k: usize, epochs: u32, only: Option<&str>) {
    let dev = device();
    let shape = ImageShape::flat(64);
    let arch = Architecture::mlp(shape, &[64], 10);
    let model = Model::new(&arch, &mut stream(0, "init"), &dev).expect("model");
    let ds = random_data(1024, shape, 2);
    let small = random_data(128, shape, 3);
    let splits = Splits { train: ds, val: small.clone(), test: small };
    let net = Checkpoint::new(model, None);
    let jumps: Vec<JumpConfig> = (0..k)
        .map(|i| JumpConfig { seed: i as u64 / 4, step: 0.25 * (1 + i % 4) as f64, epochs, ..JumpConfig::default() })
        .collect();
    let (t, c) = (Instant::now(), cpu_seconds());
    if only != Some("batched") {
        for j in &jumps {
            jump_and_retrain(&net, j, &splits, &dev, |_| {}).expect("jump");
        }
    }
    let (seq, seq_cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
    let (t, c) = (Instant::now(), cpu_seconds());
    if only != Some("sequential") {
        jump_and_retrain_batched(&net, &jumps, &splits, &dev, |_, _| {}).expect("batched");
    }
    let (bat, bat_cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
    println!(
        "{{\"bench\":\"jumps\",\"k\":{k},\"epochs\":{epochs},\"sequential_s\":{seq:.4},\"batched_s\":{bat:.4},\"speedup\":{:.3},\"sequential_cpu_s\":{seq_cpu:.3},\"batched_cpu_s\":{bat_cpu:.3},\"cpu_speedup\":{:.3}}}",
        seq / bat,
        seq_cpu / bat_cpu
    );
}

/// FNV-1a hash of every value of a short jump trajectory of an MNIST-sized
/// MLP and CNN: run under different `RAYON_NUM_THREADS` to check that
/// candle's threaded kernels do not change the bits.
fn trajectory_hash() {
    let dev = Device::Cpu;
    let mnist = ImageShape { channels: 1, height: 28, width: 28 };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for arch in [Architecture::mlp(mnist, &[256], 10), Architecture::cnn(mnist, &[16, 32, 32], 10)] {
        let model = Model::new(&arch, &mut stream(0, "init"), &dev).expect("model");
        let ds = random_data(512, mnist, 2);
        let small = random_data(64, mnist, 3);
        let splits = Splits { train: ds, val: small.clone(), test: small };
        let cfg = JumpConfig { epochs: 2, lr: 0.05, ..JumpConfig::default() };
        for p in jump_and_retrain(&Checkpoint::new(model, None), &cfg, &splits, &dev, |_| {}).expect("jump") {
            for b in
                p.weights.iter().flat_map(|w| w.to_bits().to_le_bytes()).chain(p.train_loss.to_bits().to_le_bytes())
            {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    println!(
        "{{\"bench\":\"hash\",\"threads\":\"{}\",\"hash\":\"{h:016x}\"}}",
        std::env::var("RAYON_NUM_THREADS").unwrap_or_default()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let what = args.first().map_or("digits-mlp", String::as_str);
    if what == "hash" {
        trajectory_hash();
        return;
    }
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    if let Some(k) = what.strip_prefix("jumps").and_then(|k| k.parse().ok()) {
        time_jumps(k, if n == 0 { 3 } else { u32::try_from(n).unwrap_or(3) }, args.get(2).map(String::as_str));
        return;
    }
    // `<net>+candle` times candle's autograd instead of the hand-written CNN pass.
    let (net, candle) = what.strip_suffix("+candle").map_or((what, false), |n| (n, true));
    let Some((arch, d)) = bench_net(net) else {
        eprintln!("unknown net {what:?}: digits-mlp, mnist-mlp, mnist-cnn, cifar-resnet (each also as <net>+candle), jumps<K>");
        std::process::exit(2);
    };
    let steps = if n == 0 {
        if net == "mnist-cnn" || net == "cifar-resnet" {
            50
        } else {
            500
        }
    } else {
        n
    };
    let (s, cpu) = time_steps(&arch, d, steps, candle);
    println!(
        "{{\"bench\":\"{what}\",\"steps\":{steps},\"us_per_step\":{:.1},\"cpu_us_per_step\":{:.1}}}",
        s * 1e6,
        cpu * 1e6
    );
}
