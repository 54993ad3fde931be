//! The working columns of a reduction.
//!
//! * [`WorkingCoboundary`]: the coboundary being reduced, whose largest key
//!   (coefficients of its copies summed) is the pivot. Instead of Ripser's
//!   single `std::priority_queue`: older entries sit in a sorted, combined
//!   run and recent pushes in a small 4-ary heap merged into the run when it
//!   grows; the pivot is kept aside once found (a column addition cancels it
//!   exactly, so its copies in the added coboundary are skipped instead of
//!   pushed and popped).
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

/// Recent pushes beyond which the heap is merged into the sorted run: at
/// least this many, and at least a quarter of the run, so merging costs O(1)
/// per entry amortised.
const MIN_MERGE: usize = 256;

/// The coboundary being reduced: a sorted run of older entries (decreasing,
/// duplicates combined, read from `head`) plus a small 4-ary heap of recent
/// pushes. The pivot is the larger of the two fronts; cancelling pairs are
/// mostly one entry from each, so half the pops are a pointer increment.
#[derive(Debug)]
pub(crate) struct WorkingCoboundary {
    run: Vec<Key>,
    head: usize,
    heap: QuaternaryHeap,
    /// The pivot once found, taken out of both.
    pivot: Option<Key>,
    modulus: Coefficient,
    scratch: Vec<Key>,
}

impl WorkingCoboundary {
    pub(crate) fn new(modulus: Coefficient) -> Self {
        Self {
            run: Vec::new(),
            head: 0,
            heap: QuaternaryHeap::default(),
            pivot: None,
            modulus,
            scratch: Vec::new(),
        }
    }

    /// Starts a column with the given cofacets.
    pub(crate) fn reset_with(&mut self, entries: &[Key]) {
        self.run.clear();
        self.head = 0;
        self.heap.assign(entries.iter().copied());
        self.pivot = None;
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

    /// Merges the heap into the run once it has grown large enough.
    #[inline]
    pub(crate) fn maybe_prune(&mut self) {
        if self.heap.len() > MIN_MERGE.max((self.run.len() - self.head) / 4) {
            self.merge();
        }
    }

    fn merge(&mut self) {
        let recent = &mut self.heap.v;
        combine_sorted(recent, self.modulus);
        let old = &self.run[self.head..];
        let out = &mut self.scratch;
        out.clear();
        out.reserve(old.len() + recent.len());
        let (mut i, mut j) = (0, 0);
        while i < old.len() && j < recent.len() {
            let (a, b) = (old[i], recent[j]);
            if get_index(a) == get_index(b) {
                let sum = (get_coefficient(a) + get_coefficient(b)) % self.modulus;
                if sum != 0 {
                    out.push(set_coefficient(a, sum));
                }
                i += 1;
                j += 1;
            } else if a > b {
                out.push(a);
                i += 1;
            } else {
                out.push(b);
                j += 1;
            }
        }
        out.extend_from_slice(&old[i..]);
        out.extend_from_slice(&recent[j..]);
        recent.clear();
        std::mem::swap(&mut self.run, &mut self.scratch);
        self.head = 0;
    }

    /// The pivot: the largest key with a non-zero summed coefficient.
    #[inline]
    pub(crate) fn get_pivot(&mut self) -> Option<Key> {
        if self.pivot.is_none() {
            self.pivot = self.pop_pivot();
        }
        self.pivot
    }

    #[inline]
    fn peek_max(&self) -> Option<Key> {
        match (self.heap.peek(), self.run.get(self.head)) {
            (Some(&h), Some(&r)) => Some(h.max(r)),
            (Some(&h), None) => Some(h),
            (None, Some(&r)) => Some(r),
            (None, None) => None,
        }
    }

    #[inline]
    fn pop_max(&mut self) -> Option<Key> {
        match (self.heap.peek(), self.run.get(self.head)) {
            (Some(&h), Some(&r)) if r > h => {
                self.head += 1;
                Some(r)
            }
            (Some(_), _) => self.heap.pop(),
            (None, Some(&r)) => {
                self.head += 1;
                Some(r)
            }
            (None, None) => None,
        }
    }

    fn pop_pivot(&mut self) -> Option<Key> {
        while let Some(first) = self.pop_max() {
            let mut sum = get_coefficient(first);
            while let Some(top) = self.peek_max() {
                if get_index(top) != get_index(first) {
                    break;
                }
                sum += get_coefficient(top);
                self.pop_max();
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
        w.reset_with(&[
            make_key(1.0, 5, 1),
            make_key(1.0, 5, 2),
            make_key(2.0, 7, 1),
            make_key(1.0, 4, 2),
        ]);
        // index 5 cancels (1 + 2 = 0 mod 3); next is (1.0, 4).
        assert_eq!(w.get_pivot(), Some(make_key(1.0, 4, 2)));
        assert_eq!(w.take_pivot_for_cancellation(), Some(4));
        assert_eq!(w.get_pivot(), Some(make_key(2.0, 7, 1)));
        // Entries spread over the run and the heap still combine.
        let mut w = WorkingCoboundary::new(2);
        let many: Vec<Key> = (0..600).map(|i| make_key(1.0, i, 1)).collect();
        w.reset_with(&many);
        w.maybe_prune();
        for i in (0..600).step_by(2) {
            w.push(make_key(1.0, i, 1));
        }
        w.maybe_prune();
        assert_eq!(w.get_pivot(), Some(make_key(1.0, 599, 1)));
        assert_eq!(w.take_pivot_for_cancellation(), Some(599));
        w.push(make_key(1.0, 597, 1));
        assert_eq!(w.get_pivot(), Some(make_key(1.0, 595, 1)));
        let mut v = vec![
            make_key(1.0, 3, 1),
            make_key(1.0, 3, 1),
            make_key(0.5, 1, 1),
        ];
        combine_sorted(&mut v, 2);
        assert_eq!(v, vec![make_key(0.5, 1, 1)]);
    }
}
