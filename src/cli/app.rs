//! The command line's shape (clap) and the dispatch of each subcommand to its file.

use super::{EXIT_ERROR, bench, combine, doctor, load, mutants, run, serve, spec};
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "gws-conformance",
    version,
    about = "Conformance harness for the GWS API v2 user-data operations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the suite against a target (default: the embedded reference server).
    Run(Box<run::RunArgs>),
    /// List the scenarios.
    List(spec::ListArgs),
    /// Validate spec files.
    #[command(name = "check")]
    Validate(spec::ValidateArgs),
    /// Run the reference server standalone.
    Serve(serve::ServeArgs),
    /// Print the JSON Schema of the scenario format.
    Schema,
    /// Run the suite against every injected server defect and print the kill matrix.
    Mutants(mutants::MutantsArgs),
    /// Compare result directories: targets × scenarios, conformance, latency, payload diffs.
    Compare(combine::CompareArgs),
    /// Merge result directories (e.g. shards) into one, with reports and verdict.
    Merge(combine::MergeArgs),
    /// Measure throughput, latency, memory and overhead on synthetic scenarios.
    Bench(bench::BenchArgs),
    /// Conformance under load: many agents replay the positive scenarios; every operation is
    /// judged and accounted for (notified once, lost, duplicated, crossed, late, wrong).
    Load(Box<load::LoadArgs>),
    /// Check a real server before a run: reachability, login, CometD, features, devices,
    /// queues, and how each media can be provisioned (one created and ended per media).
    Doctor(doctor::DoctorArgs),
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EXIT_ERROR)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Run(args) => run::run(*args),
        Command::List(args) => spec::list(args),
        Command::Validate(args) => spec::validate(args),
        Command::Serve(args) => serve::serve(args),
        Command::Mutants(args) => mutants::mutants(args),
        Command::Compare(args) => combine::compare(args),
        Command::Merge(args) => combine::merge(args),
        Command::Bench(args) => bench::bench(args),
        Command::Load(args) => load::load(*args),
        Command::Doctor(args) => doctor::doctor(args),
        Command::Schema => {
            outln!("{}", spec::scenario_schema());
            ExitCode::SUCCESS
        }
    }
}
