//! `bench --load`: the load generator measured on the embedded server — checked operations
//! per second with many agents, the harness's resident memory at the start, middle and end of
//! the run, the CPU cost per operation at growing agent counts, and a raw baseline client doing
//! the same operations without judging them.
//!
//! Figures are data; the `bench` command decides which targets are met. It never asserts
//! timings itself.

use super::BenchError;
use crate::command::embedded::Embedded;
use crate::load::model::LoadOp;
use crate::load::results::LoadReport;
use crate::load::{LoadConfig, Pacing};
use crate::run::RunConfig;
use crate::server::{ServerConfig, state::ServerState};
use futures::StreamExt;
use serde::Serialize;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Resident memory of this process now, in MiB (VmRSS), if known.
pub fn rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// One load run of the harness.
#[derive(Debug, Clone, Serialize)]
pub struct HarnessLoad {
    pub agents: usize,
    pub operations: u64,
    pub wall_secs: f64,
    pub ops_per_sec: f64,
    /// Operations lost, crossed, duplicated or wrong (0 on the clean server).
    pub failing: u64,
    pub notification_p99_ms: f64,
    /// CPU seconds of the whole process (harness and embedded server) per operation, in µs.
    pub cpu_us_per_op: f64,
    /// RSS at the start, the middle and the end of the load, in MiB.
    pub rss_mib: [Option<f64>; 3],
}

/// The raw baseline: the same operations, one long poll per agent, nothing judged.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineLoad {
    pub agents: usize,
    pub operations: u64,
    pub wall_secs: f64,
    pub ops_per_sec: f64,
}

/// The embedded server with `agent1..agentN`, as `serve --agents N` starts it.
async fn numbered_server(agents: usize) -> Result<Embedded, BenchError> {
    let config = ServerConfig {
        agents: ServerState::numbered_agents(agents),
        ..ServerConfig::default()
    };
    Ok(Embedded::start(config, "reference server").await?)
}

/// Loads the embedded server with `agents` agents (one operation in flight each) for
/// `duration`, sampling RSS at the start, middle and end.
pub async fn harness(
    ops: &[LoadOp],
    agents: usize,
    duration: Duration,
) -> Result<(HarnessLoad, LoadReport), BenchError> {
    let Embedded { target, server } = numbered_server(agents).await?;
    let load = LoadConfig {
        duration,
        pacing: Pacing::Concurrency(agents),
        shared: 1,
        ops_per_agent: None,
        interactions_per_agent: None,
        run: RunConfig::default(),
        shard: None,
    };
    let start_rss = rss_mib();
    let sampler = tokio::spawn(async move {
        tokio::time::sleep(duration / 2).await;
        rss_mib()
    });
    let cpu_before = super::cpu_time();
    let report = crate::load::run(target, ops.to_vec(), load, Default::default()).await;
    let cpu = super::cpu_time() - cpu_before;
    let end_rss = rss_mib();
    let middle_rss = sampler.await.ok().flatten();
    server.shutdown().await;
    let report = report?;
    let operations = report.ledger.operations;
    Ok((
        HarnessLoad {
            agents,
            operations,
            wall_secs: report.wall_secs,
            ops_per_sec: report.ops_per_sec(),
            failing: report.ledger.failing(),
            notification_p99_ms: report.percentiles.notification.p99_ms,
            cpu_us_per_op: cpu * 1e6 / operations.max(1) as f64,
            rss_mib: [start_rss, middle_rss, end_rss],
        },
        report,
    ))
}

