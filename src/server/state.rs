//! The reference server's state and its user-data semantics, apart from HTTP.
//!
//! Interactions, sessions, Bayeux clients and per-agent reference ids live behind one mutex;
//! every critical section is short and never awaits. `apply_operation` is the whole meaning
//! of the four user-data operations; handlers only translate HTTP to and from it.

use super::defect::Defect;
use super::media::{DeleteParam, ServerMedia};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Configuration of one reference server instance.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to bind; loopback with an ephemeral port unless told otherwise.
    pub bind: std::net::SocketAddr,
    /// `(user name, password)` of every agent.
    pub agents: Vec<(String, String)>,
    /// Require the CSRF token on modifying requests and announce it on GETs.
    pub csrf: bool,
    /// How long a `/meta/connect` is held open when nothing is queued.
    pub long_poll: Duration,
    /// Media the server offers; `None` means all nine.
    pub offered_media: Option<Vec<String>>,
    pub defect: Option<Defect>,
    /// Delay used by the `late-notification` defect.
    pub late_delay: Duration,
    /// Announce the end of an interaction (`StatusChange`, state `Completed`) when the fixture
    /// contract deletes it, as production servers do when an interaction is released.
    pub notify_on_cleanup: bool,
    /// The GWS release whose notification shapes the server emits (voice differs in 8.5.1).
    pub gws_version: crate::spec::GwsVersion,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            agents: vec![
                ("agent1".into(), "agent1-pass".into()),
                ("agent2".into(), "agent2-pass".into()),
            ],
            csrf: false,
            long_poll: Duration::from_secs(30),
            offered_media: None,
            defect: None,
            late_delay: Duration::from_secs(10),
            notify_on_cleanup: false,
            gws_version: crate::spec::GwsVersion::default(),
        }
    }
}

pub struct Interaction {
    pub owner: String,
    pub media: &'static ServerMedia,
    pub open_media_type: String,
    pub user_data: Map<String, Value>,
    /// What a `stale-get` server returns: the data before the last operation.
    pub previous_user_data: Map<String, Value>,
    pub state_override: Option<String>,
    pub created: Instant,
}

pub struct Session {
    pub agent: String,
    pub csrf_token: String,
}

/// A Bayeux client the server has handshaken: its agent, subscriptions and undelivered queue.
pub struct ConnectedClient {
    pub agent: String,
    pub subscriptions: Vec<String>,
    pub queue: VecDeque<Value>,
    pub wake: Arc<Notify>,
    /// Bumped by every `/meta/connect`, so an older pending connect knows to return.
    pub connect_generation: u64,
    pub disconnected: bool,
    /// Whether a `/meta/connect` is being held for this client right now.
    pub polling: bool,
    /// When the client last sent anything; idle clients are expired.
    pub last_seen: Instant,
}

#[derive(Default)]
pub struct Inner {
    pub interactions: HashMap<String, Interaction>,
    pub sessions: HashMap<String, Session>,
    pub clients: HashMap<String, ConnectedClient>,
    pub reference_ids: HashMap<String, u64>,
    pub serial: u64,
}

pub struct ServerState {
    pub config: ServerConfig,
    /// Scheme, host and port as clients reach the server, for `uri` fields.
    pub base_url: String,
    inner: Mutex<Inner>,
    pub stats: ServerStats,
}

/// Time the server spends, for the benchmark's breakdown.
#[derive(Debug, Default)]
pub struct ServerStats {
    pub requests: std::sync::atomic::AtomicU64,
    /// Wall time inside handlers, long-poll waits included.
    pub handler_nanos: std::sync::atomic::AtomicU64,
    /// Wall time long polls spent waiting for something to deliver.
    pub waiting_nanos: std::sync::atomic::AtomicU64,
}

impl ServerStats {
    /// Handler time minus long-poll waiting: what the server itself cost.
    pub fn busy(&self) -> Duration {
        use std::sync::atomic::Ordering::Relaxed;
        Duration::from_nanos(
            self.handler_nanos
                .load(Relaxed)
                .saturating_sub(self.waiting_nanos.load(Relaxed)),
        )
    }
}

/// A failed operation: GWS status code, message, and the HTTP status paired with it.
#[derive(Debug)]
pub struct OpError {
    pub http: u16,
    pub status_code: u32,
    pub message: String,
}

