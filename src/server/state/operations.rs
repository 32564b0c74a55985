//! The four user-data operations of the reference server: request validation per media, their
//! effect on the interaction's user data (and the defects that distort it), and the answer.
//!
//! It neither speaks HTTP nor delivers notifications; it returns what to answer and what to
//! publish.

use super::limits::silently_damaged;
use super::notifications::{current_reference_id, resource_key};
use super::{Interaction, ServerState};
use crate::server::defect::Defect;
use crate::server::media::{DeleteParam, ServerMedia};
use serde_json::{Map, Value, json};

/// A failed operation: GWS status code, message, and the HTTP status paired with it.
#[derive(Debug)]
pub struct OpError {
    pub http: u16,
    pub status_code: u32,
    pub message: String,
}

impl OpError {
    pub(super) fn new(http: u16, status_code: u32, message: impl Into<String>) -> Self {
        OpError {
            http,
            status_code,
            message: message.into(),
        }
    }
}

/// What an operation produced: the HTTP answer and the notification to publish, if any.
pub struct OpResult {
    pub http: u16,
    pub body: Value,
    pub notification: Option<(String, Value)>,
    pub owner: String,
}

impl ServerState {
    /// Applies one user-data operation POSTed by `agent` to interaction `id`.
    pub fn apply_operation(
        &self,
        agent: &str,
        media: &'static ServerMedia,
        id: &str,
        body: &Value,
    ) -> OpResult {
        let mut inner = self.lock();
        let accessible = inner
            .interactions
            .get(id)
            .is_some_and(|i| self.serves_under(i, media) && self.can_access(i, agent));
        if !accessible {
            let (http, body) = self.error_body(404, 6, &format!("interaction {id} does not exist"));
            return OpResult {
                http,
                body,
                notification: None,
                owner: agent.to_string(),
            };
        }
        let owner = inner.interactions[id].owner.clone();
        let validated = validate(media, body)
            .and_then(|op| self.refused_by_reading(&inner.interactions[id].user_data, op));
        let op = match validated {
            Ok(op) => op,
            Err(e) => {
                if self.refuses_asynchronously(media)
                    && let Some(interaction) = inner.interactions.get_mut(id)
                {
                    return self.asynchronous_refusal(interaction, id, &e, body, owner);
                }
                if self.defect(Defect::FailedOpMutates)
                    && let Some(Value::Object(extra)) = body.get("userData")
                    && let Some(i) = inner.interactions.get_mut(id)
                {
                    i.user_data.extend(extra.clone());
                }
                let notification = self
                    .defect(Defect::FailedOpNotifies)
                    .then(|| self.notification(&mut inner, id));
                let (http, body) = self.error_body(e.http, e.status_code, &e.message);
                return OpResult {
                    http,
                    body,
                    notification,
                    owner,
                };
            }
        };
        // The lost-update defect: an operation hard on the heels of the previous one starts
        // from the state before that one, as a read-modify-write race would.
        // Only a server with the defect keeps the times.
        let racing = self.defect(Defect::LostUpdateUnderLoad) && {
            let now = std::time::Instant::now();
            let last = inner.last_ops.insert(id.to_string(), now);
            last.is_some_and(|t| now.duration_since(t) < LOST_UPDATE_WINDOW)
                && self.under_load(&inner, Defect::LostUpdateUnderLoad)
        };
        let Some(interaction) = inner.interactions.get_mut(id) else {
            let (http, body) = self.error_body(404, 6, &format!("interaction {id} does not exist"));
            return OpResult {
                http,
                body,
                notification: None,
                owner,
            };
        };
        if racing {
            interaction.user_data = interaction.previous_user_data.clone();
        }
        interaction.previous_user_data = interaction.user_data.clone();
        self.mutate(interaction, op);
        if self.defect(Defect::TouchesOtherFields) {
            interaction.state_override = Some("Invited".into());
        }
        let before = interaction.previous_user_data.clone();
        let (channel, mut note) = self.notification(&mut inner, id);
        if self.defect(Defect::NotificationOmitsChange)
            && let Some(obj) = note.get_mut(resource_key(self, media))
        {
            obj["userData"] = Value::Object(before);
        }
        let mut response = json!({"statusCode": 0});
        if media.reference_id_in_response {
            let reference_id = note
                .get("referenceId")
                .cloned()
                .unwrap_or_else(|| json!(current_reference_id(&inner, &owner)));
            response["referenceId"] = reference_id;
        }
        let notification = (!self.defect(Defect::NoNotification)).then_some((channel, note));
        OpResult {
            http: 200,
            body: response,
            notification,
            owner,
        }
    }

