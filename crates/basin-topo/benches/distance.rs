//! Diagram distance benches.
//!
//! * `cargo bench -p basin-topo --bench distance` — criterion: exact
//!   bottleneck and 2-Wasserstein distances on random diagrams of 100 and 300
//!   finite bars.
//! * With `BASIN_TOPO_SIDE_BY_SIDE=<input.json>` set, it instead times the
//!   diagram pairs of that file (written by
//!   `benches/topo_summaries_side_by_side.py`) and prints one JSON line per
//!   pair and distance.

use std::time::Instant;

use basin_topo::distance::{bottleneck, wasserstein, wasserstein_with_ground, GroundMetric};
use basin_topo::PersistencePair;
use criterion::{criterion_group, BenchmarkId, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

fn diagram(n: usize, seed: u64) -> Vec<PersistencePair> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let birth = rng.random::<f64>();
            PersistencePair {
                dim: 1,
                birth,
                death: birth + rng.random::<f64>(),
            }
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

fn parse(value: &Value) -> Vec<PersistencePair> {
    value
        .as_array()
        .expect("diagram")
        .iter()
        .map(|bar| PersistencePair {
            dim: 1,
            birth: bar[0].as_f64().expect("birth"),
            death: bar[1].as_f64().expect("death"),
        })
        .collect()
}

/// Best of `repeats` runs of `f`, and its value.
fn best_of(repeats: u64, mut f: impl FnMut() -> f64) -> (f64, f64) {
    let mut best = f64::INFINITY;
    let mut value = f64::NAN;
    for _ in 0..repeats {
        let start = Instant::now();
        value = f();
        best = best.min(start.elapsed().as_secs_f64());
    }
    (best, value)
}

fn side_by_side(path: &str) {
    let text = std::fs::read_to_string(path).expect("side-by-side input file");
    let input: Value = serde_json::from_str(&text).expect("side-by-side input JSON");
    for case in input["cases"].as_array().expect("cases") {
        let (a, b) = (parse(&case["a"]), parse(&case["b"]));
        let repeats = case["repeats"].as_u64().unwrap_or(3);
        let name = case["name"].as_str().unwrap_or("?");
        let (t, v) = best_of(repeats, || bottleneck(&a, &b).expect("bottleneck"));
        println!("{{\"case\": \"{name}\", \"distance\": \"bottleneck\", \"seconds\": {t}, \"value\": {v}}}");
        for p in [1.0, 2.0] {
            let (t, v) = best_of(repeats, || wasserstein(&a, &b, p).expect("wasserstein"));
            println!("{{\"case\": \"{name}\", \"distance\": \"wasserstein{p}\", \"seconds\": {t}, \"value\": {v}}}");
        }
        let (t, v) = best_of(repeats, || {
            wasserstein_with_ground(&a, &b, 1.0, GroundMetric::L2).expect("wasserstein")
        });
        println!("{{\"case\": \"{name}\", \"distance\": \"wasserstein1_l2\", \"seconds\": {t}, \"value\": {v}}}");
    }
}

fn main() {
    if let Ok(path) = std::env::var("BASIN_TOPO_SIDE_BY_SIDE") {
        side_by_side(&path);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
