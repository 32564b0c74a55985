//! The arguments several subcommands share: the suite and its filter, the target file, the
//! deadlines, the embedded server's settings, and the duration syntax.

use super::{error, spec};
use clap::Args;
use gws_conformance::plan;
use gws_conformance::run::target_file;
use gws_conformance::server::{Defect, ServerConfig, Variant};
use gws_conformance::spec::{SpecErrors, Suite};
use gws_conformance::suite;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args, Clone, Default)]
pub struct SuiteArgs {
    /// Directory with media.yaml and scenarios/ (default: the suite built into this binary).
    #[arg(long, value_name = "DIR")]
    specs: Option<PathBuf>,
    /// Keep scenarios whose id contains this text (or matches it, with `*`); repeatable.
    #[arg(long, value_name = "PATTERN")]
    filter: Vec<String>,
}

impl SuiteArgs {
    pub fn load(&self) -> Result<Suite, SpecErrors> {
        match &self.specs {
            Some(dir) => spec::load_dir(dir),
            None => suite::builtin(),
        }
    }

    /// Loads the suite and selects its cases; spec errors and an empty selection end the
    /// command with exit code 2.
    pub fn plan(
        &self,
        shard: Option<(usize, usize)>,
    ) -> Result<(Suite, Vec<plan::Case>), ExitCode> {
        let suite = self.load().map_err(|e| spec::spec_errors(&e))?;
        let cases = plan::build(
            &suite,
            &plan::Selection {
                filters: self.filter.clone(),
                shard,
                media: None,
            },
        );
        if cases.is_empty() {
            return Err(error(
                "the selection is empty: no scenario matches the filter or shard",
            ));
        }
        Ok((suite, cases))
    }
}

/// The target file of `run` and `load`.
#[derive(Args, Clone)]
pub struct TargetArgs {
    /// Target file describing the server under test (default: the embedded reference server).
    #[arg(long, value_name = "FILE")]
    target: Option<PathBuf>,
}

impl TargetArgs {
    /// The target file's target, when one was given; a bad file ends the command (exit 2).
    pub fn load(&self) -> Result<Option<gws_conformance::run::Target>, ExitCode> {
        self.target
            .as_deref()
            .map(target_file::load)
            .transpose()
            .map_err(error)
    }
}

/// The deadlines every command that talks to a server takes.
#[derive(Args, Clone)]
pub struct TimeoutArgs {
    /// Deadline for one HTTP request.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub(super) request_timeout: Duration,
    /// Deadline from an operation to its notification (later ones are late).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub(super) notification_timeout: Duration,
}

impl TimeoutArgs {
    pub fn deadlines(&self) -> gws_conformance::run::Deadlines {
        gws_conformance::run::Deadlines {
            request: self.request_timeout,
            notification: self.notification_timeout,
            ..Default::default()
        }
    }
}

/// `NAME:PASSWORD` of `--agent`.
fn parse_agent(text: &str) -> Result<(String, String), String> {
    text.split_once(':')
        .map(|(u, p)| (u.to_string(), p.to_string()))
        .filter(|(u, _)| !u.is_empty())
        .ok_or_else(|| {
            format!(
                "expects NAME:PASSWORD, got `{}`",
                text.split(':').next().unwrap_or("")
            )
        })
}

#[derive(Args, Clone)]
pub struct ServerArgs {
    /// Require the CSRF token on modifying requests.
    #[arg(long)]
    csrf: bool,
    /// Replace the built-in agents (repeatable): NAME:PASSWORD.
    #[arg(long = "agent", value_name = "NAME:PASSWORD", value_parser = parse_agent)]
    agents: Vec<(String, String)>,
    /// Make a legal choice where the docs allow several (repeatable; `serve --list-variants`).
    #[arg(long = "variant", value_name = "NAME")]
    variants: Vec<Variant>,
    /// Inject one defect (see `serve --list-defects`).
    #[arg(long, value_name = "NAME")]
    defect: Option<Defect>,
    /// Offer only these media (comma-separated fixture names).
    #[arg(long, value_name = "MEDIA", value_delimiter = ',')]
    offer: Option<Vec<String>>,
    /// Announce the end of an interaction when the fixture contract deletes it.
    #[arg(long)]
    notify_on_cleanup: bool,
    /// How long the server holds an idle /meta/connect.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    long_poll: Duration,
}

impl ServerArgs {
    pub fn to_config(&self) -> ServerConfig {
        let defaults = ServerConfig::default();
        ServerConfig {
            csrf: self.csrf,
            long_poll: self.long_poll,
            offered_media: self.offer.clone(),
            notify_on_cleanup: self.notify_on_cleanup,
            agents: match self.agents.is_empty() {
                true => defaults.agents.clone(),
                false => self.agents.clone(),
            },
            variants: self.variants.clone(),
            defect: self.defect,
            ..defaults
        }
    }

    /// Whether `--agent` replaced the built-in agents.
    pub fn given_agents(&self) -> bool {
        !self.agents.is_empty()
    }

    /// Whether any setting differs from the defaults (they configure only the embedded server).
    pub fn given(&self) -> bool {
        self.csrf
            || !self.agents.is_empty()
            || !self.variants.is_empty()
            || self.defect.is_some()
            || self.offer.is_some()
            || self.notify_on_cleanup
    }
}

/// Parses `250ms`, `5s`, `2m` or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, unit) = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or((t, "s"), |i| (&t[..i], &t[i..]));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (e.g. 500ms, 5s, 2m)"))?;
    let secs = match unit.trim() {
        "ms" => value / 1000.0,
        "s" | "" => value,
        "m" | "min" => value * 60.0,
        other => {
            return Err(format!(
                "unknown duration unit `{other}` in `{text}` (use ms, s or m)"
            ));
        }
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("`{text}` is not a valid duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}
