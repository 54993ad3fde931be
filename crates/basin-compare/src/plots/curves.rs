//! Loss curves of the jumps: training loss against retraining epoch.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{err, finite_range, font, Figure, PALETTE};

/// One panel per net; one line per jump, coloured by step size.
#[derive(Debug, Clone, PartialEq)]
pub struct JumpCurves {
    /// Figure title.
    pub title: String,
    /// (panel title, lines) per net; a line is (step size, [(epoch, loss)]).
    pub panels: Vec<(String, Vec<(f64, Vec<(f64, f64)>)>)>,
    /// Panels per row.
    pub columns: usize,
    /// Label of the y axis.
    pub y_label: String,
}

impl Figure for JumpCurves {
    fn size(&self) -> (u32, u32) {
        let rows = self.panels.len().div_ceil(self.columns.max(1)).max(1);
        (320 * self.columns.max(1) as u32, 60 + 260 * rows as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let mut steps: Vec<f64> = self.panels.iter().flat_map(|p| p.1.iter().map(|l| l.0)).collect();
        steps.sort_by(f64::total_cmp);
        steps.dedup();
        let legend = steps.iter().enumerate().map(|(i, s)| format!("step {s} = colour {}", i + 1)).collect::<Vec<_>>().join(", ");
        let body = root.titled(&format!("{} ({legend})", self.title), font(16)).map_err(err)?;
        let rows = self.panels.len().div_ceil(self.columns.max(1)).max(1);
        let areas = body.split_evenly((rows, self.columns.max(1)));
        // Losses span decades between good and poor nets: log10 on a shared axis.
        let (lo, hi) = finite_range(self.panels.iter().flat_map(|p| p.1.iter().flat_map(|l| l.1.iter().map(|q| q.1.max(1e-6).log10()))));
        let max_epoch = self.panels.iter().flat_map(|p| p.1.iter().flat_map(|l| l.1.iter().map(|q| q.0))).fold(1.0, f64::max);
        for ((title, lines), area) in self.panels.iter().zip(areas.iter()) {
            let mut chart = ChartBuilder::on(area)
                .caption(title, font(13))
                .margin(6)
                .x_label_area_size(30)
                .y_label_area_size(46)
                .build_cartesian_2d(0.0..max_epoch, lo..hi)
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_desc("epoch")
                .y_desc(format!("log10 {}", self.y_label))
                .label_style(font(10))
                .axis_desc_style(font(11))
                .y_label_formatter(&|v| format!("{v:.1}"))
                .draw()
                .map_err(err)?;
            for (step, line) in lines {
                let colour = PALETTE[steps.iter().position(|s| s == step).unwrap_or(0) % PALETTE.len()];
                let pts = line.iter().filter(|q| q.1.is_finite()).map(|&(e, l)| (e, l.max(1e-6).log10()));
                chart.draw_series(LineSeries::new(pts, colour.stroke_width(1))).map_err(err)?;
            }
        }
        Ok(())
    }
}
