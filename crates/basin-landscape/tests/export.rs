//! VTK and PLY export against golden files that meshio reads back
//! (tests/reference/check_export.py). `BASIN_BLESS=1` rewrites them.

use std::path::{Path, PathBuf};

use basin_landscape::{write_figure, write_ply_surface, write_vtk_path, write_vtk_surface, Figure, PathPoint, Surface};

/// loss = 1 + x² + 2y² on a 3 × 2 grid, with one non-finite point.
fn surface() -> Surface {
    let ax = vec![-1.0f32, 0.0, 1.0];
    let ay = vec![-0.5f32, 0.5];
    let mut s = Surface { axes: vec![ax.clone(), ay.clone()], coords: vec![], train_loss: vec![], train_acc: vec![] };
    for &x in &ax {
        for &y in &ay {
            s.coords.push(vec![x, y]);
            s.train_loss.push(1.0 + f64::from(x * x) + 2.0 * f64::from(y * y));
            s.train_acc.push(0.25);
        }
    }
    s.train_loss[5] = f64::INFINITY; // (x, y) = (1, 0.5)
    s
}

fn path() -> Vec<PathPoint> {
    vec![
        PathPoint { epoch: 0, coords: vec![-0.8, 0.4], off_plane: 0.1, true_loss: 2.0, surface_loss: 1.9 },
        PathPoint { epoch: 1, coords: vec![f64::NAN, f64::NAN], off_plane: f64::NAN, true_loss: f64::NAN, surface_loss: f64::NAN },
        PathPoint { epoch: 2, coords: vec![0.0, 0.0], off_plane: 0.0, true_loss: 1.0, surface_loss: 1.0 },
    ]
}

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference").join(name)
}

fn check(written: &Path, name: &str) {
    let got = std::fs::read_to_string(written).unwrap();
    if std::env::var_os("BASIN_BLESS").is_some() {
        std::fs::write(golden(name), &got).unwrap();
    }
    assert_eq!(got, std::fs::read_to_string(golden(name)).unwrap(), "{name} differs from its golden file");
}

#[test]
fn vtk_and_ply_match_their_golden_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = surface();
    write_vtk_surface(&dir.path().join("s.vtk"), &s, "test surface").unwrap();
    check(&dir.path().join("s.vtk"), "export_surface.vtk");
    write_ply_surface(&dir.path().join("s.ply"), &s).unwrap();
    check(&dir.path().join("s.ply"), "export_surface.ply");
    write_vtk_path(&dir.path().join("p.vtk"), &path(), "test path").unwrap();
    check(&dir.path().join("p.vtk"), "export_path.vtk");
    // The non-finite vertex (1, 0.5) and the cell it touches are left out.
    let ply = std::fs::read_to_string(dir.path().join("s.ply")).unwrap();
    assert!(ply.contains("element vertex 5\n") && ply.contains("element face 2\n"), "{ply}");
}

#[test]
fn figures_are_written_as_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let s = surface();
    // A stem with dots (run ids such as `wd0.001-…`) keeps them.
    let stem = dir.path().join("wd0.001-net.surface");
    write_figure(&stem, Figure::Contour, &s, Some(&path()), "contour").unwrap();
    let png = std::fs::read(dir.path().join("wd0.001-net.surface.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(std::fs::read_to_string(dir.path().join("wd0.001-net.surface.svg")).unwrap().starts_with("<svg"));
    write_figure(&stem, Figure::Surface3d, &s, None, "3d").unwrap();
    // A 2D surface has no 1D curve.
    assert!(write_figure(&stem, Figure::Curve, &s, None, "curve").is_err());
}
