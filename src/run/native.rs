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
//! It does not decide which media are provisioned natively (the target file does, through
//! `provision.rs`) and it judges nothing: a refusal here is a setup problem, not a finding.
//! Its failures are [`NativeError`]s (preparing an agent) and [`EndError`]s (ending an
//! interaction), each wrapping the [`Refused`] reply when there was one.

use super::Runner;
use super::fixtures::{InitialData, ProvisionError, Provisioned, Way};
use super::session::{AgentSession, Auth, RequestError};
use super::target::Native;
use super::wire::WireLog;
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::time::Instant;

/// What the documented API offers to create one media's interactions.
struct Recipe {
    media: &'static str,
    /// Channels the creating notification may arrive on.
    channels: &'static [&'static str],
    /// `Create`'s parameter naming the queue, or `None` for `Dial`.
    queue_param: Option<&'static str>,
    /// The creating request documents `userData`.
    takes_user_data: bool,
    /// Ending operations in order of preference; the first the capabilities list is used.
    endings: &'static [&'static str],
}

const RECIPES: &[Recipe] = &[
    Recipe {
        media: "voice",
        channels: &["/v2/me/calls"],
        queue_param: None,
        takes_user_data: true,
        endings: &["Hangup"],
    },
    Recipe {
        media: "email",
        channels: &["/v2/me/emails"],
        queue_param: Some("queueUri"),
        takes_user_data: true,
        endings: &["Cancel", "Complete"],
    },
    Recipe {
        media: "openmedia",
        channels: &["/v2/me/openmedia"],
        queue_param: Some("queueUri"),
        takes_user_data: false,
        endings: &["Complete", "Cancel"],
    },
    Recipe {
        media: "workitem",
        channels: &["/v2/me/workitems"],
        queue_param: Some("queueUri"),
        takes_user_data: false,
        endings: &["Complete", "Cancel"],
    },
    Recipe {
        media: "twitter",
        channels: &["/v2/me/twitter"],
        queue_param: Some("queuePath"),
        takes_user_data: false,
        endings: &["Cancel", "Complete"],
    },
];

/// The reason given for media no documented operation creates.
pub const NO_DOCUMENTED_CREATE: &str =
    "no documented operation creates one; use fixtures.url or fixtures.exec";

/// The media `fixtures.native.media` may name.
pub const NATIVE_MEDIA: [&str; 5] = ["voice", "email", "openmedia", "workitem", "twitter"];

/// Why `media` cannot be provisioned natively with this configuration, if it cannot.
pub fn unavailable(native: &Native, media: &str) -> Option<String> {
    let listed = native
        .media
        .as_ref()
        .is_none_or(|list| list.iter().any(|m| m == media));
    let missing =
        |key: &str, what: &str| Some(format!("fixtures.native.{key} is not set ({what})"));
    match media {
        "sms" | "facebook-pm" | "im" => Some(NO_DOCUMENTED_CREATE.into()),
        "chat" => Some(
            "only routing offers a chat to an agent; native chat is not supported: use fixtures.url or fixtures.exec".into(),
        ),
        _ if !listed => Some(format!("{media} is not in fixtures.native.media")),
        "voice" if native.dial.is_none() => missing("dial", "the number each agent dials"),
        "email" | "workitem" | "openmedia" if native.queue_uri.is_none() => {
            missing("queue_uri", "the queue interactions are created into")
        }
        "openmedia" if native.openmedia_type.is_none() => {
            missing("openmedia_type", "the open-media type to create")
        }
        "twitter" if native.queue_path.is_none() => {
            missing("queue_path", "the queue tweets are created into")
        }
        _ if RECIPES.iter().any(|r| r.media == media) => None,
        other => Some(format!("unknown media `{other}`")),
    }
}

