//! From features to findings: correlations with the generalization measures
//! and cross-validated classification of the nets' hyper-parameter labels.
//!
//! Targets of the classifiers, one label per net:
//! * `test_loss_quintile` (or another quantile count): the nets ranked by test
//!   loss and cut into equal-count bins, as `pandas.qcut` — the paper's
//!   5-class task;
//! * every hyper-parameter of the grid that takes at least two values
//!   (`weight_decay`, `batch_size`, `augment`, `label_noise`, …).
//!
//! Feature set `scrambled` is `jr` with the labels permuted once per target
//! (seeded): what a classifier reaches by chance on vectors like J&R's.

use std::collections::BTreeMap;

use ndarray::Array2;

use crate::cv::{cross_validate_with, permutation_labels, CvConfig};
use crate::error::{CompareError, CompareResult};
use crate::features::{feature_matrix, feature_sets, FeatureMatrix};
use crate::inputs::{FeatureRow, Run};
use crate::learners::{Learner, LearnerParams};
use crate::stats::{correlate, stratified_correlation, BootstrapConfig, Correlation, CorrelationMethod, POOLED};

/// Settings of [`analyse`].
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisConfig {
    /// Cross-validation (folds, repeats, seed, standardisation).
    pub cv: CvConfig,
    /// Bootstrap of the correlations.
    pub bootstrap: BootstrapConfig,
    /// Learners to cross-validate.
    pub learners: Vec<Learner>,
    /// Their settings.
    pub learner_params: LearnerParams,
    /// Number of test-loss quantile classes (5 in the paper).
    pub quantiles: usize,
    /// Hyper-parameters to classify; empty = every column of the runs table
    /// with at least two distinct values.
    pub hyper_targets: Vec<String>,
    /// Feature sets with more features than this are not correlated feature
    /// by feature (the 1,000-long J&R vectors); their `-summary` sets are.
    pub max_correlated_features: usize,
    /// Seed of the label permutation of the `scrambled` baseline.
    pub scramble_seed: u64,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        Self {
            cv: CvConfig::default(),
            bootstrap: BootstrapConfig::default(),
            learners: vec![
                Learner::Logistic,
                Learner::Svm,
                Learner::DecisionTree,
                Learner::RandomForest,
                Learner::Knn { k: 3 },
                Learner::GaussianNb,
                Learner::Majority,
            ],
            learner_params: LearnerParams::default(),
            quantiles: 5,
            hyper_targets: Vec::new(),
            max_correlated_features: 64,
            scramble_seed: 0,
        }
    }
}

/// One correlation of a feature with a generalization measure.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationRow {
    /// Feature set.
    pub feature_set: String,
    /// Feature.
    pub feature: String,
    /// `test_loss`, `test_acc` or `gen_gap`.
    pub target: String,
    /// `pearson` or `spearman`.
    pub method: String,
    /// Coefficient.
    pub estimate: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Bootstrap interval, low end.
    pub ci_low: f64,
    /// Bootstrap interval, high end.
    pub ci_high: f64,
    /// Nets used.
    pub n: usize,
}

/// One cross-validated learner on one feature set and target.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifierRow {
    /// The label predicted.
    pub target: String,
    /// Feature set.
    pub feature_set: String,
    /// Learner name.
    pub method: String,
    /// Mean test-fold accuracy.
    pub mean: f64,
    /// Its standard deviation over folds and repeats.
    pub sd: f64,
    /// Folds per repeat.
    pub folds: usize,
    /// Repeats.
    pub repeats: usize,
    /// Nets classified.
    pub n_nets: usize,
    /// Distinct labels.
    pub n_classes: usize,
}

/// Everything [`analyse`] found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Analysis {
    /// Correlations, sorted by feature set, feature, target, method.
    pub correlations: Vec<CorrelationRow>,
    /// Classifier accuracies, sorted by target, feature set, learner.
    pub classifiers: Vec<ClassifierRow>,
    /// The labels of each target, per net (in the order of the runs).
    pub labels: BTreeMap<String, Vec<String>>,
}

