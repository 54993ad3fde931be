//! End-to-end runs of the `basin` binary on a tiny study of the shipped
//! digits: split → train → jump → merge, determinism, resume and errors.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{basin, ok, study_dir, train_and_jump};

use basin_store::schema::{CYCLES, DIAGRAMS, EMBEDDINGS, RUNS, SPLITS, TRAJECTORIES};
use basin_store::{columns, read_table};

/// This file's sections after the tiny study's `[data]` and `[train]`.
const SECTIONS: &str = r#"
[jump]
seeds = [0, 1]
steps = [0.5, 50.0]
epochs = 3
"#;

fn params() -> String {
    common::tiny_study(SECTIONS)
}

fn study() -> (tempfile::TempDir, PathBuf) {
    study_dir(&params())
}

const RUN: &str = "wd0.0005-bs64-aug0-noise0-s0";

#[test]
fn split_train_jump_merge() {
    let (dir, _) = study();
    let d = dir.path();
    ok(d, &["data", "split", "--params", "params.toml", "--out", "split.parquet"]);
    let (split, prov) = read_table(&d.join("split.parquet"), &SPLITS).unwrap();
    assert_eq!(split.height(), 1797);
    assert_eq!(prov.seeds["split"], 3);
    assert_eq!(prov.inputs.len(), 1, "the data file is hashed into the provenance");

    ok(d, &["train", "--params", "params.toml", "--split", "split.parquet", "--run", RUN, "--out", "net.safetensors", "--run-table", "run.parquet"]);
    let (runs, _) = read_table(&d.join("run.parquet"), &RUNS).unwrap();
    let acc = columns::f64s(&runs, "test_acc", &d.join("run.parquet")).unwrap()[0];
    assert!(acc > 0.8, "a 16-unit MLP reaches > 80% on digits in 4 epochs, got {acc}");

    let shard = format!("{RUN}__j1_s0.5");
    let jump = |out: &str| {
        ok(d, &["jump", "--params", "params.toml", "--split", "split.parquet", "--checkpoint", "net.safetensors", "--shard", &shard, "--out", out]);
    };
    jump("a.parquet");
    jump("b.parquet");
    let a = std::fs::read(d.join("a.parquet")).unwrap();
    assert_eq!(a, std::fs::read(d.join("b.parquet")).unwrap(), "same seed, same bytes");
    let (traj, prov) = read_table(&d.join("a.parquet"), &TRAJECTORIES).unwrap();
    assert_eq!(traj.height(), 4, "jump point + 3 epochs");
    assert_eq!(columns::i64s(&traj, "epoch", &d.join("a.parquet")).unwrap(), vec![0, 1, 2, 3]);
    let w = columns::f32_lists(&traj, "weights", &d.join("a.parquet")).unwrap();
    assert_eq!(w[0].len(), 64 * 16 + 16 + 16 * 10 + 10);
    assert!(prov.extra.contains_key("parameter_layout"));

    // A complete shard is skipped: the file is not rewritten.
    let before = std::fs::metadata(d.join("a.parquet")).unwrap().modified().unwrap();
    jump("a.parquet");
    assert_eq!(std::fs::metadata(d.join("a.parquet")).unwrap().modified().unwrap(), before);

    // A huge step diverges or not, but is recorded either way without a crash.
    let big = format!("{RUN}__j0_s50");
    ok(d, &["jump", "--params", "params.toml", "--split", "split.parquet", "--checkpoint", "net.safetensors", "--shard", &big, "--out", "big.parquet"]);
    ok(d, &["merge", "--schema", "trajectories", "--out", "merged.parquet", "a.parquet", "big.parquet"]);
    let (merged, _) = read_table(&d.join("merged.parquet"), &TRAJECTORIES).unwrap();
    let big_rows = read_table(&d.join("big.parquet"), &TRAJECTORIES).unwrap().0.height();
    assert_eq!(merged.height(), 4 + big_rows);
}

