//! `basin landscape merge-tree`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use basin_landscape::topology::graph::{detect_grid, grid_graph, knn_graph};
use basin_landscape::topology::merge_tree::merge_tree;
use basin_landscape::topology::smad::smad;
use basin_landscape::{merge_tree_diagram_frame, merge_tree_features_frame, merge_tree_frame};
use basin_store::polars::prelude::DataFrame;
use basin_store::schema::{DIAGRAMS, FEATURES, MERGE_TREES, PROBES, SURFACES};
use basin_store::{columns, read_provenance, read_table, write_table, Provenance};
use clap::{Args, ValueEnum};

/// How points are joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GraphKind {
    /// Axis neighbours of a full grid (`surfaces` grids, the `grid` probes).
    Grid,
    /// k nearest neighbours of the points' coordinates.
    Knn,
    /// `grid` when the points form a full grid, else `knn`.
    Auto,
}

/// Arguments of `basin landscape merge-tree`.
#[derive(Debug, Args)]
pub(crate) struct MergeTreeArgs {
    /// A `surfaces` or `probes` file (of one net).
    input: PathBuf,
    /// Only the rows of this surface (`surfaces`) or method (`probes`).
    #[arg(long)]
    select: Option<String>,
    /// The loss column whose sublevel sets are tracked (`probes` also have
    /// `val_loss` and `test_loss`).
    #[arg(long, default_value = "train_loss")]
    loss: String,
    /// Graph joining the points.
    #[arg(long, value_enum, default_value = "auto")]
    graph: GraphKind,
    /// Neighbours per point of the kNN graph (default: 8 in 2D, else 4 × dimension).
    #[arg(long)]
    k: Option<usize>,
    /// Mutual kNN (both points among each other's k nearest); default: off
    /// in 2D, on otherwise.
    #[arg(long)]
    mutual: Option<bool>,
    /// Output `diagrams` file: the H0 persistence pairs (source `merge-tree:…`).
    #[arg(long)]
    out: PathBuf,
    /// Output `merge_trees` file: the tree's nodes.
    #[arg(long)]
    tree_out: Option<PathBuf>,
    /// Output `features` file (feature set `landscape`, names prefixed
    /// `merge_tree:`): minima, saddles, persistence, SMAD.
    #[arg(long)]
    features_out: Option<PathBuf>,
    /// Write the landscape profile as `<STEM>.{png,svg}` (every basin as wide
    /// as the points in it, as Geniesse et al. draw them).
    #[arg(long)]
    figures: Option<PathBuf>,
}

