//! Many jumps of one small MLP retrained at once ([`jump_and_retrain_batched`]).
//!
//! Two engines, one result:
//! * on the CPU, [`crate::batched_cpu`]: every jump trains on its own
//!   preallocated buffers (one jump per rayon task) and all live jumps are
//!   evaluated together, the first layer of all of them as one product;
//! * elsewhere (CUDA), candle: the K parameter sets are stacked
//!   (`K × in × out` weights, `K × 1 × out` biases) and every step is one
//!   batched matrix product per layer, so the per-kernel cost is paid once
//!   for all K jumps instead of K times.
//!
//! Each jump keeps its own batch order (stream `jump-order` of its seed) and
//! its own loss (in the candle engine the batched loss is the sum of the K
//! per-jump mean losses, so each jump's gradient is exactly its sequential
//! gradient), giving the trajectories of [`crate::jump_and_retrain`] up to
//! float rounding. The jump points (epoch 0) are evaluated by the sequential
//! code itself, so they are identical.

use basin_data::rng::stream;
use candle_core::{Device, Tensor, Var};
use candle_nn::Optimizer;
use rand::seq::SliceRandom;

use crate::arch::Layers;
use crate::batched_cpu::{evaluate_all, train_epoch_all, Evaluator, Jump};
use crate::checkpoint::Checkpoint;
use crate::error::{invalid, TrainResult};
use crate::fused;
use crate::jump::{filter_normalized_direction, JumpConfig};
use crate::model::Model;
use crate::optim::SgdMomentum;
use crate::train::{check_splits, record, trajectory_point, Splits, TrajectoryPoint};

/// Stacked parameters of K copies of one MLP.
struct StackedMlp {
    /// `(weight, bias)` per layer, input to output; weights are stored
    /// transposed (`K × in × out`) so the forward product needs no strided
    /// operand and the backward no transposed copies.
    layers: Vec<(Var, Var)>,
}

impl StackedMlp {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        let last = self.layers.len() - 1;
        for (l, (w, b)) in self.layers.iter().enumerate() {
            h = fused::stacked_bias_add(&h.matmul(w.as_tensor())?, b.as_tensor())?;
            if l < last {
                h = fused::relu(&h)?;
            }
        }
        Ok(h)
    }

    fn vars(&self) -> Vec<Var> {
        self.layers.iter().flat_map(|(w, b)| [w.clone(), b.clone()]).collect()
    }
}

/// Retrains several jumps of one MLP (no BatchNorm) together; returns one
/// trajectory per entry of `jumps`, in order, equal to what
/// [`crate::jump_and_retrain`] gives for each up to float rounding.
///
/// All jumps must share the retraining settings (`epochs`, `lr`,
/// `momentum`, `nesterov`, `weight_decay`, `batch_size`); `seed` and `step`
/// may differ. A diverged jump is logged once with its flag and then
/// dropped from the log (on the CPU it is no longer trained; in the candle
/// engine its slice keeps computing, isolated from the others).
///
/// On the CPU the trajectories do not depend on the number of rayon
/// threads; they equal the sequential ones within float rounding, not bit
/// for bit (products are summed in another order).
///
/// # Arguments
/// * `net` — the trained MLP.
/// * `jumps` — one config per jump.
/// * `splits` — the splits the net was trained on.
/// * `device` — where to retrain.
/// * `on_epoch` — called with `(jump index, point)` as points are computed.
///
/// # Errors
/// [`crate::TrainError::InvalidParameter`] (`jumps`) when the net is not a
/// plain MLP, `jumps` is empty or their shared settings differ; as
/// [`crate::jump_and_retrain`] otherwise.
pub fn jump_and_retrain_batched(
    net: &Checkpoint,
    jumps: &[JumpConfig],
    splits: &Splits,
    device: &Device,
    on_epoch: impl FnMut(usize, &TrajectoryPoint),
) -> TrainResult<Vec<Vec<TrajectoryPoint>>> {
    let prep = prepare(net, jumps, splits, device)?;
    if device.is_cpu() {
        run_cpu(&prep, jumps, splits, on_epoch)
    } else {
        run_candle(&prep, jumps, splits, device, on_epoch)
    }
}

