//! End-to-end runs of `basin landscape …` on a tiny study of the shipped
//! digits: split → train → jump → merge → probes.

mod common;

use std::path::{Path, PathBuf};

use common::{basin, basin_with_env, ok, study_dir, train_and_jump};

use basin_store::schema::{PROBES, RUNS, TRAJECTORIES};
use basin_store::{columns, read_provenance, read_table};

/// This file's sections after the tiny study's `[data]` and `[train]`.
const SECTIONS: &str = r#"
[jump]
seeds = [0, 1]
steps = [0.5, 1.0]
epochs = 2

[landscape]
seed = 7
grid_resolution = 3
"#;

fn params() -> String {
    common::tiny_study(SECTIONS)
}

const RUN: &str = "wd0.0005-bs64-aug0-noise0-s0";

/// A trained net with two merged jump shards (6 trajectory rows).
fn study() -> tempfile::TempDir {
    let (dir, _) = study_dir(&params());
    train_and_jump(dir.path(), RUN, &[format!("{RUN}__j0_s0.5"), format!("{RUN}__j1_s1")]);
    dir
}

fn probe(d: &Path, method: &str, out: &str) {
    let mut args = vec!["landscape", "probe", "--params", "params.toml", "--split", "split.parquet", "--checkpoint", "net.safetensors", "--run", RUN, "--method", method, "--out", out];
    if method == "naive" {
        args.extend(["--trajectories", "traj.parquet"]);
    }
    ok(d, &args);
}

fn theta0(d: &Path) -> Vec<f32> {
    basin_train::load_checkpoint(d.join("net.safetensors"), &candle_core::Device::Cpu).unwrap().model.flat_weights().unwrap()
}

#[test]
fn naive_and_grid_probes() {
    let dir = study();
    let d = dir.path();
    let p = |name: &str| -> PathBuf { d.join(name) };

    // Naive: one row per trajectory row, at that row's distance from θₒ.
    probe(d, "naive", "naive.parquet");
    let (traj, _) = read_table(&p("traj.parquet"), &TRAJECTORIES).unwrap();
    let (naive, prov) = read_table(&p("naive.parquet"), &PROBES).unwrap();
    assert_eq!(naive.height(), traj.height());
    assert_eq!(naive.height(), 6);
    let t0 = theta0(d);
    let expected: Vec<f64> = columns::f32_lists(&traj, "weights", &p("traj.parquet"))
        .unwrap()
        .iter()
        .map(|w| w.iter().zip(&t0).map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2)).sum::<f64>().sqrt())
        .collect();
    let got = columns::f64s(&naive, "distance", &p("naive.parquet")).unwrap();
    for (row, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert!((g - e).abs() <= 1e-4 * e, "row {row}: probe distance {g}, trajectory distance {e}");
    }
    let coords = columns::f32_lists(&naive, "coords", &p("naive.parquet")).unwrap();
    assert!(coords.iter().all(|c| c.len() == 1 && c[0] > 0.0));
    assert_eq!(columns::strings(&naive, "method", &p("naive.parquet")).unwrap()[0], "naive");
    assert_eq!(prov.seeds["landscape"], 7, "the seed comes from [landscape]");
    assert_eq!(prov.inputs.len(), 4, "data, split, checkpoint and trajectories are hashed");
    // The jump points' losses are far above the minimum's; random directions
    // at the same distance are not free either.
    let run_train_loss = columns::f64s(&read_table(&p("run.parquet"), &RUNS).unwrap().0, "train_loss", &p("run.parquet")).unwrap()[0];
    let naive_loss = columns::f64s(&naive, "train_loss", &p("naive.parquet")).unwrap();
    assert!(naive_loss.iter().all(|&l| l > run_train_loss), "{naive_loss:?} vs θₒ {run_train_loss}");

    // Same seed, same bytes; another seed, other points.
    probe(d, "naive", "naive2.parquet");
    assert_eq!(std::fs::read(p("naive.parquet")).unwrap(), std::fs::read(p("naive2.parquet")).unwrap());

    // Grid: the 3×3×3 lattice on [−1, 1]³, c₁ slowest.
    probe(d, "grid", "grid.parquet");
    let (grid, _) = read_table(&p("grid.parquet"), &PROBES).unwrap();
    assert_eq!(grid.height(), 27);
    let coords = columns::f32_lists(&grid, "coords", &p("grid.parquet")).unwrap();
    let axis = [-1.0f32, 0.0, 1.0];
    for (i, c) in coords.iter().enumerate() {
        assert_eq!(c, &vec![axis[i / 9], axis[(i / 3) % 3], axis[i % 3]], "row {i}");
    }
    // The centre is θₒ itself: its losses are the run table's.
    let (runs, _) = read_table(&p("run.parquet"), &RUNS).unwrap();
    for col in ["train_loss", "val_loss", "test_loss", "test_acc"] {
        let at_centre = columns::f64s(&grid, col, &p("grid.parquet")).unwrap()[13];
        let of_run = columns::f64s(&runs, col, &p("run.parquet")).unwrap()[0];
        assert!((at_centre - of_run).abs() < 1e-6, "{col}: {at_centre} at (0,0,0), {of_run} in runs");
    }
    assert_eq!(columns::f64s(&grid, "distance", &p("grid.parquet")).unwrap()[13], 0.0);
    assert!(columns::bools(&grid, "finite", &p("grid.parquet")).unwrap().iter().all(|&f| f));
    probe(d, "grid", "grid2.parquet");
    assert_eq!(std::fs::read(p("grid.parquet")).unwrap(), std::fs::read(p("grid2.parquet")).unwrap());
}

