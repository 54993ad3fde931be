//! The report: figures, a Markdown file and one self-contained HTML page.
//!
//! [`write_report`] draws every figure into `<out>/figures/` (PNG and SVG),
//! writes `<out>/report.md` (figures linked as PNG) and `<out>/report.html`
//! (figures inlined as SVG, plus an explorer over embedded data: hovering a
//! point of an embedding shows its run, seed, step, epoch and losses;
//! clicking a net's row shows its jump curves). Findings are stated with their
//! numbers whichever way they go.

mod findings;
mod html;
mod markdown;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::analysis::{ClassifierRow, CorrelationRow, StratifiedRow};
use crate::error::{CompareError, CompareResult};
use crate::features::{mean, step_millis};
use crate::inputs::{CurvePoint, EmbeddedPoint, FeatureRow, Pair, Run};
use crate::plots::{render, AccuracyBars, Barcodes, ColourBy, Diagrams, EmbeddingPanel, EmbeddingPanels, FeatureScatter, JumpCurves, Rendered};

pub use findings::{headline_accuracy, Findings, Headline, PAPER_QUINTILE_ACCURACY};

/// Everything the report is made of, read from the pipeline's outputs.
#[derive(Debug, Clone, Default)]
pub struct ReportInputs {
    /// Study title (e.g. the pipeline's name).
    pub title: String,
    /// The nets.
    pub runs: Vec<Run>,
    /// Jump-and-retrain losses per net.
    pub curves: BTreeMap<String, Vec<CurvePoint>>,
    /// Per-net PHATE embeddings.
    pub embeddings: BTreeMap<String, Vec<EmbeddedPoint>>,
    /// Sublevel-set diagrams of the loss per net.
    pub sublevel: BTreeMap<String, Vec<Pair>>,
    /// Rips diagrams of the weights per net.
    pub rips: BTreeMap<String, Vec<Pair>>,
    /// Features (long format).
    pub features: Vec<FeatureRow>,
    /// Correlations.
    pub correlations: Vec<CorrelationRow>,
    /// Correlations within strata of the grid (the `stratified_correlations`
    /// table); empty = no within-strata findings.
    pub stratified: Vec<StratifiedRow>,
    /// Classifier accuracies.
    pub classifiers: Vec<ClassifierRow>,
}

/// Settings of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportConfig {
    /// How many of the best and of the worst nets (by test loss) the figures
    /// put side by side.
    pub side_by_side: usize,
}

impl Default for ReportConfig {
    fn default() -> Self {
        Self { side_by_side: 3 }
    }
}

/// The files written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFiles {
    /// `report.md`.
    pub markdown: PathBuf,
    /// `report.html`.
    pub html: PathBuf,
    /// Every figure.
    pub figures: Vec<PathBuf>,
}

/// A figure as the report refers to it.
#[derive(Debug, Clone)]
pub(crate) struct ReportFigure {
    pub(crate) id: String,
    pub(crate) caption: String,
    pub(crate) rendered: Rendered,
}

/// The nets ranked by test loss: `(good, poor)`, `k` each (fewer when there
/// are fewer than 2k nets), best first and worst last.
#[must_use]
pub fn good_and_poor(runs: &[Run], k: usize) -> (Vec<&Run>, Vec<&Run>) {
    let mut ranked: Vec<&Run> = runs.iter().collect();
    ranked.sort_by(|a, b| a.test_loss.total_cmp(&b.test_loss).then(a.run_id.cmp(&b.run_id)));
    let k = k.min(ranked.len() / 2).max(1).min(ranked.len());
    let poor = ranked[ranked.len() - k..].to_vec();
    (ranked[..k].to_vec(), poor)
}

/// Writes the figures, `report.md` and `report.html` into `out_dir`.
///
/// # Errors
/// Drawing or I/O errors naming the file; [`CompareError::Mismatch`] when no
/// run is given.
pub fn write_report(inputs: &ReportInputs, out_dir: &Path, cfg: &ReportConfig) -> CompareResult<ReportFiles> {
    if inputs.runs.is_empty() {
        return Err(CompareError::Mismatch("the report needs at least one net".into()));
    }
    std::fs::create_dir_all(out_dir).map_err(|source| CompareError::Io { path: out_dir.to_path_buf(), source })?;
    let figures_dir = out_dir.join("figures");
    let figures = draw_figures(inputs, &figures_dir, cfg)?;
    let findings = Findings::new(inputs, cfg);
    let markdown = out_dir.join("report.md");
    crate::plots::write_atomically(&markdown, markdown::render(inputs, &findings, &figures).as_bytes())?;
    let html_path = out_dir.join("report.html");
    crate::plots::write_atomically(&html_path, html::render(inputs, &findings, &figures)?.as_bytes())?;
    let mut files: Vec<PathBuf> = figures.iter().flat_map(|f| [f.rendered.png.clone(), f.rendered.svg.clone()]).collect();
    files.sort();
    Ok(ReportFiles { markdown, html: html_path, figures: files })
}

