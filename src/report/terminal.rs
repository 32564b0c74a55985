//! Terminal output: one line per scenario, details and diffs for failures, a summary.
//!
//! Colour is optional (off when not a terminal). The summary names the most common root causes
//! (at most ten lines; the reports have them all), and its closing line has the form
//! `result: N passed, M failed` so that CI tooling can read it.

use super::Tally;
use super::diff::paint;
pub use super::diff::{Style, diff, diff_labeled, sanitize};
use super::groups::RootCause;
use super::view::LISTED;
use crate::result::{Finding, Grade, ScenarioResult, Severity};
use crate::verdict::Verdict;
use crate::verdict::waivers::WaiverOutcome;
use std::fmt::Write;

fn badge(style: Style, grade: Grade) -> String {
    let (code, label) = match grade {
        Grade::Pass => ("32", "PASS"),
        Grade::Fail => ("1;31", "FAIL"),
        Grade::Warning => ("33", "WARN"),
        Grade::NotApplicable => ("2", "N/A "),
        Grade::CouldNotTest => ("35", "CNT "),
        Grade::Informational => ("36", "INFO"),
        Grade::Waived => ("34", "WAIV"),
        Grade::Flaky => ("1;33", "FLKY"),
        Grade::Indeterminate => ("35", "INDT"),
    };
    paint(style, code, label)
}

fn finding_text(style: Style, f: &Finding) -> String {
    let mut out = String::new();
    let marker = match f.severity {
        Severity::Error => paint(style, "31", "error"),
        Severity::Warning => paint(style, "33", "warning"),
        Severity::Info => paint(style, "36", "info"),
    };
    let _ = writeln!(out, "    {marker} [{}]: {}", f.check, sanitize(&f.message));
    if let (Some(e), Some(a)) = (&f.expected, &f.actual) {
        for line in diff(style, e, a).lines() {
            let _ = writeln!(out, "      {line}");
        }
    }
    out
}

/// The text for one finished scenario: a line, plus findings unless it passed.
pub fn scenario(style: Style, r: &ScenarioResult) -> String {
    let mut out = String::new();
    let latency = r
        .latency_ms
        .map(|l| format!(", notified after {l:.1} ms"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{} {} ({:.0} ms{latency})",
        badge(style, r.grade),
        r.id,
        r.duration_ms
    );
    if r.grade != Grade::Pass || style.verbose {
        let shown: Vec<&Finding> = r
            .findings
            .iter()
            .filter(|f| f.severity != Severity::Info || r.grade != Grade::Pass)
            .collect();
        if !shown.is_empty() {
            let _ = writeln!(out, "    at {}", r.source);
        }
        for f in shown {
            out.push_str(&finding_text(style, f));
        }
    }
    out
}

/// Root-cause lines in the terminal summary, at most (the reports list them all).
const CAUSE_LINES: usize = 8;

/// What the closing summary says: counts, root causes, the verdict and the waivers.
pub struct Summary<'a> {
    pub tally: &'a Tally,
    pub causes: &'a [RootCause],
    /// When a profile was requested.
    pub verdict: Option<&'a Verdict>,
    /// When a waiver file was given.
    pub waivers: Option<&'a WaiverOutcome>,
    pub elapsed_secs: f64,
}

impl Summary<'_> {
    /// Counts, the verdict, the most common root causes of errors and warnings, the blocking
    /// scenarios and those without a result (at most [`LISTED`] each, then "and N more"), the
    /// waived scenarios and the waiver notes (unneeded, expired, unmatched), and the `result:`
    /// line, last.
    pub fn render(&self) -> String {
        let tally = self.tally;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} scenarios in {:.2}s: {}",
            tally.total,
            self.elapsed_secs,
            tally.text(&[Grade::Pass, Grade::Fail])
        );
        if let Some(v) = self.verdict {
            let _ = writeln!(out, "verdict: {}", v.summary());
        }
        causes(&mut out, self.causes);
        if let Some(v) = self.verdict {
            let blocking: Vec<String> = v
                .blocking
                .iter()
                .map(|(id, g)| format!("{id} ({})", g.as_str()))
                .collect();
            capped(&mut out, "blocking", &blocking);
            capped(&mut out, "no result", &v.missing);
        }
        if let Some(w) = self.waivers {
            capped(&mut out, &format!("waived by {}", w.file), &w.waived);
            for note in w.notes() {
                let _ = writeln!(out, "{}", sanitize(&note));
            }
        }
        let _ = write!(
            out,
            "result: {} passed, {} failed",
            tally.get(Grade::Pass),
            tally.get(Grade::Fail) + tally.get(Grade::CouldNotTest)
        );
        let _ = match tally.get(Grade::Flaky) {
            0 => writeln!(out),
            n => writeln!(out, ", {n} flaky"),
        };
        out
    }
}

/// The root-cause lines of errors and warnings, at most [`CAUSE_LINES`].
fn causes(out: &mut String, causes: &[RootCause]) {
    let shown: Vec<&RootCause> = causes
        .iter()
        .filter(|c| c.severity != Severity::Info)
        .collect();
    if shown.is_empty() {
        return;
    }
    let _ = writeln!(out, "root causes (scenarios affected):");
    for c in shown.iter().take(CAUSE_LINES) {
        let split: Vec<String> = c
            .severities
            .iter()
            .map(|(severity, n)| format!("{n} {}", super::view::severity_word(*severity)))
            .collect();
        let _ = writeln!(
            out,
            "  {:>5}  {} [{}] {}{}",
            c.count,
            match c.severity {
                Severity::Error => "error",
                _ => "warning",
            },
            c.check,
            truncate_chars(&sanitize(&c.message).replace('\n', " "), 140),
            match split.is_empty() {
                true => String::new(),
                false => format!(" ({})", split.join(", ")),
            }
        );
    }
    if shown.len() > CAUSE_LINES {
        let _ = writeln!(
            out,
            "  … and {} more (all of them in report.md with --out)",
            shown.len() - CAUSE_LINES
        );
    }
}