#[test]
fn probe_errors_name_their_cause() {
    let dir = study();
    let d = dir.path();
    // Naive without trajectories.
    let (success, stderr) = basin(d, &["landscape", "probe", "--params", "params.toml", "--split", "split.parquet", "--checkpoint", "net.safetensors", "--run", RUN, "--method", "naive", "--out", "x.parquet"]);
    assert!(!success);
    assert!(stderr.contains("--trajectories"), "{stderr}");
    // A grid too fine to evaluate.
    let (success, stderr) = basin(d, &["landscape", "probe", "--params", "params.toml", "--split", "split.parquet", "--checkpoint", "net.safetensors", "--run", RUN, "--method", "grid", "--resolution", "1000", "--out", "x.parquet"]);
    assert!(!success);
    assert!(stderr.contains("resolution"), "{stderr}");
    // Trajectories of another architecture.
    let other = params().replace("hidden = [16]", "hidden = [8]").replace("DATA_DIR", &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data").to_string_lossy());
    std::fs::write(d.join("other.toml"), other).unwrap();
    ok(d, &["train", "--params", "other.toml", "--split", "split.parquet", "--run", RUN, "--out", "small.safetensors", "--run-table", "small.parquet"]);
    let (success, stderr) = basin(d, &["landscape", "probe", "--params", "other.toml", "--split", "split.parquet", "--checkpoint", "small.safetensors", "--run", RUN, "--method", "naive", "--trajectories", "traj.parquet", "--out", "x.parquet"]);
    assert!(!success);
    assert!(stderr.contains("traj.parquet: row 0") && stderr.contains("another architecture"), "{stderr}");
    // A checkpoint that does not match the params' architecture.
    let (success, stderr) = basin(d, &["landscape", "probe", "--params", "params.toml", "--split", "split.parquet", "--checkpoint", "small.safetensors", "--run", RUN, "--method", "grid", "--out", "x.parquet"]);
    assert!(!success);
    assert!(stderr.contains("does not match"), "{stderr}");
    assert!(!d.join("x.parquet").exists(), "no output on error");
}

#[test]
fn surfaces_and_paths() {
    use basin_store::schema::{PATHS, SURFACES};
    let dir = study();
    let d = dir.path();
    let p = |name: &str| -> PathBuf { d.join(name) };
    let net = ["--params", "params.toml", "--split", "split.parquet", "--checkpoint", "net.safetensors", "--run", RUN];
    let (runs, _) = read_table(&p("run.parquet"), &RUNS).unwrap();
    let run_train_loss = columns::f64s(&runs, "train_loss", &p("run.parquet")).unwrap()[0];

    // A 1D random curve: 5 points on [−1, 1], the middle one θₒ.
    let mut args = vec!["landscape", "surface"];
    args.extend(net);
    args.extend(["--dims", "1", "--resolution", "5", "--out", "curve.parquet", "--figures", "figs/curve"]);
    ok(d, &args);
    let (curve, prov) = read_table(&p("curve.parquet"), &SURFACES).unwrap();
    assert_eq!(curve.height(), 5);
    assert_eq!(columns::strings(&curve, "surface", &p("curve.parquet")).unwrap()[0], "random-1d");
    assert!((columns::f64s(&curve, "train_loss", &p("curve.parquet")).unwrap()[2] - run_train_loss).abs() < 1e-6);
    assert_eq!(prov.extra["axes"], "[[-1.0,-0.5,0.0,0.5,1.0]]");
    assert!(p("figs/curve-curve.png").exists() && p("figs/curve-curve.svg").exists());

    // A 3D grid along the top Hessian eigenvectors: table only.
    let mut args = vec!["landscape", "surface"];
    args.extend(net);
    args.extend(["--kind", "hessian", "--dims", "3", "--resolution", "3", "--out", "hess.parquet", "--figures", "figs/hess"]);
    ok(d, &args);
    let (hess, _) = read_table(&p("hess.parquet"), &SURFACES).unwrap();
    assert_eq!(hess.height(), 27);
    assert_eq!(columns::strings(&hess, "surface", &p("hess.parquet")).unwrap()[0], "hessian-3d");
    let hl = columns::f64s(&hess, "train_loss", &p("hess.parquet")).unwrap();
    assert!((hl[13] - run_train_loss).abs() < 1e-6);
    assert!(hl.iter().all(|&l| l >= hl[13] - 1e-6), "θₒ is the lowest point along its top curvature directions");
    assert!(!p("figs/hess-contour.png").exists());

    // Interpolation towards a second net: the ends are the two nets.
    let text = std::fs::read_to_string(p("params.toml")).unwrap().replace("lr = 0.05", "lr = 0.1");
    std::fs::write(p("params2.toml"), text).unwrap();
    ok(d, &["train", "--params", "params2.toml", "--split", "split.parquet", "--run", RUN, "--out", "net2.safetensors", "--run-table", "run2.parquet"]);
    let mut args = vec!["landscape", "surface"];
    args.extend(net);
    args.extend(["--kind", "interp", "--other", "net2.safetensors", "--resolution", "3", "--lo", "0", "--hi", "1", "--out", "interp.parquet"]);
    ok(d, &args);
    let (interp, _) = read_table(&p("interp.parquet"), &SURFACES).unwrap();
    let loss = columns::f64s(&interp, "train_loss", &p("interp.parquet")).unwrap();
    let loss2 = columns::f64s(&read_table(&p("run2.parquet"), &RUNS).unwrap().0, "train_loss", &p("run2.parquet")).unwrap()[0];
    assert!((loss[0] - run_train_loss).abs() < 1e-6 && (loss[2] - loss2).abs() < 1e-5, "{loss:?} vs {run_train_loss}, {loss2}");

    // A 3-point path: it lies in its own PCA plane, ends at the origin, and
    // its true losses are the trajectory's.
    let mut args = vec!["landscape", "path"];
    args.extend(net);
    args.extend(["--trajectories", "traj.parquet", "--jump-seed", "0", "--step-size", "0.5", "--resolution", "7"]);
    args.extend(["--out", "pca.parquet", "--path-out", "path.parquet", "--figures", "figs/pca", "--vtk", "figs/pca.vtk", "--ply", "figs/pca.ply"]);
    ok(d, &args);
    let (surf, _) = read_table(&p("pca.parquet"), &SURFACES).unwrap();
    assert_eq!(surf.height(), 49);
    let (path, _) = read_table(&p("path.parquet"), &PATHS).unwrap();
    assert_eq!(path.height(), 3);
    let (traj, _) = read_table(&p("traj.parquet"), &TRAJECTORIES).unwrap();
    let traj_loss = columns::f64s(&traj, "train_loss", &p("traj.parquet")).unwrap();
    let true_loss = columns::f64s(&path, "true_loss", &p("path.parquet")).unwrap();
    for i in 0..3 {
        assert!((true_loss[i] - traj_loss[i]).abs() < 1e-6, "point {i}: {} vs {}", true_loss[i], traj_loss[i]);
    }
    let coords = columns::f32_lists(&path, "coords", &p("path.parquet")).unwrap();
    assert_eq!(coords[2], vec![0.0, 0.0], "θ_final is the origin of the plane");
    let off = columns::f64s(&path, "off_plane", &p("path.parquet")).unwrap();
    assert!(off.iter().all(|&o| o < 1e-4), "three points lie in their PCA plane: {off:?}");
    let ev = columns::f64s(&path, "explained_variance", &p("path.parquet")).unwrap()[0];
    assert!((ev - 1.0).abs() < 1e-9, "two components explain all of three points: {ev}");
    for f in ["figs/pca-contour.png", "figs/pca-contour.svg", "figs/pca-3d.png", "figs/pca.vtk", "figs/pca-path.vtk", "figs/pca.ply"] {
        assert!(p(f).exists(), "{f}");
    }
}

#[test]
fn hessian_and_its_features() {
    use basin_store::schema::{FEATURES, HESSIAN};
    let dir = study();
    let d = dir.path();
    let p = |name: &str| -> PathBuf { d.join(name) };
    let run = |out: &str, features: &str| {
        ok(d, &["landscape", "hessian", "--params", "params.toml", "--split", "split.parquet", "--checkpoint", "net.safetensors", "--run", RUN,
            "--lanczos-steps", "12", "--hutchinson-probes", "10", "--slq-probes", "2", "--slq-steps", "8", "--subsamples", "3", "--out", out, "--features-out", features]);
    };
    run("h.parquet", "f.parquet");
    let (h, prov) = read_table(&p("h.parquet"), &HESSIAN).unwrap();
    assert_eq!(prov.params["command"]["n_hvp"], 3 * (12 + 10) + 2 * 8);
    let stat = columns::strings(&h, "statistic", &p("h.parquet")).unwrap();
    let block = columns::strings(&h, "block", &p("h.parquet")).unwrap();
    let value = columns::f64s(&h, "value", &p("h.parquet")).unwrap();
    let find = |b: &str, s: &str| (0..h.height()).find(|&i| block[i] == b && stat[i] == s).map(|i| value[i]).unwrap();
    let top = find("all", "eigenvalue");
    assert!(top > 0.0 && find("all", "min_eigenvalue") < top);
    assert_eq!(find("all", "n_parameters"), (64 * 16 + 16 + 16 * 10 + 10) as f64);
    assert_eq!(find("fc0", "n_parameters") + find("fc1", "n_parameters"), find("all", "n_parameters"));
    assert_eq!(stat.iter().filter(|s| s.as_str() == "lanczos_step").count(), 3 * 12);
    // The top eigenvalue over 3 random halves of the data, with its interval.
    let sub = (0..h.height()).find(|&i| stat[i] == "eigenvalue_subsampled").unwrap();
    let lo = columns::f64s(&h, "ci_low", &p("h.parquet")).unwrap()[sub];
    let hi = columns::f64s(&h, "ci_high", &p("h.parquet")).unwrap()[sub];
    assert!(lo <= value[sub] && value[sub] <= hi && lo < hi);
    assert_eq!(columns::f64s(&h, "weight", &p("h.parquet")).unwrap()[sub], 3.0);
    // The loss is the run's training loss.
    let run_loss = columns::f64s(&read_table(&p("run.parquet"), &RUNS).unwrap().0, "train_loss", &p("run.parquet")).unwrap()[0];
    assert!((find("all", "loss") - run_loss).abs() < 1e-5, "{} vs {run_loss}", find("all", "loss"));
    let (f, _) = read_table(&p("f.parquet"), &FEATURES).unwrap();
    let names = columns::strings(&f, "feature", &p("f.parquet")).unwrap();
    assert_eq!(names, ["top_eigenvalue", "min_eigenvalue", "eig_ratio", "trace", "sharpness", "loss", "top_eigenvalue:fc0", "trace:fc0", "top_eigenvalue:fc1", "trace:fc1"]);
    assert_eq!(columns::f64s(&f, "value", &p("f.parquet")).unwrap()[0], top);
    run("h2.parquet", "f2.parquet");
    assert_eq!(std::fs::read(p("h.parquet")).unwrap(), std::fs::read(p("h2.parquet")).unwrap(), "same seed, same bytes");
    // Double backward is the default; differences of gradients (ReLU
    // pattern frozen on this MLP) give the same curvature to ~1e-3.
    assert_eq!(prov.params["command"]["hvp"], "double-backward");
    ok(d, &["landscape", "hessian", "--params", "params.toml", "--split", "split.parquet", "--checkpoint", "net.safetensors", "--run", RUN,
        "--lanczos-steps", "12", "--hutchinson-probes", "10", "--slq-probes", "0", "--no-per-layer", "--hvp", "differences", "--out", "hd.parquet"]);
    let (hd, prov) = read_table(&p("hd.parquet"), &HESSIAN).unwrap();
    assert_eq!(prov.params["command"]["hvp"], "differences");
    let stat = columns::strings(&hd, "statistic", &p("hd.parquet")).unwrap();
    let top_d = columns::f64s(&hd, "value", &p("hd.parquet")).unwrap()[stat.iter().position(|s| s == "eigenvalue").unwrap()];
    assert!((top_d - top).abs() < 1e-3 * top, "differences {top_d} vs double backward {top}");
}

#[test]
fn training_writes_the_same_bytes_when_candle_keeps_gradients() {
    // `basin landscape` runs with CANDLE_GRAD_DO_NOT_DETACH=1 (double
    // backward); a user may export it for everything. Training and jumps
    // must not change: same checkpoint, run table and trajectories, for an
    // MLP and for a CNN with residual blocks and BatchNorm.
    let dir = study();
    let d = dir.path();
    let cnn = std::fs::read_to_string(d.join("params.toml"))
        .unwrap()
        .replace(r#"architecture = { kind = "mlp", hidden = [16] }"#, r#"architecture = { kind = "cnn", channels = [3], residual = true, batch_norm = true }"#)
        .replace("epochs = 4", "epochs = 1");
    std::fs::write(d.join("cnn.toml"), cnn).unwrap();
    // Each variant runs in its own folder with the same relative paths, so
    // every byte written (provenance included) must match.
    for params in ["params.toml", "cnn.toml"] {
        let params_arg = format!("../{params}");
        for (tag, env) in [("plain", vec![]), ("kept", vec![("CANDLE_GRAD_DO_NOT_DETACH", "1")])] {
            let sub = d.join(format!("{params}-{tag}"));
            std::fs::create_dir_all(&sub).unwrap();
            let (success, stderr) = basin_with_env(
                &sub,
                &["train", "--params", &params_arg, "--split", "../split.parquet", "--run", RUN, "--out", "net.safetensors", "--run-table", "run.parquet"],
                &env,
            );
            assert!(success, "{stderr}");
            let shard = format!("{RUN}__j1_s1");
            let (success, stderr) = basin_with_env(
                &sub,
                &["jump", "--params", &params_arg, "--split", "../split.parquet", "--checkpoint", "net.safetensors", "--shard", &shard, "--out", "jump.parquet"],
                &env,
            );
            assert!(success, "{stderr}");
        }
        for file in ["net.safetensors", "run.parquet", "jump.parquet"] {
            let a = std::fs::read(d.join(format!("{params}-plain/{file}"))).unwrap();
            let b = std::fs::read(d.join(format!("{params}-kept/{file}"))).unwrap();
            assert!(a == b, "{params}: {file} differs with CANDLE_GRAD_DO_NOT_DETACH=1");
        }
    }
}

#[test]
fn base_training_path_and_its_pca() {
    use basin_store::schema::PATHS;
    let dir = study();
    let d = dir.path();
    let p = |name: &str| -> PathBuf { d.join(name) };
    // Training again with --trajectory-out writes the same checkpoint and
    // run table, and the net's path: initialisation + 4 epochs.
    ok(d, &["train", "--params", "params.toml", "--split", "split.parquet", "--run", RUN, "--out", "again.safetensors", "--run-table", "again.parquet", "--trajectory-out", "base.parquet"]);
    assert_eq!(std::fs::read(p("net.safetensors")).unwrap(), std::fs::read(p("again.safetensors")).unwrap(), "checkpoint bytes unchanged");
    // The run table differs only in the `checkpoint` path column.
    let runs = |f: &str| read_table(&p(f), &RUNS).unwrap().0.drop("checkpoint").unwrap();
    assert!(runs("run.parquet").equals(&runs("again.parquet")), "run table unchanged");
    let (base, prov) = read_table(&p("base.parquet"), &TRAJECTORIES).unwrap();
    assert_eq!(base.height(), 5);
    assert!(prov.extra.contains_key("parameter_layout"));
    assert_eq!(columns::i64s(&base, "jump_seed", &p("base.parquet")).unwrap(), vec![-1; 5]);
    assert_eq!(columns::f64s(&base, "step_size", &p("base.parquet")).unwrap(), vec![0.0; 5]);
    assert_eq!(columns::i64s(&base, "epoch", &p("base.parquet")).unwrap(), vec![0, 1, 2, 3, 4]);
    let w = columns::f32_lists(&base, "weights", &p("base.parquet")).unwrap();
    assert_eq!(w[4], theta0(d), "the last point is the trained net");
    let ck = basin_train::load_checkpoint(p("net.safetensors"), &candle_core::Device::Cpu).unwrap();
    let seed = ck.train_config.as_ref().unwrap().seed;
    let init = basin_train::Model::new(ck.model.architecture(), &mut basin_data::rng::stream(seed, "init"), &candle_core::Device::Cpu).unwrap();
    assert_eq!(w[0], init.flat_weights().unwrap(), "epoch 0 is the seed's initialisation");
    let run_loss = columns::f64s(&read_table(&p("run.parquet"), &RUNS).unwrap().0, "train_loss", &p("run.parquet")).unwrap()[0];
    assert_eq!(columns::f64s(&base, "train_loss", &p("base.parquet")).unwrap()[4], run_loss);

    // Its PCA plane: five points, centred on the trained net.
    ok(d, &["landscape", "path", "--params", "params.toml", "--split", "split.parquet", "--checkpoint", "net.safetensors", "--run", RUN,
        "--trajectories", "base.parquet", "--base", "--resolution", "5", "--out", "bpca.parquet", "--path-out", "bpath.parquet"]);
    let (path, prov) = read_table(&p("bpath.parquet"), &PATHS).unwrap();
    assert_eq!(path.height(), 5);
    assert_eq!(prov.params["command"]["base"], true);
    assert_eq!(columns::strings(&path, "surface", &p("bpath.parquet")).unwrap()[0], "pca:base");
    assert_eq!(columns::f32_lists(&path, "coords", &p("bpath.parquet")).unwrap()[4], vec![0.0, 0.0]);
    let true_loss = columns::f64s(&path, "true_loss", &p("bpath.parquet")).unwrap();
    let logged = columns::f64s(&base, "train_loss", &p("base.parquet")).unwrap();
    for i in 0..5 {
        assert!((true_loss[i] - logged[i]).abs() < 1e-6, "epoch {i}: {} vs {}", true_loss[i], logged[i]);
    }
    // A jump-trajectory file has no base path.
    let (success, stderr) = basin(d, &["landscape", "path", "--params", "params.toml", "--split", "split.parquet", "--checkpoint", "net.safetensors", "--run", RUN,
        "--trajectories", "traj.parquet", "--base", "--out", "x.parquet", "--path-out", "y.parquet"]);
    assert!(!success && stderr.contains("jump seed -1"), "{stderr}");
}

#[test]
fn merge_trees_of_probes_and_surfaces() {
    use basin_store::schema::{DIAGRAMS, FEATURES, MERGE_TREES};
    let dir = study();
    let d = dir.path();
    let p = |name: &str| -> PathBuf { d.join(name) };
    probe(d, "grid", "grid.parquet");
    ok(d, &["landscape", "merge-tree", "grid.parquet", "--out", "mt.parquet", "--tree-out", "mtn.parquet", "--features-out", "mtf.parquet"]);
    let (diag, prov) = read_table(&p("mt.parquet"), &DIAGRAMS).unwrap();
    assert_eq!(prov.params["graph"]["graph"], "grid");
    assert_eq!(prov.params["graph"]["shape"], serde_json::json!([3, 3, 3]));
    let essential = columns::bools(&diag, "essential", &p("mt.parquet")).unwrap();
    assert_eq!(essential.iter().filter(|&&e| e).count(), 1, "one connected grid");
    assert_eq!(columns::strings(&diag, "source", &p("mt.parquet")).unwrap()[0], "merge-tree:grid:train_loss");
    let (nodes, _) = read_table(&p("mtn.parquet"), &MERGE_TREES).unwrap();
    let kinds = columns::strings(&nodes, "kind", &p("mtn.parquet")).unwrap();
    let (f, _) = read_table(&p("mtf.parquet"), &FEATURES).unwrap();
    let names = columns::strings(&f, "feature", &p("mtf.parquet")).unwrap();
    let values = columns::f64s(&f, "value", &p("mtf.parquet")).unwrap();
    assert_eq!(names[0], "merge_tree:n_minima");
    assert_eq!(values[0], kinds.iter().filter(|k| k.as_str() == "minimum").count() as f64);
    assert_eq!(values[1], (diag.height() - 1) as f64, "one saddle per finite pair");
    // The grid's minimum is at most the loss at θₒ (the lattice centre).
    let loss = columns::f64s(&read_table(&p("grid.parquet"), &PROBES).unwrap().0, "train_loss", &p("grid.parquet")).unwrap();
    let birth = columns::f64s(&diag, "birth", &p("mt.parquet")).unwrap();
    let lowest = loss.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(birth.iter().copied().fold(f64::INFINITY, f64::min), lowest);
    // kNN on the same points, and a refused grid graph on naive points.
    ok(d, &["landscape", "merge-tree", "grid.parquet", "--graph", "knn", "--out", "knn.parquet"]);
    assert_eq!(read_provenance(&p("knn.parquet")).unwrap().params["graph"], serde_json::json!({"graph": "knn", "k": 12, "mutual": true}));
    probe(d, "naive", "naive.parquet");
    let (success, stderr) = basin(d, &["landscape", "merge-tree", "naive.parquet", "--graph", "grid", "--out", "x.parquet"]);
    assert!(!success && stderr.contains("not a full grid"), "{stderr}");
    let (success, stderr) = basin(d, &["landscape", "merge-tree", "traj.parquet", "--out", "x.parquet"]);
    assert!(!success && stderr.contains("`trajectories` file"), "{stderr}");
}

#[test]
fn bad_input_is_refused_or_kept_and_flagged() {
    use basin_store::schema::{FEATURES, SURFACES};
    let dir = study();
    let d = dir.path();
    let p = |name: &str| -> PathBuf { d.join(name) };
    let net = ["--params", "params.toml", "--split", "split.parquet", "--checkpoint", "net.safetensors", "--run", RUN];
    // A 4D Hessian grid of 500⁴ points: refused from the estimate, before
    // any Lanczos step, naming the resolution.
    let mut args = vec!["landscape", "surface"];
    args.extend(net);
    args.extend(["--kind", "hessian", "--dims", "4", "--resolution", "500", "--out", "x.parquet"]);
    let (success, stderr) = basin(d, &args);
    assert!(!success && stderr.contains("--resolution 500") && stderr.contains("62500000000 grid points") && stderr.contains("budget"), "{stderr}");
    // A checkpoint of another architecture than the params' is refused by
    // every landscape command.
    let other = params().replace("hidden = [16]", "hidden = [8]").replace("DATA_DIR", &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data").to_string_lossy());
    std::fs::write(d.join("other.toml"), other).unwrap();
    ok(d, &["train", "--params", "other.toml", "--split", "split.parquet", "--run", RUN, "--out", "small.safetensors", "--run-table", "small.parquet"]);
    for cmd in [vec!["hessian", "--out", "x.parquet"], vec!["surface", "--out", "x.parquet"], vec!["path", "--trajectories", "traj.parquet", "--out", "x.parquet", "--path-out", "y.parquet"]] {
        let mut args = vec!["landscape", cmd[0], "--params", "params.toml", "--split", "split.parquet", "--checkpoint", "small.safetensors", "--run", RUN];
        args.extend(&cmd[1..]);
        let (success, stderr) = basin(d, &args);
        assert!(!success && stderr.contains("does not match"), "{cmd:?}: {stderr}");
    }
    assert!(!p("x.parquet").exists() && !p("y.parquet").exists(), "no output on error");
    // A curve reaching weights of ±1e38: the far points' losses overflow.
    // They are kept (NaN, finite = false), the centre is θₒ, and the merge
    // tree leaves them out and counts them.
    let mut args = vec!["landscape", "surface"];
    args.extend(net);
    args.extend(["--dims", "1", "--resolution", "5", "--lo=-1e38", "--hi=1e38", "--out", "wild.parquet"]);
    ok(d, &args);
    let (wild, _) = read_table(&p("wild.parquet"), &SURFACES).unwrap();
    let finite = columns::bools(&wild, "finite", &p("wild.parquet")).unwrap();
    let loss = columns::f64s(&wild, "train_loss", &p("wild.parquet")).unwrap();
    assert_eq!(wild.height(), 5, "every point is kept");
    assert!(!finite[0] && !finite[4] && finite[2], "{finite:?}");
    assert!(loss[0].is_nan() && loss[4].is_nan() && loss[2].is_finite(), "{loss:?}");
    let n_bad = finite.iter().filter(|f| !**f).count();
    ok(d, &["landscape", "merge-tree", "wild.parquet", "--out", "wmt.parquet", "--features-out", "wmtf.parquet"]);
    let (f, _) = read_table(&p("wmtf.parquet"), &FEATURES).unwrap();
    let names = columns::strings(&f, "feature", &p("wmtf.parquet")).unwrap();
    let values = columns::f64s(&f, "value", &p("wmtf.parquet")).unwrap();
    let get = |n: &str| values[names.iter().position(|x| x == n).unwrap()];
    assert_eq!(get("merge_tree:n_nonfinite"), n_bad as f64);
    assert!(get("merge_tree:smad").is_finite() && get("merge_tree:smad_weighted").is_finite());
}
