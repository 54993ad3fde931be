//! The reduction of one column of the coboundary matrix, as a resumable
//! state: the sequential reduction runs it to the end at once, the parallel
//! one (`parallel`) advances many columns side by side against a frozen pivot
//! map and resumes them after the pivots they wait on are settled.
//!
//! Both perform exactly the same column additions in the same order (the
//! state is advanced only by adding the column that owns the current pivot,
//! or the coboundary of its apparent partner), so the reduction matrix, the
//! pairs and the cocycles do not depend on the number of threads.

use super::apparent::{Apparent, Ctx};
use super::coboundary::{get_simplex_vertices, insert_vertex, CofacetEnumerator};
use super::distance_matrix::RipsMatrix;
use super::pivot_map::PivotMap;
use super::types::{
    get_coefficient, get_diameter, get_index, set_coefficient, Coefficient, Index, Key, Value,
};
use super::working_column::WorkingCoboundary;

/// Column storage of the reduction matrix `V` (only the off-diagonal part,
/// Ripser's `compressed_sparse_matrix`). Columns are stored when they are
/// finished, which the parallel reduction does out of order, hence a span
/// per column rather than Ripser's running bounds.
#[derive(Debug, Default)]
pub(crate) struct ReductionMatrix {
    spans: Vec<(usize, usize)>,
    entries: Vec<Key>,
}

impl ReductionMatrix {
    /// Room for `columns` (empty) columns.
    pub(crate) fn with_columns(columns: usize) -> Self {
        Self {
            spans: vec![(0, 0); columns],
            entries: Vec::new(),
        }
    }

    /// Column `j` (empty until stored).
    #[inline]
    pub(crate) fn column(&self, j: usize) -> &[Key] {
        let (start, end) = self.spans[j];
        &self.entries[start..end]
    }

    /// Stores column `j`.
    pub(crate) fn store(&mut self, j: usize, entries: &[Key]) {
        let start = self.entries.len();
        self.entries.extend_from_slice(entries);
        self.spans[j] = (start, self.entries.len());
    }
}

/// What a column reduction reads: the columns of this dimension, the pivots
/// and reduced columns settled so far.
pub(crate) struct View<'v> {
    pub(crate) to_reduce: &'v [Key],
    pub(crate) pivots: &'v PivotMap,
    pub(crate) matrix: &'v ReductionMatrix,
    pub(crate) inverse: &'v [Coefficient],
    pub(crate) dim: usize,
}

/// Per-thread scratch space of a column reduction.
pub(crate) struct Scratch<E> {
    cofacets: E,
    apparent: Apparent<E>,
    cofacet_vertices: Vec<usize>,
    cofacet_entries: Vec<Key>,
}

impl<E> Scratch<E> {
    pub(crate) fn new<M: RipsMatrix>(modulus: Coefficient, threshold: Value) -> Self
    where
        E: CofacetEnumerator<M>,
    {
        Self {
            cofacets: E::new(modulus, threshold),
            apparent: Apparent::new::<M>(modulus, threshold),
            cofacet_vertices: Vec::new(),
            cofacet_entries: Vec::new(),
        }
    }

    /// The apparent-pair tests, for callers outside a column reduction.
    pub(crate) fn apparent(&mut self) -> &mut Apparent<E> {
        &mut self.apparent
    }
}

/// A column in the middle of its reduction.
#[derive(Debug)]
pub(crate) struct ColumnState {
    /// Position of the column in the dimension's `columns_to_reduce`.
    pub(crate) position: usize,
    /// The simplex of the column (coefficient 1).
    pub(crate) column: Key,
    /// The entries of `V` added so far (not consolidated).
    pub(crate) reduction: Vec<Key>,
    coboundary: WorkingCoboundary,
    started: bool,
    /// The pivot is an emergent pair taken before the coboundary was built
    /// (Ripser's shortcut); if it turns out to be taken, the coboundary is built.
    emergent: bool,
    pivot: Option<Key>,
    /// The pivot at which the last advance stopped (already known not to be
    /// apparent), so re-advancing a waiting column costs one lookup.
    stopped_at: Option<Key>,
}

impl ColumnState {
    pub(crate) fn new(modulus: Coefficient) -> Self {
        Self {
            position: 0,
            column: 0,
            reduction: Vec::new(),
            coboundary: WorkingCoboundary::new(modulus),
            started: false,
            emergent: false,
            pivot: None,
            stopped_at: None,
        }
    }

    /// Starts column `position`, simplex `column`, keeping the allocations.
    pub(crate) fn reset(&mut self, position: usize, column: Key) {
        self.position = position;
        self.column = set_coefficient(column, 1);
        self.reduction.clear();
        self.started = false;
        self.emergent = false;
        self.pivot = None;
        self.stopped_at = None;
    }

    /// The diameter of the column's simplex (the birth of its bar).
    pub(crate) fn diameter(&self) -> Value {
        get_diameter(self.column)
    }
}

