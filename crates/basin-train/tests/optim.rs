//! SGD with momentum and weight decay against hand-computed steps.
//!
//! PyTorch equivalent (torch 2.15), values computed by hand below:
//! ```python
//! w = torch.tensor([1.0, -2.0], requires_grad=True)
//! opt = torch.optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=...)
//! for _ in range(2):
//!     opt.zero_grad(); (w * torch.tensor([3.0, 0.5])).sum().backward(); opt.step()
//! ```

use approx::assert_abs_diff_eq;
use basin_train::{SgdConfig, SgdMomentum};
use candle_core::{Device, Tensor, Var};
use candle_nn::Optimizer;

fn run(nesterov: bool, steps: usize) -> Vec<f32> {
    let dev = Device::Cpu;
    let w = Var::new(&[1.0f32, -2.0], &dev).unwrap();
    let a = Tensor::new(&[3.0f32, 0.5], &dev).unwrap();
    let cfg = SgdConfig { lr: 0.1, momentum: 0.9, weight_decay: 0.01, nesterov };
    let mut opt = SgdMomentum::new(vec![w.clone()], cfg).unwrap();
    for _ in 0..steps {
        let loss = w.as_tensor().mul(&a).unwrap().sum_all().unwrap();
        opt.backward_step(&loss).unwrap();
    }
    w.to_vec1::<f32>().unwrap()
}

#[test]
fn one_step_momentum_weight_decay() {
    // g = a + wd·w = [3 + 0.01, 0.5 − 0.02] = [3.01, 0.48]; b = g; w − 0.1·b.
    let w = run(false, 1);
    assert_abs_diff_eq!(w[0], 1.0 - 0.301, epsilon = 1e-6);
    assert_abs_diff_eq!(w[1], -2.0 - 0.048, epsilon = 1e-6);
}

#[test]
fn two_steps_momentum_weight_decay() {
    // Step 2: w = [0.699, −2.048]; g = [3 + 0.00699, 0.5 − 0.02048]
    // b = 0.9·[3.01, 0.48] + g = [5.71599, 0.91152]; w − 0.1·b.
    let w = run(false, 2);
    assert_abs_diff_eq!(w[0], 0.699 - 0.571_599, epsilon = 1e-6);
    assert_abs_diff_eq!(w[1], -2.048 - 0.091_152, epsilon = 1e-6);
}

#[test]
fn one_step_nesterov() {
    // b = g = [3.01, 0.48]; d = g + 0.9·b = 1.9·g; w − 0.1·d.
    let w = run(true, 1);
    assert_abs_diff_eq!(w[0], 1.0 - 0.1 * 1.9 * 3.01, epsilon = 1e-6);
    assert_abs_diff_eq!(w[1], -2.0 - 0.1 * 1.9 * 0.48, epsilon = 1e-6);
}

#[test]
fn tensor_op_path_matches_fused_path() {
    // A non-contiguous gradient (same values, transposed storage) takes the
    // tensor-op path used off the CPU; both paths must agree.
    let dev = Device::Cpu;
    let cfg = SgdConfig { lr: 0.05, momentum: 0.8, weight_decay: 0.1, nesterov: true };
    let init = [[1.0f32, 2.0, 3.0], [-1.0, 0.5, 0.0]];
    let x = Tensor::new(&[[1.0f32, -1.0], [2.0, 0.5], [0.0, 3.0]], &dev).unwrap();
    let mut out = Vec::new();
    for strided in [false, true] {
        let w = Var::new(&init, &dev).unwrap();
        let mut opt = SgdMomentum::new(vec![w.clone()], cfg).unwrap();
        for _ in 0..3 {
            let loss = w.as_tensor().matmul(&x).unwrap().sqr().unwrap().sum_all().unwrap();
            let mut grads = loss.backward().unwrap();
            if strided {
                let g = grads.remove(w.as_tensor()).unwrap();
                let g = g.t().unwrap().contiguous().unwrap().t().unwrap();
                assert!(!g.is_contiguous());
                grads.insert(w.as_tensor(), g);
            }
            opt.step(&grads).unwrap();
        }
        out.push(w.flatten_all().unwrap().to_vec1::<f32>().unwrap());
    }
    assert_ne!(out[0], init.concat());
    for (a, b) in out[0].iter().zip(&out[1]) {
        assert_abs_diff_eq!(a, b, epsilon = 1e-5);
    }
}
