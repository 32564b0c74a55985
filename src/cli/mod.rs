//! Command-line interface: clap definitions, conversion to library configuration, dispatch,
//! and the mapping of outcomes to exit codes (0 conformant, 1 conformance failure, 2 usage or
//! harness error). Only this module knows clap.

/// `println!` that ends the program quietly when stdout is a closed pipe (`| head`).
macro_rules! outln {
    () => { $crate::cli::emit(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::emit(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` with the same closed-pipe handling as `outln!`.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::emit(format_args!($($arg)*)) };
}

mod bench;
mod combine;
mod doctor;
mod load;
mod mutants;
mod run;

use clap::{Args, Parser, Subcommand};
use gws_conformance::embedded::Embedded;
use gws_conformance::server::{Defect, ServerConfig, Variant};
use gws_conformance::spec::{self, GwsVersion, SpecErrors, Suite};
use gws_conformance::{plan, suite, target_file};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Exit code: every `must` scenario passed.
pub const EXIT_OK: u8 = 0;
/// Exit code: a conformance failure.
pub const EXIT_FAIL: u8 = 1;
/// Exit code: a usage error, an invalid spec, or a harness fault.
pub const EXIT_ERROR: u8 = 2;

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
    List(ListArgs),
    /// Validate spec files.
    Check(CheckArgs),
    /// Run the reference server standalone.
    Serve(ServeArgs),
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
            Some(dir) => load_dir(dir),
            None => suite::builtin(),
        }
    }

    /// Loads the suite and selects its cases; spec errors and an empty selection end the
    /// command with exit code 2.
    pub fn plan(
        &self,
        shard: Option<(usize, usize)>,
    ) -> Result<(Suite, Vec<plan::Case>), ExitCode> {
        let suite = self.load().map_err(|e| spec_errors(&e))?;
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

#[derive(Args)]
struct ListArgs {
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
struct CheckArgs {
    /// Spec directories (with media.yaml) or scenario files; default: the built-in suite.
    paths: Vec<PathBuf>,
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
    request_timeout: Duration,
    /// Deadline from an operation to its notification (later ones are late).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    notification_timeout: Duration,
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

#[derive(Args)]
struct ServeArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8090)]
    port: u16,
    /// Address to bind; loopback unless told otherwise.
    #[arg(long, default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    /// List the injectable defects and exit.
    #[arg(long)]
    list_defects: bool,
    /// List the legal variants and exit.
    #[arg(long)]
    list_variants: bool,
    /// Create agents agent1..agentN with passwords agent1-pass..agentN-pass (instead of the
    /// two built-in ones).
    #[arg(long = "agents", value_name = "N", conflicts_with = "agents")]
    agent_count: Option<usize>,
    /// Emit the notification shapes of this GWS release (8.5.1: voice participants as strings).
    #[arg(long, value_name = "VERSION", default_value = "8.5.2")]
    gws_version: GwsVersion,
    /// Serve no fixture contract: interactions come only from the documented Dial and Create
    /// operations, as on a stock GWS (use a target with `fixtures.native`).
    #[arg(long)]
    no_fixtures: bool,
    /// Customers waiting at start, offered to an agent Ready on their channel that has none of
    /// that media open, the next when one ends (e.g. `sms=2,facebook-pm=2`).
    #[arg(long, value_name = "MEDIA=N", value_delimiter = ',', value_parser = parse_inbound)]
    inbound: Vec<(String, usize)>,
    #[command(flatten)]
    server: ServerArgs,
}

/// Parses `sms=2`: a routed media and how many of its customers wait.
fn parse_inbound(text: &str) -> Result<(String, usize), String> {
    let (media, count) = text
        .split_once('=')
        .ok_or_else(|| format!("expects MEDIA=N, got `{text}`"))?;
    if !["sms", "facebook-pm", "chat"].contains(&media) {
        return Err(format!(
            "`{media}` is not routed in: use sms, facebook-pm or chat"
        ));
    }
    let count = count
        .parse()
        .map_err(|_| format!("`{count}` is not a number of waiting customers"))?;
    Ok((media.to_string(), count))
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

/// Writes to stdout. A reader that went away (`gws-conformance list | head`) is not worth a
/// panic: the program ends quietly with 141, the status a shell reports for SIGPIPE.
pub fn emit(text: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(text).and_then(|_| stdout.flush())
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(141);
    }
}

/// Runs a command's future on the one runtime builder; failing to build it is a harness error.
pub fn block_on<T>(future: impl std::future::Future<Output = T>) -> Result<T, ExitCode> {
    gws_conformance::command::runtime()
        .map(|runtime| runtime.block_on(future))
        .map_err(|e| error(format!("cannot start the async runtime: {e}")))
}

pub fn error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(EXIT_ERROR)
}

/// Loads a spec directory, printing its notes (e.g. "DIR has no media.yaml; using the built-in
/// media table") on stderr, before any errors they may explain.
fn load_dir(dir: &std::path::Path) -> Result<Suite, SpecErrors> {
    let mut notes = Vec::new();
    let loaded = suite::load_dir(dir, &mut notes);
    for note in notes {
        eprintln!("note: {note}");
    }
    loaded
}

/// The suite's errors, each with file, line, column and key path; exit 2.
fn spec_errors(errors: &SpecErrors) -> ExitCode {
    eprintln!("{errors}");
    ExitCode::from(EXIT_ERROR)
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
        Command::List(args) => list(args),
        Command::Check(args) => check(args),
        Command::Serve(args) => serve(args),
        Command::Mutants(args) => mutants::mutants(args),
        Command::Compare(args) => combine::compare(args),
        Command::Merge(args) => combine::merge(args),
        Command::Bench(args) => bench::bench(args),
        Command::Load(args) => load::load(*args),
        Command::Doctor(args) => doctor::doctor(args),
        Command::Schema => {
            outln!("{}", scenario_schema());
            ExitCode::SUCCESS
        }
    }
}

/// The JSON Schema of scenario files, as committed in `specs/scenario.schema.json`.
pub fn scenario_schema() -> String {
    let schema = schemars::schema_for!(spec::ScenarioFile);
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}

fn list(args: ListArgs) -> ExitCode {
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

fn check(args: CheckArgs) -> ExitCode {
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

fn serve(args: ServeArgs) -> ExitCode {
    if args.list_variants {
        for v in Variant::ALL {
            outln!("{:<28} {}", v.name(), v.description());
        }
        return ExitCode::SUCCESS;
    }
    if args.list_defects {
        for d in Defect::ALL {
            outln!("{:<28} {}", d.name(), d.description());
        }
        return ExitCode::SUCCESS;
    }
    let mut config = args.server.to_config();
    config.bind = std::net::SocketAddr::new(args.bind, args.port);
    if let Some(n) = args.agent_count {
        if n == 0 {
            return error("--agents must be at least 1");
        }
        config.agents = gws_conformance::server::state::ServerState::numbered_agents(n);
    }
    config.gws_version = args.gws_version;
    config.fixtures = !args.no_fixtures;
    config.inbound = args.inbound.clone();
    let served = block_on(async move {
        let agents: Vec<String> = config.agents.iter().map(|(u, _)| u.clone()).collect();
        let fixtures = config.fixtures;
        let server = match Embedded::start(config, "reference server").await {
            Ok(e) => e.server,
            Err(e) => return error(e),
        };
        {
            // A server keeps serving when whoever started it stops reading its stdout.
            use std::io::Write;
            let fixtures = if fixtures {
                format!("fixtures at {}/conformance/v1", server.base_url)
            } else {
                "no fixture contract (native provisioning only)".to_string()
            };
            let _ = write!(
                std::io::stdout().lock(),
                "gws-conformance reference server listening on {}\nagents: {}; {fixtures}\n",
                server.base_url,
                agents.join(", "),
            );
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = server.wait() => {}
        }
        ExitCode::SUCCESS
    });
    served.unwrap_or_else(|code| code)
}
