//! The working columns of a reduction.
//!
//! * [`WorkingCoboundary`]: a max-heap of cofacet keys whose top, with the
//!   coefficients of its copies summed, is the pivot. Two refinements over
//!   Ripser's `std::priority_queue`: the pivot is kept outside the heap once
//!   found (a column addition cancels it exactly, so its copies in the added
//!   coboundary are skipped instead of pushed and popped), and the heap is
//!   pruned — sorted and its duplicates combined — when it has grown eightfold
//!   since the last pruning, so cancelling entries do not pile up. The heap is
//!   4-ary.
//! * [`combine_sorted`]: the reduction column `V` is only read at the end, so
//!   it is kept as a plain vector and consolidated once.

use super::types::{get_coefficient, get_index, set_coefficient, Coefficient, Index, Key};

/// Sorts keys by decreasing value and sums the coefficients of equal
/// simplices, dropping those that sum to zero.
pub(crate) fn combine_sorted(entries: &mut Vec<Key>, modulus: Coefficient) {
    entries.sort_unstable_by(|a, b| b.cmp(a));
    let mut out = 0;
    let mut i = 0;
    while i < entries.len() {
        let first = entries[i];
        let mut sum = get_coefficient(first);
        let mut j = i + 1;
        while j < entries.len() && get_index(entries[j]) == get_index(first) {
            sum += get_coefficient(entries[j]);
            j += 1;
        }
        let sum = sum % modulus;
        if sum != 0 {
            entries[out] = set_coefficient(first, sum);
            out += 1;
        }
        i = j;
    }
    entries.truncate(out);
}

/// A 4-ary max-heap: half the levels of a binary heap, and the four
/// children of a node share a cache line pair, which pays off in the
/// pop-heavy pivot search.
#[derive(Debug, Default)]
struct QuaternaryHeap {
    v: Vec<Key>,
}

impl QuaternaryHeap {
    #[inline]
    fn len(&self) -> usize {
        self.v.len()
    }

    #[inline]
    fn peek(&self) -> Option<&Key> {
        self.v.first()
    }

    #[inline]
    fn push(&mut self, key: Key) {
        let mut i = self.v.len();
        self.v.push(key);
        while i > 0 {
            let parent = (i - 1) / 4;
            if self.v[parent] >= key {
                break;
            }
            self.v[i] = self.v[parent];
            i = parent;
        }
        self.v[i] = key;
    }

    #[inline]
    fn sift_down(&mut self, mut i: usize, key: Key) {
        let len = self.v.len();
        loop {
            let first = 4 * i + 1;
            if first >= len {
                break;
            }
            let end = (first + 4).min(len);
            let mut best = first;
            for c in first + 1..end {
                if self.v[c] > self.v[best] {
                    best = c;
                }
            }
            if self.v[best] <= key {
                break;
            }
            self.v[i] = self.v[best];
            i = best;
        }
        self.v[i] = key;
    }

    #[inline]
    fn pop(&mut self) -> Option<Key> {
        let last = self.v.pop()?;
        if self.v.is_empty() {
            return Some(last);
        }
        let top = self.v[0];
        self.sift_down(0, last);
        Some(top)
    }

    /// Replaces the contents, restoring the heap order in linear time.
    fn assign(&mut self, entries: impl IntoIterator<Item = Key>) {
        self.v.clear();
        self.v.extend(entries);
        self.heapify();
    }

    fn heapify(&mut self) {
        let len = self.v.len();
        if len < 2 {
            return;
        }
        for i in (0..=(len - 2) / 4).rev() {
            let key = self.v[i];
            self.sift_down(i, key);
        }
    }
}

/// Growth of the heap (over its size after the last pruning) that triggers
/// a pruning: 8 measured best on sphere_3_192 and o3_1024 (2 sorts too often).
const PRUNE_FACTOR: usize = 8;

/// The coboundary being reduced.
#[derive(Debug)]
pub(crate) struct WorkingCoboundary {
    heap: QuaternaryHeap,
    /// The pivot once found, taken out of the heap.
    pivot: Option<Key>,
    modulus: Coefficient,
    /// Heap size after the last pruning.
    pruned_len: usize,
}

impl WorkingCoboundary {
    pub(crate) fn new(modulus: Coefficient) -> Self {
        Self { heap: QuaternaryHeap::default(), pivot: None, modulus, pruned_len: 0 }
    }

    /// Starts a column with the given cofacets, reusing the heap's buffer.
    pub(crate) fn reset_with(&mut self, entries: &[Key]) {
        self.heap.assign(entries.iter().copied());
        self.pivot = None;
        self.pruned_len = entries.len();
    }

    /// Adds one entry.
    #[inline]
    pub(crate) fn push(&mut self, key: Key) {
        self.heap.push(key);
    }

    /// Removes the current pivot ahead of adding a column that cancels it
    /// exactly; returns its index, whose entries the addition must skip.
    #[inline]
    pub(crate) fn take_pivot_for_cancellation(&mut self) -> Option<Index> {
        self.pivot.take().map(get_index)
    }

    /// Prunes when the heap has grown `PRUNE_FACTOR`-fold since the last pruning.
    #[inline]
    pub(crate) fn maybe_prune(&mut self) {
        if self.heap.len() > PRUNE_FACTOR * self.pruned_len + 64 {
            // A decreasing vector is already a heap.
            combine_sorted(&mut self.heap.v, self.modulus);
            self.pruned_len = self.heap.len();
        }
    }

    /// The pivot: the largest key with a non-zero summed coefficient.
    #[inline]
    pub(crate) fn get_pivot(&mut self) -> Option<Key> {
        if self.pivot.is_none() {
            self.pivot = self.pop_pivot();
        }
        self.pivot
    }

    fn pop_pivot(&mut self) -> Option<Key> {
        let column = &mut self.heap;
        if self.modulus == 2 {
            // Z/2: copies cancel in pairs.
            while let Some(pivot) = column.pop() {
                match column.peek() {
                    Some(&top) if get_index(top) == get_index(pivot) => {
                        column.pop();
                    }
                    _ => return Some(pivot),
                }
            }
            return None;
        }
        while let Some(first) = column.pop() {
            let mut sum = get_coefficient(first);
            while let Some(&top) = column.peek() {
                if get_index(top) != get_index(first) {
                    break;
                }
                sum += get_coefficient(top);
                column.pop();
            }
            let sum = sum % self.modulus;
            if sum != 0 {
                return Some(set_coefficient(first, sum));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::types::make_key;
    use super::*;

    #[test]
    fn pivot_sums_copies_mod_p() {
        let mut w = WorkingCoboundary::new(3);
        w.reset_with(&[make_key(1.0, 5, 1), make_key(1.0, 5, 2), make_key(2.0, 7, 1), make_key(1.0, 4, 2)]);
        // index 5 cancels (1 + 2 = 0 mod 3); next is (1.0, 4).
        assert_eq!(w.get_pivot(), Some(make_key(1.0, 4, 2)));
        assert_eq!(w.take_pivot_for_cancellation(), Some(4));
        assert_eq!(w.get_pivot(), Some(make_key(2.0, 7, 1)));
        let mut v = vec![make_key(1.0, 3, 1), make_key(1.0, 3, 1), make_key(0.5, 1, 1)];
        combine_sorted(&mut v, 2);
        assert_eq!(v, vec![make_key(0.5, 1, 1)]);
    }
}
