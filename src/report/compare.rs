//! Vendor comparison and run-to-run diffs over finished result directories: who passes, and
//! what differs.
//!
//! Reads only `results.json` records (never runs anything). In reading order: each target's
//! verdict per profile (judged again from its results, with the reason and its blocking root
//! causes), the media × operation matrix with the targets side by side ("n/a" where nothing
//! applied), then only the scenarios whose grades differ, grouped by the root cause of the
//! worse result, each linking to its detail in the run's own `report.html`. Wire logs and
//! whole payloads stay in the runs' reports: a difference shows its changed lines only, a few
//! at most, so the size follows the number of differences, not of scenarios. Runs of the same
//! target are also diffed in time order: what regressed and what was fixed.

use super::groups::{RootCause, blocking_causes, root_causes};
use super::json::RunRecord;
use crate::result::{Grade, ScenarioResult};
use crate::spec::Suite;
use crate::verdict::{ProfileChoice, Status, count};
use serde::Serialize;
use similar::{ChangeTag, TextDiff};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Blocking root causes shown per target in the first screen (all of them are in its report).
const CAUSES_SHOWN: usize = 3;
/// Changed payload lines shown per difference; the rest are in the run's report.
const DIFF_LINES: usize = 8;
/// Characters kept of a changed payload line.
const LINE_CHARS: usize = 120;

