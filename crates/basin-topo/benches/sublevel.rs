//! Sublevel persistence benches.
//!
//! * `cargo bench -p basin-topo --bench sublevel` — criterion: kNN graphs of
//!   random point clouds of trajectory size (n = 300, 700, k = 20), graph and
//!   flag complexes.
//! * With `BASIN_TOPO_SIDE_BY_SIDE=<input.json>` set, it instead times the
//!   cases of that file (written by `benches/topo_summaries_side_by_side.py`)
//!   and prints one JSON line per case, for the side-by-side comparison with
//!   gudhi.

use std::time::Instant;

use basin_topo::sublevel::{Complex, Connectivity, SublevelParams};
use criterion::{criterion_group, BenchmarkId, Criterion};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

/// Euclidean distances of `n` random points in the unit square, and a
/// function with several minima.
fn landscape(n: usize) -> (Array2<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let pts: Vec<[f64; 2]> = (0..n)
        .map(|_| [rng.random::<f64>(), rng.random::<f64>()])
        .collect();
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

/// Times each case of the side-by-side input: best of `repeats` runs.
fn side_by_side(path: &str) {
    let text = std::fs::read_to_string(path).expect("side-by-side input file");
    let input: Value = serde_json::from_str(&text).expect("side-by-side input JSON");
    for case in input["cases"].as_array().expect("cases") {
        let points: Vec<Vec<f64>> = serde_json::from_value(case["points"].clone()).expect("points");
        let values: Vec<f64> = serde_json::from_value(case["values"].clone()).expect("values");
        let k = case["k"].as_u64().expect("k") as usize;
        let repeats = case["repeats"].as_u64().unwrap_or(5);
        let n = points.len();
        let d = Array2::from_shape_fn((n, n), |(i, j)| {
            points[i]
                .iter()
                .zip(&points[j])
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt()
        });
        for (mode, complex) in [("graph", Complex::Graph), ("flag", Complex::Flag)] {
            // gudhi's side builds the plain kNN graph.
            let params = SublevelParams::new()
                .k(k)
                .complex(complex)
                .connectivity(Connectivity::Knn);
            let mut best = f64::INFINITY;
            let mut bars = 0;
            for _ in 0..repeats {
                let start = Instant::now();
                let out = params.compute(d.view(), &values).expect("sublevel");
                best = best.min(start.elapsed().as_secs_f64());
                bars = out.diagram.pairs.len();
            }
            println!(
                "{{\"case\": \"{}\", \"mode\": \"{mode}\", \"seconds\": {best}, \"bars\": {bars}}}",
                case["name"].as_str().unwrap_or("?")
            );
        }
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
