//! The findings the report states, computed once for the Markdown and HTML.

use super::{feature_mean, good_and_poor, ReportConfig, ReportInputs, PAPER_SETS};
use crate::analysis::{ClassifierRow, CorrelationRow};
use crate::stats::{Correlation, CorrelationMethod, StratifiedCorrelation, MIN_STRATUM, POOLED};

/// The paper's 5-class test-loss-quintile accuracies (Horoi et al. 2022,
/// Table 1): J&R, naive, grid, scrambled, in percent.
pub const PAPER_QUINTILE_ACCURACY: [f64; 4] = [39.2, 31.8, 30.1, 20.7];

/// Headline accuracy of a feature set on a target: the mean over every
/// learner except the majority baseline of their cross-validated accuracy,
/// and the mean of their standard deviations. Averaging over learners keeps
/// the headline from resting on whichever learner happens to do best.
#[must_use]
pub fn headline_accuracy(classifiers: &[ClassifierRow], target: &str, feature_set: &str) -> Option<(f64, f64)> {
    let rows: Vec<&ClassifierRow> = classifiers.iter().filter(|c| c.target == target && c.feature_set == feature_set && c.method != "majority").collect();
    if rows.is_empty() {
        return None;
    }
    let n = rows.len() as f64;
    Some((rows.iter().map(|c| c.mean).sum::<f64>() / n, rows.iter().map(|c| c.sd).sum::<f64>() / n))
}

/// Which of three readings a correlation's bootstrap interval supports:
/// wholly above 0, wholly below 0, or straddling it.
fn interval_reading<'a>(c: &CorrelationRow, positive: &'a str, negative: &'a str, neither: &'a str) -> &'a str {
    if c.ci_low > 0.0 {
        positive
    } else if c.ci_high < 0.0 {
        negative
    } else {
        neither
    }
}

/// One target's J&R-vs-baselines line.
#[derive(Debug, Clone, PartialEq)]
pub struct Headline {
    /// The target.
    pub target: String,
    /// (feature set, mean accuracy, mean sd) for each of the paper's sets present.
    pub sets: Vec<(String, f64, f64)>,
    /// The sets ordered by accuracy, best first.
    pub order: Vec<String>,
    /// Majority-class accuracy.
    pub chance: f64,
}

/// Everything the report states.
#[derive(Debug, Clone, PartialEq)]
pub struct Findings {
    /// The best nets by test loss.
    pub good: Vec<String>,
    /// The worst nets by test loss.
    pub poor: Vec<String>,
    /// One line per classification target.
    pub headlines: Vec<Headline>,
    /// Spearman correlations of the total-persistence features with test loss.
    pub persistence: Vec<CorrelationRow>,
    /// The strongest Spearman correlations with test loss over all features.
    pub strongest: Vec<CorrelationRow>,
    /// The hyper-parameters whose value combinations are the strata.
    pub strata_keys: Vec<String>,
    /// Spearman correlations with test loss within strata, for the
    /// total-persistence and curvature features: `(feature set, feature, result)`.
    pub within_strata: Vec<(String, String, StratifiedCorrelation)>,
    /// (feature, mean over good nets, mean over poor nets) of the PHATE summaries.
    pub embedding_contrast: Vec<(String, f64, f64)>,
    /// The findings as sentences, with their numbers.
    pub sentences: Vec<String>,
}

