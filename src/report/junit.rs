//! `junit.xml` for CI systems. Grades map as conformance suites such as NMOS and Bowtie map
//! theirs: pass → success; fail → failure; could-not-test → error; not-applicable → skipped;
//! warning and informational → success with the grade and findings in `system-out` (they do
//! not fail a build, but stay visible); waived → skipped of type `waived`, its message naming the
//! waiver and the grade it covers, its description the findings; flaky → success with each
//! failed attempt as a `flakyFailure` (a scenario that failed every attempt has them as
//! `rerunFailure`). A run that could not start has one error case, in suite
//! `harness`, naming the cause.

use super::json::RunRecord;
use crate::result::{Attempt, Grade};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestRerun, TestSuite};
use std::collections::BTreeMap;
use std::time::Duration;

/// One earlier, failed attempt as a JUnit rerun.
fn rerun(attempt: &Attempt) -> TestRerun {
    let details: Vec<String> = attempt
        .findings
        .iter()
        .map(|f| format!("[{}] {}", f.check, f.message))
        .collect();
    let kind = match attempt.grade {
        Grade::CouldNotTest => NonSuccessKind::Error,
        _ => NonSuccessKind::Failure,
    };
    let mut rerun = TestRerun::new(kind);
    rerun
        .set_type(attempt.grade.as_str())
        .set_message(details.first().cloned().unwrap_or_default())
        .set_description(details.join("\n"))
        .set_time(Duration::from_secs_f64(attempt.duration_ms / 1000.0));
    rerun
}

pub fn render(record: &RunRecord) -> Result<String, super::ReportError> {
    let mut report = Report::new(format!(
        "gws-conformance: {}",
        record.provenance.target_name
    ));
    let mut suites: BTreeMap<&str, TestSuite> = BTreeMap::new();
    for r in &record.results {
        let details: Vec<String> = r
            .findings
            .iter()
            .map(|f| format!("[{}] {}", f.check, f.message))
            .collect();
        let message = details.first().cloned().unwrap_or_default();
        let mut status = match r.grade {
            Grade::Pass | Grade::Warning | Grade::Informational | Grade::Flaky => {
                TestCaseStatus::success()
            }
            Grade::Fail => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(message.clone())
                    .set_type("conformance")
                    .set_description(details.join("\n"));
                s
            }
            Grade::CouldNotTest | Grade::Indeterminate => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                s.set_message(message.clone())
                    .set_type(r.grade.as_str())
                    .set_description(details.join("\n"));
                s
            }
            Grade::NotApplicable => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(message.clone());
                s
            }
            // Visible, not failing: skipped with the waiver and the findings it covers.
            Grade::Waived => {
                let mut s = TestCaseStatus::skipped();
                let why = r.waiver.as_ref().map_or_else(String::new, |a| {
                    format!(
                        "waived ({} without it): {} (owner {}, expires {}, {})",
                        a.grade.as_str(),
                        a.waiver.reason,
                        a.waiver.owner,
                        a.waiver.expires,
                        a.waiver.source
                    )
                });
                s.set_message(why)
                    .set_type("waived")
                    .set_description(details.join("\n"));
                s
            }
        };
        // Every attempt before the last: `flakyFailure` on a case that then passed, `rerunFailure`
        // on one that kept failing (nextest's convention).
        if let Some((_, earlier)) = r.attempts.split_last() {
            status.add_reruns(earlier.iter().map(rerun));
        }
        let mut case = TestCase::new(r.id.clone(), status);
        case.set_classname(format!("{}.{}", r.media, r.operation));
        case.set_time(Duration::from_secs_f64(r.duration_ms / 1000.0));
        case.add_property(("level", r.level.as_str()));
        case.add_property(("grade", r.grade.as_str()));
        if matches!(
            r.grade,
            Grade::Warning | Grade::Informational | Grade::Flaky
        ) {
            case.set_system_out(format!("{}: {}", r.grade.as_str(), details.join("\n")));
        }
        suites
            .entry(r.media.as_str())
            .or_insert_with(|| TestSuite::new(r.media.clone()))
            .add_test_case(case);
    }
    if let Some(h) = &record.harness_error {
        // One error case, so a CI test view shows why there are no others.
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status
            .set_message(h.cause.clone())
            .set_type("harness-error")
            .set_description(format!(
                "the run could not start; no scenario ran: {}",
                h.cause
            ));
        let mut case = TestCase::new("the run could not start", status);
        case.set_classname("gws-conformance.harness");
        let mut suite = TestSuite::new("harness");
        suite.add_test_case(case);
        suites.insert("harness", suite);
    }
    report.add_test_suites(suites.into_values());
    report
        .to_string()
        .map_err(|e| super::ReportError::render("junit.xml", e))
}
