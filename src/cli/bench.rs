//! `gws-conformance bench`: clap → one `bench::targets` call (the suite benchmark or, with
//! `--load`, the load benchmark) → its table or JSON → exit 0 when every target is met, 1
//! otherwise. The runs and the targets are the library's.

use super::{EXIT_ERROR, EXIT_FAIL, EXIT_OK, block_on, error, parse_duration};
use clap::Args;
use gws_conformance::command::bench::targets;
use gws_conformance::suite;
use std::process::ExitCode;

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
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    load_duration: std::time::Duration,
}

/// Prints the report (JSON or its table) and gives the exit code of its targets.
fn show<R: serde::Serialize>(
    report: &R,
    json: bool,
    table: impl FnOnce(&R) -> String,
    met: bool,
) -> ExitCode {
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(report).unwrap_or_default()
        );
    } else {
        out!("{}", table(report));
    }
    ExitCode::from(if met { EXIT_OK } else { EXIT_FAIL })
}

pub fn bench(args: BenchArgs) -> ExitCode {
    let suite = match suite::builtin() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    if args.load {
        let cases = gws_conformance::plan::build(&suite, &Default::default());
        let ops = gws_conformance::load::model::replayable(&cases, false);
        return match block_on(targets::load(&ops, args.load_agents, args.load_duration)) {
            Err(code) => code,
            Ok(Err(e)) => error(format!("load benchmark failed: {e}")),
            Ok(Ok(r)) => show(
                &r,
                args.json,
                targets::LoadBench::render,
                targets::all_met(&r.targets),
            ),
        };
    }
    let binary = std::env::current_exe().ok();
    match block_on(targets::suite(
        &suite.media,
        args.scenarios,
        args.jobs,
        binary.as_deref(),
    )) {
        Err(code) => code,
        Ok(Err(e)) => error(format!("benchmark failed: {e}")),
        Ok(Ok(r)) => show(
            &r,
            args.json,
            targets::SuiteBench::render,
            targets::all_met(&r.targets),
        ),
    }
}
