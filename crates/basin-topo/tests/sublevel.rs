//! Sublevel persistence against gudhi 3.13 (reference data made by
//! `tests/reference/sublevel/make_sublevel.py`), bad input, and invariants.

use basin_topo::sublevel::{
    connect_components, knn_graph, Complex, Connectivity, KnnGraph, SublevelParams,
};
use basin_topo::{PersistencePair, TopoError};
use ndarray::{array, Array2};
use proptest::prelude::*;
use serde_json::Value;

const REFERENCE: &str = include_str!("reference/sublevel/sublevel_reference.json");
/// PHATE potential distances of 200 digits (phate 2.0.0), row-major LE f64.
const PHATE_DIGITS: &[u8] = include_bytes!("reference/sublevel/phate_digits200_pot_dist.bin");

fn phate_digits() -> Array2<f64> {
    let values: Vec<f64> = PHATE_DIGITS
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let n = (values.len() as f64).sqrt().round() as usize;
    Array2::from_shape_vec((n, n), values).unwrap()
}

fn euclidean(points: &[Vec<f64>]) -> Array2<f64> {
    let n = points.len();
    Array2::from_shape_fn((n, n), |(i, j)| {
        points[i]
            .iter()
            .zip(&points[j])
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt()
    })
}

/// Bars of one dimension as sorted `(birth, death)`.
fn sorted_bars<'a>(bars: impl Iterator<Item = &'a PersistencePair>) -> Vec<(f64, f64)> {
    let mut v: Vec<(f64, f64)> = bars.map(|b| (b.birth, b.death)).collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    v
}

fn reference_bars(value: &Value) -> Vec<(f64, f64)> {
    let mut v: Vec<(f64, f64)> = value
        .as_array()
        .unwrap()
        .iter()
        .map(|bar| {
            let birth = bar[0].as_f64().unwrap();
            let death = bar[1].as_f64().unwrap_or(f64::INFINITY);
            (birth, death)
        })
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    v
}

fn assert_same_bars(ours: &[(f64, f64)], theirs: &[(f64, f64)], what: &str) {
    assert_eq!(
        ours.len(),
        theirs.len(),
        "{what}: bar counts differ\nours {ours:?}\ngudhi {theirs:?}"
    );
    for (a, b) in ours.iter().zip(theirs) {
        // Births and deaths are input values copied, so they agree exactly.
        assert!(a.0 == b.0 && a.1 == b.1, "{what}: {a:?} vs gudhi {b:?}");
    }
}

