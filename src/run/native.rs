//! Native provisioning: interactions created and ended with documented GWS operations only, so
//! that a stock deployment can be tested without the project's fixture contract.
//!
//! Per agent, once: the device (`GET /api/v2/me?subresources=devices`), then
//! `StartContactCenterSession` with the channels needed and `Ready` on each. Per interaction:
//! `Dial` from the agent's device (voice) or `Create` into the target's queue (email, open
//! media, workitem, Twitter). Neither reply carries the new interaction's id, so it is taken
//! from the `StatusChange` notification that announces it: only one creation per agent is in
//! flight at a time, and the first notification about an interaction the run has never heard
//! of, on that agent's stream, on the media's channel, after the request was sent (with the
//! reply's `referenceId` where the reply has one) is it. Initial `userData` goes into the
//! request where the page documents it (Dial, email Create) and is attached afterwards
//! otherwise, its notification consumed before the scenario starts. Ending uses `Hangup`,
//! `Cancel` or `Complete`, whichever the interaction's capabilities offer.
//!
//! Each media native provisioning covers is one row of `RECIPES`: what it needs from the
//! target file, its channel, how it is created and how it is ended. The module does not decide
//! which way a media is provisioned (the [`Provisioner`] does) and it judges nothing: a refusal
//! here is a setup problem, not a finding. Its failures are [`NativeFailure`]s, wrapping a
//! [`NativeError`] (preparing an agent) or a [`CreateProblem`]; ending failures are
//! [`EndError`]s; each carries the [`Refused`] reply when there was one.

use super::fixtures::{InitialData, Provisioned, Way};
use super::provisioner::{ProvisionError, Provisioner};
use super::session::{AgentSession, Auth, RequestError};
use super::target::Native;
use super::wire::WireLog;
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};

/// A `fixtures.native` key a recipe needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Dial,
    QueueUri,
    QueuePath,
    OpenmediaType,
    Im,
    Chat,
}

impl Key {
    /// Its name under `fixtures.native`.
    pub fn name(self) -> &'static str {
        match self {
            Key::Dial => "dial",
            Key::QueueUri => "queue_uri",
            Key::QueuePath => "queue_path",
            Key::OpenmediaType => "openmedia_type",
            Key::Im => "im",
            Key::Chat => "chat",
        }
    }

    /// What the value is, for the message that says it is missing.
    fn what(self) -> &'static str {
        match self {
            Key::Dial => "the number each agent dials",
            Key::QueueUri => "the queue interactions are created into",
            Key::QueuePath => "the queue tweets are created into",
            Key::OpenmediaType => "the open-media type to create",
            Key::Im => "the number an IM session is initiated to",
            Key::Chat => "the Customer Chat API chats are requested through",
        }
    }

    fn value(self, native: &Native) -> Option<&str> {
        match self {
            Key::Dial => native.dial.as_deref(),
            Key::QueueUri => native.queue_uri.as_deref(),
            Key::QueuePath => native.queue_path.as_deref(),
            Key::OpenmediaType => native.openmedia_type.as_deref(),
            Key::Im => native.im.as_deref(),
            Key::Chat => native.chat.as_ref().map(|c| c.customer_api.as_str()),
        }
    }
}

/// How a recipe creates an interaction.
#[derive(Debug, Clone, Copy)]
enum Creation {
    /// `Dial` from the agent's device to `fixtures.native.dial`.
    Dial,
    /// `Create` in the agent's collection, into the queue `key` names, sent as `param`.
    Create { param: &'static str, key: Key },
    /// `InitiateIMSession` to `fixtures.native.im`.
    InitiateIm,
    /// `RequestChat` as a customer, then the agent's `Accept` of the offered chat.
    RequestChat,
    /// Routed in by the deployment, accepted once and reused (`inbound.rs`).
    Inbound,
}

/// What the documented API offers to create one media's interactions: one row per media.
struct Recipe {
    media: &'static str,
    /// The `fixtures.native` keys it needs, in the order a missing one is reported.
    needs: &'static [Key],
    /// The contact-center channel it works on (`StartContactCenterSession`, `Ready`).
    channel: fn(&Native) -> String,
    /// The collection under `/api/v2/me/` its interactions live in.
    collection: fn(&Native) -> String,
    /// Channels the creating notification may arrive on.
    notified_on: &'static [&'static str],
    creation: Creation,
    /// The creating request documents `userData`.
    takes_user_data: bool,
    /// Ending operations in order of preference; the first the capabilities list is used.
    endings: &'static [&'static str],
    /// Routing offers it: only the first agent is made Ready on its channel.
    routed: bool,
}

