//! The neighbour searches are exact: the f32-GEMM brute force (euclidean,
//! cosine), the k-d tree (euclidean, Minkowski) and the direct f64 scan give
//! the same kernel, entry for entry, on awkward inputs (offsets, duplicates,
//! clusters at very different scales, a knn_max cap).

use basin_phate::{Distance, KnnSearch, Mds, Phate, PhateParams, T};
use ndarray::Array2;
use proptest::prelude::*;

/// Clustered data with a large offset, duplicated rows and one far outlier.
fn awkward(n: usize, d: usize, seed: u64, offset: f64) -> Array2<f64> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    };
    let mut x = Array2::from_shape_fn((n, d), |(i, _)| {
        let cluster = (i % 4) as f64;
        // clusters of very different spread: 1e-3 .. 1
        offset + cluster * 10.0 + next() * 10f64.powi(-((i % 4) as i32))
    });
    for i in (0..n).step_by(7).skip(1) {
        let src = x.row(i - 1).to_owned();
        x.row_mut(i).assign(&src); // exact duplicates
    }
    x.row_mut(n - 1).fill(offset + 1e4); // far outlier
    x
}

fn kernel(p: &PhateParams, x: &Array2<f64>) -> Array2<f64> {
    p.clone()
        .t(T::Fixed(3))
        .mds(Mds::Classic)
        .n_landmark(None)
        .build_graph(x.view())
        .unwrap()
        .kernel()
        .to_dense()
}

fn max_abs_diff(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Euclidean: f32-GEMM brute force == k-d tree == direct f64 scan (Minkowski p = 2).
    #[test]
    fn euclidean_searches_agree(seed in 0u64..10_000, n in 40usize..220, d in 1usize..7,
                                knn in 2usize..8, cap in proptest::option::of(0usize..6), big in any::<bool>()) {
        let x = awkward(n, d, seed, if big { 1e6 } else { 0.0 });
        let base = Phate::params().knn(knn).knn_max(cap.map(|c| knn + c));
        let brute = kernel(&base.clone().knn_search(KnnSearch::BruteForce), &x);
        let tree = kernel(&base.clone().knn_search(KnnSearch::KdTree), &x);
        let direct = kernel(&base.clone().distance(Distance::Minkowski(2.0)).knn_search(KnnSearch::BruteForce), &x);
        prop_assert!(max_abs_diff(&brute, &direct) <= 1e-12, "brute vs direct {}", max_abs_diff(&brute, &direct));
        prop_assert!(max_abs_diff(&tree, &direct) <= 1e-12, "tree vs direct {}", max_abs_diff(&tree, &direct));
        prop_assert_eq!(brute.iter().filter(|v| **v != 0.0).count(), direct.iter().filter(|v| **v != 0.0).count());
    }

    /// Manhattan and p = 3: k-d tree == direct scan.
    #[test]
    fn minkowski_tree_agrees(seed in 0u64..10_000, n in 40usize..200, d in 1usize..6, p in prop_oneof![Just(1.0), Just(3.0)]) {
        let x = awkward(n, d, seed, 0.0);
        let base = Phate::params().knn(4).distance(Distance::Minkowski(p));
        let tree = kernel(&base.clone().knn_search(KnnSearch::KdTree), &x);
        let direct = kernel(&base.clone().knn_search(KnnSearch::BruteForce), &x);
        prop_assert!(max_abs_diff(&tree, &direct) <= 1e-12);
    }
}

/// Cosine: the f32-GEMM brute force finds the same neighbours as the exact
/// cosine distances of a precomputed matrix, in one tile and in several.
#[test]
fn cosine_brute_matches_precomputed() {
    for n in [150, 600] {
        // well-spread directions at norms from 1e-3 to 1e3 (cosine ignores the norm)
        let base = awkward(n, 5, 3, 0.0);
        let x = Array2::from_shape_fn((n, 5), |(i, j)| {
            base[[(i * 37) % n, j]] * 10f64.powi((i % 7) as i32 - 3)
        });
        let p = Phate::params().knn(5).distance(Distance::Cosine);
        let brute = kernel(&p, &x);
        let unit: Vec<Vec<f64>> = x
            .rows()
            .into_iter()
            .map(|r| {
                let nr = r.dot(&r).sqrt();
                r.iter().map(|v| v / nr).collect()
            })
            .collect();
        let dm = Array2::from_shape_fn((n, n), |(i, j)| {
            if i == j {
                0.0
            } else {
                (1.0 - unit[i]
                    .iter()
                    .zip(&unit[j])
                    .map(|(a, b)| a * b)
                    .sum::<f64>())
                .clamp(0.0, 2.0)
            }
        });
        let pre = kernel(&Phate::params().knn(5).distance(Distance::Precomputed), &dm);
        let diff = max_abs_diff(&brute, &pre);
        assert!(diff <= 1e-9, "n = {n}: cosine brute vs precomputed {diff}");
    }
}

/// Large low-dimensional input: `Auto` picks the tree, and it matches brute force.
#[test]
fn auto_uses_tree_and_agrees() {
    let x = awkward(2500, 3, 11, 0.0);
    let auto = kernel(&Phate::params(), &x);
    let brute = kernel(&Phate::params().knn_search(KnnSearch::BruteForce), &x);
    assert!(max_abs_diff(&auto, &brute) <= 1e-12);
}

/// The brute force searches the fitted rows through square tiles of 256 and
/// scans each off-diagonal tile twice (rows, then columns): inputs of several
/// tiles and a partial last one, shuffled so that neighbours fall in
/// different tiles, give the direct scan's kernel (with and without a cap,
/// with a large offset).
#[test]
fn multi_tile_self_search_matches_direct() {
    for (n, seed, offset, cap) in [
        (700, 1, 0.0, None),
        (600, 2, 1e6, Some(3)),
        (1030, 3, 0.0, Some(1)),
    ] {
        let raw = awkward(n, 6, seed, offset);
        let x = Array2::from_shape_fn(raw.dim(), |(i, j)| raw[[(i * 389) % n, j]]);
        let base = Phate::params().knn(5).knn_max(cap.map(|c| 5 + c));
        let brute = kernel(&base.clone().knn_search(KnnSearch::BruteForce), &x);
        let direct = kernel(
            &base
                .distance(Distance::Minkowski(2.0))
                .knn_search(KnnSearch::BruteForce),
            &x,
        );
        let diff = max_abs_diff(&brute, &direct);
        assert!(diff <= 1e-12, "n = {n}: brute vs direct {diff}");
        assert_eq!(
            brute.iter().filter(|v| **v != 0.0).count(),
            direct.iter().filter(|v| **v != 0.0).count()
        );
    }
}
