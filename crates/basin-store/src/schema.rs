//! The Parquet schemas of every basin output.
//!
//! Each schema names its required columns and their types. Files may carry
//! extra columns (a `runs` table has one column per hyper-parameter of its
//! grid); readers check only what they need. Versions follow semver: a reader
//! accepts any minor version of its major and refuses a newer major.
//!
//! | schema | one row per | key columns |
//! |---|---|---|
//! | `splits` | sample of the data set | `sample`, `subset`, `label` |
//! | `runs` | trained net | `run_id` + hyper-parameters + final metrics |
//! | `trajectories` | (net, jump seed, step size, epoch) | `run_id`, `jump_seed`, `step_size`, `epoch` |
//! | `embeddings` | trajectory point | the trajectory key + `phate_1`, `phate_2`, … |
//! | `potential_distances` | trajectory point of one net | the trajectory key + `distances` |
//! | `diagrams` | persistence pair | `source`, `dim`, `birth`, `death`, `essential` |
//! | `cocycles` | (Rips bar, cocycle vertex) | `source`, `bar` + the vertex's trajectory key |
//! | `cycles` | (Rips bar of dimension 1, cycle edge) | `source`, `bar` + both endpoints' trajectory keys |
//! | `features` | (net, feature) | `run_id`, `feature_set`, `feature`, `value` |
//! | `comparisons` | (target, feature set, learner) | `target`, `feature_set`, `method`, `mean`, `sd` |
//! | `correlations` | (feature, target, method) | `feature_set`, `feature`, `target`, `method`, `estimate`, CI |
//! | `stratified_correlations` | (feature, target, method, stratum) | as `correlations` + `strata`, `stratum` |
//! | `probes` | (net, sampler, point) | `run_id`, `method`, `sample` + losses at that point |
//! | `surfaces` | (net, surface, grid point) | `run_id`, `surface`, `point`, `coords` + training loss |
//! | `hessian` | (net, parameter block, statistic, index) | `run_id`, `block`, `statistic`, `index`, `value` + uncertainty |
//! | `merge_trees` | (net, source, tree node) | `run_id`, `source`, `node`, `parent`, `vertex`, `value`, `kind` |
//! | `paths` | (net, surface, path point) | `run_id`, `surface`, `point`, `coords`, `off_plane`, `true_loss`, `surface_loss` |

use std::fmt;

/// The type of a column, as Parquet / Arrow sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// UTF-8 string (Arrow `large_utf8` / `string_view`).
    Text,
    /// 64-bit signed integer.
    Int64,
    /// 64-bit float.
    Float64,
    /// 32-bit float.
    Float32,
    /// Boolean.
    Bool,
    /// Variable-length list of 32-bit floats (Arrow `large_list<float>`).
    ListFloat32,
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Text => "string",
            Self::Int64 => "int64",
            Self::Float64 => "float64",
            Self::Float32 => "float32",
            Self::Bool => "bool",
            Self::ListFloat32 => "list<float32>",
        })
    }
}

/// One required column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Column name.
    pub name: &'static str,
    /// Its type.
    pub dtype: ColumnType,
    /// What it holds.
    pub doc: &'static str,
}

/// A documented table layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaSpec {
    /// Schema name, stored in every file's metadata.
    pub name: &'static str,
    /// Major version: a reader refuses files with a higher one.
    pub major: u32,
    /// Minor version: additions that old readers can ignore.
    pub minor: u32,
    /// The required columns.
    pub columns: &'static [ColumnSpec],
    /// What one row is.
    pub doc: &'static str,
}

impl SchemaSpec {
    /// `major.minor`.
    #[must_use]
    pub fn version(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }

    /// Markdown table of the columns, for docs and `basin schema`.
    #[must_use]
    pub fn to_markdown(&self) -> String {
        let mut s = format!("### `{}` (version {})\n\n{}\n\n| column | type | meaning |\n|---|---|---|\n", self.name, self.version(), self.doc);
        for c in self.columns {
            s.push_str(&format!("| `{}` | {} | {} |\n", c.name, c.dtype, c.doc));
        }
        s
    }
}

