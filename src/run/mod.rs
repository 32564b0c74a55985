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

pub mod fixtures;

pub mod router;
pub mod session;
pub mod target;
pub mod wire;

use crate::check;
use crate::observation::{Delivered, Observation, Reply, Setup};
use crate::plan::Case;
use crate::result::{ScenarioResult, WireEntry};
use crate::snapshot::SnapshotStore;
use crate::spec::{AgentRole, AuthMode, CsrfMode, InteractionRef, SendMethod};
use fixtures::{ProvisionError, Provisioned};
use futures::StreamExt;
use reqwest::Method;
use router::{BARRIER_KEY, Router};
use serde_json::{Value, json};
use session::{AgentSession, Auth};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
pub use target::{Credentials, Deadlines, Fixtures, RunConfig, Secret, Target};
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;
use wire::WireLog;

/// A fault of the harness or the environment, not of the server's conformance.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RunError {
    #[error("target `{target}`: {message}")]
    Connect { target: String, message: String },
}

struct Barrier {
    id: String,
    path: String,
    tickets: AtomicU64,
    /// Tickets whose update was refused, so no notification will ever count for them.
    refused: Mutex<Vec<u64>>,
}

type BarrierCell = Arc<OnceCell<Result<Arc<Barrier>, String>>>;

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
}

