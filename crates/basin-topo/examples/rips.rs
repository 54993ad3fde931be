//! Vietoris–Rips persistence of a file, printed as Ripser prints it.
//!
//! ```text
//! cargo run --release -p basin-topo --example rips -- FILE \
//!     [--format lower-distance|distance|point-cloud|sparse] [--metric euclidean|cosine] \
//!     [--dim D] [--threshold T] [--modulus P] [--threads N] [--cocycles] [--cycles]
//! ```
//! The time of the computation proper (after reading the file) goes to
//! stderr as `compute_seconds: …`, for `benches/rips_vs_reference.py`.

use std::error::Error;
use std::time::Instant;

use basin_topo::rips::{self, Metric, RipsInput, RipsParams};

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut file = None;
    let mut format = "distance".to_string();
    let mut metric = Metric::Euclidean;
    let mut params = RipsParams::new().max_memory(None);
    let mut i = 0;
    let value = |i: usize| -> Result<&str, Box<dyn Error>> {
        args.get(i + 1)
            .map(String::as_str)
            .ok_or_else(|| format!("{} needs a value", args[i]).into())
    };
    while i < args.len() {
        match args[i].as_str() {
            "--format" => format = value(i)?.to_string(),
            "--metric" => {
                metric = match value(i)? {
                    "euclidean" => Metric::Euclidean,
                    "cosine" => Metric::Cosine,
                    m => return Err(format!("unknown metric {m}").into()),
                }
            }
            "--dim" => params = params.max_dim(value(i)?.parse()?),
            "--threshold" => params = params.threshold(Some(value(i)?.parse()?)),
            "--modulus" => params = params.modulus(value(i)?.parse()?),
            "--threads" => params = params.n_threads(value(i)?.parse()?),
            "--cocycles" => {
                params = params.cocycles(true);
                i += 1;
                continue;
            }
            "--cycles" => {
                params = params.cycles(true);
                i += 1;
                continue;
            }
            f if !f.starts_with("--") => {
                file = Some(f.to_string());
                i += 1;
                continue;
            }
            other => return Err(format!("unknown option {other}").into()),
        }
        i += 2;
    }
    let file =
        file.ok_or("usage: rips FILE [--format ...] [--dim D] [--threshold T] [--modulus P]")?;
    let (out, seconds) = match format.as_str() {
        "lower-distance" => {
            let (n, values) = rips::read_lower_distance_matrix(&file)?;
            let start = Instant::now();
            let out = params.compute(&RipsInput::LowerTriangular { n, values: &values })?;
            (out, start.elapsed())
        }
        "distance" => {
            let m = rips::read_distance_matrix(&file)?;
            let start = Instant::now();
            let out = params.compute(&RipsInput::DistanceMatrix(m.view()))?;
            (out, start.elapsed())
        }
        "point-cloud" => {
            let p = rips::read_point_cloud(&file)?;
            let start = Instant::now();
            let out = params.compute(&RipsInput::PointCloud {
                points: p.view(),
                metric,
            })?;
            (out, start.elapsed())
        }
        "sparse" => {
            let edges = rips::read_sparse_triplets(&file)?;
            let n = edges
                .iter()
                .map(|&(i, j, _)| i.max(j) + 1)
                .max()
                .unwrap_or(0);
            let start = Instant::now();
            let out = params.compute(&RipsInput::Sparse { n, edges: &edges })?;
            (out, start.elapsed())
        }
        f => return Err(format!("unknown format {f}").into()),
    };
    println!(
        "threshold {}, {} edges",
        out.threshold as f32, out.num_edges
    );
    print!("{}", rips::to_ripser_text(&out.diagram));
    if let Some(cocycles) = &out.cocycles {
        for (pair, z) in out.diagram.pairs.iter().zip(cocycles) {
            if pair.dim > 0 {
                println!("cocycle of [{},{}): {:?}", pair.birth, pair.death, z);
            }
        }
    }
    eprintln!(
        "memory_estimate: {} bytes, simplices per dimension {:?}",
        out.memory.bytes,
        out.memory
            .simplices_per_dim
            .iter()
            .map(|c| c.round())
            .collect::<Vec<_>>()
    );
    eprintln!("compute_seconds: {:.6}", seconds.as_secs_f64());
    Ok(())
}
