//! Conformance under load: many agents, each with one Bayeux stream for the whole run, replay
//! the suite's positive scenarios on long-lived interactions of their own, and every operation
//! is judged and accounted for in a ledger (see [`ledger`]).
//!
//! The engine gives each agent a few interactions ("slots"), provisioned through the fixture
//! contract and spread over the media the replayable scenarios cover. A slot is used by one
//! operation (or one group of `shared` concurrent operations) at a time; the harness keeps the
//! state its operations must have produced ([`model`]) and judges each notification against
//! it with `check::load_operation`. With `--rate`, groups start on a fixed schedule and every
//! latency counts from the *intended* start, so a stalled server cannot hide its latency by
//! slowing the generator (coordinated omission, corrected as wrk2 does); with `--concurrency`,
//! a closed loop keeps that many groups in flight.
//!
//! Notifications are matched by content as well as by count: a message that shows the state
//! of the slot's previous group is that group's duplicate or late arrival, not this group's
//! notification. At the end a final barrier per stream and media settles what is in flight;
//! what is left is attributed (late, duplicated, or crossed when it reached another agent's
//! stream), and one GET per interaction checks read-your-writes.
//!
//! It deliberately does not run the suite's other scenarios (negative, isolation, CSRF): they
//! test meaning, which `run` does; `load` tests delivery and state under concurrency. Nothing
//! here sleeps to wait for an event: waits are on the router's wake-ups, with deadlines.

pub mod latency;
pub mod ledger;
pub mod model;
pub mod report;

use crate::check::{Scope, load_operation, same_user_data, user_data_of};
use crate::observation::{Delivered, Reply};
use crate::run::session::Auth;
use crate::run::wire::WireLog;
use crate::run::{RunConfig, RunError, Runner, Target};
use futures::StreamExt;
use latency::Latency;
use ledger::{Affected, Facts, Kind, Totals};
use model::{Effect, LoadOp};
use report::{LoadReport, ReadYourWrites, Second, Settings};
use reqwest::Method;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How operations are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// Groups start on a fixed schedule, this many operations per second.
    Rate(f64),
    /// A closed loop with this many groups in flight.
    Concurrency(usize),
}

/// What a load run does, independent of the target.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub duration: Duration,
    pub pacing: Pacing,
    /// Concurrent operations on one interaction, on disjoint keys (1: none).
    pub shared: usize,
    /// Stop an agent after this many operations (the run ends when every agent has stopped
    /// or the duration has passed): a fixed amount of work, e.g. to compare shards.
    pub ops_per_agent: Option<u64>,
    /// Interactions per agent; default: enough for the pacing.
    pub interactions_per_agent: Option<usize>,
    /// Deadlines (request, notification) and body limit.
    pub run: RunConfig,
    /// `K/N` when this run is one shard, for the report.
    pub shard: Option<String>,
}

/// Live counters for a progress line.
#[derive(Debug, Default)]
pub struct Progress {
    pub sent: AtomicU64,
    pub notified: AtomicU64,
    pub problems: AtomicU64,
}

/// A fault of the harness or the environment: nothing was judged.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Connect(#[from] RunError),
    #[error("target `{target}`: {message}")]
    Setup { target: String, message: String },
}

/// One interaction an agent owns for the whole run.
struct Slot {
    index: usize,
    agent: usize,
    media: String,
    id: String,
    path: String,
    /// Indices (into the operations) replayed on this slot, in turn.
    ops: Vec<usize>,
    next: usize,
    /// The user data the operations so far must have produced.
    state: Map<String, Value>,
    /// The slot's last group: its operations and the state its notification must show.
    last: Option<Group>,
    /// Groups judged without all their notifications, newest last: a message showing one's
    /// state is its late notification, however many groups later it comes.
    pending: Vec<Group>,
    /// Every state announced-to-be, with its operation, to attribute crossed notifications.
    history: Vec<(u64, usize)>,
    /// Groups run on the current interaction.
    groups_here: usize,
    /// Interactions this slot used before the current one, each with when it was cleaned up
    /// (since the run's start) and its last notification (hash, operation): what arrives for
    /// it before the cleanup is still judged, and a copy of its last notification after it is
    /// a duplicate (anything else then may announce the interaction's end).
    retired: Vec<Retired>,
}

/// Groups a slot runs on one interaction before it moves to a fresh one, provisioned with the
/// next scenario's initial user data: replayed attaches and updates would otherwise grow the
/// user data without bound, and every notification with it, which measures payload size
/// instead of delivery (and is unlike the suite, whose cases start from their own data).
pub const GROUPS_PER_INTERACTION: usize = 16;

/// Groups per slot whose late notifications are still looked for.
const MAX_PENDING_GROUPS: usize = 64;

struct Retired {
    id: String,
    cleaned_at: Duration,
    last_message: Option<(u64, usize)>,
}

#[derive(Clone)]
struct Group {
    ops: Vec<usize>,
    final_state: u64,
    /// Notifications the group still lacked when it was judged (its late ones may follow).
    missing: usize,
    /// The hash of the last notification taken as the group's.
    last_message: Option<u64>,
}

/// What is recorded about one operation.
struct OpRecord {
    op: usize,
    slot: usize,
    /// Which of the slot's interactions: an index into its retired ones, or the current one.
    interaction: usize,
    second: u64,
    facts: Facts,
    detail: Option<String>,
}