pub(crate) fn merge_tree_cmd(args: &MergeTreeArgs) -> Result<()> {
    let path = &args.input;
    let prov = read_provenance(path)?;
    let (df, select_col) = match prov.schema.as_str() {
        "surfaces" => (read_table(path, &SURFACES)?.0, "surface"),
        "probes" => (read_table(path, &PROBES)?.0, "method"),
        other => bail!("{}: a `{other}` file; merge trees are built from `surfaces` or `probes` files", path.display()),
    };
    let (run_id, kind, coords, values) = rows(&df, path, select_col, args.select.as_deref(), &args.loss)?;
    let dims = coords[0].len();
    let grid = detect_grid(&coords);
    let pts: Vec<Vec<f64>> = coords.iter().map(|c| c.iter().map(|&x| f64::from(x)).collect()).collect();
    let (adjacency, graph_desc) = match (args.graph, grid) {
        (GraphKind::Grid | GraphKind::Auto, Some(shape)) => (grid_graph(&shape), serde_json::json!({ "graph": "grid", "shape": shape })),
        (GraphKind::Grid, None) => bail!("{}: the points are not a full grid in row-major order; use --graph knn", path.display()),
        (GraphKind::Knn | GraphKind::Auto, _) => {
            let k = args.k.unwrap_or(if dims == 2 { 8 } else { 4 * dims });
            let mutual = args.mutual.unwrap_or(dims != 2);
            (knn_graph(&pts, k, mutual)?, serde_json::json!({ "graph": "knn", "k": k, "mutual": mutual }))
        }
    };
    let tree = merge_tree(&values, &adjacency)?;
    let smad = smad(&tree, &values, &adjacency, Some(pts.as_slice()))?;
    if tree.n_nonfinite > 0 {
        tracing::warn!("{}: {} points with a non-finite {} left out of the merge tree", path.display(), tree.n_nonfinite, args.loss);
    }
    tracing::info!(
        "{run_id} {kind}: {} minima, {} saddles, average persistence {:.4}, SMAD {:.4} (normalised {:.4}, weighted {:.4})",
        tree.n_minima(),
        tree.n_saddles(),
        tree.average_persistence(),
        smad.plain,
        smad.normalized,
        smad.weighted
    );
    let source = format!("{kind}:{}", args.loss);
    let params = serde_json::json!({ "input_schema": prov.schema, "select": args.select, "loss": args.loss, "graph": graph_desc });
    let make_prov = |schema| -> Result<Provenance> {
        Ok(Provenance::new(schema, "landscape merge-tree").with_params(params.clone()).with_inputs(std::slice::from_ref(path))?)
    };
    let mut diag = merge_tree_diagram_frame(&run_id, &source, &tree)?;
    write_table(&args.out, &mut diag, &DIAGRAMS, &make_prov(&DIAGRAMS)?)?;
    if let Some(p) = &args.tree_out {
        let mut df = merge_tree_frame(&run_id, &source, &tree)?;
        let prov = make_prov(&MERGE_TREES)?.with_extra("profile", serde_json::to_string(&tree.profile())?);
        write_table(p, &mut df, &MERGE_TREES, &prov)?;
    }
    if let Some(stem) = &args.figures {
        let title = format!("{run_id} {source}: {} minima, {} saddles", tree.n_minima(), tree.n_saddles());
        basin_landscape::write_curves(stem, &[("profile", tree.profile())], "basin width (points)", &args.loss, false, &title)?;
    }
    if let Some(p) = &args.features_out {
        let mut df = merge_tree_features_frame(&run_id, "merge_tree:", &tree, &smad)?;
        write_table(p, &mut df, &FEATURES, &make_prov(&FEATURES)?)?;
    }
    Ok(())
}

/// The run id, the selected kind, coordinates and losses of some rows.
type Rows = (String, String, Vec<Vec<f32>>, Vec<f64>);

/// The run id, the selected kind, coordinates and losses of the rows of one
/// net (and one surface or method).
fn rows(df: &DataFrame, path: &Path, select_col: &str, select: Option<&str>, loss: &str) -> Result<Rows> {
    let ids = columns::strings(df, "run_id", path)?;
    let kinds = columns::strings(df, select_col, path)?;
    let coords = columns::f32_lists(df, "coords", path)?;
    let values = columns::f64s(df, loss, path).with_context(|| format!("--loss {loss}"))?;
    let kind = match select {
        Some(s) => s.to_owned(),
        None => kinds.first().cloned().with_context(|| format!("{}: no rows", path.display()))?,
    };
    let keep: Vec<usize> = (0..df.height()).filter(|&i| kinds[i] == kind).collect();
    if keep.is_empty() {
        bail!("{}: no rows with {select_col} {kind:?}", path.display());
    }
    let run_id = ids[keep[0]].clone();
    if let Some(&i) = keep.iter().find(|&&i| ids[i] != run_id) {
        bail!("{}: row {i} belongs to net {:?}, row {} to {run_id:?}: one net per merge tree", path.display(), ids[i], keep[0]);
    }
    if let Some(&i) = keep.iter().find(|&&i| coords[i].len() != coords[keep[0]].len()) {
        bail!("{}: row {i} has {} coordinates, row {} has {}", path.display(), coords[i].len(), keep[0], coords[keep[0]].len());
    }
    Ok((run_id, kind, keep.iter().map(|&i| coords[i].clone()).collect(), keep.iter().map(|&i| values[i]).collect()))
}
