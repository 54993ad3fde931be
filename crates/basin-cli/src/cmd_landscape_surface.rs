//! `basin landscape surface` and `basin landscape path`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use basin_landscape::{
    check_surface_budget, difference, evaluate_train_points, linspace, path_pca, paths_frame, random_directions, surface, surfaces_frame, write_figure,
    write_ply_surface, write_vtk_path, write_vtk_surface, BiasBn, Figure, PathPoint, Surface,
};
use basin_landscape::hessian::hvp::LossFunction;
use basin_landscape::hessian::lanczos::{gaussian_vector, lanczos};
use basin_store::schema::{PATHS, SURFACES, TRAJECTORIES};
use basin_store::{columns, read_table, write_table};
use basin_train::load_checkpoint;
use clap::{Args, ValueEnum};

use crate::cmd_landscape::{LoadedNet, NetArgs};
use crate::cmd_train::device;
use crate::progress;

/// Which directions a surface spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SurfaceKind {
    /// Filter-normalised random directions around the net (Li et al. 2018).
    Random,
    /// θ = (1−α)θ₁ + αθ₂ from the net towards `--other`.
    Interp,
    /// The top `--dims` Hessian eigenvectors (unit norm, Lanczos on the
    /// training loss; `[landscape] lanczos_steps`, `hvp`, `fd_step`).
    Hessian,
}

/// Image, VTK and PLY outputs beside a surface table.
#[derive(Debug, Args)]
pub(crate) struct ViewArgs {
    /// Write images `<STEM>-contour.{png,svg}` and `<STEM>-3d.{png,svg}`
    /// (2D) or `<STEM>-curve.{png,svg}` (1D).
    #[arg(long)]
    figures: Option<PathBuf>,
    /// Write the surface as a legacy-VTK structured grid for ParaView (a
    /// `paths` polyline goes beside it as `<name>-path.vtk`).
    #[arg(long)]
    vtk: Option<PathBuf>,
    /// Write the 2D surface as an ASCII PLY triangle mesh.
    #[arg(long)]
    ply: Option<PathBuf>,
    /// Memory the surface may use, in MiB; defaults to `[landscape] memory_budget_mb`.
    #[arg(long)]
    memory_budget_mb: Option<u64>,
}

/// Arguments of `basin landscape surface`.
#[derive(Debug, Args)]
pub(crate) struct SurfaceArgs {
    #[command(flatten)]
    net: NetArgs,
    /// `random` (filter-normalised directions) or `interp` (towards `--other`).
    #[arg(long, value_enum, default_value = "random")]
    kind: SurfaceKind,
    /// Number of directions (random or Hessian): 1 (a curve), 2 (a
    /// surface) or up to 4 (an n-dimensional grid: table only, no images).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=4))]
    dims: u8,
    /// The second checkpoint θ₂ of `--kind interp`.
    #[arg(long, required_if_eq("kind", "interp"))]
    other: Option<PathBuf>,
    /// Points per axis; defaults to `[landscape] surface_resolution` (2D) or
    /// `[landscape] ndim_resolution` (3D and up).
    #[arg(long)]
    resolution: Option<usize>,
    /// Lower end of every axis (default −1 for random, −0.5 for interp).
    #[arg(long, allow_negative_numbers = true)]
    lo: Option<f64>,
    /// Upper end of every axis (default 1 for random, 1.5 for interp).
    #[arg(long, allow_negative_numbers = true)]
    hi: Option<f64>,
    /// Let random directions move biases and BatchNorm parameters (each by
    /// its own value, as in Li et al.'s code); by default they stay at θₒ.
    #[arg(long)]
    include_bias_bn: bool,
    /// Seed of the random directions; defaults to `[landscape] seed`.
    #[arg(long)]
    seed: Option<u64>,
    /// Output `surfaces` Parquet file.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    views: ViewArgs,
}

