//! PCA of an optimizer path against scikit-learn (tests/reference/make_pca.py).

use basin_landscape::path_pca;
use serde_json::Value;

fn reference() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/pca_path.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn rows(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()).collect()
}

fn f32_rows(v: &Value) -> Vec<Vec<f32>> {
    rows(v).into_iter().map(|r| r.into_iter().map(|x| x as f32).collect()).collect()
}

#[test]
fn matches_scikit_learn() {
    let r = reference();
    let path = f32_rows(&r["path"]);
    let origin: Vec<f32> = r["origin"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
    let pca = path_pca(&path, &origin, 2).unwrap();
    let ratio: Vec<f64> = r["explained_variance_ratio"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    assert_eq!(pca.explained_variance_ratio.len(), 2);
    for (got, want) in pca.explained_variance_ratio.iter().zip(&ratio) {
        approx::assert_abs_diff_eq!(*got, *want, epsilon = 1e-9);
    }
    for (d, c) in pca.directions.iter().zip(rows(&r["components"])) {
        for (a, b) in d.iter().zip(&c) {
            approx::assert_abs_diff_eq!(f64::from(*a), *b, epsilon = 1e-6);
        }
    }
    for (got, want) in pca.coords.iter().zip(rows(&r["coords"])) {
        for (a, b) in got.iter().zip(&want) {
            approx::assert_abs_diff_eq!(*a, *b, epsilon = 1e-9);
        }
    }
    for (a, b) in pca.off_plane.iter().zip(rows(&serde_json::json!([r["off_plane"]]))[0].iter()) {
        approx::assert_abs_diff_eq!(*a, *b, epsilon = 1e-9);
    }
    // θ_final projects to the origin of the plane.
    assert_eq!(pca.coords[8], vec![0.0, 0.0]);
}

#[test]
fn non_finite_points_are_kept_but_not_fitted() {
    let r = reference();
    let mut path = f32_rows(&r["path"]);
    let origin = path[8].clone();
    let clean = path_pca(&path, &origin, 2).unwrap();
    path.insert(3, vec![f32::NAN; origin.len()]);
    let with_nan = path_pca(&path, &origin, 2).unwrap();
    assert_eq!(with_nan.coords.len(), 10);
    assert!(with_nan.coords[3].iter().all(|c| c.is_nan()) && with_nan.off_plane[3].is_nan());
    assert_eq!(with_nan.explained_variance_ratio, clean.explained_variance_ratio);
    assert_eq!(with_nan.coords[4], clean.coords[3]);
}

#[test]
fn bad_paths_are_refused() {
    let origin = vec![0.0f32; 3];
    assert!(path_pca(&[vec![1.0, 2.0, 3.0], vec![0.0; 3]], &origin, 2).is_err(), "2 points cannot give 2 components");
    assert!(path_pca(&[vec![1.0, 2.0], vec![0.0; 3], vec![0.0; 3]], &origin, 1).unwrap_err().to_string().contains("row 0"));
    let line = [vec![1.0f32, 0.0, 0.0], vec![2.0, 0.0, 0.0], vec![3.0, 0.0, 0.0], vec![0.0; 3]];
    assert!(path_pca(&line, &origin, 2).unwrap_err().to_string().contains("fewer than 2 dimensions"));
}
