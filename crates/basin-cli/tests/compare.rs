//! `basin compare analyse` and `basin report` on store tables written here:
//! 12 nets whose `topology` feature is their test loss and whose `noise`
//! feature is not.

mod common;

use std::path::Path;

use common::basin;

use basin_store::polars::prelude::{Column, DataFrame};
use basin_store::schema::{COMPARISONS, CORRELATIONS, FEATURES, RUNS, STRATIFIED_CORRELATIONS};
use basin_store::{columns, read_table, write_table, Provenance};

fn write_inputs(dir: &Path) {
    let n = 12;
    let ids: Vec<String> = (0..n).map(|i| format!("net{i:02}")).collect();
    let test_loss: Vec<f64> = (0..n).map(|i| 0.1 + 0.1 * i as f64).collect();
    let wd: Vec<f64> = (0..n).map(|i| if i % 2 == 0 { 0.0 } else { 0.001 }).collect();
    let mut runs = DataFrame::new(
        n,
        vec![
            Column::new("run_id".into(), ids.clone()),
            Column::new("dataset".into(), vec!["digits"; n]),
            Column::new("architecture".into(), vec!["{}"; n]),
            Column::new("seed".into(), vec![0i64; n]),
            Column::new("epochs".into(), vec![1i64; n]),
            Column::new("weight_decay".into(), wd),
            Column::new("train_loss".into(), vec![0.01; n]),
            Column::new("train_acc".into(), vec![1.0; n]),
            Column::new("val_loss".into(), test_loss.clone()),
            Column::new("val_acc".into(), vec![0.9; n]),
            Column::new("test_loss".into(), test_loss.clone()),
            Column::new("test_acc".into(), test_loss.iter().map(|l| 1.0 - l / 2.0).collect::<Vec<_>>()),
            Column::new("gen_gap".into(), test_loss.iter().map(|l| l - 0.01).collect::<Vec<_>>()),
            Column::new("checkpoint".into(), vec!["x"; n]),
        ],
    )
    .unwrap();
    write_table(&dir.join("runs.parquet"), &mut runs, &RUNS, &Provenance::new(&RUNS, "test")).unwrap();

    let mut rows: Vec<(String, &str, &str, f64)> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        rows.push((id.clone(), "topology", "sublevel_total_persistence_d0", 3.0 * test_loss[i]));
        rows.push((id.clone(), "jr", "train_loss@0", test_loss[i] * test_loss[i]));
        rows.push((id.clone(), "jr", "train_loss@1", (i * 7 % 5) as f64));
        rows.push((id.clone(), "naive", "train_loss@0", (i * 5 % 3) as f64));
    }
    let mut feats = DataFrame::new(
        rows.len(),
        vec![
            Column::new("run_id".into(), rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>()),
            Column::new("feature_set".into(), rows.iter().map(|r| r.1).collect::<Vec<_>>()),
            Column::new("feature".into(), rows.iter().map(|r| r.2).collect::<Vec<_>>()),
            Column::new("value".into(), rows.iter().map(|r| r.3).collect::<Vec<_>>()),
        ],
    )
    .unwrap();
    write_table(&dir.join("features.parquet"), &mut feats, &FEATURES, &Provenance::new(&FEATURES, "test")).unwrap();
    std::fs::write(
        dir.join("params.toml"),
        "[compare]\nfolds = 3\nrepeats = 2\nbootstrap = 500\nlearners = [\"logistic\", \"knn1\", \"majority\"]\nstrata = [\"weight_decay\", \"label_noise\"]\ntitle = \"cli test\"\n",
    )
    .unwrap();
}

