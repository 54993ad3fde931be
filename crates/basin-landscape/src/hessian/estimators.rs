//! Spectral summaries of the Hessian with their uncertainty: top and bottom
//! eigenvalues by Lanczos (with residual bounds and convergence traces),
//! the trace by Hutchinson (with a confidence interval over probe vectors),
//! the spectral density by stochastic Lanczos quadrature (Ghorbani et al.
//! 2019), Li et al.'s |λ_min/λ_max| ratio, and a Keskar et al. (2017)
//! sharpness along the top eigenvector — for the whole net and per layer.

use basin_data::rng::stream;

use super::hvp::{HvpMethod, LossFunction};
use super::lanczos::{dot, gaussian_vector, lanczos, rademacher_vector};
use crate::errors::{invalid, LandscapeResult};

/// Settings of [`analyze`]; every field has a default.
#[derive(Debug, Clone, PartialEq)]
pub struct HessianConfig {
    /// Top eigenvalues reported per block.
    pub top_k: usize,
    /// Lanczos steps for the extreme eigenvalues.
    pub lanczos_steps: usize,
    /// Rademacher probes of Hutchinson's trace estimate.
    pub hutchinson_probes: usize,
    /// Probe vectors of stochastic Lanczos quadrature (whole net only; 0 = off).
    pub slq_probes: usize,
    /// Lanczos steps per SLQ probe.
    pub slq_steps: usize,
    /// Also analyse every layer (parameters sharing a name prefix) alone.
    pub per_layer: bool,
    /// ε of the Keskar sharpness box, −ε(|θᵢ|+1) ≤ zᵢ ≤ ε(|θᵢ|+1).
    pub sharpness_epsilon: f64,
    /// Seed of every probe and start vector.
    pub seed: u64,
}

impl Default for HessianConfig {
    fn default() -> Self {
        Self { top_k: 3, lanczos_steps: 30, hutchinson_probes: 30, slq_probes: 4, slq_steps: 30, per_layer: true, sharpness_epsilon: 1e-3, seed: 0 }
    }
}

impl HessianConfig {
    /// Checks every field.
    ///
    /// # Errors
    /// [`crate::LandscapeError::InvalidParameter`] naming the first bad field.
    pub fn validate(&self) -> LandscapeResult<()> {
        if self.top_k == 0 {
            return Err(invalid("top_k", "must be at least 1"));
        }
        if self.lanczos_steps < 2 || self.lanczos_steps < self.top_k {
            return Err(invalid("lanczos_steps", format!("{} steps cannot give {} eigenvalues (need ≥ 2 and ≥ top_k)", self.lanczos_steps, self.top_k)));
        }
        if self.hutchinson_probes < 2 {
            return Err(invalid("hutchinson_probes", "a confidence interval needs at least 2 probes"));
        }
        if self.slq_probes > 0 && self.slq_steps < 2 {
            return Err(invalid("slq_steps", "must be at least 2"));
        }
        if !(self.sharpness_epsilon.is_finite() && self.sharpness_epsilon > 0.0) {
            return Err(invalid("sharpness_epsilon", format!("{} is not positive", self.sharpness_epsilon)));
        }
        Ok(())
    }
}

/// A mean with a 95 % confidence interval over independent samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Sample mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub sd: f64,
    /// Number of samples.
    pub n: usize,
}

impl Estimate {
    /// Mean and sample standard deviation of `xs`.
    #[must_use]
    pub fn of(xs: &[f64]) -> Self {
        #[allow(clippy::cast_precision_loss)]
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        Self { mean, sd: var.sqrt(), n: xs.len() }
    }

    /// Normal-approximation 95 % interval of the mean, mean ± 1.96·sd/√n.
    #[must_use]
    pub fn ci95(&self) -> (f64, f64) {
        #[allow(clippy::cast_precision_loss)]
        let half = 1.96 * self.sd / (self.n as f64).sqrt();
        (self.mean - half, self.mean + half)
    }
}

/// Curvature of one block of parameters (the whole net or one layer).
#[derive(Debug, Clone, PartialEq)]
pub struct BlockCurvature {
    /// `all`, or the layer's name prefix (e.g. `fc0`).
    pub block: String,
    /// Parameters in the block.
    pub n_parameters: usize,
    /// Top eigenvalues, largest first.
    pub top_eigenvalues: Vec<f64>,
    /// Residual bounds ‖Hy − λy‖ of the top eigenvalues, for the operator
    /// as computed (the Hessian-vector products' own error, see
    /// [`super::hvp`], comes on top).
    pub top_residuals: Vec<f64>,
    /// Smallest Ritz value of the same Lanczos run.
    pub min_eigenvalue: f64,
    /// Its residual bound.
    pub min_residual: f64,
    /// Largest Ritz value after each Lanczos step.
    pub convergence: Vec<f64>,
    /// Hutchinson's trace estimate over Rademacher probes.
    pub trace: Estimate,
    /// Stochastic Lanczos quadrature nodes and weights (weights sum to 1),
    /// whole net only.
    pub slq: Vec<(f64, f64)>,
    /// The eigenvector of the top eigenvalue, in the block's coordinates.
    pub top_vector: Vec<f64>,
}

