//! `basin compare features|analyse` and `basin report`: the comparison stage.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use basin_compare::analysis::{stratified_correlations, ClassifierRow, CorrelationRow, StratifiedRow};
use basin_compare::features::{jr_features, phate_features, probe_features};
use basin_compare::inputs::{self, FeatureRow};
use basin_compare::{analyse, AnalysisConfig, BootstrapConfig, CvConfig, Learner, LearnerParams, ReportConfig, ReportInputs};
use basin_store::columns::{f64s, i64s, strings};
use basin_store::polars::prelude::{Column, DataFrame};
use basin_store::schema::{COMPARISONS, CORRELATIONS, FEATURES, STRATIFIED_CORRELATIONS};
use basin_store::{read_table, write_table, Provenance};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};

use crate::params::Params;
use crate::progress;

/// The `[compare]` section of a params file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct CompareSection {
    /// Folds of the stratified k-fold (capped at the number of nets).
    pub folds: usize,
    /// Repeats of the k-fold with different seeds.
    pub repeats: usize,
    /// Seed of folds, learners, bootstrap and label scrambling.
    pub seed: u64,
    /// Test-loss quantile classes (5 in the paper).
    pub quantiles: usize,
    /// Bootstrap resamples of every correlation.
    pub bootstrap: usize,
    /// Confidence of the bootstrap intervals.
    pub confidence: f64,
    /// Learners, by name: logistic, svm, decision_tree, random_forest, knn<k>, gaussian_nb, majority.
    pub learners: Vec<String>,
    /// Hyper-parameters to classify; empty = every one with ≥ 2 values.
    pub hyper_targets: Vec<String>,
    /// L-BFGS iterations of logistic regression (scikit-learn's default 100).
    pub logistic_max_iterations: u64,
    /// L-BFGS gradient tolerance of logistic regression (scikit-learn's tol, 1e-4).
    pub logistic_tolerance: f64,
    /// Trees of the random forest.
    pub forest_trees: usize,
    /// Best and worst nets put side by side in the figures.
    pub side_by_side: usize,
    /// Hyper-parameters whose value combinations are the strata of the
    /// within-strata correlations (`compare analyse --out-stratified` and
    /// the report; absent ones are skipped).
    pub strata: Vec<String>,
    /// The report's title.
    pub title: String,
}

impl Default for CompareSection {
    fn default() -> Self {
        Self {
            folds: 10,
            repeats: 5,
            seed: 0,
            quantiles: 5,
            bootstrap: 2000,
            confidence: 0.95,
            learners: ["logistic", "svm", "decision_tree", "random_forest", "knn3", "gaussian_nb", "majority"].map(String::from).to_vec(),
            hyper_targets: Vec::new(),
            logistic_max_iterations: 100,
            logistic_tolerance: 1e-4,
            forest_trees: 100,
            side_by_side: 3,
            strata: vec!["label_noise".into(), "augment".into()],
            title: "basin: loss-landscape comparison of well- and poorly-generalizing nets".into(),
        }
    }
}

impl CompareSection {
    /// The bootstrap of every interval (correlations, within-strata, report).
    fn bootstrap_config(&self) -> BootstrapConfig {
        BootstrapConfig { resamples: self.bootstrap, confidence: self.confidence, seed: self.seed }
    }

    fn analysis_config(&self) -> Result<AnalysisConfig> {
        let learners = self
            .learners
            .iter()
            .map(|n| Learner::from_name(n).with_context(|| format!("[compare] learners: unknown learner `{n}` (logistic, svm, decision_tree, random_forest, knn<k>, gaussian_nb, majority)")))
            .collect::<Result<Vec<_>>>()?;
        if self.repeats == 0 || self.folds < 2 {
            bail!("[compare]: folds must be at least 2 and repeats at least 1 (got folds = {}, repeats = {})", self.folds, self.repeats);
        }
        Ok(AnalysisConfig {
            cv: CvConfig { folds: self.folds, repeats: self.repeats, seed: self.seed, standardize: true },
            bootstrap: self.bootstrap_config(),
            learners,
            learner_params: LearnerParams {
                logistic_max_iterations: self.logistic_max_iterations,
                logistic_gradient_tolerance: self.logistic_tolerance,
                forest_trees: self.forest_trees,
                ..LearnerParams::default()
            },
            quantiles: self.quantiles,
            hyper_targets: self.hyper_targets.clone(),
            scramble_seed: self.seed,
            ..AnalysisConfig::default()
        })
    }
}

