//! One SGD training step (forward, backward, momentum update) of the
//! benchmark nets, batch 128. Side-by-side numbers against PyTorch come
//! from `benches/train_vs_pytorch.py` at the repository root.

use basin_data::{rng::stream, ImageShape};
use basin_train::{Architecture, Downsample, Layers, Model, SgdConfig, SgdMomentum, TrainStep};
use candle_core::Device;
use candle_nn::Optimizer;
use criterion::{criterion_group, criterion_main, Criterion};
use rand::Rng;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn step_bench(c: &mut Criterion, name: &str, arch: &Architecture) {
    let dev = Device::Cpu;
    let model = Model::new(arch, &mut stream(0, "init"), &dev).unwrap();
    let mut opt = SgdMomentum::new(model.vars(), SgdConfig { lr: 0.01, ..SgdConfig::default() }).unwrap();
    let d = arch.input.len();
    let mut rng = stream(1, "bench");
    let xs: Vec<f32> = (0..128 * d).map(|_| rng.random_range(-1.0..1.0)).collect();
    let ys: Vec<u32> = (0..128).map(|_| rng.random_range(0..10)).collect();
    // The path training takes: the hand-written CPU step for the CNN, candle's autograd for the MLPs.
    let mut step = TrainStep::new(&model);
    c.bench_function(name, |b| b.iter(|| step.step(&model, &mut opt, &xs, &ys).unwrap()));
}

fn benches(c: &mut Criterion) {
    let mnist = ImageShape { channels: 1, height: 28, width: 28 };
    step_bench(c, "step/digits-mlp-64-64-10", &Architecture::mlp(ImageShape::flat(64), &[64], 10));
    step_bench(c, "step/mnist-mlp-784-256-10", &Architecture::mlp(mnist, &[256], 10));
    step_bench(c, "step/mnist-cnn-16-32-32", &Architecture::cnn(mnist, &[16, 32, 32], 10));
    let cifar = ImageShape { channels: 3, height: 32, width: 32 };
    let resnet = Layers::Cnn { channels: vec![32, 64, 128], downsample: Downsample::Strided, residual: true, batch_norm: true };
    step_bench(c, "step/cifar-resnet-lite-32-64-128", &Architecture { input: cifar, n_classes: 10, layers: resnet });
}

criterion_group! {
    name = group;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(group);
