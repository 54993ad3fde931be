//! Criterion bench of the exact bottleneck and 2-Wasserstein distances on
//! random diagrams of 100 and 300 finite bars.

use basin_topo::distance::{bottleneck, wasserstein};
use basin_topo::PersistencePair;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn diagram(n: usize, seed: u64) -> Vec<PersistencePair> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let birth = rng.random::<f64>();
            PersistencePair { dim: 1, birth, death: birth + rng.random::<f64>() }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("distance");
    group.sample_size(10);
    for n in [100usize, 300] {
        let (a, b) = (diagram(n, 1), diagram(n, 2));
        group.bench_with_input(BenchmarkId::new("bottleneck", n), &n, |bch, _| {
            bch.iter(|| bottleneck(&a, &b));
        });
        group.bench_with_input(BenchmarkId::new("wasserstein2", n), &n, |bch, _| {
            bch.iter(|| wasserstein(&a, &b, 2.0));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
