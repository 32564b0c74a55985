//! The eavesdropper: a second Bayeux client a case opens beside the agents' streams
//! (`send.listener`), to see whether the notification of the case's operation reaches a client
//! that should not get it.
//!
//! - `anonymous`, `wrong-password`: a handshake with nothing to identify it, or with the first
//!   agent's user name and a wrong password. If the server accepts it, the client subscribes to
//!   `/v2/me/*` and `/**`, and after the operation asks once for what is queued.
//! - `foreign-client-id`: a client of the first agent, subscribed to `/v2/me/*`, whose id is
//!   then presented by the second agent (its credentials, cookie and token). Afterwards the
//!   first agent connects it itself: receiving the notification then shows there was
//!   something to leak.
//! - `other-channels`: the second agent's client, subscribed to `/v2/me/*` and to channels
//!   outside it. Its silence is proven on an event: a barrier on the second agent's own
//!   interaction reaches it through `/v2/me/*`, and everything queued before arrives first.
//! - `protocol`: a fresh client of the first agent that goes through the Bayeux life cycle
//!   (handshake, a connect asking not to be held, subscribe to `/v2/me/*`; after the
//!   operation another such connect, unsubscribe, disconnect), keeping every meta exchange,
//!   with the meta exchanges the run's own streams kept so far, for the protocol checks. If the
//!   server forgot its idle client meanwhile, the probe stops there (`Listened::cut_short`).
//!
//! - `publisher`: the second agent's client, subscribed to `/v2/me/*`, publishes a forged
//!   notification about the first agent's interaction on the media's channel right after the
//!   operation was answered; then it drains as `other-channels` does. The owner's stream must
//!   still get exactly the one notification the server sends.
//!
//! It observes and records ([`Listened`]); judging is the check stage's. It never sleeps.

use super::router::BARRIER_KEY;
use super::wire::WireLog;
use super::{Runner, barrier, router, session};
use crate::bayeux::{BayeuxClient, BayeuxError, Reconnect, Recording};
use crate::observation::{Listened, Setup};
use crate::plan::Case;
use crate::spec::ListenerMode;
use serde_json::{Value, json};
use session::SUBSCRIPTION;

/// Channels outside `/v2/me/*` the `other-channels` listener asks for: every channel, and
/// every GWS channel.
const OUTSIDE_ME: &[&str] = &["/**", "/v2/**"];

/// A listener opened before the operation.
pub(super) struct OpenListener {
    mode: ListenerMode,
    /// `None` when its handshake was refused.
    client: Option<BayeuxClient>,
    listened: Listened,
}