#[derive(Default)]
struct Metrics {
    http: Latency,
    notification: Latency,
    seconds: Vec<(Latency, Latency)>,
}

struct Engine {
    runner: Runner,
    ops: Vec<LoadOp>,
    config: LoadConfig,
    start: Instant,
    records: Mutex<Vec<OpRecord>>,
    metrics: Mutex<Metrics>,
    /// Operations each agent may still start, with `ops_per_agent`.
    budget: Option<Vec<AtomicU64>>,
    live_slots: AtomicUsize,
    all_retired: CancellationToken,
    progress: Arc<Progress>,
    /// Media of the selection the target cannot provision, with the reason.
    left_out: Vec<String>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A hash of a user data map that ignores key order (and number spelling), computed without
/// copying: the notifications of a long run carry large user data, and every one is hashed.
fn state_hash(data: &Map<String, Value>) -> u64 {
    fn one<T: Hash>(t: T) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        t.hash(&mut h);
        h.finish()
    }
    fn value(v: &Value) -> u64 {
        match v {
            Value::Object(m) => object(m),
            Value::Array(items) => items.iter().fold(one(7u8), |acc, i| one((acc, value(i)))),
            Value::Number(n) => match n.as_f64() {
                Some(f) => one((3u8, f.to_bits())),
                None => one((3u8, n.to_string())),
            },
            Value::String(s) => one((4u8, s)),
            Value::Bool(b) => one((5u8, b)),
            Value::Null => one(6u8),
        }
    }
    fn object(m: &Map<String, Value>) -> u64 {
        // A commutative combination of the entries' hashes: key order does not count.
        m.iter().fold(one((8u8, m.len())), |acc, (k, v)| {
            acc.wrapping_add(one((k, value(v))))
        })
    }
    object(data)
}

/// [`state_hash`] of a whole message: two copies of one notification hash the same.
fn message_hash(message: &Value) -> u64 {
    let mut wrapper = Map::new();
    wrapper.insert(String::new(), message.clone());
    state_hash(&wrapper)
}

/// [`state_hash`] of the `userData` inside an interaction object (absent counts as `{}`).
fn user_data_hash(interaction: &Value) -> u64 {
    match interaction.get("userData").and_then(Value::as_object) {
        Some(m) => state_hash(m),
        None => state_hash(&Map::new()),
    }
}

fn is_success(reply: &Result<Reply, String>) -> bool {
    reply
        .as_ref()
        .ok()
        .and_then(|r| r.body.json())
        .and_then(|b| b.get("statusCode"))
        == Some(&Value::from(0))
}

