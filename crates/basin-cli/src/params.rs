//! The pipeline params file: one TOML file per study, one section per stage.
//!
//! Every subcommand reads only the sections it needs, and `basin params`
//! copies those sections into a per-stage file that is rewritten only when
//! their content changes, so `make` reruns exactly the stages whose settings
//! changed. Paths inside the file are relative to the directory the command
//! runs in (the pipeline's folder, where make runs).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A parsed params file.
#[derive(Debug, Clone)]
pub(crate) struct Params {
    path: PathBuf,
    table: toml::Table,
}

impl Params {
    /// Reads and parses `path`.
    pub(crate) fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading params file {}", path.display()))?;
        let table: toml::Table =
            toml::from_str(&text).with_context(|| format!("parsing params file {}", path.display()))?;
        Ok(Self { path: path.to_path_buf(), table })
    }

    /// The params file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Section `name` deserialised as `T`; unknown keys are an error that
    /// names the section and key (a typo must not silently use a default).
    pub(crate) fn section<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        let value = self
            .table
            .get(name)
            .cloned()
            .ok_or_else(|| anyhow!("{}: no [{name}] section", self.path.display()))?;
        value.try_into().map_err(|e: toml::de::Error| anyhow!("{}: [{name}]: {}", self.path.display(), e.message()))
    }

    /// Section `name` as JSON, for provenance metadata.
    pub(crate) fn section_json(&self, name: &str) -> serde_json::Value {
        self.table.get(name).and_then(|v| serde_json::to_value(v).ok()).unwrap_or(serde_json::Value::Null)
    }

    /// The named sections only, serialised back to TOML (stable key order).
    pub(crate) fn extract(&self, names: &[String]) -> Result<String> {
        let mut out = toml::Table::new();
        for n in names {
            let v = self.table.get(n).ok_or_else(|| anyhow!("{}: no [{n}] section", self.path.display()))?;
            out.insert(n.clone(), v.clone());
        }
        Ok(toml::to_string(&out)?)
    }
}

/// Where the data come from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DataParams {
    /// `digits`, `mnist5k` (shipped), `idx`, `cifar10` or `table`.
    pub dataset: String,
    /// Folder holding `images/` of the shipped sets.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// For `idx`: the images and labels files.
    #[serde(default)]
    pub idx_images: Option<PathBuf>,
    /// For `idx`: the labels file.
    #[serde(default)]
    pub idx_labels: Option<PathBuf>,
    /// For `cifar10`: the binary batch files.
    #[serde(default)]
    pub cifar_batches: Vec<PathBuf>,
    /// For `table`: a CSV or Parquet file.
    #[serde(default)]
    pub table: Option<PathBuf>,
    /// For `table`: the label column.
    #[serde(default = "default_label_column")]
    pub label_column: String,
    /// Use only the first `limit` samples (smoke tests on big sets).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Share of each class held out for validation.
    pub val_fraction: f64,
    /// Share of each class held out for testing.
    pub test_fraction: f64,
    /// `none`, `global` or `per-feature`, fitted on the training split.
    #[serde(default = "default_standardize")]
    pub standardize: basin_data::standardize::Standardization,
    /// Seed of the split.
    pub seed: u64,
}

fn default_data_dir() -> PathBuf {
    basin_data::shipped::default_data_dir()
}
fn default_label_column() -> String {
    "label".into()
}
fn default_standardize() -> basin_data::standardize::Standardization {
    basin_data::standardize::Standardization::Global
}

