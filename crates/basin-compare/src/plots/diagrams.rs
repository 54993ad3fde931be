//! Persistence diagrams and barcodes, one panel per net.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{err, font, Figure, PALETTE};

/// (dim, birth, death) triples of one net; death = +inf for essential classes.
pub type Bars = Vec<(i64, f64, f64)>;

fn finite_extent(panels: &[(String, Bars)]) -> (f64, f64) {
    let values = panels.iter().flat_map(|p| p.1.iter().flat_map(|b| [b.1, b.2])).filter(|v| v.is_finite());
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo.is_finite() && hi > lo {
        (lo, hi)
    } else if lo.is_finite() {
        (lo - 0.5, lo + 0.5)
    } else {
        (0.0, 1.0)
    }
}

/// Birth–death diagrams on shared axes; essential classes sit on the top edge.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagrams {
    /// Figure title.
    pub title: String,
    /// (panel title, pairs) per net.
    pub panels: Vec<(String, Bars)>,
    /// Panels per row.
    pub columns: usize,
}

impl Figure for Diagrams {
    fn size(&self) -> (u32, u32) {
        let rows = self.panels.len().div_ceil(self.columns.max(1)).max(1);
        (300 * self.columns.max(1) as u32, 60 + 290 * rows as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let body = root.titled(&format!("{} (blue: H0, orange: H1; top edge: never dies; each net on its own scale)", self.title), font(16)).map_err(err)?;
        let rows = self.panels.len().div_ceil(self.columns.max(1)).max(1);
        let areas = body.split_evenly((rows, self.columns.max(1)));
        for (panel, area) in self.panels.iter().zip(areas.iter()) {
            // Each net on its own scale: losses of good and poor nets differ by
            // orders of magnitude, and one shared scale flattens the good ones.
            let (title, bars) = panel;
            let (lo, hi) = finite_extent(std::slice::from_ref(panel));
            let top = hi + (hi - lo) * 0.08;
            let mut chart = ChartBuilder::on(area)
                .caption(title, font(13))
                .margin(6)
                .x_label_area_size(30)
                .y_label_area_size(46)
                .build_cartesian_2d(lo..top, lo..top)
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_desc("birth")
                .y_desc("death")
                .label_style(font(10))
                .axis_desc_style(font(11))
                .x_label_formatter(&|v| format!("{v:.2}"))
                .y_label_formatter(&|v| format!("{v:.2}"))
                .draw()
                .map_err(err)?;
            chart.draw_series(LineSeries::new([(lo, lo), (top, top)], BLACK.mix(0.4))).map_err(err)?;
            // Higher dimensions first, so the few H0 points are not hidden under H1.
            let mut order: Vec<&(i64, f64, f64)> = bars.iter().filter(|b| b.1.is_finite()).collect();
            order.sort_by(|a, b| b.0.cmp(&a.0));
            chart
                .draw_series(order.into_iter().map(|&(dim, birth, death)| {
                    let y = if death.is_finite() { death } else { top };
                    Circle::new((birth, y), 3, PALETTE[dim.clamp(0, 7) as usize].filled())
                }))
                .map_err(err)?;
        }
        Ok(())
    }
}

/// Barcodes: one horizontal bar per class, longest first, H0 then H1.
#[derive(Debug, Clone, PartialEq)]
pub struct Barcodes {
    /// Figure title.
    pub title: String,
    /// (panel title, pairs) per net.
    pub panels: Vec<(String, Bars)>,
    /// Panels per row.
    pub columns: usize,
    /// At most this many bars per net (the longest), to stay legible.
    pub max_bars: usize,
}

impl Figure for Barcodes {
    fn size(&self) -> (u32, u32) {
        let rows = self.panels.len().div_ceil(self.columns.max(1)).max(1);
        (300 * self.columns.max(1) as u32, 60 + 290 * rows as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let body = root.titled(&format!("{} (blue: H0, orange: H1; longest {} bars)", self.title, self.max_bars), font(16)).map_err(err)?;
        let rows = self.panels.len().div_ceil(self.columns.max(1)).max(1);
        let areas = body.split_evenly((rows, self.columns.max(1)));
        for (panel, area) in self.panels.iter().zip(areas.iter()) {
            let (title, bars) = panel;
            let (lo, hi) = finite_extent(std::slice::from_ref(panel));
            let right = hi + (hi - lo) * 0.08;
            let mut sorted: Vec<(i64, f64, f64)> = bars.iter().filter(|b| b.1.is_finite()).map(|&(d, b, e)| (d, b, if e.is_finite() { e } else { right })).collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0).then((b.2 - b.1).total_cmp(&(a.2 - a.1))));
            let mut kept: Vec<(i64, f64, f64)> = Vec::new();
            for dim in sorted.iter().map(|b| b.0).collect::<std::collections::BTreeSet<_>>() {
                kept.extend(sorted.iter().filter(|b| b.0 == dim).take(self.max_bars / 2).copied());
            }
            let n = kept.len().max(1) as f64;
            let mut chart = ChartBuilder::on(area)
                .caption(title, font(13))
                .margin(6)
                .x_label_area_size(30)
                .y_label_area_size(10)
                .build_cartesian_2d(lo..right, 0.0..n)
                .map_err(err)?;
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(0)
                .x_desc("filtration value")
                .label_style(font(10))
                .axis_desc_style(font(11))
                .x_label_formatter(&|v| format!("{v:.2}"))
                .draw()
                .map_err(err)?;
            chart
                .draw_series(kept.iter().enumerate().map(|(i, &(dim, birth, death))| {
                    let y = n - i as f64 - 0.5;
                    Rectangle::new([(birth, y - 0.35), (death, y + 0.35)], PALETTE[dim.clamp(0, 7) as usize].filled())
                }))
                .map_err(err)?;
        }
        Ok(())
    }
}
