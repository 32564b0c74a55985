//! `ctrf.json`: the run in the Common Test Report Format (CTRF 1.0), the JSON that CI dashboards
//! and GitHub actions read. `tests/ctrf.schema.json` is the published schema it is tested
//! against.
//!
//! Grades map as in `junit.xml`, onto CTRF's five statuses: pass, warning and informational →
//! `passed`; flaky → `passed` with `flaky: true`, `retries` and every attempt in
//! `retryAttempts`; fail and could-not-test → `failed`; not-applicable and waived → `skipped`.
//! CTRF's `pending` and `other` are never used. Every test keeps our own grade as `rawStatus` and
//! in its `labels` (with level, media and operation), so nothing of the grade is lost; the first
//! finding is the `message`, all of them are in `extra.findings`, and a waiver is in
//! `extra.waiver`. The verdict and the waiver outcome are in the report's top-level `extra`.
//!
//! It renders a finished [`RunRecord`]; it neither judges nor reads anything else.

use super::json::RunRecord;
use crate::result::{Attempt, Grade, ScenarioResult};
use serde_json::{Map, Value, json};

/// The CTRF specification version written.
pub const SPEC_VERSION: &str = "1.0.0";

/// CTRF's status for a grade.
pub fn status(grade: Grade) -> &'static str {
    match grade {
        Grade::Pass | Grade::Warning | Grade::Informational | Grade::Flaky => "passed",
        Grade::Fail | Grade::CouldNotTest => "failed",
        Grade::NotApplicable | Grade::Waived => "skipped",
        // Neither passed nor failed: what the network hid is not the server's.
        Grade::Indeterminate => "other",
    }
}

/// Milliseconds since the Unix epoch of an RFC 3339 time; 0 when it is empty or unreadable
/// (a merged run from `results.jsonl` alone has no times).
fn epoch_ms(rfc3339: &str) -> i64 {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .unwrap_or(0)
}

fn findings_text(findings: &[crate::result::Finding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| format!("[{}] {}", f.check, f.message))
        .collect()
}

fn attempt(number: usize, a: &Attempt) -> Value {
    let mut o = json!({
        "attempt": number,
        "status": status(a.grade),
        "duration": a.duration_ms.round() as i64,
        "extra": {"grade": a.grade.as_str(), "findings": a.findings},
    });
    if let Some(first) = findings_text(&a.findings).first() {
        o["message"] = json!(first);
    }
    o
}

fn test(r: &ScenarioResult) -> Value {
    let (file, line) = r
        .source
        .rsplit_once(':')
        .and_then(|(f, l)| Some((f, l.parse::<i64>().ok()?)))
        .unwrap_or((r.source.as_str(), 0));
    let mut o = json!({
        "name": r.id,
        "status": status(r.grade),
        "duration": r.duration_ms.round() as i64,
        "suite": [r.media, r.operation],
        "rawStatus": r.grade.as_str(),
        "filePath": file,
        "labels": {
            "grade": r.grade.as_str(),
            "level": r.level.as_str(),
            "media": r.media,
            "operation": r.operation,
        },
    });
    if line > 0 {
        o["line"] = json!(line);
    }
    let details = findings_text(&r.findings);
    if let Some(first) = details.first() {
        o["message"] = json!(first);
        o["trace"] = json!(details.join("\n"));
    }
    let mut extra = Map::new();
    extra.insert("findings".into(), json!(r.findings));
    if let Some(w) = &r.waiver {
        extra.insert("waiver".into(), json!(w));
    }
    if let Some(latency) = r.latency_ms {
        extra.insert("latency_ms".into(), json!(latency));
    }
    o["extra"] = Value::Object(extra);
    if !r.attempts.is_empty() {
        o["retries"] = json!(r.attempts.len() - 1);
        o["retryAttempts"] = r
            .attempts
            .iter()
            .enumerate()
            .map(|(i, a)| attempt(i + 1, a))
            .collect();
        o["flaky"] = json!(r.grade == Grade::Flaky);
    }
    o
}

/// The whole run as a CTRF document.
pub fn render(record: &RunRecord) -> Value {
    let p = &record.provenance;
    let count = |wanted: &str| {
        record
            .results
            .iter()
            .filter(|r| status(r.grade) == wanted)
            .count()
    };
    let (start, stop) = (epoch_ms(&p.started), epoch_ms(&p.finished));
    let mut summary = json!({
        "tests": record.results.len(),
        "passed": count("passed"),
        "failed": count("failed"),
        "skipped": count("skipped"),
        "pending": 0,
        "other": 0,
        "flaky": record.tally.get(Grade::Flaky),
        "start": start,
        "stop": stop,
        "duration": (stop - start).max(0),
        "extra": {"grades": record.tally.counts},
    });
    let suites: std::collections::BTreeSet<&str> =
        record.results.iter().map(|r| r.media.as_str()).collect();
    summary["suites"] = json!(suites.len());
    let mut extra = json!({
        "target": {"name": p.target_name, "url": p.target_url},
        "suite_hash": p.suite_hash,
        "gws_version": p.gws_version.to_string(),
    });
    if let Some(v) = &record.verdict {
        extra["verdict"] = json!({"summary": v.summary(), "verdict": v});
    }
    if let Some(w) = &record.waivers {
        extra["waivers"] = json!(w);
    }
    if let Some(h) = &record.harness_error {
        extra["harness_error"] = json!(h);
    }
    let mut doc = json!({
        "reportFormat": "CTRF",
        "specVersion": SPEC_VERSION,
        "generatedBy": format!("{} {}", p.tool, p.tool_version),
        "results": {
            "tool": {"name": p.tool, "version": p.tool_version},
            "summary": summary,
            "tests": record.results.iter().map(test).collect::<Vec<_>>(),
            "environment": {
                "reportName": format!("GWS conformance: {}", p.target_name),
                "appName": p.target_name,
                "extra": {"profile": p.profile, "shard": p.shard},
            },
        },
        "extra": extra,
    });
    if epoch_ms(&p.finished) > 0 {
        doc["timestamp"] = json!(p.finished);
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grade_has_a_ctrf_status() {
        let statuses: Vec<&str> = Grade::ALL.iter().map(|g| status(*g)).collect();
        assert_eq!(
            statuses,
            [
                "passed", "failed", "passed", "skipped", "failed", "passed", "skipped", "passed",
                "other"
            ]
        );
        assert_eq!(epoch_ms("1970-01-01T00:00:01Z"), 1000);
        assert_eq!(epoch_ms(""), 0);
    }
}