/// The `[train]` section: shared settings, a grid of hyper-parameters (every
/// combination is one net) and extra nets outside the grid.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrainParams {
    /// The layers (`basin_train::Layers`), e.g. `{ kind = "mlp", hidden = [64, 64] }`.
    pub architecture: basin_train::Layers,
    /// Training epochs.
    pub epochs: u32,
    /// Base learning rate (at `lr_reference_batch` when `lr_scaling` is on).
    pub lr: f64,
    /// How the learning rate follows the batch size of a net.
    #[serde(default)]
    pub lr_scaling: LrScaling,
    /// The batch size at which a scaled learning rate equals `lr`.
    #[serde(default = "default_reference_batch")]
    pub lr_reference_batch: std::num::NonZeroUsize,
    /// SGD momentum.
    #[serde(default = "default_momentum")]
    pub momentum: f64,
    /// Nesterov momentum.
    #[serde(default)]
    pub nesterov: bool,
    /// Learning-rate schedule (`basin_train::LrSchedule`).
    #[serde(default)]
    pub schedule: basin_train::LrSchedule,
    /// Largest random shift, in pixels, when augmentation is on.
    #[serde(default = "default_max_shift")]
    pub max_shift: usize,
    /// Random horizontal flips when augmentation is on (natural images only).
    #[serde(default)]
    pub hflip: bool,
    /// Root seeds: one net per seed and grid point.
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// The grid.
    pub grid: GridParams,
    /// Nets outside the grid (e.g. one on random labels).
    #[serde(default)]
    pub extra: Vec<ExtraRun>,
}

/// How a grid net's learning rate follows its batch size. One rate for
/// every batch size trains the small batches with far more gradient noise
/// than the large ones; on MNIST-5k, lr 0.05 at batch 16 left a third of
/// the noisy-label nets at chance (not a minimum at all), which is not the
/// poor generalization a study wants to compare.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LrScaling {
    /// `lr` at every batch size.
    #[default]
    None,
    /// `lr · b / lr_reference_batch` (Goyal et al. 2017).
    Linear,
    /// `lr · √(b / lr_reference_batch)` (Hoffer et al. 2017).
    Sqrt,
}

impl LrScaling {
    /// The learning rate of a net with batch size `batch`.
    pub(crate) fn scale(self, lr: f64, batch: usize, reference: std::num::NonZeroUsize) -> f64 {
        let ratio = batch as f64 / reference.get() as f64;
        match self {
            Self::None => lr,
            Self::Linear => lr * ratio,
            Self::Sqrt => lr * ratio.sqrt(),
        }
    }
}

fn default_reference_batch() -> std::num::NonZeroUsize {
    std::num::NonZeroUsize::new(128).expect("128 is not zero")
}
fn default_momentum() -> f64 {
    0.9
}
fn default_max_shift() -> usize {
    1
}
fn default_seeds() -> Vec<u64> {
    vec![0]
}

/// Lists of values; the nets are their Cartesian product.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GridParams {
    /// L2 weight decay values.
    pub weight_decay: Vec<f64>,
    /// Batch sizes.
    pub batch_size: Vec<usize>,
    /// Augmentation off/on.
    #[serde(default = "default_augment")]
    pub augment: Vec<bool>,
    /// Fractions of training labels replaced at random.
    #[serde(default = "default_label_noise")]
    pub label_noise: Vec<f64>,
}

fn default_augment() -> Vec<bool> {
    vec![false]
}
fn default_label_noise() -> Vec<f64> {
    vec![0.0]
}

/// One net outside the grid.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExtraRun {
    /// Prefix of its run id.
    pub name: String,
    /// L2 weight decay.
    pub weight_decay: f64,
    /// Batch size.
    pub batch_size: usize,
    /// Augmentation.
    #[serde(default)]
    pub augment: bool,
    /// Label-noise fraction (1.0 = fully random labels).
    #[serde(default)]
    pub label_noise: f64,
    /// Epochs, when different from `[train] epochs`.
    #[serde(default)]
    pub epochs: Option<u32>,
    /// Learning rate, when different from `[train] lr`.
    #[serde(default)]
    pub lr: Option<f64>,
    /// Root seed.
    #[serde(default)]
    pub seed: u64,
}

/// One net to train, fully specified.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct RunSpec {
    pub run_id: String,
    pub weight_decay: f64,
    pub batch_size: usize,
    pub augment: bool,
    pub label_noise: f64,
    pub epochs: u32,
    pub lr: f64,
    pub seed: u64,
}

