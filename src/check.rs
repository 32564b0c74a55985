//! Check stage: an observation and its scenario → findings and a grade.
//!
//! Pure functions only: no IO, no clocks, no async. Every failed expectation becomes a
//! [`Finding`] carrying expected and actual values; nothing here returns `Err`. The
//! notification diff is computed with RFC 6902 (`json-patch`) between the interaction read
//! before the request and the interaction inside the notification, minus the media's volatile
//! fields, and compared with the scenario's expected operations through matchers.

use crate::plan::Case;
use crate::result::{Finding, Grade, ScenarioResult, Severity};
use crate::run::observation::{Delivered, Observation, Setup};
use crate::spec::matcher::{Expected, JsonType, json_equal};
use crate::spec::{
    GwsVersion, MediaFacts, NotificationExpectation, PatchOp, Presence, ResponseExpectation,
};
use serde_json::{Map, Value, json};

/// Judges one observation. `reference` is the pinned notification shape, if any; `version`
/// picks the documented core shape the notification is held to.
pub fn evaluate(
    case: &Case,
    obs: &Observation,
    reference: Option<&Value>,
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
        Setup::OptionalFeatureAbsent(why) => {
            findings.push(Finding::new("setup.optional", why.clone()).severity(Severity::Info));
            Grade::NotApplicable
        }
        Setup::Failed(why) => {
            findings.push(Finding::new("setup", why.clone()));
            Grade::CouldNotTest
        }
        Setup::Ready => {
            check_response(case, obs, &mut findings);
            match &scenario.expect.notification {
                NotificationExpectation::Expected(spec) => {
                    let expected = scenario.request_count();
                    if expected > 1 {
                        check_reference_order(obs, &mut findings);
                    }
                    if let Some(last) = check_notification_count(expected, obs, &mut findings) {
                        check_envelope(case, obs, last, &spec.envelope, &mut findings);
                        if let Some(notified) = case
                            .facts
                            .find_resource(&last.message["data"])
                            .map(|(_, r)| r)
                        {
                            check_resource(&spec.resource, notified, &mut findings);
                            check_diff(case, obs, notified, &mut findings);
                            check_read_your_writes(&case.facts, obs, notified, &mut findings);
                        }
                        let normalized = normalize(&case.facts, &last.message);
                        let core = check_documented_shape(
                            &case.facts,
                            version,
                            &normalized,
                            &mut findings,
                        );
                        let redacted = redact(&normalized, redact_keys);
                        if scenario.wants_snapshot() {
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
            if scenario.expect.unchanged {
                check_unchanged(&case.facts, obs, &mut findings);
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
            Grade::from_findings(scenario.level, &findings)
        }
    };
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
        wire: obs.wire.clone(),
    }
}

/// The response expectation: the scenario's own, or the success default for the media.
fn default_response(facts: &MediaFacts) -> ResponseExpectation {
    let mut entries = vec![("statusCode".to_string(), Expected::Exact(json!(0)))];
    match facts.reference_id.response {
        Presence::Required => {
            entries.push(("referenceId".into(), Expected::Type(JsonType::Integer)))
        }
        Presence::Optional => {}
        Presence::Absent => entries.push(("referenceId".into(), Expected::Absent)),
    }
    // Success bodies are documented with `statusCode` (and `referenceId` where the media
    // answers with one); nothing says other properties are forbidden there.
    ResponseExpectation {
        status: Some(Expected::Exact(json!(200))),
        body: Some(Expected::Object {
            entries,
            partial: true,
        }),
    }
}

fn check_response(case: &Case, obs: &Observation, findings: &mut Vec<Finding>) {
    let reply = match &obs.response {
        Ok(r) => r,
        Err(why) => {
            findings.push(Finding::new("response", format!("no HTTP response: {why}")));
            return;
        }
    };
    let expect = &case.scenario.expect;
    let defaults = default_response(&case.facts);
    let own = expect.response.clone().unwrap_or_default();
    let main = ResponseExpectation {
        status: own.status.or(if expect.response.is_none() {
            defaults.status.clone()
        } else {
            None
        }),
        body: own.body.or(if expect.response.is_none() {
            defaults.body.clone()
        } else {
            None
        }),
    };
    response_findings(&main, reply, Severity::Error, findings);
    if let Some(should) = &expect.should {
        response_findings(&should.response, reply, Severity::Warning, findings);
    }
    if case.facts.reference_id.response == Presence::Optional
        && let Some(r) = reply.body.json().and_then(|b| b.get("referenceId"))
        && JsonType::of(r) != JsonType::Integer
        && is_success(reply)
    {
        findings.push(
            Finding::new(
                "response.referenceId",
                "referenceId in the response is not an integer",
            )
            .with("an integer", r.to_string()),
        );
    }
}

/// `notificationType: Error` (multimedia) or `messageType: ErrorMessage` (voice).
fn is_error_notification(message: &Value) -> bool {
    let data = &message["data"];
    data["notificationType"] == "Error" || data["messageType"] == "ErrorMessage"
}

fn is_success(reply: &crate::run::observation::Reply) -> bool {
    reply.body.json().and_then(|b| b.get("statusCode")) == Some(&json!(0))
}

fn response_findings(
    expect: &ResponseExpectation,
    reply: &crate::run::observation::Reply,
    severity: Severity,
    findings: &mut Vec<Finding>,
) {
    if let Some(status) = &expect.status
        && !status.matches(Some(&json!(reply.status)))
    {
        findings.push(
            Finding::new(
                "response.status",
                format!("HTTP status {} does not match {status}", reply.status),
            )
            .with(status.to_string(), reply.status.to_string())
            .severity(severity),
        );
    }
    if let Some(body) = &expect.body {
        match reply.body.json() {
            None => findings.push(
                Finding::new("response.body", "the response body is not JSON")
                    .with(pretty(&body.to_display_json()), reply.body.describe())
                    .severity(severity),
            ),
            Some(actual) => {
                let mismatches = body.check(Some(actual));
                if !mismatches.is_empty() {
                    let detail: Vec<String> = mismatches
                        .iter()
                        .map(|m| format!("{}: expected {}, got {}", m.path, m.expected, m.actual))
                        .collect();
                    findings.push(
                        Finding::new(
                            "response.body",
                            format!("the response body does not match ({})", detail.join("; ")),
                        )
                        .with(pretty(&body.to_display_json()), pretty(actual))
                        .severity(severity),
                    );
                }
            }
        }
    }
}

/// Checks how many notifications arrived; returns the one carrying the final state.
fn check_notification_count<'o>(
    expected: usize,
    obs: &'o Observation,
    findings: &mut Vec<Finding>,
) -> Option<&'o Delivered> {
    let got = obs.notifications.len();
    let all = || {
        obs.notifications
            .iter()
            .map(|n| n.message.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let waited = match &obs.stream_closed {
        Some(reason) => format!("before the notification stream closed ({reason})"),
        None => format!("within {:.1}s", obs.notification_deadline.as_secs_f64()),
    };
    if got == 0 {
        findings.push(Finding::new(
            "notification",
            format!("no notification for the interaction {waited}"),
        ));
        return None;
    }
    if got > expected {
        findings.push(
            Finding::new(
                "notification.count",
                format!("{got} notifications for {expected} operation(s) (duplicates or extras)"),
            )
            .with(format!("exactly {expected}"), all()),
        );
    } else if got < expected {
        findings.push(
            Finding::new(
                "notification.count",
                format!("only {got} notification(s) for {expected} operations {waited}"),
            )
            .with(format!("exactly {expected}"), all()),
        );
    }
    obs.notifications.get(expected.min(got) - 1)
}

/// `referenceId`s of successive notifications must differ, since each links one request (the
/// documented purpose). That they grow is only how servers are seen to number them: `should`.
fn check_reference_order(obs: &Observation, findings: &mut Vec<Finding>) {
    let ids: Vec<&Value> = obs
        .notifications
        .iter()
        .filter_map(|n| n.message["data"].get("referenceId"))
        .collect();
    let shown = || {
        ids.iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let repeated = ids
        .iter()
        .enumerate()
        .any(|(i, a)| ids[..i].iter().any(|b| json_equal(a, b)));
    if repeated {
        findings.push(
            Finding::new(
                "notification.referenceId",
                "two notifications of one scenario carry the same referenceId, so they cannot each be linked to their request",
            )
            .with("a distinct referenceId per request", shown()),
        );
        return;
    }
    let increasing = ids
        .windows(2)
        .all(|w| match (w[0].as_i64(), w[1].as_i64()) {
            (Some(a), Some(b)) => b > a,
            _ => true,
        });
    if !increasing {
        findings.push(
            Finding::new(
                "notification.referenceId.order",
                "successive notifications do not carry increasing referenceIds",
            )
            .with("increasing", shown())
            .severity(Severity::Warning),
        );
    }
}

fn one_of(list: &[String]) -> String {
    if list.len() == 1 {
        format!("`{}`", list[0])
    } else {
        format!(
            "one of {}",
            list.iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// The envelope of the notification that carries the final state (the last one expected).
fn check_envelope(
    case: &Case,
    obs: &Observation,
    last: &Delivered,
    overrides: &[(String, Expected)],
    findings: &mut Vec<Finding>,
) {
    let facts = &case.facts;
    let message = &last.message;
    let channel = message.get("channel").and_then(Value::as_str).unwrap_or("");
    if !facts.channel.iter().any(|c| c == channel) {
        findings.push(
            Finding::new(
                "notification.channel",
                format!("notification on channel `{channel}`"),
            )
            .with(one_of(&facts.channel), channel),
        );
    }
    let Some(data) = message.get("data").and_then(Value::as_object) else {
        findings.push(
            Finding::new("notification.data", "the notification has no `data` object")
                .with("an object", message.to_string()),
        );
        return;
    };
    let overridden = |key: &str| overrides.iter().find(|(k, _)| k == key).map(|(_, e)| e);
    for (key, accepted) in [
        ("notificationType", &facts.notification_type),
        ("messageType", &facts.message_type),
    ] {
        let actual = data.get(key);
        if let Some(e) = overridden(key) {
            if !e.matches(actual) {
                findings.push(
                    Finding::new(
                        &format!("notification.{key}"),
                        format!("`data.{key}` does not match"),
                    )
                    .with(e.to_string(), show(actual)),
                );
            }
        } else if !actual
            .and_then(Value::as_str)
            .is_some_and(|a| accepted.iter().any(|x| x == a))
        {
            findings.push(
                Finding::new(
                    &format!("notification.{key}"),
                    format!("unexpected `data.{key}`"),
                )
                .with(one_of(accepted), show(actual)),
            );
        }
    }
    for (key, e) in overrides {
        if key != "notificationType" && key != "messageType" && !e.matches(data.get(key)) {
            findings.push(
                Finding::new(
                    &format!("notification.{key}"),
                    format!("`data.{key}` does not match"),
                )
                .with(e.to_string(), show(data.get(key))),
            );
        }
    }
    if overridden("referenceId").is_none() {
        check_reference_id(case, obs, data, findings);
    }
    if facts.find_resource(&message["data"]).is_none() {
        let keys: Vec<&String> = data.keys().collect();
        findings.push(
            Finding::new(
                "notification.resource",
                "the interaction object is missing from `data`",
            )
            .with(one_of(&facts.resource_key), format!("keys {keys:?}")),
        );
    }
}

fn check_reference_id(
    case: &Case,
    obs: &Observation,
    data: &Map<String, Value>,
    findings: &mut Vec<Finding>,
) {
    let actual = data.get("referenceId");
    match (case.facts.reference_id.notification, actual) {
        (Presence::Required, None) => findings.push(
            Finding::new(
                "notification.referenceId",
                "the notification has no `referenceId`",
            )
            .with("an integer", "(absent)"),
        ),
        (Presence::Absent, Some(v)) => findings.push(
            Finding::new(
                "notification.referenceId",
                "the notification carries a `referenceId`",
            )
            .with("(absent)", v.to_string()),
        ),
        (_, Some(v)) if JsonType::of(v) != JsonType::Integer => findings.push(
            Finding::new(
                "notification.referenceId",
                "`referenceId` is not an integer",
            )
            .with("an integer", v.to_string()),
        ),
        _ => {}
    }
    let from_response = obs
        .response
        .as_ref()
        .ok()
        .and_then(|r| r.body.json())
        .and_then(|b| b.get("referenceId"));
    // The response answers the first request, so it links to the first notification.
    let first = obs
        .notifications
        .first()
        .and_then(|n| n.message["data"].get("referenceId"));
    // The open media and workitem samples show the same value in both; the Twitter sample
    // shows two different ones, so equality is only `should`.
    if let (Some(r), Some(n)) = (from_response, first)
        && !json_equal(r, n)
    {
        findings.push(
            Finding::new(
                "notification.referenceId.link",
                "the notification's `referenceId` differs from the one in the HTTP response",
            )
            .with(r.to_string(), n.to_string())
            .severity(Severity::Warning),
        );
    }
}

fn show(v: Option<&Value>) -> String {
    v.map_or_else(|| "(absent)".into(), Value::to_string)
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn is_volatile(facts: &MediaFacts, path: &str) -> bool {
    facts
        .volatile
        .iter()
        .any(|v| path == v || path.starts_with(&format!("{v}/")))
}

/// An interaction with no `userData` property has the same user data as one with `{}`; the
/// docs fix that representation only for voice DeleteUserData, which has its own check.
fn with_user_data(interaction: &Value) -> std::borrow::Cow<'_, Value> {
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

fn check_diff(case: &Case, obs: &Observation, notified: &Value, findings: &mut Vec<Finding>) {
    let NotificationExpectation::Expected(spec) = &case.scenario.expect.notification else {
        return;
    };
    let Some(before) = &obs.before else { return };
    let actual = interaction_diff(&case.facts, before, notified);
    let mut problems = Vec::new();
    let mut matched = vec![false; actual.len()];
    for expected in &spec.diff {
        let found = actual.iter().enumerate().find(|(i, op)| {
            !matched[*i]
                && op["path"] == json!(expected.path)
                && op["op"] == json!(expected.op.as_str())
        });
        match found {
            None => problems.push(format!(
                "missing: {} {}",
                expected.op.as_str(),
                expected.path
            )),
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
                        problems.push(format!(
                            "wrong value at {}{at}: expected {}, got {}",
                            expected.path, m.expected, m.actual
                        ));
                    }
                }
            }
        }
    }
    for (op, _) in actual.iter().zip(&matched).filter(|(_, m)| !**m) {
        problems.push(format!(
            "unexpected: {} {}",
            op["op"].as_str().unwrap_or("?"),
            op["path"].as_str().unwrap_or("?")
        ));
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
}

/// The differences between two interaction states, ignoring volatile fields; empty when
/// they hold the same data.
fn state_difference(facts: &MediaFacts, a: &Value, b: &Value) -> Vec<Value> {
    interaction_diff(facts, a, b)
}

/// A finding about two states that should be equal: the message names the differing paths,
/// and expected/actual list only those paths, each with its value on either side.
fn state_finding(
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

fn check_read_your_writes(
    facts: &MediaFacts,
    obs: &Observation,
    notified: &Value,
    findings: &mut Vec<Finding>,
) {
    match &obs.after {
        Err(why) => findings.push(Finding::new(
            "read-after",
            format!("could not read the interaction after the notification: {why}"),
        )),
        Ok(after) => {
            // The user data is what the operation wrote, so it must read back. For the other
            // properties only the call resource is documented as identical in GET and
            // notifications; elsewhere a difference is a warning.
            let (user_data, other): (Vec<Value>, Vec<Value>) =
                state_difference(facts, notified, after)
                    .into_iter()
                    .partition(|op| {
                        op["path"]
                            .as_str()
                            .is_some_and(|p| p == "/userData" || p.starts_with("/userData/"))
                    });
            if !user_data.is_empty() {
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
                    &other,
                );
                findings.push(if facts.get_equals_notification {
                    finding
                } else {
                    finding.severity(Severity::Warning)
                });
            }
        }
    }
}

fn check_unchanged(facts: &MediaFacts, obs: &Observation, findings: &mut Vec<Finding>) {
    let Some(before) = &obs.before else { return };
    match &obs.after {
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

/// Renames an accepted alternative resource key to the canonical one, so shapes compare.
fn normalize(facts: &MediaFacts, message: &Value) -> Value {
    let mut m = message.clone();
    if let Some(data) = m.get_mut("data").and_then(Value::as_object_mut) {
        let canonical = facts.canonical_resource_key().to_string();
        if let Some(alt) = facts
            .resource_key
            .iter()
            .skip(1)
            .find(|k| data.contains_key(k.as_str()))
            .cloned()
            && !data.contains_key(&canonical)
            && let Some(v) = data.remove(&alt)
        {
            data.insert(canonical, v);
        }
    }
    m
}

/// Compares a result's redacted notification with the target's own accepted one: any change
/// is a failure, a missing accepted snapshot a warning. Regrades the result.
pub fn own_snapshot(result: &mut ScenarioResult, accepted: Option<&Value>) {
    let Some(actual) = &result.notification else {
        return;
    };
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
    if !matches!(result.grade, Grade::NotApplicable | Grade::CouldNotTest) {
        result.grade = Grade::from_findings(result.level, &result.findings);
    }
}

/// Adds a notification that arrived after the scenario had finished. It is informational: a
/// server may legitimately notify when the fixture cleanup ends the interaction.
pub fn late_notification(result: &mut ScenarioResult, message: &Value) {
    result.findings.push(
        Finding::new("notification.late", "a notification about this interaction arrived after the scenario had finished (after its barrier and cleanup)")
            .with("nothing after the barrier", message.to_string())
            .severity(Severity::Info),
    );
}

/// Replaces the values of volatile keys, at any depth, with `"[redacted]"`.
pub fn redact(value: &Value, keys: &[String]) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if keys.iter().any(|r| r == k) && !v.is_object() && !v.is_array() {
                        json!("[redacted]")
                    } else {
                        redact(v, keys)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| redact(v, keys)).collect()),
        other => other.clone(),
    }
}

/// Matchers on the notified interaction object itself, where the docs fix a representation
/// (voice DeleteUserData: the call has no `userData` property).
fn check_resource(expect: &[(String, Expected)], notified: &Value, findings: &mut Vec<Finding>) {
    for (key, e) in expect {
        let actual = notified.get(key);
        if !e.matches(actual) {
            findings.push(
                Finding::new(
                    &format!("notification.resource.{key}"),
                    format!("the interaction's `{key}` does not match"),
                )
                .with(e.to_string(), show(actual)),
            );
        }
    }
}

/// Where two shapes disagree.
#[derive(Default)]
struct ShapeGaps {
    missing: Vec<String>,
    retyped: Vec<String>,
    extra: Vec<String>,
}

impl ShapeGaps {
    fn of(reference: &Value, actual: &Value) -> ShapeGaps {
        let mut gaps = ShapeGaps::default();
        compare_shape(reference, actual, &mut String::new(), &mut gaps);
        gaps
    }

    fn is_match(&self) -> bool {
        self.missing.is_empty() && self.retyped.is_empty()
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.missing.is_empty() {
            parts.push(format!("missing {}", self.missing.join(", ")));
        }
        if !self.retyped.is_empty() {
            parts.push(format!("different type at {}", self.retyped.join(", ")));
        }
        parts.join("; ")
    }

    /// Expected and actual, one line per differing path.
    fn sides(&self, reference: &Value, actual: &Value) -> (String, String) {
        let mut expected = Vec::new();
        let mut got = Vec::new();
        for path in &self.missing {
            expected.push(format!("{path}: {}", type_at(reference, path)));
            got.push(format!("{path}: (absent)"));
        }
        for entry in &self.retyped {
            let path = entry.split(" (").next().unwrap_or(entry);
            expected.push(format!("{path}: {}", type_at(reference, path)));
            got.push(format!("{path}: {}", type_at(actual, path)));
        }
        (expected.join("\n"), got.join("\n"))
    }
}

fn type_at(doc: &Value, path: &str) -> &'static str {
    let pointer = if path == "/" { "" } else { path };
    doc.pointer(pointer).map_or("(absent)", type_name)
}

/// The first shape layer: every property the GWS pages show for this media (in `version`)
/// must be there with its documented JSON type. Returns the core used, so the second layer
/// can leave its paths alone.
fn check_documented_shape<'f>(
    facts: &'f MediaFacts,
    version: GwsVersion,
    message: &Value,
    findings: &mut Vec<Finding>,
) -> Option<&'f Value> {
    let core = facts.documented_for(version)?;
    let gaps = ShapeGaps::of(&core.shape, message);
    if !gaps.is_match() {
        // A notification that fits another version's documented shape is most likely that
        // version, not a broken server: say so, so the vendor knows what to change.
        let other = facts
            .documented
            .iter()
            .filter(|d| !d.describes(version))
            .find(|d| ShapeGaps::of(&d.shape, message).is_match());
        let lacks = format!(
            "the notification lacks the documented GWS {version} shape: {}",
            gaps.describe()
        );
        let message_text = match other {
            Some(other) => {
                let versions: Vec<&str> = other.gws.iter().map(|v| v.as_str()).collect();
                format!(
                    "{}; the notification fits the documented GWS {} shape instead (certify with --gws-version {}): {lacks}",
                    other
                        .signature
                        .as_deref()
                        .unwrap_or("another version's format"),
                    versions.join("/"),
                    versions.last().copied().unwrap_or_default(),
                )
            }
            None => lacks,
        };
        let (expected, actual) = gaps.sides(&core.shape, message);
        findings.push(Finding::new("shape.documented", message_text).with(expected, actual));
    }
    Some(&core.shape)
}

/// The second shape layer: the pinned snapshot is what the reference server sends. Where it
/// goes beyond the documented core, a difference is only a warning; properties the target
/// adds are informational.
fn check_shape(
    reference: Option<&Value>,
    core: Option<&Value>,
    actual: &Value,
    findings: &mut Vec<Finding>,
) {
    let Some(reference) = reference else {
        findings.push(
            Finding::new("shape", "no pinned snapshot for this scenario")
                .severity(Severity::Warning),
        );
        return;
    };
    let mut gaps = ShapeGaps::of(reference, actual);
    let in_core = |path: &str| {
        let path = path.split(" (").next().unwrap_or(path);
        core.is_some_and(|c| c.pointer(path).is_some())
    };
    gaps.missing.retain(|p| !in_core(p));
    gaps.retyped.retain(|p| !in_core(p));
    if !gaps.is_match() {
        let (expected, got) = gaps.sides(reference, actual);
        findings.push(
            Finding::new(
                "shape",
                format!(
                    "beyond the documented shape, the notification differs from the reference server's: {}",
                    gaps.describe()
                ),
            )
            .with(expected, got)
            .severity(Severity::Warning),
        );
    }
    if !gaps.extra.is_empty() {
        findings.push(
            Finding::new(
                "shape.extra",
                format!(
                    "properties beyond the pinned shape: {}",
                    gaps.extra.join(", ")
                ),
            )
            .severity(Severity::Info),
        );
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Walks `reference`: each of its properties must exist in `actual` with the same JSON type.
/// Arrays compare their first elements. A missing `userData` is not a gap: it means `{}`.
fn compare_shape(reference: &Value, actual: &Value, path: &mut String, gaps: &mut ShapeGaps) {
    if type_name(reference) != type_name(actual) {
        gaps.retyped.push(format!(
            "{} ({} → {})",
            if path.is_empty() { "/" } else { path },
            type_name(reference),
            type_name(actual)
        ));
        return;
    }
    match (reference, actual) {
        (Value::Object(r), Value::Object(a)) => {
            for (k, rv) in r {
                let len = path.len();
                path.push('/');
                path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                match a.get(k) {
                    None if k == "userData" => {}
                    None => gaps.missing.push(path.clone()),
                    Some(av) => compare_shape(rv, av, path, gaps),
                }
                path.truncate(len);
            }
            for k in a.keys().filter(|k| !r.contains_key(*k)) {
                gaps.extra.push(format!("{path}/{k}"));
            }
        }
        (Value::Array(r), Value::Array(a)) => {
            if let (Some(rv), Some(av)) = (r.first(), a.first()) {
                let len = path.len();
                path.push_str("/0");
                compare_shape(rv, av, path, gaps);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_reaches_every_depth() {
        let v = json!({"data": {"call": {"id": "x", "userData": {"id": "kept?"}, "participants": [{"uri": "u"}]}}});
        let r = redact(&v, &["id".into(), "uri".into()]);
        assert_eq!(r["data"]["call"]["id"], "[redacted]");
        assert_eq!(r["data"]["call"]["participants"][0]["uri"], "[redacted]");
    }

    #[test]
    fn shapes_report_missing_retyped_and_extra() {
        let reference = json!({"a": 1, "b": {"c": "x"}, "d": [1]});
        let actual = json!({"a": "1", "b": {}, "d": [2], "e": true});
        let mut f = Vec::new();
        check_shape(Some(&reference), None, &actual, &mut f);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f[0].message.contains("missing /b/c"), "{}", f[0].message);
        assert!(
            f[0].message.contains("/a (number → string)"),
            "{}",
            f[0].message
        );
        assert_eq!(f[1].severity, Severity::Info);
        assert!(f[1].message.contains("/e"));
    }

    /// Voice facts with both documented versions, as `specs/media.yaml` records them.
    fn voice_facts() -> MediaFacts {
        let call_852 = json!({"id": "x", "participants": [{"phoneNumber": "1"}], "connId": "c", "duration": "1", "userData": {}});
        let call_851 = json!({"id": "x", "participants": ["1"], "participantsInfo": [{"digits": "1"}], "duration": "1", "userData": {}});
        serde_json::from_value(json!({
            "feature": "api-voice", "collection": ["calls"], "resource_key": ["call"],
            "channel": ["/v2/me/calls"], "message_type": ["CallStateChangeMessage"],
            "notification_type": ["AttachedDataChanged"],
            "reference_id": {"response": "optional", "notification": "optional"},
            "delete": "all", "operations": ["AttachUserData"], "volatile": ["/duration"],
            "documented": [
                {"gws": ["8.5.2"], "basis": "pages", "shape": {"channel": "c", "data": {"call": call_852}}},
                {"gws": ["8.5.1"], "basis": "capture", "signature": "participants are strings",
                 "shape": {"channel": "c", "data": {"call": call_851}}}
            ]
        }))
        .unwrap()
    }

    fn message(call: Value) -> Value {
        json!({"channel": "/v2/me/calls", "data": {"call": call}})
    }

    #[test]
    fn absent_user_data_and_an_empty_object_are_the_same_state() {
        let facts = voice_facts();
        let bare = json!({"id": "a", "state": "Dialing"});
        let empty = json!({"id": "a", "state": "Dialing", "userData": {}});
        assert!(interaction_diff(&facts, &bare, &empty).is_empty());
        let attached = json!({"state": "Dialing", "id": "a", "userData": {"K": "v"}});
        assert_eq!(
            interaction_diff(&facts, &bare, &attached),
            vec![json!({"op": "add", "path": "/userData/K", "value": "v"})]
        );
        assert_eq!(
            interaction_diff(&facts, &empty, &attached),
            interaction_diff(&facts, &bare, &attached),
            "the change does not depend on how empty user data was shown"
        );
    }

    #[test]
    fn key_order_never_makes_a_difference() {
        let facts = voice_facts();
        let a = json!({"id": "a", "userData": {"A": 1, "B": {"x": 1, "y": 2}}});
        let b = json!({"userData": {"B": {"y": 2, "x": 1}, "A": 1}, "id": "a"});
        assert!(interaction_diff(&facts, &a, &b).is_empty());
    }

    #[test]
    fn a_missing_documented_property_fails_and_names_the_path() {
        let facts = voice_facts();
        let mut f = Vec::new();
        let call = json!({"id": "x", "participants": [{"phoneNumber": "1"}], "duration": 5});
        check_documented_shape(&facts, GwsVersion::V8_5_2, &message(call), &mut f);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].check.as_str(), f[0].severity),
            ("shape.documented", Severity::Error)
        );
        assert!(
            f[0].message.contains("missing /data/call/connId"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].message
                .contains("/data/call/duration (string → number)"),
            "{}",
            f[0].message
        );
        assert_eq!(
            f[0].expected.as_deref(),
            Some("/data/call/connId: string\n/data/call/duration: string")
        );
        assert_eq!(
            f[0].actual.as_deref(),
            Some("/data/call/connId: (absent)\n/data/call/duration: number")
        );
    }

    #[test]
    fn the_documented_shape_passes_without_user_data_and_with_extras() {
        let facts = voice_facts();
        let mut f = Vec::new();
        let call = json!({"extra": true, "connId": "c", "duration": "2", "participants": [{"phoneNumber": "1", "more": 1}], "id": "x"});
        let core = check_documented_shape(&facts, GwsVersion::V8_5_2, &message(call), &mut f);
        assert!(f.is_empty(), "{f:?}");
        assert!(core.is_some());
        let mut f = Vec::new();
        let retyped = json!({"id": "x", "participants": [{"phoneNumber": "1"}], "connId": "c", "duration": "1", "userData": []});
        check_documented_shape(&facts, GwsVersion::V8_5_2, &message(retyped), &mut f);
        assert!(
            f[0].message
                .contains("/data/call/userData (object → array)"),
            "{f:?}"
        );
    }

    #[test]
    fn another_versions_shape_is_named_as_the_cause() {
        let facts = voice_facts();
        let old = message(
            json!({"id": "x", "participants": ["1"], "participantsInfo": [{"digits": "1"}], "duration": "1"}),
        );
        let mut f = Vec::new();
        check_documented_shape(&facts, GwsVersion::V8_5_1, &old, &mut f);
        assert!(f.is_empty(), "certified under its own version: {f:?}");
        check_documented_shape(&facts, GwsVersion::V8_5_2, &old, &mut f);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.starts_with("participants are strings; the notification fits the documented GWS 8.5.1 shape instead (certify with --gws-version 8.5.1)"),
            "{}",
            f[0].message
        );
        let mut f = Vec::new();
        check_documented_shape(
            &facts,
            GwsVersion::V8_5_2,
            &message(json!({"id": 1})),
            &mut f,
        );
        assert!(
            !f[0].message.contains("--gws-version"),
            "no version fits: {}",
            f[0].message
        );
    }

    #[test]
    fn beyond_the_documented_core_a_difference_is_only_a_warning() {
        let core = json!({"data": {"call": {"id": "x", "participants": []}}});
        let pinned = json!({"data": {"call": {"id": "x", "receivedDate": "d", "participants": [{"id": "p"}]}}});
        let actual =
            json!({"data": {"call": {"id": "x", "participants": [{"name": "n"}], "own": 1}}});
        let mut f = Vec::new();
        check_shape(Some(&pinned), Some(&core), &actual, &mut f);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(
            (f[0].check.as_str(), f[0].severity),
            ("shape", Severity::Warning)
        );
        assert!(
            f[0].message.starts_with("beyond the documented shape"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].message
                .contains("missing /data/call/receivedDate, /data/call/participants/0/id"),
            "{}",
            f[0].message
        );
        assert_eq!(f[1].severity, Severity::Info);
        let mut f = Vec::new();
        check_shape(Some(&pinned), Some(&core), &pinned, &mut f);
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn the_core_decides_its_own_paths_in_the_second_layer() {
        // Under 8.5.1 participants are strings: the 8.5.2-shaped snapshot must not object.
        let core = json!({"data": {"call": {"participants": ["1"]}}});
        let pinned = json!({"data": {"call": {"participants": [{"phoneNumber": "1"}]}}});
        let actual = json!({"data": {"call": {"participants": ["1"]}}});
        let mut f = Vec::new();
        check_shape(Some(&pinned), Some(&core), &actual, &mut f);
        assert!(f.is_empty(), "{f:?}");
        check_shape(Some(&pinned), None, &actual, &mut f);
        assert!(
            f[0].message
                .contains("/data/call/participants/0 (object → string)"),
            "{f:?}"
        );
    }

    #[test]
    fn state_findings_show_only_the_differing_paths() {
        let facts = voice_facts();
        let before = json!({"id": "a", "state": "Dialing", "userData": {"Seed": "v", "Same": 1}});
        let after =
            json!({"userData": {"Same": 1, "Seed": "changed"}, "state": "Dialing", "id": "a"});
        let obs = Observation {
            after: Ok(after),
            ..Observation::not_started(Setup::Ready, Vec::new(), std::time::Duration::ZERO)
        };
        let mut f = Vec::new();
        check_unchanged(
            &facts,
            &Observation {
                before: Some(before.clone()),
                ..obs.clone()
            },
            &mut f,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].expected.as_deref(), Some("/userData/Seed: \"v\""));
        assert_eq!(f[0].actual.as_deref(), Some("/userData/Seed: \"changed\""));
        let mut f = Vec::new();
        let same =
            json!({"state": "Dialing", "id": "a", "userData": {"Same": 1, "Seed": "changed"}});
        check_unchanged(
            &facts,
            &Observation {
                before: Some(same),
                ..obs
            },
            &mut f,
        );
        assert!(f.is_empty(), "{f:?}");
    }

    fn delivered(reference_id: i64) -> Delivered {
        Delivered {
            agent: 0,
            message: json!({"data": {"referenceId": reference_id}}),
            after_post: std::time::Duration::ZERO,
        }
    }

    #[test]
    fn reference_ids_must_differ_and_should_grow() {
        let with = |ids: &[i64]| Observation {
            notifications: ids.iter().map(|i| delivered(*i)).collect(),
            ..Observation::not_started(Setup::Ready, Vec::new(), std::time::Duration::ZERO)
        };
        let mut f = Vec::new();
        check_reference_order(&with(&[1007, 1014]), &mut f);
        assert!(f.is_empty(), "{f:?}");
        check_reference_order(&with(&[9, 3]), &mut f);
        assert_eq!((f.len(), f[0].severity), (1, Severity::Warning));
        let mut f = Vec::new();
        check_reference_order(&with(&[4, 4]), &mut f);
        assert_eq!((f.len(), f[0].severity), (1, Severity::Error));
    }

    #[test]
    fn resource_matchers_check_the_documented_representation() {
        let absent = vec![("userData".to_string(), Expected::Absent)];
        let mut f = Vec::new();
        check_resource(&absent, &json!({"id": "a"}), &mut f);
        assert!(f.is_empty());
        check_resource(&absent, &json!({"id": "a", "userData": {}}), &mut f);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].check, "notification.resource.userData");
    }

    /// A case of the built-in suite, by id.
    fn builtin_case(id: &str) -> Case {
        let suite = crate::suite::builtin().expect("the built-in suite loads");
        crate::plan::build(&suite, &crate::plan::Selection::default())
            .into_iter()
            .find(|c| c.id == id)
            .expect("the case exists")
    }

    #[test]
    fn an_error_notification_after_a_rejected_operation_is_no_failure() {
        let case = builtin_case("chat/UpdateUserData/unknown-operation");
        let seeded = json!({"id": "c", "userData": {"Seed": "value"}});
        let rejected_with = |data: Value| {
            let obs = Observation {
                before: Some(seeded.clone()),
                after: Ok(seeded.clone()),
                response: Ok(crate::run::observation::Reply {
                    status: 400,
                    body: crate::run::observation::Body::Json(
                        json!({"statusCode": 2, "statusMessage": "no such operation"}),
                    ),
                }),
                notifications: vec![Delivered {
                    agent: 0,
                    message: json!({"channel": "/v2/me/chats", "data": data}),
                    after_post: std::time::Duration::ZERO,
                }],
                ..Observation::not_started(Setup::Ready, Vec::new(), std::time::Duration::ZERO)
            };
            evaluate(&case, &obs, None, &[], GwsVersion::default()).grade
        };
        assert_eq!(
            rejected_with(json!({"notificationType": "Error"})),
            Grade::Pass
        );
        assert_eq!(
            rejected_with(json!({"notificationType": "PropertiesUpdated", "chat": seeded.clone()})),
            Grade::Fail
        );
    }
}
