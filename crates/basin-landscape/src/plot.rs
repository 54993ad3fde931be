//! Images of surfaces and paths with plotters: a heat map of the training
//! loss with contour lines (marching squares) and the projected optimizer
//! path on top, a 3D surface, and 1D loss/accuracy curves. Every image is
//! written as PNG and SVG with the shipped DejaVu Sans font.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;

use crate::errors::{LandscapeError, LandscapeResult};
use crate::surface::Surface;
use crate::tables::PathPoint;

const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const SIZE: (u32, u32) = (800, 700);
static REGISTER: Once = Once::new();

fn register_font() {
    REGISTER.call_once(|| {
        // The font is compiled in and known to parse; a failure would only
        // leave text unrendered, so it is logged, not fatal.
        if plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            tracing::warn!("the shipped font did not load; images will have no text");
        }
    });
}

fn plot_err(path: &Path, e: impl std::fmt::Display) -> LandscapeError {
    LandscapeError::Plot { path: path.to_path_buf(), reason: e.to_string() }
}

/// What an image shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    /// Heat map of log₁₀ training loss with contour lines (2D surfaces; the
    /// path is drawn on top when given).
    Contour,
    /// 3D surface of the training loss (2D surfaces).
    Surface3d,
    /// Training loss and accuracy along the axis (1D surfaces).
    Curve,
}

/// Writes `<stem>.png` and `<stem>.svg` of `figure` for surface `s`.
///
/// # Arguments
/// * `stem` — output path without extension.
/// * `s` — the surface (1D for [`Figure::Curve`], 2D otherwise).
/// * `path` — optimizer path projected on the surface's plane, if any.
/// * `title` — the caption (e.g. the net, the directions and the explained variance).
///
/// # Errors
/// [`LandscapeError::Plot`] naming the file; a surface of the wrong dimension.
pub fn write_figure(stem: &Path, figure: Figure, s: &Surface, path: Option<&[PathPoint]>, title: &str) -> LandscapeResult<()> {
    register_font();
    let dims = s.axes.len();
    let want = if figure == Figure::Curve { 1 } else { 2 };
    if dims != want {
        return Err(plot_err(stem, format!("{figure:?} needs a {want}-dimensional surface, got {dims}")));
    }
    // Appended, not `with_extension`: stems hold run ids such as `wd0.001-…`.
    let with_ext = |ext: &str| {
        let mut name = stem.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
        name.push(ext);
        stem.with_file_name(name)
    };
    let svg_path = with_ext(".svg");
    let png_path = with_ext(".png");
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw(&root, figure, s, path, title).map_err(|e| plot_err(&svg_path, e))?;
        root.present().map_err(|e| plot_err(&svg_path, e))?;
    }
    let mut rgb = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        draw(&root, figure, s, path, title).map_err(|e| plot_err(&png_path, e))?;
        root.present().map_err(|e| plot_err(&png_path, e))?;
    }
    let png = crate::png::encode_rgb(SIZE.0, SIZE.1, &rgb).map_err(|e| plot_err(&png_path, e))?;
    write_bytes(&svg_path, svg.as_bytes())?;
    write_bytes(&png_path, &png)
}

fn write_bytes(path: &Path, bytes: &[u8]) -> LandscapeResult<()> {
    basin_store::atomic::write_atomically(path, |w| {
        std::io::Write::write_all(w, bytes).map_err(|source| basin_store::StoreError::Io { path: path.to_path_buf(), source })
    })?;
    Ok(())
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, figure: Figure, s: &Surface, path: Option<&[PathPoint]>, title: &str) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    match figure {
        Figure::Contour => draw_contour(root, s, path, title),
        Figure::Surface3d => draw_3d(root, s, title),
        Figure::Curve => draw_curve(root, s, title),
    }
}

/// Range of the finite values of log₁₀ loss (losses ≤ 0 count as 1e-12).
fn log_range(s: &Surface) -> Option<(f64, f64)> {
    let logs = s.train_loss.iter().filter(|v| v.is_finite()).map(|&v| v.max(1e-12).log10());
    let (lo, hi) = logs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    (lo.is_finite() && hi.is_finite()).then_some(if hi > lo { (lo, hi) } else { (lo - 0.5, hi + 0.5) })
}

fn axis_range(a: &[f32]) -> std::ops::Range<f64> {
    f64::from(a[0])..f64::from(a[a.len() - 1])
}

