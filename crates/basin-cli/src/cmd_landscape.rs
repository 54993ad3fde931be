//! `basin landscape …`: loss-landscape views around trained nets.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use basin_landscape::{distances_from, grid_probes, naive_probes, probes_frame, EvalSets, ProbePoint};
use basin_train::Checkpoint;
use basin_store::schema::{PROBES, TRAJECTORIES};
use basin_store::{columns, read_table, write_table, Provenance};
use clap::{Args, Subcommand, ValueEnum};

use crate::cmd_jump::load_trained_net;
use crate::cmd_train::{device, splits};
use crate::params::{DataParams, LandscapeParams, Params, RunSpec, TrainParams};
use crate::progress;

/// The `landscape` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum LandscapeCommand {
    /// Baselines of Horoi et al. 2022 §4: losses at random points around a
    /// trained net, without retraining (`probes` schema).
    Probe(ProbeArgs),
    /// Loss surface around a net: 1D/2D along filter-normalised random
    /// directions, or 1D interpolation towards another checkpoint
    /// (`surfaces` schema; optional images, VTK and PLY).
    Surface(crate::cmd_landscape_surface::SurfaceArgs),
    /// An optimizer path (one jump-and-retrain trajectory) on the plane of
    /// its first two PCA directions: the surface under it and each point's
    /// off-plane distance and true vs. read-off loss (`surfaces` + `paths`).
    Path(crate::cmd_landscape_surface::PathArgs),
    /// Curvature at a net: top eigenvalues (Lanczos, with residuals), trace
    /// (Hutchinson, with a 95 % interval), spectral density (SLQ), the
    /// |λ_min/λ_max| ratio and sharpness, whole net and per layer
    /// (`hessian` schema, plus `features` rows for the comparison stage).
    Hessian(crate::cmd_landscape_hessian::HessianArgs),
    /// Merge tree of the loss sublevel sets over a `surfaces` grid or
    /// `probes` points (grid or kNN graph): minima, saddles, persistence,
    /// landscape profile (`diagrams` + `merge_trees` + `features`).
    MergeTree(crate::cmd_landscape_topology::MergeTreeArgs),
}

pub(crate) fn run(cmd: LandscapeCommand) -> Result<()> {
    match cmd {
        LandscapeCommand::Probe(a) => probe(&a),
        LandscapeCommand::Surface(a) => crate::cmd_landscape_surface::surface_cmd(&a),
        LandscapeCommand::Path(a) => crate::cmd_landscape_surface::path_cmd(&a),
        LandscapeCommand::Hessian(a) => crate::cmd_landscape_hessian::hessian_cmd(&a),
        LandscapeCommand::MergeTree(a) => crate::cmd_landscape_topology::merge_tree_cmd(&a),
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
    #[command(flatten)]
    net: NetArgs,
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
}

/// The net a landscape command looks at, and where it was trained.
#[derive(Debug, Args)]
pub(crate) struct NetArgs {
    /// Params file with `[data]`, `[train]` and `[landscape]` sections
    /// (`[landscape]` may be left out: defaults).
    #[arg(long)]
    pub params: PathBuf,
    /// The `splits` file made by `basin data split`.
    #[arg(long)]
    pub split: PathBuf,
    /// The trained net θₒ.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// The net's run id (written to every row; must be a run of `[train]`).
    #[arg(long)]
    pub run: String,
    /// Compute device: `cpu`, or `cuda` / `cuda:N` with the `cuda` feature.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// A loaded net with its evaluation splits and settings.
pub(crate) struct LoadedNet {
    pub params: Params,
    pub data: DataParams,
    pub landscape: LandscapeParams,
    pub run: RunSpec,
    pub net: Checkpoint,
    pub sets: EvalSets,
    /// Files read so far, for provenance.
    pub inputs: Vec<PathBuf>,
}

impl NetArgs {
    /// Loads the params, the splits and the checkpoint (checked against the
    /// params' architecture) the way `basin jump` does.
    pub(crate) fn load(&self) -> Result<LoadedNet> {
        let params = Params::load(&self.params)?;
        let data: DataParams = params.section("data")?;
        let train_params: TrainParams = params.section("train")?;
        let landscape: LandscapeParams = params.section_or_default("landscape")?;
        let run = train_params.run(&self.run)?;
        let device = device(&self.device)?;
        let (sets, inputs, net) = load_trained_net(&data, &train_params, &self.split, &self.checkpoint, &device)?;
        let sets = EvalSets::for_checkpoint(&net, &splits(&sets))?;
        Ok(LoadedNet { params, data, landscape, run, net, sets, inputs })
    }
}

impl LoadedNet {
    /// Provenance with the sections this stage read and `extra` params.
    pub(crate) fn provenance(&self, schema: &basin_store::schema::SchemaSpec, command: &str, extra: serde_json::Value, seed: u64) -> Result<Provenance> {
        Ok(Provenance::new(schema, command)
            .with_params(serde_json::json!({
                "data": self.params.section_json("data"),
                "train": self.params.section_json("train"),
                "landscape": self.params.section_json("landscape"),
                "command": extra,
                "run_id": self.run.run_id,
            }))
            .with_seeds(serde_json::json!({ "landscape": seed, "run": self.run.seed, "split": self.data.seed }))
            .with_inputs(&self.inputs)?)
    }
}

fn probe(args: &ProbeArgs) -> Result<()> {
    let mut l = args.net.load()?;
    let seed = args.seed.unwrap_or(l.landscape.seed);
    let resolution = args.resolution.unwrap_or(l.landscape.grid_resolution);
    let started = Instant::now();
    let points: Vec<ProbePoint> = match args.method {
        ProbeMethod::Naive => {
            let path = args.trajectories.as_ref().context("--method naive needs --trajectories")?;
            let distances = trajectory_distances(path, &l.run.run_id, &l.net.model.flat_weights()?)?;
            l.inputs.push(path.clone());
            let bar = progress::bar(distances.len() as u64, "naive");
            let pts = naive_probes(&l.net.model, &distances, seed, &l.sets, || bar.inc(1))?;
            bar.finish_and_clear();
            pts
        }
        ProbeMethod::Grid => {
            let bar = progress::bar(resolution.saturating_pow(3) as u64, "grid");
            let pts = grid_probes(&l.net.model, resolution, seed, &l.sets, || bar.inc(1))
                .with_context(|| format!("--resolution {resolution}"))?;
            bar.finish_and_clear();
            pts
        }
    };
    let n_bad = points.iter().filter(|p| !p.metrics.is_finite()).count();
    if n_bad > 0 {
        tracing::warn!("{}: {n_bad} of {} points have a non-finite loss (kept, flagged finite = false)", l.run.run_id, points.len());
    }
    tracing::info!("{} {}: {} points in {:.1}s", l.run.run_id, args.method.name(), points.len(), started.elapsed().as_secs_f64());
    let mut df = probes_frame(&l.run.run_id, args.method.name(), &points)?;
    let mut probe_params = serde_json::json!({ "method": args.method.name(), "seed": seed });
    if args.method == ProbeMethod::Grid {
        probe_params["resolution"] = serde_json::json!(resolution);
    }
    let prov = l.provenance(&PROBES, "landscape probe", probe_params, seed)?;
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
