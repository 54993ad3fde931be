//! Bottleneck and Wasserstein distances against gudhi 3.13 and persim 0.4.1
//! (reference data made by `tests/reference/distance/make_distance.py`),
//! bad input, and metric properties.

use approx::assert_relative_eq;
use basin_topo::distance::{bottleneck, wasserstein, wasserstein_with_ground, GroundMetric};
use basin_topo::{PersistencePair, TopoError};
use proptest::prelude::*;
use serde_json::Value;

const REFERENCE: &str = include_str!("reference/distance/distance_reference.json");

fn diagram(value: &Value, dim: usize) -> Vec<PersistencePair> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|bar| PersistencePair {
            dim,
            birth: bar[0].as_f64().unwrap(),
            death: bar[1].as_f64().unwrap_or(f64::INFINITY),
        })
        .collect()
}

/// `null` encodes an infinite distance.
fn distance(value: &Value) -> f64 {
    value.as_f64().unwrap_or(f64::INFINITY)
}

fn assert_close(ours: f64, theirs: f64, what: &str) {
    if theirs.is_infinite() {
        assert!(ours.is_infinite(), "{what}: {ours} vs {theirs}");
    } else {
        assert!(
            (ours - theirs).abs() <= 1e-9 * theirs.abs().max(1.0),
            "{what}: basin {ours} vs reference {theirs}"
        );
    }
}

#[test]
fn matches_gudhi_and_persim() {
    let reference: Value = serde_json::from_str(REFERENCE).unwrap();
    let cases = reference["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 11);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let (a, b) = (diagram(&case["a"], 1), diagram(&case["b"], 1));
        let ours = bottleneck(&a, &b).unwrap();
        assert_close(
            ours,
            distance(&case["bottleneck_gudhi"]),
            &format!("{name} bottleneck/gudhi"),
        );
        assert_close(
            bottleneck(&b, &a).unwrap(),
            ours,
            &format!("{name} bottleneck symmetric"),
        );
        if let Some(p) = case.get("bottleneck_persim").and_then(Value::as_f64) {
            assert_close(ours, p, &format!("{name} bottleneck/persim"));
        }
        for (p, expected) in case["wasserstein_linf"].as_object().unwrap() {
            let p: f64 = p.parse().unwrap();
            assert_close(
                wasserstein(&a, &b, p).unwrap(),
                distance(expected),
                &format!("{name} W{p} L∞"),
            );
        }
        for (p, expected) in case["wasserstein_l2"].as_object().unwrap() {
            let p: f64 = p.parse().unwrap();
            let ours = wasserstein_with_ground(&a, &b, p, GroundMetric::L2).unwrap();
            assert_close(ours, distance(expected), &format!("{name} W{p} L2"));
        }
        if let Some(p) = case.get("wasserstein_persim").and_then(Value::as_f64) {
            let ours = wasserstein_with_ground(&a, &b, 1.0, GroundMetric::L2).unwrap();
            assert_close(ours, p, &format!("{name} W1 L2/persim"));
        }
    }
}

#[test]
fn dimensions_are_never_matched_across() {
    let bar = |dim, birth, death| PersistencePair { dim, birth, death };
    let a = [bar(0, 0.0, 1.0)];
    let b = [bar(1, 0.0, 1.0)];
    // Each point must go to the diagonal at 0.5.
    assert_relative_eq!(bottleneck(&a, &b).unwrap(), 0.5);
    assert_relative_eq!(
        wasserstein(&a, &b, 2.0).unwrap(),
        (0.5f64 * 0.5 * 2.0).sqrt()
    );
    assert_relative_eq!(wasserstein(&a, &a, 2.0).unwrap(), 0.0);
    // p = ∞ is the bottleneck distance.
    assert_relative_eq!(wasserstein(&a, &b, f64::INFINITY).unwrap(), 0.5);
}

