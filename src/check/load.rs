//! Every verdict of the load mode: one operation (the same response and envelope checks as
//! `run`, and the notified `userData` against the state the harness expects, either whole or
//! only on the keys the operation touched), a group of concurrent operations (lost, too many
//! notifications, lost update), the messages left over after a group (late, repeated,
//! unexpected, crossed), and read-your-writes at the end. "Same user data" is defined once,
//! here ([`same_user_data`]: absent `userData` = `{}`, key order and number spelling aside).
//!
//! It does not decide *whose* a message is (load's attribution does, by the state it shows)
//! and does not count anything (load's journal does). Like the rest of `check`, it does no IO.

use super::notification::check_envelope;
use super::response::check_response;
use super::state::{state_difference, state_finding};
use crate::observation::{Delivered, Observation, Reply, RequestError, Setup};
use crate::plan::Case;
use crate::result::{Finding, Severity};
use crate::spec::NotificationExpectation;
use crate::spec::matcher::json_equal;
use serde_json::{Map, Value, json};
use std::time::Duration;

/// Which part of the notified `userData` is compared with the expected state.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// The whole `userData`.
    All,
    /// Only these keys (an operation sharing its interaction with concurrent ones).
    Keys(&'a [String]),
}

/// The errors of one load operation: its HTTP answer, and, when a notification is given, its
/// envelope and its `userData` against `expected`. Empty means the operation is right;
/// warnings (`should` expectations) are left out, since they do not make an operation wrong.
pub fn load_operation(
    case: &Case,
    response: &Result<Reply, RequestError>,
    notification: Option<&Delivered>,
    expected: &Map<String, Value>,
    scope: Scope<'_>,
) -> Vec<Finding> {
    let obs = Observation {
        notifications: notification.into_iter().cloned().collect(),
        response: response.clone(),
        ..Observation::not_started(Setup::Ready, Vec::new(), std::time::Duration::ZERO)
    };
    let mut findings = Vec::new();
    check_response(case, &obs, &mut findings);
    let errors = |mut findings: Vec<Finding>| {
        findings.retain(|f| f.severity == Severity::Error);
        findings
    };
    let (Some(delivered), NotificationExpectation::Expected(spec)) =
        (notification, &case.scenario.expect.notification)
    else {
        return errors(findings);
    };
    check_envelope(case, &obs, delivered, &spec.envelope, &mut findings);
    let Some((_, notified)) = case.facts.find_resource(&delivered.message["data"]) else {
        findings.push(Finding::new(
            "notification.resource",
            "the notification carries no interaction object",
        ));
        return errors(findings);
    };
    let empty = Map::new();
    let actual = notified
        .get("userData")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    // The common case, the expected state, is decided without copying either side.
    let equal = match scope {
        Scope::All => same_user_data(expected, actual),
        Scope::Keys(keys) => keys.iter().all(|k| match (expected.get(k), actual.get(k)) {
            (Some(a), Some(b)) => json_equal(a, b),
            (None, None) => true,
            _ => false,
        }),
    };
    if equal {
        return errors(findings);
    }
    let (want, got) = match scope {
        Scope::All => (expected.clone(), actual.clone()),
        Scope::Keys(keys) => (restrict(expected, keys), restrict(actual, keys)),
    };
    let want = json!({ "userData": want });
    let got = json!({ "userData": got });
    let diff = state_difference(&case.facts, &want, &got);
    if diff.is_empty() {
        // Equal but for number spelling (1 and 1.0), which `json_equal` and the diff differ on.
        return errors(findings);
    }
    {
        findings.push(state_finding(
            "load.user-data",
            "the notified userData is not the state the operations so far must have produced",
            &want,
            &got,
            &diff,
        ));
    }
    errors(findings)
}

