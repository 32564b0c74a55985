//! The HTTP answer: status and body against the scenario's expectation or the media's success
//! default, `should` expectations as warnings, and the type of a `referenceId` in it.
//!
//! It does not look at notifications.

use super::*;

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