#[test]
fn matches_gudhi_on_reference_cases() {
    let reference: Value = serde_json::from_str(REFERENCE).unwrap();
    let cases = reference["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let points: Vec<Vec<f64>> = serde_json::from_value(case["points"].clone()).unwrap();
        let values: Vec<f64> = serde_json::from_value(case["values"].clone()).unwrap();
        let k = case["k"].as_u64().unwrap() as usize;
        let d = match case["distances"].as_array() {
            Some(rows) => {
                let rows: Vec<Vec<f64>> = rows
                    .iter()
                    .map(|r| serde_json::from_value(r.clone()).unwrap())
                    .collect();
                Array2::from_shape_fn((rows.len(), rows.len()), |(i, j)| rows[i][j])
            }
            None if case["distances_bin"].is_string() => phate_digits(),
            None => euclidean(&points),
        };
        for (mode, complex) in [("graph", Complex::Graph), ("flag", Complex::Flag)] {
            // The paper's plain kNN graph, then the bridged one (the default).
            let plain = SublevelParams::new()
                .k(k)
                .complex(complex)
                .connectivity(Connectivity::Knn);
            let out = plain.compute(d.view(), &values).unwrap();
            assert_eq!(
                out.graph.edges.len() as u64,
                case["n_edges"].as_u64().unwrap(),
                "{name}: edges"
            );
            assert_eq!(out.bridges, 0);
            let bridged = SublevelParams::new()
                .k(k)
                .complex(complex)
                .compute(d.view(), &values)
                .unwrap();
            let reference = &case["bridged"];
            assert_eq!(
                bridged.graph.edges.len() as u64,
                reference["n_edges"].as_u64().unwrap(),
                "{name}: bridged edges"
            );
            assert_eq!(
                bridged.bridges,
                bridged.graph.edges.len() - out.graph.edges.len()
            );
            assert_eq!(
                components(&bridged.graph),
                1,
                "{name}: bridged graph is connected"
            );
            assert!(out
                .graph
                .edges
                .iter()
                .all(|e| bridged.graph.edges.binary_search(e).is_ok()));
            for dim in 0..2 {
                assert_same_bars(
                    &sorted_bars(out.diagram.in_dim(dim)),
                    &reference_bars(&case[mode][format!("d{dim}")]),
                    &format!("{name} {mode} D{dim}"),
                );
                assert_same_bars(
                    &sorted_bars(bridged.diagram.in_dim(dim)),
                    &reference_bars(&reference[mode][format!("d{dim}")]),
                    &format!("{name} bridged {mode} D{dim}"),
                );
            }
            // One essential D0 class once connected; D1 keeps its bars (a tree of bridges closes no cycle).
            assert_eq!(
                bridged
                    .diagram
                    .in_dim(0)
                    .filter(|b| b.is_essential())
                    .count(),
                1,
                "{name}"
            );
            assert_eq!(bridged.diagram.count(1), out.diagram.count(1), "{name}");
        }
    }
}

/// Bridges are the minimum spanning tree of the components: checked against
/// Kruskal over every pair with the graph's edges at weight zero, written out
/// here on random clusters (components of a 2-NN graph).
#[test]
fn bridges_are_the_minimum_spanning_tree_of_the_components() {
    let mut s: u64 = 5;
    let mut uniform = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    for clusters in 1..7 {
        let points: Vec<Vec<f64>> = (0..clusters * 9)
            .map(|i| {
                vec![
                    10.0 * (i / 9) as f64 + uniform(),
                    7.0 * ((i / 9) % 2) as f64 + uniform(),
                ]
            })
            .collect();
        let d = euclidean(&points);
        let n = points.len();
        let g = knn_graph(d.view(), 2).unwrap();
        let bridged = connect_components(&g, d.view()).unwrap();
        let c = components(&g);
        assert_eq!(
            bridged.edges.len(),
            g.edges.len() + c - 1,
            "{clusters} clusters"
        );
        assert_eq!(components(&bridged), 1);
        // Kruskal: every pair by distance, union-find seeded with the graph.
        let mut parent: Vec<usize> = (0..n).collect();
        fn find(parent: &mut [usize], mut x: usize) -> usize {
            while parent[x] != x {
                x = parent[x];
            }
            x
        }
        for &(i, j) in &g.edges {
            let (a, b) = (find(&mut parent, i), find(&mut parent, j));
            parent[a] = b;
        }
        let mut pairs: Vec<(f64, usize, usize)> = (0..n)
            .flat_map(|j| (0..j).map(move |i| (i, j)))
            .map(|(i, j)| (d[[i, j]], i, j))
            .collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut expected = g.edges.clone();
        for (_, i, j) in pairs {
            let (a, b) = (find(&mut parent, i), find(&mut parent, j));
            if a != b {
                parent[a] = b;
                expected.push((i, j));
            }
        }
        expected.sort_unstable();
        assert_eq!(bridged.edges, expected, "{clusters} clusters");
    }
    // A connected graph is left as it is; a mismatched matrix is refused.
    let d = array![[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]];
    let g = knn_graph(d.view(), 1).unwrap();
    assert_eq!(connect_components(&g, d.view()).unwrap(), g);
    let small = array![[0.0, 1.0], [1.0, 0.0]];
    expect_input_error(connect_components(&g, small.view()), "3 vertices");
}

