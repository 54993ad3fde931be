//! A minimal compressed-sparse-row matrix: just what the kernel, the diffusion
//! operator and the landmark transitions need.

use ndarray::parallel::prelude::*;
use ndarray::{Array2, ArrayView2, Axis};
use rayon::slice::ParallelSliceMut;

/// Sparse matrix in CSR form; column indices sorted within each row.
#[derive(Debug, Clone, PartialEq)]
pub struct Csr {
    nrows: usize,
    ncols: usize,
    indptr: Vec<usize>,
    indices: Vec<usize>,
    data: Vec<f64>,
}

/// `1/√v` elementwise, 0 where `v` is not positive (an empty row or column).
pub(crate) fn inv_sqrt(v: &[f64]) -> Vec<f64> {
    v.iter()
        .map(|x| if *x > 0.0 { 1.0 / x.sqrt() } else { 0.0 })
        .collect()
}

impl Csr {
    /// Builds from per-row (column, value) lists; columns are sorted, duplicates
    /// summed (in sorted order). Rows are sorted in parallel; each row the
    /// same way whatever the thread count.
    pub(crate) fn from_rows(ncols: usize, mut rows: Vec<Vec<(usize, f64)>>) -> Self {
        rows.par_iter_mut().for_each(|row| {
            row.sort_unstable_by_key(|e| e.0);
            sum_duplicates(row);
        });
        let nrows = rows.len();
        let nnz = rows.iter().map(Vec::len).sum();
        let mut indptr = Vec::with_capacity(nrows + 1);
        indptr.push(0);
        let mut indices = Vec::with_capacity(nnz);
        let mut data = Vec::with_capacity(nnz);
        for row in rows {
            for (j, v) in row {
                indices.push(j);
                data.push(v);
            }
            indptr.push(indices.len());
        }
        Self {
            nrows,
            ncols,
            indptr,
            indices,
            data,
        }
    }

    /// Every row's columns and mutable values, for row-parallel updates.
    fn rows_mut(&mut self) -> Vec<(&[usize], &mut [f64])> {
        let mut out = Vec::with_capacity(self.nrows);
        let (mut cols, mut vals) = (&self.indices[..], &mut self.data[..]);
        for w in self.indptr.windows(2) {
            let len = w[1] - w[0];
            let (c, rest_c) = cols.split_at(len);
            let (v, rest_v) = std::mem::take(&mut vals).split_at_mut(len);
            out.push((c, v));
            (cols, vals) = (rest_c, rest_v);
        }
        out
    }

    /// Rows.
    #[must_use]
    pub fn nrows(&self) -> usize {
        self.nrows
    }

    /// Columns.
    #[must_use]
    pub fn ncols(&self) -> usize {
        self.ncols
    }

    /// Stored entries.
    #[must_use]
    pub fn nnz(&self) -> usize {
        self.data.len()
    }

    /// Column indices and values of row `i`.
    #[must_use]
    #[inline]
    pub fn row(&self, i: usize) -> (&[usize], &[f64]) {
        let (a, b) = (self.indptr[i], self.indptr[i + 1]);
        (&self.indices[a..b], &self.data[a..b])
    }

    /// Entry (i, j), zero when not stored.
    #[must_use]
    pub fn get(&self, i: usize, j: usize) -> f64 {
        let (cols, vals) = self.row(i);
        cols.binary_search(&j).map_or(0.0, |p| vals[p])
    }

    /// Dense copy.
    #[must_use]
    pub fn to_dense(&self) -> Array2<f64> {
        let mut out = Array2::zeros((self.nrows, self.ncols));
        for i in 0..self.nrows {
            let (cols, vals) = self.row(i);
            for (&j, &v) in cols.iter().zip(vals) {
                out[[i, j]] = v;
            }
        }
        out
    }

    /// Transpose, by counting sort on the columns: rows are visited in order,
    /// so every output row comes out sorted, and nothing is allocated per row.
    #[must_use]
    pub fn transpose(&self) -> Self {
        let nnz = self.data.len();
        let mut indptr = vec![0usize; self.ncols + 1];
        for &j in &self.indices {
            indptr[j + 1] += 1;
        }
        for j in 0..self.ncols {
            indptr[j + 1] += indptr[j];
        }
        let mut next = indptr[..self.ncols].to_vec();
        let mut indices = vec![0usize; nnz];
        let mut data = vec![0.0f64; nnz];
        for i in 0..self.nrows {
            let (cols, vals) = self.row(i);
            for (&j, &v) in cols.iter().zip(vals) {
                let p = next[j];
                indices[p] = i;
                data[p] = v;
                next[j] += 1;
            }
        }
        Self {
            nrows: self.ncols,
            ncols: self.nrows,
            indptr,
            indices,
            data,
        }
    }