fn draw_contour<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, s: &Surface, path: Option<&[PathPoint]>, title: &str) -> DrawResult<DB> {
    let (ax, ay) = (&s.axes[0], &s.axes[1]);
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(axis_range(ax), axis_range(ay))?;
    chart.configure_mesh().disable_mesh().x_desc("direction 1").y_desc("direction 2").label_style(("sans-serif", 14)).draw()?;
    let Some((lo, hi)) = log_range(s) else { return Ok(()) };
    let half = |a: &[f32], i: usize| -> (f64, f64) {
        let x = f64::from(a[i]);
        let left = if i > 0 { (x + f64::from(a[i - 1])) / 2.0 } else { x };
        let right = if i + 1 < a.len() { (x + f64::from(a[i + 1])) / 2.0 } else { x };
        (left, right)
    };
    // Heat map: one rectangle per grid point; non-finite points in grey.
    chart.draw_series((0..ax.len()).flat_map(|i| (0..ay.len()).map(move |j| (i, j))).map(|(i, j)| {
        let v = s.train_loss[s.index(&[i, j])];
        let colour = if v.is_finite() { ViridisRGB::get_color_normalized(v.max(1e-12).log10(), lo, hi) } else { RGBColor(160, 160, 160) };
        let ((x0, x1), (y0, y1)) = (half(ax, i), half(ay, j));
        Rectangle::new([(x0, y0), (x1, y1)], colour.filled())
    }))?;
    // Contour lines at evenly spaced levels of log₁₀ loss.
    for k in 1..15 {
        let level = lo + (hi - lo) * f64::from(k) / 15.0;
        chart.draw_series(marching_squares(s, level).into_iter().map(|seg| PathElement::new(seg.to_vec(), WHITE.mix(0.7).stroke_width(1))))?;
    }
    if let Some(points) = path {
        let xy: Vec<(f64, f64)> = points.iter().filter(|p| p.coords.len() >= 2 && p.coords.iter().all(|c| c.is_finite())).map(|p| (p.coords[0], p.coords[1])).collect();
        chart.draw_series(LineSeries::new(xy.clone(), RED.stroke_width(2)))?;
        chart.draw_series(xy.iter().map(|&p| Circle::new(p, 3, RED.filled())))?;
    }
    Ok(())
}

/// Segments of the iso-line `log₁₀ loss = level` through the grid, one or two
/// per cell; cells with a non-finite corner are skipped.
fn marching_squares(s: &Surface, level: f64) -> Vec<[(f64, f64); 2]> {
    let (ax, ay) = (&s.axes[0], &s.axes[1]);
    let val = |i: usize, j: usize| {
        let v = s.train_loss[s.index(&[i, j])];
        if v.is_finite() { v.max(1e-12).log10() } else { f64::NAN }
    };
    let mut out = Vec::new();
    for i in 0..ax.len().saturating_sub(1) {
        for j in 0..ay.len().saturating_sub(1) {
            // Corners counter-clockwise from (i, j).
            let c = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
            let v: Vec<f64> = c.iter().map(|&(a, b)| val(a, b)).collect();
            if v.iter().any(|x| x.is_nan()) {
                continue;
            }
            let mut cross = Vec::with_capacity(4);
            for e in 0..4 {
                let (p, q) = (e, (e + 1) % 4);
                if (v[p] < level) != (v[q] < level) {
                    let t = (level - v[p]) / (v[q] - v[p]);
                    let at = |k: usize| (f64::from(ax[c[k].0]), f64::from(ay[c[k].1]));
                    let (a, b) = (at(p), at(q));
                    cross.push((a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)));
                }
            }
            for pair in cross.chunks_exact(2) {
                out.push([pair[0], pair[1]]);
            }
        }
    }
    out
}

fn draw_3d<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, s: &Surface, title: &str) -> DrawResult<DB> {
    let (ax, ay) = (&s.axes[0], &s.axes[1]);
    let finite = s.train_loss.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() {
        return Ok(());
    }
    let hi = if hi > lo { hi } else { lo + 1.0 };
    let mut chart = ChartBuilder::on(root).caption(title, ("sans-serif", 18)).margin(12).build_cartesian_3d(axis_range(ax), lo..hi, axis_range(ay))?;
    chart.with_projection(|mut p| {
        p.yaw = 0.6;
        p.pitch = 0.4;
        p.scale = 0.85;
        p.into_matrix()
    });
    chart.configure_axes().label_style(("sans-serif", 12)).draw()?;
    let lookup = |x: f64, z: f64| {
        let i = ax.iter().position(|&v| f64::from(v) == x).unwrap_or(0);
        let j = ay.iter().position(|&v| f64::from(v) == z).unwrap_or(0);
        let v = s.train_loss[s.index(&[i, j])];
        // Non-finite points sit at the top of the box, coloured grey below.
        if v.is_finite() { v } else { hi }
    };
    let style = |y: &f64| ViridisRGB::get_color_normalized(*y, lo, hi).mix(0.9).filled();
    chart.draw_series(SurfaceSeries::xoz(ax.iter().map(|&v| f64::from(v)), ay.iter().map(|&v| f64::from(v)), lookup).style_func(&style))?;
    Ok(())
}

