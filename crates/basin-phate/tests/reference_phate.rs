//! Golden tests against phate 2.0.0 / graphtools 2.1.0 (figures made by
//! `tests/reference/make_reference.py`, versions pinned in its header).

use approx::assert_abs_diff_eq;
use basin_phate::{
    demap, procrustes, Distance, Landmarks, Mds, MdsDistance, Phate, PhateFit, PhateParams, T,
};
use ndarray::{Array2, ArrayView2};
use serde_json::Value;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference")
}

fn read_bin(path: PathBuf) -> Vec<f64> {
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn matrix(path: PathBuf, cols: usize) -> Array2<f64> {
    let v = read_bin(path);
    Array2::from_shape_vec((v.len() / cols, cols), v).unwrap()
}

struct Case {
    name: &'static str,
    meta: Value,
    x: Array2<f64>,
}

impl Case {
    fn load(name: &'static str) -> Self {
        let meta: Value = serde_json::from_str(
            &std::fs::read_to_string(dir().join(name).join("meta.json")).unwrap(),
        )
        .unwrap();
        let d = meta["d"].as_u64().unwrap() as usize;
        let input = meta["input"].as_str().unwrap();
        let x = matrix(dir().join("inputs").join(format!("{input}.bin")), d);
        Self { name, meta, x }
    }

    fn file(&self, f: &str) -> PathBuf {
        dir().join(self.name).join(format!("{f}.bin"))
    }

    fn n(&self) -> usize {
        self.x.nrows()
    }

    fn params(&self) -> PhateParams {
        let p = &self.meta["params"];
        let mut params = Phate::params()
            .knn(p["knn"].as_u64().unwrap() as usize)
            .decay(p["decay"].as_f64().unwrap())
            .seed(42);
        params = match &p["t"] {
            Value::String(_) => params.t(T::Auto),
            v => params.t(T::Fixed(v.as_u64().unwrap() as usize)),
        };
        if p["knn_dist"].as_str() == Some("cosine") {
            params = params.distance(Distance::Cosine);
        }
        if p["mds_dist"].as_str() == Some("cosine") {
            params = params.mds_dist(MdsDistance::Cosine);
        }
        if let Some(g) = p["gamma"].as_f64() {
            params = params.gamma(g);
        }
        if let Some(k) = p["knn_max"].as_u64() {
            params = params.knn_max(Some(k as usize));
        }
        if let Some(m) = p["n_landmark"].as_u64() {
            params = params.n_landmark(Some(m as usize));
        }
        params
    }

    /// Dense matrix from (row, col, value) triplets.
    fn triplets(&self, f: &str, n: usize, m: usize) -> Array2<f64> {
        let t = matrix(self.file(f), 3);
        let mut out = Array2::zeros((n, m));
        for r in t.rows() {
            out[[r[0] as usize, r[1] as usize]] += r[2];
        }
        out
    }

    fn f(&self, key: &str) -> f64 {
        self.meta[key].as_f64().unwrap()
    }
}

fn max_abs_diff(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> f64 {
    assert_eq!(a.dim(), b.dim());
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Kernel, P, t, entropy, potential distances and classic MDS of an exact-path case.
fn check_exact(name: &'static str) -> (Case, PhateFit) {
    let case = Case::load(name);
    let n = case.n();
    let fit = case.params().mds(Mds::Classic).fit(case.x.view()).unwrap();

    let k_ref = case.triplets("kernel", n, n);
    let dk = max_abs_diff(fit.kernel().to_dense().view(), k_ref.view());
    assert_eq!(
        fit.kernel().nnz(),
        case.meta["kernel_nnz"].as_u64().unwrap() as usize,
        "{name}: kernel nnz"
    );
    assert!(dk <= 1e-6, "{name}: kernel max |diff| {dk:e}");
    if case.file("diff_op").exists() {
        let p_ref = case.triplets("diff_op", n, n);
        let dp = max_abs_diff(fit.diff_op().to_dense().view(), p_ref.view());
        assert!(dp <= 1e-6, "{name}: P max |diff| {dp:e}");
    }

    assert_eq!(
        fit.t,
        case.meta["t"].as_u64().unwrap() as usize,
        "{name}: t"
    );
    // The spectrum that t comes from is reduced in f32 (see basin_phate's
    // vne module): its entropies sit within a few 1e-6 of phate's f64 SVD,
    // and t must be the same.
    let mut dh = f64::NAN;
    if let Some(h) = &fit.entropy_curve {
        let h_ref: Vec<f64> = case.meta["entropy"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        dh = h
            .iter()
            .zip(&h_ref)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(dh <= 1e-5, "{name}: entropy max |diff| {dh:e}");
    }

    let pd_ref = matrix(case.file("pot_dist"), n);
    let dpd = max_abs_diff(fit.potential_distances().unwrap().view(), pd_ref.view());
    assert!(dpd <= 1e-5, "{name}: potential distance max |diff| {dpd:e}");

    let y_ref = matrix(case.file("emb_classic"), 2);
    let (_, disparity) = procrustes(y_ref.view(), fit.embedding.view());
    assert!(
        disparity <= 0.02,
        "{name}: classic MDS Procrustes disparity {disparity}"
    );
    eprintln!(
        "{name}: kernel {dk:.1e}, entropy {dh:.1e}, pot dist {dpd:.1e}, t {}, classic disparity {disparity:.2e}",
        fit.t
    );
    (case, fit)
}

/// Metric MDS (SGD and SMACOF) on the cached graph: DEMaP within 0.01 of phate's.
fn check_metric(case: &Case, fit: &PhateFit) {
    let name = case.name;
    // Our DEMaP reproduces the script's on phate's own embedding.
    let y_sgd_ref = matrix(case.file("emb_sgd"), 2);
    let dm_ref_here = demap(case.x.view(), y_sgd_ref.view(), 10);
    assert_abs_diff_eq!(dm_ref_here, case.f("demap_sgd"), epsilon = 1e-9);

    let sgd = fit.refit(&case.params().mds(Mds::Metric)).unwrap();
    let dm = demap(case.x.view(), sgd.embedding.view(), 10);
    assert!(
        (dm - case.f("demap_sgd")).abs() <= 0.01,
        "{name}: SGD DEMaP {dm} vs phate {}",
        case.f("demap_sgd")
    );

    let sm = fit.refit(&case.params().mds(Mds::Smacof)).unwrap();
    let dms = demap(case.x.view(), sm.embedding.view(), 10);
    assert!(
        (dms - case.f("demap_smacof")).abs() <= 0.01,
        "{name}: SMACOF DEMaP {dms} vs phate {}",
        case.f("demap_smacof")
    );
    let y_sm_ref = matrix(case.file("emb_smacof"), 2);
    let (_, disp) = procrustes(y_sm_ref.view(), sm.embedding.view());
    assert!(disp <= 0.02, "{name}: SMACOF disparity {disp}");
    eprintln!(
        "{name}: DEMaP sgd {dm:.4} (phate {:.4}), smacof {dms:.4} (phate {:.4}), smacof disparity {disp:.2e}",
        case.f("demap_sgd"),
        case.f("demap_smacof")
    );
}

#[test]
fn dla_euclidean_auto() {
    let (case, fit) = check_exact("dla_euclidean_auto");
    check_metric(&case, &fit);
}

#[test]
fn dla_cosine_fixed_t() {
    let (case, fit) = check_exact("dla_cosine_t12");
    check_metric(&case, &fit);
}

#[test]
fn dla_gamma_zero() {
    check_exact("dla_gamma0_t15");
}

#[test]
fn dla_gamma_half() {
    check_exact("dla_gamma_half_t15");
}

#[test]
fn dla_knn_max() {
    check_exact("dla_knnmax8");
}

#[test]
fn digits_euclidean_auto() {
    let (case, fit) = check_exact("digits_euclidean_auto");
    check_metric(&case, &fit);
}

#[test]
fn digits_cosine_auto() {
    let (case, fit) = check_exact("digits_cosine_auto");
    check_metric(&case, &fit);
}

#[test]
fn precomputed_matches_dla_euclidean() {
    let case = Case::load("dla_euclidean_auto");
    let n = case.n();
    let d = Array2::from_shape_fn((n, n), |(i, j)| {
        case.x
            .row(i)
            .iter()
            .zip(case.x.row(j))
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt()
    });
    let fit = case
        .params()
        .mds(Mds::Classic)
        .distance(Distance::Precomputed)
        .fit(d.view())
        .unwrap();
    let k_ref = case.triplets("kernel", n, n);
    assert!(max_abs_diff(fit.kernel().to_dense().view(), k_ref.view()) <= 1e-6);
    assert_eq!(fit.t, case.meta["t"].as_u64().unwrap() as usize);
    let pd_ref = matrix(case.file("pot_dist"), n);
    assert!(max_abs_diff(fit.potential_distances().unwrap().view(), pd_ref.view()) <= 1e-5);
}

#[test]
fn landmark_operator_from_reference_clusters() {
    let case = Case::load("dla_landmark100");
    let n = case.n();
    let fit = case
        .params()
        .mds(Mds::Classic)
        .n_landmark(None)
        .fit(case.x.view())
        .unwrap();
    let k_ref = case.triplets("kernel", n, n);
    assert!(max_abs_diff(fit.kernel().to_dense().view(), k_ref.view()) <= 1e-6);
    let clusters: Vec<usize> = read_bin(case.file("clusters"))
        .into_iter()
        .map(|c| c as usize)
        .collect();
    let lm = Landmarks::from_clusters(fit.kernel(), &clusters);
    let m = case.meta["n_landmark_actual"].as_u64().unwrap() as usize;
    assert_eq!(lm.len(), m);
    let op_ref = matrix(case.file("landmark_op"), m);
    let dop = max_abs_diff(lm.landmark_op().view(), op_ref.view());
    assert!(dop <= 1e-6, "landmark op max |diff| {dop:e}");
    let tr_ref = case.triplets("transitions", n, m);
    let dtr = max_abs_diff(lm.transitions().to_dense().view(), tr_ref.view());
    assert!(dtr <= 1e-6, "transitions max |diff| {dtr:e}");
}

#[test]
fn landmark_pipeline_quality() {
    let case = Case::load("dla_landmark100");
    let fit = case.params().mds(Mds::Classic).fit(case.x.view()).unwrap();
    let lm = fit
        .landmarks()
        .expect("landmarks on: n = 400 > n_landmark = 100");
    assert!(lm.len() <= 100 && lm.len() > 50);
    assert!(fit.potential_distances().is_none());
    let dm_classic = demap(case.x.view(), fit.embedding.view(), 10);
    let sgd = fit.refit(&case.params().mds(Mds::Metric)).unwrap();
    let dm_sgd = demap(case.x.view(), sgd.embedding.view(), 10);
    eprintln!(
        "landmarks: t {} (phate {}), DEMaP classic {dm_classic:.4} (phate {:.4}), sgd {dm_sgd:.4} (phate {:.4})",
        fit.t,
        case.meta["t"],
        case.f("demap_classic"),
        case.f("demap_sgd")
    );
    assert!(
        dm_sgd >= case.f("demap_sgd") - 0.01,
        "landmark SGD DEMaP {dm_sgd} vs phate {}",
        case.f("demap_sgd")
    );
}

/// Out-of-sample `transform` against phate's `transform(Y)` (graphtools
/// `extend_to_data` + `interpolate`): the fitted and the placed points, aligned
/// together by one Procrustes map, match phate's.
#[test]
fn transform_matches_phate() {
    let case = Case::load("dla_transform");
    let n = case.n();
    let y = matrix(case.file("y"), 100);
    let fit = Phate::params()
        .t(T::Fixed(12))
        .mds(Mds::Classic)
        .seed(42)
        .fit(case.x.view())
        .unwrap();
    let placed = fit.transform(y.view()).unwrap();
    let emb_ref = matrix(case.file("emb"), 2);
    let new_ref = matrix(case.file("emb_new"), 2);
    let ours = ndarray::concatenate![ndarray::Axis(0), fit.embedding, placed];
    let theirs = ndarray::concatenate![ndarray::Axis(0), emb_ref, new_ref];
    assert_eq!(ours.nrows(), n + 30);
    let (_, disparity) = procrustes(theirs.view(), ours.view());
    eprintln!("transform: joint Procrustes disparity {disparity:.2e}");
    assert!(disparity <= 1e-8, "transform disparity {disparity}");
}

/// Non-metric MDS: scikit-learn's non-metric SMACOF (as phate's
/// `mds='nonmetric'` calls it) from the same start on the same potential
/// distances gives the same layout; the whole pipeline's DEMaP is within 0.01
/// of phate's (`make_reference_nonmetric.py`).
#[test]
fn nonmetric_mds_matches_sklearn() {
    let case = Case::load("dla_euclidean_auto");
    let n = case.n();
    let pd = matrix(case.file("pot_dist"), n);
    let y0 = matrix(case.file("emb_sgd"), 2);
    let ours = basin_phate::smacof_nonmetric(pd.view(), &y0, 3000, 1e-6);
    let theirs = matrix(case.file("nonmetric_from_sgd"), 2);
    let diff = max_abs_diff(ours.view(), theirs.view());
    let scale = theirs.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(
        diff <= 1e-6 * scale,
        "non-metric SMACOF max |diff| {diff:e} (scale {scale})"
    );

    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(dir().join("dla_euclidean_auto/nonmetric.json")).unwrap(),
    )
    .unwrap();
    let fit = case
        .params()
        .mds(Mds::NonMetric)
        .fit(case.x.view())
        .unwrap();
    assert_eq!(fit.t, meta["t"].as_u64().unwrap() as usize);
    let dm = demap(case.x.view(), fit.embedding.view(), 10);
    let dm_ref = meta["demap_nonmetric"].as_f64().unwrap();
    eprintln!("non-metric: SMACOF max |diff| {diff:.1e}, DEMaP {dm:.4} (phate {dm_ref:.4})");
    assert!(
        (dm - dm_ref).abs() <= 0.01,
        "non-metric DEMaP {dm} vs phate {dm_ref}"
    );
}
