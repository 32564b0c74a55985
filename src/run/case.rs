//! The per-case flow of the runner: provision an interaction, read it, send the operation
//! (and any follow-ups), wait for the notification event, pass the barrier, read it again and
//! clean up, recording every exchange in the case's wire log.
//!
//! It observes; it does not judge. What it returns is an [`Observation`].

use super::Runner;
use super::fixtures::Provisioned;
use super::session::{AgentSession, Presented};
use super::wire::WireLog;
use crate::observation::{
    Delivered, Listened, NotInFlightTogether, Observation, ReadError, Reply, RequestError, Setup,
};
use crate::plan::Case;
use crate::result::TransportFault;
use crate::result::WireEntry;
use crate::spec::{AgentRole, InteractionRef, Scenario, SendMethod};
use crate::util::Unpoisoned;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// How often a case whose operations must overlap is tried on a fresh interaction before the
/// runner gives up proving the overlap.
const OVERLAP_ATTEMPTS: usize = 5;

impl Runner {
    /// Executes one case and returns what was observed. A case that sends its operations
    /// concurrently is tried again, on a fresh interaction, when they did not overlap (a
    /// preempted client thread can see the first answer before it sends the second request).
    pub async fn run_case(&self, case: &Case) -> Observation {
        let mut observation = self.run_case_once(case).await;
        for _ in 1..OVERLAP_ATTEMPTS {
            if !matches!(observation.in_flight_together, Some(Err(_))) {
                break;
            }
            observation = self.run_case_once(case).await;
        }
        observation
    }

    async fn run_case_once(&self, case: &Case) -> Observation {
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
        let provisioner = &self.provisioner;
        let interaction = match provisioner
            .provision(0, &case.media, &case.user_data, &wire)
            .await
        {
            Ok(p) => p,
            Err(e) if e.interrupted() => {
                let fault = TransportFault::request("provisioning the interaction", e.to_string());
                return Observation::interrupted(fault, wire.take(), start.elapsed());
            }
            Err(e) => return setup(e.setup(), &wire),
        };
        self.owners
            .locked()
            .insert(interaction.id.clone(), case.id.clone());
        let observation = self
            .operate(case, &interaction, actor_index, &wire, start)
            .await;
        if let Some(problem) = provisioner.release(&interaction.id, &wire).await {
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
            provisioning: Some(interaction.way.describe()),
            initial_data_by: interaction.way.initial_data_by(),
            ..observation
        }
    }

    async fn read_interaction(
        &self,
        case: &Case,
        path: &str,
        wire: &WireLog,
    ) -> Result<Value, ReadError> {
        let (reply, _) = self.sessions[0].read(path, Some(wire)).await?;
        if reply.status != 200 {
            return Err(ReadError::Status {
                path: path.to_string(),
                status: reply.status,
                body: reply.body.describe(),
            });
        }
        let body = reply.body.json().ok_or_else(|| ReadError::NotJson {
            path: path.to_string(),
            body: reply.body.describe(),
        })?;
        case.facts
            .find_resource(body)
            .map(|(_, r)| r.clone())
            .ok_or_else(|| ReadError::NoResource {
                path: path.to_string(),
                key: case.facts.resource_key.clone(),
                body: crate::util::truncate(&body.to_string(), 300),
            })
    }