/// Runs the load against `target` (every agent in it generates load) and returns the report.
/// `Err` only for harness faults: no connection, no interaction could be provisioned.
pub async fn run(
    target: Target,
    ops: Vec<LoadOp>,
    config: LoadConfig,
    progress: Arc<Progress>,
) -> Result<LoadReport, LoadError> {
    let started = now_rfc3339();
    let name = target.name.clone();
    let setup = |message: String| LoadError::Setup {
        target: name.clone(),
        message,
    };
    if ops.is_empty() {
        return Err(setup(
            "no replayable scenario: the selection has no positive scenario sent by the owner"
                .into(),
        ));
    }
    let shared = config.shared.max(1);
    let target_name = target.name.clone();
    let target_url = target.base_url.clone();
    let runner = Runner::connect(target, config.run.clone()).await?;
    // Media the target cannot provision are left out, and said so; the rest is loaded.
    let mut left_out: Vec<String> = Vec::new();
    let ops: Vec<LoadOp> = ops
        .into_iter()
        .filter(|op| match runner.can_provision(&op.case.media) {
            Ok(()) => true,
            Err(why) => {
                let note = format!("{}: {why}", op.case.media);
                if !left_out.contains(&note) {
                    left_out.push(note);
                }
                false
            }
        })
        .collect();
    if ops.is_empty() {
        let _ = runner.close().await;
        return Err(setup(format!(
            "the target can provision none of the selected media: {}",
            left_out.join("; ")
        )));
    }
    let agents = runner.agent_count();
    let per_agent = config
        .interactions_per_agent
        .unwrap_or(match config.pacing {
            Pacing::Concurrency(c) => c.div_ceil(agents).max(1),
            Pacing::Rate(_) => 2,
        });
    let slots = provision_slots(&runner, &ops, agents, per_agent)
        .await
        .map_err(&setup)?;
    let engine = Arc::new(Engine {
        budget: config
            .ops_per_agent
            .map(|n| (0..agents).map(|_| AtomicU64::new(n)).collect()),
        live_slots: AtomicUsize::new(slots.len()),
        all_retired: CancellationToken::new(),
        runner,
        ops,
        start: Instant::now(),
        records: Mutex::new(Vec::new()),
        metrics: Mutex::new(Metrics::default()),
        progress,
        config,
        left_out,
    });
    let (pool_tx, pool_rx) = tokio::sync::mpsc::unbounded_channel::<Slot>();
    let slot_count = slots.len();
    for s in slots {
        let _ = pool_tx.send(s);
    }
    let pool_rx = Arc::new(tokio::sync::Mutex::new(pool_rx));
    let end = tokio::time::Instant::from_std(engine.start + engine.config.duration);
    let retired: Arc<Mutex<Vec<Slot>>> = Arc::new(Mutex::new(Vec::new()));
    match engine.config.pacing {
        Pacing::Concurrency(c) => {
            let workers: Vec<_> = (0..c.max(1))
                .map(|_| {
                    let (engine, pool_rx, pool_tx, retired) = (
                        Arc::clone(&engine),
                        Arc::clone(&pool_rx),
                        pool_tx.clone(),
                        Arc::clone(&retired),
                    );
                    tokio::spawn(async move {
                        while let Some(slot) = next_slot(&engine, &pool_rx, end).await {
                            let Some(mut slot) = engine.admit(slot, shared, &retired) else {
                                continue;
                            };
                            engine.run_group(&mut slot, Instant::now(), shared).await;
                            let _ = pool_tx.send(slot);
                        }
                    })
                })
                .collect();
            for w in workers {
                let _ = w.await;
            }
        }
        Pacing::Rate(rate) => {
            let period = Duration::from_secs_f64(shared as f64 / rate.max(0.001));
            let mut tasks = Vec::new();
            let mut tick: u32 = 0;
            loop {
                // The schedule is fixed in advance; waiting for a free slot delays the start
                // but not the intended time the latencies count from.
                let intended = engine.start + period * tick;
                tick = tick.saturating_add(1);
                if tokio::time::Instant::from_std(intended) >= end {
                    break;
                }
                tokio::time::sleep_until(tokio::time::Instant::from_std(intended)).await;
                let Some(slot) = next_slot(&engine, &pool_rx, end).await else {
                    break;
                };
                let Some(mut slot) = engine.admit(slot, shared, &retired) else {
                    continue;
                };
                let (engine, pool_tx) = (Arc::clone(&engine), pool_tx.clone());
                tasks.push(tokio::spawn(async move {
                    engine.run_group(&mut slot, intended, shared).await;
                    let _ = pool_tx.send(slot);
                }));
                tasks.retain(|t| !t.is_finished());
            }
            for t in tasks {
                let _ = t.await;
            }
        }
    }
    let wall_secs = engine.start.elapsed().as_secs_f64();
    drop(pool_tx);
    let mut slots: Vec<Slot> = std::mem::take(&mut *lock(&retired));
    {
        let mut rx = pool_rx.lock().await;
        while slots.len() < slot_count {
            match rx.try_recv() {
                Ok(s) => slots.push(s),
                Err(_) => break,
            }
        }
    }
    slots.sort_by_key(|s| s.index);
    let engine = match Arc::try_unwrap(engine) {
        Ok(e) => e,
        Err(_) => {
            return Err(LoadError::Setup {
                target: target_name,
                message: "an operation task outlived the run".into(),
            });
        }
    };
    Ok(engine
        .settle(slots, started, target_name, target_url, wall_secs)
        .await)
}

/// Waits for a free slot until the end of the load phase or until every slot retired.
async fn next_slot(
    engine: &Engine,
    pool: &tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<Slot>>,
    end: tokio::time::Instant,
) -> Option<Slot> {
    if tokio::time::Instant::now() >= end {
        return None;
    }
    let mut rx = tokio::select! {
        rx = pool.lock() => rx,
        _ = engine.all_retired.cancelled() => return None,
        _ = tokio::time::sleep_until(end) => return None,
    };
    tokio::select! {
        slot = rx.recv() => slot,
        _ = engine.all_retired.cancelled() => None,
        _ = tokio::time::sleep_until(end) => None,
    }
}

