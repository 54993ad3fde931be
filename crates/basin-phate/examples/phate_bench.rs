//! Timing driver for `benches/phate_vs_reference.py`.
//!
//! Usage: `phate_bench <x.bin> <n> <d> <threads> <out_embedding.bin>`
//! (`x.bin`: n x d row-major little-endian f64). Runs PHATE with the defaults of
//! `phate.PHATE()` (seed 42) and prints one JSON line with the timing, t, the
//! number of landmarks and the peak resident memory. `BASIN_PHATE_DISTANCE=cosine`
//! uses cosine distances (phate's `knn_dist="cosine"`), as on weight
//! trajectories.

use basin_phate::Phate;
use ndarray::Array2;
use std::time::Instant;

// The allocator `basin phate` runs with (crates/basin-cli/src/main.rs): big
// matrices come back from its caches instead of fresh zeroed pages.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 6 {
        return Err("usage: phate_bench <x.bin> <n> <d> <threads> <out.bin>".into());
    }
    let (n, d, threads): (usize, usize, usize) =
        (args[2].parse()?, args[3].parse()?, args[4].parse()?);
    let bytes = std::fs::read(&args[1])?;
    let v: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect();
    let x = Array2::from_shape_vec((n, d), v)?;
    // BASIN_PHATE_SEED overrides the seed (to measure seed-to-seed spread)
    let seed = std::env::var("BASIN_PHATE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(42);
    let distance = match std::env::var("BASIN_PHATE_DISTANCE").as_deref() {
        Ok("cosine") => basin_phate::Distance::Cosine,
        Ok("euclidean") | Err(_) => basin_phate::Distance::Euclidean,
        Ok(other) => {
            return Err(
                format!("BASIN_PHATE_DISTANCE={other}: expected euclidean or cosine").into(),
            )
        }
    };
    let params = Phate::params()
        .seed(seed)
        .distance(distance)
        .n_jobs(Some(threads));
    let start = Instant::now();
    let graph = params.build_graph(x.view())?;
    let t_graph = start.elapsed().as_secs_f64();
    let fit = params.fit_graph(graph)?;
    let total = start.elapsed().as_secs_f64();
    let out: Vec<u8> = fit.embedding.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&args[5], out)?;
    println!(
        "{{\"seconds\": {total:.4}, \"graph_seconds\": {t_graph:.4}, \"t\": {}, \"landmarks\": {}, \"peak_mib\": {:.1}}}",
        fit.t,
        fit.landmarks().map_or(0, basin_phate::Landmarks::len),
        peak_rss_mib()
    );
    Ok(())
}
