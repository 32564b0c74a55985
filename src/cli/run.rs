//! `gws-conformance run`: load, plan, start the embedded server or read the target, execute,
//! report. Results stream to the terminal and to `results.jsonl` as each scenario finishes.

use super::{EXIT_ERROR, EXIT_FAIL, EXIT_OK, ServerArgs, SuiteArgs, error, parse_duration};
use clap::Args;
use gws_conformance::check::Checker;
use gws_conformance::orchestrator::{Event, Orchestrator, Retention};
use gws_conformance::plan::Case;
use gws_conformance::report::{self, Tally, json::Provenance, terminal};
use gws_conformance::result::ScenarioResult;
use gws_conformance::run::{Deadlines, RunConfig, RunNotes, Runner, StreamChange, Target};
use gws_conformance::server::ServerConfig;
use gws_conformance::spec::{GwsVersion, Suite};
use gws_conformance::waivers::{self, WaiverOutcome, WaiverPolicy, Waivers};
use gws_conformance::{plan, server, snapshot::SnapshotStore, suite, verdict};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    suite: SuiteArgs,
    /// Target file describing the server under test (default: the embedded reference server).
    #[arg(long, value_name = "FILE")]
    target: Option<PathBuf>,
    /// Directory of pinned snapshots (default: the ones built into this binary).
    #[arg(long, value_name = "DIR")]
    snapshots: Option<PathBuf>,
    /// Certify the target for this profile (see specs/profiles.yaml): exit 0 only when
    /// certified.
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// The GWS release to certify against: its documented notification shapes are required
    /// (8.5.1 or 8.5.2). The embedded server, when used, emits that release's shapes.
    #[arg(long, value_name = "VERSION", default_value = "8.5.2")]
    gws_version: GwsVersion,
    /// Run the K-th of N deterministic slices, e.g. 2/4.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Scenarios in flight at once.
    #[arg(long, short = 'j', default_value_t = 8)]
    jobs: usize,
    /// Write results.jsonl, results.json, junit.xml, report.md and report.html here.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Deadline for one HTTP request.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    request_timeout: Duration,
    /// Deadline from an operation to its notification.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    notification_timeout: Duration,
    /// Deadline for one scenario.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    scenario_timeout: Duration,
    /// Deadline for the whole run.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    run_timeout: Duration,
    /// This target's own accepted notification snapshots: any change is a failure.
    #[arg(long, value_name = "DIR")]
    target_snapshots: Option<PathBuf>,
    /// Write this run's notifications into --target-snapshots as the accepted ones.
    #[arg(long, requires = "target_snapshots")]
    accept_snapshots: bool,
    /// Known deviations to accept (YAML: scenario id or glob, reason, owner, expires): a waived
    /// failure is graded `waived` and does not block; an expired waiver counts as absent.
    #[arg(long, value_name = "FILE")]
    waivers: Option<PathBuf>,
    /// Re-run a failed scenario on a fresh interaction up to N times; one that then passes is
    /// graded flaky (it certifies only where the profile says `flaky_counts_as_passed`).
    #[arg(long, value_name = "N", default_value_t = 0)]
    retries: usize,
    /// Print passing scenarios' details too.
    #[arg(long, short = 'v')]
    verbose: bool,
    /// Only the summary.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Settings of the embedded reference server (ignored with --target).
    #[command(
        flatten,
        next_help_heading = "Embedded reference server (without --target)"
    )]
    server: ServerArgs,
}

/// Stores each result's redacted notification as `<dir>/<snapshot name>.json`.
fn accept_snapshots(
    dir: &std::path::Path,
    results: &[gws_conformance::result::ScenarioResult],
) -> Result<usize, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut n = 0;
    for r in results {
        if let Some(notification) = &r.notification {
            let path = dir.join(format!("{}.json", r.id.replace('/', "__")));
            let text = serde_json::to_string_pretty(notification).unwrap_or_default();
            std::fs::write(&path, text + "\n")
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            n += 1;
        }
    }
    Ok(n)
}

/// Where the scenarios run: a target file's server, or an embedded one started for the run.
enum TargetChoice {
    File(Target),
    Embedded(ServerConfig),
}

/// Everything resolved from the arguments before anything runs.
struct Prepared {
    suite: Suite,
    cases: Vec<Case>,
    /// Profile name, its media, and whether flaky counts as passed.
    profile: Option<(String, Vec<String>, bool)>,
    checker: Checker,
    target: TargetChoice,
    config: RunConfig,
    waivers: Option<WaiverPolicy>,
}

