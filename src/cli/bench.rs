//! `gws-conformance bench`: throughput, latency, memory and overhead against a raw baseline,
//! checked against the project's performance targets.

use super::{EXIT_ERROR, EXIT_FAIL, EXIT_OK, error};
use clap::Args;
use gws_conformance::bench::{self, Machine, Measurement};
use gws_conformance::suite;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Args)]
pub struct BenchArgs {
    /// Synthetic scenarios per run (K).
    #[arg(long, short = 'k', default_value_t = 10_000)]
    scenarios: usize,
    /// Scenarios in flight at once.
    #[arg(long, short = 'j', default_value_t = 64)]
    jobs: usize,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
    /// Measure the load generator instead (`load` on the embedded server): checked
    /// operations/s, RSS over time, per-operation cost by agent count, raw baseline.
    #[arg(long)]
    load: bool,
    /// Agents of the main load measurement.
    #[arg(long, value_name = "N", default_value_t = 200)]
    load_agents: usize,
    /// Duration of the main load measurement (and of its baseline).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = super::parse_duration)]
    load_duration: std::time::Duration,
}

#[derive(serde::Serialize)]
struct LoadBenchReport {
    machine: Machine,
    harness: bench::load::HarnessLoad,
    baseline: bench::load::BaselineLoad,
    /// Baseline ops/s over harness ops/s.
    overhead_ratio: f64,
    /// The per-operation CPU cost at smaller agent counts (shorter runs).
    scaling: Vec<bench::load::HarnessLoad>,
    targets: Vec<(String, bool)>,
}

fn bench_load(args: &BenchArgs) -> ExitCode {
    let suite = match suite::builtin() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let cases = gws_conformance::plan::build(&suite, &Default::default());
    let ops = gws_conformance::load::model::replayable(&cases, false);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return error(format!("cannot start the async runtime: {e}")),
    };
    let agents = args.load_agents.max(1);
    let duration = args.load_duration;
    let short = (duration / 6).max(std::time::Duration::from_secs(5));
    let outcome = runtime.block_on(async {
        let mut scaling = Vec::new();
        for n in [agents / 4, agents / 2] {
            if n >= 1 {
                scaling.push(bench::load::harness(&ops, n, short).await?.0);
            }
        }
        let (harness, _) = bench::load::harness(&ops, agents, duration).await?;
        let baseline = bench::load::baseline(&ops, agents, duration).await?;
        Ok::<_, String>((scaling, harness, baseline))
    });
    let (scaling, harness, baseline) = match outcome {
        Ok(o) => o,
        Err(e) => return error(format!("load benchmark failed: {e}")),
    };
    let overhead_ratio = baseline.ops_per_sec / harness.ops_per_sec.max(0.001);
    let rss_ok = harness.rss_mib.iter().all(|r| r.is_some_and(|r| r < 200.0));
    let flat = match harness.rss_mib {
        [_, Some(middle), Some(end)] => end <= middle * 1.2 + 5.0,
        _ => false,
    };
    let smallest = scaling
        .first()
        .map_or(harness.cpu_us_per_op, |s| s.cpu_us_per_op);
    let linear = harness.cpu_us_per_op <= smallest * 1.5;
    let secs = duration.as_secs_f64();
    let targets = vec![
        (
            format!("at least 3000 checked operations/s with {agents} agents over {secs:.0} s"),
            harness.ops_per_sec >= 3000.0,
        ),
        (
            "RSS under 200 MB at the start, middle and end (harness and embedded server)".into(),
            rss_ok,
        ),
        ("RSS flat in time (end within 20% of middle)".into(), flat),
        (
            "per-operation CPU cost linear in agents (within 1.5× of the smallest count)".into(),
            linear,
        ),
        (
            "raw baseline / harness ≤ 1.3 (operations per second)".into(),
            overhead_ratio <= 1.3,
        ),
        (
            "every operation notified once".into(),
            harness.failing == 0 && scaling.iter().all(|s| s.failing == 0),
        ),
    ];
    let report = LoadBenchReport {
        machine: Machine::read(),
        harness,
        baseline,
        overhead_ratio,
        scaling,
        targets,
    };
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        let m = &report.machine;
        outln!(
            "machine: {} CPUs ({}), {:.1} GiB\n",
            m.cpus,
            m.cpu_model,
            m.memory_gib
        );
        outln!(
            "{:<22} {:>7} {:>10} {:>9} {:>10} {:>12} {:>9}",
            "run",
            "agents",
            "ops",
            "ops/s",
            "p99 ms",
            "cpu µs/op",
            "failing"
        );
        for h in report
            .scaling
            .iter()
            .chain(std::iter::once(&report.harness))
        {
            outln!(
                "{:<22} {:>7} {:>10} {:>9.0} {:>10.2} {:>12.1} {:>9}",
                format!("harness ({:.0} s)", h.wall_secs),
                h.agents,
                h.operations,
                h.ops_per_sec,
                h.notification_p99_ms,
                h.cpu_us_per_op,
                h.failing
            );
        }
        let b = &report.baseline;
        outln!(
            "{:<22} {:>7} {:>10} {:>9.0}",
            "raw baseline",
            b.agents,
            b.operations,
            b.ops_per_sec
        );
        let rss = |r: Option<f64>| r.map_or("?".to_string(), |r| format!("{r:.1}"));
        let [start, middle, end] = report.harness.rss_mib;
        outln!(
            "\nRSS (MiB): start {}, middle {}, end {}",
            rss(start),
            rss(middle),
            rss(end)
        );
        outln!("baseline / harness: {:.2}×\n", report.overhead_ratio);
        for (name, met) in &report.targets {
            outln!("{} {name}", if *met { "met   " } else { "MISSED" });
        }
    }
    ExitCode::from(if report.targets.iter().all(|(_, met)| *met) {
        EXIT_OK
    } else {
        EXIT_FAIL
    })
}

