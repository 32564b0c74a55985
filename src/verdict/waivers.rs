//! Waivers: known deviations a certifier accepts for a while, each with a reason, an owner and
//! an expiry date (`run --waivers FILE`).
//!
//! A waiver names a scenario id, or a glob of ids with `*`. Applied to a run's results, an
//! active waiver turns a scenario that did not pass into grade `waived` (it keeps its findings
//! and remembers the grade it would have had, so every report still shows it), and a waived
//! scenario that passed is reported as "waiver no longer needed". A waiver whose `expires` date
//! is before the run's date counts as absent, and is named, so the failure it covered blocks
//! again. A waiver that matches no scenario of the run is named too.
//!
//! The file is read like a spec: from its text, into a located YAML tree, and every problem
//! (unknown or missing key, wrong type, a date that is not `YYYY-MM-DD`) becomes a
//! [`SpecError`] with `file:line:column` and key path, all reported at once.
//!
//! This module does no IO beyond [`Waivers::load`] reading the one file, and does not decide
//! verdicts: the verdict module counts the `waived` grades.

use crate::plan::matches_filter;
pub use crate::result::{AppliedWaiver, Waiver};
use crate::result::{Grade, ScenarioResult};
use crate::spec::error::suggest;
use crate::spec::yaml::{self, Location, Node, NodeValue};
use crate::spec::{SourceFile, SpecError};
use serde::{Deserialize, Serialize};
use std::fmt;

impl Waiver {
    pub fn matches(&self, id: &str) -> bool {
        self.scenario == id || (self.scenario.contains('*') && matches_filter(&self.scenario, id))
    }

    /// Whether the waiver no longer holds on `today` (`YYYY-MM-DD`). Both dates are validated
    /// `YYYY-MM-DD`, so comparing the text compares the dates.
    pub fn expired_on(&self, today: &str) -> bool {
        self.expires.as_str() < today
    }
}

/// A waiver file, read and validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Waivers {
    pub file: String,
    pub entries: Vec<Waiver>,
}

/// A broken waiver file: every problem, located.
#[derive(Debug, Clone, PartialEq)]
pub struct WaiverErrors(pub Vec<SpecError>);

impl fmt::Display for WaiverErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.0 {
            writeln!(f, "{e}")?;
        }
        write!(f, "{} problem(s) in the waiver file", self.0.len())
    }
}

impl std::error::Error for WaiverErrors {}

const KEYS: [&str; 4] = ["scenario", "reason", "owner", "expires"];

/// Whether `text` is a calendar date written `YYYY-MM-DD`.
fn is_date(text: &str) -> bool {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    text.len() == 10 && time::Date::parse(text, &format).is_ok()
}

