//! SVG line charts (plotters, SVG backend): a [`Panel`] is one SVG file of one or more
//! charts side by side, each with a title, axis labels with units and a legend.
//!
//! ```
//! use omega_metrics::charts::{Chart, Line, Panel, render_panel};
//! let panel = Panel {
//!     id: "demo".into(),
//!     title: "Demo".into(),
//!     charts: vec![Chart {
//!         title: "Jobs per minute".into(),
//!         x_label: "machines".into(),
//!         y_label: "jobs / min".into(),
//!         log_x: true,
//!         lines: vec![Line::new("omega", 0, vec![(50.0, 3.0, None), (100.0, 6.5, None)])],
//!     }],
//! };
//! let svg = render_panel(&panel)?;
//! assert!(svg.contains("<svg") && svg.contains("Jobs per minute") && svg.contains("omega"));
//! # Ok::<(), omega_metrics::MetricsError>(())
//! ```

use plotters::prelude::*;

use crate::MetricsError;

/// Width of one chart in a panel, in pixels.
const CHART_WIDTH_PX: u32 = 560;
/// Height of a panel, in pixels.
const PANEL_HEIGHT_PX: u32 = 400;

/// Distinct colours (Tableau 10), picked by a line's colour index.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One SVG file: charts side by side under one id.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// The file stem and HTML id (`throughput` → `charts/throughput.svg`).
    pub id: String,
    /// The panel's heading in the report.
    pub title: String,
    /// Its charts, left to right.
    pub charts: Vec<Chart>,
}

/// One chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// Its title.
    pub title: String,
    /// The x axis label, with its unit.
    pub x_label: String,
    /// The y axis label, with its unit.
    pub y_label: String,
    /// A logarithmic x axis (for cell sizes and think times spanning decades).
    pub log_x: bool,
    /// The lines.
    pub lines: Vec<Line>,
}

/// One point of a line: `(x, y, Some((low, high)))`, with an optional error bar.
pub type Point = (f64, f64, Option<(f64, f64)>);

/// One line: its points, each with an optional error bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// Its legend entry.
    pub name: String,
    /// Its colour index (the same variant keeps its colour across charts).
    pub colour: usize,
    /// Its points, in x order.
    pub points: Vec<Point>,
}

impl Line {
    /// A line named `name` in colour `colour`.
    pub fn new(name: &str, colour: usize, points: Vec<Point>) -> Self {
        Self {
            name: name.to_owned(),
            colour,
            points,
        }
    }
}

/// Renders a panel as one SVG document.
pub fn render_panel(panel: &Panel) -> Result<String, MetricsError> {
    let mut svg = String::new();
    let count = panel.charts.len().max(1);
    {
        let width = CHART_WIDTH_PX * count as u32;
        let root = SVGBackend::with_string(&mut svg, (width, PANEL_HEIGHT_PX)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let areas = root.split_evenly((1, count));
        for (chart, area) in panel.charts.iter().zip(areas.iter()) {
            draw_chart(chart, area)?;
        }
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// Renders one chart as its own SVG document (the report lays charts out to fit the page).
pub fn render_chart(chart: &Chart) -> Result<String, MetricsError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (CHART_WIDTH_PX, PANEL_HEIGHT_PX))
            .into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        draw_chart(chart, &root)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

fn chart_error<E: std::fmt::Display>(e: E) -> MetricsError {
    MetricsError::Chart(e.to_string())
}

/// The range of `values` with a margin, never empty; on a log axis, positive only.
fn axis_range(values: impl Iterator<Item = f64>, log: bool, from_zero: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return if log { (1.0, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        return (lo / 1.25, hi * 1.25);
    }
    if from_zero {
        lo = lo.min(0.0);
    }
    if hi - lo < 1e-12 {
        let pad = if hi.abs() > 0.0 { hi.abs() * 0.1 } else { 1.0 };
        return (lo - pad, hi + pad);
    }
    let pad = (hi - lo) * 0.05;
    (if from_zero && lo >= 0.0 { lo } else { lo - pad }, hi + pad)
}

/// Height of one legend row under a chart, in pixels.
const LEGEND_ROW_PX: u32 = 18;
/// Legend entries side by side under a chart.
const LEGEND_COLUMNS: usize = 2;

fn draw_chart<DB: DrawingBackend>(
    chart: &Chart,
    area: &DrawingArea<DB, plotters::coord::Shift>,
) -> Result<(), MetricsError> {
    let rows = chart.lines.len().div_ceil(LEGEND_COLUMNS) as u32;
    let (_, height) = area.dim_in_pixel();
    let legend_px = (rows * LEGEND_ROW_PX + 8).min(height / 2);
    let (plot, legend) = area.split_vertically(height - legend_px);
    let xs = chart
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0));
    let ys = chart.lines.iter().flat_map(|l| {
        l.points
            .iter()
            .flat_map(|p| [Some(p.1), p.2.map(|e| e.0), p.2.map(|e| e.1)])
            .flatten()
    });
    let (x_lo, x_hi) = axis_range(xs, chart.log_x, false);
    let (y_lo, y_hi) = axis_range(ys, false, true);
    let mut builder = ChartBuilder::on(&plot);
    builder
        .caption(&chart.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(64);
    if chart.log_x {
        let mut c = builder
            .build_cartesian_2d((x_lo..x_hi).log_scale(), y_lo..y_hi)
            .map_err(chart_error)?;
        configure_mesh(&mut c, chart)?;
        draw_lines(&mut c, &chart.lines)?;
    } else {
        let mut c = builder
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
            .map_err(chart_error)?;
        configure_mesh(&mut c, chart)?;
        draw_lines(&mut c, &chart.lines)?;
    }
    draw_legend(&legend, &chart.lines)
}

fn configure_mesh<'a, DB, X>(
    c: &mut ChartContext<'a, DB, Cartesian2d<X, plotters::coord::types::RangedCoordf64>>,
    chart: &Chart,
) -> Result<(), MetricsError>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    c.configure_mesh()
        .light_line_style(RGBColor(240, 240, 240))
        .x_labels(8)
        .y_labels(8)
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .axis_desc_style(("sans-serif", 14))
        .x_label_formatter(&|x| short_number(*x))
        .y_label_formatter(&|y| short_number(*y))
        .draw()
        .map_err(chart_error)
}

