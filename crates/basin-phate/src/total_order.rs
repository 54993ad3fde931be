//! A totally ordered f64 for heaps and sorts (`f64::total_cmp`), shared by the
//! k-d tree's nearest-neighbour heap and DEMaP's Dijkstra.

/// An f64 ordered by [`f64::total_cmp`]: NaN sorts after +inf, -0 before +0.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TotalF64(pub(crate) f64);

impl PartialEq for TotalF64 {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for TotalF64 {}

impl PartialOrd for TotalF64 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TotalF64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::TotalF64;

    #[test]
    fn orders_like_total_cmp() {
        let mut v: Vec<TotalF64> = [2.0, f64::NAN, -0.0, 0.0, f64::NEG_INFINITY, 1.0]
            .into_iter()
            .map(TotalF64)
            .collect();
        v.sort();
        let bits: Vec<u64> = v.iter().map(|x| x.0.to_bits()).collect();
        let want: Vec<u64> = [f64::NEG_INFINITY, -0.0, 0.0, 1.0, 2.0, f64::NAN]
            .iter()
            .map(|x| x.to_bits())
            .collect();
        assert_eq!(bits, want);
        assert!((TotalF64(1.0), 3) < (TotalF64(1.0), 4));
        assert!((TotalF64(0.5), 9) < (TotalF64(1.0), 0));
    }
}