/// A class label per net.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Name of the target.
    pub name: String,
    /// Label text per net.
    pub labels: Vec<String>,
    /// Label index per net (classes numbered in sorted label order).
    pub classes: Vec<usize>,
}

/// The labels to classify: test-loss quantiles and the grid's hyper-parameters.
///
/// # Errors
/// [`CompareError::Param`] for `quantiles` < 2.
pub fn targets(runs: &[Run], cfg: &AnalysisConfig) -> CompareResult<Vec<Target>> {
    if cfg.quantiles < 2 {
        return Err(CompareError::InvalidParameter { name: "quantiles", reason: format!("must be at least 2, got {}", cfg.quantiles) });
    }
    let mut out = Vec::new();
    let loss: Vec<f64> = runs.iter().map(|r| r.test_loss).collect();
    let bins = quantile_bins(&loss, cfg.quantiles);
    out.push(indexed(format!("test_loss_q{}", cfg.quantiles), bins.iter().map(|b| format!("Q{}", b + 1)).collect()));
    let names: Vec<String> = if cfg.hyper_targets.is_empty() {
        runs.first().map(|r| r.hyper.keys().cloned().collect()).unwrap_or_default()
    } else {
        cfg.hyper_targets.clone()
    };
    for name in names {
        let labels: Vec<String> = runs.iter().map(|r| r.hyper.get(&name).cloned().unwrap_or_else(|| "(none)".into())).collect();
        let target = indexed(name, labels);
        let distinct = target.classes.iter().max().map_or(0, |m| m + 1);
        if distinct >= 2 && distinct < runs.len() {
            out.push(target);
        }
    }
    Ok(out)
}

fn indexed(name: String, labels: Vec<String>) -> Target {
    let mut distinct = labels.clone();
    distinct.sort_by(|a, b| natural_cmp(a, b));
    distinct.dedup();
    let classes = labels.iter().map(|l| distinct.iter().position(|d| d == l).unwrap_or(0)).collect();
    Target { name, labels, classes }
}

/// Numbers compare as numbers ("16" < "512"), the rest as text.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    }
}

/// Equal-count bins of `values` by rank (ties broken by position), as
/// `pandas.qcut(values.rank(method="first"), q, labels=False)`.
#[must_use]
pub fn quantile_bins(values: &[f64], q: usize) -> Vec<usize> {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
    let mut bins = vec![0; n];
    if n < 2 {
        return bins;
    }
    for (rank, &i) in order.iter().enumerate() {
        // qcut's edges on the ranks 1..n are 1 + k(n−1)/q, bins closed on the
        // right: rank r (0-based here) falls in bin ceil(r·q/(n−1)) − 1.
        bins[i] = (rank * q).div_ceil(n - 1).saturating_sub(1).min(q - 1);
    }
    bins
}