/// The contact-center channel a media's interactions need.
fn session_channel(native: &Native, media: &str) -> String {
    match media {
        "openmedia" => native
            .openmedia_type
            .clone()
            .unwrap_or_else(|| "openmedia".into()),
        other => other.to_string(),
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

fn refusal_of(reply: &crate::observation::Reply) -> Option<Refused> {
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

impl Runner {
    fn native(&self) -> Result<&Native, ProvisionError> {
        self.target
            .fixtures
            .native
            .as_ref()
            .ok_or_else(|| ProvisionError::NotProvisionable("fixtures.native is not set".into()))
    }

    /// POSTs `body` to `path` as `session` and returns the reply's JSON, or why it failed.
    async fn post_operation(
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

    /// The agent's device, contact-center session and Ready state, once per agent.
    async fn prepare_native(
        &self,
        agent: usize,
        wire: &WireLog,
    ) -> Result<PreparedAgent, ProvisionError> {
        let native = self.native()?;
        self.native_agents[agent]
            .get_or_init(|| async {
                let session = &self.sessions[agent];
                let media: Vec<&str> = NATIVE_MEDIA
                    .into_iter()
                    .filter(|m| unavailable(native, m).is_none())
                    .collect();
                let device = if media.contains(&"voice") {
                    Some(read_device(session, wire).await?)
                } else {
                    None
                };
                let channels: Vec<String> =
                    media.iter().map(|m| session_channel(native, m)).collect();
                Self::start_contact_center(session, channels, wire).await?;
                Ok(PreparedAgent { device })
            })
            .await
            .clone()
            .map_err(|e| ProvisionError::Failed(e.to_string()))
    }

    /// `StartContactCenterSession` with `channels`, then `Ready` on each.
    async fn start_contact_center(
        session: &AgentSession,
        channels: Vec<String>,
        wire: &WireLog,
    ) -> Result<(), NativeError> {
        let start = json!({"operationName": "StartContactCenterSession", "channels": channels});
        match Self::post_operation(session, "/api/v2/me", &start, wire).await {
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
        for channel in &channels {
            let path = format!("/api/v2/me/channels/{channel}");
            Self::post_operation(session, &path, &json!({"operationName": "Ready"}), wire)
                .await
                .map_err(|source| NativeError::Ready {
                    username: session.username.clone(),
                    channel: channel.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    /// Starts the agent's contact-center session again after something ended it (the logout
    /// phase's `EndContactCenterSession`), when native provisioning had prepared the agent:
    /// the same channels, `Ready` on each. Nothing to do otherwise.
    pub(super) async fn resume_contact_center(
        &self,
        agent: usize,
        wire: &WireLog,
    ) -> Result<(), NativeError> {
        let (Ok(native), Some(Ok(_))) = (self.native(), self.native_agents[agent].get()) else {
            return Ok(());
        };
        let channels: Vec<String> = NATIVE_MEDIA
            .into_iter()
            .filter(|m| unavailable(native, m).is_none())
            .map(|m| session_channel(native, m))
            .collect();
        Self::start_contact_center(&self.sessions[agent], channels, wire).await
    }

    /// Creates one interaction of `media` for `agent` with documented operations.
    pub(super) async fn provision_native(
        &self,
        agent: usize,
        media: &str,
        user_data: &Map<String, Value>,
        wire: &WireLog,
    ) -> Result<Provisioned, ProvisionError> {
        let native = self.native()?;
        if let Some(why) = unavailable(native, media) {
            return Err(ProvisionError::NotProvisionable(why));
        }
        let Some(recipe) = RECIPES.iter().find(|r| r.media == media) else {
            return Err(ProvisionError::NotProvisionable(
                NO_DOCUMENTED_CREATE.into(),
            ));
        };
        let prepared = self.prepare_native(agent, wire).await?;
        let session = &self.sessions[agent];
        let (operation, create_path, collection) = match recipe.queue_param {
            None => {
                let device = prepared.device.as_deref().unwrap_or_default();
                (
                    "Dial",
                    format!("/api/v2/me/devices/{device}/calls"),
                    "calls".to_string(),
                )
            }
            Some(_) => {
                let collection = match media {
                    "email" => "emails".to_string(),
                    "workitem" => "workitems".to_string(),
                    "twitter" => "twitter".to_string(),
                    _ => format!("openmedia/{}", session_channel(native, media)),
                };
                ("Create", format!("/api/v2/me/{collection}"), collection)
            }
        };
        let mut body = json!({"operationName": operation});
        match recipe.queue_param {
            None => {
                body["destination"] =
                    json!({"phoneNumber": native.dial.clone().unwrap_or_default()})
            }
            Some("queuePath") => body["queuePath"] = json!(native.queue_path),
            Some(param) => body[param] = json!(native.queue_uri),
        }
        let initial_data = match (user_data.is_empty(), recipe.takes_user_data) {
            (true, _) => InitialData::Empty,
            (false, true) => {
                body["userData"] = Value::Object(user_data.clone());
                InitialData::InRequest
            }
            (false, false) => InitialData::Attached,
        };
        let failed = |why: String| {
            ProvisionError::Failed(format!(
                "{operation} of a {media} interaction for agent `{}`: {why}",
                session.username
            ))
        };
        let deadline = tokio::time::Instant::now()
            + self.config.deadlines.request
            + self.config.deadlines.notification;
        let (id, _announced) = {
            // One creation in flight per agent: the next new interaction on its stream is this one.
            let _one_at_a_time = self.creating[agent].lock().await;
            let since = Instant::now();
            let reply = Self::post_operation(session, &create_path, &body, wire)
                .await
                .map_err(|why| failed(format!("refused: {why}")))?;
            let reference = reply.get("referenceId").cloned();
            let accept = |message: &Value| {
                let channel = message.get("channel").and_then(Value::as_str);
                channel.is_some_and(|c| recipe.channels.contains(&c))
                    && reference
                        .as_ref()
                        .is_none_or(|r| message.pointer("/data/referenceId") == Some(r))
            };
            self.router
                .claim_new(agent, since, accept, deadline)
                .await
                .ok_or_else(|| {
                    failed(format!(
                        "no notification on {} announced the new interaction within {:.1}s",
                        recipe.channels.join(" or "),
                        (self.config.deadlines.request + self.config.deadlines.notification)
                            .as_secs_f64()
                    ))
                })?
        };
        let path = format!("/api/v2/me/{collection}/{id}");
        let provisioned = Provisioned {
            id: id.clone(),
            path: path.clone(),
            way: Way::Native {
                operation,
                initial_data,
            },
        };
        // Recorded before anything else can fail, so that it is ended whatever happens next.
        self.remember(agent, media, &provisioned);
        if initial_data == InitialData::Attached {
            let attach = json!({"operationName": "AttachUserData", "userData": user_data});
            let sent = Instant::now();
            Self::post_operation(session, &path, &attach, wire)
                .await
                .map_err(|why| {
                    failed(format!("attaching the initial userData was refused: {why}"))
                })?;
            let until = tokio::time::Instant::from_std(sent + self.config.deadlines.notification);
            if !self.router.wait_for(agent, &id, 1, until).await {
                return Err(failed(
                    "no notification announced the attached initial userData".into(),
                ));
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
        Self::post_operation(
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
