//! Topology of the loss landscape (Xie et al.; Geniesse et al.'s
//! topological landscape profiles): merge trees of loss sublevel sets on
//! graphs over evaluated points — the grid's axis neighbours, or a k-nearest
//! neighbour graph of sampled points.
//!
//! * [`graph`] — neighbour graphs: grids and (mutual) kNN.
//! * [`merge_tree`] — union–find over vertices in increasing loss: minima,
//!   saddles, persistence pairs (elder rule), the tree and its profile.
//!
//! Non-finite losses are left out of the graph (flagged in the result's
//! `n_nonfinite`), never imputed.

pub mod graph;
pub mod merge_tree;
