//! The persistence computation proper (Ripser's `ripser` class): 0-dimensional
//! pairs by union–find, then per dimension cohomology with clearing,
//! apparent and emergent pairs, storing only the reduction matrix.

use super::apparent::{Apparent, Ctx};
use super::binomial::BinomialCoeffTable;
use super::coboundary::{get_simplex_vertices, CofacetEnumerator};
use super::column::{advance, ColumnState, ReductionMatrix, Scratch, View};
use super::distance_matrix::RipsMatrix;
use super::pivot_map::{pivot_map_with_capacity, PivotMap};
use super::types::{
    get_coefficient, get_diameter, get_index, multiplicative_inverse_vector, set_coefficient,
    without_coefficient, Coefficient, Index, Key, Value,
};
use super::union_find::UnionFind;
use super::working_column::combine_sorted;
use crate::PersistencePair;
use rayon::prelude::*;

/// A representative cocycle: simplices (vertex ids, increasing) with their
/// coefficients in Z/p written in `(-p/2, p/2]` as ripser.py does.
pub(crate) type Cocycle = Vec<(Vec<usize>, i64)>;

/// The cofacets of `simplices` with a new vertex above all others (each
/// `dim`-simplex once): all of them when `keep_simplices`, and those to
/// reduce (not cleared, not in an apparent pair).
fn assemble_chunk<M: RipsMatrix, E: CofacetEnumerator<M>>(
    ctx: &Ctx<'_, M>,
    simplices: &[Key],
    dim: usize,
    keep_simplices: bool,
    pivot_column_index: &PivotMap,
    modulus: Coefficient,
    threshold: Value,
) -> (Vec<Key>, Vec<Key>) {
    let mut cofacets = E::new(modulus, threshold);
    let mut apparent = Apparent::<E>::new::<M>(modulus, threshold);
    let mut cofacet_vertices = Vec::new();
    let mut next_simplices = Vec::new();
    let mut columns = Vec::new();
    for &simplex in simplices {
        cofacets.set_simplex(ctx.m, ctx.binomial, set_coefficient(simplex, 1), dim - 1);
        while let Some(cofacet) = cofacets.next(ctx.m, ctx.binomial, false) {
            let cofacet = without_coefficient(cofacet);
            if keep_simplices {
                next_simplices.push(cofacet);
            }
            if !pivot_column_index.contains_key(&get_index(cofacet)) {
                // The new vertex is above all of the simplex's.
                cofacet_vertices.clear();
                cofacet_vertices.push(cofacets.last_vertex());
                cofacet_vertices.extend_from_slice(cofacets.vertices());
                if !apparent.is_in_zero_apparent_pair(
                    ctx,
                    set_coefficient(cofacet, 1),
                    &cofacet_vertices,
                ) {
                    columns.push(cofacet);
                }
            }
        }
    }
    (next_simplices, columns)
}

/// A bar found in a dimension `≥ 1`, with the simplices that give it.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    /// Position of the column in `columns_to_reduce` (the order of discovery
    /// of a sequential run).
    pub(crate) position: usize,
    pub(crate) pair: PersistencePair,
    pub(crate) cocycle: Cocycle,
    /// The birth simplex (the column, coefficient 1).
    pub(crate) birth_simplex: Key,
    /// The death simplex (the pivot), `None` for an essential class.
    pub(crate) death_simplex: Option<Key>,
}

/// The whole computation for one distance matrix.
pub(crate) struct Reducer<'a, M, E> {
    pub(crate) m: &'a M,
    pub(crate) binomial: &'a BinomialCoeffTable,
    pub(crate) n: usize,
    dim_max: usize,
    pub(crate) threshold: Value,
    pub(crate) modulus: Coefficient,
    pub(crate) inverse: Vec<Coefficient>,
    do_cocycles: bool,
    /// Threads for assembling and reducing columns (`None`: this thread only).
    pub(crate) pool: Option<&'a rayon::ThreadPool>,
    scratch: Scratch<E>,
    vertices: Vec<usize>,
    /// Bars found, dimension by dimension, each in the order of a sequential run.
    pub(crate) pairs: Vec<PersistencePair>,
    /// One cocycle per bar when asked for (empty for dimension 0).
    pub(crate) cocycles: Vec<Cocycle>,
    /// With `keep_pairs`: the birth and death simplices of the bars of
    /// dimension 1 (in bar order), and every pair `(edge, triangle)` the
    /// reduction of dimension 1 made (zero-persistence ones included;
    /// apparent pairs are not in it).
    pub(crate) dim1_bars: Vec<(Key, Option<Key>)>,
    pub(crate) dim1_pivots: Vec<(Key, Index)>,
    /// With `keep_pairs`: the spanning forest of the 0-dimensional pass.
    pub(crate) tree_edges: Vec<(usize, usize)>,
    keep_pairs: bool,
    /// Columns in flight per thread in the parallel reduction.
    pub(crate) window_per_thread: usize,
}

