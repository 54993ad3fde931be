//! Topology of the loss landscape (Xie et al.; Geniesse et al.'s
//! topological landscape profiles): merge trees of loss sublevel sets on
//! graphs over evaluated points — the grid's axis neighbours, or a k-nearest
//! neighbour graph of sampled points.
//!
//! * [`graph`] — neighbour graphs: grids and (mutual) kNN.
//! * [`merge_tree`] — union–find over vertices in increasing loss: minima,
//!   saddles, persistence pairs (elder rule), basin sizes, the tree and its
//!   profile (basins as wide as their points, as Geniesse et al. draw them).
//! * [`smad`] — the Landscaper paper's saddle–minimum average distance,
//!   plain, normalised and weighted by steepest-descent basins.
//!
//! Non-finite losses are left out of the graph (flagged in the result's
//! `n_nonfinite`), never imputed.

pub mod graph;
pub mod merge_tree;
pub mod smad;
