//! Image augmentation: random shifts (zero padding) and horizontal flips.

use ndarray::ArrayViewMut2;
use rand::Rng;

use crate::dataset::ImageShape;

/// Augments a batch in place: each image is shifted by a random offset in
/// `-max_shift..=max_shift` pixels along both axes (pixels shifted in are
/// zero, the background of digit images) and, when `hflip`, mirrored left to
/// right with probability ½. Flips make no sense for digits, so the pipelines
/// only turn them on for natural images (CIFAR-10).
///
/// Rows of `batch` are images flattened in `C × H × W` order.
///
/// # Example
/// ```
/// use basin_data::{augment::augment_batch, rng::stream, ImageShape};
/// use ndarray::Array2;
/// let mut batch = Array2::<f32>::ones((4, 16));
/// augment_batch(&mut batch.view_mut(), ImageShape { channels: 1, height: 4, width: 4 }, 1, false, &mut stream(0, "augment"));
/// assert!(batch.iter().all(|&v| v == 0.0 || v == 1.0));
/// ```
pub fn augment_batch<R: Rng + ?Sized>(
    batch: &mut ArrayViewMut2<'_, f32>,
    shape: ImageShape,
    max_shift: usize,
    hflip: bool,
    rng: &mut R,
) {
    let (h, w) = (shape.height, shape.width);
    let mut scratch = vec![0.0f32; shape.len()];
    // Drawn as i64: rand 0.9 samples no platform-sized integers, which keeps
    // the stream identical on 32- and 64-bit machines.
    let max = max_shift as i64;
    for mut row in batch.rows_mut() {
        let dy = if max > 0 { rng.random_range(-max..=max) as isize } else { 0 };
        let dx = if max > 0 { rng.random_range(-max..=max) as isize } else { 0 };
        let flip = hflip && rng.random_bool(0.5);
        if dy == 0 && dx == 0 && !flip {
            continue;
        }
        scratch.iter_mut().for_each(|v| *v = 0.0);
        for c in 0..shape.channels {
            for y in 0..h {
                let sy = y as isize - dy;
                if sy < 0 || sy >= h as isize {
                    continue;
                }
                for x in 0..w {
                    let xx = if flip { w - 1 - x } else { x };
                    let sx = xx as isize - dx;
                    if sx < 0 || sx >= w as isize {
                        continue;
                    }
                    let src = (c * h + sy as usize) * w + sx as usize;
                    scratch[(c * h + y) * w + x] = row[src];
                }
            }
        }
        for (dst, &v) in row.iter_mut().zip(&scratch) {
            *dst = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;
    use ndarray::Array2;

    #[test]
    fn flip_only_mirrors_rows() {
        let shape = ImageShape { channels: 1, height: 2, width: 3 };
        let mut batch = Array2::from_shape_vec((1, 6), vec![1., 2., 3., 4., 5., 6.]).unwrap();
        // Draw until the coin says flip; with max_shift 0 only the flip is random.
        let mut rng = stream(1, "augment");
        loop {
            let mut b = batch.clone();
            augment_batch(&mut b.view_mut(), shape, 0, true, &mut rng);
            if b != batch {
                assert_eq!(b.as_slice().unwrap(), &[3., 2., 1., 6., 5., 4.]);
                break;
            }
        }
        augment_batch(&mut batch.view_mut(), shape, 0, false, &mut rng);
        assert_eq!(batch.as_slice().unwrap(), &[1., 2., 3., 4., 5., 6.]);
    }

    #[test]
    fn shift_keeps_mass_or_loses_border() {
        let shape = ImageShape { channels: 1, height: 5, width: 5 };
        let mut img = vec![0.0f32; 25];
        img[12] = 1.0; // centre pixel survives any shift of at most 2
        let mut batch = Array2::from_shape_vec((1, 25), img).unwrap();
        augment_batch(&mut batch.view_mut(), shape, 2, false, &mut stream(5, "augment"));
        assert!((batch.sum() - 1.0).abs() < 1e-6);
    }
}
