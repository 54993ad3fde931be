//! Representative cycles of the 1-dimensional bars.
//!
//! The reduction computes cohomology, whose columns give cocycles. A cycle
//! for a bar `[b, d)` born at edge `σ` and killed by triangle `τ` is the
//! column of `τ` in the *homology* reduction of the boundary matrix `∂₂`
//! (`R_τ = ∂ V_τ`): a cycle (a boundary), whose latest edge is `σ` (so it
//! appears at `b`), and which becomes a boundary at `d` and not before. By
//! persistence duality (de Silva, Morozov, Vejdemo-Johansson 2011) the
//! homology pairs are the cohomology pairs, so that reduction can be run on
//! the death triangles alone, and only on those a bar needs (Čufar and Virk
//! 2021 use the same idea for all dimensions):
//!
//! * start from `∂τ`; while its latest edge `e` is not `σ`, `e` is paired
//!   with an earlier triangle `τ'`: add the multiple of `R_τ'` that cancels
//!   `e`. `τ'` is found in the cohomology pairs of dimension 1 or, for the
//!   apparent pairs never reduced there, by the apparent-pair test; an
//!   apparent `τ'` needs no reduction (`R_τ' = ∂τ'`), a reduced one is
//!   computed the same way (on demand, memoised);
//! * an essential class born at `σ = {u, v}` is represented by `σ` plus the
//!   path from `v` to `u` in the spanning forest of the 0-dimensional pass
//!   (the column `V_σ` of the homology reduction of `∂₁`).
//!
//! Cost: a few column additions per bar on small chains; memory for the
//! chains reached. Orientation: an edge `[u, v]` with `u < v`, and
//! `∂[a, b, c] = [b, c] − [a, c] + [a, b]` (the convention of the cocycles).

use std::collections::HashMap;

use super::apparent::{Apparent, Ctx};
use super::coboundary::{get_simplex_vertices, CofacetEnumerator};
use super::distance_matrix::RipsMatrix;
use super::types::{
    get_coefficient, get_index, make_key, set_coefficient, without_coefficient, Coefficient, Index,
    Key,
};

use super::RepresentativeCycle as Cycle;

/// A chain of edges: keys sorted by decreasing value (earliest in the
/// filtration first), coefficients non-zero.
type Chain = Vec<Key>;

/// Everything the cycle computation needs from a finished reduction.
pub(crate) struct CycleInput<'r> {
    /// Birth and death simplex of each bar of dimension 1.
    pub(crate) bars: &'r [(Key, Option<Key>)],
    /// Every `(edge, triangle index)` pair of the dimension-1 reduction.
    pub(crate) pivots: &'r [(Key, Index)],
    /// The spanning forest of the 0-dimensional pass.
    pub(crate) tree_edges: &'r [(usize, usize)],
    pub(crate) inverse: &'r [Coefficient],
}

/// One cycle per bar of `input.bars` (same order); `None` where the
/// homology reduction did not end at the bar's birth edge, which would be a
/// bug (it is tested never to happen): the caller then gives the bar an
/// empty cycle rather than a wrong one.
pub(crate) fn representative_cycles<M: RipsMatrix, E: CofacetEnumerator<M>>(
    ctx: &Ctx<'_, M>,
    apparent: &mut Apparent<E>,
    input: &CycleInput<'_>,
) -> Vec<Option<Cycle>> {
    let mut homology = Homology {
        ctx,
        apparent,
        inverse: input.inverse,
        partner_of_edge: HashMap::new(),
        edge_of_triangle: input.pivots.iter().map(|&(e, t)| (t, e)).collect(),
        reduced: HashMap::new(),
        vertices: Vec::new(),
    };
    homology.partner_of_edge = input
        .pivots
        .iter()
        .map(|&(e, t)| (get_index(e), homology.triangle_key(t)))
        .collect();
    let forest = Forest::new(ctx.m.size(), input.tree_edges);
    input
        .bars
        .iter()
        .map(|&(birth, death)| {
            let chain = match death {
                Some(triangle) => homology.reduced_column(triangle)?,
                None => forest.cycle_through(ctx, birth, ctx.modulus)?,
            };
            Some(homology.cycle_of_chain(&chain))
        })
        .collect()
}