impl TrainParams {
    /// Every net of the study, grid first, in a fixed order.
    pub(crate) fn runs(&self) -> Vec<RunSpec> {
        let mut runs = Vec::new();
        for &seed in &self.seeds {
            for &wd in &self.grid.weight_decay {
                for &bs in &self.grid.batch_size {
                    for &aug in &self.grid.augment {
                        for &noise in &self.grid.label_noise {
                            runs.push(RunSpec {
                                run_id: format!("wd{wd}-bs{bs}-aug{}-noise{noise}-s{seed}", u8::from(aug)),
                                weight_decay: wd,
                                batch_size: bs,
                                augment: aug,
                                label_noise: noise,
                                epochs: self.epochs,
                                lr: self.batch_lr(bs),
                                seed,
                            });
                        }
                    }
                }
            }
        }
        for e in &self.extra {
            runs.push(RunSpec {
                run_id: format!("{}-s{}", e.name, e.seed),
                weight_decay: e.weight_decay,
                batch_size: e.batch_size,
                augment: e.augment,
                label_noise: e.label_noise,
                epochs: e.epochs.unwrap_or(self.epochs),
                lr: e.lr.unwrap_or_else(|| self.batch_lr(e.batch_size)),
                seed: e.seed,
            });
        }
        runs
    }

    /// The learning rate of a net with batch size `batch` (an extra net's
    /// own `lr` is used as given).
    fn batch_lr(&self, batch: usize) -> f64 {
        self.lr_scaling.scale(self.lr, batch, self.lr_reference_batch)
    }

    /// The net called `run_id`.
    pub(crate) fn run(&self, run_id: &str) -> Result<RunSpec> {
        let runs = self.runs();
        runs.iter().find(|r| r.run_id == run_id).cloned().ok_or_else(|| {
            let ids: Vec<&str> = runs.iter().map(|r| r.run_id.as_str()).collect();
            anyhow!("no run {run_id:?} in [train] (runs: {})", ids.join(", "))
        })
    }
}

/// The `[jump]` section: the jump-and-retrain protocol.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JumpParams {
    /// Seeds of the random directions.
    #[serde(default = "default_jump_seeds")]
    pub seeds: Vec<u64>,
    /// Step sizes, in units of the filter-normalised direction.
    #[serde(default = "default_steps")]
    pub steps: Vec<f64>,
    /// Retraining epochs after the jump.
    #[serde(default = "default_jump_epochs")]
    pub epochs: u32,
    /// Retraining learning rate.
    #[serde(default = "default_jump_lr")]
    pub lr: f64,
    /// Retraining momentum.
    #[serde(default = "default_momentum")]
    pub momentum: f64,
    /// Retraining weight decay.
    #[serde(default = "default_jump_wd")]
    pub weight_decay: f64,
    /// Retraining batch size.
    #[serde(default = "default_jump_batch")]
    pub batch_size: usize,
    /// Recompute BatchNorm running statistics at the jump point.
    #[serde(default)]
    pub recompute_bn_stats: bool,
}

fn default_jump_seeds() -> Vec<u64> {
    vec![0, 1, 2, 3]
}
fn default_steps() -> Vec<f64> {
    vec![0.25, 0.5, 0.75, 1.0]
}
fn default_jump_epochs() -> u32 {
    40
}
fn default_jump_lr() -> f64 {
    1e-3
}
fn default_jump_wd() -> f64 {
    1e-4
}
fn default_jump_batch() -> usize {
    128
}

/// How `basin landscape` computes Hessian-vector products (`[landscape] hvp`, `--hvp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum HvpChoice {
    /// H·v = ∇(∇L·v) by double backward in candle: exact, every architecture.
    #[default]
    DoubleBackward,
    /// Central differences of gradients (step `fd_step`; exact up to O(h²)
    /// only for MLPs without BatchNorm, whose ReLU pattern is frozen).
    Differences,
}

impl HvpChoice {
    /// The library's method with the step `fd_step`.
    pub(crate) fn method(self, fd_step: f64) -> basin_landscape::hessian::hvp::HvpMethod {
        match self {
            Self::DoubleBackward => basin_landscape::hessian::hvp::HvpMethod::DoubleBackward,
            Self::Differences => basin_landscape::hessian::hvp::HvpMethod::Differences { step: fd_step },
        }
    }
}

