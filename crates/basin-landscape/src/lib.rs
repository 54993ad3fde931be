//! # basin-landscape
//!
//! Views of the loss landscape around a trained net, from the same
//! checkpoints and into the same Parquet store as the other basin stages:
//!
//! * [`naive_probes`] / [`grid_probes`] — the *naive* and *grid* baselines
//!   of Horoi et al. 2022 §4 (losses around θₒ without retraining), written
//!   with [`probes_frame`] in the `probes` schema.
//! * [`evaluate_points`] — loss and accuracy at many weight vectors, in
//!   parallel over points (one cloned net per worker).
//!
//! Everything random draws from [`basin_data::rng::stream`], so the same seed
//! gives the same bytes.

mod errors;
mod evaluate;
mod probe;
mod tables;

pub use errors::{LandscapeError, LandscapeResult};
pub use evaluate::{evaluate_at, evaluate_points, EvalSets, PointMetrics};
pub use probe::{axis_values, distances_from, grid_lattice, grid_probes, naive_probes, ProbePoint, MAX_GRID_POINTS};
pub use tables::probes_frame;

#[cfg(test)]
mod tests {
    /// Public types can cross threads.
    #[test]
    fn autotraits() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<crate::LandscapeError>();
        send_sync::<crate::EvalSets>();
        send_sync::<crate::ProbePoint>();
    }
}