/// Provisions `per_agent` interactions for every agent, the media in turn over agents and
/// slots, each starting with the user data of its first scenario.
async fn provision_slots(
    runner: &Runner,
    ops: &[LoadOp],
    agents: usize,
    per_agent: usize,
) -> Result<Vec<Slot>, String> {
    let mut by_media: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        match by_media.iter_mut().find(|(m, _)| *m == op.case.media) {
            Some((_, list)) => list.push(i),
            None => by_media.push((op.case.media.clone(), vec![i])),
        }
    }
    let plan: Vec<(usize, usize, usize)> = (0..agents)
        .flat_map(|a| (0..per_agent).map(move |k| (a, k)))
        .enumerate()
        .map(|(index, (agent, _))| (index, agent, index % by_media.len()))
        .collect();
    let wire = WireLog::new(Instant::now());
    let made: Vec<Result<Slot, String>> = futures::stream::iter(plan)
        .map(|(index, agent, media_index)| {
            let (media, list) = &by_media[media_index];
            let wire = &wire;
            async move {
                let session = runner
                    .session(agent)
                    .ok_or_else(|| format!("no session for agent #{}", agent + 1))?;
                let first = &ops[list[0]];
                let p = runner
                    .provision(agent, media, &first.case.user_data, wire)
                    .await
                    .map_err(|e| {
                        format!(
                            "cannot provision a {media} interaction for agent `{}`: {}",
                            session.username,
                            e.reason()
                        )
                    })?;
                Ok(Slot {
                    index,
                    agent,
                    media: media.clone(),
                    id: p.id,
                    path: p.path,
                    ops: list.clone(),
                    // Agents start at different scenarios so that the load mixes them.
                    next: index,
                    state: first.case.user_data.clone(),
                    last: None,
                    pending: Vec::new(),
                    history: Vec::new(),
                    groups_here: 0,
                    retired: Vec::new(),
                })
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    made.into_iter().collect()
}

impl Engine {
    /// Takes the slot for a group unless its agent has done its operations, in which case the
    /// slot retires (and the run ends when the last one does).
    fn admit(&self, slot: Slot, shared: usize, retired: &Mutex<Vec<Slot>>) -> Option<Slot> {
        let Some(budget) = &self.budget else {
            return Some(slot);
        };
        let left = &budget[slot.agent];
        let taken = left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                n.checked_sub(shared as u64)
            })
            .is_ok();
        if taken {
            return Some(slot);
        }
        lock(retired).push(slot);
        if self.live_slots.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.all_retired.cancel();
        }
        None
    }

    fn second_of(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.start).as_secs()
    }

    fn new_records(&self, slot: &Slot, ops: &[usize], intended: Instant) -> Vec<usize> {
        let second = self.second_of(intended);
        let mut records = lock(&self.records);
        ops.iter()
            .map(|op| {
                records.push(OpRecord {
                    op: *op,
                    slot: slot.index,
                    interaction: slot.retired.len(),
                    second,
                    facts: Facts::default(),
                    detail: None,
                });
                records.len() - 1
            })
            .collect()
    }

    fn mark(&self, record: usize, set: impl FnOnce(&mut Facts), detail: Option<String>) {
        let mut records = lock(&self.records);
        if let Some(r) = records.get_mut(record) {
            set(&mut r.facts);
            if r.detail.is_none() {
                r.detail = detail;
            }
        }
    }

    fn record_latency(&self, intended: Instant, http: Option<Duration>, note: Option<Duration>) {
        let second = self.second_of(intended) as usize;
        let mut m = lock(&self.metrics);
        while m.seconds.len() <= second {
            m.seconds.push((Latency::new(2), Latency::new(2)));
        }
        if let Some(d) = http {
            m.http.record(d);
            m.seconds[second].0.record(d);
        }
        if let Some(d) = note {
            m.notification.record(d);
            m.seconds[second].1.record(d);
        }
    }

    /// A message showing the state of a group still short of notifications is that group's
    /// late notification: marks it and returns true.
    fn claim_late(&self, slot: &mut Slot, shows: Option<u64>) -> bool {
        let Some(i) = slot
            .pending
            .iter()
            .rposition(|g| Some(g.final_state) == shows)
        else {
            return false;
        };
        let group = &mut slot.pending[i];
        let record = group.ops.iter().copied().find(|r| {
            lock(&self.records)
                .get(*r)
                .is_some_and(|r| r.facts.lost && !r.facts.late)
        });
        if let Some(record) = record {
            self.mark(record, |f| f.late = true, None);
        }
        group.missing = group.missing.saturating_sub(1);
        if group.missing == 0 {
            slot.pending.remove(i);
        }
        true
    }

    /// Messages that arrived after the slot's last group was judged: late notifications of
    /// groups short of them, else duplicates of the last group; anything else is unexpected.
    fn attribute_stragglers(&self, slot: &mut Slot, messages: Vec<Delivered>) {
        for m in messages {
            let shows = self.message_state(slot, &m);
            if self.claim_late(slot, shows) {
                continue;
            }
            let Some(last) = &slot.last else {
                continue;
            };
            if shows == Some(last.final_state) {
                if let Some(&first) = last.ops.first() {
                    self.mark(
                        first,
                        |f| f.duplicated = true,
                        Some(format!(
                            "a second notification with the same state arrived: {}",
                            crate::util::truncate(&m.message.to_string(), 300)
                        )),
                    );
                }
            } else if let Some(&record) = last.ops.last() {
                self.mark(
                    record,
                    |f| f.wrong = true,
                    Some(format!(
                        "an unexpected notification about the interaction followed: {}",
                        crate::util::truncate(&m.message.to_string(), 300)
                    )),
                );
            }
        }
    }

    /// The hash of the user data a notification shows, if it carries the interaction.
    fn message_state(&self, slot: &Slot, m: &Delivered) -> Option<u64> {
        let op = &self.ops[slot.ops[0]];
        op.case
            .facts
            .find_resource(&m.message["data"])
            .map(|(_, r)| user_data_hash(r))
    }

    /// Sends one group of operations on the slot and judges it.
    async fn run_group(&self, slot: &mut Slot, intended: Instant, shared: usize) {
        let agent = slot.agent;
        let Some(session) = self.runner.session(agent).cloned() else {
            return;
        };
        let router = self.runner.router();
        // Whatever arrived since the last group was judged belongs to that group.
        let stragglers = router.take(agent, &slot.id, intended);
        self.attribute_stragglers(slot, stragglers);
        if slot.groups_here >= GROUPS_PER_INTERACTION && slot.pending.is_empty() {
            self.move_to_fresh_interaction(slot).await;
        }
        slot.groups_here += 1;
        let picks: Vec<usize> = (0..shared)
            .map(|_| {
                let op = slot.ops[slot.next % slot.ops.len()];
                slot.next += 1;
                op
            })
            .collect();
        let requests: Vec<(Value, Effect)> = picks
            .iter()
            .enumerate()
            .map(|(j, &op)| {
                let op = &self.ops[op];
                if shared == 1 {
                    (op.request.clone(), op.effect.clone())
                } else {
                    let request = model::with_key_suffix(&op.request, &format!("~{j}"));
                    let effect = Effect::of(&request, op.case.facts.delete)
                        .unwrap_or_else(|| op.effect.clone());
                    (request, effect)
                }
            })
            .collect();
        let records = self.new_records(slot, &picks, intended);
        self.progress
            .sent
            .fetch_add(shared as u64, Ordering::Relaxed);
        let replies: Vec<(Result<Reply, String>, Instant)> =
            futures::future::join_all(requests.iter().map(|(body, _)| {
                let session = &session;
                let path = &slot.path;
                async move {
                    let bytes = body.to_string().into_bytes();
                    let reply = session
                        .request(Method::POST, path, Some(&bytes), Auth::Session, true, None)
                        .await
                        .map(|(r, _)| r);
                    (reply, Instant::now())
                }
            }))
            .await;
        let mut after = slot.state.clone();
        let mut applied = 0;
        for ((reply, at), (_, effect)) in replies.iter().zip(&requests) {
            self.record_latency(intended, Some(at.saturating_duration_since(intended)), None);
            if is_success(reply) {
                effect.apply(&mut after);
                applied += 1;
            }
        }
        let after_hash = state_hash(&after);
        // Collect this group's notifications: stragglers of the previous group (showing its
        // state, not ours) are set aside, so they are never taken for ours.
        let deadline = tokio::time::Instant::now() + self.config.run.deadlines.notification;
        let mut ours: Vec<Delivered> = Vec::new();
        // A message showing the state of a group still short of notifications is that group's
        // late one, not ours; any other is ours (an operation may change nothing, so a message
        // showing an unchanged state is ours too).
        while ours.len() < applied {
            if !router.wait_for(agent, &slot.id, 1, deadline).await {
                break;
            }
            let got = router.take(agent, &slot.id, intended);
            if got.is_empty() {
                // The stream closed: nothing more will come.
                break;
            }
            for d in got {
                let shows = self.message_state(slot, &d);
                if shows == Some(after_hash) || !self.claim_late(slot, shows) {
                    ours.push(d);
                }
            }
        }
        self.judge_group(
            &picks, &records, &requests, &replies, &ours, &after, applied, intended,
        );
        // The model follows the server after a wrong notification, so one fault is one
        // wrong operation, not a cascade over every later operation on the interaction.
        let observed = ours
            .last()
            .filter(|d| self.message_state(slot, d) != Some(after_hash))
            .and_then(|d| {
                self.ops[slot.ops[0]]
                    .case
                    .facts
                    .find_resource(&d.message["data"])
                    .map(|(_, r)| user_data_of(r))
            })
            .filter(|_| shared == 1);
        slot.state = match observed {
            Some(seen) if !same_user_data(&seen, &after) => seen,
            _ => after,
        };
        let final_state = state_hash(&slot.state);
        for &r in &records {
            slot.history.push((final_state, r));
        }
        let group = Group {
            last_message: ours.last().map(|d| message_hash(&d.message)),
            ops: records,
            final_state,
            missing: applied.saturating_sub(ours.len()),
        };
        if group.missing > 0 {
            slot.pending.push(group.clone());
            // A server that never delivers must not make the list grow without bound.
            if slot.pending.len() > MAX_PENDING_GROUPS {
                slot.pending.remove(0);
            }
        }
        slot.last = Some(group);
    }

    /// Provisions a fresh interaction for the slot with the user data of the scenario it
    /// replays next; on failure the slot stays where it is (the run goes on, growing).
    async fn move_to_fresh_interaction(&self, slot: &mut Slot) {
        let next = &self.ops[slot.ops[slot.next % slot.ops.len()]];
        let wire = WireLog::new(Instant::now());
        let Ok(fresh) = self
            .runner
            .provision(slot.agent, &slot.media, &next.case.user_data, &wire)
            .await
        else {
            return;
        };
        let old = std::mem::replace(&mut slot.id, fresh.id);
        // Cleaned up now, so that a long run does not pile interactions up on the server.
        let cleaned_at = self.start.elapsed();
        self.runner.release(&old, &wire).await;
        let last_message = slot
            .last
            .as_ref()
            .and_then(|g| g.last_message.zip(g.ops.first().copied()));
        slot.retired.push(Retired {
            id: old,
            cleaned_at,
            last_message,
        });
        slot.path = fresh.path;
        slot.state = next.case.user_data.clone();
        slot.last = None;
        slot.groups_here = 0;
    }

    #[allow(clippy::too_many_arguments)]
    fn judge_group(
        &self,
        picks: &[usize],
        records: &[usize],
        requests: &[(Value, Effect)],
        replies: &[(Result<Reply, String>, Instant)],
        ours: &[Delivered],
        after: &Map<String, Value>,
        applied: usize,
        intended: Instant,
    ) {
        let shared = picks.len();
        let mut problems = 0u64;
        let mut notified = 0u64;
        for (j, (&op, &record)) in picks.iter().zip(records).enumerate() {
            let case = &self.ops[op].case;
            let reply = &replies[j].0;
            let keys = requests[j].1.keys();
            let scope = match (&keys, shared) {
                (Some(k), s) if s > 1 => Scope::Keys(k),
                _ => Scope::All,
            };
            if !is_success(reply) {
                let findings = load_operation(case, reply, None, after, scope);
                let detail = findings
                    .first()
                    .map(|f| f.message.clone())
                    .unwrap_or_else(|| "the operation was refused".into());
                self.mark(record, |f| f.wrong = true, Some(detail));
                problems += 1;
                continue;
            }
            // This operation's notification: with one operation, the one that came; with
            // several, any that shows its keys as they must end.
            let mut best: Option<(&Delivered, Vec<crate::result::Finding>)> = None;
            for d in ours {
                let findings = load_operation(case, reply, Some(d), after, scope);
                let clean = findings.is_empty();
                if best.is_none() || clean {
                    best = Some((d, findings));
                }
                if clean {
                    break;
                }
            }
            match best {
                None => {
                    self.mark(
                        record,
                        |f| f.lost = true,
                        Some(format!(
                            "no notification within {:.1}s",
                            self.config.run.deadlines.notification.as_secs_f64()
                        )),
                    );
                    problems += 1;
                }
                Some((d, findings)) => {
                    self.record_latency(intended, None, Some(d.after_post));
                    if findings.is_empty() {
                        self.mark(record, |f| f.notified = true, None);
                        notified += 1;
                    } else {
                        let detail = findings
                            .iter()
                            .map(|f| format!("{}: {}", f.check, f.message))
                            .collect::<Vec<_>>()
                            .join("; ");
                        self.mark(record, |f| f.wrong = true, Some(detail));
                        problems += 1;
                    }
                }
            }
        }
        if ours.len() < applied && shared > 1 {
            // Fewer notifications than operations: the last ones count as lost.
            for &record in records.iter().rev().take(applied - ours.len()) {
                self.mark(
                    record,
                    |f| f.lost = true,
                    Some("fewer notifications than concurrent operations".into()),
                );
            }
        }
        if ours.len() > applied
            && applied > 0
            && let Some(&record) = records.first()
        {
            self.mark(
                record,
                |f| f.duplicated = true,
                Some(format!(
                    "{} notifications for {applied} operation(s)",
                    ours.len()
                )),
            );
        }
        // Missing notifications are already lost; the composition is judged on complete groups.
        if shared > 1 && applied > 1 && ours.len() >= applied {
            // No lost update: one notification (the last applied operation's) must show the
            // composition of them all.
            let composed = ours.iter().any(|d| {
                self.ops[picks[0]]
                    .case
                    .facts
                    .find_resource(&d.message["data"])
                    .is_some_and(|(_, r)| same_user_data(&user_data_of(r), after))
            });
            if !composed {
                let last_seen = ours
                    .last()
                    .and_then(|d| {
                        self.ops[picks[0]]
                            .case
                            .facts
                            .find_resource(&d.message["data"])
                            .map(|(_, r)| user_data_of(r))
                    })
                    .unwrap_or_default();
                for (j, &record) in records.iter().enumerate() {
                    let keys = requests[j].1.keys().unwrap_or_default();
                    let lost_here = keys.iter().any(|k| last_seen.get(k) != after.get(k));
                    if lost_here {
                        self.mark(
                            record,
                            |f| f.wrong = true,
                            Some(format!(
                                "lost update: no notification shows the composition of the {shared} concurrent operations; the last shows {}",
                                crate::util::truncate(&Value::Object(last_seen.clone()).to_string(), 300)
                            )),
                        );
                        problems += 1;
                    }
                }
            }
        }
        self.progress
            .notified
            .fetch_add(notified, Ordering::Relaxed);
        self.progress
            .problems
            .fetch_add(problems, Ordering::Relaxed);
    }

    /// After the load phase: final barriers, leftovers (late, duplicated, crossed),
    /// read-your-writes, cleanup, and the report.
    async fn settle(
        self,
        mut slots: Vec<Slot>,
        started: String,
        target_name: String,
        target_url: String,
        wall_secs: f64,
    ) -> LoadReport {
        let mut stream_problems = Vec::new();
        let runner = &self.runner;
        let streams: BTreeSet<(usize, String)> =
            slots.iter().map(|s| (s.agent, s.media.clone())).collect();
        let settled: Vec<Result<(), String>> = futures::stream::iter(streams.iter())
            .map(|(agent, media)| async move {
                runner.settle_stream(*agent, media).await.map_err(|e| {
                    let name = runner
                        .session(*agent)
                        .map(|s| s.username.clone())
                        .unwrap_or_default();
                    format!("agent {name}, {media}: final barrier: {e}")
                })
            })
            .buffer_unordered(64)
            .collect()
            .await;
        stream_problems.extend(settled.into_iter().filter_map(Result::err));
        let router = runner.router();
        for slot in slots.iter_mut() {
            let left = router.take(slot.agent, &slot.id, self.start);
            self.attribute_stragglers(slot, left);
            // What came late to an interaction the slot had left: matched by the state shown.
            for retired in &slot.retired {
                let old = &retired.id;
                for m in router.take(slot.agent, old, self.start) {
                    if let Some((hash, record)) = retired.last_message
                        && hash == message_hash(&m.message)
                    {
                        self.mark(
                            record,
                            |f| f.duplicated = true,
                            Some(format!(
                                "a second copy of the notification arrived: {}",
                                crate::util::truncate(&m.message.to_string(), 300)
                            )),
                        );
                        continue;
                    }
                    // Any other notification after the cleanup may announce the interaction's
                    // end, which a server may legitimately send; it is no operation's.
                    if m.after_post >= retired.cleaned_at {
                        continue;
                    }
                    let shows = self.message_state(slot, &m);
                    let Some(&(_, record)) = slot.history.iter().find(|(h, _)| Some(*h) == shows)
                    else {
                        stream_problems.push(format!(
                            "an unexpected notification about interaction {old}: {}",
                            crate::util::truncate(&m.message.to_string(), 300)
                        ));
                        continue;
                    };
                    let lost = lock(&self.records)
                        .get(record)
                        .is_some_and(|r| r.facts.lost && !r.facts.late);
                    if lost {
                        self.mark(record, |f| f.late = true, None);
                    } else {
                        self.mark(
                            record,
                            |f| f.duplicated = true,
                            Some(format!(
                                "another notification with the same state arrived: {}",
                                crate::util::truncate(&m.message.to_string(), 300)
                            )),
                        );
                    }
                }
            }
        }
        let by_id: HashMap<&str, usize> = slots
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                std::iter::once(s.id.as_str())
                    .chain(s.retired.iter().map(|r| r.id.as_str()))
                    .map(move |id| (id, i))
            })
            .collect();
        let mut unclaimed = 0;
        for (agent, message) in router.leftovers() {
            let id = crate::run::router::interaction_id(&message);
            let Some(&i) = id.as_deref().and_then(|id| by_id.get(id)) else {
                unclaimed += 1;
                continue;
            };
            let slot = &slots[i];
            let shows = self.message_state(
                slot,
                &Delivered {
                    agent,
                    message: message.clone(),
                    after_post: Duration::ZERO,
                },
            );
            let record = slot
                .history
                .iter()
                .find(|(h, _)| Some(*h) == shows)
                .or(slot.history.last())
                .map(|(_, r)| *r);
            let receiver = runner
                .session(agent)
                .map(|s| s.username.clone())
                .unwrap_or_default();
            if let Some(record) = record {
                self.mark(
                    record,
                    |f| f.crossed = true,
                    Some(format!(
                        "the notification reached agent {receiver}'s stream: {}",
                        crate::util::truncate(&message.to_string(), 300)
                    )),
                );
            }
        }
        if unclaimed > 0 {
            stream_problems.push(format!(
                "{unclaimed} notifications about interactions this run did not use"
            ));
        }
        let read_your_writes = self.read_your_writes(&mut slots).await;
        let wire = WireLog::new(Instant::now());
        let made: Vec<&str> = slots.iter().map(|s| s.id.as_str()).collect();
        futures::stream::iter(made)
            .map(|id| {
                let wire = &wire;
                async move {
                    runner.release(id, wire).await;
                }
            })
            .buffer_unordered(32)
            .collect::<Vec<()>>()
            .await;
        let Engine {
            runner,
            ops,
            config,
            records,
            metrics,
            left_out,
            ..
        } = self;
        let names: Vec<String> = (0..runner.agent_count())
            .map(|i| {
                runner
                    .session(i)
                    .map(|s| s.username.clone())
                    .unwrap_or_default()
            })
            .collect();
        let notes = runner.close().await;
        stream_problems.extend(notes.closed_streams);
        stream_problems.extend(notes.rehandshakes);
        stream_problems.extend(notes.left_behind);
        let records = records.into_inner().unwrap_or_else(|p| p.into_inner());
        let metrics = metrics.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut ledger = Totals::default();
        let mut seconds: Vec<Second> = metrics
            .seconds
            .into_iter()
            .enumerate()
            .map(|(i, (http, notification))| Second {
                second: i as u64,
                ledger: Totals::default(),
                http,
                notification,
            })
            .collect();
        let mut affected = Vec::new();
        let mut affected_not_listed = 0;
        for (n, r) in records.iter().enumerate() {
            let kind = r.facts.kind();
            ledger.add_kind(kind);
            let s = r.second as usize;
            while seconds.len() <= s {
                let second = seconds.len() as u64;
                seconds.push(Second {
                    second,
                    ..Second::default()
                });
            }
            seconds[s].ledger.add_kind(kind);
            if kind == Kind::NotifiedOnce {
                continue;
            }
            if affected.len() >= report::MAX_AFFECTED {
                affected_not_listed += 1;
                continue;
            }
            let slot = &slots[r.slot];
            affected.push(Affected {
                kind,
                op: n as u64 + 1,
                scenario: ops[r.op].case.id.clone(),
                agent: names.get(slot.agent).cloned().unwrap_or_default(),
                interaction: slot
                    .retired
                    .get(r.interaction)
                    .map_or(&slot.id, |r| &r.id)
                    .clone(),
                second: r.second,
                detail: r.detail.clone().unwrap_or_default(),
            });
        }
        let scenarios: BTreeSet<usize> = records.iter().map(|r| r.op).collect();
        let mut report = LoadReport {
            format: report::FORMAT.into(),
            target_name,
            target_url,
            started,
            finished: now_rfc3339(),
            settings: Settings {
                agents: slots.iter().map(|s| s.agent).collect::<BTreeSet<_>>().len(),
                shard: config.shard.clone(),
                rate: match config.pacing {
                    Pacing::Rate(r) => Some(r),
                    Pacing::Concurrency(_) => None,
                },
                concurrency: match config.pacing {
                    Pacing::Concurrency(c) => Some(c),
                    Pacing::Rate(_) => None,
                },
                shared: config.shared.max(1),
                duration_secs: config.duration.as_secs_f64(),
                scenarios: scenarios.len(),
            },
            wall_secs,
            ledger,
            affected,
            affected_not_listed,
            read_your_writes,
            http: metrics.http,
            notification: metrics.notification,
            percentiles: Default::default(),
            seconds,
            stream_problems,
            left_out,
        };
        report.refresh_percentiles();
        report
    }

    /// One GET per interaction: the user data must be the expected final state. A mismatch
    /// makes the interaction's last operation wrong.
    async fn read_your_writes(&self, slots: &mut [Slot]) -> ReadYourWrites {
        let runner = &self.runner;
        type Read = (usize, Result<Map<String, Value>, String>);
        let reads: Vec<Read> = futures::stream::iter(slots.iter().enumerate())
            .map(|(i, s)| async move {
                let Some(session) = runner.session(s.agent) else {
                    return (i, Err("no session".to_string()));
                };
                let facts = &self.ops[s.ops[0]].case.facts;
                let got = session
                    .request(Method::GET, &s.path, None, Auth::Session, true, None)
                    .await
                    .and_then(|(reply, _)| {
                        reply
                            .body
                            .json()
                            .filter(|_| reply.status == 200)
                            .and_then(|b| facts.find_resource(b))
                            .map(|(_, r)| user_data_of(r))
                            .ok_or_else(|| {
                                format!(
                                    "GET {} answered HTTP {}: {}",
                                    s.path,
                                    reply.status,
                                    reply.body.describe()
                                )
                            })
                    });
                (i, got)
            })
            .buffer_unordered(32)
            .collect()
            .await;
        let mut result = ReadYourWrites::default();
        for (i, got) in reads {
            let slot = &slots[i];
            result.checked += 1;
            let problem = match got {
                Ok(seen) if same_user_data(&seen, &slot.state) => None,
                Ok(seen) => Some(format!(
                    "read-your-writes: GET shows userData {} but the operations must have produced {}",
                    crate::util::truncate(&Value::Object(seen).to_string(), 300),
                    crate::util::truncate(&Value::Object(slot.state.clone()).to_string(), 300)
                )),
                Err(e) => Some(format!("read-your-writes: {e}")),
            };
            if let Some(problem) = problem {
                result.mismatched += 1;
                if let Some(&(_, record)) = slot.history.last() {
                    self.mark(record, |f| f.wrong = true, Some(problem));
                }
            }
        }
        result
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{self, Defect, ServerConfig, state::ServerState};

    #[test]
    fn state_hashes_ignore_key_order_and_number_spelling() {
        let a = serde_json::json!({"x": 1, "y": {"p": [1, "two"], "q": null}});
        let b = serde_json::json!({"y": {"q": null, "p": [1.0, "two"]}, "x": 1.0});
        let c = serde_json::json!({"x": 1, "y": {"p": ["two", 1], "q": null}});
        let h = |v: &Value| state_hash(v.as_object().unwrap());
        assert_eq!(h(&a), h(&b));
        assert_ne!(h(&a), h(&c), "array order counts");
        assert_eq!(
            user_data_hash(&serde_json::json!({"id": "i"})),
            h(&serde_json::json!({}))
        );
    }

    /// Notifications that come after their deadline, several operations later, are `late`,
    /// not taken for the notifications of the operations then waiting.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn notifications_after_their_deadline_are_late() {
        let config = ServerConfig {
            agents: ServerState::numbered_agents(2),
            defect: Some(Defect::LateNotification),
            late_delay: Duration::from_millis(700),
            ..ServerConfig::default()
        };
        let server = server::start(config.clone()).await.unwrap();
        let target = Target::embedded("late", &server.base_url, &config.agents);
        let suite = crate::suite::builtin().unwrap();
        let cases = crate::plan::build(
            &suite,
            &crate::plan::Selection {
                filters: vec!["chat/UpdateUserData/".into()],
                ..Default::default()
            },
        );
        let ops = model::replayable(&cases, false);
        let load = LoadConfig {
            duration: Duration::from_millis(2500),
            pacing: Pacing::Concurrency(2),
            shared: 1,
            ops_per_agent: None,
            interactions_per_agent: None,
            run: RunConfig {
                deadlines: crate::run::Deadlines {
                    notification: Duration::from_millis(200),
                    ..Default::default()
                },
                ..RunConfig::default()
            },
            shard: None,
        };
        let report = run(target, ops, load, Default::default()).await.unwrap();
        server.shutdown().await;
        let l = report.ledger;
        assert!(l.late > 0, "{l:?}");
        // A late notification that shows the same state as a later operation's (replayed
        // updates often change nothing) cannot be told from that operation's own, so a few may
        // count as notified once; the ledger must still see most of them as late.
        assert!(
            l.notified_once < l.late,
            "notifications past their deadline are mostly taken as late: {l:?}"
        );
        assert_eq!(l.crossed, 0, "{l:?}");
        assert_eq!(
            (l.wrong, l.duplicated),
            (0, 0),
            "late notifications are not taken for later operations': {l:?}"
        );
        assert_eq!(l.late + l.lost + l.notified_once, l.operations, "{l:?}");
    }
}
