//! The Bayeux protocol check (`expect.listener: conformant`): every `/meta/*` reply the
//! protocol probe and the run's notification streams received, held to the message-field
//! requirements of Bayeux 1.0 at the specification's own level (MUST → error, SHOULD →
//! warning). Every finding names its section.
//!
//! Sections are numbered as in the numbered Bayeux 1.0.0 document; the requirements are those
//! of its maintained text (the CometD reference book's appendix "The Bayeux Protocol
//! Specification 1.0"), which makes `clientId` optional in replies other than the handshake's,
//! adds the `timeout` advice field and the `id` rule of the meta channels section.
//!
//! It reads what the runner recorded ([`MetaExchange`]); it does not know how the probe ran.

use super::text::show;
use crate::observation::{Listened, MetaExchange};
use crate::result::{Finding, Severity};
use serde_json::Value;

/// Who received the replies being judged, for the findings' wording.
#[derive(Clone, Copy)]
enum Origin<'a> {
    Probe,
    Stream(&'a str),
}

impl Origin<'_> {
    fn describe(self, channel: &str) -> String {
        match self {
            Origin::Probe => format!("the protocol probe's {channel} reply"),
            Origin::Stream(agent) => {
                format!("the {channel} reply of {agent}'s notification stream")
            }
        }
    }
}

/// The section that defines the reply of a meta channel.
fn reply_section(channel: &str) -> &'static str {
    match channel {
        "/meta/handshake" => "§4.1.2",
        "/meta/connect" => "§4.2.2",
        "/meta/disconnect" => "§4.4.2",
        "/meta/subscribe" => "§4.5.2",
        "/meta/unsubscribe" => "§4.6.2",
        _ => "§4",
    }
}

/// What one rule found: the level it is written at, its section and what is wrong.
struct Breach {
    must: bool,
    section: &'static str,
    problem: String,
    expected: String,
    actual: String,
}

fn must(
    section: &'static str,
    problem: impl Into<String>,
    expected: &str,
    actual: String,
) -> Breach {
    Breach {
        must: true,
        section,
        problem: problem.into(),
        expected: expected.to_string(),
        actual,
    }
}

fn should(
    section: &'static str,
    problem: impl Into<String>,
    expected: &str,
    actual: String,
) -> Breach {
    Breach {
        must: false,
        ..must(section, problem, expected, actual)
    }
}

pub(super) fn check_protocol(listened: Option<&Listened>, findings: &mut Vec<Finding>) {
    let Some(listened) = listened else {
        findings.push(Finding::new(
            "bayeux",
            "the scenario expects the protocol probe, but none was opened",
        ));
        return;
    };
    if let Some(Err(why)) = &listened.handshake
        && !why.is_transport()
        && listened.meta.iter().all(|e| e.reply().is_none())
    {
        // Nothing came back to judge; say so instead of passing silently.
        findings.push(Finding::new(
            "bayeux.probe",
            format!(
                "a second Bayeux client with the first agent's credentials, cookie and token got no handshake reply to judge: {why}"
            ),
        ));
    }
    for exchange in &listened.meta {
        report(Origin::Probe, exchange, findings);
    }
    for (agent, exchanges) in &listened.stream_meta {
        for exchange in exchanges {
            report(Origin::Stream(agent), exchange, findings);
        }
    }
}

fn report(origin: Origin<'_>, exchange: &MetaExchange, findings: &mut Vec<Finding>) {
    let channel = exchange.channel();
    let name = channel.trim_start_matches("/meta/");
    for b in judge_exchange(exchange) {
        let finding = Finding::new(
            &format!("bayeux.{name}"),
            format!(
                "Bayeux 1.0 {}: {} {}",
                b.section,
                origin.describe(channel),
                b.problem
            ),
        )
        .with(b.expected, b.actual);
        findings.push(if b.must {
            finding
        } else {
            finding.severity(Severity::Warning)
        });
    }
}