const fn col(name: &'static str, dtype: ColumnType, doc: &'static str) -> ColumnSpec {
    ColumnSpec { name, dtype, doc }
}

use ColumnType::{Bool, Float64, Int64, ListFloat32, Text};

/// One row per sample of a data set: which subset it belongs to.
pub const SPLITS: SchemaSpec = SchemaSpec {
    name: "splits",
    major: 1,
    minor: 0,
    doc: "One row per sample of the data set, in the data set's own row order.",
    columns: &[
        col("sample", Int64, "0-based row of the sample in the source data set"),
        col("subset", Text, "`train`, `val` or `test`"),
        col("label", Int64, "the true class label"),
    ],
};

/// One row per trained net.
pub const RUNS: SchemaSpec = SchemaSpec {
    name: "runs",
    major: 1,
    minor: 0,
    doc: "One row per trained net. Besides these columns, every hyper-parameter of the grid is a column of its own (`weight_decay`, `batch_size`, `augment`, `label_noise`, `lr`, …) plus `train_loss_clean`, `train_acc_clean` (true labels), `n_parameters` and `diverged`.",
    columns: &[
        col("run_id", Text, "stable id of the net, e.g. `wd0.0005-bs32-aug0-noise0-s0`"),
        col("dataset", Text, "data set name"),
        col("architecture", Text, "architecture as JSON"),
        col("seed", Int64, "root seed of the run"),
        col("epochs", Int64, "training epochs"),
        col("train_loss", Float64, "final cross-entropy on the training split, against the labels the net was trained on (noisy ones with label noise; `train_loss_clean` beside it uses the true labels)"),
        col("train_acc", Float64, "final accuracy on the training split, against the labels it was trained on"),
        col("val_loss", Float64, "final validation loss"),
        col("val_acc", Float64, "final validation accuracy"),
        col("test_loss", Float64, "final test loss"),
        col("test_acc", Float64, "final test accuracy"),
        col("gen_gap", Float64, "generalization gap: test_loss − train_loss"),
        col("checkpoint", Text, "path of the safetensors checkpoint"),
    ],
};

/// One row per logged point of a jump-and-retrain trajectory.
pub const TRAJECTORIES: SchemaSpec = SchemaSpec {
    name: "trajectories",
    major: 1,
    minor: 0,
    doc: "One row per (net, jump seed, step size, epoch). Epoch 0 is the jump point θo + step·d; a base net's own training path (`basin train --trajectory-out`) has jump seed −1, step size 0, and epoch 0 at its initialisation. `weights` holds every parameter of the net flattened in the documented order (parameter tensors sorted by name, each row-major); the order is also stored in the file metadata under `basin.parameter_layout`.",
    columns: &[
        col("run_id", Text, "the net (see `runs`)"),
        col("jump_seed", Int64, "seed of the random direction; −1 for the base net's own training path"),
        col("step_size", Float64, "jump length in units of the filter-normalised direction"),
        col("epoch", Int64, "0 = jump point, then after every retraining epoch"),
        col("train_loss", Float64, "cross-entropy on the training split"),
        col("train_acc", Float64, "accuracy on the training split"),
        col("val_loss", Float64, "validation loss"),
        col("val_acc", Float64, "validation accuracy"),
        col("test_loss", Float64, "test loss"),
        col("test_acc", Float64, "test accuracy"),
        col("diverged", Bool, "true when the loss became NaN or infinite; retraining stopped at that row"),
        col("weights", ListFloat32, "flattened parameters"),
    ],
};

