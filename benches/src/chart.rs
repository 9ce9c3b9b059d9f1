//! The SVG chart of `tokenstore-check bench`: p50 latency of a lookup against store size, one line
//! per backend, both axes logarithmic.

use crate::measure::OpResult;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Draws `op`'s p50 by size for every backend in `results` into `path`.
pub fn draw(results: &[OpResult], op: &str, path: &Path) -> Result<(), String> {
    let mut lines: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for r in results.iter().filter(|r| r.op == op) {
        lines
            .entry(&r.backend)
            .or_default()
            .push((r.size as f64, r.p50_ns as f64 / 1000.0));
    }
    if lines.is_empty() {
        return Err(format!("no results for {op} to chart"));
    }
    let xs = lines.values().flatten().map(|p| p.0);
    let ys = lines.values().flatten().map(|p| p.1);
    let (x_min, x_max) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    let (y_min, y_max) = ys.fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(y), b.max(y)));
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    let error = |e: DrawingAreaErrorKind<_>| format!("cannot draw {}: {e}", path.display());
    root.fill(&WHITE).map_err(error)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{op}: p50 latency by store size"),
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (x_min * 0.8..x_max * 1.25).log_scale(),
            (y_min * 0.5..y_max * 2.0).log_scale(),
        )
        .map_err(error)?;
    chart
        .configure_mesh()
        .x_desc("tokens in the store")
        .y_desc("p50 latency (µs)")
        .draw()
        .map_err(error)?;
    for (n, (backend, points)) in lines.into_iter().enumerate() {
        let color = Palette99::pick(n).to_rgba();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(error)?
            .label(backend)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 4, color.filled())),
            )
            .map_err(error)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(error)?;
    root.present().map_err(error)
}
