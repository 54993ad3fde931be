//! PHATE embeddings of nets' trajectories, one panel per net.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{err, finite_range, font, padded, viridis, Figure};

/// What colours the points of an embedding panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColourBy {
    /// Retraining epoch (0 = the jump point).
    Epoch,
    /// Jump step size.
    StepSize,
    /// Training loss (log scale).
    Loss,
}

impl ColourBy {
    /// Name for titles and file names.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Epoch => "epoch",
            Self::StepSize => "step size",
            Self::Loss => "log10 train loss",
        }
    }
}

/// One net's embedding: points and the value that colours each.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingPanel {
    /// Panel title (the net and its test loss).
    pub title: String,
    /// (x, y, colour value) per point.
    pub points: Vec<(f64, f64, f64)>,
}

/// Panels laid out on a grid of `columns` columns (good nets first, poor nets
/// after, so that rows compare at a glance), all coloured on one scale.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingPanels {
    /// Figure title.
    pub title: String,
    /// What colours the points.
    pub colour_by: ColourBy,
    /// The panels.
    pub panels: Vec<EmbeddingPanel>,
    /// Panels per row.
    pub columns: usize,
}

impl Figure for EmbeddingPanels {
    fn size(&self) -> (u32, u32) {
        let rows = self.panels.len().div_ceil(self.columns.max(1)).max(1);
        (300 * self.columns.max(1) as u32, 60 + 290 * rows as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let (lo, hi) = finite_range(self.panels.iter().flat_map(|p| p.points.iter().map(|q| q.2)));
        let title = format!("{} — colour: {} ({lo:.2} … {hi:.2}, viridis: dark = low)", self.title, self.colour_by.name());
        let body = root.titled(&title, font(18)).map_err(err)?;
        let rows = self.panels.len().div_ceil(self.columns.max(1)).max(1);
        let areas = body.split_evenly((rows, self.columns.max(1)));
        for (panel, area) in self.panels.iter().zip(areas.iter()) {
            let xr = padded(finite_range(panel.points.iter().map(|p| p.0)));
            let yr = padded(finite_range(panel.points.iter().map(|p| p.1)));
            let mut chart = ChartBuilder::on(area)
                .caption(&panel.title, font(13))
                .margin(6)
                .x_label_area_size(22)
                .y_label_area_size(40)
                .build_cartesian_2d(xr, yr)
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_labels(4)
                .y_labels(4)
                .label_style(font(10))
                .x_label_formatter(&|v| format!("{v:.2}"))
                .y_label_formatter(&|v| format!("{v:.2}"))
                .draw()
                .map_err(err)?;
            // Draw low values last so the jump points (epoch 0, high loss) are not hidden under the retrained ones.
            let mut order: Vec<&(f64, f64, f64)> = panel.points.iter().filter(|p| p.0.is_finite() && p.1.is_finite()).collect();
            order.sort_by(|a, b| b.2.total_cmp(&a.2));
            chart
                .draw_series(order.into_iter().map(|&(x, y, c)| Circle::new((x, y), 2, viridis(c, lo, hi).filled())))
                .map_err(err)?;
        }
        Ok(())
    }
}