fn compare_section(params: Option<&Path>) -> Result<(CompareSection, serde_json::Value)> {
    match params {
        Some(p) => {
            let params = Params::load(p)?;
            Ok((params.section_or_default("compare")?, params.section_json("compare")))
        }
        None => Ok((CompareSection::default(), serde_json::Value::Null)),
    }
}

/// `basin compare ...`
#[derive(Debug, Subcommand)]
pub(crate) enum CompareCommand {
    /// Gather features per net into one `features` table: the J&R loss and
    /// accuracy vectors (train split only), the naive and grid baselines,
    /// PHATE summaries, and the topology and landscape features.
    Features(FeaturesArgs),
    /// Correlate every summary feature with test loss, test accuracy and the
    /// generalization gap (bootstrap intervals), and cross-validate
    /// classifiers of the nets' labels on every feature set against the
    /// baselines.
    Analyse(AnalyseArgs),
}

/// Arguments of `basin compare features`.
#[derive(Debug, Args)]
pub(crate) struct FeaturesArgs {
    /// Output `features` Parquet file.
    #[arg(long)]
    out: PathBuf,
    /// Merged `trajectories` files, one per net (the `jr` features).
    #[arg(long, num_args = 1..)]
    trajectories: Vec<PathBuf>,
    /// Per-net `embeddings` files (the `phate` features).
    #[arg(long, num_args = 1..)]
    embeddings: Vec<PathBuf>,
    /// Per-net `potential_distances` files (path lengths in potential space).
    #[arg(long, num_args = 1..)]
    potential: Vec<PathBuf>,
    /// `probes` files, one per net and sampler (the `naive` and `grid` baselines).
    #[arg(long, num_args = 1..)]
    probes: Vec<PathBuf>,
    /// `features` files to pass through (topology, landscape).
    #[arg(long = "include", num_args = 1..)]
    include: Vec<PathBuf>,
}

/// Arguments of `basin compare analyse`.
#[derive(Debug, Args)]
pub(crate) struct AnalyseArgs {
    /// Params file with a `[compare]` section (missing keys take the defaults).
    #[arg(long)]
    params: Option<PathBuf>,
    /// The `runs` table (targets: test loss, accuracy, gap, hyper-parameters).
    #[arg(long)]
    runs: PathBuf,
    /// The `features` table from `basin compare features`.
    #[arg(long)]
    features: PathBuf,
    /// Output `comparisons` file (classifier accuracies).
    #[arg(long)]
    out_classifiers: PathBuf,
    /// Output `correlations` file.
    #[arg(long)]
    out_correlations: PathBuf,
    /// Output `stratified_correlations` file: every summary feature's
    /// correlations within each stratum of `[compare] strata` (label noise ×
    /// augmentation by default) and pooled within strata.
    #[arg(long)]
    out_stratified: Option<PathBuf>,
}

