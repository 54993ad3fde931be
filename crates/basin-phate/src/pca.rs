//! Randomized PCA (Halko et al.; scikit-learn's `PCA(svd_solver="randomized")`):
//! centre, random range finder with power iterations, small eigenproblem.

use crate::linalg::{gaussian, gemm, orthonormalize, small_symmetric_eigen};
use ndarray::{Array1, Array2, ArrayView2, Axis};

/// A fitted projection: `(x - mean) * components`.
#[derive(Debug, Clone)]
pub struct Pca {
    mean: Array1<f64>,
    components: Array2<f64>,
}

impl Pca {
    /// Fits `k` components of `x` (k < min(n, d)), seeded.
    pub(crate) fn fit(x: ArrayView2<'_, f64>, k: usize, seed: u64) -> Self {
        let (n, d) = x.dim();
        let mean = x.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(d));
        let xc = &x - &mean.view().insert_axis(Axis(0));
        let l = (k + 10).min(n.min(d));
        let n_iter = if (k as f64) < 0.1 * n.min(d) as f64 {
            7
        } else {
            4
        };
        let mut q = gemm(xc.view(), gaussian(d, l, seed).view(), false);
        orthonormalize(&mut q);
        for _ in 0..n_iter {
            let z = gemm(xc.t(), q.view(), false);
            q = gemm(xc.view(), z.view(), false);
            orthonormalize(&mut q);
        }
        let b = gemm(q.t(), xc.view(), false); // l x d
        let bbt = gemm(b.view(), b.view(), true);
        let (vals, u) = small_symmetric_eigen(&bbt, |v| v);
        let mut components = Array2::zeros((d, k));
        for c in 0..k.min(l) {
            let s = vals[c].max(0.0).sqrt();
            if s > 0.0 {
                let v = b.t().dot(&u.column(c)) / s;
                components.column_mut(c).assign(&v);
            }
        }
        Self { mean, components }
    }

    /// Projects rows onto the components.
    #[must_use]
    pub fn transform(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        let xc = &x - &self.mean.view().insert_axis(Axis(0));
        gemm(xc.view(), self.components.view(), false)
    }

    /// Number of components.
    #[must_use]
    pub fn n_components(&self) -> usize {
        self.components.ncols()
    }

    /// Input dimension.
    #[must_use]
    pub fn n_features(&self) -> usize {
        self.components.nrows()
    }
}
