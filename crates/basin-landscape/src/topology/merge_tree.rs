//! Merge trees of sublevel sets by union–find.
//!
//! Vertices enter in increasing loss (ties by index). A vertex with no
//! entered neighbour starts a component: a minimum. A vertex joining two or
//! more components is a saddle: the component with the lowest minimum
//! survives (the elder rule) and every other dies there, giving one
//! persistence pair (birth = its minimum's loss, death = the saddle's loss)
//! per merge. The pairs are the H0 persistence diagram of the lower-star
//! filtration of the graph.
//!
//! Every node also records the vertices that joined its component while it
//! was the component's top node (its own value first), so each node knows
//! its basin's size: the number of points in its sublevel-set component
//! just before that component merges into its parent. The landscape profile
//! ([`MergeTree::profile`]) draws every basin that wide.

use crate::errors::{invalid, LandscapeResult};

/// What a node of the merge tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A local minimum: a leaf.
    Minimum,
    /// A vertex where components merge.
    Saddle,
}

/// One node of the merge tree.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeNode {
    /// The graph vertex.
    pub vertex: usize,
    /// Its loss.
    pub value: f64,
    /// Leaf or merge.
    pub kind: NodeKind,
    /// The node it merges into (`None` for the last node of a component).
    pub parent: Option<usize>,
    /// Points in the node's component just below its parent's level (for a
    /// root, in the whole component): its children's sizes plus the
    /// vertices that joined it before the merge, itself included.
    pub size: usize,
}

/// One H0 persistence pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    /// The minimum's vertex.
    pub birth_vertex: usize,
    /// The saddle's vertex (`None` for a component that never dies).
    pub death_vertex: Option<usize>,
    /// Loss at the minimum.
    pub birth: f64,
    /// Loss at the saddle; +∞ when the component never dies.
    pub death: f64,
}

impl Pair {
    /// death − birth (+∞ for an essential component).
    #[must_use]
    pub fn persistence(&self) -> f64 {
        self.death - self.birth
    }
}

/// The merge tree of a graph's sublevel sets and its summaries.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeTree {
    /// Nodes: minima and saddles, in the order they were met.
    pub nodes: Vec<TreeNode>,
    /// Persistence pairs, in order of death then birth; essential ones last.
    pub pairs: Vec<Pair>,
    /// Vertices left out because their loss is not finite.
    pub n_nonfinite: usize,
    /// Per node, the values of the vertices that joined its component while
    /// it was the component's top node, ascending (its own value first).
    levels: Vec<Vec<f64>>,
}

/// Most wall points a basin's profile draws per side (evenly spaced in
/// rank among the basin's own points, the lowest and highest always kept),
/// so profiles of large grids stay small.
const WALL_POINTS: usize = 16;

impl MergeTree {
    /// Number of minima (leaves).
    #[must_use]
    pub fn n_minima(&self) -> usize {
        self.nodes.iter().filter(|n| n.kind == NodeKind::Minimum).count()
    }

    /// Number of merge events (a vertex merging k components counts k − 1).
    #[must_use]
    pub fn n_saddles(&self) -> usize {
        self.pairs.iter().filter(|p| p.death.is_finite()).count()
    }

    /// Mean persistence of the finite pairs (0 when there are none).
    #[must_use]
    pub fn average_persistence(&self) -> f64 {
        let finite: Vec<f64> = self.pairs.iter().filter(|p| p.death.is_finite()).map(Pair::persistence).collect();
        if finite.is_empty() {
            0.0
        } else {
            #[allow(clippy::cast_precision_loss)]
            let n = finite.len() as f64;
            finite.iter().sum::<f64>() / n
        }
    }

    /// Largest finite persistence (0 when there is none).
    #[must_use]
    pub fn max_persistence(&self) -> f64 {
        self.pairs.iter().filter(|p| p.death.is_finite()).map(Pair::persistence).fold(0.0, f64::max)
    }

    /// The values of the vertices that joined node `i`'s component while it
    /// was the component's top node, ascending (node `i`'s own value first).
    #[must_use]
    pub fn levels(&self, i: usize) -> &[f64] {
        &self.levels[i]
    }

    /// Number of points the tree was built on (finite values).
    #[must_use]
    pub fn n_points(&self) -> usize {
        self.nodes.iter().filter(|n| n.parent.is_none()).map(|n| n.size).sum()
    }

