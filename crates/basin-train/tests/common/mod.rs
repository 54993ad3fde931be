//! Shared fixtures: the shipped digits, split and standardised.
#![allow(dead_code, unreachable_pub)]

use basin_data::shipped::{default_data_dir, load, Shipped};
use basin_data::split::stratified_split;
use basin_data::standardize::{Standardization, Standardizer};
use basin_data::{rng::stream, Dataset};
use basin_train::Splits;

/// Digits, stratified 60/20/20 with split seed 0, globally standardised on train.
pub fn digits_splits() -> Splits {
    let all = load(Shipped::Digits, &default_data_dir()).expect("shipped digits");
    splits_of(&all, 0)
}

pub fn splits_of(all: &Dataset, seed: u64) -> Splits {
    let s = stratified_split(&all.labels, 0.2, 0.2, &mut stream(seed, "split")).expect("split");
    let mut train = all.select(&s.train).expect("train rows");
    let mut val = all.select(&s.val).expect("val rows");
    let mut test = all.select(&s.test).expect("test rows");
    let st = Standardizer::fit(train.features.view(), Standardization::Global);
    for ds in [&mut train, &mut val, &mut test] {
        st.apply(&mut ds.features.view_mut());
    }
    Splits { train, val, test }
}

/// The first `n` rows of each split (fast tests).
pub fn head(splits: &Splits, n: usize) -> Splits {
    let take = |d: &Dataset| d.select(&(0..n.min(d.len())).collect::<Vec<_>>()).expect("rows");
    Splits { train: take(&splits.train), val: take(&splits.val), test: take(&splits.test) }
}