fn draw_curve<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, s: &Surface, title: &str) -> DrawResult<DB> {
    let ax = &s.axes[0];
    let finite: Vec<f64> = s.train_loss.iter().copied().filter(|v| v.is_finite()).collect();
    let hi = finite.iter().copied().fold(0.0f64, f64::max).max(1e-6);
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .right_y_label_area_size(50)
        .build_cartesian_2d(axis_range(ax), 0.0..hi * 1.05)?
        .set_secondary_coord(axis_range(ax), 0.0..1.0);
    chart.configure_mesh().x_desc("coefficient").y_desc("training loss").label_style(("sans-serif", 14)).draw()?;
    chart.configure_secondary_axes().y_desc("training accuracy").label_style(("sans-serif", 14)).draw()?;
    let pts = |v: &[f64]| -> Vec<(f64, f64)> { ax.iter().zip(v).filter(|(_, y)| y.is_finite()).map(|(&x, &y)| (f64::from(x), y)).collect() };
    chart.draw_series(LineSeries::new(pts(&s.train_loss), BLUE.stroke_width(2)))?;
    chart.draw_secondary_series(LineSeries::new(pts(&s.train_acc), RED.stroke_width(2)))?;
    Ok(())
}

/// Writes `<stem>.png` and `<stem>.svg` of one or more curves: the SLQ
/// spectral density (log y), a Lanczos convergence trace, a merge tree's
/// landscape profile.
///
/// # Arguments
/// * `series` — (legend, points) per curve; non-finite points are skipped.
/// * `log_y` — logarithmic y axis (values ≤ 0 are skipped).
///
/// # Errors
/// [`LandscapeError::Plot`] naming the file.
pub fn write_curves(stem: &Path, series: &[(&str, Vec<(f64, f64)>)], x_desc: &str, y_desc: &str, log_y: bool, title: &str) -> LandscapeResult<()> {
    register_font();
    let keep = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite() && (!log_y || p.1 > 0.0);
    let pts: Vec<(f64, f64)> = series.iter().flat_map(|(_, s)| s.iter().filter(keep).copied()).collect();
    if pts.is_empty() {
        return Err(plot_err(stem, "nothing finite to draw"));
    }
    let (x0, x1) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let pad = |a: f64, b: f64| if b > a { (b - a) * 0.05 } else { 0.5 };
    let (x0, x1) = (x0 - pad(x0, x1), x1 + pad(x0, x1));
    // A log axis spans at most 8 decades below the top: densities far in
    // the tails would squash the rest.
    let (y0, y1) = if log_y { ((y0 / 2.0).max(y1 * 1e-8), y1 * 2.0) } else { (y0 - pad(y0, y1), y1 + pad(y0, y1)) };
    let ranges = (x0..x1, y0..y1);
    let with_ext = |ext: &str| {
        let mut name = stem.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
        name.push(ext);
        stem.with_file_name(name)
    };
    let (svg_path, png_path) = (with_ext(".svg"), with_ext(".png"));
    let mut svg = String::new();
    draw_curves(&SVGBackend::with_string(&mut svg, SIZE).into_drawing_area(), series, x_desc, y_desc, log_y, title, &ranges)
        .map_err(|e| plot_err(&svg_path, e))?;
    let mut rgb = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
    draw_curves(&BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area(), series, x_desc, y_desc, log_y, title, &ranges)
        .map_err(|e| plot_err(&png_path, e))?;
    let png = crate::png::encode_rgb(SIZE.0, SIZE.1, &rgb).map_err(|e| plot_err(&png_path, e))?;
    write_bytes(&svg_path, svg.as_bytes())?;
    write_bytes(&png_path, &png)
}

#[allow(clippy::too_many_arguments)]
fn draw_curves<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    series: &[(&str, Vec<(f64, f64)>)],
    x_desc: &str,
    y_desc: &str,
    log_y: bool,
    title: &str,
    ranges: &(std::ops::Range<f64>, std::ops::Range<f64>),
) -> Result<(), String> {
    let (x0, x1, y0, y1) = (ranges.0.start, ranges.0.end, ranges.1.start, ranges.1.end);
    let keep = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite() && (!log_y || p.1 >= y0);
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let colours = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];
    let mut builder = ChartBuilder::on(root);
    builder.caption(title, ("sans-serif", 18)).margin(12).x_label_area_size(40).y_label_area_size(60);
    macro_rules! body {
        ($chart:expr) => {{
            let mut chart = $chart.map_err(|e| e.to_string())?;
            let y_fmt = |v: &f64| if log_y { format!("{v:.0e}") } else { format!("{v:.3}") };
            chart
                .configure_mesh()
                .x_desc(x_desc)
                .y_desc(y_desc)
                .y_label_formatter(&y_fmt)
                .label_style(("sans-serif", 14))
                .draw()
                .map_err(|e| e.to_string())?;
            for (k, (name, s)) in series.iter().enumerate() {
                let c = colours[k % colours.len()];
                chart
                    .draw_series(LineSeries::new(s.iter().filter(keep).copied(), c.stroke_width(2)))
                    .map_err(|e| e.to_string())?
                    .label(*name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
            }
            chart.configure_series_labels().position(SeriesLabelPosition::UpperRight).background_style(WHITE.mix(0.8)).border_style(BLACK).label_font(("sans-serif", 14)).draw().map_err(|e| e.to_string())?;
        }};
    }
    if log_y {
        body!(builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale()));
    } else {
        body!(builder.build_cartesian_2d(x0..x1, y0..y1));
    }
    root.present().map_err(|e| e.to_string())
}