/// What both engines start from.
struct Prepared {
    /// A single-net copy of the checkpoint: the jump point's evaluation and
    /// the flattened layout.
    template: Model,
    /// The training split with the checkpoint's label noise.
    train_data: basin_data::Dataset,
    /// Hidden widths of the MLP.
    hidden: Vec<usize>,
    /// Flattened weights of each jump point.
    starts: Vec<Vec<f32>>,
}

fn prepare(net: &Checkpoint, jumps: &[JumpConfig], splits: &Splits, device: &Device) -> TrainResult<Prepared> {
    let first = jumps.first().ok_or_else(|| invalid("jumps", "no jump to run"))?;
    for (i, j) in jumps.iter().enumerate() {
        j.validate()?;
        let same = j.epochs == first.epochs
            && j.lr == first.lr
            && j.momentum == first.momentum
            && j.nesterov == first.nesterov
            && j.weight_decay == first.weight_decay
            && j.batch_size == first.batch_size;
        if !same {
            return Err(invalid("jumps", format!("jump {i} has other retraining settings than jump 0")));
        }
    }
    let arch = net.model.architecture().clone();
    let hidden = match &arch.layers {
        Layers::Mlp { hidden, batch_norm: false } => hidden.clone(),
        _ => return Err(invalid("jumps", "batched jumps support plain MLPs (no BatchNorm, no convolutions)")),
    };
    // A single-net template: evaluation and the flattened layout.
    let template = Model::from_tensors(&arch, &net.model.named_tensors(), device)?.deep_clone()?;
    check_splits(&template, splits)?;
    let train_data = match &net.train_config {
        Some(cfg) => cfg.training_data(&splits.train)?,
        None => splits.train.clone(),
    };
    let theta0 = template.flat_weights()?;
    let mut starts = Vec::with_capacity(jumps.len());
    for j in jumps {
        let d = filter_normalized_direction(&template, &mut stream(j.seed, "jump"))?;
        #[allow(clippy::cast_possible_truncation)]
        let s = j.step as f32;
        starts.push(theta0.iter().zip(&d).map(|(&t, &d)| t + s * d).collect::<Vec<f32>>());
    }
    Ok(Prepared { template, train_data, hidden, starts })
}

/// The CPU engine ([`crate::batched_cpu`]): jump points logged through the
/// template exactly as [`crate::jump_and_retrain`] logs them, later epochs
/// trained and evaluated by the engine.
fn run_cpu(
    prep: &Prepared,
    jumps: &[JumpConfig],
    splits: &Splits,
    mut on_epoch: impl FnMut(usize, &TrajectoryPoint),
) -> TrainResult<Vec<Vec<TrajectoryPoint>>> {
    let Prepared { template, train_data, hidden, starts } = prep;
    let first = &jumps[0];
    let arch = template.architecture();
    let widths: Vec<usize> =
        std::iter::once(arch.input.len()).chain(hidden.iter().copied()).chain([arch.n_classes]).collect();
    let layout = template.parameter_layout();
    let n_params = template.n_parameters();
    let mut engine = starts
        .iter()
        .zip(jumps)
        .map(|(s, j)| Jump::new(&widths, &layout, s, first.batch_size, stream(j.seed, "jump-order")))
        .collect::<TrainResult<Vec<_>>>()?;
    let mut trajectories: Vec<Vec<TrajectoryPoint>> = vec![Vec::new(); jumps.len()];
    for (i, s) in starts.iter().enumerate() {
        template.set_flat_weights(s)?;
        let p = record(template, 0, train_data, splits, true)?;
        on_epoch(i, &p);
        engine[i].alive = !p.diverged;
        trajectories[i].push(p);
    }
    let sgd = first.sgd();
    let mut evaluator = Evaluator::default();
    for epoch in 1..=first.epochs {
        if !engine.iter().any(|j| j.alive) {
            break;
        }
        train_epoch_all(&mut engine, train_data, first.batch_size, sgd);
        let live: Vec<usize> = (0..engine.len()).filter(|&i| engine[i].alive).collect();
        let refs: Vec<&Jump> = live.iter().map(|&i| &engine[i]).collect();
        let metrics = evaluate_all(&refs, &[train_data, &splits.val, &splits.test], &mut evaluator);
        let (tr, va, te) = (&metrics[0], &metrics[1], &metrics[2]);
        for (a, &i) in live.iter().enumerate() {
            let p = trajectory_point(epoch, [&tr[a], &va[a], &te[a]], engine[i].flat_weights(&layout, n_params));
            on_epoch(i, &p);
            engine[i].alive = !p.diverged;
            trajectories[i].push(p);
        }
    }
    Ok(trajectories)
}

