//! `basin landscape …`: loss-landscape views around trained nets.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use basin_landscape::{distances_from, grid_probes, naive_probes, probes_frame, EvalSets, ProbePoint};
use basin_store::schema::{PROBES, TRAJECTORIES};
use basin_store::{columns, read_table, write_table, Provenance};
use clap::{Args, Subcommand, ValueEnum};

use crate::cmd_jump::load_trained_net;
use crate::cmd_train::{device, splits};
use crate::params::{DataParams, LandscapeParams, Params, TrainParams};
use crate::progress;

/// The `landscape` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum LandscapeCommand {
    /// Baselines of Horoi et al. 2022 §4: losses at random points around a
    /// trained net, without retraining (`probes` schema).
    Probe(ProbeArgs),
}

pub(crate) fn run(cmd: LandscapeCommand) -> Result<()> {
    match cmd {
        LandscapeCommand::Probe(a) => probe(&a),
    }
}

/// How `basin landscape probe` places its points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProbeMethod {
    /// One fresh filter-normalised direction per trajectory point, at that
    /// point's distance from the minimum (needs `--trajectories`).
    Naive,
    /// A regular grid on [−1, 1]³ spanned by three filter-normalised directions.
    Grid,
}

impl ProbeMethod {
    fn name(self) -> &'static str {
        match self {
            Self::Naive => "naive",
            Self::Grid => "grid",
        }
    }
}

/// Arguments of `basin landscape probe`.
#[derive(Debug, Args)]
pub(crate) struct ProbeArgs {
    /// Params file with `[data]`, `[train]` and `[landscape]` sections
    /// (`[landscape]` may be left out: defaults).
    #[arg(long)]
    params: PathBuf,
    /// The `splits` file made by `basin data split`.
    #[arg(long)]
    split: PathBuf,
    /// The trained net θₒ.
    #[arg(long)]
    checkpoint: PathBuf,
    /// The net's run id (written to every row; must be a run of `[train]`).
    #[arg(long)]
    run: String,
    /// `naive` (one random direction per trajectory point) or `grid`.
    #[arg(long, value_enum)]
    method: ProbeMethod,
    /// The net's merged `trajectories` file (naive only): one probe per row,
    /// at that row's distance from θₒ.
    #[arg(long, required_if_eq("method", "naive"))]
    trajectories: Option<PathBuf>,
    /// Grid points per axis (grid only); defaults to `[landscape] grid_resolution`.
    #[arg(long)]
    resolution: Option<usize>,
    /// Seed of the directions; defaults to `[landscape] seed`.
    #[arg(long)]
    seed: Option<u64>,
    /// Output `probes` Parquet file.
    #[arg(long)]
    out: PathBuf,
    /// Compute device: `cpu`, or `cuda` / `cuda:N` with the `cuda` feature.
    #[arg(long, default_value = "cpu")]
    device: String,
}

fn probe(args: &ProbeArgs) -> Result<()> {
    let params = Params::load(&args.params)?;
    let data: DataParams = params.section("data")?;
    let train_params: TrainParams = params.section("train")?;
    let landscape: LandscapeParams = params.section_or_default("landscape")?;
    let run = train_params.run(&args.run)?;
    let seed = args.seed.unwrap_or(landscape.seed);
    let resolution = args.resolution.unwrap_or(landscape.grid_resolution);
    let device = device(&args.device)?;
    let (sets, mut inputs, net) = load_trained_net(&data, &train_params, &args.split, &args.checkpoint, &device)?;
    let eval_sets = EvalSets::for_checkpoint(&net, &splits(&sets))?;
    let started = Instant::now();
    let points: Vec<ProbePoint> = match args.method {
        ProbeMethod::Naive => {
            let path = args.trajectories.as_ref().context("--method naive needs --trajectories")?;
            let distances = trajectory_distances(path, &run.run_id, &net.model.flat_weights()?)?;
            inputs.push(path.clone());
            let bar = progress::bar(distances.len() as u64, "naive");
            let pts = naive_probes(&net.model, &distances, seed, &eval_sets, || bar.inc(1))?;
            bar.finish_and_clear();
            pts
        }
        ProbeMethod::Grid => {
            let bar = progress::bar(resolution.saturating_pow(3) as u64, "grid");
            let pts = grid_probes(&net.model, resolution, seed, &eval_sets, || bar.inc(1))
                .with_context(|| format!("--resolution {resolution}"))?;
            bar.finish_and_clear();
            pts
        }
    };
    let n_bad = points.iter().filter(|p| !p.metrics.is_finite()).count();
    if n_bad > 0 {
        tracing::warn!("{}: {n_bad} of {} points have a non-finite loss (kept, flagged finite = false)", run.run_id, points.len());
    }
    tracing::info!("{} {}: {} points in {:.1}s", run.run_id, args.method.name(), points.len(), started.elapsed().as_secs_f64());
    let mut df = probes_frame(&run.run_id, args.method.name(), &points)?;
    let mut probe_params = serde_json::json!({ "method": args.method.name(), "seed": seed });
    if args.method == ProbeMethod::Grid {
        probe_params["resolution"] = serde_json::json!(resolution);
    }
    let prov = Provenance::new(&PROBES, "landscape probe")
        .with_params(serde_json::json!({
            "data": params.section_json("data"),
            "train": params.section_json("train"),
            "landscape": params.section_json("landscape"),
            "probe": probe_params,
            "run_id": run.run_id,
        }))
        .with_seeds(serde_json::json!({ "probe": seed, "run": run.seed, "split": data.seed }))
        .with_inputs(&inputs)?;
    write_table(&args.out, &mut df, &PROBES, &prov)?;
    Ok(())
}

/// Distance from θₒ of every row of a `trajectories` file, which must hold
/// only rows of `run_id`.
fn trajectory_distances(path: &std::path::Path, run_id: &str, theta0: &[f32]) -> Result<Vec<f64>> {
    let (df, _) = read_table(path, &TRAJECTORIES)?;
    let ids = columns::strings(&df, "run_id", path)?;
    if let Some((row, other)) = ids.iter().enumerate().find(|(_, id)| id.as_str() != run_id) {
        bail!("{}: row {row} belongs to net {other:?}, not --run {run_id:?}", path.display());
    }
    let weights = columns::f32_lists(&df, "weights", path)?;
    Ok(distances_from(theta0, &weights, path)?)
}
