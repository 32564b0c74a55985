//! Where the documentation allows more than one answer to a user-data operation, the other
//! legal readings the reference server can take ([`Variant`]): refusing data it would not store
//! faithfully, refusing to delete absent keys, refusing voice requests asynchronously; plus the
//! `silent-damage` defect, the illegal reading that answers success and stores something else,
//! and `async-error-applies`, an asynchronous refusal that changes the call anyway.
//!
//! It decides answers only; applying operations and queueing notifications stay in
//! `operations` and `notifications`.

use super::limits::{DEEPEST, LONGEST_VALUE, MOST_KEYS};
use super::operations::{OpError, OpResult, Operation};
use super::{Interaction, ServerState};
use crate::server::defect::Defect;
use crate::server::media::ServerMedia;
use crate::server::variant::Variant;
use serde_json::{Map, Value, json};

impl ServerState {
    /// The refusals the `refuse-unusual-data` and `refuse-absent-keys` readings make before an
    /// operation changes anything.
    pub(super) fn refused_by_reading(
        &self,
        current: &Map<String, Value>,
        op: Operation,
    ) -> Result<Operation, OpError> {
        match &op {
            Operation::Attach(data) | Operation::Update(data)
                if self.variant(Variant::RefuseUnusualData) =>
            {
                if let Some(why) = unusual(data) {
                    return Err(OpError::new(
                        400,
                        10,
                        format!("the user data cannot be stored: {why}"),
                    ));
                }
            }
            Operation::DeleteKeys(keys) if self.variant(Variant::RefuseAbsentKeys) => {
                if let Some(absent) = keys.iter().find(|k| !current.contains_key(k.as_str())) {
                    return Err(OpError::new(
                        400,
                        2,
                        format!("the interaction has no user data key '{absent}'"),
                    ));
                }
            }
            _ => {}
        }
        Ok(op)
    }

    /// Whether a refused operation on `media` is answered the asynchronous way: voice, with
    /// the `async-voice-errors` reading.
    pub(super) fn refuses_asynchronously(&self, media: &ServerMedia) -> bool {
        media.name == "voice"
            && (self.variant(Variant::AsyncVoiceErrors) || self.defect(Defect::AsyncErrorApplies))
    }

    /// `statusCode` 0 now, the refusal as an `ErrorMessage` about the call on `/v2/me/calls`.
    pub(super) fn asynchronous_refusal(
        &self,
        interaction: &mut Interaction,
        id: &str,
        error: &OpError,
        request: &Value,
        owner: String,
    ) -> OpResult {
        if self.defect(Defect::AsyncErrorApplies)
            && let Some(Value::Object(data)) = request.get("userData")
        {
            interaction.user_data.extend(data.clone());
        }
        let message = json!({
            "messageType": "ErrorMessage",
            "errorCode": error.status_code,
            "errorMessage": error.message,
            "call": {"id": id, "uri": format!("{}{}", self.base_url, interaction.media.api_path("", id))},
        });
        OpResult {
            http: 200,
            body: json!({"statusCode": 0}),
            notification: Some((interaction.media.channel.to_string(), message)),
            owner,
        }
    }
}

/// Why a conservative back end would not store `data`, if it would not.
fn unusual(data: &Map<String, Value>) -> Option<String> {
    if data.len() > MOST_KEYS {
        return Some(format!("more than {MOST_KEYS} keys"));
    }
    for (key, value) in data {
        if key.is_empty() {
            return Some("an empty key".into());
        }
        if key.trim() != key {
            return Some(format!("key '{key}' has leading or trailing spaces"));
        }
        if let Some(why) = unusual_value(value, 1) {
            return Some(format!("key '{key}': {why}"));
        }
    }
    None
}

fn unusual_value(value: &Value, depth: usize) -> Option<String> {
    match value {
        Value::Null => Some("null".into()),
        Value::Bool(_) => Some("a boolean".into()),
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => Some("a non-integral number".into()),
        Value::String(s) if s.len() > LONGEST_VALUE => {
            Some(format!("a value longer than {LONGEST_VALUE} bytes"))
        }
        Value::Array(_) => Some("a list".into()),
        Value::Object(_) if depth >= DEEPEST => Some("objects nested too deep".into()),
        Value::Object(inner) => inner.values().find_map(|v| unusual_value(v, depth + 1)),
        _ => None,
    }
}
