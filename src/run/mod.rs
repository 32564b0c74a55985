//! Run stage: executes cases against a target over real HTTP and Bayeux.
//!
//! A [`Runner`] opens one session per agent (login, CSRF token, Bayeux handshake and an
//! acknowledged `/v2/me/*` subscription) and keeps every notification stream listening for the
//! whole run. Each case then provisions its own interaction, reads it, sends the operation,
//! waits for the notification *event* (bounded by a deadline), passes a barrier to catch
//! duplicates and extras, reads the interaction again and cleans up. The outcome is an
//! [`Observation`]: raw facts, no verdicts. [`execute`] runs many cases concurrently and hands
//! each graded result to a sink as soon as it is done.
//!
//! Barrier: after the operation, the runner takes the next ticket `n` of a separate interaction
//! it owns (one per agent and media), updates that interaction, and waits until `n` of its
//! notifications (minus refused updates with smaller tickets) have arrived. At least one of
//! them then comes from an update sent after this scenario's operation completed, so a server
//! that delivers one agent's notifications in order has delivered everything the operation
//! caused: "no notification" and "exactly one" are decided on an event, never on a sleep, and
//! without trusting the barrier notifications' content. If the barrier cannot complete, the
//! runner falls back to waiting out the notification deadline and says so in the result.

mod barrier;
mod case;
mod chat;
pub mod fixtures;
pub mod inbound;
mod listener;
pub mod native;
pub mod provisioner;

pub mod router;
pub mod session;
pub mod target;
pub mod wire;

use crate::observation::{Delivered, Observation, Reply, Setup};
use crate::plan::Case;
use crate::result::WireEntry;
use crate::spec::{
    AgentRole, AuthMode, CookieMode, CsrfMode, InteractionRef, Scenario, SendMethod,
};
use crate::util::Unpoisoned;
use barrier::BarrierCell;
pub use barrier::BarrierError;
use fixtures::Provisioned;
pub use provisioner::{NoWay, NoWayReason, ProvisionError, Provisioner, ReleaseError};
use reqwest::Method;
use router::{BARRIER_KEY, Router};
use serde_json::{Value, json};
use session::{AgentSession, Auth, CookieChoice, CsrfChoice, Presented};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
pub use target::{
    Contract, Credentials, CustomerChat, Deadlines, Fixtures, Native, RunConfig, Secret, Target,
};
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;
use wire::WireLog;

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

pub struct Runner {
    pub target: Target,
    pub config: RunConfig,
    sessions: Vec<Arc<AgentSession>>,
    router: Arc<Router>,
    barriers: Mutex<HashMap<(usize, String), BarrierCell>>,
    /// Feature ids from `GET /api/v2/features`, when the server answers it.
    features: Option<Vec<String>>,
    cancel: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Interaction id → the scenario that used it, to attribute late notifications.
    owners: Mutex<HashMap<String, String>>,
    unknown_ids: AtomicU64,
    stream_notes: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<StreamNote>>>,
    /// Obtains and ends the run's interactions, and keeps account of them.
    provisioner: Provisioner,
}

/// Something that happened to one agent's notification stream during the run.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamNote {
    pub agent: String,
    pub change: StreamChange,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StreamChange {
    /// The stream ended for good, with the reason.
    Closed(String),
    /// The server forgot the client, which handshook again: notifications may have been lost.
    Rehandshook,
}

/// What the run saw outside any scenario.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RunNotes {
    /// Notifications about a scenario's interaction that arrived after the scenario ended
    /// (after its barrier): `(scenario id, message)`.
    #[serde(default)]
    pub late_notifications: Vec<(String, Value)>,
    /// Notifications about interactions no scenario used.
    pub unclaimed_notifications: Vec<Value>,
    /// Notification streams that ended during the run, with the reason.
    pub closed_streams: Vec<String>,
    /// Streams the server forgot, so that they re-handshook: notifications may have been lost.
    #[serde(default)]
    pub rehandshakes: Vec<String>,
    /// Interactions the run created and could not end: they may remain on the target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_behind: Vec<String>,
}

impl RunNotes {
    /// Adds another run's notes to these (shards merged into one run).
    pub fn absorb(&mut self, other: RunNotes) {
        self.late_notifications.extend(other.late_notifications);
        self.unclaimed_notifications
            .extend(other.unclaimed_notifications);
        self.closed_streams.extend(other.closed_streams);
        self.rehandshakes.extend(other.rehandshakes);
        self.left_behind.extend(other.left_behind);
    }
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
            tasks.push(tokio::spawn(async move {
                while let Some(event) = rx.recv().await {
                    let note = |change| StreamNote {
                        agent: username.clone(),
                        change,
                    };
                    // A closed receiver only means nobody listens to stream news any more.
                    match event {
                        crate::bayeux::BayeuxEvent::Message(m) => router.deliver(agent, m),
                        crate::bayeux::BayeuxEvent::Rehandshook => {
                            router.rehandshook(agent);
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
        Ok(Runner {
            target,
            config,
            sessions,
            router,
            barriers: Mutex::new(HashMap::new()),
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

    /// What obtains the run's interactions and ends them.
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
        let cells: Vec<(usize, String)> = self.barriers.locked().keys().cloned().collect();
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
    let (reply, _) = session
        .request(
            Method::GET,
            "/api/v2/features",
            None,
            Auth::Session,
            true,
            None,
        )
        .await
        .ok()?;
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