/// The open-media type `fixtures.native.openmedia_type` names: both its channel and the last
/// segment of its collection.
fn openmedia_type(native: &Native) -> String {
    native
        .openmedia_type
        .clone()
        .unwrap_or_else(|| "openmedia".into())
}

const RECIPES: &[Recipe] = &[
    Recipe {
        media: "voice",
        needs: &[Key::Dial],
        channel: |_| "voice".into(),
        collection: |_| "calls".into(),
        notified_on: &["/v2/me/calls"],
        creation: Creation::Dial,
        takes_user_data: true,
        endings: &["Hangup"],
        routed: false,
    },
    Recipe {
        media: "email",
        needs: &[Key::QueueUri],
        channel: |_| "email".into(),
        collection: |_| "emails".into(),
        notified_on: &["/v2/me/emails"],
        creation: Creation::Create {
            param: "queueUri",
            key: Key::QueueUri,
        },
        takes_user_data: true,
        endings: &["Cancel", "Complete"],
        routed: false,
    },
    Recipe {
        media: "openmedia",
        needs: &[Key::QueueUri, Key::OpenmediaType],
        channel: openmedia_type,
        collection: |native| format!("openmedia/{}", openmedia_type(native)),
        notified_on: &["/v2/me/openmedia"],
        creation: Creation::Create {
            param: "queueUri",
            key: Key::QueueUri,
        },
        takes_user_data: false,
        endings: &["Complete", "Cancel"],
        routed: false,
    },
    Recipe {
        media: "workitem",
        needs: &[Key::QueueUri],
        channel: |_| "workitem".into(),
        collection: |_| "workitems".into(),
        notified_on: &["/v2/me/workitems"],
        creation: Creation::Create {
            param: "queueUri",
            key: Key::QueueUri,
        },
        takes_user_data: false,
        endings: &["Complete", "Cancel"],
        routed: false,
    },
    Recipe {
        media: "twitter",
        needs: &[Key::QueuePath],
        channel: |_| "twitter".into(),
        collection: |_| "twitter".into(),
        notified_on: &["/v2/me/twitter"],
        creation: Creation::Create {
            param: "queuePath",
            key: Key::QueuePath,
        },
        takes_user_data: false,
        endings: &["Cancel", "Complete"],
        routed: false,
    },
    Recipe {
        media: "im",
        needs: &[Key::Im],
        channel: |_| "im".into(),
        collection: |_| "im-sessions".into(),
        notified_on: &["/v2/me/im-sessions"],
        creation: Creation::InitiateIm,
        takes_user_data: false,
        endings: &["Complete"],
        routed: false,
    },
    Recipe {
        media: "chat",
        needs: &[Key::Chat],
        channel: |_| "chat".into(),
        collection: |_| "chats".into(),
        notified_on: &["/v2/me/chats"],
        creation: Creation::RequestChat,
        takes_user_data: true,
        endings: &["Complete", "Leave"],
        routed: true,
    },
    Recipe {
        media: "sms",
        needs: &[],
        channel: |_| "sms".into(),
        collection: |_| "smssessions".into(),
        notified_on: &["/v2/me/smssessions", "/v2/me/smsessions"],
        creation: Creation::Inbound,
        takes_user_data: false,
        endings: &["Complete", "Leave"],
        routed: true,
    },
    Recipe {
        media: "facebook-pm",
        needs: &[],
        channel: |_| "facebook-pm".into(),
        collection: |_| "facebooksessions".into(),
        notified_on: &["/v2/me/facebooksession", "/v2/me/facebooksessions"],
        creation: Creation::Inbound,
        takes_user_data: false,
        endings: &["Complete", "Leave"],
        routed: true,
    },
];

