//! Sublevel-set persistence of a function on the vertices of a kNN graph.
//!
//! This is the topology of Horoi et al. 2022 ("Exploring the geometry and
//! topology of neural network loss landscapes", arXiv 2102.00485): the
//! trajectory points of one net are the vertices of a k-nearest-neighbour
//! graph built on their PHATE potential distances, the loss is a function on
//! those vertices, and the sublevel sets `{loss ≤ t}` form a filtration whose
//! persistence diagrams D0 and D1 summarise the landscape.
//!
//! # The filtration
//!
//! * **Graph.** Vertex `i` is joined to vertex `j` when `j` is among the `k`
//!   nearest neighbours of `i` *or* `i` is among the `k` nearest neighbours of
//!   `j` (the union, or "or", symmetrisation; each undirected edge is stored
//!   once). Nearness is by the distance matrix, the point itself excluded,
//!   ties broken by the smaller index.
//! * **Connectivity** ([`Connectivity`]). A kNN graph can fall apart: on
//!   the digits demo each net's graph (k = 20) splits into its 16 jump
//!   trajectories, because every point's 20 nearest neighbours lie on its
//!   own trajectory. By default ([`Connectivity::Bridged`]) the components
//!   are joined by the shortest edges between them, chosen as Kruskal's
//!   algorithm would (the minimum spanning tree of the components under the
//!   same potential distances: `c` components get `c − 1` edges, a connected
//!   graph is left as it is). [`Connectivity::Knn`] keeps the plain graph.
//!
//!   *Why bridged by default.* Horoi et al. build the graph so that the
//!   sublevel sets of the loss on it stand for the sublevel sets of the loss
//!   over the region of weight space the trajectories explore: D0 should
//!   say which low-loss basins are separated by how high a barrier, and D1
//!   which loops the landscape has around high-loss regions. On a graph in
//!   pieces, no path crosses between the pieces at any loss, so every
//!   trajectory's minimum is an essential class whatever the loss between
//!   the trajectories, and the D0 summary measures the number of jumps, not
//!   the landscape. A bridge is the shortest link PHATE's geometry offers
//!   between two pieces, entering at the larger loss of its endpoints: the
//!   merge of two basins then happens at a barrier height read off the data
//!   (an upper bound of the best barrier seen between them), one essential
//!   class remains, and D1 is unchanged (a tree of bridges closes no cycle).
//!   Mutual or adaptive kNN graphs were not chosen: they change the graph
//!   everywhere, not just where it is disconnected, and still do not
//!   guarantee one component.
//! * **Values.** A vertex enters at its function value, an edge at the larger
//!   of its endpoint values, a triangle (flag mode) at the largest of its
//!   three vertex values: the lower-star filtration of the function.
//! * **[`Complex::Graph`]** (default, as in the paper): the graph is a
//!   1-dimensional simplicial complex. D0 comes from union–find with the elder
//!   rule; every edge that closes a cycle gives a D1 class that never dies
//!   (a 1-complex has no 2-cells to fill cycles), so all of D1 is essential.
//! * **[`Complex::Flag`]**: the clique (flag) complex of the graph up to
//!   triangles. D0 is the same; D1 classes are born at cycle-closing edges and
//!   die when a triangle fills them (finite bars); those never filled stay
//!   essential. D1 is computed by column reduction of the triangle boundary
//!   matrix over Z/2, triangles enumerated in filtration order.
//!
//! Bars of zero persistence (a vertex merged at its own value, an edge filled
//! at its own value) carry no information and are dropped unless
//! [`SublevelParams::keep_zero_persistence`] is set — the same convention as
//! gudhi's `persistence()` default.
//!
//! # Total persistence and essential classes
//!
//! Total persistence is `Σ (death − birth)^p` (`p = 2` by default) per
//! dimension. An essential class (infinite death) is **truncated at the
//! maximum function value**: it counts as `(max f − birth)^p`. This is the
//! usual convention of extended persistence, and what the reference code does
//! (it assigns the largest edge value, equal to `max f` on a graph without
//! isolated vertices, to every unpaired class).
//!
//! # Differences from the reference code (KrishnaswamyLab/NN-LossLandscape-PHATE)
//!
//! 1. **Nearest, not farthest, neighbours.** `get_knn_connectivity_from_distance_matrix`
//!    takes `np.argsort(line)[-1:-(1+k):-1]`, the `k` *largest* potential
//!    distances of each row. basin takes the `k` smallest (excluding the point
//!    itself), which is what a kNN graph is.
//! 2. **No duplicate edges.** The reference passes the directed list `(i, j)`
//!    to `igraph.Graph`, so a mutual pair gives two parallel edges, and each
//!    parallel edge closes a spurious 1-cycle (an extra essential D1 bar).
//!    basin stores each undirected edge once.
//! 3. **Which loss.** The reference filters by `test_loss`; basin takes the
//!    function as an argument (the CLI defaults to the train loss), so the
//!    topology of the training objective is not confounded with
//!    generalisation.
//! 4. **Off-by-one.** The reference fits PHATE on `all_params_samples[1:]`
//!    (dropping the first checkpoint) but assigns the loss list that still
//!    starts with that checkpoint's loss, so vertex `i` gets the loss of
//!    checkpoint `i − 1` (and the list is one too long). basin requires
//!    exactly one value per row of the distance matrix and refuses otherwise.
//! 5. **Zero-persistence bars.** The reference keeps every `(f, f)` pair; basin
//!    drops them by default (they change no distance or total persistence,
//!    but inflate counts).
//! 6. **Connected graph.** The reference uses the kNN graph as it is; basin
//!    bridges its components by default (see "Connectivity" above;
//!    [`Connectivity::Knn`] gives the reference's behaviour).
//! 7. **Flag mode.** The reference only has the graph (1-complex) mode, whose
//!    D1 is all essential; basin also offers the clique complex up to
//!    triangles, where loops of the landscape that are filled get finite bars.
//!
//! # Example
//! ```
//! use basin_topo::sublevel::{Complex, SublevelParams};
//! use ndarray::array;
//!
//! // Four points on a line, the function has two minima (0 and 3).
//! let d = array![
//!     [0.0, 1.0, 2.0, 3.0],
//!     [1.0, 0.0, 1.0, 2.0],
//!     [2.0, 1.0, 0.0, 1.0],
//!     [3.0, 2.0, 1.0, 0.0],
//! ];
//! let loss = [0.0, 2.0, 1.0, 0.5];
//! let out = SublevelParams::new().k(1).compute(d.view(), &loss).unwrap();
//! // The younger minimum (0.5) dies when the barrier at 2.0 is crossed.
//! assert!(out.diagram.in_dim(0).any(|b| b.birth == 0.5 && b.death == 2.0));
//! assert_eq!(out.diagram.count(1), 0);
//! // D0: essential (0, max f = 2) truncated → 2² ; finite (0.5, 2) → 1.5².
//! assert!((out.total_persistence[0] - (4.0 + 2.25)).abs() < 1e-12);
//! # let _ = Complex::Flag;
//! ```

mod flag;
mod graph;
mod knn;
mod params;
mod union_find;

pub use knn::{connect_components, knn_graph, KnnGraph};
pub use params::{BarLocation, Complex, Connectivity, SublevelOutput, SublevelParams};
