//! Golden tests: basin's Rips diagrams against ripser.py 0.6.15 on the data
//! sets of `data/tda/` and on small random inputs, all produced by
//! `tests/reference/rips/make_reference.py` (parameters in `cases.json`).

use std::path::{Path, PathBuf};

use basin_topo::rips::{self, Metric, RipsInput, RipsParams};
use basin_topo::Diagram;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/rips")
}

/// `(dim, birth, death)` per line, as written by the reference script.
fn read_reference(name: &str) -> Vec<(usize, f32, f32)> {
    let text = std::fs::read_to_string(reference_dir().join(format!("{name}.diagram"))).unwrap();
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let death = if f[2] == "inf" {
                f32::INFINITY
            } else {
                f[2].parse().unwrap()
            };
            (f[0].parse().unwrap(), f[1].parse().unwrap(), death)
        })
        .collect()
}

/// Same multiset of bars per dimension: values are matched at `f32`
/// precision (equal, or within `rel_tol` relative for point clouds whose
/// distances scikit-learn computes with a different rounding).
fn assert_same_diagram(name: &str, got: &Diagram, want: &[(usize, f32, f32)], rel_tol: f32) {
    let max_dim = want.iter().map(|p| p.0).max().unwrap_or(0).max(got.max_dim);
    for dim in 0..=max_dim {
        let mut w: Vec<(f32, f32)> = want
            .iter()
            .filter(|p| p.0 == dim)
            .map(|p| (p.1, p.2))
            .collect();
        let mut g: Vec<(f32, f32)> = got
            .in_dim(dim)
            .map(|p| (p.birth as f32, p.death as f32))
            .collect();
        assert_eq!(
            g.len(),
            w.len(),
            "{name}: dim {dim}: {} bars, ripser.py has {}",
            g.len(),
            w.len()
        );
        let key = |a: &(f32, f32), b: &(f32, f32)| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1));
        w.sort_by(key);
        g.sort_by(key);
        let close = |a: f32, b: f32| a == b || (a - b).abs() <= rel_tol * a.abs().max(1.0);
        let mut used = vec![false; g.len()];
        for &(b, d) in &w {
            let hit = (0..g.len()).find(|&i| !used[i] && close(g[i].0, b) && close(g[i].1, d));
            match hit {
                Some(i) => used[i] = true,
                None => panic!(
                    "{name}: dim {dim}: ripser.py bar [{b}, {d}) not found in basin's diagram"
                ),
            }
        }
    }
}

struct Case {
    name: String,
    file: String,
    format: String,
    max_dim: usize,
    threshold: Option<f64>,
    modulus: u32,
    metric: String,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(reference_dir().join("cases.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().unwrap().to_string(),
            file: c["file"].as_str().unwrap().to_string(),
            format: c["format"].as_str().unwrap().to_string(),
            max_dim: c["max_dim"].as_u64().unwrap() as usize,
            threshold: c["threshold"].as_f64(),
            modulus: c["modulus"].as_u64().unwrap() as u32,
            metric: c["metric"].as_str().unwrap().to_string(),
        })
        .collect()
}

fn run_case(case: &Case) {
    run_case_with_threads(case, 1);
}

fn run_case_with_threads(case: &Case, threads: usize) {
    let path = repo_root().join(&case.file);
    let params = RipsParams::new()
        .max_dim(case.max_dim)
        .threshold(case.threshold)
        .modulus(case.modulus)
        .n_threads(threads)
        .max_memory(None);
    let metric = if case.metric == "cosine" {
        Metric::Cosine
    } else {
        Metric::Euclidean
    };
    let (out, tol) = match case.format.as_str() {
        "lower" => {
            let (n, values) = rips::read_lower_distance_matrix(&path).unwrap();
            (
                params
                    .compute(&RipsInput::LowerTriangular { n, values: &values })
                    .unwrap(),
                0.0,
            )
        }
        "full" => {
            let m = rips::read_distance_matrix(&path).unwrap();
            (
                params
                    .compute(&RipsInput::DistanceMatrix(m.view()))
                    .unwrap(),
                0.0,
            )
        }
        "points" => {
            let p = rips::read_point_cloud(&path).unwrap();
            (
                params
                    .compute(&RipsInput::PointCloud {
                        points: p.view(),
                        metric,
                    })
                    .unwrap(),
                1e-6,
            )
        }
        f => panic!("unknown format {f}"),
    };
    assert_eq!(out.diagram.max_dim, case.max_dim);
    assert_same_diagram(&case.name, &out.diagram, &read_reference(&case.name), tol);
}

fn run_named(name: &str) {
    let case = cases().into_iter().find(|c| c.name == name).unwrap();
    run_case(&case);
}

#[test]
fn sphere_3_192_matches_ripser_py() {
    run_named("sphere_3_192");
}

#[test]
fn o3_1024_matches_ripser_py() {
    run_named("o3_1024");
}

#[test]
fn random16_50_matches_ripser_py() {
    run_named("random16_50");
}

#[test]
fn projective_plane_z2_and_z3_match_ripser_py() {
    run_named("projective_plane_z2");
    run_named("projective_plane_z3");
}

#[test]
fn random_inputs_match_ripser_py() {
    let cases: Vec<Case> = cases()
        .into_iter()
        .filter(|c| c.name.starts_with("random_"))
        .collect();
    assert_eq!(cases.len(), 9);
    for case in &cases {
        run_case(case);
    }
}

/// The multi-threaded reduction on every set and random input, with 2 and 3
/// threads: the same diagrams as ripser.py.
#[test]
fn every_case_matches_ripser_py_with_threads() {
    for case in cases() {
        for threads in [2, 3] {
            run_case_with_threads(&case, threads);
        }
    }
}

/// The pair counts listed in data/tda/README.md.
#[test]
fn readme_pair_counts() {
    let p = rips::read_distance_matrix(repo_root().join("data/tda/projective_plane.csv")).unwrap();
    let counts = |modulus| {
        let out = RipsParams::new()
            .max_dim(2)
            .modulus(modulus)
            .compute(&RipsInput::DistanceMatrix(p.view()))
            .unwrap();
        (0..=2).map(|d| out.diagram.count(d)).collect::<Vec<_>>()
    };
    assert_eq!(counts(2), vec![13, 1, 1]);
    assert_eq!(counts(3), vec![13, 0, 0]);
}
