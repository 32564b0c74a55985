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

mod operation;
mod recipes;

pub use operation::{CreateProblem, EndError, NativeError, NativeFailure, Refused};
pub(super) use operation::{post_operation, refusal_of};
use recipes::{Creation, RECIPES, Recipe, agent_channels, ready_channels, recipe};
pub use recipes::{
    Key, NO_DOCUMENTED_CREATE, Unavailable, barrier_media, first_agent_only, native_media,
    unavailable,
};

use super::fixtures::{InitialData, Provisioned, Way};
use super::provisioner::{PreparedAgent, ProvisionError, Provisioner};
use super::session::{AgentSession, Auth};
use super::target::Native;
use super::wire::WireLog;
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::time::Instant;

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
        let mut request = creation_request(recipe, native, &prepared, &collection);
        let initial_data = match (user_data.is_empty(), recipe.takes_user_data) {
            (true, _) => InitialData::Empty,
            (false, true) => {
                request.body["userData"] = Value::Object(user_data.clone());
                InitialData::InRequest
            }
            (false, false) => InitialData::Attached,
        };
        let operation = request.operation;
        let failed = |problem: CreateProblem| {
            ProvisionError::from(NativeFailure::Create {
                operation,
                media: media.to_string(),
                username: session.username.clone(),
                problem,
            })
        };
        let (id, customer) = self
            .create(native, recipe, agent, &request, user_data, wire)
            .await
            .map_err(failed)?;
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
            self.announced(agent, &id, &path, &accept, wire)
                .await
                .map_err(|refused| match refused {
                    Some(why) => failed(CreateProblem::AcceptRefused(why)),
                    None => failed(CreateProblem::AcceptNotAnnounced),
                })?;
        }
        if initial_data == InitialData::Attached {
            let attach = json!({"operationName": "AttachUserData", "userData": user_data});
            self.announced(agent, &id, &path, &attach, wire)
                .await
                .map_err(|refused| match refused {
                    Some(why) => failed(CreateProblem::AttachRefused(why)),
                    None => failed(CreateProblem::AttachNotAnnounced),
                })?;
        }
        Ok(provisioned)
    }

    /// Sends the creating request (or has the customer request a chat) and claims the new
    /// interaction its notification announces: its id, and the customer's chat URL if any.
    async fn create(
        &self,
        native: &Native,
        recipe: &Recipe,
        agent: usize,
        request: &CreationRequest,
        user_data: &Map<String, Value>,
        wire: &WireLog,
    ) -> Result<(String, Option<String>), CreateProblem> {
        let session = &self.sessions[agent];
        let waited = self.deadlines.request + self.deadlines.notification;
        let nickname = super::chat::fresh_nickname();
        let mut customer = None;
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
                .map_err(CreateProblem::Refused)?;
                customer = Some(url);
                Value::Null
            }
            _ => post_operation(session, &request.path, &request.body, wire)
                .await
                .map_err(CreateProblem::Refused)?,
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
        let not_announced = CreateProblem::NotAnnounced {
            channels: recipe.notified_on,
            waited,
        };
        match (claimed, &customer, &native.chat, &self.customer) {
            (Some((id, _announced)), _, _, _) => Ok((id, customer)),
            (None, Some(url), Some(chat), Some(client)) => {
                // Never offered: the customer leaves, so that no chat waits on our account.
                let _ =
                    super::chat::disconnect(client, chat, url, self.deadlines.request, wire).await;
                Err(not_announced)
            }
            (None, _, _, _) => Err(not_announced),
        }
    }

    /// Posts a follow-up operation on the new interaction (`Accept`, `AttachUserData`) and
    /// consumes the notification that announces it, so the scenario does not see it. Fails
    /// with the refusal, or with `None` when nothing was announced in time.
    async fn announced(
        &self,
        agent: usize,
        id: &str,
        path: &str,
        body: &Value,
        wire: &WireLog,
    ) -> Result<(), Option<Refused>> {
        let sent = Instant::now();
        post_operation(&self.sessions[agent], path, body, wire)
            .await
            .map_err(Some)?;
        let until = tokio::time::Instant::from_std(sent + self.deadlines.notification);
        if !self.router.wait_for(agent, id, 1, until).await {
            return Err(None);
        }
        self.router.take(agent, id, sent);
        Ok(())
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

/// The request that creates an interaction the way `recipe` says.
struct CreationRequest {
    operation: &'static str,
    path: String,
    body: Value,
}

/// `Dial` from the agent's device, `Create` into the collection, or `InitiateIMSession`; a
/// chat is requested by the customer instead (`chat.rs`), so its path stays empty.
fn creation_request(
    recipe: &Recipe,
    native: &Native,
    prepared: &PreparedAgent,
    collection: &str,
) -> CreationRequest {
    let (operation, path, body) = match recipe.creation {
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
    CreationRequest {
        operation,
        path,
        body,
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
