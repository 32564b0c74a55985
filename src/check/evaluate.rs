//! `evaluate`, stage by stage: the setup, the refusal (`refusal.rs`), the notifications, the
//! side effects; then the result. Also what regrades a result after the fact: the target's own
//! snapshot, a late notification. The checks themselves live in the sibling files; this file
//! only orders them and keeps a stage that was not reached from being judged.

use super::bayeux::check_protocol;
use super::listener::check_listener;
use super::load::{same_user_data, user_data_of};
use super::notification::{
    check_envelope, check_notification_count, check_reference_order, check_resource,
    is_error_notification,
};
use super::provisioning::check_initial_data;
use super::refusal::check_refusal;
use super::response::check_undisclosed;
use super::shape::{check_documented_shape, check_shape, normalize, redact};
use super::state::{ReadAfter, check_diff, check_read_your_writes, check_unchanged};
use super::text::pretty;
use crate::check::snapshot::SnapshotStore;
use crate::observation::{Delivered, Observation, Setup};
use crate::plan::Case;
use crate::result::{Finding, Grade, OPTIONAL_ABSENT, ScenarioResult, Severity, cap_severities};
use crate::spec::matcher::json_equal;
use crate::spec::{GwsVersion, ListenerExpectation, NotificationExpectation};
use serde_json::Value;
use std::collections::HashMap;

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

pub use crate::result::FIXTURES_NEEDED;

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
///
/// The stages in order: the setup (a case that could not be set up is not judged further),
/// the refusal (which branch the server took), the notifications, and the side effects
/// (state, disclosure, listener, isolation, barrier, concurrency).
pub fn evaluate(
    case: &Case,
    obs: &Observation,
    pinned: Pinned<'_>,
    redact_keys: &[String],
    version: GwsVersion,
) -> ScenarioResult {
    let mut findings = Vec::new();
    let mut notification_snapshot = None;
    let grade = match setup_grade(&obs.setup, &mut findings) {
        Some(grade) => grade,
        None if check_initial_data(case, obs, &mut findings) => {
            ready_grade(case, obs, &mut findings)
        }
        None => {
            let refusal_branch = check_refusal(case, obs, &mut findings);
            if !refusal_branch {
                let shapes = Shapes {
                    pinned,
                    redact_keys,
                    version,
                };
                notification_snapshot = check_notifications(case, obs, shapes, &mut findings);
            }
            check_side_effects(case, obs, refusal_branch, &mut findings);
            ready_grade(case, obs, &mut findings)
        }
    };
    let grade = settle_transport(obs, grade, &mut findings);
    cap_severities(case.scenario.level, &mut findings);
    result_of(case, obs, grade, findings, notification_snapshot)
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

/// The setup stage: the grade of a case that could not be set up, with the finding that says
/// why; `None` when it is ready to be judged.
fn setup_grade(setup: &Setup, findings: &mut Vec<Finding>) -> Option<Grade> {
    let (finding, grade) = match setup {
        Setup::Ready => return None,
        // The transport faults that interrupted it are its findings (`settle_transport`).
        Setup::Interrupted(_) => return Some(Grade::Indeterminate),
        Setup::NotOffered(why) => (
            Finding::new("setup", format!("not offered: {why}")).severity(Severity::Info),
            Grade::NotApplicable,
        ),
        Setup::NotProvisionable(why) => (
            Finding::new(FIXTURES_NEEDED, format!("cannot be provisioned: {why}"))
                .severity(Severity::Info),
            Grade::NotApplicable,
        ),
        Setup::OptionalFeatureAbsent(why) => (
            Finding::new(OPTIONAL_ABSENT, why.clone()).severity(Severity::Info),
            Grade::NotApplicable,
        ),
        Setup::Failed(why) => (Finding::new("setup", why.clone()), Grade::CouldNotTest),
    };
    findings.push(finding);
    Some(grade)
}

/// How the notification's shape is judged: the pinned snapshot, the keys redacted before it is
/// compared and kept, the GWS release whose documented core applies.
struct Shapes<'a> {
    pinned: Pinned<'a>,
    redact_keys: &'a [String],
    version: GwsVersion,
}

