//! Routed interactions on the reference server: chats requested through the Customer Chat API
//! (`POST /api/v2/chats` with a `ContactCenterId` header and no agent credentials), waiting
//! customers given at start (`serve --inbound sms=2`), their offer to an agent (`Invited`), the
//! agent's `Accept` and `Reject`, the customer's `Disconnect`, and IM's `InitiateIMSession`.
//!
//! It returns what to answer and what to publish; it does not speak HTTP. Where the
//! documentation is silent the choices are this server's: an interaction waits in one queue
//! and is offered, in arrival order, to the first agent (in configuration order) `Ready` on
//! its channel — for a chat any such agent, for an inbound SMS or Facebook session only one
//! that has none of that media open; the next is offered when one ends, when an agent becomes
//! Ready, or when a customer arrives. The customer-side chat id differs from the agent-side
//! one; the customer's nickname is the chat's customer participant. `Reject` ends the
//! interaction (state `Completed`, as the SMS Reject page shows). A customer's `Disconnect`
//! ends the customer side only; an offered chat nobody accepted ends with it.

use super::{INVITED, Interaction, OpResult, Origin, ServerState, Tables};
use crate::server::media::{self, ServerMedia};
use serde_json::{Map, Value, json};
use std::time::Instant;

/// An interaction waiting to be offered.
pub struct Waiting {
    pub media: &'static ServerMedia,
    pub nickname: String,
    pub user_data: Map<String, Value>,
    /// The customer-side chat id, for chats requested through the Customer Chat API.
    pub customer: Option<String>,
}

/// What to publish: `(owner, channel, data)`.
pub type Published = (String, String, Value);

impl ServerState {
    /// The waiting customers `serve --inbound` asked for, queued at start.
    pub(crate) fn queue_inbound(&self, inbound: &[(String, usize)]) {
        let mut inner = self.lock();
        for (name, count) in inbound {
            let Some(media) = media::by_name(name) else {
                continue;
            };
            for n in 1..=*count {
                inner.waiting.push_back(Waiting {
                    media,
                    nickname: format!("{name} customer {n}"),
                    user_data: Map::new(),
                    customer: None,
                });
            }
        }
    }

