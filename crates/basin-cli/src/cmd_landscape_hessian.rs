//! `basin landscape hessian`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use basin_landscape::hessian::estimators::{analyze, top_eigenvalue_over_subsamples, HessianConfig};
use basin_landscape::hessian::hvp::LossFunction;
use basin_landscape::{hessian_features_frame, hessian_frame, write_curves};
use basin_store::schema::{FEATURES, HESSIAN};
use basin_store::write_table;
use clap::Args;

use crate::cmd_landscape::NetArgs;
use crate::params::HvpChoice;
use crate::progress;

/// Arguments of `basin landscape hessian`.
#[derive(Debug, Args)]
pub(crate) struct HessianArgs {
    #[command(flatten)]
    net: NetArgs,
    /// Top eigenvalues per block; defaults to `[landscape] hessian_top_k`.
    #[arg(long)]
    top_k: Option<usize>,
    /// Lanczos steps; defaults to `[landscape] lanczos_steps`.
    #[arg(long)]
    lanczos_steps: Option<usize>,
    /// Hutchinson probes; defaults to `[landscape] hutchinson_probes`.
    #[arg(long)]
    hutchinson_probes: Option<usize>,
    /// SLQ probes (0 = no density); defaults to `[landscape] slq_probes`.
    #[arg(long)]
    slq_probes: Option<usize>,
    /// Lanczos steps per SLQ probe; defaults to `[landscape] slq_steps`.
    #[arg(long)]
    slq_steps: Option<usize>,
    /// How Hessian-vector products are computed; defaults to `[landscape] hvp`
    /// (`double-backward`: exact, every architecture).
    #[arg(long, value_enum)]
    hvp: Option<HvpChoice>,
    /// Finite-difference step of `--hvp differences`; defaults to `[landscape] fd_step`.
    #[arg(long)]
    fd_step: Option<f64>,
    /// Also the top eigenvalue on this many random data subsamples (a 95 %
    /// interval over data); defaults to `[landscape] hessian_subsamples` (0 = off).
    #[arg(long)]
    subsamples: Option<usize>,
    /// Share of the training rows in each subsample; defaults to `[landscape] subsample_fraction`.
    #[arg(long)]
    subsample_fraction: Option<f64>,
    /// Whole net only: skip the per-layer estimates.
    #[arg(long)]
    no_per_layer: bool,
    /// Seed of the probe and start vectors; defaults to `[landscape] seed`.
    #[arg(long)]
    seed: Option<u64>,
    /// Output `hessian` Parquet file.
    #[arg(long)]
    out: PathBuf,
    /// Output `features` Parquet file (feature set `landscape`).
    #[arg(long)]
    features_out: Option<PathBuf>,
    /// Write `<STEM>-density.{png,svg}` (SLQ spectral density, Gaussian
    /// width 1 % of the spectrum, log scale) and `<STEM>-convergence.{png,svg}`
    /// (top Ritz value per Lanczos step, per block).
    #[arg(long)]
    figures: Option<PathBuf>,
}

