//! Criterion bench of the PHATE stages on a small synthetic tree-like cloud
//! (the side-by-side with phate 2.0 lives in /work/main/benches/phate_vs_reference.py).

use basin_phate::{KnnSearch, Mds, Phate, T};
use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use std::hint::black_box;

/// Deterministic noisy branching curve: n points in d dimensions.
fn tree(n: usize, d: usize) -> Array2<f64> {
    Array2::from_shape_fn((n, d), |(i, j)| {
        let branch = (i / 100) as f64;
        let s = (i % 100) as f64 * 0.1;
        let h = ((i as u64 * 2654435761 + j as u64 * 40503) % 1000) as f64 / 1000.0;
        (branch * (j + 1) as f64).sin() * 5.0 + s * ((j as f64 + branch).cos()) + 0.3 * h
    })
}

fn bench(c: &mut Criterion) {
    let x = tree(500, 50);
    let p = Phate::params().seed(1);
    let mut g = c.benchmark_group("phate_500x50");
    g.sample_size(10);
    g.bench_function("graph (kNN kernel + P)", |b| {
        b.iter(|| black_box(p.build_graph(x.view()).unwrap()))
    });
    let graph = p.build_graph(x.view()).unwrap();
    g.bench_function("t auto + potential + classic MDS", |b| {
        b.iter(|| {
            black_box(
                p.clone()
                    .mds(Mds::Classic)
                    .fit_graph(graph.clone())
                    .unwrap(),
            )
        })
    });
    g.bench_function("fixed t + potential + SGD MDS", |b| {
        b.iter(|| black_box(p.clone().t(T::Fixed(20)).fit_graph(graph.clone()).unwrap()))
    });
    g.bench_function("full fit (defaults)", |b| {
        b.iter(|| black_box(p.fit(x.view()).unwrap()))
    });
    g.finish();

    // The two exact neighbour searches on data each is chosen for, and brute
    // force on the tree's data for comparison.
    let mut g = c.benchmark_group("knn_kernel");
    g.sample_size(10);
    let wide = tree(3000, 100);
    let narrow = tree(20000, 3);
    let graph_only = Phate::params().n_landmark(None).seed(1);
    g.bench_function("brute force 3000 x 100", |b| {
        b.iter(|| black_box(graph_only.build_graph(wide.view()).unwrap()))
    });
    g.bench_function("k-d tree 20000 x 3", |b| {
        b.iter(|| black_box(graph_only.build_graph(narrow.view()).unwrap()))
    });
    let brute = graph_only.clone().knn_search(KnnSearch::BruteForce);
    g.bench_function("brute force 20000 x 3", |b| {
        b.iter(|| black_box(brute.build_graph(narrow.view()).unwrap()))
    });
    g.finish();

    // Landmark path: spectral clustering, landmark operator, t, potential, SGD.
    let mut g = c.benchmark_group("landmarks_5000x50");
    g.sample_size(10);
    let big = tree(5000, 50);
    g.bench_function("full fit (defaults, 2000 landmarks)", |b| {
        b.iter(|| black_box(p.fit(big.view()).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