/// Two far-apart clusters: the plain kNN graph keeps two essential minima,
/// the bridged one merges them at the larger loss of the bridge's ends.
#[test]
fn bridging_merges_separate_basins_at_the_bridge() {
    let points: Vec<Vec<f64>> = (0..10)
        .map(|i| vec![f64::from(i % 5) + if i < 5 { 0.0 } else { 100.0 }, 0.0])
        .collect();
    let d = euclidean(&points);
    // Loss: minimum 0 in the first cluster, 1 in the second; the nearest pair
    // across is point 4 (loss 0.8) and point 5 (loss 1.5).
    let values = [0.0, 0.2, 0.4, 0.6, 0.8, 1.5, 1.25, 1.0, 1.25, 1.5];
    let plain = SublevelParams::new()
        .k(2)
        .connectivity(Connectivity::Knn)
        .compute(d.view(), &values)
        .unwrap();
    assert_eq!(
        sorted_bars(plain.diagram.in_dim(0)),
        vec![(0.0, f64::INFINITY), (1.0, f64::INFINITY)]
    );
    let bridged = SublevelParams::new()
        .k(2)
        .compute(d.view(), &values)
        .unwrap();
    assert_eq!(bridged.bridges, 1);
    assert_eq!(
        sorted_bars(bridged.diagram.in_dim(0)),
        vec![(0.0, f64::INFINITY), (1.0, 1.5)]
    );
    assert!(bridged.graph.edges.contains(&(4, 5)));
}

#[test]
fn flag_mode_has_finite_loops_on_the_annulus() {
    let reference: Value = serde_json::from_str(REFERENCE).unwrap();
    let case = &reference["cases"][1];
    let points: Vec<Vec<f64>> = serde_json::from_value(case["points"].clone()).unwrap();
    let values: Vec<f64> = serde_json::from_value(case["values"].clone()).unwrap();
    let d = euclidean(&points);
    let out = SublevelParams::new()
        .k(4)
        .complex(Complex::Flag)
        .compute(d.view(), &values)
        .unwrap();
    assert!(out.diagram.in_dim(1).any(|b| !b.is_essential()));
    assert!(out.triangles_visited > 0);
}

#[test]
fn total_persistence_truncates_essential_bars_at_the_maximum() {
    // Path 0 - 1 - 2 - 3 with values 0, 2, 1, 0.5 (k = 1 on a line).
    let d = array![
        [0.0, 1.0, 2.0, 3.0],
        [1.0, 0.0, 1.0, 2.0],
        [2.0, 1.0, 0.0, 1.0],
        [3.0, 2.0, 1.0, 0.0]
    ];
    let f = [0.0, 2.0, 1.0, 0.5];
    let out = SublevelParams::new()
        .k(1)
        .p(1.0)
        .compute(d.view(), &f)
        .unwrap();
    assert_eq!(out.max_value, 2.0);
    assert_eq!(
        sorted_bars(out.diagram.in_dim(0)),
        vec![(0.0, f64::INFINITY), (0.5, 2.0)]
    );
    assert!((out.total_persistence[0] - (2.0 + 1.5)).abs() < 1e-15);
    // The younger minimum is point 3, it dies at the barrier point 1.
    let located: Vec<_> = out
        .diagram
        .pairs
        .iter()
        .zip(&out.locations)
        .map(|(b, l)| (b.birth, l.birth_vertex, l.death_vertex))
        .collect();
    assert!(located.contains(&(0.5, 3, Some(1))), "{located:?}");
    assert!(located.contains(&(0.0, 0, None)), "{located:?}");
    assert_eq!(out.total_persistence[1], 0.0);
    // k = 3 joins everything: the graph K4 has 3 independent cycles.
    let out = SublevelParams::new().k(3).compute(d.view(), &f).unwrap();
    assert_eq!(out.diagram.count(1), 3);
    assert!(out.diagram.in_dim(1).all(|b| b.is_essential()));
    // Its flag complex is a solid tetrahedron: no H1 at all.
    let out = SublevelParams::new()
        .k(3)
        .complex(Complex::Flag)
        .compute(d.view(), &f)
        .unwrap();
    assert_eq!(out.diagram.count(1), 0);
}

