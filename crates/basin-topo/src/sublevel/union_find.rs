//! Union–find whose roots are the elders (lowest filtration position) of
//! their components, so the elder rule reads off the roots.

pub(crate) struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    /// `n` singletons; vertex `i` must be the `i`-th in filtration order.
    pub(crate) fn new(n: usize) -> Self {
        Self {
            parent: (0..n).collect(),
        }
    }

    /// The root (elder) of `x`'s component, with path halving.
    pub(crate) fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            let grandparent = self.parent[self.parent[x]];
            self.parent[x] = grandparent;
            x = grandparent;
        }
        x
    }

    /// Hangs the younger root under the elder one (roots are vertices in
    /// filtration order, so the smaller index is the elder).
    pub(crate) fn link(&mut self, root_a: usize, root_b: usize) {
        let (elder, younger) = (root_a.min(root_b), root_a.max(root_b));
        self.parent[younger] = elder;
    }
}
