//! basin-compare against scipy and scikit-learn.
//!
//! `reference/compare_reference.json` is written by
//! `reference/make_compare_reference.py` (scipy 1.17.1, scikit-learn 1.9.1,
//! numpy 2.4.6; the JSON records the versions used).

use std::collections::BTreeMap;

use basin_compare::stats::correlation_p_value;
use basin_compare::{
    fit_predict, pearson, spearman, standardize, stratified_group_kfold_unshuffled, Learner,
    LearnerParams, SvmKernel,
};
use ndarray::{Array2, Axis};
use serde::Deserialize;

#[derive(Deserialize)]
struct Reference {
    versions: BTreeMap<String, String>,
    correlations: Vec<CorrelationCase>,
    classifiers: ClassifierData,
    group_kfold: Vec<GroupKFoldCase>,
}

#[derive(Deserialize)]
struct GroupKFoldCase {
    case: usize,
    folds: usize,
    labels: Vec<usize>,
    groups: Vec<usize>,
    test_folds: Vec<Vec<usize>>,
}

#[derive(Deserialize)]
struct CorrelationCase {
    name: String,
    x: Vec<f64>,
    y: Vec<f64>,
    pearson: f64,
    pearson_p: f64,
    spearman: f64,
    spearman_p: f64,
}

#[derive(Deserialize)]
struct ClassifierData {
    x: Vec<Vec<f64>>,
    y: Vec<usize>,
    splits: Vec<Split>,
}

#[derive(Deserialize)]
struct Split {
    seed: u64,
    train: Vec<usize>,
    test: Vec<usize>,
    results: BTreeMap<String, SklearnResult>,
}

#[derive(Deserialize)]
struct SklearnResult {
    predictions: Vec<usize>,
    accuracy: f64,
}

fn reference() -> Reference {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/reference/compare_reference.json"
    );
    let text =
        std::fs::read_to_string(path).expect("reference JSON is committed beside its script");
    let reference: Reference = serde_json::from_str(&text).expect("reference JSON parses");
    assert_eq!(reference.versions["scipy"], "1.17.1");
    assert_eq!(reference.versions["scikit-learn"], "1.9.1");
    reference
}

#[test]
fn correlations_match_scipy() {
    let reference = reference();
    assert_eq!(reference.correlations.len(), 4);
    for case in &reference.correlations {
        let n = case.x.len();
        let r = pearson(&case.x, &case.y).unwrap();
        let rho = spearman(&case.x, &case.y).unwrap();
        assert!(
            (r - case.pearson).abs() < 1e-10,
            "{}: pearson {r} vs scipy {}",
            case.name,
            case.pearson
        );
        assert!(
            (rho - case.spearman).abs() < 1e-10,
            "{}: spearman {rho} vs scipy {}",
            case.name,
            case.spearman
        );
        let (p, p_rho) = (correlation_p_value(r, n), correlation_p_value(rho, n));
        assert!(
            (p - case.pearson_p).abs() < 1e-8,
            "{}: pearson p {p} vs scipy {}",
            case.name,
            case.pearson_p
        );
        assert!(
            (p_rho - case.spearman_p).abs() < 1e-8,
            "{}: spearman p {p_rho} vs scipy {}",
            case.name,
            case.spearman_p
        );
    }
}

#[test]
fn unshuffled_group_kfold_matches_sklearn() {
    // Same greedy assignment as StratifiedGroupKFold(shuffle=False): identical folds.
    let reference = reference();
    assert_eq!(reference.group_kfold.len(), 8);
    for case in &reference.group_kfold {
        let folds =
            stratified_group_kfold_unshuffled(&case.labels, &case.groups, case.folds).unwrap();
        assert_eq!(
            folds, case.test_folds,
            "case {} with {} folds",
            case.case, case.folds
        );
    }
}

/// The data of one split, standardised on its training rows as the script does.
fn split_data(
    data: &ClassifierData,
    split: &Split,
) -> (Array2<f64>, Vec<usize>, Array2<f64>, Vec<usize>) {
    let columns = data.x[0].len();
    let x = Array2::from_shape_vec((data.x.len(), columns), data.x.concat()).unwrap();
    let mut x_train = x.select(Axis(0), &split.train);
    let mut x_test = x.select(Axis(0), &split.test);
    standardize(&mut x_train, &mut x_test);
    let y_train = split.train.iter().map(|&i| data.y[i]).collect();
    let y_test = split.test.iter().map(|&i| data.y[i]).collect();
    (x_train, y_train, x_test, y_test)
}

struct Comparison {
    accuracy: f64,
    sklearn_accuracy: f64,
    agreement: f64,
}

fn compare(learner: &Learner, params: &LearnerParams, sklearn_name: &str) -> Vec<Comparison> {
    let reference = reference();
    let data = &reference.classifiers;
    data.splits
        .iter()
        .map(|split| {
            let (x_train, y_train, x_test, y_test) = split_data(data, split);
            let predicted = fit_predict(learner, params, &x_train, &y_train, &x_test, split.seed).unwrap();
            let sklearn = &split.results[sklearn_name];
            let n = y_test.len() as f64;
            let accuracy = predicted.iter().zip(&y_test).filter(|(p, y)| p == y).count() as f64 / n;
            let agreement = predicted.iter().zip(&sklearn.predictions).filter(|(p, s)| p == s).count() as f64 / n;
            eprintln!(
                "{sklearn_name} split {}: basin {accuracy:.3}, sklearn {:.3}, agreement {agreement:.3}",
                split.seed, sklearn.accuracy
            );
            Comparison { accuracy, sklearn_accuracy: sklearn.accuracy, agreement }
        })
        .collect()
}

