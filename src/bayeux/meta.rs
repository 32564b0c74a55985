//! What a Bayeux client records of its meta exchanges (request, HTTP status, content type,
//! meta replies) for the protocol checks in `check::bayeux`, and how much of it it keeps.
//!
//! It records; it neither sends anything nor judges the replies.

use super::message::BayeuxError;
use serde_json::Value;

/// One meta request the client sent and what came back, as the client saw it: the raw
/// material of the Bayeux protocol checks (`check::bayeux`). Data messages that came in the
/// same response are counted, not kept.
#[derive(Debug, Clone, PartialEq)]
pub struct MetaExchange {
    /// The message sent (`channel`, `id`, `clientId`, ...).
    pub request: Value,
    /// The HTTP response, or why there was none (transport failure, deadline).
    pub response: Result<MetaResponse, BayeuxError>,
}

/// The HTTP response to a meta request.
#[derive(Debug, Clone, PartialEq)]
pub struct MetaResponse {
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The meta messages of the body (channel under `/meta/`, or no channel), or why the body
    /// is not a Bayeux message array.
    pub messages: Result<Vec<Value>, BayeuxError>,
    /// Whether the body was a JSON array (a lone object is accepted, but Bayeux asks for
    /// arrays).
    pub array: bool,
    /// How many data messages came with it.
    pub data_messages: usize,
}

impl MetaExchange {
    /// The request's channel.
    pub fn channel(&self) -> &str {
        self.request
            .get("channel")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// The reply on the request's channel, if the response has one.
    pub fn reply(&self) -> Option<&Value> {
        let channel = self.channel();
        self.response
            .as_ref()
            .ok()?
            .messages
            .as_ref()
            .ok()?
            .iter()
            .find(|m| m.get("channel").and_then(Value::as_str) == Some(channel))
    }

    /// A reply that arrived and says `successful: true`.
    pub(super) fn went_well(&self) -> bool {
        self.response.as_ref().is_ok_and(|r| r.status == 200)
            && self
                .reply()
                .is_some_and(|r| r.get("successful") == Some(&Value::Bool(true)))
    }
}

/// Which meta exchanges a client keeps for the protocol checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recording {
    /// Every one, up to the cap: a client opened to be judged.
    All,
    /// The first of each channel and every one that did not go well, up to the cap: a
    /// long-lived stream, which connects thousands of times.
    Sample,
}

/// Most meta exchanges a client keeps.
pub(super) const RECORDED_EXCHANGES: usize = 32;

pub(super) struct MetaLog {
    pub(super) recording: Recording,
    pub(super) exchanges: Vec<MetaExchange>,
}