/// The `userData` of an interaction object; absent counts as `{}`.
pub fn user_data_of(interaction: &Value) -> Map<String, Value> {
    interaction
        .get("userData")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Whether two user data maps hold the same data (key order and number spelling aside).
pub fn same_user_data(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(k, v)| b.get(k).is_some_and(|w| json_equal(v, w)))
}

fn restrict(data: &Map<String, Value>, keys: &[String]) -> Map<String, Value> {
    data.iter()
        .filter(|(k, _)| keys.iter().any(|key| key == *k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Whether the server accepted an operation (HTTP answered with `statusCode` 0): only then
/// does its effect count towards the state later notifications must show.
pub fn operation_accepted(reply: &Result<Reply, RequestError>) -> bool {
    reply
        .as_ref()
        .ok()
        .and_then(|r| r.body.json())
        .and_then(|b| b.get("statusCode"))
        == Some(&Value::from(0))
}

/// One fact about a load operation; the load ledger turns an operation's facts into its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadFact {
    Notified,
    Lost,
    Late,
    Duplicated,
    Crossed,
    Wrong,
    /// A transport fault hid the outcome (a lost reply, a cut long poll in its window).
    Indeterminate,
}

/// A verdict on one operation of a group (by its place in the group), with what was seen.
/// An operation may get several; the first detail given is the one kept.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadMark {
    pub op: usize,
    pub fact: LoadFact,
    pub detail: Option<String>,
}

impl LoadMark {
    fn new(op: usize, fact: LoadFact, detail: Option<String>) -> LoadMark {
        LoadMark { op, fact, detail }
    }
}

/// One operation of a group, as sent and answered.
pub struct GroupOperation<'a> {
    pub case: &'a Case,
    /// The keys it changes (`None`: all of them).
    pub keys: Option<Vec<String>>,
    pub reply: &'a Result<Reply, RequestError>,
}

/// What `load` saw of one group of operations sent together on one interaction.
pub struct GroupObservation<'a> {
    pub operations: Vec<GroupOperation<'a>>,
    /// The notifications attribution took as the group's, in order of arrival.
    pub notifications: &'a [Delivered],
    /// The state the accepted operations must have produced.
    pub expected: &'a Map<String, Value>,
    /// The notification deadline, for the words of a lost operation.
    pub deadline: Duration,
    /// Why the owner's stream was interrupted during the group's window (a cut long poll, a
    /// re-handshake), if it was: a missing notification may have been in it.
    pub interrupted: Option<String>,
}

/// The verdicts on a group: marks in the order given, the notification latency of every
/// operation that had a notification to judge, and the counts for a progress line.
#[derive(Debug, Default)]
pub struct GroupVerdict {
    pub marks: Vec<LoadMark>,
    pub notification_latencies: Vec<Duration>,
    pub notified: u64,
    pub problems: u64,
}

