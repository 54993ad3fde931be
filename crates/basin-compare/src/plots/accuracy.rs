//! Classifier accuracy per feature set (J&R against the baselines), as in the
//! layout of Horoi et al. 2022, Table 1.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{err, font, Figure, PALETTE};

/// Grouped bars: one group per target, one bar per feature set, ±1 sd.
#[derive(Debug, Clone, PartialEq)]
pub struct AccuracyBars {
    /// Figure title (names the learner).
    pub title: String,
    /// Feature sets in bar order (e.g. jr, naive, grid, scrambled).
    pub feature_sets: Vec<String>,
    /// (target, [(mean, sd) per feature set; NaN when absent], chance level).
    pub groups: Vec<(String, Vec<(f64, f64)>, f64)>,
}

impl Figure for AccuracyBars {
    fn size(&self) -> (u32, u32) {
        (180 * self.groups.len().max(2) as u32 + 120, 460)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let n_sets = self.feature_sets.len().max(1) as f64;
        let groups = self.groups.len().max(1) as f64;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, font(15))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..groups, 0.0..1.05)
            .map_err(err)?;
        let names: Vec<String> = self.groups.iter().map(|g| g.0.clone()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(self.groups.len().max(1) * 2 + 1)
            .x_label_formatter(&|x| {
                let centre = x.floor() as usize;
                if (x - centre as f64 - 0.5).abs() < 1e-6 {
                    names.get(centre).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_desc("cross-validated accuracy")
            .label_style(font(12))
            .axis_desc_style(font(13))
            .draw()
            .map_err(err)?;
        let width = 0.8 / n_sets;
        for (s, set) in self.feature_sets.iter().enumerate() {
            let colour = PALETTE[s % PALETTE.len()];
            let bars = self.groups.iter().enumerate().filter_map(|(g, (_, values, _))| {
                let (m, _) = values.get(s).copied()?;
                m.is_finite().then(|| {
                    let x0 = g as f64 + 0.1 + s as f64 * width;
                    Rectangle::new([(x0, 0.0), (x0 + width * 0.9, m)], colour.filled())
                })
            });
            chart.draw_series(bars).map_err(err)?.label(set.clone()).legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled()));
            let whiskers = self.groups.iter().enumerate().filter_map(|(g, (_, values, _))| {
                let (m, sd) = values.get(s).copied()?;
                (m.is_finite() && sd.is_finite()).then(|| {
                    let x = g as f64 + 0.1 + s as f64 * width + width * 0.45;
                    PathElement::new(vec![(x, (m - sd).max(0.0)), (x, (m + sd).min(1.05))], BLACK.stroke_width(1))
                })
            });
            chart.draw_series(whiskers).map_err(err)?;
        }
        // Chance (majority class) per target, dashed-looking thin grey line.
        chart
            .draw_series(self.groups.iter().enumerate().map(|(g, (_, _, chance))| {
                PathElement::new(vec![(g as f64 + 0.05, *chance), (g as f64 + 0.95, *chance)], RGBColor(120, 120, 120).stroke_width(2))
            }))
            .map_err(err)?
            .label("majority class")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 12, y)], RGBColor(120, 120, 120).stroke_width(2)));
        chart.configure_series_labels().label_font(font(12)).background_style(WHITE.mix(0.85)).border_style(BLACK).draw().map_err(err)?;
        Ok(())
    }
}
