//! `report.html`: one self-contained page (figures inlined as SVG, data as
//! JSON for the explorer), rendered from `templates/report.html` by minijinja.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use minijinja::value::Serde;
use minijinja::{context, Environment, Value};
use serde::Serialize;
use serde_json::json;

use super::markdown::pct;
use super::{Findings, ReportFigure, ReportInputs, PAPER_SETS};
use crate::error::{CompareError, CompareResult};
use crate::features::step_millis;

static TEMPLATE: &str = include_str!("../../templates/report.html");

#[derive(Serialize)]
struct Headline {
    target: String,
    chance: String,
    cells: Vec<String>,
    order: String,
}

#[derive(Serialize)]
struct Net {
    run_id: String,
    rank: &'static str,
    hyper: Vec<String>,
    train_loss: String,
    train_acc: String,
    test_loss: String,
    test_acc: String,
    gen_gap: String,
}

#[derive(Serialize)]
struct Figure {
    id: String,
    caption: String,
    svg: String,
}

/// SVGs larger than this are inlined as their PNG instead: a diagram with
/// thousands of points is megabytes of SVG but a few hundred kB of PNG.
const MAX_INLINE_SVG: usize = 1_000_000;

/// The figure as HTML: its SVG, or for very large ones its PNG as a data URL.
fn inline_figure(rendered: &crate::plots::Rendered) -> CompareResult<String> {
    if rendered.svg_text.len() <= MAX_INLINE_SVG {
        return Ok(inline_svg(&rendered.svg_text));
    }
    let png = std::fs::read(&rendered.png).map_err(|source| CompareError::Io { path: rendered.png.clone(), source })?;
    Ok(format!(r#"<img alt="figure" style="max-width:100%" src="data:image/png;base64,{}">"#, BASE64.encode(png)))
}

/// The `<svg>` element of a plotters SVG document, without the XML prologue
/// (which is not allowed inside HTML).
fn inline_svg(svg: &str) -> String {
    svg.find("<svg").map_or_else(|| svg.to_owned(), |i| svg[i..].to_owned())
}

/// JSON that is safe inside a `<script>` element: `</` cannot close it.
fn script_safe(json: &str) -> String {
    json.replace("</", "<\\/")
}

/// A JSON number, with non-finite values as null (JSON has no NaN).
fn num(v: f64) -> serde_json::Value {
    if v.is_finite() {
        json!(v)
    } else {
        serde_json::Value::Null
    }
}

pub(crate) fn render(inputs: &ReportInputs, findings: &Findings, figures: &[ReportFigure]) -> CompareResult<String> {
    let hyper_names: Vec<String> = inputs.runs.first().map(|r| r.hyper.keys().cloned().collect()).unwrap_or_default();
    let mut runs: Vec<_> = inputs.runs.iter().collect();
    runs.sort_by(|a, b| a.test_loss.total_cmp(&b.test_loss));
    let nets: Vec<Net> = runs
        .iter()
        .map(|r| Net {
            run_id: r.run_id.clone(),
            rank: if findings.good.contains(&r.run_id) {
                "good"
            } else if findings.poor.contains(&r.run_id) {
                "poor"
            } else {
                ""
            },
            hyper: hyper_names.iter().map(|h| r.hyper.get(h).cloned().unwrap_or_default()).collect(),
            train_loss: format!("{:.4}", r.train_loss),
            train_acc: pct(r.train_acc),
            test_loss: format!("{:.4}", r.test_loss),
            test_acc: pct(r.test_acc),
            gen_gap: format!("{:.4}", r.gen_gap),
        })
        .collect();
    let headlines: Vec<Headline> = findings
        .headlines
        .iter()
        .map(|h| Headline {
            target: h.target.clone(),
            chance: pct(h.chance),
            cells: PAPER_SETS
                .iter()
                .map(|s| h.sets.iter().find(|x| x.0 == *s).map_or_else(|| "–".to_owned(), |(_, m, sd)| format!("{} ± {}", pct(*m), pct(*sd))))
                .collect(),
            order: h.order.join(" > "),
        })
        .collect();

    // The explorer's data: per net, every embedded point joined with its losses, and every jump curve.
    let mut points = BTreeMap::new();
    let mut curves = BTreeMap::new();
    for r in &inputs.runs {
        let losses: BTreeMap<(i64, i64, i64), (f64, f64)> = inputs
            .curves
            .get(&r.run_id)
            .map(|c| c.iter().map(|p| ((p.jump_seed, step_millis(p.step_size), p.epoch), (p.train_loss, p.test_loss))).collect())
            .unwrap_or_default();
        if let Some(emb) = inputs.embeddings.get(&r.run_id) {
            let rows: Vec<serde_json::Value> = emb
                .iter()
                .map(|p| {
                    let (tr, te) = losses.get(&(p.jump_seed, step_millis(p.step_size), p.epoch)).copied().unwrap_or((f64::NAN, f64::NAN));
                    json!([num(p.x), num(p.y), p.jump_seed, p.step_size, p.epoch, num(tr), num(te)])
                })
                .collect();
            points.insert(r.run_id.clone(), rows);
        }
        if let Some(c) = inputs.curves.get(&r.run_id) {
            let mut jumps: BTreeMap<(i64, i64), (i64, f64, Vec<(i64, f64, f64)>)> = BTreeMap::new();
            for p in c {
                jumps.entry((p.jump_seed, step_millis(p.step_size))).or_insert((p.jump_seed, p.step_size, Vec::new())).2.push((p.epoch, p.train_loss, p.test_loss));
            }
            let rows: Vec<serde_json::Value> = jumps
                .into_values()
                .map(|(seed, step, mut rows)| {
                    rows.sort_by_key(|r| r.0);
                    json!({
                        "seed": seed,
                        "step": step,
                        "epochs": rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                        "train_loss": rows.iter().map(|r| num(r.1)).collect::<Vec<_>>(),
                        "test_loss": rows.iter().map(|r| num(r.2)).collect::<Vec<_>>(),
                    })
                })
                .collect();
            curves.insert(r.run_id.clone(), rows);
        }
    }
    let default_run = runs.first().map(|r| r.run_id.clone());
    let data = json!({ "points": points, "curves": curves, "default_run": default_run });
    let data_json = serde_json::to_string(&data).map_err(|e| CompareError::Template(e.to_string()))?;

    let correlations: Vec<serde_json::Value> = findings
        .strongest
        .iter()
        .chain(findings.persistence.iter())
        .map(|c| {
            json!({
                "feature_set": c.feature_set, "feature": c.feature, "estimate": format!("{:.3}", c.estimate),
                "ci": format!("[{:.3}, {:.3}]", c.ci_low, c.ci_high), "p_value": format!("{:.3}", c.p_value), "n": c.n,
            })
        })
        .collect();
    let classifiers: Vec<serde_json::Value> = inputs
        .classifiers
        .iter()
        .map(|c| {
            json!({
                "target": c.target, "feature_set": c.feature_set, "method": c.method, "mean": pct(c.mean), "sd": pct(c.sd),
                "cv": format!("{} × {}", c.folds, c.repeats),
            })
        })
        .collect();
    let figures: Vec<Figure> = figures
        .iter()
        .map(|f| Ok(Figure { id: f.id.clone(), caption: f.caption.clone(), svg: inline_figure(&f.rendered)? }))
        .collect::<CompareResult<_>>()?;

    let mut env = Environment::new();
    env.add_template("report.html", TEMPLATE).map_err(|e| CompareError::Template(e.to_string()))?;
    let template = env.get_template("report.html").map_err(|e| CompareError::Template(e.to_string()))?;
    template
        .render(context! {
            title => inputs.title.clone(),
            version => env!("CARGO_PKG_VERSION"),
            sentences => Value::from(Serde(&findings.sentences)),
            paper_sets => PAPER_SETS,
            headlines => Value::from(Serde(&headlines)),
            hyper_names => Value::from(Serde(&hyper_names)),
            nets => Value::from(Serde(&nets)),
            figures => Value::from(Serde(&figures)),
            correlations => Value::from(Serde(&correlations)),
            classifiers => Value::from(Serde(&classifiers)),
            data_json => script_safe(&data_json),
        })
        .map_err(|e| CompareError::Template(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_prologue_is_dropped_and_scripts_cannot_be_closed() {
        assert_eq!(inline_svg("<?xml version=\"1.0\"?>\n<svg a=\"1\"></svg>"), "<svg a=\"1\"></svg>");
        assert_eq!(script_safe(r#"{"id":"</script><b>"}"#), r#"{"id":"<\/script><b>"}"#);
    }
}
