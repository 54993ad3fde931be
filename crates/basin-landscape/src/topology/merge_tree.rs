//! Merge trees of sublevel sets by union–find.
//!
//! Vertices enter in increasing loss (ties by index). A vertex with no
//! entered neighbour starts a component: a minimum. A vertex joining two or
//! more components is a saddle: the component with the lowest minimum
//! survives (the elder rule) and every other dies there, giving one
//! persistence pair (birth = its minimum's loss, death = the saddle's loss)
//! per merge. The pairs are the H0 persistence diagram of the lower-star
//! filtration of the graph.

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
}

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

    /// The topological landscape profile: a 1D curve drawn from the tree by
    /// visiting it depth first (children in order of their minima), every
    /// minimum a valley floor at its loss and every saddle a pass at its
    /// loss between the subtrees it joins, one unit of x per minimum. Its
    /// valleys are the minima and their depths the persistences, as in
    /// Geniesse et al.'s profiles (equal widths here rather than basin sizes).
    /// One profile per connected component, laid side by side.
    #[must_use]
    pub fn profile(&self) -> Vec<(f64, f64)> {
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); self.nodes.len()];
        let mut roots = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            match n.parent {
                Some(p) => children[p].push(i),
                None => roots.push(i),
            }
        }
        let lowest: Vec<f64> = (0..self.nodes.len()).map(|i| self.subtree_min(i, &children)).collect();
        for c in &mut children {
            c.sort_by(|&a, &b| lowest[a].total_cmp(&lowest[b]));
        }
        roots.sort_by(|&a, &b| lowest[a].total_cmp(&lowest[b]));
        let mut out = Vec::new();
        let mut x = 0.0;
        for r in roots {
            self.walk(r, &children, &mut x, &mut out);
        }
        out
    }

    fn subtree_min(&self, i: usize, children: &[Vec<usize>]) -> f64 {
        children[i].iter().map(|&c| self.subtree_min(c, children)).fold(self.nodes[i].value, f64::min)
    }

    fn walk(&self, i: usize, children: &[Vec<usize>], x: &mut f64, out: &mut Vec<(f64, f64)>) {
        let node = &self.nodes[i];
        if children[i].is_empty() {
            out.push((*x, node.value));
            *x += 1.0;
            return;
        }
        for (k, &c) in children[i].iter().enumerate() {
            if k > 0 {
                out.push((*x - 0.5, node.value));
            }
            self.walk(c, children, x, out);
        }
    }
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
    let mut pairs = Vec::new();
    for &v in &order {
        entered[v] = true;
        let mut roots: Vec<usize> = adjacency[v].iter().filter(|&&u| entered[u]).map(|&u| uf.find(u)).collect();
        roots.sort_unstable();
        roots.dedup();
        match roots.len() {
            0 => {
                nodes.push(TreeNode { vertex: v, value: values[v], kind: NodeKind::Minimum, parent: None });
                birth_of[v] = v;
                node_of[v] = nodes.len() - 1;
            }
            1 => {
                let r = roots[0];
                let (b, t) = (birth_of[r], node_of[r]);
                let root = uf.union(r, v);
                birth_of[root] = b;
                node_of[root] = t;
            }
            _ => {
                // Elder rule: the component with the lowest minimum survives.
                roots.sort_by(|&a, &b| values[birth_of[a]].total_cmp(&values[birth_of[b]]).then(birth_of[a].cmp(&birth_of[b])));
                nodes.push(TreeNode { vertex: v, value: values[v], kind: NodeKind::Saddle, parent: None });
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
    Ok(MergeTree { nodes, pairs, n_nonfinite })
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