/// `what: N` and at most [`LISTED`] of `items`, then "… and N more".
fn capped(out: &mut String, what: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "{what}: {}", items.len());
    for item in items.iter().take(LISTED) {
        let _ = writeln!(out, "  {}", sanitize(item));
    }
    if items.len() > LISTED {
        let _ = writeln!(
            out,
            "  … and {} more (all of them in report.md with --out)",
            items.len() - LISTED
        );
    }
}

/// `text` cut to at most `max` characters, with `…` when cut.
fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary_of(causes: &[RootCause]) -> String {
        Summary {
            tally: &Tally::default(),
            causes,
            verdict: None,
            waivers: None,
            elapsed_secs: 1.0,
        }
        .render()
    }

    fn cause(severity: Severity, n: usize) -> RootCause {
        RootCause {
            severity,
            severities: Default::default(),
            check: "notification".into(),
            message: format!("cause with \x1b[31m{n}\nlines"),
            count: n,
            media: vec!["chat".into()],
            scenarios: (0..n).map(|i| format!("chat/X/{i}")).collect(),
        }
    }

    #[test]
    fn the_summary_shows_at_most_ten_cause_lines_and_no_info() {
        let causes: Vec<RootCause> = (1..=20)
            .rev()
            .map(|n| cause(Severity::Error, n))
            .chain([cause(Severity::Info, 99)])
            .collect();
        let text = summary_of(&causes);
        let lines: Vec<&str> = text.lines().collect();
        let first = lines
            .iter()
            .position(|l| l.starts_with("root causes"))
            .unwrap();
        let last = lines.iter().position(|l| l.starts_with("result:")).unwrap();
        assert!(last - first <= 10, "{text}");
        assert!(
            text.contains("     20  error [notification] cause with"),
            "{text}"
        );
        assert!(text.contains("and 12 more"), "{text}");
        assert!(
            !text.contains("99"),
            "info causes stay in the reports: {text}"
        );
        assert!(
            !text.contains('\x1b'),
            "server text cannot drive the terminal"
        );
        assert_eq!(lines.last(), Some(&"result: 0 passed, 0 failed"));
    }

    #[test]
    fn no_causes_no_cause_lines() {
        let text = summary_of(&[cause(Severity::Info, 3)]);
        assert!(!text.contains("root causes"), "{text}");
    }

    /// One set of numbers: the count line and the verdict line use the same words, and a
    /// scenario not applicable for want of provisioning is counted as such in both, never as
    /// "without a result".
    #[test]
    fn the_count_line_and_the_verdict_count_alike() {
        use crate::result::{FIXTURES_NEEDED, Finding, OPTIONAL_ABSENT};
        let suite = crate::suite::builtin().unwrap();
        let cases = crate::plan::build(&suite, &crate::plan::Selection::default());
        let not_applicable = |id: &str, media: &str, check: &str| {
            let mut r = ScenarioResult::for_test(
                id,
                media,
                vec![Finding::new(check, "why").severity(Severity::Info)],
            );
            r.grade = Grade::NotApplicable;
            r
        };
        let voice: Vec<&crate::plan::Case> = cases
            .iter()
            .filter(|c| c.media == "voice" && c.scenario.level == crate::spec::Level::Must)
            .collect();
        let sms = cases
            .iter()
            .find(|c| c.media == "sms" && c.scenario.level == crate::spec::Level::Must)
            .unwrap();
        let mut results: Vec<ScenarioResult> = voice
            .iter()
            .skip(1)
            .map(|c| ScenarioResult::for_test(&c.id, "voice", Vec::new()))
            .collect();
        results.push(not_applicable(&voice[0].id, "voice", OPTIONAL_ABSENT));
        results.push(not_applicable(&sms.id, "sms", FIXTURES_NEEDED));
        let choice = crate::verdict::ProfileChoice {
            name: "pair".into(),
            media: vec!["voice".into(), "sms".into()],
            flaky_counts_as_passed: false,
        };
        let verdict = choice.judge(&suite, Default::default(), &results);
        let text = Summary {
            tally: &Tally::of(&results),
            causes: &[],
            verdict: Some(&verdict),
            waivers: None,
            elapsed_secs: 1.0,
        }
        .render();
        let passed = voice.len() - 1;
        assert!(
            text.contains(&format!(
                "{} scenarios in 1.00s: {passed} pass, 0 fail, 2 not-applicable (1 cannot be provisioned, 1 optional feature absent)",
                passed + 2
            )),
            "{text}"
        );
        let sms_required = cases
            .iter()
            .filter(|c| c.media == "sms" && c.scenario.level == crate::spec::Level::Must)
            .count();
        assert!(
            text.contains(&format!(
                "INCOMPLETE for profile `pair` (GWS 8.5.2): {} required scenarios: {passed} pass, 2 not-applicable (1 cannot be provisioned, 1 optional feature absent), {} without a result",
                voice.len() + sms_required,
                sms_required - 1
            )),
            "{text}"
        );
        assert_eq!(verdict.not_provisioned, vec![sms.id.clone()]);
        assert_eq!(verdict.passed, passed + 1, "the optional one is accepted");
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        assert_eq!(truncate_chars("ééé", 2), "éé…");
        assert_eq!(truncate_chars("abc", 3), "abc");
    }
}
