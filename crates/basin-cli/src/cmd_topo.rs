//! `basin topo`: Vietoris–Rips and sublevel-set persistence, diagram distances.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use basin_store::columns;
use basin_store::polars::prelude::*;
use basin_store::schema::{
    COCYCLES, CYCLES, DIAGRAMS, FEATURES, POTENTIAL_DISTANCES, TRAJECTORIES,
};
use basin_store::{read_table, write_table, Provenance};
use basin_topo::rips::{self, Metric, RipsInput, RipsParams};
use basin_topo::sublevel::{Complex, Connectivity, SublevelParams};
use basin_topo::{distance, summary, Diagram, PersistencePair};
use clap::{Args, Subcommand, ValueEnum};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::params::Params;

/// The `[topo]` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct TopoSection {
    /// Highest homology dimension of the Rips diagrams.
    pub vr_max_dim: usize,
    /// Rips threshold; none = the enclosing radius.
    pub vr_threshold: Option<f64>,
    /// `cosine` or `euclidean` distance between weight vectors.
    pub vr_metric: String,
    /// Coefficient field Z/p.
    pub modulus: u32,
    /// Threads of the Rips computation: 0 = all cores (the default: the
    /// parallel reduction is the fastest wherever a second core is free),
    /// 1 = the sequential reduction (the fastest on a fully loaded machine).
    pub vr_threads: usize,
    /// Neighbours of the kNN graph on potential distances.
    pub sublevel_k: usize,
    /// `bridged` (default: the kNN graph plus the shortest edges joining its
    /// components) or `knn` (the paper's plain kNN graph, possibly in pieces).
    pub sublevel_connectivity: String,
    /// Which loss is the function on the vertices: `train_loss` or `test_loss`.
    pub sublevel_loss: String,
    /// `graph` (the paper's 1-dimensional complex) or `flag`.
    pub sublevel_complex: String,
    /// Exponent of total persistence.
    pub p: f64,
}

impl Default for TopoSection {
    fn default() -> Self {
        Self {
            vr_max_dim: 1,
            vr_threshold: None,
            vr_metric: "cosine".into(),
            modulus: 2,
            vr_threads: 0,
            sublevel_k: 20,
            sublevel_connectivity: "bridged".into(),
            sublevel_loss: "train_loss".into(),
            sublevel_complex: "graph".into(),
            p: 2.0,
        }
    }
}

/// `basin topo …`
#[derive(Debug, Subcommand)]
pub(crate) enum TopoCommand {
    /// Vietoris–Rips persistence of each net's trajectory point cloud
    /// (weights), or of a point cloud / distance matrix text file.
    Vr(VrArgs),
    /// Sublevel-set persistence of the loss on a kNN graph of PHATE
    /// potential distances (Horoi et al. 2022).
    Sublevel(SublevelArgs),
    /// Bottleneck or Wasserstein distances between the diagrams of a
    /// `diagrams` file, one line per pair of sources.
    Distance(DistanceArgs),
}

/// Text formats for `basin topo vr --text-input`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum TextFormat {
    /// Whitespace/comma-separated coordinates, one point per line.
    PointCloud,
    /// Full distance matrix.
    DistanceMatrix,
    /// Lower-triangular distance matrix (Ripser's format).
    LowerDistanceMatrix,
    /// `i j d` triplets.
    Sparse,
}

