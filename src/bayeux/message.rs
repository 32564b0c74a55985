//! The Bayeux messages as the client reads them: a reply body parsed into message objects, a
//! `/meta/connect` reply told apart from the data it carried, a refusal, the server's
//! `advice` (clamped), and [`BayeuxError`], what went wrong.
//!
//! Pure functions over JSON: it sends nothing and keeps no state (the client does).

use crate::util::truncate;
use serde_json::Value;
use std::time::Duration;

/// What the server advised about reconnecting.
#[derive(Debug, Clone, PartialEq)]
pub struct Advice {
    pub reconnect: Reconnect,
    pub interval: Duration,
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconnect {
    Retry,
    Handshake,
    None,
}

impl Default for Advice {
    fn default() -> Self {
        // The CometD defaults.
        Advice {
            reconnect: Reconnect::Retry,
            interval: Duration::ZERO,
            timeout: Duration::from_secs(30),
        }
    }
}

/// A protocol or transport failure; also what a [`MetaExchange`](super::MetaExchange) records when there was no
/// usable response.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BayeuxError {
    #[error("notification endpoint unreachable: {0}")]
    Transport(String),
    #[error("notification endpoint answered HTTP {status}: {body}")]
    HttpStatus { status: u16, body: String },
    #[error("notification endpoint sent an invalid Bayeux reply: {0}")]
    Invalid(String),
    #[error("{channel} refused: {error}")]
    Refused { channel: String, error: String },
    #[error("no reply to {0} before the deadline")]
    Timeout(String),
}

impl BayeuxError {
    /// Whether the reply was lost on the way (connection refused or reset, a deadline before
    /// it arrived, a body that broke off) rather than given: a transport fault, which says
    /// nothing about the server.
    pub fn is_transport(&self) -> bool {
        matches!(self, BayeuxError::Transport(_) | BayeuxError::Timeout(_))
    }
}

impl Advice {
    /// The advice after a reply: fields the reply advises replace ours; absurd values are
    /// clamped so a hostile server cannot park the client for hours.
    pub fn updated(&self, reply: &Value) -> Advice {
        let mut advice = self.clone();
        let Some(a) = reply.get("advice").and_then(Value::as_object) else {
            return advice;
        };
        match a.get("reconnect").and_then(Value::as_str) {
            Some("retry") => advice.reconnect = Reconnect::Retry,
            Some("handshake") => advice.reconnect = Reconnect::Handshake,
            Some("none") => advice.reconnect = Reconnect::None,
            _ => {}
        }
        match a.get("interval").and_then(Value::as_i64) {
            // A negative interval means: do not reconnect.
            Some(ms) if ms < 0 => advice.reconnect = Reconnect::None,
            Some(ms) => advice.interval = Duration::from_millis((ms as u64).min(60_000)),
            None => {}
        }
        if let Some(ms) = a.get("timeout").and_then(Value::as_u64) {
            advice.timeout = Duration::from_millis(ms.min(600_000));
        }
        advice
    }
}

/// Parses a Bayeux response body: a JSON array of message objects (a lone object is
/// accepted as an array of one).
pub fn parse_replies(text: &str) -> Result<Vec<Value>, BayeuxError> {
    let parsed: Value = serde_json::from_str(text)
        .map_err(|e| BayeuxError::Invalid(format!("{e}: {}", truncate(text, 200))))?;
    let replies = match parsed {
        Value::Array(items) => items,
        obj @ Value::Object(_) => vec![obj],
        other => {
            return Err(BayeuxError::Invalid(format!(
                "expected an array of messages, got {}",
                truncate(&other.to_string(), 100)
            )));
        }
    };
    if let Some(bad) = replies.iter().find(|m| !m.is_object()) {
        return Err(BayeuxError::Invalid(format!(
            "a message is not an object: {}",
            truncate(&bad.to_string(), 100)
        )));
    }
    Ok(replies)
}

/// Splits the messages of a `/meta/connect` response into data messages and the connect
/// reply itself (which must be there).
pub fn split_connect(replies: Vec<Value>) -> Result<(Vec<Value>, Value), BayeuxError> {
    let mut events = Vec::new();
    let mut connect_reply = None;
    for message in replies {
        match message.get("channel").and_then(Value::as_str) {
            Some("/meta/connect") => connect_reply = Some(message),
            Some(ch) if ch.starts_with("/meta/") => {}
            Some(_) => events.push(message),
            None => {}
        }
    }
    let reply = connect_reply
        .ok_or_else(|| BayeuxError::Invalid("the /meta/connect reply is missing".into()))?;
    Ok((events, reply))
}

/// Why a meta reply is unsuccessful, if it is.
pub fn refusal(reply: &Value, channel: &str) -> Option<BayeuxError> {
    (reply.get("successful").and_then(Value::as_bool) != Some(true)).then(|| BayeuxError::Refused {
        channel: channel.to_string(),
        error: reply
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unsuccessful, no error given")
            .to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replies_must_be_message_objects() {
        assert_eq!(parse_replies(r#"[{"channel":"/a"}]"#).unwrap().len(), 1);
        assert_eq!(parse_replies(r#"{"channel":"/a"}"#).unwrap().len(), 1);
        assert!(matches!(parse_replies("[1]"), Err(BayeuxError::Invalid(_))));
        assert!(matches!(
            parse_replies("<html>"),
            Err(BayeuxError::Invalid(_))
        ));
        assert!(matches!(
            parse_replies("\"x\""),
            Err(BayeuxError::Invalid(_))
        ));
    }

    #[test]
    fn connect_replies_split_into_events_and_the_reply() {
        let replies = parse_replies(r#"[{"channel":"/v2/me/calls","data":{}},{"channel":"/meta/connect","successful":false,"error":"402::Unknown client"}]"#).unwrap();
        let (events, reply) = split_connect(replies).unwrap();
        assert_eq!(events.len(), 1);
        let refused = refusal(&reply, "/meta/connect").expect("unsuccessful");
        assert_eq!(
            refused.to_string(),
            "/meta/connect refused: 402::Unknown client"
        );
        assert!(split_connect(vec![json!({"channel": "/x"})]).is_err());
    }

    #[test]
    fn advice_is_taken_and_clamped() {
        let a = Advice::default()
            .updated(&json!({"advice": {"reconnect": "none", "interval": 99999999, "timeout": 5}}));
        assert_eq!(a.reconnect, Reconnect::None);
        assert_eq!(a.interval, Duration::from_secs(60));
        assert_eq!(a.timeout, Duration::from_millis(5));
        assert_eq!(
            Advice::default().updated(&json!({"advice": "nonsense"})),
            Advice::default()
        );
    }
}
