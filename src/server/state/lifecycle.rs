//! How interactions begin and end on the reference server through the documented agent
//! operations: the contact-center session (`StartContactCenterSession`,
//! `EndContactCenterSession`), `Ready`, `Dial` from the agent's device, `Create` of emails, open
//! media, workitems and Twitter, and `Hangup`, `Complete` and `Cancel`; plus the device and
//! collection listings a client reads.
//!
//! Like the user-data operations it returns what to answer and what to publish; it does not
//! speak HTTP. Where the documentation is silent (state names once an interaction ended, whether
//! an ended interaction stays readable: here it does not) the choice is this server's.

use super::{Interaction, OpResult, ServerState};
use crate::server::defect::Defect;
use crate::server::media::{self, ServerMedia};
use serde_json::{Map, Value, json};
use std::time::Instant;

/// The state an offered interaction shows until it is accepted.
pub const INVITED: &str = "Invited";

/// What an offered interaction allows.
pub const INVITED_CAPABILITIES: &[&str] = &["Accept", "Reject"];

/// How an interaction came to exist, which decides its documented state and capabilities.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// The fixture contract made it, as if routing had delivered it to the agent.
    Fixture,
    /// The agent dialled this number (voice, `Dial`).
    Dialed { number: String },
    /// The agent created it into a queue (`Create`).
    Created,
    /// Routing offered it to the agent (a customer's chat, a waiting SMS or Facebook session);
    /// the customer goes by `nickname`.
    Routed { nickname: String },
}

/// A composing email's capabilities, as the email Create page shows them.
const COMPOSING_EMAIL: &[&str] = &[
    "Cancel",
    "Send",
    "AddComment",
    "AttachUserData",
    "UpdateUserData",
    "DeleteUserData",
    "SetDisposition",
    "SetInFocus",
    "Transfer",
];

impl Origin {
    /// Adjusts a rendered interaction to what its origin documents: a dialled call shows the
    /// dialled number, a created email or tweet is `Composing`, created open media `Outbound`.
    pub(super) fn shape(&self, media: &ServerMedia, resource: &mut Value) {
        match (self, media.name) {
            (Origin::Dialed { number }, "voice") => {
                resource["dnis"] = json!(number);
                resource["participants"] = json!([{
                    "e164Number": "",
                    "formattedPhoneNumber": number,
                    "phoneNumber": number,
                    "digits": number,
                }]);
            }
            (Origin::Created, "email") => {
                resource["state"] = json!("Composing");
                resource["capabilities"] = json!(COMPOSING_EMAIL);
            }
            (Origin::Created, "twitter") => resource["state"] = json!("Composing"),
            (Origin::Created, "openmedia") => resource["openmediaType"] = json!("Outbound"),
            (Origin::Routed { nickname }, _) => {
                if let Some(customer) = resource.pointer_mut("/participants/0/nickname") {
                    *customer = json!(nickname);
                }
            }
            _ => {}
        }
    }
}

impl Interaction {
    /// The operations this interaction offers now.
    pub fn capabilities(&self) -> &'static [&'static str] {
        if self.state_override.as_deref() == Some(INVITED) {
            return INVITED_CAPABILITIES;
        }
        match (&self.origin, self.media.name) {
            (Origin::Created, "email") => COMPOSING_EMAIL,
            _ => self.media.capabilities,
        }
    }
}

/// The operations that end an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Hangup,
    Complete,
    Cancel,
    /// The agent leaves a chat: here it ends, as the agent was its only one.
    Leave,
}

impl Lifecycle {
    pub fn parse(operation_name: &str) -> Option<Lifecycle> {
        match operation_name {
            "Hangup" => Some(Lifecycle::Hangup),
            "Complete" => Some(Lifecycle::Complete),
            "Cancel" => Some(Lifecycle::Cancel),
            "Leave" => Some(Lifecycle::Leave),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Lifecycle::Hangup => "Hangup",
            Lifecycle::Complete => "Complete",
            Lifecycle::Cancel => "Cancel",
            Lifecycle::Leave => "Leave",
        }
    }

    /// The state the last notification announces.
    fn final_state(self) -> &'static str {
        match self {
            Lifecycle::Hangup => "Released",
            Lifecycle::Complete | Lifecycle::Leave => "Completed",
            Lifecycle::Cancel => "Cancelled",
        }
    }
}