    /// The topological landscape profile (Geniesse et al.): a 1D curve of
    /// the basins of the merge tree, each basin as wide as the points in it.
    ///
    /// At loss level y, a basin's valley is as wide as the number of its
    /// points with loss ≤ y (one unit of x per point): its walls rise from
    /// its floor, at its minimum (a leaf, one unit wide) or at the saddle
    /// where its sub-basins meet (side by side, largest first, as Geniesse
    /// et al.'s profiles order them), to its rim at its parent's level,
    /// where it is [`TreeNode::size`] wide. Walls are drawn through at most
    /// 16 of each basin's own points per side. Valleys are minima, their
    /// depths the persistences; components are laid side by side (lowest
    /// minimum first), so the profile spans x ∈ [0, n_points].
    ///
    /// Landscaper 1.x (Geniesse et al.'s code) counts a basin's width the
    /// same way (the points of its subtree's arcs plus its parent's level)
    /// and orders sub-basins the same way, but draws each basin as its own
    /// V, each wall as long as the count, centred in its parent (so nested
    /// V's overlap); here one polyline of total width = count is drawn
    /// instead, half the scale of Landscaper's x axis.
    #[must_use]
    pub fn profile(&self) -> Vec<(f64, f64)> {
        let (children, lowest) = self.children();
        let mut roots: Vec<usize> = (0..self.nodes.len()).filter(|&i| self.nodes[i].parent.is_none()).collect();
        roots.sort_by(|&a, &b| lowest[a].total_cmp(&lowest[b]));
        let mut out = Vec::new();
        let mut x = 0.0;
        for r in roots {
            let rim = self.levels[r].last().copied().unwrap_or(self.nodes[r].value);
            self.draw(r, &children, x, rim, &mut out);
            #[allow(clippy::cast_precision_loss)]
            let width = self.nodes[r].size as f64;
            x += width;
        }
        out.dedup();
        out
    }

    /// Children of every node, largest basin first (ties: lower minimum,
    /// then lower node index), and the lowest value in each node's subtree.
    fn children(&self) -> (Vec<Vec<usize>>, Vec<f64>) {
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(p) = n.parent {
                children[p].push(i);
            }
        }
        let mut lowest = vec![f64::NAN; self.nodes.len()];
        for i in 0..self.nodes.len() {
            Self::subtree_min(i, &self.nodes, &children, &mut lowest);
        }
        for c in &mut children {
            c.sort_by(|&a, &b| self.nodes[b].size.cmp(&self.nodes[a].size).then(lowest[a].total_cmp(&lowest[b])).then(a.cmp(&b)));
        }
        (children, lowest)
    }

    /// The lowest value in node `i`'s subtree, memoised in `lowest` (NaN =
    /// not yet computed; tree values are finite, and a NaN result would only
    /// be computed again), so every node is visited once.
    fn subtree_min(i: usize, nodes: &[TreeNode], children: &[Vec<usize>], lowest: &mut [f64]) -> f64 {
        if lowest[i].is_nan() {
            let mut m = nodes[i].value;
            for &c in &children[i] {
                m = m.min(Self::subtree_min(c, nodes, children, lowest));
            }
            lowest[i] = m;
        }
        lowest[i]
    }

    /// Draws node `i`'s basin on [left, left + size] with its rim at `rim`.
    #[allow(clippy::cast_precision_loss)]
    fn draw(&self, i: usize, children: &[Vec<usize>], left: f64, rim: f64, out: &mut Vec<(f64, f64)>) {
        let levels = &self.levels[i];
        let size = self.nodes[i].size as f64;
        let base: usize = children[i].iter().map(|&c| self.nodes[c].size).sum();
        let centre = left + size / 2.0;
        // Width at the k-th own point: the sub-basins plus k + 1 own points.
        let half = |k: usize| (base + k + 1) as f64 / 2.0;
        let ranks = wall_ranks(levels.len());
        out.push((left, rim));
        for &k in ranks.iter().rev() {
            out.push((centre - half(k), levels[k]));
        }
        let mut x = centre - base as f64 / 2.0;
        for &c in &children[i] {
            self.draw(c, children, x, levels[0], out);
            x += self.nodes[c].size as f64;
        }
        for &k in &ranks {
            out.push((centre + half(k), levels[k]));
        }
        out.push((left + size, rim));
    }
}

/// Ranks of a basin's own points its walls are drawn through: all of them
/// up to [`WALL_POINTS`], else that many evenly spaced, first and last kept.
fn wall_ranks(n: usize) -> Vec<usize> {
    if n <= WALL_POINTS {
        return (0..n).collect();
    }
    let mut r: Vec<usize> = (0..WALL_POINTS).map(|j| j * (n - 1) / (WALL_POINTS - 1)).collect();
    r.dedup();
    r
}