fn net_title(run: &Run) -> String {
    format!("{} (test loss {:.3})", run.run_id, run.test_loss)
}

fn draw_figures(inputs: &ReportInputs, dir: &Path, cfg: &ReportConfig) -> CompareResult<Vec<ReportFigure>> {
    let (good, poor) = good_and_poor(&inputs.runs, cfg.side_by_side);
    let shown: Vec<&Run> = good.iter().chain(poor.iter()).copied().collect();
    let columns = good.len().max(1);
    let mut out = Vec::new();
    let mut add = |id: &str, caption: String, rendered: Rendered| out.push(ReportFigure { id: id.to_owned(), caption, rendered });

    // PHATE embeddings, good nets on the first row and poor nets on the second.
    let have_embeddings = shown.iter().any(|r| inputs.embeddings.contains_key(&r.run_id));
    if have_embeddings {
        for colour_by in [ColourBy::Epoch, ColourBy::StepSize, ColourBy::Loss] {
            let panels = shown
                .iter()
                .map(|run| EmbeddingPanel { title: net_title(run), points: embedding_points(inputs, &run.run_id, colour_by) })
                .collect();
            let fig = EmbeddingPanels { title: "PHATE of J&R trajectories, best nets (top) vs worst (bottom)".into(), colour_by, panels, columns };
            let id = format!("embedding-{}", colour_by.name().replace(' ', "-"));
            add(
                &id,
                format!("Per-net PHATE embeddings coloured by {}; top row: the {} nets with the lowest test loss, bottom row: the {} with the highest.", colour_by.name(), good.len(), poor.len()),
                render(&fig, dir, &id)?,
            );
        }
    }

    if shown.iter().any(|r| inputs.curves.contains_key(&r.run_id)) {
        let panels = shown.iter().map(|run| (net_title(run), curve_lines(inputs.curves.get(&run.run_id).map_or(&[][..], Vec::as_slice)))).collect();
        let fig = JumpCurves { title: "Training loss while retraining after each jump".into(), panels, columns, y_label: "train loss".into() };
        add("jump-curves", "Training loss against retraining epoch, one line per jump, coloured by step size; best nets top, worst bottom.".into(), render(&fig, dir, "jump-curves")?);
    }

    for (id, name, diagrams) in [("sublevel", "Sublevel-set persistence of the training loss on the PHATE potential kNN graph", &inputs.sublevel), ("rips", "Vietoris–Rips persistence of the weight trajectories", &inputs.rips)] {
        if !shown.iter().any(|r| diagrams.contains_key(&r.run_id)) {
            continue;
        }
        let panels: Vec<(String, Vec<(i64, f64, f64)>)> = shown
            .iter()
            .map(|run| (net_title(run), diagrams.get(&run.run_id).map(|d| d.iter().map(|p| (p.dim, p.birth, p.death)).collect()).unwrap_or_default()))
            .collect();
        let fig = Diagrams { title: name.into(), panels: panels.clone(), columns };
        add(&format!("diagrams-{id}"), format!("{name}: persistence diagrams, best nets top, worst bottom."), render(&fig, dir, &format!("diagrams-{id}"))?);
        let fig = Barcodes { title: name.into(), panels, columns, max_bars: 40 };
        add(&format!("barcodes-{id}"), format!("{name}: barcodes (longest bars), best nets top, worst bottom."), render(&fig, dir, &format!("barcodes-{id}"))?);
    }

    for feature in ["sublevel_total_persistence_d0", "sublevel_total_persistence_d1", "vr_total_persistence_d1"] {
        if let Some(fig) = persistence_scatter(inputs, feature) {
            let id = format!("scatter-{feature}");
            add(&id, format!("{feature} against the test loss, one point per net."), render(&fig, dir, &id)?);
        }
    }

    for (learner, fig) in accuracy_figures(inputs) {
        let id = format!("accuracy-{learner}");
        add(&id, format!("Cross-validated accuracy of {learner} per target and feature set (±1 sd over folds and repeats); grey: majority class."), render(&fig, dir, &id)?);
    }
    Ok(out)
}

fn embedding_points(inputs: &ReportInputs, run_id: &str, colour_by: ColourBy) -> Vec<(f64, f64, f64)> {
    let Some(points) = inputs.embeddings.get(run_id) else { return Vec::new() };
    let losses: BTreeMap<(i64, i64, i64), f64> = inputs
        .curves
        .get(run_id)
        .map(|c| c.iter().map(|p| ((p.jump_seed, step_millis(p.step_size), p.epoch), p.train_loss)).collect())
        .unwrap_or_default();
    points
        .iter()
        .map(|p| {
            let value = match colour_by {
                ColourBy::Epoch => p.epoch as f64,
                ColourBy::StepSize => p.step_size,
                ColourBy::Loss => losses.get(&(p.jump_seed, step_millis(p.step_size), p.epoch)).map_or(f64::NAN, |l| l.max(1e-6).log10()),
            };
            (p.x, p.y, value)
        })
        .collect()
}

