//! `basin inspect`: what a basin Parquet file holds and how it was made.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

/// Arguments of `basin inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// A Parquet file written by basin.
    file: PathBuf,
    /// How many rows to print.
    #[arg(long, default_value_t = 5)]
    rows: usize,
}

pub(crate) fn run(args: &InspectArgs) -> Result<()> {
    let prov = basin_store::read_provenance(&args.file)?;
    let df = basin_store::read_any_parquet(&args.file)?;
    println!("file:     {}", args.file.display());
    println!("schema:   {} {}", prov.schema, prov.schema_version);
    println!("written:  basin {} `{}`", prov.basin_version, prov.command);
    println!("params:   {}", prov.params);
    println!("seeds:    {}", prov.seeds);
    for input in &prov.inputs {
        println!("input:    {} sha256:{}", input.path, input.sha256);
    }
    for k in prov.extra.keys() {
        println!("extra:    basin.extra.{k}");
    }
    println!("rows:     {}", df.height());
    println!("{}", df.head(Some(args.rows)));
    Ok(())
}