/// `basin jump --net` writes every shard of the net (batched: an MLP) with
/// the trajectories `--shard` gives, within float rounding, and skips
/// complete shards on a rerun.
#[test]
fn jump_net_writes_every_shard_like_single_shards() {
    let (dir, _) = study();
    let d = dir.path();
    ok(d, &["data", "split", "--params", "params.toml", "--out", "split.parquet"]);
    ok(d, &["train", "--params", "params.toml", "--split", "split.parquet", "--run", RUN, "--out", "net.safetensors", "--run-table", "run.parquet"]);
    let net = ["jump", "--params", "params.toml", "--split", "split.parquet", "--checkpoint", "net.safetensors", "--net", RUN, "--out-dir", "jumps"];
    ok(d, &net);
    for (seed, step) in [(0, "0.5"), (0, "50"), (1, "0.5"), (1, "50")] {
        let shard = format!("{RUN}__j{seed}_s{step}");
        let batched = d.join("jumps").join(format!("{shard}.parquet"));
        let single = d.join(format!("{shard}.parquet"));
        ok(d, &["jump", "--params", "params.toml", "--split", "split.parquet", "--checkpoint", "net.safetensors", "--shard", &shard, "--out", &single.to_string_lossy()]);
        let (a, prov) = read_table(&batched, &TRAJECTORIES).unwrap();
        let (b, _) = read_table(&single, &TRAJECTORIES).unwrap();
        assert_eq!(prov.params["shard"], shard.as_str());
        assert_eq!(a.height(), b.height(), "{shard}");
        let la = columns::f64s(&a, "train_loss", &batched).unwrap();
        let lb = columns::f64s(&b, "train_loss", &single).unwrap();
        let finite = la.iter().all(|v| v.is_finite());
        if finite {
            for (x, y) in la.iter().zip(&lb) {
                assert!((x - y).abs() < 1e-4 * y.abs().max(1.0), "{shard}: train loss {x} vs {y}");
            }
            let (wa, wb) = (columns::f32_lists(&a, "weights", &batched).unwrap(), columns::f32_lists(&b, "weights", &single).unwrap());
            let worst = wa.iter().flatten().zip(wb.iter().flatten()).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
            assert!(worst < 1e-3, "{shard}: largest weight difference {worst}");
        }
    }
    let file = d.join("jumps").join(format!("{RUN}__j1_s0.5.parquet"));
    let before = std::fs::metadata(&file).unwrap().modified().unwrap();
    ok(d, &net);
    assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), before, "complete shards are skipped");
}

#[test]
fn plan_lists_runs_and_shards() {
    let (dir, _) = study();
    let out = Command::new(env!("CARGO_BIN_EXE_basin")).args(["plan", "--params", "params.toml"]).current_dir(dir.path()).output().unwrap();
    let mk = String::from_utf8(out.stdout).unwrap();
    assert!(mk.contains(&format!("RUNS := {RUN}\n")), "{mk}");
    assert!(mk.contains("N_SHARDS := 4\n"), "{mk}");
    assert!(mk.contains(&format!("out/jumps/{RUN}__j1_s50.parquet: out/nets/{RUN}.safetensors")), "{mk}");
}

#[test]
fn params_extract_is_rewritten_only_on_change() {
    let (dir, p) = study();
    let d = dir.path();
    ok(d, &["params", "--params", "params.toml", "--sections", "jump", "--out", "jump.toml"]);
    let t0 = std::fs::metadata(d.join("jump.toml")).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    // Editing another section leaves the jump extract untouched.
    let text = std::fs::read_to_string(&p).unwrap().replace("epochs = 4", "epochs = 5");
    std::fs::write(&p, text).unwrap();
    ok(d, &["params", "--params", "params.toml", "--sections", "jump", "--out", "jump.toml"]);
    assert_eq!(std::fs::metadata(d.join("jump.toml")).unwrap().modified().unwrap(), t0);
    let text = std::fs::read_to_string(&p).unwrap().replace("epochs = 3", "epochs = 2");
    std::fs::write(&p, text).unwrap();
    ok(d, &["params", "--params", "params.toml", "--sections", "jump", "--out", "jump.toml"]);
    assert!(std::fs::read_to_string(d.join("jump.toml")).unwrap().contains("epochs = 2"));
}

