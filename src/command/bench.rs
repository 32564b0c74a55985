//! Performance measurement: K synthetic scenarios against the embedded server, compared with a
//! raw baseline that does the same HTTP requests and Bayeux deliveries with no harness around
//! them (no routing layer, no checks, no wire log, no results).
//!
//! This module measures and reports figures as data; it asserts nothing. Targets are compared
//! by the `bench` command, never by a timed test.

pub mod load;
pub mod targets;

/// A benchmark that could not measure: its server, its client or its baseline failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Embedded(#[from] crate::command::embedded::EmbeddedError),
    #[error(transparent)]
    Connect(#[from] crate::run::RunError),
    #[error(transparent)]
    Load(#[from] crate::load::LoadError),
    #[error("the raw baseline {step}: {source}")]
    Baseline {
        step: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("the raw baseline agent {agent}: {detail}")]
    BaselineAgent { agent: String, detail: String },
}

impl BenchError {
    /// A failed step of the raw baseline client.
    pub fn baseline(step: &'static str) -> impl FnOnce(reqwest::Error) -> BenchError {
        move |source| BenchError::Baseline { step, source }
    }
}

use crate::check::Checker;
use crate::command::embedded::Embedded;
use crate::orchestrator::{Event, Orchestrator, Retention};
use crate::plan::Case;
use crate::result::Grade;
use crate::run::router::BARRIER_KEY;
use crate::run::{RunConfig, Runner};
use crate::server::ServerConfig;
use crate::spec::{
    self, Expectation, Given, Level, MediaTable, NotificationExpectation, NotificationSpec,
    PatchExpectation, PatchOp, Scenario, Send, Source,
};
use crate::util::Unpoisoned;
use futures::StreamExt;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// One measured run (harness or baseline).
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    pub scenarios: usize,
    pub wall_secs: f64,
    pub scenarios_per_sec: f64,
    pub latency_p50_ms: f64,
    pub latency_p95_ms: f64,
    pub latency_p99_ms: f64,
    /// Scenarios that did not pass (harness) or did not see their notification (baseline).
    pub failures: usize,
    /// Process CPU seconds during the run (user + system).
    pub cpu_secs: f64,
    /// Server handler time, long-poll waits excluded.
    pub server_busy_secs: f64,
    /// Time spent in `check::evaluate` (harness only).
    pub check_secs: f64,
}

/// Machine facts printed with the figures.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
}

impl Machine {
    pub fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .and_then(|r| r.split(':').nth(1))
            })
            .unwrap_or("unknown")
            .trim()
            .to_string();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0.0);
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            memory_gib: kib / 1024.0 / 1024.0,
        }
    }
}

/// Process CPU time (user + system) from /proc; zero where it cannot be read.
pub fn cpu_time() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // USER_HZ is 100 on Linux for every architecture this runs on.
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak resident memory of this process in MiB (VmHWM), if known.
pub fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// K synthetic positive scenarios mixing every media and operation, each with its expected
/// diff, so the harness does all of its checking work.
pub fn synthetic_cases(table: &MediaTable, k: usize) -> Vec<Case> {
    let media: Vec<(&str, Arc<spec::MediaFacts>)> = table
        .media
        .iter()
        .map(|(n, f)| (n, Arc::new(f.clone())))
        .collect();
    (0..k)
        .map(|i| {
            let (name, facts) = &media[i % media.len()];
            let operation = facts.operations[(i / media.len()) % facts.operations.len()].clone();
            let key = format!("Key{i}");
            let (request, diff) = match (operation.as_str(), facts.delete) {
                ("AttachUserData" | "UpdateUserData", _) => (
                    json!({"operationName": operation, "userData": {&key: format!("value-{i}")}}),
                    vec![(
                        PatchOp::Add,
                        format!("/userData/{key}"),
                        Some(json!(format!("value-{i}"))),
                    )],
                ),
                // No userData and {} are the same state, so deleting everything removes the keys.
                ("DeleteUserData", spec::DeleteStyle::All) => (
                    json!({"operationName": operation}),
                    vec![
                        (PatchOp::Remove, "/userData/Seed".to_string(), None),
                        (PatchOp::Remove, "/userData/Index".to_string(), None),
                    ],
                ),
                ("DeleteUserData", spec::DeleteStyle::Keys) => (
                    json!({"operationName": operation, "keys": ["Seed"]}),
                    vec![(PatchOp::Remove, "/userData/Seed".to_string(), None)],
                ),
                _ => (
                    json!({"operationName": operation, "key": "Seed"}),
                    vec![(PatchOp::Remove, "/userData/Seed".to_string(), None)],
                ),
            };
            let scenario = Scenario {
                name: format!("synthetic-{i}"),
                operation: operation.clone(),
                media: vec![name.to_string()],
                level: Level::Must,
                description: None,
                given: Given {
                    preset: None,
                    user_data: None,
                },
                request: Some(request),
                then: Vec::new(),
                send: Send::default(),
                expect: Expectation {
                    response: None,
                    notification: NotificationExpectation::Expected(NotificationSpec {
                        diff: diff
                            .into_iter()
                            .map(|(op, path, value)| PatchExpectation {
                                op,
                                path,
                                value: value.as_ref().map(spec::Expected::exact),
                            })
                            .collect(),
                        envelope: Vec::new(),
                        resource: Vec::new(),
                    }),
                    unchanged: false,
                    undisclosed: false,
                    listener: None,
                    snapshot: Some(false),
                    should: None,
                    refusal: None,
                },
                source: Source::default(),
            };
            let mut user_data = Map::new();
            user_data.insert("Seed".into(), json!("seed"));
            user_data.insert("Index".into(), json!(i));
            Case {
                id: scenario.id_for(name),
                media: name.to_string(),
                facts: Arc::clone(facts),
                scenario: Arc::new(scenario),
                user_data,
            }
        })
        .collect()
}

