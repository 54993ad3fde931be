//! Reading and writing basin tables as Parquet.

use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use polars::io::parquet::write::KeyValueMetadata;
use polars::prelude::*;

use crate::atomic::write_atomically;
use crate::error::{StoreError, StoreResult};
use crate::provenance::Provenance;
use crate::schema::{ColumnType, SchemaSpec};

/// The polars type a schema column is stored as.
#[must_use]
pub fn polars_type(t: ColumnType) -> DataType {
    match t {
        ColumnType::Text => DataType::String,
        ColumnType::Int64 => DataType::Int64,
        ColumnType::Float64 => DataType::Float64,
        ColumnType::Float32 => DataType::Float32,
        ColumnType::Bool => DataType::Boolean,
        ColumnType::ListFloat32 => DataType::List(Box::new(DataType::Float32)),
    }
}

/// Checks that `df` has every column of `schema` with the right type.
///
/// # Errors
/// [`StoreError::Column`] naming the first missing or mistyped column.
pub fn validate(df: &DataFrame, schema: &SchemaSpec, path: &Path) -> StoreResult<()> {
    for spec in schema.columns {
        let column_err = |reason: String| StoreError::Column {
            path: path.to_path_buf(),
            schema: schema.name,
            column: spec.name.to_owned(),
            reason,
        };
        let column = df.column(spec.name).map_err(|_| {
            let present: Vec<String> = df.get_column_names().iter().map(ToString::to_string).collect();
            column_err(format!("missing (columns present: {})", present.join(", ")))
        })?;
        let expected = polars_type(spec.dtype);
        if column.dtype() != &expected {
            return Err(column_err(format!("has type {}, expected {}", column.dtype(), spec.dtype)));
        }
    }
    Ok(())
}

/// Validates `df` against `schema` and writes it atomically to `path` with
/// `provenance` in the footer (zstd-compressed, readable by pandas, pyarrow,
/// polars and DuckDB as is).
///
/// # Errors
/// [`StoreError::Column`] when `df` does not fit the schema, or an I/O or
/// Polars error naming `path`.
///
/// # Example
/// ```
/// use basin_store::{write_table, read_table, schema::SPLITS, Provenance};
/// use polars::prelude::*;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("split.parquet");
/// let mut df = df!("sample" => [0i64, 1], "subset" => ["train", "test"], "label" => [3i64, 4]).unwrap();
/// write_table(&path, &mut df, &SPLITS, &Provenance::new(&SPLITS, "doc")).unwrap();
/// let (back, prov) = read_table(&path, &SPLITS).unwrap();
/// assert_eq!(back.height(), 2);
/// assert_eq!(prov.command, "doc");
/// ```
pub fn write_table(path: &Path, df: &mut DataFrame, schema: &SchemaSpec, provenance: &Provenance) -> StoreResult<()> {
    validate(df, schema, path)?;
    let kv = KeyValueMetadata::from_static(provenance.to_key_values());
    write_atomically(path, |w| {
        ParquetWriter::new(w)
            .with_key_value_metadata(Some(kv))
            .finish(df)
            .map(|_| ())
            .map_err(|source| StoreError::Polars { context: format!("writing {}", path.display()), source })
    })
}

/// Reads only the basin provenance of a Parquet file.
///
/// # Errors
/// [`StoreError::Corrupt`] for unreadable files, [`StoreError::Metadata`] for
/// files not written by basin.
pub fn read_provenance(path: &Path) -> StoreResult<Provenance> {
    let file = File::open(path).map_err(|source| StoreError::Io { path: path.to_path_buf(), source })?;
    let kv = guarded(path, move || {
        let mut reader = ParquetReader::new(file);
        let meta = reader.get_metadata()?;
        Ok(meta
            .key_value_metadata()
            .as_ref()
            .map(|kvs| kvs.iter().map(|kv| (kv.key.clone(), kv.value.clone())).collect::<Vec<_>>())
            .unwrap_or_default())
    })?;
    Provenance::from_key_values(path, &kv)
}