    /// `(self + other) * scale`, same shape assumed: each row a merge of the
    /// two sorted rows (an entry in both becomes `a * scale + b * scale`,
    /// which is what summing the scaled duplicates in either order gives).
    /// Rows in parallel chunks, concatenated in order.
    pub(crate) fn add_scaled(&self, other: &Self, scale: f64) -> Self {
        const CHUNK_ROWS: usize = 1024;
        let chunks: Vec<(Vec<usize>, Vec<usize>, Vec<f64>)> = (0..self.nrows.div_ceil(CHUNK_ROWS))
            .into_par_iter()
            .map(|c| {
                let (r0, r1) = (c * CHUNK_ROWS, ((c + 1) * CHUNK_ROWS).min(self.nrows));
                let mut lens = Vec::with_capacity(r1 - r0);
                let mut indices = Vec::new();
                let mut data = Vec::new();
                for i in r0..r1 {
                    let start = indices.len();
                    merge_rows(self.row(i), other.row(i), scale, &mut indices, &mut data);
                    lens.push(indices.len() - start);
                }
                (lens, indices, data)
            })
            .collect();
        let mut indptr = Vec::with_capacity(self.nrows + 1);
        indptr.push(0);
        let nnz = chunks.iter().map(|c| c.1.len()).sum();
        let mut indices = Vec::with_capacity(nnz);
        let mut data = Vec::with_capacity(nnz);
        for (lens, idx, vals) in chunks {
            for l in lens {
                indptr.push(indptr[indptr.len() - 1] + l);
            }
            indices.extend(idx);
            data.extend(vals);
        }
        Self {
            nrows: self.nrows,
            ncols: self.ncols,
            indptr,
            indices,
            data,
        }
    }

    /// Row sums.
    #[must_use]
    pub fn row_sums(&self) -> Vec<f64> {
        (0..self.nrows)
            .map(|i| self.row(i).1.iter().sum())
            .collect()
    }

    /// Each row divided by its L1 norm (rows summing to zero stay zero), as sklearn's `normalize(.., "l1")`.
    pub(crate) fn l1_normalized(&self) -> Self {
        let mut out = self.clone();
        out.rows_mut().into_par_iter().for_each(|(_, vals)| {
            let s: f64 = vals.iter().map(|v| v.abs()).sum();
            if s > 0.0 {
                vals.iter_mut().for_each(|v| *v /= s);
            }
        });
        out
    }

    /// The symmetric form `D^(-1/2) K D^(-1/2)` of a kernel (`D` its row
    /// sums, rows summing to 0 left at 0) and those row sums: the matrix
    /// similar to the diffusion operator `D^-1 K`.
    pub(crate) fn sym_normalized(&self) -> (Self, Vec<f64>) {
        let d = self.row_sums();
        let inv = inv_sqrt(&d);
        (self.scale_rows_cols(&inv, &inv), d)
    }

    /// `diag(l) * self * diag(r)`.
    pub(crate) fn scale_rows_cols(&self, l: &[f64], r: &[f64]) -> Self {
        let mut out = self.clone();
        out.rows_mut()
            .into_par_iter()
            .zip(l.par_iter())
            .for_each(|((cols, vals), &li)| {
                for (v, &j) in vals.iter_mut().zip(cols) {
                    *v *= li * r[j];
                }
            });
        out
    }

    /// `self * dense`, parallel over rows; dense columns in cache-sized blocks
    /// so the rows gathered for one output row stay in cache.
    #[must_use]
    pub fn mul_dense(&self, dense: ArrayView2<'_, f64>) -> Array2<f64> {
        let k = dense.ncols();
        let dense = dense.as_standard_layout();
        let mut out = Array2::zeros((self.nrows, k));
        let block = 256usize;
        let src = dense.as_slice().unwrap_or(&[]);
        let mut c0 = 0;
        while c0 < k {
            let c1 = (c0 + block).min(k);
            out.axis_iter_mut(Axis(0))
                .into_par_iter()
                .enumerate()
                .for_each(|(i, mut orow)| {
                    let (cols, vals) = self.row(i);
                    let o = &mut orow.as_slice_mut().unwrap_or(&mut [])[c0..c1];
                    add_scaled_rows(cols, vals, src, k, c0, o);
                });
            c0 = c1;
        }
        out
    }

