//! The pivot → column map of a reduction (Ripser's `entry_hash_map`), a
//! `HashMap` with a folded-multiply hash: simplex indices are already well
//! spread, so SipHash's cost buys nothing here.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::types::{Coefficient, Index};

/// Hasher for `u64` simplex indices.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IndexHasher(u64);

impl Hasher for IndexHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    #[inline]
    fn write_u64(&mut self, x: u64) {
        let product =
            u128::from(x ^ self.0).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Pivot simplex index → (position of its column, coefficient of the pivot).
pub(crate) type PivotMap = HashMap<Index, (u32, Coefficient), BuildHasherDefault<IndexHasher>>;

/// An empty map with room for `capacity` pivots.
pub(crate) fn pivot_map_with_capacity(capacity: usize) -> PivotMap {
    PivotMap::with_capacity_and_hasher(capacity, BuildHasherDefault::default())
}