/// Reads a basin table, checking its schema name, version and columns.
///
/// # Errors
/// [`StoreError::Corrupt`] for truncated or non-Parquet files,
/// [`StoreError::Metadata`] when the file is of another schema or of a newer
/// major version, [`StoreError::Column`] naming a missing or mistyped column.
pub fn read_table(path: &Path, schema: &SchemaSpec) -> StoreResult<(DataFrame, Provenance)> {
    let provenance = read_provenance(path)?;
    check_schema(path, schema, &provenance)?;
    let file = File::open(path).map_err(|source| StoreError::Io { path: path.to_path_buf(), source })?;
    let df = guarded(path, move || ParquetReader::new(file).finish())?;
    validate(&df, schema, path)?;
    Ok((df, provenance))
}

/// Reads only `columns` of a basin table, checking its schema name and
/// version and the types of the schema columns among `columns`. Use it to skip
/// the heavy `weights` lists of trajectories when only losses are needed.
///
/// # Errors
/// As [`read_table`]; a requested column missing from the file is a
/// [`StoreError::Column`] naming it.
pub fn read_table_columns(path: &Path, schema: &SchemaSpec, columns: &[&str]) -> StoreResult<(DataFrame, Provenance)> {
    let provenance = read_provenance(path)?;
    check_schema(path, schema, &provenance)?;
    let file = File::open(path).map_err(|source| StoreError::Io { path: path.to_path_buf(), source })?;
    let names: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
    let df = guarded(path, move || ParquetReader::new(file).with_columns(Some(names)).finish())?;
    for spec in schema.columns.iter().filter(|c| columns.contains(&c.name)) {
        let column = df.column(spec.name).map_err(|_| StoreError::Column {
            path: path.to_path_buf(),
            schema: schema.name,
            column: spec.name.to_owned(),
            reason: "missing".to_owned(),
        })?;
        if column.dtype() != &polars_type(spec.dtype) {
            return Err(StoreError::Column {
                path: path.to_path_buf(),
                schema: schema.name,
                column: spec.name.to_owned(),
                reason: format!("has type {}, expected {}", column.dtype(), spec.dtype),
            });
        }
    }
    Ok((df, provenance))
}

/// Reads any Parquet file (basin's or not) as a frame, without schema checks.
///
/// # Errors
/// [`StoreError::Io`] or [`StoreError::Corrupt`] naming the file.
pub fn read_any_parquet(path: &Path) -> StoreResult<DataFrame> {
    let file = File::open(path).map_err(|source| StoreError::Io { path: path.to_path_buf(), source })?;
    guarded(path, move || ParquetReader::new(file).finish())
}

/// Refuses files of another schema or of a newer major version.
fn check_schema(path: &Path, schema: &SchemaSpec, provenance: &Provenance) -> StoreResult<()> {
    let bad = |reason: String| StoreError::Metadata { path: path.to_path_buf(), reason };
    if provenance.schema != schema.name {
        return Err(bad(format!("is a `{}` table, expected `{}`", provenance.schema, schema.name)));
    }
    let major: u32 = provenance
        .schema_version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| bad(format!("unreadable schema version {:?}", provenance.schema_version)))?;
    if major > schema.major {
        return Err(bad(format!(
            "schema `{}` version {} is newer than this basin ({}) reads (major {}): upgrade basin",
            schema.name,
            provenance.schema_version,
            env!("CARGO_PKG_VERSION"),
            schema.major
        )));
    }
    Ok(())
}

/// Runs a Polars decode, turning its errors and panics (Polars can panic on
/// some corrupt inputs) into [`StoreError::Corrupt`].
fn guarded<T>(path: &Path, f: impl FnOnce() -> PolarsResult<T>) -> StoreResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(StoreError::Corrupt { path: path.to_path_buf(), reason: e.to_string() }),
        Err(panic) => {
            let reason = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "decoder panicked".to_owned());
            Err(StoreError::Corrupt { path: path.to_path_buf(), reason })
        }
    }
}
