//! The notifications of one operation: how many arrived, their envelope (channel,
//! `notificationType`, `messageType`, resource key), `referenceId` rules, matchers on the
//! notified interaction, and error notifications after rejected operations.
//!
//! It does not compare states; `state` does.

use super::text::show;
use crate::observation::{Delivered, Observation};
use crate::plan::Case;
use crate::result::{Finding, Severity};
use crate::spec::Presence;
use crate::spec::matcher::{Expected, JsonType, json_equal};
use serde_json::{Map, Value};

/// `notificationType: Error` (multimedia) or `messageType: ErrorMessage` (voice).
pub(super) fn is_error_notification(message: &Value) -> bool {
    let data = &message["data"];
    data["notificationType"] == "Error" || data["messageType"] == "ErrorMessage"
}
/// Checks how many notifications arrived; returns the one carrying the final state.
/// `announces_change`: the operation is expected to change the interaction. When it changes
/// nothing (an empty expected diff), whether a notification follows is undocumented, so its
/// absence is a warning; one that comes is judged like any other.
pub(super) fn check_notification_count<'o>(
    expected: usize,
    announces_change: bool,
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
    if got < expected && obs.stream_interrupted() {
        // The missing ones may have been in a long poll that was cut: indeterminate, and with
        // some missing, the last one that came does not carry the final state.
        return None;
    }
    if got == 0 {
        let finding = Finding::new(
            "notification",
            format!("no notification for the interaction {waited}"),
        );
        findings.push(if announces_change {
            finding
        } else {
            finding.severity(Severity::Warning)
        });
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
pub(super) fn check_reference_order(obs: &Observation, ordered: bool, findings: &mut Vec<Finding>) {
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
    if !ordered {
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
pub(super) fn one_of(list: &[String]) -> String {
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
pub(super) fn check_envelope(
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
pub(super) fn check_reference_id(
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
    // The response answers the first request, so it links to the first notification; sent
    // concurrently, that one may arrive in any position.
    let ids = obs
        .notifications
        .iter()
        .filter_map(|n| n.message["data"].get("referenceId"));
    let first = match case.scenario.send.concurrently {
        false => ids.take(1).next(),
        true => {
            let mut ids: Vec<&Value> = ids.collect();
            let linked = from_response.and_then(|r| ids.iter().position(|n| json_equal(r, n)));
            linked.map_or(ids.first().copied(), |i| Some(ids.swap_remove(i)))
        }
    };
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

/// Matchers on the notified interaction object itself, where the docs fix a representation
/// (voice DeleteUserData: the call has no `userData` property).
pub(super) fn check_resource(
    expect: &[(String, Expected)],
    notified: &Value,
    findings: &mut Vec<Finding>,
) {
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