fn measurement(
    scenarios: usize,
    started: Instant,
    cpu_before: f64,
    mut latencies: Vec<f64>,
    failures: usize,
    server_busy: Duration,
    check: Duration,
) -> Measurement {
    let wall = started.elapsed().as_secs_f64();
    latencies.sort_by(|a, b| a.total_cmp(b));
    Measurement {
        scenarios,
        wall_secs: wall,
        scenarios_per_sec: scenarios as f64 / wall,
        latency_p50_ms: percentile(&latencies, 50.0),
        latency_p95_ms: percentile(&latencies, 95.0),
        latency_p99_ms: percentile(&latencies, 99.0),
        failures,
        cpu_secs: cpu_time() - cpu_before,
        server_busy_secs: server_busy.as_secs_f64(),
        check_secs: check.as_secs_f64(),
    }
}

/// The harness on `cases`: the real runner and checks, results counted and dropped.
pub async fn harness(
    cases: &[Case],
    jobs: usize,
    redact_keys: &[String],
) -> Result<Measurement, BenchError> {
    let config = ServerConfig::default();
    let Embedded { target, server } = Embedded::start(config, "embedded reference server").await?;
    let runner = Runner::connect(
        target,
        RunConfig {
            jobs,
            ..RunConfig::default()
        },
    )
    .await?;
    let checker = Checker {
        snapshots: None,
        redact_keys: redact_keys.to_vec(),
        own_snapshots: None,
        gws_version: Default::default(),
    };
    let busy_before = server.state.stats.busy();
    let cpu_before = cpu_time();
    let started = Instant::now();
    let mut check_time = Duration::ZERO;
    let mut latencies = Vec::with_capacity(cases.len());
    let mut failures = 0;
    // Results are counted as they finish and dropped, so memory stays what the harness needs.
    let orchestrator = Orchestrator::new(runner, &checker, Retention::DropResults);
    orchestrator
        .run(cases, &CancellationToken::new(), |event| {
            if let Event::CaseFinished {
                result,
                check_time: t,
            } = event
            {
                check_time += t;
                if let Some(l) = result.latency_ms {
                    latencies.push(l);
                }
                if result.grade != Grade::Pass {
                    failures += 1;
                }
            }
        })
        .await;
    let m = measurement(
        cases.len(),
        started,
        cpu_before,
        latencies,
        failures,
        server.state.stats.busy() - busy_before,
        check_time,
    );
    orchestrator.finish(|_| {}).await;
    server.shutdown().await;
    Ok(m)
}

/// Who waits for the notification about each interaction of the raw baseline.
type Waiters = Mutex<HashMap<String, oneshot::Sender<Instant>>>;

/// The raw baseline's one long-poll loop: hands each notification to the waiter of its
/// interaction and counts barrier notifications, until `stop` or the stream ends.
fn baseline_poller(
    http: reqwest::Client,
    base: String,
    (user, pass): (String, String),
    client_id: String,
    waiters: Arc<Waiters>,
    seen: Arc<tokio::sync::watch::Sender<u64>>,
    stop: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let request = http.post(format!("{base}/api/v2/notifications")).basic_auth(&user, Some(&pass)).json(&json!([{"channel": "/meta/connect", "clientId": client_id, "connectionType": "long-polling"}])).send();
            let response = tokio::select! { _ = stop.cancelled() => return, r = request => r };
            let Ok(messages) = (match response {
                Ok(r) => r.json::<Vec<Value>>().await,
                Err(_) => return,
            }) else {
                return;
            };
            let now = Instant::now();
            for m in messages {
                let Some(object) = m["data"]
                    .as_object()
                    .and_then(|d| d.values().find(|v| v.get("id").is_some()))
                else {
                    continue;
                };
                if object["userData"].get(BARRIER_KEY).is_some() {
                    seen.send_modify(|n| *n += 1);
                } else if let Some(tx) = object["id"]
                    .as_str()
                    .and_then(|id| waiters.locked().remove(id))
                {
                    let _ = tx.send(now);
                }
            }
        }
    })
}

