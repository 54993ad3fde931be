//! The analysis and the report on synthetic nets whose answer is known: one
//! feature set separates the labels perfectly, another is noise.

use std::collections::BTreeMap;

use basin_compare::analysis::{analyse, quantile_bins, stratified_correlations, AnalysisConfig};
use basin_compare::inputs::{CurvePoint, EmbeddedPoint, FeatureRow, Pair, Run};
use basin_compare::report::{good_and_poor, write_report, ReportConfig, ReportInputs};
use basin_compare::{CvConfig, Learner};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// 20 nets; half with weight decay. Test loss grows with the net's index and
/// with weight decay off, so `signal` (= the test loss plus tiny noise)
/// predicts the quantile and `noise` does not.
fn nets() -> (Vec<Run>, Vec<FeatureRow>) {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut runs = Vec::new();
    let mut features = Vec::new();
    for i in 0..20 {
        let wd = if i % 2 == 0 { "0" } else { "0.001" };
        let test_loss = 0.1 + 0.05 * i as f64 + if wd == "0" { 0.02 } else { 0.0 };
        let run_id = format!("net{i:02}");
        runs.push(Run {
            run_id: run_id.clone(),
            train_loss: 0.01,
            train_acc: 1.0,
            test_loss,
            test_acc: 1.0 - test_loss / 2.0,
            gen_gap: test_loss - 0.01,
            hyper: BTreeMap::from([("weight_decay".to_owned(), wd.to_owned())]),
        });
        let row = |set: &str, feature: &str, value: f64| FeatureRow { run_id: run_id.clone(), feature_set: set.into(), feature: feature.into(), value };
        for k in 0..4 {
            features.push(row("jr", &format!("f{k}"), test_loss * (k + 1) as f64 + rng.random_range(-1e-3..1e-3)));
            features.push(row("naive", &format!("f{k}"), rng.random_range(0.0..1.0)));
        }
        features.push(row("topology", "sublevel_total_persistence_d0", 2.0 * test_loss + rng.random_range(-1e-3..1e-3)));
        features.push(row("landscape", "top_eigenvalue", 5.0 * test_loss));
    }
    (runs, features)
}

fn config() -> AnalysisConfig {
    AnalysisConfig {
        cv: CvConfig { folds: 4, repeats: 6, seed: 1, standardize: true },
        learners: vec![Learner::Logistic, Learner::Knn { k: 1 }, Learner::Majority],
        ..AnalysisConfig::default()
    }
}

#[test]
fn informative_features_beat_noise_and_scrambled_labels() {
    let (runs, features) = nets();
    let analysis = analyse(&runs, &features, &config()).unwrap();
    let acc = |set: &str, learner: &str| {
        analysis.classifiers.iter().find(|c| c.target == "test_loss_q5" && c.feature_set == set && c.method == learner).map(|c| c.mean).unwrap()
    };
    // 1-NN on a monotone function of the test loss recovers its quintile
    // except at bin edges; noise and scrambled labels sit near 1/5.
    assert!(acc("jr", "knn1") >= 0.6, "jr {}", acc("jr", "knn1"));
    // (For 20 nets, 4 folds: 99 % of scikit-learn's 1-NN runs on uniform noise stay ≤ 0.45.)
    assert!(acc("naive", "knn1") <= 0.45, "naive {}", acc("naive", "knn1"));
    assert!(acc("scrambled", "knn1") <= 0.45, "scrambled {}", acc("scrambled", "knn1"));
    // The correlation of the persistence feature with test loss is exactly monotone.
    let rho = analysis
        .correlations
        .iter()
        .find(|c| c.feature == "sublevel_total_persistence_d0" && c.target == "test_loss" && c.method == "spearman")
        .unwrap();
    assert!((rho.estimate - 1.0).abs() < 1e-12, "{}", rho.estimate);
    assert!(rho.ci_low > 0.9);
    // Wide J&R vectors are only correlated through summaries, never column by column
    // when they exceed the cap; here 4 columns are under it.
    assert!(analysis.correlations.iter().any(|c| c.feature_set == "jr"));
    // Labels: quintiles of 20 nets hold 4 each.
    let q = &analysis.labels["test_loss_q5"];
    for bin in ["Q1", "Q2", "Q3", "Q4", "Q5"] {
        assert_eq!(q.iter().filter(|l| *l == bin).count(), 4);
    }
    // The same seed gives the same numbers.
    assert_eq!(analysis, analyse(&runs, &features, &config()).unwrap());
}

#[test]
fn quintiles_are_by_rank() {
    assert_eq!(quantile_bins(&[3.0, 1.0, 2.0, 5.0, 4.0], 5), vec![2, 0, 1, 4, 3]);
}

