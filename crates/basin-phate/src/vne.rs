//! Von Neumann entropy of the diffusion operator and phate's knee detector
//! (`phate.vne.compute_von_neumann_entropy`, `phate.vne.find_knee_point`).

use crate::errors::PhateError;
use crate::linalg::gemm_sym;
use crate::sparse::Csr;
use crate::tridiag::symmetric_eigenvalues;
use ndarray::Array2;

/// Singular values of a sparse operator, descending, from the eigenvalues of
/// `P P^T`.
pub(crate) fn singular_values_sparse(p: &Csr) -> Result<Vec<f64>, PhateError> {
    sv_from_gram(p.mul_to_dense(&p.transpose()))
}

/// Singular values of a dense operator, descending.
pub(crate) fn singular_values_dense(p: &Array2<f64>) -> Result<Vec<f64>, PhateError> {
    sv_from_gram(gemm_sym(p.view(), p.view()))
}

/// Square roots of a Gram matrix's eigenvalues (two-stage reduction, see
/// [`crate::tridiag`]; the bits do not depend on the thread count). The
/// matrix's own storage is the solver's workspace.
fn sv_from_gram(g: Array2<f64>) -> Result<Vec<f64>, PhateError> {
    let n = g.nrows();
    let g = if g.is_standard_layout() {
        g
    } else {
        g.as_standard_layout().into_owned()
    };
    let (mut data, offset) = g.into_raw_vec_and_offset();
    data.drain(..offset.unwrap_or(0).min(data.len()));
    let mut s: Vec<f64> = symmetric_eigenvalues(data, n)?
        .into_iter()
        .map(|l| l.max(0.0).sqrt())
        .collect();
    s.sort_by(|a, b| b.total_cmp(a));
    Ok(s)
}

/// Entropy of the normalised spectrum of `P^t` for t = 1..=`t_max`
/// (entry `k` is for `P^(k+1)`, as in phate).
///
/// # Arguments
/// * `singular_values` - singular values of `P`.
/// * `t_max` - number of powers.
#[must_use]
pub fn von_neumann_entropy(singular_values: &[f64], t_max: usize) -> Vec<f64> {
    let mut cur = singular_values.to_vec();
    let mut out = Vec::with_capacity(t_max);
    for _ in 0..t_max {
        let sum: f64 = cur.iter().sum();
        let h: f64 = cur
            .iter()
            .map(|v| {
                let p = v / sum + f64::EPSILON;
                -p * p.ln()
            })
            .sum();
        out.push(h);
        cur.iter_mut()
            .zip(singular_values)
            .for_each(|(c, s)| *c *= s);
    }
    out
}

/// Knee of `y` over x = 0, 1, ... (phate's `find_knee_point` with its default x):
/// the break point minimising the summed absolute residuals of two least-squares lines.
///
/// # Errors
/// [`PhateError::InvalidParameter`] when `y` has fewer than 3 entries.
///
/// # Example
/// ```
/// let y: Vec<f64> = (0..20).map(|x| (-(x as f64) / 10.0).exp()).collect();
/// assert_eq!(basin_phate::find_knee_point(&y).unwrap(), 8);
/// ```
pub fn find_knee_point(y: &[f64]) -> Result<usize, PhateError> {
    let len = y.len();
    if len < 3 {
        return Err(PhateError::InvalidParameter {
            name: "t_max",
            value: len.to_string(),
            reason: "knee search needs at least 3 entropy values",
        });
    }
    let x: Vec<f64> = (0..len).map(|i| i as f64).collect();
    let fit = |xs: &[f64], ys: &[f64]| -> (Vec<f64>, Vec<f64>) {
        // cumulative least-squares fits over prefixes of length 2..=len
        let (mut sxy, mut sx, mut sy, mut sxx) = (0.0, 0.0, 0.0, 0.0);
        let mut m = Vec::new();
        let mut b = Vec::new();
        for i in 0..xs.len() {
            sxy += xs[i] * ys[i];
            sx += xs[i];
            sy += ys[i];
            sxx += xs[i] * xs[i];
            if i >= 1 {
                let n = (i + 1) as f64;
                let det = n * sxx - sx * sx;
                m.push((n * sxy - sx * sy) / det);
                b.push(-(sx * sxy - sxx * sy) / det);
            }
        }
        (m, b)
    };
    let (mfwd, bfwd) = fit(&x, y);
    let xr: Vec<f64> = x.iter().rev().copied().collect();
    let yr: Vec<f64> = y.iter().rev().copied().collect();
    let (mut mbck, mut bbck) = fit(&xr, &yr);
    mbck.reverse();
    bbck.reverse();
    let mut best = (f64::INFINITY, 1usize);
    for bp in 1..len - 1 {
        let fwd: f64 = (0..=bp)
            .map(|i| (mfwd[bp - 1] * x[i] + bfwd[bp - 1] - y[i]).abs())
            .sum();
        let bck: f64 = (bp..len)
            .map(|i| (mbck[bp - 1] * x[i] + bbck[bp - 1] - y[i]).abs())
            .sum();
        let err = fwd + bck;
        // np.argmin keeps the first minimum; NaN never wins here.
        if err < best.0 {
            best = (err, bp);
        }
    }
    Ok(best.1)
}