impl Runner {
    /// Opens every agent's session and notification stream.
    pub async fn connect(target: Target, config: RunConfig) -> Result<Runner, RunError> {
        let fail = |message: String| RunError::Connect {
            target: target.name.clone(),
            message,
        };
        if target.agents.is_empty() {
            return Err(fail("the target names no agents".into()));
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
        for session in &sessions {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let bayeux = Arc::clone(&session.bayeux);
            let token = cancel.clone();
            tasks.push(tokio::spawn(async move { bayeux.run(tx, token).await }));
            let router = Arc::clone(&router);
            let agent = session.index;
            tasks.push(tokio::spawn(async move {
                while let Some(event) = rx.recv().await {
                    match event {
                        crate::bayeux::BayeuxEvent::Message(m) => router.deliver(agent, m),
                        crate::bayeux::BayeuxEvent::Rehandshook => router.rehandshook(agent),
                        crate::bayeux::BayeuxEvent::Closed(reason) => router.close(agent, reason),
                    }
                }
            }));
        }
        let features = read_features(&sessions[0]).await;
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
        })
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
        let cells: Vec<(usize, String)> = self
            .barriers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        let flush = WireLog::new(Instant::now());
        futures::future::join_all(
            cells
                .iter()
                .map(|(agent, media)| self.barrier(*agent, media, &flush)),
        )
        .await;
        // The barrier interactions are the run's own; leave nothing behind on the target.
        let made: Vec<(usize, Arc<Barrier>)> = {
            let map = self.barriers.lock().unwrap_or_else(|p| p.into_inner());
            map.iter()
                .filter_map(|((agent, _), cell)| {
                    Some((*agent, Arc::clone(cell.get()?.as_ref().ok()?)))
                })
                .collect()
        };
        futures::future::join_all(made.iter().map(|(agent, b)| {
            fixtures::cleanup(&self.target.fixtures, &self.sessions[*agent], &b.id, &flush)
        }))
        .await;
        self.cancel.cancel();
        for t in self.tasks {
            let _ = t.await;
        }
        futures::future::join_all(self.sessions.iter().map(|s| s.bayeux.disconnect())).await;
        let owners = std::mem::take(&mut *self.owners.lock().unwrap_or_else(|p| p.into_inner()));
        for (_, message) in self.router.leftovers() {
            match router::interaction_id(&message).and_then(|id| owners.get(&id)) {
                Some(scenario) => notes.late_notifications.push((scenario.clone(), message)),
                None => notes.unclaimed_notifications.push(message),
            }
        }
        notes
    }

    /// Executes one case and returns what was observed.
    pub async fn run_case(&self, case: &Case) -> Observation {
        let start = Instant::now();
        let wire = WireLog::new(start);
        let setup = |why: Setup, wire: &WireLog| {
            Observation::not_started(why, wire.take(), start.elapsed())
        };
        let scenario = &case.scenario;
        let actor_index = match scenario.send.agent {
            AgentRole::First => 0,
            AgentRole::Second => 1,
        };
        if actor_index >= self.sessions.len() {
            return setup(
                Setup::Failed("this scenario needs a second agent; the target names one".into()),
                &wire,
            );
        }
        if let Some(features) = &self.features
            && !features.iter().any(|f| f == &case.facts.feature)
        {
            return setup(
                Setup::NotOffered(format!(
                    "feature `{}` is not in GET /api/v2/features",
                    case.facts.feature
                )),
                &wire,
            );
        }
        let owner = &self.sessions[0];
        let timeout = self.config.deadlines.request;
        let interaction = match fixtures::provision(
            &self.target.fixtures,
            owner,
            &case.media,
            &case.user_data,
            timeout,
            &wire,
        )
        .await
        {
            Ok(p) => p,
            Err(ProvisionError::NotOffered(why)) => return setup(Setup::NotOffered(why), &wire),
            Err(ProvisionError::Failed(why)) => return setup(Setup::Failed(why), &wire),
        };
        self.owners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(interaction.id.clone(), case.id.clone());
        let observation = self
            .operate(case, &interaction, actor_index, &wire, start)
            .await;
        if let Some(problem) =
            fixtures::cleanup(&self.target.fixtures, owner, &interaction.id, &wire).await
        {
            wire.record(
                "note",
                format!("cleanup: {problem}"),
                None,
                None,
                None,
                None,
            );
        }
        Observation {
            wire: wire.take(),
            duration: start.elapsed(),
            ..observation
        }
    }

    async fn read_interaction(
        &self,
        case: &Case,
        path: &str,
        wire: &WireLog,
    ) -> Result<Value, String> {
        let (reply, _) = self.sessions[0]
            .request(Method::GET, path, None, Auth::Session, true, Some(wire))
            .await?;
        if reply.status != 200 {
            return Err(format!(
                "GET {path} answered HTTP {}: {}",
                reply.status,
                reply.body.describe()
            ));
        }
        let body = reply.body.json().ok_or_else(|| {
            format!(
                "GET {path} answered a body that is not JSON: {}",
                reply.body.describe()
            )
        })?;
        case.facts
            .find_resource(body)
            .map(|(_, r)| r.clone())
            .ok_or_else(|| {
                format!(
                    "GET {path} has no interaction object under {:?}: {}",
                    case.facts.resource_key,
                    crate::util::truncate(&body.to_string(), 300)
                )
            })
    }

    async fn operate(
        &self,
        case: &Case,
        interaction: &Provisioned,
        actor_index: usize,
        wire: &WireLog,
        start: Instant,
    ) -> Observation {
        let scenario = &case.scenario;
        let deadlines = self.config.deadlines;
        let before = match self.read_interaction(case, &interaction.path, wire).await {
            Ok(v) => v,
            Err(why) => {
                return Observation::not_started(
                    Setup::Failed(format!(
                        "reading the interaction before the request failed: {why}"
                    )),
                    Vec::new(),
                    start.elapsed(),
                );
            }
        };
        let path = match scenario.send.interaction {
            InteractionRef::Own => interaction.path.clone(),
            InteractionRef::Unknown => {
                let n = self.unknown_ids.fetch_add(1, Ordering::Relaxed);
                let parent = interaction
                    .path
                    .rsplit_once('/')
                    .map_or(interaction.path.as_str(), |(p, _)| p);
                format!("{parent}/GWSC0NOSUCH{n:08}")
            }
        };
        let actor = &self.sessions[actor_index];
        if scenario.send.csrf == CsrfMode::Omit && !actor.has_csrf_token() {
            return Observation::not_started(
                Setup::OptionalFeatureAbsent(
                    "the server issued no CSRF token, so omitting it tests nothing".into(),
                ),
                Vec::new(),
                start.elapsed(),
            );
        }
        let posted_at = Instant::now();
        let response = self.send(case, actor, &path, wire).await;
        let expected = if scenario.expects_notification() {
            scenario.request_count()
        } else {
            0
        };
        let mut barrier_problem = self
            .settle(
                case,
                &interaction.id,
                actor_index,
                expected,
                posted_at,
                wire,
            )
            .await;
        let stream_closed = self.router.closed_reason(0);
        if let Some(reason) = &stream_closed {
            barrier_problem = Some(format!("the notification stream closed: {reason}"));
        }
        let notifications = self.router.take(0, &interaction.id, posted_at);
        let leaked: Vec<Delivered> = (1..self.sessions.len())
            .flat_map(|a| self.router.take(a, &interaction.id, posted_at))
            .collect();
        for n in notifications.iter().chain(&leaked) {
            self.log_notification(wire, posted_at, n);
        }
        let after = self.read_interaction(case, &interaction.path, wire).await;
        Observation {
            setup: Setup::Ready,
            before: Some(before),
            response,
            notifications,
            leaked,
            notification_deadline: deadlines.notification,
            barrier_problem,
            stream_closed,
            after,
            wire: Vec::new(),
            duration: start.elapsed(),
        }
    }

    /// Sends the scenario's request, then its `then` requests back to back (each waits for its
    /// HTTP answer, none for its notification). Returns the first request's reply.
    async fn send(
        &self,
        case: &Case,
        actor: &AgentSession,
        path: &str,
        wire: &WireLog,
    ) -> Result<Reply, String> {
        let scenario = &case.scenario;
        let auth = match scenario.send.auth {
            AuthMode::Agent => Auth::Session,
            AuthMode::None => Auth::Anonymous,
            AuthMode::WrongPassword => Auth::WrongPassword,
        };
        let csrf = scenario.send.csrf == CsrfMode::Send;
        let body: Vec<u8> = match (&scenario.send.raw_body, &scenario.request) {
            (Some(raw), _) => raw.clone().into_bytes(),
            (None, Some(json)) => json.to_string().into_bytes(),
            (None, None) => Vec::new(),
        };
        let response = match scenario.send.method {
            SendMethod::Get => {
                actor
                    .request(Method::GET, path, None, auth, csrf, Some(wire))
                    .await
            }
            SendMethod::Post => {
                actor
                    .request(Method::POST, path, Some(&body), auth, csrf, Some(wire))
                    .await
            }
        }
        .map(|(reply, _)| reply);
        for next in &scenario.then {
            let bytes = next.to_string().into_bytes();
            let _ = actor
                .request(Method::POST, path, Some(&bytes), auth, csrf, Some(wire))
                .await;
        }
        response
    }

    /// Waits for the `expected` notifications (bounded by the notification deadline), then
    /// passes the barriers that rule out extras. Returns why extras could not be ruled out.
    async fn settle(
        &self,
        case: &Case,
        id: &str,
        actor_index: usize,
        expected: usize,
        posted_at: Instant,
        wire: &WireLog,
    ) -> Option<String> {
        let deadline =
            tokio::time::Instant::from_std(posted_at + self.config.deadlines.notification);
        let arrived = expected > 0 && self.router.wait_for(0, id, expected, deadline).await;
        if expected > 0 && !arrived {
            return None;
        }
        let agents: Vec<usize> = if case.scenario.send.watch_all_agents {
            (0..self.sessions.len()).collect()
        } else if actor_index != 0 {
            vec![0, actor_index]
        } else {
            vec![0]
        };
        let mut problem = None;
        for agent in agents {
            if let Err(why) = self.barrier(agent, &case.media, wire).await {
                if expected == 0 {
                    // Without a barrier, absence can only be shown by waiting out the deadline.
                    self.router.wait_for(0, id, 1, deadline).await;
                }
                problem = Some(why);
            }
        }
        problem
    }

    fn log_notification(&self, wire: &WireLog, posted_at: Instant, n: &Delivered) {
        let channel = n
            .message
            .get("channel")
            .and_then(Value::as_str)
            .unwrap_or("(no channel)");
        wire.push_at(
            posted_at + n.after_post,
            WireEntry {
                t_ms: 0.0,
                kind: "bayeux".into(),
                summary: channel.to_string(),
                agent: Some(self.sessions[n.agent].username.clone()),
                status: None,
                request: None,
                response: Some(crate::util::truncate(&n.message.to_string(), 8 * 1024)),
            },
        );
    }

    /// Proves that `agent`'s stream has delivered everything sent before now for this media.
    async fn barrier(&self, agent: usize, media: &str, wire: &WireLog) -> Result<(), String> {
        let cell = {
            let mut map = self.barriers.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(map.entry((agent, media.to_string())).or_default())
        };
        let session = &self.sessions[agent];
        let barrier = cell
            .get_or_init(|| async {
                let p = fixtures::provision(
                    &self.target.fixtures,
                    session,
                    media,
                    &serde_json::Map::new(),
                    self.config.deadlines.request,
                    wire,
                )
                .await
                .map_err(|e| match e {
                    ProvisionError::NotOffered(w) | ProvisionError::Failed(w) => {
                        format!("could not provision a barrier interaction: {w}")
                    }
                })?;
                self.router.register_barrier(agent, &p.id);
                Ok(Arc::new(Barrier {
                    id: p.id,
                    path: p.path,
                    tickets: AtomicU64::new(0),
                    refused: Mutex::new(Vec::new()),
                }))
            })
            .await
            .clone()?;
        let ticket = barrier.tickets.fetch_add(1, Ordering::SeqCst) + 1;
        let body = json!({"operationName": "UpdateUserData", "userData": {BARRIER_KEY: ticket}})
            .to_string();
        let refuse = |why: String| {
            barrier
                .refused
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(ticket);
            Err(why)
        };
        let reply = match session
            .request(
                Method::POST,
                &barrier.path,
                Some(body.as_bytes()),
                Auth::Session,
                true,
                Some(wire),
            )
            .await
        {
            Ok((reply, _)) => reply,
            Err(e) => return refuse(format!("the barrier operation failed: {e}")),
        };
        if reply.body.json().and_then(|b| b.get("statusCode")) != Some(&json!(0)) {
            return refuse(format!(
                "the barrier operation was refused: HTTP {} {}",
                reply.status,
                reply.body.describe()
            ));
        }
        let needed = || {
            let refused = barrier.refused.lock().unwrap_or_else(|p| p.into_inner());
            ticket - refused.iter().filter(|t| **t < ticket).count() as u64
        };
        let deadline = tokio::time::Instant::now() + self.config.deadlines.notification;
        if self
            .router
            .wait_for_barrier(agent, &barrier.id, needed, deadline)
            .await
        {
            Ok(())
        } else {
            Err(format!(
                "the barrier notification did not arrive within {:.1}s",
                self.config.deadlines.notification.as_secs_f64()
            ))
        }
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

/// Judges observations: snapshots and redaction rules.
pub struct Checker {
    pub snapshots: SnapshotStore,
    pub redact_keys: Vec<String>,
    /// The target's own accepted notifications, when its CI pins them (`--target-snapshots`).
    pub own_snapshots: Option<HashMap<String, Value>>,
    /// Which GWS release's documented shapes the notifications are held to.
    pub gws_version: crate::spec::GwsVersion,
}

/// Runs `cases` with up to `jobs` in flight and calls `sink` with each graded result as it
/// finishes. Cases still waiting when the run deadline passes end as could-not-test.
pub async fn execute(
    runner: &Runner,
    cases: &[Case],
    checker: &Checker,
    sink: impl FnMut(ScenarioResult),
) {
    execute_until(runner, cases, checker, &CancellationToken::new(), sink).await;
}

/// Like [`execute`], but starts no new case once `stop` is cancelled; cases in flight finish.
/// Returns how many cases were started.
pub async fn execute_until(
    runner: &Runner,
    cases: &[Case],
    checker: &Checker,
    stop: &CancellationToken,
    mut sink: impl FnMut(ScenarioResult),
) -> usize {
    let started_cases = AtomicU64::new(0);
    let deadlines = runner.config.deadlines;
    let run_deadline = Instant::now() + deadlines.run;
    let jobs = runner.config.jobs.max(1);
    let mut stream = futures::stream::iter(cases.iter())
        .take_while(|_| std::future::ready(!stop.is_cancelled()))
        .map(|case| async {
            started_cases.fetch_add(1, Ordering::Relaxed);
            let remaining = run_deadline.saturating_duration_since(Instant::now());
            let limit = deadlines.scenario.min(remaining);
            let started = Instant::now();
            let observation = match tokio::time::timeout(limit, runner.run_case(case)).await {
                Ok(o) => o,
                Err(_) => {
                    let why = if remaining <= deadlines.scenario {
                        format!(
                            "the run deadline ({:.0}s) passed before the scenario finished",
                            deadlines.run.as_secs_f64()
                        )
                    } else {
                        format!(
                            "the scenario did not finish within its deadline of {:.1}s",
                            deadlines.scenario.as_secs_f64()
                        )
                    };
                    Observation::not_started(Setup::Failed(why), Vec::new(), started.elapsed())
                }
            };
            let mut result = check::evaluate(
                case,
                &observation,
                checker.snapshots.get(&case.snapshot_name()),
                &checker.redact_keys,
                checker.gws_version,
            );
            if let Some(own) = &checker.own_snapshots {
                check::own_snapshot(&mut result, own.get(&case.snapshot_name()));
            }
            result
        })
        .buffer_unordered(jobs);
    while let Some(result) = stream.next().await {
        sink(result);
    }
    drop(stream);
    started_cases.load(Ordering::Relaxed) as usize
}
