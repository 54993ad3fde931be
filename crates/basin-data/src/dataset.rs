//! The in-memory data set every stage trains and evaluates on.

use ndarray::{Array2, ArrayView2, Axis};

use crate::error::{DataError, DataResult};

/// Shape of one image: `channels × height × width`. A plain feature table has
/// `channels = 1, height = 1, width = n_features`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageShape {
    /// Colour channels (1 for grey images).
    pub channels: usize,
    /// Rows of pixels.
    pub height: usize,
    /// Columns of pixels.
    pub width: usize,
}

impl ImageShape {
    /// Number of values in one flattened image.
    #[must_use]
    pub fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// `true` when the shape holds no value.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A flat feature vector of `n` values.
    #[must_use]
    pub fn flat(n: usize) -> Self {
        Self { channels: 1, height: 1, width: n }
    }
}

/// A labelled data set: one row of `features` per sample, flattened in
/// channel-major (`C × H × W`, PyTorch's) order, and one class label per row.
///
/// # Example
/// ```
/// use basin_data::{Dataset, ImageShape};
/// use ndarray::array;
/// let ds = Dataset::new("toy", array![[0.0f32, 1.0], [1.0, 0.0]], vec![0, 1], ImageShape::flat(2), 2).unwrap();
/// assert_eq!(ds.len(), 2);
/// assert_eq!(ds.class_counts(), vec![1, 1]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Name of the data set (`digits`, `mnist5k`, a file name, ...).
    pub name: String,
    /// `n × shape.len()` matrix of inputs.
    pub features: Array2<f32>,
    /// Class label of each row, in `0..n_classes`.
    pub labels: Vec<u32>,
    /// Shape of one input.
    pub shape: ImageShape,
    /// Number of classes.
    pub n_classes: usize,
}

impl Dataset {
    /// Builds a data set, checking that rows, labels and shape agree.
    ///
    /// # Errors
    /// [`DataError::Invalid`] when the row count differs from the label count,
    /// the column count from `shape.len()`, or a label is `>= n_classes`.
    pub fn new(
        name: impl Into<String>,
        features: Array2<f32>,
        labels: Vec<u32>,
        shape: ImageShape,
        n_classes: usize,
    ) -> DataResult<Self> {
        let name = name.into();
        if features.nrows() != labels.len() {
            return Err(DataError::Invalid(format!(
                "{name}: {} rows of features but {} labels",
                features.nrows(),
                labels.len()
            )));
        }
        if features.ncols() != shape.len() {
            return Err(DataError::Invalid(format!(
                "{name}: {} columns but the image shape {}x{}x{} needs {}",
                features.ncols(),
                shape.channels,
                shape.height,
                shape.width,
                shape.len()
            )));
        }
        if let Some((row, &bad)) = labels.iter().enumerate().find(|(_, &l)| l as usize >= n_classes) {
            return Err(DataError::Invalid(format!(
                "{name}: row {row} has label {bad}, outside 0..{n_classes}"
            )));
        }
        Ok(Self { name, features, labels, shape, n_classes })
    }

    /// Number of samples.
    #[must_use]
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// `true` when there is no sample.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// How many samples each class has.
    #[must_use]
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.n_classes];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// The samples at `rows`, in that order, as a new data set.
    ///
    /// # Errors
    /// [`DataError::Invalid`] when a row index is out of range.
    pub fn select(&self, rows: &[usize]) -> DataResult<Self> {
        if let Some(&bad) = rows.iter().find(|&&r| r >= self.len()) {
            return Err(DataError::Invalid(format!(
                "{}: row {bad} out of range (data set has {} rows)",
                self.name,
                self.len()
            )));
        }
        Ok(Self {
            name: self.name.clone(),
            features: self.features.select(Axis(0), rows),
            labels: rows.iter().map(|&r| self.labels[r]).collect(),
            shape: self.shape,
            n_classes: self.n_classes,
        })
    }

    /// Read-only view of the feature matrix.
    #[must_use]
    pub fn view(&self) -> ArrayView2<'_, f32> {
        self.features.view()
    }
}