#[test]
fn errors_name_their_cause() {
    let (dir, p) = study();
    let d = dir.path();
    let (success, err) = basin(d, &["data", "split", "--params", "missing.toml", "--out", "s.parquet"]);
    assert!(!success && err.contains("missing.toml"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");

    let text = std::fs::read_to_string(&p).unwrap().replace("val_fraction", "val_fractoin");
    std::fs::write(d.join("typo.toml"), text).unwrap();
    let (success, err) = basin(d, &["data", "split", "--params", "typo.toml", "--out", "s.parquet"]);
    assert!(!success && err.contains("[data]") && err.contains("val_fractoin"), "{err}");

    ok(d, &["data", "split", "--params", "params.toml", "--out", "split.parquet"]);
    let (success, err) = basin(d, &["train", "--params", "params.toml", "--split", "split.parquet", "--run", "nope", "--out", "n.safetensors", "--run-table", "r.parquet"]);
    assert!(!success && err.contains("no run \"nope\"") && err.contains(RUN), "{err}");
    assert!(!d.join("n.safetensors").exists());

    std::fs::write(d.join("bad.parquet"), b"PAR1 not really").unwrap();
    let (success, err) = basin(d, &["inspect", "bad.parquet"]);
    assert!(!success && err.contains("bad.parquet") && err.contains("not a readable Parquet"), "{err}");
}

#[test]
fn phate_per_net_keeps_every_point_and_joint_keeps_the_epoch_stride() {
    let (dir, p) = study();
    let d = dir.path();
    let mut text = std::fs::read_to_string(&p).unwrap();
    text.push_str("\n[phate]\nknn = 2\nt = 3\nn_pca = 0\nmds = \"classic\"\njoint_epoch_stride = 2\n");
    std::fs::write(&p, text.replace("steps = [0.5, 50.0]", "steps = [0.5, 0.25]")).unwrap();
    let shards = [format!("{RUN}__j0_s0.5"), format!("{RUN}__j1_s0.25")];
    train_and_jump(d, RUN, &shards);
    let (a, b) = (format!("{}.parquet", shards[0]), format!("{}.parquet", shards[1]));

    let epochs_of = |file: &str| {
        let (df, _) = read_table(&d.join(file), &EMBEDDINGS).unwrap();
        let mut e = columns::i64s(&df, "epoch", &d.join(file)).unwrap();
        e.sort_unstable();
        (columns::strings(&df, "scope", &d.join(file)).unwrap()[0].clone(), e)
    };
    ok(d, &["phate", "--params", "params.toml", "--scope", "per-net", "--out", "per-net.parquet", "traj.parquet"]);
    assert_eq!(epochs_of("per-net.parquet"), ("per-net".to_owned(), vec![0, 0, 1, 1, 2, 2, 3, 3]), "per-net embeddings keep every epoch");
    ok(d, &["phate", "--params", "params.toml", "--scope", "joint", "--out", "joint.parquet", &a, &b]);
    assert_eq!(epochs_of("joint.parquet"), ("joint".to_owned(), vec![0, 0, 2, 2]), "the joint embedding keeps epochs on the stride");

    let text = std::fs::read_to_string(&p).unwrap().replace("joint_epoch_stride = 2", "joint_epoch_stride = 0");
    std::fs::write(d.join("zero.toml"), text).unwrap();
    let (success, err) = basin(d, &["phate", "--params", "zero.toml", "--scope", "joint", "--out", "z.parquet", "traj.parquet"]);
    assert!(!success && err.contains("joint_epoch_stride"), "{err}");
    assert!(!d.join("z.parquet").exists());
}

/// One net's trajectories of `seeds × steps` short jumps (7 logged points
/// each), merged into `traj.parquet`, for the topology stage.
fn jumps(d: &Path, p: &Path, seeds: &[u64], steps: &[&str]) {
    let mut text = std::fs::read_to_string(p).unwrap();
    text.push_str("\n[phate]\nknn = 3\nt = 4\nn_pca = 0\nmds = \"classic\"\n");
    let text = text.replace("steps = [0.5, 50.0]", &format!("steps = [{}]", steps.join(", "))).replace("epochs = 3", "epochs = 6");
    let text = text.replace("seeds = [0, 1]", &format!("seeds = {seeds:?}"));
    std::fs::write(p, text).unwrap();
    let shards: Vec<String> = seeds.iter().flat_map(|seed| steps.iter().map(move |step| format!("{RUN}__j{seed}_s{step}"))).collect();
    train_and_jump(d, RUN, &shards);
}

#[test]
fn topo_vr_writes_diagrams_cocycles_and_closed_cycles_the_same_at_any_thread_count() {
    let (dir, p) = study();
    let d = dir.path();
    jumps(d, &p, &[0, 1, 2, 3], &["0.25", "0.5", "0.75", "1"]);
    let vr = |threads: &str, tag: &str| {
        ok(d, &[
            "topo", "vr", "--params", "params.toml", "--threads", threads, "--out", &format!("vr{tag}.parquet"),
            "--features-out", &format!("vr-features{tag}.parquet"), "--cocycles-out", &format!("cocycles{tag}.parquet"),
            "--cycles-out", &format!("cycles{tag}.parquet"), "traj.parquet",
        ]);
    };
    vr("1", "1");
    vr("2", "2");
    for name in ["vr", "vr-features", "cocycles", "cycles"] {
        let one = std::fs::read(d.join(format!("{name}1.parquet"))).unwrap();
        assert_eq!(one, std::fs::read(d.join(format!("{name}2.parquet"))).unwrap(), "{name}: same bytes with 1 and 2 threads");
    }
    let path = d.join("vr1.parquet");
    let (diagrams, _) = read_table(&path, &DIAGRAMS).unwrap();
    let dims = columns::i64s(&diagrams, "dim", &path).unwrap();
    let essential = columns::bools(&diagrams, "essential", &path).unwrap();
    let h0 = dims.iter().filter(|&&k| k == 0).count();
    assert_eq!(h0, 112, "one H0 bar per point (16 jumps × 7 logged points)");
    assert_eq!(dims.iter().zip(&essential).filter(|(&k, &e)| k == 0 && e).count(), 1, "one essential H0 class");
    let h1 = dims.iter().filter(|&&k| k == 1).count();
    assert!(h1 > 0, "these trajectories have loops");

    // Every H1 bar's cycle is closed: over Z/2 each vertex meets an even number of its edges.
    let path = d.join("cycles1.parquet");
    let (cycles, _) = read_table(&path, &CYCLES).unwrap();
    let bars = columns::i64s(&cycles, "bar", &path).unwrap();
    let vertex = |side: &str| {
        let seeds = columns::i64s(&cycles, &format!("jump_seed_{side}"), &path).unwrap();
        let steps = columns::f64s(&cycles, &format!("step_size_{side}"), &path).unwrap();
        let epochs = columns::i64s(&cycles, &format!("epoch_{side}"), &path).unwrap();
        (0..seeds.len()).map(|i| format!("{}/{}/{}", seeds[i], steps[i], epochs[i])).collect::<Vec<_>>()
    };
    let (a, b) = (vertex("a"), vertex("b"));
    let mut degree = std::collections::BTreeMap::<(i64, String), usize>::new();
    for i in 0..bars.len() {
        *degree.entry((bars[i], a[i].clone())).or_default() += 1;
        *degree.entry((bars[i], b[i].clone())).or_default() += 1;
    }
    let with_cycle: std::collections::BTreeSet<i64> = bars.iter().copied().collect();
    assert_eq!(with_cycle.len(), h1, "every H1 bar has a cycle");
    assert!(degree.values().all(|n| n % 2 == 0), "cycles are closed: {degree:?}");
}

#[test]
fn topo_sublevel_bridged_graph_has_one_essential_class() {
    let (dir, p) = study();
    let d = dir.path();
    jumps(d, &p, &[0, 1], &["0.5", "0.25"]);
    ok(d, &["phate", "--params", "params.toml", "--out", "emb.parquet", "--potential-out", "potential.parquet", "traj.parquet"]);
    let essential_h0 = |connectivity: &str| {
        let text = std::fs::read_to_string(&p).unwrap() + &format!("\n[topo]\nsublevel_k = 2\nsublevel_connectivity = \"{connectivity}\"\n");
        let params = format!("{connectivity}.toml");
        std::fs::write(d.join(&params), text).unwrap();
        let out = format!("sublevel-{connectivity}.parquet");
        ok(d, &[
            "topo", "sublevel", "--params", &params, "--potential", "potential.parquet", "--trajectories", "traj.parquet",
            "--out", &out, "--features-out", &format!("features-{connectivity}.parquet"),
        ]);
        let (df, _) = read_table(&d.join(&out), &DIAGRAMS).unwrap();
        let dims = columns::i64s(&df, "dim", &d.join(&out)).unwrap();
        let essential = columns::bools(&df, "essential", &d.join(&out)).unwrap();
        dims.iter().zip(&essential).filter(|(&k, &e)| k == 0 && e).count()
    };
    let plain = essential_h0("knn");
    assert!(plain > 1, "k = 2 leaves the four jumps' graph in pieces ({plain} components)");
    assert_eq!(essential_h0("bridged"), 1, "bridges join the components into one");
}