#[test]
fn analyse_then_report() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_inputs(d);
    let analyse = ["compare", "analyse", "--params", "params.toml", "--runs", "runs.parquet", "--features", "features.parquet", "--out-classifiers", "c.parquet", "--out-correlations", "k.parquet", "--out-stratified", "s.parquet"];
    let (ok, err) = basin(d, &analyse);
    assert!(ok, "{err}");
    let (c, prov) = read_table(&d.join("c.parquet"), &COMPARISONS).unwrap();
    assert_eq!(prov.params["folds"], 3);
    let sets = columns::strings(&c, "feature_set", &d.join("c.parquet")).unwrap();
    assert!(sets.iter().any(|s| s == "scrambled"), "the scrambled baseline is always run");
    // Targets test_loss_q5 and weight_decay × sets jr, naive, topology, scrambled × 3 learners.
    assert_eq!(c.height(), 2 * 4 * 3);
    let (k, _) = read_table(&d.join("k.parquet"), &CORRELATIONS).unwrap();
    let path = d.join("k.parquet");
    let (features, targets, methods, est) =
        (columns::strings(&k, "feature", &path).unwrap(), columns::strings(&k, "target", &path).unwrap(), columns::strings(&k, "method", &path).unwrap(), columns::f64s(&k, "estimate", &path).unwrap());
    let rho = (0..k.height())
        .find(|&i| features[i] == "sublevel_total_persistence_d0" && targets[i] == "test_loss" && methods[i] == "spearman")
        .map(|i| est[i])
        .unwrap();
    assert!((rho - 1.0).abs() < 1e-12);
    // Within strata of weight decay (label_noise is not a column here, so it is skipped):
    // persistence is 3 × test loss, so ρ = 1 in each stratum of 6 nets and pooled.
    let path = d.join("s.parquet");
    let (st, _) = read_table(&path, &STRATIFIED_CORRELATIONS).unwrap();
    let col = |name: &str| columns::strings(&st, name, &path).unwrap();
    let (f, t, m, strata, stratum) = (col("feature"), col("target"), col("method"), col("strata"), col("stratum"));
    let (est, n) = (columns::f64s(&st, "estimate", &path).unwrap(), columns::i64s(&st, "n", &path).unwrap());
    let rows: Vec<usize> = (0..st.height())
        .filter(|&i| f[i] == "sublevel_total_persistence_d0" && t[i] == "test_loss" && m[i] == "spearman")
        .collect();
    let found: Vec<(&str, i64)> = rows.iter().map(|&i| (stratum[i].as_str(), n[i])).collect();
    assert_eq!(found, [("pooled within strata", 12), ("weight_decay=0", 6), ("weight_decay=0.001", 6)]);
    assert!(rows.iter().all(|&i| strata[i] == "weight_decay" && (est[i] - 1.0).abs() < 1e-9));
    // Same inputs, same bytes.
    let first = std::fs::read(d.join("c.parquet")).unwrap();
    let first_strata = std::fs::read(d.join("s.parquet")).unwrap();
    assert!(basin(d, &analyse).0);
    assert_eq!(first, std::fs::read(d.join("c.parquet")).unwrap());
    assert_eq!(first_strata, std::fs::read(d.join("s.parquet")).unwrap());

    let (ok, err) = basin(
        d,
        &["report", "--params", "params.toml", "--out-dir", "report", "--runs", "runs.parquet", "--features", "features.parquet", "--classifiers", "c.parquet", "--correlations", "k.parquet", "--stratified", "s.parquet"],
    );
    assert!(ok, "{err}");
    let md = std::fs::read_to_string(d.join("report/report.md")).unwrap();
    assert!(md.starts_with("# cli test"));
    assert!(md.contains("Spearman(sublevel_total_persistence_d0, test loss) = 1.00"));
    assert!(md.contains("### Within strata of weight_decay"), "the stratified table reaches the report");
    assert!(md.contains("| topology | sublevel_total_persistence_d0 | weight_decay=0 | 1.000 |"), "{md}");
    assert!(d.join("report/report.html").exists());
    assert!(d.join("report/figures/accuracy-logistic.svg").exists());
    assert!(d.join("report/figures/scatter-sublevel_total_persistence_d0.png").exists());
}

#[test]
fn bad_settings_and_inputs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_inputs(d);
    std::fs::write(d.join("bad.toml"), "[compare]\nlearners = [\"lasso\"]\n").unwrap();
    let (ok, err) = basin(d, &["compare", "analyse", "--params", "bad.toml", "--runs", "runs.parquet", "--features", "features.parquet", "--out-classifiers", "c.parquet", "--out-correlations", "k.parquet"]);
    assert!(!ok);
    assert!(err.contains("unknown learner `lasso`"), "{err}");
    let (ok, err) = basin(d, &["compare", "analyse", "--runs", "features.parquet", "--features", "features.parquet", "--out-classifiers", "c.parquet", "--out-correlations", "k.parquet"]);
    assert!(!ok);
    assert!(err.contains("features.parquet") && err.contains("is a `features` table, expected `runs`"), "{err}");
    assert!(!d.join("c.parquet").exists(), "nothing is written on error");
}
