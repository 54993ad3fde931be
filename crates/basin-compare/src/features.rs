//! Features per net, in the store's long `features` layout.
//!
//! | feature set | what | source |
//! |---|---|---|
//! | `jr` | train loss and accuracy at every (jump seed, step, epoch) of the jump-and-retrain trajectories (Horoi et al. 2022 §4) | `trajectories` |
//! | `jr-summary` | means of the above: at the jump point, after retraining, over the curve; share of diverged jumps | `trajectories` |
//! | `naive`, `grid` | train loss and accuracy at the probe points (no retraining) | `probes` |
//! | `naive-summary`, `grid-summary` | their means and spread | `probes` |
//! | `phate` | spread, travel and dispersion of the net's PHATE embedding; path lengths in potential space | `embeddings`, `potential_distances` |
//! | `topology`, `landscape` | passed through from the topology and landscape stages | `features` |
//!
//! Only *training-set* losses enter the J&R and baseline vectors: the targets
//! (test loss, generalization gap) are computed from test losses, so test
//! values among the features would leak the answer.
//!
//! A retrain that diverged has no finite loss after that point. Such entries
//! become [`DIVERGED_LOSS`] and accuracy 0, a value far outside any finite
//! loss, so that "this jump diverged" stays visible to the classifiers; the
//! share of diverged jumps is also a feature of its own.

use std::collections::{BTreeMap, BTreeSet};

use ndarray::Array2;

use crate::error::{CompareError, CompareResult};
use crate::inputs::{CurvePoint, EmbeddedPoint, FeatureRow, PotentialDistances, Probes};

/// The loss that stands for a non-finite (diverged) value in a feature vector.
pub const DIVERGED_LOSS: f64 = 1.0e3;

fn row(run_id: &str, set: &str, feature: String, value: f64) -> FeatureRow {
    FeatureRow { run_id: run_id.to_owned(), feature_set: set.to_owned(), feature, value }
}

fn finite_loss(v: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        DIVERGED_LOSS
    }
}