impl Runner {
    /// Opens the listener. A failure that is not the server's answer under test (the first or
    /// second agent cannot handshake a second client) means the case cannot be tested, unless
    /// it was a transport fault ([`Setup::Interrupted`], with its cause).
    pub(super) async fn open_listener(
        &self,
        mode: ListenerMode,
        wire: &WireLog,
    ) -> Result<OpenListener, Setup> {
        let mut listened = Listened::default();
        let client = match mode {
            ListenerMode::Anonymous | ListenerMode::WrongPassword => {
                let wrong_password = mode == ListenerMode::WrongPassword;
                let client = self.sessions[0].unauthenticated_bayeux(wrong_password);
                let handshake = client.handshake().await;
                note(wire, None, "listener handshake", handshake.as_ref().err());
                let accepted = handshake.is_ok();
                listened.handshake = Some(handshake);
                if !accepted {
                    return Ok(OpenListener {
                        mode,
                        client: None,
                        listened,
                    });
                }
                client
            }
            ListenerMode::ForeignClientId => self.own_listener(0, wire).await?,
            ListenerMode::OtherChannels | ListenerMode::Publisher => {
                self.own_listener(1, wire).await?
            }
            ListenerMode::Protocol => {
                let client = self.sessions[0]
                    .bayeux
                    .sibling()
                    .with_recording(Recording::All);
                let agent = Some(self.sessions[0].username.as_str());
                // What the server answers is what is under test: a refusal ends the probe
                // and is judged with the rest, it is not a setup failure.
                let handshake = client.handshake().await;
                note(
                    wire,
                    agent,
                    "protocol probe handshake",
                    handshake.as_ref().err(),
                );
                if handshake.is_ok() {
                    let connect = match client.poll_now().await {
                        Ok((_, None)) => Ok(()),
                        Ok((_, Some(e))) | Err(e) => Err(e),
                    };
                    note(
                        wire,
                        agent,
                        "protocol probe connect",
                        connect.as_ref().err(),
                    );
                }
                listened.handshake = Some(handshake);
                client
            }
        };
        let channels: &[&str] = match mode {
            ListenerMode::Anonymous | ListenerMode::WrongPassword => &[SUBSCRIPTION, "/**"],
            ListenerMode::ForeignClientId | ListenerMode::Publisher => &[],
            ListenerMode::OtherChannels => OUTSIDE_ME,
            ListenerMode::Protocol if client.client_id().is_some() => &[SUBSCRIPTION],
            ListenerMode::Protocol => &[],
        };
        for channel in channels {
            let subscribed = client.subscribe(channel).await;
            note(
                wire,
                None,
                &format!("listener subscribe {channel}"),
                subscribed.as_ref().err(),
            );
            listened
                .subscriptions
                .push((channel.to_string(), subscribed));
        }
        Ok(OpenListener {
            mode,
            client: Some(client),
            listened,
        })
    }

    /// A second client of `agent`, handshaken and subscribed to `/v2/me/*` with its own
    /// credentials. A transport fault on the way is [`Setup::Interrupted`], not a failure.
    async fn own_listener(&self, agent: usize, wire: &WireLog) -> Result<BayeuxClient, Setup> {
        let session = self.sessions.get(agent).ok_or_else(|| {
            Setup::Failed("this scenario needs a second agent; the target names one".into())
        })?;
        let username = &session.username;
        let client = session.bayeux.sibling();
        let fail = |what: &str, e: BayeuxError| {
            let why = format!("a second Bayeux client of `{username}` could not {what}: {e}");
            Setup::interrupted_or_failed(why, e.is_transport())
        };
        client.handshake().await.map_err(|e| fail("handshake", e))?;
        client
            .subscribe(SUBSCRIPTION)
            .await
            .map_err(|e| fail(&format!("subscribe to {SUBSCRIPTION}"), e))?;
        note(
            wire,
            Some(username),
            &format!("listener handshake and subscribe {SUBSCRIPTION}"),
            None,
        );
        Ok(client)
    }

    /// What the listener does once the operation was answered: the `publisher` publishes its
    /// forged notification about interaction `id` on the media's channel. Whether the server
    /// accepted the publish is recorded, not judged: what matters is who receives it.
    pub(super) async fn listener_acts(
        &self,
        open: &OpenListener,
        case: &Case,
        id: &str,
        wire: &WireLog,
    ) {
        let (ListenerMode::Publisher, Some(client)) = (open.mode, &open.client) else {
            return;
        };
        let facts = &case.facts;
        let (Some(channel), Some(key)) = (facts.channel.first(), facts.resource_key.first()) else {
            return;
        };
        let mut data = json!({
            "notificationType": facts.notification_type.first(),
            "messageType": facts.message_type.first(),
        });
        data[key.as_str()] =
            json!({"id": id, "userData": {"Forged": "published by another agent"}});
        let published = client.publish(channel, data).await;
        note(
            wire,
            self.sessions.get(1).map(|s| s.username.as_str()),
            &format!("listener publish on {channel}"),
            published.as_ref().err(),
        );
    }