/// Correlations and classifiers over every feature set of `features`.
///
/// # Errors
/// Mismatched inputs (a net without some feature set) or a failing learner.
pub fn analyse(runs: &[Run], features: &[FeatureRow], cfg: &AnalysisConfig) -> CompareResult<Analysis> {
    let run_ids: Vec<String> = runs.iter().map(|r| r.run_id.clone()).collect();
    let mut matrices = Vec::new();
    for set in feature_sets(features) {
        matrices.push(feature_matrix(features, &set, &run_ids)?);
    }
    let mut analysis = Analysis::default();
    let constant: usize = matrices
        .iter()
        .filter(|m| m.names.len() <= cfg.max_correlated_features)
        .map(|m| m.values.columns().into_iter().filter(|c| c.iter().all(|v| *v == c[0])).count())
        .sum();
    if constant > 0 {
        tracing::warn!("{constant} summary features are the same for every net; their correlations are undefined (NaN, as in scipy)");
    }
    for m in &matrices {
        if m.names.len() <= cfg.max_correlated_features {
            analysis.correlations.extend(correlations(m, runs, &cfg.bootstrap)?);
        }
    }
    let groups: Vec<usize> = (0..runs.len()).collect();
    for target in targets(runs, cfg)? {
        tracing::info!(target = %target.name, "cross-validating");
        let n_classes = target.classes.iter().max().map_or(0, |m| m + 1);
        let smallest = (0..n_classes).map(|c| target.classes.iter().filter(|&&k| k == c).count()).min().unwrap_or(0);
        if smallest < cfg.cv.folds.min(runs.len()) {
            tracing::warn!(target = %target.name, "the smallest class has {smallest} nets, fewer than the folds: some test folds miss it (as scikit-learn warns)");
        }
        let mut jobs: Vec<(&str, &Array2<f64>, Vec<usize>)> =
            matrices.iter().map(|m| (m.feature_set.as_str(), &m.values, target.classes.clone())).collect();
        if let Some(jr) = matrices.iter().find(|m| m.feature_set == "jr") {
            jobs.push(("scrambled", &jr.values, permutation_labels(&target.classes, cfg.scramble_seed)));
        }
        let folds = cfg.cv.folds.min(runs.len());
        let cv = CvConfig { folds, ..cfg.cv.clone() };
        for (set, x, y) in jobs {
            for learner in &cfg.learners {
                let score = cross_validate_with(x.view(), &y, &groups, learner, &cfg.learner_params, &cv)
                    .map_err(|e| CompareError::Analysis(format!("target `{}`, feature set `{set}`, {}: {e}", target.name, learner.name())))?;
                analysis.classifiers.push(ClassifierRow {
                    target: target.name.clone(),
                    feature_set: set.to_owned(),
                    method: learner.name(),
                    mean: score.mean,
                    sd: score.sd,
                    folds: score.folds,
                    repeats: score.repeats,
                    n_nets: runs.len(),
                    n_classes,
                });
            }
        }
        analysis.labels.insert(target.name.clone(), target.labels.clone());
    }
    Ok(analysis)
}

/// The generalization measures every feature is correlated with.
fn measures(runs: &[Run]) -> [(&'static str, Vec<f64>); 3] {
    [
        ("test_loss", runs.iter().map(|r| r.test_loss).collect()),
        ("test_acc", runs.iter().map(|r| r.test_acc).collect()),
        ("gen_gap", runs.iter().map(|r| r.gen_gap).collect()),
    ]
}

impl CorrelationRow {
    fn new(feature_set: &str, feature: &str, target: &str, method: CorrelationMethod, c: &Correlation) -> Self {
        Self {
            feature_set: feature_set.to_owned(),
            feature: feature.to_owned(),
            target: target.to_owned(),
            method: method.name().to_owned(),
            estimate: c.estimate,
            p_value: c.p_value,
            ci_low: c.ci_low,
            ci_high: c.ci_high,
            n: c.n,
        }
    }
}

fn correlations(m: &FeatureMatrix, runs: &[Run], boot: &BootstrapConfig) -> CompareResult<Vec<CorrelationRow>> {
    let mut rows = Vec::new();
    for (j, name) in m.names.iter().enumerate() {
        let x: Vec<f64> = m.values.column(j).to_vec();
        for (target, y) in &measures(runs) {
            for method in [CorrelationMethod::Pearson, CorrelationMethod::Spearman] {
                match correlate(&x, y, method, boot) {
                    Ok(c) => rows.push(CorrelationRow::new(&m.feature_set, name, target, method, &c)),
                    Err(e) => tracing::warn!(feature_set = %m.feature_set, feature = %name, %target, "correlation skipped: {e}"),
                }
            }
        }
    }
    Ok(rows)
}

/// One correlation of a feature with a generalization measure within one
/// stratum of the grid (nets sharing the values of the stratifying
/// hyper-parameters), or pooled within strata (see
/// [`crate::stats::stratified_correlation`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StratifiedRow {
    /// The correlation, as in the `correlations` table.
    pub correlation: CorrelationRow,
    /// The stratifying hyper-parameters, joined by ` × `.
    pub strata: String,
    /// The stratum (`label_noise=0.2, augment=false`) or `pooled within strata`.
    pub stratum: String,
}

