//! The persistence computation proper (Ripser's `ripser` class): 0-dimensional
//! pairs by union–find, then per dimension cohomology with clearing,
//! apparent and emergent pairs, storing only the reduction matrix.

use super::binomial::BinomialCoeffTable;
use super::coboundary::{get_simplex_vertices, insert_vertex, CofacetEnumerator, Facets};
use super::distance_matrix::RipsMatrix;
use super::pivot_map::{pivot_map_with_capacity, PivotMap};
use super::types::{
    get_coefficient, get_diameter, get_index, multiplicative_inverse_vector, set_coefficient,
    without_coefficient, Coefficient, Index, Key, Value,
};
use super::working_column::{combine_sorted, WorkingCoboundary};
use super::union_find::UnionFind;
use rayon::prelude::*;
use crate::PersistencePair;

/// A representative cocycle: simplices (vertex ids, increasing) with their
/// coefficients in Z/p written in `(-p/2, p/2]` as ripser.py does.
pub(crate) type Cocycle = Vec<(Vec<usize>, i64)>;

/// Immutable context shared by the apparent-pair tests and the reduction.
struct Ctx<'a, M> {
    m: &'a M,
    binomial: &'a BinomialCoeffTable,
    modulus: Coefficient,
}

/// Scratch enumerators for apparent-pair tests (kept apart from the one
/// enumerating the column being reduced, as the tests run inside that loop).
/// Vertex lists are passed along so no index is decoded twice.
struct Apparent<E> {
    cofacets: E,
    facets: Facets,
    buffer: Vec<usize>,
}

impl<E> Apparent<E> {
    /// Largest-index cofacet with the simplex's diameter (`get_zero_pivot_cofacet`):
    /// the coboundary enumerates in decreasing index order, so it is the first.
    /// Returns it with the vertex it adds.
    fn zero_pivot_cofacet<M: RipsMatrix>(
        &mut self,
        ctx: &Ctx<'_, M>,
        simplex: Key,
        vertices: &[usize],
    ) -> Option<(Key, usize)>
    where
        E: CofacetEnumerator<M>,
    {
        let diameter = get_diameter(simplex);
        let mut buffer = std::mem::take(self.cofacets.vertices_buffer());
        buffer.clear();
        buffer.extend_from_slice(vertices);
        self.cofacets.set_simplex_with_vertices(ctx.m, simplex, buffer);
        while let Some(cofacet) = self.cofacets.next(ctx.m, ctx.binomial, true) {
            if get_diameter(cofacet) == diameter {
                return Some((cofacet, self.cofacets.last_vertex()));
            }
        }
        None
    }

    /// `get_zero_apparent_cofacet`: the cofacet `τ` with `(simplex, τ)` an apparent pair.
    fn zero_apparent_cofacet<M: RipsMatrix>(&mut self, ctx: &Ctx<'_, M>, simplex: Key, vertices: &[usize]) -> Option<Key>
    where
        E: CofacetEnumerator<M>,
    {
        let (cofacet, j) = self.zero_pivot_cofacet(ctx, simplex, vertices)?;
        insert_vertex(vertices, j, &mut self.buffer);
        let (facet, _) = self.facets.zero_pivot_facet(ctx.m, ctx.binomial, cofacet, &self.buffer, ctx.modulus)?;
        (get_index(facet) == get_index(simplex)).then_some(cofacet)
    }

    /// `get_zero_apparent_facet`: the facet `σ` with `(σ, simplex)` an apparent pair.
    fn zero_apparent_facet<M: RipsMatrix>(&mut self, ctx: &Ctx<'_, M>, simplex: Key, vertices: &[usize]) -> Option<Key>
    where
        E: CofacetEnumerator<M>,
    {
        let (facet, pos) = self.facets.zero_pivot_facet(ctx.m, ctx.binomial, simplex, vertices, ctx.modulus)?;
        let mut facet_vertices = std::mem::take(&mut self.buffer);
        facet_vertices.clear();
        facet_vertices.extend(vertices.iter().enumerate().filter(|&(q, _)| q != pos).map(|(_, &v)| v));
        let cofacet = self.zero_pivot_cofacet(ctx, facet, &facet_vertices);
        self.buffer = facet_vertices;
        let (cofacet, _) = cofacet?;
        (get_index(cofacet) == get_index(simplex)).then_some(facet)
    }

    /// `is_in_zero_apparent_pair`.
    fn is_in_zero_apparent_pair<M: RipsMatrix>(&mut self, ctx: &Ctx<'_, M>, simplex: Key, vertices: &[usize]) -> bool
    where
        E: CofacetEnumerator<M>,
    {
        self.zero_apparent_cofacet(ctx, simplex, vertices).is_some()
            || self.zero_apparent_facet(ctx, simplex, vertices).is_some()
    }
}

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
    let mut apparent = Apparent { cofacets: E::new(modulus, threshold), facets: Facets::default(), buffer: Vec::new() };
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
                if !apparent.is_in_zero_apparent_pair(ctx, set_coefficient(cofacet, 1), &cofacet_vertices) {
                    columns.push(cofacet);
                }
            }
        }
    }
    (next_simplices, columns)
}