/// One row per embedded trajectory point.
pub const EMBEDDINGS: SchemaSpec = SchemaSpec {
    name: "embeddings",
    major: 1,
    minor: 0,
    doc: "One row per embedded point, keyed like its input (`run_id`, `jump_seed`, `step_size`, `epoch` for trajectories); `scope` says whether the embedding is of one net or of all nets jointly; coordinates in `phate_1`, `phate_2`, ….",
    columns: &[
        col("scope", Text, "`per-net` or `joint`"),
        col("run_id", Text, "the net"),
        col("jump_seed", Int64, "jump seed"),
        col("step_size", Float64, "step size"),
        col("epoch", Int64, "epoch"),
        col("phate_1", Float64, "first PHATE coordinate"),
        col("phate_2", Float64, "second PHATE coordinate"),
    ],
};

/// One row per point: its row of the PHATE potential-distance matrix.
pub const POTENTIAL_DISTANCES: SchemaSpec = SchemaSpec {
    name: "potential_distances",
    major: 1,
    minor: 0,
    doc: "One row per trajectory point of one net, keyed like `embeddings`; `distances` is that point's row of the PHATE potential-distance matrix (the points in the file's row order). The topology stage builds its kNN graph on these.",
    columns: &[
        col("run_id", Text, "the net"),
        col("jump_seed", Int64, "jump seed"),
        col("step_size", Float64, "step size"),
        col("epoch", Int64, "epoch"),
        col("distances", ListFloat32, "potential distances to every point of the file, in row order"),
    ],
};

/// One row per persistence pair.
pub const DIAGRAMS: SchemaSpec = SchemaSpec {
    name: "diagrams",
    major: 1,
    minor: 0,
    doc: "One row per persistence pair. `source` names what the diagram is of (e.g. `vr:<run_id>` or `sublevel:<run_id>`).",
    columns: &[
        col("source", Text, "what the diagram is of"),
        col("run_id", Text, "the net, when the diagram is of one net"),
        col("dim", Int64, "homology dimension"),
        col("birth", Float64, "birth value"),
        col("death", Float64, "death value; +inf for an essential class"),
        col("essential", Bool, "true for a class that never dies"),
    ],
};

/// One row per (bar, vertex) of a representative cocycle.
pub const COCYCLES: SchemaSpec = SchemaSpec {
    name: "cocycles",
    major: 1,
    minor: 0,
    doc: "Long format: one row per vertex of the representative cocycle of each Rips bar (dimension ≥ 1), the vertex given as its trajectory point, so a user sees which checkpoints form a loop. `bar` numbers the bars of one source in the order of its `diagrams` rows.",
    columns: &[
        col("source", Text, "what the diagram is of (`vr:<run_id>`)"),
        col("run_id", Text, "the net"),
        col("bar", Int64, "index of the bar among the source's bars"),
        col("dim", Int64, "homology dimension of the bar"),
        col("birth", Float64, "birth value"),
        col("death", Float64, "death value; +inf for an essential class"),
        col("jump_seed", Int64, "the vertex's jump seed"),
        col("step_size", Float64, "the vertex's step size"),
        col("epoch", Int64, "the vertex's epoch"),
    ],
};

/// One row per (bar, edge) of a representative cycle.
pub const CYCLES: SchemaSpec = SchemaSpec {
    name: "cycles",
    major: 1,
    minor: 0,
    doc: "Long format: one row per edge of the representative cycle of each 1-dimensional Rips bar, both endpoints given as trajectory points (`_a` the lower point index, `_b` the higher), so a user can follow the loop of checkpoints. The cycle appears at the bar's birth and is filled at its death. `bar` numbers the bars of one source in the order of its `diagrams` rows, as in `cocycles`.",
    columns: &[
        col("source", Text, "what the diagram is of (`vr:<run_id>`)"),
        col("run_id", Text, "the net"),
        col("bar", Int64, "index of the bar among the source's bars"),
        col("birth", Float64, "birth value"),
        col("death", Float64, "death value; +inf for an essential class"),
        col("coefficient", Int64, "the edge's coefficient in Z/p, in (-p/2, p/2], for the edge oriented from a to b"),
        col("jump_seed_a", Int64, "first endpoint: jump seed"),
        col("step_size_a", Float64, "first endpoint: step size"),
        col("epoch_a", Int64, "first endpoint: epoch"),
        col("jump_seed_b", Int64, "second endpoint: jump seed"),
        col("step_size_b", Float64, "second endpoint: step size"),
        col("epoch_b", Int64, "second endpoint: epoch"),
    ],
};

