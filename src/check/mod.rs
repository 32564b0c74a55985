//! Check stage: an observation and its scenario → findings and a grade.
//!
//! Pure functions only: no IO, no clocks, no async. Every failed expectation becomes a
//! [`Finding`] carrying expected and actual values; nothing here returns `Err`. The
//! notification diff is computed with RFC 6902 (`json-patch`) between the interaction read
//! before the request and the interaction inside the notification, minus the media's volatile
//! fields, and compared with the scenario's expected operations through matchers.

use crate::observation::{Delivered, Observation, Setup};
use crate::plan::Case;
use crate::result::{Finding, Grade, ScenarioResult, Severity, cap_severities};
use crate::snapshot::SnapshotStore;
use crate::spec::matcher::{Expected, JsonType, json_equal};
use crate::spec::{
    GwsVersion, ListenerExpectation, MediaFacts, NotificationExpectation, PatchOp, Presence,
    Refusal, ResponseExpectation,
};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

mod bayeux;
#[cfg(test)]
mod edge_tests;
mod listener;
mod load;
mod notification;
mod response;
mod shape;
mod state;
#[cfg(test)]
mod tests;

use bayeux::*;
use listener::*;
pub use load::{
    GroupObservation, GroupOperation, GroupVerdict, Leftover, LoadFact, LoadMark, Scope,
    after_final_barriers, judge_leftover, load_group, load_operation, load_read_your_writes,
    operation_accepted, same_user_data, unclaimed_notifications, unexplained_notification,
    user_data_of,
};
use notification::*;
use response::*;
pub use shape::redact;
use shape::*;
pub use state::interaction_diff;
use state::*;

/// What judging needs besides the case and its observation: the pinned snapshots, redaction,
/// the target's own accepted notifications, and the GWS release whose shapes are required.
pub struct Checker {
    /// Pinned notification shapes (the second shape layer); `None` leaves that layer out, for
    /// callers that pin the exact notification themselves.
    pub snapshots: Option<SnapshotStore>,
    pub redact_keys: Vec<String>,
    /// The target's own accepted notifications, when its CI pins them (`--target-snapshots`).
    pub own_snapshots: Option<HashMap<String, Value>>,
    pub gws_version: GwsVersion,
}

impl Checker {
    /// Judges one case's observation into its result.
    pub fn judge(&self, case: &Case, obs: &Observation) -> ScenarioResult {
        let pinned = match &self.snapshots {
            Some(store) => Pinned::Store(store.get(&case.snapshot_name())),
            None => Pinned::NotCompared,
        };
        let mut result = evaluate(case, obs, pinned, &self.redact_keys, self.gws_version);
        if let Some(own) = &self.own_snapshots {
            own_snapshot(&mut result, own.get(&case.snapshot_name()));
        }
        result
    }
}

/// The finding of a scenario whose media the target gives no way to provision: the verdict
/// counts it as missing (incomplete), not as a failure.
pub const FIXTURES_NEEDED: &str = "setup.fixtures";

/// The pinned snapshot a notification is compared with in the second shape layer.
#[derive(Clone, Copy)]
pub enum Pinned<'a> {
    /// From the store; `None` when it has no snapshot for this case (a warning).
    Store(Option<&'a Value>),
    /// The layer is left out.
    NotCompared,
}