/// Arguments of `basin topo vr`.
#[derive(Debug, Args)]
pub(crate) struct VrArgs {
    /// Params file with a `[topo]` section (missing keys take the defaults).
    #[arg(long)]
    params: Option<PathBuf>,
    /// Output `diagrams` Parquet file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Output `features` Parquet file with per-net summaries.
    #[arg(long)]
    features_out: Option<PathBuf>,
    /// Output `cocycles` Parquet file: for every bar of dimension ≥ 1, the
    /// trajectory points (jump seed, step, epoch) of its representative cocycle.
    #[arg(long)]
    cocycles_out: Option<PathBuf>,
    /// Output `cycles` Parquet file: for every 1-dimensional bar, the edges of
    /// a representative cycle, each endpoint as its trajectory point.
    #[arg(long)]
    cycles_out: Option<PathBuf>,
    /// Read one text file in this format instead of trajectories, and print
    /// the diagram in Ripser's text format.
    #[arg(long, value_enum)]
    text_input: Option<TextFormat>,
    /// Override `[topo] vr_max_dim`.
    #[arg(long)]
    dim: Option<usize>,
    /// Override `[topo] vr_threshold`.
    #[arg(long)]
    threshold: Option<f64>,
    /// Override `[topo] modulus`.
    #[arg(long)]
    modulus: Option<u32>,
    /// Override `[topo] vr_threads` (0 = all cores, 1 = sequential).
    #[arg(long)]
    threads: Option<usize>,
    /// Input files: `trajectories` Parquet (one net each), or one text file.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

fn topo_section(params: Option<&Path>) -> Result<(TopoSection, serde_json::Value)> {
    match params {
        Some(p) => {
            let params = Params::load(p)?;
            Ok((
                params.section_or_default("topo")?,
                params.section_json("topo"),
            ))
        }
        None => Ok((TopoSection::default(), serde_json::Value::Null)),
    }
}

fn diagram_frame(rows: &[(String, String, PersistencePair)]) -> Result<DataFrame> {
    let n = rows.len();
    Ok(DataFrame::new(
        n,
        vec![
            Column::new(
                "source".into(),
                rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "run_id".into(),
                rows.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "dim".into(),
                rows.iter()
                    .map(|r| i64::try_from(r.2.dim).unwrap_or(i64::MAX))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "birth".into(),
                rows.iter().map(|r| r.2.birth).collect::<Vec<_>>(),
            ),
            Column::new(
                "death".into(),
                rows.iter().map(|r| r.2.death).collect::<Vec<_>>(),
            ),
            Column::new(
                "essential".into(),
                rows.iter().map(|r| r.2.is_essential()).collect::<Vec<_>>(),
            ),
        ],
    )?)
}

fn feature_frame(rows: &[(String, &str, String, f64)]) -> Result<DataFrame> {
    let n = rows.len();
    Ok(DataFrame::new(
        n,
        vec![
            Column::new(
                "run_id".into(),
                rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "feature_set".into(),
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            ),
            Column::new(
                "feature".into(),
                rows.iter().map(|r| r.2.as_str()).collect::<Vec<_>>(),
            ),
            Column::new("value".into(), rows.iter().map(|r| r.3).collect::<Vec<_>>()),
        ],
    )?)
}

/// Summaries of one diagram: per dimension, bar count, total persistence
/// (essential bars truncated at `cap`) and persistence entropy.
fn summarise(prefix: &str, diagram: &Diagram, cap: f64, p: f64) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for dim in 0..=diagram.max_dim {
        let bars: Vec<PersistencePair> = diagram.in_dim(dim).copied().collect();
        let finite = summary::truncate_essential(&bars, cap);
        out.push((format!("{prefix}_count_d{dim}"), bars.len() as f64));
        out.push((
            format!("{prefix}_total_persistence_d{dim}"),
            summary::total_persistence(&finite, p),
        ));
        out.push((
            format!("{prefix}_entropy_d{dim}"),
            summary::persistence_entropy(&finite),
        ));
    }
    out
}

/// One net's points (diverged ones left out) and its run id.
fn net_points(path: &Path) -> Result<(String, crate::trajectories::Points)> {
    let points = crate::trajectories::read_points(path)?;
    let run_id = points
        .run_id
        .first()
        .cloned()
        .with_context(|| format!("{}: no usable point", path.display()))?;
    if points.run_id.iter().any(|r| r != &run_id) {
        bail!(
            "{}: holds several nets; give one trajectories file per net",
            path.display()
        );
    }
    Ok((run_id, points))
}

