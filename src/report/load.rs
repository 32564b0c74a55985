//! Load results rendered for people: the one-screen summary, `report.html` (from
//! `templates/load.html`, with its SVG chart over time) and the `compare` table of load runs.
//!
//! The results themselves, their file and the merge of shards are `crate::load::results`'s; this
//! module only renders them.

use super::{ReportError, render_template};
use crate::load::ledger::{Affected, Kind};
use crate::load::results::{LoadReport, Second};
use serde::Serialize;
use std::fmt::Write as _;

impl LoadReport {
    /// The one-screen summary: settings, the ledger, percentiles, and the first affected
    /// operations of each failing kind.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let s = &self.settings;
        let pacing = match (s.rate, s.concurrency) {
            (Some(r), _) => format!("rate {r:.0}/s"),
            (_, Some(c)) => format!("concurrency {c}"),
            _ => "-".into(),
        };
        let _ = writeln!(
            out,
            "load on {} ({}): {} agents, {pacing}, shared {}, {:.1}s, {} scenarios{}",
            self.target_name,
            self.target_url,
            s.agents,
            s.shared,
            self.wall_secs,
            s.scenarios,
            s.shard
                .as_ref()
                .map(|k| format!(", shard {k}"))
                .unwrap_or_default()
        );
        let l = &self.ledger;
        let _ = writeln!(
            out,
            "operations: {} ({:.0}/s checked)",
            l.operations,
            self.ops_per_sec()
        );
        let _ = writeln!(
            out,
            "ledger: notified-once {}  lost {}  duplicated {}  crossed {}  late {}  wrong {}",
            l.notified_once, l.lost, l.duplicated, l.crossed, l.late, l.wrong
        );
        let _ = writeln!(
            out,
            "read-your-writes: {} interactions checked, {} mismatched{}",
            self.read_your_writes.checked,
            self.read_your_writes.mismatched,
            match self.read_your_writes.unread {
                0 => String::new(),
                n => format!(", {n} unread (transport faults)"),
            }
        );
        let _ = writeln!(
            out,
            "{:<28} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "latency (ms)", "p50", "p90", "p99", "p99.9", "max"
        );
        for (name, p) in [
            ("HTTP round trip", &self.percentiles.http),
            ("operation → notification", &self.percentiles.notification),
        ] {
            let _ = writeln!(
                out,
                "{name:<28} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
                p.p50_ms, p.p90_ms, p.p99_ms, p.p999_ms, p.max_ms
            );
        }
        if self.seconds.len() > 1 {
            let worst = self
                .seconds
                .iter()
                .map(|s| (s.second, s.notification.percentiles().p99_ms))
                .fold((0, 0.0), |a, b| if b.1 > a.1 { b } else { a });
            let _ = writeln!(
                out,
                "per second: {} seconds in load.json; worst notification p99 {:.2} ms in second {}",
                self.seconds.len(),
                worst.1,
                worst.0
            );
        }
        for kind in Kind::ALL.into_iter().filter(|k| *k != Kind::NotifiedOnce) {
            let of_kind: Vec<&Affected> = self.affected.iter().filter(|a| a.kind == kind).collect();
            if of_kind.is_empty() {
                continue;
            }
            let _ = writeln!(out, "{} ({}):", kind.name(), l.get(kind));
            for a in of_kind.iter().take(5) {
                let _ = writeln!(
                    out,
                    "  op {} {} on {} ({}), second {}: {}",
                    a.op,
                    a.scenario,
                    a.interaction,
                    a.agent,
                    a.second,
                    crate::util::truncate(&a.detail, 200)
                );
            }
            if of_kind.len() > 5 {
                let _ = writeln!(out, "  … {} more in load.json", of_kind.len() - 5);
            }
        }
        for p in self.stream_problems.iter().take(5) {
            let _ = writeln!(out, "stream: {p}");
        }
        for media in &self.left_out {
            let _ = writeln!(out, "not loaded: {media}");
        }
        let verdict = if self.fails() {
            format!(
                "FAIL: {} operations lost, crossed, duplicated or wrong",
                l.failing()
            )
        } else {
            "PASS: no operation lost, crossed, duplicated or wrong".to_string()
        };
        let _ = writeln!(out, "{verdict}");
        out
    }
}

/// The page template, beside the suite report's.
const HTML_TEMPLATE: &str = include_str!("templates/load.html");

/// Affected operations shown in `report.html` (all are in `load.json`).
const HTML_AFFECTED: usize = 200;

#[derive(Serialize)]
struct ChartMark {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    second: u64,
    count: u64,
}

#[derive(Serialize)]
struct Tick {
    x: f64,
    label: u64,
}

/// The chart's geometry, computed here so the template only places numbers.
#[derive(Serialize)]
struct Chart {
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    plot_width: f64,
    plot_height: f64,
    throughput: String,
    p99: String,
    max_throughput: String,
    max_p99: String,
    failures: Vec<ChartMark>,
    ticks: Vec<Tick>,
}

