//! Landscape benches (`cargo bench -p basin-landscape --bench landscape`):
//! criterion timings of the hot paths on a digits-sized MLP (64 → 64 → 10,
//! 4,810 parameters, 1,000 synthetic rows):
//!
//! * `evaluate/grid-27` — a 3³ probe grid (train/val/test loss), parallel
//!   over points;
//! * `hvp/mlp/{double-backward,differences}` — one Hessian-vector product
//!   on the full data: one gradient and its double backward, or two
//!   gradients (ReLU pattern frozen);
//! * `hvp/cnn/{double-backward,differences}` — the same on the CIFAR-format
//!   smoke test's ResNet-lite CNN (3 × 32 × 32 input, channels [4, 8],
//!   strided, residual blocks, BatchNorm; 7,074 parameters) on 256 rows;
//! * `merge-tree/grid-51x51` — union–find merge tree of a 51 × 51 surface.

use basin_data::{rng::stream, Dataset, ImageShape};
use basin_landscape::hessian::hvp::{HvpMethod, LossFunction};
use basin_landscape::topology::graph::grid_graph;
use basin_landscape::topology::merge_tree::merge_tree;
use basin_landscape::{grid_probes, EvalSets};
use basin_train::{Architecture, Downsample, Layers, Model};
use candle_core::Device;
use criterion::{criterion_group, Criterion};
use ndarray::Array2;
use rand::Rng;

fn net_and_data() -> (Model, Dataset) {
    let arch = Architecture::mlp(ImageShape::flat(64), &[64], 10);
    let model = Model::new(&arch, &mut stream(0, "init"), &Device::Cpu).expect("model");
    let mut rng = stream(1, "bench-data");
    let x = Array2::from_shape_fn((1000, 64), |_| rng.random::<f32>());
    let y: Vec<u32> = (0..1000).map(|i| (i % 10) as u32).collect();
    (model, Dataset::new("bench", x, y, ImageShape::flat(64), 10).expect("data"))
}

/// The cifar10 smoke test's CNN (pipelines/cifar10 with channels [4, 8]) on
/// 256 random CIFAR-shaped rows.
fn cnn_and_data() -> (Model, Dataset) {
    let shape = ImageShape { channels: 3, height: 32, width: 32 };
    let layers = Layers::Cnn { channels: vec![4, 8], downsample: Downsample::Strided, residual: true, batch_norm: true };
    let model = Model::new(&Architecture { input: shape, n_classes: 10, layers }, &mut stream(0, "init"), &Device::Cpu).expect("cnn");
    let mut rng = stream(4, "bench-images");
    let x = Array2::from_shape_fn((256, shape.len()), |_| rng.random::<f32>());
    let y: Vec<u32> = (0..256).map(|i| (i % 10) as u32).collect();
    (model, Dataset::new("bench-images", x, y, shape, 10).expect("data"))
}

fn direction(n: usize) -> Vec<f64> {
    let mut rng = stream(2, "bench-v");
    (0..n).map(|_| rng.random::<f64>() - 0.5).collect()
}

fn bench(c: &mut Criterion) {
    let (model, data) = net_and_data();
    let sets = EvalSets { train: data.clone(), val: data.clone(), test: data.clone() };
    let mut group = c.benchmark_group("landscape");
    group.sample_size(10);
    group.bench_function("evaluate/grid-27", |b| b.iter(|| grid_probes(&model, 3, 0, &sets, || {}).expect("grid")));
    for method in [HvpMethod::DoubleBackward, HvpMethod::Differences { step: 1e-3 }] {
        let f = LossFunction::new(&model, &data, method).expect("loss");
        let v = direction(f.dim());
        group.bench_function(format!("hvp/mlp/{}", method.name()), |b| b.iter(|| f.hvp(&v).expect("hvp")));
    }
    let (cnn, images) = cnn_and_data();
    for method in [HvpMethod::DoubleBackward, HvpMethod::Differences { step: 1e-3 }] {
        let f = LossFunction::new(&cnn, &images, method).expect("loss");
        let v = direction(f.dim());
        group.bench_function(format!("hvp/cnn/{}", method.name()), |b| b.iter(|| f.hvp(&v).expect("hvp")));
    }
    let mut rng = stream(3, "bench-surface");
    let values: Vec<f64> = (0..51 * 51).map(|i| ((i % 51) as f64 * 0.3).sin() + ((i / 51) as f64 * 0.2).cos() + 0.01 * rng.random::<f64>()).collect();
    let g = grid_graph(&[51, 51]);
    group.bench_function("merge-tree/grid-51x51", |b| b.iter(|| merge_tree(&values, &g).expect("tree")));
    group.finish();
}

criterion_group!(benches, bench);

fn main() {
    // Double backward: candle must keep gradients differentiable, and reads
    // this once per thread, so it is set before any thread starts.
    std::env::set_var("CANDLE_GRAD_DO_NOT_DETACH", "1");
    benches();
    Criterion::default().configure_from_args().final_summary();
}