pub(crate) fn surface_cmd(args: &SurfaceArgs) -> Result<()> {
    let mut l = args.net.load()?;
    let seed = args.seed.unwrap_or(l.landscape.seed);
    let default_resolution = if args.dims > 2 { l.landscape.ndim_resolution } else { l.landscape.surface_resolution };
    let resolution = args.resolution.unwrap_or(default_resolution);
    let theta0 = l.net.model.flat_weights()?;
    // Refuse a grid that would not fit before any work (Hessian directions
    // alone cost Lanczos steps).
    let n_dirs = if args.kind == SurfaceKind::Interp { 1 } else { usize::from(args.dims) };
    let budget = u128::from(args.views.memory_budget_mb.unwrap_or(l.landscape.memory_budget_mb)) << 20;
    check_surface_budget(&vec![resolution; n_dirs], theta0.len(), budget).with_context(|| format!("--resolution {resolution} in {n_dirs} directions"))?;
    let bias_bn = if args.include_bias_bn { BiasBn::Keep } else { BiasBn::Zero };
    let (name, directions, lo, hi) = match args.kind {
        SurfaceKind::Random => {
            let name = format!("random-{}d", args.dims);
            (name, random_directions(&l.net.model, usize::from(args.dims), seed, "surface", bias_bn)?, args.lo.unwrap_or(-1.0), args.hi.unwrap_or(1.0))
        }
        SurfaceKind::Interp => {
            let other = args.other.as_ref().context("--kind interp needs --other")?;
            let theta2 = load_checkpoint(other, &device(&args.net.device)?)
                .with_context(|| format!("loading {}", other.display()))?
                .model
                .flat_weights()?;
            l.inputs.push(other.clone());
            let d = difference(&theta0, &theta2).with_context(|| format!("--other {}", other.display()))?;
            ("interp".to_owned(), vec![d], args.lo.unwrap_or(-0.5), args.hi.unwrap_or(1.5))
        }
        SurfaceKind::Hessian => {
            let dirs = hessian_directions(&l, usize::from(args.dims), seed)?;
            (format!("hessian-{}d", args.dims), dirs, args.lo.unwrap_or(-1.0), args.hi.unwrap_or(1.0))
        }
    };
    let axis = linspace(lo, hi, resolution)?;
    let axes = vec![axis; directions.len()];
    let s = run_surface(&l, &theta0, &directions, &axes, args.views.memory_budget_mb)?;
    let extra = serde_json::json!({ "kind": name, "seed": seed, "resolution": resolution, "lo": lo, "hi": hi, "include_bias_bn": args.include_bias_bn });
    write_surface(&l, &name, &s, &args.out, extra, seed)?;
    let title = match (args.kind, &args.other) {
        (SurfaceKind::Interp, Some(other)) => format!("{} → {}", l.run.run_id, other.file_stem().map_or(String::new(), |s| s.to_string_lossy().into_owned())),
        _ => format!("{} — {name} (seed {seed})", l.run.run_id),
    };
    write_views(&args.views, &s, None, &title)
}

/// The top `k` eigenvectors of the training loss's Hessian at the net.
fn hessian_directions(l: &LoadedNet, k: usize, seed: u64) -> Result<Vec<Vec<f32>>> {
    let f = LossFunction::new(&l.net.model, &l.sets.train, l.landscape.hvp.method(l.landscape.fd_step))?;
    let start = gaussian_vector(f.dim(), &mut basin_data::rng::stream(seed, "lanczos-all"));
    let steps = l.landscape.lanczos_steps.max(k + 1);
    let bar = progress::bar(steps as u64, "lanczos");
    let r = lanczos(f.dim(), |v| { let out = f.hvp(v); bar.inc(1); out }, &start, steps, k)?;
    bar.finish_and_clear();
    if r.ritz_vectors.len() < k {
        bail!("Lanczos found only {} directions", r.ritz_vectors.len());
    }
    tracing::info!("{}: top Hessian eigenvalues {:?}", l.run.run_id, &r.ritz_values[..k]);
    #[allow(clippy::cast_possible_truncation)]
    Ok(r.ritz_vectors.iter().map(|v| v.iter().map(|&x| x as f32).collect()).collect())
}

/// Evaluates a surface with a progress bar and the configured memory budget.
fn run_surface(l: &LoadedNet, centre: &[f32], directions: &[Vec<f32>], axes: &[Vec<f32>], budget_mb: Option<u64>) -> Result<Surface> {
    let budget = u128::from(budget_mb.unwrap_or(l.landscape.memory_budget_mb)) << 20;
    let n: usize = axes.iter().map(Vec::len).product();
    let bar = progress::bar(n as u64, "surface");
    let started = Instant::now();
    let s = surface(&l.net.model, centre, directions, axes, &l.sets.train, budget, || bar.inc(1))?;
    bar.finish_and_clear();
    let bad = s.train_loss.iter().filter(|v| !v.is_finite()).count();
    if bad > 0 {
        tracing::warn!("{}: {bad} of {n} grid points have a non-finite loss (kept, flagged finite = false)", l.run.run_id);
    }
    tracing::info!("{}: {n} grid points in {:.1}s", l.run.run_id, started.elapsed().as_secs_f64());
    Ok(s)
}

