//! Bad input and parameters give clear errors, never a panic.

use basin_topo::rips::{self, estimate_memory, Metric, RipsInput, RipsParams};
use basin_topo::TopoError;
use ndarray::{array, Array2};

fn err(input: &RipsInput<'_>, params: &RipsParams) -> String {
    match params.compute(input) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_distance_matrices() {
    let p = RipsParams::new();
    let nan = array![[0.0, f64::NAN], [f64::NAN, 0.0]];
    assert!(err(&RipsInput::DistanceMatrix(nan.view()), &p).contains("entry (1, 0) is NaN"));
    let neg = array![[0.0, -1.0], [-1.0, 0.0]];
    assert!(err(&RipsInput::DistanceMatrix(neg.view()), &p).contains("non-negative"));
    let asym = array![[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.5, 0.0]];
    let e = err(&RipsInput::DistanceMatrix(asym.view()), &p);
    assert!(
        e.contains("not symmetric") && e.contains("(2, 1) = 3.5"),
        "{e}"
    );
    let diag = array![[1.0, 1.0], [1.0, 0.0]];
    assert!(err(&RipsInput::DistanceMatrix(diag.view()), &p).contains("diagonal entry (0, 0)"));
    let rect = Array2::<f64>::zeros((2, 3));
    assert!(err(&RipsInput::DistanceMatrix(rect.view()), &p).contains("square"));
    let empty = Array2::<f64>::zeros((0, 0));
    assert!(err(&RipsInput::DistanceMatrix(empty.view()), &p).contains("empty"));
}

#[test]
fn bad_other_inputs() {
    let p = RipsParams::new();
    let e = err(
        &RipsInput::LowerTriangular {
            n: 4,
            values: &[1.0, 2.0],
        },
        &p,
    );
    assert!(e.contains("needs 6 values, got 2"), "{e}");
    let e = err(
        &RipsInput::Sparse {
            n: 3,
            edges: &[(0, 5, 1.0)],
        },
        &p,
    );
    assert!(e.contains("vertex ≥ n = 3"), "{e}");
    let e = err(
        &RipsInput::Sparse {
            n: 3,
            edges: &[(0, 1, 1.0), (1, 0, 2.0)],
        },
        &p,
    );
    assert!(e.contains("given twice"), "{e}");
    let pts = array![[0.0, f64::INFINITY], [1.0, 1.0]];
    let e = err(
        &RipsInput::PointCloud {
            points: pts.view(),
            metric: Metric::Euclidean,
        },
        &p,
    );
    assert!(e.contains("point 0, coordinate 1"), "{e}");
    let pts = array![[0.0, 0.0], [1.0, 1.0]];
    let e = err(
        &RipsInput::PointCloud {
            points: pts.view(),
            metric: Metric::Cosine,
        },
        &p,
    );
    assert!(e.contains("zero vector"), "{e}");
}

#[test]
fn bad_parameters() {
    let pts = array![[0.0, 0.0], [1.0, 1.0]];
    let input = RipsInput::PointCloud {
        points: pts.view(),
        metric: Metric::Euclidean,
    };
    assert!(matches!(
        RipsParams::new().modulus(4).compute(&input),
        Err(TopoError::InvalidParameter {
            name: "modulus",
            ..
        })
    ));
    assert!(matches!(
        RipsParams::new().modulus(257).compute(&input),
        Err(TopoError::InvalidParameter {
            name: "modulus",
            ..
        })
    ));
    assert!(matches!(
        RipsParams::new().threshold(Some(f64::NAN)).compute(&input),
        Err(TopoError::InvalidParameter {
            name: "threshold",
            ..
        })
    ));
    assert!(matches!(
        RipsParams::new().threshold(Some(-1.0)).compute(&input),
        Err(TopoError::InvalidParameter {
            name: "threshold",
            ..
        })
    ));
}

#[test]
fn text_readers_report_the_place() {
    let e = rips::parse_distance_matrix("0 1\n1 0 2\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("ragged rows: row 2 has 3 values"), "{e}");
    let e = rips::parse_point_cloud("1 2\n3 x\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 2, field 2: `x`"), "{e}");
    let e = rips::parse_lower_distance_matrix("1,2\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a triangular number"), "{e}");
    assert_eq!(
        rips::parse_lower_distance_matrix("\n1,\n2,3,\n").unwrap(),
        (3, vec![1.0, 2.0, 3.0])
    );
    assert_eq!(
        rips::parse_sparse_triplets("0 1 0.5\n").unwrap(),
        vec![(0, 1, 0.5)]
    );
    assert!(rips::parse_sparse_triplets("0 1.5 0.5\n").is_err());
}

