//! # basin-landscape
//!
//! Views of the loss landscape around a trained net, from the same
//! checkpoints and into the same Parquet store as the other basin stages:
//!
//! * [`naive_probes`] / [`grid_probes`] — the *naive* and *grid* baselines
//!   of Horoi et al. 2022 §4 (losses around θₒ without retraining), written
//!   with [`probes_frame`] in the `probes` schema.
//! * [`surface`] — training loss on grids along [`random_directions`]
//!   (filter-normalised), the [`difference`] of two minima (1D
//!   interpolation) or the [`path_pca`] directions of an optimizer path,
//!   written with [`surfaces_frame`] / [`paths_frame`], drawn with
//!   [`write_figure`] (PNG + SVG) and exported for ParaView with
//!   [`write_vtk_surface`], [`write_vtk_path`] and [`write_ply_surface`].
//! * [`hessian`] — Hessian-vector products, Lanczos top eigenvalues with
//!   residuals, Hutchinson trace with confidence intervals, SLQ spectral
//!   density and Keskar sharpness, whole net and per layer.
//! * [`topology`] — merge trees of loss sublevel sets on grids and kNN
//!   graphs: minima, saddles, persistence, landscape profiles.
//! * [`evaluate_points`] — loss and accuracy at many weight vectors, in
//!   parallel over points (one cloned net per worker).
//!
//! Everything random draws from [`basin_data::rng::stream`], so the same seed
//! gives the same bytes.

mod directions;
mod errors;
mod evaluate;
mod export;
pub mod hessian;
mod pca;
mod plot;
mod png;
mod probe;
mod surface;
mod tables;
pub mod topology;

pub use errors::{LandscapeError, LandscapeResult};
pub use directions::{difference, random_directions, BiasBn};
pub use evaluate::{evaluate_at, evaluate_points, evaluate_train_points, EvalSets, PointMetrics};
pub use export::{write_ply_surface, write_vtk_path, write_vtk_surface};
pub use pca::{path_pca, PathPca};
pub use plot::{write_curves, write_figure, Figure};
pub use surface::{check_surface_budget, estimate_surface_bytes, linspace, surface, Surface, DEFAULT_MEMORY_BUDGET};
pub use probe::{axis_values, distances_from, grid_lattice, grid_probes, naive_probes, ProbePoint, MAX_GRID_POINTS};
pub use tables::{
    features_frame, hessian_features_frame, hessian_frame, merge_tree_diagram_frame, merge_tree_features_frame, merge_tree_frame, paths_frame, probes_frame,
    surfaces_frame, PathPoint,
};

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