fn vr(args: &VrArgs) -> Result<()> {
    let (section, section_json) = topo_section(args.params.as_deref())?;
    let params = RipsParams::new()
        .max_dim(args.dim.unwrap_or(section.vr_max_dim))
        .threshold(args.threshold.or(section.vr_threshold))
        .modulus(args.modulus.unwrap_or(section.modulus))
        .n_threads(args.threads.unwrap_or(section.vr_threads))
        .cocycles(args.cocycles_out.is_some())
        .cycles(args.cycles_out.is_some());
    if let Some(format) = args.text_input {
        let [path] = args.inputs.as_slice() else {
            bail!("--text-input takes exactly one file")
        };
        let output = match format {
            TextFormat::PointCloud => {
                let points = rips::read_point_cloud(path)?;
                params.compute(&RipsInput::PointCloud {
                    points: points.view(),
                    metric: Metric::Euclidean,
                })?
            }
            TextFormat::DistanceMatrix => {
                let d = rips::read_distance_matrix(path)?;
                params.compute(&RipsInput::DistanceMatrix(d.view()))?
            }
            TextFormat::LowerDistanceMatrix => {
                let (n, values) = rips::read_lower_distance_matrix(path)?;
                params.compute(&RipsInput::LowerTriangular { n, values: &values })?
            }
            TextFormat::Sparse => {
                let edges = rips::read_sparse_triplets(path)?;
                let n = edges
                    .iter()
                    .map(|&(i, j, _)| i.max(j) + 1)
                    .max()
                    .unwrap_or(0);
                params.compute(&RipsInput::Sparse { n, edges: &edges })?
            }
        };
        print!("{}", rips::to_ripser_text(&output.diagram));
        return Ok(());
    }
    let metric = match section.vr_metric.as_str() {
        "cosine" => Metric::Cosine,
        "euclidean" => Metric::Euclidean,
        other => bail!("[topo] vr_metric = {other:?}: expected cosine or euclidean"),
    };
    let Some(out) = &args.out else {
        bail!("--out is required with trajectories inputs")
    };
    let mut rows = Vec::new();
    let mut features = Vec::new();
    let mut cocycle_rows = CocycleRows::default();
    let mut cycle_rows = CycleRows::default();
    for path in &args.inputs {
        let (run_id, net) = net_points(path)?;
        let points = &net.weights;
        let started = std::time::Instant::now();
        let output = params
            .compute(&RipsInput::PointCloud {
                points: points.view(),
                metric,
            })
            .with_context(|| format!("Rips persistence of {}", path.display()))?;
        tracing::info!(
            "VR of {run_id}: {} points, {} bars, threshold {:.4} in {:.2}s",
            points.nrows(),
            output.diagram.pairs.len(),
            output.threshold,
            started.elapsed().as_secs_f64()
        );
        for (name, value) in summarise("vr", &output.diagram, output.threshold, section.p) {
            features.push((run_id.clone(), "topology", name, value));
        }
        let source = format!("vr:{run_id}");
        if let Some(cocycles) = &output.cocycles {
            cocycle_rows.add(&source, &run_id, &output.diagram.pairs, cocycles, &net);
        }
        if let Some(cycles) = &output.cycles {
            cycle_rows.add(&source, &run_id, &output.diagram.pairs, cycles, &net);
        }
        rows.extend(
            output
                .diagram
                .pairs
                .iter()
                .map(|&p| (source.clone(), run_id.clone(), p)),
        );
    }
    if let Some(path) = &args.cocycles_out {
        let mut df = cocycle_rows.frame()?;
        let prov = Provenance::new(&COCYCLES, "topo vr")
            .with_params(section_json.clone())
            .with_inputs(&args.inputs)?;
        write_table(path, &mut df, &COCYCLES, &prov)?;
    }
    if let Some(path) = &args.cycles_out {
        let mut df = cycle_rows.frame()?;
        let prov = Provenance::new(&CYCLES, "topo vr")
            .with_params(section_json.clone())
            .with_inputs(&args.inputs)?;
        write_table(path, &mut df, &CYCLES, &prov)?;
    }
    write_outputs(
        out,
        args.features_out.as_deref(),
        &rows,
        &features,
        section_json,
        &args.inputs,
        "topo vr",
    )
}

/// Rows of the `cocycles` table: every vertex of every representative
/// cocycle, as the trajectory point it is.
#[derive(Default)]
struct CocycleRows {
    source: Vec<String>,
    run_id: Vec<String>,
    bar: Vec<i64>,
    dim: Vec<i64>,
    birth: Vec<f64>,
    death: Vec<f64>,
    jump_seed: Vec<i64>,
    step_size: Vec<f64>,
    epoch: Vec<i64>,
}