fn chart(seconds: &[Second]) -> Chart {
    let (width, height, left, top, bottom, right_pad) = (760.0, 280.0, 40.0, 24.0, 28.0, 40.0);
    let plot_width: f64 = width - left - right_pad;
    let plot_height: f64 = height - top - bottom;
    let n = seconds.len().max(1) as f64;
    let step = plot_width / n;
    let x = |i: usize| left + step * (i as f64 + 0.5);
    let throughput: Vec<f64> = seconds.iter().map(|s| s.ledger.operations as f64).collect();
    let p99: Vec<f64> = seconds
        .iter()
        .map(|s| s.notification.percentiles().p99_ms)
        .collect();
    let max_t = throughput.iter().cloned().fold(1.0, f64::max);
    let max_p = p99.iter().cloned().fold(0.001, f64::max);
    let y = |v: f64, max: f64| top + plot_height - plot_height * (v / max);
    let line = |values: &[f64], max: f64| {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v, max)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let max_failing = seconds
        .iter()
        .map(|s| s.ledger.failing())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let failures = seconds
        .iter()
        .enumerate()
        .filter(|(_, s)| s.ledger.failing() > 0)
        .map(|(i, s)| {
            let count = s.ledger.failing();
            // At least a few pixels, so one failure in a second still shows.
            let h = (plot_height * 0.3 * count as f64 / max_failing).max(4.0);
            ChartMark {
                x: left + step * i as f64 + step * 0.2,
                y: top + plot_height - h,
                w: step * 0.6,
                h,
                second: s.second,
                count,
            }
        })
        .collect();
    let every = (seconds.len() / 10).max(1);
    let ticks = seconds
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(i, s)| Tick {
            x: x(i),
            label: s.second,
        })
        .collect();
    Chart {
        width,
        height,
        left,
        right: left + plot_width,
        top,
        plot_width,
        plot_height,
        throughput: line(&throughput, max_t),
        p99: line(&p99, max_p),
        max_throughput: format!("{max_t:.0}"),
        max_p99: format!("{max_p:.1}"),
        failures,
        ticks,
    }
}

impl LoadReport {
    /// `report.html` of a load: the verdict, the ledger, the percentiles, an inline SVG chart
    /// over time (throughput, notification p99, failing operations), the affected operations.
    /// No script; every string is autoescaped.
    pub fn html(&self) -> Result<String, ReportError> {
        let kinds: Vec<serde_json::Value> = Kind::ALL
            .iter()
            .map(|k| {
                serde_json::json!({"name": k.name(), "count": self.ledger.get(*k), "fails": k.fails()})
            })
            .collect();
        let summary = self.summary();
        let settings = summary.lines().next().unwrap_or_default().to_string();
        let verdict = summary.lines().last().unwrap_or_default().to_string();
        let shown = self.affected.len().min(HTML_AFFECTED);
        let context = serde_json::json!({
            "title": format!("Load: {}", self.target_name),
            "fails": self.fails(),
            "verdict": verdict,
            "settings": settings,
            "kinds": kinds,
            "rw_checked": self.read_your_writes.checked,
            "rw_mismatched": self.read_your_writes.mismatched,
            "rw_unread": self.read_your_writes.unread,
            "latency": [
                {"name": "HTTP round trip", "p": self.percentiles.http},
                {"name": "operation → notification", "p": self.percentiles.notification},
            ],
            "chart": chart(&self.seconds),
            "affected": &self.affected[..shown],
            "more_affected": (self.affected.len() - shown) as u64 + self.affected_not_listed,
            "stream_problems": self.stream_problems,
        });
        render_template("load.html", HTML_TEMPLATE, &context, |_| {})
    }
}

/// Load results side by side (`compare` on directories holding `load.json`): one row per run,
/// with the load it was under, the loss rate and the failing kinds, and the latencies, so that
/// targets are compared at the same load. Markdown, like `compare`'s suite table.
pub fn compare_markdown(runs: &[(String, LoadReport)]) -> String {
    let mut out = String::from("# Load comparison\n\n");
    out.push_str("| run | target | agents | load | ops/s | lost | loss rate | crossed | duplicated | wrong | late | HTTP p99 ms | notification p50 ms | p99 ms | p99.9 ms | max ms |\n");
    out.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (label, r) in runs {
        let l = &r.ledger;
        let s = &r.settings;
        let load = match (s.rate, s.concurrency) {
            (Some(rate), _) => format!("rate {rate:.0}/s"),
            (_, Some(c)) => format!("{c} in flight"),
            _ => "-".into(),
        };
        let loss = if l.operations > 0 {
            format!("{:.4}%", l.lost as f64 * 100.0 / l.operations as f64)
        } else {
            "-".into()
        };
        let n = &r.percentiles.notification;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {load}{} | {:.0} | {} | {loss} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            label.replace('|', "\\|"),
            r.target_name.replace('|', "\\|"),
            s.agents,
            if s.shared > 1 {
                format!(", shared {}", s.shared)
            } else {
                String::new()
            },
            r.ops_per_sec(),
            l.lost,
            l.crossed,
            l.duplicated,
            l.wrong,
            l.late,
            r.percentiles.http.p99_ms,
            n.p50_ms,
            n.p99_ms,
            n.p999_ms,
            n.max_ms
        );
    }
    out
}