/// Builds the merge tree of the sublevel sets of `values` on the graph
/// `adjacency` (symmetric adjacency lists over the same vertices).
///
/// # Errors
/// [`crate::LandscapeError::InvalidParameter`] when the lengths differ or a
/// neighbour index is out of range.
///
/// # Example
/// ```
/// use basin_landscape::topology::{graph::grid_graph, merge_tree::merge_tree};
/// // Two valleys (0 and 1) separated by a pass of 3 on a path graph.
/// let t = merge_tree(&[0.0, 2.0, 3.0, 1.0, 4.0], &grid_graph(&[5])).unwrap();
/// assert_eq!((t.n_minima(), t.n_saddles()), (2, 1));
/// assert_eq!(t.average_persistence(), 2.0); // born at 1, dies at 3
/// ```
pub fn merge_tree(values: &[f64], adjacency: &[Vec<usize>]) -> LandscapeResult<MergeTree> {
    let n = values.len();
    if adjacency.len() != n {
        return Err(invalid("adjacency", format!("{} lists for {n} values", adjacency.len())));
    }
    if let Some((i, j)) = adjacency.iter().enumerate().find_map(|(i, a)| a.iter().find(|&&j| j >= n).map(|&j| (i, j))) {
        return Err(invalid("adjacency", format!("vertex {i} has neighbour {j}, beyond the {n} vertices")));
    }
    let mut order: Vec<usize> = (0..n).filter(|&i| values[i].is_finite()).collect();
    let n_nonfinite = n - order.len();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
    let mut uf = UnionFind::new(n);
    let mut entered = vec![false; n];
    // Per union-find root: its component's minimum vertex and current tree node.
    let mut birth_of = vec![usize::MAX; n];
    let mut node_of = vec![usize::MAX; n];
    let mut nodes: Vec<TreeNode> = Vec::new();
    let mut levels: Vec<Vec<f64>> = Vec::new();
    let mut pairs = Vec::new();
    for &v in &order {
        entered[v] = true;
        let mut roots: Vec<usize> = adjacency[v].iter().filter(|&&u| entered[u]).map(|&u| uf.find(u)).collect();
        roots.sort_unstable();
        roots.dedup();
        match roots.len() {
            0 => {
                nodes.push(TreeNode { vertex: v, value: values[v], kind: NodeKind::Minimum, parent: None, size: 1 });
                levels.push(vec![values[v]]);
                birth_of[v] = v;
                node_of[v] = nodes.len() - 1;
            }
            1 => {
                let r = roots[0];
                let (b, t) = (birth_of[r], node_of[r]);
                nodes[t].size += 1;
                levels[t].push(values[v]);
                let root = uf.union(r, v);
                birth_of[root] = b;
                node_of[root] = t;
            }
            _ => {
                // Elder rule: the component with the lowest minimum survives.
                roots.sort_by(|&a, &b| values[birth_of[a]].total_cmp(&values[birth_of[b]]).then(birth_of[a].cmp(&birth_of[b])));
                let size = 1 + roots.iter().map(|&r| nodes[node_of[r]].size).sum::<usize>();
                nodes.push(TreeNode { vertex: v, value: values[v], kind: NodeKind::Saddle, parent: None, size });
                levels.push(vec![values[v]]);
                let saddle = nodes.len() - 1;
                for &r in &roots {
                    nodes[node_of[r]].parent = Some(saddle);
                }
                for &r in &roots[1..] {
                    pairs.push(Pair { birth_vertex: birth_of[r], death_vertex: Some(v), birth: values[birth_of[r]], death: values[v] });
                }
                let elder = birth_of[roots[0]];
                let mut root = uf.union(roots[0], v);
                for &r in &roots[1..] {
                    root = uf.union(root, r);
                }
                birth_of[root] = elder;
                node_of[root] = saddle;
            }
        }
    }
    let mut essential: Vec<usize> = order.iter().map(|&v| uf.find(v)).collect();
    essential.sort_unstable();
    essential.dedup();
    let mut ess: Vec<Pair> = essential
        .iter()
        .map(|&r| Pair { birth_vertex: birth_of[r], death_vertex: None, birth: values[birth_of[r]], death: f64::INFINITY })
        .collect();
    ess.sort_by(|a, b| a.birth.total_cmp(&b.birth));
    pairs.extend(ess);
    Ok(MergeTree { nodes, pairs, n_nonfinite, levels })
}

/// Union–find with path halving and union by size.
struct UnionFind {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        Self { parent: (0..n).collect(), size: vec![1; n] }
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    /// Joins the sets of `a` and `b`; returns the new root.
    fn union(&mut self, a: usize, b: usize) -> usize {
        let (mut ra, mut rb) = (self.find(a), self.find(b));
        if ra == rb {
            return ra;
        }
        if self.size[ra] < self.size[rb] {
            std::mem::swap(&mut ra, &mut rb);
        }
        self.parent[rb] = ra;
        self.size[ra] += self.size[rb];
        ra
    }
}
