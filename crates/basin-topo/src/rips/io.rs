//! Text readers for the formats Ripser reads: numbers separated by commas
//! and/or whitespace, one matrix row or point per line.

use std::path::Path;

use ndarray::Array2;

use crate::{TopoError, TopoResult};

fn read_text(path: &Path) -> TopoResult<String> {
    std::fs::read_to_string(path)
        .map_err(|e| TopoError::InvalidInput(format!("cannot read {}: {e}", path.display())))
}

/// The numbers of each non-empty line (lines starting with `#` are comments).
fn parse_rows(text: &str, what: &str) -> TopoResult<Vec<Vec<f64>>> {
    let mut rows = Vec::new();
    for (line_no, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let row = line
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .enumerate()
            .map(|(col, t)| {
                t.parse::<f64>().map_err(|_| {
                    TopoError::InvalidInput(format!(
                        "{what}: line {}, field {}: `{t}` is not a number",
                        line_no + 1,
                        col + 1
                    ))
                })
            })
            .collect::<TopoResult<Vec<f64>>>()?;
        if !row.is_empty() {
            rows.push(row);
        }
    }
    Ok(rows)
}

fn to_matrix(rows: Vec<Vec<f64>>, what: &str) -> TopoResult<Array2<f64>> {
    let Some(first) = rows.first() else {
        return Err(TopoError::InvalidInput(format!("{what}: no numbers found")));
    };
    let cols = first.len();
    if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != cols) {
        return Err(TopoError::InvalidInput(format!(
            "{what}: ragged rows: row {} has {} values, row 1 has {cols}",
            i + 1,
            r.len()
        )));
    }
    let n = rows.len();
    Array2::from_shape_vec((n, cols), rows.into_iter().flatten().collect())
        .map_err(|e| TopoError::InvalidInput(format!("{what}: {e}")))
}

/// Parses a lower-triangular distance matrix (Ripser's
/// `lower-distance` format: the entries below the diagonal, row by row; the
/// first row, empty, may be omitted). Returns `(n, values)`.
///
/// # Errors
/// [`TopoError::InvalidInput`] for a non-number or a count of values that is
/// not `n (n - 1) / 2` for any `n`.
pub fn parse_lower_distance_matrix(text: &str) -> TopoResult<(usize, Vec<f64>)> {
    let values: Vec<f64> = parse_rows(text, "lower distance matrix")?
        .into_iter()
        .flatten()
        .collect();
    let len = values.len();
    // n (n - 1) / 2 = len  ⇒  n = (1 + sqrt(1 + 8 len)) / 2.
    let n = ((1.0 + (1.0 + 8.0 * len as f64).sqrt()) / 2.0).round() as usize;
    if n * (n - 1) / 2 != len {
        return Err(TopoError::InvalidInput(format!(
            "lower distance matrix: {len} values is not a triangular number n (n - 1) / 2"
        )));
    }
    Ok((n, values))
}

/// Reads a lower-triangular distance matrix file; see [`parse_lower_distance_matrix`].
///
/// # Errors
/// As [`parse_lower_distance_matrix`], or when the file cannot be read.
pub fn read_lower_distance_matrix(path: impl AsRef<Path>) -> TopoResult<(usize, Vec<f64>)> {
    parse_lower_distance_matrix(&read_text(path.as_ref())?)
}

/// Parses a full distance matrix, one row per line.
///
/// # Errors
/// [`TopoError::InvalidInput`] for a non-number, ragged rows or a non-square matrix.
pub fn parse_distance_matrix(text: &str) -> TopoResult<Array2<f64>> {
    let m = to_matrix(parse_rows(text, "distance matrix")?, "distance matrix")?;
    if m.nrows() != m.ncols() {
        return Err(TopoError::InvalidInput(format!(
            "distance matrix is {} × {}; it must be square",
            m.nrows(),
            m.ncols()
        )));
    }
    Ok(m)
}

/// Reads a full distance matrix file; see [`parse_distance_matrix`].
///
/// # Errors
/// As [`parse_distance_matrix`], or when the file cannot be read.
pub fn read_distance_matrix(path: impl AsRef<Path>) -> TopoResult<Array2<f64>> {
    parse_distance_matrix(&read_text(path.as_ref())?)
}

/// Parses a point cloud, one point per line.
///
/// # Errors
/// [`TopoError::InvalidInput`] for a non-number or ragged rows.
pub fn parse_point_cloud(text: &str) -> TopoResult<Array2<f64>> {
    to_matrix(parse_rows(text, "point cloud")?, "point cloud")
}

/// Reads a point cloud file; see [`parse_point_cloud`].
///
/// # Errors
/// As [`parse_point_cloud`], or when the file cannot be read.
pub fn read_point_cloud(path: impl AsRef<Path>) -> TopoResult<Array2<f64>> {
    parse_point_cloud(&read_text(path.as_ref())?)
}

/// Parses sparse distances, one edge `i j distance` per line.
///
/// # Errors
/// [`TopoError::InvalidInput`] for a line without exactly three numbers or a
/// vertex id that is not a non-negative integer.
pub fn parse_sparse_triplets(text: &str) -> TopoResult<Vec<(usize, usize, f64)>> {
    parse_rows(text, "sparse distances")?
        .into_iter()
        .enumerate()
        .map(|(row, r)| {
            let vertex = |x: f64| {
                (x >= 0.0 && x.fract() == 0.0 && x < usize::MAX as f64)
                    .then_some(x as usize)
                    .ok_or_else(|| {
                        TopoError::InvalidInput(format!(
                            "sparse distances: edge {row}: vertex `{x}` is not an id"
                        ))
                    })
            };
            match r.as_slice() {
                &[i, j, d] => Ok((vertex(i)?, vertex(j)?, d)),
                _ => Err(TopoError::InvalidInput(format!(
                    "sparse distances: edge {row} has {} values, expected `i j distance`",
                    r.len()
                ))),
            }
        })
        .collect()
}

/// Reads a sparse distance file; see [`parse_sparse_triplets`].
///
/// # Errors
/// As [`parse_sparse_triplets`], or when the file cannot be read.
pub fn read_sparse_triplets(path: impl AsRef<Path>) -> TopoResult<Vec<(usize, usize, f64)>> {
    parse_sparse_triplets(&read_text(path.as_ref())?)
}
