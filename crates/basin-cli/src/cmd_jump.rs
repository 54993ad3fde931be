//! `basin jump` (one jump-and-retrain shard, or all shards of one net in
//! one process with `--net`) and `basin merge`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use basin_data::rng::stream;
use basin_store::schema::{self, SchemaSpec, TRAJECTORIES};
use basin_store::{read_table, write_table, Provenance};
use basin_train::{
    jump_and_retrain, jump_and_retrain_batched, load_checkpoint, Checkpoint, JumpConfig, Layers, Model, TrajectoryPoint,
};
use candle_core::Device;
use clap::Args;

use crate::cmd_data::{load_split_sets, SplitSets};
use crate::cmd_train::{architecture, device, splits, train_config};
use crate::params::{DataParams, JumpParams, Params, Shard, TrainParams};
use crate::progress;
use crate::trajectories::{frame, stack, TrajectoryKey};

/// Arguments of `basin jump`.
#[derive(Debug, Args)]
pub(crate) struct JumpArgs {
    /// Params file with `[data]`, `[train]` and `[jump]` sections.
    #[arg(long)]
    params: PathBuf,
    /// The `splits` file made by `basin data split`.
    #[arg(long)]
    split: PathBuf,
    /// The trained net to jump from (not needed with `--dry-run`).
    #[arg(long, required_unless_present = "dry_run")]
    checkpoint: Option<PathBuf>,
    /// The shard: `<run_id>__j<seed>_s<step>` (see `basin plan`).
    #[arg(long, required_unless_present_any = ["dry_run", "net"], conflicts_with = "net")]
    shard: Option<String>,
    /// Output `trajectories` Parquet file of the shard.
    #[arg(long, required_unless_present_any = ["dry_run", "net"], conflicts_with = "net")]
    out: Option<PathBuf>,
    /// Run every shard of this net (all `[jump]` seeds × steps) in one
    /// process instead of one `--shard`: a plain MLP (no BatchNorm)
    /// retrains all its jumps as one batched computation (the same
    /// trajectories within float rounding, not the same bytes), other nets
    /// one shard after another. Writes `<out-dir>/<shard>.parquet` for each
    /// shard, the files `--shard` would write; complete ones are skipped.
    #[arg(long, requires = "out_dir")]
    net: Option<String>,
    /// Folder of the shard files written with `--net`.
    #[arg(long, requires = "net")]
    out_dir: Option<PathBuf>,
    /// Recompute the shard even when `--out` already holds a complete one.
    #[arg(long)]
    force: bool,
    /// Print the number of shards, epochs and an estimated time (from one
    /// timed retraining epoch) instead of running.
    #[arg(long)]
    dry_run: bool,
    /// Parallel jobs the estimate assumes (as in `make -j N`).
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Compute device: `cpu`, or `cuda` / `cuda:N` with the `cuda` feature.
    #[arg(long, default_value = "cpu")]
    device: String,
}

fn jump_config(jump: &JumpParams, shard: &Shard) -> JumpConfig {
    JumpConfig {
        seed: shard.jump_seed,
        step: shard.step,
        epochs: jump.epochs,
        lr: jump.lr,
        momentum: jump.momentum,
        nesterov: false,
        weight_decay: jump.weight_decay,
        batch_size: jump.batch_size,
        recompute_bn_stats: jump.recompute_bn_stats,
    }
}

/// `true` when `path` holds a readable trajectories file of `expected` rows
/// (or fewer, ending in a divergence).
fn is_complete(path: &std::path::Path, expected: usize) -> bool {
    let Ok((df, _)) = read_table(path, &TRAJECTORIES) else {
        return false;
    };
    let diverged = basin_store::columns::bools(&df, "diverged", path).unwrap_or_default();
    df.height() == expected || diverged.last() == Some(&true)
}

/// The splits (standardised as in training) and a trained net, checked
/// against the params' architecture; `inputs` lists the files read, for
/// provenance. Every stage that evaluates a trained net loads it this way.
pub(crate) fn load_trained_net(
    data: &DataParams,
    train_params: &TrainParams,
    split: &Path,
    checkpoint: &Path,
    device: &Device,
) -> Result<(SplitSets, Vec<PathBuf>, Checkpoint)> {
    let (sets, mut inputs) = load_split_sets(data, split)?;
    let net = load_checkpoint(checkpoint, device).with_context(|| format!("loading {}", checkpoint.display()))?;
    let arch = architecture(train_params, &sets);
    if net.model.architecture() != &arch {
        bail!(
            "{}: architecture {} does not match [train] architecture {} for this data",
            checkpoint.display(),
            serde_json::to_string(net.model.architecture())?,
            serde_json::to_string(&arch)?
        );
    }
    inputs.push(checkpoint.to_path_buf());
    Ok((sets, inputs, net))
}