/// Why `execute` returned without results.
enum Stopped {
    /// No scenario ran: the embedded server did not start, or the target could not be reached
    /// or logged into. The bundle still gets written, saying so.
    NotStarted {
        cause: String,
        target_name: String,
        target_url: String,
    },
    /// Results could not be written.
    Fault(String),
}

/// What the run produced.
struct Finished {
    /// Ctrl-C stopped the run early: no new scenario was started after it.
    interrupted: bool,
    results: Vec<ScenarioResult>,
    notes: RunNotes,
    waivers: Option<WaiverOutcome>,
    target_name: String,
    target_url: String,
}

fn prepare(args: &RunArgs) -> Result<Prepared, ExitCode> {
    let shard = args
        .shard
        .as_deref()
        .map(plan::parse_shard)
        .transpose()
        .map_err(|e| error(format!("--shard: {e}")))?;
    let (suite, cases) = args.suite.plan(shard)?;
    let waivers = match &args.waivers {
        Some(path) => Some(WaiverPolicy {
            waivers: Waivers::load(path).map_err(|e| {
                eprintln!("{e}");
                ExitCode::from(EXIT_ERROR)
            })?,
            today: waivers::today(),
        }),
        None => None,
    };
    let profile = match &args.profile {
        None => None,
        Some(name) => {
            let Some(p) = suite.profiles.profiles.get(name) else {
                let known: Vec<&String> = suite.profiles.profiles.keys().collect();
                return Err(error(format!(
                    "unknown profile `{name}`; known profiles: {known:?}"
                )));
            };
            Some((
                name.clone(),
                verdict::profile_media(p, &suite.media.groups),
                p.flaky_counts_as_passed,
            ))
        }
    };
    let snapshots = match &args.snapshots {
        Some(dir) => SnapshotStore::from_dir(dir)
            .map_err(|e| error(format!("cannot read snapshots from {}: {e}", dir.display())))?,
        None => suite::builtin_snapshots(),
    };
    let own_snapshots = match &args.target_snapshots {
        Some(dir) if !args.accept_snapshots => {
            Some(gws_conformance::snapshot::read_json_dir(dir).map_err(|e| {
                error(format!(
                    "cannot read target snapshots from {}: {e}",
                    dir.display()
                ))
            })?)
        }
        _ => None,
    };
    let target = match args.target.as_deref() {
        Some(path) => TargetChoice::File(super::target_file::load(path).map_err(error)?),
        None => TargetChoice::Embedded(ServerConfig {
            gws_version: args.gws_version,
            ..args.server.to_config().map_err(error)?
        }),
    };
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .map_err(|e| error(format!("cannot create {}: {e}", dir.display())))?;
    }
    let config = RunConfig {
        jobs: args.jobs.max(1),
        deadlines: Deadlines {
            request: args.request_timeout,
            notification: args.notification_timeout,
            scenario: args.scenario_timeout,
            run: args.run_timeout,
        },
        ..RunConfig::default()
    };
    let checker = Checker {
        snapshots: Some(snapshots),
        redact_keys: suite.media.redact_keys.clone(),
        own_snapshots,
        gws_version: args.gws_version,
    };
    Ok(Prepared {
        suite,
        cases,
        profile,
        checker,
        target,
        config,
        waivers,
    })
}

/// The run's consumer of orchestrator events: each finished result goes to disk first, then to
/// the terminal; what happens to the streams and to late notifications is said on stderr.
struct Sink {
    jsonl: Option<report::json::JsonLines>,
    progress: Option<indicatif::ProgressBar>,
    style: terminal::Style,
    quiet: bool,
    write_error: Option<String>,
    late: usize,
    first_late: Option<String>,
    unclaimed: usize,
}