/// The `[landscape]` section: loss-landscape views around trained nets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LandscapeParams {
    /// Root seed of every random direction of the landscape stage.
    #[serde(default)]
    pub seed: u64,
    /// Points per axis of the `grid` probe on [−1, 1]³ (9 → 729 points).
    #[serde(default = "default_grid_resolution")]
    pub grid_resolution: usize,
    /// Points per axis of `surface` grids (Li et al.: 51 on [−1, 1]²).
    #[serde(default = "default_surface_resolution")]
    pub surface_resolution: usize,
    /// Points per axis of grids in 3 or more directions (Hessian directions).
    #[serde(default = "default_ndim_resolution")]
    pub ndim_resolution: usize,
    /// Points per axis of the PCA surface under an optimizer path.
    #[serde(default = "default_path_resolution")]
    pub path_resolution: usize,
    /// Jump seed of the trajectory `basin landscape path` draws by default.
    #[serde(default)]
    pub path_jump_seed: i64,
    /// Step size of the trajectory `basin landscape path` draws by default.
    #[serde(default = "default_path_step_size")]
    pub path_step_size: f64,
    /// Memory a surface may use, in MiB (larger grids are refused up front).
    #[serde(default = "default_memory_budget_mb")]
    pub memory_budget_mb: u64,
    /// Hessian: top eigenvalues reported per block.
    #[serde(default = "default_top_k")]
    pub hessian_top_k: usize,
    /// Hessian: Lanczos steps for the extreme eigenvalues.
    #[serde(default = "default_lanczos_steps")]
    pub lanczos_steps: usize,
    /// Hessian: Rademacher probes of Hutchinson's trace.
    #[serde(default = "default_hutchinson_probes")]
    pub hutchinson_probes: usize,
    /// Hessian: stochastic Lanczos quadrature probes (0 = off).
    #[serde(default = "default_slq_probes")]
    pub slq_probes: usize,
    /// Hessian: Lanczos steps per SLQ probe.
    #[serde(default = "default_lanczos_steps")]
    pub slq_steps: usize,
    /// Hessian: how Hessian-vector products are computed, `double-backward`
    /// (exact, the default) or `differences` (central differences of
    /// gradients with step `fd_step`).
    #[serde(default)]
    pub hvp: HvpChoice,
    /// Hessian: finite-difference step of the Hessian-vector products
    /// (`hvp = "differences"` only).
    #[serde(default = "default_fd_step")]
    pub fd_step: f64,
    /// Hessian: random data subsamples for the top eigenvalue's interval over data (0 = off).
    #[serde(default)]
    pub hessian_subsamples: usize,
    /// Hessian: share of the training rows in each subsample.
    #[serde(default = "default_subsample_fraction")]
    pub subsample_fraction: f64,
    /// The well-generalizing net whose surfaces and Hessian the pipeline draws.
    #[serde(default)]
    pub good_run: Option<String>,
    /// The poorly generalizing net drawn beside it.
    #[serde(default)]
    pub poor_run: Option<String>,
}

fn default_grid_resolution() -> usize {
    9
}
fn default_surface_resolution() -> usize {
    51
}
fn default_ndim_resolution() -> usize {
    41
}
fn default_path_resolution() -> usize {
    31
}
fn default_path_step_size() -> f64 {
    0.5
}
fn default_memory_budget_mb() -> u64 {
    2048
}
fn default_top_k() -> usize {
    3
}
fn default_lanczos_steps() -> usize {
    30
}
fn default_hutchinson_probes() -> usize {
    30
}
fn default_slq_probes() -> usize {
    4
}
fn default_subsample_fraction() -> f64 {
    0.5
}
fn default_fd_step() -> f64 {
    1e-3
}