    fn mutate(&self, interaction: &mut Interaction, op: Operation) {
        let data = &mut interaction.user_data;
        match op {
            Operation::Attach(new) => {
                let new = self.damage(new);
                if self.defect(Defect::AttachDropsOthers) {
                    data.clear();
                }
                for (k, v) in new {
                    let k = self.stored_key(data, k);
                    data.insert(k, v);
                }
            }
            Operation::Update(new) => {
                let new = self.damage(new);
                if self.defect(Defect::UpdateReplacesAll) {
                    data.clear();
                }
                for (k, v) in new {
                    let k = self.stored_key(data, k);
                    if self.defect(Defect::UpdateKeepsOld) && data.contains_key(&k) {
                        continue;
                    }
                    data.insert(k, v);
                }
            }
            Operation::DeleteAll => {
                data.clear();
            }
            Operation::DeleteKeys(keys) => {
                if self.defect(Defect::DeleteTooMuch) {
                    data.clear();
                } else {
                    let take = if self.defect(Defect::DeleteFirstKeyOnly) {
                        1
                    } else {
                        keys.len()
                    };
                    for k in keys.into_iter().take(take) {
                        let k = self.stored_key(data, k);
                        data.shift_remove(&k);
                    }
                }
            }
        }
    }

    /// The key an operation's key lands on. Faithfully the key as sent; a server with a
    /// case-insensitive store finds an existing key of any case (keeping its first spelling).
    fn stored_key(&self, data: &Map<String, Value>, key: String) -> String {
        if self.defect(Defect::CaseInsensitiveKeys) {
            let lower = key.to_lowercase();
            if let Some(existing) = data.keys().find(|k| k.to_lowercase() == lower) {
                return existing.clone();
            }
        }
        key
    }

    /// Value and key damage a defective server would do on the way in.
    fn damage(&self, data: Map<String, Value>) -> Map<String, Value> {
        let data = if self.defect(Defect::SilentDamage) {
            silently_damaged(data)
        } else {
            data
        };
        let numbers = self.defect(Defect::NumbersAsStrings);
        let unicode = self.defect(Defect::UnicodeDamage);
        let truncate = self.defect(Defect::TruncateLongValues);
        let trim = self.defect(Defect::TrimKeys);
        let trim_values = self.defect(Defect::TrimValues);
        if !numbers && !unicode && !truncate && !trim && !trim_values {
            return data;
        }
        data.into_iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::Number(n) if numbers && n.is_i64() => Value::String(n.to_string()),
                    Value::String(s) if unicode => Value::String(
                        s.chars()
                            .map(|c| if c.is_ascii() { c } else { '?' })
                            .collect(),
                    ),
                    Value::String(s) if truncate && s.len() > LONG_VALUE => {
                        Value::String(truncated(s, LONG_VALUE))
                    }
                    Value::String(s) if trim_values => {
                        Value::String(s.trim_matches(|c: char| c <= ' ').to_string())
                    }
                    other => other,
                };
                let k = if trim { k.trim().to_string() } else { k };
                (k, v)
            })
            .collect()
    }
}

/// How close two operations on one interaction must be for `lost-update-under-load` to lose one.
const LOST_UPDATE_WINDOW: std::time::Duration = std::time::Duration::from_millis(5);

/// Where the `truncate-long-values` defect cuts: a fixed column size a back end might have.
const LONG_VALUE: usize = 1000;

/// `s` cut to at most `max` bytes, on a character boundary.
fn truncated(mut s: String, max: usize) -> String {
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s
}

pub(super) enum Operation {
    Attach(Map<String, Value>),
    Update(Map<String, Value>),
    DeleteAll,
    DeleteKeys(Vec<String>),
}

pub(super) fn missing(param: &str) -> OpError {
    OpError::new(400, 1, format!("missing required parameter '{param}'"))
}

fn invalid(param: &str, what: &str) -> OpError {
    OpError::new(400, 2, format!("parameter '{param}' must be {what}"))
}

fn validate(media: &ServerMedia, body: &Value) -> Result<Operation, OpError> {
    let Some(obj) = body.as_object() else {
        return Err(OpError::new(
            400,
            1,
            "the request body must be a JSON object",
        ));
    };
    let name = match obj.get("operationName") {
        None | Some(Value::Null) => return Err(missing("operationName")),
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(invalid("operationName", "a string")),
    };
    if !media.capabilities.contains(&name) {
        return Err(OpError::new(
            400,
            2,
            format!("operation '{name}' is not valid for this interaction"),
        ));
    }
    let user_data = || match obj.get("userData") {
        None | Some(Value::Null) => Err(missing("userData")),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(invalid("userData", "an object")),
    };
    let key = || match obj.get("key") {
        None | Some(Value::Null) => Err(missing("key")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(invalid("key", "a string")),
    };
    match (name, media.delete) {
        ("AttachUserData", _) => user_data().map(Operation::Attach),
        ("UpdateUserData", _) => user_data().map(Operation::Update),
        ("DeleteUserData", DeleteParam::All) => Ok(Operation::DeleteAll),
        ("DeleteUserDataPair", DeleteParam::All) | ("DeleteUserData", DeleteParam::Key) => {
            key().map(|k| Operation::DeleteKeys(vec![k]))
        }
        ("DeleteUserData", DeleteParam::Keys) => match obj.get("keys") {
            None | Some(Value::Null) => Err(missing("keys")),
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
                Ok(Operation::DeleteKeys(
                    items
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect(),
                ))
            }
            Some(_) => Err(invalid("keys", "an array of strings")),
        },
        (other, _) => Err(OpError::new(
            400,
            2,
            format!("operation '{other}' is not a user-data operation"),
        )),
    }
}
