//! `basin data`: loading data sets and writing their splits.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use basin_data::split::{stratified_split, Split, Subset};
use basin_data::standardize::Standardizer;
use basin_data::{cifar, idx, rng, shipped, table, Dataset};
use basin_store::polars::prelude::*;
use basin_store::schema::SPLITS;
use basin_store::{columns, read_table, write_table, Provenance};
use clap::{Args, Subcommand};

use crate::params::{DataParams, Params};

/// `basin data …`
#[derive(Debug, Subcommand)]
pub(crate) enum DataCommand {
    /// Write a seeded, stratified train/val/test split of the `[data]` set
    /// (a `splits` table: one row per sample).
    Split(SplitArgs),
}

/// Arguments of `basin data split`.
#[derive(Debug, Args)]
pub(crate) struct SplitArgs {
    /// Params file with a `[data]` section (dataset, fractions, seed).
    #[arg(long)]
    params: PathBuf,
    /// Output `splits` Parquet file.
    #[arg(long)]
    out: PathBuf,
}

pub(crate) fn run(cmd: DataCommand) -> Result<()> {
    match cmd {
        DataCommand::Split(a) => split(&a),
    }
}

fn split(args: &SplitArgs) -> Result<()> {
    let params = Params::load(&args.params)?;
    let data: DataParams = params.section("data")?;
    let (ds, inputs) = load_dataset(&data)?;
    let split = stratified_split(&ds.labels, data.val_fraction, data.test_fraction, &mut rng::stream(data.seed, "split"))?;
    let subsets: Vec<&str> = split.assignment().iter().map(|s| s.name()).collect();
    let mut df = DataFrame::new_infer_height(vec![
        Column::new("sample".into(), (0..ds.len() as i64).collect::<Vec<_>>()),
        Column::new("subset".into(), subsets),
        Column::new("label".into(), ds.labels.iter().map(|&l| i64::from(l)).collect::<Vec<_>>()),
    ])?;
    let prov = Provenance::new(&SPLITS, "data split")
        .with_params(params.section_json("data"))
        .with_seeds(serde_json::json!({ "split": data.seed }))
        .with_inputs(&inputs)?
        .with_extra("dataset", ds.name.clone());
    write_table(&args.out, &mut df, &SPLITS, &prov)?;
    tracing::info!(
        "{}: {} samples → train {}, val {}, test {} → {}",
        ds.name,
        ds.len(),
        split.train.len(),
        split.val.len(),
        split.test.len(),
        args.out.display()
    );
    Ok(())
}

/// Loads the `[data]` set; returns it with the files it was read from.
pub(crate) fn load_dataset(data: &DataParams) -> Result<(Dataset, Vec<PathBuf>)> {
    let (mut ds, inputs) = match data.dataset.as_str() {
        "digits" | "mnist5k" => {
            let set = shipped::Shipped::from_name(&data.dataset)?;
            let file = data.data_dir.join("images").join(if data.dataset == "digits" { "digits.csv.gz" } else { "mnist_5k.csv.gz" });
            (shipped::load(set, &data.data_dir)?, vec![file])
        }
        "idx" => {
            let (Some(images), Some(labels)) = (&data.idx_images, &data.idx_labels) else {
                bail!("[data] dataset = \"idx\" needs `idx_images` and `idx_labels`");
            };
            (idx::load_idx(images, labels, "idx")?, vec![images.clone(), labels.clone()])
        }
        "cifar10" => {
            if data.cifar_batches.is_empty() {
                bail!("[data] dataset = \"cifar10\" needs `cifar_batches` (a list of .bin files)");
            }
            let paths: Vec<&Path> = data.cifar_batches.iter().map(PathBuf::as_path).collect();
            (cifar::load_cifar10(&paths, "cifar10")?, data.cifar_batches.clone())
        }
        "table" => {
            let Some(t) = &data.table else { bail!("[data] dataset = \"table\" needs `table` (a CSV or Parquet file)") };
            (table::load_table(t, &data.label_column, None)?, vec![t.clone()])
        }
        other => bail!("[data] dataset = {other:?}: expected digits, mnist5k, idx, cifar10 or table"),
    };
    if let Some(limit) = data.limit {
        let rows: Vec<usize> = (0..limit.min(ds.len())).collect();
        ds = ds.select(&rows)?;
    }
    Ok((ds, inputs))
}

/// The train, validation and test sets of a split, standardised with
/// statistics of the training set only.
#[derive(Debug, Clone)]
pub(crate) struct SplitSets {
    pub train: Dataset,
    pub val: Dataset,
    pub test: Dataset,
}

/// Reads a `splits` file and applies it to the `[data]` set.
pub(crate) fn load_split_sets(data: &DataParams, split_path: &Path) -> Result<(SplitSets, Vec<PathBuf>)> {
    let (ds, mut inputs) = load_dataset(data)?;
    let (df, _) = read_table(split_path, &SPLITS)?;
    let samples = columns::i64s(&df, "sample", split_path)?;
    let subsets = columns::strings(&df, "subset", split_path)?;
    if samples.len() != ds.len() {
        bail!("{}: {} rows, but the data set has {} samples: was it made from other [data] params?", split_path.display(), samples.len(), ds.len());
    }
    let mut assignment = vec![Subset::Train; ds.len()];
    for (row, (&s, name)) in samples.iter().zip(&subsets).enumerate() {
        let i = usize::try_from(s).ok().filter(|&i| i < ds.len()).with_context(|| format!("{}: row {row}: sample {s} out of range", split_path.display()))?;
        assignment[i] = Subset::from_name(name).with_context(|| format!("{}: row {row}", split_path.display()))?;
    }
    let split = Split::from_assignment(&assignment);
    let (mut train, mut val, mut test) = (ds.select(&split.train)?, ds.select(&split.val)?, ds.select(&split.test)?);
    let standardizer = Standardizer::fit(train.view(), data.standardize);
    for set in [&mut train, &mut val, &mut test] {
        standardizer.apply(&mut set.features.view_mut());
    }
    inputs.push(split_path.to_path_buf());
    Ok((SplitSets { train, val, test }, inputs))
}