impl BlockCurvature {
    /// |λ_min / λ_max| (Li et al. 2018: near 0 at a convex minimum, large at a saddle).
    #[must_use]
    pub fn eig_ratio(&self) -> f64 {
        (self.min_eigenvalue / self.top_eigenvalues[0]).abs()
    }

    /// The SLQ estimate of the trace, n · Σ wₖ λₖ.
    #[must_use]
    pub fn slq_trace(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let n = self.n_parameters as f64;
        n * self.slq.iter().map(|(x, w)| x * w).sum::<f64>()
    }

    /// The SLQ spectral density smoothed by a Gaussian of width `sigma`,
    /// evaluated at `t`.
    #[must_use]
    pub fn density(&self, t: f64, sigma: f64) -> f64 {
        let c = 1.0 / (sigma * (2.0 * std::f64::consts::PI).sqrt());
        self.slq.iter().map(|(x, w)| w * c * (-(t - x).powi(2) / (2.0 * sigma * sigma)).exp()).sum()
    }
}

/// Everything [`analyze`] measures.
#[derive(Debug, Clone, PartialEq)]
pub struct HessianReport {
    /// Training loss at θ.
    pub loss: f64,
    /// ‖∇L(θ)‖.
    pub gradient_norm: f64,
    /// Whole net first, then one entry per layer.
    pub blocks: Vec<BlockCurvature>,
    /// Keskar et al. sharpness restricted to the top eigenvector's line:
    /// 100 · (max_{±} L(θ ± t·v₁) − L(θ)) / (1 + L(θ)), t the largest step
    /// inside the box −ε(|θᵢ|+1) ≤ zᵢ ≤ ε(|θᵢ|+1).
    pub sharpness: f64,
    /// Hessian-vector products spent.
    pub n_hvp: usize,
}

/// The layers of a net: (name prefix, flattened ranges), in parameter order.
#[must_use]
pub fn layer_blocks(f: &LossFunction) -> Vec<(String, Vec<std::ops::Range<usize>>)> {
    let mut out: Vec<(String, Vec<std::ops::Range<usize>>)> = Vec::new();
    for p in f.model().parameter_layout() {
        let layer = p.name.rsplit_once('.').map_or(p.name.as_str(), |(a, _)| a).to_owned();
        let range = p.offset..p.offset + p.len();
        match out.iter_mut().find(|(n, _)| *n == layer) {
            Some((_, rs)) => rs.push(range),
            None => out.push((layer, vec![range])),
        }
    }
    out
}

/// Runs every estimator at the net's weights.
///
/// # Arguments
/// * `f` — the training loss around θ.
/// * `cfg` — settings (validated here).
/// * `on_hvp` — called after every Hessian-vector product (progress bars).
///
/// # Errors
/// Invalid settings; a non-finite loss or gradient at θ
/// ([`crate::LandscapeError::InvalidParameter`] `operator`); candle errors.
pub fn analyze(f: &LossFunction, cfg: &HessianConfig, on_hvp: impl Fn()) -> LandscapeResult<HessianReport> {
    cfg.validate()?;
    let n = f.dim();
    let (loss, grad) = f.loss_and_gradient(f.theta())?;
    if !loss.is_finite() {
        return Err(invalid("operator", format!("the loss at θ is {loss}: no curvature to measure")));
    }
    let count = std::cell::Cell::new(0usize);
    // Each block is a list of ranges; the whole net is the one range 0..n.
    #[allow(clippy::single_range_in_vec_init)]
    let mut blocks = vec![(String::from("all"), vec![0..n])];
    if cfg.per_layer {
        blocks.extend(layer_blocks(f));
    }
    let mut out = Vec::with_capacity(blocks.len());
    for (name, ranges) in &blocks {
        let dim: usize = ranges.iter().map(ExactSizeIterator::len).sum();
        let apply = |v: &[f64]| -> LandscapeResult<Vec<f64>> {
            let mut full = vec![0.0; n];
            scatter(ranges, v, &mut full);
            let hv = f.hvp(&full)?;
            count.set(count.get() + 1);
            on_hvp();
            Ok(gather(ranges, &hv))
        };
        let start = gaussian_vector(dim, &mut stream(cfg.seed, &format!("lanczos-{name}")));
        let lz = lanczos(dim, apply, &start, cfg.lanczos_steps, 1)?;
        let k = cfg.top_k.min(lz.ritz_values.len());
        let last = lz.ritz_values.len() - 1;
        let mut rng = stream(cfg.seed, &format!("hutchinson-{name}"));
        let mut samples = Vec::with_capacity(cfg.hutchinson_probes);
        for _ in 0..cfg.hutchinson_probes {
            let z = rademacher_vector(dim, &mut rng);
            samples.push(dot(&z, &apply(&z)?));
        }
        let mut slq = Vec::new();
        if name == "all" && cfg.slq_probes > 0 {
            let mut rng = stream(cfg.seed, "slq");
            for _ in 0..cfg.slq_probes {
                let z = rademacher_vector(dim, &mut rng);
                let r = lanczos(dim, apply, &z, cfg.slq_steps, 0)?;
                #[allow(clippy::cast_precision_loss)]
                slq.extend(r.ritz_values.iter().zip(&r.weights).map(|(&x, &w)| (x, w / cfg.slq_probes as f64)));
            }
        }
        out.push(BlockCurvature {
            block: name.clone(),
            n_parameters: dim,
            top_eigenvalues: lz.ritz_values[..k].to_vec(),
            top_residuals: lz.residuals[..k].to_vec(),
            min_eigenvalue: lz.ritz_values[last],
            min_residual: lz.residuals[last],
            convergence: lz.trace,
            trace: Estimate::of(&samples),
            slq,
            top_vector: lz.ritz_vectors.into_iter().next().unwrap_or_default(),
        });
    }
    let sharpness = keskar_sharpness(f, &out[0].top_vector, loss, cfg.sharpness_epsilon)?;
    Ok(HessianReport { loss, gradient_norm: dot(&grad, &grad).sqrt(), blocks: out, sharpness, n_hvp: count.get() })
}

