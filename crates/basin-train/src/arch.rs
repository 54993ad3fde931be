//! Network architectures, as plain serialisable descriptions.

use basin_data::ImageShape;
use serde::{Deserialize, Serialize};

use crate::error::{invalid, TrainResult};

/// How a CNN halves the spatial size after each of its convolution stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Downsample {
    /// The stage's 3×3 convolution has stride 2 (padding 1).
    #[default]
    Strided,
    /// The stage's 3×3 convolution has stride 1 and is followed by a 2×2
    /// average pool. (Max pooling is not offered: candle 0.11's
    /// `max_pool2d` backward pass is wrong.)
    AvgPool,
}

/// The layers of a net, without its weights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Layers {
    /// Fully connected ReLU net: `in → hidden[0] → … → hidden[L-1] → classes`.
    ///
    /// Parameters `fc{i}.weight` (`out × in`, PyTorch layout) and `fc{i}.bias`,
    /// `i = 0..=L` (the last one is the classifier). With `batch_norm`, hidden
    /// layer `i` is followed by `bn{i}` (`BatchNorm1d`) before its ReLU.
    Mlp {
        /// Widths of the hidden layers (may be empty: logistic regression).
        hidden: Vec<usize>,
        /// BatchNorm after every hidden linear layer.
        #[serde(default)]
        batch_norm: bool,
    },
    /// Small CNN: one 3×3 convolution stage per entry of `channels`, each
    /// halving the spatial size ([`Downsample`]), then a linear classifier on
    /// the flattened feature map.
    ///
    /// Stage `i`: `conv{i}` (`c_out × c_in × 3 × 3`, padding 1), optional
    /// `bn{i}` (`BatchNorm2d`), ReLU. With `residual`, each stage is followed by
    /// a ResNet basic block `res{i}`: `relu(h + bn_b(conv_b(relu(bn_a(conv_a(h))))))`
    /// (3×3, stride 1, BatchNorms only with `batch_norm`). Classifier: `fc`.
    Cnn {
        /// Output channels of each stage.
        channels: Vec<usize>,
        /// How each stage halves the spatial size.
        #[serde(default)]
        downsample: Downsample,
        /// Add a residual basic block after every stage (ResNet-lite).
        #[serde(default)]
        residual: bool,
        /// BatchNorm after every convolution.
        #[serde(default)]
        batch_norm: bool,
    },
}

/// A complete architecture: layers plus the input shape and class count they
/// are built for.
///
/// # Example
/// ```
/// use basin_train::{Architecture, Layers};
/// use basin_data::ImageShape;
/// let arch = Architecture::mlp(ImageShape::flat(64), &[32], 10);
/// assert_eq!(arch.n_classes, 10);
/// let json = serde_json::to_string(&arch).unwrap();
/// assert_eq!(serde_json::from_str::<Architecture>(&json).unwrap(), arch);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Architecture {
    /// Shape of one input (a flat MLP input uses `ImageShape::flat(n)`; an
    /// MLP reads any image flattened).
    pub input: ImageShape,
    /// Number of classes (outputs).
    pub n_classes: usize,
    /// The layers.
    pub layers: Layers,
}

impl Architecture {
    /// A plain ReLU MLP without BatchNorm.
    #[must_use]
    pub fn mlp(input: ImageShape, hidden: &[usize], n_classes: usize) -> Self {
        Self { input, n_classes, layers: Layers::Mlp { hidden: hidden.to_vec(), batch_norm: false } }
    }

    /// A strided-convolution CNN without residual blocks or BatchNorm.
    #[must_use]
    pub fn cnn(input: ImageShape, channels: &[usize], n_classes: usize) -> Self {
        Self {
            input,
            n_classes,
            layers: Layers::Cnn {
                channels: channels.to_vec(),
                downsample: Downsample::Strided,
                residual: false,
                batch_norm: false,
            },
        }
    }

    /// Checks that every size is positive.
    ///
    /// # Errors
    /// [`crate::TrainError::InvalidParameter`] naming the bad field.
    pub fn validate(&self) -> TrainResult<()> {
        if self.input.is_empty() {
            return Err(invalid("input", "input shape has no values"));
        }
        if self.n_classes < 2 {
            return Err(invalid("n_classes", format!("{} (need at least 2)", self.n_classes)));
        }
        match &self.layers {
            Layers::Mlp { hidden, .. } => {
                if let Some(i) = hidden.iter().position(|&w| w == 0) {
                    return Err(invalid("hidden", format!("hidden layer {i} has width 0")));
                }
            }
            Layers::Cnn { channels, .. } => {
                if channels.is_empty() {
                    return Err(invalid("channels", "a CNN needs at least one stage"));
                }
                if let Some(i) = channels.iter().position(|&c| c == 0) {
                    return Err(invalid("channels", format!("stage {i} has 0 channels")));
                }
                let (h, w) = self.cnn_output_hw(channels.len());
                if h == 0 || w == 0 {
                    return Err(invalid(
                        "channels",
                        format!("{} stages shrink the {}x{} input to nothing", channels.len(), self.input.height, self.input.width),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Spatial size after `stages` halvings (`⌊(s − 1)/2⌋ + 1` for a strided
    /// 3×3 convolution with padding 1, `⌊s/2⌋` for a 2×2 average pool).
    pub(crate) fn cnn_output_hw(&self, stages: usize) -> (usize, usize) {
        let strided = matches!(self.layers, Layers::Cnn { downsample: Downsample::Strided, .. });
        let half = |s: usize| if strided { if s == 0 { 0 } else { (s - 1) / 2 + 1 } } else { s / 2 };
        let (mut h, mut w) = (self.input.height, self.input.width);
        for _ in 0..stages {
            h = half(h);
            w = half(w);
        }
        (h, w)
    }
}
