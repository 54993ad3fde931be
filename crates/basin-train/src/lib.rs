//! # basin-train
//!
//! Training small nets and jump-and-retrain with [candle](https://github.com/huggingface/candle):
//!
//! * [`Architecture`] — MLPs and small CNNs (strided convolutions or average
//!   pooling, optional residual blocks and BatchNorm), serialisable.
//! * [`Model`] — a built net: PyTorch-default initialisation from a seeded
//!   stream, parameters flattened in a fixed order (sorted by name, see
//!   [`model`]), forward pass in [`Mode::Train`] or [`Mode::Eval`].
//! * [`SgdMomentum`] — PyTorch's SGD (momentum, Nesterov, weight decay), a
//!   candle [`candle_nn::Optimizer`]; [`LrSchedule`].
//! * [`train`] — trains a base net, logging train/val/test loss and accuracy
//!   per epoch; [`evaluate`].
//! * [`save_checkpoint`] / [`load_checkpoint`] — safetensors with metadata;
//!   [`import_pytorch`] for PyTorch-saved nets.
//! * [`jump_and_retrain`] — filter-normalised jumps and retraining, logging
//!   full weights every epoch; [`jump_and_retrain_batched`] retrains K jumps
//!   of an MLP as one batched computation.
//!
//! Everything random draws from [`basin_data::rng::stream`] so the same seed
//! gives byte-identical results.
//!
//! Set `RAYON_NUM_THREADS` before using this crate from your own program
//! (the `basin` CLI sets it at start-up): without it candle 0.11 parses
//! `/proc/cpuinfo` on every CPU matmul to count cores, which made a
//! digits-MLP training run 6× slower (0.75 against 0.12 s for 60 epochs).

mod arch;
mod batched;
mod batched_cpu;
mod checkpoint;
mod cnn_cpu;
mod dense;
mod error;
mod eval;
mod fused;
mod jump;
pub mod model;
mod optim;
mod train;

pub use arch::{Architecture, Downsample, Layers};
pub use batched::jump_and_retrain_batched;
pub use checkpoint::{import_pytorch, load_checkpoint, save_checkpoint, Checkpoint};
pub use error::{TrainError, TrainResult};
pub use eval::{cross_entropy, evaluate, Metrics};
pub use jump::{filter_normalize, filter_normalized_direction, jump_and_retrain, recompute_bn_stats, JumpConfig};
pub use model::{Mode, Model, ParamInfo};
pub use optim::{LrSchedule, SgdConfig, SgdMomentum};
pub use train::{train, Splits, TrainConfig, TrainStep, TrainedNet, TrajectoryPoint};

#[cfg(test)]
mod tests {
    /// Public types can cross threads (the CLI runs shards on worker threads).
    #[test]
    fn autotraits() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<crate::Model>();
        send_sync::<crate::Checkpoint>();
        send_sync::<crate::TrainedNet>();
        send_sync::<crate::TrajectoryPoint>();
        send_sync::<crate::TrainError>();
        send_sync::<crate::JumpConfig>();
        send_sync::<crate::TrainConfig>();
        send_sync::<crate::Architecture>();
    }
}
