//! Bad input: clear errors or documented behaviour, never a panic or a NaN embedding.

use basin_phate::{Distance, Mds, Phate, PhateError, T};
use ndarray::Array2;

fn data(n: usize, d: usize) -> Array2<f64> {
    Array2::from_shape_fn((n, d), |(i, j)| {
        ((i * 31 + j * 17) % 23) as f64 * 0.5 + (i as f64 * 0.2).sin() * j as f64
    })
}

fn quick() -> basin_phate::PhateParams {
    Phate::params().t(T::Fixed(8)).mds(Mds::Classic)
}

#[test]
fn nan_is_named_with_its_position() {
    let mut x = data(40, 3);
    x[[7, 2]] = f64::NAN;
    match quick().fit(x.view()) {
        Err(PhateError::NonFinite { row: 7, col: 2, .. }) => {}
        other => panic!("expected NonFinite at (7, 2), got {other:?}"),
    }
}

#[test]
fn infinity_is_rejected() {
    let mut x = data(40, 3);
    x[[0, 0]] = f64::INFINITY;
    assert!(matches!(
        quick().fit(x.view()),
        Err(PhateError::NonFinite { row: 0, col: 0, .. })
    ));
}

#[test]
fn too_few_points() {
    let x = data(6, 3);
    assert_eq!(
        quick().knn(5).fit(x.view()).unwrap_err(),
        PhateError::TooFewPoints { n: 6, knn: 5 }
    );
    // knn + 2 points is enough
    assert!(quick().knn(4).fit(x.view()).is_ok());
}

#[test]
fn empty_input() {
    let x = Array2::<f64>::zeros((0, 3));
    assert!(matches!(
        quick().fit(x.view()),
        Err(PhateError::EmptyInput { rows: 0, cols: 3 })
    ));
}

#[test]
fn bad_parameters_are_named() {
    let x = data(40, 3);
    for (p, name) in [
        (quick().knn(0), "knn"),
        (quick().decay(-1.0), "decay"),
        (quick().gamma(2.0), "gamma"),
        (quick().t(T::Fixed(0)), "t"),
        (quick().knn(5).knn_max(Some(3)), "knn_max"),
        (quick().n_components(0), "n_components"),
        (quick().distance(Distance::Minkowski(0.5)), "distance"),
    ] {
        match p.fit(x.view()) {
            Err(PhateError::InvalidParameter { name: got, .. }) => assert_eq!(got, name),
            other => panic!("{name}: expected InvalidParameter, got {other:?}"),
        }
    }
}

/// Duplicates (zero distances) follow graphtools: the bandwidth is floored at
/// machine epsilon, exact duplicates get affinity 1 to each other; the result is finite.
#[test]
fn duplicate_points_give_finite_embedding() {
    let mut x = data(40, 3);
    for i in 0..10 {
        let r = x.row(0).to_owned();
        x.row_mut(i).assign(&r);
    }
    let fit = quick().fit(x.view()).unwrap();
    assert!(fit.embedding.iter().all(|v| v.is_finite()));
    // duplicates of row 0 share its kernel row
    assert!((fit.kernel().get(0, 3) - 1.0).abs() < 1e-12);
    let metric = Phate::params().t(T::Fixed(8)).fit(x.view()).unwrap();
    assert!(metric.embedding.iter().all(|v| v.is_finite()));
}

/// All points identical: every distance is zero; the embedding is all zeros.
#[test]
fn all_identical_points_embed_at_zero() {
    let x = Array2::from_elem((20, 4), 3.0);
    for mds in [Mds::Classic, Mds::Metric, Mds::Smacof] {
        let fit = quick().mds(mds).fit(x.view()).unwrap();
        assert!(
            fit.embedding
                .iter()
                .all(|v| v.is_finite() && v.abs() < 1e-9),
            "{mds:?} {:?}",
            fit.embedding
        );
    }
}

/// Constant columns change no euclidean distance; the embedding is the one without them.
#[test]
fn constant_columns_do_not_change_euclidean_result() {
    let x = data(50, 3);
    let mut wide = Array2::from_elem((50, 5), 7.0);
    wide.slice_mut(ndarray::s![.., ..3]).assign(&x);
    let a = quick().fit(x.view()).unwrap();
    let b = quick().fit(wide.view()).unwrap();
    let diff = (a.kernel().to_dense() - b.kernel().to_dense())
        .mapv(f64::abs)
        .fold(0.0f64, |m, &v| m.max(v));
    assert!(diff < 1e-9, "kernel changed by {diff}");
}

/// A zero row under the cosine distance is at distance 1 from everything
/// (scikit-learn's convention); no NaN appears.
#[test]
fn cosine_zero_row_is_finite() {
    let mut x = data(40, 3);
    x.row_mut(5).fill(0.0);
    let fit = quick().distance(Distance::Cosine).fit(x.view()).unwrap();
    assert!(fit.embedding.iter().all(|v| v.is_finite()));
}

#[test]
fn precomputed_must_be_square_symmetric_nonnegative() {
    let d = Array2::<f64>::zeros((10, 9));
    assert!(matches!(
        quick().distance(Distance::Precomputed).fit(d.view()),
        Err(PhateError::BadPrecomputed {
            reason: "not square",
            ..
        })
    ));
    let mut d = Array2::<f64>::ones((10, 10));
    assert!(matches!(
        quick().distance(Distance::Precomputed).fit(d.view()),
        Err(PhateError::BadPrecomputed {
            reason: "non-zero diagonal",
            ..
        })
    ));
    d.diag_mut().fill(0.0);
    d[[2, 3]] = -1.0;
    assert!(matches!(
        quick().distance(Distance::Precomputed).fit(d.view()),
        Err(PhateError::BadPrecomputed {
            reason: "negative distance",
            row: 2,
            col: 3
        })
    ));
}

#[test]
fn transform_checks_columns_and_precomputed() {
    let x = data(40, 3);
    let fit = quick().fit(x.view()).unwrap();
    assert_eq!(
        fit.transform(data(5, 4).view()).unwrap_err(),
        PhateError::ShapeMismatch {
            expected: 3,
            got: 4
        }
    );
    let n = 40;
    let d = Array2::from_shape_fn((n, n), |(i, j)| (i as f64 - j as f64).abs());
    let pf = quick()
        .distance(Distance::Precomputed)
        .fit(d.view())
        .unwrap();
    assert!(matches!(
        pf.transform(x.view()),
        Err(PhateError::Unavailable(_))
    ));
}
