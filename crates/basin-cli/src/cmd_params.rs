//! `basin params`: per-stage extracts of a params file for make.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::params::Params;

/// Arguments of `basin params`.
#[derive(Debug, Args)]
pub(crate) struct ParamsArgs {
    /// The pipeline's params file.
    #[arg(long)]
    params: PathBuf,
    /// Comma-separated sections to extract, e.g. `data,train`.
    #[arg(long, value_delimiter = ',', required = true)]
    sections: Vec<String>,
    /// Output file; rewritten only when the extracted sections changed, so its
    /// modification time tells make whether the stage must rerun.
    #[arg(long)]
    out: PathBuf,
}

pub(crate) fn run(args: &ParamsArgs) -> Result<()> {
    let params = Params::load(&args.params)?;
    let text = params.extract(&args.sections)?;
    if std::fs::read_to_string(&args.out).ok().as_deref() == Some(text.as_str()) {
        tracing::debug!("{} unchanged", args.out.display());
        return Ok(());
    }
    basin_store::atomic::write_atomically(&args.out, |w| {
        use std::io::Write;
        w.write_all(text.as_bytes()).map_err(|source| basin_store::StoreError::Io { path: args.out.clone(), source })
    })
    .with_context(|| format!("writing {}", args.out.display()))?;
    tracing::info!("{} updated", args.out.display());
    Ok(())
}
