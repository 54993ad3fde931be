//! Merge trees against gudhi's H0 sublevel persistence
//! (tests/reference/make_merge_tree.py), and their invariants.

use basin_landscape::topology::graph::{grid_graph, knn_graph};
use basin_landscape::topology::merge_tree::{merge_tree, NodeKind};
use serde_json::Value;

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

#[test]
fn persistence_pairs_match_gudhi() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/merge_tree_ref.json")).unwrap();
    let r: Value = serde_json::from_str(&text).unwrap();
    for case in r["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let values = floats(&case["values"]);
        let adjacency = if case["kind"] == "grid" {
            let shape: Vec<usize> = case["shape"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect();
            grid_graph(&shape)
        } else {
            let points: Vec<Vec<f64>> = case["points"].as_array().unwrap().iter().map(floats).collect();
            knn_graph(&points, case["k"].as_u64().unwrap() as usize, case["mutual"].as_bool().unwrap()).unwrap()
        };
        let tree = merge_tree(&values, &adjacency).unwrap();
        let mut got: Vec<(f64, f64)> = tree.pairs.iter().filter(|p| p.death.is_finite() && p.death > p.birth).map(|p| (p.birth, p.death)).collect();
        got.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let want: Vec<(f64, f64)> = case["pairs"].as_array().unwrap().iter().map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap())).collect();
        assert_eq!(got.len(), want.len(), "{name}: pair count");
        for (g, w) in got.iter().zip(&want) {
            assert!((g.0 - w.0).abs() < 1e-12 && (g.1 - w.1).abs() < 1e-12, "{name}: {g:?} vs {w:?}");
        }
        let essential = tree.pairs.iter().filter(|p| p.death.is_infinite()).count();
        assert_eq!(essential as u64, case["essential"].as_u64().unwrap(), "{name}: essential classes");
        // Every minimum is born once: minima = finite pairs + essential classes.
        assert_eq!(tree.n_minima(), tree.n_saddles() + essential, "{name}");
    }
}

#[test]
fn non_finite_losses_are_left_out_and_counted() {
    // A path 0 – 1 – NaN – 1 – 0: the NaN cuts it into two components.
    let t = merge_tree(&[0.0, 1.0, f64::NAN, 1.0, 0.5], &grid_graph(&[5])).unwrap();
    assert_eq!(t.n_nonfinite, 1);
    assert_eq!(t.n_minima(), 2);
    assert_eq!(t.n_saddles(), 0);
    assert!(t.pairs.iter().all(|p| p.death.is_infinite()));
    assert!(t.nodes.iter().all(|n| n.vertex != 2));
}

#[test]
fn tree_and_profile_of_two_valleys() {
    // 2 — 0 — 3 — 1 — 4 on a path: minima 0 (value 0) and 3 (value 1), pass 3.
    let t = merge_tree(&[2.0, 0.0, 3.0, 1.0, 4.0], &grid_graph(&[5])).unwrap();
    assert_eq!(t.nodes.len(), 3);
    let saddle = t.nodes.iter().position(|n| n.kind == NodeKind::Saddle).unwrap();
    assert_eq!(t.nodes[saddle].vertex, 2);
    assert!(t.nodes.iter().filter(|n| n.kind == NodeKind::Minimum).all(|n| n.parent == Some(saddle)));
    assert_eq!(t.average_persistence(), 2.0);
    assert_eq!(t.max_persistence(), 2.0);
    // Basin sizes at the merge level 3: {0, 1} and {3}; the root holds all 5.
    let size_of = |v: usize| t.nodes.iter().find(|n| n.vertex == v).unwrap().size;
    assert_eq!((size_of(1), size_of(3), size_of(2)), (2, 1, 5));
    assert_eq!(t.n_points(), 5);
    // Profile (worked by hand): the root's walls from its rim (4) to the pass
    // (3), one unit of x per point; the larger basin {0, 1} first, 2 wide
    // at the pass and 1 wide at its floor (0); then {3}, 1 wide.
    let want = [
        (0.0, 4.0), (0.5, 3.0), // root's left wall: 5 points at 4, 4 at 3
        (1.0, 3.0), (1.0, 2.0), (1.5, 0.0), (2.5, 0.0), (3.0, 2.0), (3.0, 3.0), // basin of vertex 1
        (3.0, 1.0), (4.0, 1.0), (4.0, 3.0), // basin of vertex 3
        (4.5, 3.0), (5.0, 4.0), // root's right wall
    ];
    assert_eq!(t.profile(), want.to_vec());
    // A bad graph is refused with the vertex named.
    assert!(merge_tree(&[0.0, 1.0], &[vec![5], vec![]]).unwrap_err().to_string().contains("vertex 0"));
}