    /// Reads the interaction, sends the operation as the scenario presents it, waits for what
    /// it announces and reads the interaction again: one case's observation, step by step.
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
        let before = match self
            .read_before(case, interaction, actor_index, wire, start)
            .await
        {
            Ok(before) => before,
            Err(observation) => return *observation,
        };
        let path = self.operation_path(scenario.send.interaction, interaction);
        let actor = &self.sessions[actor_index];
        let (presented, listener) = match self.present(scenario, actor_index, wire).await {
            Ok(prepared) => prepared,
            // A reply lost while opening the listener or preparing a planted or ended session
            // says nothing about the server: the attempt is re-done.
            Err(Setup::Interrupted(why)) => {
                let fault = TransportFault::request("preparing what the request presents", why);
                return Observation::interrupted(fault, Vec::new(), start.elapsed());
            }
            Err(setup) => return Observation::not_started(setup, Vec::new(), start.elapsed()),
        };
        let posted_at = self.await_polling(case, actor_index).await;
        let mut transport = Vec::new();
        let (response, in_flight_together) = if scenario.send.concurrently {
            self.send_concurrently(case, actor, &presented, &path, wire, &mut transport)
                .await
        } else {
            let reply = self
                .send(case, actor, &presented, &path, wire, &mut transport)
                .await;
            (reply, None)
        };
        if let Some(open) = &listener {
            self.listener_acts(open, case, &interaction.id, wire).await;
        }
        let expected = expected_notifications(scenario, &response);
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
        let listened = match listener {
            Some(open) => Some(
                self.drain_listener(open, &case.media, &interaction.id, wire)
                    .await,
            ),
            None => None,
        };
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
        if matches!(&after, Err(ReadError::Status { status: 404, .. })) {
            // The interaction vanished: if a restart took it, `stream_faults` then finds the
            // window interrupted.
            self.restart_revealed(case, actor_index, start).await;
        }
        let sent = format!("{} {path}", http_method(scenario.send.method));
        transport.extend(lost_replies(
            &sent,
            &response,
            &interaction.path,
            &after,
            listened.as_ref(),
        ));
        transport.extend(
            self.stream_faults(case, actor_index, start, posted_at)
                .await,
        );
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
            in_flight_together,
            listened,
            wire: Vec::new(),
            provisioning: None,
            initial_data_by: None,
            duration: start.elapsed(),
            transport,
        }
    }

    /// Whether a stream the case is judged on shows, since `start`, that the server forgot its
    /// clients (a restart or failover), waiting up to a notification deadline for the streams
    /// to reveal it (a re-handshake comes only with their next poll).
    async fn restart_revealed(&self, case: &Case, actor_index: usize, start: Instant) -> bool {
        self.router
            .wait_forgotten(
                &self.watched_agents(case, actor_index),
                start,
                tokio::time::Instant::now() + self.config.deadlines.notification,
            )
            .await
    }

    /// The interaction before the request, or the observation that ends the case instead: a
    /// read cut by a transport fault, or by a server that forgot its clients, observed nothing;
    /// any other failure is a setup failure.
    async fn read_before(
        &self,
        case: &Case,
        interaction: &Provisioned,
        actor_index: usize,
        wire: &WireLog,
        start: Instant,
    ) -> Result<Value, Box<Observation>> {
        let why = match self.read_interaction(case, &interaction.path, wire).await {
            Ok(before) => return Ok(before),
            Err(why) => why,
        };
        let during = format!("GET {} (before the request)", interaction.path);
        if why.is_transport() {
            let fault = TransportFault::request(during, why);
            return Err(Box::new(Observation::interrupted(
                fault,
                Vec::new(),
                start.elapsed(),
            )));
        }
        // An interaction that vanished before the request may have been taken by a restart:
        // then nothing was observed.
        if self.restart_revealed(case, actor_index, start).await {
            let fault = TransportFault {
                during,
                cause: format!("the server forgot its clients (restart or failover): {why}"),
                stream: false,
                server_forgot: true,
                operation: false,
                attempt: 0,
            };
            return Err(Box::new(Observation::interrupted(
                fault,
                Vec::new(),
                start.elapsed(),
            )));
        }
        Err(Box::new(Observation::not_started(
            Setup::Failed(format!(
                "reading the interaction before the request failed: {why}"
            )),
            Vec::new(),
            start.elapsed(),
        )))
    }

    /// The path the operation is sent to: the interaction's own, one no interaction has, or
    /// the same id under another media's collection.
    fn operation_path(&self, target: InteractionRef, interaction: &Provisioned) -> String {
        match target {
            InteractionRef::Own => interaction.path.clone(),
            InteractionRef::Unknown => {
                let n = self.unknown_ids.fetch_add(1, Ordering::Relaxed);
                let parent = interaction
                    .path
                    .rsplit_once('/')
                    .map_or(interaction.path.as_str(), |(p, _)| p);
                format!("{parent}/GWSC0NOSUCH{n:08}")
            }
            InteractionRef::OtherMedia => under_other_media(&interaction.path, &interaction.id),
        }
    }

    /// Waits for the streams the case is judged on to poll again, and returns when the
    /// operation is sent. A stream still reconnecting after an interruption that began before
    /// this case would miss the operation's notification unseen, so a window that opens on a
    /// stream not yet polling is an interrupted one.
    async fn await_polling(&self, case: &Case, actor_index: usize) -> Instant {
        let watched = self.watched_agents(case, actor_index);
        let deadline = tokio::time::Instant::now() + self.config.deadlines.request;
        let mut not_polling = Vec::new();
        for agent in &watched {
            if !self.router.wait_polling(*agent, deadline).await {
                not_polling.push(*agent);
            }
        }
        let posted_at = Instant::now();
        for agent in not_polling {
            self.router.interrupted(
                agent,
                "the notification stream had not polled again when the operation was sent".into(),
                false,
            );
        }
        posted_at
    }

    /// The agents whose notification streams a case is judged on: the owner's and the actor's,
    /// or every agent's when the scenario watches them all.
    fn watched_agents(&self, case: &Case, actor_index: usize) -> Vec<usize> {
        if case.scenario.send.watch_all_agents {
            (0..self.sessions.len()).collect()
        } else {
            vec![0, actor_index]
        }
    }

    /// The interruptions of the streams the case listened on during its window, as transport
    /// faults: a cut long poll since the request (what it carried may be lost), or the server
    /// forgetting its clients since the case began (a restart may have taken the interaction).
    /// A stream still reconnecting is first waited for (within the request deadline), so that
    /// a restart its reconnection reveals is known.
    async fn stream_faults(
        &self,
        case: &Case,
        actor_index: usize,
        start: Instant,
        posted_at: Instant,
    ) -> Vec<TransportFault> {
        let agents = self.watched_agents(case, actor_index);
        if self.router.interruptions_since(&agents, start).is_empty() {
            return Vec::new();
        }
        let deadline = tokio::time::Instant::now() + self.config.deadlines.request;
        for agent in &agents {
            self.router.wait_polling(*agent, deadline).await;
        }
        self.router
            .interruptions_since(&agents, start)
            .into_iter()
            .filter(|i| i.server_forgot || i.at >= posted_at)
            .map(|i| TransportFault {
                during: format!("{}'s notification stream", self.sessions[i.agent].username),
                cause: i.cause,
                stream: true,
                server_forgot: i.server_forgot,
                operation: false,
                attempt: 0,
            })
            .collect()
    }

    /// Sends the scenario's request and its `then` requests all at once, each from its own
    /// task released by one barrier, and proves that they were in flight together: every one
    /// was sent before any was answered. Returns the first request's reply and that proof (or
    /// why it failed).
    async fn send_concurrently(
        &self,
        case: &Case,
        actor: &Arc<AgentSession>,
        presented: &Presented,
        path: &str,
        wire: &WireLog,
        lost: &mut Vec<TransportFault>,
    ) -> (
        Result<Reply, RequestError>,
        Option<Result<(), NotInFlightTogether>>,
    ) {
        let scenario = &case.scenario;
        let bodies: Vec<Vec<u8>> = scenario
            .request
            .iter()
            .chain(&scenario.then)
            .map(|json| json.to_string().into_bytes())
            .collect();
        if bodies.is_empty() {
            return (Err(RequestError::NoRequest), None);
        }
        // Separate tasks run on separate worker threads, so one being descheduled between its
        // send and its answer does not hold the others back, as it would within one task.
        let release = Arc::new(tokio::sync::Barrier::new(bodies.len()));
        let tasks = bodies.into_iter().map(|body| {
            let (actor, presented, path) = (Arc::clone(actor), presented.clone(), path.to_string());
            let release = Arc::clone(&release);
            tokio::spawn(async move {
                let log = WireLog::new(Instant::now());
                release.wait().await;
                let sent_at = Instant::now();
                let reply = actor
                    .send(Method::POST, &path, Some(&body), &presented, Some(&log))
                    .await
                    .map(|(reply, _)| reply);
                (sent_at, Instant::now(), reply, log)
            })
        });
        let mut outcomes = Vec::new();
        for joined in futures::future::join_all(tasks).await {
            match joined {
                Ok((sent_at, answered, reply, log)) => {
                    wire.absorb(log);
                    outcomes.push((sent_at, answered, reply));
                }
                Err(e) => {
                    let message = e.to_string();
                    return (Err(RequestError::TaskFailed { message }), None);
                }
            }
        }
        let last_sent = outcomes.iter().map(|o| o.0).max();
        let first_answered = outcomes.iter().map(|o| o.1).min();
        let proof = match (last_sent, first_answered) {
            (Some(sent), Some(answered)) if sent < answered => Ok(()),
            _ => Err(NotInFlightTogether {
                operations: outcomes.len(),
            }),
        };
        for (_, _, reply) in outcomes.iter().skip(1) {
            if let Err(e) = reply
                && e.is_transport()
            {
                lost.push(TransportFault::operation(
                    format!("POST {path} (concurrent)"),
                    e,
                ));
            }
        }
        let (_, _, first_reply) = outcomes.remove(0);
        (first_reply, Some(proof))
    }

    /// Sends the scenario's request, then its `then` requests back to back (each waits for its
    /// HTTP answer, none for its notification). Returns the first request's reply.
    async fn send(
        &self,
        case: &Case,
        actor: &AgentSession,
        presented: &Presented,
        path: &str,
        wire: &WireLog,
        lost: &mut Vec<TransportFault>,
    ) -> Result<Reply, RequestError> {
        let scenario = &case.scenario;
        let body: Vec<u8> = match (&scenario.send.raw_body, &scenario.request) {
            (Some(raw), _) => raw.clone().into_bytes(),
            (None, Some(json)) => json.to_string().into_bytes(),
            (None, None) => Vec::new(),
        };
        let method = scenario.send.method;
        let body = (method != SendMethod::Get).then_some(body.as_slice());
        let response = actor
            .send(http_method(method), path, body, presented, Some(wire))
            .await
            .map(|(reply, _)| reply);
        for next in &scenario.then {
            let bytes = next.to_string().into_bytes();
            if let Err(e) = actor
                .send(Method::POST, path, Some(&bytes), presented, Some(wire))
                .await
                && e.is_transport()
            {
                lost.push(TransportFault::operation(format!("POST {path} (then)"), e));
            }
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
                problem = Some(why.to_string());
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
}

fn http_method(method: SendMethod) -> Method {
    match method {
        SendMethod::Post => Method::POST,
        SendMethod::Get => Method::GET,
        SendMethod::Put => Method::PUT,
        SendMethod::Delete => Method::DELETE,
    }
}

/// The interaction's id under another media's collection: chats, or emails for a chat. Both
/// are documented collections, so the path is one a client could plausibly send.
fn under_other_media(path: &str, id: &str) -> String {
    const ME: &str = "/api/v2/me/";
    let (prefix, rest) = path
        .find(ME)
        .map_or(("", path), |at| (&path[..at], &path[at + ME.len()..]));
    let other = if rest.starts_with("chats/") {
        "emails"
    } else {
        "chats"
    };
    format!("{prefix}{ME}{other}/{id}")
}

/// How many notifications the operation announces: none when the scenario expects none, or
/// when it allows a refusal and got one (a refusal announces nothing: only the barrier is
/// waited for).
fn expected_notifications(scenario: &Scenario, response: &Result<Reply, RequestError>) -> usize {
    let refused = scenario.expect.refusal == Some(crate::spec::Refusal::Allowed)
        && response
            .as_ref()
            .ok()
            .and_then(|r| r.body.json())
            .and_then(|b| b.get("statusCode"))
            .is_some_and(|c| c != &json!(0));
    if scenario.expects_notification() && !refused {
        scenario.request_count()
    } else {
        0
    }
}

/// The replies a transport fault took: the operation's (`sent`), the read after it, or one
/// of the scenario's own Bayeux client's.
fn lost_replies(
    sent: &str,
    response: &Result<Reply, RequestError>,
    path: &str,
    after: &Result<Value, ReadError>,
    listened: Option<&Listened>,
) -> Vec<TransportFault> {
    let mut lost = Vec::new();
    if let Err(e) = response
        && e.is_transport()
    {
        lost.push(TransportFault::operation(sent.to_string(), e));
    }
    if let Err(e) = after
        && e.is_transport()
    {
        let during = format!("GET {path} (after the request)");
        lost.push(TransportFault::request(during, e));
    }
    if let Some(heard) = listened {
        let cut = heard
            .handshake
            .iter()
            .filter_map(|h| h.as_ref().err())
            .chain(heard.meta.iter().filter_map(|e| e.response.as_ref().err()))
            .find(|e| e.is_transport());
        if let Some(e) = cut {
            lost.push(TransportFault::request(
                "the scenario's own Bayeux client",
                e,
            ));
        }
        if let Some(why) = &heard.cut_short {
            lost.push(TransportFault::request("the protocol probe", why));
        }
    }
    lost
}