/// Arguments of `basin report`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// Params file with a `[compare]` section (title, nets side by side).
    #[arg(long)]
    params: Option<PathBuf>,
    /// Output folder: report.md, report.html and figures/.
    #[arg(long)]
    out_dir: PathBuf,
    /// The `runs` table.
    #[arg(long)]
    runs: PathBuf,
    /// The `features` table.
    #[arg(long)]
    features: Option<PathBuf>,
    /// The classifier `comparisons` table.
    #[arg(long)]
    classifiers: Option<PathBuf>,
    /// The `correlations` table.
    #[arg(long)]
    correlations: Option<PathBuf>,
    /// The `stratified_correlations` table (`compare analyse
    /// --out-stratified`): the report's within-strata findings.
    #[arg(long)]
    stratified: Option<PathBuf>,
    /// Merged `trajectories` files (jump curves, losses of embedded points).
    #[arg(long, num_args = 1..)]
    trajectories: Vec<PathBuf>,
    /// Per-net `embeddings` files.
    #[arg(long, num_args = 1..)]
    embeddings: Vec<PathBuf>,
    /// Per-net sublevel-set `diagrams` files.
    #[arg(long, num_args = 1..)]
    sublevel: Vec<PathBuf>,
    /// Per-net Rips `diagrams` files.
    #[arg(long, num_args = 1..)]
    rips: Vec<PathBuf>,
}

pub(crate) fn run(cmd: CompareCommand) -> Result<()> {
    match cmd {
        CompareCommand::Features(a) => features(&a),
        CompareCommand::Analyse(a) => analyse_cmd(&a),
    }
}