/// One line per jump: (step size, [(epoch, train loss)]).
fn curve_lines(points: &[CurvePoint]) -> Vec<(f64, Vec<(f64, f64)>)> {
    let mut jumps: BTreeMap<(i64, i64), (f64, Vec<(f64, f64)>)> = BTreeMap::new();
    for p in points {
        let entry = jumps.entry((p.jump_seed, step_millis(p.step_size))).or_insert((p.step_size, Vec::new()));
        entry.1.push((p.epoch as f64, p.train_loss));
    }
    jumps
        .into_values()
        .map(|(step, mut line)| {
            line.sort_by(|a, b| a.0.total_cmp(&b.0));
            (step, line)
        })
        .collect()
}

fn persistence_scatter(inputs: &ReportInputs, feature: &str) -> Option<FeatureScatter> {
    let values: BTreeMap<&str, f64> = inputs.features.iter().filter(|f| f.feature_set == "topology" && f.feature == feature).map(|f| (f.run_id.as_str(), f.value)).collect();
    if values.is_empty() {
        return None;
    }
    // Colour by label noise when the grid has it: memorising nets are the poor ones.
    let noise: Vec<String> = inputs.runs.iter().map(|r| r.hyper.get("label_noise").cloned().unwrap_or_default()).collect();
    let mut groups: Vec<String> = noise.clone();
    groups.sort();
    groups.dedup();
    let points = inputs
        .runs
        .iter()
        .zip(&noise)
        .filter_map(|(r, n)| values.get(r.run_id.as_str()).map(|&v| (v, r.test_loss, groups.iter().position(|g| g == n).unwrap_or(0))))
        .collect();
    let rho = inputs
        .correlations
        .iter()
        .find(|c| c.feature == feature && c.target == "test_loss" && c.method == "spearman")
        .map_or_else(String::new, |c| format!(": Spearman ρ = {:.2} [{:.2}, {:.2}], p = {:.3}", c.estimate, c.ci_low, c.ci_high, c.p_value));
    Some(FeatureScatter {
        title: format!("{feature} vs test loss{rho}"),
        x_label: feature.into(),
        y_label: "test loss".into(),
        points,
        groups: groups.iter().map(|g| format!("label noise {g}")).collect(),
        // Total persistence and test loss both span decades across nets.
        log_axes: true,
    })
}

/// The paper's four feature sets, in the paper's order.
pub const PAPER_SETS: [&str; 4] = ["jr", "naive", "grid", "scrambled"];

fn accuracy_figures(inputs: &ReportInputs) -> Vec<(String, AccuracyBars)> {
    let mut learners: Vec<String> = inputs.classifiers.iter().map(|c| c.method.clone()).filter(|m| m != "majority").collect();
    learners.sort();
    learners.dedup();
    let mut targets: Vec<String> = inputs.classifiers.iter().map(|c| c.target.clone()).collect();
    targets.sort();
    targets.dedup();
    let sets: Vec<String> = PAPER_SETS.iter().map(|s| (*s).to_owned()).filter(|s| inputs.classifiers.iter().any(|c| &c.feature_set == s)).collect();
    if sets.is_empty() {
        return Vec::new();
    }
    learners
        .into_iter()
        .map(|learner| {
            let groups = targets
                .iter()
                .map(|t| {
                    let values = sets
                        .iter()
                        .map(|s| {
                            inputs.classifiers.iter().find(|c| &c.target == t && &c.feature_set == s && c.method == learner).map_or((f64::NAN, f64::NAN), |c| (c.mean, c.sd))
                        })
                        .collect();
                    let chance = inputs.classifiers.iter().filter(|c| &c.target == t && c.method == "majority" && c.feature_set == "jr").map(|c| c.mean).next().unwrap_or(f64::NAN);
                    (t.clone(), values, chance)
                })
                .collect();
            (learner.clone(), AccuracyBars { title: format!("{learner}: J&R against the baselines"), feature_sets: sets.clone(), groups })
        })
        .collect()
}

/// One net's value of a feature: NaN when absent or not finite.
pub(crate) fn feature_value(inputs: &ReportInputs, set: &str, feature: &str, run_id: &str) -> f64 {
    inputs
        .features
        .iter()
        .find(|f| f.run_id == run_id && f.feature_set == set && f.feature == feature)
        .map_or(f64::NAN, |f| if f.value.is_finite() { f.value } else { f64::NAN })
}

/// Mean of the finite values of a feature over the given nets.
pub(crate) fn feature_mean(inputs: &ReportInputs, set: &str, feature: &str, runs: &[&Run]) -> f64 {
    let values: Vec<f64> =
        runs.iter().map(|r| feature_value(inputs, set, feature, &r.run_id)).filter(|v| v.is_finite()).collect();
    mean(&values)
}
