//! An exact k-d tree for inputs with few columns (euclidean or Minkowski):
//! median splits on the widest coordinate, leaves of up to 16 rows, and the
//! incremental distance from the query to each cell's bounding box (Arya &
//! Mount) as the pruning bound, so both searches below are exact.
//!
//! A kernel row needs the k + 1 nearest rows (the bandwidth) and then every
//! row within `factor` times that distance: a k-nearest search followed by a
//! radius search, both on this tree.

use crate::distance::exact_distance;
use crate::hyperparams::Distance;
use crate::knn::Need;
use crate::total_order::TotalF64;
use ndarray::{ArrayView1, ArrayView2};
use std::collections::BinaryHeap;

const LEAF: usize = 16;

#[derive(Debug, Clone, Copy)]
enum Node {
    Leaf {
        start: usize,
        end: usize,
    },
    Split {
        dim: usize,
        value: f64,
        left: usize,
        right: usize,
    },
}

/// The tree over the rows of `x`; `order` holds row indices leaf by leaf.
pub(crate) struct KdTree<'a> {
    x: ArrayView2<'a, f64>,
    distance: Distance,
    /// Minkowski order (2 for euclidean).
    p: f64,
    order: Vec<usize>,
    nodes: Vec<Node>,
}

/// Max-heap entry: powered distance, then row (ties broken by row).
type Far = (TotalF64, usize);

impl<'a> KdTree<'a> {
    /// Builds the tree on the rows of `x` (euclidean or Minkowski `distance`).
    pub(crate) fn build(x: ArrayView2<'a, f64>, distance: Distance) -> Self {
        let p = match distance {
            Distance::Minkowski(p) => p,
            _ => 2.0,
        };
        let mut tree = Self {
            x,
            distance,
            p,
            order: (0..x.nrows()).collect(),
            nodes: Vec::new(),
        };
        let n = x.nrows();
        tree.split(0, n);
        tree
    }

    /// Builds the subtree over `order[start..end]` and returns its node index.
    fn split(&mut self, start: usize, end: usize) -> usize {
        let id = self.nodes.len();
        self.nodes.push(Node::Leaf { start, end });
        if end - start <= LEAF {
            return id;
        }
        let d = self.x.ncols();
        let rows = &self.order[start..end];
        let (mut dim, mut spread) = (0, -1.0);
        for c in 0..d {
            let (lo, hi) = rows
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &i| {
                    let v = self.x[[i, c]];
                    (lo.min(v), hi.max(v))
                });
            if hi - lo > spread {
                (dim, spread) = (c, hi - lo);
            }
        }
        if spread <= 0.0 {
            return id; // all rows identical: one leaf
        }
        let mid = (end - start) / 2;
        let x = self.x;
        self.order[start..end]
            .select_nth_unstable_by(mid, |&a, &b| x[[a, dim]].total_cmp(&x[[b, dim]]));
        let value = x[[self.order[start + mid], dim]];
        let left = self.split(start, start + mid);
        let right = self.split(start + mid, end);
        self.nodes[id] = Node::Split {
            dim,
            value,
            left,
            right,
        };
        id
    }

    fn powered(&self, q: ArrayView1<'_, f64>, i: usize) -> f64 {
        let r = self.x.row(i);
        if self.p == 2.0 {
            q.iter().zip(r.iter()).map(|(a, b)| (a - b) * (a - b)).sum()
        } else if self.p == 1.0 {
            q.iter().zip(r.iter()).map(|(a, b)| (a - b).abs()).sum()
        } else {
            q.iter()
                .zip(r.iter())
                .map(|(a, b)| (a - b).abs().powf(self.p))
                .sum()
        }
    }

    fn pow(&self, v: f64) -> f64 {
        if self.p == 2.0 {
            v * v
        } else if self.p == 1.0 {
            v.abs()
        } else {
            v.abs().powf(self.p)
        }
    }

    /// Visits every row whose cell lies within powered distance `bound()`;
    /// `offsets` are the per-coordinate gaps from the query to the current cell.
    fn walk(
        &self,
        node: usize,
        q: ArrayView1<'_, f64>,
        rd: f64,
        offsets: &mut [f64],
        bound: &mut dyn FnMut(Option<(usize, f64)>) -> f64,
    ) {
        if rd > bound(None) {
            return;
        }
        match self.nodes[node] {
            Node::Leaf { start, end } => {
                for &i in &self.order[start..end] {
                    let dp = self.powered(q, i);
                    bound(Some((i, dp)));
                }
            }
            Node::Split {
                dim,
                value,
                left,
                right,
            } => {
                let diff = q[dim] - value;
                let (near, far) = if diff < 0.0 {
                    (left, right)
                } else {
                    (right, left)
                };
                self.walk(near, q, rd, offsets, bound);
                let old = offsets[dim];
                let rd_far = rd - self.pow(old) + self.pow(diff);
                offsets[dim] = diff.abs();
                self.walk(far, q, rd_far, offsets, bound);
                offsets[dim] = old;
            }
        }
    }

    /// The rows a kernel row needs (see [`Need`]), with exact distances.
    pub(crate) fn candidates(&self, q: ArrayView1<'_, f64>, need: &Need) -> Vec<(usize, f64)> {
        let n = self.x.nrows();
        let keep = need.nearest_kept().min(n);
        let mut offsets = vec![0.0; self.x.ncols()];
        // 1. the `keep` nearest
        let mut heap: BinaryHeap<Far> = BinaryHeap::with_capacity(keep + 1);
        {
            let mut visit = |hit: Option<(usize, f64)>| -> f64 {
                if let Some((i, dp)) = hit {
                    if heap.len() < keep {
                        heap.push((TotalF64(dp), i));
                    } else if heap.peek().is_some_and(|top| dp < top.0 .0) {
                        heap.pop();
                        heap.push((TotalF64(dp), i));
                    }
                }
                if heap.len() < keep {
                    f64::INFINITY
                } else {
                    heap.peek().map_or(f64::INFINITY, |t| t.0 .0)
                }
            };
            self.walk(0, q, 0.0, &mut offsets, &mut visit);
        }
        let mut near: Vec<f64> = heap.into_iter().map(|f| f.0 .0).collect();
        near.sort_by(f64::total_cmp);
        // 2. everything within the radius (powered); generous by 1e-9 so the
        //    kernel's own threshold test decides at the boundary
        let sigma_p = near[need.k.min(near.len() - 1)];
        let mut r = self.pow(self.unpow(sigma_p) * need.factor);
        if let Some(c) = need.cap {
            if c <= near.len() {
                r = r.min(near[c - 1]);
            }
        }
        let r = r * (1.0 + 1e-9) + 1e-300;
        let mut out = Vec::new();
        offsets.fill(0.0);
        {
            let mut visit = |hit: Option<(usize, f64)>| -> f64 {
                if let Some((i, dp)) = hit {
                    if dp <= r {
                        out.push(i);
                    }
                }
                r
            };
            self.walk(0, q, 0.0, &mut offsets, &mut visit);
        }
        out.into_iter()
            .map(|i| (i, exact_distance(self.distance, q, self.x.row(i))))
            .collect()
    }

    fn unpow(&self, v: f64) -> f64 {
        if self.p == 2.0 {
            v.sqrt()
        } else if self.p == 1.0 {
            v
        } else {
            v.powf(1.0 / self.p)
        }
    }
}