fn features(args: &FeaturesArgs) -> Result<()> {
    let mut rows: Vec<FeatureRow> = Vec::new();
    let total = args.trajectories.len() + args.embeddings.len() + args.probes.len() + args.include.len();
    let bar = progress::bar(total as u64, "features");
    for path in &args.trajectories {
        let (run_id, points) = inputs::read_curves(path)?;
        rows.extend(jr_features(&run_id, &points));
        bar.inc(1);
    }
    let mut potentials = BTreeMap::new();
    for path in &args.potential {
        let (run_id, pd) = inputs::read_potential(path)?;
        potentials.insert(run_id, pd);
    }
    for path in &args.embeddings {
        let (run_id, points) = inputs::read_embedding(path)?;
        rows.extend(phate_features(&run_id, &points, potentials.get(&run_id)));
        bar.inc(1);
    }
    for path in &args.probes {
        let (run_id, probes) = inputs::read_probes(path)?;
        rows.extend(probe_features(&run_id, &probes));
        bar.inc(1);
    }
    for path in &args.include {
        rows.extend(inputs::read_features(path)?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    if rows.is_empty() {
        bail!("no features: pass at least one of --trajectories, --embeddings, --probes, --include");
    }
    let mut df = DataFrame::new(
        rows.len(),
        vec![
            Column::new("run_id".into(), rows.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>()),
            Column::new("feature_set".into(), rows.iter().map(|r| r.feature_set.as_str()).collect::<Vec<_>>()),
            Column::new("feature".into(), rows.iter().map(|r| r.feature.as_str()).collect::<Vec<_>>()),
            Column::new("value".into(), rows.iter().map(|r| r.value).collect::<Vec<_>>()),
        ],
    )?;
    let all_inputs: Vec<&PathBuf> = args.trajectories.iter().chain(&args.embeddings).chain(&args.potential).chain(&args.probes).chain(&args.include).collect();
    let prov = Provenance::new(&FEATURES, "compare features").with_inputs(&all_inputs)?;
    write_table(&args.out, &mut df, &FEATURES, &prov)?;
    tracing::info!(rows = rows.len(), out = %args.out.display(), "wrote features");
    Ok(())
}

fn analyse_cmd(args: &AnalyseArgs) -> Result<()> {
    let (section, section_json) = compare_section(args.params.as_deref())?;
    let cfg = section.analysis_config()?;
    let runs = inputs::read_runs(&args.runs)?;
    let features = inputs::read_features(&args.features)?;
    let analysis = analyse(&runs, &features, &cfg)?;

    let c = &analysis.classifiers;
    let mut df = DataFrame::new(
        c.len(),
        vec![
            Column::new("target".into(), c.iter().map(|r| r.target.as_str()).collect::<Vec<_>>()),
            Column::new("feature_set".into(), c.iter().map(|r| r.feature_set.as_str()).collect::<Vec<_>>()),
            Column::new("method".into(), c.iter().map(|r| r.method.as_str()).collect::<Vec<_>>()),
            Column::new("mean".into(), c.iter().map(|r| r.mean).collect::<Vec<_>>()),
            Column::new("sd".into(), c.iter().map(|r| r.sd).collect::<Vec<_>>()),
            Column::new("folds".into(), c.iter().map(|r| r.folds as i64).collect::<Vec<_>>()),
            Column::new("repeats".into(), c.iter().map(|r| r.repeats as i64).collect::<Vec<_>>()),
            Column::new("n_nets".into(), c.iter().map(|r| r.n_nets as i64).collect::<Vec<_>>()),
            Column::new("n_classes".into(), c.iter().map(|r| r.n_classes as i64).collect::<Vec<_>>()),
        ],
    )?;
    let inputs_used = [&args.runs, &args.features];
    let seeds = serde_json::json!({ "compare": section.seed });
    let prov = Provenance::new(&COMPARISONS, "compare analyse").with_params(section_json.clone()).with_seeds(seeds.clone()).with_inputs(&inputs_used)?;
    write_table(&args.out_classifiers, &mut df, &COMPARISONS, &prov)?;

    let k = &analysis.correlations;
    let mut df = DataFrame::new(k.len(), correlation_columns(&k.iter().collect::<Vec<_>>()))?;
    let prov = Provenance::new(&CORRELATIONS, "compare analyse").with_params(section_json.clone()).with_seeds(seeds.clone()).with_inputs(&inputs_used)?;
    write_table(&args.out_correlations, &mut df, &CORRELATIONS, &prov)?;
    tracing::info!(classifiers = c.len(), correlations = k.len(), "wrote comparisons");
    if let Some(path) = &args.out_stratified {
        let st = stratified_correlations(&runs, &features, &section.strata, &cfg)?;
        let mut columns = correlation_columns(&st.iter().map(|r| &r.correlation).collect::<Vec<_>>());
        // The strata columns stand after `method`, as the schema lists them.
        columns.insert(4, Column::new("strata".into(), st.iter().map(|r| r.strata.as_str()).collect::<Vec<_>>()));
        columns.insert(5, Column::new("stratum".into(), st.iter().map(|r| r.stratum.as_str()).collect::<Vec<_>>()));
        let mut df = DataFrame::new(st.len(), columns)?;
        let prov = Provenance::new(&STRATIFIED_CORRELATIONS, "compare analyse")
            .with_params(section_json)
            .with_seeds(seeds)
            .with_inputs(&inputs_used)?;
        write_table(path, &mut df, &STRATIFIED_CORRELATIONS, &prov)?;
        tracing::info!(rows = st.len(), "wrote within-strata correlations");
    }
    Ok(())
}

/// The columns of the `correlations` schema for `rows`, in its order.
fn correlation_columns(rows: &[&CorrelationRow]) -> Vec<Column> {
    let text = |name: &str, f: fn(&CorrelationRow) -> &str| Column::new(name.into(), rows.iter().map(|r| f(r)).collect::<Vec<_>>());
    let float = |name: &str, f: fn(&CorrelationRow) -> f64| Column::new(name.into(), rows.iter().map(|r| f(r)).collect::<Vec<_>>());
    vec![
        text("feature_set", |r| &r.feature_set),
        text("feature", |r| &r.feature),
        text("target", |r| &r.target),
        text("method", |r| &r.method),
        float("estimate", |r| r.estimate),
        float("p_value", |r| r.p_value),
        float("ci_low", |r| r.ci_low),
        float("ci_high", |r| r.ci_high),
        Column::new("n".into(), rows.iter().map(|r| r.n as i64).collect::<Vec<_>>()),
    ]
}

fn read_classifiers(path: &Path) -> Result<Vec<ClassifierRow>> {
    let (df, _) = read_table(path, &COMPARISONS)?;
    let (t, s, m) = (strings(&df, "target", path)?, strings(&df, "feature_set", path)?, strings(&df, "method", path)?);
    let (mean, sd) = (f64s(&df, "mean", path)?, f64s(&df, "sd", path)?);
    let (folds, repeats, n, k) = (i64s(&df, "folds", path)?, i64s(&df, "repeats", path)?, i64s(&df, "n_nets", path)?, i64s(&df, "n_classes", path)?);
    Ok((0..df.height())
        .map(|i| ClassifierRow {
            target: t[i].clone(),
            feature_set: s[i].clone(),
            method: m[i].clone(),
            mean: mean[i],
            sd: sd[i],
            folds: folds[i] as usize,
            repeats: repeats[i] as usize,
            n_nets: n[i] as usize,
            n_classes: k[i] as usize,
        })
        .collect())
}

fn read_correlations(path: &Path) -> Result<Vec<CorrelationRow>> {
    correlation_rows(&read_table(path, &CORRELATIONS)?.0, path)
}

/// The rows of a `stratified_correlations` table.
fn read_stratified(path: &Path) -> Result<Vec<StratifiedRow>> {
    let (df, _) = read_table(path, &STRATIFIED_CORRELATIONS)?;
    let rows = correlation_rows(&df, path)?;
    let (strata, stratum) = (strings(&df, "strata", path)?, strings(&df, "stratum", path)?);
    Ok(rows
        .into_iter()
        .zip(strata.into_iter().zip(stratum))
        .map(|(correlation, (strata, stratum))| StratifiedRow { correlation, strata, stratum })
        .collect())
}

/// The correlation columns shared by `correlations` and `stratified_correlations`.
fn correlation_rows(df: &DataFrame, path: &Path) -> Result<Vec<CorrelationRow>> {
    let (s, f, t, m) = (strings(df, "feature_set", path)?, strings(df, "feature", path)?, strings(df, "target", path)?, strings(df, "method", path)?);
    let (e, p, lo, hi, n) = (f64s(df, "estimate", path)?, f64s(df, "p_value", path)?, f64s(df, "ci_low", path)?, f64s(df, "ci_high", path)?, i64s(df, "n", path)?);
    Ok((0..df.height())
        .map(|i| CorrelationRow {
            feature_set: s[i].clone(),
            feature: f[i].clone(),
            target: t[i].clone(),
            method: m[i].clone(),
            estimate: e[i],
            p_value: p[i],
            ci_low: lo[i],
            ci_high: hi[i],
            n: n[i] as usize,
        })
        .collect())
}

pub(crate) fn report(args: &ReportArgs) -> Result<()> {
    let (section, _) = compare_section(args.params.as_deref())?;
    let mut inputs_all = ReportInputs { title: section.title.clone(), runs: inputs::read_runs(&args.runs)?, ..ReportInputs::default() };
    if let Some(p) = &args.features {
        inputs_all.features = inputs::read_features(p)?;
    }
    if let Some(p) = &args.classifiers {
        inputs_all.classifiers = read_classifiers(p)?;
    }
    if let Some(p) = &args.correlations {
        inputs_all.correlations = read_correlations(p)?;
    }
    match &args.stratified {
        Some(p) => inputs_all.stratified = read_stratified(p)?,
        None => tracing::info!("no --stratified table: the report has no within-strata findings"),
    }
    for p in &args.trajectories {
        let (id, c) = inputs::read_curves(p)?;
        inputs_all.curves.insert(id, c);
    }
    for p in &args.embeddings {
        let (id, e) = inputs::read_embedding(p)?;
        inputs_all.embeddings.insert(id, e);
    }
    for p in &args.sublevel {
        let (id, d) = inputs::read_diagram(p)?;
        inputs_all.sublevel.insert(id, d);
    }
    for p in &args.rips {
        let (id, d) = inputs::read_diagram(p)?;
        inputs_all.rips.insert(id, d);
    }
    let files = basin_compare::write_report(&inputs_all, &args.out_dir, &ReportConfig { side_by_side: section.side_by_side })?;
    tracing::info!(markdown = %files.markdown.display(), html = %files.html.display(), figures = files.figures.len(), "wrote the report");
    Ok(())
}