#[test]
fn knn_graph_takes_nearest_neighbours_and_symmetrises_by_union() {
    // 0 and 1 are close; 2 is far from both but its nearest is 1.
    let d = array![[0.0, 1.0, 9.0], [1.0, 0.0, 5.0], [9.0, 5.0, 0.0]];
    assert_eq!(knn_graph(d.view(), 1).unwrap().edges, vec![(0, 1), (1, 2)]);
    assert_eq!(
        knn_graph(d.view(), 2).unwrap().edges,
        vec![(0, 1), (0, 2), (1, 2)]
    );
}

fn expect_input_error(result: Result<impl std::fmt::Debug, TopoError>, needle: &str) {
    match result {
        Err(TopoError::InvalidInput(msg)) => {
            assert!(msg.contains(needle), "message {msg:?} lacks {needle:?}")
        }
        other => panic!("expected InvalidInput containing {needle:?}, got {other:?}"),
    }
}

fn expect_parameter_error(result: Result<impl std::fmt::Debug, TopoError>, param: &str) {
    match result {
        Err(TopoError::InvalidParameter { name, .. }) => assert_eq!(name, param),
        other => panic!("expected InvalidParameter {param}, got {other:?}"),
    }
}

#[test]
fn bad_input_gives_clear_errors() {
    let d = array![[0.0, 1.0, 2.0], [1.0, 0.0, 1.5], [2.0, 1.5, 0.0]];
    let f = [0.0, 1.0, 2.0];
    let params = SublevelParams::new().k(1);
    expect_input_error(params.compute(d.view(), &[0.0, f64::NAN, 1.0]), "values[1]");
    expect_input_error(
        params.compute(d.view(), &[0.0, 1.0]),
        "values has 2 entries",
    );
    let mut asym = d.clone();
    asym[[0, 2]] = 2.5;
    expect_input_error(params.compute(asym.view(), &f), "not symmetric");
    let mut negative = d.clone();
    negative[[1, 2]] = -1.0;
    negative[[2, 1]] = -1.0;
    expect_input_error(params.compute(negative.view(), &f), "non-negative");
    // Rounding noise below zero is accepted.
    let mut noisy = d.clone();
    noisy[[1, 2]] = -1e-17;
    noisy[[2, 1]] = -1e-17;
    assert!(params.compute(noisy.view(), &f).is_ok());
    let mut nan = d.clone();
    nan[[0, 1]] = f64::NAN;
    expect_input_error(params.compute(nan.view(), &f), "(0, 1)");
    expect_input_error(
        params.compute(Array2::<f64>::zeros((0, 0)).view(), &[]),
        "empty",
    );
    expect_input_error(
        params.compute(Array2::<f64>::zeros((2, 3)).view(), &f),
        "square",
    );
    expect_parameter_error(SublevelParams::new().k(3).compute(d.view(), &f), "k");
    expect_parameter_error(SublevelParams::new().k(0).compute(d.view(), &f), "k");
    expect_parameter_error(SublevelParams::new().p(f64::NAN).compute(d.view(), &f), "p");
    expect_parameter_error(
        SublevelParams::new()
            .k(1)
            .compute(array![[0.0]].view(), &[1.0]),
        "k",
    );
    let bad_graph = KnnGraph {
        n: 2,
        edges: vec![(0, 5)],
    };
    expect_input_error(params.compute_on_graph(bad_graph, &[0.0, 1.0]), "(0, 5)");
}