fn write_surface(l: &LoadedNet, name: &str, s: &Surface, out: &Path, extra: serde_json::Value, seed: u64) -> Result<()> {
    let mut df = surfaces_frame(&l.run.run_id, name, s)?;
    let prov = l
        .provenance(&SURFACES, "landscape surface", extra.clone(), seed)?
        .with_extra("axes", serde_json::to_string(&s.axes)?)
        .with_extra("surface", serde_json::to_string(&extra)?);
    write_table(out, &mut df, &SURFACES, &prov)?;
    Ok(())
}

fn suffixed(stem: &Path, suffix: &str) -> PathBuf {
    let mut name = stem.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(suffix);
    stem.with_file_name(name)
}

fn write_views(v: &ViewArgs, s: &Surface, path: Option<&[PathPoint]>, title: &str) -> Result<()> {
    if s.axes.len() > 2 {
        if v.figures.is_some() || v.vtk.is_some() || v.ply.is_some() {
            tracing::warn!("a {}-dimensional grid has no images, VTK or PLY; only the table is written", s.axes.len());
        }
        return Ok(());
    }
    if let Some(stem) = &v.figures {
        if s.axes.len() == 2 {
            write_figure(&suffixed(stem, "-contour"), Figure::Contour, s, path, title)?;
            write_figure(&suffixed(stem, "-3d"), Figure::Surface3d, s, None, title)?;
        } else {
            write_figure(&suffixed(stem, "-curve"), Figure::Curve, s, None, title)?;
        }
    }
    if let Some(vtk) = &v.vtk {
        write_vtk_surface(vtk, s, title)?;
        if let Some(points) = path {
            let stem = vtk.with_extension("");
            write_vtk_path(&suffixed(&stem, "-path.vtk"), points, title)?;
        }
    }
    if let Some(ply) = &v.ply {
        write_ply_surface(ply, s)?;
    }
    Ok(())
}

/// Arguments of `basin landscape path`.
#[derive(Debug, Args)]
pub(crate) struct PathArgs {
    #[command(flatten)]
    net: NetArgs,
    /// The net's merged `trajectories` file, or its base-training path
    /// (`basin train --trajectory-out`, with `--base`).
    #[arg(long)]
    trajectories: PathBuf,
    /// Draw the base net's own training path (the rows with jump seed −1
    /// and step 0 that `basin train --trajectory-out` writes) instead of a
    /// jump trajectory.
    #[arg(long, conflicts_with_all = ["jump_seed", "step_size"])]
    base: bool,
    /// Jump seed of the trajectory to draw; defaults to `[landscape] path_jump_seed`.
    #[arg(long)]
    jump_seed: Option<i64>,
    /// Step size of the trajectory to draw; defaults to `[landscape] path_step_size`.
    #[arg(long)]
    step_size: Option<f64>,
    /// Points per axis of the PCA surface; defaults to `[landscape] path_resolution`.
    #[arg(long)]
    resolution: Option<usize>,
    /// Margin around the path's projection, as a fraction of its extent on each axis.
    #[arg(long, default_value_t = 0.25)]
    margin: f64,
    /// Output `surfaces` Parquet file (the PCA plane's surface).
    #[arg(long)]
    out: PathBuf,
    /// Output `paths` Parquet file: each point's projection, off-plane
    /// distance, true loss and the loss read off the surface.
    #[arg(long)]
    path_out: PathBuf,
    #[command(flatten)]
    views: ViewArgs,
}

