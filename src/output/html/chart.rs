//! The HTML report's charts: SVG drawn by plotters' SVG backend, inlined in the page.
//!
//! Text in a chart is escaped by the backend; labels from logs are made terminal-safe
//! first, as everywhere else.

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use crate::output::sanitize::for_terminal;

/// A chart over time's size, in CSS pixels at 100 %.
const WIDTH: u32 = 560;
const HEIGHT: u32 = 200;

const BARS: RGBColor = RGBColor(0x2f, 0x5f, 0x98);
const ALARM: RGBColor = RGBColor(0xb0, 0x2a, 0x1e);
const BASELINE: RGBColor = RGBColor(0x1a, 0x1a, 0x1a);
const AXIS: RGBColor = RGBColor(0x66, 0x66, 0x66);
const GRID: RGBColor = RGBColor(0xe3, 0xe3, 0xe3);
const TEXT: RGBColor = RGBColor(0x33, 0x33, 0x33);
const FONT: (&str, u32) = ("sans-serif", 15);
/// The highest count a chart's axis reaches.
const MOST: u64 = 1 << 50;

/// An alarm threshold drawn across a chart over time (the page's caption says whose), and
/// the buckets in which the alarm went off.
pub struct Threshold {
    pub value: u64,
    pub fired: Vec<usize>,
}

/// A column chart of `counts` per bucket of time, labelled by `label`, with `threshold`
/// drawn across it when there is one. The SVG, or why plotters could not draw it.
pub fn over_time(
    counts: &[u64],
    label: &dyn Fn(usize) -> String,
    threshold: Option<&Threshold>,
) -> Result<String, String> {
    let mut svg = String::new();
    draw_over_time(&mut svg, counts, label, threshold).map_err(|e| e.to_string())?;
    Ok(svg)
}

fn draw_over_time(
    svg: &mut String,
    counts: &[u64],
    label: &dyn Fn(usize) -> String,
    threshold: Option<&Threshold>,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let n = counts.len().max(1);
    // plotters' integer axis steps overflow near u64::MAX: no count comes close, but a
    // chart never depends on it.
    let counts: Vec<u64> = counts.iter().map(|c| (*c).min(MOST)).collect();
    let highest = counts.iter().copied().max().unwrap_or(0);
    // Room above the highest column (or the threshold) for the legend and the markers.
    let top = highest.max(threshold.map_or(0, |t| t.value)).clamp(1, MOST);
    let top = top.saturating_add(top.div_ceil(4).max(1));
    let mut chart = ChartBuilder::on(&root)
        .margin(6)
        .margin_right(14)
        .x_label_area_size(22)
        .y_label_area_size(46)
        .build_cartesian_2d(0f64..n as f64, 0u64..top)?;
    let x_label = |x: &f64| {
        let i = x.floor();
        match i >= 0.0 && i < n as f64 && (x - i).abs() < 1e-9 {
            true => label(i as usize),
            false => String::new(),
        }
    };
    let y_label = |y: &u64| y.to_string();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .axis_style(AXIS)
        .x_labels(5)
        .y_labels(5)
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .label_style(FONT.into_font().color(&TEXT))
        .draw()?;
    // Columns touch when there are many; a gap between them otherwise.
    let gap = if n > 80 { 0.0 } else { 0.12 };
    chart.draw_series(
        (counts.iter().enumerate())
            .filter(|(_, c)| **c > 0)
            .map(|(i, c)| {
                let x = i as f64;
                Rectangle::new([(x + gap, 0), (x + 1.0 - gap, *c)], BARS.filled())
            }),
    )?;
    if let Some(threshold) = threshold {
        chart.draw_series(LineSeries::new(
            [
                (0.0, threshold.value.min(MOST)),
                (n as f64, threshold.value.min(MOST)),
            ],
            ALARM.stroke_width(2),
        ))?;
        // Above the column of each period in which the alarm went off.
        chart.draw_series((threshold.fired.iter()).filter_map(|i| {
            let above = counts.get(*i)?.saturating_add(top.div_ceil(12).max(1));
            Some(TriangleMarker::new(
                (*i as f64 + 0.5, above.min(top)),
                6,
                ALARM.filled(),
            ))
        }))?;
    }
    root.present()?;
    Ok(())
}

/// One hour's count against its baseline: the mean and standard deviation of the hours before.
pub struct AgainstBaseline {
    pub label: String,
    pub count: f64,
    pub mean: f64,
    pub stddev: f64,
}

/// The most entries a baseline chart draws; the table below it lists them all.
pub const MOST_BASELINES: usize = 30;

