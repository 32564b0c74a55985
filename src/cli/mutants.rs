//! `gws-conformance mutants`: clap → the defects and run settings → one `mutants` call (the
//! suite, or `load`, against each defect) → the kill matrix (`report::kill_matrix`) or JSON →
//! exit 0 when every defect is killed.

use super::{EXIT_ERROR, EXIT_FAIL, EXIT_OK, SuiteArgs, block_on, parse_duration};
use clap::Args;
use gws_conformance::check::Checker;
use gws_conformance::command::mutants::{Scope, VariantOutcome, kill_matrix};
use gws_conformance::run::{Deadlines, RunConfig};
use gws_conformance::server::Defect;
use gws_conformance::suite;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct MutantsArgs {
    #[command(flatten)]
    suite: SuiteArgs,
    /// Only these defects (repeatable; default: all).
    #[arg(long = "defect", value_name = "NAME")]
    defects: Vec<Defect>,
    /// Print the matrix as JSON.
    #[arg(long)]
    json: bool,
    /// Scenarios in flight per server.
    #[arg(long, short = 'j', default_value_t = 32)]
    jobs: usize,
    /// Servers run at once.
    #[arg(long, default_value_t = 4)]
    parallel: usize,
    /// Stop each defect's run at its first kill: the same score and clean run in a fraction
    /// of the time, but `killed_by` lists only the killers seen by then.
    #[arg(long, conflicts_with = "load")]
    first_kill: bool,
    /// Run the load-only defects (or the named ones) against `load` instead of the suite: a
    /// defect is killed when the load ledger fails.
    #[arg(long)]
    load: bool,
    /// Agents per server with --load (more than 50 arm the load-only defects).
    #[arg(long, value_name = "N", default_value_t = 60, requires = "load")]
    load_agents: usize,
    /// Load duration per server with --load.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration, requires = "load")]
    load_duration: Duration,
    /// Deadline from an operation to its notification (short: defects that never notify
    /// make every scenario wait this long).
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    notification_timeout: Duration,
}

pub fn mutants(args: MutantsArgs) -> ExitCode {
    let (suite, cases) = match args.suite.plan(None) {
        Ok(planned) => planned,
        Err(code) => return code,
    };
    let defects = match args.defects.is_empty() {
        true => gws_conformance::command::mutants::default_defects(args.load),
        false => args.defects.clone(),
    };
    let checker = Checker {
        snapshots: Some(suite::builtin_snapshots()),
        redact_keys: suite.media.redact_keys.clone(),
        own_snapshots: None,
        gws_version: Default::default(),
    };
    let config = RunConfig {
        jobs: args.jobs.max(1),
        deadlines: Deadlines {
            notification: args.notification_timeout,
            ..Deadlines::default()
        },
        ..RunConfig::default()
    };
    let quiet = args.json;
    let report = |o: &VariantOutcome| {
        if !quiet {
            eprintln!("  ran {:<28} {} failing kinds", o.server, o.killed_by.len());
        }
    };
    let matrix = match if args.load {
        let ops = gws_conformance::load::model::replayable(&cases, true);
        block_on(gws_conformance::command::mutants::load_kill_matrix(
            &ops,
            &defects,
            args.load_agents.max(1),
            args.load_duration,
            report,
        ))
    } else {
        block_on(kill_matrix(
            &cases,
            &checker,
            &config,
            &defects,
            args.parallel,
            match args.first_kill {
                true => Scope::FirstKill,
                false => Scope::Full,
            },
            |o: &VariantOutcome| {
                if !quiet {
                    eprintln!("  ran {:<28} {} must failures", o.server, o.killed_by.len());
                }
            },
        ))
    } {
        Ok(matrix) => matrix,
        Err(code) => return code,
    };
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&matrix).unwrap_or_default()
        );
    } else {
        out!(
            "{}",
            gws_conformance::report::kill_matrix::render(&matrix, args.load)
        );
    }
    if matrix.clean.error.is_some() || matrix.defects.iter().any(|d| d.error.is_some()) {
        return ExitCode::from(EXIT_ERROR);
    }
    ExitCode::from(if matrix.perfect() { EXIT_OK } else { EXIT_FAIL })
}
