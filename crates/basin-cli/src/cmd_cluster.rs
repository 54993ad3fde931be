//! `basin launcher`, `basin submit` and `basin status`: a pipeline on a SLURM
//! cluster.
//!
//! Both cluster paths run the pipeline's own make rules, so a job computes
//! exactly what a local run computes. `make LAUNCH=slurm` keeps make on the
//! login node and sends each heavy recipe through `srun` (the fragment comes
//! from `basin launcher`). `basin submit` needs no long-lived make: it writes
//! sbatch scripts to `<out>/slurm/sub-<n>/`, one array job over the missing
//! base nets, one over the missing jump shards (after the nets), and a
//! closing job that runs `make all` (after the shards), and records the job
//! ids in `<out>/slurm/submissions.jsonl` for `basin status`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::{Deserialize, Serialize};

use crate::params::{ClusterParams, JumpParams, Params, TrainParams};
use crate::slurm::{self, JobState, MakeCall, Stage, TargetState};

/// Arguments of `basin launcher`.
#[derive(Debug, Args)]
pub(crate) struct LauncherArgs {
    /// The pipeline's params file (its `[cluster]` section; defaults when absent).
    #[arg(long)]
    params: PathBuf,
    /// Write the fragment here (rewritten only when it changes) instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub(crate) fn launcher(args: &LauncherArgs) -> Result<()> {
    let params = Params::load(&args.params)?;
    let cluster: ClusterParams = params.section_or_default("cluster")?;
    let mk = slurm::launch_fragment(&cluster, &args.params.display().to_string());
    match &args.out {
        None => print!("{mk}"),
        Some(path) => {
            crate::cmd_params::write_if_changed(path, &mk)?;
        }
    }
    Ok(())
}

/// Where a pipeline lives: shared by `basin submit` and `basin status`.
#[derive(Debug, Args)]
pub(crate) struct PipelineArgs {
    /// The pipeline folder (its `Makefile` and `params.toml`), on a file
    /// system that every compute node sees at the same path.
    #[arg(long, default_value = ".")]
    pipeline: PathBuf,
    /// The pipeline's `OUT` folder, relative to the pipeline folder.
    #[arg(long, default_value = "out")]
    out: String,
}

/// Arguments of `basin submit`.
#[derive(Debug, Args)]
pub(crate) struct SubmitArgs {
    #[command(flatten)]
    pipeline: PipelineArgs,
    /// The `basin` binary the jobs run (default: this one).
    #[arg(long)]
    basin: Option<PathBuf>,
    /// The make program, locally and in the jobs.
    #[arg(long, default_value = "make")]
    make: String,
    /// Write the sbatch scripts and print the `sbatch` commands without submitting.
    #[arg(long)]
    dry_run: bool,
    /// Wait until the submitted jobs have left the queue, print the status,
    /// and fail when anything is still missing.
    #[arg(long)]
    wait: bool,
    /// Seconds between queue polls with `--wait`.
    #[arg(long, default_value_t = 5)]
    poll: u64,
}

/// Arguments of `basin status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    pipeline: PipelineArgs,
    /// List every target that is not done, with its state.
    #[arg(long)]
    verbose: bool,
}

/// One submitted job, as recorded in `submissions.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SubmittedJob {
    /// The job id `sbatch` printed.
    id: u64,
    /// `train`, `jump` or `finish`.
    stage: String,
    /// Array task `i` makes `targets[i]`; the finish job makes `all`.
    targets: Vec<String>,
}

/// One run of `basin submit`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Submission {
    n: usize,
    jobs: Vec<SubmittedJob>,
}

/// The targets of the scheduled stages, from the params file.
struct Plan {
    nets: Vec<String>,
    shards: Vec<String>,
    cluster: ClusterParams,
    study: String,
}