/// The stratifying hyper-parameters among `keys` that the runs have, and
/// each net's stratum label (`key=value, key=value`, in `keys` order).
#[must_use]
pub fn stratum_labels(runs: &[Run], keys: &[String]) -> (Vec<String>, Vec<String>) {
    let present: Vec<String> = keys.iter().filter(|k| runs.iter().any(|r| r.hyper.contains_key(*k))).cloned().collect();
    let labels = runs
        .iter()
        .map(|r| present.iter().map(|k| format!("{k}={}", r.hyper.get(k).map_or("(none)", String::as_str))).collect::<Vec<_>>().join(", "))
        .collect();
    (present, labels)
}

/// Correlations of every summary feature (feature sets of at most
/// `cfg.max_correlated_features`) with test loss, test accuracy and the
/// generalization gap within each stratum of `keys`, and pooled within
/// strata. Empty when none of `keys` is a hyper-parameter of the runs.
///
/// # Errors
/// Mismatched inputs (a net without some feature set).
pub fn stratified_correlations(runs: &[Run], features: &[FeatureRow], keys: &[String], cfg: &AnalysisConfig) -> CompareResult<Vec<StratifiedRow>> {
    let (present, labels) = stratum_labels(runs, keys);
    if present.is_empty() {
        tracing::warn!(?keys, "none of the strata keys is a hyper-parameter of these runs: no within-strata correlations");
        return Ok(Vec::new());
    }
    let strata = present.join(" × ");
    let run_ids: Vec<String> = runs.iter().map(|r| r.run_id.clone()).collect();
    let measures = measures(runs);
    let mut rows = Vec::new();
    for set in feature_sets(features) {
        let m = feature_matrix(features, &set, &run_ids)?;
        if m.names.len() > cfg.max_correlated_features {
            continue;
        }
        for (j, name) in m.names.iter().enumerate() {
            // Infinite values (an essential class's persistence) are left out
            // like NaN by `stratified_correlation` itself.
            let x: Vec<f64> = m.values.column(j).to_vec();
            for (target, y) in &measures {
                for method in [CorrelationMethod::Pearson, CorrelationMethod::Spearman] {
                    let w = match stratified_correlation(&x, y, &labels, method, &cfg.bootstrap) {
                        Ok(w) => w,
                        Err(e) => {
                            tracing::warn!(feature_set = %set, feature = %name, %target, "within-strata correlation skipped: {e}");
                            continue;
                        }
                    };
                    let row = |stratum: &str, c: &Correlation| StratifiedRow {
                        correlation: CorrelationRow::new(&set, name, target, method, c),
                        strata: strata.clone(),
                        stratum: stratum.to_owned(),
                    };
                    if let Some(p) = &w.pooled {
                        rows.push(row(POOLED, p));
                    }
                    rows.extend(w.strata.iter().map(|(label, c)| row(label, c)));
                }
            }
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values from pandas 3.1.1:
    /// `pd.qcut(pd.Series(v).rank(method="first"), 5, labels=False).tolist()`;
    /// the 17 values are `np.random.default_rng(0).normal(size=17).round(6)`.
    #[test]
    fn quantile_bins_match_qcut_on_ranks() {
        let v = [0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8];
        assert_eq!(quantile_bins(&v, 5), vec![2, 0, 4, 1, 3, 0, 4]);
        let ten: Vec<f64> = (0..10).map(f64::from).collect();
        assert_eq!(quantile_bins(&ten, 5), vec![0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
        let seventeen = [
            0.12573, -0.132105, 0.640423, 0.1049, -0.535669, 0.361595, 1.304, 0.947081, -0.703735, -1.265421, -0.623274, 0.041326,
            -2.325031, -0.218792, -1.245911, -0.732267, -0.544259,
        ];
        assert_eq!(quantile_bins(&seventeen, 5), vec![3, 2, 4, 3, 2, 4, 4, 4, 1, 0, 1, 3, 0, 2, 0, 0, 1]);
    }

    #[test]
    fn labels_sort_numerically() {
        let t = indexed("bs".into(), vec!["512".into(), "16".into(), "32".into()]);
        assert_eq!(t.classes, vec![2, 0, 1]);
    }
}