#[derive(serde::Serialize)]
struct Report {
    machine: Machine,
    default_suite_wall_secs: Option<f64>,
    small: Measurement,
    harness: Measurement,
    baseline: Measurement,
    overhead_ratio: f64,
    linearity_ratio: f64,
    peak_memory_mib: Option<f64>,
    targets: Vec<(String, bool)>,
}

fn row(name: &str, m: &Measurement) -> String {
    format!(
        "{name:<22} {:>7} {:>9.2} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7.2} {:>6}",
        m.scenarios,
        m.wall_secs,
        m.scenarios_per_sec,
        m.latency_p50_ms,
        m.latency_p95_ms,
        m.latency_p99_ms,
        m.cpu_secs,
        m.server_busy_secs,
        m.check_secs,
        m.failures
    )
}

/// Times `gws-conformance run -q` (this binary), server start included.
fn default_suite_wall() -> Option<f64> {
    let exe = std::env::current_exe().ok()?;
    let started = Instant::now();
    let status = std::process::Command::new(exe)
        .args(["run", "-q"])
        .stdout(std::process::Stdio::null())
        .status()
        .ok()?;
    status.success().then(|| started.elapsed().as_secs_f64())
}

pub fn bench(args: BenchArgs) -> ExitCode {
    if args.load {
        return bench_load(&args);
    }
    let suite = match suite::builtin() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let k = args.scenarios.max(10);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return error(format!("cannot start the async runtime: {e}")),
    };
    let default_suite = default_suite_wall();
    let outcome = runtime.block_on(async {
        let small_cases = bench::synthetic_cases(&suite.media, k / 10);
        let small = bench::harness(&small_cases, args.jobs, &suite.media.redact_keys).await?;
        drop(small_cases);
        let cases = bench::synthetic_cases(&suite.media, k);
        let harness = bench::harness(&cases, args.jobs, &suite.media.redact_keys).await?;
        let peak = bench::peak_memory_mib();
        let baseline = bench::baseline(&cases, args.jobs).await?;
        Ok::<_, String>((small, harness, peak, baseline))
    });
    let (small, harness, peak, baseline) = match outcome {
        Ok(o) => o,
        Err(e) => return error(format!("benchmark failed: {e}")),
    };
    let overhead_ratio = harness.wall_secs / baseline.wall_secs;
    // Seconds per scenario at K relative to K/10: 1.0 is perfectly linear.
    let linearity_ratio =
        (harness.wall_secs / harness.scenarios as f64) / (small.wall_secs / small.scenarios as f64);
    let targets = vec![
        (
            "default suite under 1.5 s wall (server start included)".to_string(),
            default_suite.is_some_and(|w| w < 1.5),
        ),
        (
            format!("at least 2000 scenarios/s at K = {k}"),
            harness.scenarios_per_sec >= 2000.0,
        ),
        (
            "harness / raw baseline ≤ 1.3".to_string(),
            overhead_ratio <= 1.3,
        ),
        (
            format!("peak memory under 100 MB at K = {k}"),
            peak.is_some_and(|p| p < 100.0),
        ),
        (
            "time linear in K (per-scenario cost at K within 1.5× of K/10)".to_string(),
            linearity_ratio <= 1.5,
        ),
        (
            "every scenario passed".to_string(),
            harness.failures == 0 && small.failures == 0 && baseline.failures == 0,
        ),
    ];
    let report = Report {
        machine: Machine::read(),
        default_suite_wall_secs: default_suite,
        small,
        harness,
        baseline,
        overhead_ratio,
        linearity_ratio,
        peak_memory_mib: peak,
        targets,
    };
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        let m = &report.machine;
        outln!(
            "machine: {} CPUs ({}), {:.1} GiB",
            m.cpus,
            m.cpu_model,
            m.memory_gib
        );
        outln!("jobs: {}\n", args.jobs);
        outln!(
            "{:<22} {:>7} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>6}",
            "run",
            "K",
            "wall s",
            "scen/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "cpu s",
            "server s",
            "check s",
            "fails"
        );
        outln!("{}", row("harness (K/10)", &report.small));
        outln!("{}", row("harness", &report.harness));
        outln!("{}", row("raw baseline", &report.baseline));
        outln!();
        match report.default_suite_wall_secs {
            Some(w) => outln!("default suite (run -q):  {w:.2} s wall"),
            None => outln!("default suite (run -q):  could not be timed"),
        }
        outln!(
            "harness / baseline:      {:.2}× wall",
            report.overhead_ratio
        );
        outln!(
            "linearity (K vs K/10):   {:.2}× per-scenario cost",
            report.linearity_ratio
        );
        match report.peak_memory_mib {
            Some(p) => outln!("peak memory:             {p:.1} MiB"),
            None => outln!("peak memory:             unknown"),
        }
        let h = &report.harness;
        let client = (h.cpu_secs - h.server_busy_secs - h.check_secs).max(0.0);
        outln!(
            "time split (harness):    server {:.2} s, checks {:.2} s, client and runtime {:.2} s of {:.2} CPU s",
            h.server_busy_secs,
            h.check_secs,
            client,
            h.cpu_secs
        );
        outln!();
        for (name, met) in &report.targets {
            outln!("{} {name}", if *met { "met   " } else { "MISSED" });
        }
    }
    ExitCode::from(if report.targets.iter().all(|(_, met)| *met) {
        EXIT_OK
    } else {
        EXIT_FAIL
    })
}