/// Horizontal bars of each entry's count, with its baseline drawn over it: the mean as a
/// mark, one standard deviation either side as whiskers.
pub fn against_baseline(entries: &[AgainstBaseline]) -> Result<String, String> {
    let mut svg = String::new();
    draw_against_baseline(&mut svg, &entries[..entries.len().min(MOST_BASELINES)])
        .map_err(|e| e.to_string())?;
    Ok(svg)
}

fn draw_against_baseline(
    svg: &mut String,
    entries: &[AgainstBaseline],
) -> Result<(), Box<dyn std::error::Error>> {
    let n = entries.len().max(1);
    let height = 40 + 30 * n as u32;
    let root = SVGBackend::with_string(svg, (WIDTH + 160, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let finite = |v: f64| if v.is_finite() { v.max(0.0) } else { 0.0 };
    let highest = (entries.iter())
        .map(|e| finite(e.count).max(finite(e.mean) + finite(e.stddev)))
        .fold(1.0, f64::max);
    let mut chart = ChartBuilder::on(&root)
        .margin(6)
        .margin_right(18)
        .x_label_area_size(22)
        .y_label_area_size(270)
        .build_cartesian_2d(0f64..highest * 1.08, (0..n).into_segmented())?;
    let x_label = |x: &f64| match highest >= 10.0 {
        true => format!("{x:.0}"),
        false => format!("{x:.1}"),
    };
    // The first entry at the top, as in the table below the chart.
    let row = |i: usize| n - 1 - i;
    let y_label = |y: &SegmentValue<usize>| match y {
        SegmentValue::CenterOf(at) if *at < n => entries
            .get(row(*at))
            .map(|e| short(&e.label))
            .unwrap_or_default(),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .axis_style(AXIS)
        .x_labels(6)
        .y_labels(n)
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .label_style(FONT.into_font().color(&TEXT))
        .draw()?;
    // Bars a little apart: the segment of each entry, less a margin above and below.
    chart.draw_series(entries.iter().enumerate().map(|(i, e)| {
        let mut bar = Rectangle::new(
            [
                (0.0, SegmentValue::Exact(row(i))),
                (finite(e.count), SegmentValue::Exact(row(i) + 1)),
            ],
            BARS.mix(0.45).filled(),
        );
        bar.set_margin(4, 4, 0, 0);
        bar
    }))?;
    chart.draw_series(entries.iter().enumerate().map(|(i, e)| {
        let (mean, spread) = (finite(e.mean), finite(e.stddev));
        ErrorBar::new_horizontal(
            SegmentValue::CenterOf(row(i)),
            (mean - spread).max(0.0),
            mean,
            mean + spread,
            BASELINE.stroke_width(2),
            10,
        )
    }))?;
    root.present()?;
    Ok(())
}

/// A label from a log, made safe for a terminal and cut to what fits beside a chart.
fn short(text: &str) -> String {
    let safe = for_terminal(text);
    match safe.char_indices().nth(36) {
        Some((cut, _)) => format!("{}…", &safe[..cut]),
        None => safe.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_whatever_the_counts() {
        for counts in [
            vec![],
            vec![0],
            vec![0, 0, 0],
            vec![1, 2, 3],
            vec![u64::MAX / 4, 0, 7],
            (0..400).collect(),
        ] {
            let threshold = Threshold {
                value: 5,
                fired: vec![0, 2, 10_000],
            };
            for threshold in [None, Some(&threshold)] {
                let svg = over_time(&counts, &|i| format!("b{i}"), threshold).unwrap();
                assert!(svg.starts_with("<svg"), "{svg}");
                assert!(svg.trim_end().ends_with("</svg>"));
            }
        }
    }

    #[test]
    fn baselines_are_drawn_for_any_values() {
        let entry = |label: &str, count: f64, mean: f64, stddev: f64| AgainstBaseline {
            label: label.into(),
            count,
            mean,
            stddev,
        };
        let entries = [
            entry("ConsoleLogin \u{1b}[31m<script>", 40.0, 2.5, 1.2),
            entry(&"x".repeat(500), 12.0, 0.0, 0.0),
            entry("odd", f64::NAN, f64::INFINITY, -3.0),
        ];
        let svg = against_baseline(&entries).unwrap();
        assert!(
            svg.contains("ConsoleLogin \\x1b[31m&lt;script&gt;"),
            "{svg}"
        );
        assert!(!svg.contains("<script>") && !svg.contains('\u{1b}'));
        assert!(svg.contains("xxxx…"));
        assert!(against_baseline(&[]).unwrap().starts_with("<svg"));
    }
}