impl CocycleRows {
    fn add(
        &mut self,
        source: &str,
        run_id: &str,
        pairs: &[PersistencePair],
        cocycles: &[Vec<Vec<usize>>],
        net: &crate::trajectories::Points,
    ) {
        for (bar, (pair, simplices)) in pairs.iter().zip(cocycles).enumerate() {
            let mut vertices: Vec<usize> = simplices.iter().flatten().copied().collect();
            vertices.sort_unstable();
            vertices.dedup();
            for v in vertices {
                self.source.push(source.to_owned());
                self.run_id.push(run_id.to_owned());
                self.bar.push(i64::try_from(bar).unwrap_or(i64::MAX));
                self.dim.push(i64::try_from(pair.dim).unwrap_or(i64::MAX));
                self.birth.push(pair.birth);
                self.death.push(pair.death);
                self.jump_seed.push(net.jump_seed[v]);
                self.step_size.push(net.step_size[v]);
                self.epoch.push(net.epoch[v]);
            }
        }
    }

    fn frame(self) -> Result<DataFrame> {
        let n = self.source.len();
        Ok(DataFrame::new(
            n,
            vec![
                Column::new("source".into(), self.source),
                Column::new("run_id".into(), self.run_id),
                Column::new("bar".into(), self.bar),
                Column::new("dim".into(), self.dim),
                Column::new("birth".into(), self.birth),
                Column::new("death".into(), self.death),
                Column::new("jump_seed".into(), self.jump_seed),
                Column::new("step_size".into(), self.step_size),
                Column::new("epoch".into(), self.epoch),
            ],
        )?)
    }
}

/// Rows of the `cycles` table: every edge of every representative cycle,
/// both endpoints as trajectory points.
#[derive(Default)]
struct CycleRows {
    source: Vec<String>,
    run_id: Vec<String>,
    bar: Vec<i64>,
    birth: Vec<f64>,
    death: Vec<f64>,
    coefficient: Vec<i64>,
    jump_seed: [Vec<i64>; 2],
    step_size: [Vec<f64>; 2],
    epoch: [Vec<i64>; 2],
}

impl CycleRows {
    fn add(
        &mut self,
        source: &str,
        run_id: &str,
        pairs: &[PersistencePair],
        cycles: &[Vec<([usize; 2], i64)>],
        net: &crate::trajectories::Points,
    ) {
        for (bar, (pair, edges)) in pairs.iter().zip(cycles).enumerate() {
            for &(ends, coefficient) in edges {
                self.source.push(source.to_owned());
                self.run_id.push(run_id.to_owned());
                self.bar.push(i64::try_from(bar).unwrap_or(i64::MAX));
                self.birth.push(pair.birth);
                self.death.push(pair.death);
                self.coefficient.push(coefficient);
                for (side, &v) in ends.iter().enumerate() {
                    self.jump_seed[side].push(net.jump_seed[v]);
                    self.step_size[side].push(net.step_size[v]);
                    self.epoch[side].push(net.epoch[v]);
                }
            }
        }
    }

    fn frame(self) -> Result<DataFrame> {
        let n = self.source.len();
        let [seed_a, seed_b] = self.jump_seed;
        let [step_a, step_b] = self.step_size;
        let [epoch_a, epoch_b] = self.epoch;
        Ok(DataFrame::new(
            n,
            vec![
                Column::new("source".into(), self.source),
                Column::new("run_id".into(), self.run_id),
                Column::new("bar".into(), self.bar),
                Column::new("birth".into(), self.birth),
                Column::new("death".into(), self.death),
                Column::new("coefficient".into(), self.coefficient),
                Column::new("jump_seed_a".into(), seed_a),
                Column::new("step_size_a".into(), step_a),
                Column::new("epoch_a".into(), epoch_a),
                Column::new("jump_seed_b".into(), seed_b),
                Column::new("step_size_b".into(), step_b),
                Column::new("epoch_b".into(), epoch_b),
            ],
        )?)
    }
}