/// The notification stage: the count and order, then the one notification that shows the
/// final state (envelope, resource, diff, read-your-writes, shape); returns that notification,
/// redacted, for the result. For an operation that must change nothing: every notification
/// but a documented error notification is a finding.
fn check_notifications(
    case: &Case,
    obs: &Observation,
    shapes: Shapes<'_>,
    findings: &mut Vec<Finding>,
) -> Option<Value> {
    let scenario = &case.scenario;
    let spec = match &scenario.expect.notification {
        NotificationExpectation::Expected(spec) => spec,
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
            return None;
        }
    };
    let expected = scenario.request_count();
    if expected > 1 {
        // Concurrent operations may be announced in any order.
        let ordered = !scenario.send.concurrently;
        check_reference_order(obs, ordered, findings);
    }
    let counted = check_notification_count(expected, !spec.diff.is_empty(), obs, findings);
    // Concurrent operations may be announced in either order: the final state is the one the
    // GET after them shows.
    let last = match scenario.send.concurrently {
        true => counted.map(|fallback| final_notification(case, obs, fallback)),
        false => counted,
    }?;
    check_envelope(case, obs, last, &spec.envelope, findings);
    if let Some(notified) = case
        .facts
        .find_resource(&last.message["data"])
        .map(|(_, r)| r)
    {
        check_resource(&spec.resource, notified, findings);
        let read_after = ReadAfter::of(&case.facts, obs, notified);
        let reported = check_diff(case, obs, notified, shapes.version, &read_after, findings);
        check_read_your_writes(&case.facts, obs, notified, &read_after, &reported, findings);
    }
    let normalized = normalize(&case.facts, &last.message);
    let core = check_documented_shape(&case.facts, shapes.version, &normalized, findings);
    let redacted = redact(&normalized, shapes.redact_keys);
    if let (true, Pinned::Store(reference)) = (scenario.wants_snapshot(), shapes.pinned) {
        check_shape(reference, core, &redacted, findings);
    }
    Some(redacted)
}

/// The side-effects stage: the state left unchanged (also after a refusal), nothing disclosed,
/// what a listener heard, no other agent's interaction, and whether the barrier completed.
fn check_side_effects(
    case: &Case,
    obs: &Observation,
    refusal_branch: bool,
    findings: &mut Vec<Finding>,
) {
    let scenario = &case.scenario;
    if scenario.expect.unchanged || refusal_branch {
        check_unchanged(&case.facts, obs, findings);
    }
    if scenario.expect.undisclosed {
        check_undisclosed(obs, findings);
    }
    if scenario.expect.listener == Some(ListenerExpectation::Conformant) {
        check_protocol(obs.listened.as_ref(), findings);
    } else if let Some(expect) = scenario.expect.listener {
        check_listener(
            scenario.send.listener,
            expect,
            obs.listened.as_ref(),
            findings,
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
}

/// The grade of a case that was set up: from its findings, unless its operations were meant to
/// race and did not overlap (then the race was not tested).
fn ready_grade(case: &Case, obs: &Observation, findings: &mut Vec<Finding>) -> Grade {
    match &obs.in_flight_together {
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
        _ => Grade::from_findings(case.scenario.level, findings),
    }
}

/// The result: the case's identity, the grade and findings, the timings and what was received.
fn result_of(
    case: &Case,
    obs: &Observation,
    grade: Grade,
    findings: Vec<Finding>,
    notification: Option<Value>,
) -> ScenarioResult {
    let scenario = &case.scenario;
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
        notification,
        source: format!("{}:{}", scenario.source.file, scenario.source.location.line),
        provisioning: obs.provisioning.clone(),
        wire: obs.wire.clone(),
        waiver: None,
        attempts: Vec::new(),
        transport: obs.transport.clone(),
        received: received(case, obs),
    }
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
