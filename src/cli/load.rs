//! `gws-conformance load`: the arguments, the embedded server (with `--agents N` numbered
//! agents) or a target file, the agents of one shard, a progress line on a terminal, the
//! summary, `load.json`, and the exit code (1 when an operation was lost, crossed, duplicated
//! or wrong). The load itself is `gws_conformance::load`.

use super::{EXIT_FAIL, EXIT_OK, SuiteArgs, error, parse_duration};
use clap::Args;
use gws_conformance::load::{self, LoadConfig, Pacing, Progress};
use gws_conformance::plan;
use gws_conformance::run::{Deadlines, RunConfig, Target};
use gws_conformance::server::{self, Defect, ServerConfig, state::ServerState};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct LoadArgs {
    #[command(flatten)]
    suite: SuiteArgs,
    /// Target file describing the server under test (default: the embedded reference server).
    #[arg(long, value_name = "FILE")]
    target: Option<PathBuf>,
    /// Agents generating load: the embedded server creates agent1..agentN; with --target, the
    /// first N agents of the file (default: all of them).
    #[arg(long, value_name = "N")]
    agents: Option<usize>,
    /// How long to generate load.
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = parse_duration)]
    duration: Duration,
    /// Operations started per second on a fixed schedule (latency counts from the intended
    /// start).
    #[arg(long, value_name = "R", conflicts_with = "concurrency")]
    rate: Option<f64>,
    /// Operations in flight at once, closed loop (default: one per agent).
    #[arg(long, value_name = "C")]
    concurrency: Option<usize>,
    /// Send K concurrent operations, on disjoint keys, to the same interaction.
    #[arg(long, value_name = "K", default_value_t = 1)]
    shared: usize,
    /// Stop each agent after this many operations (a fixed amount of work).
    #[arg(long, value_name = "M")]
    ops_per_agent: Option<u64>,
    /// Interactions each agent owns (default: enough for the pacing).
    #[arg(long, value_name = "K")]
    interactions_per_agent: Option<usize>,
    /// Take the K-th of N disjoint slices of the agents, e.g. 1/2.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Write load.json here.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Deadline for one HTTP request.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    request_timeout: Duration,
    /// Deadline from an operation to its notification; later ones are `late`.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    notification_timeout: Duration,
    /// Embedded server: inject one defect (see `serve --list-defects`).
    #[arg(long, value_name = "NAME")]
    defect: Option<String>,
    /// Embedded server: require the CSRF token on modifying requests.
    #[arg(long)]
    csrf: bool,
}

/// The agents of shard `k` of `n`: a contiguous slice, so shards never share an agent.
fn shard_slice<T: Clone>(items: &[T], k: usize, n: usize) -> Vec<T> {
    let len = items.len();
    let from = len * (k - 1) / n;
    let to = len * k / n;
    items[from..to].to_vec()
}