impl Default for LandscapeParams {
    fn default() -> Self {
        Self {
            seed: 0,
            grid_resolution: default_grid_resolution(),
            surface_resolution: default_surface_resolution(),
            ndim_resolution: default_ndim_resolution(),
            path_resolution: default_path_resolution(),
            path_jump_seed: 0,
            path_step_size: default_path_step_size(),
            memory_budget_mb: default_memory_budget_mb(),
            hessian_top_k: default_top_k(),
            lanczos_steps: default_lanczos_steps(),
            hutchinson_probes: default_hutchinson_probes(),
            slq_probes: default_slq_probes(),
            slq_steps: default_lanczos_steps(),
            hvp: HvpChoice::default(),
            fd_step: default_fd_step(),
            hessian_subsamples: 0,
            subsample_fraction: default_subsample_fraction(),
            good_run: None,
            poor_run: None,
        }
    }
}

/// One jump shard: a net, a direction seed and a step size.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Shard {
    pub run_id: String,
    pub jump_seed: u64,
    pub step: f64,
}

impl Shard {
    /// `<run_id>__j<seed>_s<step>`: the shard's file stem.
    pub(crate) fn id(&self) -> String {
        format!("{}__j{}_s{}", self.run_id, self.jump_seed, self.step)
    }

    /// Parses [`Shard::id`].
    pub(crate) fn parse(id: &str) -> Result<Self> {
        let bad = || anyhow!("shard id {id:?} is not of the form <run_id>__j<seed>_s<step>");
        let (run_id, rest) = id.rsplit_once("__j").ok_or_else(bad)?;
        let (seed, step) = rest.split_once("_s").ok_or_else(bad)?;
        Ok(Self { run_id: run_id.to_owned(), jump_seed: seed.parse().map_err(|_| bad())?, step: step.parse().map_err(|_| bad())? })
    }
}

impl JumpParams {
    /// The shards of one net, seeds outer, steps inner.
    pub(crate) fn shards(&self, run_id: &str) -> Vec<Shard> {
        self.seeds
            .iter()
            .flat_map(|&s| self.steps.iter().map(move |&st| Shard { run_id: run_id.to_owned(), jump_seed: s, step: st }))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_ids_round_trip() {
        let s = Shard { run_id: "wd0.0005-bs32-aug1-noise0-s0".into(), jump_seed: 3, step: 0.25 };
        assert_eq!(s.id(), "wd0.0005-bs32-aug1-noise0-s0__j3_s0.25");
        assert_eq!(Shard::parse(&s.id()).unwrap(), s);
        assert!(Shard::parse("nonsense").is_err());
    }

    fn train_section(extra: &str) -> Result<TrainParams> {
        let text = format!(
            "[train]\narchitecture = {{ kind = \"mlp\", hidden = [8] }}\nepochs = 1\nlr = 0.05\n{extra}\n\
             [train.grid]\nweight_decay = [0.0]\nbatch_size = [16, 128, 512]\n\
             [[train.extra]]\nname = \"own-lr\"\nweight_decay = 0.0\nbatch_size = 16\nlr = 0.3\n\
             [[train.extra]]\nname = \"scaled\"\nweight_decay = 0.0\nbatch_size = 32\n"
        );
        let table: toml::Table = text.parse()?;
        Ok(table["train"].clone().try_into()?)
    }

    #[test]
    fn learning_rate_follows_the_batch_size_when_asked() {
        let lrs = |extra: &str| train_section(extra).unwrap().runs().iter().map(|r| r.lr).collect::<Vec<_>>();
        // Grid batches 16, 128, 512, then the extra nets (own lr kept, batch 32 scaled).
        assert_eq!(lrs(""), vec![0.05, 0.05, 0.05, 0.3, 0.05]);
        let sqrt = lrs("lr_scaling = \"sqrt\"");
        let want = [0.05 * (0.125f64).sqrt(), 0.05, 0.1, 0.3, 0.025];
        for (got, want) in sqrt.iter().zip(want) {
            assert!((got - want).abs() < 1e-15, "{sqrt:?}");
        }
        assert_eq!(lrs("lr_scaling = \"linear\"\nlr_reference_batch = 16"), vec![0.05, 0.4, 1.6, 0.3, 0.1]);
        let err = train_section("lr_scaling = \"sqrt\"\nlr_reference_batch = 0").unwrap_err().to_string();
        assert!(err.contains("nonzero"), "{err}");
        let err = train_section("lr_scaling = \"cubic\"").unwrap_err().to_string();
        assert!(err.contains("cubic"), "{err}");
    }
}

impl Params {
    /// Section `name`, or `T::default()` when the file has no such section.
    pub(crate) fn section_or_default<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T> {
        if self.table.contains_key(name) {
            self.section(name)
        } else {
            Ok(T::default())
        }
    }
}

/// The `[cluster]` section: the SLURM resources of each heavy stage. Only the
/// launcher (`make LAUNCH=slurm`, `basin submit`) reads it and no stage's
/// params extract holds it, so editing it reruns nothing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClusterParams {
    /// Partition (`--partition`); empty: the cluster's default.
    #[serde(default)]
    pub partition: String,
    /// Account charged (`--account`); empty: the user's default.
    #[serde(default)]
    pub account: String,
    /// Extra `srun`/`sbatch` options for every job, e.g. `["--qos=normal"]`.
    #[serde(default)]
    pub extra_args: Vec<String>,
    /// Shell lines run first in every `basin submit` job, e.g.
    /// `["module load cuda/12.4"]` (with `make LAUNCH=slurm`, load modules
    /// before starting make: `srun` passes the environment on).
    #[serde(default)]
    pub setup: Vec<String>,
    /// Most array tasks of one `basin submit` job running at once (`%N`); 0: no limit.
    #[serde(default)]
    pub max_parallel: usize,
    /// Most tasks in one array job (the cluster's `MaxArraySize` less one;
    /// SLURM's default allows 1000); longer lists are split over several.
    #[serde(default = "default_max_array")]
    pub max_array: usize,
    /// Base-net training, one job per net.
    #[serde(default)]
    pub train: StageResources,
    /// Jump-and-retrain, one job per shard.
    #[serde(default)]
    pub jump: StageResources,
    /// PHATE, one job per net and one joint.
    #[serde(default)]
    pub phate: StageResources,
    /// Topology (Rips and sublevel sets), one job per net and kind.
    #[serde(default)]
    pub topo: StageResources,
    /// The closing job of `basin submit`: merges and every stage after the
    /// jumps, run by `make -j <cpus>` inside one allocation.
    #[serde(default)]
    pub finish: StageResources,
}

