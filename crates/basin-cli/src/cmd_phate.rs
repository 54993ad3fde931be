//! `basin phate`: PHATE embeddings of trajectories (or any numeric table).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use basin_phate::{Distance, Mds, MdsDistance, Phate, PhateParams, T};
use basin_store::columns::f32_list_column;
use basin_store::polars::prelude::*;
use basin_store::schema::{EMBEDDINGS, POTENTIAL_DISTANCES};
use basin_store::{write_table, Provenance};
use clap::{Args, ValueEnum};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::params::Params;
use crate::trajectories::{concat, read_points_every, Points};
use rayon::prelude::*;

/// The `[phate]` section (defaults: phate 2.0's, except the cosine input
/// distance used on weight trajectories by Horoi et al.).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct PhateSection {
    pub n_components: usize,
    pub knn: usize,
    pub decay: f64,
    /// `"auto"` or a number.
    pub t: toml::Value,
    pub gamma: f64,
    /// `euclidean`, `cosine` or `minkowski`.
    pub distance: String,
    /// Order of the Minkowski distance.
    pub p: f64,
    /// `classic`, `metric` (SGD), `smacof` or `nonmetric`.
    pub mds: String,
    /// `euclidean` or `cosine`.
    pub mds_dist: String,
    /// PCA dimension before the kernel; 0 disables it.
    pub n_pca: usize,
    /// Landmarks used when there are more points; 0 disables them.
    pub n_landmark: usize,
    pub knn_max: Option<usize>,
    pub seed: u64,
    /// The joint embedding keeps the points whose epoch is a multiple of
    /// this stride (1 keeps every point). All nets' trajectories together
    /// can outgrow memory (109 MNIST nets × 656 points × 25k weights is
    /// 14 GB as f64), and the joint view is read for the shape of the
    /// trajectories, which every few epochs already show. Per-net
    /// embeddings always use every point.
    pub joint_epoch_stride: usize,
}

impl Default for PhateSection {
    fn default() -> Self {
        Self {
            n_components: 2,
            knn: 5,
            decay: 40.0,
            t: toml::Value::String("auto".into()),
            gamma: 1.0,
            distance: "cosine".into(),
            p: 2.0,
            mds: "metric".into(),
            mds_dist: "euclidean".into(),
            n_pca: 100,
            n_landmark: 2000,
            knn_max: None,
            seed: 0,
            joint_epoch_stride: 1,
        }
    }
}

impl PhateSection {
    fn to_params(&self) -> Result<PhateParams> {
        let t = match &self.t {
            toml::Value::String(s) if s == "auto" => T::Auto,
            toml::Value::Integer(i) => T::Fixed(usize::try_from(*i).context("[phate] t must be positive")?),
            other => bail!("[phate] t = {other}: expected \"auto\" or a positive integer"),
        };
        let distance = match self.distance.as_str() {
            "euclidean" => Distance::Euclidean,
            "cosine" => Distance::Cosine,
            "minkowski" => Distance::Minkowski(self.p),
            other => bail!("[phate] distance = {other:?}: expected euclidean, cosine or minkowski"),
        };
        let mds = match self.mds.as_str() {
            "classic" => Mds::Classic,
            "metric" => Mds::Metric,
            "smacof" => Mds::Smacof,
            "nonmetric" => Mds::NonMetric,
            other => bail!("[phate] mds = {other:?}: expected classic, metric, smacof or nonmetric"),
        };
        let mds_dist = match self.mds_dist.as_str() {
            "euclidean" => MdsDistance::Euclidean,
            "cosine" => MdsDistance::Cosine,
            other => bail!("[phate] mds_dist = {other:?}: expected euclidean or cosine"),
        };
        Ok(Phate::params()
            .n_components(self.n_components)
            .knn(self.knn)
            .decay(self.decay)
            .t(t)
            .gamma(self.gamma)
            .distance(distance)
            .mds(mds)
            .mds_dist(mds_dist)
            .n_pca((self.n_pca > 0).then_some(self.n_pca))
            .n_landmark((self.n_landmark > 0).then_some(self.n_landmark))
            .knn_max(self.knn_max)
            .seed(self.seed))
    }
}

/// Which embeddings to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Scope {
    /// One embedding per input file (one net's trajectories).
    PerNet,
    /// One embedding of all inputs together.
    Joint,
}

