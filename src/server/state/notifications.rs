//! Notifications of the reference server: the CometD message announcing an interaction's new
//! state (envelope per media, reference ids, defects that distort it) and its delivery to the
//! owner's subscribed clients.
//!
//! It does not apply operations and does not serve the Bayeux protocol itself.

use super::{ConnectedClient, ServerState, Tables};
use crate::server::defect::Defect;
use crate::server::media::ServerMedia;
use serde_json::{Map, Value, json};

impl ServerState {
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

    /// Builds the notification for interaction `id` and takes a fresh reference id.
    pub(super) fn notification(&self, inner: &mut Tables, id: &str) -> (String, Value) {
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
    ///
    /// Only the owner's clients are visited, unless a defect sends notifications to other
    /// agents' clients; the last recipient gets the message itself, the others a copy.
    pub fn publish(&self, owner: &str, channel: &str, data: &Value) {
        let mut fields = Map::new();
        fields.insert("channel".into(), Value::String(channel.to_string()));
        fields.insert("data".into(), data.clone());
        let mut message = Value::Object(fields);
        let mut inner = self.lock();
        let drop = self.under_load(&inner, Defect::DropUnderLoad);
        let cross = self.under_load(&inner, Defect::CrossUnderLoad);
        let mut crossed_to = None;
        if drop || cross {
            inner.load_serial += 1;
            let n = inner.load_serial;
            // The first armed notification and every 500th (200th) after it: a load run of
            // any length shows the defect at least once.
            if drop && n % 500 == 1 {
                return;
            }
            if cross && n % 200 == 1 {
                crossed_to = inner
                    .clients
                    .values()
                    .find(|c| !c.disconnected && c.agent != owner)
                    .map(|c| c.agent.clone());
            }
        }
        let everyone = self.defect(Defect::CrossAgentNotifications);
        let copies = if self.defect(Defect::DuplicateNotification) {
            2
        } else {
            1
        };
        let tapped = self.defect(Defect::SubscribeAnywhere);
        let receives = |client: &ConnectedClient| {
            if client.disconnected {
                return false;
            }
            let own = everyone
                || client.agent == owner
                || crossed_to.as_deref() == Some(client.agent.as_str());
            client.subscriptions.iter().any(|s| {
                channel_matches(s, channel) && (own || (tapped && !s.starts_with("/v2/me/")))
            })
        };
        let recipients: Vec<&mut ConnectedClient> = if everyone || tapped || crossed_to.is_some() {
            inner.clients.values_mut().filter(|c| receives(c)).collect()
        } else {
            inner
                .clients
                .of_agent_mut(owner)
                .filter(|c| receives(c))
                .collect()
        };
        let mut left = recipients.len() * copies;
        for client in recipients {
            for _ in 0..copies {
                left -= 1;
                client.queue.push_back(if left == 0 {
                    std::mem::take(&mut message)
                } else {
                    message.clone()
                });
            }
            client.wake.notify_one();
        }
    }
}

pub(super) fn current_reference_id(inner: &Tables, owner: &str) -> u64 {
    inner.reference_ids.get(owner).copied().unwrap_or(0)
}

pub(super) fn resource_key(state: &ServerState, media: &ServerMedia) -> &'static str {
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
