//! Round trips, schema checks and corrupt-file handling of the store.

use std::path::Path;

use basin_store::columns::{f32_list_column, f32_lists, f64s, strings};
use basin_store::schema::{self, SPLITS, TRAJECTORIES};
use basin_store::{read_provenance, read_table, write_table, Provenance, StoreError};
use polars::prelude::*;

fn trajectory_frame() -> DataFrame {
    let weights = vec![vec![0.5f32, -1.0, 2.0], vec![0.25, 0.0, f32::NAN]];
    DataFrame::new_infer_height(vec![
        Column::new("run_id".into(), ["a", "a"]),
        Column::new("jump_seed".into(), [0i64, 0]),
        Column::new("step_size".into(), [0.5f64, 0.5]),
        Column::new("epoch".into(), [0i64, 1]),
        Column::new("train_loss".into(), [0.1f64, f64::NAN]),
        Column::new("train_acc".into(), [0.9f64, 0.1]),
        Column::new("val_loss".into(), [0.2f64, 0.3]),
        Column::new("val_acc".into(), [0.8f64, 0.7]),
        Column::new("test_loss".into(), [0.2f64, 0.3]),
        Column::new("test_acc".into(), [0.8f64, 0.7]),
        Column::new("diverged".into(), [false, true]),
        f32_list_column("weights", &weights),
    ])
    .unwrap()
}

#[test]
fn trajectories_round_trip_with_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    let prov = Provenance::new(&TRAJECTORIES, "jump")
        .with_params(serde_json::json!({"lr": 0.001}))
        .with_seeds(serde_json::json!({"root": 7}))
        .with_extra("parameter_layout", "[]");
    write_table(&path, &mut trajectory_frame(), &TRAJECTORIES, &prov).unwrap();
    let (df, back) = read_table(&path, &TRAJECTORIES).unwrap();
    assert_eq!(back, prov);
    let w = f32_lists(&df, "weights", &path).unwrap();
    assert_eq!(w[0], vec![0.5, -1.0, 2.0]);
    assert!(w[1][2].is_nan());
    let losses = f64s(&df, "train_loss", &path).unwrap();
    assert!(losses[1].is_nan(), "NaN losses are kept, not dropped");
    assert_eq!(strings(&df, "run_id", &path).unwrap(), vec!["a", "a"]);
}

#[test]
fn same_frame_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let prov = Provenance::new(&TRAJECTORIES, "jump");
    let (a, b) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
    write_table(&a, &mut trajectory_frame(), &TRAJECTORIES, &prov).unwrap();
    write_table(&b, &mut trajectory_frame(), &TRAJECTORIES, &prov).unwrap();
    assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
}

#[test]
fn missing_column_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    let mut df = trajectory_frame().drop("diverged").unwrap();
    let err = write_table(&path, &mut df, &TRAJECTORIES, &Provenance::new(&TRAJECTORIES, "x")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("`diverged`") && msg.contains("missing"), "{msg}");
    assert!(!path.exists());
}

#[test]
fn mistyped_column_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    let mut df = df!("sample" => [0i64], "subset" => ["train"], "label" => [1.5f64]).unwrap();
    let err = write_table(&path, &mut df, &SPLITS, &Provenance::new(&SPLITS, "x")).unwrap_err().to_string();
    assert!(err.contains("`label`") && err.contains("expected int64"), "{err}");
}

fn write_splits(path: &Path, prov: &Provenance) {
    let mut df = df!("sample" => [0i64, 1], "subset" => ["train", "val"], "label" => [1i64, 2]).unwrap();
    write_table(path, &mut df, &SPLITS, prov).unwrap();
}

#[test]
fn wrong_schema_and_newer_major_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    write_splits(&path, &Provenance::new(&SPLITS, "x"));
    let err = read_table(&path, &schema::RUNS).unwrap_err().to_string();
    assert!(err.contains("is a `splits` table, expected `runs`"), "{err}");

    let mut newer = Provenance::new(&SPLITS, "x");
    newer.schema_version = "2.0".into();
    write_splits(&path, &newer);
    let err = read_table(&path, &SPLITS).unwrap_err().to_string();
    assert!(err.contains("version 2.0 is newer"), "{err}");

    let mut minor = Provenance::new(&SPLITS, "x");
    minor.schema_version = "1.7".into();
    write_splits(&path, &minor);
    assert!(read_table(&path, &SPLITS).is_ok(), "a newer minor version stays readable");
}

#[test]
fn truncated_and_foreign_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    write_splits(&path, &Provenance::new(&SPLITS, "x"));
    let bytes = std::fs::read(&path).unwrap();
    for cut in [bytes.len() / 2, bytes.len() - 3, 10, 0] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let err = read_table(&path, &SPLITS).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "cut at {cut}: {err}");
        assert!(err.to_string().contains("s.parquet"));
    }
    std::fs::write(&path, b"sample,subset\n0,train\n").unwrap();
    assert!(matches!(read_provenance(&path).unwrap_err(), StoreError::Corrupt { .. }));
}

#[test]
fn foreign_parquet_is_not_mistaken_for_basin_output() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.parquet");
    let mut df = df!("x" => [1.0f64]).unwrap();
    let mut f = std::fs::File::create(&path).unwrap();
    ParquetWriter::new(&mut f).finish(&mut df).unwrap();
    let err = read_table(&path, &SPLITS).unwrap_err().to_string();
    assert!(err.contains("not written by basin"), "{err}");
}

#[test]
fn schema_docs_are_current() {
    // SCHEMAS.md is generated from the schema definitions; this keeps the
    // crate docs and README from drifting. Regenerate with BASIN_BLESS=1.
    let generated: String = schema::ALL.iter().map(|s| s.to_markdown() + "\n").collect();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("SCHEMAS.md");
    if std::env::var_os("BASIN_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), generated, "run with BASIN_BLESS=1 to regenerate");
}
