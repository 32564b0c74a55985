//! Routed inbound interactions (SMS and Facebook sessions): no documented operation creates
//! them, so the deployment routes them to the first agent, and the run reuses what it accepted.
//!
//! Before the scenarios, for each media in `fixtures.native.inbound` the run needs, the first
//! agent is made `Ready` on its channel and the run waits up to `inbound_wait` for one to be
//! offered (`Invited`), telling the person at the terminal what to send; it accepts only that
//! one. Each scenario of the media then takes its turn on it: before the scenario the user data
//! is brought to the scenario's initial `userData` with `DeleteUserData` (every key present,
//! routing keys included) and `AttachUserData`, each notification consumed, and read back; a
//! reset that does not hold makes the scenario a setup failure with the reason. At the end the
//! agent is set `NotReady` on those channels first, so nothing more is offered, and then what
//! was accepted is ended. A media never offered is not provisionable, named with the wait.
//!
//! Which interaction is offered is not correlated with anything the run sent (nothing it sent
//! made it): the first new interaction on the channel after Ready is it. This module judges
//! nothing.

use super::fixtures::{Provisioned, Way};
use super::native::{Unavailable, post_operation};
use super::provisioner::{Inbound, ProvisionError, Provisioner, ResetError};
use super::session::Auth;
use super::target::Native;
use super::wire::WireLog;
use crate::util::Unpoisoned;
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The channels an inbound media's offer may arrive on. No page names the SMS channel, and the
/// pages spell the resource both `smssession` and `smsession`: either channel is taken.
fn offered_on(media: &str) -> &'static [&'static str] {
    match media {
        "sms" => &["/v2/me/smssessions", "/v2/me/smsessions"],
        _ => &["/v2/me/facebooksession", "/v2/me/facebooksessions"],
    }
}

/// How people call one: "an SMS session", "a Facebook session".
fn spoken(media: &str) -> &'static str {
    match media {
        "sms" => "an SMS session",
        _ => "a Facebook private-message session",
    }
}