    /// `self * dense` in single precision, for iterations whose accuracy is
    /// not limited by rounding (the spectral power iteration): `dense` is
    /// row-major with `k` columns, `vals` is `self`'s values as f32 (see
    /// [`Self::values_f32`], converted once for many products). Half the bytes
    /// of [`Self::mul_dense`] per gathered row: these products are bound by
    /// gathering the rows that the nonzeros point at.
    pub(crate) fn mul_dense_f32(&self, vals: &[f32], dense: &[f32], k: usize) -> Vec<f32> {
        let mut out = vec![0.0f32; self.nrows * k];
        self.mul_dense_f32_into(vals, dense, k, &mut out);
        out
    }

    /// [`Self::mul_dense_f32`] into `out` (`nrows x k`, overwritten): a
    /// power iteration alternates two buffers instead of a fresh one per
    /// product, each of which was first-touched page by page (8.8 MB and
    /// 2,150 page faults per product at 20,000 points).
    pub(crate) fn mul_dense_f32_into(
        &self,
        vals: &[f32],
        dense: &[f32],
        k: usize,
        out: &mut [f32],
    ) {
        debug_assert_eq!(vals.len(), self.data.len());
        debug_assert_eq!(dense.len(), self.ncols * k);
        debug_assert_eq!(out.len(), self.nrows * k);
        if k == 0 {
            return;
        }
        out.par_chunks_mut(k).enumerate().for_each(|(i, o)| {
            let (start, end) = (self.indptr[i], self.indptr[i + 1]);
            o.fill(0.0);
            add_scaled_rows_f32(&self.indices[start..end], &vals[start..end], dense, k, o);
        });
    }

    /// The stored values in single precision (in storage order).
    pub(crate) fn values_f32(&self) -> Vec<f32> {
        self.data.iter().map(|&v| v as f32).collect()
    }

    /// `self · other` as a dense matrix: every product PHATE forms this way
    /// (the landmark operator, its symmetric conjugate, `P Pᵀ` for the
    /// spectrum) is used dense. Row by row (Gustavson), each output row
    /// accumulated in place in its dense row (a sparse accumulator that
    /// collected every product and sorted it took most of the landmark
    /// stage). Each value sums its products in `self`'s row order, whatever
    /// the thread count.
    pub(crate) fn mul_to_dense(&self, other: &Self) -> Array2<f64> {
        let mut out = Array2::<f64>::zeros((self.nrows, other.ncols));
        out.axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .for_each(|(i, mut orow)| {
                let o = orow.as_slice_mut().unwrap_or(&mut []);
                let (c1, v1) = self.row(i);
                for (&k, &a) in c1.iter().zip(v1) {
                    let (c2, v2) = other.row(k);
                    for (&j, &b) in c2.iter().zip(v2) {
                        o[j] += a * b;
                    }
                }
            });
        out
    }
}

/// `out += sum_j vals[j] * dense[cols[j], c0..c0 + out.len()]` (`dense` row-major
/// with `k` columns): one row of a sparse-dense product. Run with AVX-512 or AVX2 where the
/// CPU has it (2.5x on the spectral vectors' products at n = 20,000); no fused
/// multiply-add, so every CPU gets the same bits.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2"))]
fn add_scaled_rows(
    cols: &[usize],
    vals: &[f64],
    dense: &[f64],
    k: usize,
    c0: usize,
    out: &mut [f64],
) {
    let width = out.len();
    for (&j, &v) in cols.iter().zip(vals) {
        let d = &dense[j * k + c0..j * k + c0 + width];
        out.iter_mut().zip(d).for_each(|(a, b)| *a += v * b);
    }
}

/// [`add_scaled_rows`] in single precision, whole rows of `k` columns.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx512bw", "x86_64+avx2"))]
fn add_scaled_rows_f32(cols: &[usize], vals: &[f32], dense: &[f32], k: usize, out: &mut [f32]) {
    for (&j, &v) in cols.iter().zip(vals) {
        let d = &dense[j * k..(j + 1) * k];
        out.iter_mut().zip(d).for_each(|(a, b)| *a += v * b);
    }
}

/// Sums runs of equal columns of a sorted row into their first entry, in
/// order.
fn sum_duplicates(row: &mut Vec<(usize, f64)>) {
    let mut kept = 0;
    for r in 0..row.len() {
        if kept > 0 && row[kept - 1].0 == row[r].0 {
            row[kept - 1].1 += row[r].1;
        } else {
            row[kept] = row[r];
            kept += 1;
        }
    }
    row.truncate(kept);
}

