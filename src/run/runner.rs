//! The `Runner`'s life: connect every agent (session, stream, the router's filing), the
//! accessors the stages use, and `close` (final barriers, the ledger ended, streams closed).
//! The per-case flow is `case.rs`'s, provisioning the `Provisioner`'s (`provisioner.rs`).
//!
//! Barrier: after the operation, the runner takes the next ticket `n` of a separate interaction
//! it owns (one per agent and media), updates that interaction, and waits until `n` of its
//! notifications (minus refused updates with smaller tickets) have arrived. At least one of
//! them then comes from an update sent after this scenario's operation completed, so a server
//! that delivers one agent's notifications in order has delivered everything the operation
//! caused: "no notification" and "exactly one" are decided on an event, never on a sleep, and
//! without trusting the barrier notifications' content. If the barrier cannot complete, the
//! runner falls back to waiting out the notification deadline and says so in the result.

use super::barrier::{BarrierError, BarrierMark, Barriers};
use super::router::Router;
use super::session::AgentSession;
use super::target::{RunConfig, Target};
use super::wire::WireLog;
use super::{Provisioner, RunNotes, Runner, StreamChange, StreamNote, router, session};
use crate::util::Unpoisoned;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// A fault of the harness or the environment, not of the server's conformance.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RunError {
    #[error("target `{target}`: the target names no agents")]
    NoAgents { target: String },
    #[error("target `{target}`: {source}")]
    Connect {
        target: String,
        source: session::SessionError,
    },
}

impl Runner {
    /// Opens every agent's session and notification stream.
    pub async fn connect(target: Target, config: RunConfig) -> Result<Runner, RunError> {
        let fail = |source| RunError::Connect {
            target: target.name.clone(),
            source,
        };
        if target.agents.is_empty() {
            return Err(RunError::NoAgents {
                target: target.name.clone(),
            });
        }
        let opened = futures::future::join_all(
            target
                .agents
                .iter()
                .enumerate()
                .map(|(i, c)| AgentSession::open(i, c, &target, &config)),
        )
        .await;
        let mut sessions = Vec::new();
        for s in opened {
            sessions.push(Arc::new(s.map_err(fail)?));
        }
        let router = Arc::new(Router::default());
        let cancel = CancellationToken::new();
        let mut tasks = Vec::new();
        let (notes_tx, notes_rx) = tokio::sync::mpsc::unbounded_channel();
        for session in &sessions {
            let notes_tx = notes_tx.clone();
            let username = session.username.clone();
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let bayeux = Arc::clone(&session.bayeux);
            let token = cancel.clone();
            tasks.push(tokio::spawn(async move { bayeux.run(tx, token).await }));
            let router = Arc::clone(&router);
            let agent = session.index;
            let forgotten = Arc::clone(session);
            tasks.push(tokio::spawn(async move {
                while let Some(event) = rx.recv().await {
                    let note = |change| StreamNote {
                        agent: username.clone(),
                        change,
                    };
                    // A closed receiver only means nobody listens to stream news any more.
                    match event {
                        crate::bayeux::BayeuxEvent::Messages(m) => router.deliver(agent, m),
                        crate::bayeux::BayeuxEvent::Interrupted(cause) => {
                            router.interrupted(agent, cause, false);
                        }
                        crate::bayeux::BayeuxEvent::Polled => router.polling(agent),
                        crate::bayeux::BayeuxEvent::Rehandshook => {
                            // A server that forgot the Bayeux client forgot the HTTP session
                            // and its CSRF token too: one GET with the session's cookies opens
                            // the new session and learns the token its next POST must carry.
                            let forgotten = Arc::clone(&forgotten);
                            tokio::spawn(async move {
                                let _ = forgotten.read("/api/v2/me", None).await;
                            });
                            router.rehandshook(agent);
                            router.interrupted(
                                agent,
                                "the server forgot the Bayeux client (402 or advice to handshake), which handshook and subscribed again".into(),
                                true,
                            );
                            let _ = notes_tx.send(note(StreamChange::Rehandshook));
                        }
                        crate::bayeux::BayeuxEvent::Closed(reason) => {
                            router.close(agent, reason.clone());
                            let _ = notes_tx.send(note(StreamChange::Closed(reason)));
                        }
                    }
                }
            }));
        }
        let features = read_features(&sessions[0]).await;
        let provisioner = Provisioner::new(
            &target,
            sessions.clone(),
            Arc::clone(&router),
            config.deadlines,
        )
        .map_err(|e| fail(session::SessionError::Client(e)))?;
        let barriers = Barriers::new(Arc::clone(&router), config.deadlines.notification);
        Ok(Runner {
            target,
            config,
            sessions,
            router,
            barriers,
            features,
            cancel,
            tasks,
            owners: Mutex::new(HashMap::new()),
            unknown_ids: AtomicU64::new(1),
            stream_notes: Mutex::new(Some(notes_rx)),
            provisioner,
        })
    }

