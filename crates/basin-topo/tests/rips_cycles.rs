//! Representative cycles of 1-dimensional Rips bars, checked exhaustively on
//! small random inputs by linear algebra over Z/p: each cycle is a cycle,
//! appears at the bar's birth, is a boundary at its death and not before
//! (never, for an essential bar), and pairs non-trivially with the bar's
//! cocycle. The checks compute spans of boundary vectors by Gaussian
//! elimination, independently of the library's reduction.

use std::collections::HashMap;

use basin_topo::rips::{Metric, RipsInput, RipsParams};
use ndarray::Array2;
use proptest::prelude::*;

fn points_strategy(max_n: usize, dim: usize) -> impl Strategy<Value = Array2<f64>> {
    (4..=max_n).prop_flat_map(move |n| {
        proptest::collection::vec(-1.0f64..1.0, n * dim)
            .prop_map(move |v| Array2::from_shape_vec((n, dim), v).unwrap())
    })
}

/// Whether `target` is in the span of `vectors` over Z/p (dense vectors).
fn in_span(vectors: &[Vec<i64>], target: &[i64], p: i64) -> bool {
    let inverse = |a: i64| (1..p).find(|&x| (a * x).rem_euclid(p) == 1).unwrap();
    // Echelon form: pivot column -> reduced row.
    let mut basis: Vec<(usize, Vec<i64>)> = Vec::new();
    let reduce = |v: &mut Vec<i64>, basis: &[(usize, Vec<i64>)]| {
        for (col, row) in basis {
            let c = v[*col].rem_euclid(p);
            if c != 0 {
                for (x, y) in v.iter_mut().zip(row) {
                    *x = (*x - c * y).rem_euclid(p);
                }
            }
        }
    };
    for v in vectors {
        let mut v = v.clone();
        reduce(&mut v, &basis);
        if let Some(col) = v.iter().position(|&x| x.rem_euclid(p) != 0) {
            let s = inverse(v[col].rem_euclid(p));
            let mut v: Vec<i64> = v.iter().map(|&x| (x * s).rem_euclid(p)).collect();
            // Keep the basis fully reduced on its pivot columns.
            for (_, row) in basis.iter_mut() {
                let c = row[col];
                if c != 0 {
                    for (x, y) in row.iter_mut().zip(&v) {
                        *x = (*x - c * y).rem_euclid(p);
                    }
                }
            }
            v[col] = 1;
            basis.push((col, v));
        }
    }
    let mut t = target.to_vec();
    reduce(&mut t, &basis);
    t.iter().all(|&x| x.rem_euclid(p) == 0)
}

/// How the points are handed to the library.
#[derive(Clone, Copy)]
enum Mode {
    /// Point cloud, dense enumeration unless the threshold leaves out most edges.
    Points,
    /// The edges of length `≤ threshold` as a sparse matrix (sparse enumeration).
    SparseEdges,
}

fn check_cycles(
    points: &Array2<f64>,
    modulus: u32,
    threshold: Option<f64>,
) -> Result<usize, TestCaseError> {
    check_cycles_in(points, modulus, threshold, Mode::Points)
}