impl Default for ClusterParams {
    fn default() -> Self {
        Self {
            partition: String::new(),
            account: String::new(),
            extra_args: Vec::new(),
            setup: Vec::new(),
            max_parallel: 0,
            max_array: default_max_array(),
            train: StageResources::default(),
            jump: StageResources::default(),
            phate: StageResources::default(),
            topo: StageResources::default(),
            finish: StageResources::default(),
        }
    }
}

fn default_max_array() -> usize {
    1000
}

/// What one job of a stage asks the scheduler for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StageResources {
    /// CPU cores (`--cpus-per-task`).
    #[serde(default = "default_cpus")]
    pub cpus: u32,
    /// Memory (`--mem`), e.g. `"2G"`.
    #[serde(default = "default_mem")]
    pub mem: String,
    /// Wall-time limit (`--time`), e.g. `"01:00:00"`; a job over it is
    /// killed and leaves no output, so the next run redoes it.
    #[serde(default = "default_time")]
    pub time: String,
    /// GPUs (`--gres=gpu:N`); above 0 the stage also runs with `--device cuda`
    /// (needs a `--features cuda` build).
    #[serde(default)]
    pub gpus: u32,
    /// Partition of this stage, overriding `[cluster] partition`.
    #[serde(default)]
    pub partition: Option<String>,
    /// Extra options of this stage's jobs.
    #[serde(default)]
    pub extra_args: Vec<String>,
}

fn default_cpus() -> u32 {
    1
}
fn default_mem() -> String {
    "2G".into()
}
fn default_time() -> String {
    "01:00:00".into()
}

impl Default for StageResources {
    fn default() -> Self {
        Self { cpus: default_cpus(), mem: default_mem(), time: default_time(), gpus: 0, partition: None, extra_args: Vec::new() }
    }
}
