//! Summaries against gudhi 3.13 `gudhi.representations` (reference data made
//! by `tests/reference/summary/make_summary.py`).

use basin_topo::summary::{
    betti_curve, landscape, persistence_entropy, persistence_image, total_persistence,
    truncate_essential, Discretisation, ImageWeight, PersistenceImageParams,
};
use basin_topo::{PersistencePair, TopoError};
use proptest::prelude::*;
use serde_json::Value;

const REFERENCE: &str = include_str!("reference/summary/summary_reference.json");

fn floats(value: &Value) -> Vec<f64> {
    serde_json::from_value(value.clone()).unwrap()
}

fn assert_all_close(ours: &[f64], theirs: &[f64], tol: f64, what: &str) {
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths");
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        assert!(
            (a - b).abs() <= tol * b.abs().max(1.0),
            "{what}[{i}]: basin {a} vs gudhi {b}"
        );
    }
}

#[test]
fn matches_gudhi_representations() {
    let reference: Value = serde_json::from_str(REFERENCE).unwrap();
    let cases = reference["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let bars: Vec<PersistencePair> = case["diagram"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| PersistencePair {
                dim: 1,
                birth: b[0].as_f64().unwrap(),
                death: b[1].as_f64().unwrap_or(f64::INFINITY),
            })
            .collect();
        for (p, expected) in case["total_persistence"].as_object().unwrap() {
            let p: f64 = p.parse().unwrap();
            assert_all_close(
                &[total_persistence(&bars, p)],
                &[expected.as_f64().unwrap()],
                1e-12,
                &format!("{name} TP{p}"),
            );
        }
        assert_all_close(
            &[persistence_entropy(&bars)],
            &[case["entropy"].as_f64().unwrap()],
            1e-12,
            &format!("{name} entropy"),
        );
        assert_all_close(
            &betti_curve(&bars, &floats(&case["betti_grid"])),
            &floats(&case["betti"]),
            0.0,
            &format!("{name} betti"),
        );
        let grid = floats(&case["landscape_grid"]);
        let ours = landscape(&bars, 4, &grid).unwrap();
        let theirs: Vec<f64> = floats(&case["landscape_gudhi"])
            .iter()
            .map(|v| v / std::f64::consts::SQRT_2)
            .collect();
        assert_all_close(
            ours.as_slice().unwrap(),
            &theirs,
            1e-12,
            &format!("{name} landscape"),
        );
        let range = floats(&case["image_range"]);
        let resolution: Vec<usize> =
            serde_json::from_value(case["image_resolution"].clone()).unwrap();
        for (wname, weight) in [
            ("constant", ImageWeight::Constant),
            ("linear", ImageWeight::PersistencePower(1.0)),
            ("power2", ImageWeight::PersistencePower(2.0)),
        ] {
            let params = PersistenceImageParams {
                bandwidth: case["image_bandwidth"].as_f64().unwrap(),
                weight,
                resolution: [resolution[0], resolution[1]],
                range: [range[0], range[1], range[2], range[3]],
                discretisation: Discretisation::PixelCentres,
            };
            let image = persistence_image(&bars, &params).unwrap();
            assert_eq!(image.dim(), (resolution[1], resolution[0]));
            assert_all_close(
                image.as_slice().unwrap(),
                &floats(&case["image"][wname]),
                1e-12,
                &format!("{name} image {wname}"),
            );
        }
        // persim's pixel-integrated images, indexed [birth][persistence].
        let range = floats(&case["persim_range"]);
        let resolution: Vec<usize> =
            serde_json::from_value(case["persim_resolution"].clone()).unwrap();
        for (wname, weight) in [
            ("constant", ImageWeight::Constant),
            ("linear", ImageWeight::PersistencePower(1.0)),
        ] {
            let params = PersistenceImageParams {
                bandwidth: case["persim_sigma"].as_f64().unwrap(),
                weight,
                resolution: [resolution[0], resolution[1]],
                range: [range[0], range[1], range[2], range[3]],
                discretisation: Discretisation::PixelIntegrals,
            };
            let image = persistence_image(&bars, &params).unwrap();
            let persim: Vec<Vec<f64>> =
                serde_json::from_value(case["persim_image"][wname].clone()).unwrap();
            let transposed: Vec<f64> = (0..resolution[1])
                .flat_map(|iy| persim.iter().map(move |col| col[iy]))
                .collect();
            assert!(
                transposed.iter().any(|&v| v > 1e-3),
                "{name}: persim image is blank"
            );
            assert_all_close(
                image.as_slice().unwrap(),
                &transposed,
                1e-12,
                &format!("{name} persim image {wname}"),
            );
        }
    }
}

