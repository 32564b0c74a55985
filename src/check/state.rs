//! States compared: the RFC 6902 change between the interaction before and in the
//! notification against the expected one, read-your-writes, and "unchanged" after a rejected
//! operation. An absent `userData` counts as `{}`, key order never counts, and findings show
//! only the differing paths.
//!
//! One fact is one finding: when the notification diff and read-your-writes see the same
//! path, one of them reports it and the other adds an informational finding referring to it.
//! A user-data path is reported by `notification.diff` (the notification announced the wrong
//! change); any other property by `read-after.properties`, whose severity follows the
//! documented basis (an error only where GET is documented to equal the notification).
//!
//! It does not judge shapes or envelopes.

use super::text::pretty;
use crate::observation::{Observation, ReadError};
use crate::plan::Case;
use crate::result::{Finding, Severity};
use crate::spec::{GwsVersion, MediaFacts, NotificationExpectation, PatchExpectation, PatchOp};
use serde_json::{Map, Value, json};

pub(super) fn is_volatile(facts: &MediaFacts, path: &str) -> bool {
    facts
        .volatile
        .iter()
        .any(|v| path == v || path.starts_with(&format!("{v}/")))
}
/// An interaction with no `userData` property has the same user data as one with `{}`; the
/// docs fix that representation only for voice DeleteUserData, which has its own check.
pub(super) fn with_user_data(interaction: &Value) -> std::borrow::Cow<'_, Value> {
    match interaction.as_object() {
        Some(map) if !map.contains_key("userData") => {
            let mut map = map.clone();
            map.insert("userData".into(), Value::Object(Map::new()));
            std::borrow::Cow::Owned(Value::Object(map))
        }
        _ => std::borrow::Cow::Borrowed(interaction),
    }
}
/// RFC 6902 operations from `before` to `after`, minus volatile paths. Key order never
/// matters, and an absent `userData` counts as `{}`.
pub fn interaction_diff(facts: &MediaFacts, before: &Value, after: &Value) -> Vec<Value> {
    let patch = json_patch::diff(&with_user_data(before), &with_user_data(after));
    let ops = serde_json::to_value(&patch).unwrap_or(Value::Array(Vec::new()));
    ops.as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|op| {
            !op.get("path")
                .and_then(Value::as_str)
                .is_some_and(|p| is_volatile(facts, p))
        })
        .collect()
}
/// The interaction's properties in the documented core shape of `version`, by name.
fn core_properties(facts: &MediaFacts, version: GwsVersion) -> Vec<String> {
    facts
        .documented_for(version)
        .and_then(|d| d.shape.get("data"))
        .and_then(|data| facts.find_resource(data))
        .and_then(|(_, resource)| resource.as_object())
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// Whether a difference at `path` is within the must diff: `userData` and the documented core
/// always; every property for media whose GET is documented to equal the notification (calls).
fn in_must_scope(facts: &MediaFacts, core: &[String], path: &str) -> bool {
    let top = path.trim_start_matches('/').split('/').next().unwrap_or("");
    top == "userData" || facts.get_equals_notification || core.iter().any(|c| c == top)
}

/// Whether two JSON pointers name the same value or one contains the other.
fn overlaps(a: &str, b: &str) -> bool {
    let within = |inner: &str, outer: &str| {
        inner == outer || outer == "/" || inner.starts_with(&format!("{outer}/"))
    };
    within(a, b) || within(b, a)
}

fn is_user_data(path: &str) -> bool {
    path == "/userData" || path.starts_with("/userData/")
}

/// What GET after the notification showed differently from the notification, split into user
/// data and other properties; `Err` when that GET failed.
pub(super) struct ReadAfter {
    after: Result<(Vec<Value>, Vec<Value>), ReadError>,
}

impl ReadAfter {
    pub(super) fn of(facts: &MediaFacts, obs: &Observation, notified: &Value) -> ReadAfter {
        ReadAfter {
            after: match &obs.after {
                Err(why) => Err(why.clone()),
                Ok(after) => Ok(state_difference(facts, notified, after)
                    .into_iter()
                    .partition(|op| op["path"].as_str().is_some_and(is_user_data))),
            },
        }
    }

    /// The paths outside `userData` where GET after differs from the notification.
    fn property_paths(&self) -> Vec<String> {
        match &self.after {
            Ok((_, other)) => other
                .iter()
                .filter_map(|op| op["path"].as_str().map(String::from))
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// Judges the notified change against the expected one; returns the paths it reported, so that
/// read-your-writes refers to them instead of reporting the same fact again.
pub(super) fn check_diff(
    case: &Case,
    obs: &Observation,
    notified: &Value,
    version: GwsVersion,
    read_after: &ReadAfter,
    findings: &mut Vec<Finding>,
) -> Vec<String> {
    let NotificationExpectation::Expected(spec) = &case.scenario.expect.notification else {
        return Vec::new();
    };
    let Some(before) = &obs.before else {
        return Vec::new();
    };
    let actual = interaction_diff(&case.facts, before, notified);
    let properties = read_after.property_paths();
    let mut reported = Vec::new();
    let mut referred = Vec::new();
    let mut problems = Vec::new();
    let matched = match_expected(&spec.diff, &actual, &mut reported, &mut problems);
    let core = core_properties(&case.facts, version);
    let mut outside = Vec::new();
    for (op, _) in actual.iter().zip(&matched).filter(|(_, m)| !**m) {
        let path = op["path"].as_str().unwrap_or("?");
        if !is_user_data(path) && properties.iter().any(|p| overlaps(p, path)) {
            referred.push(path.to_string());
            continue;
        }
        reported.push(path.to_string());
        let line = format!("unexpected: {} {path}", op["op"].as_str().unwrap_or("?"));
        if in_must_scope(&case.facts, &core, path) {
            problems.push(line);
        } else {
            outside.push((line, op.clone()));
        }
    }
    if !outside.is_empty() {
        // Outside calls a GET may show properties its notifications do not carry (and the
        // other way round): beyond userData and the documented core that is a remark.
        let (lines, ops): (Vec<String>, Vec<Value>) = outside.into_iter().unzip();
        findings.push(
            Finding::new(
                "notification.diff.properties",
                format!(
                    "beyond userData and the documented core, the notified interaction differs from the one read before ({})",
                    lines.join("; ")
                ),
            )
            .with(String::new(), pretty(&Value::Array(ops)))
            .severity(Severity::Warning),
        );
    }
    if !referred.is_empty() {
        findings.push(
            Finding::new(
                "notification.diff",
                format!(
                    "the notified change also touches {}, where GET after the notification differs from it: one difference, reported under read-after.properties",
                    referred.join(", ")
                ),
            )
            .severity(Severity::Info),
        );
    }
    if !problems.is_empty() {
        let expected: Vec<Value> = spec
            .diff
            .iter()
            .map(|p| {
                let mut o = json!({"op": p.op.as_str(), "path": p.path});
                if let Some(v) = &p.value {
                    o["value"] = v.to_display_json();
                }
                o
            })
            .collect();
        findings.push(
            Finding::new(
                "notification.diff",
                format!(
                    "the change in the notification is not the expected one ({})",
                    problems.join("; ")
                ),
            )
            .with(
                pretty(&Value::Array(expected)),
                pretty(&Value::Array(actual)),
            ),
        );
    }
    reported
}
/// Pairs each expected operation with an unmatched notified one of the same `op` and `path`,
/// and checks its value with the matchers; what is missing or wrong goes to `problems` (its
/// path to `reported`). Returns which notified operations were matched.
fn match_expected(
    expected_ops: &[PatchExpectation],
    actual: &[Value],
    reported: &mut Vec<String>,
    problems: &mut Vec<String>,
) -> Vec<bool> {
    let mut matched = vec![false; actual.len()];
    for expected in expected_ops {
        let found = actual.iter().enumerate().find(|(i, op)| {
            !matched[*i]
                && op["path"] == json!(expected.path)
                && op["op"] == json!(expected.op.as_str())
        });
        match found {
            None => {
                reported.push(expected.path.clone());
                problems.push(format!(
                    "missing: {} {}",
                    expected.op.as_str(),
                    expected.path
                ))
            }
            Some((i, op)) => {
                matched[i] = true;
                if let (PatchOp::Add | PatchOp::Replace, Some(value)) =
                    (expected.op, &expected.value)
                {
                    for m in value.check(op.get("value")) {
                        let at = if m.path == "/" {
                            String::new()
                        } else {
                            m.path.clone()
                        };
                        reported.push(format!("{}{at}", expected.path));
                        problems.push(format!(
                            "wrong value at {}{at}: expected {}, got {}",
                            expected.path, m.expected, m.actual
                        ));
                    }
                }
            }
        }
    }
    matched
}

/// The differences between two interaction states, ignoring volatile fields; empty when
/// they hold the same data.
pub(super) fn state_difference(facts: &MediaFacts, a: &Value, b: &Value) -> Vec<Value> {
    interaction_diff(facts, a, b)
}
/// A finding about two states that should be equal: the message names the differing paths,
/// and expected/actual list only those paths, each with its value on either side.
pub(super) fn state_finding(
    check: &str,
    message: &str,
    expected: &Value,
    actual: &Value,
    diff: &[Value],
) -> Finding {
    let expected = with_user_data(expected);
    let actual = with_user_data(actual);
    let side = |doc: &Value, op: &Value| {
        let path = op["path"].as_str().unwrap_or("");
        let value = doc
            .pointer(path)
            .map_or_else(|| "(absent)".to_string(), Value::to_string);
        format!("{path}: {value}")
    };
    let lines = |doc: &Value| {
        diff.iter()
            .map(|op| side(doc, op))
            .collect::<Vec<_>>()
            .join("\n")
    };
    Finding::new(check, message)
        .with(lines(&expected), lines(&actual))
        .with_detail(diff)
}
/// Read-your-writes: GET after the notification shows what the notification announced. A
/// user-data path that `check_diff` already reported (`diff_reported`) is referred to, not
/// reported again.
pub(super) fn check_read_your_writes(
    facts: &MediaFacts,
    obs: &Observation,
    notified: &Value,
    read_after: &ReadAfter,
    diff_reported: &[String],
    findings: &mut Vec<Finding>,
) {
    let (user_data, other) = match &read_after.after {
        Err(why) if why.is_transport() => return,
        Err(why) => {
            findings.push(Finding::new(
                "read-after",
                format!("could not read the interaction after the notification: {why}"),
            ));
            return;
        }
        Ok(parts) => parts,
    };
    let Ok(after) = &obs.after else { return };
    // The user data is what the operation wrote, so it must read back. For the other
    // properties only the call resource is documented as identical in GET and
    // notifications; elsewhere a difference is a warning.
    let (referred, user_data): (Vec<&Value>, Vec<&Value>) = user_data.iter().partition(|op| {
        op["path"]
            .as_str()
            .is_some_and(|p| diff_reported.iter().any(|r| overlaps(p, r)))
    });
    if !referred.is_empty() {
        let paths: Vec<&str> = referred
            .iter()
            .filter_map(|op| op["path"].as_str())
            .collect();
        findings.push(
            Finding::new(
                "read-after",
                format!(
                    "GET after the notification differs from it at {}: one difference, reported under notification.diff",
                    paths.join(", ")
                ),
            )
            .severity(Severity::Info),
        );
    }
    if !user_data.is_empty() {
        let user_data: Vec<Value> = user_data.into_iter().cloned().collect();
        findings.push(state_finding(
            "read-after",
            "GET after the notification shows other user data than the notification",
            notified,
            after,
            &user_data,
        ));
    }
    if !other.is_empty() {
        let finding = state_finding(
            "read-after.properties",
            "GET after the notification differs from the notified interaction outside userData",
            notified,
            after,
            other,
        );
        findings.push(if facts.get_equals_notification {
            finding
        } else {
            finding.severity(Severity::Warning)
        });
    }
}
pub(super) fn check_unchanged(facts: &MediaFacts, obs: &Observation, findings: &mut Vec<Finding>) {
    let Some(before) = &obs.before else { return };
    match &obs.after {
        Err(why) if why.is_transport() => {}
        Err(why) => findings.push(Finding::new(
            "unchanged",
            format!("could not read the interaction afterwards: {why}"),
        )),
        Ok(after) => {
            let diff = state_difference(facts, before, after);
            if !diff.is_empty() {
                findings.push(state_finding(
                    "unchanged",
                    "the interaction changed although the operation must fail",
                    before,
                    after,
                    &diff,
                ));
            }
        }
    }
}
impl Finding {
    fn with_detail(mut self, diff: &[Value]) -> Finding {
        let ops: Vec<String> = diff
            .iter()
            .map(|op| {
                format!(
                    "{} {}",
                    op["op"].as_str().unwrap_or("?"),
                    op["path"].as_str().unwrap_or("?")
                )
            })
            .collect();
        self.message = format!("{} ({})", self.message, ops.join("; "));
        self
    }
}
