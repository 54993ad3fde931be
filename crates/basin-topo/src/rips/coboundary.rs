//! Implicit (co)boundary enumeration in the combinatorial number system
//! (Ripser's `simplex_coboundary_enumerator`, `simplex_boundary_enumerator`
//! and `get_simplex_vertices`). Nothing is stored: cofacets of a simplex are
//! produced in decreasing index order from its index and the distances.

use super::binomial::BinomialCoeffTable;
use super::distance_matrix::{DenseDistanceMatrix, RipsMatrix, SparseDistanceMatrix};
use super::types::{
    get_coefficient, get_diameter, get_index, make_key, Coefficient, Index, Key, Value,
};

/// Largest `v` in `[k - 1, top]` with `C(v, k) ≤ idx` (Ripser's
/// `get_max_vertex`, a binary search).
#[inline]
pub(crate) fn get_max_vertex(
    binomial: &BinomialCoeffTable,
    idx: Index,
    k: usize,
    top: usize,
) -> usize {
    let mut top = top;
    if binomial.get(top, k) > idx {
        let mut count = top - (k - 1);
        while count > 0 {
            let step = count >> 1;
            let mid = top - step;
            if binomial.get(mid, k) > idx {
                top = mid - 1;
                count -= step + 1;
            } else {
                count = step;
            }
        }
    }
    top
}

/// Vertices of the `dim`-simplex `idx` in decreasing order, into `out`.
pub(crate) fn get_simplex_vertices(
    binomial: &BinomialCoeffTable,
    mut idx: Index,
    dim: usize,
    n: usize,
    out: &mut Vec<usize>,
) {
    out.clear();
    let mut top = n - 1;
    for k in (1..=dim + 1).rev() {
        top = get_max_vertex(binomial, idx, k, top);
        out.push(top);
        idx -= binomial.get(top, k);
    }
}

/// The coboundary of one simplex, one cofacet at a time.
pub(crate) trait CofacetEnumerator<M: ?Sized + RipsMatrix>: Send {
    /// A fresh enumerator for coefficients in Z/`modulus` that skips
    /// cofacets of diameter above `threshold`.
    fn new(modulus: Coefficient, threshold: Value) -> Self;
    /// Starts enumerating the cofacets of `simplex` (of dimension `dim`).
    fn set_simplex(&mut self, m: &M, binomial: &BinomialCoeffTable, simplex: Key, dim: usize) {
        let mut vertices = std::mem::take(self.vertices_buffer());
        get_simplex_vertices(binomial, get_index(simplex), dim, m.size(), &mut vertices);
        self.set_simplex_with_vertices(m, simplex, vertices);
    }
    /// As [`set_simplex`](Self::set_simplex) with the vertices (decreasing) known.
    fn set_simplex_with_vertices(&mut self, m: &M, simplex: Key, vertices: Vec<usize>);
    /// The buffer holding the simplex's vertices (decreasing).
    fn vertices_buffer(&mut self) -> &mut Vec<usize>;
    /// The simplex's vertices (decreasing).
    fn vertices(&self) -> &[usize];
    /// The vertex added by the last cofacet returned.
    fn last_vertex(&self) -> usize;
    /// The next cofacet of diameter `≤ threshold`, in decreasing index
    /// order; with `all_cofacets == false` only those whose new vertex is
    /// larger than every vertex of the simplex (each simplex of the next
    /// dimension is then produced once).
    fn next(&mut self, m: &M, binomial: &BinomialCoeffTable, all_cofacets: bool) -> Option<Key>;
}

/// Shared state of both enumerators.
#[derive(Debug, Default)]
struct Common {
    idx_below: Index,
    idx_above: Index,
    k: usize,
    vertices: Vec<usize>,
    diameter: Value,
    coefficient: Coefficient,
    modulus: Coefficient,
    threshold: Value,
}

impl Common {
    /// A cleared state for coefficients mod `modulus` under `threshold`.
    fn new(modulus: Coefficient, threshold: Value) -> Self {
        Self {
            modulus,
            threshold,
            ..Self::default()
        }
    }

    /// Starts the enumeration of the cofacets of `simplex`.
    #[inline]
    fn start(&mut self, simplex: Key, vertices: Vec<usize>) {
        self.idx_below = get_index(simplex);
        self.idx_above = 0;
        self.k = vertices.len();
        self.diameter = get_diameter(simplex);
        self.coefficient = get_coefficient(simplex);
        self.vertices = vertices;
    }

