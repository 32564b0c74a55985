//! `doctor --target FILE [--profile NAME]`: clap → the target and the media the profile needs
//! → one `doctor::diagnose` call → its one-screen rendering → exit 0 (ready) or 1.

use super::{EXIT_FAIL, SuiteArgs, TimeoutArgs, block_on, error, spec_errors};
use clap::Args;
use gws_conformance::command::doctor::{self, MediaNeed};
use gws_conformance::run::RunConfig;
use gws_conformance::verdict::ProfileChoice;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct DoctorArgs {
    /// The target file to check (see README "Against a real GWS").
    #[arg(long, value_name = "FILE")]
    target: PathBuf,
    /// The profile whose media must work (default: only the media the target provisions).
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    #[command(flatten)]
    timeouts: TimeoutArgs,
    #[command(flatten)]
    suite: SuiteArgs,
}

pub fn doctor(args: DoctorArgs) -> ExitCode {
    let suite = match args.suite.load() {
        Ok(s) => s,
        Err(e) => return spec_errors(&e),
    };
    let needed: Option<Vec<String>> = match &args.profile {
        None => None,
        Some(name) => match ProfileChoice::resolve(&suite, name) {
            Ok(p) => Some(p.media),
            Err(e) => return error(e),
        },
    };
    let target = match gws_conformance::run::target_file::load(&args.target) {
        Ok(t) => t,
        Err(e) => return error(e),
    };
    let media: Vec<MediaNeed> = suite
        .media
        .media
        .iter()
        .map(|(name, facts)| MediaNeed {
            media: name.to_string(),
            feature: facts.feature.clone(),
            needed: needed.as_ref().map(|list| list.iter().any(|m| m == name)),
        })
        .collect();
    let config = RunConfig {
        jobs: 1,
        deadlines: args.timeouts.deadlines(),
        ..RunConfig::default()
    };
    let diagnosis = match block_on(doctor::diagnose(target, config, args.profile, &media)) {
        Ok(d) => d,
        Err(code) => return code,
    };
    out!("{}", diagnosis.render());
    if diagnosis.ready() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAIL)
    }
}
