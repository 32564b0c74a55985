//! The `bench` command's judgement: both benchmarks run end to end ([`suite`] on synthetic
//! scenarios, [`load`] on the load generator), every figure set against the project's
//! performance targets (met or missed), and the figures rendered as a table.
//!
//! Targets are compared here, by the benchmark, never by a timed test. Measuring is the
//! parent module's job; this module only orders the runs, judges and renders.

use super::load::{BaselineLoad, HarnessLoad};
use super::{BenchError, Machine, Measurement};
use crate::load::model::LoadOp;
use crate::spec::MediaTable;
use serde::Serialize;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// One performance target and whether the run met it.
pub type Target = (String, bool);

/// `bench`: the harness at K/10 and K synthetic scenarios, the raw baseline, the default suite.
#[derive(Debug, Serialize)]
pub struct SuiteBench {
    pub machine: Machine,
    pub jobs: usize,
    pub default_suite_wall_secs: Option<f64>,
    pub small: Measurement,
    pub harness: Measurement,
    pub baseline: Measurement,
    pub overhead_ratio: f64,
    pub linearity_ratio: f64,
    pub peak_memory_mib: Option<f64>,
    pub targets: Vec<Target>,
}

/// `bench --load`: the load generator at a quarter, half and all of the agents, and its raw
/// baseline.
#[derive(Debug, Serialize)]
pub struct LoadBench {
    pub machine: Machine,
    pub harness: HarnessLoad,
    pub baseline: BaselineLoad,
    /// Baseline ops/s over harness ops/s.
    pub overhead_ratio: f64,
    /// The per-operation CPU cost at smaller agent counts (shorter runs).
    pub scaling: Vec<HarnessLoad>,
    pub targets: Vec<Target>,
}

/// Whether every target was met (the command's exit code).
pub fn all_met(targets: &[Target]) -> bool {
    targets.iter().all(|(_, met)| *met)
}