    /// Coefficient of a cofacet whose new vertex has `k` vertices of the
    /// simplex below it: `(-1)^k` times the simplex's coefficient.
    #[inline]
    fn cofacet_coefficient(&self) -> Coefficient {
        if self.k & 1 == 1 {
            (self.modulus - 1) * self.coefficient % self.modulus
        } else {
            self.coefficient
        }
    }
}

/// `vertices` (decreasing) with `j` inserted in its place, into `out`.
pub(crate) fn insert_vertex(vertices: &[usize], j: usize, out: &mut Vec<usize>) {
    out.clear();
    let pos = vertices
        .iter()
        .position(|&v| v < j)
        .unwrap_or(vertices.len());
    out.extend_from_slice(&vertices[..pos]);
    out.push(j);
    out.extend_from_slice(&vertices[pos..]);
}

/// Coboundary enumerator over a dense matrix.
#[derive(Debug, Default)]
pub(crate) struct DenseCofacets {
    c: Common,
    /// Next candidate vertex, plus one (0 when exhausted).
    j: usize,
}

impl CofacetEnumerator<DenseDistanceMatrix> for DenseCofacets {
    fn new(modulus: Coefficient, threshold: Value) -> Self {
        Self {
            c: Common::new(modulus, threshold),
            ..Self::default()
        }
    }

    fn set_simplex_with_vertices(
        &mut self,
        m: &DenseDistanceMatrix,
        simplex: Key,
        vertices: Vec<usize>,
    ) {
        self.c.start(simplex, vertices);
        self.j = m.size();
    }

    fn vertices_buffer(&mut self) -> &mut Vec<usize> {
        &mut self.c.vertices
    }

    fn vertices(&self) -> &[usize] {
        &self.c.vertices
    }

    #[inline]
    fn last_vertex(&self) -> usize {
        self.j
    }

    #[inline]
    fn next(
        &mut self,
        m: &DenseDistanceMatrix,
        binomial: &BinomialCoeffTable,
        all_cofacets: bool,
    ) -> Option<Key> {
        let c = &mut self.c;
        loop {
            // has_next: a candidate vertex j = self.j - 1 remains.
            if self.j < c.k + 1 {
                return None;
            }
            let mut j = self.j - 1;
            // The simplex's vertices not yet passed are vertices[len - k..]
            // (decreasing); comparing with the next one replaces Ripser's
            // test `C(j, k) <= idx_below` by a cheaper one.
            let len = c.vertices.len();
            if !all_cofacets && c.k > 0 && j <= c.vertices[len - c.k] {
                return None;
            }
            // Skip the simplex's own vertices, moving them from "below" to "above".
            while c.k > 0 && j == c.vertices[len - c.k] {
                c.idx_below -= binomial.get(j, c.k);
                c.idx_above += binomial.get(j, c.k + 1);
                j -= 1;
                c.k -= 1;
            }
            self.j = j;
            let row = m.row(j);
            let mut diameter = c.diameter;
            for &w in &c.vertices {
                diameter = diameter.max(row[w]);
            }
            if diameter > c.threshold {
                continue;
            }
            let index = c.idx_above + binomial.get(j, c.k + 1) + c.idx_below;
            return Some(make_key(diameter, index, c.cofacet_coefficient()));
        }
    }
}

/// Coboundary enumerator over sorted neighbour lists: the cofacets are the
/// common neighbours of the simplex's vertices, found by walking every list
/// downwards in step.
#[derive(Debug, Default)]
pub(crate) struct SparseCofacets {
    c: Common,
    /// Per simplex vertex (increasing), how many neighbours are still unread.
    neighbor_it: Vec<usize>,
    /// The simplex's vertices in increasing order.
    asc: Vec<usize>,
    /// The vertex added by the last cofacet returned.
    last: usize,
}

impl CofacetEnumerator<SparseDistanceMatrix> for SparseCofacets {
    fn new(modulus: Coefficient, threshold: Value) -> Self {
        Self {
            c: Common::new(modulus, threshold),
            ..Self::default()
        }
    }

