//! Every figure of the comparison stage, drawn with plotters into PNG and SVG.
//!
//! The font (DejaVu Sans, `assets/`, Bitstream Vera licence) is compiled into
//! the crate and registered with plotters' `ab_glyph` backend, so figures
//! render the same on any machine and nothing needs fontconfig.
//!
//! Each figure is a plain struct holding its data and implementing
//! [`Figure`]; [`render`] draws it twice (PNG for documents, SVG for the HTML
//! report) and writes both atomically.

mod accuracy;
mod curves;
mod diagrams;
mod embedding;
mod scatter;

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::{ColorMap, ViridisRGB};

use crate::error::{CompareError, CompareResult};

pub use accuracy::AccuracyBars;
pub use curves::JumpCurves;
pub use diagrams::{Bars, Barcodes, Diagrams};
pub use embedding::{ColourBy, EmbeddingPanel, EmbeddingPanels};
pub use scatter::FeatureScatter;

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

/// Registers the shipped font under the family names plotters asks for.
fn register_font() {
    REGISTER.call_once(|| {
        for family in ["sans-serif", "serif", "monospace"] {
            for style in [FontStyle::Normal, FontStyle::Bold, FontStyle::Italic, FontStyle::Oblique] {
                // The font is a valid TrueType file compiled in; a failure here
                // would only mean text is missing, never wrong numbers.
                if plotters::style::register_font(family, style, FONT).is_err() {
                    tracing::warn!("could not register the shipped font for {family}");
                }
            }
        }
    });
}

/// A figure: its size and how to draw it on any plotters backend.
pub trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the figure on `root`.
    ///
    /// # Errors
    /// The backend's message.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// The files of one rendered figure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The PNG file.
    pub png: PathBuf,
    /// The SVG file.
    pub svg: PathBuf,
    /// The SVG document, for inlining into HTML.
    pub svg_text: String,
}

/// Draws `figure` to `<dir>/<stem>.png` and `<dir>/<stem>.svg`.
///
/// # Errors
/// [`CompareError::Plot`] with the backend's message, or an I/O error.
pub fn render(figure: &impl Figure, dir: &Path, stem: &str) -> CompareResult<Rendered> {
    register_font();
    std::fs::create_dir_all(dir).map_err(|source| CompareError::Io { path: dir.to_path_buf(), source })?;
    let png = dir.join(format!("{stem}.png"));
    let svg = dir.join(format!("{stem}.svg"));
    let plot_err = |path: &Path, reason: String| CompareError::Plot { path: path.to_path_buf(), reason };

    // PNG: drawn to a temporary name in the same directory, then renamed.
    let tmp_png = dir.join(format!(".basin-tmp-{stem}.png"));
    {
        let root = BitMapBackend::new(&tmp_png, figure.size()).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(&png, e.to_string()))?;
        figure.draw(&root).map_err(|e| plot_err(&png, e))?;
        root.present().map_err(|e| plot_err(&png, e.to_string()))?;
    }
    std::fs::rename(&tmp_png, &png).map_err(|source| CompareError::Io { path: png.clone(), source })?;

    let mut svg_text = String::new();
    {
        let root = SVGBackend::with_string(&mut svg_text, figure.size()).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(&svg, e.to_string()))?;
        figure.draw(&root).map_err(|e| plot_err(&svg, e))?;
        root.present().map_err(|e| plot_err(&svg, e.to_string()))?;
    }
    write_atomically(&svg, svg_text.as_bytes())?;
    Ok(Rendered { png, svg, svg_text })
}

/// Writes `bytes` to a temporary file beside `path` and renames it.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> CompareResult<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".basin-tmp-{name}"));
    std::fs::write(&tmp, bytes).map_err(|source| CompareError::Io { path: tmp.clone(), source })?;
    std::fs::rename(&tmp, path).map_err(|source| CompareError::Io { path: path.to_path_buf(), source })
}

/// Viridis colour of `v` within `[lo, hi]`.
pub(crate) fn viridis(v: f64, lo: f64, hi: f64) -> RGBColor {
    let h = if hi > lo { ((v - lo) / (hi - lo)).clamp(0.0, 1.0) } else { 0.5 };
    ViridisRGB.get_color(h as f32)
}

/// A fixed qualitative palette (Okabe–Ito, readable by colour-blind readers).
pub(crate) const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

/// Min and max of the finite values (0, 1 when there are none).
pub(crate) fn finite_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo.is_finite() {
        if hi > lo {
            (lo, hi)
        } else {
            (lo - 0.5, hi + 0.5)
        }
    } else {
        (0.0, 1.0)
    }
}

/// `range` widened by 5 % on each side.
pub(crate) fn padded((lo, hi): (f64, f64)) -> std::ops::Range<f64> {
    let pad = (hi - lo) * 0.05;
    (lo - pad)..(hi + pad)
}

pub(crate) fn font(size: u32) -> TextStyle<'static> {
    ("sans-serif", size).into_font().into()
}

pub(crate) fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}