/// Every rule one meta exchange breaks.
fn judge_exchange(exchange: &MetaExchange) -> Vec<Breach> {
    let channel = exchange.channel();
    let section = reply_section(channel);
    let mut out = Vec::new();
    let response = match &exchange.response {
        Ok(r) => r,
        // A connection that died is not a reply that never came: the runner records the
        // transport fault, which makes the scenario indeterminate.
        Err(why) if why.is_transport() => return out,
        Err(why) => {
            out.push(must(
                section,
                "never came: the server must answer every meta request",
                "a reply",
                why.to_string(),
            ));
            return out;
        }
    };
    if response.status == 200 {
        let json = response.content_type.as_deref().is_some_and(|t| {
            t.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
        if !json {
            out.push(should(
                "§6.1.2",
                "came with another content type: long-polling responses should be application/json",
                "Content-Type: application/json",
                response
                    .content_type
                    .clone()
                    .unwrap_or_else(|| "(no Content-Type)".into()),
            ));
        }
        if response.messages.is_ok() && !response.array {
            out.push(should(
                "§2.5",
                "came as a lone message: messages should be sent in a JSON array",
                "[ {...} ]",
                "a JSON object".into(),
            ));
        }
    }
    let Some(reply) = exchange.reply() else {
        let actual = match &response.messages {
            Ok(messages) => format!(
                "HTTP {}, meta messages {}",
                response.status,
                Value::Array(messages.clone())
            ),
            Err(why) => format!("HTTP {}: {why}", response.status),
        };
        out.push(must(
            section,
            format!("is missing: the response has no message on {channel}"),
            &format!("a message with \"channel\": \"{channel}\""),
            actual,
        ));
        return out;
    };
    judge_reply(&exchange.request, reply, &mut out);
    out
}

/// The field rules of one reply to `request` (both meta messages on the same channel).
fn judge_reply(request: &Value, reply: &Value, out: &mut Vec<Breach>) {
    let channel = request.get("channel").and_then(Value::as_str).unwrap_or("");
    let section = reply_section(channel);
    let field = |name: &str| reply.get(name);
    // `id`: a reply on a meta channel carries the request's id, the same value.
    if let Some(id) = request.get("id") {
        match field("id") {
            None => out.push(must(
                "§3.8",
                "does not carry the request's id: replies on meta channels must use the request's message id",
                &id.to_string(),
                "(absent)".into(),
            )),
            Some(got) if got != id => out.push(must(
                "§3.8",
                "carries another id than the request's: replies on meta channels must use the same message id",
                &id.to_string(),
                got.to_string(),
            )),
            Some(_) => {}
        }
    }
    // `successful`: a boolean, in every meta reply.
    let successful = match field("successful") {
        Some(Value::Bool(b)) => Some(*b),
        other => {
            out.push(must(
                "§3.12",
                "has no boolean `successful`: every meta reply must say true or false",
                "\"successful\": true or false",
                show(other),
            ));
            None
        }
    };
    if let Some(Value::String(client_id)) = request.get("clientId")
        && let Some(got) = field("clientId")
        && got != &Value::String(client_id.clone())
    {
        out.push(must(
            section,
            "carries another clientId than the client's: when present it is the one the handshake returned",
            &Value::String(client_id.clone()).to_string(),
            got.to_string(),
        ));
    }
    match successful {
        Some(false) => {
            let error = field("error");
            if channel == "/meta/handshake" {
                if !matches!(error, Some(Value::String(_))) {
                    out.push(must(
                        "§4.1.2",
                        "is unsuccessful without an `error` string: a refused handshake must say why",
                        "\"error\": \"...\"",
                        show(error),
                    ));
                }
                if field("clientId").is_some() {
                    out.push(should(
                        "§3.5",
                        "is unsuccessful and still carries a clientId: a failed handshake returns none",
                        "no clientId",
                        show(field("clientId")),
                    ));
                }
            }
        }
        Some(true) if channel == "/meta/handshake" => judge_handshake(request, reply, out),
        _ => {}
    }
    if let Some(error) = field("error") {
        judge_error(error, out);
    }
    if matches!(channel, "/meta/subscribe" | "/meta/unsubscribe") {
        judge_subscription(request, reply, section, out);
    }
    if let Some(advice) = field("advice") {
        judge_advice(advice, out);
    }
    if let Some(ext) = field("ext")
        && !ext.is_object()
    {
        out.push(should(
            "§3.15",
            "has an `ext` that is not a JSON object",
            "an object",
            ext.to_string(),
        ));
    }
}

fn judge_handshake(request: &Value, reply: &Value, out: &mut Vec<Breach>) {
    let field = |name: &str| reply.get(name);
    if !matches!(field("version"), Some(Value::String(v)) if !v.is_empty()) {
        out.push(must(
            "§3.2",
            "has no `version` string: a successful handshake reply must name the negotiated protocol version",
            "\"version\": \"1.0\"",
            show(field("version")),
        ));
    }
    match field("supportedConnectionTypes") {
        Some(Value::Array(types)) if types.iter().all(Value::is_string) => {
            let offered: Vec<&Value> = request
                .get("supportedConnectionTypes")
                .and_then(Value::as_array)
                .map(|o| o.iter().collect())
                .unwrap_or_default();
            if !types.iter().any(|t| offered.contains(&t)) {
                out.push(must(
                    "§4.1.2",
                    "shares no connection type with the request: a successful handshake must offer at least one the client offered (every server supports long-polling, §3.4)",
                    &Value::Array(offered.into_iter().cloned().collect()).to_string(),
                    Value::Array(types.clone()).to_string(),
                ));
            }
        }
        other => out.push(must(
            "§4.1.2",
            "has no `supportedConnectionTypes` array of strings: a successful handshake reply must list the transports the server supports",
            "\"supportedConnectionTypes\": [\"long-polling\"]",
            show(other),
        )),
    }
    if !matches!(field("clientId"), Some(Value::String(id)) if !id.is_empty()) {
        out.push(must(
            "§4.1.2",
            "has no `clientId` string: a successful handshake reply must give the client its id",
            "\"clientId\": \"...\"",
            show(field("clientId")),
        ));
    }
}

/// `error`: a string, written `code:args:message`.
fn judge_error(error: &Value, out: &mut Vec<Breach>) {
    let Value::String(text) = error else {
        out.push(should(
            "§3.14",
            "has an `error` that is not a string",
            "\"error\": \"<code>:<args>:<message>\"",
            error.to_string(),
        ));
        return;
    };
    // A successful reply may carry an empty error (the specification's own examples do).
    if text.is_empty() {
        return;
    }
    let mut parts = text.splitn(3, ':');
    let code = parts.next().unwrap_or("");
    let well_formed = code.len() == 3
        && code.bytes().all(|b| b.is_ascii_digit())
        && parts.next().is_some()
        && parts.next().is_some();
    if !well_formed {
        out.push(should(
            "§3.14",
            "has an `error` not written `code:args:message` (a three-digit code)",
            "e.g. \"402::Unknown client\"",
            error.to_string(),
        ));
    }
}

/// `subscription`: in every subscribe and unsubscribe reply, naming what was asked for.
fn judge_subscription(
    request: &Value,
    reply: &Value,
    section: &'static str,
    out: &mut Vec<Breach>,
) {
    let asked = request.get("subscription");
    let got = reply.get("subscription");
    let channels = |v: Option<&Value>| -> Option<Vec<String>> {
        match v? {
            Value::String(s) => Some(vec![s.clone()]),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect(),
            _ => None,
        }
    };
    match (channels(asked), channels(got)) {
        (_, None) => out.push(must(
            "§3.13",
            format!(
                "has no `subscription` channel name or list: subscribe and unsubscribe replies must carry it ({section})"
            ),
            &show(asked),
            show(got),
        )),
        (Some(mut a), Some(mut g)) => {
            a.sort();
            g.sort();
            if a != g {
                out.push(must(
                    section,
                    "names other channels than the request: `subscription` is the channels the client asked for",
                    &show(asked),
                    show(got),
                ));
            }
        }
        (None, Some(_)) => {}
    }
}

/// `advice`: an object; `reconnect` one of the three defined values, `interval` and `timeout`
/// integers of milliseconds.
fn judge_advice(advice: &Value, out: &mut Vec<Breach>) {
    let Some(a) = advice.as_object() else {
        out.push(must(
            "§3.6",
            "has an `advice` that is not a JSON object",
            "an object",
            advice.to_string(),
        ));
        return;
    };
    if let Some(reconnect) = a.get("reconnect")
        && !matches!(reconnect.as_str(), Some("retry" | "handshake" | "none"))
    {
        out.push(must(
            "§3.6.1",
            "advises a `reconnect` that is none of retry, handshake, none",
            "\"retry\", \"handshake\" or \"none\"",
            reconnect.to_string(),
        ));
    }
    if let Some(interval) = a.get("interval")
        && interval.as_i64().is_none()
    {
        out.push(must(
            "§3.6.2",
            "advises an `interval` that is not an integer of milliseconds",
            "an integer",
            interval.to_string(),
        ));
    }
    if let Some(timeout) = a.get("timeout")
        && timeout.as_u64().is_none()
    {
        out.push(must(
            "§3.6",
            "advises a `timeout` that is not a non-negative integer of milliseconds (the timeout advice field)",
            "an integer",
            timeout.to_string(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::MetaResponse;
    use serde_json::json;

    fn exchange(request: Value, reply: Value) -> MetaExchange {
        MetaExchange {
            request,
            response: Ok(MetaResponse {
                status: 200,
                content_type: Some("application/json;charset=utf-8".into()),
                messages: Ok(vec![reply]),
                array: true,
                data_messages: 0,
            }),
        }
    }

    fn handshake_request() -> Value {
        json!({"channel": "/meta/handshake", "id": "1", "version": "1.0",
               "supportedConnectionTypes": ["long-polling"]})
    }

    fn good_handshake() -> Value {
        json!({"channel": "/meta/handshake", "id": "1", "version": "1.0", "successful": true,
               "supportedConnectionTypes": ["long-polling"], "clientId": "abc123",
               "advice": {"reconnect": "retry", "interval": 0, "timeout": 30000}})
    }

    fn breaches(e: &MetaExchange) -> Vec<(bool, &'static str)> {
        judge_exchange(e)
            .into_iter()
            .map(|b| (b.must, b.section))
            .collect()
    }

    #[test]
    fn a_conformant_life_cycle_passes() {
        let id = "abc123";
        let all = [
            exchange(handshake_request(), good_handshake()),
            exchange(
                json!({"channel": "/meta/connect", "id": "2", "clientId": id, "connectionType": "long-polling", "advice": {"timeout": 0}}),
                json!({"channel": "/meta/connect", "id": "2", "successful": true}),
            ),
            exchange(
                json!({"channel": "/meta/subscribe", "id": "3", "clientId": id, "subscription": "/v2/me/*"}),
                json!({"channel": "/meta/subscribe", "id": "3", "successful": true, "subscription": "/v2/me/*", "clientId": id, "error": ""}),
            ),
            exchange(
                json!({"channel": "/meta/unsubscribe", "id": "4", "clientId": id, "subscription": "/v2/me/*"}),
                json!({"channel": "/meta/unsubscribe", "id": "4", "successful": true, "subscription": ["/v2/me/*"]}),
            ),
            exchange(
                json!({"channel": "/meta/disconnect", "id": "5", "clientId": id}),
                json!({"channel": "/meta/disconnect", "id": "5", "successful": true}),
            ),
        ];
        for e in &all {
            assert!(breaches(e).is_empty(), "{:?}: {:?}", e.request, breaches(e));
        }
        let listened = Listened {
            meta: all.to_vec(),
            ..Listened::default()
        };
        let mut findings = Vec::new();
        check_protocol(Some(&listened), &mut findings);
        assert!(findings.is_empty(), "{findings:?}");
    }

    #[test]
    fn handshake_fields_are_musts() {
        let mut reply = good_handshake();
        reply
            .as_object_mut()
            .unwrap()
            .remove("supportedConnectionTypes");
        assert_eq!(
            breaches(&exchange(handshake_request(), reply)),
            [(true, "§4.1.2")]
        );
        let mut reply = good_handshake();
        reply["supportedConnectionTypes"] = json!(["websocket"]);
        assert_eq!(
            breaches(&exchange(handshake_request(), reply)),
            [(true, "§4.1.2")]
        );
        let mut reply = good_handshake();
        reply.as_object_mut().unwrap().remove("version");
        reply["clientId"] = json!(7);
        assert_eq!(
            breaches(&exchange(handshake_request(), reply)),
            [(true, "§3.2"), (true, "§4.1.2")]
        );
        let mut reply = good_handshake();
        reply["successful"] = json!("true");
        assert_eq!(
            breaches(&exchange(handshake_request(), reply)),
            [(true, "§3.12")]
        );
    }

    #[test]
    fn a_refused_handshake_must_say_why() {
        let reply =
            json!({"channel": "/meta/handshake", "id": "1", "successful": false, "clientId": "x"});
        assert_eq!(
            breaches(&exchange(handshake_request(), reply)),
            [(true, "§4.1.2"), (false, "§3.5")]
        );
        let reply = json!({"channel": "/meta/handshake", "id": "1", "successful": false, "error": "403::denied"});
        assert!(breaches(&exchange(handshake_request(), reply)).is_empty());
    }

    #[test]
    fn ids_must_be_echoed_with_their_type() {
        let request = json!({"channel": "/meta/connect", "id": "2", "clientId": "c"});
        let missing = json!({"channel": "/meta/connect", "successful": true});
        assert_eq!(
            breaches(&exchange(request.clone(), missing)),
            [(true, "§3.8")]
        );
        let number = json!({"channel": "/meta/connect", "id": 2, "successful": true});
        assert_eq!(
            breaches(&exchange(request.clone(), number)),
            [(true, "§3.8")]
        );
        let foreign =
            json!({"channel": "/meta/connect", "id": "2", "successful": true, "clientId": "d"});
        assert_eq!(breaches(&exchange(request, foreign)), [(true, "§4.2.2")]);
    }

    #[test]
    fn subscriptions_advice_errors_and_transport() {
        let request = json!({"channel": "/meta/subscribe", "id": "3", "clientId": "c", "subscription": "/v2/me/*"});
        let without = json!({"channel": "/meta/subscribe", "id": "3", "successful": true});
        assert_eq!(
            breaches(&exchange(request.clone(), without)),
            [(true, "§3.13")]
        );
        let other = json!({"channel": "/meta/subscribe", "id": "3", "successful": true, "subscription": "/**"});
        assert_eq!(
            breaches(&exchange(request.clone(), other)),
            [(true, "§4.5.2")]
        );
        let odd = json!({"channel": "/meta/subscribe", "id": "3", "successful": false, "subscription": "/v2/me/*",
                         "error": "denied", "advice": {"reconnect": "later", "interval": "0"}, "ext": 1});
        assert_eq!(
            breaches(&exchange(request.clone(), odd)),
            [
                (false, "§3.14"),
                (true, "§3.6.1"),
                (true, "§3.6.2"),
                (false, "§3.15")
            ]
        );
        let mut plain = exchange(
            request.clone(),
            json!({"channel": "/meta/subscribe", "id": "3", "successful": true, "subscription": "/v2/me/*"}),
        );
        if let Ok(r) = &mut plain.response {
            r.content_type = Some("text/plain".into());
            r.array = false;
        }
        assert_eq!(breaches(&plain), [(false, "§6.1.2"), (false, "§2.5")]);
        let lost = MetaExchange {
            request,
            response: Err(crate::bayeux::BayeuxError::Timeout(
                "/meta/subscribe".into(),
            )),
        };
        // A reply lost on the way is a transport fault (the runner records it), not a reply
        // that never came.
        assert_eq!(breaches(&lost), []);
    }

    #[test]
    fn stream_findings_name_the_stream_and_levels_become_severities() {
        let mut reply = good_handshake();
        reply.as_object_mut().unwrap().remove("id");
        let listened = Listened {
            stream_meta: vec![("agent1".into(), vec![exchange(handshake_request(), reply)])],
            ..Listened::default()
        };
        let mut findings = Vec::new();
        check_protocol(Some(&listened), &mut findings);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].check, "bayeux.handshake");
        assert_eq!(findings[0].severity, Severity::Error);
        assert!(
            findings[0].message.starts_with(
                "Bayeux 1.0 §3.8: the /meta/handshake reply of agent1's notification stream"
            ),
            "{}",
            findings[0].message
        );
    }
}
