//! Criterion bench of sublevel persistence on kNN graphs of random point
//! clouds of trajectory size (n = 300, 700), graph and flag complexes.

use basin_topo::sublevel::{Complex, SublevelParams};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Euclidean distances of `n` random points in the unit square, and a
/// function with several minima.
fn landscape(n: usize) -> (Array2<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let pts: Vec<[f64; 2]> = (0..n).map(|_| [rng.random::<f64>(), rng.random::<f64>()]).collect();
    let d = Array2::from_shape_fn((n, n), |(i, j)| {
        ((pts[i][0] - pts[j][0]).powi(2) + (pts[i][1] - pts[j][1]).powi(2)).sqrt()
    });
    let f = pts
        .iter()
        .map(|p| (6.0 * p[0]).sin() * (5.0 * p[1]).cos() + 0.1 * rng.random::<f64>())
        .collect();
    (d, f)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("sublevel");
    group.sample_size(20);
    for n in [300usize, 700] {
        let (d, f) = landscape(n);
        for (name, complex) in [("graph", Complex::Graph), ("flag", Complex::Flag)] {
            let params = SublevelParams::new().k(20).complex(complex);
            group.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
                b.iter(|| params.compute(d.view(), &f).map(|o| o.total_persistence));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