impl Findings {
    /// Computes the findings.
    #[must_use]
    pub fn new(inputs: &ReportInputs, cfg: &ReportConfig) -> Self {
        let (good, poor) = good_and_poor(&inputs.runs, cfg.side_by_side);
        let mut targets: Vec<String> = inputs.classifiers.iter().map(|c| c.target.clone()).collect();
        targets.sort();
        targets.dedup();
        // The paper's task first.
        targets.sort_by_key(|t| !t.starts_with("test_loss_q"));
        let headlines: Vec<Headline> = targets
            .iter()
            .map(|t| {
                let sets: Vec<(String, f64, f64)> =
                    PAPER_SETS.iter().filter_map(|s| headline_accuracy(&inputs.classifiers, t, s).map(|(m, sd)| ((*s).to_owned(), m, sd))).collect();
                let mut order = sets.clone();
                order.sort_by(|a, b| b.1.total_cmp(&a.1));
                let chance = inputs.classifiers.iter().find(|c| &c.target == t && c.method == "majority" && c.feature_set == "jr").map_or(f64::NAN, |c| c.mean);
                Headline { target: t.clone(), sets, order: order.into_iter().map(|o| o.0).collect(), chance }
            })
            .collect();
        let mut persistence: Vec<CorrelationRow> = inputs
            .correlations
            .iter()
            .filter(|c| c.feature.contains("total_persistence") && c.target == "test_loss" && c.method == "spearman")
            .cloned()
            .collect();
        persistence.sort_by(|a, b| a.feature.cmp(&b.feature));
        let mut strongest: Vec<CorrelationRow> =
            inputs.correlations.iter().filter(|c| c.target == "test_loss" && c.method == "spearman" && c.estimate.is_finite()).cloned().collect();
        strongest.sort_by(|a, b| b.estimate.abs().total_cmp(&a.estimate.abs()).then(a.feature.cmp(&b.feature)));
        strongest.truncate(10);
        let embedding_contrast = ["travel", "spread", "end_dispersion", "jump_distance", "potential_path_length"]
            .iter()
            .map(|f| ((*f).to_owned(), feature_mean(inputs, "phate", f, &good), feature_mean(inputs, "phate", f, &poor)))
            .filter(|(_, g, p)| g.is_finite() && p.is_finite())
            .collect();
        let (strata_keys, within_strata) = within_strata(inputs, &persistence);
        let mut findings = Self {
            good: good.iter().map(|r| r.run_id.clone()).collect(),
            poor: poor.iter().map(|r| r.run_id.clone()).collect(),
            headlines,
            persistence,
            strongest,
            strata_keys,
            within_strata,
            embedding_contrast,
            sentences: Vec::new(),
        };
        findings.sentences = findings.state(inputs);
        findings
    }

    fn state(&self, inputs: &ReportInputs) -> Vec<String> {
        let mut s = Vec::new();
        let n = inputs.runs.len();
        let best = inputs.runs.iter().min_by(|a, b| a.test_loss.total_cmp(&b.test_loss));
        let worst = inputs.runs.iter().max_by(|a, b| a.test_loss.total_cmp(&b.test_loss));
        if let (Some(b), Some(w)) = (best, worst) {
            s.push(format!(
                "{n} nets. Best generalizing: `{}` (test loss {:.3}, test accuracy {:.1} %); worst: `{}` (test loss {:.3}, test accuracy {:.1} %, train accuracy {:.1} %).",
                b.run_id,
                b.test_loss,
                100.0 * b.test_acc,
                w.run_id,
                w.test_loss,
                100.0 * w.test_acc,
                100.0 * w.train_acc
            ));
        }
        if let Some(h) = self.headlines.iter().find(|h| h.target.starts_with("test_loss_q")) {
            let listed: Vec<String> = h.sets.iter().map(|(set, m, sd)| format!("{set} {:.1} ± {:.1} %", 100.0 * m, 100.0 * sd)).collect();
            let paper_order = h.sets.len() == 4 && h.order.iter().map(String::as_str).eq(PAPER_SETS.iter().copied());
            let jr_beats_all = h.order.first().map(String::as_str) == Some("jr");
            let verdict = if h.sets.len() < 4 {
                format!("only {} of the paper's four feature sets are available here, ordered {}", h.sets.len(), h.order.join(" > "))
            } else if paper_order {
                "the paper's order J&R > naive > grid > scrambled is reproduced".to_owned()
            } else if jr_beats_all {
                format!("J&R is best, as in the paper, but the full order here is {}", h.order.join(" > "))
            } else {
                format!("the paper's order is NOT reproduced: here {}", h.order.join(" > "))
            };
            s.push(format!(
                "Predicting the test-loss quantile ({}; majority-class baseline {:.1} % under the same folds), averaged over the learners: {}. The paper found J&R {:.1} / naive {:.1} / grid {:.1} / scrambled {:.1} % with 5 classes: {verdict}. With {n} nets the folds are small, so differences within about one sd are not evidence either way.",
                h.target,
                100.0 * h.chance,
                listed.join(", "),
                PAPER_QUINTILE_ACCURACY[0],
                PAPER_QUINTILE_ACCURACY[1],
                PAPER_QUINTILE_ACCURACY[2],
                PAPER_QUINTILE_ACCURACY[3],
            ));
        }
        for c in &self.persistence {
            let direction = interval_reading(
                c,
                "higher total persistence goes with higher test loss, as the paper found",
                "higher total persistence goes with LOWER test loss, the opposite of the paper",
                "the bootstrap interval includes 0: no clear relation at this scale",
            );
            s.push(format!(
                "Spearman({}, test loss) = {:.2} (95 % bootstrap CI [{:.2}, {:.2}], p = {:.3}, n = {}): {direction}.",
                c.feature, c.estimate, c.ci_low, c.ci_high, c.p_value, c.n
            ));
        }
        for (_, feature, w) in &self.within_strata {
            let Some(p) = &w.pooled else { continue };
            let pooled: Vec<&(String, crate::stats::Correlation)> = w.strata.iter().filter(|(_, c)| c.estimate.is_finite()).collect();
            let mut cells: Vec<String> = pooled.iter().map(|(label, c)| format!("{label}: {:.2} (n = {})", c.estimate, c.n)).collect();
            let undefined = w.strata.len() - pooled.len();
            if undefined > 0 {
                cells.push(format!("{undefined} more with a constant feature or loss, not pooled"));
            }
            let reading = if p.ci_low.is_nan() {
                "no interval (every resample had a constant stratum)"
            } else if p.ci_low > 0.0 {
                "positive within strata"
            } else if p.ci_high < 0.0 {
                "negative within strata"
            } else {
                "the interval includes 0"
            };
            s.push(format!(
                "Within strata of {} ({} strata with at least {MIN_STRATUM} nets): Spearman({feature}, test loss) pooled {:.2} (n-weighted mean, stratified-bootstrap CI [{:.2}, {:.2}], within-strata permutation p {}, n = {}): {reading}. Per stratum: {}.",
                self.strata_keys.join(" × "),
                pooled.len(),
                p.estimate,
                p.ci_low,
                p.ci_high,
                if p.p_value < 0.001 { "< 0.001".to_owned() } else { format!("= {:.3}", p.p_value) },
                p.n,
                cells.join("; ")
            ));
        }
        if !self.embedding_contrast.is_empty() {
            let parts: Vec<String> = self
                .embedding_contrast
                .iter()
                .map(|(f, g, p)| format!("{f} {g:.3} vs {p:.3} ({})", if p > g { "poor larger" } else { "good larger" }))
                .collect();
            s.push(format!(
                "Embeddings, best nets ({}) vs worst ({}), means of the PHATE summaries: {}.",
                self.good.join(", "),
                self.poor.join(", "),
                parts.join("; ")
            ));
        }
        // Sharpness (Keskar et al.; Li et al.): the landscape stage's curvature at θo.
        for feature in ["top_eigenvalue", "trace"] {
            if let Some(c) = inputs
                .correlations
                .iter()
                .find(|c| c.feature_set == "landscape" && c.feature == feature && c.target == "test_loss" && c.method == "spearman")
            {
                let reading = interval_reading(c, "sharper minima go with higher test loss", "sharper minima go with LOWER test loss", "the interval includes 0");
                s.push(format!(
                    "Hessian {feature} at the minimum: Spearman with test loss {:.2} (CI [{:.2}, {:.2}], n = {}): {reading}.",
                    c.estimate, c.ci_low, c.ci_high, c.n
                ));
            }
        }
        if let Some(top) = self.strongest.first() {
            s.push(format!(
                "Strongest rank correlation with test loss among all summary features: {}/{} (ρ = {:.2}, CI [{:.2}, {:.2}]).",
                top.feature_set, top.feature, top.estimate, top.ci_low, top.ci_high
            ));
        }
        s
    }
}