    fn set_simplex_with_vertices(
        &mut self,
        m: &SparseDistanceMatrix,
        simplex: Key,
        vertices: Vec<usize>,
    ) {
        self.c.start(simplex, vertices);
        self.asc.clear();
        self.asc.extend(self.c.vertices.iter().rev());
        self.neighbor_it.clear();
        self.neighbor_it
            .extend(self.asc.iter().map(|&v| m.neighbors[v].len()));
    }

    fn vertices_buffer(&mut self) -> &mut Vec<usize> {
        &mut self.c.vertices
    }

    fn vertices(&self) -> &[usize] {
        &self.c.vertices
    }

    #[inline]
    fn last_vertex(&self) -> usize {
        self.last
    }

    #[inline]
    fn next(
        &mut self,
        m: &SparseDistanceMatrix,
        binomial: &BinomialCoeffTable,
        all_cofacets: bool,
    ) -> Option<Key> {
        let c = &mut self.c;
        let first = &m.neighbors[self.asc[0]];
        'outer: while self.neighbor_it[0] > 0 {
            let (nb_index, mut nb_diameter) = first[self.neighbor_it[0] - 1];
            self.neighbor_it[0] -= 1;
            for idx in 1..self.asc.len() {
                let list = &m.neighbors[self.asc[idx]];
                let it = &mut self.neighbor_it[idx];
                loop {
                    if *it == 0 {
                        return None;
                    }
                    let (v, d) = list[*it - 1];
                    if v > nb_index {
                        *it -= 1;
                    } else if v < nb_index {
                        continue 'outer;
                    } else {
                        nb_diameter = nb_diameter.max(d);
                        break;
                    }
                }
            }
            while c.k > 0 && self.asc[c.k - 1] > nb_index as usize {
                if !all_cofacets {
                    return None;
                }
                let v = self.asc[c.k - 1];
                c.idx_below -= binomial.get(v, c.k);
                c.idx_above += binomial.get(v, c.k + 1);
                c.k -= 1;
            }
            let diameter = c.diameter.max(nb_diameter);
            if diameter > c.threshold {
                continue;
            }
            self.last = nb_index as usize;
            let index = c.idx_above + binomial.get(nb_index as usize, c.k + 1) + c.idx_below;
            return Some(make_key(diameter, index, c.cofacet_coefficient()));
        }
        None
    }
}

/// Facets of a simplex in increasing index order (removing the largest
/// vertex first), with their diameters: Ripser's `simplex_boundary_enumerator`
/// specialised to what apparent pairs need.
#[derive(Debug, Default)]
pub(crate) struct Facets {
    max_pairs: Vec<(usize, usize)>,
}

impl Facets {
    /// The smallest-index facet of `simplex` with the same diameter, if any
    /// (Ripser's `get_zero_pivot_facet`), and the position (in `vertices`,
    /// the simplex's vertices in decreasing order) of the vertex it omits.
    pub(crate) fn zero_pivot_facet<M: RipsMatrix + ?Sized>(
        &mut self,
        m: &M,
        binomial: &BinomialCoeffTable,
        simplex: Key,
        vertices: &[usize],
        modulus: Coefficient,
    ) -> Option<(Key, usize)> {
        let dim = vertices.len() - 1;
        if dim == 0 {
            return None;
        }
        let diameter = get_diameter(simplex);
        // A facet keeps the diameter iff some pair at distance `diameter`
        // avoids the omitted vertex: find those pairs once (O(d²)) instead of
        // recomputing each facet's diameter.
        let pos = if dim == 1 {
            (diameter == 0.0).then_some(0)?
        } else {
            self.max_pairs.clear();
            for a in 0..=dim {
                for b in a + 1..=dim {
                    if m.dist(vertices[a], vertices[b]) == diameter {
                        self.max_pairs.push((a, b));
                    }
                }
            }
            (0..=dim).find(|&p| self.max_pairs.iter().any(|&(a, b)| a != p && b != p))?
        };
        // Index of the facet: vertices above the omitted one drop one rank.
        let mut index = get_index(simplex);
        for (q, &v) in vertices.iter().enumerate().take(pos + 1) {
            let k = dim - q;
            index -= binomial.get(v, k + 1);
            if q < pos {
                index += binomial.get(v, k);
            }
        }
        let k = dim - pos; // vertices of the simplex below the omitted one
        let c = get_coefficient(simplex);
        let coefficient = if k & 1 == 1 {
            (modulus - 1) * c % modulus
        } else {
            c
        };
        Some((make_key(diameter, index, coefficient), pos))
    }
}