fn scatter(ranges: &[std::ops::Range<usize>], v: &[f64], full: &mut [f64]) {
    let mut k = 0;
    for r in ranges {
        full[r.clone()].copy_from_slice(&v[k..k + r.len()]);
        k += r.len();
    }
}

fn gather(ranges: &[std::ops::Range<usize>], full: &[f64]) -> Vec<f64> {
    ranges.iter().flat_map(|r| full[r.clone()].iter().copied()).collect()
}

fn keskar_sharpness(f: &LossFunction, v: &[f64], loss: f64, eps: f64) -> LandscapeResult<f64> {
    let t = f
        .theta()
        .iter()
        .zip(v)
        .filter(|(_, &vi)| vi != 0.0)
        .map(|(&th, &vi)| eps * (f64::from(th).abs() + 1.0) / vi.abs())
        .fold(f64::INFINITY, f64::min);
    if !t.is_finite() {
        return Ok(f64::NAN);
    }
    let worst = f.loss_along(v, t)?.max(f.loss_along(v, -t)?);
    Ok(100.0 * (worst - loss) / (1.0 + loss))
}

/// The top eigenvalue of the Hessian of the loss on `n_subsamples` random
/// subsets of `data` (each `fraction` of the rows, drawn without
/// replacement from stream `hessian-subsample-<b>` of `seed`), by
/// `lanczos_steps` Lanczos steps: how much the curvature depends on the
/// data the loss is measured on.
///
/// # Errors
/// [`crate::LandscapeError::InvalidParameter`] for fewer than 2 subsamples
/// or a fraction outside (0, 1]; errors of the Hessian-vector products.
#[allow(clippy::too_many_arguments)] // each is a documented setting of the CLI's `--subsamples`
pub fn top_eigenvalue_over_subsamples(
    model: &basin_train::Model,
    data: &basin_data::Dataset,
    method: HvpMethod,
    lanczos_steps: usize,
    n_subsamples: usize,
    fraction: f64,
    seed: u64,
    on_hvp: impl Fn(),
) -> LandscapeResult<Estimate> {
    if n_subsamples < 2 {
        return Err(invalid("subsamples", "a confidence interval needs at least 2 subsamples"));
    }
    if !(fraction > 0.0 && fraction <= 1.0) {
        return Err(invalid("subsample_fraction", format!("{fraction} is not in (0, 1]")));
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let size = ((data.len() as f64 * fraction).round() as usize).max(1);
    let mut tops = Vec::with_capacity(n_subsamples);
    for b in 0..n_subsamples {
        let mut rng = stream(seed, &format!("hessian-subsample-{b}"));
        let mut rows = rand::seq::index::sample(&mut rng, data.len(), size).into_vec();
        rows.sort_unstable();
        let subset = data.select(&rows).map_err(|e| invalid("data", e.to_string()))?;
        let f = LossFunction::new(model, &subset, method)?;
        let start = gaussian_vector(f.dim(), &mut rng);
        let r = lanczos(
            f.dim(),
            |v| {
                let out = f.hvp(v);
                on_hvp();
                out
            },
            &start,
            lanczos_steps,
            0,
        )?;
        tops.push(r.ritz_values[0]);
    }
    Ok(Estimate::of(&tops))
}
