//! Apparent pairs (Ripser's `get_zero_pivot_cofacet`, `get_zero_apparent_facet`
//! and friends): zero-persistence pairs `(σ, τ)` recognised by a local test,
//! so their columns are never built, and the context every step shares.

use super::binomial::BinomialCoeffTable;
use super::coboundary::{insert_vertex, CofacetEnumerator, Facets};
use super::distance_matrix::RipsMatrix;
use super::types::{get_diameter, get_index, Coefficient, Key};

/// Immutable context shared by the apparent-pair tests and the reduction.
pub(crate) struct Ctx<'a, M> {
    pub(crate) m: &'a M,
    pub(crate) binomial: &'a BinomialCoeffTable,
    pub(crate) modulus: Coefficient,
}

/// Scratch enumerators for apparent-pair tests (kept apart from the one
/// enumerating the column being reduced, as the tests run inside that loop).
/// Vertex lists are passed along so no index is decoded twice.
pub(crate) struct Apparent<E> {
    cofacets: E,
    facets: Facets,
    buffer: Vec<usize>,
}

impl<E> Apparent<E> {
    /// Fresh scratch space for coefficients mod `modulus` under `threshold`.
    pub(crate) fn new<M: RipsMatrix>(modulus: Coefficient, threshold: super::types::Value) -> Self
    where
        E: CofacetEnumerator<M>,
    {
        Self {
            cofacets: E::new(modulus, threshold),
            facets: Facets::default(),
            buffer: Vec::new(),
        }
    }

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
        self.cofacets
            .set_simplex_with_vertices(ctx.m, simplex, buffer);
        while let Some(cofacet) = self.cofacets.next(ctx.m, ctx.binomial, true) {
            if get_diameter(cofacet) == diameter {
                return Some((cofacet, self.cofacets.last_vertex()));
            }
        }
        None
    }

    /// `get_zero_apparent_cofacet`: the cofacet `τ` with `(simplex, τ)` an apparent pair.
    pub(crate) fn zero_apparent_cofacet<M: RipsMatrix>(
        &mut self,
        ctx: &Ctx<'_, M>,
        simplex: Key,
        vertices: &[usize],
    ) -> Option<Key>
    where
        E: CofacetEnumerator<M>,
    {
        let (cofacet, j) = self.zero_pivot_cofacet(ctx, simplex, vertices)?;
        insert_vertex(vertices, j, &mut self.buffer);
        let (facet, _) = self.facets.zero_pivot_facet(
            ctx.m,
            ctx.binomial,
            cofacet,
            &self.buffer,
            ctx.modulus,
        )?;
        (get_index(facet) == get_index(simplex)).then_some(cofacet)
    }

    /// `get_zero_apparent_facet`: the facet `σ` with `(σ, simplex)` an apparent pair.
    pub(crate) fn zero_apparent_facet<M: RipsMatrix>(
        &mut self,
        ctx: &Ctx<'_, M>,
        simplex: Key,
        vertices: &[usize],
    ) -> Option<Key>
    where
        E: CofacetEnumerator<M>,
    {
        let (facet, pos) =
            self.facets
                .zero_pivot_facet(ctx.m, ctx.binomial, simplex, vertices, ctx.modulus)?;
        let mut facet_vertices = std::mem::take(&mut self.buffer);
        facet_vertices.clear();
        facet_vertices.extend(
            vertices
                .iter()
                .enumerate()
                .filter(|&(q, _)| q != pos)
                .map(|(_, &v)| v),
        );
        let cofacet = self.zero_pivot_cofacet(ctx, facet, &facet_vertices);
        self.buffer = facet_vertices;
        let (cofacet, _) = cofacet?;
        (get_index(cofacet) == get_index(simplex)).then_some(facet)
    }

    /// `is_in_zero_apparent_pair`.
    pub(crate) fn is_in_zero_apparent_pair<M: RipsMatrix>(
        &mut self,
        ctx: &Ctx<'_, M>,
        simplex: Key,
        vertices: &[usize],
    ) -> bool
    where
        E: CofacetEnumerator<M>,
    {
        self.zero_apparent_cofacet(ctx, simplex, vertices).is_some()
            || self.zero_apparent_facet(ctx, simplex, vertices).is_some()
    }
}