#[test]
fn report_states_the_numbers_and_embeds_everything() {
    let (runs, features) = nets();
    let analysis = analyse(&runs, &features, &config()).unwrap();
    let mut inputs = ReportInputs { title: "synthetic study".into(), runs: runs.clone(), features, ..ReportInputs::default() };
    inputs.classifiers = analysis.classifiers.clone();
    inputs.correlations = analysis.correlations.clone();
    for (i, run) in runs.iter().enumerate() {
        let mut curve = Vec::new();
        let mut emb = Vec::new();
        for seed in 0..2 {
            for epoch in 0..4 {
                let loss = run.test_loss * (4 - epoch) as f64;
                curve.push(CurvePoint { jump_seed: seed, step_size: 0.5, epoch, train_loss: loss, train_acc: 0.9, test_loss: loss + 0.1, test_acc: 0.8, diverged: false });
                emb.push(EmbeddedPoint { jump_seed: seed, step_size: 0.5, epoch, x: epoch as f64 + i as f64, y: seed as f64 });
            }
        }
        inputs.curves.insert(run.run_id.clone(), curve);
        inputs.embeddings.insert(run.run_id.clone(), emb);
        inputs.sublevel.insert(run.run_id.clone(), vec![Pair { dim: 0, birth: 0.1, death: 0.5 }, Pair { dim: 0, birth: 0.0, death: f64::INFINITY }]);
    }
    let dir = tempfile::tempdir().unwrap();
    let files = write_report(&inputs, dir.path(), &ReportConfig { side_by_side: 2, ..ReportConfig::default() }).unwrap();

    let md = std::fs::read_to_string(&files.markdown).unwrap();
    let html = std::fs::read_to_string(&files.html).unwrap();
    let (good, poor) = good_and_poor(&runs, 2);
    assert_eq!(good.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(), ["net00", "net01"]);
    assert_eq!(poor.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(), ["net18", "net19"]);
    // The headline accuracy of J&R is the mean over the non-majority learners.
    let jr: Vec<f64> =
        analysis.classifiers.iter().filter(|c| c.target == "test_loss_q5" && c.feature_set == "jr" && c.method != "majority").map(|c| c.mean).collect();
    let headline = format!("jr {:.1}", 100.0 * jr.iter().sum::<f64>() / jr.len() as f64);
    assert!(md.contains(&headline), "markdown lacks `{headline}`");
    assert!(md.contains("39.2 / naive 31.8 / grid 30.1 / scrambled 20.7"), "the paper's figures are quoted");
    assert!(md.contains("Spearman(sublevel_total_persistence_d0, test loss) = 1.00"));
    assert!(md.contains("as the paper found"));
    assert!(md.contains("Hessian top_eigenvalue at the minimum: Spearman with test loss 1.00"), "the sharpness finding is stated");
    assert!(md.contains("only 3 of the paper's four feature sets"), "no grid baseline here, and the report says so");
    // The default strata (label noise × augmentation) are not in these runs: no within-strata section.
    assert!(!md.contains("Within strata"), "no strata, no within-strata findings");
    // Stratified by weight decay: 10 nets per stratum, persistence monotone in test loss within each.
    // The report states the `stratified_correlations` rows `compare analyse` wrote.
    let strat_dir = tempfile::tempdir().unwrap();
    let mut stratified_inputs = inputs.clone();
    stratified_inputs.stratified =
        stratified_correlations(&inputs.runs, &inputs.features, &["weight_decay".to_owned()], &config()).unwrap();
    let cfg = ReportConfig { side_by_side: 2 };
    let strat = std::fs::read_to_string(write_report(&stratified_inputs, strat_dir.path(), &cfg).unwrap().markdown).unwrap();
    assert!(strat.contains("### Within strata of weight_decay"), "{strat}");
    assert!(strat.contains("| topology | sublevel_total_persistence_d0 | **pooled within strata** | **1.000** |"));
    assert!(strat.contains("| topology | sublevel_total_persistence_d0 | weight_decay=0 | 1.000 |"));
    assert!(strat.contains("| topology | sublevel_total_persistence_d0 | weight_decay=0.001 | 1.000 |"));
    assert!(strat.contains("Spearman(sublevel_total_persistence_d0, test loss) pooled 1.00"));
    assert!(strat.contains("Per stratum: weight_decay=0: 1.00 (n = 10); weight_decay=0.001: 1.00 (n = 10)"));
    // Figures: PNG and SVG of each; the HTML inlines them and carries the explorer's data.
    assert!(files.figures.iter().any(|f| f.ends_with("embedding-epoch.png")));
    assert!(files.figures.iter().any(|f| f.ends_with("diagrams-sublevel.svg")));
    for f in &files.figures {
        assert!(std::fs::metadata(f).unwrap().len() > 1000, "{} is nearly empty", f.display());
    }
    assert!(!html.contains("<?xml"), "SVG prologues are stripped before inlining");
    assert!(html.matches("<svg").count() >= 5);
    assert!(html.contains(r#"data-run="net19""#));
    assert!(html.contains(r#""default_run":"net00""#));
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "nothing is fetched");
    // Rewriting gives the same bytes.
    let again = tempfile::tempdir().unwrap();
    let files2 = write_report(&inputs, again.path(), &ReportConfig { side_by_side: 2, ..ReportConfig::default() }).unwrap();
    assert_eq!(std::fs::read(&files2.html).unwrap(), html.as_bytes());
}
