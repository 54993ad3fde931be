//! MNIST / Fashion-MNIST IDX files (LeCun's format), gzipped or not.
//!
//! An IDX file is a big-endian header — two zero bytes, a type code
//! (`0x08` = unsigned byte), the number of dimensions — then one `u32` size
//! per dimension, then the values in row-major order.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use ndarray::Array2;

use crate::dataset::{Dataset, ImageShape};
use crate::error::{DataError, DataResult};

/// Reads a pair of IDX files (images `N × H × W`, labels `N`) into a data
/// set, pixels scaled to `[0, 1]`. Gzip is detected from the magic bytes.
///
/// # Errors
/// [`DataError::Format`] naming the file and what is wrong (bad magic,
/// unsupported type, truncated data, counts that disagree).
pub fn load_idx(images: &Path, labels: &Path, name: &str) -> DataResult<Dataset> {
    let (dims, pixels) = read_idx(images)?;
    if dims.len() != 3 {
        return Err(format_err(images, format!("expected 3 dimensions (N×H×W), found {}", dims.len())));
    }
    let (ldims, label_bytes) = read_idx(labels)?;
    if ldims.len() != 1 {
        return Err(format_err(labels, format!("expected 1 dimension (N), found {}", ldims.len())));
    }
    if ldims[0] != dims[0] {
        return Err(format_err(labels, format!("{} labels for {} images in {}", ldims[0], dims[0], images.display())));
    }
    let (n, h, w) = (dims[0], dims[1], dims[2]);
    let features = Array2::from_shape_vec((n, h * w), pixels.iter().map(|&p| f32::from(p) / 255.0).collect())
        .map_err(|e| format_err(images, e.to_string()))?;
    let labels_u32: Vec<u32> = label_bytes.iter().map(|&l| u32::from(l)).collect();
    if let Some((row, &bad)) = labels_u32.iter().enumerate().find(|(_, &l)| l > 9) {
        return Err(format_err(labels, format!("label {bad} at row {row} is not a digit class 0..9")));
    }
    Dataset::new(name, features, labels_u32, ImageShape { channels: 1, height: h, width: w }, 10)
}

/// Reads one IDX file of unsigned bytes: its dimensions and its values.
///
/// # Errors
/// [`DataError::Io`] or [`DataError::Format`] naming the file.
pub fn read_idx(path: &Path) -> DataResult<(Vec<usize>, Vec<u8>)> {
    let raw = std::fs::read(path).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| format_err(path, format!("bad gzip stream: {e}")))?;
        out
    } else {
        raw
    };
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err(format_err(path, "not an IDX file (magic must start with two zero bytes)".into()));
    }
    if bytes[2] != 0x08 {
        return Err(format_err(path, format!("unsupported IDX type code 0x{:02x} (only 0x08, unsigned byte)", bytes[2])));
    }
    let n_dims = usize::from(bytes[3]);
    let header = 4 + 4 * n_dims;
    if bytes.len() < header {
        return Err(format_err(path, "truncated header".into()));
    }
    let dims: Vec<usize> = (0..n_dims)
        .map(|i| {
            let o = 4 + 4 * i;
            u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) as usize
        })
        .collect();
    let expected = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let expected = expected.ok_or_else(|| format_err(path, "dimensions overflow".into()))?;
    if bytes.len() - header != expected {
        return Err(format_err(
            path,
            format!("header promises {expected} values ({dims:?}) but the file holds {}", bytes.len() - header),
        ));
    }
    Ok((dims, bytes[header..].to_vec()))
}

fn format_err(path: &Path, reason: String) -> DataError {
    DataError::Format { path: PathBuf::from(path), reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn idx_bytes(dims: &[u32], values: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, 0x08, u8::try_from(dims.len()).unwrap()];
        for d in dims {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b.extend_from_slice(values);
        b
    }

    #[test]
    fn reads_plain_and_gzipped_idx() {
        let dir = tempfile::tempdir().unwrap();
        let pixels: Vec<u8> = (0..2 * 3 * 4).map(|i| u8::try_from(i * 10).unwrap()).collect();
        let img = idx_bytes(&[2, 3, 4], &pixels);
        let lab = idx_bytes(&[2], &[7, 1]);
        std::fs::write(dir.path().join("img"), &img).unwrap();
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&lab).unwrap();
        std::fs::write(dir.path().join("lab.gz"), gz.finish().unwrap()).unwrap();
        let ds = load_idx(&dir.path().join("img"), &dir.path().join("lab.gz"), "t").unwrap();
        assert_eq!(ds.features.dim(), (2, 12));
        assert_eq!(ds.labels, vec![7, 1]);
        assert_eq!(ds.shape, ImageShape { channels: 1, height: 3, width: 4 });
        assert!((ds.features[[1, 0]] - 120.0 / 255.0).abs() < 1e-7);
    }

    #[test]
    fn truncated_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let img = idx_bytes(&[2, 3, 4], &[0; 20]);
        std::fs::write(dir.path().join("img"), &img).unwrap();
        let err = read_idx(&dir.path().join("img")).unwrap_err().to_string();
        assert!(err.contains("promises 24 values") && err.contains("holds 20"), "{err}");
    }

    #[test]
    fn mismatched_counts_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("img"), idx_bytes(&[2, 1, 1], &[0, 0])).unwrap();
        std::fs::write(dir.path().join("lab"), idx_bytes(&[3], &[0, 0, 0])).unwrap();
        let err = load_idx(&dir.path().join("img"), &dir.path().join("lab"), "t").unwrap_err().to_string();
        assert!(err.contains("3 labels for 2 images"), "{err}");
    }
}