fn finite_acc(v: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

/// A jump's key, printable and sortable: seed, step (in thousandths), epoch.
type JumpKey = (i64, i64, i64);

pub(crate) fn step_millis(step: f64) -> i64 {
    // Steps are short decimals (0.25, 0.5 …); thousandths keep them exact as keys.
    (step * 1000.0).round() as i64
}

/// The `jr` and `jr-summary` features of one net from its trajectory losses.
///
/// Rows missing after a divergence count as diverged, so nets whose retrains
/// stopped early still give vectors of the same length as the others (the
/// expected keys are every (seed, step) of the file × epochs 0..=max epoch).
///
/// # Example
/// ```
/// use basin_compare::features::jr_features;
/// use basin_compare::inputs::CurvePoint;
/// let p = |epoch, loss| CurvePoint { jump_seed: 0, step_size: 0.5, epoch, train_loss: loss, train_acc: 0.9,
///     test_loss: 1.0, test_acc: 0.8, diverged: false };
/// let rows = jr_features("net", &[p(0, 2.0), p(1, 1.0)]);
/// let jump = rows.iter().find(|r| r.feature == "jump_train_loss_mean").unwrap();
/// assert_eq!(jump.value, 2.0);
/// ```
#[must_use]
pub fn jr_features(run_id: &str, points: &[CurvePoint]) -> Vec<FeatureRow> {
    let max_epoch = points.iter().map(|p| p.epoch).max().unwrap_or(0);
    let jumps: BTreeSet<(i64, i64)> = points.iter().map(|p| (p.jump_seed, step_millis(p.step_size))).collect();
    let by_key: BTreeMap<JumpKey, &CurvePoint> =
        points.iter().map(|p| ((p.jump_seed, step_millis(p.step_size), p.epoch), p)).collect();

    let mut rows = Vec::new();
    let mut jump_losses = Vec::new();
    let mut final_losses = Vec::new();
    let mut final_accs = Vec::new();
    let mut curve_means = Vec::new();
    let mut diverged_jumps = 0usize;
    let mut final_by_step: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for &(seed, step) in &jumps {
        let mut curve = Vec::with_capacity(max_epoch as usize + 1);
        let mut diverged = false;
        for epoch in 0..=max_epoch {
            let (loss, acc) = match by_key.get(&(seed, step, epoch)) {
                Some(p) if !p.diverged && p.train_loss.is_finite() => (p.train_loss, finite_acc(p.train_acc)),
                _ => {
                    diverged = true;
                    (DIVERGED_LOSS, 0.0)
                }
            };
            let tag = format!("s{seed}/x{:.3}/e{epoch}", step as f64 / 1000.0);
            rows.push(row(run_id, "jr", format!("train_loss@{tag}"), loss));
            rows.push(row(run_id, "jr", format!("train_acc@{tag}"), acc));
            curve.push((loss, acc));
        }
        diverged_jumps += usize::from(diverged);
        jump_losses.push(curve[0].0);
        let (last_loss, last_acc) = curve[curve.len() - 1];
        final_losses.push(last_loss);
        final_accs.push(last_acc);
        final_by_step.entry(step).or_default().push(last_loss);
        curve_means.push(mean(&curve.iter().map(|c| c.0).collect::<Vec<_>>()));
    }
    let s = "jr-summary";
    rows.push(row(run_id, s, "jump_train_loss_mean".into(), mean(&jump_losses)));
    rows.push(row(run_id, s, "final_train_loss_mean".into(), mean(&final_losses)));
    rows.push(row(run_id, s, "final_train_acc_mean".into(), mean(&final_accs)));
    rows.push(row(run_id, s, "curve_train_loss_mean".into(), mean(&curve_means)));
    rows.push(row(run_id, s, "diverged_fraction".into(), diverged_jumps as f64 / jumps.len().max(1) as f64));
    for (step, losses) in final_by_step {
        rows.push(row(run_id, s, format!("final_train_loss_x{:.3}", step as f64 / 1000.0), mean(&losses)));
    }
    rows
}

/// The `<method>` and `<method>-summary` features of one net's probes.
#[must_use]
pub fn probe_features(run_id: &str, probes: &Probes) -> Vec<FeatureRow> {
    let set = probes.method.as_str();
    let mut rows = Vec::with_capacity(2 * probes.train_loss.len() + 4);
    let losses: Vec<f64> = probes.train_loss.iter().copied().map(finite_loss).collect();
    let accs: Vec<f64> = probes.train_acc.iter().copied().map(finite_acc).collect();
    for (i, (l, a)) in losses.iter().zip(&accs).enumerate() {
        rows.push(row(run_id, set, format!("train_loss@{i}"), *l));
        rows.push(row(run_id, set, format!("train_acc@{i}"), *a));
    }
    let summary = format!("{set}-summary");
    let non_finite = probes.train_loss.iter().filter(|v| !v.is_finite()).count();
    rows.push(row(run_id, &summary, "train_loss_mean".into(), mean(&losses)));
    rows.push(row(run_id, &summary, "train_loss_sd".into(), sd(&losses)));
    rows.push(row(run_id, &summary, "train_acc_mean".into(), mean(&accs)));
    rows.push(row(run_id, &summary, "non_finite_fraction".into(), non_finite as f64 / losses.len().max(1) as f64));
    rows
}

/// The `phate` features of one net: how far its retrains wander and whether
/// they come back together, in the net's own PHATE embedding and (when given)
/// in potential space.
///
/// * `spread`: mean distance of a trajectory's points to their centroid;
/// * `travel`: distance from the jump point to the retrained end point;
/// * `end_dispersion`: mean distance of the end points to their centroid
///   (small when every retrain returns to one basin);
/// * `jump_distance`: mean distance of the jump points to the end points'
///   centroid, the embedding's stand-in for the distance from the minimum
///   (θo itself is not a trajectory point);
/// * `potential_path_length` / `potential_travel`: the same path in PHATE
///   potential distances (summed over consecutive epochs / start to end).
///
/// Means over all jumps, and `travel_x<step>` per step size.
#[must_use]
pub fn phate_features(run_id: &str, points: &[EmbeddedPoint], potential: Option<&PotentialDistances>) -> Vec<FeatureRow> {
    let mut jumps: BTreeMap<(i64, i64), Vec<&EmbeddedPoint>> = BTreeMap::new();
    for p in points {
        jumps.entry((p.jump_seed, step_millis(p.step_size))).or_default().push(p);
    }
    let mut spread = Vec::new();
    let mut travel = Vec::new();
    let mut travel_by_step: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    let mut starts = Vec::new();
    let mut ends = Vec::new();
    for (&(_, step), traj) in &mut jumps {
        traj.sort_by_key(|p| p.epoch);
        let (cx, cy) = centroid(traj.iter().map(|p| (p.x, p.y)));
        spread.push(mean(&traj.iter().map(|p| dist((p.x, p.y), (cx, cy))).collect::<Vec<_>>()));
        let (first, last) = (traj[0], traj[traj.len() - 1]);
        let t = dist((first.x, first.y), (last.x, last.y));
        travel.push(t);
        travel_by_step.entry(step).or_default().push(t);
        starts.push((first.x, first.y));
        ends.push((last.x, last.y));
    }
    let end_centre = centroid(ends.iter().copied());
    let set = "phate";
    let mut rows = vec![
        row(run_id, set, "spread".into(), mean(&spread)),
        row(run_id, set, "travel".into(), mean(&travel)),
        row(run_id, set, "end_dispersion".into(), mean(&ends.iter().map(|&e| dist(e, end_centre)).collect::<Vec<_>>())),
        row(run_id, set, "jump_distance".into(), mean(&starts.iter().map(|&s| dist(s, end_centre)).collect::<Vec<_>>())),
    ];
    for (step, t) in travel_by_step {
        rows.push(row(run_id, set, format!("travel_x{:.3}", step as f64 / 1000.0), mean(&t)));
    }
    if let Some(pd) = potential {
        let (path_length, start_to_end) = potential_paths(pd);
        rows.push(row(run_id, set, "potential_path_length".into(), path_length));
        rows.push(row(run_id, set, "potential_travel".into(), start_to_end));
    }
    rows
}

/// Mean over jumps of (sum of consecutive potential distances, start→end distance).
fn potential_paths(pd: &PotentialDistances) -> (f64, f64) {
    let mut jumps: BTreeMap<(i64, i64), Vec<(i64, usize)>> = BTreeMap::new();
    for (i, &(seed, step, epoch)) in pd.keys.iter().enumerate() {
        jumps.entry((seed, step_millis(step))).or_default().push((epoch, i));
    }
    let mut lengths = Vec::new();
    let mut travels = Vec::new();
    for rows in jumps.values_mut() {
        rows.sort_unstable();
        lengths.push(rows.windows(2).map(|w| pd.get(w[0].1, w[1].1)).sum::<f64>());
        travels.push(pd.get(rows[0].1, rows[rows.len() - 1].1));
    }
    (mean(&lengths), mean(&travels))
}

fn centroid(points: impl Iterator<Item = (f64, f64)>) -> (f64, f64) {
    let (mut sx, mut sy, mut n) = (0.0, 0.0, 0usize);
    for (x, y) in points {
        sx += x;
        sy += y;
        n += 1;
    }
    let n = n.max(1) as f64;
    (sx / n, sy / n)
}

fn dist(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - b.0).hypot(a.1 - b.1)
}

