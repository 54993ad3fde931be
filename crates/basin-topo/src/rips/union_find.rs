//! Union–find for 0-dimensional persistence (Kruskal on the sorted edges).

/// Disjoint sets with path halving and union by rank.
#[derive(Debug, Clone)]
pub(crate) struct UnionFind {
    parent: Vec<u32>,
    rank: Vec<u8>,
}

impl UnionFind {
    pub(crate) fn new(n: usize) -> Self {
        Self {
            parent: (0..n as u32).collect(),
            rank: vec![0; n],
        }
    }

    /// Representative of `x`'s set.
    #[inline]
    pub(crate) fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grandparent = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grandparent;
            x = grandparent;
        }
        x
    }

    /// Merges the sets of two representatives.
    #[inline]
    pub(crate) fn link(&mut self, x: u32, y: u32) {
        if x == y {
            return;
        }
        let (rx, ry) = (self.rank[x as usize], self.rank[y as usize]);
        if rx > ry {
            self.parent[y as usize] = x;
        } else {
            self.parent[x as usize] = y;
            if rx == ry {
                self.rank[y as usize] += 1;
            }
        }
    }
}
