//! # basin-topo
//!
//! Persistent homology for basin:
//!
//! * [`rips`] — Vietoris–Rips persistence of point clouds and distance
//!   matrices (cohomology with clearing, implicit coboundaries, apparent and
//!   emergent pairs, as in Ripser).
//! * [`sublevel`] — sublevel-set persistence of a function on the vertices of
//!   a graph (the loss on a kNN graph of PHATE potential distances, Horoi et
//!   al. 2022). Where basin departs from the paper's reference code (nearest
//!   instead of farthest neighbours, train instead of test loss, no
//!   off-by-one, …) is listed in that module's documentation.
//! * [`distance`] — bottleneck and Wasserstein distances between diagrams.
//! * [`summary`] — total persistence, persistence entropy, Betti curves,
//!   persistence landscapes and images as feature vectors.
//!
//! Every computation returns [`Diagram`]s: per-dimension multisets of
//! `(birth, death)` pairs, with `death = f64::INFINITY` for essential classes.

mod diagram;
mod error;

pub mod distance;
pub mod rips;
pub mod sublevel;
pub mod summary;

pub use diagram::{Diagram, PersistencePair};
pub use error::{TopoError, TopoResult};
