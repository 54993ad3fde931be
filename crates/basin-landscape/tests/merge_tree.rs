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
    // Profile: the deeper valley first, the pass, the shallower valley.
    assert_eq!(t.profile(), vec![(0.0, 0.0), (0.5, 3.0), (1.0, 1.0)]);
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