#[derive(Debug, Clone, Serialize)]
pub struct TargetColumn {
    pub name: String,
    pub url: String,
    pub started: String,
    /// The run's `report.html`, relative to where the comparison is written, when known.
    pub report: Option<String>,
    /// The verdict of every profile of the suite, judged from this run's results.
    pub verdicts: Vec<TargetVerdict>,
    /// The root causes blocking any profile, most scenarios first, at most `CAUSES_SHOWN`.
    pub blocking_causes: Vec<CauseLine>,
    pub more_causes: usize,
    /// Percentage of the profile's applicable `must` scenarios that passed; `None` ("n/a")
    /// when none applied.
    pub conformance: BTreeMap<String, Option<f64>>,
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub counts: BTreeMap<String, usize>,
    /// The counts in the words of the terminal and the reports.
    pub counts_text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetVerdict {
    pub profile: String,
    /// `certified`, `not-certified` or `incomplete`.
    pub status: String,
    /// `CERTIFIED`, `NOT CERTIFIED`, `INCOMPLETE` (`CERTIFIED with 2 waivers`).
    pub label: String,
    /// Why, in a few words: the blocking scenarios and causes, or what is missing.
    pub reason: String,
    /// The verdict's counts of its required scenarios.
    pub counted: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CauseLine {
    pub check: String,
    pub message: String,
    /// e.g. `42 scenarios`.
    pub count_text: String,
    pub media: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MatrixRow {
    pub media: String,
    /// Per operation, one cell per target.
    pub cells: Vec<Vec<MatrixCell>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MatrixCell {
    /// `18/19` (passed of applicable), or `n/a` when no scenario applied.
    pub text: String,
    /// For colouring: `pass`, `fail` (some applicable scenario did not pass), `not-applicable`.
    pub class: String,
}

/// Differing scenarios that share the root cause of their worse result.
#[derive(Debug, Clone, Serialize)]
pub struct DiffGroup {
    pub check: String,
    pub message: String,
    pub rows: Vec<DiffRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffRow {
    pub id: String,
    pub level: String,
    /// One per target.
    pub cells: Vec<DiffCell>,
    /// Changed lines of each other target's payload against the first's, when both have one.
    pub payload: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffCell {
    /// The grade, or `—` without a result.
    pub grade: String,
    /// The scenario's detail in that run's report, when the report has it.
    pub href: Option<String>,
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
    pub operations: Vec<String>,
    pub matrix: Vec<MatrixRow>,
    /// Scenarios in any of the runs.
    pub scenarios: usize,
    /// Scenarios whose grades differ.
    pub differing: usize,
    pub differences: Vec<DiffGroup>,
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
    matches!(r.grade, Grade::Pass | Grade::Warning) || r.optional_absent()
}

/// Whether a result counts in a matrix cell or a percentage: not-applicable ones do not,
/// except those a verdict accepts (optional feature absent).
fn applies(r: &ScenarioResult) -> bool {
    r.grade != Grade::NotApplicable || r.optional_absent()
}

fn cause_line(c: &RootCause) -> CauseLine {
    CauseLine {
        check: c.check.clone(),
        message: c.message.clone(),
        count_text: count(c.count, "scenario"),
        media: c.media.clone(),
    }
}

fn column(record: &RunRecord, suite: &Suite, report: Option<String>) -> TargetColumn {
    let mut latencies: Vec<f64> = record.results.iter().filter_map(|r| r.latency_ms).collect();
    latencies.sort_by(|a, b| a.total_cmp(b));
    let mut verdicts = Vec::new();
    let mut conformance = BTreeMap::new();
    let mut blocking: BTreeSet<String> = BTreeSet::new();
    for name in suite.profiles.profiles.keys() {
        let Ok(choice) = ProfileChoice::resolve(suite, name) else {
            continue;
        };
        let v = choice.judge(suite, record.provenance.gws_version, &record.results);
        blocking.extend(v.blocking.iter().map(|(id, _)| id.clone()));
        let label = match v.status {
            Status::Certified if !v.waived.is_empty() => {
                format!("CERTIFIED with {}", count(v.waived.len(), "waiver"))
            }
            Status::Certified => "CERTIFIED".into(),
            Status::NotCertified => "NOT CERTIFIED".into(),
            Status::Incomplete => "INCOMPLETE".into(),
        };
        let reason = match v.status {
            Status::Certified => String::new(),
            Status::NotCertified => format!(
                "{}, {}",
                count(v.blocking.len(), "blocking scenario"),
                count(v.blocking_causes, "root cause")
            ),
            Status::Incomplete if !v.needs_fixtures.is_empty() => format!(
                "{} cannot be provisioned with this target",
                v.needs_fixtures.join(", ")
            ),
            Status::Incomplete => format!("{} without a result", v.missing.len()),
        };
        let required: Vec<&ScenarioResult> = record
            .results
            .iter()
            .filter(|r| r.level == crate::spec::Level::Must && choice.media.contains(&r.media))
            .filter(|r| applies(r))
            .collect();
        let pct = (!required.is_empty()).then(|| {
            required.iter().filter(|r| passes(r)).count() as f64 * 100.0 / required.len() as f64
        });
        conformance.insert(name.clone(), pct);
        verdicts.push(TargetVerdict {
            profile: name.clone(),
            status: serde_json::to_value(v.status)
                .ok()
                .and_then(|s| s.as_str().map(str::to_string))
                .unwrap_or_default(),
            label,
            reason,
            counted: v.counted(),
        });
    }
    let blocking: Vec<String> = blocking.into_iter().collect();
    let causes = blocking_causes(&record.results, &blocking);
    // From the results, not the file's tally: files written before the tally said why
    // scenarios were not applicable still count in today's words.
    let tally = super::Tally::of(&record.results);
    TargetColumn {
        name: record.provenance.target_name.clone(),
        url: record.provenance.target_url.clone(),
        started: record.provenance.started.clone(),
        report,
        verdicts,
        more_causes: causes.len().saturating_sub(CAUSES_SHOWN),
        blocking_causes: causes.iter().take(CAUSES_SHOWN).map(cause_line).collect(),
        conformance,
        latency_p50_ms: percentile(&latencies, 50.0),
        latency_p95_ms: percentile(&latencies, 95.0),
        counts: tally.counts.clone(),
        counts_text: tally.text(&[]),
    }
}

/// Changed lines of `other`'s notification against `base`'s, at most [`DIFF_LINES`], when
/// both have one.
fn payload_diff(base: Option<&ScenarioResult>, other: Option<&ScenarioResult>) -> Vec<String> {
    let (Some(a), Some(b)) = (
        base.and_then(|r| r.notification.as_ref()),
        other.and_then(|r| r.notification.as_ref()),
    ) else {
        return Vec::new();
    };
    let (a, b) = (
        serde_json::to_string_pretty(a).unwrap_or_default(),
        serde_json::to_string_pretty(b).unwrap_or_default(),
    );
    let diff = TextDiff::from_lines(&a, &b);
    let changed: Vec<String> = diff
        .iter_all_changes()
        .filter_map(|c| {
            let sign = match c.tag() {
                ChangeTag::Delete => '-',
                ChangeTag::Insert => '+',
                ChangeTag::Equal => return None,
            };
            let line: String = c
                .value()
                .trim_end_matches('\n')
                .chars()
                .take(LINE_CHARS)
                .collect();
            Some(format!("{sign}{}", super::terminal::sanitize(&line)))
        })
        .collect();
    let more = changed.len().saturating_sub(DIFF_LINES);
    let mut shown: Vec<String> = changed.into_iter().take(DIFF_LINES).collect();
    if more > 0 {
        shown.push(format!("… {more} more changed lines in the runs' reports"));
    }
    shown
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

/// Each scenario's root cause in one run: the first cause (errors first, the most common
/// first; informational ones, such as "cannot be provisioned", last) that names it.
fn causes_by_id(record: &RunRecord) -> HashMap<String, (String, String)> {
    let mut by_id = HashMap::new();
    for c in root_causes(&record.results) {
        for id in &c.scenarios {
            by_id
                .entry(id.clone())
                .or_insert_with(|| (c.check.clone(), c.message.clone()));
        }
    }
    by_id
}

/// Compares `records`; `reports` are the paths of their `report.html`, relative to where the
/// comparison is written (empty when it is not written).
pub fn compare(records: &[RunRecord], suite: &Suite, reports: &[String]) -> Comparison {
    let targets: Vec<TargetColumn> = records
        .iter()
        .enumerate()
        .map(|(i, r)| column(r, suite, reports.get(i).cloned()))
        .collect();
    let indexes: Vec<HashMap<&str, &ScenarioResult>> = records
        .iter()
        .map(|rec| rec.results.iter().map(|r| (r.id.as_str(), r)).collect())
        .collect();
    let mut media_order: Vec<String> = Vec::new();
    let mut operations: BTreeSet<String> = BTreeSet::new();
    let mut ids: BTreeSet<(&str, &str, &str)> = BTreeSet::new();
    for rec in records {
        for r in &rec.results {
            if !media_order.contains(&r.media) {
                media_order.push(r.media.clone());
            }
            operations.insert(r.operation.clone());
            ids.insert((r.media.as_str(), r.operation.as_str(), r.id.as_str()));
        }
    }
    // The media table's order (voice first), as everywhere else; unknown media after it.
    let rank = |m: &String| {
        suite
            .media
            .media
            .keys()
            .position(|k| k == m)
            .unwrap_or(usize::MAX)
    };
    media_order.sort_by_key(rank);
    let operations = super::matrix::in_documented_order(operations);
    let matrix = media_order
        .iter()
        .map(|m| MatrixRow {
            media: m.clone(),
            cells: operations
                .iter()
                .map(|o| records.iter().map(|rec| matrix_cell(rec, m, o)).collect())
                .collect(),
        })
        .collect();
    let causes: Vec<HashMap<String, (String, String)>> = records.iter().map(causes_by_id).collect();
    let mut groups: BTreeMap<(String, String), (u8, Vec<DiffRow>)> = BTreeMap::new();
    let scenarios = ids.len();
    for (_, _, id) in ids {
        if let Some((cause, worst, row)) = differing(id, &indexes, &causes, &targets) {
            let group = groups.entry(cause).or_default();
            group.0 = group.0.max(worst);
            group.1.push(row);
        }
    }
    // Failures before what could not be tested or provisioned; larger groups first.
    let mut ranked: Vec<(u8, DiffGroup)> = groups
        .into_iter()
        .map(|((check, message), (worst, rows))| {
            (
                worst,
                DiffGroup {
                    check,
                    message,
                    rows,
                },
            )
        })
        .collect();
    ranked.sort_by(|(a, ga), (b, gb)| b.cmp(a).then(gb.rows.len().cmp(&ga.rows.len())));
    let differences: Vec<DiffGroup> = ranked.into_iter().map(|(_, g)| g).collect();
    let differing = differences.iter().map(|g| g.rows.len()).sum();
    Comparison {
        targets,
        operations,
        matrix,
        scenarios,
        differing,
        differences,
        run_to_run: run_to_run(records, &indexes),
    }
}

/// One cell of the side-by-side matrix: how many of `rec`'s applicable scenarios on `media`
/// and `operation` passed.
fn matrix_cell(rec: &RunRecord, media: &str, operation: &str) -> MatrixCell {
    let applicable: Vec<&ScenarioResult> = rec
        .results
        .iter()
        .filter(|r| r.media == media && r.operation == operation && applies(r))
        .collect();
    let passed = applicable.iter().filter(|r| passes(r)).count();
    match applicable.len() {
        0 => MatrixCell {
            text: "n/a".into(),
            class: "not-applicable".into(),
        },
        n => MatrixCell {
            text: format!("{passed}/{n}"),
            class: if passed == n { "pass" } else { "fail" }.into(),
        },
    }
}

/// Scenario `id`'s row when the runs grade it differently: the cause it is grouped under
/// (the worst run's first finding), how bad the worst grade is, and the row.
fn differing(
    id: &str,
    indexes: &[HashMap<&str, &ScenarioResult>],
    causes: &[HashMap<String, (String, String)>],
    targets: &[TargetColumn],
) -> Option<((String, String), u8, DiffRow)> {
    let results: Vec<Option<&ScenarioResult>> =
        indexes.iter().map(|ix| ix.get(id).copied()).collect();
    let grades: Vec<Option<Grade>> = results.iter().map(|r| r.map(|r| r.grade)).collect();
    if !grades.windows(2).any(|w| w[0] != w[1]) {
        return None;
    }
    let worst = (0..grades.len())
        .max_by_key(|i| badness(grades[*i]))
        .unwrap_or(0);
    let cause = causes[worst]
        .get(id)
        .cloned()
        .unwrap_or_else(|| match grades[worst] {
            None => ("result".into(), "no result in one of the runs".into()),
            Some(g) => (
                "grade".into(),
                format!("graded {} without a finding", g.as_str()),
            ),
        });
    let cells = results
        .iter()
        .enumerate()
        .map(|(i, r)| DiffCell {
            grade: r.map_or("—".into(), |r| r.grade.as_str().into()),
            href: r
                .filter(|r| !matches!(r.grade, Grade::Pass | Grade::NotApplicable))
                .and(targets[i].report.as_ref())
                .map(|report| format!("{report}#{id}")),
        })
        .collect();
    let payload = (1..results.len())
        .filter(|i| grades[*i] != grades[0])
        .flat_map(|i| payload_diff(results[0], results[i]))
        .collect();
    let level = results
        .iter()
        .flatten()
        .next()
        .map(|r| r.level.as_str().to_string())
        .unwrap_or_default();
    Some((
        cause,
        badness(grades[worst]),
        DiffRow {
            id: id.to_string(),
            level,
            cells,
            payload,
        },
    ))
}

/// Runs of the same target in time order: what regressed and what was fixed between each two.
fn run_to_run(records: &[RunRecord], indexes: &[HashMap<&str, &ScenarioResult>]) -> Vec<RunToRun> {
    let mut out = Vec::new();
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
            out.push(RunToRun {
                target: target.to_string(),
                from_started: records[pair[0]].provenance.started.clone(),
                to_started: records[pair[1]].provenance.started.clone(),
                regressed,
                fixed,
            });
        }
    }
    out
}