/// Judges one observation. `pinned` is the snapshot for the second shape layer; `version`
/// picks the documented core shape the notification is held to.
pub fn evaluate(
    case: &Case,
    obs: &Observation,
    pinned: Pinned<'_>,
    redact_keys: &[String],
    version: GwsVersion,
) -> ScenarioResult {
    let scenario = &case.scenario;
    let mut findings = Vec::new();
    let mut notification_snapshot = None;
    let grade = match &obs.setup {
        Setup::NotOffered(why) => {
            findings.push(
                Finding::new("setup", format!("not offered: {why}")).severity(Severity::Info),
            );
            Grade::NotApplicable
        }
        Setup::NotProvisionable(why) => {
            findings.push(
                Finding::new(FIXTURES_NEEDED, format!("cannot be provisioned: {why}"))
                    .severity(Severity::Info),
            );
            Grade::NotApplicable
        }
        Setup::OptionalFeatureAbsent(why) => {
            findings.push(Finding::new("setup.optional", why.clone()).severity(Severity::Info));
            Grade::NotApplicable
        }
        Setup::Failed(why) => {
            findings.push(Finding::new("setup", why.clone()));
            Grade::CouldNotTest
        }
        Setup::Interrupted(_) => Grade::Indeterminate,
        Setup::Ready => {
            let refused = refusal_taken(case, obs);
            let refusal_branch = match (scenario.expect.refusal, &refused) {
                (Some(Refusal::Allowed), Some(form)) => {
                    check_allowed_refusal(obs, form, &mut findings);
                    true
                }
                (Some(Refusal::Required), Some(form @ RefusalForm::Asynchronous)) => {
                    // The reply of an asynchronous refusal is a success; the refusal is the
                    // ErrorMessage (which the notification check counts as no change).
                    findings.push(form.finding());
                    false
                }
                (Some(Refusal::Required), form) => {
                    if let Some(form) = form {
                        findings.push(form.finding());
                    }
                    check_response(case, obs, &mut findings);
                    false
                }
                (_, _) => {
                    check_response(case, obs, &mut findings);
                    false
                }
            };
            match &scenario.expect.notification {
                _ if refusal_branch => {}
                NotificationExpectation::Expected(spec) => {
                    let expected = scenario.request_count();
                    if expected > 1 {
                        // Concurrent operations may be announced in any order.
                        let ordered = !scenario.send.concurrently;
                        check_reference_order(obs, ordered, &mut findings);
                    }
                    let counted = check_notification_count(
                        expected,
                        !spec.diff.is_empty(),
                        obs,
                        &mut findings,
                    );
                    // Concurrent operations may be announced in either order: the final state
                    // is the one the GET after them shows.
                    let last = match scenario.send.concurrently {
                        true => counted.map(|fallback| final_notification(case, obs, fallback)),
                        false => counted,
                    };
                    if let Some(last) = last {
                        check_envelope(case, obs, last, &spec.envelope, &mut findings);
                        if let Some(notified) = case
                            .facts
                            .find_resource(&last.message["data"])
                            .map(|(_, r)| r)
                        {
                            check_resource(&spec.resource, notified, &mut findings);
                            let read_after = ReadAfter::of(&case.facts, obs, notified);
                            let reported = check_diff(
                                case,
                                obs,
                                notified,
                                version,
                                &read_after,
                                &mut findings,
                            );
                            check_read_your_writes(
                                &case.facts,
                                obs,
                                notified,
                                &read_after,
                                &reported,
                                &mut findings,
                            );
                        }
                        let normalized = normalize(&case.facts, &last.message);
                        let core = check_documented_shape(
                            &case.facts,
                            version,
                            &normalized,
                            &mut findings,
                        );
                        let redacted = redact(&normalized, redact_keys);
                        if let (true, Pinned::Store(reference)) =
                            (scenario.wants_snapshot(), pinned)
                        {
                            check_shape(reference, core, &redacted, &mut findings);
                        }
                        notification_snapshot = Some(redacted);
                    }
                }
                NotificationExpectation::None(_) => {
                    for n in &obs.notifications {
                        // GWS documents error notifications for operations that failed, so one
                        // is no change; anything else announces a state that must not exist.
                        let finding = if is_error_notification(&n.message) {
                            Finding::new("notification.error", "an error notification followed the rejected operation (documented for failed operations)")
                                .severity(Severity::Info)
                        } else {
                            Finding::new(
                                "notification.none",
                                "a notification arrived for an operation that must not change anything",
                            )
                        };
                        findings.push(finding.with("no notification", n.message.to_string()));
                    }
                }
            }
            if scenario.expect.unchanged || refusal_branch {
                check_unchanged(&case.facts, obs, &mut findings);
            }
            if scenario.expect.undisclosed {
                check_undisclosed(obs, &mut findings);
            }
            if scenario.expect.listener == Some(ListenerExpectation::Conformant) {
                check_protocol(obs.listened.as_ref(), &mut findings);
            } else if let Some(expect) = scenario.expect.listener {
                check_listener(
                    scenario.send.listener,
                    expect,
                    obs.listened.as_ref(),
                    &mut findings,
                );
            }
            for leak in &obs.leaked {
                findings.push(
                    Finding::new(
                        "isolation",
                        format!(
                            "agent #{} received a notification about another agent's interaction",
                            leak.agent + 1
                        ),
                    )
                    .with("nothing", leak.message.to_string()),
                );
            }
            if let Some(problem) = &obs.barrier_problem {
                findings.push(
                    Finding::new(
                        "barrier",
                        format!("extra notifications could not be ruled out: {problem}"),
                    )
                    .severity(Severity::Info),
                );
            }
            match &obs.in_flight_together {
                // Operations that did not overlap did not test the race the scenario is about.
                Some(Err(why)) => {
                    findings.push(
                        Finding::new(
                            "concurrency",
                            format!("the operations were not in flight together: {why}"),
                        )
                        .severity(Severity::Info),
                    );
                    Grade::CouldNotTest
                }
                _ => Grade::from_findings(scenario.level, &findings),
            }
        }
    };
    let grade = settle_transport(obs, grade, &mut findings);
    cap_severities(scenario.level, &mut findings);
    ScenarioResult {
        id: case.id.clone(),
        media: case.media.clone(),
        operation: scenario.operation.clone(),
        level: scenario.level,
        grade,
        findings,
        duration_ms: obs.duration.as_secs_f64() * 1000.0,
        latency_ms: obs
            .notifications
            .first()
            .map(|n| n.after_post.as_secs_f64() * 1000.0),
        notification: notification_snapshot,
        source: format!("{}:{}", scenario.source.file, scenario.source.location.line),
        provisioning: obs.provisioning.clone(),
        wire: obs.wire.clone(),
        waiver: None,
        attempts: Vec::new(),
        transport: obs.transport.clone(),
        received: received(case, obs),
    }
}
/// The grade once the transport faults are accounted for. Each fault is an informational
/// finding, never an error. A failure found in what did arrive stands (a wrong server is failed
/// through any network), unless the server forgot the session in the window (a restart, which
/// may have taken the interaction with it) or an operation under test got no reply (whether
/// the server ever received it is unknown, so its absent effects prove nothing); anything else
/// the faults touched is indeterminate. A wrong server is still failed on the attempt that
/// the network spares.
fn settle_transport(obs: &Observation, grade: Grade, findings: &mut Vec<Finding>) -> Grade {
    if obs.transport.is_empty() {
        return grade;
    }
    for fault in &obs.transport {
        findings.push(Finding::new("transport", fault.to_string()).severity(Severity::Info));
    }
    let unknown = obs.transport.iter().any(|f| f.server_forgot || f.operation);
    match grade {
        Grade::Fail if !unknown => Grade::Fail,
        Grade::NotApplicable => Grade::NotApplicable,
        _ => {
            // What follows an operation nobody knows the server received proves nothing
            // against it: such findings stay visible, as information.
            for f in findings.iter_mut() {
                f.severity = f.severity.max(Severity::Info);
            }
            Grade::Indeterminate
        }
    }
}