#[test]
fn bad_input_gives_clear_errors() {
    let bar = |birth, death| PersistencePair {
        dim: 0,
        birth,
        death,
    };
    let ok = [bar(0.0, 1.0)];
    let expect = |r: Result<f64, TopoError>, needle: &str| match r {
        Err(TopoError::InvalidInput(m)) => assert!(m.contains(needle), "{m:?} lacks {needle:?}"),
        other => panic!("expected InvalidInput with {needle:?}, got {other:?}"),
    };
    expect(bottleneck(&ok, &[bar(f64::NAN, 1.0)]), "diagram b, bar 0");
    expect(
        bottleneck(&[bar(0.0, 1.0), bar(2.0, 1.0)], &ok),
        "diagram a, bar 1",
    );
    expect(wasserstein(&ok, &[bar(0.0, f64::NAN)], 1.0), "death NaN");
    expect(
        wasserstein(&[bar(f64::NEG_INFINITY, 1.0)], &ok, 1.0),
        "birth -inf",
    );
    for p in [0.5, f64::NAN, -1.0] {
        assert!(matches!(
            wasserstein(&ok, &ok, p),
            Err(TopoError::InvalidParameter { name: "p", .. })
        ));
    }
    assert!(matches!(
        wasserstein_with_ground(&ok, &ok, f64::INFINITY, GroundMetric::L2),
        Err(TopoError::InvalidParameter { name: "p", .. })
    ));
    assert_eq!(bottleneck(&[], &[]).unwrap(), 0.0);
    assert_eq!(wasserstein(&[], &[], 2.0).unwrap(), 0.0);
}

