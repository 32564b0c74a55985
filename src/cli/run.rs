//! `gws-conformance run`: clap → a [`RunPlan`] (suite, cases, profile, waivers, snapshots,
//! target, deadlines) → one `command::run::run` call → the terminal's view of its events and
//! summary → the exit code. Starting the embedded server, writing results and the bundle are
//! the library's.

use super::{
    EXIT_ERROR, EXIT_FAIL, EXIT_OK, ServerArgs, SuiteArgs, TargetArgs, TimeoutArgs, block_on,
    error, parse_duration,
};
use clap::Args;
use gws_conformance::check::Checker;
use gws_conformance::check::snapshot::SnapshotStore;
use gws_conformance::command::{self, InterruptGuard, RunPlan, RunStatus, TargetChoice};
use gws_conformance::orchestrator::Event;
use gws_conformance::report::{self, Tally, terminal};
use gws_conformance::result::ScenarioResult;
use gws_conformance::run::{Deadlines, RunConfig, StreamChange};
use gws_conformance::server::ServerConfig;
use gws_conformance::spec::GwsVersion;
use gws_conformance::suite;
use gws_conformance::verdict::ProfileChoice;
use gws_conformance::verdict::waivers::{self, WaiverPolicy, Waivers};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    suite: SuiteArgs,
    #[command(flatten)]
    target: TargetArgs,
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
    #[arg(long, value_name = "K/N", value_parser = gws_conformance::plan::parse_shard)]
    shard: Option<(usize, usize)>,
    /// Scenarios in flight at once.
    #[arg(long, short = 'j', default_value_t = 8)]
    jobs: usize,
    /// Write results.jsonl, results.json, junit.xml, report.md and report.html here.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    timeouts: TimeoutArgs,
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
    /// Re-run a scenario whose attempt transport faults made indeterminate (a request without
    /// a reply, a cut long poll, a server restart) on a fresh interaction up to N times;
    /// independent of --retries. One still indeterminate makes the verdict incomplete.
    #[arg(long, value_name = "N", default_value_t = gws_conformance::orchestrator::TRANSPORT_BUDGET)]
    transport_budget: usize,
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

/// The arguments resolved into a plan: every file read and checked before anything runs.
fn plan(args: &RunArgs) -> Result<RunPlan, ExitCode> {
    let (suite, cases) = args.suite.plan(args.shard)?;
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
    let profile = args
        .profile
        .as_deref()
        .map(|name| ProfileChoice::resolve(&suite, name))
        .transpose()
        .map_err(error)?;
    let snapshots = match &args.snapshots {
        Some(dir) => SnapshotStore::from_dir(dir)
            .map_err(|e| error(format!("cannot read snapshots from {}: {e}", dir.display())))?,
        None => suite::builtin_snapshots(),
    };
    let own_snapshots = match &args.target_snapshots {
        Some(dir) if !args.accept_snapshots => Some(
            gws_conformance::check::snapshot::read_json_dir(dir).map_err(|e| {
                error(format!(
                    "cannot read target snapshots from {}: {e}",
                    dir.display()
                ))
            })?,
        ),
        _ => None,
    };
    let target = match args.target.load()? {
        Some(t) => TargetChoice::File(t),
        None => TargetChoice::Embedded(ServerConfig {
            gws_version: args.gws_version,
            ..args.server.to_config()
        }),
    };
    let checker = Checker {
        snapshots: Some(snapshots),
        redact_keys: suite.media.redact_keys.clone(),
        own_snapshots,
        gws_version: args.gws_version,
    };
    Ok(RunPlan {
        suite,
        cases,
        profile,
        checker,
        target,
        config: RunConfig {
            jobs: args.jobs.max(1),
            deadlines: Deadlines {
                scenario: args.scenario_timeout,
                run: args.run_timeout,
                ..args.timeouts.deadlines()
            },
            ..RunConfig::default()
        },
        waivers,
        retries: args.retries,
        transport_budget: args.transport_budget,
        gws_version: args.gws_version,
        out: args.out.clone(),
        shard: args.shard.map(|(k, n)| format!("{k}/{n}")),
        accept_snapshots: args
            .accept_snapshots
            .then(|| args.target_snapshots.clone())
            .flatten(),
    })
}

/// The terminal's view of the run's events: each finished scenario as it lands (above a
/// progress bar on a terminal), stream trouble and late notifications on stderr.
struct Terminal {
    progress: Option<indicatif::ProgressBar>,
    style: terminal::Style,
    quiet: bool,
    late: usize,
    first_late: Option<String>,
    unclaimed: usize,
}

impl Terminal {
    fn line(&self, line: &str) {
        match &self.progress {
            Some(bar) => bar.println(line.trim_end()),
            None if !self.quiet => outln!("{}", line.trim_end()),
            None => {}
        }
    }

    fn on_event(&mut self, event: Event<'_>) {
        match event {
            Event::CaseStarted { .. } => {}
            Event::CaseRetried {
                case,
                attempt,
                failed,
            } => self.line(&format!(
                "RETRY {} (attempt {attempt} {}; running it again on a fresh interaction)",
                case.id,
                failed.grade.as_str()
            )),
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
                if let Some(bar) = self.progress.take() {
                    bar.finish_and_clear();
                }
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

pub fn run(args: RunArgs) -> ExitCode {
    let plan = match plan(&args) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let style = terminal::Style {
        color: std::io::stdout().is_terminal(),
        verbose: args.verbose,
    };
    let progress = (style.color && !args.quiet).then(|| {
        let bar = indicatif::ProgressBar::new(plan.cases.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} scenarios {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut view = Terminal {
        progress,
        style,
        quiet: args.quiet,
        late: 0,
        first_late: None,
        unclaimed: 0,
    };
    let ran = block_on(async {
        let interrupt = InterruptGuard::listen(|| {
            eprintln!("interrupted: finishing the scenarios in flight, starting no more")
        });
        command::run::run(&plan, &interrupt.stop, |e| view.on_event(e)).await
    });
    let outcome = match ran {
        Err(code) => return code,
        Ok(Err(e)) => return error(e),
        Ok(Ok(outcome)) => outcome,
    };
    if let Some(cause) = &outcome.not_started {
        let code = error(cause);
        if let Some(v) = &outcome.verdict {
            outln!("verdict: {}", v.summary());
        }
        if let Some(dir) = &plan.out {
            eprintln!(
                "the run could not start; this is recorded in {}",
                dir.display()
            );
        }
        return code;
    }
    out!(
        "{}",
        terminal::Summary {
            tally: &Tally::of(&outcome.results),
            causes: &report::groups::root_causes(&outcome.results),
            verdict: outcome.verdict.as_ref(),
            waivers: outcome.waivers.as_ref(),
            elapsed_secs: outcome.elapsed.as_secs_f64(),
        }
        .render()
    );
    if let (Some(n), Some(dir)) = (outcome.accepted_snapshots, &plan.accept_snapshots) {
        eprintln!(
            "accepted {n} notification snapshot(s) into {}",
            dir.display()
        );
    }
    if outcome.interrupted {
        eprintln!(
            "interrupted: {} of {} scenarios finished; their results are written",
            outcome.results.len(),
            plan.cases.len()
        );
    }
    ExitCode::from(match outcome.status() {
        RunStatus::Conformant => EXIT_OK,
        RunStatus::Failed => EXIT_FAIL,
        RunStatus::Incomplete => EXIT_ERROR,
    })
}