#[test]
fn bad_parameters_give_clear_errors() {
    let bars = [PersistencePair {
        dim: 0,
        birth: 0.0,
        death: 1.0,
    }];
    assert!(matches!(
        landscape(&bars, 0, &[0.5]),
        Err(TopoError::InvalidParameter { name: "levels", .. })
    ));
    let good = PersistenceImageParams {
        bandwidth: 0.1,
        weight: ImageWeight::Constant,
        resolution: [3, 3],
        range: [0.0, 1.0, 0.0, 1.0],
        discretisation: Discretisation::PixelCentres,
    };
    for (params, name) in [
        (
            PersistenceImageParams {
                bandwidth: 0.0,
                ..good.clone()
            },
            "bandwidth",
        ),
        (
            PersistenceImageParams {
                bandwidth: f64::NAN,
                ..good.clone()
            },
            "bandwidth",
        ),
        (
            PersistenceImageParams {
                resolution: [0, 3],
                ..good.clone()
            },
            "resolution",
        ),
        (
            PersistenceImageParams {
                range: [1.0, 0.0, 0.0, 1.0],
                ..good.clone()
            },
            "range",
        ),
        (
            PersistenceImageParams {
                range: [0.0, f64::INFINITY, 0.0, 1.0],
                ..good.clone()
            },
            "range",
        ),
        (
            PersistenceImageParams {
                weight: ImageWeight::PersistencePower(f64::NAN),
                ..good.clone()
            },
            "weight",
        ),
    ] {
        match persistence_image(&bars, &params) {
            Err(TopoError::InvalidParameter { name: got, .. }) => assert_eq!(got, name),
            other => panic!("expected InvalidParameter {name}, got {other:?}"),
        }
    }
    // Empty diagrams are fine: zeros.
    assert_eq!(persistence_entropy(&[]), 0.0);
    assert_eq!(total_persistence(&[], 2.0), 0.0);
    assert!(persistence_image(&[], &good)
        .unwrap()
        .iter()
        .all(|&v| v == 0.0));
}

fn random_diagram() -> impl Strategy<Value = Vec<PersistencePair>> {
    prop::collection::vec(
        (0.0f64..5.0, 0.0f64..3.0).prop_map(|(b, l)| PersistencePair {
            dim: 1,
            birth: b,
            death: b + l,
        }),
        0..15,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn summary_invariants(bars in random_diagram(), x in -1.0f64..9.0) {
        let n = bars.len();
        // Entropy lies in [0, ln n].
        let h = persistence_entropy(&bars);
        prop_assert!(h >= -1e-12 && h <= (n.max(1) as f64).ln() + 1e-12);
        // The landscapes are ordered, non-negative, and 1-Lipschitz tents
        // bounded by half the longest bar.
        let l = landscape(&bars, 3, &[x]).unwrap();
        prop_assert!(l[[0, 0]] >= l[[1, 0]] && l[[1, 0]] >= l[[2, 0]] && l[[2, 0]] >= 0.0);
        let longest = bars.iter().map(PersistencePair::persistence).fold(0.0, f64::max);
        prop_assert!(l[[0, 0]] <= longest / 2.0 + 1e-12);
        // The number of positive landscape levels at x is at most the Betti number.
        let betti = betti_curve(&bars, &[x])[0];
        let positive = landscape(&bars, n.max(1), &[x]).unwrap().iter().filter(|&&v| v > 0.0).count();
        prop_assert!(positive as f64 <= betti);
        // Truncating nothing changes nothing.
        prop_assert_eq!(truncate_essential(&bars, 100.0), bars.clone());
        // Total persistence with p = 1 is the sum of lengths, = 2 ∫ Σ_k λ_k.
        let tp1 = total_persistence(&bars, 1.0);
        prop_assert!((tp1 - bars.iter().map(PersistencePair::persistence).sum::<f64>()).abs() < 1e-9);
    }
}

#[test]
fn public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<PersistenceImageParams>();
    send_sync::<ImageWeight>();
    send_sync::<Discretisation>();
    send_sync::<basin_topo::sublevel::SublevelParams>();
    send_sync::<basin_topo::sublevel::SublevelOutput>();
    send_sync::<basin_topo::sublevel::KnnGraph>();
    send_sync::<basin_topo::distance::GroundMetric>();
}