/// The contact-center channel a media's interactions need: open media use their media type.
fn channel_of(media: &ServerMedia, open_media_type: &str) -> String {
    match media.name {
        "openmedia" => open_media_type.to_string(),
        other => other.to_string(),
    }
}

impl ServerState {
    /// The id of `agent`'s one device: stable, and distinct per agent.
    pub fn device_id(agent: &str) -> String {
        let h = media::fold(agent);
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            h >> 32,
            (h >> 16) & 0xffff,
            h & 0xfff,
            (h >> 20) & 0xfff,
            h & 0xffff_ffff_ffff
        )
    }

    /// `agent`'s devices as the devices resource shows them.
    pub fn devices(&self, agent: &str) -> Vec<Value> {
        let ready = self
            .lock()
            .contact_center
            .get(agent)
            .and_then(|c| c.get("voice").copied())
            .unwrap_or(false);
        let (state, display) = if ready {
            ("Ready", "Ready")
        } else {
            ("NotReady", "Not Ready")
        };
        let number = format!("5{:03}", media::fold(agent) % 1000);
        vec![json!({
            "id": Self::device_id(agent),
            "deviceState": "Active",
            "userState": {"id": format!("{:x}", media::fold(state)), "displayName": display, "state": state},
            "phoneNumber": number,
            "e164Number": number,
            "telephonyNetwork": "Private",
            "doNotDisturb": "Off",
            "voiceEnvironmentUri": format!("{}/api/v2/voice-environments/8e8e2a0e", self.base_url),
            "capabilities": ["ForwardCallsOn", "DoNotDisturbOn"],
        })]
    }

    pub(crate) fn refusal(
        &self,
        http: u16,
        status_code: u32,
        message: &str,
        owner: &str,
    ) -> OpResult {
        let (http, body) = self.error_body(http, status_code, message);
        OpResult {
            http,
            body,
            notification: None,
            owner: owner.to_string(),
        }
    }

    fn success(&self, body: Value, notification: Option<(String, Value)>, owner: &str) -> OpResult {
        OpResult {
            http: 200,
            body,
            notification,
            owner: owner.to_string(),
        }
    }

    /// `POST /api/v2/me`: `StartContactCenterSession` (idempotent: channels add up) and
    /// `EndContactCenterSession`, which also ends the caller's HTTP session.
    pub fn session_operation(&self, agent: &str, session_id: &str, body: &Value) -> OpResult {
        match body.get("operationName").and_then(Value::as_str) {
            Some("StartContactCenterSession") => {
                let channels = match body.get("channels") {
                    None | Some(Value::Null) => {
                        return self.refusal(
                            400,
                            1,
                            "missing required parameter 'channels'",
                            agent,
                        );
                    }
                    Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect::<Vec<_>>(),
                    Some(_) => {
                        return self.refusal(
                            400,
                            2,
                            "parameter 'channels' must be an array of strings",
                            agent,
                        );
                    }
                };
                let mut inner = self.lock();
                let started = inner.contact_center.entry(agent.to_string()).or_default();
                for channel in channels {
                    started.entry(channel).or_insert(false);
                }
                self.success(json!({"statusCode": 0}), None, agent)
            }
            Some("EndContactCenterSession") => {
                let mut inner = self.lock();
                inner.contact_center.remove(agent);
                if !self.defect(Defect::LogoutKeepsSession) {
                    inner.sessions.remove(session_id);
                }
                self.success(json!({"statusCode": 0}), None, agent)
            }
            Some(other) => self.refusal(
                400,
                2,
                &format!("operation '{other}' is not valid for the user"),
                agent,
            ),
            None => self.refusal(400, 1, "missing required parameter 'operationName'", agent),
        }
    }

    /// `POST /api/v2/me/channels/{channel}`: `Ready` and `NotReady` on a started channel; on
    /// voice the device's new state is announced on `/v2/me/devices`.
    pub fn channel_operation(&self, agent: &str, channel: &str, body: &Value) -> OpResult {
        let ready = match body.get("operationName").and_then(Value::as_str) {
            Some("Ready") => true,
            Some("NotReady") => false,
            Some(other) => {
                return self.refusal(
                    400,
                    2,
                    &format!("operation '{other}' is not valid for channel {channel}"),
                    agent,
                );
            }
            None => {
                return self.refusal(400, 1, "missing required parameter 'operationName'", agent);
            }
        };
        {
            let mut inner = self.lock();
            match inner
                .contact_center
                .get_mut(agent)
                .and_then(|c| c.get_mut(channel))
            {
                Some(state) => *state = ready,
                None => {
                    drop(inner);
                    return self.refusal(
                        400,
                        2,
                        &format!(
                            "channel {channel} is not in the agent's contact-center session (StartContactCenterSession first)"
                        ),
                        agent,
                    );
                }
            }
        }
        let notification = (channel == "voice").then(|| {
            (
                "/v2/me/devices".to_string(),
                json!({"messageType": "DeviceStateChangeMessage", "devices": self.devices(agent)}),
            )
        });
        self.success(json!({"statusCode": 0}), notification, agent)
    }

    pub(super) fn channel_started(&self, agent: &str, channel: &str) -> bool {
        self.lock()
            .contact_center
            .get(agent)
            .is_some_and(|c| c.contains_key(channel))
    }

    /// Creates `agent`'s interaction and the `StatusChange` notification announcing it.
    pub(super) fn open(
        &self,
        agent: &str,
        media: &'static ServerMedia,
        open_media_type: &str,
        user_data: Map<String, Value>,
        origin: Origin,
    ) -> (String, Value) {
        let mut inner = self.lock();
        let id = media.new_id(ServerState::next_serial(&mut inner));
        inner.interactions.insert(
            id.clone(),
            Interaction {
                owner: agent.to_string(),
                media,
                open_media_type: open_media_type.to_string(),
                previous_user_data: user_data.clone(),
                user_data,
                state_override: None,
                created: Instant::now(),
                origin,
            },
        );
        let (channel, mut data) = self.notification(&mut inner, &id);
        data["notificationType"] = json!("StatusChange");
        (channel, data)
    }

    /// `POST /api/v2/me/devices/{device}/calls` with `Dial`: a new call in state `Dialing`,
    /// carrying the request's `userData`. The reply carries no id: the call appears in the
    /// notification.
    pub fn dial(&self, agent: &str, device: &str, body: &Value) -> OpResult {
        match body.get("operationName").and_then(Value::as_str) {
            Some("Dial") => {}
            Some(other) => {
                return self.refusal(
                    400,
                    2,
                    &format!("operation '{other}' is not valid for a device's calls"),
                    agent,
                );
            }
            None => {
                return self.refusal(400, 1, "missing required parameter 'operationName'", agent);
            }
        }
        if device != Self::device_id(agent) {
            return self.refusal(404, 6, &format!("device {device} does not exist"), agent);
        }
        if !self.channel_started(agent, "voice") {
            return self.refusal(
                400,
                2,
                "the voice channel is not in the agent's contact-center session",
                agent,
            );
        }
        let number = match body.pointer("/destination/phoneNumber") {
            Some(Value::String(n)) if !n.is_empty() => n.clone(),
            None | Some(Value::Null) => {
                return self.refusal(
                    400,
                    1,
                    "missing required parameter 'destination.phoneNumber'",
                    agent,
                );
            }
            Some(_) => {
                return self.refusal(
                    400,
                    2,
                    "parameter 'destination.phoneNumber' must be a non-empty string",
                    agent,
                );
            }
        };
        let user_data = match body.get("userData") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(_)) if self.defect(Defect::DialIgnoresUserData) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => {
                return self.refusal(400, 2, "parameter 'userData' must be an object", agent);
            }
        };
        let Some(voice) = media::by_name("voice") else {
            return self.refusal(500, 4, "voice is not modelled", agent);
        };
        let announced = self.open(agent, voice, "", user_data, Origin::Dialed { number });
        self.success(json!({"statusCode": 0}), Some(announced), agent)
    }

    /// `POST` of `Create` on an agent's email, workitem or Twitter collection, or on
    /// `openmedia/{type}`. Email takes `userData` (documented); the others ignore it. Open
    /// media, workitems and Twitter answer the notification's `referenceId`.
    pub fn create(
        &self,
        agent: &str,
        media: &'static ServerMedia,
        open_media_type: &str,
        body: &Value,
    ) -> OpResult {
        let queue_param = match media.name {
            "im" => return self.initiate_im(agent, media, body),
            "email" | "openmedia" | "workitem" => "queueUri",
            "twitter" => "queuePath",
            _ => {
                return self.refusal(
                    400,
                    2,
                    &format!("Create is not an operation of {}", media.collection),
                    agent,
                );
            }
        };
        match body.get("operationName").and_then(Value::as_str) {
            Some("Create") => {}
            Some(other) => {
                return self.refusal(
                    400,
                    2,
                    &format!("operation '{other}' is not valid for {}", media.collection),
                    agent,
                );
            }
            None => {
                return self.refusal(400, 1, "missing required parameter 'operationName'", agent);
            }
        }
        match body.get(queue_param) {
            Some(Value::String(q)) if !q.is_empty() => {}
            None | Some(Value::Null) => {
                return self.refusal(
                    400,
                    1,
                    &format!("missing required parameter '{queue_param}'"),
                    agent,
                );
            }
            Some(_) => {
                return self.refusal(
                    400,
                    2,
                    &format!("parameter '{queue_param}' must be a non-empty string"),
                    agent,
                );
            }
        }
        let channel = channel_of(media, open_media_type);
        if !self.channel_started(agent, &channel) && !self.channel_started(agent, media.name) {
            return self.refusal(
                400,
                2,
                &format!("the {channel} channel is not in the agent's contact-center session"),
                agent,
            );
        }
        let user_data = match (media.name, body.get("userData")) {
            ("email", Some(Value::Object(m))) => m.clone(),
            ("email", Some(v)) if !v.is_null() => {
                return self.refusal(400, 2, "parameter 'userData' must be an object", agent);
            }
            _ => Map::new(),
        };
        let (channel, data) = self.open(agent, media, open_media_type, user_data, Origin::Created);
        let mut reply = json!({"statusCode": 0});
        if media.reference_id_in_response
            && let Some(reference) = data.get("referenceId")
        {
            reply["referenceId"] = reference.clone();
        }
        self.success(reply, Some((channel, data)), agent)
    }

    /// `Hangup`, `Complete` or `Cancel` on interaction `id`: allowed when its capabilities
    /// list the operation; announces the final state and removes the interaction.
    pub fn end(
        &self,
        agent: &str,
        media: &'static ServerMedia,
        id: &str,
        operation: Lifecycle,
    ) -> OpResult {
        let mut inner = self.lock();
        let Some(interaction) = inner
            .interactions
            .get_mut(id)
            .filter(|i| std::ptr::eq(i.media, media) && self.can_access(i, agent))
        else {
            drop(inner);
            return self.refusal(404, 6, &format!("interaction {id} does not exist"), agent);
        };
        if !interaction.capabilities().contains(&operation.name()) {
            drop(inner);
            return self.refusal(
                400,
                2,
                &format!(
                    "operation '{}' is not valid for this interaction",
                    operation.name()
                ),
                agent,
            );
        }
        interaction.state_override = Some(operation.final_state().to_string());
        let owner = interaction.owner.clone();
        let (channel, mut data) = self.notification(&mut inner, id);
        data["notificationType"] = json!("StatusChange");
        inner.interactions.remove(id);
        self.success(json!({"statusCode": 0}), Some((channel, data)), &owner)
    }

    /// `GET` of an agent's collection: the interactions' URIs, or with `fields=*` the
    /// interactions themselves under the collection's name.
    pub fn listing(
        &self,
        agent: &str,
        media: &'static ServerMedia,
        open_media_type: Option<&str>,
        full: bool,
    ) -> Value {
        let inner = self.lock();
        let mut mine: Vec<(&String, &Interaction)> = inner
            .interactions
            .iter()
            .filter(|(_, i)| {
                std::ptr::eq(i.media, media)
                    && i.owner == agent
                    && open_media_type.is_none_or(|t| i.open_media_type == t)
            })
            .collect();
        mine.sort_by_key(|(_, i)| i.created);
        if full {
            let items: Vec<Value> = mine
                .iter()
                .map(|(id, i)| self.render(i, id, true))
                .collect();
            json!({"statusCode": 0, media.collection: items})
        } else {
            let uris: Vec<String> = mine
                .iter()
                .map(|(id, i)| {
                    format!(
                        "{}{}",
                        self.base_url,
                        media.api_path(&i.open_media_type, id)
                    )
                })
                .collect();
            json!({"statusCode": 0, "uris": uris})
        }
    }
}
