//! Multi-threaded reduction of one dimension.
//!
//! giotto-ph (Pérez et al. 2021) reduces columns concurrently after Morozov
//! and Nigmetov ("Towards lockfree persistent homology", 2020): every thread
//! reduces its own columns against a shared pivot map updated by
//! compare-and-swap, and a column that loses its pivot to an earlier one is
//! reduced further. The result is a valid reduction, but which columns get
//! added where (and so the cocycles) depends on the timing.
//!
//! basin keeps the additions of the sequential run exactly, with no locks
//! and no shared mutable state, in rounds over a window of columns:
//!
//! 1. **Advance (parallel).** Every column of the window is reduced against
//!    the pivot map *as it was at the start of the round* until its pivot is
//!    not in the map (and not an apparent pair). The map and the stored
//!    columns are only read, so threads share them by reference.
//! 2. **Settle (sequential, in column order).** A column is finished when
//!    its pivot is still free *and* no earlier unfinished column can still
//!    reach it. Pivots only move down the key order as a column is reduced,
//!    so an earlier column waiting at pivot `q` can only end at keys `≤ q`:
//!    a later column whose pivot is above every waiting column's pivot is
//!    safe to finish now. Finished columns enter the map; the others wait
//!    for the next round, where they add the columns that took their pivot.
//!
//! A column only ever adds the column that owns its current pivot in the
//! sequential run (an earlier one, settled before it is read), so each
//! column goes through the same additions as on one thread: identical
//! pivots, reduction matrix, bars and cocycles. The sequential part is a
//! hash lookup per column and round, plus storing finished columns.

use rayon::prelude::*;

use super::coboundary::CofacetEnumerator;
use super::column::{advance, ColumnState, ReductionMatrix, Scratch, View};
use super::distance_matrix::RipsMatrix;
use super::pivot_map::PivotMap;
use super::reduction::{Found, Reducer};
use super::types::{get_index, without_coefficient, Key};

/// Columns in flight per thread: enough that a round's work dwarfs its
/// synchronisation, few enough that the working coboundaries they hold stay small.
pub(crate) const WINDOW_PER_THREAD: usize = 512;

/// Pieces each thread's share of a round is cut into, for work stealing.
const PIECES_PER_THREAD: usize = 8;

impl<M: RipsMatrix, E: CofacetEnumerator<M>> Reducer<'_, M, E> {
    /// [`Reducer::compute_pairs`] on the threads of `pool`; same result.
    pub(crate) fn compute_pairs_parallel(
        &mut self,
        pool: &rayon::ThreadPool,
        columns_to_reduce: &[Key],
        pivot_column_index: &mut PivotMap,
        dim: usize,
    ) -> Vec<Found> {
        let ctx = self.ctx();
        let threads = pool.current_num_threads();
        let window = self.window_per_thread.max(1) * threads;
        let pieces = PIECES_PER_THREAD * threads;
        let (modulus, threshold) = (self.modulus, self.threshold);
        let mut scratches: Vec<Scratch<E>> = (0..pieces)
            .map(|_| Scratch::new::<M>(modulus, threshold))
            .collect();
        let mut matrix = ReductionMatrix::with_columns(columns_to_reduce.len());
        let inverse = std::mem::take(&mut self.inverse);
        let mut found = Vec::new();
        let mut waiting: Vec<ColumnState> = Vec::with_capacity(window);
        let mut still_waiting: Vec<ColumnState> = Vec::with_capacity(window);
        let mut spare: Vec<ColumnState> = Vec::new();
        let mut stops: Vec<Option<Key>> = Vec::with_capacity(window);
        let mut next = 0;
        while next < columns_to_reduce.len() || !waiting.is_empty() {
            while waiting.len() < window && next < columns_to_reduce.len() {
                let mut state = spare.pop().unwrap_or_else(|| ColumnState::new(modulus));
                state.reset(next, columns_to_reduce[next]);
                waiting.push(state);
                next += 1;
            }
            let view = View {
                to_reduce: columns_to_reduce,
                pivots: pivot_column_index,
                matrix: &matrix,
                inverse: &inverse,
                dim,
            };
            let piece = waiting.len().div_ceil(pieces).max(1);
            stops.clear();
            stops.resize(waiting.len(), None);
            pool.install(|| {
                waiting
                    .par_chunks_mut(piece)
                    .zip(stops.par_chunks_mut(piece))
                    .zip(scratches.par_iter_mut())
                    .for_each(|((states, stops), scratch)| {
                        for (state, stop) in states.iter_mut().zip(stops.iter_mut()) {
                            *stop = advance(&ctx, scratch, state, &view);
                        }
                    });
            });
            // Settle in column order.
            let mut highest_waiting: Option<Key> = None;
            for (mut state, pivot) in waiting.drain(..).zip(stops.iter().copied()) {
                let finished = match pivot {
                    None => true,
                    Some(p) => {
                        !pivot_column_index.contains_key(&get_index(p))
                            && highest_waiting.is_none_or(|q| without_coefficient(p) > q)
                    }
                };
                if finished {
                    self.finish_column(
                        &mut state,
                        pivot,
                        pivot_column_index,
                        &mut matrix,
                        &mut found,
                        dim,
                    );
                    spare.push(state);
                } else {
                    let p = pivot.map(without_coefficient);
                    highest_waiting = highest_waiting.max(p);
                    still_waiting.push(state);
                }
            }
            std::mem::swap(&mut waiting, &mut still_waiting);
        }
        self.inverse = inverse;
        found
    }
}