#[test]
fn knn_graph_is_symmetric_and_mutual_is_a_subgraph() {
    let pts: Vec<Vec<f64>> = (0..30).map(|i| vec![(i as f64 * 0.37).sin(), (i as f64 * 0.91).cos()]).collect();
    let union = knn_graph(&pts, 4, false).unwrap();
    let mutual = knn_graph(&pts, 4, true).unwrap();
    for i in 0..30 {
        assert!(union[i].len() >= 4);
        for &j in &union[i] {
            assert!(union[j].contains(&i));
        }
        for &j in &mutual[i] {
            assert!(union[i].contains(&j) && mutual[j].contains(&i));
        }
    }
    assert!(knn_graph(&pts, 0, false).is_err());
}

#[test]
fn profile_widths_count_the_points_below_each_level() {
    // One parabola on a path of 41 points (no two values equal): one basin
    // whose width at every wall point's level is the number of points at or
    // below it.
    let values: Vec<f64> = (0..41).map(|i| ((i as f64) - 13.3).powi(2)).collect();
    let t = merge_tree(&values, &grid_graph(&[41])).unwrap();
    assert_eq!(t.n_minima(), 1);
    let p = t.profile();
    assert_eq!(p.first().unwrap().0, 0.0);
    assert_eq!(p.last().unwrap().0, 41.0);
    // 16 wall points per side at most (the rims fall on the top wall points).
    assert!(p.len() <= 2 * 16, "{} points", p.len());
    let centre = 20.5;
    for &(x, y) in &p {
        let below = values.iter().filter(|&&v| v <= y).count() as f64;
        assert_eq!((x - centre).abs(), below / 2.0, "at level {y}");
    }
    // Symmetric: the right wall mirrors the left.
    for (a, b) in p.iter().zip(p.iter().rev()) {
        assert_eq!((a.0 + b.0, a.1), (41.0, b.1));
    }
}

#[test]
fn profile_of_separate_components_and_nested_basins() {
    // Two components (the NaN cuts the path): [0, 2, 1, 3] and [5, 4].
    let values = [0.0, 2.0, 1.0, 3.0, f64::NAN, 5.0, 4.0];
    let t = merge_tree(&values, &grid_graph(&[7])).unwrap();
    assert_eq!(t.n_points(), 6);
    let p = t.profile();
    // The first component spans [0, 4], the second [4, 6].
    assert_eq!(p.first().unwrap(), &(0.0, 3.0));
    assert_eq!(p.last().unwrap(), &(6.0, 5.0));
    assert!(p.contains(&(4.0, 3.0)) && p.contains(&(4.0, 5.0)));
    assert!(p.iter().all(|&(x, _)| (0.0..=6.0).contains(&x)));
    // Basin {0} and basin {2} (1 point each at the pass 2) sit side by side.
    let size_of = |v: usize| t.nodes.iter().find(|n| n.vertex == v).unwrap().size;
    assert_eq!((size_of(0), size_of(2), size_of(1), size_of(6)), (1, 1, 4, 2));
}