/// Partial homology reduction of `∂₂`, memoised per death triangle.
struct Homology<'c, 'a, M, E> {
    ctx: &'c Ctx<'a, M>,
    apparent: &'c mut Apparent<E>,
    inverse: &'c [Coefficient],
    partner_of_edge: HashMap<Index, Key>,
    edge_of_triangle: HashMap<Index, Key>,
    reduced: HashMap<Index, Chain>,
    vertices: Vec<usize>,
}

impl<M: RipsMatrix, E: CofacetEnumerator<M>> Homology<'_, '_, M, E> {
    fn edge_key(&self, u: usize, v: usize, coefficient: Coefficient) -> Key {
        let (u, v) = (u.min(v), u.max(v));
        let index = self.ctx.binomial.get(v, 2) + u as Index;
        make_key(self.ctx.m.dist(u, v), index, coefficient)
    }

    /// The key of triangle `index` (its diameter from the distances).
    fn triangle_key(&mut self, index: Index) -> Key {
        get_simplex_vertices(
            self.ctx.binomial,
            index,
            2,
            self.ctx.m.size(),
            &mut self.vertices,
        );
        let (c, b, a) = (self.vertices[0], self.vertices[1], self.vertices[2]);
        let m = self.ctx.m;
        make_key(m.dist(a, b).max(m.dist(a, c)).max(m.dist(b, c)), index, 1)
    }

    /// `∂τ` with the orientation of the module docs, sorted.
    fn boundary(&mut self, triangle: Key) -> Chain {
        get_simplex_vertices(
            self.ctx.binomial,
            get_index(triangle),
            2,
            self.ctx.m.size(),
            &mut self.vertices,
        );
        let (c, b, a) = (self.vertices[0], self.vertices[1], self.vertices[2]);
        let p = self.ctx.modulus;
        let mut chain = vec![
            self.edge_key(b, c, 1),
            self.edge_key(a, c, p - 1),
            self.edge_key(a, b, 1),
        ];
        chain.sort_unstable_by(|x, y| y.cmp(x));
        chain
    }

    /// The triangle paired with `edge`: from the reduction, or apparent.
    fn partner(&mut self, edge: Key) -> Option<(Key, bool)> {
        if let Some(&t) = self.partner_of_edge.get(&get_index(edge)) {
            return Some((t, false));
        }
        get_simplex_vertices(
            self.ctx.binomial,
            get_index(edge),
            1,
            self.ctx.m.size(),
            &mut self.vertices,
        );
        let vertices = self.vertices.clone();
        self.apparent
            .zero_apparent_cofacet(self.ctx, set_coefficient(edge, 1), &vertices)
            .map(|t| (t, true))
    }

    /// `R_τ` for a triangle paired by the reduction, reducing the triangles it
    /// needs first (an explicit stack: chains of dependencies can be long).
    fn reduced_column(&mut self, triangle: Key) -> Option<Chain> {
        let mut stack: Vec<(Key, Chain)> = vec![(triangle, self.boundary(triangle))];
        // Each step cancels the latest edge of some chain: bounded by the
        // edges of all chains, so a bound catches a broken invariant.
        let mut budget: usize = 1 << 26;
        while let Some((t, mut chain)) = stack.pop() {
            let target = *self.edge_of_triangle.get(&get_index(t))?;
            loop {
                budget = budget.checked_sub(1)?;
                let &low = chain.last()?;
                if get_index(low) == get_index(target) {
                    self.reduced.insert(get_index(t), chain);
                    break;
                }
                if without_coefficient(low) > without_coefficient(target) {
                    // The birth edge was cancelled: not a valid reduction.
                    return None;
                }
                let (other, apparent) = self.partner(low)?;
                if without_coefficient(other) <= without_coefficient(t) {
                    // Only earlier triangles may be added (and this ends the recursion).
                    return None;
                }
                let addend = if apparent {
                    self.boundary(other)
                } else if let Some(r) = self.reduced.get(&get_index(other)) {
                    r.clone()
                } else {
                    // Reduce `other` first, then come back to `t`.
                    let boundary = self.boundary(other);
                    stack.push((t, chain));
                    stack.push((other, boundary));
                    break;
                };
                let &other_low = addend.last()?;
                if get_index(other_low) != get_index(low) {
                    return None;
                }
                let p = self.ctx.modulus;
                let factor = (p - get_coefficient(low))
                    * self.inverse[get_coefficient(other_low) as usize]
                    % p;
                chain = add_chains(&chain, &addend, factor, p);
            }
        }
        self.reduced.get(&get_index(triangle)).cloned()
    }

