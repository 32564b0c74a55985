//! `list`, `check` and `schema`: the scenarios listed, the spec files validated, the scenario
//! format's JSON Schema printed. The `check` subcommand keeps its name for users; here it is
//! `validate`, so that "check" in the code means only the check stage.

use super::{EXIT_ERROR, SuiteArgs};
use clap::Args;
use gws_conformance::spec::{self, SpecErrors, Suite};
use gws_conformance::suite;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    suite: SuiteArgs,
    /// One JSON object per scenario.
    #[arg(long)]
    json: bool,
    /// The coverage matrix: media × operation with counts by level.
    #[arg(long, conflicts_with = "json")]
    matrix: bool,
}

#[derive(Args)]
pub struct ValidateArgs {
    /// Spec directories (with media.yaml) or scenario files; default: the built-in suite.
    paths: Vec<PathBuf>,
}

/// Loads a spec directory, printing its notes (e.g. "DIR has no media.yaml; using the built-in
/// media table") on stderr, before any errors they may explain.
pub fn load_dir(dir: &std::path::Path) -> Result<Suite, SpecErrors> {
    let mut notes = Vec::new();
    let loaded = suite::load_dir(dir, &mut notes);
    for note in notes {
        eprintln!("note: {note}");
    }
    loaded
}

/// The suite's errors, each with file, line, column and key path; exit 2.
pub fn spec_errors(errors: &SpecErrors) -> ExitCode {
    eprintln!("{errors}");
    ExitCode::from(EXIT_ERROR)
}

/// The JSON Schema of scenario files, as committed in `specs/scenario.schema.json`.
pub fn scenario_schema() -> String {
    let schema = schemars::schema_for!(spec::ScenarioFile);
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}

pub fn list(args: ListArgs) -> ExitCode {
    let (suite, cases) = match args.suite.plan(None) {
        Ok(planned) => planned,
        Err(code) => return code,
    };
    if args.matrix {
        out!(
            "{}",
            gws_conformance::report::matrix::render(&suite, &cases)
        );
    } else if args.json {
        for c in &cases {
            let line = serde_json::json!({
                "id": c.id,
                "media": c.media,
                "operation": c.scenario.operation,
                "level": c.scenario.level,
                "name": c.scenario.name,
                "source": format!("{}:{}", c.scenario.source.file, c.scenario.source.location.line),
            });
            outln!("{line}");
        }
    } else {
        for c in &cases {
            outln!("{:<6} {}", c.scenario.level.as_str(), c.id);
        }
    }
    ExitCode::SUCCESS
}

pub fn validate(args: ValidateArgs) -> ExitCode {
    let result = if args.paths.is_empty() {
        suite::builtin()
    } else {
        let mut notes = Vec::new();
        let loaded = suite::load_paths(&args.paths, &mut notes);
        for note in notes {
            eprintln!("note: {note}");
        }
        loaded
    };
    match result {
        Ok(suite) => {
            let count: usize = suite.scenarios.iter().map(|s| s.media.len()).sum();
            outln!(
                "ok: {} scenario definitions, {count} scenarios",
                suite.scenarios.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => spec_errors(&e),
    }
}