#[test]
fn smad_by_hand() {
    use basin_landscape::topology::smad::{descent_basins, smad};
    // Path 1 – 3 – 0 – 4 – 2: minima at 1 (vertex 0), 0 (vertex 2) and 2
    // (vertex 4); saddles 3 (vertex 1) and 4 (vertex 3). The elder rule
    // pairs (1, 3) and (2, 4): average persistence 2. SMAD takes every
    // minimum to its first saddle: 3 − 1, 3 − 0, 4 − 2, mean 7/3.
    let values = [1.0, 3.0, 0.0, 4.0, 2.0];
    let g = grid_graph(&[5]);
    let t = merge_tree(&values, &g).unwrap();
    assert_eq!(t.average_persistence(), 2.0);
    let s = smad(&t, &values, &g, None).unwrap();
    assert!((s.plain - 7.0 / 3.0).abs() < 1e-12, "{}", s.plain);
    // Range 4.
    assert!((s.normalized - 7.0 / 12.0).abs() < 1e-12);
    // Steepest descent: vertices 1 and 3 both fall to vertex 2, so the
    // basins hold 1, 3 and 1 of the 5 points.
    assert_eq!(descent_basins(&values, &g, None).unwrap(), vec![Some(0), Some(2), Some(2), Some(2), Some(4)]);
    let want = (0.5 * 0.2 + 0.75 * 0.6 + 0.5 * 0.2) / 3.0;
    assert!((s.weighted - want).abs() < 1e-12, "{} vs {want}", s.weighted);
    // One minimum: no saddle–minimum edge, SMAD 0.
    let bowl = [2.0, 1.0, 0.0, 1.0, 2.0];
    let s = smad(&merge_tree(&bowl, &g).unwrap(), &bowl, &g, None).unwrap();
    assert_eq!((s.plain, s.normalized, s.weighted), (0.0, 0.0, 0.0));
}

#[test]
fn descent_follows_the_steepest_slope_and_skips_non_finite_points() {
    use basin_landscape::topology::smad::descent_basins;
    // Vertex 0 (value 3) sees vertex 1 (value 2, 1 away: slope 1) and
    // vertex 2 (value 1.5, 3 away: slope 0.5); vertex 3 is NaN.
    let values = [3.0, 2.0, 1.5, f64::NAN];
    let adjacency = vec![vec![1, 2, 3], vec![0], vec![0], vec![0]];
    let points = vec![vec![0.0], vec![1.0], vec![-3.0], vec![0.5]];
    let by_slope = descent_basins(&values, &adjacency, Some(points.as_slice())).unwrap();
    assert_eq!(by_slope, vec![Some(1), Some(1), Some(2), None]);
    // Without coordinates the largest drop wins.
    let by_drop = descent_basins(&values, &adjacency, None).unwrap();
    assert_eq!(by_drop, vec![Some(2), Some(1), Some(2), None]);
    assert!(descent_basins(&values, &adjacency[..2], None).unwrap_err().to_string().contains("adjacency"));
}

#[test]
fn smad_matches_landscapers_formula_on_topopy() {
    use basin_landscape::topology::smad::smad;
    // tests/reference/make_smad.py: Landscaper's SMAD re-stated on topopy's
    // merge tree and Morse–Smale complex, on the same 4-neighbour grids.
    let text = std::fs::read_to_string(format!("{}/tests/reference/smad_ref.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let r: Value = serde_json::from_str(&text).unwrap();
    let cases = r["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for (i, c) in cases.iter().enumerate() {
        let shape: Vec<usize> = c["shape"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect();
        let loss = floats(&c["loss"]);
        let coords: Vec<Vec<f64>> = c["coords"].as_array().unwrap().iter().map(floats).collect();
        let g = grid_graph(&shape);
        let t = merge_tree(&loss, &g).unwrap();
        // topopy's branches are the merge tree's saddle nodes.
        assert_eq!(t.nodes.iter().filter(|n| n.kind == NodeKind::Saddle).count() as u64, c["n_branches"].as_u64().unwrap(), "case {i}");
        let s = smad(&t, &loss, &g, Some(coords.as_slice())).unwrap();
        // topopy keeps the values in single precision: agreement to ~1e-7.
        for (got, key) in [(s.plain, "smad"), (s.normalized, "smad_normalized"), (s.weighted, "smad_weighted")] {
            let want = c[key].as_f64().unwrap();
            assert!((got - want).abs() < 1e-6 * want.abs(), "case {i} {key}: {got} vs topopy {want}");
        }
    }
}