/// Appends the merge of two sorted sparse rows, each value times `scale`
/// (entries in both: the sum of the two scaled values).
fn merge_rows(
    (c1, v1): (&[usize], &[f64]),
    (c2, v2): (&[usize], &[f64]),
    scale: f64,
    indices: &mut Vec<usize>,
    data: &mut Vec<f64>,
) {
    let (mut p, mut q) = (0, 0);
    while p < c1.len() && q < c2.len() {
        match c1[p].cmp(&c2[q]) {
            std::cmp::Ordering::Less => {
                indices.push(c1[p]);
                data.push(v1[p] * scale);
                p += 1;
            }
            std::cmp::Ordering::Greater => {
                indices.push(c2[q]);
                data.push(v2[q] * scale);
                q += 1;
            }
            std::cmp::Ordering::Equal => {
                indices.push(c1[p]);
                data.push(v1[p] * scale + v2[q] * scale);
                p += 1;
                q += 1;
            }
        }
    }
    for (&j, &v) in c1[p..].iter().zip(&v1[p..]) {
        indices.push(j);
        data.push(v * scale);
    }
    for (&j, &v) in c2[q..].iter().zip(&v2[q..]) {
        indices.push(j);
        data.push(v * scale);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A random sparse matrix with empty rows and columns.
    fn random_csr(nrows: usize, ncols: usize, seed: u64) -> Csr {
        Csr::from_rows(ncols, random_rows(nrows, ncols, seed))
    }

    /// Random (column, value) lists, with repeated columns and empty rows.
    fn random_rows(nrows: usize, ncols: usize, seed: u64) -> Vec<Vec<(usize, f64)>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..nrows)
            .map(|i| {
                if i % 7 == 3 {
                    return Vec::new();
                }
                (0..rng.random_range(0..6))
                    .map(|_| (rng.random_range(0..ncols) / 2 * 2, rng.random::<f64>()))
                    .collect()
            })
            .collect()
    }

    /// Construction (sorted, duplicates summed), row normalisation and
    /// scaling agree with the dense forms.
    #[test]
    fn construction_and_row_operations_match_dense() {
        let (nrows, ncols) = (1030, 40);
        let rows = random_rows(nrows, ncols, 5);
        let mut dense = Array2::<f64>::zeros((nrows, ncols));
        for (i, row) in rows.iter().enumerate() {
            for &(j, v) in row {
                dense[[i, j]] += v;
            }
        }
        let a = Csr::from_rows(ncols, rows);
        let close = |x: &Array2<f64>, y: &Array2<f64>| {
            x.iter()
                .zip(y.iter())
                .all(|(p, q)| (p - q).abs() <= 1e-15 * (1.0 + q.abs()))
        };
        assert!(close(&a.to_dense(), &dense));
        for i in 0..nrows {
            assert!(
                a.row(i).0.windows(2).all(|w| w[0] < w[1]),
                "row {i} unsorted"
            );
        }
        let mut l1 = dense.clone();
        for mut r in l1.rows_mut() {
            let s: f64 = r.iter().map(|v| v.abs()).sum();
            if s > 0.0 {
                r.mapv_inplace(|v| v / s);
            }
        }
        assert!(close(&a.l1_normalized().to_dense(), &l1));
        let l: Vec<f64> = (0..nrows).map(|i| 1.0 + i as f64 * 0.01).collect();
        let r: Vec<f64> = (0..ncols).map(|j| 2.0 - j as f64 * 0.02).collect();
        let scaled = Array2::from_shape_fn((nrows, ncols), |(i, j)| dense[[i, j]] * (l[i] * r[j]));
        assert!(close(&a.scale_rows_cols(&l, &r).to_dense(), &scaled));
    }

    /// Transpose and the merged sum agree with their dense forms, over more
    /// rows than one chunk of the merge (and a partial last chunk); the
    /// merge sums entries present in both.
    #[test]
    fn transpose_and_add_scaled_match_dense() {
        for (nrows, ncols) in [(1, 1), (5, 9), (2500, 2500), (1030, 40)] {
            let a = random_csr(nrows, ncols, (nrows + ncols) as u64);
            let at = a.transpose();
            assert_eq!((at.nrows(), at.ncols()), (ncols, nrows));
            assert_eq!(at.to_dense(), a.to_dense().t());
            for i in 0..at.nrows() {
                assert!(
                    at.row(i).0.windows(2).all(|w| w[0] < w[1]),
                    "row {i} unsorted"
                );
            }
            let b = random_csr(nrows, ncols, 99);
            let sum = a.add_scaled(&b, 0.5);
            let dense = (a.to_dense() + b.to_dense()) * 0.5;
            assert_eq!(sum.to_dense(), dense);
            assert_eq!(sum.nnz(), {
                let (da, db) = (a.to_dense(), b.to_dense());
                da.iter()
                    .zip(db.iter())
                    .filter(|(x, y)| **x != 0.0 || **y != 0.0)
                    .count()
            });
        }
    }
}