/// One row per (net, feature).
pub const FEATURES: SchemaSpec = SchemaSpec {
    name: "features",
    major: 1,
    minor: 0,
    doc: "Long format: one row per net and feature.",
    columns: &[
        col("run_id", Text, "the net"),
        col("feature_set", Text, "`jr`, `naive`, `grid`, `scrambled`, `phate`, `topology`, `landscape`, …"),
        col("feature", Text, "feature name"),
        col("value", Float64, "feature value"),
    ],
};

/// One row per cross-validated classifier evaluation.
pub const COMPARISONS: SchemaSpec = SchemaSpec {
    name: "comparisons",
    major: 1,
    minor: 0,
    doc: "One row per (target, feature set, learner): accuracy of a classifier predicting a hyper-parameter label of the nets from one feature set, by repeated stratified k-fold cross-validation over nets. Feature set `scrambled` is `jr` with the labels permuted (the chance level).",
    columns: &[
        col("target", Text, "the label predicted, e.g. `test_loss_quintile`, `weight_decay`, `augment`, `label_noise`"),
        col("feature_set", Text, "`jr`, `naive`, `grid`, `scrambled`, `phate`, `topology`, `landscape`, …"),
        col("method", Text, "learner: `logistic`, `svm`, `tree`, `forest`, `knn`, `gaussian_nb`, `majority`"),
        col("mean", Float64, "mean test-fold accuracy over folds and repeats"),
        col("sd", Float64, "standard deviation of the test-fold accuracies"),
        col("folds", Int64, "folds per repeat"),
        col("repeats", Int64, "repeats with different fold seeds"),
        col("n_nets", Int64, "number of nets classified"),
        col("n_classes", Int64, "number of distinct labels"),
    ],
};

/// One row per correlation of a feature with a generalization measure.
pub const CORRELATIONS: SchemaSpec = SchemaSpec {
    name: "correlations",
    major: 1,
    minor: 0,
    doc: "One row per (feature set, feature, target, method): correlation across nets of one feature with a generalization measure, its two-sided p-value and a percentile bootstrap confidence interval.",
    columns: &[
        col("feature_set", Text, "feature set of the feature"),
        col("feature", Text, "feature name"),
        col("target", Text, "`test_loss`, `test_acc` or `gen_gap`"),
        col("method", Text, "`pearson` or `spearman`"),
        col("estimate", Float64, "correlation coefficient"),
        col("p_value", Float64, "two-sided p-value (as scipy.stats)"),
        col("ci_low", Float64, "lower end of the bootstrap confidence interval"),
        col("ci_high", Float64, "upper end of the bootstrap confidence interval"),
        col("n", Int64, "number of nets with finite values"),
    ],
};

/// One row per correlation of a feature with a generalization measure
/// within one stratum of the grid, or pooled within strata.
pub const STRATIFIED_CORRELATIONS: SchemaSpec = SchemaSpec {
    name: "stratified_correlations",
    major: 1,
    minor: 0,
    doc: "One row per (feature set, feature, target, method, stratum): correlation of one feature with a generalization measure across the nets of one stratum (nets sharing the values of the stratifying hyper-parameters, at least 4 of them) with a percentile bootstrap interval, or, for stratum `pooled within strata`, the strata's coefficients averaged with weights n, with a stratified-bootstrap interval.",
    columns: &[
        col("feature_set", Text, "feature set of the feature"),
        col("feature", Text, "feature name"),
        col("target", Text, "`test_loss`, `test_acc` or `gen_gap`"),
        col("method", Text, "`pearson` or `spearman`"),
        col("strata", Text, "the stratifying hyper-parameters, e.g. `label_noise × augment`"),
        col("stratum", Text, "e.g. `label_noise=0.2, augment=false`, or `pooled within strata`"),
        col("estimate", Float64, "correlation coefficient"),
        col("p_value", Float64, "two-sided p-value (scipy's within a stratum; a permutation test shuffling the measure within strata when pooled)"),
        col("ci_low", Float64, "lower end of the bootstrap confidence interval"),
        col("ci_high", Float64, "upper end of the bootstrap confidence interval"),
        col("n", Int64, "number of nets with finite values (pooled: the nets of the strata pooled)"),
    ],
};