fn write_outputs(
    out: &Path,
    features_out: Option<&Path>,
    rows: &[(String, String, PersistencePair)],
    features: &[(String, &str, String, f64)],
    section_json: serde_json::Value,
    inputs: &[PathBuf],
    command: &str,
) -> Result<()> {
    let mut df = diagram_frame(rows)?;
    let prov = Provenance::new(&DIAGRAMS, command)
        .with_params(section_json.clone())
        .with_inputs(inputs)?;
    write_table(out, &mut df, &DIAGRAMS, &prov)?;
    if let Some(f) = features_out {
        let mut df = feature_frame(features)?;
        let prov = Provenance::new(&FEATURES, command)
            .with_params(section_json)
            .with_inputs(inputs)?;
        write_table(f, &mut df, &FEATURES, &prov)?;
    }
    Ok(())
}

/// Arguments of `basin topo sublevel`.
#[derive(Debug, Args)]
pub(crate) struct SublevelArgs {
    /// Params file with a `[topo]` section (missing keys take the defaults).
    #[arg(long)]
    params: Option<PathBuf>,
    /// The net's `potential_distances` file (from `basin phate --potential-out`).
    #[arg(long)]
    potential: PathBuf,
    /// The net's `trajectories` file (the loss values, same points and order).
    #[arg(long)]
    trajectories: PathBuf,
    /// Output `diagrams` Parquet file.
    #[arg(long)]
    out: PathBuf,
    /// Output `features` Parquet file with the total persistence of D0 and D1.
    #[arg(long)]
    features_out: Option<PathBuf>,
}

fn sublevel(args: &SublevelArgs) -> Result<()> {
    let (section, section_json) = topo_section(args.params.as_deref())?;
    let (pot, _) = read_table(&args.potential, &POTENTIAL_DISTANCES)?;
    let (traj, _) = read_table(&args.trajectories, &TRAJECTORIES)?;
    let key = |df: &DataFrame, p: &Path| -> Result<Vec<(String, i64, u64, i64)>> {
        let r = columns::strings(df, "run_id", p)?;
        let s = columns::i64s(df, "jump_seed", p)?;
        let st = columns::f64s(df, "step_size", p)?;
        let e = columns::i64s(df, "epoch", p)?;
        Ok((0..r.len())
            .map(|i| (r[i].clone(), s[i], st[i].to_bits(), e[i]))
            .collect())
    };
    let pot_keys = key(&pot, &args.potential)?;
    let traj_keys = key(&traj, &args.trajectories)?;
    let all_values = columns::f64s(&traj, &section.sublevel_loss, &args.trajectories)?;
    // The potential file may lack diverged points (PHATE leaves them out):
    // look every point's loss up by its key.
    let by_key: std::collections::HashMap<_, f64> = traj_keys.into_iter().zip(all_values).collect();
    let values: Vec<f64> = pot_keys
        .iter()
        .map(|k| {
            by_key.get(k).copied().with_context(|| {
                format!(
                    "{}: point {k:?} is not in {}",
                    args.potential.display(),
                    args.trajectories.display()
                )
            })
        })
        .collect::<Result<_>>()?;
    let run_id = pot_keys
        .first()
        .map(|k| k.0.clone())
        .context("empty potential-distance file")?;
    let rows = columns::f32_lists(&pot, "distances", &args.potential)?;
    let n = rows.len();
    let mut d = Array2::zeros((n, n));
    for (i, r) in rows.iter().enumerate() {
        if r.len() != n {
            bail!(
                "{}: row {i} has {} distances, expected {n}",
                args.potential.display(),
                r.len()
            );
        }
        for (j, &v) in r.iter().enumerate() {
            d[[i, j]] = f64::from(v);
        }
    }
    let complex = match section.sublevel_complex.as_str() {
        "graph" => Complex::Graph,
        "flag" => Complex::Flag,
        other => bail!("[topo] sublevel_complex = {other:?}: expected graph or flag"),
    };
    let connectivity = match section.sublevel_connectivity.as_str() {
        "bridged" => Connectivity::Bridged,
        "knn" => Connectivity::Knn,
        other => bail!("[topo] sublevel_connectivity = {other:?}: expected bridged or knn"),
    };
    let output = SublevelParams::new()
        .k(section.sublevel_k)
        .connectivity(connectivity)
        .complex(complex)
        .p(section.p)
        .compute(d.view(), &values)
        .with_context(|| format!("sublevel persistence of {run_id}"))?;
    tracing::info!(
        "sublevel {run_id}: {} bars, {} bridging edges, total persistence D0 {:.4e}, D1 {:.4e}",
        output.diagram.pairs.len(),
        output.bridges,
        output.total_persistence[0],
        output.total_persistence[1]
    );
    let source = format!("sublevel:{run_id}");
    let rows: Vec<_> = output
        .diagram
        .pairs
        .iter()
        .map(|&p| (source.clone(), run_id.clone(), p))
        .collect();
    let mut features = vec![
        (
            run_id.clone(),
            "topology",
            "sublevel_total_persistence_d0".to_owned(),
            output.total_persistence[0],
        ),
        (
            run_id.clone(),
            "topology",
            "sublevel_total_persistence_d1".to_owned(),
            output.total_persistence[1],
        ),
    ];
    for (name, value) in summarise("sublevel", &output.diagram, output.max_value, section.p) {
        if !name.contains("total_persistence") {
            features.push((run_id.clone(), "topology", name, value));
        }
    }
    let inputs = [args.potential.clone(), args.trajectories.clone()];
    write_outputs(
        &args.out,
        args.features_out.as_deref(),
        &rows,
        &features,
        section_json,
        &inputs,
        "topo sublevel",
    )
}

