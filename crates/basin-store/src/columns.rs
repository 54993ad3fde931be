//! Typed access to columns, with errors that name the file, column and row.

use std::path::Path;

use polars::prelude::*;

use crate::error::{StoreError, StoreResult};

fn column<'a>(df: &'a DataFrame, name: &str, path: &Path) -> StoreResult<&'a Column> {
    df.column(name).map_err(|_| StoreError::Column {
        path: path.to_path_buf(),
        schema: "(any)",
        column: name.to_owned(),
        reason: "missing".into(),
    })
}

fn null_at(path: &Path, name: &str, row: usize) -> StoreError {
    StoreError::Value { path: path.to_path_buf(), column: name.to_owned(), row, reason: "null value".into() }
}

fn cast_err(path: &Path, name: &str, e: &PolarsError) -> StoreError {
    StoreError::Column { path: path.to_path_buf(), schema: "(any)", column: name.to_owned(), reason: e.to_string() }
}

/// A numeric column as `f64` values (integers are converted).
///
/// # Errors
/// [`StoreError::Column`] when missing or not numeric, [`StoreError::Value`]
/// naming the first null row.
pub fn f64s(df: &DataFrame, name: &str, path: &Path) -> StoreResult<Vec<f64>> {
    let c = column(df, name, path)?;
    if !c.dtype().is_primitive_numeric() {
        return Err(StoreError::Column {
            path: path.to_path_buf(),
            schema: "(any)",
            column: name.to_owned(),
            reason: format!("has type {}, expected a number", c.dtype()),
        });
    }
    let c = c.cast(&DataType::Float64).map_err(|e| cast_err(path, name, &e))?;
    let ca = c.f64().map_err(|e| cast_err(path, name, &e))?;
    ca.iter().enumerate().map(|(i, v)| v.ok_or_else(|| null_at(path, name, i))).collect()
}

/// An integer column as `i64` values.
///
/// # Errors
/// As [`f64s`]; also when the column is not of an integer type.
pub fn i64s(df: &DataFrame, name: &str, path: &Path) -> StoreResult<Vec<i64>> {
    let c = column(df, name, path)?;
    if !c.dtype().is_integer() {
        return Err(StoreError::Column {
            path: path.to_path_buf(),
            schema: "(any)",
            column: name.to_owned(),
            reason: format!("has type {}, expected an integer", c.dtype()),
        });
    }
    let c = c.cast(&DataType::Int64).map_err(|e| cast_err(path, name, &e))?;
    let ca = c.i64().map_err(|e| cast_err(path, name, &e))?;
    ca.iter().enumerate().map(|(i, v)| v.ok_or_else(|| null_at(path, name, i))).collect()
}

/// A string column.
///
/// # Errors
/// As [`f64s`].
pub fn strings(df: &DataFrame, name: &str, path: &Path) -> StoreResult<Vec<String>> {
    let c = column(df, name, path)?;
    let ca = c.str().map_err(|e| cast_err(path, name, &e))?;
    ca.iter().enumerate().map(|(i, v)| v.map(str::to_owned).ok_or_else(|| null_at(path, name, i))).collect()
}

/// A boolean column.
///
/// # Errors
/// As [`f64s`].
pub fn bools(df: &DataFrame, name: &str, path: &Path) -> StoreResult<Vec<bool>> {
    let c = column(df, name, path)?;
    let ca = c.bool().map_err(|e| cast_err(path, name, &e))?;
    ca.iter().enumerate().map(|(i, v)| v.ok_or_else(|| null_at(path, name, i))).collect()
}

/// A `list<float32>` column as one `Vec<f32>` per row.
///
/// # Errors
/// As [`f64s`]; [`StoreError::Value`] names a null row or a null inside a list.
pub fn f32_lists(df: &DataFrame, name: &str, path: &Path) -> StoreResult<Vec<Vec<f32>>> {
    let c = column(df, name, path)?;
    let c = c.cast(&DataType::List(Box::new(DataType::Float32))).map_err(|e| cast_err(path, name, &e))?;
    let ca = c.list().map_err(|e| cast_err(path, name, &e))?;
    let mut out = Vec::with_capacity(ca.len());
    for (i, row) in ca.amortized_iter().enumerate() {
        let series = row.ok_or_else(|| null_at(path, name, i))?;
        let values = series.as_ref().f32().map_err(|e| cast_err(path, name, &e))?;
        let row_values: Option<Vec<f32>> = values.iter().collect();
        out.push(row_values.ok_or_else(|| StoreError::Value {
            path: path.to_path_buf(),
            column: name.to_owned(),
            row: i,
            reason: "null inside the list".into(),
        })?);
    }
    Ok(out)
}

/// Builds a `list<float32>` column from rows of values.
#[must_use]
pub fn f32_list_column(name: &str, rows: &[Vec<f32>]) -> Column {
    let total: usize = rows.iter().map(Vec::len).sum();
    let mut builder =
        ListPrimitiveChunkedBuilder::<Float32Type>::new(name.into(), rows.len(), total, DataType::Float32);
    for r in rows {
        builder.append_slice(r);
    }
    builder.finish().into_series().into_column()
}
