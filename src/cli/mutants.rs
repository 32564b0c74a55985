//! `gws-conformance mutants`: the kill matrix of the suite against injected server defects.

use super::{EXIT_ERROR, EXIT_FAIL, EXIT_OK, SuiteArgs, error, parse_duration};
use clap::Args;
use gws_conformance::check::Checker;
use gws_conformance::mutants::{KillMatrix, VariantOutcome, kill_matrix};
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
    defects: Vec<String>,
    /// Print the matrix as JSON.
    #[arg(long)]
    json: bool,
    /// Scenarios in flight per server.
    #[arg(long, short = 'j', default_value_t = 32)]
    jobs: usize,
    /// Servers run at once.
    #[arg(long, default_value_t = 4)]
    parallel: usize,
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

fn short_list(ids: &[String], max: usize) -> String {
    let mut shown: Vec<&str> = ids.iter().take(max).map(String::as_str).collect();
    if ids.len() > max {
        shown.push("…");
    }
    shown.join(", ")
}

fn render(matrix: &KillMatrix, load: bool) -> String {
    let mut out = String::new();
    let width = matrix
        .defects
        .iter()
        .map(|d| d.server.len())
        .max()
        .unwrap_or(10)
        .max(12);
    out.push_str(&format!(
        "{:<width$}  {:>6}  {:>7}  killed by (must scenarios that failed)\n",
        "defect", "killed", "kills"
    ));
    for d in &matrix.defects {
        let mark = if d.error.is_some() {
            "ERROR"
        } else if d.killed() {
            "yes"
        } else {
            "NO"
        };
        let detail = match &d.error {
            Some(e) => e.clone(),
            None if d.killed() => short_list(&d.killed_by, 3),
            None => format!("SURVIVED — {}", d.description),
        };
        out.push_str(&format!(
            "{:<width$}  {:>6}  {:>7}  {detail}\n",
            d.server,
            mark,
            d.killed_by.len()
        ));
    }
    let clean = &matrix.clean;
    let clean_problems: Vec<&(String, gws_conformance::result::Grade)> = clean
        .other
        .iter()
        .filter(|(_, g)| *g != gws_conformance::result::Grade::NotApplicable)
        .collect();
    out.push_str(&format!(
        "\nclean server: {} scenarios, {} must failures, {} other problems{}\n",
        matrix.scenarios,
        clean.killed_by.len(),
        clean_problems.len(),
        clean
            .error
            .as_ref()
            .map(|e| format!(" — error: {e}"))
            .unwrap_or_default()
    ));
    for id in clean.killed_by.iter().take(10) {
        out.push_str(&format!("  fails on the clean server: {id}\n"));
    }
    out.push_str(&format!(
        "score: {}/{} defects killed ({:.0}%)\n",
        matrix.killed,
        matrix.defects.len(),
        matrix.score
    ));
    let load_only: Vec<&str> = Defect::ALL
        .iter()
        .filter(|d| d.load_only())
        .map(|d| d.name())
        .collect();
    if !load && !load_only.is_empty() {
        out.push_str(&format!(
            "load-only defects (not run by the suite; `load --defect NAME` catches them): {}\n",
            load_only.join(", ")
        ));
    }
    let survivors = matrix.survivors();
    if !survivors.is_empty() {
        out.push_str(&format!("surviving defects: {}\n", survivors.join(", ")));
    }
    out
}

pub fn mutants(args: MutantsArgs) -> ExitCode {
    let (suite, cases) = match args.suite.plan(None) {
        Ok(planned) => planned,
        Err(code) => return code,
    };
    let defects: Vec<Defect> = if args.defects.is_empty() && args.load {
        Defect::ALL
            .iter()
            .copied()
            .filter(|d| d.load_only())
            .collect()
    } else if args.defects.is_empty() {
        // Load-only defects cannot act on the suite's two agents; `load` catches them.
        // Warning-only ones leave the server conformant: the suite only warns.
        Defect::ALL
            .iter()
            .copied()
            .filter(|d| d.in_kill_matrix())
            .collect()
    } else {
        let mut out = Vec::new();
        for name in &args.defects {
            match Defect::parse(name) {
                Some(d) => out.push(d),
                None => {
                    return error(format!(
                        "unknown defect `{name}`; `gws-conformance serve --list-defects` lists them"
                    ));
                }
            }
        }
        out
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
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return error(format!("cannot start the async runtime: {e}")),
    };
    let quiet = args.json;
    let report = |o: &VariantOutcome| {
        if !quiet {
            eprintln!("  ran {:<28} {} failing kinds", o.server, o.killed_by.len());
        }
    };
    let matrix = if args.load {
        let ops = gws_conformance::load::model::replayable(&cases, true);
        runtime.block_on(gws_conformance::mutants::load_kill_matrix(
            &ops,
            &defects,
            args.load_agents.max(1),
            args.load_duration,
            report,
        ))
    } else {
        runtime.block_on(kill_matrix(
            &cases,
            &checker,
            &config,
            &defects,
            args.parallel,
            |o: &VariantOutcome| {
                if !quiet {
                    eprintln!("  ran {:<28} {} must failures", o.server, o.killed_by.len());
                }
            },
        ))
    };
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&matrix).unwrap_or_default()
        );
    } else {
        out!("{}", render(&matrix, args.load));
    }
    if matrix.clean.error.is_some() || matrix.defects.iter().any(|d| d.error.is_some()) {
        return ExitCode::from(EXIT_ERROR);
    }
    ExitCode::from(if matrix.perfect() { EXIT_OK } else { EXIT_FAIL })
}