    /// Collects what reached the listener about interaction `id` once the operation has
    /// settled, then disconnects it.
    pub(super) async fn drain_listener(
        &self,
        open: OpenListener,
        media: &str,
        id: &str,
        wire: &WireLog,
    ) -> Listened {
        let OpenListener {
            mode,
            client,
            mut listened,
        } = open;
        let Some(client) = client else {
            return listened;
        };
        let deadline = tokio::time::Instant::now() + self.config.deadlines.notification;
        match mode {
            ListenerMode::Anonymous | ListenerMode::WrongPassword => {
                match client.poll_now().await {
                    Ok((events, _)) => listened.heard = about(events, id),
                    Err(e) => refused_or_problem(&mut listened, e),
                }
                client.disconnect().await;
            }
            ListenerMode::ForeignClientId => {
                let presenter = self.sessions.get(1).map(|s| s.bayeux.sibling());
                if let (Some(presenter), Some(client_id)) = (presenter, client.client_id()) {
                    presenter.adopt(client_id);
                    match presenter.poll_now().await {
                        Ok((events, _)) => listened.heard = about(events, id),
                        Err(e) => refused_or_problem(&mut listened, e),
                    }
                }
                note(
                    wire,
                    self.sessions.get(1).map(|s| s.username.as_str()),
                    "listener's clientId presented by the other agent",
                    None,
                );
                if listened.heard.is_empty() {
                    let heard = collect_until(&client, deadline, |m| mentions(m, id)).await;
                    listened.owner_heard = Some(heard.iter().any(|m| mentions(m, id)));
                }
                client.disconnect().await;
            }
            ListenerMode::Protocol => {
                let agent = Some(self.sessions[0].username.as_str());
                if client.client_id().is_some() {
                    // The operation's notification is queued for this client too by now (the
                    // agent's stream has passed its barrier): a connect asking not to be held
                    // returns it at once.
                    match client.poll_now().await {
                        Ok((events, refused)) => {
                            listened.heard = about(events, id);
                            note(wire, agent, "protocol probe connect", refused.as_ref());
                            listened.cut_short =
                                refused.as_ref().and_then(|e| forgotten(&client, e));
                        }
                        Err(e) => note(wire, agent, "protocol probe connect", Some(&e)),
                    }
                    // A client the server forgot is not unsubscribed: its id is dead (a Bayeux
                    // client handshakes again instead), and the reply would not be about it.
                    if listened.cut_short.is_none() {
                        let unsubscribed = client.unsubscribe(SUBSCRIPTION).await;
                        note(
                            wire,
                            agent,
                            &format!("protocol probe unsubscribe {SUBSCRIPTION}"),
                            unsubscribed.as_ref().err(),
                        );
                        client.disconnect().await;
                        note(wire, agent, "protocol probe disconnect", None);
                    }
                }
                listened.meta = client.meta_exchanges();
                listened.stream_meta = self
                    .sessions
                    .iter()
                    .map(|s| (s.username.clone(), s.bayeux.meta_exchanges()))
                    .collect();
            }
            ListenerMode::OtherChannels | ListenerMode::Publisher => {
                match self.barrier(1, media, wire).await {
                    Ok(mark) => {
                        let passed = |m: &Value| is_barrier_mark(m, &mark);
                        let heard = collect_until(&client, deadline, passed).await;
                        if !heard.iter().any(passed) {
                            listened.drain_problem = Some(format!(
                                "the barrier notification did not reach the listener within {:.1}s",
                                self.config.deadlines.notification.as_secs_f64()
                            ));
                        }
                        listened.heard = about(heard, id);
                    }
                    Err(why) => listened.drain_problem = Some(why.to_string()),
                }
                client.disconnect().await;
            }
        }
        listened
    }
}