pub(crate) fn run(args: &JumpArgs) -> Result<()> {
    let params = Params::load(&args.params)?;
    let data: DataParams = params.section("data")?;
    let train_params: TrainParams = params.section("train")?;
    let jump: JumpParams = params.section("jump")?;
    if args.dry_run {
        return dry_run(args, &params, &data, &train_params, &jump);
    }
    let Some(checkpoint) = &args.checkpoint else { bail!("--checkpoint is required unless --dry-run") };
    if let (Some(net), Some(out_dir)) = (&args.net, &args.out_dir) {
        return run_net(args, &params, &data, &train_params, &jump, checkpoint, net, out_dir);
    }
    let (Some(shard_id), Some(out)) = (&args.shard, &args.out) else {
        bail!("--shard and --out (or --net and --out-dir) are required unless --dry-run");
    };
    let shard = Shard::parse(shard_id)?;
    let run = train_params.run(&shard.run_id)?;
    let expected = jump.epochs as usize + 1;
    if !args.force && is_complete(out, expected) {
        tracing::info!("{} is complete; skipping (use --force to recompute)", out.display());
        return Ok(());
    }
    let device = device(&args.device)?;
    let (sets, inputs, net) = load_trained_net(&data, &train_params, &args.split, checkpoint, &device)?;
    let cfg = jump_config(&jump, &shard);
    let bar = progress::bar(expected as u64, "jump");
    bar.set_message(shard.id());
    let started = Instant::now();
    let points = jump_and_retrain(&net, &cfg, &splits(&sets), &device, |p| {
        bar.inc(1);
        warn_diverged(&shard, p);
    })
    .with_context(|| format!("shard {}", shard.id()))?;
    bar.finish_and_clear();
    log_done(&shard, &points, Some(started.elapsed().as_secs_f64()));
    write_shard(out, &params, &shard, run.seed, data.seed, &inputs, &net, &points)
}

fn warn_diverged(shard: &Shard, p: &TrajectoryPoint) {
    if p.diverged {
        tracing::warn!("{}: diverged at epoch {} (loss {})", shard.id(), p.epoch, p.train_loss);
    }
}

/// Logs a finished shard; `seconds` is its own time (`None` when it ran
/// batched with others).
fn log_done(shard: &Shard, points: &[TrajectoryPoint], seconds: Option<f64>) {
    if let Some(last) = points.last() {
        let time = seconds.map(|t| format!(" in {t:.1}s")).unwrap_or_default();
        tracing::info!(
            "{}: {} points{time}, final train loss {:.4}, test acc {:.3}",
            shard.id(),
            points.len(),
            last.train_loss,
            last.test_acc
        );
    }
}

/// Writes one shard's trajectories file with its provenance.
#[allow(clippy::too_many_arguments)]
fn write_shard(
    out: &Path,
    params: &Params,
    shard: &Shard,
    run_seed: u64,
    split_seed: u64,
    inputs: &[PathBuf],
    net: &Checkpoint,
    points: &[TrajectoryPoint],
) -> Result<()> {
    if points.is_empty() {
        bail!("shard {}: no point logged", shard.id());
    }
    let key = TrajectoryKey { run_id: &shard.run_id, jump_seed: shard.jump_seed, step_size: shard.step };
    let mut df = frame(&key, points)?;
    let layout: Vec<serde_json::Value> = net
        .model
        .parameter_layout()
        .iter()
        .map(|p| serde_json::json!({ "name": p.name, "shape": p.shape, "offset": p.offset }))
        .collect();
    let prov = Provenance::new(&TRAJECTORIES, "jump")
        .with_params(serde_json::json!({
            "data": params.section_json("data"),
            "train": params.section_json("train"),
            "jump": params.section_json("jump"),
            "shard": shard.id(),
        }))
        .with_seeds(serde_json::json!({ "jump": shard.jump_seed, "run": run_seed, "split": split_seed }))
        .with_inputs(inputs)?
        .with_extra("parameter_layout", serde_json::to_string(&layout)?);
    write_table(out, &mut df, &TRAJECTORIES, &prov)?;
    Ok(())
}