impl OpError {
    fn new(http: u16, status_code: u32, message: impl Into<String>) -> Self {
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
    pub fn new(config: ServerConfig, base_url: String) -> Self {
        ServerState {
            config,
            base_url,
            inner: Mutex::new(Inner::default()),
            stats: ServerStats::default(),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters to a test server, so a poisoned lock is still used.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn defect(&self, d: Defect) -> bool {
        self.config.defect == Some(d)
    }

    /// The HTTP status and body of an error, as this server (or its defect) answers it.
    pub fn error_body(&self, http: u16, status_code: u32, message: &str) -> (u16, Value) {
        if self.defect(Defect::ErrorStatusZero) {
            return (200, json!({"statusCode": 0}));
        }
        (
            http,
            json!({"statusCode": status_code, "statusMessage": message}),
        )
    }

    pub fn offers(&self, media: &ServerMedia) -> bool {
        self.config
            .offered_media
            .as_ref()
            .is_none_or(|list| list.iter().any(|m| m == media.name))
    }

    /// 128 random bits as hex, for session ids, CSRF tokens and Bayeux client ids: a restarted
    /// server must not hand out the ids of its previous life, and nobody may guess them.
    pub fn random_id() -> String {
        let mut bytes = [0u8; 16];
        if getrandom::fill(&mut bytes).is_err() {
            // No OS randomness (never seen on Linux): fall back to time and a counter, still
            // unique within this process.
            static FALLBACK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let n = FALLBACK.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            bytes = (nanos ^ (u128::from(n) << 64)).to_le_bytes();
        }
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn next_serial(inner: &mut Inner) -> u64 {
        inner.serial += 1;
        // Spread serials so ids do not look sequential, as real ids do not.
        inner.serial.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 24
    }

    /// The interaction object as the server shows it now.
    pub fn render(&self, interaction: &Interaction, id: &str, for_get: bool) -> Value {
        let data = if for_get && self.defect(Defect::StaleGet) {
            &interaction.previous_user_data
        } else {
            &interaction.user_data
        };
        let mut resource = interaction.media.resource(
            &self.base_url,
            id,
            &interaction.open_media_type,
            data,
            interaction.created.elapsed().as_secs(),
        );
        if let Some(state) = &interaction.state_override {
            resource["state"] = Value::String(state.clone());
        }
        if self.defect(Defect::DurationAsNumber)
            && let Some(duration) = resource.get_mut("duration")
        {
            let seconds = duration.as_str().and_then(|d| d.parse::<u64>().ok());
            *duration = seconds.map_or(Value::Null, Value::from);
        }
        if self.config.gws_version == crate::spec::GwsVersion::V8_5_1 {
            interaction.media.as_gws_8_5_1(&mut resource);
        }
        resource
    }

    pub fn can_access(&self, interaction: &Interaction, agent: &str) -> bool {
        interaction.owner == agent || self.defect(Defect::CrossAgentAccess)
    }

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
            .is_some_and(|i| std::ptr::eq(i.media, media) && self.can_access(i, agent));
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
        let op = match validate(media, body) {
            Ok(op) => op,
            Err(e) => {
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
        let Some(interaction) = inner.interactions.get_mut(id) else {
            let (http, body) = self.error_body(404, 6, &format!("interaction {id} does not exist"));
            return OpResult {
                http,
                body,
                notification: None,
                owner,
            };
        };
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
                data.extend(new);
            }
            Operation::Update(new) => {
                let new = self.damage(new);
                if self.defect(Defect::UpdateReplacesAll) {
                    data.clear();
                }
                for (k, v) in new {
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
                    for k in keys.iter().take(take) {
                        data.shift_remove(k);
                    }
                }
            }
        }
    }

    /// Value damage a defective server would do on the way in.
    fn damage(&self, data: Map<String, Value>) -> Map<String, Value> {
        let numbers = self.defect(Defect::NumbersAsStrings);
        let unicode = self.defect(Defect::UnicodeDamage);
        if !numbers && !unicode {
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
                    other => other,
                };
                (k, v)
            })
            .collect()
    }

    /// Builds the notification for interaction `id` and takes a fresh reference id.
    /// The notification announcing that interaction `id` ended, for `notify_on_cleanup`:
    /// `(owner, channel, data)`.
    pub fn completion_notification(&self, id: &str) -> Option<(String, String, Value)> {
        let mut inner = self.lock();
        let interaction = inner.interactions.get_mut(id)?;
        interaction.state_override = Some("Completed".into());
        let owner = interaction.owner.clone();
        let (channel, mut data) = self.notification(&mut inner, id);
        data["notificationType"] = json!("StatusChange");
        Some((owner, channel, data))
    }

    fn notification(&self, inner: &mut Inner, id: &str) -> (String, Value) {
        let interaction = &inner.interactions[id];
        let media = interaction.media;
        let owner = interaction.owner.clone();
        let mut resource = self.render(interaction, id, false);
        if media.name == "voice"
            && self.defect(Defect::VoiceDeleteLeavesEmpty)
            && resource.get("userData").is_none()
        {
            resource["userData"] = json!({});
        }
        let counter = inner.reference_ids.entry(owner).or_insert(0);
        *counter += 1;
        let reference_id = if self.defect(Defect::ConstantReferenceId) {
            1
        } else {
            *counter
        };
        let mut data = Map::new();
        let message_type = if self.defect(Defect::WrongMessageType) {
            "InteractionStateChangeMessage"
        } else {
            media.message_type
        };
        let notification_type = if self.defect(Defect::WrongNotificationType) {
            "StatusChange"
        } else {
            media.notification_type
        };
        data.insert("notificationType".into(), json!(notification_type));
        data.insert(resource_key(self, media).into(), resource);
        if media.name == "voice" {
            data.insert("phoneNumber".into(), json!("15000"));
        }
        data.insert("messageType".into(), json!(message_type));
        if media.reference_id_in_notification && !self.defect(Defect::MissingReferenceId) {
            data.insert("referenceId".into(), json!(reference_id));
        }
        let channel = if self.defect(Defect::WrongChannel) {
            "/v2/me/interactions"
        } else {
            media.channel
        };
        (channel.to_string(), Value::Object(data))
    }

    /// Queues a notification for every Bayeux client of `owner` subscribed to `channel`.
    pub fn publish(&self, owner: &str, channel: &str, data: &Value) {
        let message = json!({"channel": channel, "data": data});
        let mut inner = self.lock();
        let everyone = self.defect(Defect::CrossAgentNotifications);
        let copies = if self.defect(Defect::DuplicateNotification) {
            2
        } else {
            1
        };
        for client in inner.clients.values_mut() {
            if client.disconnected || !(everyone || client.agent == owner) {
                continue;
            }
            if client
                .subscriptions
                .iter()
                .any(|s| channel_matches(s, channel))
            {
                for _ in 0..copies {
                    client.queue.push_back(message.clone());
                }
                client.wake.notify_one();
            }
        }
    }
}

fn current_reference_id(inner: &Inner, owner: &str) -> u64 {
    inner.reference_ids.get(owner).copied().unwrap_or(0)
}

fn resource_key(state: &ServerState, media: &ServerMedia) -> &'static str {
    if state.defect(Defect::WrongResourceKey) {
        "interaction"
    } else {
        media.resource_key
    }
}

/// Bayeux channel globbing: `*` matches one segment, `**` any number of segments.
pub fn channel_matches(pattern: &str, channel: &str) -> bool {
    if let Some(prefix) = pattern.strip_suffix("/**") {
        return channel.starts_with(prefix) && channel[prefix.len()..].starts_with('/');
    }
    if let Some(prefix) = pattern.strip_suffix("/*") {
        return channel
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'));
    }
    pattern == channel
}

enum Operation {
    Attach(Map<String, Value>),
    Update(Map<String, Value>),
    DeleteAll,
    DeleteKeys(Vec<String>),
}

fn missing(param: &str) -> OpError {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_globs() {
        assert!(channel_matches("/v2/me/*", "/v2/me/calls"));
        assert!(!channel_matches("/v2/me/*", "/v2/me/calls/x"));
        assert!(channel_matches("/**", "/v2/me/calls/x"));
        assert!(channel_matches("/v2/me/calls", "/v2/me/calls"));
        assert!(!channel_matches("/v2/me/calls", "/v2/me/chats"));
    }
}