/// The candle engine (any device): the K parameter sets stacked, one
/// batched product per layer and step.
fn run_candle(
    prep: &Prepared,
    jumps: &[JumpConfig],
    splits: &Splits,
    device: &Device,
    mut on_epoch: impl FnMut(usize, &TrajectoryPoint),
) -> TrainResult<Vec<Vec<TrajectoryPoint>>> {
    let Prepared { template, train_data, hidden, starts } = prep;
    let first = &jumps[0];
    let arch = template.architecture().clone();
    let theta0_len = template.n_parameters();
    let k = jumps.len();
    let layout = template.parameter_layout();
    let stack = |name: &str, bias: bool| -> TrainResult<Var> {
        let p = layout.iter().find(|p| p.name == name).ok_or_else(|| invalid("model", format!("no `{name}`")))?;
        let mut values = Vec::with_capacity(k * p.len());
        for s in starts {
            values.extend_from_slice(&s[p.offset..p.offset + p.len()]);
        }
        if bias {
            return Ok(Var::from_vec(values, (k, 1, p.shape[0]), device)?);
        }
        // PyTorch layout out × in → stored in × out.
        let t = Tensor::from_vec(values, (k, p.shape[0], p.shape[1]), device)?.transpose(1, 2)?.contiguous()?;
        Ok(Var::from_tensor(&t)?)
    };
    let stacked = StackedMlp {
        layers: (0..=hidden.len())
            .map(|l| Ok((stack(&format!("fc{l}.weight"), false)?, stack(&format!("fc{l}.bias"), true)?)))
            .collect::<TrainResult<_>>()?,
    };
    // Flattened weights of jump `i` from the stacks, in the documented order.
    let unstack = |i: usize| -> TrainResult<Vec<f32>> {
        let mut out = vec![0.0f32; theta0_len];
        for (l, (w, b)) in stacked.layers.iter().enumerate() {
            for (t, name) in [(w.get(i)?.t()?, format!("fc{l}.weight")), (b.get(i)?, format!("fc{l}.bias"))] {
                let p = layout.iter().find(|p| p.name == name).ok_or_else(|| invalid("model", name.clone()))?;
                out[p.offset..p.offset + p.len()].copy_from_slice(&t.flatten_all()?.to_vec1::<f32>()?);
            }
        }
        Ok(out)
    };

    let mut trajectories: Vec<Vec<TrajectoryPoint>> = vec![Vec::new(); k];
    let mut alive = vec![true; k];
    let mut log = |i: usize,
                   epoch: u32,
                   w: Vec<f32>,
                   trajectories: &mut Vec<Vec<TrajectoryPoint>>,
                   alive: &mut Vec<bool>|
     -> TrainResult<()> {
        template.set_flat_weights(&w)?;
        let p = record(template, epoch, train_data, splits, true)?;
        on_epoch(i, &p);
        alive[i] = !p.diverged;
        trajectories[i].push(p);
        Ok(())
    };
    for (i, s) in starts.iter().enumerate() {
        log(i, 0, s.clone(), &mut trajectories, &mut alive)?;
    }

    let mut opt = SgdMomentum::new(stacked.vars(), first.sgd())?;
    let mut order_rngs: Vec<_> = jumps.iter().map(|j| stream(j.seed, "jump-order")).collect();
    let n = train_data.len();
    let d_in = arch.input.len();
    let bs = first.batch_size;
    let (mut x, mut y) = (Vec::with_capacity(k * bs * d_in), Vec::with_capacity(k * bs));
    for epoch in 1..=first.epochs {
        if !alive.iter().any(|&a| a) {
            break;
        }
        let orders: Vec<Vec<usize>> = order_rngs
            .iter_mut()
            .map(|rng| {
                let mut o: Vec<usize> = (0..n).collect();
                o.shuffle(rng);
                o
            })
            .collect();
        for start in (0..n).step_by(bs) {
            let end = (start + bs).min(n);
            let b = end - start;
            x.clear();
            y.clear();
            for o in &orders {
                for &r in &o[start..end] {
                    let row = train_data.features.row(r);
                    match row.as_slice() {
                        Some(s) => x.extend_from_slice(s),
                        None => x.extend(row.iter().copied()),
                    }
                    y.push(train_data.labels[r]);
                }
            }
            let xt = Tensor::from_slice(&x, (k, b, d_in), device)?;
            let yt = Tensor::from_slice(&y, k * b, device)?;
            let logits = stacked.forward(&xt)?.reshape((k * b, arch.n_classes))?;
            // Σ_k mean_b CE = K · (mean over all K·B rows): every jump's
            // gradient is its own mean-loss gradient.
            #[allow(clippy::cast_precision_loss)]
            let loss = (crate::eval::cross_entropy(&logits, &yt)? * k as f64)?;
            opt.backward_step(&loss)?;
        }
        for i in 0..k {
            if alive[i] {
                log(i, epoch, unstack(i)?, &mut trajectories, &mut alive)?;
            }
        }
    }
    Ok(trajectories)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{jump_and_retrain, Architecture};
    use basin_data::{Dataset, ImageShape};
    use ndarray::Array2;
    use rand::Rng;

    fn data(n: usize, seed: u64) -> Dataset {
        let mut rng = stream(seed, "test-data");
        let x = Array2::from_shape_fn((n, 12), |_| rng.random_range(-1.0f32..1.0));
        let y = (0..n).map(|i| u32::from(x[[i, 0]] + x[[i, 1]] > 0.0) + 2 * u32::from(x[[i, 2]] > 0.3)).collect();
        Dataset::new("toy", x, y, ImageShape::flat(12), 4).unwrap()
    }

    /// The candle engine (the one CUDA runs) gives the sequential
    /// trajectories on the CPU too.
    #[test]
    fn candle_engine_matches_sequential_jumps() {
        let dev = Device::Cpu;
        let arch = Architecture::mlp(ImageShape::flat(12), &[8, 6], 4);
        let net = Checkpoint::new(Model::new(&arch, &mut stream(3, "init"), &dev).unwrap(), None);
        let splits = Splits { train: data(90, 1), val: data(30, 2), test: data(30, 3) };
        let jumps: Vec<JumpConfig> = [(0, 0.5), (1, 1.0), (1, 0.25)]
            .iter()
            .map(|&(seed, step)| JumpConfig {
                seed,
                step,
                epochs: 3,
                lr: 0.05,
                batch_size: 16,
                ..JumpConfig::default()
            })
            .collect();
        let prep = prepare(&net, &jumps, &splits, &dev).unwrap();
        let batched = run_candle(&prep, &jumps, &splits, &dev, |_, _| {}).unwrap();
        for (j, traj) in jumps.iter().zip(&batched) {
            let seq = jump_and_retrain(&net, j, &splits, &dev, |_| {}).unwrap();
            assert_eq!(seq.len(), traj.len());
            assert_eq!(seq[0], traj[0]);
            for (a, b) in seq.iter().zip(traj) {
                assert!((a.train_loss - b.train_loss).abs() < 1e-5, "{} vs {}", a.train_loss, b.train_loss);
                assert!(a.weights.iter().zip(&b.weights).all(|(x, y)| (x - y).abs() < 1e-5));
            }
            assert_ne!(seq[0].weights, seq[3].weights);
        }
    }
}
