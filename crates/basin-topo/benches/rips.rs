//! Vietoris–Rips benches (criterion): the data sets of `data/tda/` at
//! reduced sizes so one run stays short, and a random point cloud.
//!
//! `cargo bench -p basin-topo --bench rips`. The side-by-side comparison
//! with ripser.py and giotto-ph is `benches/rips_vs_reference.py`.

use std::path::Path;

use basin_topo::rips::{self, Metric, RipsInput, RipsParams};
use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn data(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/tda")
        .join(file)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("rips");
    group.sample_size(10);

    let (n, sphere) =
        rips::read_lower_distance_matrix(data("sphere_3_192.lower_distance_matrix")).unwrap();
    let params = RipsParams::new().max_dim(2).max_memory(None);
    group.bench_function("sphere_3_192_dim2", |b| {
        b.iter(|| {
            params
                .compute(&RipsInput::LowerTriangular { n, values: &sphere })
                .unwrap()
        });
    });

    let o3 = rips::read_point_cloud(data("o3_1024.txt")).unwrap();
    let params = RipsParams::new()
        .max_dim(2)
        .threshold(Some(1.8))
        .max_memory(None);
    group.bench_function("o3_1024_dim2_t1.8", |b| {
        b.iter(|| {
            params
                .compute(&RipsInput::PointCloud {
                    points: o3.view(),
                    metric: Metric::Euclidean,
                })
                .unwrap()
        });
    });

    let r16 = rips::read_distance_matrix(data("random16_50pts.distmat.txt")).unwrap();
    let params = RipsParams::new().max_dim(5).max_memory(None);
    group.bench_function("random16_50_dim5", |b| {
        b.iter(|| {
            params
                .compute(&RipsInput::DistanceMatrix(r16.view()))
                .unwrap()
        });
    });

    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let cloud = Array2::from_shape_fn((300, 3), |_| rng.random::<f64>());
    let params = RipsParams::new()
        .max_dim(2)
        .threshold(Some(0.3))
        .modulus(3)
        .max_memory(None);
    group.bench_function("random_300x3_dim2_z3", |b| {
        b.iter(|| {
            params
                .compute(&RipsInput::PointCloud {
                    points: cloud.view(),
                    metric: Metric::Euclidean,
                })
                .unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