/// The stratifying hyper-parameters and the within-strata Spearman
/// correlations with test loss of the total persistence features and of the
/// Hessian's top eigenvalue and trace, as `compare analyse` wrote them to
/// the `stratified_correlations` table (read, not recomputed, so the report
/// states the table's numbers).
fn within_strata(inputs: &ReportInputs, persistence: &[CorrelationRow]) -> (Vec<String>, Vec<(String, String, StratifiedCorrelation)>) {
    let Some(first) = inputs.stratified.first() else { return (Vec::new(), Vec::new()) };
    let keys: Vec<String> = first.strata.split(" × ").map(str::to_owned).collect();
    let mut wanted: Vec<(String, String)> = persistence.iter().map(|c| (c.feature_set.clone(), c.feature.clone())).collect();
    wanted.extend(["top_eigenvalue", "trace"].iter().map(|f| ("landscape".to_owned(), (*f).to_owned())));
    let mut out = Vec::new();
    for (set, feature) in wanted {
        let mut w = StratifiedCorrelation { strata: Vec::new(), pooled: None };
        for row in inputs.stratified.iter().filter(|r| {
            let c = &r.correlation;
            c.feature_set == set && c.feature == feature && c.target == "test_loss" && c.method == "spearman"
        }) {
            let c = &row.correlation;
            let corr = Correlation {
                method: CorrelationMethod::Spearman,
                estimate: c.estimate,
                p_value: c.p_value,
                ci_low: c.ci_low,
                ci_high: c.ci_high,
                n: c.n,
                dropped_nan: 0,
                undefined_resamples: 0,
            };
            if row.stratum == POOLED {
                w.pooled = Some(corr);
            } else {
                w.strata.push((row.stratum.clone(), corr));
            }
        }
        if w.pooled.is_some() {
            out.push((set, feature, w));
        }
    }
    (keys, out)
}
