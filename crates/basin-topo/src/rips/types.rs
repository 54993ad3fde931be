//! Scalar types and the packed entry key shared by every step of the
//! reduction (Ripser's `value_t`, `index_t`, `coefficient_t`, `entry_t`).
//!
//! A simplex is named by its index in the combinatorial number system; a
//! column or heap entry packs `(diameter, index, coefficient)` into one
//! `u128` [`Key`] so that the comparisons of the reduction are plain
//! integer comparisons:
//!
//! ```text
//! bits 127..64: !diameter.to_bits()   (non-negative f32 order = integer order)
//! bits  63.. 8: simplex index          (< 2^56)
//! bits   7.. 0: coefficient in Z/p     (p < 256)
//! ```
//!
//! The *largest* key is the smallest diameter with the largest index: Ripser's
//! pivot of a coboundary (`greater_diameter_or_smaller_index` puts it on top
//! of a `std::priority_queue`). Filtration order is therefore descending key
//! order, and columns are reduced in ascending key order.

/// Filtration values (Ripser's `value_t`: single precision, like ripser.py).
pub(crate) type Value = f32;

/// Index of a simplex in the combinatorial number system.
pub(crate) type Index = u64;

/// Coefficient in Z/p.
pub(crate) type Coefficient = u32;

/// Packed `(diameter, index, coefficient)`; see the module doc.
pub(crate) type Key = u128;

/// Number of bits of a key's entry part kept for the coefficient.
const COEFFICIENT_BITS: u32 = 8;

/// The largest simplex index that fits a key (Ripser's `max_simplex_index`).
pub(crate) const MAX_SIMPLEX_INDEX: Index = (1 << (64 - COEFFICIENT_BITS)) - 1;

/// Packs a diameter, index and coefficient into a [`Key`].
#[inline]
pub(crate) fn make_key(diameter: Value, index: Index, coefficient: Coefficient) -> Key {
    // Diameters are never negative (and never -0.0, see `distance_matrix`), so
    // their bit patterns order like the values.
    (u128::from(!diameter.to_bits()) << 64)
        | u128::from(index << COEFFICIENT_BITS)
        | u128::from(coefficient)
}

/// The diameter of a key.
#[inline]
pub(crate) fn get_diameter(key: Key) -> Value {
    Value::from_bits(!((key >> 64) as u32))
}

/// The simplex index of a key.
#[inline]
pub(crate) fn get_index(key: Key) -> Index {
    (key as u64) >> COEFFICIENT_BITS
}

/// The coefficient of a key.
#[inline]
pub(crate) fn get_coefficient(key: Key) -> Coefficient {
    (key as u64 & ((1 << COEFFICIENT_BITS) - 1)) as Coefficient
}

/// The same key with another coefficient.
#[inline]
pub(crate) fn set_coefficient(key: Key, coefficient: Coefficient) -> Key {
    (key & !((1 << COEFFICIENT_BITS) - 1)) | u128::from(coefficient)
}

/// The key's `(diameter, index)` part with the coefficient cleared: equal for
/// entries of the same simplex.
#[inline]
pub(crate) fn without_coefficient(key: Key) -> Key {
    key & !((1 << COEFFICIENT_BITS) - 1)
}

/// Multiplicative inverses in Z/p (Ripser's `multiplicative_inverse_vector`).
pub(crate) fn multiplicative_inverse_vector(modulus: Coefficient) -> Vec<Coefficient> {
    let m = modulus;
    let mut inverse = vec![0; m as usize];
    if m > 1 {
        inverse[1] = 1;
    }
    // m = a * (m / a) + m % a, hence 0 = inverse(m % a) * (m / a) + inverse(a) (mod m).
    for a in 2..m {
        inverse[a as usize] = m - (inverse[(m % a) as usize] * (m / a)) % m;
    }
    inverse
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_round_trip_and_order() {
        let k = make_key(1.5, 12345, 2);
        assert_eq!(get_diameter(k), 1.5);
        assert_eq!(get_index(k), 12345);
        assert_eq!(get_coefficient(k), 2);
        assert_eq!(get_coefficient(set_coefficient(k, 7)), 7);
        // smaller diameter is larger key; equal diameters: larger index is larger key.
        assert!(make_key(1.0, 0, 1) > make_key(2.0, 99, 1));
        assert!(make_key(1.0, 5, 1) > make_key(1.0, 4, 1));
        assert!(make_key(0.0, 0, 1) > make_key(f32::INFINITY, 0, 1));
        assert_eq!(
            get_index(make_key(0.5, MAX_SIMPLEX_INDEX, 250)),
            MAX_SIMPLEX_INDEX
        );
    }

    #[test]
    fn inverses_mod_p() {
        for p in [2u32, 3, 5, 7, 11, 251] {
            let inv = multiplicative_inverse_vector(p);
            for a in 1..p {
                assert_eq!(a * inv[a as usize] % p, 1, "p={p} a={a}");
            }
        }
    }
}