#[test]
fn gaussian_nb_predicts_as_sklearn() {
    // Same model (per-class means and variances, var_smoothing 1e-9): identical predictions.
    for c in compare(
        &Learner::GaussianNb,
        &LearnerParams::default(),
        "gaussian_nb",
    ) {
        assert_eq!(c.agreement, 1.0);
        assert_eq!(c.accuracy, c.sklearn_accuracy);
    }
}

#[test]
fn knn_predicts_as_sklearn() {
    // Exact neighbours; the rounded PCA coordinates have no distance ties.
    for c in compare(&Learner::Knn { k: 5 }, &LearnerParams::default(), "knn5") {
        assert_eq!(c.agreement, 1.0);
        assert_eq!(c.accuracy, c.sklearn_accuracy);
    }
}

#[test]
fn logistic_is_close_to_sklearn() {
    // Same objective (multinomial log-loss + alpha/2 |W|^2 with alpha = 1/C,
    // unpenalised intercept) but another optimiser and stopping rule: the
    // optima differ slightly, which flips a few rows near the boundaries.
    // Allowed: 1 point of accuracy (2 of 200 test rows) and 99% agreement
    // (measured: identical predictions on all three splits).
    for c in compare(&Learner::Logistic, &LearnerParams::default(), "logistic") {
        assert!((c.accuracy - c.sklearn_accuracy).abs() <= 0.01);
        assert!(c.agreement >= 0.99);
    }
}

#[test]
fn rbf_svm_is_close_to_sklearn() {
    // Same C-SVC with gamma="scale" and one-vs-one voting; linfa's SMO stops on
    // another criterion than libsvm (eps 1e-7 vs tol 1e-3), so the dual
    // solutions differ a little: 1 point of accuracy, 99% agreement
    // (measured: identical predictions on all three splits, RBF and linear).
    for c in compare(&Learner::Svm, &LearnerParams::default(), "svm_rbf") {
        assert!((c.accuracy - c.sklearn_accuracy).abs() <= 0.01);
        assert!(c.agreement >= 0.99);
    }
}

#[test]
fn linear_svm_is_close_to_sklearn() {
    let params = LearnerParams {
        svm_kernel: SvmKernel::Linear,
        ..LearnerParams::default()
    };
    for c in compare(&Learner::Svm, &params, "svm_linear") {
        assert!((c.accuracy - c.sklearn_accuracy).abs() <= 0.01);
        assert!(c.agreement >= 0.99);
    }
}

#[test]
fn decision_tree_is_close_to_sklearn() {
    // Both grow CART trees with Gini to purity, but break ties between equally
    // good splits differently (scikit-learn by a seeded feature permutation),
    // and a fully grown tree is unstable: accuracy within 5 points, mean over
    // the three splits within 3, and agreement at least 80%.
    let comparisons = compare(
        &Learner::DecisionTree,
        &LearnerParams::default(),
        "decision_tree",
    );
    let mean_gap: f64 = comparisons
        .iter()
        .map(|c| c.accuracy - c.sklearn_accuracy)
        .sum::<f64>()
        / comparisons.len() as f64;
    assert!(mean_gap.abs() <= 0.03, "mean gap {mean_gap}");
    for c in comparisons {
        assert!((c.accuracy - c.sklearn_accuracy).abs() <= 0.05);
        assert!(c.agreement >= 0.8);
    }
}

#[test]
fn decision_tree_on_one_feature_predicts_as_sklearn() {
    // With a single feature no two features can tie, and both implementations
    // take the first best threshold in ascending order: the trees coincide.
    let reference = reference();
    let data = &reference.classifiers;
    for split in &data.splits {
        let (x_train, y_train, x_test, _) = split_data(data, split);
        let first = |x: &Array2<f64>| x.select(Axis(1), &[0]);
        let predicted = fit_predict(
            &Learner::DecisionTree,
            &LearnerParams::default(),
            &first(&x_train),
            &y_train,
            &first(&x_test),
            0,
        )
        .unwrap();
        assert_eq!(
            predicted,
            split.results["decision_tree_first_feature"].predictions
        );
    }
}

#[test]
fn random_forest_is_close_to_sklearn() {
    // The same algorithm as RandomForestClassifier's defaults (bootstrap rows,
    // floor(sqrt(p)) features per split, mean leaf frequencies) with other
    // random draws: accuracy within 4 points per split and 2 on average,
    // agreement at least 90%.
    let comparisons = compare(
        &Learner::RandomForest,
        &LearnerParams::default(),
        "random_forest",
    );
    let mean_gap: f64 = comparisons
        .iter()
        .map(|c| c.accuracy - c.sklearn_accuracy)
        .sum::<f64>()
        / comparisons.len() as f64;
    assert!(mean_gap.abs() <= 0.02, "mean gap {mean_gap}");
    for c in comparisons {
        assert!((c.accuracy - c.sklearn_accuracy).abs() <= 0.04);
        assert!(c.agreement >= 0.9);
    }
}

#[test]
fn majority_predicts_as_sklearn_dummy() {
    // DummyClassifier(strategy="most_frequent"): ties to the smallest label.
    for c in compare(&Learner::Majority, &LearnerParams::default(), "majority") {
        assert_eq!(c.agreement, 1.0);
        assert!(
            c.accuracy < 0.2,
            "ten classes: chance is near 0.1, got {}",
            c.accuracy
        );
    }
}