/// Arguments of `basin phate`.
#[derive(Debug, Args)]
pub(crate) struct PhateArgs {
    /// Params file with a `[phate]` section (missing keys take phate 2.0's defaults).
    #[arg(long)]
    params: PathBuf,
    /// `per-net`: embed each input file on its own; `joint`: all inputs together.
    #[arg(long, value_enum, default_value = "per-net")]
    scope: Scope,
    /// Output `embeddings` Parquet file (all inputs' rows, keyed like the input).
    #[arg(long)]
    out: PathBuf,
    /// Also write the potential-distance matrix (`potential_distances`
    /// schema); only with one input and `per-net`.
    #[arg(long)]
    potential_out: Option<PathBuf>,
    /// Input `trajectories` files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

fn embedding_frame(scope: &str, p: &Points, embedding: &Array2<f64>) -> Result<DataFrame> {
    let n = p.epoch.len();
    let mut cols = vec![
        Column::new("scope".into(), vec![scope; n]),
        Column::new("run_id".into(), p.run_id.clone()),
        Column::new("jump_seed".into(), p.jump_seed.clone()),
        Column::new("step_size".into(), p.step_size.clone()),
        Column::new("epoch".into(), p.epoch.clone()),
        Column::new("train_loss".into(), p.train_loss.clone()),
        Column::new("test_loss".into(), p.test_loss.clone()),
    ];
    for k in 0..embedding.ncols() {
        cols.push(Column::new(format!("phate_{}", k + 1).into(), embedding.column(k).to_vec()));
    }
    Ok(DataFrame::new(n, cols)?)
}

pub(crate) fn run(args: &PhateArgs) -> Result<()> {
    let params = Params::load(&args.params)?;
    let section: PhateSection = params.section_or_default("phate")?;
    let phate = section.to_params()?;
    if args.potential_out.is_some() && (args.scope != Scope::PerNet || args.inputs.len() != 1) {
        bail!("--potential-out needs exactly one input and --scope per-net");
    }
    if section.joint_epoch_stride == 0 {
        bail!("[phate] joint_epoch_stride = 0: expected a positive stride (1 keeps every epoch)");
    }
    let stride = match args.scope {
        Scope::PerNet => 1,
        Scope::Joint => section.joint_epoch_stride,
    };
    let mut frames = Vec::new();
    let groups: Vec<Vec<&PathBuf>> = match args.scope {
        Scope::PerNet => args.inputs.iter().map(|p| vec![p]).collect(),
        Scope::Joint => vec![args.inputs.iter().collect()],
    };
    let scope_name = match args.scope {
        Scope::PerNet => "per-net",
        Scope::Joint => "joint",
    };
    let mut t_used = Vec::new();
    for group in groups {
        // files decoded side by side (a joint embedding reads one per net)
        let points = concat(group.par_iter().map(|p| read_points_every(p, stride)).collect::<Result<Vec<_>>>()?);
        let label = group.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
        let started = std::time::Instant::now();
        let fit = phate.fit(points.weights.view()).with_context(|| format!("PHATE of {label}"))?;
        tracing::info!(
            "PHATE of {label}: {} points × {} weights, t = {} in {:.2}s",
            points.weights.nrows(),
            points.weights.ncols(),
            fit.t,
            started.elapsed().as_secs_f64()
        );
        t_used.push(fit.t);
        if let Some(out) = &args.potential_out {
            let d = fit.potential_distances().context("potential distances are not available with landmarks; set [phate] n_landmark = 0 or above the number of points")?;
            let rows: Vec<Vec<f32>> = d.rows().into_iter().map(|r| r.iter().map(|&v| v as f32).collect()).collect();
            let n = rows.len();
            let mut df = DataFrame::new(
                n,
                vec![
                    Column::new("run_id".into(), points.run_id.clone()),
                    Column::new("jump_seed".into(), points.jump_seed.clone()),
                    Column::new("step_size".into(), points.step_size.clone()),
                    Column::new("epoch".into(), points.epoch.clone()),
                    f32_list_column("distances", &rows),
                ],
            )?;
            let prov = Provenance::new(&POTENTIAL_DISTANCES, "phate")
                .with_params(params.section_json("phate"))
                .with_seeds(serde_json::json!({ "phate": section.seed }))
                .with_inputs(&args.inputs)?
                .with_extra("t", fit.t.to_string());
            write_table(out, &mut df, &POTENTIAL_DISTANCES, &prov)?;
        }
        frames.push(embedding_frame(scope_name, &points, &fit.embedding)?);
    }
    let mut df = crate::trajectories::stack(frames.into_iter().map(|f| (f, args.out.as_path())).collect())?;
    let prov = Provenance::new(&EMBEDDINGS, "phate")
        .with_params(params.section_json("phate"))
        .with_seeds(serde_json::json!({ "phate": section.seed }))
        .with_inputs(&args.inputs)?
        .with_extra("t", serde_json::to_string(&t_used)?);
    write_table(&args.out, &mut df, &EMBEDDINGS, &prov)?;
    Ok(())
}