/// The simplest client doing the same operations: per agent a cookie-keeping HTTP client, a
/// handshake, a subscription, one interaction, a long-poll loop feeding a channel, and a loop
/// that POSTs an operation and waits for the next message — no routing by id, no judging —
/// moving to a fresh interaction as often as the harness does.
pub async fn baseline(
    ops: &[LoadOp],
    agents: usize,
    duration: Duration,
) -> Result<BaselineLoad, BenchError> {
    let Embedded { target, server } = numbered_server(agents).await?;
    let base = server.base_url.clone();
    let stop = tokio_util::sync::CancellationToken::new();
    let mut pollers = Vec::new();
    let mut workers = Vec::new();
    let mut setups = Vec::new();
    for (i, agent) in target.agents.iter().enumerate() {
        let op = &ops[i % ops.len()];
        setups.push(setup_agent(
            base.clone(),
            agent.username.clone(),
            agent.password.expose().to_string(),
            op.case.media.clone(),
            op.case.user_data.clone(),
        ));
    }
    let agents_ready: Vec<Result<AgentSetup, BenchError>> = futures::stream::iter(setups)
        .buffer_unordered(32)
        .collect()
        .await;
    let started = Instant::now();
    let end = tokio::time::Instant::now() + duration;
    for (i, agent) in agents_ready.into_iter().enumerate() {
        let agent = agent?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        pollers.push(baseline_poller(&agent, base.clone(), tx, stop.clone()));
        let media = ops[i % ops.len()].case.media.clone();
        let requests: Vec<(Value, serde_json::Map<String, Value>)> = ops
            .iter()
            .filter(|o| o.case.media == media)
            .map(|o| (o.request.clone(), o.case.user_data.clone()))
            .collect();
        let base = server.base_url.clone();
        workers.push(tokio::spawn(async move {
            let mut done = 0u64;
            let mut n = i;
            let mut path = agent.path.clone();
            let mut id = agent.id.clone();
            while tokio::time::Instant::now() < end {
                let (body, user_data) = &requests[n % requests.len()];
                n += 1;
                // A fresh interaction as often as the harness takes one.
                if done > 0 && done.is_multiple_of(crate::load::GROUPS_PER_INTERACTION as u64) {
                    let created = agent
                        .http
                        .post(format!("{base}/conformance/v1/interactions"))
                        .basic_auth(&agent.user, Some(&agent.pass))
                        .json(&json!({"media": media, "userData": user_data}))
                        .send()
                        .await;
                    let Ok(created) = created else { break };
                    let Ok(created) = created.json::<Value>().await else {
                        break;
                    };
                    let old = std::mem::replace(
                        &mut id,
                        created["id"].as_str().unwrap_or_default().to_string(),
                    );
                    path = format!("{base}{}", created["path"].as_str().unwrap_or_default());
                    let _ = agent
                        .http
                        .delete(format!("{base}/conformance/v1/interactions/{old}"))
                        .basic_auth(&agent.user, Some(&agent.pass))
                        .send()
                        .await;
                }
                let sent = agent
                    .http
                    .post(&path)
                    .basic_auth(&agent.user, Some(&agent.pass))
                    .json(body)
                    .send()
                    .await;
                if sent.is_err() {
                    break;
                }
                match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
                    Ok(Some(())) => done += 1,
                    _ => break,
                }
            }
            done
        }));
    }
    let mut operations = 0;
    for w in workers {
        operations += w.await.unwrap_or(0);
    }
    let wall_secs = started.elapsed().as_secs_f64();
    stop.cancel();
    for p in pollers {
        let _ = p.await;
    }
    server.shutdown().await;
    Ok(BaselineLoad {
        agents,
        operations,
        wall_secs,
        ops_per_sec: operations as f64 / wall_secs.max(0.001),
    })
}

/// A raw baseline agent's long-poll loop: one unit on `tx` per data message, until `token`
/// or the stream ends.
fn baseline_poller(
    agent: &AgentSetup,
    base: String,
    tx: tokio::sync::mpsc::UnboundedSender<()>,
    token: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let (http, user, pass, client_id) = (
        agent.http.clone(),
        agent.user.clone(),
        agent.pass.clone(),
        agent.client_id.clone(),
    );
    tokio::spawn(async move {
        loop {
            let request = http
                .post(format!("{base}/api/v2/notifications"))
                .basic_auth(&user, Some(&pass))
                .json(&json!([{"channel": "/meta/connect", "clientId": client_id, "connectionType": "long-polling"}]))
                .send();
            let response = tokio::select! { _ = token.cancelled() => return, r = request => r };
            let Ok(response) = response else { return };
            let Ok(messages) = response.json::<Vec<Value>>().await else {
                return;
            };
            for m in messages {
                if m.get("data").is_some() {
                    let _ = tx.send(());
                }
            }
        }
    })
}

struct AgentSetup {
    http: reqwest::Client,
    user: String,
    pass: String,
    client_id: String,
    id: String,
    path: String,
}

async fn setup_agent(
    base: String,
    user: String,
    pass: String,
    media: String,
    user_data: serde_json::Map<String, Value>,
) -> Result<AgentSetup, BenchError> {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .map_err(BenchError::baseline("client"))?;
    let post = |url: String, body: Value| {
        http.post(url)
            .basic_auth(&user, Some(&pass))
            .json(&body)
            .send()
    };
    let who = user.clone();
    let json_of = |r: reqwest::Response| {
        let who = who.clone();
        async move {
            r.json::<Value>()
                .await
                .map_err(|e| BenchError::BaselineAgent {
                    agent: who,
                    detail: e.to_string(),
                })
        }
    };
    let shake = post(
        format!("{base}/api/v2/notifications"),
        json!([{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}]),
    )
    .await
    .map_err(BenchError::baseline("setup"))?;
    let shake = json_of(shake).await?;
    let client_id = shake[0]["clientId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    post(
        format!("{base}/api/v2/notifications"),
        json!([{"channel": "/meta/subscribe", "clientId": client_id, "subscription": "/v2/me/*"}]),
    )
    .await
    .map_err(BenchError::baseline("setup"))?;
    let created = post(
        format!("{base}/conformance/v1/interactions"),
        json!({"media": media, "userData": user_data}),
    )
    .await
    .map_err(BenchError::baseline("setup"))?;
    let created = json_of(created).await?;
    let path = format!("{base}{}", created["path"].as_str().unwrap_or_default());
    let id = created["id"].as_str().unwrap_or_default().to_string();
    Ok(AgentSetup {
        id,
        http: http.clone(),
        user: user.clone(),
        pass: pass.clone(),
        client_id,
        path,
    })
}
