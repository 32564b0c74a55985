//! One documented operation posted as an agent, and the typed ways native provisioning fails:
//! a [`Refused`] operation, an agent that could not be prepared ([`NativeError`]), an
//! interaction that could not be created ([`NativeFailure`], [`CreateProblem`]) or ended
//! ([`EndError`]).
//!
//! It reads a reply's `statusCode`; it decides nothing about what to do next.

use crate::run::session::{AgentSession, Auth, RequestError};
use crate::run::wire::WireLog;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

/// An operation that did not succeed: no reply, or a reply that was not a success (its
/// `statusCode` when it had one, and the server's `statusMessage` or else the body).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refused {
    #[error(transparent)]
    NoReply(#[from] RequestError),
    #[error("HTTP {status}, statusCode {}: {message}", status_code.as_ref().map_or("absent".to_string(), Value::to_string))]
    Answer {
        status: u16,
        status_code: Option<Value>,
        message: String,
    },
}

impl Refused {
    /// No reply came because of a transport fault.
    pub(super) fn is_transport(&self) -> bool {
        matches!(self, Refused::NoReply(e) if e.is_transport())
    }

    /// `statusCode` 7: some of the operation's parts succeeded.
    pub(super) fn partial(&self) -> bool {
        matches!(self, Refused::Answer { status_code: Some(code), .. } if code == &json!(7))
    }
}

/// Why an agent could not be prepared for native provisioning.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NativeError {
    #[error(
        "agent `{username}` has no device: neither GET /api/v2/me?subresources=devices nor GET /api/v2/me/devices?fields=* lists one (voice needs a device to dial from)"
    )]
    NoDevice { username: String },
    #[error(
        "StartContactCenterSession (channels {}) was refused for agent `{username}`: {source}",
        channels.join(", ")
    )]
    StartSession {
        username: String,
        channels: Vec<String>,
        source: Refused,
    },
    #[error("Ready on channel {channel} was refused for agent `{username}`: {source}")]
    Ready {
        username: String,
        channel: String,
        source: Refused,
    },
}

/// Why a native interaction could not be obtained.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NativeFailure {
    #[error(transparent)]
    Prepare(#[from] NativeError),
    #[error("{operation} of a {media} interaction for agent `{username}`: {problem}")]
    Create {
        operation: &'static str,
        media: String,
        username: String,
        problem: CreateProblem,
    },
}

impl NativeError {
    /// A request of the preparation got no reply because of a transport fault.
    pub fn interrupted(&self) -> bool {
        match self {
            NativeError::StartSession { source, .. } | NativeError::Ready { source, .. } => {
                source.is_transport()
            }
            NativeError::NoDevice { .. } => false,
        }
    }
}

impl NativeFailure {
    /// A request of the preparation or the creation got no reply because of a transport fault.
    pub fn interrupted(&self) -> bool {
        match self {
            NativeFailure::Prepare(prepare) => prepare.interrupted(),
            NativeFailure::Create {
                problem: CreateProblem::Refused(r) | CreateProblem::AttachRefused(r),
                ..
            } => r.is_transport(),
            _ => false,
        }
    }
}

/// What went wrong while creating one interaction.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CreateProblem {
    #[error("refused: {0}")]
    Refused(Refused),
    #[error(
        "no notification on {} announced the new interaction within {:.1}s",
        channels.join(" or "),
        waited.as_secs_f64()
    )]
    NotAnnounced {
        channels: &'static [&'static str],
        waited: Duration,
    },
    #[error("attaching the initial userData was refused: {0}")]
    AttachRefused(Refused),
    #[error("no notification announced the attached initial userData")]
    AttachNotAnnounced,
    #[error("accepting the offered chat was refused: {0}")]
    AcceptRefused(Refused),
    #[error("no notification announced the accepted chat")]
    AcceptNotAnnounced,
}

/// Why a natively provisioned interaction could not be ended.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EndError {
    #[error("{ending} of {path} was refused: {source}")]
    Refused {
        ending: String,
        path: String,
        source: Refused,
    },
    #[error("{path} is still there after {ending} answered statusCode 0")]
    StillThere { ending: String, path: String },
}

pub(crate) fn refusal_of(reply: &crate::observation::Reply) -> Option<Refused> {
    let body = reply.body.json();
    match body.and_then(|b| b.get("statusCode")) {
        Some(code) if code == &json!(0) && reply.status < 300 => None,
        code => Some(Refused::Answer {
            status: reply.status,
            status_code: code.cloned(),
            message: body
                .and_then(|b| b.get("statusMessage"))
                .and_then(Value::as_str)
                .map_or_else(|| reply.body.describe(), str::to_string),
        }),
    }
}

/// POSTs `body` to `path` as `session` and returns the reply's JSON, or why it failed.
pub(crate) async fn post_operation(
    session: &AgentSession,
    path: &str,
    body: &Value,
    wire: &WireLog,
) -> Result<Value, Refused> {
    let (reply, _) = session
        .request(
            Method::POST,
            path,
            Some(body.to_string().as_bytes()),
            Auth::Session,
            true,
            Some(wire),
        )
        .await?;
    match refusal_of(&reply) {
        None => Ok(reply.body.json().cloned().unwrap_or(Value::Null)),
        Some(refused) => Err(refused),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::{Body, Reply};

    #[test]
    fn refusals_describe_status_code_and_message() {
        let reply = |status, body| Reply {
            status,
            body: Body::Json(body),
        };
        assert_eq!(refusal_of(&reply(200, json!({"statusCode": 0}))), None);
        let partial = refusal_of(&reply(
            200,
            json!({"statusCode": 7, "statusMessage": "some"}),
        ))
        .expect("refused");
        assert!(partial.partial());
        assert_eq!(partial.to_string(), "HTTP 200, statusCode 7: some");
        let absent = refusal_of(&reply(500, json!({}))).expect("refused");
        assert!(!absent.partial());
        assert_eq!(absent.to_string(), "HTTP 500, statusCode absent: {}");
        let ready = NativeError::Ready {
            username: "agent1".into(),
            channel: "voice".into(),
            source: absent,
        };
        assert_eq!(
            ready.to_string(),
            "Ready on channel voice was refused for agent `agent1`: HTTP 500, statusCode absent: {}"
        );
        let start = NativeError::StartSession {
            username: "agent1".into(),
            channels: vec!["voice".into(), "email".into()],
            source: partial,
        };
        assert!(start.to_string().starts_with(
            "StartContactCenterSession (channels voice, email) was refused for agent `agent1`: "
        ));
    }
}