/// 2000 points with max_dim 8 need C(2000, 10) > 2^56 simplex indices.
#[test]
fn index_overflow_is_refused() {
    let n = 2000;
    let pts = Array2::from_shape_fn((n, 1), |(i, _)| i as f64);
    let input = RipsInput::PointCloud {
        points: pts.view(),
        metric: Metric::Euclidean,
    };
    let r = RipsParams::new()
        .max_dim(8)
        .threshold(Some(0.5))
        .max_memory(None)
        .compute(&input);
    match r {
        Err(TopoError::IndexOverflow(msg)) => assert!(msg.contains("max_dim"), "{msg}"),
        other => panic!("expected IndexOverflow, got {other:?}"),
    }
}

/// The estimate is refused over the budget, with the counts and advice.
#[test]
fn memory_budget_is_enforced() {
    let n = 60;
    let pts = Array2::from_shape_fn((n, 3), |(i, j)| {
        ((i * 7 + j * 13) % 17) as f64 / 17.0 + i as f64 * 1e-3
    });
    let input = RipsInput::PointCloud {
        points: pts.view(),
        metric: Metric::Euclidean,
    };
    let params = RipsParams::new().max_dim(3);
    let estimate = estimate_memory(&input, &params).unwrap();
    assert!(estimate.bytes > 0);
    match params
        .clone()
        .max_memory(Some(estimate.bytes - 1))
        .compute(&input)
    {
        Err(TopoError::MemoryBudget {
            estimated_bytes,
            budget_bytes,
            advice,
        }) => {
            assert_eq!(estimated_bytes, u128::from(estimate.bytes));
            assert_eq!(budget_bytes, u128::from(estimate.bytes - 1));
            assert!(
                advice.contains("max_dim") && advice.contains("threshold"),
                "{advice}"
            );
        }
        other => panic!("expected MemoryBudget, got {other:?}"),
    }
    assert!(params
        .max_memory(Some(estimate.bytes))
        .compute(&input)
        .is_ok());
}

/// Simplex counts: exact in dimensions 0 and 1, Knuth's estimate above is
/// within 20% of a brute-force count here.
#[test]
fn simplex_count_estimate_is_close() {
    let n = 40;
    // A fixed pseudo-random cloud in the unit cube.
    let mut s: u64 = 12345;
    let pts = Array2::from_shape_fn((n, 3), |_| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    });
    let t = 0.5;
    let input = RipsInput::PointCloud {
        points: pts.view(),
        metric: Metric::Euclidean,
    };
    let est = estimate_memory(&input, &RipsParams::new().max_dim(2).threshold(Some(t))).unwrap();
    let close = |i: usize, j: usize| {
        let d: f64 = (0..3)
            .map(|k| (pts[[i, k]] - pts[[j, k]]).powi(2))
            .sum::<f64>()
            .sqrt();
        d as f32 <= t as f32
    };
    let mut exact = [n as f64, 0.0, 0.0, 0.0];
    for a in 0..n {
        for b in a + 1..n {
            if !close(a, b) {
                continue;
            }
            exact[1] += 1.0;
            for c in b + 1..n {
                if !(close(a, c) && close(b, c)) {
                    continue;
                }
                exact[2] += 1.0;
                for d in c + 1..n {
                    if close(a, d) && close(b, d) && close(c, d) {
                        exact[3] += 1.0;
                    }
                }
            }
        }
    }
    assert_eq!(est.simplices_per_dim.len(), 4);
    assert_eq!(est.simplices_per_dim[0], exact[0]);
    assert_eq!(est.simplices_per_dim[1], exact[1]);
    for (d, (&e, &x)) in est.simplices_per_dim.iter().zip(&exact).enumerate().skip(2) {
        let rel = (e - x).abs() / x;
        assert!(rel < 0.2, "dim {d}: estimate {e} vs exact {x}");
    }
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<RipsParams>();
    check::<rips::RipsOutput>();
    check::<RipsInput<'static>>();
    check::<rips::MemoryEstimate>();
}

/// A dense input whose distance matrix alone is over the budget is refused
/// before it is allocated; a huge `max_dim` on few points is harmless.
#[test]
fn dense_size_and_large_max_dim() {
    let values = [1.0; 3];
    let input = RipsInput::LowerTriangular {
        n: 3,
        values: &values,
    };
    let e = RipsParams::new()
        .max_memory(Some(10))
        .compute(&input)
        .unwrap_err()
        .to_string();
    assert!(e.contains("distance matrix alone exceeds"), "{e}");
    let out = RipsParams::new()
        .max_dim(1_000_000)
        .compute(&input)
        .unwrap();
    assert_eq!(out.diagram.max_dim, 1_000_000);
    // An equilateral triangle: one component, nothing above.
    assert_eq!(out.diagram.pairs.len(), 3);
}