impl Sink {
    fn on_event(&mut self, event: Event<'_>) {
        match event {
            Event::CaseStarted { .. } => {}
            Event::CaseRetried {
                case,
                attempt,
                failed,
            } => {
                let line = format!(
                    "RETRY {} (attempt {attempt} {}; running it again on a fresh interaction)",
                    case.id,
                    failed.grade.as_str()
                );
                match &self.progress {
                    Some(bar) => bar.println(line),
                    None if !self.quiet => outln!("{line}"),
                    None => {}
                }
            }
            Event::CaseFinished { result, .. } => self.finished(result),
            Event::Stream(note) => {
                let text = match &note.change {
                    StreamChange::Closed(reason) => format!(
                        "warning: notification stream closed during the run: agent {}: {reason}",
                        note.agent
                    ),
                    StreamChange::Rehandshook => format!(
                        "warning: the server forgot agent {}'s Bayeux client, which handshook again; notifications sent in between may be lost",
                        note.agent
                    ),
                };
                match &self.progress {
                    Some(bar) => bar.suspend(|| eprintln!("{text}")),
                    None => eprintln!("{text}"),
                }
            }
            Event::LateNotification { scenario, .. } => {
                self.late += 1;
                self.first_late.get_or_insert_with(|| scenario.to_string());
            }
            Event::UnclaimedNotification(_) => self.unclaimed += 1,
            Event::RunFinished(_) => {
                if let Some(first) = &self.first_late {
                    eprintln!(
                        "note: {} notification(s) arrived after their scenario had finished (first: {first}); they are informational findings in the results",
                        self.late
                    );
                }
                if self.unclaimed > 0 {
                    eprintln!(
                        "note: {} notification(s) arrived that no scenario claimed (late extras or unknown interactions)",
                        self.unclaimed
                    );
                }
            }
        }
    }

    fn finished(&mut self, r: &ScenarioResult) {
        // Results reach disk before anyone is told, so what was reported is never lost.
        if let Some(j) = self.jsonl.as_mut()
            && let Err(e) = j.write(r)
        {
            self.write_error
                .get_or_insert(format!("cannot write results.jsonl: {e}"));
        }
        let line = terminal::scenario(self.style, r);
        match &self.progress {
            Some(bar) => {
                bar.println(line.trim_end());
                bar.inc(1);
            }
            None if !self.quiet => out!("{line}"),
            None => {}
        }
    }
}

async fn execute(
    prepared: &Prepared,
    args: &RunArgs,
    style: terminal::Style,
) -> Result<Finished, Stopped> {
    // Created first, so even a run that cannot start leaves its (empty) results.jsonl.
    let jsonl = match &args.out {
        Some(dir) => Some(
            report::json::JsonLines::create(&dir.join("results.jsonl"))
                .map_err(|e| Stopped::Fault(format!("cannot write results.jsonl: {e}")))?,
        ),
        None => None,
    };
    let (target, embedded) = match &prepared.target {
        TargetChoice::File(t) => (t.clone(), None),
        TargetChoice::Embedded(config) => {
            let name = match &config.defect {
                Some(d) => format!("embedded reference server (defect {d})"),
                None => "embedded reference server".into(),
            };
            let server = server::start(config.clone())
                .await
                .map_err(|e| Stopped::NotStarted {
                    cause: format!("cannot start the embedded server: {e}"),
                    target_name: name.clone(),
                    target_url: String::new(),
                })?;
            (
                Target::embedded(name, &server.base_url, &config.agents),
                Some(server),
            )
        }
    };
    let (target_name, target_url) = (target.name.clone(), target.base_url.clone());
    let runner = match Runner::connect(target, prepared.config.clone()).await {
        Ok(r) => r,
        Err(e) => {
            if let Some(s) = embedded {
                s.shutdown().await;
            }
            return Err(Stopped::NotStarted {
                cause: e.to_string(),
                target_name,
                target_url,
            });
        }
    };
    let progress = (style.color && !args.quiet).then(|| {
        let bar = indicatif::ProgressBar::new(prepared.cases.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} scenarios {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut sink = Sink {
        jsonl,
        progress,
        style,
        quiet: args.quiet,
        write_error: None,
        late: 0,
        first_late: None,
        unclaimed: 0,
    };
    let stop = tokio_util::sync::CancellationToken::new();
    let on_interrupt = {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("interrupted: finishing the scenarios in flight, starting no more");
                stop.cancel();
            }
        })
    };
    let orchestrator = Orchestrator::new(runner, &prepared.checker, Retention::KeepResults)
        .with_waivers(prepared.waivers.clone())
        .with_retries(args.retries);
    orchestrator
        .run(&prepared.cases, &stop, |e| sink.on_event(e))
        .await;
    on_interrupt.abort();
    if let Some(bar) = &sink.progress {
        bar.finish_and_clear();
    }
    let outcome = orchestrator.finish(|e| sink.on_event(e)).await;
    if let Some(s) = embedded {
        s.shutdown().await;
    }
    match sink.write_error {
        Some(e) => Err(Stopped::Fault(e)),
        None => Ok(Finished {
            interrupted: outcome.interrupted,
            results: outcome.results,
            notes: outcome.notes,
            waivers: outcome.waivers,
            target_name,
            target_url,
        }),
    }
}

