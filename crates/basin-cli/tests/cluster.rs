//! The cluster path without a cluster: the make fragment of `LAUNCH=slurm`,
//! the scripts `basin submit --dry-run` writes, and `basin status` when no
//! SLURM command is installed. (`tests/slurm/run.sh` runs the real thing.)

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// This file's sections after the tiny study's `[data]` and `[train]`.
const SECTIONS: &str = r#"
[jump]
seeds = [0, 1]
steps = [0.5, 50.0]
epochs = 3

[phate]
knn = 3

[topo]
vr_max_dim = 1

[cluster]
account = "proj1"
setup = ["module load cuda/12.4"]
jump = { cpus = 1, mem = "1G", time = "00:05:00", gpus = 1, partition = "gpu" }
"#;

fn params() -> String {
    common::tiny_study(SECTIONS)
}

const RUN: &str = "wd0.0005-bs64-aug0-noise0-s0";

/// A pipeline folder `<tmp>/pipelines/study` with the repository's common.mk.
fn pipeline() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let study = dir.path().join("pipelines/study");
    std::fs::create_dir_all(&study).unwrap();
    std::fs::copy(repo.join("pipelines/common.mk"), dir.path().join("pipelines/common.mk")).unwrap();
    std::fs::write(study.join("Makefile"), "include ../common.mk\n").unwrap();
    let data = repo.join("data").canonicalize().unwrap();
    std::fs::write(study.join("params.toml"), params().replace("DATA_DIR", &data.to_string_lossy())).unwrap();
    (dir, study)
}

fn basin(args: &[&str], path_env: Option<&str>) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_basin"));
    cmd.args(["--quiet", "--log", "warn"]).args(args);
    if let Some(p) = path_env {
        cmd.env("PATH", p);
    }
    let out = cmd.output().expect("basin runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn make_dry_run(study: &Path, extra: &[&str]) -> String {
    let out = Command::new("make")
        .arg("-C")
        .arg(study)
        .arg("-n")
        .arg(format!("BASIN={}", env!("CARGO_BIN_EXE_basin")))
        .args(extra)
        .output()
        .expect("make runs");
    assert!(out.status.success(), "make -n {extra:?}: {}", String::from_utf8_lossy(&out.stderr));
    // One line per recipe: join the backslash continuations.
    String::from_utf8_lossy(&out.stdout).replace("\\\n", "")
}

#[test]
fn launch_slurm_prefixes_heavy_recipes_with_srun() {
    let (_dir, study) = pipeline();
    let local = make_dry_run(&study, &[]);
    let jump = local.lines().find(|l| l.contains(" jump --params")).expect("a jump recipe");
    assert!(!local.contains("srun"), "no launcher, no srun:\n{local}");
    assert!(jump.trim_end().ends_with(&format!("--out out/jumps/{RUN}__j0_s0.5.parquet")), "{jump}");

    let slurm = make_dry_run(&study, &["LAUNCH=slurm"]);
    let jump = slurm.lines().find(|l| l.contains(" jump --params")).expect("a jump recipe");
    assert!(
        jump.starts_with("srun --job-name=basin-jump --ntasks=1 --kill-on-bad-exit=1 --quiet --cpus-per-task=1 --mem=1G --time=00:05:00 --gres=gpu:1 --partition=gpu --account=proj1 "),
        "{jump}"
    );
    assert!(jump.trim_end().ends_with("--device cuda"), "{jump}");
    let train = slurm.lines().find(|l| l.contains(" train --params")).expect("a train recipe");
    assert!(train.starts_with("srun --job-name=basin-train") && !train.contains("--device"), "{train}");
    let merge = slurm.lines().find(|l| l.contains(" merge --schema")).expect("a merge recipe");
    assert!(!merge.contains("srun"), "light recipes run locally: {merge}");
    for stage in ["phate", "topo vr", "topo sublevel"] {
        let line = slurm.lines().find(|l| l.contains(&format!(" {stage} --params"))).expect(stage);
        assert!(line.starts_with("srun "), "{line}");
    }
}

#[test]
fn editing_cluster_reruns_no_stage() {
    let (_dir, study) = pipeline();
    let params = study.join("params.toml");
    let extract = |stage: &str| {
        let out = study.join(format!("out/params/{stage}.toml"));
        let (ok, _, err) = basin(&["params", "--params", &params.to_string_lossy(), "--sections", &section_list(stage), "--out", &out.to_string_lossy()], None);
        assert!(ok, "{err}");
        (std::fs::read_to_string(&out).unwrap(), std::fs::metadata(&out).unwrap().modified().unwrap())
    };
    let stages = ["split", "train", "jump", "phate", "topo", "plan"];
    let before: Vec<_> = stages.iter().map(|s| extract(s)).collect();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let text = std::fs::read_to_string(&params).unwrap().replace("proj1", "proj2").replace("gpus = 1", "gpus = 2");
    std::fs::write(&params, text).unwrap();
    let after: Vec<_> = stages.iter().map(|s| extract(s)).collect();
    assert_eq!(before, after, "a [cluster] edit leaves every stage's params extract, and its time, as it was");
}