/// The legend under a chart: a coloured stroke and the line's name, in columns.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    lines: &[Line],
) -> Result<(), MetricsError> {
    let (width, _) = area.dim_in_pixel();
    let column_px = (width.saturating_sub(80) / LEGEND_COLUMNS as u32) as i32;
    for (i, line) in lines.iter().enumerate() {
        let colour = PALETTE[line.colour % PALETTE.len()];
        let x = 76 + (i % LEGEND_COLUMNS) as i32 * column_px;
        let y = 4 + (i / LEGEND_COLUMNS) as i32 * LEGEND_ROW_PX as i32 + LEGEND_ROW_PX as i32 / 2;
        area.draw(&PathElement::new(
            vec![(x, y), (x + 22, y)],
            ShapeStyle::from(&colour).stroke_width(3),
        ))
        .map_err(chart_error)?;
        area.draw(&Text::new(
            line.name.clone(),
            (x + 28, y - 7),
            ("sans-serif", 13).into_font().color(&BLACK),
        ))
        .map_err(chart_error)?;
    }
    Ok(())
}

fn draw_lines<'a, DB, X>(
    c: &mut ChartContext<'a, DB, Cartesian2d<X, plotters::coord::types::RangedCoordf64>>,
    lines: &[Line],
) -> Result<(), MetricsError>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
{
    for line in lines {
        let colour = PALETTE[line.colour % PALETTE.len()];
        let style = ShapeStyle::from(&colour).stroke_width(2);
        let xy: Vec<(f64, f64)> = line.points.iter().map(|p| (p.0, p.1)).collect();
        c.draw_series(LineSeries::new(xy.clone(), style))
            .map_err(chart_error)?;
        if line.points.len() <= 60 {
            c.draw_series(xy.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                .map_err(chart_error)?;
        }
        let bars = line.points.iter().filter_map(|&(x, y, e)| {
            e.filter(|(lo, hi)| hi > lo)
                .map(|(lo, hi)| ErrorBar::new_vertical(x, lo, y, hi, colour, 6))
        });
        c.draw_series(bars).map_err(chart_error)?;
    }
    Ok(())
}

/// A tick label: few digits, thousands as `k`.
pub(crate) fn short_number(x: f64) -> String {
    let a = x.abs();
    if a == 0.0 {
        "0".to_owned()
    } else if a >= 1e6 {
        format!("{}M", trimmed(x / 1e6, 2))
    } else if a >= 10_000.0 {
        format!("{}k", trimmed(x / 1e3, 1))
    } else if a >= 0.001 {
        // Four significant digits at most, trailing zeros dropped.
        let decimals = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
        trimmed(x, decimals)
    } else {
        format!("{x:.1e}")
    }
}

/// `x` with at most `decimals` decimals, trailing zeros (and a bare point) dropped.
fn trimmed(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ranges_have_room_and_respect_log_axes() {
        assert_eq!(axis_range([2.0, 2.0].into_iter(), false, false), (1.8, 2.2));
        assert_eq!(axis_range([].into_iter(), true, false), (1.0, 10.0));
        let (lo, hi) = axis_range([0.0, 50.0, 1000.0].into_iter(), true, false);
        assert!(lo > 0.0 && lo < 50.0 && hi > 1000.0);
        assert_eq!(axis_range([0.2, 0.6].into_iter(), false, true).0, 0.0);
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(short_number(50.0), "50");
        assert_eq!(short_number(100_000.0), "100k");
        assert_eq!(short_number(0.25), "0.25");
        assert_eq!(short_number(2.5), "2.5");
        assert_eq!(short_number(0.0), "0");
        // Ticks 0.002 apart stay distinct.
        assert_eq!(short_number(0.012), "0.012");
        assert_eq!(short_number(0.014), "0.014");
        assert_eq!(short_number(1_250_000.0), "1.25M");
        assert_eq!(short_number(0.000_12), "1.2e-4");
    }

    #[test]
    fn a_panel_draws_every_chart_and_legend() {
        let chart = |title: &str| Chart {
            title: title.into(),
            x_label: "machines".into(),
            y_label: "share".into(),
            log_x: false,
            lines: vec![
                Line::new(
                    "alpha",
                    0,
                    vec![(1.0, 0.5, Some((0.4, 0.6))), (2.0, 0.7, None)],
                ),
                Line::new("beta", 1, vec![(1.0, 0.1, None)]),
            ],
        };
        let svg = render_panel(&Panel {
            id: "p".into(),
            title: "P".into(),
            charts: vec![chart("left"), chart("right")],
        })
        .unwrap();
        for text in ["left", "right", "alpha", "beta", "machines", "share"] {
            assert!(svg.contains(text), "{text} missing");
        }
        // Two colours of the palette are used.
        assert!(svg.contains("#1F77B4") && svg.contains("#FF7F0E"), "{svg}");
    }
}