pub fn run(args: RunArgs) -> ExitCode {
    let prepared = match prepare(&args) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return error(format!("cannot start the async runtime: {e}")),
    };
    let style = terminal::Style {
        color: std::io::stdout().is_terminal(),
        verbose: args.verbose,
    };
    let started_wall = now_rfc3339();
    let started = Instant::now();
    let Finished {
        interrupted,
        results,
        notes,
        waivers,
        target_name,
        target_url,
    } = match runtime.block_on(execute(&prepared, &args, style)) {
        Ok(f) => f,
        Err(Stopped::Fault(e)) => return error(e),
        Err(Stopped::NotStarted {
            cause,
            target_name,
            target_url,
        }) => {
            let provenance = provenance(&prepared, &args, target_name, target_url, started_wall);
            return not_started(&prepared, &args, provenance, cause);
        }
    };
    let verdict = prepared.profile.as_ref().map(|(name, media, flaky)| {
        let all_cases = plan::build(&prepared.suite, &plan::Selection::default());
        verdict::judge(name, media, *flaky, args.gws_version, &all_cases, &results)
    });
    out!(
        "{}",
        terminal::Summary {
            tally: &Tally::of(&results),
            causes: &report::groups::root_causes(&results),
            verdict: verdict.as_ref(),
            waivers: waivers.as_ref(),
            elapsed_secs: started.elapsed().as_secs_f64(),
        }
        .render()
    );
    if let (Some(dir), true) = (&args.target_snapshots, args.accept_snapshots) {
        match accept_snapshots(dir, &results) {
            Ok(n) => eprintln!(
                "accepted {n} notification snapshot(s) into {}",
                dir.display()
            ),
            Err(e) => return error(e),
        }
    }
    if let Some(dir) = &args.out {
        let provenance = provenance(&prepared, &args, target_name, target_url, started_wall);
        let mut record =
            report::json::RunRecord::new(provenance, verdict.clone(), results.clone(), notes);
        record.waivers = waivers;
        if let Err(e) = report::write_bundle(dir, &record) {
            return error(e);
        }
    }
    if interrupted {
        eprintln!(
            "interrupted: {} of {} scenarios finished; their results are written",
            results.len(),
            prepared.cases.len()
        );
        return ExitCode::from(EXIT_ERROR);
    }
    let code = match verdict.map(|v| v.status) {
        Some(verdict::Status::Certified) => EXIT_OK,
        Some(verdict::Status::NotCertified) => EXIT_FAIL,
        Some(verdict::Status::Incomplete) => EXIT_ERROR,
        None if report::exit_code(&results) == 0 => EXIT_OK,
        None => EXIT_FAIL,
    };
    ExitCode::from(code)
}

fn provenance(
    prepared: &Prepared,
    args: &RunArgs,
    target_name: String,
    target_url: String,
    started: String,
) -> Provenance {
    Provenance {
        tool: "gws-conformance".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        suite_hash: prepared.suite.hash.clone(),
        target_name,
        target_url,
        started,
        finished: now_rfc3339(),
        profile: args.profile.clone(),
        shard: args.shard.clone(),
        gws_version: args.gws_version,
    }
}

/// A run that could not start: says why on stderr, still writes the whole bundle (no results,
/// the cause, an incomplete verdict when a profile was requested), and exits 2.
fn not_started(
    prepared: &Prepared,
    args: &RunArgs,
    provenance: Provenance,
    cause: String,
) -> ExitCode {
    let code = error(&cause);
    let verdict = prepared.profile.as_ref().map(|(name, media, flaky)| {
        let all_cases = plan::build(&prepared.suite, &plan::Selection::default());
        verdict::judge(name, media, *flaky, args.gws_version, &all_cases, &[])
    });
    let record = report::json::RunRecord::not_started(provenance, verdict, cause);
    if let Some(v) = &record.verdict {
        outln!("verdict: {}", v.summary());
    }
    if let Some(dir) = &args.out {
        match report::write_bundle(dir, &record) {
            Ok(()) => eprintln!(
                "the run could not start; this is recorded in {}",
                dir.display()
            ),
            Err(e) => return error(e),
        }
    }
    code
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
