//! Cross-validated learners: determinism, leakage, baselines, bad input.

use basin_compare::{
    cross_validate, fit_predict, permutation_labels, CompareError, CvConfig, Learner, LearnerParams,
};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const ALL: [Learner; 7] = [
    Learner::Logistic,
    Learner::Svm,
    Learner::DecisionTree,
    Learner::RandomForest,
    Learner::Knn { k: 3 },
    Learner::GaussianNb,
    Learner::Majority,
];

/// Three Gaussian blobs in 4 dimensions, well apart, 20 rows each.
fn blobs(seed: u64) -> (Array2<f64>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let y: Vec<usize> = (0..60).map(|i| i % 3).collect();
    let x = Array2::from_shape_fn((60, 4), |(i, j)| {
        let centre = if j == y[i] { 6.0 } else { 0.0 };
        centre + rng.random_range(-1.0..1.0)
    });
    (x, y)
}

#[test]
fn every_learner_separates_blobs_and_majority_does_not() {
    let (x, y) = blobs(1);
    let groups: Vec<usize> = (0..60).collect();
    let cfg = CvConfig {
        folds: 5,
        repeats: 2,
        seed: 3,
        standardize: true,
    };
    for learner in &ALL {
        let score = cross_validate(x.view(), &y, &groups, learner, &cfg).unwrap();
        assert_eq!(score.fold_accuracies.len(), 10);
        assert_eq!((score.folds, score.repeats), (5, 2));
        if *learner == Learner::Majority {
            // Stratified folds of 4 per class in 12 test rows: always a third.
            assert!((score.mean - 1.0 / 3.0).abs() < 1e-12, "{score:?}");
            assert!(score.sd < 1e-12, "{score:?}");
        } else {
            assert!(score.mean >= 0.95, "{}: {score:?}", learner.name());
        }
    }
}

#[test]
fn same_seed_same_scores() {
    let (x, y) = blobs(2);
    // Noisy labels so that accuracies are not all 1.
    let y = permutation_labels(&y, 8)
        .iter()
        .zip(&y)
        .enumerate()
        .map(|(i, (&p, &t))| if i % 4 == 0 { p } else { t })
        .collect::<Vec<_>>();
    let groups: Vec<usize> = (0..60).map(|i| i / 2).collect();
    let cfg = CvConfig {
        folds: 4,
        repeats: 3,
        seed: 99,
        standardize: true,
    };
    for learner in &ALL {
        let a = cross_validate(x.view(), &y, &groups, learner, &cfg).unwrap();
        let b = cross_validate(x.view(), &y, &groups, learner, &cfg).unwrap();
        assert_eq!(a, b, "{}", learner.name());
    }
    let a = cross_validate(x.view(), &y, &groups, &Learner::RandomForest, &cfg).unwrap();
    let c = cross_validate(
        x.view(),
        &y,
        &groups,
        &Learner::RandomForest,
        &CvConfig { seed: 100, ..cfg },
    )
    .unwrap();
    assert_ne!(
        a.fold_accuracies, c.fold_accuracies,
        "another seed, other folds and forests"
    );
}

#[test]
fn grouping_stops_leakage_between_copies_of_a_net() {
    // 30 "nets" with random labels, each seen 4 times with tiny noise: the
    // features say nothing about the label. Split by row, 1-NN finds the
    // net's other copies in the training folds (leakage, accuracy near 1);
    // split by net, it can only guess (near 1/2).
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let nets: Vec<([f64; 3], usize)> = (0..30)
        .map(|_| {
            (
                [rng.random(), rng.random(), rng.random()],
                rng.random_range(0..2),
            )
        })
        .collect();
    let mut x = Array2::zeros((120, 3));
    let (mut y, mut net_of_row) = (Vec::new(), Vec::new());
    for row in 0..120 {
        let (features, label) = nets[row / 4];
        for j in 0..3 {
            x[[row, j]] = features[j] + 1e-3 * rng.random::<f64>();
        }
        y.push(label);
        net_of_row.push(row / 4);
    }
    let cfg = CvConfig {
        folds: 5,
        repeats: 3,
        seed: 1,
        standardize: true,
    };
    let knn = Learner::Knn { k: 1 };
    let by_row = cross_validate(x.view(), &y, &(0..120).collect::<Vec<_>>(), &knn, &cfg).unwrap();
    let by_net = cross_validate(x.view(), &y, &net_of_row, &knn, &cfg).unwrap();
    assert!(by_row.mean > 0.95, "leaky split: {by_row:?}");
    assert!(by_net.mean < 0.7, "grouped split: {by_net:?}");
}

