//! `basin`: the command-line front end of every basin stage.
//!
//! Each subcommand reads explicit input files and a `--params` TOML file and
//! writes explicit output files (atomically), so `make` can track every step
//! of a pipeline. Errors print one line naming the cause and exit non-zero.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mimalloc::MiMalloc;
use tracing_subscriber::EnvFilter;

mod cmd_compare;
mod cmd_cluster;
mod cmd_data;
mod cmd_inspect;
mod cmd_jump;
mod cmd_landscape;
mod cmd_landscape_hessian;
mod cmd_landscape_surface;
mod cmd_landscape_topology;
mod cmd_params;
mod cmd_phate;
mod cmd_plan;
mod cmd_topo;
mod cmd_train;
mod params;
mod progress;
mod slurm;
mod trajectories;

// Candle allocates fresh tensors at every step; mimalloc's thread caches make
// those allocations (and the page faults behind them) far cheaper than glibc.
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

/// Study how neural networks generalize through the shape of their loss
/// landscape: train nets, jump away from their minima and retrain, embed the
/// trajectories with PHATE, and measure their topology.
#[derive(Debug, Parser)]
#[command(name = "basin", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// Log level or filter (`error`, `warn`, `info`, `debug`, `trace`, or a
    /// tracing filter such as `basin=debug`). `RUST_LOG` overrides it.
    #[arg(long, global = true, default_value = "info")]
    log: String,

    /// Hide progress bars (they are hidden anyway when stderr is not a terminal).
    #[arg(long, global = true)]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Prepare data: seeded stratified splits of the shipped or user data sets.
    #[command(subcommand)]
    Data(cmd_data::DataCommand),
    /// Train one base net of the grid to a minimum; writes a safetensors
    /// checkpoint and a one-row `runs` table.
    Train(cmd_train::TrainArgs),
    /// Jump from a trained minimum along a filter-normalised random direction
    /// and retrain, logging the trajectory (one shard: net × seed × step).
    Jump(cmd_jump::JumpArgs),
    /// Merge per-shard trajectory or per-net run tables into one file.
    Merge(cmd_jump::MergeArgs),
    /// Embed trajectories with PHATE (per net or jointly); optionally write
    /// each net's potential-distance matrix for the topology stage.
    Phate(cmd_phate::PhateArgs),
    /// Persistent homology: Vietoris–Rips, sublevel sets, diagram distances.
    #[command(subcommand)]
    Topo(cmd_topo::TopoCommand),
    /// Compare nets: features per net, correlations with generalization,
    /// cross-validated classifiers against the naive/grid/scrambled baselines.
    #[command(subcommand)]
    Compare(cmd_compare::CompareCommand),
    /// Write the study's report: figures (PNG + SVG), report.md and a
    /// self-contained, explorable report.html.
    Report(cmd_compare::ReportArgs),
    /// Loss-landscape views around trained nets: probes (naive and grid
    /// baselines), surfaces, paths, Hessian spectra, merge trees.
    #[command(subcommand)]
    Landscape(cmd_landscape::LandscapeCommand),
    /// Print the make fragment (runs, shards and their dependencies) of a
    /// pipeline's params file.
    Plan(cmd_plan::PlanArgs),
    /// Extract one section of a params file to its own file, rewriting it
    /// only when its content changed (so make reruns only what depends on it).
    Params(cmd_params::ParamsArgs),
    /// Print the make fragment that `make LAUNCH=slurm` includes: an `srun`
    /// prefix per heavy stage, with the resources of the params' `[cluster]`.
    Launcher(cmd_cluster::LauncherArgs),
    /// Submit a pipeline to SLURM without a long-lived make: array jobs over
    /// the missing base nets and jump shards, then one job for the merges and
    /// downstream stages (scripts kept in `<out>/slurm/`).
    Submit(cmd_cluster::SubmitArgs),
    /// What of a pipeline is done, running, pending, failed or missing, from
    /// its files and (when available) `squeue` and `sacct`.
    Status(cmd_cluster::StatusArgs),
    /// Show a basin Parquet file: schema, provenance and the first rows.
    Inspect(cmd_inspect::InspectArgs),
    /// Print the documented Parquet schemas.
    Schema,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // candle 0.11 asks for its thread count on every CPU matmul, and without
    // RAYON_NUM_THREADS that means parsing /proc/cpuinfo each time
    // (`num_cpus::get_physical`): a digits-MLP training step took 283 µs
    // instead of 84. Setting it to what rayon uses anyway, before any thread
    // starts, makes that lookup an environment read; a value the user set
    // is kept. Thread counts change no result (the products' bits do not
    // depend on them; tested).
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    }
    if matches!(cli.command, Command::Landscape(_)) {
        // Hessian-vector products by double backward need candle to keep
        // gradients differentiable; candle reads this once per thread, at
        // its first backward pass, so it is set here, before any thread
        // starts. It changes no value candle computes (training and jumps
        // write the same bytes with it, tests/landscape.rs), only what the
        // gradients keep alive; other subcommands run without it.
        std::env::set_var("CANDLE_GRAD_DO_NOT_DETACH", "1");
    }
    let filter = EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new(&cli.log));
    let filter = match filter {
        Ok(f) => f,
        Err(e) => {
            eprintln!("basin: error: invalid --log filter {:?}: {e}", cli.log);
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
    progress::set_quiet(cli.quiet);

    let result = match cli.command {
        Command::Data(c) => cmd_data::run(c),
        Command::Train(a) => cmd_train::run(&a),
        Command::Jump(a) => cmd_jump::run(&a),
        Command::Merge(a) => cmd_jump::merge(&a),
        Command::Phate(a) => cmd_phate::run(&a),
        Command::Topo(c) => cmd_topo::run(c),
        Command::Compare(c) => cmd_compare::run(c),
        Command::Report(a) => cmd_compare::report(&a),
        Command::Landscape(c) => cmd_landscape::run(c),
        Command::Plan(a) => cmd_plan::run(&a),
        Command::Params(a) => cmd_params::run(&a),
        Command::Launcher(a) => cmd_cluster::launcher(&a),
        Command::Submit(a) => cmd_cluster::submit(&a),
        Command::Status(a) => cmd_cluster::status(&a),
        Command::Inspect(a) => cmd_inspect::run(&a),
        Command::Schema => {
            for s in basin_store::schema::ALL {
                println!("{}", s.to_markdown());
            }
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the outermost context and every cause, joined.
            let chain: Vec<String> = e.chain().map(ToString::to_string).collect();
            eprintln!("basin: error: {}", chain.join(": "));
            ExitCode::FAILURE
        }
    }
}