/// Which diagram distance.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum DiagramDistance {
    /// Bottleneck distance (exact).
    Bottleneck,
    /// p-Wasserstein distance (exact), with `--p`.
    Wasserstein,
}

/// Arguments of `basin topo distance`.
#[derive(Debug, Args)]
pub(crate) struct DistanceArgs {
    /// `diagrams` Parquet files; every source in them is compared with every other.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Homology dimension to compare.
    #[arg(long, default_value_t = 0)]
    dim: usize,
    /// The distance.
    #[arg(long, value_enum, default_value = "bottleneck")]
    metric: DiagramDistance,
    /// Order of the Wasserstein distance.
    #[arg(long, default_value_t = 1.0)]
    p: f64,
}

fn distances(args: &DistanceArgs) -> Result<()> {
    let mut diagrams: Vec<(String, Vec<PersistencePair>)> = Vec::new();
    for path in &args.inputs {
        let (df, _) = read_table(path, &DIAGRAMS)?;
        let sources = columns::strings(&df, "source", path)?;
        let dims = columns::i64s(&df, "dim", path)?;
        let births = columns::f64s(&df, "birth", path)?;
        let deaths = columns::f64s(&df, "death", path)?;
        for i in 0..sources.len() {
            if usize::try_from(dims[i]).ok() != Some(args.dim) {
                continue;
            }
            let pair = PersistencePair {
                dim: args.dim,
                birth: births[i],
                death: deaths[i],
            };
            match diagrams.iter_mut().find(|(s, _)| s == &sources[i]) {
                Some((_, v)) => v.push(pair),
                None => diagrams.push((sources[i].clone(), vec![pair])),
            }
        }
    }
    println!(
        "source_a\tsource_b\tdim\t{}",
        match args.metric {
            DiagramDistance::Bottleneck => "bottleneck".to_owned(),
            DiagramDistance::Wasserstein => format!("wasserstein_{}", args.p),
        }
    );
    for (i, (sa, a)) in diagrams.iter().enumerate() {
        for (sb, b) in &diagrams[i + 1..] {
            let d = match args.metric {
                DiagramDistance::Bottleneck => distance::bottleneck(a, b)?,
                DiagramDistance::Wasserstein => distance::wasserstein(a, b, args.p)?,
            };
            println!("{sa}\t{sb}\t{}\t{d}", args.dim);
        }
    }
    Ok(())
}

pub(crate) fn run(cmd: TopoCommand) -> Result<()> {
    match cmd {
        TopoCommand::Vr(a) => vr(&a),
        TopoCommand::Sublevel(a) => sublevel(&a),
        TopoCommand::Distance(a) => distances(&a),
    }
}
