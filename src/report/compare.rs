//! Vendor comparison and run-to-run diffs over finished result directories.
//!
//! Reads only `results.json` records (never runs anything): builds the targets × scenarios
//! matrix with each cell's grade, per-target conformance per profile, latency percentiles, and
//! for cells whose grades differ, the payload difference between targets. Runs of the same
//! target are also diffed in time order: what regressed and what was fixed.

use super::json::RunRecord;
use super::terminal;
use crate::result::{Grade, ScenarioResult};
use crate::spec::Level;
use crate::verdict::{Profiles, profile_media};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Debug, Clone, Serialize)]
pub struct TargetColumn {
    pub name: String,
    pub url: String,
    pub started: String,
    /// Percentage of the profile's `must` scenarios (among those this run has) that passed.
    pub conformance: BTreeMap<String, Option<f64>>,
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub counts: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CompareRow {
    pub id: String,
    pub media: String,
    pub operation: String,
    pub level: String,
    /// One grade per target, `None` when that run has no result for the scenario.
    pub grades: Vec<Option<Grade>>,
    pub differs: bool,
    /// Unified diffs of each other target's notification (or findings) against the first
    /// target's, for rows whose grades differ.
    pub payload_diffs: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunChange {
    pub id: String,
    pub from: Option<Grade>,
    pub to: Option<Grade>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunToRun {
    pub target: String,
    pub from_started: String,
    pub to_started: String,
    pub regressed: Vec<RunChange>,
    pub fixed: Vec<RunChange>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub targets: Vec<TargetColumn>,
    pub rows: Vec<CompareRow>,
    pub run_to_run: Vec<RunToRun>,
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted.get(rank).copied()
}

fn passes(r: &ScenarioResult) -> bool {
    r.grade == Grade::Pass
        || (r.grade == Grade::NotApplicable
            && r.findings.iter().any(|f| f.check == "setup.optional"))
}

fn column(
    record: &RunRecord,
    profiles: &Profiles,
    groups: &BTreeMap<String, Vec<String>>,
) -> TargetColumn {
    let mut latencies: Vec<f64> = record.results.iter().filter_map(|r| r.latency_ms).collect();
    latencies.sort_by(|a, b| a.total_cmp(b));
    let conformance = profiles
        .profiles
        .iter()
        .map(|(name, profile)| {
            let media = profile_media(profile, groups);
            let required: Vec<&ScenarioResult> = record
                .results
                .iter()
                .filter(|r| r.level == Level::Must && media.contains(&r.media))
                .collect();
            let pct = (!required.is_empty()).then(|| {
                required.iter().filter(|r| passes(r)).count() as f64 * 100.0 / required.len() as f64
            });
            (name.clone(), pct)
        })
        .collect();
    TargetColumn {
        name: record.provenance.target_name.clone(),
        url: record.provenance.target_url.clone(),
        started: record.provenance.started.clone(),
        conformance,
        latency_p50_ms: percentile(&latencies, 50.0),
        latency_p95_ms: percentile(&latencies, 95.0),
        counts: record.tally.counts.clone(),
    }
}

fn payload(r: Option<&ScenarioResult>) -> String {
    match r {
        None => "(no result)\n".into(),
        Some(r) => match &r.notification {
            Some(n) => serde_json::to_string_pretty(n).unwrap_or_default() + "\n",
            None => {
                let findings: Vec<String> = r
                    .findings
                    .iter()
                    .map(|f| format!("[{}] {}", f.check, f.message))
                    .collect();
                format!(
                    "(no notification; grade {})\n{}\n",
                    r.grade.as_str(),
                    findings.join("\n")
                )
            }
        },
    }
}

fn badness(g: Option<Grade>) -> u8 {
    match g {
        Some(Grade::Pass) => 0,
        Some(Grade::NotApplicable) | Some(Grade::Informational) => 1,
        Some(Grade::Warning) | Some(Grade::Waived) | Some(Grade::Flaky) => 2,
        None | Some(Grade::Indeterminate) => 3,
        Some(Grade::CouldNotTest) => 4,
        Some(Grade::Fail) => 5,
    }
}

pub fn compare(
    records: &[RunRecord],
    profiles: &Profiles,
    groups: &BTreeMap<String, Vec<String>>,
) -> Comparison {
    let targets: Vec<TargetColumn> = records
        .iter()
        .map(|r| column(r, profiles, groups))
        .collect();
    let indexes: Vec<HashMap<&str, &ScenarioResult>> = records
        .iter()
        .map(|rec| rec.results.iter().map(|r| (r.id.as_str(), r)).collect())
        .collect();
    let mut ids: BTreeSet<(&str, &str, &str)> = BTreeSet::new();
    for rec in records {
        for r in &rec.results {
            ids.insert((r.media.as_str(), r.operation.as_str(), r.id.as_str()));
        }
    }
    let style = terminal::Style {
        color: false,
        verbose: false,
    };
    let rows = ids
        .into_iter()
        .map(|(media, operation, id)| {
            let results: Vec<Option<&ScenarioResult>> =
                indexes.iter().map(|ix| ix.get(id).copied()).collect();
            let grades: Vec<Option<Grade>> = results.iter().map(|r| r.map(|r| r.grade)).collect();
            let differs = grades.windows(2).any(|w| w[0] != w[1]);
            let payload_diffs = if differs {
                let base = payload(results[0]);
                results
                    .iter()
                    .enumerate()
                    .skip(1)
                    .filter(|(i, _)| grades[*i] != grades[0])
                    .map(|(i, r)| {
                        terminal::diff_labeled(
                            style,
                            (&targets[0].name, &base),
                            (&targets[i].name, &payload(*r)),
                        )
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let level = results
                .iter()
                .flatten()
                .next()
                .map(|r| r.level.as_str().to_string())
                .unwrap_or_default();
            CompareRow {
                id: id.to_string(),
                media: media.to_string(),
                operation: operation.to_string(),
                level,
                grades,
                differs,
                payload_diffs,
            }
        })
        .collect();
    let mut run_to_run = Vec::new();
    let mut by_target: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, rec) in records.iter().enumerate() {
        by_target
            .entry(rec.provenance.target_name.as_str())
            .or_default()
            .push(i);
    }
    for (target, mut runs) in by_target {
        runs.sort_by(|a, b| {
            records[*a]
                .provenance
                .started
                .cmp(&records[*b].provenance.started)
        });
        for pair in runs.windows(2) {
            let (old, new) = (&indexes[pair[0]], &indexes[pair[1]]);
            let all: BTreeSet<&str> = old.keys().chain(new.keys()).copied().collect();
            let mut regressed = Vec::new();
            let mut fixed = Vec::new();
            for id in all {
                let from = old.get(id).map(|r| r.grade);
                let to = new.get(id).map(|r| r.grade);
                let change = RunChange {
                    id: id.to_string(),
                    from,
                    to,
                };
                match badness(to).cmp(&badness(from)) {
                    std::cmp::Ordering::Greater => regressed.push(change),
                    std::cmp::Ordering::Less => fixed.push(change),
                    std::cmp::Ordering::Equal => {}
                }
            }
            run_to_run.push(RunToRun {
                target: target.to_string(),
                from_started: records[pair[0]].provenance.started.clone(),
                to_started: records[pair[1]].provenance.started.clone(),
                regressed,
                fixed,
            });
        }
    }
    Comparison {
        targets,
        rows,
        run_to_run,
    }
}

fn grade_text(g: Option<Grade>) -> &'static str {
    g.map_or("—", Grade::as_str)
}

/// The comparison as Markdown.
pub fn markdown(c: &Comparison) -> String {
    use super::markdown::{escape, fenced};
    use std::fmt::Write;
    let mut out = String::from("# GWS conformance comparison\n\n## Targets\n\n");
    let profiles: Vec<&String> = c
        .targets
        .first()
        .map(|t| t.conformance.keys().collect())
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "| target | {} | latency p50 | latency p95 |",
        profiles
            .iter()
            .map(|p| format!("{} %", escape(p)))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|---|{}---|---|", "---|".repeat(profiles.len()));
    let ms = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.1} ms"));
    for t in &c.targets {
        let pcts: Vec<String> = profiles
            .iter()
            .map(|p| {
                t.conformance
                    .get(*p)
                    .copied()
                    .flatten()
                    .map_or("—".into(), |v| format!("{v:.1}"))
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} ({}) | {} | {} | {} |",
            escape(&t.name),
            escape(&t.started),
            pcts.join(" | "),
            ms(t.latency_p50_ms),
            ms(t.latency_p95_ms)
        );
    }
    let _ = writeln!(out, "\n## Scenarios\n");
    let names: Vec<String> = c.targets.iter().map(|t| escape(&t.name)).collect();
    let mut current = (String::new(), String::new());
    for row in &c.rows {
        if (row.media.clone(), row.operation.clone()) != current {
            current = (row.media.clone(), row.operation.clone());
            let _ = writeln!(
                out,
                "\n### {} / {}\n",
                escape(&row.media),
                escape(&row.operation)
            );
            let _ = writeln!(out, "| scenario | level | {} |", names.join(" | "));
            let _ = writeln!(out, "|---|---|{}", "---|".repeat(names.len()));
        }
        let marker = if row.differs { " **≠**" } else { "" };
        let cells: Vec<&str> = row.grades.iter().map(|g| grade_text(*g)).collect();
        let _ = writeln!(
            out,
            "| {}{marker} | {} | {} |",
            escape(&row.id),
            row.level,
            cells.join(" | ")
        );
    }
    let differing: Vec<&CompareRow> = c.rows.iter().filter(|r| r.differs).collect();
    let _ = writeln!(out, "\n## Differences ({})\n", differing.len());
    for row in differing {
        let _ = writeln!(out, "### {}\n", escape(&row.id));
        for d in &row.payload_diffs {
            out.push_str(&fenced(d));
        }
    }
    for r in &c.run_to_run {
        let _ = writeln!(
            out,
            "\n## Run to run: {} ({} → {})\n",
            escape(&r.target),
            escape(&r.from_started),
            escape(&r.to_started)
        );
        let _ = writeln!(
            out,
            "Regressed: {}, fixed: {}\n",
            r.regressed.len(),
            r.fixed.len()
        );
        for ch in &r.regressed {
            let _ = writeln!(
                out,
                "- regressed: {} ({} → {})",
                escape(&ch.id),
                grade_text(ch.from),
                grade_text(ch.to)
            );
        }
        for ch in &r.fixed {
            let _ = writeln!(
                out,
                "- fixed: {} ({} → {})",
                escape(&ch.id),
                grade_text(ch.from),
                grade_text(ch.to)
            );
        }
    }
    out
}

/// The comparison as a self-contained HTML page (autoescaped, no scripts).
pub fn html(c: &Comparison) -> Result<String, super::ReportError> {
    super::render_template(
        "compare.html",
        include_str!("templates/compare.html"),
        c,
        |_| {},
    )
}