    fn cycle_of_chain(&mut self, chain: &Chain) -> Cycle {
        let p = i64::from(self.ctx.modulus);
        chain
            .iter()
            .map(|&e| {
                get_simplex_vertices(
                    self.ctx.binomial,
                    get_index(e),
                    1,
                    self.ctx.m.size(),
                    &mut self.vertices,
                );
                let c = i64::from(get_coefficient(e));
                (
                    [self.vertices[1], self.vertices[0]],
                    if c > p / 2 { c - p } else { c },
                )
            })
            .collect()
    }
}

/// `a + factor · b` over Z/p, both sorted by decreasing key.
fn add_chains(a: &Chain, b: &Chain, factor: Coefficient, p: Coefficient) -> Chain {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    let scaled = |k: Key| set_coefficient(k, get_coefficient(k) * factor % p);
    while i < a.len() || j < b.len() {
        let (x, y) = (
            a.get(i).map(|&k| without_coefficient(k)),
            b.get(j).map(|&k| without_coefficient(k)),
        );
        match (x, y) {
            (Some(x), Some(y)) if x == y => {
                let c = (get_coefficient(a[i]) + get_coefficient(b[j]) * factor) % p;
                if c != 0 {
                    out.push(set_coefficient(a[i], c));
                }
                i += 1;
                j += 1;
            }
            (Some(x), y) if y.is_none_or(|y| x > y) => {
                out.push(a[i]);
                i += 1;
            }
            _ => {
                let k = scaled(b[j]);
                if get_coefficient(k) != 0 {
                    out.push(k);
                }
                j += 1;
            }
        }
    }
    out
}

/// The spanning forest of the 0-dimensional pass, rooted, for tree paths.
struct Forest {
    parent: Vec<usize>,
    depth: Vec<usize>,
}

impl Forest {
    fn new(n: usize, edges: &[(usize, usize)]) -> Self {
        let mut adjacent = vec![Vec::new(); n];
        for &(u, v) in edges {
            adjacent[u].push(v);
            adjacent[v].push(u);
        }
        let mut parent = vec![usize::MAX; n];
        let mut depth = vec![0; n];
        let mut stack = Vec::new();
        for root in 0..n {
            if parent[root] != usize::MAX {
                continue;
            }
            parent[root] = root;
            stack.push(root);
            while let Some(x) = stack.pop() {
                for &y in &adjacent[x] {
                    if parent[y] == usize::MAX {
                        parent[y] = x;
                        depth[y] = depth[x] + 1;
                        stack.push(y);
                    }
                }
            }
        }
        Self { parent, depth }
    }

    /// The edge `σ = [u, v]` plus the forest path from `v` back to `u`: a
    /// cycle (`∂` of the path is `u − v`).
    fn cycle_through<M: RipsMatrix>(
        &self,
        ctx: &Ctx<'_, M>,
        edge: Key,
        p: Coefficient,
    ) -> Option<Chain> {
        let mut vertices = Vec::new();
        get_simplex_vertices(
            ctx.binomial,
            get_index(edge),
            1,
            ctx.m.size(),
            &mut vertices,
        );
        let (v, u) = (vertices[0], vertices[1]);
        let key = |x: usize, y: usize| -> Key {
            // Traversed from x to y: +[x, y] if x < y, −[y, x] otherwise.
            let (lo, hi) = (x.min(y), x.max(y));
            let index = ctx.binomial.get(hi, 2) + lo as Index;
            make_key(ctx.m.dist(lo, hi), index, if x < y { 1 } else { p - 1 })
        };
        let mut chain = vec![set_coefficient(edge, 1)];
        // Walk both ends up to their common ancestor.
        let (mut a, mut b) = (v, u);
        let mut tail = Vec::new();
        while a != b {
            if self.depth[a] >= self.depth[b] {
                let up = self.parent[a];
                if up == a {
                    return None;
                }
                chain.push(key(a, up));
                a = up;
            } else {
                let up = self.parent[b];
                if up == b {
                    return None;
                }
                // On the u side the path runs downwards, towards u.
                tail.push(key(up, b));
                b = up;
            }
        }
        chain.extend(tail.into_iter().rev());
        chain.sort_unstable_by(|x, y| y.cmp(x));
        Some(chain)
    }
}