/// The simplest client doing the same work: per case, provision, GET, POST the operation, wait
/// for its notification, pass a barrier, GET, DELETE — with one long-poll loop that hands
/// notifications to waiters by interaction id.
pub async fn baseline(cases: &[Case], jobs: usize) -> Result<Measurement, BenchError> {
    let config = ServerConfig::default();
    let Embedded { server, .. } = Embedded::start(config.clone(), "raw baseline").await?;
    let base = server.base_url.clone();
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .pool_max_idle_per_host(64)
        .build()
        .map_err(BenchError::baseline("client"))?;
    let (user, pass) = config.agents[0].clone();
    let post = |url: String, body: Value| {
        http.post(url)
            .basic_auth(&user, Some(&pass))
            .json(&body)
            .send()
    };
    let get = |url: String| http.get(url).basic_auth(&user, Some(&pass)).send();
    let delete = |url: String| http.delete(url).basic_auth(&user, Some(&pass)).send();
    let reply = |r: reqwest::Response| async move { r.json::<Value>().await };
    let first = reply(post(format!("{base}/api/v2/notifications"), json!([{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}])).await.map_err(BenchError::baseline("handshake"))?).await.map_err(BenchError::baseline("handshake"))?;
    let client_id = first[0]["clientId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    reply(post(format!("{base}/api/v2/notifications"), json!([{"channel": "/meta/subscribe", "clientId": client_id, "subscription": "/v2/me/*"}])).await.map_err(BenchError::baseline("subscribe"))?).await.map_err(BenchError::baseline("subscribe"))?;
    let waiters: Arc<Waiters> = Arc::default();
    let barrier_count = Arc::new(AtomicU64::new(0));
    let barrier_seen = Arc::new(tokio::sync::watch::channel(0u64).0);
    let stop = tokio_util::sync::CancellationToken::new();
    let poller = baseline_poller(
        http.clone(),
        base.clone(),
        (user.clone(), pass.clone()),
        client_id.clone(),
        Arc::clone(&waiters),
        Arc::clone(&barrier_seen),
        stop.clone(),
    );
    let barrier = reply(
        post(
            format!("{base}/conformance/v1/interactions"),
            json!({"media": "chat", "userData": {}}),
        )
        .await
        .map_err(BenchError::baseline("barrier interaction"))?,
    )
    .await
    .map_err(BenchError::baseline("barrier interaction"))?;
    let barrier_path = format!("{base}{}", barrier["path"].as_str().unwrap_or_default());
    let busy_before = server.state.stats.busy();
    let cpu_before = cpu_time();
    let started = Instant::now();
    let results: Vec<Option<f64>> = futures::stream::iter(cases)
        .map(|case| {
            let (post, get, delete, waiters, base, barrier_path, barrier_count, barrier_seen) = (&post, &get, &delete, &waiters, &base, &barrier_path, &barrier_count, &barrier_seen);
            async move {
                let created = reply(post(format!("{base}/conformance/v1/interactions"), json!({"media": case.media, "userData": case.user_data})).await.ok()?).await.ok()?;
                let id = created["id"].as_str()?.to_string();
                let url = format!("{base}{}", created["path"].as_str()?);
                reply(get(url.clone()).await.ok()?).await.ok()?;
                let (tx, rx) = oneshot::channel();
                waiters.locked().insert(id.clone(), tx);
                let sent = Instant::now();
                reply(post(url.clone(), case.scenario.request.clone().unwrap_or_default()).await.ok()?).await.ok()?;
                let arrived = tokio::time::timeout(Duration::from_secs(5), rx).await.ok()?.ok()?;
                let ticket = barrier_count.fetch_add(1, Ordering::SeqCst) + 1;
                reply(post(barrier_path.clone(), json!({"operationName": "UpdateUserData", "userData": {BARRIER_KEY: ticket}})).await.ok()?).await.ok()?;
                let mut seen = barrier_seen.subscribe();
                tokio::time::timeout(Duration::from_secs(5), seen.wait_for(|n| *n >= ticket)).await.ok()?.ok()?;
                reply(get(url).await.ok()?).await.ok()?;
                delete(format!("{base}/conformance/v1/interactions/{id}")).await.ok()?;
                Some(arrived.duration_since(sent).as_secs_f64() * 1000.0)
            }
        })
        .buffer_unordered(jobs.max(1))
        .collect()
        .await;
    let failures = results.iter().filter(|r| r.is_none()).count();
    let latencies = results.into_iter().flatten().collect();
    let m = measurement(
        cases.len(),
        started,
        cpu_before,
        latencies,
        failures,
        server.state.stats.busy() - busy_before,
        Duration::ZERO,
    );
    stop.cancel();
    let _ = poller.await;
    server.shutdown().await;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The figures mean nothing if the synthetic scenarios do not pass on the clean server.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_synthetic_scenario_passes_on_the_reference_server() {
        let suite = crate::suite::builtin().expect("the built-in suite loads");
        let cases = synthetic_cases(&suite.media, 2 * 28);
        let m = harness(&cases, 8, &suite.media.redact_keys)
            .await
            .expect("the harness runs");
        assert_eq!(m.failures, 0, "{m:?}");
    }
}