/// Arithmetic mean (NaN for an empty slice).
#[must_use]
pub fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Sample standard deviation (0 for fewer than two values).
#[must_use]
pub fn sd(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let m = mean(v);
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// One feature set as a matrix: a row per net (in the order asked for), a
/// column per feature (sorted by name).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMatrix {
    /// The feature set.
    pub feature_set: String,
    /// The nets, one per row.
    pub run_ids: Vec<String>,
    /// The features, one per column.
    pub names: Vec<String>,
    /// The values.
    pub values: Array2<f64>,
}

/// Every feature set present in `rows`, sorted.
#[must_use]
pub fn feature_sets(rows: &[FeatureRow]) -> Vec<String> {
    rows.iter().map(|r| r.feature_set.clone()).collect::<BTreeSet<_>>().into_iter().collect()
}

/// Gathers one feature set into a matrix over `run_ids`.
///
/// # Errors
/// [`CompareError::Mismatch`] when a net lacks the set, or lacks a feature
/// other nets have (naming the net and the feature), or a value is repeated.
pub fn feature_matrix(rows: &[FeatureRow], feature_set: &str, run_ids: &[String]) -> CompareResult<FeatureMatrix> {
    let mut per_net: BTreeMap<&str, BTreeMap<&str, f64>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.feature_set == feature_set) {
        if per_net.entry(r.run_id.as_str()).or_default().insert(r.feature.as_str(), r.value).is_some() {
            return Err(CompareError::Mismatch(format!(
                "feature `{}` of set `{feature_set}` appears twice for net `{}`",
                r.feature, r.run_id
            )));
        }
    }
    let names: BTreeSet<&str> = per_net.values().flat_map(|m| m.keys().copied()).collect();
    let names: Vec<String> = names.into_iter().map(str::to_owned).collect();
    let mut values = Array2::zeros((run_ids.len(), names.len()));
    for (i, id) in run_ids.iter().enumerate() {
        let net = per_net
            .get(id.as_str())
            .ok_or_else(|| CompareError::Mismatch(format!("net `{id}` has no features of set `{feature_set}`")))?;
        for (j, name) in names.iter().enumerate() {
            values[[i, j]] = *net.get(name.as_str()).ok_or_else(|| {
                CompareError::Mismatch(format!("net `{id}` lacks feature `{name}` of set `{feature_set}` that other nets have"))
            })?;
        }
    }
    Ok(FeatureMatrix { feature_set: feature_set.to_owned(), run_ids: run_ids.to_vec(), names, values })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(seed: i64, step: f64, epoch: i64, loss: f64) -> CurvePoint {
        CurvePoint { jump_seed: seed, step_size: step, epoch, train_loss: loss, train_acc: 0.5, test_loss: 9.0, test_acc: 0.1, diverged: false }
    }

    #[test]
    fn jr_vector_marks_missing_rows_after_divergence() {
        let mut pts = vec![point(0, 0.5, 0, 3.0), point(0, 0.5, 1, 2.0), point(0, 0.5, 2, 1.0)];
        pts.push(CurvePoint { diverged: true, train_loss: f64::NAN, ..point(1, 0.5, 0, 0.0) });
        let rows = jr_features("n", &pts);
        let get = |name: &str| rows.iter().find(|r| r.feature == name).map(|r| r.value);
        assert_eq!(get("train_loss@s0/x0.500/e2"), Some(1.0));
        assert_eq!(get("train_loss@s1/x0.500/e0"), Some(DIVERGED_LOSS));
        assert_eq!(get("train_loss@s1/x0.500/e2"), Some(DIVERGED_LOSS), "rows after a divergence are filled");
        assert_eq!(get("diverged_fraction"), Some(0.5));
        assert_eq!(get("final_train_loss_mean"), Some((1.0 + DIVERGED_LOSS) / 2.0));
        // Test losses never enter the features.
        assert!(rows.iter().all(|r| r.value != 9.0));
    }

    #[test]
    fn phate_travel_and_dispersion() {
        let e = |seed, epoch, x, y| EmbeddedPoint { jump_seed: seed, step_size: 1.0, epoch, x, y };
        let pts = [e(0, 0, 0.0, 0.0), e(0, 1, 3.0, 4.0), e(1, 0, 6.0, 8.0), e(1, 1, 3.0, 4.0)];
        let rows = phate_features("n", &pts, None);
        let get = |name: &str| rows.iter().find(|r| r.feature == name).unwrap().value;
        assert!((get("travel") - 5.0).abs() < 1e-12);
        assert!((get("end_dispersion") - 0.0).abs() < 1e-12);
        assert!((get("jump_distance") - 5.0).abs() < 1e-12);
        assert!((get("spread") - 2.5).abs() < 1e-12);
    }

    #[test]
    fn matrix_names_the_net_missing_a_feature() {
        let rows = vec![row("a", "s", "f".into(), 1.0), row("a", "s", "g".into(), 2.0), row("b", "s", "f".into(), 3.0)];
        let err = feature_matrix(&rows, "s", &["a".into(), "b".into()]).unwrap_err().to_string();
        assert!(err.contains("net `b` lacks feature `g`"), "{err}");
        let ok = feature_matrix(&rows[..1], "s", &["a".into()]).unwrap();
        assert_eq!(ok.values[[0, 0]], 1.0);
    }
}