impl Waivers {
    /// Reads and validates the waiver file at `path`; an unreadable file is one error naming it.
    pub fn load(path: &std::path::Path) -> Result<Waivers, WaiverErrors> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            WaiverErrors(vec![SpecError::new(
                &shown,
                format!("cannot read the waiver file: {e}"),
            )])
        })?;
        Waivers::parse(SourceFile { path: shown, text })
    }

    /// Validates a waiver file's text: `waivers:`, a sequence of mappings with `scenario`,
    /// `reason`, `owner` and `expires`.
    pub fn parse(source: SourceFile) -> Result<Waivers, WaiverErrors> {
        let mut errors = Vec::new();
        let at = |location: Location, key_path: &str, message: String| {
            SpecError::in_source(&source, Some(location), message).with_key_path(key_path)
        };
        let documents = yaml::parse(&source.text).map_err(|e| {
            WaiverErrors(vec![SpecError::in_source(
                &source,
                Some(e.location),
                format!("not valid YAML: {}", e.message),
            )])
        })?;
        let Some(root) = documents.first() else {
            return Err(WaiverErrors(vec![
                SpecError::new(&source.path, "the waiver file is empty")
                    .with_hint("write `waivers:` and a list of entries"),
            ]));
        };
        let mut entries = Vec::new();
        let list = match &root.value {
            NodeValue::Map(pairs) => {
                let mut list = None;
                for (k, v) in pairs {
                    match k.as_str() {
                        Some("waivers") => list = Some(v),
                        other => {
                            let key = other.unwrap_or("?");
                            let mut e = at(k.location, key, format!("unknown key `{key}`"));
                            if let Some(hint) = suggest(key, ["waivers"]) {
                                e = e.with_hint(hint);
                            }
                            errors.push(e);
                        }
                    }
                }
                if list.is_none() {
                    errors.push(at(root.location, "", "missing key `waivers`".into()));
                }
                list
            }
            _ => {
                errors.push(at(
                    root.location,
                    "",
                    format!(
                        "expected a mapping with `waivers`, found a {}",
                        root.type_name()
                    ),
                ));
                None
            }
        };
        if let Some(list) = list {
            match &list.value {
                NodeValue::Null => {}
                NodeValue::Seq(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if let Some(w) = entry(&source, i, item, &mut errors) {
                            entries.push(w);
                        }
                    }
                }
                _ => errors.push(at(
                    list.location,
                    "waivers",
                    format!(
                        "expected a sequence of waivers, found a {}",
                        list.type_name()
                    ),
                )),
            }
        }
        if errors.is_empty() {
            Ok(Waivers {
                file: source.path,
                entries,
            })
        } else {
            Err(WaiverErrors(errors))
        }
    }

    /// The first waiver that matches `id`, active or not.
    fn find(&self, id: &str) -> Option<&Waiver> {
        self.entries.iter().find(|w| w.matches(id))
    }

    /// Regrades one finished result on `today` (`YYYY-MM-DD`): when the first waiver matching
    /// it is active and it neither passed nor was not applicable, it is graded `waived`, keeping
    /// its findings and the grade it had. Anything else is left as it is.
    pub fn regrade(&self, today: &str, r: &mut ScenarioResult) {
        let Some(w) = self.find(&r.id) else { return };
        if w.expired_on(today)
            || matches!(r.grade, Grade::Pass | Grade::NotApplicable | Grade::Waived)
        {
            return;
        }
        r.waiver = Some(AppliedWaiver {
            waiver: w.clone(),
            grade: r.grade,
        });
        r.grade = Grade::Waived;
    }

    /// What the waivers did to a run's (regraded) results: the waived scenarios, the waived
    /// ones that passed, the expired waivers and what they would have covered, and the active
    /// waivers that matched nothing.
    pub fn outcome(&self, today: &str, results: &[ScenarioResult]) -> WaiverOutcome {
        let mut outcome = WaiverOutcome {
            file: self.file.clone(),
            ..WaiverOutcome::default()
        };
        let mut used = vec![false; self.entries.len()];
        for r in results {
            let Some(i) = self.entries.iter().position(|w| w.matches(&r.id)) else {
                continue;
            };
            used[i] = true;
            let w = &self.entries[i];
            match r.grade {
                Grade::Waived => outcome.waived.push(r.id.clone()),
                Grade::Pass if !w.expired_on(today) => outcome.unneeded.push(Unneeded {
                    scenario: r.id.clone(),
                    waiver: w.clone(),
                }),
                Grade::Pass | Grade::NotApplicable => {}
                _ if w.expired_on(today) => outcome.expired_hits.push(r.id.clone()),
                _ => {}
            }
        }
        for (w, used) in self.entries.iter().zip(used) {
            if w.expired_on(today) {
                outcome.expired.push(w.clone());
            } else if !used {
                outcome.unmatched.push(w.clone());
            }
        }
        outcome
    }

    /// [`Waivers::regrade`] on every result, then [`Waivers::outcome`].
    pub fn apply(&self, today: &str, results: &mut [ScenarioResult]) -> WaiverOutcome {
        for r in results.iter_mut() {
            self.regrade(today, r);
        }
        self.outcome(today, results)
    }
}

/// Waivers and the day they are judged on, as the orchestrator applies them.
#[derive(Debug, Clone)]
pub struct WaiverPolicy {
    pub waivers: Waivers,
    /// `YYYY-MM-DD` (UTC): a waiver expiring before it counts as absent.
    pub today: String,
}