/// Judges a group: every operation on its answer and on its notification (with one operation,
/// the one that came; with several, any that shows its keys as they must end), too few
/// notifications (the last operations lost), too many (the first duplicated), and, for
/// concurrent operations, a lost update (no notification shows the composition of them all).
pub fn load_group(group: &GroupObservation<'_>) -> GroupVerdict {
    let shared = group.operations.len();
    let ours = group.notifications;
    let after = group.expected;
    let applied = group
        .operations
        .iter()
        .filter(|o| operation_accepted(o.reply))
        .count();
    let mut verdict = GroupVerdict::default();
    for (j, op) in group.operations.iter().enumerate() {
        let scope = match (&op.keys, shared) {
            (Some(k), s) if s > 1 => Scope::Keys(k),
            _ => Scope::All,
        };
        if let Err(e) = op.reply
            && e.is_transport()
        {
            let detail = format!("transport fault, no reply: {e}");
            verdict
                .marks
                .push(LoadMark::new(j, LoadFact::Indeterminate, Some(detail)));
            continue;
        }
        if !operation_accepted(op.reply) {
            let findings = load_operation(op.case, op.reply, None, after, scope);
            let detail = findings
                .first()
                .map(|f| f.message.clone())
                .unwrap_or_else(|| "the operation was refused".into());
            verdict
                .marks
                .push(LoadMark::new(j, LoadFact::Wrong, Some(detail)));
            verdict.problems += 1;
            continue;
        }
        let mut best: Option<(&Delivered, Vec<Finding>)> = None;
        for d in ours {
            let findings = load_operation(op.case, op.reply, Some(d), after, scope);
            let clean = findings.is_empty();
            if best.is_none() || clean {
                best = Some((d, findings));
            }
            if clean {
                break;
            }
        }
        match best {
            None if group.interrupted.is_some() => {
                let cause = group.interrupted.as_deref().unwrap_or_default();
                verdict.marks.push(LoadMark::new(
                    j,
                    LoadFact::Indeterminate,
                    Some(format!(
                        "no notification, and the long poll was interrupted meanwhile: {cause}"
                    )),
                ));
            }
            None => {
                verdict.marks.push(LoadMark::new(
                    j,
                    LoadFact::Lost,
                    Some(format!(
                        "no notification within {:.1}s",
                        group.deadline.as_secs_f64()
                    )),
                ));
                verdict.problems += 1;
            }
            Some((d, findings)) => {
                verdict.notification_latencies.push(d.after_post);
                if findings.is_empty() {
                    verdict
                        .marks
                        .push(LoadMark::new(j, LoadFact::Notified, None));
                    verdict.notified += 1;
                } else {
                    let detail = findings
                        .iter()
                        .map(|f| format!("{}: {}", f.check, f.message))
                        .collect::<Vec<_>>()
                        .join("; ");
                    verdict
                        .marks
                        .push(LoadMark::new(j, LoadFact::Wrong, Some(detail)));
                    verdict.problems += 1;
                }
            }
        }
    }
    if ours.len() < applied && shared > 1 {
        let fact = match group.interrupted {
            Some(_) => LoadFact::Indeterminate,
            None => LoadFact::Lost,
        };
        for j in (0..shared).rev().take(applied - ours.len()) {
            verdict.marks.push(LoadMark::new(
                j,
                fact,
                Some("fewer notifications than concurrent operations".into()),
            ));
        }
    }
    if ours.len() > applied && applied > 0 && shared > 0 {
        verdict.marks.push(LoadMark::new(
            0,
            LoadFact::Duplicated,
            Some(format!(
                "{} notifications for {applied} operation(s)",
                ours.len()
            )),
        ));
    }
    // Missing notifications are already lost; the composition is judged on complete groups.
    if shared > 1 && applied > 1 && ours.len() >= applied {
        lost_updates(group, &mut verdict);
    }
    verdict
}

/// No lost update: one notification (the last applied operation's) must show the composition
/// of all the group's operations; every operation whose keys the last one shows otherwise is
/// wrong.
fn lost_updates(group: &GroupObservation<'_>, verdict: &mut GroupVerdict) {
    let facts = &group.operations[0].case.facts;
    let after = group.expected;
    let shown = |d: &Delivered| {
        facts
            .find_resource(&d.message["data"])
            .map(|(_, r)| user_data_of(r))
    };
    if group
        .notifications
        .iter()
        .any(|d| shown(d).is_some_and(|seen| same_user_data(&seen, after)))
    {
        return;
    }
    let last_seen = group
        .notifications
        .last()
        .and_then(shown)
        .unwrap_or_default();
    let shared = group.operations.len();
    for (j, op) in group.operations.iter().enumerate() {
        let keys = op.keys.clone().unwrap_or_default();
        if keys.iter().any(|k| last_seen.get(k) != after.get(k)) {
            verdict.marks.push(LoadMark::new(
                j,
                LoadFact::Wrong,
                Some(format!(
                    "lost update: no notification shows the composition of the {shared} concurrent operations; the last shows {}",
                    crate::util::truncate(&Value::Object(last_seen.clone()).to_string(), 300)
                )),
            ));
            verdict.problems += 1;
        }
    }
}

