//! Invariants of Rips persistence on random inputs (proptest): bars are
//! ordered, H0 has one bar per point, the diagram is unchanged by permuting
//! the points or changing the input mode, and representative cocycles are
//! cocycles.

use std::collections::HashMap;

use basin_topo::rips::{Metric, RipsInput, RipsParams};
use basin_topo::Diagram;
use ndarray::Array2;
use proptest::prelude::*;

fn points_strategy(max_n: usize, dim: usize) -> impl Strategy<Value = Array2<f64>> {
    (4..=max_n).prop_flat_map(move |n| {
        proptest::collection::vec(-1.0f64..1.0, n * dim)
            .prop_map(move |v| Array2::from_shape_vec((n, dim), v).unwrap())
    })
}

fn sorted_bars(d: &Diagram) -> Vec<(usize, u32, u32)> {
    let mut v: Vec<_> = d
        .pairs
        .iter()
        .map(|p| {
            (
                p.dim,
                (p.birth as f32).to_bits(),
                (p.death as f32).to_bits(),
            )
        })
        .collect();
    v.sort_unstable();
    v
}

fn distances(points: &Array2<f64>) -> Array2<f64> {
    let n = points.nrows();
    Array2::from_shape_fn((n, n), |(i, j)| {
        (&points.row(i) - &points.row(j))
            .mapv(|x| x * x)
            .sum()
            .sqrt()
    })
}

fn euclidean(points: &Array2<f64>) -> RipsInput<'_> {
    RipsInput::PointCloud {
        points: points.view(),
        metric: Metric::Euclidean,
    }
}

fn params(max_dim: usize) -> RipsParams {
    RipsParams::new().max_dim(max_dim).max_memory(None)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn bars_are_ordered_and_h0_has_one_bar_per_point(points in points_strategy(30, 3)) {
        let out = params(2).compute(&euclidean(&points)).unwrap();
        for p in &out.diagram.pairs {
            prop_assert!(p.birth <= p.death, "{p:?}");
            prop_assert!(p.birth >= 0.0);
            prop_assert!(p.dim <= 2);
        }
        // Distinct random points: every merge has positive length.
        prop_assert_eq!(out.diagram.count(0), points.nrows());
        prop_assert_eq!(out.diagram.in_dim(0).filter(|p| p.is_essential()).count(), 1);
        // Without threshold (enclosing radius) no class of positive dimension is essential.
        prop_assert_eq!(out.diagram.pairs.iter().filter(|p| p.dim > 0 && p.is_essential()).count(), 0);
    }

    #[test]
    fn permuting_points_keeps_the_diagram(points in points_strategy(25, 2), seed in any::<u64>()) {
        let n = points.nrows();
        let mut perm: Vec<usize> = (0..n).collect();
        let mut s = seed;
        for i in (1..n).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            perm.swap(i, (s >> 33) as usize % (i + 1));
        }
        let permuted = Array2::from_shape_fn(points.dim(), |(i, j)| points[[perm[i], j]]);
        let a = params(2).compute(&euclidean(&points)).unwrap();
        let b = params(2).compute(&euclidean(&permuted)).unwrap();
        prop_assert_eq!(sorted_bars(&a.diagram), sorted_bars(&b.diagram));
    }

    #[test]
    fn threads_keep_the_diagram(points in points_strategy(40, 3), threads in 2usize..5, modulus in prop_oneof![Just(2u32), Just(3)]) {
        let one = params(2).modulus(modulus).cocycles(true).compute(&euclidean(&points)).unwrap();
        let many = params(2).modulus(modulus).cocycles(true).n_threads(threads).compute(&euclidean(&points)).unwrap();
        prop_assert_eq!(&one.diagram, &many.diagram);
        prop_assert_eq!(&one.cocycles, &many.cocycles);
    }

    #[test]
    fn input_modes_agree(points in points_strategy(25, 3), t in 0.3f64..1.5) {
        let d = distances(&points);
        let n = d.nrows();
        let full = params(2).threshold(Some(t)).compute(&RipsInput::DistanceMatrix(d.view())).unwrap();
        let lower: Vec<f64> = (1..n).flat_map(|i| (0..i).map(move |j| (i, j))).map(|(i, j)| d[[i, j]]).collect();
        let low = params(2).threshold(Some(t)).compute(&RipsInput::LowerTriangular { n, values: &lower }).unwrap();
        // Sparse input with every pair: the threshold means the same there.
        let edges: Vec<(usize, usize, f64)> =
            (1..n).flat_map(|i| (0..i).map(move |j| (i, j))).map(|(i, j)| (i, j, d[[i, j]])).collect();
        let sparse = params(2).threshold(Some(t)).compute(&RipsInput::Sparse { n, edges: &edges }).unwrap();
        // Sparse input holding only the edges under the threshold, no threshold given.
        let kept: Vec<_> = edges.iter().copied().filter(|e| (e.2 as f32) <= t as f32).collect();
        let sparse_kept = params(2).compute(&RipsInput::Sparse { n, edges: &kept }).unwrap();
        prop_assert_eq!(sorted_bars(&full.diagram), sorted_bars(&low.diagram));
        prop_assert_eq!(sorted_bars(&full.diagram), sorted_bars(&sparse.diagram));
        prop_assert_eq!(sorted_bars(&full.diagram), sorted_bars(&sparse_kept.diagram));
    }

    #[test]
    fn cocycles_are_cocycles(points in points_strategy(20, 2), modulus in prop_oneof![Just(2u32), Just(3), Just(5)]) {
        let out = params(2).modulus(modulus).cocycles(true).compute(&euclidean(&points)).unwrap();
        let d = distances(&points);
        let dist = |i: usize, j: usize| d[[i, j]] as f32;
        let diameter = |s: &[usize]| {
            let mut m = 0f32;
            for a in 0..s.len() { for b in a + 1..s.len() { m = m.max(dist(s[a], s[b])); } }
            m
        };
        let cocycles = out.cocycles.as_ref().unwrap();
        let coefficients = out.cocycle_coefficients.as_ref().unwrap();
        prop_assert_eq!(cocycles.len(), out.diagram.pairs.len());
        let threshold = out.threshold as f32;
        for ((bar, z), c) in out.diagram.pairs.iter().zip(cocycles).zip(coefficients) {
            if bar.dim == 0 { prop_assert!(z.is_empty()); continue; }
            prop_assert!(!z.is_empty());
            // The simplex that gives birth is in it; nothing is younger than the birth value.
            prop_assert_eq!(diameter(&z[0]), bar.birth as f32);
            prop_assert!(z.iter().all(|s| s.len() == bar.dim + 1 && diameter(s) >= bar.birth as f32));
            // Coboundary vanishes on every cofacet born before the death.
            let death = (bar.death as f32).min(threshold);
            let mut delta: HashMap<Vec<usize>, i64> = HashMap::new();
            for (s, &coef) in z.iter().zip(c) {
                for v in 0..points.nrows() {
                    if s.contains(&v) { continue; }
                    let mut t = s.clone();
                    let pos = t.iter().position(|&x| x > v).unwrap_or(t.len());
                    t.insert(pos, v);
                    let dt = diameter(&t);
                    if dt < death || (bar.is_essential() && dt <= threshold) {
                        let sign = if pos % 2 == 1 { -1 } else { 1 };
                        *delta.entry(t).or_insert(0) += sign * coef;
                    }
                }
            }
            for (t, v) in &delta {
                prop_assert_eq!(v.rem_euclid(i64::from(modulus)), 0, "bar {:?}: coboundary nonzero on {:?}", bar, t);
            }
        }
    }
}

