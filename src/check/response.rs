//! The HTTP answer: status and body against the scenario's expectation or the media's success
//! default, `should` expectations as warnings, and the type of a `referenceId` in it.
//!
//! It does not look at notifications.

use super::text::pretty;
use crate::observation::{Body, Observation};
use crate::plan::Case;
use crate::result::{Finding, Severity};
use crate::spec::matcher::{Expected, JsonType};
use crate::spec::{MediaFacts, Presence, ResponseExpectation};
use serde_json::{Value, json};

/// The response expectation: the scenario's own, or the success default for the media.
pub(super) fn default_response(facts: &MediaFacts) -> ResponseExpectation {
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

pub(super) fn check_response(case: &Case, obs: &Observation, findings: &mut Vec<Finding>) {
    let reply = match &obs.response {
        Ok(r) => r,
        // A reply lost on the way is a transport fault the runner recorded, not a finding.
        Err(why) if why.is_transport() => return,
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
pub(super) fn is_success(reply: &crate::observation::Reply) -> bool {
    reply.body.json().and_then(|b| b.get("statusCode")) == Some(&json!(0))
}
pub(super) fn response_findings(
    expect: &ResponseExpectation,
    reply: &crate::observation::Reply,
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

/// String `userData` values shorter than this are not searched for: a short value ("1", "yes")
/// can appear in any body by chance, so only values that identify the data count as leaked.
const DISCLOSURE_MIN_LEN: usize = 4;

/// A refused request must not hand out what it was refused: the response body may carry
/// neither the interaction object (any object whose `id` is the interaction's) nor any string
/// `userData` value of the interaction as read before the request, in JSON or plain text.
/// Each finding names what leaked: the object and its JSON pointer, or the key whose value
/// appeared.
pub(super) fn check_undisclosed(obs: &Observation, findings: &mut Vec<Finding>) {
    let (Some(before), Ok(reply)) = (&obs.before, &obs.response) else {
        return;
    };
    let id = before.get("id").and_then(Value::as_str);
    let mut leaked = Vec::new();
    let text = match &reply.body {
        Body::Json(body) => {
            if let Some(id) = id {
                for pointer in objects_with_id(body, id, String::new()) {
                    leaked.push(format!(
                        "the interaction object (id {id}) at {}",
                        if pointer.is_empty() { "/" } else { &pointer }
                    ));
                }
            }
            body.to_string()
        }
        Body::Text(t) => t.clone(),
    };
    if let Some(user_data) = before.get("userData").and_then(Value::as_object) {
        for (key, value) in user_data {
            let Some(value) = value.as_str().filter(|v| v.len() >= DISCLOSURE_MIN_LEN) else {
                continue;
            };
            // Compare with the value both as it is and as JSON escapes it.
            let escaped = Value::String(value.to_string()).to_string();
            let escaped = &escaped[1..escaped.len() - 1];
            if text.contains(value) || text.contains(escaped) {
                leaked.push(format!("the value of userData key `{key}`"));
            }
        }
    }
    if !leaked.is_empty() {
        findings.push(
            Finding::new(
                "response.disclosure",
                format!(
                    "the refused request's response body discloses interaction data: {}",
                    leaked.join("; ")
                ),
            )
            .with(
                "no interaction data",
                crate::util::truncate(&reply.body.describe(), 2000),
            ),
        );
    }
}

/// JSON pointers of every object in `v` whose `id` is `id`.
fn objects_with_id(v: &Value, id: &str, at: String) -> Vec<String> {
    let mut found = Vec::new();
    match v {
        Value::Object(map) => {
            if map.get("id").and_then(Value::as_str) == Some(id) {
                found.push(at.clone());
            }
            for (k, child) in map {
                let key = k.replace('~', "~0").replace('/', "~1");
                found.extend(objects_with_id(child, id, format!("{at}/{key}")));
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                found.extend(objects_with_id(child, id, format!("{at}/{i}")));
            }
        }
        _ => {}
    }
    found
}