impl<'a, M: RipsMatrix, E: CofacetEnumerator<M>> Reducer<'a, M, E> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        m: &'a M,
        binomial: &'a BinomialCoeffTable,
        dim_max: usize,
        threshold: Value,
        modulus: Coefficient,
        do_cocycles: bool,
        keep_pairs: bool,
        pool: Option<&'a rayon::ThreadPool>,
    ) -> Self {
        Self {
            pool,
            m,
            binomial,
            n: m.size(),
            dim_max,
            threshold,
            modulus,
            inverse: multiplicative_inverse_vector(modulus),
            do_cocycles,
            scratch: Scratch::new::<M>(modulus, threshold),
            vertices: Vec::new(),
            pairs: Vec::new(),
            cocycles: Vec::new(),
            dim1_bars: Vec::new(),
            dim1_pivots: Vec::new(),
            tree_edges: Vec::new(),
            keep_pairs,
            window_per_thread: super::parallel::WINDOW_PER_THREAD,
        }
    }

    /// A fresh set of apparent-pair scratch space.
    pub(crate) fn apparent(&self) -> Apparent<E> {
        Apparent::new::<M>(self.modulus, self.threshold)
    }

    pub(crate) fn ctx(&self) -> Ctx<'a, M> {
        Ctx {
            m: self.m,
            binomial: self.binomial,
            modulus: self.modulus,
        }
    }

    /// Runs every dimension up to `dim_max`.
    pub(crate) fn compute_barcodes(&mut self) {
        let mut simplices = Vec::new();
        let mut columns_to_reduce = Vec::new();
        self.compute_dim_0_pairs(&mut simplices, &mut columns_to_reduce);
        for dim in 1..=self.dim_max {
            let mut pivot_column_index = pivot_map_with_capacity(columns_to_reduce.len());
            let mut found = match self.pool {
                Some(pool) if pool.current_num_threads() > 1 => self.compute_pairs_parallel(
                    pool,
                    &columns_to_reduce,
                    &mut pivot_column_index,
                    dim,
                ),
                _ => self.compute_pairs(&columns_to_reduce, &mut pivot_column_index, dim),
            };
            found.sort_by_key(|f| f.position);
            if dim == 1 && self.keep_pairs {
                self.dim1_pivots = pivot_column_index
                    .iter()
                    .map(|(&pivot, &(position, _))| {
                        (
                            set_coefficient(columns_to_reduce[position as usize], 1),
                            pivot,
                        )
                    })
                    .collect();
                self.dim1_bars = found.iter().map(|f| (f.birth_simplex, f.death_simplex)).collect();
            }
            for f in found {
                self.push_pair(f.pair, f.cocycle);
            }
            if dim < self.dim_max {
                self.assemble_columns_to_reduce(
                    &mut simplices,
                    &mut columns_to_reduce,
                    &pivot_column_index,
                    dim + 1,
                );
            }
        }
    }

    /// Kruskal on the edges in filtration order: merging edges give the
    /// 0-dimensional bars, the others (less apparent pairs) are the
    /// 1-dimensional columns to reduce. `edges` receives every edge.
    fn compute_dim_0_pairs(&mut self, edges: &mut Vec<Key>, columns_to_reduce: &mut Vec<Key>) {
        let mut dset = UnionFind::new(self.n);
        *edges = self.m.edges(self.threshold, self.binomial);
        // Filtration order: increasing diameter, then decreasing index.
        let ctx = self.ctx();
        let (n, binomial) = (self.n, self.binomial);
        // The apparent-pair test of every edge is independent of the others:
        // with threads, done for all edges up front.
        let apparent: Option<Vec<bool>> = match self.pool {
            Some(pool) if pool.current_num_threads() > 1 && self.dim_max > 0 => {
                Some(pool.install(|| {
                    edges.par_sort_unstable_by(|a, b| b.cmp(a));
                    let (modulus, threshold) = (self.modulus, self.threshold);
                    edges
                        .par_chunks(4096)
                        .flat_map_iter(|part| {
                            let mut apparent = Apparent::<E>::new::<M>(modulus, threshold);
                            let mut vertices = Vec::new();
                            part.iter()
                                .map(|&e| {
                                    get_simplex_vertices(
                                        binomial,
                                        get_index(e),
                                        1,
                                        n,
                                        &mut vertices,
                                    );
                                    apparent.zero_apparent_cofacet(&ctx, e, &vertices).is_some()
                                })
                                .collect::<Vec<_>>()
                        })
                        .collect()
                }))
            }
            _ => {
                edges.sort_unstable_by(|a, b| b.cmp(a));
                None
            }
        };
        columns_to_reduce.clear();
        let mut zero_bars = Vec::new();
        for (i, &e) in edges.iter().enumerate() {
            get_simplex_vertices(self.binomial, get_index(e), 1, self.n, &mut self.vertices);
            let u = dset.find(self.vertices[0] as u32);
            let v = dset.find(self.vertices[1] as u32);
            if u != v {
                let death = get_diameter(e);
                // ripser.py keeps only bars of positive length.
                if death > 0.0 {
                    zero_bars.push(PersistencePair {
                        dim: 0,
                        birth: 0.0,
                        death: f64::from(death),
                    });
                }
                dset.link(u, v);
                if self.keep_pairs {
                    self.tree_edges.push((self.vertices[0], self.vertices[1]));
                }
            } else if self.dim_max > 0 {
                let is_apparent = match &apparent {
                    Some(flags) => flags[i],
                    None => self
                        .scratch
                        .apparent()
                        .zero_apparent_cofacet(&ctx, e, &self.vertices)
                        .is_some(),
                };
                if !is_apparent {
                    columns_to_reduce.push(e);
                }
            }
        }
        columns_to_reduce.reverse();
        for i in 0..self.n as u32 {
            if dset.find(i) == i {
                zero_bars.push(PersistencePair {
                    dim: 0,
                    birth: 0.0,
                    death: f64::INFINITY,
                });
            }
        }
        for bar in zero_bars {
            self.push_pair(bar, Vec::new());
        }
    }

    /// Records a bar, and its cocycle when cocycles are kept.
    fn push_pair(&mut self, pair: PersistencePair, cocycle: Cocycle) {
        self.pairs.push(pair);
        if self.do_cocycles {
            self.cocycles.push(cocycle);
        }
    }

    /// The `dim`-simplices to reduce: cofacets of the `(dim-1)`-simplices,
    /// less those cleared (pivots of the previous dimension) and those in
    /// apparent pairs, in reduction order. `simplices` becomes the list of
    /// all `dim`-simplices when a further dimension needs them.
    fn assemble_columns_to_reduce(
        &mut self,
        simplices: &mut Vec<Key>,
        columns_to_reduce: &mut Vec<Key>,
        pivot_column_index: &PivotMap,
        dim: usize,
    ) {
        let ctx = self.ctx();
        let keep_simplices = dim < self.dim_max;
        let (modulus, threshold) = (self.modulus, self.threshold);
        let (next_simplices, columns) = match self.pool {
            // Every simplex is extended independently: chunks in parallel,
            // concatenated in order, so the result does not depend on the
            // number of threads.
            Some(pool) if simplices.len() >= 4096 => pool.install(|| {
                // Many more pieces than threads: the cost of a simplex's
                // cofacets varies along the list, work stealing evens it out.
                let chunk = simplices
                    .len()
                    .div_ceil(32 * pool.current_num_threads())
                    .max(512);
                let parts: Vec<(Vec<Key>, Vec<Key>)> = simplices
                    .par_chunks(chunk)
                    .map(|part| {
                        assemble_chunk::<M, E>(
                            &ctx,
                            part,
                            dim,
                            keep_simplices,
                            pivot_column_index,
                            modulus,
                            threshold,
                        )
                    })
                    .collect();
                let (mut next, mut columns) = (Vec::new(), Vec::new());
                for (n, c) in parts {
                    next.extend(n);
                    columns.extend(c);
                }
                columns.par_sort_unstable();
                (next, columns)
            }),
            _ => {
                let (next, mut columns) = assemble_chunk::<M, E>(
                    &ctx,
                    simplices,
                    dim,
                    keep_simplices,
                    pivot_column_index,
                    modulus,
                    threshold,
                );
                columns.sort_unstable();
                (next, columns)
            }
        };
        *simplices = next_simplices;
        *columns_to_reduce = columns;
    }

    /// The reduction of every column in order, on this thread: each column
    /// is advanced until its pivot is free, then recorded.
    fn compute_pairs(
        &mut self,
        columns_to_reduce: &[Key],
        pivot_column_index: &mut PivotMap,
        dim: usize,
    ) -> Vec<Found> {
        let ctx = self.ctx();
        let mut matrix = ReductionMatrix::with_columns(columns_to_reduce.len());
        let mut state = ColumnState::new(self.modulus);
        let mut found = Vec::new();
        let inverse = std::mem::take(&mut self.inverse);
        let mut scratch = std::mem::replace(
            &mut self.scratch,
            Scratch::new::<M>(self.modulus, self.threshold),
        );
        for (position, &column) in columns_to_reduce.iter().enumerate() {
            state.reset(position, column);
            let view = View {
                to_reduce: columns_to_reduce,
                pivots: pivot_column_index,
                matrix: &matrix,
                inverse: &inverse,
                dim,
            };
            let pivot = advance(&ctx, &mut scratch, &mut state, &view);
            self.finish_column(
                &mut state,
                pivot,
                pivot_column_index,
                &mut matrix,
                &mut found,
                dim,
            );
        }
        self.inverse = inverse;
        self.scratch = scratch;
        found
    }

    /// Records a column whose reduction is complete: its pivot (if any) is
    /// free, so it pairs the column's simplex with the pivot (a bar when the
    /// diameters differ), or the column is an essential class.
    pub(crate) fn finish_column(
        &mut self,
        state: &mut ColumnState,
        pivot: Option<Key>,
        pivot_column_index: &mut PivotMap,
        matrix: &mut ReductionMatrix,
        found: &mut Vec<Found>,
        dim: usize,
    ) {
        let diameter = state.diameter();
        let bar = |death: Value| PersistencePair {
            dim,
            birth: f64::from(diameter),
            death: f64::from(death),
        };
        match pivot {
            None => {
                let cocycle = self.cocycle_of(state.column, &mut state.reduction, dim);
                found.push(Found {
                    position: state.position,
                    pair: bar(Value::INFINITY),
                    cocycle,
                    birth_simplex: state.column,
                    death_simplex: None,
                });
            }
            Some(p) => {
                let death = get_diameter(p);
                pivot_column_index
                    .insert(get_index(p), (state.position as u32, get_coefficient(p)));
                combine_sorted(&mut state.reduction, self.modulus);
                if death > diameter {
                    let cocycle = self.cocycle_of(state.column, &mut state.reduction, dim);
                    found.push(Found {
                        position: state.position,
                        pair: bar(death),
                        cocycle,
                        birth_simplex: state.column,
                        death_simplex: Some(p),
                    });
                }
                matrix.store(state.position, &state.reduction);
            }
        }
    }

    /// The cocycle `column + Σ reduction entries` as vertex lists (empty
    /// unless cocycles are asked for). Consolidates `entries` first.
    fn cocycle_of(&mut self, column: Key, entries: &mut Vec<Key>, dim: usize) -> Cocycle {
        if !self.do_cocycles {
            return Vec::new();
        }
        combine_sorted(entries, self.modulus);
        let modulus = i64::from(self.modulus);
        std::iter::once(&column)
            .chain(entries.iter())
            .map(|&e| {
                get_simplex_vertices(self.binomial, get_index(e), dim, self.n, &mut self.vertices);
                let mut simplex = self.vertices.clone();
                simplex.reverse();
                let c = i64::from(get_coefficient(e));
                (simplex, if c > modulus / 2 { c - modulus } else { c })
            })
            .collect()
    }
}