#[test]
fn scrambled_labels_fall_to_chance() {
    let (x, y) = blobs(5);
    let groups: Vec<usize> = (0..60).collect();
    let cfg = CvConfig {
        folds: 5,
        repeats: 5,
        seed: 2,
        standardize: true,
    };
    let true_score = cross_validate(x.view(), &y, &groups, &Learner::Logistic, &cfg).unwrap();
    let scrambled = cross_validate(
        x.view(),
        &permutation_labels(&y, 17),
        &groups,
        &Learner::Logistic,
        &cfg,
    )
    .unwrap();
    assert!(true_score.mean > 0.95);
    assert!(scrambled.mean < 0.6, "chance is 1/3: {scrambled:?}");
}

#[test]
fn single_class_training_set_predicts_that_class() {
    let x_train = Array2::from_shape_fn((6, 2), |(i, j)| (i * 2 + j) as f64);
    let x_test = Array2::from_shape_fn((3, 2), |(i, j)| (i + j) as f64 * 0.5);
    for learner in &ALL {
        let predicted = fit_predict(
            learner,
            &LearnerParams::default(),
            &x_train,
            &[4; 6],
            &x_test,
            0,
        )
        .unwrap();
        assert_eq!(predicted, vec![4, 4, 4], "{}", learner.name());
    }
}

#[test]
fn non_finite_features_are_refused_by_row_and_column() {
    let (mut x, y) = blobs(6);
    x[[17, 2]] = f64::NAN;
    let groups: Vec<usize> = (0..60).collect();
    let err = cross_validate(
        x.view(),
        &y,
        &groups,
        &Learner::GaussianNb,
        &CvConfig::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            CompareError::NonFiniteFeature {
                row: 17,
                column: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("row 17, column 2"));
    x[[17, 2]] = 0.0;
    x[[3, 0]] = f64::INFINITY;
    let err =
        cross_validate(x.view(), &y, &groups, &Learner::Svm, &CvConfig::default()).unwrap_err();
    assert!(
        matches!(
            err,
            CompareError::NonFiniteFeature {
                row: 3,
                column: 0,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn bad_settings_are_refused_by_name() {
    let (x, y) = blobs(7);
    let groups: Vec<usize> = (0..60).collect();
    let err = cross_validate(
        x.view(),
        &y,
        &groups,
        &Learner::Knn { k: 0 },
        &CvConfig::default(),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        CompareError::InvalidParameter { name: "k", .. }
    ));
    let err = cross_validate(
        x.view(),
        &y,
        &groups,
        &Learner::Majority,
        &CvConfig {
            repeats: 0,
            ..CvConfig::default()
        },
    )
    .unwrap_err();
    assert!(matches!(
        err,
        CompareError::InvalidParameter {
            name: "repeats",
            ..
        }
    ));
    let err = cross_validate(
        x.view(),
        &y[..59],
        &groups,
        &Learner::Majority,
        &CvConfig::default(),
    )
    .unwrap_err();
    assert!(matches!(err, CompareError::LengthMismatch { .. }));
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<basin_compare::Correlation>();
    check::<basin_compare::CvScore>();
    check::<basin_compare::CompareError>();
    check::<Learner>();
    check::<LearnerParams>();
}

#[test]
fn scores_do_not_depend_on_the_thread_count() {
    let (x, y) = blobs(9);
    let y = permutation_labels(&y, 1)
        .iter()
        .zip(&y)
        .enumerate()
        .map(|(i, (&p, &t))| if i % 3 == 0 { p } else { t })
        .collect::<Vec<_>>();
    let groups: Vec<usize> = (0..60).collect();
    let cfg = CvConfig {
        folds: 5,
        repeats: 2,
        seed: 4,
        standardize: true,
    };
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let four_threads = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    for learner in [Learner::RandomForest, Learner::Svm] {
        let a =
            one_thread.install(|| cross_validate(x.view(), &y, &groups, &learner, &cfg).unwrap());
        let b =
            four_threads.install(|| cross_validate(x.view(), &y, &groups, &learner, &cfg).unwrap());
        assert_eq!(a, b);
    }
}