pub(super) fn show(v: Option<&Value>) -> String {
    v.map_or_else(|| "(absent)".into(), Value::to_string)
}
pub(super) fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}
/// Compares a result's redacted notification with the target's own accepted one: any change
/// is a failure, a missing accepted snapshot a warning (both capped by the scenario's level).
/// Regrades the result: the new finding can only make its grade worse.
pub fn own_snapshot(result: &mut ScenarioResult, accepted: Option<&Value>) {
    let Some(actual) = &result.notification else {
        return;
    };
    let before = result.findings.len();
    match accepted {
        None => result.findings.push(
            Finding::new("target-snapshot", "no accepted snapshot of this notification for this target (run with --accept-snapshots)")
                .severity(Severity::Warning),
        ),
        Some(accepted) if !json_equal(accepted, actual) => result.findings.push(
            Finding::new("target-snapshot", "the notification differs from the one accepted for this target")
                .with(pretty(accepted), pretty(actual)),
        ),
        Some(_) => return,
    }
    let added = Grade::from_findings(result.level, &result.findings[before..]);
    let applies = !matches!(result.grade, Grade::NotApplicable | Grade::CouldNotTest);
    if applies && added != Grade::Pass && (result.grade == Grade::Pass || added == Grade::Fail) {
        result.grade = added;
    }
    cap_severities(result.level, &mut result.findings[before..]);
}
/// Of concurrent operations' notifications, the one announcing the state a GET shows after
/// them; `fallback` (the last to arrive) when none does, so the diff names what is missing.
fn final_notification<'o>(
    case: &Case,
    obs: &'o Observation,
    fallback: &'o Delivered,
) -> &'o Delivered {
    let Ok(after) = &obs.after else {
        return fallback;
    };
    obs.notifications
        .iter()
        .rev()
        .find(|n| {
            case.facts
                .find_resource(&n.message["data"])
                .is_some_and(|(_, r)| same_user_data(&user_data_of(r), &user_data_of(after)))
        })
        .unwrap_or(fallback)
}

/// How a server refused an operation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RefusalForm {
    /// A non-zero `statusCode` in the reply.
    Synchronous { status_code: Value },
    /// Voice: `statusCode` 0, then an `ErrorMessage` notification about the call.
    Asynchronous,
}