/// Column storage of the reduction matrix `V` (only the off-diagonal part,
/// Ripser's `compressed_sparse_matrix`).
#[derive(Debug, Default)]
struct ReductionMatrix {
    bounds: Vec<usize>,
    entries: Vec<Key>,
}

impl ReductionMatrix {
    fn column(&self, j: usize) -> &[Key] {
        let start = if j == 0 { 0 } else { self.bounds[j - 1] };
        &self.entries[start..self.bounds[j]]
    }
}

/// The whole computation for one distance matrix.
pub(crate) struct Reducer<'a, M, E> {
    m: &'a M,
    binomial: &'a BinomialCoeffTable,
    n: usize,
    dim_max: usize,
    threshold: Value,
    modulus: Coefficient,
    inverse: Vec<Coefficient>,
    do_cocycles: bool,
    /// Threads for assembling columns (`None`: this thread only).
    pool: Option<&'a rayon::ThreadPool>,
    cofacets: E,
    apparent: Apparent<E>,
    vertices: Vec<usize>,
    cofacet_vertices: Vec<usize>,
    /// Bars found, in order of discovery.
    pub(crate) pairs: Vec<PersistencePair>,
    /// One cocycle per bar when asked for (empty for dimension 0).
    pub(crate) cocycles: Vec<Cocycle>,
}

