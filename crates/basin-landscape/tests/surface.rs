//! Surfaces on a tiny MLP and synthetic surfaces: centre and ends, memory
//! refusal, bilinear read-off.

use basin_data::{rng::stream, Dataset, ImageShape};
use basin_landscape::{difference, linspace, random_directions, surface, BiasBn, LandscapeError, Surface};
use basin_train::{evaluate, Architecture, Model};
use candle_core::Device;
use ndarray::Array2;

fn tiny(seed: u64) -> (Model, Dataset) {
    let arch = Architecture::mlp(ImageShape::flat(4), &[5], 3);
    let model = Model::new(&arch, &mut stream(seed, "init"), &Device::Cpu).unwrap();
    let x = Array2::from_shape_fn((30, 4), |(i, j)| ((i * 7 + j * 3) % 11) as f32 / 5.0 - 1.0);
    let y: Vec<u32> = (0..30).map(|i| (i % 3) as u32).collect();
    (model, Dataset::new("toy", x, y, ImageShape::flat(4), 3).unwrap())
}

#[test]
fn random_surface_centre_is_the_net() {
    let (model, train) = tiny(1);
    let theta = model.flat_weights().unwrap();
    let dirs = random_directions(&model, 2, 3, "surface", BiasBn::Zero).unwrap();
    let axis = linspace(-1.0, 1.0, 5).unwrap();
    assert_eq!(axis, vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
    let s = surface(&model, &theta, &dirs, &[axis.clone(), axis], &train, u128::MAX, || {}).unwrap();
    assert_eq!(s.coords.len(), 25);
    assert_eq!(s.coords[12], vec![0.0, 0.0]);
    assert_eq!(s.coords[1], vec![-1.0, -0.5], "first axis slowest");
    assert_eq!(s.train_loss[12], evaluate(&model, &train).unwrap().loss);
    // Away from the centre the loss changes.
    assert!(s.train_loss.iter().any(|&l| (l - s.train_loss[12]).abs() > 1e-3));
}

#[test]
fn bias_bn_flag_moves_one_dimensional_parameters_by_their_own_values() {
    let (model, _) = tiny(1);
    let theta = model.flat_weights().unwrap();
    let zero = random_directions(&model, 1, 3, "surface", BiasBn::Zero).unwrap();
    let keep = random_directions(&model, 1, 3, "surface", BiasBn::Keep).unwrap();
    for p in model.parameter_layout() {
        let r = p.offset..p.offset + p.len();
        if p.shape.len() < 2 {
            assert!(zero[0][r.clone()].iter().all(|&v| v == 0.0));
            assert_eq!(&keep[0][r.clone()], &theta[r]);
        } else {
            assert_eq!(&keep[0][r.clone()], &zero[0][r]);
        }
    }
}

#[test]
fn interpolation_ends_are_the_two_nets() {
    let (a, train) = tiny(1);
    let (b, _) = tiny(2);
    let (ta, tb) = (a.flat_weights().unwrap(), b.flat_weights().unwrap());
    let d = difference(&ta, &tb).unwrap();
    let s = surface(&a, &ta, &[d], &[vec![0.0, 0.5, 1.0]], &train, u128::MAX, || {}).unwrap();
    assert_eq!(s.train_loss[0], evaluate(&a, &train).unwrap().loss);
    let lb = evaluate(&b, &train).unwrap().loss;
    assert!((s.train_loss[2] - lb).abs() < 1e-5, "{} vs {lb}", s.train_loss[2]);
    assert!(matches!(difference(&ta, &tb[1..]), Err(LandscapeError::InvalidParameter { name: "other", .. })));
}

#[test]
fn too_large_grids_are_refused_before_any_work() {
    let (model, train) = tiny(1);
    let theta = model.flat_weights().unwrap();
    let dirs = random_directions(&model, 2, 3, "surface", BiasBn::Zero).unwrap();
    let axis = linspace(-1.0, 1.0, 51).unwrap();
    let e = surface(&model, &theta, &dirs, &[axis.clone(), axis], &train, 1 << 10, || panic!("no point is evaluated")).unwrap_err();
    assert!(matches!(e, LandscapeError::MemoryBudget { .. }), "{e}");
    assert!(e.to_string().contains("2601 grid points"), "{e}");
    assert!(linspace(0.0, 1.0, 1).is_err() && linspace(1.0, 0.0, 3).is_err() && linspace(f64::NAN, 1.0, 3).is_err());
}

#[test]
fn bilinear_read_off_is_exact_on_a_bilinear_surface_and_nan_outside() {
    // loss = 1 + 2x + 3y + xy on a 3 × 4 grid: bilinear interpolation is exact.
    let ax = vec![-1.0f32, 0.0, 1.0];
    let ay = vec![-1.0f32, 0.0, 0.5, 1.0];
    let f = |x: f64, y: f64| 1.0 + 2.0 * x + 3.0 * y + x * y;
    let mut s = Surface { axes: vec![ax.clone(), ay.clone()], coords: vec![], train_loss: vec![], train_acc: vec![] };
    for &x in &ax {
        for &y in &ay {
            s.coords.push(vec![x, y]);
            s.train_loss.push(f(x.into(), y.into()));
            s.train_acc.push(0.5);
        }
    }
    for (x, y) in [(0.3, 0.7), (-0.9, 0.1), (1.0, 1.0), (-1.0, -1.0), (0.5, 0.25)] {
        approx::assert_abs_diff_eq!(s.interpolate_2d(x, y), f(x, y), epsilon = 1e-12);
    }
    assert!(s.interpolate_2d(1.1, 0.0).is_nan());
    // A non-finite corner is not imputed.
    let centre = s.index(&[1, 1]);
    s.train_loss[centre] = f64::NAN;
    assert!(s.interpolate_2d(0.2, 0.2).is_nan());
    approx::assert_abs_diff_eq!(s.interpolate_2d(0.5, 0.75), f(0.5, 0.75), epsilon = 1e-12);
}