/// What load's attribution found a leftover message to be, for [`judge_leftover`].
#[derive(Debug, Clone, Copy)]
pub enum Leftover<'a> {
    /// It shows the state of an operation judged without a notification.
    Late,
    /// It came after the slot's last group and shows that group's state again.
    Repeat,
    /// It came after the slot's last group and shows another state.
    Unexpected,
    /// A copy of the last notification of an interaction the slot had left.
    Copy,
    /// About an interaction the slot had left, showing an already notified operation's state.
    SameState,
    /// It reached the stream of agent `receiver`, not the owner's.
    Crossed { receiver: &'a str },
}

/// The verdict on a leftover message: a late one resolves a lost operation; a repeat or copy
/// is a duplicate; a message about the interaction showing a state no operation explains is
/// wrong (an unexpected notification is wrong); one on another agent's stream is crossed.
pub fn judge_leftover(leftover: Leftover<'_>, message: &Value) -> (LoadFact, Option<String>) {
    let shown = || crate::util::truncate(&message.to_string(), 300);
    match leftover {
        Leftover::Late => (LoadFact::Late, None),
        Leftover::Repeat => (
            LoadFact::Duplicated,
            Some(format!(
                "a second notification with the same state arrived: {}",
                shown()
            )),
        ),
        Leftover::Unexpected => (
            LoadFact::Wrong,
            Some(format!(
                "an unexpected notification about the interaction followed: {}",
                shown()
            )),
        ),
        Leftover::Copy => (
            LoadFact::Duplicated,
            Some(format!(
                "a second copy of the notification arrived: {}",
                shown()
            )),
        ),
        Leftover::SameState => (
            LoadFact::Duplicated,
            Some(format!(
                "another notification with the same state arrived: {}",
                shown()
            )),
        ),
        Leftover::Crossed { receiver } => (
            LoadFact::Crossed,
            Some(format!(
                "the notification reached agent {receiver}'s stream: {}",
                shown()
            )),
        ),
    }
}

/// A stream problem: a notification about interaction `id` that no operation explains, where
/// no operation can be held to it.
pub fn unexplained_notification(id: &str, message: &Value) -> String {
    format!(
        "an unexpected notification about interaction {id}: {}",
        crate::util::truncate(&message.to_string(), 300)
    )
}

/// A stream problem: notifications about interactions the run did not use.
pub fn unclaimed_notifications(count: usize) -> Option<String> {
    (count > 0).then(|| format!("{count} notifications about interactions this run did not use"))
}

/// A stream problem: notifications that came only after the load's own final barriers, which
/// the runner's closing barrier caught (sent, say, when the slots' interactions were released);
/// no operation of the load can own them any more, and they are not silently dropped.
pub fn after_final_barriers(messages: &[Value]) -> Option<String> {
    let first = messages.first()?;
    Some(format!(
        "{} notification(s) arrived after the final barriers, while the run was closing (first: {})",
        messages.len(),
        crate::util::truncate(&first.to_string(), 300)
    ))
}

/// Read-your-writes at the end of a load: the user data a GET shows (or why there is none)
/// must be the state the operations must have produced. The problem, if any.
pub fn load_read_your_writes(
    read: Result<&Map<String, Value>, &str>,
    expected: &Map<String, Value>,
) -> Option<String> {
    match read {
        Ok(seen) if same_user_data(seen, expected) => None,
        Ok(seen) => Some(format!(
            "read-your-writes: GET shows userData {} but the operations must have produced {}",
            crate::util::truncate(&Value::Object(seen.clone()).to_string(), 300),
            crate::util::truncate(&Value::Object(expected.clone()).to_string(), 300)
        )),
        Err(e) => Some(format!("read-your-writes: {e}")),
    }
}

#[cfg(test)]
mod tests;
