//! The Wasserstein cost when every bar of both diagrams is born at the same
//! value (Vietoris–Rips D0 diagrams: all births 0). The points then lie on
//! one vertical line, the cost between two of them is `|d − d'|^p`, a convex
//! function of `d − d'`, and such costs are Monge: two crossing matched pairs
//! can be uncrossed without loss. Some optimal matching is therefore
//! monotone in death order, found by dynamic programming over sorted
//! prefixes in `O(n m)` time and `O(m)` memory instead of `O((n + m)³)`.

use super::GroundMetric;
use crate::PersistencePair;

/// `min Σ cost^p` as [`super::hungarian::finite_wasserstein_power`], or `None`
/// when the bars do not all share one birth value.
pub(crate) fn equal_birth_wasserstein_power(
    a: &[PersistencePair],
    b: &[PersistencePair],
    p: f64,
    ground: GroundMetric,
) -> Option<f64> {
    let birth = a.first().or(b.first())?.birth;
    if a.iter().chain(b).any(|bar| bar.birth != birth) {
        return None;
    }
    let deaths = |d: &[PersistencePair]| {
        let mut v: Vec<f64> = d.iter().map(|bar| bar.death).collect();
        v.sort_unstable_by(f64::total_cmp);
        v
    };
    let (da, db) = (deaths(a), deaths(b));
    let to_diagonal = |death: f64| {
        ground
            .to_diagonal(&PersistencePair {
                dim: 0,
                birth,
                death,
            })
            .powf(p)
    };
    let (diag_a, diag_b): (Vec<f64>, Vec<f64>) = (
        da.iter().map(|&d| to_diagonal(d)).collect(),
        db.iter().map(|&d| to_diagonal(d)).collect(),
    );
    // row[j] = best cost of the first i bars of a against the first j of b.
    let mut row: Vec<f64> = std::iter::once(0.0)
        .chain(diag_b.iter().scan(0.0, |sum, &c| {
            *sum += c;
            Some(*sum)
        }))
        .collect();
    for (i, &x) in da.iter().enumerate() {
        let mut diagonal_prev = row[0]; // row[i - 1][j - 1]
        row[0] += diag_a[i];
        for (j, &y) in db.iter().enumerate() {
            let matched = diagonal_prev + (x - y).abs().powf(p);
            let drop_a = row[j + 1] + diag_a[i];
            let drop_b = row[j] + diag_b[j];
            diagonal_prev = row[j + 1];
            row[j + 1] = matched.min(drop_a).min(drop_b);
        }
    }
    row.last().copied()
}