/// Why the protocol probe's client is gone, when its connect after the operation was refused as
/// an unknown client (`402`, or advice to handshake again). The probe holds no connect while
/// the case runs, and Bayeux lets a server forget a client that has none outstanding once its
/// own timeout passes (CometD's default is 10 s, which a slow link can outlast); so this is
/// the probe's life cycle cut short, not a finding.
fn forgotten(client: &BayeuxClient, refused: &BayeuxError) -> Option<String> {
    let unknown = matches!(refused, BayeuxError::Refused { error, .. } if error.starts_with("402"));
    (unknown || client.advice().reconnect == Reconnect::Handshake).then(|| {
        format!("the server forgot the probe's idle client before its unsubscribe ({refused})")
    })
}

/// Connects `client` again and again until a message satisfies `done` or the deadline
/// passes; returns every data message received.
async fn collect_until(
    client: &BayeuxClient,
    deadline: tokio::time::Instant,
    done: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let mut received = Vec::new();
    while !received.iter().any(&done) {
        match tokio::time::timeout_at(deadline, client.connect_once()).await {
            Ok(Ok((events, None))) => received.extend(events),
            // A refused connect or a broken stream ends the wait: nothing more will come.
            Ok(Ok((events, Some(_)))) => {
                received.extend(events);
                break;
            }
            Ok(Err(_)) | Err(_) => break,
        }
    }
    received
}

/// Whether a message carries interaction `id`: as the id of its resource, or anywhere as a
/// JSON string.
fn mentions(message: &Value, id: &str) -> bool {
    router::interaction_id(message).as_deref() == Some(id)
        || message.to_string().contains(&Value::from(id).to_string())
}

fn about(messages: Vec<Value>, id: &str) -> Vec<Value> {
    messages.into_iter().filter(|m| mentions(m, id)).collect()
}

/// Whether `message` is the notification of the barrier operation `mark` (or a later one on
/// the same barrier interaction).
fn is_barrier_mark(message: &Value, mark: &barrier::BarrierMark) -> bool {
    if router::interaction_id(message).as_deref() != Some(mark.id.as_str()) {
        return false;
    }
    let Some(data) = message.get("data").and_then(Value::as_object) else {
        return false;
    };
    data.values()
        .filter_map(|v| v.get("userData")?.get(BARRIER_KEY))
        .any(|ticket| {
            let ticket = ticket
                .as_u64()
                .or_else(|| ticket.as_str().and_then(|s| s.parse().ok()));
            ticket.is_some_and(|t| t >= mark.ticket)
        })
}

/// A refusal of the listener's connect (an HTTP 4xx, or an unsuccessful reply) is silence; a
/// transport failure or timeout means silence could not be shown.
fn refused_or_problem(listened: &mut Listened, error: BayeuxError) {
    match error {
        BayeuxError::HttpStatus { .. } | BayeuxError::Refused { .. } => {}
        other => listened.drain_problem = Some(format!("the listener's connect failed: {other}")),
    }
}

fn note(wire: &WireLog, agent: Option<&str>, what: &str, failed: Option<&BayeuxError>) {
    let summary = match failed {
        None => what.to_string(),
        Some(why) => format!("{what}: {why}"),
    };
    wire.record("bayeux", summary, agent, None, None, None);
}

#[cfg(test)]
mod tests {
    use super::forgotten;
    use crate::bayeux::{BayeuxClient, BayeuxError};

    #[test]
    fn only_an_unknown_client_cuts_the_probe_short() {
        let client = BayeuxClient::new(
            reqwest::Client::new(),
            "http://127.0.0.1:9/api/v2/notifications".into(),
            Default::default(),
            std::time::Duration::from_secs(1),
        );
        let refused = |error: &str| BayeuxError::Refused {
            channel: "/meta/connect".into(),
            error: error.into(),
        };
        let why = forgotten(&client, &refused("402::session_unknown"));
        assert!(why.is_some_and(|w| w.contains("402::session_unknown")));
        // Any other refusal of a known client is the server's answer, judged as such.
        assert_eq!(forgotten(&client, &refused("403::denied")), None);
    }
}
