//! One feature against a generalization measure, one point per net.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{err, finite_range, font, padded, Figure, PALETTE};

/// A scatter plot with the correlation in its title.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureScatter {
    /// Figure title (with the statistic).
    pub title: String,
    /// x axis label.
    pub x_label: String,
    /// y axis label.
    pub y_label: String,
    /// (x, y, group) per net; groups are coloured (e.g. label noise on/off).
    pub points: Vec<(f64, f64, usize)>,
    /// Group names, for the legend.
    pub groups: Vec<String>,
    /// Draw both axes in log10 (for positive values spanning decades; other
    /// points are left out and counted in the title).
    pub log_axes: bool,
}

impl Figure for FeatureScatter {
    fn size(&self) -> (u32, u32) {
        (640, 480)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let points: Vec<(f64, f64, usize)> = if self.log_axes {
            self.points.iter().filter(|p| p.0 > 0.0 && p.1 > 0.0).map(|&(x, y, g)| (x.log10(), y.log10(), g)).collect()
        } else {
            self.points.clone()
        };
        let left_out = self.points.len() - points.len();
        let (x_label, y_label) =
            if self.log_axes { (format!("log10 {}", self.x_label), format!("log10 {}", self.y_label)) } else { (self.x_label.clone(), self.y_label.clone()) };
        let title = if left_out > 0 { format!("{} ({left_out} non-positive left out)", self.title) } else { self.title.clone() };
        let xr = padded(finite_range(points.iter().map(|p| p.0)));
        let yr = padded(finite_range(points.iter().map(|p| p.1)));
        let mut chart = ChartBuilder::on(root)
            .caption(&title, font(15))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(xr, yr)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(&x_label)
            .y_desc(&y_label)
            .label_style(font(11))
            .axis_desc_style(font(13))
            .draw()
            .map_err(err)?;
        for (g, name) in self.groups.iter().enumerate() {
            let colour = PALETTE[g % PALETTE.len()];
            chart
                .draw_series(
                    points.iter().filter(|p| p.2 == g && p.0.is_finite() && p.1.is_finite()).map(|&(x, y, _)| Circle::new((x, y), 5, colour.filled())),
                )
                .map_err(err)?
                .label(name.clone())
                .legend(move |(x, y)| Circle::new((x, y), 5, colour.filled()));
        }
        chart.configure_series_labels().label_font(font(12)).background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(err)?;
        Ok(())
    }
}