/// One entry at `waivers[i]`, or `None` (its problems added to `errors`).
fn entry(
    source: &SourceFile,
    i: usize,
    node: &Node,
    errors: &mut Vec<SpecError>,
) -> Option<Waiver> {
    let path = format!("waivers[{i}]");
    let at = |location: Location, key_path: String, message: String| {
        SpecError::in_source(source, Some(location), message).with_key_path(key_path)
    };
    let NodeValue::Map(pairs) = &node.value else {
        errors.push(at(
            node.location,
            path,
            format!(
                "expected a waiver (scenario, reason, owner, expires), found a {}",
                node.type_name()
            ),
        ));
        return None;
    };
    let mut values: [Option<String>; 4] = Default::default();
    let before = errors.len();
    for (k, v) in pairs {
        let key = k.as_str().unwrap_or("?");
        let key_path = format!("{path}.{key}");
        let Some(slot) = KEYS.iter().position(|known| *known == key) else {
            let mut e = at(k.location, key_path, format!("unknown key `{key}`"));
            if let Some(hint) = suggest(key, KEYS) {
                e = e.with_hint(hint);
            }
            errors.push(e);
            continue;
        };
        // A date written unquoted is still a plain scalar here; anything else must be text.
        let text = match &v.value {
            NodeValue::Str(s) if !s.trim().is_empty() => s.clone(),
            _ => {
                errors.push(at(
                    v.location,
                    key_path,
                    format!(
                        "`{key}` must be a non-empty string, found a {}",
                        v.type_name()
                    ),
                ));
                continue;
            }
        };
        if key == "expires" && !is_date(&text) {
            errors.push(
                at(
                    v.location,
                    key_path,
                    format!("`expires` must be a date, found `{text}`"),
                )
                .with_hint("write it as YYYY-MM-DD, e.g. 2027-03-31"),
            );
            continue;
        }
        values[slot] = Some(text);
    }
    for (key, value) in KEYS.iter().zip(&values) {
        if value.is_none() && !pairs.iter().any(|(k, _)| k.as_str() == Some(key)) {
            errors.push(at(
                node.location,
                format!("{path}.{key}"),
                format!("missing key `{key}`"),
            ));
        }
    }
    if errors.len() > before {
        return None;
    }
    let [scenario, reason, owner, expires] = values.map(Option::unwrap_or_default);
    Some(Waiver {
        scenario,
        reason,
        owner,
        expires,
        source: format!("{}:{}", source.path, node.location.line),
    })
}

/// A waived scenario that passed: the waiver can go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unneeded {
    pub scenario: String,
    pub waiver: Waiver,
}

/// What applying a waiver file did, besides regrading results.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverOutcome {
    pub file: String,
    /// Scenarios graded `waived`.
    pub waived: Vec<String>,
    /// Waived scenarios that passed: "waiver no longer needed".
    pub unneeded: Vec<Unneeded>,
    /// Waivers past their date: they counted as absent.
    pub expired: Vec<Waiver>,
    /// Scenarios an expired waiver would have covered, graded as if it were absent.
    #[serde(default)]
    pub expired_hits: Vec<String>,
    /// Active waivers that matched no scenario of the run.
    pub unmatched: Vec<Waiver>,
}

impl WaiverOutcome {
    /// The notes a reader must see, one line each: unneeded, expired and unmatched waivers.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        for u in &self.unneeded {
            notes.push(format!(
                "waiver no longer needed: {} passed (waiver `{}` at {}, owner {})",
                u.scenario, u.waiver.scenario, u.waiver.source, u.waiver.owner
            ));
        }
        for w in &self.expired {
            notes.push(format!(
                "waiver expired on {}: `{}` at {} (owner {}) counts as absent: {}",
                w.expires, w.scenario, w.source, w.owner, w.reason
            ));
        }
        for w in &self.unmatched {
            notes.push(format!(
                "waiver matches no scenario of this run: `{}` at {}",
                w.scenario, w.source
            ));
        }
        notes
    }
}

