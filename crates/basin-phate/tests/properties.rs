//! Invariants: row order, determinism, stochastic operator, cache reuse, transform.

use basin_phate::{procrustes, Mds, Phate, T};
use ndarray::{Array2, Axis};
use proptest::prelude::*;

fn cloud(n: usize, seed: u64) -> Array2<f64> {
    // a noisy curve in 5-D, deterministic from the seed
    Array2::from_shape_fn((n, 5), |(i, j)| {
        let s = (i as f64) * 0.15;
        let h = ((i as u64 * 2654435761 + j as u64 * 97 + seed * 7919) % 1000) as f64 / 1000.0;
        (s * (j + 1) as f64).sin() * 3.0 + s * (j as f64) * 0.3 + 0.2 * h
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// Permuting the rows permutes the kernel, t and the potential distances.
    #[test]
    fn row_order_does_not_matter(seed in 0u64..1000, n in 40usize..80) {
        let x = cloud(n, seed);
        let mut perm: Vec<usize> = (0..n).collect();
        perm.reverse();
        perm.swap(0, n / 2);
        let xp = x.select(Axis(0), &perm);
        let p = Phate::params().mds(Mds::Classic);
        let a = p.fit(x.view()).unwrap();
        let b = p.fit(xp.view()).unwrap();
        prop_assert_eq!(a.t, b.t);
        let pa = a.potential_distances().unwrap();
        let pb = b.potential_distances().unwrap();
        for (bi, &ai) in perm.iter().enumerate() {
            for (bj, &aj) in perm.iter().enumerate() {
                prop_assert!((pa[[ai, aj]] - pb[[bi, bj]]).abs() < 1e-8);
            }
        }
        let ea = a.embedding.select(Axis(0), &perm);
        let (_, disparity) = procrustes(ea.view(), b.embedding.view());
        prop_assert!(disparity < 1e-6);
    }

    /// P is row-stochastic and the kernel symmetric with a unit diagonal.
    #[test]
    fn diffusion_operator_is_stochastic(seed in 0u64..1000) {
        let x = cloud(60, seed);
        let fit = Phate::params().t(T::Fixed(5)).mds(Mds::Classic).fit(x.view()).unwrap();
        for s in fit.diff_op().row_sums() {
            prop_assert!((s - 1.0).abs() < 1e-12);
        }
        let k = fit.kernel().to_dense();
        for i in 0..60 {
            prop_assert!((k[[i, i]] - 1.0).abs() < 1e-12);
            for j in 0..60 {
                prop_assert!((k[[i, j]] - k[[j, i]]).abs() < 1e-15);
            }
        }
    }
}

#[test]
fn same_seed_same_bytes() {
    let x = cloud(120, 3);
    let p = Phate::params().seed(9);
    let a = p.fit(x.view()).unwrap();
    let b = p.fit(x.view()).unwrap();
    assert_eq!(a.embedding, b.embedding);
}

/// The thread count changes nothing: PCA and landmarks (whose products sum
/// row blocks: more than two of 2048 rows here) and SGD MDS give the same
/// bytes on 1 and 3 threads.
#[test]
fn same_bytes_on_any_number_of_threads() {
    let n = 4500;
    let base = cloud(n, 4);
    let wide = Array2::from_shape_fn((n, 20), |(i, j)| {
        base[[i, j % 5]] * (1.0 + j as f64 * 0.1) + ((i * 7 + j * 13) % 17) as f64 * 1e-3
    });
    let p = Phate::params()
        .n_pca(Some(10))
        .n_landmark(Some(100))
        .seed(4);
    let one = p.clone().n_jobs(Some(1)).fit(wide.view()).unwrap();
    let three = p.n_jobs(Some(3)).fit(wide.view()).unwrap();
    assert!(one.landmarks().is_some());
    assert_eq!(one.t, three.t);
    assert_eq!(one.embedding, three.embedding);
}

/// The exact path (no landmarks) too: its spectrum for t (a two-stage
/// eigensolve whose products run in parallel) gives the same entropy curve, bit for bit,
/// and the same embedding on 1 and 3 threads.
#[test]
fn exact_path_same_bytes_on_any_number_of_threads() {
    let x = cloud(700, 6);
    let p = Phate::params().seed(2);
    let one = p.clone().n_jobs(Some(1)).fit(x.view()).unwrap();
    let three = p.n_jobs(Some(3)).fit(x.view()).unwrap();
    assert!(one.landmarks().is_none());
    let bits = |f: &basin_phate::PhateFit| {
        f.entropy_curve
            .as_ref()
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>()
    };
    assert!(
        bits(&one) == bits(&three),
        "the entropy curve's bits depend on the thread count"
    );
    assert_eq!(one.embedding, three.embedding);
}

/// Refit on the cached graph equals a fresh fit with the same settings.
#[test]
fn refit_equals_fresh_fit() {
    let x = cloud(100, 1);
    let first = Phate::params().t(T::Fixed(5)).fit(x.view()).unwrap();
    let p2 = Phate::params().t(T::Fixed(20)).gamma(0.0).mds(Mds::Smacof);
    let again = first.refit(&p2).unwrap();
    let fresh = p2.fit(x.view()).unwrap();
    assert_eq!(again.t, 20);
    assert_eq!(again.embedding, fresh.embedding);
    assert!(std::sync::Arc::ptr_eq(first.graph(), again.graph()));
}

/// Transforming the fitted points lands near their own embedding (they are
/// their own nearest neighbours); new points land inside the layout.
#[test]
fn transform_places_points_near_their_fit() {
    let x = cloud(150, 5);
    let fit = Phate::params().mds(Mds::Classic).fit(x.view()).unwrap();
    let placed = fit.transform(x.view()).unwrap();
    let scale = fit.embedding.iter().map(|v| v.abs()).fold(0.0f64, f64::max);
    let err = (&placed - &fit.embedding)
        .iter()
        .map(|v| v.abs())
        .fold(0.0f64, f64::max);
    assert!(err < 0.25 * scale, "transform error {err} vs scale {scale}");
    // landmarks: the same through the landmark transitions
    let lfit = Phate::params()
        .n_landmark(Some(40))
        .mds(Mds::Classic)
        .fit(x.view())
        .unwrap();
    assert!(lfit.landmarks().is_some());
    let lp = lfit.transform(x.view()).unwrap();
    assert_eq!(lp.dim(), (150, 2));
    assert!(lp.iter().all(|v| v.is_finite()));
}

/// PCA path: more columns than n_pca; finite, and the kernel matches the
/// exact PCA projection closely enough to give the same t.
#[test]
fn pca_path_runs() {
    let base = cloud(120, 2);
    let mut wide = Array2::zeros((120, 40));
    for j in 0..40 {
        let src = base.column(j % 5).mapv(|v| v * (1.0 + j as f64 * 0.01));
        wide.column_mut(j).assign(&src);
    }
    let with = Phate::params()
        .n_pca(Some(10))
        .mds(Mds::Classic)
        .fit(wide.view())
        .unwrap();
    let without = Phate::params()
        .n_pca(None)
        .mds(Mds::Classic)
        .fit(wide.view())
        .unwrap();
    // rank-5 data: 10 components keep every distance
    assert_eq!(with.t, without.t);
    let (_, disparity) = procrustes(with.embedding.view(), without.embedding.view());
    assert!(disparity < 1e-6, "PCA changed the embedding: {disparity}");
}

#[test]
fn public_types_are_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<basin_phate::PhateFit>();
    check::<basin_phate::PhateParams>();
    check::<basin_phate::PhateGraph>();
    check::<basin_phate::PhateError>();
}
