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
    if write_if_changed(&args.out, &text)? {
        tracing::info!("{} updated", args.out.display());
    } else {
        tracing::debug!("{} unchanged", args.out.display());
    }
    Ok(())
}

/// Writes `text` to `path` atomically unless the file already holds exactly
/// that text, so its modification time changes only with its content (what
/// make's dependency checks need). Returns whether it wrote.
pub(crate) fn write_if_changed(path: &std::path::Path, text: &str) -> Result<bool> {
    if std::fs::read_to_string(path).ok().as_deref() == Some(text) {
        return Ok(false);
    }
    basin_store::atomic::write_atomically(path, |w| {
        use std::io::Write;
        w.write_all(text.as_bytes()).map_err(|source| basin_store::StoreError::Io { path: path.to_path_buf(), source })
    })
    .with_context(|| format!("writing {}", path.display()))?;
    Ok(true)
}