impl<'a, M: RipsMatrix, E: CofacetEnumerator<M>> Reducer<'a, M, E> {
    pub(crate) fn new(
        m: &'a M,
        binomial: &'a BinomialCoeffTable,
        dim_max: usize,
        threshold: Value,
        modulus: Coefficient,
        do_cocycles: bool,
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
            cofacets: E::new(modulus, threshold),
            apparent: Apparent { cofacets: E::new(modulus, threshold), facets: Facets::default(), buffer: Vec::new() },
            cofacet_vertices: Vec::new(),
            vertices: Vec::new(),
            pairs: Vec::new(),
            cocycles: Vec::new(),
        }
    }

    fn ctx(&self) -> Ctx<'a, M> {
        Ctx { m: self.m, binomial: self.binomial, modulus: self.modulus }
    }

    fn push_pair(&mut self, dim: usize, birth: Value, death: Value, cocycle: Cocycle) {
        self.pairs.push(PersistencePair { dim, birth: f64::from(birth), death: f64::from(death) });
        if self.do_cocycles {
            self.cocycles.push(cocycle);
        }
    }

    /// Runs every dimension up to `dim_max`.
    pub(crate) fn compute_barcodes(&mut self) {
        let mut simplices = Vec::new();
        let mut columns_to_reduce = Vec::new();
        self.compute_dim_0_pairs(&mut simplices, &mut columns_to_reduce);
        for dim in 1..=self.dim_max {
            let mut pivot_column_index = pivot_map_with_capacity(columns_to_reduce.len());
            self.compute_pairs(&columns_to_reduce, &mut pivot_column_index, dim);
            if dim < self.dim_max {
                self.assemble_columns_to_reduce(&mut simplices, &mut columns_to_reduce, &pivot_column_index, dim + 1);
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
        edges.sort_unstable_by(|a, b| b.cmp(a));
        let ctx = self.ctx();
        columns_to_reduce.clear();
        for &e in edges.iter() {
            get_simplex_vertices(self.binomial, get_index(e), 1, self.n, &mut self.vertices);
            let u = dset.find(self.vertices[0] as u32);
            let v = dset.find(self.vertices[1] as u32);
            if u != v {
                let death = get_diameter(e);
                // ripser.py keeps only bars of positive length.
                if death > 0.0 {
                    self.pairs.push(PersistencePair { dim: 0, birth: 0.0, death: f64::from(death) });
                    if self.do_cocycles {
                        self.cocycles.push(Vec::new());
                    }
                }
                dset.link(u, v);
            } else if self.dim_max > 0 && self.apparent.zero_apparent_cofacet(&ctx, e, &self.vertices).is_none() {
                columns_to_reduce.push(e);
            }
        }
        columns_to_reduce.reverse();
        for i in 0..self.n as u32 {
            if dset.find(i) == i {
                self.push_pair(0, 0.0, Value::INFINITY, Vec::new());
            }
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
                let chunk = simplices.len().div_ceil(4 * pool.current_num_threads());
                let parts: Vec<(Vec<Key>, Vec<Key>)> = simplices
                    .par_chunks(chunk)
                    .map(|part| {
                        assemble_chunk::<M, E>(&ctx, part, dim, keep_simplices, pivot_column_index, modulus, threshold)
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
                let (next, mut columns) =
                    assemble_chunk::<M, E>(&ctx, simplices, dim, keep_simplices, pivot_column_index, modulus, threshold);
                columns.sort_unstable();
                (next, columns)
            }
        };
        *simplices = next_simplices;
        *columns_to_reduce = columns;
    }

    /// Adds `simplex` to the reduction column and its coboundary to the
    /// working coboundary, skipping the entries of the cancelled pivot.
    fn add_simplex_coboundary(
        &mut self,
        simplex: Key,
        dim: usize,
        skip: Option<Index>,
        working_reduction_column: &mut Vec<Key>,
        working_coboundary: &mut WorkingCoboundary,
    ) {
        working_reduction_column.push(simplex);
        self.cofacets.set_simplex(self.m, self.binomial, simplex, dim);
        let skip = skip.unwrap_or(Index::MAX);
        while let Some(cofacet) = self.cofacets.next(self.m, self.binomial, true) {
            if get_index(cofacet) != skip {
                working_coboundary.push(cofacet);
            }
        }
    }

    /// The reduction of every column in order: add earlier reduced columns
    /// (or the coboundary of an apparent partner) while the pivot is taken.
    fn compute_pairs(&mut self, columns_to_reduce: &[Key], pivot_column_index: &mut PivotMap, dim: usize) {
        let ctx = self.ctx();
        let modulus = self.modulus;
        let mut reduction_matrix = ReductionMatrix::default();
        let mut working_reduction_column: Vec<Key> = Vec::new();
        let mut working_coboundary = WorkingCoboundary::new(modulus);
        let mut cofacet_entries: Vec<Key> = Vec::new();

        for (index_column_to_reduce, &column) in columns_to_reduce.iter().enumerate() {
            let column_to_reduce = set_coefficient(column, 1);
            let diameter = get_diameter(column_to_reduce);
            reduction_matrix.bounds.push(reduction_matrix.entries.len());
            working_reduction_column.clear();

            let mut pivot = self.init_coboundary_and_get_pivot(
                &ctx,
                column_to_reduce,
                &mut working_coboundary,
                &mut cofacet_entries,
                dim,
                pivot_column_index,
            );

            loop {
                let Some(p) = pivot else {
                    // Essential class.
                    let cocycle = self.cocycle_of(column_to_reduce, &mut working_reduction_column, dim);
                    self.push_pair(dim, diameter, Value::INFINITY, cocycle);
                    break;
                };
                if let Some(&(index_column_to_add, other_coefficient)) = pivot_column_index.get(&get_index(p)) {
                    let factor =
                        modulus - get_coefficient(p) * self.inverse[other_coefficient as usize] % modulus;
                    let skip = working_coboundary.take_pivot_for_cancellation();
                    let column_to_add =
                        set_coefficient(columns_to_reduce[index_column_to_add as usize], factor);
                    self.add_simplex_coboundary(column_to_add, dim, skip, &mut working_reduction_column, &mut working_coboundary);
                    for &e in reduction_matrix.column(index_column_to_add as usize) {
                        let e = set_coefficient(e, get_coefficient(e) * factor % modulus);
                        self.add_simplex_coboundary(e, dim, skip, &mut working_reduction_column, &mut working_coboundary);
                    }
                    working_coboundary.maybe_prune();
                    pivot = working_coboundary.get_pivot();
                } else if let Some(e) = {
                    get_simplex_vertices(self.binomial, get_index(p), dim + 1, self.n, &mut self.cofacet_vertices);
                    self.apparent.zero_apparent_facet(&ctx, p, &self.cofacet_vertices)
                } {
                    let e = set_coefficient(e, modulus - get_coefficient(e));
                    let skip = working_coboundary.take_pivot_for_cancellation();
                    self.add_simplex_coboundary(e, dim, skip, &mut working_reduction_column, &mut working_coboundary);
                    working_coboundary.maybe_prune();
                    pivot = working_coboundary.get_pivot();
                } else {
                    let death = get_diameter(p);
                    pivot_column_index.insert(get_index(p), (index_column_to_reduce as u32, get_coefficient(p)));
                    combine_sorted(&mut working_reduction_column, modulus);
                    if death > diameter {
                        let cocycle = self.cocycle_of(column_to_reduce, &mut working_reduction_column, dim);
                        self.push_pair(dim, diameter, death, cocycle);
                    }
                    reduction_matrix.entries.extend_from_slice(&working_reduction_column);
                    *reduction_matrix.bounds.last_mut().expect("a column was appended") =
                        reduction_matrix.entries.len();
                    break;
                }
            }
        }
    }

    /// Ripser's `init_coboundary_and_get_pivot`: the coboundary of the
    /// column, unless its pivot is an emergent pair (same diameter, not yet a
    /// pivot, not apparent) which is returned at once.
    fn init_coboundary_and_get_pivot(
        &mut self,
        ctx: &Ctx<'a, M>,
        simplex: Key,
        working_coboundary: &mut WorkingCoboundary,
        cofacet_entries: &mut Vec<Key>,
        dim: usize,
        pivot_column_index: &PivotMap,
    ) -> Option<Key> {
        let diameter = get_diameter(simplex);
        let mut check_for_emergent_pair = true;
        cofacet_entries.clear();
        self.cofacets.set_simplex(self.m, self.binomial, simplex, dim);
        while let Some(cofacet) = self.cofacets.next(self.m, self.binomial, true) {
            cofacet_entries.push(cofacet);
            if check_for_emergent_pair && get_diameter(cofacet) == diameter {
                insert_vertex(self.cofacets.vertices(), self.cofacets.last_vertex(), &mut self.cofacet_vertices);
                if !pivot_column_index.contains_key(&get_index(cofacet))
                    && self.apparent.zero_apparent_facet(ctx, cofacet, &self.cofacet_vertices).is_none()
                {
                    working_coboundary.reset_with(&[]);
                    return Some(cofacet);
                }
                check_for_emergent_pair = false;
            }
        }
        working_coboundary.reset_with(cofacet_entries);
        working_coboundary.get_pivot()
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