fn random_diagram() -> impl Strategy<Value = Vec<PersistencePair>> {
    prop::collection::vec(
        // Quarter-integers make ties and equal distances common.
        ((0i32..20), (0i32..12), 0usize..2).prop_map(|(b, l, dim)| PersistencePair {
            dim,
            birth: f64::from(b) / 4.0,
            death: f64::from(b + l) / 4.0,
        }),
        0..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn metric_properties(a in random_diagram(), b in random_diagram(), c in random_diagram()) {
        let tol = 1e-9;
        for p in [1.0, 2.0] {
            let w = |x: &[PersistencePair], y: &[PersistencePair]| wasserstein(x, y, p).unwrap();
            prop_assert!(w(&a, &a).abs() < tol);
            prop_assert!((w(&a, &b) - w(&b, &a)).abs() < tol);
            prop_assert!(w(&a, &c) <= w(&a, &b) + w(&b, &c) + tol);
            // W_p ≥ W_∞ = bottleneck, and W_p decreases in p.
            prop_assert!(bottleneck(&a, &b).unwrap() <= w(&a, &b) + tol);
        }
        prop_assert!(wasserstein(&a, &b, 2.0).unwrap() <= wasserstein(&a, &b, 1.0).unwrap() + tol);
        let d = |x: &[PersistencePair], y: &[PersistencePair]| bottleneck(x, y).unwrap();
        prop_assert!(d(&a, &a).abs() < tol);
        prop_assert!((d(&a, &b) - d(&b, &a)).abs() < tol);
        prop_assert!(d(&a, &c) <= d(&a, &b) + d(&b, &c) + tol);
        // Adding a zero-length bar changes nothing.
        let mut a0 = a.clone();
        a0.push(PersistencePair { dim: 0, birth: 1.0, death: 1.0 });
        prop_assert!((d(&a0, &b) - d(&a, &b)).abs() < tol);
        prop_assert!((wasserstein(&a0, &b, 2.0).unwrap() - wasserstein(&a, &b, 2.0).unwrap()).abs() < tol);
    }

    #[test]
    fn bottleneck_is_the_limit_of_wasserstein(a in random_diagram(), b in random_diagram()) {
        // W_p tends to the bottleneck distance from above as p grows:
        // W_p ≥ d_B ≥ W_p / (n + m)^{1/p}; with p = 64 this pins d_B within 5%.
        let n = (a.len() + b.len()).max(1) as f64;
        let p = 64.0;
        let w = wasserstein(&a, &b, p).unwrap();
        let d = bottleneck(&a, &b).unwrap();
        prop_assert!(d <= w + 1e-9);
        prop_assert!(d >= w / n.powf(1.0 / p) - 1e-9);
    }
}

/// All permutations of `0..n` (Heap's algorithm), for brute force.
fn permutations(n: usize) -> Vec<Vec<usize>> {
    fn heap(k: usize, a: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if k <= 1 {
            out.push(a.clone());
            return;
        }
        for i in 0..k {
            heap(k - 1, a, out);
            let j = if k % 2 == 0 { i } else { 0 };
            a.swap(j, k - 1);
        }
    }
    let mut out = Vec::new();
    heap(n, &mut (0..n).collect(), &mut out);
    out
}

/// Brute force over every assignment of the diagonal-augmented problem:
/// (bottleneck, Σ cost^p), L∞ ground metric.
fn brute_force(a: &[PersistencePair], b: &[PersistencePair], p: f64) -> (f64, f64) {
    let (n, m) = (a.len(), b.len());
    let cost = |i: usize, j: usize| -> f64 {
        match (i < n, j < m) {
            (true, true) => (a[i].birth - b[j].birth)
                .abs()
                .max((a[i].death - b[j].death).abs()),
            (true, false) => (a[i].death - a[i].birth) / 2.0,
            (false, true) => (b[j].death - b[j].birth) / 2.0,
            (false, false) => 0.0,
        }
    };
    let mut best = (f64::INFINITY, f64::INFINITY);
    for perm in permutations(n + m) {
        let costs: Vec<f64> = perm.iter().enumerate().map(|(i, &j)| cost(i, j)).collect();
        best.0 = best.0.min(costs.iter().copied().fold(0.0, f64::max));
        best.1 = best.1.min(costs.iter().map(|c| c.powf(p)).sum());
    }
    best
}

fn tiny_diagram() -> impl Strategy<Value = Vec<PersistencePair>> {
    prop::collection::vec(
        ((0i32..8), (0i32..6)).prop_map(|(b, l)| PersistencePair {
            dim: 0,
            birth: f64::from(b) / 2.0,
            death: f64::from(b + l) / 2.0,
        }),
        0..4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn exact_against_brute_force(a in tiny_diagram(), b in tiny_diagram()) {
        let (d_b, w_sum) = brute_force(&a, &b, 2.0);
        prop_assert!((bottleneck(&a, &b).unwrap() - d_b).abs() < 1e-12);
        prop_assert!((wasserstein(&a, &b, 2.0).unwrap() - w_sum.sqrt()).abs() < 1e-9);
        let (_, w1) = brute_force(&a, &b, 1.0);
        prop_assert!((wasserstein(&a, &b, 1.0).unwrap() - w1).abs() < 1e-9);
    }
}

fn equal_birth_diagram(max_len: usize) -> impl Strategy<Value = Vec<PersistencePair>> {
    prop::collection::vec(
        (0i32..40).prop_map(|d| PersistencePair {
            dim: 0,
            birth: 0.0,
            death: f64::from(d) / 8.0,
        }),
        0..max_len,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn equal_births_line_program_is_exact(a in equal_birth_diagram(4), b in equal_birth_diagram(4)) {
        // All births 0 takes the line dynamic program: check it by brute force.
        for p in [1.0, 2.0, 3.0] {
            let (_, sum) = brute_force(&a, &b, p);
            prop_assert!((wasserstein(&a, &b, p).unwrap() - sum.powf(1.0 / p)).abs() < 1e-9);
        }
    }

    #[test]
    fn equal_births_line_program_matches_assignment(a in equal_birth_diagram(40), b in equal_birth_diagram(40)) {
        // Shifting one birth by 1e-12 sends the same problem to the general
        // assignment solver and moves the distance by at most 1e-12.
        let mut shifted = a.clone();
        if let Some(bar) = shifted.first_mut() {
            bar.birth = 1e-12;
            bar.death = bar.death.max(1e-12);
        } else {
            return Ok(());
        }
        for (p, ground) in [(1.0, GroundMetric::LInfinity), (2.0, GroundMetric::LInfinity), (2.0, GroundMetric::L2)] {
            let line = wasserstein_with_ground(&a, &b, p, ground).unwrap();
            let general = wasserstein_with_ground(&shifted, &b, p, ground).unwrap();
            prop_assert!((line - general).abs() < 1e-9, "p {} line {} general {}", p, line, general);
        }
    }
}
