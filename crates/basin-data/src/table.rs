//! Feature tables in CSV (with a header row) or Parquet: one row per sample,
//! numeric feature columns and an integer label column.

use std::path::Path;

use basin_store::columns;
use ndarray::Array2;

use crate::dataset::{Dataset, ImageShape};
use crate::error::{DataError, DataResult};

/// Loads a feature table. Every column except `label_column` is a feature
/// unless `features` names the ones to use. The format follows the file
/// extension (`.csv`, `.csv.gz` is not supported; `.parquet`).
///
/// # Errors
/// [`DataError::Format`] naming the file, row and column of a non-numeric
/// value, a missing column, or a negative label.
pub fn load_table(path: &Path, label_column: &str, features: Option<&[String]>) -> DataResult<Dataset> {
    let name = path.file_stem().map_or_else(|| "table".to_owned(), |s| s.to_string_lossy().into_owned());
    let (header, rows) = match path.extension().and_then(|e| e.to_str()) {
        Some("parquet") => read_parquet(path)?,
        Some("csv") => read_csv(path)?,
        other => {
            return Err(DataError::Format {
                path: path.to_path_buf(),
                reason: format!("unknown table extension {other:?} (expected .csv or .parquet)"),
            })
        }
    };
    let fmt = |reason: String| DataError::Format { path: path.to_path_buf(), reason };
    let label_idx = header
        .iter()
        .position(|h| h == label_column)
        .ok_or_else(|| fmt(format!("no label column `{label_column}` (columns: {})", header.join(", "))))?;
    let feature_idx: Vec<usize> = match features {
        Some(names) => names
            .iter()
            .map(|n| header.iter().position(|h| h == n).ok_or_else(|| fmt(format!("no feature column `{n}`"))))
            .collect::<DataResult<_>>()?,
        None => (0..header.len()).filter(|&i| i != label_idx).collect(),
    };
    let mut values = Vec::with_capacity(rows.len() * feature_idx.len());
    let mut labels = Vec::with_capacity(rows.len());
    for (r, row) in rows.iter().enumerate() {
        for &j in &feature_idx {
            values.push(row[j] as f32);
        }
        let l = row[label_idx];
        if l < 0.0 || l.fract() != 0.0 || !l.is_finite() {
            return Err(fmt(format!("row {r}: label {l} in `{label_column}` is not a class index")));
        }
        labels.push(l as u32);
    }
    let n_classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
    let d = feature_idx.len();
    let features = Array2::from_shape_vec((labels.len(), d), values).map_err(|e| fmt(e.to_string()))?;
    Dataset::new(name, features, labels, ImageShape::flat(d), n_classes)
}

type Rows = (Vec<String>, Vec<Vec<f64>>);

fn read_csv(path: &Path) -> DataResult<Rows> {
    let fmt = |reason: String| DataError::Format { path: path.to_path_buf(), reason };
    let mut reader = csv::Reader::from_path(path).map_err(|e| fmt(e.to_string()))?;
    let header: Vec<String> = reader.headers().map_err(|e| fmt(e.to_string()))?.iter().map(str::to_owned).collect();
    let mut rows = Vec::new();
    for (r, record) in reader.records().enumerate() {
        let record = record.map_err(|e| fmt(format!("row {r}: {e}")))?;
        let row = record
            .iter()
            .enumerate()
            .map(|(j, v)| {
                v.trim().parse::<f64>().map_err(|_| fmt(format!("row {r}, column `{}`: {v:?} is not a number", header[j])))
            })
            .collect::<DataResult<Vec<f64>>>()?;
        rows.push(row);
    }
    Ok((header, rows))
}

fn read_parquet(path: &Path) -> DataResult<Rows> {
    let df = basin_store::read_any_parquet(path)?;
    let header: Vec<String> = df.get_column_names().iter().map(ToString::to_string).collect();
    let cols: Vec<Vec<f64>> =
        header.iter().map(|h| columns::f64s(&df, h, path)).collect::<Result<_, _>>()?;
    let rows = (0..df.height()).map(|i| cols.iter().map(|c| c[i]).collect()).collect();
    Ok((header, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_table_with_label_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, "a,b,y\n1.5,2,0\n3,4,1\n").unwrap();
        let ds = load_table(&p, "y", None).unwrap();
        assert_eq!(ds.features.as_slice().unwrap(), &[1.5, 2.0, 3.0, 4.0]);
        assert_eq!(ds.labels, vec![0, 1]);
        assert_eq!(ds.n_classes, 2);
    }

    #[test]
    fn bad_cell_names_row_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, "a,y\n1,0\nx,1\n").unwrap();
        let err = load_table(&p, "y", None).unwrap_err().to_string();
        assert!(err.contains("row 1, column `a`") && err.contains("t.csv"), "{err}");
        std::fs::write(&p, "a,y\n1,0\n").unwrap();
        let err = load_table(&p, "label", None).unwrap_err().to_string();
        assert!(err.contains("no label column `label`") && err.contains("a, y"), "{err}");
    }
}
