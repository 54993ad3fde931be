//! Correlations: NaN handling, constant input, and the bootstrap interval.

use basin_compare::stats::{average_ranks, correlation_p_value};
use basin_compare::{
    correlate, pearson, spearman, BootstrapConfig, CompareError, CorrelationMethod,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` draws of a bivariate normal with correlation `rho`.
fn bivariate_normal(n: usize, rho: f64, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut normal = move || {
        // Box-Muller: enough for a test's data.
        let (u, v): (f64, f64) = (rng.random_range(f64::EPSILON..1.0), rng.random());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    };
    (0..n)
        .map(|_| {
            let (a, b) = (normal(), normal());
            (a, rho * a + (1.0 - rho * rho).sqrt() * b)
        })
        .unzip()
}

#[test]
fn average_ranks_match_scipy_rankdata() {
    // scipy.stats.rankdata([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]) (method="average")
    let ranks = average_ranks(&[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0]);
    assert_eq!(
        ranks,
        vec![4.5, 1.5, 6.0, 1.5, 8.0, 11.0, 3.0, 10.0, 8.0, 4.5, 8.0]
    );
}

#[test]
fn p_value_edges() {
    assert_eq!(correlation_p_value(1.0, 10), 0.0);
    assert_eq!(correlation_p_value(-1.0, 10), 0.0);
    assert!((correlation_p_value(0.0, 10) - 1.0).abs() < 1e-12);
    assert!(correlation_p_value(f64::NAN, 10).is_nan());
    assert!(correlation_p_value(0.5, 2).is_nan());
}

#[test]
fn bootstrap_interval_covers_the_estimate_and_tightens_with_n() {
    // The width should follow the large-sample standard error of r:
    // Fisher's (1 - r^2) / sqrt(n - 3) for Pearson, times sqrt(1 + r^2 / 2)
    // for Spearman (Bonett & Wright 2000), so a 95% interval is about
    // 2 * 1.96 * se wide. Allowed: within 35% of that (the bootstrap
    // distribution of r is skewed at n = 30), and narrower at n = 300.
    let boot = BootstrapConfig {
        resamples: 2000,
        confidence: 0.95,
        seed: 11,
    };
    for method in [CorrelationMethod::Pearson, CorrelationMethod::Spearman] {
        let mut widths = Vec::new();
        for n in [30, 300] {
            let (x, y) = bivariate_normal(n, 0.5, 3);
            let c = correlate(&x, &y, method, &boot).unwrap();
            assert!(c.ci_low < c.estimate && c.estimate < c.ci_high, "{c:?}");
            let r2 = c.estimate * c.estimate;
            let factor = if method == CorrelationMethod::Spearman {
                1.0 + r2 / 2.0
            } else {
                1.0
            };
            let expected = 2.0 * 1.96 * (1.0 - r2) * (factor / (n as f64 - 3.0)).sqrt();
            let width = c.ci_high - c.ci_low;
            assert!(
                (width / expected - 1.0).abs() < 0.35,
                "{method:?} n={n}: width {width}, expected {expected}"
            );
            widths.push(width);
        }
        assert!(
            widths[1] < widths[0] * 0.75,
            "{method:?}: widths {widths:?}"
        );
    }
}

#[test]
fn bootstrap_interval_has_about_its_nominal_coverage() {
    // 200 samples of n = 40 from a bivariate normal with rho = 0.5: a 90%
    // percentile interval should contain 0.5 about 90% of the time (the
    // percentile bootstrap under-covers a little at this n). Binomial sd of
    // the hit rate is about 2 points; allow 80%..97%.
    let boot = BootstrapConfig {
        resamples: 400,
        confidence: 0.9,
        seed: 5,
    };
    let hits = (0..200)
        .filter(|&sample| {
            let (x, y) = bivariate_normal(40, 0.5, 1000 + sample);
            let c = correlate(&x, &y, CorrelationMethod::Pearson, &boot).unwrap();
            c.ci_low <= 0.5 && 0.5 <= c.ci_high
        })
        .count();
    assert!((160..=194).contains(&hits), "coverage {hits}/200");
}

#[test]
fn same_seed_same_interval_other_seed_other_interval() {
    let (x, y) = bivariate_normal(50, 0.3, 9);
    let boot = BootstrapConfig {
        resamples: 500,
        confidence: 0.95,
        seed: 1,
    };
    let a = correlate(&x, &y, CorrelationMethod::Spearman, &boot).unwrap();
    let b = correlate(&x, &y, CorrelationMethod::Spearman, &boot).unwrap();
    assert_eq!(a, b);
    let c = correlate(
        &x,
        &y,
        CorrelationMethod::Spearman,
        &BootstrapConfig { seed: 2, ..boot },
    )
    .unwrap();
    assert_eq!(a.estimate, c.estimate);
    assert_ne!((a.ci_low, a.ci_high), (c.ci_low, c.ci_high));
}

#[test]
fn nan_pairs_are_dropped_and_counted() {
    let (mut x, mut y) = bivariate_normal(40, 0.6, 4);
    let clean = correlate(
        &x,
        &y,
        CorrelationMethod::Pearson,
        &BootstrapConfig::default(),
    )
    .unwrap();
    x.push(f64::NAN);
    y.push(1.0);
    x.insert(0, 2.0);
    y.insert(0, f64::NAN);
    let dirty = correlate(
        &x,
        &y,
        CorrelationMethod::Pearson,
        &BootstrapConfig::default(),
    )
    .unwrap();
    assert_eq!((dirty.n, dirty.dropped_nan), (40, 2));
    assert_eq!(dirty.estimate, clean.estimate);
    assert_eq!(dirty.p_value, clean.p_value);
    assert_eq!((dirty.ci_low, dirty.ci_high), (clean.ci_low, clean.ci_high));
}

#[test]
fn constant_input_gives_nan_as_scipy() {
    // scipy.stats.pearsonr([1, 1, 1, 1], [1, 2, 3, 4]) -> (nan, nan) with a ConstantInputWarning.
    let x = [1.0, 1.0, 1.0, 1.0];
    let y = [1.0, 2.0, 3.0, 4.0];
    assert!(pearson(&x, &y).unwrap().is_nan());
    assert!(spearman(&y, &x).unwrap().is_nan());
    let c = correlate(
        &x,
        &y,
        CorrelationMethod::Spearman,
        &BootstrapConfig::default(),
    )
    .unwrap();
    assert!(c.estimate.is_nan() && c.p_value.is_nan() && c.ci_low.is_nan() && c.ci_high.is_nan());
    assert_eq!(c.n, 4);
}

#[test]
fn bad_input_is_refused_with_its_name() {
    let boot = BootstrapConfig::default();
    let err = correlate(
        &[1.0, 2.0, 3.0],
        &[1.0, 2.0],
        CorrelationMethod::Pearson,
        &boot,
    )
    .unwrap_err();
    assert!(matches!(err, CompareError::LengthMismatch { .. }));
    let err = correlate(
        &[1.0, f64::NAN, 3.0, 4.0],
        &[1.0, 2.0, 3.0, f64::NAN],
        CorrelationMethod::Pearson,
        &boot,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            CompareError::TooFewObservations {
                needed: 3,
                got: 2,
                ..
            }
        ),
        "{err}"
    );
    let err = correlate(
        &[1.0, 2.0, 3.0],
        &[1.0, f64::INFINITY, 3.0],
        CorrelationMethod::Pearson,
        &boot,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("`y`") && err.to_string().contains("index 1"),
        "{err}"
    );
    let err = correlate(
        &[1.0, 2.0, 3.0],
        &[1.0, 2.0, 4.0],
        CorrelationMethod::Pearson,
        &BootstrapConfig {
            confidence: 1.0,
            ..boot
        },
    )
    .unwrap_err();
    assert!(matches!(
        err,
        CompareError::InvalidParameter {
            name: "confidence",
            ..
        }
    ));
}