impl Plan {
    fn load(p: &PipelineArgs) -> Result<Self> {
        let params = Params::load(&p.pipeline.join("params.toml"))?;
        let train: TrainParams = params.section("train")?;
        let jump: JumpParams = params.section("jump")?;
        let cluster: ClusterParams = params.section_or_default("cluster")?;
        let o = &p.out;
        let runs = train.runs();
        let nets = runs.iter().map(|r| format!("{o}/nets/{}.safetensors", r.run_id)).collect();
        let shards = runs.iter().flat_map(|r| jump.shards(&r.run_id)).map(|s| format!("{o}/jumps/{}.parquet", s.id())).collect();
        let abs = std::path::absolute(&p.pipeline).unwrap_or_else(|_| p.pipeline.clone());
        let study = abs.file_name().map_or_else(|| "pipeline".into(), |n| n.to_string_lossy().into_owned());
        Ok(Self { nets, shards, cluster, study })
    }
}

fn slurm_dir(p: &PipelineArgs) -> PathBuf {
    p.pipeline.join(&p.out).join("slurm")
}

fn load_submissions(p: &PipelineArgs) -> Result<Vec<Submission>> {
    let path = slurm_dir(p).join("submissions.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else { return Ok(Vec::new()) };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("{}: line {}", path.display(), i + 1)))
        .collect()
}

fn save_submissions(p: &PipelineArgs, subs: &[Submission]) -> Result<()> {
    let mut text = String::new();
    for s in subs {
        text.push_str(&serde_json::to_string(s)?);
        text.push('\n');
    }
    crate::cmd_params::write_if_changed(&slurm_dir(p).join("submissions.jsonl"), &text)?;
    Ok(())
}

/// Runs a scheduler command; `None` when it is absent or fails (status then
/// says less, it does not fail).
fn scheduler_output(program: &str, args: &[&str]) -> Option<String> {
    match Command::new(program).args(args).output() {
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        Ok(out) => {
            tracing::debug!("{program} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
            None
        }
        Err(e) => {
            tracing::debug!("{program}: {e}");
            None
        }
    }
}

/// The queue (`squeue`) and final (`sacct`) states of the recorded jobs.
struct SchedulerView {
    queued: Vec<JobState>,
    accounted: Vec<JobState>,
    has_squeue: bool,
}

impl SchedulerView {
    fn of(subs: &[Submission]) -> Self {
        let ids: Vec<String> = subs.iter().flat_map(|s| s.jobs.iter().map(|j| j.id.to_string())).collect();
        if ids.is_empty() {
            return Self { queued: Vec::new(), accounted: Vec::new(), has_squeue: false };
        }
        let ids = ids.join(",");
        // squeue -j with ids it no longer knows fails on some versions; ask for
        // all of the user's jobs and keep ours.
        let queue = scheduler_output("squeue", &["-h", "-r", "-o", "%F|%K|%T"]);
        let acct = scheduler_output("sacct", &["-n", "-P", "-X", "-o", "JobID,State", "-j", &ids]);
        Self {
            has_squeue: queue.is_some(),
            queued: queue.as_deref().map(slurm::parse_states).unwrap_or_default(),
            accounted: acct.as_deref().map(slurm::parse_states).unwrap_or_default(),
        }
    }

    fn find<'a>(states: &'a [JobState], job: u64, task: Option<u32>) -> Option<&'a str> {
        states.iter().find(|s| s.job == job && (s.task == task || s.task.is_none())).map(|s| s.state.as_str())
    }

    /// State of `target`: the newest submission whose array job lists it
    /// decides; failing that, the newest closing job (it makes `all`).
    fn state(&self, subs: &[Submission], target: &str, done: bool) -> TargetState {
        let jobs = || subs.iter().rev().flat_map(|s| s.jobs.iter());
        let listed = jobs().find_map(|j| j.targets.iter().position(|t| t == target).map(|i| (j, Some(i as u32))));
        let covering = listed.or_else(|| jobs().find(|j| j.stage == Stage::Finish.name()).map(|j| (j, None)));
        match covering {
            Some((job, task)) => {
                let queued = Self::find(&self.queued, job.id, task);
                let accounted = Self::find(&self.accounted, job.id, task);
                TargetState::classify(done, queued, accounted, true)
            }
            None => TargetState::classify(done, None, None, false),
        }
    }
}

