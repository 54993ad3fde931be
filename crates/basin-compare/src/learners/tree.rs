//! CART classification trees (Gini impurity) and the random forest built
//! from them, written here rather than taken from linfa-trees 0.8.1 /
//! linfa-ensemble 0.8.1 because those are not reproducible: linfa-trees sums
//! the Gini impurity in `f32` over a `HashMap` of class weights and breaks
//! modal-class ties in `HashMap` order, and `HashMap` order changes from run
//! to run, so the same data could grow a different tree (seen in
//! `tests/cross_validate.rs::same_seed_same_scores`).
//!
//! Here split quality is compared in exact integer arithmetic, ties go to the
//! first candidate (features in visiting order, thresholds ascending) and
//! class ties to the smallest label, as in scikit-learn's
//! `DecisionTreeClassifier` / `RandomForestClassifier`.

use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// scikit-learn's `FEATURE_THRESHOLD`: values closer than this are one value.
const FEATURE_THRESHOLD: f64 = 1e-7;

enum Node {
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
    Leaf {
        counts: Vec<usize>,
    },
}

/// A fitted tree over class indices `0..classes`.
pub(super) struct Tree {
    nodes: Vec<Node>,
}

/// The best split found at a node: `score = numerator / denominator` is
/// scikit-learn's impurity proxy `sum_c l_c^2 / n_l + sum_c r_c^2 / n_r`
/// (larger is better), kept as an exact fraction.
struct Candidate {
    feature: usize,
    threshold: f64,
    numerator: u128,
    denominator: u128,
}

impl Tree {
    /// Grows a tree to purity on `rows` of `x` (duplicates allowed: a
    /// bootstrap sample). With `max_features = Some(m)` each node looks at
    /// `m` features drawn without replacement from `rng`, and at more if none
    /// of those can split the node (as scikit-learn).
    pub(super) fn fit(
        x: &Array2<f64>,
        y: &[usize],
        classes: usize,
        rows: Vec<usize>,
        max_features: Option<usize>,
        rng: &mut ChaCha8Rng,
    ) -> Self {
        let mut nodes = Vec::new();
        let mut pending = vec![(rows, usize::MAX, false)]; // (rows, parent, is right child)
        while let Some((rows, parent, is_right)) = pending.pop() {
            let index = nodes.len();
            if parent != usize::MAX {
                if let Node::Split { left, right, .. } = &mut nodes[parent] {
                    if is_right {
                        *right = index;
                    } else {
                        *left = index;
                    }
                }
            }
            let counts = class_counts(y, classes, &rows);
            let pure = counts.iter().filter(|&&c| c > 0).count() <= 1;
            let split = if pure || rows.len() < 2 {
                None
            } else {
                best_split(x, y, classes, &rows, &counts, max_features, rng)
            };
            match split {
                None => nodes.push(Node::Leaf { counts }),
                Some(Candidate {
                    feature, threshold, ..
                }) => {
                    let (left, right): (Vec<usize>, Vec<usize>) =
                        rows.iter().partition(|&&r| x[[r, feature]] <= threshold);
                    nodes.push(Node::Split {
                        feature,
                        threshold,
                        left: 0,
                        right: 0,
                    });
                    // Right pushed first so the left subtree is grown first.
                    pending.push((right, index, true));
                    pending.push((left, index, false));
                }
            }
        }
        Self { nodes }
    }

    /// Class counts of the leaf that `row` of `x` falls in.
    fn leaf_counts(&self, x: &Array2<f64>, row: usize) -> &[usize] {
        let mut node = 0;
        loop {
            match &self.nodes[node] {
                Node::Leaf { counts } => return counts,
                Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => {
                    node = if x[[row, *feature]] <= *threshold {
                        *left
                    } else {
                        *right
                    };
                }
            }
        }
    }
}

fn class_counts(y: &[usize], classes: usize, rows: &[usize]) -> Vec<usize> {
    let mut counts = vec![0; classes];
    rows.iter().for_each(|&r| counts[y[r]] += 1);
    counts
}

fn best_split(
    x: &Array2<f64>,
    y: &[usize],
    classes: usize,
    rows: &[usize],
    counts: &[usize],
    max_features: Option<usize>,
    rng: &mut ChaCha8Rng,
) -> Option<Candidate> {
    let features = x.ncols();
    let mut order: Vec<usize> = (0..features).collect();
    let wanted = match max_features {
        Some(m) if m < features => {
            order.shuffle(rng);
            m
        }
        _ => features,
    };
    let mut best: Option<Candidate> = None;
    let mut sorted = rows.to_vec();
    for (visited, &feature) in order.iter().enumerate() {
        if visited >= wanted && best.is_some() {
            break;
        }
        sorted.sort_by(|&a, &b| x[[a, feature]].total_cmp(&x[[b, feature]]).then(a.cmp(&b)));
        let mut left = vec![0u128; classes];
        let mut right: Vec<u128> = counts.iter().map(|&c| c as u128).collect();
        let (mut left_sq, mut right_sq): (u128, u128) = (0, right.iter().map(|c| c * c).sum());
        let n = sorted.len() as u128;
        for i in 0..sorted.len() - 1 {
            let c = y[sorted[i]];
            left_sq += 2 * left[c] + 1;
            left[c] += 1;
            right_sq -= 2 * right[c] - 1;
            right[c] -= 1;
            let (here, next) = (x[[sorted[i], feature]], x[[sorted[i + 1], feature]]);
            if next <= here + FEATURE_THRESHOLD {
                continue;
            }
            let n_left = i as u128 + 1;
            let n_right = n - n_left;
            let numerator = left_sq * n_right + right_sq * n_left;
            let denominator = n_left * n_right;
            let better = best
                .as_ref()
                .is_none_or(|b| numerator * b.denominator > b.numerator * denominator);
            if better {
                let mut threshold = here / 2.0 + next / 2.0;
                if threshold >= next || !threshold.is_finite() {
                    threshold = here;
                }
                best = Some(Candidate {
                    feature,
                    threshold,
                    numerator,
                    denominator,
                });
            }
        }
    }
    best
}

