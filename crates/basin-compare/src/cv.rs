//! Repeated stratified group k-fold cross-validation.
//!
//! Rows that share a group (e.g. the feature vectors of one net under several
//! seeds) always land in the same fold, so a net never sits on both sides of
//! a split; folds are balanced on the labels as scikit-learn's
//! `StratifiedGroupKFold(shuffle=True)` balances them.

use ndarray::{ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::error::{CompareError, Result};
use crate::learners::{fit_predict, standardize, Learner, LearnerParams};

/// Settings of repeated cross-validation.
#[derive(Debug, Clone, PartialEq)]
pub struct CvConfig {
    /// Folds per repeat (at least 2, at most the number of groups).
    pub folds: usize,
    /// Repeats, each with its own shuffle of the groups.
    pub repeats: usize,
    /// Seed of the fold assignment and of the seeded learners.
    pub seed: u64,
    /// Standardise features to zero mean and unit variance, with means and
    /// deviations from the training folds only (no test information leaks).
    pub standardize: bool,
}

impl Default for CvConfig {
    fn default() -> Self {
        Self {
            folds: 10,
            repeats: 5,
            seed: 0,
            standardize: true,
        }
    }
}

/// Accuracy of one learner under repeated cross-validation.
#[derive(Debug, Clone, PartialEq)]
pub struct CvScore {
    /// The learner scored.
    pub learner: Learner,
    /// Mean of [`CvScore::fold_accuracies`].
    pub mean: f64,
    /// Standard deviation of the fold accuracies (population, `ddof = 0`,
    /// as `numpy.std` of scikit-learn's `cross_val_score`).
    pub sd: f64,
    /// Test accuracy of every non-empty fold, repeat by repeat.
    pub fold_accuracies: Vec<f64>,
    /// Folds per repeat.
    pub folds: usize,
    /// Repeats.
    pub repeats: usize,
}

/// Test indices of each fold of a stratified group k-fold split.
///
/// Follows scikit-learn's `StratifiedGroupKFold(shuffle=True)`: groups are
/// shuffled (seeded ChaCha8), then ordered by how unevenly their rows spread
/// over the classes (most uneven first, stable), and each group goes to the
/// fold where it keeps the per-class proportions across folds most even
/// (smallest mean over classes of the standard deviation across folds of
/// the fraction of that class in the fold); ties go to the fold with fewer
/// rows, then the lower index. With singleton groups each class is therefore
/// dealt round-robin: every fold holds `floor` or `ceil` of its share.
///
/// # Arguments
/// * `labels` — class of each row.
/// * `groups` — group id of each row (any integers); rows of one group stay together.
/// * `folds` — number of folds, at least 2.
/// * `seed` — seed of the shuffle.
///
/// # Returns
/// `folds` vectors of row indices, ascending; together they hold every row
/// exactly once. A fold may be empty when groups are few and large.
///
/// # Errors
/// Length mismatch, `folds < 2`, or more folds than groups. A class with
/// fewer rows than folds is allowed, as in scikit-learn, with a warning.
///
/// # Example
/// ```
/// let labels = [0, 0, 0, 0, 1, 1, 1, 1];
/// let groups = [0, 0, 1, 1, 2, 2, 3, 3];
/// let folds = basin_compare::stratified_group_kfold(&labels, &groups, 2, 7).unwrap();
/// // Each fold gets one group of each class.
/// for fold in &folds {
///     assert_eq!(fold.len(), 4);
///     assert_eq!(fold.iter().filter(|&&i| labels[i] == 0).count(), 2);
/// }
/// ```
pub fn stratified_group_kfold(
    labels: &[usize],
    groups: &[usize],
    folds: usize,
    seed: u64,
) -> Result<Vec<Vec<usize>>> {
    assign_folds(labels, groups, folds, Some(seed))
}

/// [`stratified_group_kfold`] without the shuffle: groups are taken in
/// ascending id order before the stable sort, as scikit-learn's
/// `StratifiedGroupKFold(shuffle=False)`, which gives the same folds.
///
/// # Errors
/// As [`stratified_group_kfold`].
pub fn stratified_group_kfold_unshuffled(
    labels: &[usize],
    groups: &[usize],
    folds: usize,
) -> Result<Vec<Vec<usize>>> {
    assign_folds(labels, groups, folds, None)
}

fn assign_folds(
    labels: &[usize],
    groups: &[usize],
    folds: usize,
    shuffle_seed: Option<u64>,
) -> Result<Vec<Vec<usize>>> {
    if labels.len() != groups.len() {
        return Err(CompareError::LengthMismatch {
            left: "labels",
            left_len: labels.len(),
            right: "groups",
            right_len: groups.len(),
        });
    }
    if folds < 2 {
        return Err(CompareError::InvalidParameter {
            name: "folds",
            reason: format!("must be at least 2, got {folds}"),
        });
    }
    let classes = distinct_sorted(labels);
    let group_ids = distinct_sorted(groups);
    if folds > group_ids.len() {
        return Err(CompareError::InvalidParameter {
            name: "folds",
            reason: format!(
                "{folds} folds but only {} groups: each fold needs at least one group",
                group_ids.len()
            ),
        });
    }
    let class_index = |label: usize| classes.binary_search(&label).unwrap_or(0);
    let group_index = |group: usize| group_ids.binary_search(&group).unwrap_or(0);

    let mut class_totals = vec![0usize; classes.len()];
    let mut counts_per_group = vec![vec![0usize; classes.len()]; group_ids.len()];
    for (&label, &group) in labels.iter().zip(groups) {
        class_totals[class_index(label)] += 1;
        counts_per_group[group_index(group)][class_index(label)] += 1;
    }
    let smallest = class_totals.iter().copied().min().unwrap_or(0);
    if smallest < folds {
        // Debug, not warn: repeated CV calls this once per repeat and learner;
        // callers report it once (see `analysis`).
        tracing::debug!(
            "the least populated class has only {smallest} rows, fewer than the {folds} folds: \
             some folds will miss it (scikit-learn warns the same)"
        );
    }

    let mut order: Vec<usize> = (0..group_ids.len()).collect();
    if let Some(seed) = shuffle_seed {
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    }
    // Most uneven groups first (stable). scikit-learn sorts by the standard
    // deviation of the group's class counts; `spread` orders groups the same
    // way in exact integer arithmetic (classes^2 times the variance), so
    // groups of equal spread keep their order whatever the rounding.
    let spread: Vec<u128> = counts_per_group
        .iter()
        .map(|counts| {
            let sum: u128 = counts.iter().map(|&c| c as u128).sum();
            let sum_sq: u128 = counts.iter().map(|&c| (c as u128).pow(2)).sum();
            counts.len() as u128 * sum_sq - sum * sum
        })
        .collect();
    order.sort_by(|&a, &b| spread[b].cmp(&spread[a]));

    let mut counts_per_fold = vec![vec![0usize; classes.len()]; folds];
    let mut fold_sizes = vec![0usize; folds];
    let mut fold_of_group = vec![0usize; group_ids.len()];
    for &g in &order {
        let group_counts = &counts_per_group[g];
        let mut best: Option<(f64, usize, usize)> = None; // (unevenness, fold size, fold)
        for (f, &size) in fold_sizes.iter().enumerate() {
            let unevenness = unevenness_if_added(&counts_per_fold, f, group_counts, &class_totals);
            let better = match best {
                None => true,
                Some((best_unevenness, best_size, _)) => {
                    // Equal up to rounding: floating sums taken in another order
                    // must not break scikit-learn's tie rule.
                    let tolerance = 1e-12 * best_unevenness.abs().max(1e-12);
                    unevenness < best_unevenness - tolerance
                        || ((unevenness - best_unevenness).abs() <= tolerance && size < best_size)
                }
            };
            if better {
                best = Some((unevenness, size, f));
            }
        }
        let fold = best.map_or(0, |(_, _, f)| f);
        for (total, &add) in counts_per_fold[fold].iter_mut().zip(group_counts) {
            *total += add;
        }
        fold_sizes[fold] += group_counts.iter().sum::<usize>();
        fold_of_group[g] = fold;
    }

    let mut test_folds = vec![Vec::new(); folds];
    for (row, &group) in groups.iter().enumerate() {
        test_folds[fold_of_group[group_index(group)]].push(row);
    }
    Ok(test_folds)
}

/// A seeded shuffle of `y`, for the "scrambled labels" baseline: a learner
/// scored on permuted labels shows what accuracy chance alone reaches.
///
/// # Example
/// ```
/// let y = [0, 0, 1, 1, 2, 2];
/// let p = basin_compare::permutation_labels(&y, 3);
/// let mut sorted = p.clone();
/// sorted.sort();
/// assert_eq!(sorted, y);
/// assert_eq!(p, basin_compare::permutation_labels(&y, 3));
/// ```
pub fn permutation_labels(y: &[usize], seed: u64) -> Vec<usize> {
    let mut permuted = y.to_vec();
    permuted.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    permuted
}

/// Repeated stratified group k-fold accuracy of `learner` with default
/// [`LearnerParams`]; see [`cross_validate_with`].
///
/// # Example
/// ```
/// use basin_compare::{cross_validate, CvConfig, Learner};
/// use ndarray::Array2;
/// // Two well separated classes, 20 rows, each row its own group.
/// let x = Array2::from_shape_fn((20, 2), |(i, j)| (i / 10) as f64 * 5.0 + ((i * 7 + j * 3) % 5) as f64 * 0.1);
/// let y: Vec<usize> = (0..20).map(|i| i / 10).collect();
/// let groups: Vec<usize> = (0..20).collect();
/// let cfg = CvConfig { folds: 5, repeats: 2, ..CvConfig::default() };
/// let score = cross_validate(x.view(), &y, &groups, &Learner::GaussianNb, &cfg).unwrap();
/// assert_eq!(score.fold_accuracies.len(), 10);
/// assert_eq!(score.mean, 1.0);
/// ```
pub fn cross_validate(
    x: ArrayView2<f64>,
    y: &[usize],
    groups: &[usize],
    learner: &Learner,
    cfg: &CvConfig,
) -> Result<CvScore> {
    cross_validate_with(x, y, groups, learner, &LearnerParams::default(), cfg)
}

/// Repeated stratified group k-fold accuracy of `learner`.
///
/// For each repeat `r` the folds come from [`stratified_group_kfold`] with a
/// seed derived from `cfg.seed` and `r`; each fold is tested once with the
/// learner fitted on the other folds (standardised on them when
/// `cfg.standardize`). Seeded learners (the random forest) get a seed derived
/// from `cfg.seed`, the repeat and the fold, so the same inputs give the same
/// scores. Folds are fitted in parallel (rayon); the result does not depend
/// on the number of threads.
///
/// # Errors
/// Shape mismatches, a NaN or infinite feature (naming its row and column),
/// `repeats == 0`, the errors of [`stratified_group_kfold`], invalid
/// [`LearnerParams`] and learner failures.
pub fn cross_validate_with(
    x: ArrayView2<f64>,
    y: &[usize],
    groups: &[usize],
    learner: &Learner,
    params: &LearnerParams,
    cfg: &CvConfig,
) -> Result<CvScore> {
    if x.nrows() != y.len() {
        return Err(CompareError::LengthMismatch {
            left: "x rows",
            left_len: x.nrows(),
            right: "y",
            right_len: y.len(),
        });
    }
    check_finite(x)?;
    if cfg.repeats == 0 {
        return Err(CompareError::InvalidParameter {
            name: "repeats",
            reason: "must be at least 1".into(),
        });
    }
    params.check(learner)?;
    // Fold assignment is cheap and sequential; the fits run in parallel.
    // Each fit has its own seed, and results are collected in (repeat, fold)
    // order, so the scores do not depend on the thread count.
    let mut tasks = Vec::with_capacity(cfg.folds * cfg.repeats);
    for repeat in 0..cfg.repeats {
        let test_folds = stratified_group_kfold(
            y,
            groups,
            cfg.folds,
            derive_seed(cfg.seed, repeat as u64, 0),
        )?;
        for (fold, test) in test_folds.into_iter().enumerate() {
            if test.is_empty() {
                tracing::warn!(
                    "repeat {repeat}, fold {fold} has no rows (few, large groups): skipped"
                );
                continue;
            }
            tasks.push((derive_seed(cfg.seed, repeat as u64, fold as u64 + 1), test));
        }
    }
    let fold_accuracies = tasks
        .par_iter()
        .map(|(seed, test)| fold_accuracy(x, y, test, learner, params, cfg.standardize, *seed))
        .collect::<Result<Vec<f64>>>()?;
    let count = fold_accuracies.len() as f64;
    let mean = fold_accuracies.iter().sum::<f64>() / count;
    let sd = (fold_accuracies
        .iter()
        .map(|a| (a - mean).powi(2))
        .sum::<f64>()
        / count)
        .sqrt();
    Ok(CvScore {
        learner: learner.clone(),
        mean,
        sd,
        fold_accuracies,
        folds: cfg.folds,
        repeats: cfg.repeats,
    })
}

/// Test accuracy of `learner` fitted on every row outside `test`.
fn fold_accuracy(
    x: ArrayView2<f64>,
    y: &[usize],
    test: &[usize],
    learner: &Learner,
    params: &LearnerParams,
    standardize_features: bool,
    seed: u64,
) -> Result<f64> {
    let mut is_test = vec![false; y.len()];
    test.iter().for_each(|&i| is_test[i] = true);
    let train: Vec<usize> = (0..y.len()).filter(|&i| !is_test[i]).collect();
    let mut x_train = x.select(Axis(0), &train);
    let mut x_test = x.select(Axis(0), test);
    if standardize_features {
        standardize(&mut x_train, &mut x_test);
    }
    let y_train: Vec<usize> = train.iter().map(|&i| y[i]).collect();
    let predicted = fit_predict(learner, params, &x_train, &y_train, &x_test, seed)?;
    let correct = predicted
        .iter()
        .zip(test)
        .filter(|(&p, &i)| p == y[i])
        .count();
    Ok(correct as f64 / test.len() as f64)
}

/// Refuses NaN and infinite features, naming the first one.
pub(crate) fn check_finite(x: ArrayView2<f64>) -> Result<()> {
    match x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        Some(((row, column), &value)) => Err(CompareError::NonFiniteFeature { row, column, value }),
        None => Ok(()),
    }
}

/// A seed for stream `(a, b)` under `seed` (SplitMix64 finaliser, so nearby
/// inputs give unrelated seeds).
fn derive_seed(seed: u64, a: u64, b: u64) -> u64 {
    let mut z =
        seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn distinct_sorted(values: &[usize]) -> Vec<usize> {
    let mut distinct = values.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    distinct
}

/// Population standard deviation (`numpy.std`).
fn std_dev(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let n = values.clone().count() as f64;
    let mean = values.clone().sum::<f64>() / n;
    (values.map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
}

/// scikit-learn's `_find_best_fold` objective: with `group` added to fold
/// `fold`, the mean over classes of the standard deviation across folds of
/// the fraction of the class's rows in each fold.
fn unevenness_if_added(
    counts_per_fold: &[Vec<usize>],
    fold: usize,
    group: &[usize],
    class_totals: &[usize],
) -> f64 {
    let classes = class_totals.len();
    let mut total = 0.0;
    for c in 0..classes {
        let fractions = counts_per_fold.iter().enumerate().map(|(f, counts)| {
            let count = counts[c] + if f == fold { group[c] } else { 0 };
            count as f64 / class_totals[c] as f64
        });
        total += std_dev(fractions);
    }
    total / classes as f64
}
