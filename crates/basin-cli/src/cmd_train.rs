//! `basin train`: one base net of the grid.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use basin_store::polars::df;
use basin_store::schema::RUNS;
use basin_store::{write_table, Provenance};
use basin_train::{evaluate, save_checkpoint, train, Architecture, Splits, TrainConfig};
use clap::Args;

use crate::cmd_data::{load_split_sets, SplitSets};
use crate::params::{DataParams, Params, RunSpec, TrainParams};
use crate::progress;

/// Arguments of `basin train`.
#[derive(Debug, Args)]
pub(crate) struct TrainArgs {
    /// Params file with `[data]` and `[train]` sections.
    #[arg(long)]
    pub params: PathBuf,
    /// The `splits` file made by `basin data split`.
    #[arg(long)]
    pub split: PathBuf,
    /// Which net of the grid to train (see `basin plan`).
    #[arg(long)]
    pub run: String,
    /// Output checkpoint (safetensors with metadata).
    #[arg(long)]
    pub out: PathBuf,
    /// Output one-row `runs` table with the net's settings and final metrics.
    #[arg(long)]
    pub run_table: PathBuf,
    /// Compute device: `cpu`, or `cuda` / `cuda:N` with the `cuda` feature.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Also write the net's own optimizer path as a `trajectories` file:
    /// its weights and metrics at initialisation (epoch 0) and after every
    /// epoch, with `jump_seed` = −1 and `step_size` = 0 (`basin landscape
    /// path --base` draws it). The checkpoint and run table are unchanged.
    #[arg(long)]
    pub trajectory_out: Option<PathBuf>,
}

/// Parses `--device`.
pub(crate) fn device(name: &str) -> Result<candle_core::Device> {
    match name {
        "cpu" => Ok(candle_core::Device::Cpu),
        s if s.starts_with("cuda") => {
            let ordinal = s.strip_prefix("cuda:").map_or(Ok(0), str::parse).context("--device cuda:N needs a number")?;
            candle_core::Device::new_cuda(ordinal).with_context(|| {
                format!("--device {s}: CUDA unavailable (build with `--features cuda` and run on a machine with a GPU)")
            })
        }
        other => anyhow::bail!("--device {other:?}: expected cpu, cuda or cuda:N"),
    }
}

/// The architecture of `[train]` for the data's shape.
pub(crate) fn architecture(train: &TrainParams, sets: &SplitSets) -> Architecture {
    Architecture { input: sets.train.shape, n_classes: sets.train.n_classes, layers: train.architecture.clone() }
}

/// The library's training settings for one run of the grid.
pub(crate) fn train_config(train: &TrainParams, run: &RunSpec) -> TrainConfig {
    TrainConfig {
        epochs: run.epochs,
        batch_size: run.batch_size,
        lr: run.lr,
        momentum: train.momentum,
        nesterov: train.nesterov,
        weight_decay: run.weight_decay,
        schedule: train.schedule,
        augment: run.augment,
        max_shift: train.max_shift,
        hflip: train.hflip,
        label_noise: run.label_noise,
        seed: run.seed,
        log_weights: false,
    }
}

pub(crate) fn splits(sets: &SplitSets) -> Splits {
    Splits { train: sets.train.clone(), val: sets.val.clone(), test: sets.test.clone() }
}

