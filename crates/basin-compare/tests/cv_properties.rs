//! Invariants of the stratified group k-fold split.

use std::collections::HashMap;

use basin_compare::{stratified_group_kfold, CompareError};
use proptest::prelude::*;

/// Labels of 2 to 5 classes and a number of folds no larger than the rows.
fn labels_and_folds() -> impl Strategy<Value = (Vec<usize>, usize)> {
    (2usize..6, 10usize..200).prop_flat_map(|(classes, n)| {
        (proptest::collection::vec(0..classes, n), 2usize..=10.min(n))
    })
}

/// Rows in groups: each group has a label (as a net has) and 1 to 6 rows.
fn grouped_rows() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, usize)> {
    (
        proptest::collection::vec((0usize..3, 1usize..7), 4..60),
        2usize..6,
    )
        .prop_map(|(groups, folds)| {
            let (mut labels, mut ids) = (Vec::new(), Vec::new());
            for (g, &(label, size)) in groups.iter().enumerate() {
                for _ in 0..size {
                    labels.push(label);
                    ids.push(1000 + 7 * g); // arbitrary, sparse group ids
                }
            }
            let folds = folds.min(groups.len());
            (labels, ids, folds)
        })
}

fn assert_partition(folds: &[Vec<usize>], rows: usize) {
    let mut seen = vec![0usize; rows];
    for fold in folds {
        for &i in fold {
            seen[i] += 1;
        }
    }
    assert!(
        seen.iter().all(|&s| s == 1),
        "every row is tested exactly once"
    );
}

proptest! {
    #[test]
    fn singleton_groups_are_stratified_to_within_one((labels, folds) in labels_and_folds(), seed in any::<u64>()) {
        let groups: Vec<usize> = (0..labels.len()).collect();
        let split = stratified_group_kfold(&labels, &groups, folds, seed).unwrap();
        prop_assert_eq!(split.len(), folds);
        assert_partition(&split, labels.len());
        for class in 0..6 {
            let total = labels.iter().filter(|&&l| l == class).count();
            let ideal = total as f64 / folds as f64;
            for fold in &split {
                let count = fold.iter().filter(|&&i| labels[i] == class).count() as f64;
                prop_assert!((count - ideal).abs() < 1.0, "class {} has {} in a fold, ideal {}", class, count, ideal);
            }
        }
    }

    #[test]
    fn groups_never_straddle_folds((labels, groups, folds) in grouped_rows(), seed in any::<u64>()) {
        let split = stratified_group_kfold(&labels, &groups, folds, seed).unwrap();
        prop_assert_eq!(split.len(), folds);
        assert_partition(&split, labels.len());
        let mut fold_of_group = HashMap::new();
        for (f, fold) in split.iter().enumerate() {
            prop_assert!(fold.windows(2).all(|w| w[0] < w[1]), "test indices ascend");
            for &i in fold {
                let previous = fold_of_group.insert(groups[i], f);
                prop_assert!(previous.is_none() || previous == Some(f), "group {} in two folds", groups[i]);
            }
        }
    }

    #[test]
    fn same_seed_same_folds((labels, groups, folds) in grouped_rows(), seed in any::<u64>()) {
        let a = stratified_group_kfold(&labels, &groups, folds, seed).unwrap();
        let b = stratified_group_kfold(&labels, &groups, folds, seed).unwrap();
        prop_assert_eq!(a, b);
    }
}

#[test]
fn seeds_shuffle_the_assignment() {
    let labels: Vec<usize> = (0..60).map(|i| i % 3).collect();
    let groups: Vec<usize> = (0..60).collect();
    let a = stratified_group_kfold(&labels, &groups, 5, 1).unwrap();
    let b = stratified_group_kfold(&labels, &groups, 5, 2).unwrap();
    assert_ne!(a, b);
}

#[test]
fn groups_of_one_class_balance_groups_across_folds() {
    // 8 nets of class 0 and 4 of class 1, 3 rows each, 4 folds: each fold
    // gets 2 nets of class 0 and 1 of class 1 (9 rows).
    let mut labels = Vec::new();
    let mut groups = Vec::new();
    for net in 0..12 {
        for _ in 0..3 {
            labels.push(usize::from(net >= 8));
            groups.push(net);
        }
    }
    for seed in 0..20 {
        let split = stratified_group_kfold(&labels, &groups, 4, seed).unwrap();
        for fold in &split {
            assert_eq!(fold.len(), 9);
            assert_eq!(fold.iter().filter(|&&i| labels[i] == 1).count(), 3);
        }
    }
}

#[test]
fn a_class_smaller_than_folds_is_allowed() {
    // scikit-learn warns but splits; so do we. The rare class lands in 2 folds.
    let labels = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
    let groups: Vec<usize> = (0..10).collect();
    let split = stratified_group_kfold(&labels, &groups, 5, 0).unwrap();
    assert_eq!(
        split
            .iter()
            .filter(|f| f.iter().any(|&i| labels[i] == 1))
            .count(),
        2
    );
}

#[test]
fn more_folds_than_groups_is_refused() {
    let labels = [0, 0, 1, 1];
    let groups = [0, 0, 1, 1];
    let err = stratified_group_kfold(&labels, &groups, 3, 0).unwrap_err();
    assert!(
        matches!(err, CompareError::InvalidParameter { name: "folds", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("only 2 groups"));
}

#[test]
fn bad_arguments_are_refused() {
    assert!(matches!(
        stratified_group_kfold(&[0, 1], &[0, 1], 1, 0),
        Err(CompareError::InvalidParameter { .. })
    ));
    assert!(matches!(
        stratified_group_kfold(&[0, 1], &[0], 2, 0),
        Err(CompareError::LengthMismatch { .. })
    ));
}