/// Reduces `state` while the pivot map of `view` says how: adds the column
/// owning the pivot, or the coboundary of the pivot's apparent facet. Returns
/// the pivot where that stops (`None`: the column reduced to zero, an
/// essential class). With the complete map of earlier columns this is the
/// final pivot; the parallel reduction may find it taken later and resume.
pub(crate) fn advance<M: RipsMatrix, E: CofacetEnumerator<M>>(
    ctx: &Ctx<'_, M>,
    scratch: &mut Scratch<E>,
    state: &mut ColumnState,
    view: &View<'_>,
) -> Option<Key> {
    let modulus = ctx.modulus;
    if !state.started {
        state.started = true;
        state.pivot = init_coboundary_and_get_pivot(ctx, scratch, state, view, true);
    }
    loop {
        let p = state.pivot?;
        if let Some(&(index_column_to_add, other_coefficient)) = view.pivots.get(&get_index(p)) {
            if state.emergent {
                // The shortcut took a pivot that is not free after all: build
                // the coboundary, as a run that saw this pivot taken would have.
                state.emergent = false;
                state.pivot = init_coboundary_and_get_pivot(ctx, scratch, state, view, false);
                continue;
            }
            let factor =
                modulus - get_coefficient(p) * view.inverse[other_coefficient as usize] % modulus;
            let skip = state.coboundary.take_pivot_for_cancellation();
            let j = index_column_to_add as usize;
            add_simplex_coboundary(
                ctx,
                scratch,
                set_coefficient(view.to_reduce[j], factor),
                view.dim,
                skip,
                state,
            );
            for &e in view.matrix.column(j) {
                let e = set_coefficient(e, get_coefficient(e) * factor % modulus);
                add_simplex_coboundary(ctx, scratch, e, view.dim, skip, state);
            }
        } else if state.stopped_at == Some(p) {
            return Some(p);
        } else if let Some(e) = {
            get_simplex_vertices(
                ctx.binomial,
                get_index(p),
                view.dim + 1,
                ctx.m.size(),
                &mut scratch.cofacet_vertices,
            );
            scratch
                .apparent
                .zero_apparent_facet(ctx, p, &scratch.cofacet_vertices)
        } {
            let e = set_coefficient(e, modulus - get_coefficient(e));
            let skip = state.coboundary.take_pivot_for_cancellation();
            add_simplex_coboundary(ctx, scratch, e, view.dim, skip, state);
        } else {
            state.stopped_at = Some(p);
            return Some(p);
        }
        state.emergent = false;
        state.coboundary.maybe_prune();
        state.pivot = state.coboundary.get_pivot();
    }
}

/// Ripser's `init_coboundary_and_get_pivot`: the coboundary of the column,
/// unless (with `check_emergent`) its pivot is an emergent pair (same
/// diameter, not yet a pivot, not apparent), which is returned at once.
fn init_coboundary_and_get_pivot<M: RipsMatrix, E: CofacetEnumerator<M>>(
    ctx: &Ctx<'_, M>,
    scratch: &mut Scratch<E>,
    state: &mut ColumnState,
    view: &View<'_>,
    check_emergent: bool,
) -> Option<Key> {
    let simplex = state.column;
    let diameter = get_diameter(simplex);
    let mut check_for_emergent_pair = check_emergent;
    scratch.cofacet_entries.clear();
    scratch
        .cofacets
        .set_simplex(ctx.m, ctx.binomial, simplex, view.dim);
    while let Some(cofacet) = scratch.cofacets.next(ctx.m, ctx.binomial, true) {
        scratch.cofacet_entries.push(cofacet);
        if check_for_emergent_pair && get_diameter(cofacet) == diameter {
            insert_vertex(
                scratch.cofacets.vertices(),
                scratch.cofacets.last_vertex(),
                &mut scratch.cofacet_vertices,
            );
            if !view.pivots.contains_key(&get_index(cofacet))
                && scratch
                    .apparent
                    .zero_apparent_facet(ctx, cofacet, &scratch.cofacet_vertices)
                    .is_none()
            {
                state.coboundary.reset_with(&[]);
                state.emergent = true;
                return Some(cofacet);
            }
            check_for_emergent_pair = false;
        }
    }
    state.coboundary.reset_with(&scratch.cofacet_entries);
    state.coboundary.get_pivot()
}

/// Adds `simplex` to the reduction column and its coboundary to the working
/// coboundary, skipping the entries of the cancelled pivot.
fn add_simplex_coboundary<M: RipsMatrix, E: CofacetEnumerator<M>>(
    ctx: &Ctx<'_, M>,
    scratch: &mut Scratch<E>,
    simplex: Key,
    dim: usize,
    skip: Option<Index>,
    state: &mut ColumnState,
) {
    state.reduction.push(simplex);
    scratch
        .cofacets
        .set_simplex(ctx.m, ctx.binomial, simplex, dim);
    let skip = skip.unwrap_or(Index::MAX);
    while let Some(cofacet) = scratch.cofacets.next(ctx.m, ctx.binomial, true) {
        if get_index(cofacet) != skip {
            state.coboundary.push(cofacet);
        }
    }
}