/// Today's date in UTC as `YYYY-MM-DD`, the day waivers are judged on.
pub fn today() -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::now_utc()
        .date()
        .format(&format)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::Finding;

    fn parse(text: &str) -> Result<Waivers, WaiverErrors> {
        Waivers::parse(SourceFile {
            path: "ci/waivers.yaml".into(),
            text: text.into(),
        })
    }

    fn result(id: &str, grade: Grade) -> ScenarioResult {
        let findings = match grade {
            Grade::Pass => Vec::new(),
            _ => vec![Finding::new("notification", "none arrived")],
        };
        ScenarioResult {
            grade,
            ..ScenarioResult::for_test(id, "chat", findings)
        }
    }

    const FILE: &str = "waivers:\n  - scenario: chat/UpdateUserData/*\n    reason: fix in 8.5.3\n    owner: team-chat\n    expires: 2027-03-31\n  - scenario: sms/AttachUserData/a\n    reason: old\n    owner: team-sms\n    expires: 2020-01-01\n  - scenario: voice/*/nothing\n    reason: r\n    owner: o\n    expires: \"2027-01-01\"\n";

    #[test]
    fn a_waived_failure_keeps_its_grade_and_findings_and_a_passing_one_is_unneeded() {
        let waivers = parse(FILE).unwrap();
        assert_eq!(waivers.entries.len(), 3);
        assert_eq!(waivers.entries[0].source, "ci/waivers.yaml:2");
        let mut results = vec![
            result("chat/UpdateUserData/a", Grade::Fail),
            result("chat/UpdateUserData/b", Grade::Pass),
            result("sms/AttachUserData/a", Grade::Fail),
            result("chat/AttachUserData/a", Grade::Fail),
        ];
        let outcome = waivers.apply("2026-12-01", &mut results);
        assert_eq!(results[0].grade, Grade::Waived);
        let applied = results[0].waiver.as_ref().unwrap();
        assert_eq!(
            (applied.grade, applied.waiver.owner.as_str()),
            (Grade::Fail, "team-chat")
        );
        assert_eq!(results[0].findings.len(), 1, "the findings stay visible");
        assert_eq!(outcome.waived, ["chat/UpdateUserData/a"]);
        assert_eq!(outcome.unneeded[0].scenario, "chat/UpdateUserData/b");
        assert_eq!(
            results[2].grade,
            Grade::Fail,
            "an expired waiver counts as absent"
        );
        assert_eq!(outcome.expired[0].scenario, "sms/AttachUserData/a");
        assert_eq!(outcome.expired_hits, ["sms/AttachUserData/a"]);
        assert_eq!(results[3].grade, Grade::Fail, "not waived");
        assert_eq!(outcome.unmatched[0].scenario, "voice/*/nothing");
        let notes = outcome.notes().join("\n");
        assert!(
            notes.contains("waiver no longer needed: chat/UpdateUserData/b passed"),
            "{notes}"
        );
        assert!(notes.contains("waiver expired on 2020-01-01"), "{notes}");
        // The last day still holds.
        assert!(!waivers.entries[0].expired_on("2027-03-31"));
        assert!(waivers.entries[0].expired_on("2027-04-01"));
    }

    #[test]
    fn every_problem_of_a_broken_waiver_file_is_located() {
        let errors = parse(
            "waivers:\n  - scenario: chat/*\n    reason: r\n    ownr: me\n    expires: 31/03/2027\n  - scenario: [a]\n    reason: r\n    owner: o\n    expires: 2027-01-01\n",
        )
        .unwrap_err();
        let text = errors.to_string();
        let located: Vec<(String, usize, usize)> = errors
            .0
            .iter()
            .map(|e| {
                let l = e.location.unwrap();
                (e.key_path.clone(), l.line, l.column)
            })
            .collect();
        assert!(
            located.contains(&("waivers[0].ownr".into(), 4, 5)),
            "{located:?}"
        );
        assert!(
            located.contains(&("waivers[0].expires".into(), 5, 14)),
            "{located:?}"
        );
        assert!(
            located.contains(&("waivers[0].owner".into(), 2, 5)),
            "{located:?}"
        );
        assert!(
            located.contains(&("waivers[1].scenario".into(), 6, 15)),
            "{located:?}"
        );
        assert!(text.contains("ci/waivers.yaml:4:5"), "{text}");
        assert!(text.contains("did you mean `owner`?"), "{text}");
        assert!(text.contains("YYYY-MM-DD"), "{text}");
        assert!(text.ends_with("4 problem(s) in the waiver file"), "{text}");
        assert!(parse("").is_err());
        assert!(parse("waivers: 3\n").is_err());
        assert!(
            parse("waiver: []\n")
                .unwrap_err()
                .to_string()
                .contains("did you mean `waivers`?")
        );
    }
}