/// The reason given for media no documented operation creates.
pub const NO_DOCUMENTED_CREATE: &str =
    "no documented operation creates one; use fixtures.url or fixtures.exec";

/// The media `fixtures.native.media` may name, in the table's order.
pub fn native_media() -> impl Iterator<Item = &'static str> {
    RECIPES.iter().map(|r| r.media)
}

/// Why a media cannot be provisioned natively with a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    #[error("{}", NO_DOCUMENTED_CREATE)]
    NoDocumentedCreate,
    #[error(
        "no {media} was offered to the first agent within fixtures.native.inbound_wait ({wait})"
    )]
    NeverOffered { media: String, wait: String },
    #[error("the offered interaction could not be taken: {0}")]
    InboundFailed(String),
    #[error("the run did not wait for it to be offered (fixtures.native.inbound)")]
    NotAwaited,
    #[error("a routed inbound interaction is reused one scenario at a time, so load leaves it out")]
    ReusedOnly,
    #[error("routing offers it only to the first agent, the one made Ready on its channel")]
    RoutedToFirstAgent,
    #[error("{media} is not in fixtures.native.media")]
    NotListed { media: String },
    #[error("fixtures.native.{} is not set ({})", key.name(), key.what())]
    Missing { key: Key },
    #[error("unknown media `{0}`")]
    UnknownMedia(String),
}

/// A media the barrier of `media` may use on the same agent's stream: routed media cannot be
/// had twice, so their barrier runs on the first media created on demand.
pub fn barrier_media<'a>(native: &Native, media: &'a str) -> &'a str {
    match recipe(native, media) {
        Ok(r) if r.routed => RECIPES
            .iter()
            .find(|other| !other.routed && recipe(native, other.media).is_ok())
            .map_or(media, |other| other.media),
        _ => media,
    }
}

/// Whether routing offers `media` only to the first agent (the one made Ready on its channel).
pub fn first_agent_only(native: &Native, media: &str) -> bool {
    recipe(native, media).is_ok_and(|r| r.routed)
}

/// Why `media` cannot be provisioned natively with this configuration, if it cannot.
pub fn unavailable(native: &Native, media: &str) -> Option<Unavailable> {
    recipe(native, media).err()
}

/// The row that provisions `media` with this configuration, or why there is none.
fn recipe(native: &Native, media: &str) -> Result<&'static Recipe, Unavailable> {
    let Some(recipe) = RECIPES.iter().find(|r| r.media == media) else {
        return Err(Unavailable::UnknownMedia(media.to_string()));
    };
    if matches!(recipe.creation, Creation::Inbound) && !native.inbound.iter().any(|m| m == media) {
        return Err(Unavailable::NoDocumentedCreate);
    }
    let listed = native
        .media
        .as_ref()
        .is_none_or(|list| list.iter().any(|m| m == media));
    if !listed {
        return Err(Unavailable::NotListed {
            media: media.to_string(),
        });
    }
    match recipe.needs.iter().find(|k| k.value(native).is_none()) {
        Some(key) => Err(Unavailable::Missing { key: *key }),
        None => Ok(recipe),
    }
}