pub(crate) fn run(args: &TrainArgs) -> Result<()> {
    let params = Params::load(&args.params)?;
    let data: DataParams = params.section("data")?;
    let train_params: TrainParams = params.section("train")?;
    let run = train_params.run(&args.run)?;
    let (sets, inputs) = load_split_sets(&data, &args.split)?;
    let arch = architecture(&train_params, &sets);
    let mut cfg = train_config(&train_params, &run);
    // Logging weights only keeps a copy of them per epoch; the training is
    // the same (the checkpoint records the config without it, below).
    cfg.log_weights = args.trajectory_out.is_some();
    let device = device(&args.device)?;
    let splits = splits(&sets);

    let bar = progress::bar(u64::from(cfg.epochs) + 1, "train");
    let started = Instant::now();
    let net = train(&arch, &cfg, &splits, &device, |p| {
        bar.set_message(format!("train acc {:.3} test acc {:.3}", p.train_acc, p.test_acc));
        bar.inc(1);
    })
    .with_context(|| format!("training {}", run.run_id))?;
    bar.finish_and_clear();
    let last = net.history.last().context("training logged no epoch")?;
    // The history's training metrics are against the labels the net saw
    // (noisy ones with label noise): that is the loss it minimised, and the
    // generalization gap is measured from it (Zhang et al. 2017). The clean
    // training metrics go beside them.
    let clean = evaluate(&net.checkpoint.model, &sets.train)?;
    tracing::info!(
        "{}: {} epochs in {:.1}s: train acc {:.3} (true labels {:.3}), test acc {:.3}, test loss {:.4}{}",
        run.run_id,
        net.history.len() - 1,
        started.elapsed().as_secs_f64(),
        last.train_acc,
        clean.accuracy,
        last.test_acc,
        last.test_loss,
        if last.diverged { " — DIVERGED" } else { "" }
    );

    let arch_json = serde_json::to_string(&arch)?;
    let mut df = df!(
        "run_id" => [run.run_id.as_str()],
        "dataset" => [sets.train.name.as_str()],
        "architecture" => [arch_json.as_str()],
        "seed" => [i64::try_from(run.seed)?],
        "epochs" => [i64::from(run.epochs)],
        "weight_decay" => [run.weight_decay],
        "batch_size" => [i64::try_from(run.batch_size)?],
        "augment" => [run.augment],
        "label_noise" => [run.label_noise],
        "lr" => [run.lr],
        "n_parameters" => [i64::try_from(net.checkpoint.model.n_parameters())?],
        "train_loss" => [last.train_loss],
        "train_acc" => [last.train_acc],
        "train_loss_clean" => [clean.loss],
        "train_acc_clean" => [clean.accuracy],
        "val_loss" => [last.val_loss],
        "val_acc" => [last.val_acc],
        "test_loss" => [last.test_loss],
        "test_acc" => [last.test_acc],
        "gen_gap" => [last.test_loss - last.train_loss],
        "diverged" => [last.diverged],
        "checkpoint" => [args.out.to_string_lossy().as_ref()],
    )?;
    let prov = Provenance::new(&RUNS, "train")
        .with_params(serde_json::json!({ "data": params.section_json("data"), "train": params.section_json("train"), "run": run }))
        .with_seeds(serde_json::json!({ "root": run.seed, "split": data.seed }))
        .with_inputs(&inputs)?;
    write_table(&args.run_table, &mut df, &RUNS, &prov)?;

    if let Some(path) = &args.trajectory_out {
        write_base_path(path, &run.run_id, &net, &params, &run, data.seed, &inputs)?;
    }
    let mut ck = net.checkpoint;
    if let Some(c) = ck.train_config.as_mut() {
        c.log_weights = false;
    }
    ck.metadata.insert("run_id".into(), run.run_id.clone());
    ck.metadata.insert("dataset".into(), sets.train.name.clone());
    ck.metadata.insert("split_seed".into(), data.seed.to_string());
    ck.metadata.insert("basin_version".into(), env!("CARGO_PKG_VERSION").into());
    save_checkpoint(&args.out, &ck).with_context(|| format!("writing {}", args.out.display()))?;
    Ok(())
}

/// The base net's per-epoch weights as a `trajectories` file (jump seed −1,
/// step 0), with the parameter layout in its footer as `basin jump` writes it.
fn write_base_path(
    path: &std::path::Path,
    run_id: &str,
    net: &basin_train::TrainedNet,
    params: &Params,
    run: &RunSpec,
    split_seed: u64,
    inputs: &[PathBuf],
) -> Result<()> {
    use crate::trajectories::{frame_with_seed, BASE_TRAINING_SEED};
    let mut df = frame_with_seed(run_id, BASE_TRAINING_SEED, 0.0, &net.history)?;
    let layout: Vec<serde_json::Value> = net
        .checkpoint
        .model
        .parameter_layout()
        .iter()
        .map(|p| serde_json::json!({ "name": p.name, "shape": p.shape, "offset": p.offset }))
        .collect();
    let prov = Provenance::new(&basin_store::schema::TRAJECTORIES, "train")
        .with_params(serde_json::json!({ "data": params.section_json("data"), "train": params.section_json("train"), "run": run, "path": "base-training" }))
        .with_seeds(serde_json::json!({ "root": run.seed, "split": split_seed }))
        .with_inputs(inputs)?
        .with_extra("parameter_layout", serde_json::to_string(&layout)?);
    write_table(path, &mut df, &basin_store::schema::TRAJECTORIES, &prov).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