/// `basin jump --net`: every missing shard of one net in this process,
/// batched for plain MLPs.
#[allow(clippy::too_many_arguments)]
fn run_net(
    args: &JumpArgs,
    params: &Params,
    data: &DataParams,
    train_params: &TrainParams,
    jump: &JumpParams,
    checkpoint: &Path,
    net_id: &str,
    out_dir: &Path,
) -> Result<()> {
    let run = train_params.run(net_id)?;
    let expected = jump.epochs as usize + 1;
    let todo: Vec<(Shard, PathBuf)> = jump
        .shards(&run.run_id)
        .into_iter()
        .map(|s| {
            let out = out_dir.join(format!("{}.parquet", s.id()));
            (s, out)
        })
        .filter(|(_, out)| args.force || !is_complete(out, expected))
        .collect();
    if todo.is_empty() {
        tracing::info!(
            "{net_id}: every shard in {} is complete; skipping (use --force to recompute)",
            out_dir.display()
        );
        return Ok(());
    }
    let device = device(&args.device)?;
    let (sets, inputs, net) = load_trained_net(data, train_params, &args.split, checkpoint, &device)?;
    let splits = splits(&sets);
    let configs: Vec<JumpConfig> = todo.iter().map(|(s, _)| jump_config(jump, s)).collect();
    let batchable = matches!(net.model.architecture().layers, Layers::Mlp { batch_norm: false, .. });
    let bar = progress::bar((todo.len() * expected) as u64, "jump");
    bar.set_message(format!("{net_id} ({} shards{})", todo.len(), if batchable { ", batched" } else { "" }));
    let started = Instant::now();
    let trajectories = if batchable {
        jump_and_retrain_batched(&net, &configs, &splits, &device, |i, p| {
            bar.inc(1);
            warn_diverged(&todo[i].0, p);
        })
        .with_context(|| format!("batched shards of {net_id}"))?
    } else {
        let mut all = Vec::with_capacity(configs.len());
        for ((shard, _), cfg) in todo.iter().zip(&configs) {
            let points = jump_and_retrain(&net, cfg, &splits, &device, |p| {
                bar.inc(1);
                warn_diverged(shard, p);
            })
            .with_context(|| format!("shard {}", shard.id()))?;
            all.push(points);
        }
        all
    };
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    for ((shard, out), points) in todo.iter().zip(&trajectories) {
        log_done(shard, points, None);
        write_shard(out, params, shard, run.seed, data.seed, &inputs, &net, points)?;
    }
    tracing::info!("{net_id}: {} shards in {seconds:.1}s", todo.len());
    Ok(())
}

fn dry_run(
    args: &JumpArgs,
    params: &Params,
    data: &DataParams,
    train_params: &TrainParams,
    jump: &JumpParams,
) -> Result<()> {
    let runs = train_params.runs();
    let n_shards = runs.len() * jump.seeds.len() * jump.steps.len();
    let (sets, _) = load_split_sets(data, &args.split)?;
    let device = device(&args.device)?;
    // Calibrate on a freshly initialised net of the same architecture: one
    // retraining epoch costs the same whatever the weights.
    let arch = architecture(train_params, &sets);
    let model = Model::new(&arch, &mut stream(0, "init"), &device)?;
    let cfg = train_config(train_params, &runs[0]);
    let net = Checkpoint::new(model, Some(cfg));
    let calib =
        JumpConfig { epochs: 1, ..jump_config(jump, &Shard { run_id: String::new(), jump_seed: 0, step: 0.5 }) };
    let started = Instant::now();
    jump_and_retrain(&net, &calib, &splits(&sets), &device, |_| {})?;
    let per_epoch = started.elapsed().as_secs_f64() / 2.0; // epoch 0 evaluation + 1 epoch
    let per_shard = per_epoch * f64::from(jump.epochs + 1);
    let total = per_shard * n_shards as f64 / args.jobs.max(1) as f64;
    println!("params:     {}", params.path().display());
    println!("nets:       {}", runs.len());
    println!("shards:     {n_shards} ({} nets × {} seeds × {} steps)", runs.len(), jump.seeds.len(), jump.steps.len());
    println!(
        "epochs:     {} per shard ({} logged points each, {} in all)",
        jump.epochs,
        jump.epochs + 1,
        n_shards * (jump.epochs as usize + 1)
    );
    println!("per shard:  ~{per_shard:.1}s (one calibrated epoch: {per_epoch:.3}s)");
    println!("estimate:   ~{:.1} min with {} parallel job(s)", total / 60.0, args.jobs.max(1));
    Ok(())
}

/// Arguments of `basin merge`.
#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// Schema of the inputs: `trajectories` or `runs`.
    #[arg(long)]
    schema: String,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// Input files, stacked in the order given.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

pub(crate) fn merge(args: &MergeArgs) -> Result<()> {
    let spec: &SchemaSpec = schema::ALL
        .iter()
        .find(|s| s.name == args.schema)
        .with_context(|| format!("--schema {:?}: unknown schema", args.schema))?;
    let mut frames = Vec::with_capacity(args.inputs.len());
    let mut first_prov = None;
    for p in &args.inputs {
        let (df, prov) = read_table(p, spec)?;
        first_prov.get_or_insert(prov);
        frames.push((df, p.as_path()));
    }
    let mut df = stack(frames)?;
    let first = first_prov.context("no input")?;
    let mut prov = Provenance::new(spec, "merge").with_params(first.params.clone()).with_inputs(&args.inputs)?;
    prov.extra = first.extra.clone();
    write_table(&args.out, &mut df, spec, &prov)?;
    tracing::info!("merged {} files, {} rows → {}", args.inputs.len(), df.height(), args.out.display());
    Ok(())
}