/// `10m`, `90s`: the wait as the target file would say it.
pub fn spoken_wait(wait: Duration) -> String {
    match wait.as_secs() {
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The interaction object inside a GET answer: the first object-valued property with an `id`.
fn user_data_of(body: &Value) -> Option<Map<String, Value>> {
    let resource = body.as_object()?.values().find(|v| v.get("id").is_some())?;
    match resource.get("userData") {
        Some(Value::Object(m)) => Some(m.clone()),
        _ => Some(Map::new()),
    }
}

impl Provisioner {
    /// Waits for one interaction of each inbound media among `media` to be offered to the first
    /// agent, accepts it, and keeps it for the scenarios; `tell` says what the run waits for.
    pub async fn await_inbound(
        &self,
        media: &[String],
        stop: &CancellationToken,
        tell: impl Fn(String),
    ) {
        let Some(native) = self.native.clone() else {
            return;
        };
        let wire = WireLog::new(Instant::now());
        // Ready on every inbound channel comes with the first preparation, so an offer of the
        // second media may arrive while the run waits for the first: both count from here.
        let since = Instant::now();
        for inbound in native.inbound.iter().filter(|m| media.contains(m)) {
            if self.inbound.locked().contains_key(inbound) {
                continue;
            }
            let outcome = self
                .take_offer(&native, inbound, since, stop, &tell, &wire)
                .await;
            self.inbound.locked().insert(inbound.clone(), outcome);
        }
    }

    async fn take_offer(
        &self,
        native: &Native,
        media: &str,
        since: Instant,
        stop: &CancellationToken,
        tell: &impl Fn(String),
        wire: &WireLog,
    ) -> Inbound {
        if let Err(e) = self.prepare_native(native, 0, wire).await {
            return Inbound::Failed(e.to_string());
        }
        let session = &self.sessions[0];
        let ready = format!("/api/v2/me/channels/{media}");
        if let Err(why) =
            post_operation(session, &ready, &json!({"operationName": "Ready"}), wire).await
        {
            return Inbound::Failed(format!("Ready on channel {media} was refused: {why}"));
        }
        let wait = native.inbound_wait;
        tell(format!(
            "waiting up to {} for {} routed to {}: send one now",
            spoken_wait(wait),
            spoken(media),
            session.username
        ));
        let channels = offered_on(media);
        let accept = |message: &Value| {
            message
                .get("channel")
                .and_then(Value::as_str)
                .is_some_and(|c| channels.contains(&c))
        };
        let deadline = tokio::time::Instant::now() + wait;
        let claimed = tokio::select! {
            claimed = self.router.claim_new(0, since, accept, deadline) => claimed,
            _ = stop.cancelled() => None,
        };
        let Some((id, _)) = claimed else {
            return Inbound::NeverOffered { wait };
        };
        let collection = match media {
            "sms" => "smssessions",
            _ => "facebooksessions",
        };
        let path = format!("/api/v2/me/{collection}/{id}");
        let provisioned = Provisioned {
            id: id.clone(),
            path: path.clone(),
            way: Way::Routed {
                media: media.to_string(),
                scenario: 0,
            },
        };
        // On the ledger before anything else can fail: it is ended whatever happens next.
        self.remember(0, media, &provisioned);
        let body = json!({"operationName": "Accept", "nickname": session.username});
        let sent = Instant::now();
        if let Err(why) = post_operation(session, &path, &body, wire).await {
            return Inbound::Failed(format!("accepting the offered {media} was refused: {why}"));
        }
        let until = tokio::time::Instant::from_std(sent + self.deadlines.notification);
        if !self.router.wait_for(0, &id, 1, until).await {
            return Inbound::Failed(format!("no notification announced the accepted {media}"));
        }
        self.router.take(0, &id, sent);
        Inbound::Accepted {
            provisioned,
            turn: Arc::new(tokio::sync::Mutex::new(())),
            uses: AtomicUsize::new(0),
        }
    }

    /// The accepted interaction of `media`, its user data reset to `user_data`, held for this
    /// scenario until it is released.
    pub(super) async fn provision_inbound(
        &self,
        media: &str,
        user_data: &Map<String, Value>,
        wire: &WireLog,
    ) -> Result<Provisioned, ProvisionError> {
        let taken = {
            let inbound = self.inbound.locked();
            match inbound.get(media) {
                Some(Inbound::Accepted {
                    provisioned,
                    turn,
                    uses,
                }) => Ok((
                    provisioned.clone(),
                    Arc::clone(turn),
                    uses.fetch_add(1, Ordering::SeqCst) + 1,
                )),
                Some(Inbound::NeverOffered { wait }) => Err(Unavailable::NeverOffered {
                    media: media.to_string(),
                    wait: spoken_wait(*wait),
                }),
                Some(Inbound::Failed(why)) => Err(Unavailable::InboundFailed(why.clone())),
                None => Err(Unavailable::NotAwaited),
            }
        };
        let (provisioned, turn, scenario) =
            taken.map_err(|why| ProvisionError::from(self.no_way(media, why)))?;
        let guard = turn.lock_owned().await;
        self.reset(&provisioned, user_data, wire)
            .await
            .map_err(|why| {
                ProvisionError::Reset(Box::new(ResetError {
                    media: media.to_string(),
                    why,
                }))
            })?;
        self.turns.locked().insert(provisioned.id.clone(), guard);
        Ok(Provisioned {
            way: Way::Routed {
                media: media.to_string(),
                scenario,
            },
            ..provisioned
        })
    }

    /// Brings the interaction's user data to `wanted` with documented operations and reads it
    /// back.
    async fn reset(
        &self,
        provisioned: &Provisioned,
        wanted: &Map<String, Value>,
        wire: &WireLog,
    ) -> Result<(), String> {
        let session = &self.sessions[0];
        let read =
            || async {
                let (reply, _) = session
                    .request(
                        Method::GET,
                        &provisioned.path,
                        None,
                        Auth::Session,
                        true,
                        Some(wire),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                reply.body.json().and_then(user_data_of).ok_or_else(|| {
                    format!("GET {} answered HTTP {}", provisioned.path, reply.status)
                })
            };
        let current = read().await?;
        let keys: Vec<&String> = current.keys().collect();
        let mut steps = Vec::new();
        if !keys.is_empty() {
            steps.push(json!({"operationName": "DeleteUserData", "keys": keys}));
        }
        if !wanted.is_empty() {
            steps.push(json!({"operationName": "AttachUserData", "userData": wanted}));
        }
        for step in steps {
            let sent = Instant::now();
            post_operation(session, &provisioned.path, &step, wire)
                .await
                .map_err(|why| format!("{} was refused: {why}", step["operationName"]))?;
            let until = tokio::time::Instant::from_std(sent + self.deadlines.notification);
            if !self
                .reset_step_announced(&provisioned.id, sent, until)
                .await
            {
                return Err(format!(
                    "no notification announced {}",
                    step["operationName"]
                ));
            }
        }
        let after = read().await?;
        if &after != wanted {
            return Err(format!(
                "the user data read back is {}, not the scenario's initial {}",
                Value::Object(after),
                Value::Object(wanted.clone())
            ));
        }
        Ok(())
    }

    /// Waits for a notification announcing a change of reused interaction `id` and consumes
    /// what arrived: an error notification (`notificationType: Error`) does not count, because
    /// one may still be on its way from an operation an earlier scenario had refused on it.
    async fn reset_step_announced(
        &self,
        id: &str,
        sent: Instant,
        until: tokio::time::Instant,
    ) -> bool {
        loop {
            if !self.router.wait_for(0, id, 1, until).await {
                return false;
            }
            let arrived = self.router.take(0, id, sent);
            if arrived.is_empty() {
                // The stream closed.
                return false;
            }
            if arrived
                .iter()
                .any(|d| d.message.pointer("/data/notificationType") != Some(&json!("Error")))
            {
                return true;
            }
        }
    }

    /// Ends a scenario's turn on a reused interaction.
    pub(super) fn end_turn(&self, id: &str) {
        self.turns.locked().remove(id);
    }

    /// `NotReady` on every inbound channel of the first agent, so nothing more is offered.
    pub(super) async fn stop_offers(&self, wire: &WireLog) -> Vec<String> {
        let Some(native) = &self.native else {
            return Vec::new();
        };
        let awaited: Vec<String> = self.inbound.locked().keys().cloned().collect();
        let mut problems = Vec::new();
        for media in native.inbound.iter().filter(|m| awaited.contains(m)) {
            let path = format!("/api/v2/me/channels/{media}");
            let body = json!({"operationName": "NotReady"});
            if let Err(why) = post_operation(&self.sessions[0], &path, &body, wire).await {
                problems.push(format!(
                    "agent {}: NotReady on {media} was refused, so more may be offered: {why}",
                    self.sessions[0].username
                ));
            }
        }
        self.turns.locked().clear();
        problems
    }
}