fn check_cycles_in(
    points: &Array2<f64>,
    modulus: u32,
    threshold: Option<f64>,
    mode: Mode,
) -> Result<usize, TestCaseError> {
    let n = points.nrows();
    let p = i64::from(modulus);
    let euclid = |i: usize, j: usize| -> f64 {
        (&points.row(i) - &points.row(j))
            .mapv(|x| x * x)
            .sum()
            .sqrt()
    };
    let params = RipsParams::new()
        .max_dim(1)
        .modulus(modulus)
        .cocycles(true)
        .cycles(true)
        .max_memory(None);
    let out = match mode {
        Mode::Points => params
            .threshold(threshold)
            .compute(&RipsInput::PointCloud {
                points: points.view(),
                metric: Metric::Euclidean,
            })
            .unwrap(),
        Mode::SparseEdges => {
            let t = threshold.expect("sparse mode needs a threshold") as f32;
            let edges: Vec<(usize, usize, f64)> = (0..n)
                .flat_map(|j| (0..j).map(move |i| (i, j)))
                .map(|(i, j)| (i, j, euclid(i, j)))
                .filter(|e| e.2 as f32 <= t)
                .collect();
            params
                .threshold(threshold)
                .compute(&RipsInput::Sparse { n, edges: &edges })
                .unwrap()
        }
    };
    // The same cycles with threads.
    let threaded = match mode {
        Mode::Points => {
            RipsParams::new()
                .max_dim(1)
                .modulus(modulus)
                .threshold(threshold)
                .cycles(true)
                .n_threads(2)
                .max_memory(None)
                .compute(&RipsInput::PointCloud {
                    points: points.view(),
                    metric: Metric::Euclidean,
                })
                .unwrap()
                .cycles
        }
        Mode::SparseEdges => out.cycles.clone(),
    };
    prop_assert_eq!(&threaded, &out.cycles);
    let dist = |i: usize, j: usize| -> f32 {
        let d: f64 = (&points.row(i) - &points.row(j))
            .mapv(|x| x * x)
            .sum()
            .sqrt();
        d as f32
    };
    let t = out.threshold as f32;
    let edges: Vec<(usize, usize)> = (0..n)
        .flat_map(|j| (0..j).map(move |i| (i, j)))
        .filter(|&(i, j)| dist(i, j) <= t)
        .collect();
    let edge_pos: HashMap<(usize, usize), usize> =
        edges.iter().enumerate().map(|(k, &e)| (e, k)).collect();
    let mut triangles = Vec::new();
    for c in 0..n {
        for b in 0..c {
            for a in 0..b {
                let d = dist(a, b).max(dist(a, c)).max(dist(b, c));
                if d <= t {
                    let mut v = vec![0i64; edges.len()];
                    v[edge_pos[&(b, c)]] += 1;
                    v[edge_pos[&(a, c)]] -= 1;
                    v[edge_pos[&(a, b)]] += 1;
                    triangles.push((d, v));
                }
            }
        }
    }
    let boundaries = |pred: &dyn Fn(f32) -> bool| -> Vec<Vec<i64>> {
        triangles
            .iter()
            .filter(|(d, _)| pred(*d))
            .map(|(_, v)| v.clone())
            .collect()
    };
    let cycles = out.cycles.as_ref().unwrap();
    let cocycles = out.cocycles.as_ref().unwrap();
    let coefficients = out.cocycle_coefficients.as_ref().unwrap();
    prop_assert_eq!(cycles.len(), out.diagram.pairs.len());
    let mut checked = 0;
    for (k, bar) in out.diagram.pairs.iter().enumerate() {
        let z = &cycles[k];
        if bar.dim != 1 {
            prop_assert!(z.is_empty());
            continue;
        }
        prop_assert!(!z.is_empty(), "bar {:?} has no cycle", bar);
        let mut vector = vec![0i64; edges.len()];
        let mut boundary = vec![0i64; n];
        let mut latest = 0f32;
        for &([u, v], c) in z {
            prop_assert!(u < v);
            let pos = *edge_pos
                .get(&(u, v))
                .ok_or_else(|| TestCaseError::fail(format!("edge {u}-{v} not in the complex")))?;
            vector[pos] = (vector[pos] + c).rem_euclid(p);
            boundary[v] += c;
            boundary[u] -= c;
            latest = latest.max(dist(u, v));
        }
        // A cycle, present from the birth on and not before.
        prop_assert!(
            boundary.iter().all(|x| x.rem_euclid(p) == 0),
            "bar {:?}: ∂z = {:?}",
            bar,
            boundary
        );
        prop_assert_eq!(latest, bar.birth as f32, "bar {:?}: latest edge", bar);
        // A boundary at the death, not before it; an essential one never.
        let death = bar.death as f32;
        if bar.is_essential() {
            prop_assert!(
                !in_span(&boundaries(&|_| true), &vector, p),
                "bar {:?}: essential cycle is a boundary",
                bar
            );
        } else {
            prop_assert!(
                in_span(&boundaries(&|d| d <= death), &vector, p),
                "bar {:?}: not a boundary at death",
                bar
            );
            prop_assert!(
                !in_span(&boundaries(&|d| d < death), &vector, p),
                "bar {:?}: boundary before death",
                bar
            );
        }
        // Pairs with its cocycle.
        let mut pairing = 0i64;
        for (s, &c) in cocycles[k].iter().zip(&coefficients[k]) {
            if let Some(&pos) = edge_pos.get(&(s[0], s[1])) {
                pairing += c * vector[pos];
            }
        }
        prop_assert!(
            pairing.rem_euclid(p) != 0,
            "bar {:?}: <cocycle, cycle> = 0",
            bar
        );
        checked += 1;
    }
    Ok(checked)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn cycles_represent_their_bars(points in points_strategy(12, 2), modulus in prop_oneof![Just(2u32), Just(3), Just(5)]) {
        check_cycles(&points, modulus, None)?;
    }

    #[test]
    fn cycles_from_sparse_input(points in points_strategy(12, 2), t in 0.5f64..1.5, modulus in prop_oneof![Just(2u32), Just(3)]) {
        check_cycles_in(&points, modulus, Some(t), Mode::SparseEdges)?;
    }

    #[test]
    fn cycles_of_essential_bars(points in points_strategy(12, 3), t in 0.4f64..1.2) {
        check_cycles(&points, 3, Some(t))?;
    }
}

/// A fixed input with several loops: the checks above run on real bars.
#[test]
fn loops_on_two_circles() {
    let mut rows = Vec::new();
    for k in 0..12 {
        let a = f64::from(k) * std::f64::consts::TAU / 12.0;
        rows.push([a.cos(), a.sin()]);
        rows.push([3.0 + 0.6 * a.cos(), 0.6 * a.sin() + 0.05 * f64::from(k % 3)]);
    }
    let points = Array2::from_shape_fn((rows.len(), 2), |(i, j)| rows[i][j]);
    for modulus in [2, 3] {
        let checked = check_cycles(&points, modulus, Some(3.0)).unwrap();
        assert!(checked >= 2, "{checked} bars of dimension 1");
    }
}
