//! Surfaces and paths for ParaView: legacy VTK (structured grid, polyline)
//! and ASCII PLY meshes. Files are written atomically.
//!
//! Heights are the training loss. A point whose loss is not finite is kept
//! in the VTK grid (height 0, `finite` = 0, its `train_loss` written as
//! `nan`) and left out of the PLY mesh together with the triangles that
//! touch it; nothing is imputed.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use crate::errors::{invalid, LandscapeResult};
use crate::surface::Surface;
use crate::tables::PathPoint;

fn write_text(path: &Path, text: &str) -> LandscapeResult<()> {
    basin_store::atomic::write_atomically(path, |w| {
        w.write_all(text.as_bytes()).map_err(|source| basin_store::StoreError::Io { path: path.to_path_buf(), source })
    })?;
    Ok(())
}

fn height(loss: f64) -> f64 {
    if loss.is_finite() {
        loss
    } else {
        0.0
    }
}

/// The (x, y) of grid index (i, j) of a 1- or 2-dimensional surface.
fn xy(s: &Surface, i: usize, j: usize) -> (f32, f32) {
    (s.axes[0][i], s.axes.get(1).map_or(0.0, |a| a[j]))
}

fn check_dims(s: &Surface) -> LandscapeResult<(usize, usize)> {
    match s.shape()[..] {
        [nx] => Ok((nx, 1)),
        [nx, ny] => Ok((nx, ny)),
        _ => Err(invalid("surface", format!("{} dimensions: only 1- and 2-dimensional surfaces are exported", s.axes.len()))),
    }
}

/// A legacy-VTK `STRUCTURED_GRID` of a 1- or 2-dimensional surface: points
/// (c₁, c₂, loss) with point data `train_loss`, `train_acc` and `finite`.
///
/// # Errors
/// More than 2 dimensions; I/O errors naming the file.
pub fn write_vtk_surface(path: &Path, s: &Surface, title: &str) -> LandscapeResult<()> {
    let (nx, ny) = check_dims(s)?;
    let mut t = format!("# vtk DataFile Version 3.0\n{}\nASCII\nDATASET STRUCTURED_GRID\nDIMENSIONS {nx} {ny} 1\nPOINTS {} double\n", title.replace('\n', " "), nx * ny);
    // VTK orders points with x fastest; the surface stores its first axis slowest.
    let order: Vec<usize> = (0..ny).flat_map(|j| (0..nx).map(move |i| (i, j))).map(|(i, j)| if s.axes.len() == 2 { s.index(&[i, j]) } else { i }).collect();
    for (k, &p) in order.iter().enumerate() {
        let (x, y) = xy(s, k % nx, k / nx);
        let _ = writeln!(t, "{x} {y} {}", height(s.train_loss[p]));
    }
    let _ = write!(t, "POINT_DATA {}\nSCALARS train_loss double 1\nLOOKUP_TABLE default\n", nx * ny);
    for &p in &order {
        let v = s.train_loss[p];
        let _ = writeln!(t, "{}", if v.is_finite() { v.to_string() } else { "nan".into() });
    }
    t.push_str("SCALARS train_acc double 1\nLOOKUP_TABLE default\n");
    for &p in &order {
        let _ = writeln!(t, "{}", s.train_acc[p]);
    }
    t.push_str("SCALARS finite int 1\nLOOKUP_TABLE default\n");
    for &p in &order {
        let _ = writeln!(t, "{}", u8::from(s.train_loss[p].is_finite()));
    }
    write_text(path, &t)
}

/// An ASCII PLY triangle mesh of a 2-dimensional surface: vertices (c₁, c₂,
/// loss) with `train_loss` and `train_acc`, two triangles per grid cell whose
/// four corners are finite.
///
/// # Errors
/// A surface that is not 2-dimensional; I/O errors naming the file.
pub fn write_ply_surface(path: &Path, s: &Surface) -> LandscapeResult<()> {
    if s.axes.len() != 2 {
        return Err(invalid("surface", "a PLY mesh needs a 2-dimensional surface"));
    }
    let (nx, ny) = check_dims(s)?;
    let mut vertex_of = vec![None; nx * ny];
    let mut vertices = String::new();
    let mut n_vertices = 0usize;
    for i in 0..nx {
        for j in 0..ny {
            let p = s.index(&[i, j]);
            if s.train_loss[p].is_finite() {
                vertex_of[p] = Some(n_vertices);
                n_vertices += 1;
                let (x, y) = xy(s, i, j);
                let _ = writeln!(vertices, "{x} {y} {} {} {}", s.train_loss[p], s.train_loss[p], s.train_acc[p]);
            }
        }
    }
    let mut faces = String::new();
    let mut n_faces = 0usize;
    for i in 0..nx.saturating_sub(1) {
        for j in 0..ny.saturating_sub(1) {
            let corners = [s.index(&[i, j]), s.index(&[i + 1, j]), s.index(&[i + 1, j + 1]), s.index(&[i, j + 1])];
            if let [Some(a), Some(b), Some(c), Some(d)] = corners.map(|p| vertex_of[p]) {
                let _ = writeln!(faces, "3 {a} {b} {c}\n3 {a} {c} {d}");
                n_faces += 2;
            }
        }
    }
    let header = format!(
        "ply\nformat ascii 1.0\ncomment basin loss surface\nelement vertex {n_vertices}\nproperty double x\nproperty double y\nproperty double z\nproperty double train_loss\nproperty double train_acc\nelement face {n_faces}\nproperty list uchar int vertex_indices\nend_header\n"
    );
    write_text(path, &(header + &vertices + &faces))
}

/// A legacy-VTK polyline (an `UNSTRUCTURED_GRID` of `VTK_LINE` segments,
/// which ParaView and meshio both read) of a projected path: points (c₁, c₂,
/// true loss) with `off_plane`, `true_loss` and `surface_loss`; points with
/// non-finite coordinates or loss are left out of the line.
///
/// # Errors
/// I/O errors naming the file.
pub fn write_vtk_path(path: &Path, points: &[PathPoint], title: &str) -> LandscapeResult<()> {
    let kept: Vec<&PathPoint> = points.iter().filter(|p| p.true_loss.is_finite() && p.coords.iter().all(|c| c.is_finite())).collect();
    let n = kept.len();
    let mut t = format!("# vtk DataFile Version 3.0\n{}\nASCII\nDATASET UNSTRUCTURED_GRID\nPOINTS {n} double\n", title.replace('\n', " "));
    for p in &kept {
        let _ = writeln!(t, "{} {} {}", p.coords.first().copied().unwrap_or(0.0), p.coords.get(1).copied().unwrap_or(0.0), p.true_loss);
    }
    if n >= 2 {
        let _ = writeln!(t, "CELLS {} {}", n - 1, 3 * (n - 1));
        for k in 0..n - 1 {
            let _ = writeln!(t, "2 {k} {}", k + 1);
        }
        let _ = writeln!(t, "CELL_TYPES {}", n - 1);
        for _ in 0..n - 1 {
            t.push_str("3\n"); // VTK_LINE
        }
    }
    let _ = writeln!(t, "POINT_DATA {n}");
    for (name, get) in [("off_plane", (|p: &PathPoint| p.off_plane) as fn(&PathPoint) -> f64), ("true_loss", |p| p.true_loss), ("surface_loss", |p| p.surface_loss)] {
        let _ = writeln!(t, "SCALARS {name} double 1\nLOOKUP_TABLE default");
        for p in &kept {
            let v = get(p);
            let _ = writeln!(t, "{}", if v.is_finite() { v.to_string() } else { "nan".into() });
        }
    }
    write_text(path, &t)
}