/// Duplicate points and tied distances: bars of zero length are dropped (as
/// ripser.py does), the others kept; three coincident points give one bar.
#[test]
fn zero_and_equal_values() {
    let points = ndarray::array![
        [0.0, 0.0],
        [0.0, 0.0],
        [0.0, 0.0],
        [1.0, 0.0],
        [1.0, 1.0],
        [0.0, 1.0]
    ];
    let out = params(1)
        .threshold(Some(3.0))
        .compute(&euclidean(&points))
        .unwrap();
    let mut h0: Vec<f64> = out.diagram.in_dim(0).map(|p| p.death).collect();
    h0.sort_by(f64::total_cmp);
    // Square of side 1 (with a triple point at one corner): three merges at 1, one essential.
    assert_eq!(h0, vec![1.0, 1.0, 1.0, f64::INFINITY]);
    let h1: Vec<_> = out.diagram.in_dim(1).collect();
    assert_eq!(h1.len(), 1);
    assert_eq!((h1[0].birth, h1[0].death), (1.0, f64::from(2f32.sqrt())));
}

/// A single point and two points.
#[test]
fn tiny_inputs() {
    let one = ndarray::array![[0.5, 0.5]];
    let out = params(3).compute(&euclidean(&one)).unwrap();
    assert_eq!(out.diagram.pairs.len(), 1);
    assert!(out.diagram.pairs[0].is_essential());
    let two = [2.0];
    let out = params(3)
        .compute(&RipsInput::LowerTriangular { n: 2, values: &two })
        .unwrap();
    assert_eq!(out.diagram.count(0), 2);
    assert_eq!(
        out.diagram
            .in_dim(0)
            .filter(|p| !p.is_essential())
            .map(|p| p.death)
            .next(),
        Some(2.0)
    );
    // Above the threshold the two points stay apart: two essential classes.
    let out = params(1)
        .threshold(Some(1.0))
        .compute(&RipsInput::LowerTriangular { n: 2, values: &two })
        .unwrap();
    assert_eq!(
        out.diagram.in_dim(0).filter(|p| p.is_essential()).count(),
        2
    );
}

/// Threads assemble and reduce columns (see `rips/parallel.rs`): the bars, their
/// order, cocycles and cycles are those of one thread (input large enough for
/// the parallel assembly and for several reduction windows).
#[test]
fn threads_give_the_same_result() {
    let mut s: u64 = 99;
    let points = Array2::from_shape_fn((150, 3), |_| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    });
    let one = params(2)
        .threshold(Some(0.8))
        .cocycles(true)
        .cycles(true)
        .compute(&euclidean(&points))
        .unwrap();
    let two = params(2)
        .threshold(Some(0.8))
        .cocycles(true)
        .cycles(true)
        .n_threads(2)
        .compute(&euclidean(&points))
        .unwrap();
    assert!(
        one.num_edges > 4096,
        "{} edges: the parallel path needs 4096 simplices",
        one.num_edges
    );
    assert!(one.diagram.count(1) > 0 && one.diagram.count(2) > 0);
    assert_eq!(one.diagram, two.diagram);
    assert_eq!(one.cocycles, two.cocycles);
    assert_eq!(one.cycles, two.cycles);
}
