//! Landscape benches (`cargo bench -p basin-landscape --bench landscape`):
//! criterion timings of the hot paths on a digits-sized MLP (64 → 64 → 10,
//! 4,810 parameters, 1,000 synthetic rows):
//!
//! * `evaluate/grid-27` — a 3³ probe grid (train/val/test loss), parallel
//!   over points;
//! * `hvp` — one Hessian-vector product (two full-data gradients);
//! * `merge-tree/grid-51x51` — union–find merge tree of a 51 × 51 surface.

use basin_data::{rng::stream, Dataset, ImageShape};
use basin_landscape::hessian::hvp::LossFunction;
use basin_landscape::topology::graph::grid_graph;
use basin_landscape::topology::merge_tree::merge_tree;
use basin_landscape::{grid_probes, EvalSets};
use basin_train::{Architecture, Model};
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

fn bench(c: &mut Criterion) {
    let (model, data) = net_and_data();
    let sets = EvalSets { train: data.clone(), val: data.clone(), test: data.clone() };
    let mut group = c.benchmark_group("landscape");
    group.sample_size(10);
    group.bench_function("evaluate/grid-27", |b| b.iter(|| grid_probes(&model, 3, 0, &sets, || {}).expect("grid")));
    let f = LossFunction::new(&model, &data, 1e-3).expect("loss");
    let v: Vec<f64> = {
        let mut rng = stream(2, "bench-v");
        (0..f.dim()).map(|_| rng.random::<f64>() - 0.5).collect()
    };
    group.bench_function("hvp", |b| b.iter(|| f.hvp(&v).expect("hvp")));
    let mut rng = stream(3, "bench-surface");
    let values: Vec<f64> = (0..51 * 51).map(|i| ((i % 51) as f64 * 0.3).sin() + ((i / 51) as f64 * 0.2).cos() + 0.01 * rng.random::<f64>()).collect();
    let g = grid_graph(&[51, 51]);
    group.bench_function("merge-tree/grid-51x51", |b| b.iter(|| merge_tree(&values, &g).expect("tree")));
    group.finish();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
