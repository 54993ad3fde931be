//! CIFAR-10 binary batches (`data_batch_1.bin` … `test_batch.bin`).
//!
//! Each record is one label byte followed by 3,072 pixel bytes: the red,
//! green and blue 32×32 planes in turn, which is already the `C × H × W`
//! order basin flattens images in.

use std::path::Path;

use ndarray::Array2;

use crate::dataset::{Dataset, ImageShape};
use crate::error::{DataError, DataResult};

const SIDE: usize = 32;
const RECORD: usize = 1 + 3 * SIDE * SIDE;

/// Reads one or more CIFAR-10 binary batch files into one data set, pixels
/// scaled to `[0, 1]`.
///
/// # Errors
/// [`DataError::Format`] when a file's size is not a whole number of
/// records or a label is not in `0..10`, naming the file and record.
pub fn load_cifar10(batches: &[&Path], name: &str) -> DataResult<Dataset> {
    let mut values = Vec::new();
    let mut labels = Vec::new();
    for &path in batches {
        let bytes = std::fs::read(path).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
        if bytes.is_empty() || bytes.len() % RECORD != 0 {
            return Err(DataError::Format {
                path: path.to_path_buf(),
                reason: format!("{} bytes is not a whole number of {RECORD}-byte CIFAR-10 records", bytes.len()),
            });
        }
        for (i, rec) in bytes.chunks_exact(RECORD).enumerate() {
            if rec[0] > 9 {
                return Err(DataError::Format {
                    path: path.to_path_buf(),
                    reason: format!("record {i}: label {} outside 0..10", rec[0]),
                });
            }
            labels.push(u32::from(rec[0]));
            values.extend(rec[1..].iter().map(|&p| f32::from(p) / 255.0));
        }
    }
    let n = labels.len();
    let features = Array2::from_shape_vec((n, RECORD - 1), values)
        .map_err(|e| DataError::Invalid(format!("{name}: {e}")))?;
    Dataset::new(name, features, labels, ImageShape { channels: 3, height: SIDE, width: SIDE }, 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_records_in_channel_major_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = Vec::new();
        for label in [3u8, 9] {
            bytes.push(label);
            bytes.extend(std::iter::repeat_n(10u8, 1024)); // red plane
            bytes.extend(std::iter::repeat_n(20u8, 1024)); // green
            bytes.extend(std::iter::repeat_n(30u8, 1024)); // blue
        }
        let p = dir.path().join("data_batch_1.bin");
        std::fs::write(&p, &bytes).unwrap();
        let ds = load_cifar10(&[&p], "cifar").unwrap();
        assert_eq!(ds.labels, vec![3, 9]);
        assert_eq!(ds.shape, ImageShape { channels: 3, height: 32, width: 32 });
        assert!((ds.features[[1, 1024]] - 20.0 / 255.0).abs() < 1e-7);
        assert!((ds.features[[0, 3071]] - 30.0 / 255.0).abs() < 1e-7);
    }

    #[test]
    fn partial_record_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.bin");
        std::fs::write(&p, vec![0u8; RECORD + 5]).unwrap();
        let err = load_cifar10(&[&p], "c").unwrap_err().to_string();
        assert!(err.contains("whole number"), "{err}");
    }
}