#[cfg(test)]
mod tests {
    use super::super::binomial::BinomialCoeffTable;
    use super::super::coboundary::{DenseCofacets, SparseCofacets};
    use super::super::distance_matrix::{prepare, PreparedInput};
    use super::*;
    use crate::rips::RipsInput;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Pairs and cocycles of one run (dimension, birth bits, death bits, cocycle).
    type Run = (
        Vec<crate::PersistencePair>,
        Vec<super::super::reduction::Cocycle>,
    );

    fn run<M: RipsMatrix, E: CofacetEnumerator<M>>(
        m: &M,
        dim: usize,
        modulus: u32,
        threshold: f32,
        threads: usize,
        window: usize,
    ) -> Run {
        let binomial = BinomialCoeffTable::new(m.size(), dim + 2).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let pool = (threads > 1).then_some(&pool);
        let mut r = Reducer::<M, E>::new(m, &binomial, dim, threshold, modulus, true, false, pool);
        r.window_per_thread = window;
        r.compute_barcodes();
        (r.pairs, r.cocycles)
    }

    /// Tiny windows force many rounds, columns waiting on earlier ones and
    /// emergent shortcuts undone: the result is still the sequential one,
    /// bar for bar and cocycle for cocycle, dense and sparse.
    #[test]
    fn small_windows_give_the_sequential_result() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for round in 0..24 {
            let n = rng.random_range(8..40);
            let points = ndarray::Array2::from_shape_fn((n, 3), |_| rng.random::<f64>());
            // Rounded coordinates: many equal distances, the hard case for pivots.
            let points = if round % 2 == 0 {
                points.mapv(|x| (x * 4.0).round() / 4.0)
            } else {
                points
            };
            let input = RipsInput::PointCloud {
                points: points.view(),
                metric: crate::rips::Metric::Euclidean,
            };
            let PreparedInput::Dense(m) = prepare(&input, None).unwrap() else {
                panic!("dense input")
            };
            let modulus = [2, 3, 5][round % 3];
            let threshold = m.enclosing_radius();
            let one = run::<_, DenseCofacets>(&m, 2, modulus, threshold, 1, 1);
            for (threads, window) in [(2, 1), (2, 3), (3, 2), (2, 64)] {
                assert_eq!(
                    one,
                    run::<_, DenseCofacets>(&m, 2, modulus, threshold, threads, window),
                    "round {round}"
                );
            }
            let sparse = m.to_sparse(threshold * 0.8);
            let one = run::<_, SparseCofacets>(&sparse, 2, modulus, threshold * 0.8, 1, 1);
            assert_eq!(
                one,
                run::<_, SparseCofacets>(&sparse, 2, modulus, threshold * 0.8, 2, 2),
                "round {round} sparse"
            );
        }
    }
}