    /// What happens to the notification streams while cases run, as it happens; the first
    /// caller takes the receiver.
    pub fn take_stream_notes(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<StreamNote>> {
        self.stream_notes.locked().take()
    }

    /// Feature ids from `GET /api/v2/features`, when the server answered a list.
    pub fn features(&self) -> Option<&[String]> {
        self.features.as_deref()
    }

    /// How many agents (sessions with an open stream) the runner has.
    pub fn agent_count(&self) -> usize {
        self.sessions.len()
    }

    /// Agent `index`'s session, for callers that drive their own operations (`load`).
    pub fn session(&self, index: usize) -> Option<&Arc<AgentSession>> {
        self.sessions.get(index)
    }

    /// The router every stream delivers into.
    pub fn provisioner(&self) -> &Provisioner {
        &self.provisioner
    }

    /// The router every stream delivers into.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Proves, with the suite's count-based barrier, that `agent`'s stream has delivered
    /// everything sent before now about interactions of `media`.
    pub async fn settle_stream(&self, agent: usize, media: &str) -> Result<(), BarrierError> {
        self.barrier(agent, media, &WireLog::new(Instant::now()))
            .await
            .map(|_| ())
    }

    /// Proves that `agent`'s stream has delivered everything sent before now for this media.
    pub(super) async fn barrier(
        &self,
        agent: usize,
        media: &str,
        wire: &WireLog,
    ) -> Result<BarrierMark, BarrierError> {
        self.barriers
            .pass(&self.sessions[agent], &self.provisioner, media, wire)
            .await
    }

    /// Stops the streams, disconnects, and returns what was never claimed.
    pub async fn close(self) -> RunNotes {
        let mut notes = RunNotes::default();
        for s in &self.sessions {
            if let Some(reason) = self.router.closed_reason(s.index) {
                notes
                    .closed_streams
                    .push(format!("agent {}: {reason}", s.username));
            }
        }
        for agent in self.router.rehandshakes() {
            notes.rehandshakes.push(format!(
                "agent {}: the server forgot the Bayeux client, which handshook again; notifications sent in between may be lost",
                self.sessions[agent].username
            ));
        }
        // A last barrier on every stream that had one flushes what servers sent before the end,
        // so late extras are attributed rather than lost.
        let cells = self.barriers.used();
        let flush = WireLog::new(Instant::now());
        futures::future::join_all(
            cells
                .iter()
                .map(|(agent, media)| self.barrier(*agent, media, &flush)),
        )
        .await;
        // The barrier interactions are the run's own, and so is whatever a scenario cut off by
        // its deadline or a stopped run did not end: leave nothing behind on the target.
        notes.left_behind = self.provisioner.release_all(&flush).await;
        self.cancel.cancel();
        for t in self.tasks {
            let _ = t.await;
        }
        futures::future::join_all(self.sessions.iter().map(|s| s.bayeux.disconnect())).await;
        let owners = std::mem::take(&mut *self.owners.locked());
        for (_, message) in self.router.leftovers() {
            match router::interaction_id(&message).and_then(|id| owners.get(&id)) {
                Some(scenario) => notes.late_notifications.push((scenario.clone(), message)),
                None => notes.unclaimed_notifications.push(message),
            }
        }
        notes
    }
}

async fn read_features(session: &AgentSession) -> Option<Vec<String>> {
    let (reply, _) = session.read("/api/v2/features", None).await.ok()?;
    if reply.status != 200 {
        return None;
    }
    let body = reply.body.json()?;
    let list = body
        .get("features")
        .or_else(|| body.get("uris"))?
        .as_array()?;
    Some(
        list.iter()
            .filter_map(|f| match f {
                Value::String(s) => Some(s.rsplit('/').next().unwrap_or(s).to_string()),
                Value::Object(o) => o
                    .get("id")
                    .or_else(|| o.get("name"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                _ => None,
            })
            .collect(),
    )
}
