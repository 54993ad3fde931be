//! The real image sets shipped in `data/images/` (see `data/SOURCES.md`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use ndarray::Array2;

use crate::dataset::{Dataset, ImageShape};
use crate::error::{DataError, DataResult};

/// A data set that ships with basin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shipped {
    /// UCI handwritten digits: 1797 images of 8×8, pixel values 0–16.
    Digits,
    /// 5,000 MNIST images of 28×28, pixel values 0–255.
    Mnist5k,
}

impl Shipped {
    /// Parses `digits` or `mnist5k`.
    ///
    /// # Errors
    /// [`DataError::InvalidParameter`] naming the known sets.
    pub fn from_name(name: &str) -> DataResult<Self> {
        match name {
            "digits" => Ok(Self::Digits),
            "mnist5k" | "mnist_5k" => Ok(Self::Mnist5k),
            other => Err(DataError::InvalidParameter {
                name: "dataset",
                reason: format!("unknown shipped data set {other:?} (known: digits, mnist5k)"),
            }),
        }
    }

    /// The set's name as used in file names and metadata.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Digits => "digits",
            Self::Mnist5k => "mnist5k",
        }
    }

    fn file(self) -> &'static str {
        match self {
            Self::Digits => "digits.csv.gz",
            Self::Mnist5k => "mnist_5k.csv.gz",
        }
    }

    fn side(self) -> usize {
        match self {
            Self::Digits => 8,
            Self::Mnist5k => 28,
        }
    }

    fn max_pixel(self) -> f32 {
        match self {
            Self::Digits => 16.0,
            Self::Mnist5k => 255.0,
        }
    }
}

/// The default data folder: `data/` at the root of the basin checkout this
/// crate was built from, or `$BASIN_DATA_DIR` when set.
#[must_use]
pub fn default_data_dir() -> PathBuf {
    std::env::var_os("BASIN_DATA_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data"),
        PathBuf::from,
    )
}

/// Loads a shipped set from `data_dir/images/`, pixels scaled to `[0, 1]`.
///
/// # Errors
/// [`DataError::Io`] when the file is missing, [`DataError::Format`] naming
/// the line when a row is malformed.
///
/// # Example
/// ```
/// use basin_data::shipped::{load, default_data_dir, Shipped};
/// let digits = load(Shipped::Digits, &default_data_dir()).unwrap();
/// assert_eq!(digits.len(), 1797);
/// assert_eq!(digits.shape.height, 8);
/// ```
pub fn load(set: Shipped, data_dir: &Path) -> DataResult<Dataset> {
    let path = data_dir.join("images").join(set.file());
    let file = std::fs::File::open(&path).map_err(|source| DataError::Io { path: path.clone(), source })?;
    let side = set.side();
    let n_pixels = side * side;
    let mut values = Vec::new();
    let mut labels = Vec::new();
    let reader = BufReader::new(GzDecoder::new(file));
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|source| DataError::Io { path: path.clone(), source })?;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != n_pixels + 1 {
            return Err(DataError::Format {
                path,
                reason: format!("line {}: {} fields, expected {}", i + 1, fields.len(), n_pixels + 1),
            });
        }
        for f in &fields[..n_pixels] {
            let v: f32 = f.trim().parse().map_err(|_| DataError::Format {
                path: path.clone(),
                reason: format!("line {}: pixel {f:?} is not a number", i + 1),
            })?;
            values.push(v / set.max_pixel());
        }
        // Labels may be written as "3" or "3.0".
        let label: f64 = fields[n_pixels].trim().parse().map_err(|_| DataError::Format {
            path: path.clone(),
            reason: format!("line {}: label {:?} is not a number", i + 1, fields[n_pixels]),
        })?;
        labels.push(label as u32);
    }
    let n = labels.len();
    let features = Array2::from_shape_vec((n, n_pixels), values)
        .map_err(|e| DataError::Format { path: path.clone(), reason: e.to_string() })?;
    Dataset::new(set.name(), features, labels, ImageShape { channels: 1, height: side, width: side }, 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_has_the_published_counts() {
        let d = load(Shipped::Digits, &default_data_dir()).unwrap();
        assert_eq!(d.features.dim(), (1797, 64));
        // Class counts of sklearn.datasets.load_digits().
        assert_eq!(d.class_counts(), vec![178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
        let max = d.features.iter().copied().fold(f32::MIN, f32::max);
        let min = d.features.iter().copied().fold(f32::MAX, f32::min);
        assert!((max - 1.0).abs() < 1e-6 && min == 0.0);
        // First image of load_digits() is a zero; its first row is 0 0 5 13 9 1 0 0.
        assert_eq!(d.labels[0], 0);
        let first_row: Vec<f32> = d.features.row(0).iter().take(8).map(|v| v * 16.0).collect();
        assert_eq!(first_row, vec![0., 0., 5., 13., 9., 1., 0., 0.]);
    }

    #[test]
    fn mnist5k_loads_28x28() {
        let d = load(Shipped::Mnist5k, &default_data_dir()).unwrap();
        assert_eq!(d.features.dim(), (5000, 784));
        assert_eq!(d.class_counts().iter().sum::<usize>(), 5000);
        assert!(d.class_counts().iter().all(|&c| c > 400), "{:?}", d.class_counts());
        let max = d.features.iter().copied().fold(f32::MIN, f32::max);
        assert!((max - 1.0).abs() < 1e-6);
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = load(Shipped::Digits, Path::new("/nonexistent")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/images/digits.csv.gz"), "{err}");
    }
}
