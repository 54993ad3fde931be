//! What the CLI test files share: running the `basin` binary, and a tiny
//! study of the shipped digits (split → train → jump → merge).

// Each test binary compiles this module and uses its own subset of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `basin ARGS` in `dir` with `env` set: whether it succeeded, and its
/// stderr. `CANDLE_GRAD_DO_NOT_DETACH` is removed from the inherited
/// environment, so a test sees what `basin` sets for itself.
pub(crate) fn basin_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_basin"))
        .args(["--quiet", "--log", "warn"])
        .args(args)
        .env_remove("CANDLE_GRAD_DO_NOT_DETACH")
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .expect("basin runs");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Runs `basin ARGS` in `dir`: whether it succeeded, and its stderr.
pub(crate) fn basin(dir: &Path, args: &[&str]) -> (bool, String) {
    basin_with_env(dir, args, &[])
}

/// Runs `basin ARGS` in `dir` and fails the test, with basin's stderr, if it fails.
pub(crate) fn ok(dir: &Path, args: &[&str]) {
    let (success, stderr) = basin(dir, args);
    assert!(success, "basin {args:?} failed: {stderr}");
}

/// The `[data]` and `[train]` sections of the tiny study every CLI test
/// runs: the shipped digits, one 16-unit MLP trained for 4 epochs.
pub(crate) const TINY_STUDY: &str = r#"
[data]
dataset = "digits"
data_dir = "DATA_DIR"
val_fraction = 0.15
test_fraction = 0.25
seed = 3

[train]
architecture = { kind = "mlp", hidden = [16] }
epochs = 4
lr = 0.05
[train.grid]
weight_decay = [0.0005]
batch_size = [64]
"#;

/// [`TINY_STUDY`] followed by a test file's own sections (`[jump]`, …).
pub(crate) fn tiny_study(rest: &str) -> String {
    format!("{TINY_STUDY}{rest}")
}

/// A temporary study folder whose `params.toml` is `template` with
/// `DATA_DIR` pointing at the shipped data; the folder and that file's path.
pub(crate) fn study_dir(template: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    let p = dir.path().join("params.toml");
    std::fs::write(&p, template.replace("DATA_DIR", &data_dir.to_string_lossy())).unwrap();
    (dir, p)
}

/// In a study folder: splits the data, trains `run` (`net.safetensors`,
/// `run.parquet`), retrains each of its `shards` (`<shard>.parquet`) and
/// merges them into `traj.parquet`.
pub(crate) fn train_and_jump(d: &Path, run: &str, shards: &[String]) {
    ok(d, &["data", "split", "--params", "params.toml", "--out", "split.parquet"]);
    ok(d, &["train", "--params", "params.toml", "--split", "split.parquet", "--run", run, "--out", "net.safetensors", "--run-table", "run.parquet"]);
    let outs: Vec<String> = shards.iter().map(|s| format!("{s}.parquet")).collect();
    for (shard, out) in shards.iter().zip(&outs) {
        ok(d, &["jump", "--params", "params.toml", "--split", "split.parquet", "--checkpoint", "net.safetensors", "--shard", shard, "--out", out]);
    }
    let mut args = vec!["merge", "--schema", "trajectories", "--out", "traj.parquet"];
    args.extend(outs.iter().map(String::as_str));
    ok(d, &args);
}