impl RefusalForm {
    /// The info finding that tells reports which form the server used.
    fn finding(&self) -> Finding {
        let message = match self {
            RefusalForm::Synchronous { status_code } => {
                format!("refused synchronously: statusCode {status_code} in the reply")
            }
            RefusalForm::Asynchronous => {
                "refused asynchronously: statusCode 0 in the reply, then an ErrorMessage notification about the call".to_string()
            }
        };
        Finding::new("refusal.form", message).severity(Severity::Info)
    }
}

/// Whether (and how) the server refused the operation: a non-zero `statusCode`, or on voice
/// (whose requests GWS passes on to T-Server) `statusCode` 0 and an error notification.
fn refusal_taken(case: &Case, obs: &Observation) -> Option<RefusalForm> {
    let code = obs
        .response
        .as_ref()
        .ok()?
        .body
        .json()
        .and_then(|b| b.get("statusCode"))
        .cloned();
    match code {
        Some(c) if c != json!(0) => Some(RefusalForm::Synchronous { status_code: c }),
        Some(_)
            if case.media == "voice"
                && reaches_t_server(case)
                && obs
                    .notifications
                    .iter()
                    .any(|n| is_error_notification(&n.message)) =>
        {
            Some(RefusalForm::Asynchronous)
        }
        _ => None,
    }
}

/// Whether the request is one GWS can pass on to T-Server: parseable, about an existing call.
fn reaches_t_server(case: &Case) -> bool {
    let send = &case.scenario.send;
    send.raw_body.is_none() && send.interaction == crate::spec::InteractionRef::Own
}

/// The refusal branch of an either-or scenario: a documented refusal (a `statusMessage` with a
/// synchronous one), no notification announcing a change (the caller checks `unchanged`). The
/// scenario prefers the effect, so a correct refusal is a warning.
fn check_allowed_refusal(obs: &Observation, form: &RefusalForm, findings: &mut Vec<Finding>) {
    if let (RefusalForm::Synchronous { .. }, Ok(reply)) = (form, &obs.response)
        && !reply
            .body
            .json()
            .and_then(|b| b.get("statusMessage"))
            .is_some_and(Value::is_string)
    {
        findings.push(
            Finding::new(
                "refusal",
                "the refusal carries no statusMessage (every error reply has one)",
            )
            .with("a string statusMessage", reply.body.describe()),
        );
    }
    for n in obs
        .notifications
        .iter()
        .filter(|n| !is_error_notification(&n.message))
    {
        findings.push(
            Finding::new(
                "notification.none",
                "the operation was refused, yet a notification announced a change",
            )
            .with("no notification", n.message.to_string()),
        );
    }
    findings.push(form.finding());
    findings.push(
        Finding::new(
            "refusal.allowed",
            "the server refused the operation (allowed: a documented refusal that changes nothing); the documented effect is preferred",
        )
        .severity(Severity::Warning),
    );
}

/// Fingerprints of what the scenario's owner received.
fn received(case: &Case, obs: &Observation) -> crate::result::Received {
    let mut received = crate::result::Received {
        resource_keys: case.facts.resource_key.clone(),
        volatile: case.facts.volatile.clone(),
        ..Default::default()
    };
    for n in &obs.notifications {
        if let Some(reference) = n.message.pointer("/data/referenceId") {
            received.reference_ids.push(reference.clone());
        }
        if let Some(state) = received.state_of(&n.message) {
            received.states.push(state);
        }
    }
    received
}

/// Adds a notification that arrived after the scenario had finished (after its barrier). One
/// that repeats a notification the scenario received is a duplicate: exactly once holds after
/// the barrier too (must). One that announces something new is informational: a server may
/// announce the end of the interaction when the fixture cleanup ends it.
pub fn late_notification(result: &mut ScenarioResult, message: &Value) {
    match result.received.repeated_by(message) {
        Some(why) => {
            result.findings.push(
                Finding::new(
                    "notification.duplicate",
                    format!("a notification arrived after the barrier that repeats one already received: {why}"),
                )
                .with("each notification once", message.to_string()),
            );
            let added = result.findings.len() - 1;
            cap_severities(result.level, &mut result.findings[added..]);
            if matches!(result.grade, Grade::Pass | Grade::Warning) {
                result.grade = Grade::from_findings(result.level, &result.findings);
            }
        }
        None => result.findings.push(
            Finding::new("notification.late", "a notification about this interaction arrived after the scenario had finished (after its barrier and cleanup)")
                .with("nothing after the barrier", message.to_string())
                .severity(Severity::Info),
        ),
    }
}
