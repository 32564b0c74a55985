//! Inline SVG charts over time for the HTML reports: stacked panels sharing one time axis,
//! each a line (rates, latencies) or bars (counts of events), drawn as static markup.
//!
//! It only draws what it is given: no scripts, no styles from outside, no knowledge of where the
//! numbers come from. Every text it writes is a number or a caller's label, escaped.

use std::fmt::Write as _;

/// How a panel's values are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A polyline through the values: a quantity sampled each second.
    Line,
    /// One bar per second: events counted in it; zero draws nothing.
    Bars,
}

/// One panel: a quantity per second.
#[derive(Debug, Clone)]
pub struct Panel {
    pub title: String,
    pub unit: String,
    pub mark: Mark,
    /// The colour of the line or bars (a CSS colour the caller chose).
    pub colour: &'static str,
    /// One value per entry of the chart's `seconds`.
    pub values: Vec<f64>,
}

const WIDTH: f64 = 760.0;
const PANEL_HEIGHT: f64 = 120.0;
const GAP: f64 = 34.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 22.0;

/// The chart of `panels` over `seconds` (the x axis, one entry per value), as an `<svg>`
/// element with a `<title>` (`title`) for assistive technology.
pub fn time_chart(title: &str, seconds: &[u64], panels: &[Panel]) -> String {
    let height = TOP + panels.len() as f64 * (PANEL_HEIGHT + GAP);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="11"><title>{}</title>"#,
        escape(title)
    );
    let plot_width = WIDTH - LEFT - RIGHT;
    let first = seconds.first().copied().unwrap_or(0);
    let last = seconds.last().copied().unwrap_or(0);
    let span = (last.saturating_sub(first)).max(1) as f64;
    let x = |second: u64| LEFT + (second.saturating_sub(first)) as f64 / span * plot_width;
    for (i, panel) in panels.iter().enumerate() {
        let top = TOP + i as f64 * (PANEL_HEIGHT + GAP);
        let bottom = top + PANEL_HEIGHT;
        let peak = panel.values.iter().copied().fold(0.0_f64, f64::max);
        let scale = nice_ceiling(peak);
        let y = |v: f64| bottom - (v.max(0.0) / scale) * PANEL_HEIGHT;
        let _ = write!(
            svg,
            r##"<g class="panel" data-panel="{i}"><text x="{LEFT}" y="{:.1}" font-weight="bold">{} ({})</text><rect x="{LEFT}" y="{top:.1}" width="{plot_width:.1}" height="{PANEL_HEIGHT}" fill="none" stroke="#999"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><text x="{:.1}" y="{bottom:.1}" text-anchor="end">0</text>"##,
            top - 6.0,
            escape(&panel.title),
            escape(&panel.unit),
            LEFT - 4.0,
            top + 10.0,
            number(scale),
            LEFT - 4.0,
        );
        match panel.mark {
            Mark::Line => {
                let points: Vec<String> = seconds
                    .iter()
                    .zip(&panel.values)
                    .map(|(s, v)| format!("{:.1},{:.1}", x(*s), y(*v)))
                    .collect();
                let _ = write!(
                    svg,
                    r#"<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>"#,
                    panel.colour,
                    points.join(" ")
                );
            }
            Mark::Bars => {
                let bar = (plot_width / (span + 1.0)).clamp(1.0, 12.0);
                for (s, v) in seconds.iter().zip(&panel.values) {
                    if *v <= 0.0 {
                        continue;
                    }
                    let left = (x(*s) - bar / 2.0).max(LEFT);
                    let _ = write!(
                        svg,
                        r#"<rect x="{left:.1}" y="{:.1}" width="{bar:.1}" height="{:.1}" fill="{}"><title>second {s}: {}</title></rect>"#,
                        y(*v),
                        bottom - y(*v),
                        panel.colour,
                        number(*v)
                    );
                }
            }
        }
        let _ = write!(
            svg,
            r#"<text x="{LEFT}" y="{:.1}">{first} s</text><text x="{:.1}" y="{:.1}" text-anchor="end">{last} s</text></g>"#,
            bottom + 14.0,
            LEFT + plot_width,
            bottom + 14.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The smallest of 1, 2 or 5 times a power of ten that is at least `v` (1 for nothing), so an
/// axis ends on a round number.
fn nice_ceiling(v: f64) -> f64 {
    if !v.is_finite() || v <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * power)
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel(mark: Mark, values: Vec<f64>) -> Panel {
        Panel {
            title: "throughput <ops>".into(),
            unit: "ops/s".into(),
            mark,
            colour: "#1f77b4",
            values,
        }
    }

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(41.0), 50.0);
        assert_eq!(nice_ceiling(3000.0), 5000.0);
        assert_eq!(nice_ceiling(100.0), 100.0);
    }

    #[test]
    fn a_line_passes_through_every_second_within_its_panel() {
        let svg = time_chart(
            "t",
            &[0, 1, 2],
            &[panel(Mark::Line, vec![0.0, 50.0, 100.0])],
        );
        let points = svg
            .split("points=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap();
        let xy: Vec<(f64, f64)> = points
            .split(' ')
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect();
        assert_eq!(xy.len(), 3);
        assert_eq!(xy[0], (LEFT, TOP + PANEL_HEIGHT), "zero sits on the axis");
        assert_eq!(xy[2], (WIDTH - RIGHT, TOP), "the peak touches the top");
        assert!(xy[1].1 > TOP && xy[1].1 < TOP + PANEL_HEIGHT);
        assert!(
            svg.contains(">100<"),
            "the axis is labelled with its maximum"
        );
    }

    #[test]
    fn bars_are_drawn_only_for_seconds_with_events_and_labels_are_escaped() {
        let svg = time_chart(
            "<script>",
            &[0, 1, 2, 3],
            &[panel(Mark::Bars, vec![0.0, 2.0, 0.0, 1.0])],
        );
        assert_eq!(
            svg.matches("<rect x=").count(),
            1 + 2,
            "frame plus two bars"
        );
        assert!(svg.contains("second 1: 2") && svg.contains("second 3: 1"));
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"));
        assert!(svg.contains("throughput &lt;ops&gt; (ops/s)"));
    }
}