pub fn load(args: LoadArgs) -> ExitCode {
    let shard = match args.shard.as_deref().map(plan::parse_shard).transpose() {
        Ok(s) => s,
        Err(e) => return error(format!("--shard: {e}")),
    };
    if args.shared == 0 {
        return error("--shared must be at least 1");
    }
    if args.agents == Some(0) {
        return error("--agents must be at least 1");
    }
    if args.concurrency == Some(0) {
        return error("--concurrency must be at least 1");
    }
    // A run that sends nothing would pass without having tested anything.
    if args.duration.is_zero() && args.ops_per_agent.is_none_or(|m| m == 0) {
        return error("--duration must be longer than 0s (or give --ops-per-agent)");
    }
    if let Some(r) = args.rate
        && !(r.is_finite() && r > 0.0)
    {
        return error("--rate must be a positive number of operations per second");
    }
    let (_, cases) = match args.suite.plan(None) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let ops = load::model::replayable(&cases, args.shared > 1);
    if ops.is_empty() {
        return error(
            "no replayable scenario in the selection: load replays positive scenarios sent by the interaction's owner",
        );
    }
    let defect = match args.defect.as_deref().map(|n| {
        Defect::parse(n).ok_or_else(|| {
            format!("unknown defect `{n}`; `gws-conformance serve --list-defects` lists them")
        })
    }) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(e)) => return error(e),
    };
    let file_target = match &args.target {
        Some(path) => match super::target_file::load(path) {
            Ok(t) => Some(t),
            Err(e) => return error(e),
        },
        None => None,
    };
    if file_target.is_some() && (defect.is_some() || args.csrf) {
        return error(
            "--defect and --csrf configure the embedded server; they do not apply with --target",
        );
    }
    if let Some(dir) = &args.out
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        return error(format!("cannot create {}: {e}", dir.display()));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return error(format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(async move {
        let (target, embedded) = match file_target {
            Some(mut t) => {
                if let Some(n) = args.agents {
                    if n == 0 || n > t.agents.len() {
                        return error(format!(
                            "--agents {n}: the target file names {} agents",
                            t.agents.len()
                        ));
                    }
                    t.agents.truncate(n);
                }
                (t, None)
            }
            None => {
                let n = args.agents.unwrap_or(2);
                let config = ServerConfig {
                    agents: ServerState::numbered_agents(n),
                    defect,
                    csrf: args.csrf || defect.is_some_and(Defect::needs_csrf),
                    ..ServerConfig::default()
                };
                let running = match server::start(config.clone()).await {
                    Ok(s) => s,
                    Err(e) => return error(format!("cannot start the embedded server: {e}")),
                };
                let name = match defect {
                    Some(d) => format!("reference server ({d})"),
                    None => "reference server".to_string(),
                };
                (
                    Target::embedded(name, &running.base_url, &config.agents),
                    Some(running),
                )
            }
        };
        let mut target = target;
        if let Some((k, n)) = shard {
            target.agents = shard_slice(&target.agents, k, n);
            if target.agents.is_empty() {
                return error(format!(
                    "--shard {k}/{n}: this slice of the agents is empty"
                ));
            }
        }
        let agents = target.agents.len();
        let pacing = match (args.rate, args.concurrency) {
            (Some(r), _) => Pacing::Rate(r),
            (None, Some(c)) => Pacing::Concurrency(c),
            (None, None) => Pacing::Concurrency(agents),
        };
        let config = LoadConfig {
            duration: args.duration,
            pacing,
            shared: args.shared,
            ops_per_agent: args.ops_per_agent,
            interactions_per_agent: args.interactions_per_agent,
            run: RunConfig {
                deadlines: Deadlines {
                    request: args.request_timeout,
                    notification: args.notification_timeout,
                    ..Deadlines::default()
                },
                ..RunConfig::default()
            },
            shard: args.shard.clone(),
        };
        let progress = Arc::new(Progress::default());
        let ticker = std::io::stderr()
            .is_terminal()
            .then(|| spawn_progress_line(Arc::clone(&progress)));
        let outcome = load::run(target, ops, config, progress).await;
        if let Some((stop, handle)) = ticker {
            stop.cancel();
            let _ = handle.await;
        }
        if let Some(s) = embedded {
            s.shutdown().await;
        }
        let report = match outcome {
            Ok(r) => r,
            Err(e) => return error(e),
        };
        out!("{}", report.summary());
        if let Some(dir) = &args.out {
            let html = report.html().and_then(|h| {
                std::fs::write(dir.join("report.html"), h)
                    .map_err(|e| format!("cannot write {}: {e}", dir.join("report.html").display()))
            });
            if let Err(e) = report.write(dir).and(html) {
                return error(e);
            }
            outln!(
                "written: {} and report.html",
                dir.join("load.json").display()
            );
        }
        if report.ledger.operations == 0 {
            // Nothing judged is not a pass: the target provided no interaction to operate on,
            // or the run ended before the first operation.
            return error(
                "no operation was sent, so nothing was tested (see the stream problems above)",
            );
        }
        ExitCode::from(if report.fails() { EXIT_FAIL } else { EXIT_OK })
    })
}

/// A live line on stderr, once a second, only on a terminal.
fn spawn_progress_line(
    progress: Arc<Progress>,
) -> (
    tokio_util::sync::CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let stop = tokio_util::sync::CancellationToken::new();
    let token = stop.clone();
    let start = Instant::now();
    let handle = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = token.cancelled() => break,
                _ = tick.tick() => {}
            }
            let sent = progress.sent.load(Ordering::Relaxed);
            let secs = start.elapsed().as_secs_f64().max(0.001);
            eprint!(
                "\r{:>6.1}s  {sent} sent ({:.0}/s)  {} notified once  {} problems   ",
                secs,
                sent as f64 / secs,
                progress.notified.load(Ordering::Relaxed),
                progress.problems.load(Ordering::Relaxed)
            );
        }
        eprintln!();
    });
    (stop, handle)
}
