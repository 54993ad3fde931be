//! Probes on a tiny MLP and a synthetic data set.

use basin_data::{rng::stream, Dataset, ImageShape};
use basin_landscape::{evaluate_at, grid_lattice, grid_probes, naive_probes, probes_frame, EvalSets, LandscapeError};
use basin_store::columns;
use basin_train::{filter_normalized_direction, Architecture, Model};
use candle_core::Device;
use ndarray::Array2;

fn tiny() -> (Model, EvalSets) {
    let arch = Architecture::mlp(ImageShape::flat(4), &[5], 3);
    let model = Model::new(&arch, &mut stream(1, "init"), &Device::Cpu).unwrap();
    let x = Array2::from_shape_fn((30, 4), |(i, j)| ((i * 7 + j * 3) % 11) as f32 / 5.0 - 1.0);
    let y: Vec<u32> = (0..30).map(|i| (i % 3) as u32).collect();
    let ds = Dataset::new("toy", x, y, ImageShape::flat(4), 3).unwrap();
    (model, EvalSets { train: ds.clone(), val: ds.clone(), test: ds })
}

#[test]
fn naive_points_lie_at_the_requested_distance_along_the_seeded_direction() {
    let (model, sets) = tiny();
    let distances = [0.1, 1.0, 3.0, f64::NAN];
    let pts = naive_probes(&model, &distances, 5, &sets, || {}).unwrap();
    assert_eq!(pts.len(), 4);
    for (p, &want) in pts.iter().zip(&distances[..3]) {
        assert!((p.distance - want).abs() < 1e-5 * want, "{} vs {want}", p.distance);
        assert!(p.metrics.is_finite());
    }
    // Point 1 is θₒ + c·d with d drawn from stream `probe-naive-1`.
    let d = filter_normalized_direction(&model, &mut stream(5, "probe-naive-1")).unwrap();
    let norm = d.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt();
    assert!((f64::from(pts[1].coords[0]) - 1.0 / norm).abs() < 1e-6 / norm);
    let theta0 = model.flat_weights().unwrap();
    let moved = model.deep_clone().unwrap();
    moved.set_flat_weights(&theta0.iter().zip(&d).map(|(&t, &v)| t + pts[1].coords[0] * v).collect::<Vec<_>>()).unwrap();
    assert_eq!(evaluate_at(&moved, &sets).unwrap(), pts[1].metrics);
    // A point that cannot be placed is kept, NaN and flagged.
    assert!(pts[3].distance.is_nan() && !pts[3].metrics.is_finite());
    let df = probes_frame("net", "naive", &pts).unwrap();
    let path = std::path::Path::new("mem");
    assert_eq!(columns::bools(&df, "finite", path).unwrap(), vec![true, true, true, false]);
    assert!(columns::f64s(&df, "train_loss", path).unwrap()[3].is_nan());
    assert_eq!(columns::i64s(&df, "sample", path).unwrap(), vec![0, 1, 2, 3]);
    // The net itself is untouched.
    assert_eq!(model.flat_weights().unwrap(), theta0);
}

#[test]
fn grid_centre_is_the_minimum_and_results_do_not_depend_on_threads() {
    let (model, sets) = tiny();
    let pts = grid_probes(&model, 5, 2, &sets, || {}).unwrap();
    assert_eq!(pts.len(), 125);
    let centre = &pts[62];
    assert_eq!(centre.coords, vec![0.0, 0.0, 0.0]);
    assert_eq!(centre.distance, 0.0);
    assert_eq!(centre.metrics, evaluate_at(&model, &sets).unwrap());
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let again = one_thread.install(|| grid_probes(&model, 5, 2, &sets, || {}).unwrap());
    assert_eq!(pts, again);
    // Opposite corners are equally far from the centre only by chance; the
    // lattice itself is symmetric.
    let lattice = grid_lattice(5).unwrap();
    assert_eq!(lattice[0], [-1.0, -1.0, -1.0]);
    assert_eq!(lattice[1], [-1.0, -1.0, -0.5]);
    assert_eq!(lattice[124], [1.0, 1.0, 1.0]);
}

#[test]
fn bad_resolutions_are_refused_with_their_name() {
    let (model, sets) = tiny();
    for r in [0, 1, 101] {
        let e = grid_probes(&model, r, 0, &sets, || {}).unwrap_err();
        assert!(matches!(e, LandscapeError::InvalidParameter { name: "resolution", .. }), "{e}");
    }
}