fn section_list(stage: &str) -> String {
    match stage {
        "split" => "data",
        "train" => "data,train",
        "jump" => "data,train,jump",
        "plan" => "train,jump",
        other => other,
    }
    .to_owned()
}

#[test]
fn submit_dry_run_writes_array_scripts_in_dependency_order() {
    let (_dir, study) = pipeline();
    let (ok, out, err) = basin(&["submit", "--pipeline", &study.to_string_lossy(), "--dry-run"], None);
    assert!(ok, "{err}");
    // The light first steps ran here.
    assert!(study.join("out/split.parquet").is_file() && study.join("out/plan.mk").is_file());
    let sub = study.join("out/slurm/sub-1");
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("sbatch")).collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].contains("--array=0-0 ") && lines[0].ends_with("train-0.sbatch"), "{out}");
    assert!(lines[1].contains("--array=0-3 --dependency=afterok:0 --kill-on-invalid-dep=yes") && lines[1].ends_with("jump-0.sbatch"), "{out}");
    assert!(lines[2].contains("--dependency=afterok:0:0 ") && lines[2].ends_with("finish.sbatch"), "{out}");
    assert!(out.contains("1 net(s), 4 jump shard(s)"), "{out}");

    let jump = std::fs::read_to_string(sub.join("jump-0.sbatch")).unwrap();
    assert!(jump.contains("#SBATCH --job-name=basin-study-jump\n"), "{jump}");
    assert!(jump.contains("#SBATCH --gres=gpu:1\n#SBATCH --partition=gpu\n#SBATCH --account=proj1\n"), "{jump}");
    assert!(jump.contains("set -euo pipefail\nmodule load cuda/12.4\n"), "{jump}");
    for (seed, step) in [(0, "0.5"), (0, "50"), (1, "0.5"), (1, "50")] {
        assert!(jump.contains(&format!("  out/jumps/{RUN}__j{seed}_s{step}.parquet\n")), "{jump}");
    }
    assert!(jump.contains("'DEVICE_jump=--device cuda' \"${TARGETS[$SLURM_ARRAY_TASK_ID]}\""), "{jump}");
    // A dry run records no submission.
    assert!(!study.join("out/slurm/submissions.jsonl").exists());
}

#[test]
fn status_reads_the_disk_without_slurm_commands() {
    let (_dir, study) = pipeline();
    let s = study.to_string_lossy();
    // No SLURM, not even a PATH: the counts come from the files alone.
    let (ok, out, err) = basin(&["status", "--pipeline", &s], Some(""));
    assert!(ok, "{err}");
    assert!(out.contains("nets           0/1 done (1 missing)"), "{out}");
    assert!(out.contains("jump shards    0/4 done (4 missing)"), "{out}");
    assert!(out.contains("embeddings     0/2 done (2 missing)"), "{out}");

    // One shard on disk, the others submitted by a job that is gone.
    std::fs::create_dir_all(study.join("out/jumps")).unwrap();
    std::fs::write(study.join(format!("out/jumps/{RUN}__j0_s0.5.parquet")), b"x").unwrap();
    let shards: Vec<String> = [(0, "0.5"), (0, "50"), (1, "0.5")].iter().map(|(j, st)| format!("\"out/jumps/{RUN}__j{j}_s{st}.parquet\"")).collect();
    let record = format!("{{\"n\":1,\"jobs\":[{{\"id\":41,\"stage\":\"jump\",\"targets\":[{}]}}]}}\n", shards.join(","));
    std::fs::create_dir_all(study.join("out/slurm")).unwrap();
    std::fs::write(study.join("out/slurm/submissions.jsonl"), record).unwrap();
    let (ok, out, err) = basin(&["status", "--pipeline", &s, "--verbose"], Some(""));
    assert!(ok, "{err}");
    assert!(out.contains("jump shards    1/4 done (2 failed (ended), 1 missing)"), "{out}");
    assert!(out.contains(&format!("    out/jumps/{RUN}__j1_s50.parquet: missing\n")), "{out}");
    assert!(out.contains("submission 1: jump 41 (not queued)"), "{out}");
    assert!(out.contains("squeue not available"), "{out}");
}
