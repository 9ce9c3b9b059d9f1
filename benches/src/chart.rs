//! The SVG chart of `tokenstore-check bench`: p50 latency of an operation against store size, one
//! line per store (the kit's backends and any store measured through an adapter, such as the
//! official SDK stores), and for a server backend a dashed line of the same colour: the server's
//! own client doing the same operation from one connection. Both axes are logarithmic; the
//! legend sits beside the plot, so it hides no data.

use crate::measure::OpResult;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// One line of a chart: its points (size, µs), and whether it is a server's own client.
struct Line {
    label: String,
    points: Vec<(f64, f64)>,
    native: bool,
    colour: usize,
}

/// A store's points, its native client's, and that client's name.
type StorePoints<'a> = (Vec<(f64, f64)>, Vec<(f64, f64)>, Option<&'a str>);

/// The lines of `op`: each store's p50, then its native client's, by size.
fn lines(results: &[OpResult], op: &str) -> Vec<Line> {
    let mut stores: BTreeMap<&str, StorePoints> = BTreeMap::new();
    for r in results.iter().filter(|r| r.op == op) {
        let entry = stores.entry(&r.backend).or_default();
        entry.0.push((r.size as f64, r.p50_ns as f64 / 1000.0));
        if let (Some(tool), Some(ns)) = (&r.native_tool, r.native_mean_ns) {
            entry.1.push((r.size as f64, ns as f64 / 1000.0));
            entry.2 = Some(tool);
        }
    }
    let mut out = Vec::new();
    for (colour, (store, (mut points, mut native, tool))) in stores.into_iter().enumerate() {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        out.push(Line {
            label: store.to_owned(),
            points,
            native: false,
            colour,
        });
        if let Some(tool) = tool {
            native.sort_by(|a, b| a.0.total_cmp(&b.0));
            out.push(Line {
                label: format!("{store}: {tool}, 1 client"),
                points: native,
                native: true,
                colour,
            });
        }
    }
    out
}

/// Draws `op`'s p50 by size for every store in `results` into `path`.
pub fn draw(results: &[OpResult], op: &str, path: &Path) -> Result<(), String> {
    let lines = lines(results, op);
    if lines.is_empty() {
        return Err(format!("no results for {op} to chart"));
    }
    let xs = lines.iter().flat_map(|l| &l.points).map(|p| p.0);
    let ys = lines.iter().flat_map(|l| &l.points).map(|p| p.1);
    let (x_min, x_max) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    let (y_min, y_max) = ys.fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(y), b.max(y)));
    let root = SVGBackend::new(path, (1180, 580)).into_drawing_area();
    let error = |e: DrawingAreaErrorKind<_>| format!("cannot draw {}: {e}", path.display());
    root.fill(&WHITE).map_err(error)?;
    let (plot, legend) = root.split_horizontally(860);
    let mut chart = ChartBuilder::on(&plot)
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
    for line in &lines {
        let colour = Palette99::pick(line.colour).to_rgba();
        if line.native {
            chart
                .draw_series(DashedLineSeries::new(
                    line.points.clone(),
                    6,
                    4,
                    colour.stroke_width(2),
                ))
                .map_err(error)?;
        } else {
            chart
                .draw_series(LineSeries::new(line.points.clone(), colour.stroke_width(2)))
                .map_err(error)?;
            chart
                .draw_series(
                    line.points
                        .iter()
                        .map(|p| Circle::new(*p, 4, colour.filled())),
                )
                .map_err(error)?;
        }
    }
    // The legend, one row per line, in its own area beside the plot.
    for (row, line) in lines.iter().enumerate() {
        let colour = Palette99::pick(line.colour).to_rgba();
        let y = 60 + 22 * row as i32;
        let sample: Vec<(i32, i32)> = if line.native {
            vec![(8, y), (15, y)]
        } else {
            vec![(8, y), (32, y)]
        };
        legend
            .draw(&PathElement::new(sample, colour.stroke_width(2)))
            .map_err(error)?;
        if line.native {
            legend
                .draw(&PathElement::new(
                    vec![(22, y), (32, y)],
                    colour.stroke_width(2),
                ))
                .map_err(error)?;
        }
        legend
            .draw(&Text::new(
                line.label.clone(),
                (40, y - 7),
                ("sans-serif", 14).into_font(),
            ))
            .map_err(error)?;
    }
    root.present().map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(backend: &str, size: usize, p50: u64, native: Option<u64>) -> OpResult {
        OpResult {
            backend: backend.into(),
            op: "find_token/user_name".into(),
            size,
            p50_ns: p50,
            p99_ns: p50 * 2,
            floor_p50_ns: None,
            round_trip_p50_ns: None,
            samples: 10,
            native_tool: native.map(|_| "pgbench".into()),
            native_mean_ns: native,
        }
    }

    #[test]
    fn every_store_and_its_native_client_get_a_line_of_one_colour() {
        let results = [
            result("postgres", 10_000, 90_000, Some(64_000)),
            result("postgres", 1_000, 80_000, Some(60_000)),
            result("python FileStore", 1_000, 2_000_000, None),
        ];
        let lines = lines(&results, "find_token/user_name");
        let labels: Vec<&str> = lines.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "postgres",
                "postgres: pgbench, 1 client",
                "python FileStore"
            ]
        );
        assert_eq!(lines[0].colour, lines[1].colour);
        assert_ne!(lines[0].colour, lines[2].colour);
        assert_eq!(lines[0].points, [(1000.0, 80.0), (10000.0, 90.0)]);
        assert_eq!(lines[1].points, [(1000.0, 60.0), (10000.0, 64.0)]);
        assert!(lines[1].native && !lines[0].native);
    }

    #[test]
    fn the_chart_names_every_line_in_its_legend() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("chart.svg");
        let results = [
            result("postgres", 1_000, 80_000, Some(60_000)),
            result("python DBStore", 1_000, 1_400_000, None),
        ];
        draw(&results, "find_token/user_name", &file).unwrap();
        let svg = std::fs::read_to_string(&file).unwrap();
        let texts: Vec<&str> = svg
            .split("</text>")
            .filter_map(|chunk| Some(chunk.rsplit_once('>')?.1.trim()))
            .collect();
        for label in ["postgres", "postgres: pgbench, 1 client", "python DBStore"] {
            assert!(texts.contains(&label), "{label} not in {texts:?}");
        }
    }
}