    /// `POST /api/v2/chats` (`RequestChat`): a customer asks for a chat. Answers the
    /// customer-side `id` and `path`; the chat waits until an agent Ready on chat is offered it.
    pub fn request_chat(&self, contact_center: Option<&str>, body: &Value) -> (u16, Value) {
        if contact_center.is_none_or(str::is_empty) {
            return self.error_body(400, 1, "missing required header 'ContactCenterId'");
        }
        match body.get("operationName").and_then(Value::as_str) {
            Some("RequestChat") => {}
            Some(other) => {
                return self.error_body(400, 2, &format!("operation '{other}' is not valid"));
            }
            None => return self.error_body(400, 1, "missing required parameter 'operationName'"),
        }
        let nickname = match body.get("nickname") {
            Some(Value::String(n)) if !n.is_empty() => n.clone(),
            _ => return self.error_body(400, 1, "missing required parameter 'nickname'"),
        };
        let user_data = match body.get("userData") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return self.error_body(400, 2, "parameter 'userData' must be an object"),
        };
        let Some(chat) = media::by_name("chat") else {
            return self.error_body(500, 4, "chat is not modelled");
        };
        let mut inner = self.lock();
        let id = format!("c{:016x}", ServerState::next_serial(&mut inner));
        inner.customer_chats.insert(id.clone(), None);
        inner.waiting.push_back(Waiting {
            media: chat,
            nickname,
            user_data,
            customer: Some(id.clone()),
        });
        (
            200,
            json!({"id": id, "statusCode": 0, "path": format!("/api/v2/chats/{id}")}),
        )
    }

    /// `POST /api/v2/chats/{id}` (`Disconnect`): the customer leaves.
    pub fn customer_operation(
        &self,
        contact_center: Option<&str>,
        id: &str,
        body: &Value,
    ) -> ((u16, Value), Option<Published>) {
        if contact_center.is_none_or(str::is_empty) {
            return (
                self.error_body(400, 1, "missing required header 'ContactCenterId'"),
                None,
            );
        }
        match body.get("operationName").and_then(Value::as_str) {
            Some("Disconnect") => {}
            Some(other) => {
                return (
                    self.error_body(400, 2, &format!("operation '{other}' is not valid")),
                    None,
                );
            }
            None => {
                return (
                    self.error_body(400, 1, "missing required parameter 'operationName'"),
                    None,
                );
            }
        }
        let mut inner = self.lock();
        let Some(agent_side) = inner.customer_chats.remove(id) else {
            drop(inner);
            return (
                self.error_body(404, 6, &format!("chat {id} does not exist")),
                None,
            );
        };
        inner.waiting.retain(|w| w.customer.as_deref() != Some(id));
        let ended = agent_side
            .filter(|a| {
                inner
                    .interactions
                    .get(a)
                    .is_some_and(|i| i.state_override.as_deref() == Some(INVITED))
            })
            .map(|a| self.finish_routed(&mut inner, &a, "Completed"));
        ((200, json!({"statusCode": 0})), ended)
    }

    /// Announces interaction `id`'s final `state` and removes it.
    fn finish_routed(&self, inner: &mut Tables, id: &str, state: &str) -> Published {
        if let Some(i) = inner.interactions.get_mut(id) {
            i.state_override = Some(state.to_string());
        }
        let owner = inner.interactions[id].owner.clone();
        let (channel, mut data) = self.notification(inner, id);
        data["notificationType"] = json!("StatusChange");
        inner.interactions.remove(id);
        (owner, channel, data)
    }

    /// Offers waiting interactions to agents that can take them; returns what to publish.
    pub fn route(&self) -> Vec<Published> {
        let mut inner = self.lock();
        let mut offers = Vec::new();
        let mut kept = std::collections::VecDeque::new();
        while let Some(waiting) = inner.waiting.pop_front() {
            match self.taker(&inner, waiting.media) {
                Some(agent) => offers.push(self.offer(&mut inner, agent, waiting)),
                None => kept.push_back(waiting),
            }
        }
        inner.waiting = kept;
        offers
    }

    /// The first agent Ready on `media`'s channel that may be offered one more of it.
    fn taker(&self, inner: &Tables, media: &'static ServerMedia) -> Option<String> {
        let inbound = media.name != "chat";
        self.config
            .agents
            .iter()
            .map(|(agent, _)| agent)
            .find(|agent| {
                let ready = inner
                    .contact_center
                    .get(*agent)
                    .and_then(|c| c.get(media.name))
                    .copied()
                    .unwrap_or(false);
                let busy = inbound
                    && inner
                        .interactions
                        .values()
                        .any(|i| std::ptr::eq(i.media, media) && &i.owner == *agent);
                ready && !busy
            })
            .cloned()
    }

    fn offer(&self, inner: &mut Tables, agent: String, waiting: Waiting) -> Published {
        let id = waiting.media.new_id(ServerState::next_serial(inner));
        if let Some(customer) = &waiting.customer {
            inner
                .customer_chats
                .insert(customer.clone(), Some(id.clone()));
        }
        inner.interactions.insert(
            id.clone(),
            Interaction {
                owner: agent.clone(),
                media: waiting.media,
                open_media_type: String::new(),
                previous_user_data: waiting.user_data.clone(),
                user_data: waiting.user_data,
                state_override: Some(INVITED.into()),
                created: Instant::now(),
                origin: Origin::Routed {
                    nickname: waiting.nickname,
                },
            },
        );
        let (channel, mut data) = self.notification(inner, &id);
        data["notificationType"] = json!("StatusChange");
        (agent, channel, data)
    }

    /// `Accept` or `Reject` of an offered interaction by its agent.
    pub fn answer_offer(
        &self,
        agent: &str,
        media: &'static ServerMedia,
        id: &str,
        accept: bool,
    ) -> OpResult {
        let mut inner = self.lock();
        let offered = inner.interactions.get(id).is_some_and(|i| {
            std::ptr::eq(i.media, media)
                && i.owner == agent
                && i.state_override.as_deref() == Some(INVITED)
        });
        if !offered {
            let exists = inner.interactions.contains_key(id);
            drop(inner);
            let operation = if accept { "Accept" } else { "Reject" };
            return match exists {
                true => self.refusal(
                    400,
                    2,
                    &format!("operation '{operation}' is not valid for this interaction"),
                    agent,
                ),
                false => self.refusal(404, 6, &format!("interaction {id} does not exist"), agent),
            };
        }
        let (channel, data) = if accept {
            if let Some(i) = inner.interactions.get_mut(id) {
                i.state_override = None;
            }
            let (channel, mut data) = self.notification(&mut inner, id);
            data["notificationType"] = json!("StatusChange");
            (channel, data)
        } else {
            let (_, channel, data) = self.finish_routed(&mut inner, id, "Completed");
            (channel, data)
        };
        OpResult {
            http: 200,
            body: json!({"statusCode": 0}),
            notification: Some((channel, data)),
            owner: agent.to_string(),
        }
    }

    /// `POST /api/v2/me/im-sessions` with `InitiateIMSession`: a new IM session to
    /// `destination.phoneNumber`, announced like a created interaction.
    pub(super) fn initiate_im(
        &self,
        agent: &str,
        im: &'static ServerMedia,
        body: &Value,
    ) -> OpResult {
        match body.get("operationName").and_then(Value::as_str) {
            Some("InitiateIMSession") => {}
            Some(other) => {
                return self.refusal(
                    400,
                    2,
                    &format!("operation '{other}' is not valid for im-sessions"),
                    agent,
                );
            }
            None => {
                return self.refusal(400, 1, "missing required parameter 'operationName'", agent);
            }
        }
        let number = match body.pointer("/destination/phoneNumber") {
            Some(Value::String(n)) if !n.is_empty() => n.clone(),
            _ => {
                return self.refusal(
                    400,
                    1,
                    "missing required parameter 'destination.phoneNumber'",
                    agent,
                );
            }
        };
        if !self.channel_started(agent, "im") {
            return self.refusal(
                400,
                2,
                "the im channel is not in the agent's contact-center session",
                agent,
            );
        }
        let announced = self.open(agent, im, "", Map::new(), Origin::Dialed { number });
        OpResult {
            http: 200,
            body: json!({"statusCode": 0}),
            notification: Some(announced),
            owner: agent.to_string(),
        }
    }
}