pub(crate) fn hessian_cmd(args: &HessianArgs) -> Result<()> {
    let l = args.net.load()?;
    let p = &l.landscape;
    let cfg = HessianConfig {
        top_k: args.top_k.unwrap_or(p.hessian_top_k),
        lanczos_steps: args.lanczos_steps.unwrap_or(p.lanczos_steps),
        hutchinson_probes: args.hutchinson_probes.unwrap_or(p.hutchinson_probes),
        slq_probes: args.slq_probes.unwrap_or(p.slq_probes),
        slq_steps: args.slq_steps.unwrap_or(p.slq_steps),
        per_layer: !args.no_per_layer,
        seed: args.seed.unwrap_or(p.seed),
        ..HessianConfig::default()
    };
    cfg.validate()?;
    let fd_step = args.fd_step.unwrap_or(p.fd_step);
    let hvp = args.hvp.unwrap_or(p.hvp);
    let method = hvp.method(fd_step);
    // Curvature of the loss the net was trained on: its training split with
    // its own labels, full data (no subsampling).
    let f = LossFunction::new(&l.net.model, &l.sets.train, method)?;
    if !f.exact() {
        tracing::warn!(
            "{}: not a plain MLP, so difference Hessian-vector products cross ReLU kinks; the estimates depend on --fd-step {fd_step} (--hvp double-backward is exact)",
            l.run.run_id
        );
    }
    let n_layers = if cfg.per_layer { basin_landscape::hessian::estimators::layer_blocks(&f).len() } else { 0 };
    let expected = (n_layers + 1) * (cfg.lanczos_steps + cfg.hutchinson_probes) + cfg.slq_probes * cfg.slq_steps;
    let bar = progress::bar(expected as u64, "hessian");
    let started = Instant::now();
    let rep = analyze(&f, &cfg, || bar.inc(1)).with_context(|| format!("Hessian of {}", l.run.run_id))?;
    bar.finish_and_clear();
    let all = &rep.blocks[0];
    let (lo, hi) = all.trace.ci95();
    tracing::info!(
        "{}: λ_max {:.4} (residual {:.1e}), λ_min {:.4}, trace {:.3} [{lo:.3}, {hi:.3}], sharpness {:.4}; {} HVPs in {:.1}s",
        l.run.run_id,
        all.top_eigenvalues[0],
        all.top_residuals[0],
        all.min_eigenvalue,
        all.trace.mean,
        rep.sharpness,
        rep.n_hvp,
        started.elapsed().as_secs_f64()
    );
    let n_sub = args.subsamples.unwrap_or(p.hessian_subsamples);
    let fraction = args.subsample_fraction.unwrap_or(p.subsample_fraction);
    let subsampled = if n_sub > 0 {
        let bar = progress::bar((n_sub * cfg.lanczos_steps) as u64, "subsample");
        let e = top_eigenvalue_over_subsamples(&l.net.model, &l.sets.train, method, cfg.lanczos_steps, n_sub, fraction, cfg.seed, || bar.inc(1))?;
        bar.finish_and_clear();
        let (lo, hi) = e.ci95();
        tracing::info!("{}: λ_max over {n_sub} subsamples of {:.0}% of the rows: {:.4} [{lo:.4}, {hi:.4}]", l.run.run_id, 100.0 * fraction, e.mean);
        Some(e)
    } else {
        None
    };
    let extra = serde_json::json!({
        "top_k": cfg.top_k, "lanczos_steps": cfg.lanczos_steps, "hutchinson_probes": cfg.hutchinson_probes,
        "slq_probes": cfg.slq_probes, "slq_steps": cfg.slq_steps, "per_layer": cfg.per_layer,
        "sharpness_epsilon": cfg.sharpness_epsilon, "hvp": method.name(), "fd_step": fd_step, "seed": cfg.seed, "n_hvp": rep.n_hvp,
        "subsamples": n_sub, "subsample_fraction": fraction,
    });
    let mut df = hessian_frame(&l.run.run_id, &rep, subsampled.as_ref())?;
    write_table(&args.out, &mut df, &HESSIAN, &l.provenance(&HESSIAN, "landscape hessian", extra.clone(), cfg.seed)?)?;
    if let Some(stem) = &args.figures {
        write_hessian_figures(stem, &l.run.run_id, &rep)?;
    }
    if let Some(path) = &args.features_out {
        let mut df = hessian_features_frame(&l.run.run_id, &rep)?;
        write_table(path, &mut df, &FEATURES, &l.provenance(&FEATURES, "landscape hessian", extra, cfg.seed)?)?;
    }
    Ok(())
}

fn write_hessian_figures(stem: &std::path::Path, run_id: &str, rep: &basin_landscape::hessian::estimators::HessianReport) -> Result<()> {
    let suffixed = |suffix: &str| {
        let mut name = stem.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
        name.push(suffix);
        stem.with_file_name(name)
    };
    let all = &rep.blocks[0];
    if !all.slq.is_empty() {
        let (lo, hi) = all.slq.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (x, _)| (a.min(*x), b.max(*x)));
        let width = (hi - lo).max(1e-6);
        let sigma = width / 100.0;
        let grid: Vec<(f64, f64)> = (0..=400)
            .map(|i| {
                let t = lo - 0.05 * width + 1.1 * width * f64::from(i) / 400.0;
                (t, all.density(t, sigma))
            })
            .collect();
        write_curves(&suffixed("-density"), &[("SLQ density", grid)], "eigenvalue", "density", true, &format!("{run_id}: Hessian spectral density"))?;
    }
    let traces: Vec<(&str, Vec<(f64, f64)>)> =
        rep.blocks.iter().map(|b| (b.block.as_str(), b.convergence.iter().enumerate().map(|(k, &v)| ((k + 1) as f64, v)).collect())).collect();
    write_curves(&suffixed("-convergence"), &traces, "Lanczos step", "top Ritz value", false, &format!("{run_id}: Lanczos convergence"))?;
    Ok(())
}