/// One row per loss evaluation at a point sampled around a minimum without
/// retraining: the *naive* and *grid* baselines of the comparison stage.
pub const PROBES: SchemaSpec = SchemaSpec {
    name: "probes",
    major: 1,
    minor: 0,
    doc: "One row per (net, method, sample): train/val/test loss and accuracy at a point θo + Σ cᵢ·dᵢ around the minimum θo, evaluated without retraining. `naive` samples one random filter-normalised direction per point of the net's jump-and-retrain trajectories, at that point's distance from θo; `grid` evaluates a regular grid spanned by three random filter-normalised directions.",
    columns: &[
        col("run_id", Text, "the net (see `runs`)"),
        col("method", Text, "`naive` or `grid` (or another sampler)"),
        col("sample", Int64, "0-based index of the point within (run_id, method)"),
        col("coords", ListFloat32, "coefficients cᵢ of the point along the method's directions"),
        col("distance", Float64, "Euclidean distance ‖θ − θo‖ of the point from the minimum"),
        col("train_loss", Float64, "cross-entropy on the training split (NaN when not finite)"),
        col("train_acc", Float64, "accuracy on the training split"),
        col("val_loss", Float64, "validation loss"),
        col("val_acc", Float64, "validation accuracy"),
        col("test_loss", Float64, "test loss"),
        col("test_acc", Float64, "test accuracy"),
        col("finite", Bool, "false when a loss was NaN or infinite; such points are kept and flagged, never imputed"),
    ],
};

/// One row per grid point of a loss surface.
pub const SURFACES: SchemaSpec = SchemaSpec {
    name: "surfaces",
    major: 1,
    minor: 0,
    doc: "One row per grid point of a loss surface θ = θ_c + Σₖ cₖ·dₖ (Li et al. 2018), points in row-major order of the axes (first axis slowest). The axes' values, the directions' kind and seeds (and, for `pca`, the explained variance) are in the provenance extras `basin.axes` and `basin.surface`.",
    columns: &[
        col("run_id", Text, "the net (see `runs`)"),
        col("surface", Text, "`random-1d`, `random-2d`, `interp` (θ = (1−α)θ₁ + αθ₂) or `pca` (PCA directions of an optimizer path)"),
        col("point", Int64, "0-based index of the grid point"),
        col("coords", ListFloat32, "coefficients cₖ along the surface's directions"),
        col("train_loss", Float64, "cross-entropy on the training split (NaN when not finite)"),
        col("train_acc", Float64, "accuracy on the training split"),
        col("finite", Bool, "false when the loss was NaN or infinite; such points are kept and flagged, never imputed"),
    ],
};

/// One row per point of an optimizer path projected on a PCA plane.
pub const PATHS: SchemaSpec = SchemaSpec {
    name: "paths",
    major: 1,
    minor: 0,
    doc: "One row per saved point of an optimizer path, projected on the plane of its first PCA directions through θ_final (Li et al. 2018 §7), with what shows how faithful the drawing is: the point's distance off the plane, its true training loss, and the loss read off the plane's surface at its projection.",
    columns: &[
        col("run_id", Text, "the net"),
        col("surface", Text, "the `surfaces` surface the path is drawn on"),
        col("point", Int64, "0-based position along the path"),
        col("epoch", Int64, "the point's epoch in its trajectory"),
        col("coords", ListFloat32, "coordinates ⟨θᵢ − θ_final, dₖ⟩ on the unit PCA directions"),
        col("off_plane", Float64, "distance of θᵢ from the plane"),
        col("true_loss", Float64, "training loss at θᵢ itself"),
        col("surface_loss", Float64, "training loss read off the surface at the projection (bilinear; NaN outside the grid)"),
        col("explained_variance", Float64, "share of the path's variance the plane explains (sum over its directions)"),
        col("finite", Bool, "false when the point's weights or true loss are not finite"),
    ],
};

