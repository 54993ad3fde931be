//! Binomial coefficient table for the combinatorial number system, built
//! with checked arithmetic (Ripser's `binomial_coeff_table`).
//!
//! A `k`-subset `{v_1 > … > v_k}` of `{0, …, n-1}` has index
//! `C(v_1, k) + … + C(v_k, 1)`; the largest index of a simplex with `k`
//! vertices is `C(n, k) - 1`, so every entry the reduction reads must fit
//! [`MAX_SIMPLEX_INDEX`](super::types::MAX_SIMPLEX_INDEX).

use super::types::{Index, MAX_SIMPLEX_INDEX};
use crate::{TopoError, TopoResult};

/// `C(v, k)` for `v ≤ n`, `k ≤ k_max`, stored row per `k` so that the
/// coboundary enumeration (fixed `k`, decreasing `v`) walks memory in order.
#[derive(Debug, Clone)]
pub(crate) struct BinomialCoeffTable {
    table: Vec<Index>,
    stride: usize,
}

impl BinomialCoeffTable {
    /// The table for `n` vertices and subsets of up to `k_max` elements.
    ///
    /// # Errors
    /// [`TopoError::IndexOverflow`] when some `C(v, k)` exceeds the largest
    /// simplex index a key can hold.
    pub(crate) fn new(n: usize, k_max: usize) -> TopoResult<Self> {
        let stride = n + 1;
        let mut table = vec![0 as Index; (k_max + 1) * stride];
        table[..stride].fill(1);
        for k in 1..=k_max {
            for v in k..=n {
                let sum = table[(k - 1) * stride + v - 1]
                    .checked_add(table[k * stride + v - 1])
                    .filter(|&s| s <= MAX_SIMPLEX_INDEX);
                match sum {
                    Some(s) => table[k * stride + v] = s,
                    None => {
                        return Err(TopoError::IndexOverflow(format!(
                            "C({v}, {k}) exceeds the largest simplex index {MAX_SIMPLEX_INDEX} \
                             (n = {n} points, simplices of up to {k_max} vertices); \
                             lower `max_dim` or use fewer points"
                        )))
                    }
                }
            }
        }
        Ok(Self { table, stride })
    }

    /// `C(v, k)` (zero for `v < k`).
    #[inline]
    pub(crate) fn get(&self, v: usize, k: usize) -> Index {
        self.table[k * self.stride + v]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pascal_values() {
        let t = BinomialCoeffTable::new(10, 4).unwrap();
        assert_eq!(t.get(10, 4), 210);
        assert_eq!(t.get(5, 2), 10);
        assert_eq!(t.get(3, 4), 0);
        assert_eq!(t.get(0, 0), 1);
    }

    #[test]
    fn overflow_is_refused() {
        // C(2000, 9) ~ 1.4e23 > 2^56.
        let err = BinomialCoeffTable::new(2000, 9).unwrap_err();
        assert!(matches!(err, TopoError::IndexOverflow(_)), "{err}");
        assert!(BinomialCoeffTable::new(2000, 5).is_ok());
    }
}
