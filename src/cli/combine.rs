//! `compare` and `merge`: clap → one `command::combine` call over finished result
//! directories → what was written → the exit code (merge: the merged verdict's, as `run` or
//! `load` would give).

use super::{EXIT_ERROR, EXIT_FAIL, EXIT_OK, SuiteArgs, error, spec_errors};
use clap::Args;
use gws_conformance::command::{self, Merged};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct CompareArgs {
    /// Result directories (each with results.json), one per target or run.
    #[arg(required = true, num_args = 2.., value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Write compare.json, compare.md and compare.html here.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    suite: SuiteArgs,
}

#[derive(Args)]
pub struct MergeArgs {
    /// Result directories to combine (e.g. one per shard).
    #[arg(required = true, num_args = 1.., value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Where the merged results and reports go.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Judge the merged results for this profile (default: the profile of the first run).
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    #[command(flatten)]
    suite: SuiteArgs,
}

pub fn compare(args: CompareArgs) -> ExitCode {
    let suite = match args.suite.load() {
        Ok(s) => s,
        Err(e) => return spec_errors(&e),
    };
    match command::combine::compare(&suite, &args.dirs, args.out.as_deref()) {
        Err(e) => error(e),
        Ok(compared) => {
            match &args.out {
                Some(out) => outln!("{}; written to {}", compared.headline, out.display()),
                None => out!("{}", compared.markdown),
            }
            ExitCode::from(EXIT_OK)
        }
    }
}

pub fn merge(args: MergeArgs) -> ExitCode {
    let suite = match args.suite.load() {
        Ok(s) => s,
        Err(e) => return spec_errors(&e),
    };
    let merged = command::combine::merge(&suite, &args.dirs, args.profile.as_deref(), &args.out);
    match merged {
        Err(e) => error(e),
        Ok(Merged::Load(report)) => {
            out!("{}", report.summary());
            outln!(
                "merged {} load results into {}",
                args.dirs.len(),
                args.out.join("load.json").display()
            );
            ExitCode::from(if report.fails() { EXIT_FAIL } else { EXIT_OK })
        }
        Ok(Merged::Suite {
            record,
            not_started,
        }) => {
            outln!(
                "merged {} results from {} directories into {}",
                record.results.len(),
                args.dirs.len(),
                args.out.display()
            );
            if let Some(v) = &record.verdict {
                outln!("verdict: {}", v.summary());
            }
            match not_started {
                Some(cause) => {
                    eprintln!(
                        "error: a merged run could not start, so its share is untested: {cause}"
                    );
                    ExitCode::from(EXIT_ERROR)
                }
                None => ExitCode::from(EXIT_OK),
            }
        }
    }
}