pub(crate) fn path_cmd(args: &PathArgs) -> Result<()> {
    let mut l = args.net.load()?;
    let resolution = args.resolution.unwrap_or(l.landscape.path_resolution);
    let (jump_seed, step_size) = if args.base {
        (crate::trajectories::BASE_TRAINING_SEED, 0.0)
    } else {
        (args.jump_seed.unwrap_or(l.landscape.path_jump_seed), args.step_size.unwrap_or(l.landscape.path_step_size))
    };
    let (epochs, weights) = read_path(&args.trajectories, &l.run.run_id, jump_seed, step_size)?;
    l.inputs.push(args.trajectories.clone());
    // θ_final: the last point with finite weights (a diverged tail is kept
    // in the table but cannot be the centre).
    let last = weights.iter().rposition(|w| w.iter().all(|v| v.is_finite())).context("the path has no point with finite weights")?;
    let origin = weights[last].clone();
    let pca = path_pca(&weights, &origin, 2).with_context(|| format!("{}: PCA of the path", args.trajectories.display()))?;
    let explained: f64 = pca.explained_variance_ratio.iter().sum();
    tracing::info!("{}: PCA directions explain {:.1}% + {:.1}% of the path's variance", l.run.run_id, 100.0 * pca.explained_variance_ratio[0], 100.0 * pca.explained_variance_ratio[1]);
    let mut axes = Vec::with_capacity(2);
    for k in 0..2 {
        let vals: Vec<f64> = pca.coords.iter().map(|c| c[k]).filter(|v| v.is_finite()).chain([0.0]).collect();
        let (mn, mx) = vals.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let pad = (mx - mn).max(1e-6) * args.margin;
        axes.push(linspace(mn - pad, mx + pad, resolution)?);
    }
    let s = run_surface(&l, &origin, &pca.directions, &axes, args.views.memory_budget_mb)?;
    // True losses at the path's own points.
    let true_loss = evaluate_train_points(
        &l.net.model,
        weights.len(),
        |i| Ok(weights[i].iter().all(|v| v.is_finite()).then(|| weights[i].clone())),
        &l.sets.train,
        || {},
    )?;
    let points: Vec<PathPoint> = (0..weights.len())
        .map(|i| PathPoint {
            epoch: epochs[i],
            coords: pca.coords[i].clone(),
            off_plane: pca.off_plane[i],
            true_loss: true_loss[i].loss,
            surface_loss: s.interpolate_2d(pca.coords[i][0], pca.coords[i][1]),
        })
        .collect();
    let name = if args.base { String::from("pca:base") } else { format!("pca:j{jump_seed}_s{step_size}") };
    let extra = serde_json::json!({
        "kind": "pca", "base": args.base, "jump_seed": jump_seed, "step_size": step_size, "resolution": resolution,
        "margin": args.margin, "explained_variance_ratio": pca.explained_variance_ratio, "centre_epoch": epochs[last],
    });
    write_surface(&l, &name, &s, &args.out, extra.clone(), 0)?;
    let mut df = paths_frame(&l.run.run_id, &name, explained, &points)?;
    let prov = l.provenance(&PATHS, "landscape path", extra, 0)?;
    write_table(&args.path_out, &mut df, &PATHS, &prov)?;
    let title = format!(
        "{} {}: PCA {:.1}% + {:.1}% explained",
        l.run.run_id,
        if args.base { String::from("base training") } else { format!("j{jump_seed} s{step_size}") },
        100.0 * pca.explained_variance_ratio[0],
        100.0 * pca.explained_variance_ratio[1]
    );
    write_views(&args.views, &s, Some(&points), &title)
}

/// Epochs and weights of one trajectory of `run_id`, in epoch order.
fn read_path(path: &Path, run_id: &str, jump_seed: i64, step_size: f64) -> Result<(Vec<i64>, Vec<Vec<f32>>)> {
    let (df, _) = read_table(path, &TRAJECTORIES)?;
    let ids = columns::strings(&df, "run_id", path)?;
    let seeds = columns::i64s(&df, "jump_seed", path)?;
    let steps = columns::f64s(&df, "step_size", path)?;
    let epochs = columns::i64s(&df, "epoch", path)?;
    let weights = columns::f32_lists(&df, "weights", path)?;
    let mut rows: Vec<usize> = (0..df.height()).filter(|&i| ids[i] == run_id && seeds[i] == jump_seed && steps[i] == step_size).collect();
    if rows.len() < 3 {
        bail!("{}: {} rows of net {run_id:?} with jump seed {jump_seed} and step {step_size}; a path needs at least 3", path.display(), rows.len());
    }
    rows.sort_by_key(|&i| epochs[i]);
    Ok((rows.iter().map(|&i| epochs[i]).collect(), rows.iter().map(|&i| weights[i].clone()).collect()))
}