/// Runs `bench`: `k` synthetic scenarios (and `k / 10`) with `jobs` in flight; `binary` is
/// timed on `run -q` for the default-suite target.
pub async fn suite(
    media: &MediaTable,
    k: usize,
    jobs: usize,
    binary: Option<&std::path::Path>,
) -> Result<SuiteBench, BenchError> {
    let k = k.max(10);
    let default_suite_wall_secs = binary.and_then(default_suite_wall);
    let small_cases = super::synthetic_cases(media, k / 10);
    let small = super::harness(&small_cases, jobs, &media.redact_keys).await?;
    drop(small_cases);
    let cases = super::synthetic_cases(media, k);
    let harness = super::harness(&cases, jobs, &media.redact_keys).await?;
    let peak_memory_mib = super::peak_memory_mib();
    let baseline = super::baseline(&cases, jobs).await?;
    let overhead_ratio = harness.wall_secs / baseline.wall_secs;
    // Seconds per scenario at K relative to K/10: 1.0 is perfectly linear.
    let linearity_ratio =
        (harness.wall_secs / harness.scenarios as f64) / (small.wall_secs / small.scenarios as f64);
    let targets = vec![
        (
            "default suite under 1.5 s wall (server start included)".to_string(),
            default_suite_wall_secs.is_some_and(|w| w < 1.5),
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
            peak_memory_mib.is_some_and(|p| p < 100.0),
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
    Ok(SuiteBench {
        machine: Machine::read(),
        jobs,
        default_suite_wall_secs,
        small,
        harness,
        baseline,
        overhead_ratio,
        linearity_ratio,
        peak_memory_mib,
        targets,
    })
}

/// Times `binary run -q`, server start included.
fn default_suite_wall(binary: &std::path::Path) -> Option<f64> {
    let started = Instant::now();
    let status = std::process::Command::new(binary)
        .args(["run", "-q"])
        .stdout(std::process::Stdio::null())
        .status()
        .ok()?;
    status.success().then(|| started.elapsed().as_secs_f64())
}

/// Runs `bench --load`: `agents` agents for `duration` (a quarter and half of them for a
/// sixth of it, at least 5 s), then the raw baseline for as long.
pub async fn load(
    ops: &[LoadOp],
    agents: usize,
    duration: Duration,
) -> Result<LoadBench, BenchError> {
    let agents = agents.max(1);
    let short = (duration / 6).max(Duration::from_secs(5));
    let mut scaling = Vec::new();
    for n in [agents / 4, agents / 2] {
        if n >= 1 {
            scaling.push(super::load::harness(ops, n, short).await?.0);
        }
    }
    let (harness, _) = super::load::harness(ops, agents, duration).await?;
    let baseline = super::load::baseline(ops, agents, duration).await?;
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
    Ok(LoadBench {
        machine: Machine::read(),
        harness,
        baseline,
        overhead_ratio,
        scaling,
        targets,
    })
}

fn targets_text(out: &mut String, targets: &[Target]) {
    for (name, met) in targets {
        let _ = writeln!(out, "{} {name}", if *met { "met   " } else { "MISSED" });
    }
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

impl SuiteBench {
    /// The figures as a table, the ratios, the time split and every target met or missed.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        let _ = writeln!(
            out,
            "machine: {} CPUs ({}), {:.1} GiB",
            m.cpus, m.cpu_model, m.memory_gib
        );
        let _ = writeln!(out, "jobs: {}\n", self.jobs);
        let _ = writeln!(
            out,
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
        let _ = writeln!(out, "{}", row("harness (K/10)", &self.small));
        let _ = writeln!(out, "{}", row("harness", &self.harness));
        let _ = writeln!(out, "{}\n", row("raw baseline", &self.baseline));
        let _ = match self.default_suite_wall_secs {
            Some(w) => writeln!(out, "default suite (run -q):  {w:.2} s wall"),
            None => writeln!(out, "default suite (run -q):  could not be timed"),
        };
        let _ = writeln!(
            out,
            "harness / baseline:      {:.2}× wall",
            self.overhead_ratio
        );
        let _ = writeln!(
            out,
            "linearity (K vs K/10):   {:.2}× per-scenario cost",
            self.linearity_ratio
        );
        let _ = match self.peak_memory_mib {
            Some(p) => writeln!(out, "peak memory:             {p:.1} MiB"),
            None => writeln!(out, "peak memory:             unknown"),
        };
        let h = &self.harness;
        let client = (h.cpu_secs - h.server_busy_secs - h.check_secs).max(0.0);
        let _ = writeln!(
            out,
            "time split (harness):    server {:.2} s, checks {:.2} s, client and runtime {:.2} s of {:.2} CPU s\n",
            h.server_busy_secs, h.check_secs, client, h.cpu_secs
        );
        targets_text(&mut out, &self.targets);
        out
    }
}

impl LoadBench {
    /// The runs by agent count, the baseline, memory over time and every target.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        let _ = writeln!(
            out,
            "machine: {} CPUs ({}), {:.1} GiB\n",
            m.cpus, m.cpu_model, m.memory_gib
        );
        let _ = writeln!(
            out,
            "{:<22} {:>7} {:>10} {:>9} {:>10} {:>12} {:>9}",
            "run", "agents", "ops", "ops/s", "p99 ms", "cpu µs/op", "failing"
        );
        for h in self.scaling.iter().chain(std::iter::once(&self.harness)) {
            let _ = writeln!(
                out,
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
        let b = &self.baseline;
        let _ = writeln!(
            out,
            "{:<22} {:>7} {:>10} {:>9.0}",
            "raw baseline", b.agents, b.operations, b.ops_per_sec
        );
        let rss = |r: Option<f64>| r.map_or("?".to_string(), |r| format!("{r:.1}"));
        let [start, middle, end] = self.harness.rss_mib;
        let _ = writeln!(
            out,
            "\nRSS (MiB): start {}, middle {}, end {}",
            rss(start),
            rss(middle),
            rss(end)
        );
        let _ = writeln!(out, "baseline / harness: {:.2}×\n", self.overhead_ratio);
        targets_text(&mut out, &self.targets);
        out
    }
}
