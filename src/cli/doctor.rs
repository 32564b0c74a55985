//! `doctor --target FILE [--profile NAME]`: clap → the target and the media the profile needs
//! → one `doctor::diagnose` call → its one-screen rendering → exit 0 (ready) or 1.

use super::{EXIT_FAIL, SuiteArgs, error, parse_duration, spec_errors};
use clap::Args;
use gws_conformance::doctor::{self, MediaNeed};
use gws_conformance::run::{Deadlines, RunConfig};
use gws_conformance::verdict;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct DoctorArgs {
    /// The target file to check (see README "Against a real GWS").
    #[arg(long, value_name = "FILE")]
    target: PathBuf,
    /// The profile whose media must work (default: only the media the target provisions).
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Deadline of each HTTP request.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    request_timeout: Duration,
    /// Deadline from a creating request to the notification announcing the interaction.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    notification_timeout: Duration,
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
        Some(name) => match suite.profiles.profiles.get(name) {
            Some(p) => Some(verdict::profile_media(p, &suite.media.groups)),
            None => {
                let known: Vec<&String> = suite.profiles.profiles.keys().collect();
                return error(format!(
                    "unknown profile `{name}`; known profiles: {known:?}"
                ));
            }
        },
    };
    let target = match super::target_file::load(&args.target) {
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
        deadlines: Deadlines {
            request: args.request_timeout,
            notification: args.notification_timeout,
            ..Deadlines::default()
        },
        ..RunConfig::default()
    };
    let runtime = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let diagnosis = runtime.block_on(doctor::diagnose(target, config, args.profile, &media));
    out!("{}", diagnosis.render());
    if diagnosis.ready() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAIL)
    }
}