/// Curvature summaries of a net's training loss, long format.
pub const HESSIAN: SchemaSpec = SchemaSpec {
    name: "hessian",
    major: 1,
    minor: 0,
    doc: "Long format: one row per (net, parameter block, statistic, index) of the Hessian of the training loss at the trained weights. `block` is `all` or a layer (parameters sharing a name prefix, e.g. `fc0`). Statistics: `eigenvalue` (index k = k-th largest, `residual` = Lanczos bound ‖Hy − λy‖), `eigenvalue_subsampled` (mean top eigenvalue over random data subsamples, 95 % interval, `weight` = number of subsamples), `min_eigenvalue`, `eig_ratio` (|λ_min/λ_max|, Li et al. 2018), `trace` (Hutchinson mean, `ci_low`/`ci_high` = 95 % interval over probes, `weight` = number of probes), `lanczos_step` (index = step, value = top Ritz value: the convergence trace), `slq_node` (value = node, `weight` = quadrature weight; weights sum to 1), `slq_trace`, `sharpness` (Keskar et al. 2017 along the top eigenvector, %), `loss`, `gradient_norm`, `n_parameters`. Columns that do not apply are NaN.",
    columns: &[
        col("run_id", Text, "the net"),
        col("block", Text, "`all` or a layer name"),
        col("statistic", Text, "what `value` is (see above)"),
        col("index", Int64, "rank, step or node number; 0 for scalars"),
        col("value", Float64, "the estimate"),
        col("ci_low", Float64, "lower end of its 95 % confidence interval (NaN if none)"),
        col("ci_high", Float64, "upper end of its 95 % confidence interval (NaN if none)"),
        col("residual", Float64, "Lanczos residual bound (NaN if none)"),
        col("weight", Float64, "quadrature weight or sample count (NaN if none)"),
    ],
};

/// One row per node of the merge tree of a loss landscape's sublevel sets.
pub const MERGE_TREES: SchemaSpec = SchemaSpec {
    name: "merge_trees",
    major: 1,
    minor: 0,
    doc: "One row per node of the merge tree of the loss sublevel sets over evaluated points (a `surfaces` grid or `probes` points) joined by a grid or kNN graph: minima (leaves) and saddles (where components merge, elder rule). The H0 persistence pairs go to a `diagrams` file beside it; the landscape profile is in the provenance extra `basin.profile` as [[x, loss], …].",
    columns: &[
        col("run_id", Text, "the net"),
        col("source", Text, "what the tree is of, e.g. `grid:train_loss` or `random-2d:train_loss`"),
        col("node", Int64, "0-based node index"),
        col("parent", Int64, "the node it merges into; −1 for a root"),
        col("vertex", Int64, "row of the input file at this node"),
        col("value", Float64, "the loss at that row"),
        col("kind", Text, "`minimum` or `saddle`"),
        col("persistence", Float64, "for a minimum: death − birth of its component (+inf if it never dies); NaN for a saddle"),
    ],
};

/// Every schema, for docs and `basin schema`.
pub const ALL: &[SchemaSpec] = &[SPLITS, RUNS, TRAJECTORIES, EMBEDDINGS, POTENTIAL_DISTANCES, DIAGRAMS, COCYCLES, CYCLES, FEATURES, COMPARISONS, CORRELATIONS, STRATIFIED_CORRELATIONS, PROBES, SURFACES, PATHS, HESSIAN, MERGE_TREES];