/// Connected components by depth-first search, independent of union–find.
fn components(graph: &KnnGraph) -> usize {
    let mut adjacency = vec![Vec::new(); graph.n];
    for &(i, j) in &graph.edges {
        adjacency[i].push(j);
        adjacency[j].push(i);
    }
    let mut seen = vec![false; graph.n];
    let mut count = 0;
    for s in 0..graph.n {
        if seen[s] {
            continue;
        }
        count += 1;
        let mut stack = vec![s];
        seen[s] = true;
        while let Some(u) = stack.pop() {
            for &v in &adjacency[u] {
                if !seen[v] {
                    seen[v] = true;
                    stack.push(v);
                }
            }
        }
    }
    count
}

fn cloud_and_function() -> impl Strategy<Value = (Vec<[f64; 2]>, Vec<f64>, usize)> {
    (4usize..40).prop_flat_map(|n| {
        (
            prop::collection::vec([-5.0f64..5.0, -5.0f64..5.0], n),
            // Coarse values so that ties are common.
            prop::collection::vec((0i32..8).prop_map(f64::from), n),
            1usize..n.min(6),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn invariants_hold((points, values, k) in cloud_and_function()) {
        let n = points.len();
        let d = Array2::from_shape_fn((n, n), |(i, j)| {
            ((points[i][0] - points[j][0]).powi(2) + (points[i][1] - points[j][1]).powi(2)).sqrt()
        });
        let graph = SublevelParams::new().k(k).keep_zero_persistence(true).compute(d.view(), &values).unwrap();
        let flag = SublevelParams::new().k(k).keep_zero_persistence(true).complex(Complex::Flag)
            .compute(d.view(), &values).unwrap();
        let c = components(&graph.graph);
        let e = graph.graph.edges.len();
        for out in [&graph, &flag] {
            prop_assert!(out.diagram.pairs.iter().all(|b| b.birth <= b.death));
            // Bars are located at vertices carrying their birth and death values.
            prop_assert_eq!(out.locations.len(), out.diagram.pairs.len());
            for (bar, at) in out.diagram.pairs.iter().zip(&out.locations) {
                prop_assert_eq!(values[at.birth_vertex], bar.birth);
                prop_assert_eq!(at.death_vertex.map(|v| values[v]), bar.death.is_finite().then_some(bar.death));
            }
            // With zero-length bars kept, D0 has one bar per point and one
            // essential bar per connected component.
            prop_assert_eq!(out.diagram.count(0), n);
            prop_assert_eq!(out.diagram.in_dim(0).filter(|b| b.is_essential()).count(), c);
            // Every independent cycle is born once (E − V + C of them).
            prop_assert_eq!(out.diagram.count(1), e + c - n);
        }
        prop_assert!(graph.diagram.in_dim(1).all(|b| b.is_essential()));
        prop_assert!(flag.total_persistence[1] <= graph.total_persistence[1] + 1e-9);
        // Relabelling the points does not change the diagram.
        let perm: Vec<usize> = (0..n).rev().collect();
        let d_rev = Array2::from_shape_fn((n, n), |(i, j)| d[[perm[i], perm[j]]]);
        let v_rev: Vec<f64> = perm.iter().map(|&i| values[i]).collect();
        let flag_rev = SublevelParams::new().k(k).complex(Complex::Flag).compute(d_rev.view(), &v_rev).unwrap();
        let flag_plain = SublevelParams::new().k(k).complex(Complex::Flag).compute(d.view(), &values).unwrap();
        // Ties in distances may pick other neighbours; compare only when the
        // graphs are the same up to the relabelling.
        let mut relabelled: Vec<(usize, usize)> = flag_rev.graph.edges.iter()
            .map(|&(i, j)| (perm[i].min(perm[j]), perm[i].max(perm[j]))).collect();
        relabelled.sort_unstable();
        if relabelled == flag_plain.graph.edges {
            for dim in 0..2 {
                prop_assert_eq!(sorted_bars(flag_rev.diagram.in_dim(dim)), sorted_bars(flag_plain.diagram.in_dim(dim)));
            }
        }
    }
}
