//! `gws-conformance load`: clap → a [`LoadPlan`] (the replayable scenarios, the embedded
//! server's settings or the target file, pacing, shard) → one `command::load::run` call, with
//! a progress line on a terminal → the summary → the exit code (1 when an operation was lost,
//! crossed, duplicated or wrong).

use super::parse_duration;
use super::{EXIT_FAIL, EXIT_OK, ServerArgs, SuiteArgs, TargetArgs, TimeoutArgs, block_on, error};
use clap::Args;
use gws_conformance::command::TargetChoice;
use gws_conformance::command::load::{LoadCommandError, LoadPlan, run};
use gws_conformance::load::{self, Progress};

use gws_conformance::server::state::ServerState;
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
    #[command(flatten)]
    target: TargetArgs,
    /// Agents generating load: the embedded server creates agent1..agentN (default 2); with
    /// --target, the first N agents of the file (default: all of them).
    #[arg(long = "agents", value_name = "N", conflicts_with = "agents")]
    agent_count: Option<usize>,
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
    #[arg(long, value_name = "K/N", value_parser = gws_conformance::plan::parse_shard)]
    shard: Option<(usize, usize)>,
    /// Write load.json and report.html here.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    timeouts: TimeoutArgs,
    /// Settings of the embedded reference server (not with --target).
    #[command(
        flatten,
        next_help_heading = "Embedded reference server (without --target)"
    )]
    server: ServerArgs,
}

fn plan(args: &LoadArgs) -> Result<LoadPlan, ExitCode> {
    let (_, cases) = args.suite.plan(None)?;
    let target = match args.target.load()? {
        Some(_) if args.server.given() => {
            return Err(error(
                "the embedded server's settings (--defect, --csrf, --agent, …) do not apply with --target",
            ));
        }
        Some(t) => TargetChoice::File(t),
        None => {
            let mut config = args.server.to_config();
            if !args.server.given_agents() {
                config.agents = ServerState::numbered_agents(args.agent_count.unwrap_or(2).max(1));
            }
            TargetChoice::Embedded(config)
        }
    };
    Ok(LoadPlan {
        ops: load::model::replayable(&cases, args.shared > 1),
        target,
        agents: args.agent_count,
        shard: args.shard,
        duration: args.duration,
        rate: args.rate,
        concurrency: args.concurrency,
        shared: args.shared,
        ops_per_agent: args.ops_per_agent,
        interactions_per_agent: args.interactions_per_agent,
        request_timeout: args.timeouts.request_timeout,
        notification_timeout: args.timeouts.notification_timeout,
        out: args.out.clone(),
    })
}

pub fn load(args: LoadArgs) -> ExitCode {
    let plan = match plan(&args) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if let Err(e) = plan.check() {
        return error(e);
    }
    let out = plan.out.clone();
    let ran = block_on(async move {
        let progress = Arc::new(Progress::default());
        let ticker = std::io::stderr()
            .is_terminal()
            .then(|| spawn_progress_line(Arc::clone(&progress)));
        let outcome = run(plan, progress).await;
        if let Some((stop, handle)) = ticker {
            stop.cancel();
            let _ = handle.await;
        }
        outcome
    });
    let report = match ran {
        Err(code) => return code,
        Ok(Err(LoadCommandError::NothingSent(report))) => {
            out!("{}", report.summary());
            return error(LoadCommandError::NothingSent(report));
        }
        Ok(Err(e)) => return error(e),
        Ok(Ok(report)) => report,
    };
    out!("{}", report.summary());
    if let Some(dir) = out {
        outln!(
            "written: {} and report.html",
            dir.join("load.json").display()
        );
    }
    ExitCode::from(if report.fails() { EXIT_FAIL } else { EXIT_OK })
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