pub(crate) fn submit(args: &SubmitArgs) -> Result<()> {
    let p = &args.pipeline;
    let basin = match &args.basin {
        Some(b) => std::path::absolute(b)?,
        None => std::env::current_exe().context("locating the basin binary")?,
    };
    let pipeline_dir = std::path::absolute(&p.pipeline)?;
    if !pipeline_dir.join("Makefile").is_file() {
        bail!("--pipeline {}: no Makefile there", p.pipeline.display());
    }
    let call = MakeCall {
        pipeline_dir: pipeline_dir.to_string_lossy().into_owned(),
        basin: basin.to_string_lossy().into_owned(),
        out: p.out.clone(),
        make: args.make.clone(),
    };
    // The light first steps (params extracts, split, plan) run here, so every
    // job finds them made.
    run_make(&call, &["prepare"])?;
    let plan = Plan::load(p)?;
    let mut subs = load_submissions(p)?;
    let view = SchedulerView::of(&subs);
    // Skip what is done and what a queued job of an earlier submission makes.
    let todo = |targets: &[String]| -> Vec<String> {
        targets
            .iter()
            .filter(|t| matches!(view.state(&subs, t, p.pipeline.join(t).exists()), TargetState::Failed(_) | TargetState::Missing))
            .cloned()
            .collect()
    };
    let nets = todo(&plan.nets);
    let shards = todo(&plan.shards);
    let in_flight = |targets: &[String]| {
        targets.iter().filter(|t| matches!(view.state(&subs, t, false), TargetState::Running | TargetState::Pending)).count()
    };
    let waiting = in_flight(&plan.nets) + in_flight(&plan.shards);
    if nets.is_empty() && shards.is_empty() && waiting == 0 && run_make_quiet(&call, &["-q", "all"]) {
        println!("{}: everything is made; nothing to submit", p.pipeline.display());
        return Ok(());
    }

    let n = subs.last().map_or(1, |s| s.n + 1);
    let dir = slurm_dir(p).join(format!("sub-{n}"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = std::path::absolute(&dir)?;
    let log = |stage: &str| dir.join(format!("{stage}-%A_%a.log")).to_string_lossy().into_owned();
    let name = |stage: Stage| format!("basin-{}-{}", plan.study, stage.name());
    let mut sub = Submission { n, jobs: Vec::new() };
    let mut after: Vec<u64> = Vec::new();

    for (stage, targets) in [(Stage::Train, &nets), (Stage::Jump, &shards)] {
        if targets.is_empty() {
            continue;
        }
        // The shards wait for every net of this submission; a failed net
        // cancels them (--kill-on-invalid-dep) rather than leaving them pending.
        let wait_for: Vec<u64> = after.clone();
        for (part, chunk) in targets.chunks(plan.cluster.max_array.max(1)).enumerate() {
            let script = slurm::array_script(&plan.cluster, stage, &name(stage), &log(stage.name()), &call, chunk);
            let path = dir.join(format!("{}-{part}.sbatch", stage.name()));
            write_script(&path, &script)?;
            let array = slurm::array_spec(chunk.len(), plan.cluster.max_parallel);
            let id = sbatch(&path, &[format!("--array={array}")], &wait_for, args.dry_run)?;
            after.push(id);
            sub.jobs.push(SubmittedJob { id, stage: stage.name().into(), targets: chunk.to_vec() });
        }
    }
    let finish = slurm::finish_script(&plan.cluster, &name(Stage::Finish), &log("finish"), &call);
    let path = dir.join("finish.sbatch");
    write_script(&path, &finish)?;
    // Jobs of earlier submissions still queued make some of the same files:
    // the closing `make all` starts only once they have ended, however.
    let earlier: Vec<u64> = subs
        .iter()
        .flat_map(|s| s.jobs.iter().map(|j| j.id))
        .filter(|id| view.queued.iter().any(|q| q.job == *id))
        .collect();
    let id = sbatch_after(&path, &[], &after, &earlier, args.dry_run)?;
    sub.jobs.push(SubmittedJob { id, stage: Stage::Finish.name().into(), targets: vec!["all".into()] });
    println!(
        "submission {n}: {} net(s), {} jump shard(s), then merge and downstream stages; scripts and logs in {}",
        nets.len(),
        shards.len(),
        dir.display()
    );
    if waiting > 0 {
        println!("({waiting} target(s) already queued by an earlier submission were left to it)");
    }
    if args.dry_run {
        return Ok(());
    }
    let ids: Vec<u64> = sub.jobs.iter().map(|j| j.id).collect();
    subs.push(sub);
    save_submissions(p, &subs)?;
    if args.wait {
        wait_for(&ids, Duration::from_secs(args.poll.max(1)))?;
        let report = status_report(p, false)?;
        print!("{}", report.text);
        if !report.complete {
            bail!("the pipeline is not complete; `basin submit` again resubmits what is missing");
        }
    }
    Ok(())
}

fn write_script(path: &Path, script: &str) -> Result<()> {
    crate::cmd_params::write_if_changed(path, script)?;
    Ok(())
}

/// Submits `script` after the jobs `after` succeeded; returns the job id (0
/// with `dry_run`).
fn sbatch(script: &Path, extra: &[String], after: &[u64], dry_run: bool) -> Result<u64> {
    sbatch_after(script, extra, after, &[], dry_run)
}

/// [`sbatch`], also waiting for the jobs `after_any` to end however they end.
fn sbatch_after(script: &Path, extra: &[String], after: &[u64], after_any: &[u64], dry_run: bool) -> Result<u64> {
    let mut args: Vec<String> = vec!["--parsable".into()];
    args.extend(extra.iter().cloned());
    let list = |ids: &[u64]| ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(":");
    let mut deps = Vec::new();
    if !after.is_empty() {
        deps.push(format!("afterok:{}", list(after)));
    }
    if !after_any.is_empty() {
        deps.push(format!("afterany:{}", list(after_any)));
    }
    if !deps.is_empty() {
        // `,`: all of them. A failed dependency cancels the job rather than
        // leaving it pending for ever.
        args.push(format!("--dependency={}", deps.join(",")));
        args.push("--kill-on-invalid-dep=yes".into());
    }
    args.push(script.to_string_lossy().into_owned());
    if dry_run {
        println!("sbatch {}", args.iter().map(|a| slurm::shell_quote(a)).collect::<Vec<_>>().join(" "));
        return Ok(0);
    }
    let out = Command::new("sbatch").args(&args).output().context("running sbatch (is SLURM installed here?)")?;
    if !out.status.success() {
        bail!("sbatch {}: {}", script.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    // --parsable prints `<id>` or `<id>;<cluster>`.
    let id = text.trim().split(';').next().unwrap_or_default();
    id.parse().with_context(|| format!("sbatch {}: unexpected output {text:?}", script.display()))
}

fn make_command(call: &MakeCall, targets: &[&str]) -> Command {
    let mut cmd = Command::new(&call.make);
    cmd.arg("-C").arg(&call.pipeline_dir).arg("--no-print-directory");
    cmd.arg(format!("BASIN={}", call.basin)).arg(format!("OUT={}", call.out)).args(targets);
    cmd
}

fn run_make(call: &MakeCall, targets: &[&str]) -> Result<()> {
    let status = make_command(call, targets).status().with_context(|| format!("running {}", call.make))?;
    if !status.success() {
        bail!("make {} in {} failed ({status})", targets.join(" "), call.pipeline_dir);
    }
    Ok(())
}

fn run_make_quiet(call: &MakeCall, targets: &[&str]) -> bool {
    make_command(call, targets).output().is_ok_and(|o| o.status.success())
}

/// Polls `squeue` until none of `ids` is queued.
fn wait_for(ids: &[u64], poll: Duration) -> Result<()> {
    let bar = crate::progress::bar(0, "waiting");
    loop {
        let Some(queue) = scheduler_output("squeue", &["-h", "-r", "-o", "%F|%K|%T"]) else {
            bail!("squeue failed while waiting for jobs {ids:?}");
        };
        let left = slurm::parse_states(&queue).iter().filter(|s| ids.contains(&s.job)).count();
        if left == 0 {
            bar.finish_and_clear();
            return Ok(());
        }
        bar.set_message(format!("{left} job(s) or task(s) queued"));
        std::thread::sleep(poll);
    }
}

pub(crate) fn status(args: &StatusArgs) -> Result<()> {
    let report = status_report(&args.pipeline, args.verbose)?;
    print!("{}", report.text);
    Ok(())
}

struct StatusReport {
    text: String,
    complete: bool,
}

/// Counts of done, running, pending, failed and missing targets per stage,
/// from the files on disk and, when present, `squeue` and `sacct`.
fn status_report(p: &PipelineArgs, verbose: bool) -> Result<StatusReport> {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;
    let plan = Plan::load(p)?;
    let subs = load_submissions(p)?;
    let view = SchedulerView::of(&subs);
    let o = &p.out;
    let mut text = format!("{} ({}):\n", p.pipeline.display(), p.pipeline.join(o).display());
    let mut complete = true;
    let mut line = |label: &str, targets: &[String], text: &mut String| -> Result<()> {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut not_done = Vec::new();
        for t in targets {
            let state = view.state(&subs, t, p.pipeline.join(t).exists());
            if state != TargetState::Done {
                not_done.push((t, state.label()));
            }
            *counts.entry(state.label()).or_default() += 1;
        }
        let done = counts.remove("done").unwrap_or(0);
        complete &= done == targets.len();
        let rest: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let rest = if rest.is_empty() { String::new() } else { format!(" ({})", rest.join(", ")) };
        writeln!(text, "  {label:<14} {done}/{} done{rest}", targets.len())?;
        if verbose {
            const SHOWN: usize = 10;
            for (t, s) in not_done.iter().take(SHOWN) {
                writeln!(text, "    {t}: {s}")?;
            }
            if not_done.len() > SHOWN {
                writeln!(text, "    … and {} more", not_done.len() - SHOWN)?;
            }
        }
        Ok(())
    };
    let runs: Vec<String> =
        plan.nets.iter().filter_map(|n| Path::new(n).file_stem().map(|s| s.to_string_lossy().into_owned())).collect();
    let per_run = |fmt: &dyn Fn(&str) -> String| runs.iter().map(|r| fmt(r)).collect::<Vec<String>>();
    line("nets", &plan.nets, &mut text)?;
    line("jump shards", &plan.shards, &mut text)?;
    line("trajectories", &per_run(&|r| format!("{o}/trajectories/{r}.parquet")), &mut text)?;
    let mut embeddings = per_run(&|r| format!("{o}/embeddings/{r}.parquet"));
    embeddings.push(format!("{o}/embeddings-joint.parquet"));
    line("embeddings", &embeddings, &mut text)?;
    let mut topology = per_run(&|r| format!("{o}/topology/{r}.vr.parquet"));
    topology.extend(per_run(&|r| format!("{o}/topology/{r}.sublevel.parquet")));
    line("topology", &topology, &mut text)?;
    if let Some(last) = subs.last() {
        let jobs: Vec<String> = last
            .jobs
            .iter()
            .map(|j| {
                let queued = view.queued.iter().filter(|s| s.job == j.id).count();
                let state = if queued > 0 {
                    format!("{queued} queued")
                } else {
                    SchedulerView::find(&view.accounted, j.id, None).map_or_else(|| "not queued".into(), str::to_lowercase)
                };
                format!("{} {} ({state})", j.stage, j.id)
            })
            .collect();
        writeln!(text, "  submission {}: {}", last.n, jobs.join(", "))?;
    }
    if !view.has_squeue && !subs.is_empty() {
        writeln!(text, "  (squeue not available here: running and pending jobs show as failed)")?;
    }
    Ok(StatusReport { text, complete })
}