/// What an agent's one-time preparation found.
#[derive(Debug, Clone)]
pub(super) struct PreparedAgent {
    /// The device voice calls are dialled from.
    device: Option<String>,
}

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
    fn is_transport(&self) -> bool {
        matches!(self, Refused::NoReply(e) if e.is_transport())
    }

    /// `statusCode` 7: some of the operation's parts succeeded.
    fn partial(&self) -> bool {
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

impl NativeFailure {
    /// A request of the preparation or the creation got no reply because of a transport fault.
    pub fn interrupted(&self) -> bool {
        match self {
            NativeFailure::Prepare(
                NativeError::StartSession { source, .. } | NativeError::Ready { source, .. },
            ) => source.is_transport(),
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

pub(super) fn refusal_of(reply: &crate::observation::Reply) -> Option<Refused> {
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
pub(super) async fn post_operation(
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

/// The channels `agent` works on: every media the target provisions natively, except that
/// routing offers to whoever is Ready, so only the first agent takes routed media.
fn agent_channels(native: &Native, agent: usize) -> Vec<String> {
    RECIPES
        .iter()
        .filter(|r| recipe(native, r.media).is_ok() && (agent == 0 || !r.routed))
        .map(|r| (r.channel)(native))
        .collect()
}

/// The channels `agent` is made `Ready` on when prepared: Ready on an inbound channel has a
/// waiting customer's interaction offered, so only the run's wait for it (`inbound.rs`) makes
/// the agent Ready there.
fn ready_channels(native: &Native, agent: usize) -> Vec<String> {
    RECIPES
        .iter()
        .filter(|r| recipe(native, r.media).is_ok() && (agent == 0 || !r.routed))
        .filter(|r| !matches!(r.creation, Creation::Inbound))
        .map(|r| (r.channel)(native))
        .collect()
}

/// `StartContactCenterSession` with `channels`, then `Ready` on each of `ready`.
async fn start_contact_center(
    session: &AgentSession,
    channels: Vec<String>,
    ready: &[String],
    wire: &WireLog,
) -> Result<(), NativeError> {
    let start = json!({"operationName": "StartContactCenterSession", "channels": channels});
    match post_operation(session, "/api/v2/me", &start, wire).await {
        Ok(_) => {}
        // Partial success: a channel that failed shows when its media is created.
        Err(refused) if refused.partial() => {}
        Err(source) => {
            return Err(NativeError::StartSession {
                username: session.username.clone(),
                channels,
                source,
            });
        }
    }
    for channel in ready {
        let path = format!("/api/v2/me/channels/{channel}");
        post_operation(session, &path, &json!({"operationName": "Ready"}), wire)
            .await
            .map_err(|source| NativeError::Ready {
                username: session.username.clone(),
                channel: channel.clone(),
                source,
            })?;
    }
    Ok(())
}

impl Provisioner {
    /// The agent's device, contact-center session and Ready state, once per agent.
    pub(super) async fn prepare_native(
        &self,
        native: &Native,
        agent: usize,
        wire: &WireLog,
    ) -> Result<PreparedAgent, NativeError> {
        self.native_agents[agent]
            .get_or_init(|| async {
                let session = &self.sessions[agent];
                // Routing offers to whoever is Ready: only the first agent takes routed media.
                let recipes: Vec<&Recipe> = RECIPES
                    .iter()
                    .filter(|r| recipe(native, r.media).is_ok() && (agent == 0 || !r.routed))
                    .collect();
                let device = if recipes.iter().any(|r| matches!(r.creation, Creation::Dial)) {
                    Some(read_device(session, wire).await?)
                } else {
                    None
                };
                let channels = agent_channels(native, agent);
                let ready = ready_channels(native, agent);
                start_contact_center(session, channels, &ready, wire).await?;
                Ok(PreparedAgent { device })
            })
            .await
            .clone()
    }

    /// Starts the agent's contact-center session again after something ended it (the logout
    /// phase's `EndContactCenterSession`), when native provisioning had prepared the agent:
    /// the same channels, `Ready` on each. Nothing to do otherwise.
    pub(super) async fn resume_contact_center(
        &self,
        agent: usize,
        wire: &WireLog,
    ) -> Result<(), NativeError> {
        let (Some(native), Some(Ok(_))) = (&self.native, self.native_agents[agent].get()) else {
            return Ok(());
        };
        let channels = agent_channels(native, agent);
        let ready = ready_channels(native, agent);
        start_contact_center(&self.sessions[agent], channels, &ready, wire).await
    }

    /// Creates one interaction of `media` for `agent` with documented operations.
    pub(super) async fn provision_native(
        &self,
        native: &Native,
        agent: usize,
        media: &str,
        user_data: &Map<String, Value>,
        wire: &WireLog,
    ) -> Result<Provisioned, ProvisionError> {
        let recipe = recipe(native, media).map_err(|why| self.no_way(media, why))?;
        if recipe.routed && agent != 0 {
            return Err(self.no_way(media, Unavailable::RoutedToFirstAgent).into());
        }
        if matches!(recipe.creation, Creation::Inbound) {
            return self.provision_inbound(media, user_data, wire).await;
        }
        let prepared = self
            .prepare_native(native, agent, wire)
            .await
            .map_err(NativeFailure::from)?;
        let session = &self.sessions[agent];
        let collection = (recipe.collection)(native);
        let (operation, create_path, mut body) = match recipe.creation {
            Creation::Dial => {
                let device = prepared.device.as_deref().unwrap_or_default();
                let number = Key::Dial.value(native).unwrap_or_default();
                (
                    "Dial",
                    format!("/api/v2/me/devices/{device}/calls"),
                    json!({"operationName": "Dial", "destination": {"phoneNumber": number}}),
                )
            }
            Creation::Create { param, key } => (
                "Create",
                format!("/api/v2/me/{collection}"),
                json!({"operationName": "Create", param: key.value(native)}),
            ),
            Creation::InitiateIm => (
                "InitiateIMSession",
                format!("/api/v2/me/{collection}"),
                json!({
                    "operationName": "InitiateIMSession",
                    "destination": {"phoneNumber": Key::Im.value(native).unwrap_or_default()},
                }),
            ),
            Creation::RequestChat | Creation::Inbound => (
                "RequestChat",
                String::new(),
                json!({"operationName": "RequestChat"}),
            ),
        };
        let initial_data = match (user_data.is_empty(), recipe.takes_user_data) {
            (true, _) => InitialData::Empty,
            (false, true) => {
                body["userData"] = Value::Object(user_data.clone());
                InitialData::InRequest
            }
            (false, false) => InitialData::Attached,
        };
        let failed = |problem: CreateProblem| {
            ProvisionError::from(NativeFailure::Create {
                operation,
                media: media.to_string(),
                username: session.username.clone(),
                problem,
            })
        };
        let waited = self.deadlines.request + self.deadlines.notification;
        let nickname = super::chat::fresh_nickname();
        let mut customer = None;
        let (id, _announced) = {
            // One creation in flight per agent: the next new interaction on its stream is this one.
            let _one_at_a_time = self.creating[agent].lock().await;
            // From now, not from before the wait for the lock: another creation's wait is not ours.
            let deadline = tokio::time::Instant::now() + waited;
            let since = Instant::now();
            let reply = match (recipe.creation, &native.chat, &self.customer) {
                (Creation::RequestChat, Some(chat), Some(client)) => {
                    let url = super::chat::request(
                        client,
                        chat,
                        &nickname,
                        user_data,
                        self.deadlines.request,
                        wire,
                    )
                    .await
                    .map_err(|why| failed(CreateProblem::Refused(why)))?;
                    customer = Some(url);
                    Value::Null
                }
                _ => post_operation(session, &create_path, &body, wire)
                    .await
                    .map_err(|why| failed(CreateProblem::Refused(why)))?,
            };
            let reference = reply.get("referenceId").cloned();
            let chat = matches!(recipe.creation, Creation::RequestChat);
            let accept = |message: &Value| {
                let channel = message.get("channel").and_then(Value::as_str);
                channel.is_some_and(|c| recipe.notified_on.contains(&c))
                    && reference
                        .as_ref()
                        .is_none_or(|r| message.pointer("/data/referenceId") == Some(r))
                    && (!chat || super::chat::offers_chat_of(message, &nickname))
            };
            let claimed = self.router.claim_new(agent, since, accept, deadline).await;
            match (claimed, &customer, &native.chat, &self.customer) {
                (Some(claimed), _, _, _) => claimed,
                (None, Some(url), Some(chat), Some(client)) => {
                    // Never offered: the customer leaves, so that no chat waits on our account.
                    let _ =
                        super::chat::disconnect(client, chat, url, self.deadlines.request, wire)
                            .await;
                    return Err(failed(CreateProblem::NotAnnounced {
                        channels: recipe.notified_on,
                        waited,
                    }));
                }
                (None, _, _, _) => {
                    return Err(failed(CreateProblem::NotAnnounced {
                        channels: recipe.notified_on,
                        waited,
                    }));
                }
            }
        };
        let path = format!("/api/v2/me/{collection}/{id}");
        let provisioned = Provisioned {
            id: id.clone(),
            path: path.clone(),
            way: Way::Native {
                operation,
                initial_data,
                customer,
            },
        };
        // Recorded before anything else can fail, so that it is ended whatever happens next.
        self.remember(agent, media, &provisioned);
        if matches!(recipe.creation, Creation::RequestChat) {
            let accept = json!({"operationName": "Accept", "nickname": session.username});
            let sent = Instant::now();
            post_operation(session, &path, &accept, wire)
                .await
                .map_err(|why| failed(CreateProblem::AcceptRefused(why)))?;
            let until = tokio::time::Instant::from_std(sent + self.deadlines.notification);
            if !self.router.wait_for(agent, &id, 1, until).await {
                return Err(failed(CreateProblem::AcceptNotAnnounced));
            }
            self.router.take(agent, &id, sent);
        }
        if initial_data == InitialData::Attached {
            let attach = json!({"operationName": "AttachUserData", "userData": user_data});
            let sent = Instant::now();
            post_operation(session, &path, &attach, wire)
                .await
                .map_err(|why| failed(CreateProblem::AttachRefused(why)))?;
            let until = tokio::time::Instant::from_std(sent + self.deadlines.notification);
            if !self.router.wait_for(agent, &id, 1, until).await {
                return Err(failed(CreateProblem::AttachNotAnnounced));
            }
            self.router.take(agent, &id, sent);
        }
        Ok(provisioned)
    }

    /// Ends a natively provisioned interaction with the ending its capabilities offer, and
    /// checks that it is gone. Returns what went wrong, if anything did.
    pub(super) async fn end_native(
        &self,
        agent: usize,
        provisioned: &Provisioned,
        media: &str,
        wire: &WireLog,
    ) -> Result<(), EndError> {
        let session = &self.sessions[agent];
        let endings = RECIPES
            .iter()
            .find(|r| r.media == media)
            .map_or(&["Complete"][..], |r| r.endings);
        let capabilities = match read_capabilities(session, &provisioned.path, wire).await {
            Read::Gone => return Ok(()),
            Read::Capabilities(c) => c,
            // Unreadable: the first ending is tried; the check afterwards tells whether it worked.
            Read::Unreadable => Vec::new(),
        };
        let ending = endings
            .iter()
            .find(|e| capabilities.iter().any(|c| c == *e))
            .unwrap_or(&endings[0]);
        self.router.ending(agent, &provisioned.id);
        post_operation(
            session,
            &provisioned.path,
            &json!({"operationName": ending}),
            wire,
        )
        .await
        .map_err(|source| EndError::Refused {
            ending: ending.to_string(),
            path: provisioned.path.clone(),
            source,
        })?;
        if let (
            Way::Native {
                customer: Some(url),
                ..
            },
            Some(chat),
            Some(client),
        ) = (
            &provisioned.way,
            self.native.as_ref().and_then(|n| n.chat.as_ref()),
            &self.customer,
        ) {
            super::chat::disconnect(client, chat, url, self.deadlines.request, wire)
                .await
                .map_err(|source| EndError::Refused {
                    ending: "Disconnect".into(),
                    path: url.clone(),
                    source,
                })?;
        }
        match read_capabilities(session, &provisioned.path, wire).await {
            Read::Gone => Ok(()),
            Read::Capabilities(_) | Read::Unreadable => Err(EndError::StillThere {
                ending: ending.to_string(),
                path: provisioned.path.clone(),
            }),
        }
    }
}

enum Read {
    /// 404, or statusCode 6: the interaction does not exist (any more).
    Gone,
    Capabilities(Vec<String>),
    Unreadable,
}

async fn read_capabilities(session: &AgentSession, path: &str, wire: &WireLog) -> Read {
    let reply = match session
        .request(Method::GET, path, None, Auth::Session, true, Some(wire))
        .await
    {
        Ok((reply, _)) => reply,
        Err(_) => return Read::Unreadable,
    };
    let body = reply.body.json();
    if reply.status == 404 || body.and_then(|b| b.get("statusCode")) == Some(&json!(6)) {
        return Read::Gone;
    }
    let capabilities = body
        .and_then(Value::as_object)
        .and_then(|o| o.values().find_map(|v| v.get("capabilities")?.as_array()))
        .map(|caps| {
            caps.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        });
    match capabilities {
        Some(c) => Read::Capabilities(c),
        None => Read::Unreadable,
    }
}

/// The agent's first device id: from `GET /api/v2/me?subresources=devices` (as public clients
/// read it), or else from the devices resource.
pub async fn read_device(session: &AgentSession, wire: &WireLog) -> Result<String, NativeError> {
    for (path, pointer) in [
        ("/api/v2/me?subresources=devices", "/user/devices/0/id"),
        ("/api/v2/me/devices?fields=*", "/devices/0/id"),
    ] {
        if let Ok((reply, _)) = session
            .request(Method::GET, path, None, Auth::Session, true, Some(wire))
            .await
            && let Some(id) = reply
                .body
                .json()
                .and_then(|b| b.pointer(pointer))
                .and_then(Value::as_str)
        {
            return Ok(id.to_string());
        }
    }
    Err(NativeError::NoDevice {
        username: session.username.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::{Body, Reply};

    #[test]
    fn each_native_media_is_one_row_and_says_what_it_lacks() {
        assert_eq!(
            native_media().collect::<Vec<_>>(),
            [
                "voice",
                "email",
                "openmedia",
                "workitem",
                "twitter",
                "im",
                "chat",
                "sms",
                "facebook-pm"
            ]
        );
        let inbound = Native {
            inbound: vec!["sms".into()],
            ..Native::default()
        };
        assert!(first_agent_only(&inbound, "sms"));
        assert_eq!(
            unavailable(&inbound, "facebook-pm")
                .map(|u| u.to_string())
                .as_deref(),
            Some(NO_DOCUMENTED_CREATE),
            "an inbound media is native only when listed"
        );
        let none = Native::default();
        let why = |native: &Native, media: &str| unavailable(native, media).map(|u| u.to_string());
        assert_eq!(
            why(&none, "voice").as_deref(),
            Some("fixtures.native.dial is not set (the number each agent dials)")
        );
        let queue = Native {
            queue_uri: Some("/api/v2/queues/q".into()),
            media: Some(vec!["openmedia".into(), "email".into()]),
            ..Native::default()
        };
        assert_eq!(
            why(&queue, "openmedia").as_deref(),
            Some("fixtures.native.openmedia_type is not set (the open-media type to create)")
        );
        assert_eq!(why(&queue, "email"), None);
        assert_eq!(
            why(&queue, "workitem").as_deref(),
            Some("workitem is not in fixtures.native.media")
        );
        assert_eq!(why(&queue, "sms").as_deref(), Some(NO_DOCUMENTED_CREATE));
        assert_eq!(
            why(&queue, "pigeon").as_deref(),
            Some("unknown media `pigeon`")
        );
        let typed = Native {
            openmedia_type: Some("promotion".into()),
            ..queue
        };
        let row = recipe(&typed, "openmedia").expect("a row");
        assert_eq!((row.channel)(&typed), "promotion");
        assert_eq!((row.collection)(&typed), "openmedia/promotion");
    }

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
