//! The report view: a run record arranged for reading (verdict, root causes, matrix, failures
//! with diffs and wire logs). Both the HTML and the Markdown report render this one structure.
//! Root causes are recomputed from the results, so a `results.json` written before they
//! existed renders the same way.

use super::diff::{self, Style};
use super::json::RunRecord;
use crate::result::{Grade, ScenarioResult, Severity, WireEntry};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    pub title: String,
    /// Why the run could not start; when set, no scenario ran and the rest is empty.
    pub harness_error: Option<String>,
    pub target_name: String,
    pub target_url: String,
    pub tool_version: String,
    pub suite_hash: String,
    pub started: String,
    pub finished: String,
    pub verdict: Option<VerdictView>,
    /// What `--waivers` did, shown right after the verdict.
    pub waivers: Option<WaiversView>,
    pub counts: Vec<(String, usize)>,
    /// e.g. `280 pass, 3 fail`.
    pub counts_text: String,
    pub total: usize,
    pub operations: Vec<String>,
    pub matrix: Vec<MatrixRow>,
    /// Errors and warnings grouped by root cause, most scenarios first.
    pub causes: Vec<CauseView>,
    /// Informational findings grouped the same way, shown after everything else.
    pub info_causes: Vec<CauseView>,
    pub problems: Vec<ProblemView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CauseView {
    pub severity: String,
    pub check: String,
    pub message: String,
    pub count: usize,
    /// e.g. `13 scenarios` or `1 scenario`.
    pub count_text: String,
    pub media: Vec<String>,
    pub scenarios: Vec<ScenarioLink>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioLink {
    pub id: String,
    /// Whether the scenario has its own entry under Problems to link to.
    pub listed: bool,
}

/// How many ids a capped list shows (the Markdown report and the terminal) before "and N
/// more"; the HTML report folds them all away instead.
pub const LISTED: usize = 10;

/// How many blocking root causes the verdict block names before "and N more, below".
pub const CAUSES_IN_VERDICT: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct VerdictView {
    pub status: String,
    pub summary: String,
    pub certified: bool,
    /// The root causes of the blocking scenarios' errors, most scenarios first, at most
    /// [`CAUSES_IN_VERDICT`].
    pub causes: Vec<CauseView>,
    /// How many more blocking root causes there are (listed under Root causes).
    pub more_causes: usize,
    /// Every blocking scenario, e.g. `chat/AttachUserData/x (fail)`.
    pub blocking: Vec<String>,
    /// e.g. `222 blocking scenarios`.
    pub blocking_text: String,
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WaiversView {
    pub file: String,
    /// e.g. `3 scenarios waived`.
    pub waived_text: String,
    pub waived: Vec<WaivedView>,
    /// Waivers no longer needed, expired (counted as absent) and matching nothing.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WaivedView {
    pub id: String,
    /// The grade it would have had without the waiver.
    pub grade: String,
    pub reason: String,
    pub owner: String,
    pub expires: String,
    /// `file:line` of the waiver.
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MatrixRow {
    pub media: String,
    pub cells: Vec<MatrixCell>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MatrixCell {
    /// e.g. `12 pass, 1 fail`; empty when no scenario ran.
    pub text: String,
    /// The worst grade in the cell, for colouring.
    pub worst: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProblemView {
    pub id: String,
    pub grade: String,
    pub level: String,
    pub source: String,
    pub findings: Vec<FindingView>,
    pub wire: Vec<WireEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    pub severity: String,
    pub check: String,
    pub message: String,
    pub diff: Option<String>,
}

/// `error`, `warning`, `info`: the word every view uses for a severity.
pub fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// Order in which grades count as "worse" for matrix colouring.
fn badness(g: Grade) -> u8 {
    match g {
        Grade::Fail => 5,
        Grade::CouldNotTest => 4,
        Grade::Indeterminate => 4,
        Grade::Warning => 3,
        Grade::Waived => 3,
        Grade::Flaky => 4,
        Grade::Informational => 2,
        Grade::Pass => 1,
        Grade::NotApplicable => 0,
    }
}

fn problem(r: &ScenarioResult) -> ProblemView {
    let style = Style {
        color: false,
        verbose: true,
    };
    ProblemView {
        id: r.id.clone(),
        grade: r.grade.as_str().into(),
        level: r.level.as_str().into(),
        source: r.source.clone(),
        findings: r
            .findings
            .iter()
            .filter(|f| f.severity != Severity::Info || r.grade != Grade::Pass)
            .map(|f| FindingView {
                severity: format!("{:?}", f.severity).to_lowercase(),
                check: f.check.clone(),
                message: f.message.clone(),
                diff: match (&f.expected, &f.actual) {
                    (Some(e), Some(a)) => Some(diff::diff(style, e, a)),
                    _ => None,
                },
            })
            .collect(),
        wire: r.wire.clone(),
    }
}

impl ReportView {
    pub fn of(record: &RunRecord) -> ReportView {
        let p = &record.provenance;
        let (operations, matrix) = matrix_of(&record.results);
        let mut problems: Vec<ProblemView> = record
            .results
            .iter()
            .filter(|r| !matches!(r.grade, Grade::Pass | Grade::NotApplicable))
            .map(problem)
            .collect();
        problems.sort_by(|a, b| a.id.cmp(&b.id));
        let listed: BTreeSet<&str> = problems.iter().map(|p| p.id.as_str()).collect();
        let (info_causes, causes): (Vec<CauseView>, Vec<CauseView>) =
            super::groups::root_causes(&record.results)
                .into_iter()
                .map(|c| cause_view(c, &listed))
                .partition(|c| c.severity == "info");
        ReportView {
            title: format!("GWS conformance: {}", p.target_name),
            harness_error: record.harness_error.as_ref().map(|h| h.cause.clone()),
            target_name: p.target_name.clone(),
            target_url: p.target_url.clone(),
            tool_version: p.tool_version.clone(),
            suite_hash: p.suite_hash.clone(),
            started: p.started.clone(),
            finished: p.finished.clone(),
            verdict: record
                .verdict
                .as_ref()
                .map(|v| verdict_view(record, v, &listed)),
            waivers: record.waivers.as_ref().map(|w| waivers_view(record, w)),
            counts: Grade::ALL
                .iter()
                .map(|g| (g.as_str().to_string(), record.tally.get(*g)))
                .collect(),
            counts_text: match record.tally.total {
                0 => "none ran".into(),
                _ => record.tally.text(&[]),
            },
            total: record.tally.total,
            operations,
            matrix,
            causes,
            info_causes,
            problems,
        }
    }
}

/// The coverage matrix: operations in the documented order as columns, media in the order
/// they ran as rows, each cell its grades counted, worst first.
fn matrix_of(results: &[ScenarioResult]) -> (Vec<String>, Vec<MatrixRow>) {
    let mut operations: Vec<String> = Vec::new();
    let mut cells: BTreeMap<(String, String), Vec<Grade>> = BTreeMap::new();
    let mut media_order: Vec<String> = Vec::new();
    for r in results {
        if !operations.contains(&r.operation) {
            operations.push(r.operation.clone());
        }
        if !media_order.contains(&r.media) {
            media_order.push(r.media.clone());
        }
        cells
            .entry((r.media.clone(), r.operation.clone()))
            .or_default()
            .push(r.grade);
    }
    let operations = super::matrix::in_documented_order(operations);
    let matrix = media_order
        .iter()
        .map(|m| MatrixRow {
            media: m.clone(),
            cells: operations
                .iter()
                .map(|o| {
                    let grades = cells
                        .get(&(m.clone(), o.clone()))
                        .cloned()
                        .unwrap_or_default();
                    matrix_cell(&grades)
                })
                .collect(),
        })
        .collect();
    (operations, matrix)
}

/// One cell: "2 pass, 1 fail", worst first, and the worst grade for its colour.
fn matrix_cell(grades: &[Grade]) -> MatrixCell {
    let mut counts: BTreeMap<u8, (Grade, usize)> = BTreeMap::new();
    for g in grades {
        counts.entry(u8::MAX - badness(*g)).or_insert((*g, 0)).1 += 1;
    }
    let text = counts
        .values()
        .map(|(g, n)| format!("{n} {}", g.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let worst = grades
        .iter()
        .max_by_key(|g| badness(**g))
        .map(|g| g.as_str().to_string())
        .unwrap_or_default();
    MatrixCell { text, worst }
}

/// A root cause as the report shows it; its scenarios link to the problems `listed`.
fn cause_view(c: super::groups::RootCause, listed: &BTreeSet<&str>) -> CauseView {
    CauseView {
        severity: format!("{:?}", c.severity).to_lowercase(),
        check: c.check,
        message: c.message,
        count: c.count,
        count_text: match c.severities.is_empty() {
            true => crate::verdict::count(c.count, "scenario"),
            false => format!(
                "{} ({})",
                crate::verdict::count(c.count, "scenario"),
                c.severities
                    .iter()
                    .map(|(severity, n)| format!("{n} {}", severity_word(*severity)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
        media: c.media,
        scenarios: c
            .scenarios
            .into_iter()
            .map(|id| ScenarioLink {
                listed: listed.contains(id.as_str()),
                id,
            })
            .collect(),
    }
}

/// The verdict block: status, the first causes of what blocks it, the blocking scenarios.
fn verdict_view(
    record: &RunRecord,
    v: &crate::verdict::Verdict,
    listed: &BTreeSet<&str>,
) -> VerdictView {
    let blocking_ids: Vec<String> = v.blocking.iter().map(|(id, _)| id.clone()).collect();
    let causes = super::groups::blocking_causes(&record.results, &blocking_ids);
    VerdictView {
        status: format!("{:?}", v.status),
        summary: v.summary(),
        certified: v.status == crate::verdict::Status::Certified,
        more_causes: causes.len().saturating_sub(CAUSES_IN_VERDICT),
        causes: causes
            .into_iter()
            .take(CAUSES_IN_VERDICT)
            .map(|c| cause_view(c, listed))
            .collect(),
        blocking_text: crate::verdict::count(v.blocking.len(), "blocking scenario"),
        blocking: v
            .blocking
            .iter()
            .map(|(id, g)| format!("{id} ({})", g.as_str()))
            .collect(),
        // When nothing ran, every required scenario is missing: the cause says it all.
        missing: match record.harness_error {
            Some(_) => Vec::new(),
            None => v.missing.clone(),
        },
    }
}

/// The waivers block: the file, each waived scenario with its waiver, the notes.
fn waivers_view(record: &RunRecord, w: &crate::verdict::waivers::WaiverOutcome) -> WaiversView {
    let waived: Vec<WaivedView> = record
        .results
        .iter()
        .filter_map(|r| {
            r.waiver.as_ref().map(|a| WaivedView {
                id: r.id.clone(),
                grade: a.grade.as_str().into(),
                reason: a.waiver.reason.clone(),
                owner: a.waiver.owner.clone(),
                expires: a.waiver.expires.clone(),
                source: a.waiver.source.clone(),
            })
        })
        .collect();
    WaiversView {
        file: w.file.clone(),
        waived_text: format!("{} waived", crate::verdict::count(waived.len(), "scenario")),
        waived,
        notes: w.notes(),
    }
}