/// Index of the largest value, the first (smallest class) among ties.
pub(super) fn argmax(values: impl Iterator<Item = f64>) -> usize {
    let mut best = (0, f64::NEG_INFINITY);
    for (i, v) in values.enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    best.0
}

/// Distinct sorted labels and each training row's class index.
fn encode(y_train: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut classes = y_train.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let encoded = y_train
        .iter()
        .map(|l| classes.binary_search(l).unwrap_or(0))
        .collect();
    (classes, encoded)
}

/// A single fully grown tree on all training rows and features.
pub(super) fn decision_tree(
    x_train: &Array2<f64>,
    y_train: &[usize],
    x_test: &Array2<f64>,
    seed: u64,
) -> Vec<usize> {
    let (classes, y) = encode(y_train);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let tree = Tree::fit(
        x_train,
        &y,
        classes.len(),
        (0..y.len()).collect(),
        None,
        &mut rng,
    );
    (0..x_test.nrows())
        .map(|row| classes[argmax(tree.leaf_counts(x_test, row).iter().map(|&c| c as f64))])
        .collect()
}

/// scikit-learn's `RandomForestClassifier` defaults: `trees` trees, each on a
/// bootstrap sample of the rows, `floor(sqrt(p))` features tried per split;
/// the forest predicts the class with the highest mean leaf frequency.
pub(super) fn random_forest(
    x_train: &Array2<f64>,
    y_train: &[usize],
    x_test: &Array2<f64>,
    trees: usize,
    seed: u64,
) -> Vec<usize> {
    let (classes, y) = encode(y_train);
    let max_features = ((x_train.ncols() as f64).sqrt().floor() as usize).max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut mean_frequency = Array2::<f64>::zeros((x_test.nrows(), classes.len()));
    for _ in 0..trees {
        let rows: Vec<usize> = (0..y.len()).map(|_| rng.random_range(0..y.len())).collect();
        let tree = Tree::fit(
            x_train,
            &y,
            classes.len(),
            rows,
            Some(max_features),
            &mut rng,
        );
        for row in 0..x_test.nrows() {
            let counts = tree.leaf_counts(x_test, row);
            let total = counts.iter().sum::<usize>() as f64;
            for (c, &count) in counts.iter().enumerate() {
                mean_frequency[[row, c]] += count as f64 / total;
            }
        }
    }
    mean_frequency
        .outer_iter()
        .map(|frequency| classes[argmax(frequency.iter().copied())])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn grows_to_purity_with_midpoint_thresholds() {
        let x = array![[0.0, 5.0], [1.0, 5.0], [2.0, 5.0], [3.0, 5.0]];
        let y = [0, 0, 1, 1];
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let tree = Tree::fit(&x, &y, 2, (0..4).collect(), None, &mut rng);
        assert_eq!(tree.nodes.len(), 3, "one split, two pure leaves");
        match tree.nodes[0] {
            Node::Split {
                feature, threshold, ..
            } => assert_eq!((feature, threshold), (0, 1.5)),
            Node::Leaf { .. } => panic!("root should split"),
        }
        let predicted = decision_tree(&x, &[7, 7, 9, 9], &array![[1.4, 0.0], [1.6, 0.0]], 0);
        assert_eq!(predicted, vec![7, 9]);
    }

    #[test]
    fn inseparable_rows_make_a_leaf_voting_the_smallest_label() {
        // Identical features, labels 3 and 1 once each: a tie, smallest label wins.
        let x = array![[1.0], [1.0]];
        assert_eq!(decision_tree(&x, &[3, 1], &array![[0.0]], 0), vec![1]);
    }

    #[test]
    fn forest_is_seeded() {
        let x = Array2::from_shape_fn((40, 3), |(i, j)| ((i * 7 + j * 13) % 11) as f64);
        let y: Vec<usize> = (0..40).map(|i| (i * 5 % 7) % 3).collect();
        let a = random_forest(&x, &y, &x, 10, 1);
        assert_eq!(a, random_forest(&x, &y, &x, 10, 1));
        assert_ne!(a, random_forest(&x, &y, &x, 10, 2));
    }
}
