//! Seeded, stratified train / validation / test splits.

use rand::seq::SliceRandom;
use rand::Rng;

use crate::error::{DataError, DataResult};

/// Which part of a split a sample belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Subset {
    /// Used to fit the weights.
    Train,
    /// Used to choose hyper-parameters and to report validation metrics.
    Val,
    /// Held out, for the generalization figures.
    Test,
}

impl Subset {
    /// `train`, `val` or `test`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Val => "val",
            Self::Test => "test",
        }
    }

    /// Parses the output of [`Subset::name`].
    ///
    /// # Errors
    /// [`DataError::Invalid`] for any other string.
    pub fn from_name(s: &str) -> DataResult<Self> {
        match s {
            "train" => Ok(Self::Train),
            "val" => Ok(Self::Val),
            "test" => Ok(Self::Test),
            other => Err(DataError::Invalid(format!("unknown subset {other:?} (train, val or test)"))),
        }
    }
}

/// Row indices of each subset, each sorted ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training rows.
    pub train: Vec<usize>,
    /// Validation rows.
    pub val: Vec<usize>,
    /// Test rows.
    pub test: Vec<usize>,
}

impl Split {
    /// The subset of every row `0..n`.
    #[must_use]
    pub fn assignment(&self) -> Vec<Subset> {
        let n = self.train.len() + self.val.len() + self.test.len();
        let mut out = vec![Subset::Train; n];
        for &i in &self.val {
            out[i] = Subset::Val;
        }
        for &i in &self.test {
            out[i] = Subset::Test;
        }
        out
    }

    /// Rebuilds a split from per-row subsets (as stored in a split file).
    #[must_use]
    pub fn from_assignment(subsets: &[Subset]) -> Self {
        let pick = |s: Subset| subsets.iter().enumerate().filter(|(_, &x)| x == s).map(|(i, _)| i).collect();
        Self { train: pick(Subset::Train), val: pick(Subset::Val), test: pick(Subset::Test) }
    }
}

/// Splits rows stratified by label: within every class, a seeded shuffle
/// puts `round(n_c · test_fraction)` rows in test, `round(n_c ·
/// val_fraction)` in validation and the rest in training, so every subset
/// keeps the class proportions of the whole set.
///
/// # Errors
/// [`DataError::InvalidParameter`] when a fraction is negative or they sum
/// to 1 or more.
///
/// # Example
/// ```
/// use basin_data::{split::stratified_split, rng::stream};
/// let labels: Vec<u32> = (0..100).map(|i| i % 2).collect();
/// let s = stratified_split(&labels, 0.2, 0.2, &mut stream(0, "split")).unwrap();
/// assert_eq!((s.train.len(), s.val.len(), s.test.len()), (60, 20, 20));
/// ```
pub fn stratified_split<R: Rng + ?Sized>(
    labels: &[u32],
    val_fraction: f64,
    test_fraction: f64,
    rng: &mut R,
) -> DataResult<Split> {
    for (name, f) in [("val_fraction", val_fraction), ("test_fraction", test_fraction)] {
        if !(0.0..1.0).contains(&f) {
            return Err(DataError::InvalidParameter { name, reason: format!("{f} is not in [0, 1)") });
        }
    }
    if val_fraction + test_fraction >= 1.0 {
        return Err(DataError::InvalidParameter {
            name: "val_fraction",
            reason: format!("val_fraction + test_fraction = {} leaves no training data", val_fraction + test_fraction),
        });
    }
    let n_classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l as usize].push(i);
    }
    let mut split = Split { train: Vec::new(), val: Vec::new(), test: Vec::new() };
    for mut rows in by_class {
        rows.shuffle(rng);
        let share = |f: f64| (rows.len() as f64 * f).round() as usize;
        let n_test = share(test_fraction);
        let n_val = share(val_fraction).min(rows.len() - n_test);
        split.test.extend_from_slice(&rows[..n_test]);
        split.val.extend_from_slice(&rows[n_test..n_test + n_val]);
        split.train.extend_from_slice(&rows[n_test + n_val..]);
    }
    split.train.sort_unstable();
    split.val.sort_unstable();
    split.test.sort_unstable();
    Ok(split)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;
    use crate::shipped::{default_data_dir, load, Shipped};
    use proptest::prelude::*;

    #[test]
    fn digits_split_is_stratified_and_reproducible() {
        let d = load(Shipped::Digits, &default_data_dir()).unwrap();
        let s = stratified_split(&d.labels, 0.15, 0.25, &mut stream(42, "split")).unwrap();
        let again = stratified_split(&d.labels, 0.15, 0.25, &mut stream(42, "split")).unwrap();
        assert_eq!(s, again);
        let other = stratified_split(&d.labels, 0.15, 0.25, &mut stream(43, "split")).unwrap();
        assert_ne!(s.test, other.test);
        let total = d.class_counts();
        let test = d.select(&s.test).unwrap().class_counts();
        for (c, (&t, &all)) in test.iter().zip(&total).enumerate() {
            let expected = (all as f64 * 0.25).round() as usize;
            assert_eq!(t, expected, "class {c}");
        }
        assert_eq!(s.train.len() + s.val.len() + s.test.len(), 1797);
    }

    proptest! {
        #[test]
        fn split_is_a_partition(labels in proptest::collection::vec(0u32..5, 1..300), seed in any::<u64>()) {
            let s = stratified_split(&labels, 0.2, 0.3, &mut stream(seed, "split")).unwrap();
            let mut all: Vec<usize> = s.train.iter().chain(&s.val).chain(&s.test).copied().collect();
            all.sort_unstable();
            prop_assert_eq!(all, (0..labels.len()).collect::<Vec<_>>());
            prop_assert_eq!(Split::from_assignment(&s.assignment()), s);
        }
    }

    #[test]
    fn fractions_must_leave_training_data() {
        let err = stratified_split(&[0, 1], 0.5, 0.5, &mut stream(0, "s")).unwrap_err();
        assert!(err.to_string().contains("val_fraction"));
    }
}
