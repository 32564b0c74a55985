//! `run` as one call: start the embedded server or take the target, connect, have the
//! orchestrator run and judge the cases (results reach `results.jsonl` before the caller hears
//! of them), close, judge the profile, accept the target's snapshots, and write the bundle —
//! also for a run that could not start, which says why.
//!
//! It decides no conformance itself (that is `check` and `verdict`) and prints nothing: the
//! caller sees the orchestrator's events and gets a [`RunOutcome`].

use crate::check::Checker;
use crate::check::snapshot::SnapshotWriteError;
use crate::command::embedded::{self, Embedded, TargetChoice};
use crate::orchestrator::{Event, Orchestrator, Retention};
use crate::plan::Case;
use crate::report::{self, ReportError, json::Provenance};
use crate::result::ScenarioResult;
use crate::run::{RunConfig, RunNotes, Runner};
use crate::spec::{GwsVersion, Suite};
use crate::util::now_rfc3339;
use crate::verdict::waivers::{WaiverOutcome, WaiverPolicy};
use crate::verdict::{ProfileChoice, Status, Verdict};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Everything a run needs, resolved before anything runs.
pub struct RunPlan {
    pub suite: Suite,
    pub cases: Vec<Case>,
    pub profile: Option<ProfileChoice>,
    pub checker: Checker,
    pub target: TargetChoice,
    pub config: RunConfig,
    pub waivers: Option<WaiverPolicy>,
    pub retries: usize,
    /// Re-runs of a scenario made indeterminate by transport faults
    /// ([`crate::orchestrator::TRANSPORT_BUDGET`] by default).
    pub transport_budget: usize,
    pub gws_version: GwsVersion,
    /// Where the bundle goes (results.jsonl, results.json, junit.xml, ctrf.json, reports).
    pub out: Option<PathBuf>,
    /// The `K/N` of a sharded run, recorded in the provenance.
    pub shard: Option<String>,
    /// Store this run's notifications here as the target's accepted snapshots.
    pub accept_snapshots: Option<PathBuf>,
}

/// A harness fault that ended the run: what was reported may not all be on disk.
#[derive(Debug, thiserror::Error)]
pub enum RunCommandError {
    #[error("cannot write results.jsonl: {0}")]
    Results(std::io::Error),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Snapshots(#[from] SnapshotWriteError),
}

/// What a run produced.
pub struct RunOutcome {
    pub results: Vec<ScenarioResult>,
    pub notes: RunNotes,
    pub waivers: Option<WaiverOutcome>,
    /// When a profile was requested.
    pub verdict: Option<Verdict>,
    /// Ctrl-C (the stop token) ended the run early: no scenario was started after it.
    pub interrupted: bool,
    /// Set when no scenario ran: the embedded server did not start, or the target could not
    /// be reached or logged into. The bundle still says so.
    pub not_started: Option<String>,
    /// Snapshots stored, with [`RunPlan::accept_snapshots`].
    pub accepted_snapshots: Option<usize>,
    pub elapsed: Duration,
}

/// How a run ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Every `must` scenario passed, or the profile is certified.
    Conformant,
    /// A conformance failure, or the profile is not certified.
    Failed,
    /// The profile's verdict is incomplete, the run could not start, or it was interrupted.
    Incomplete,
}

impl RunOutcome {
    pub fn status(&self) -> RunStatus {
        if self.not_started.is_some() || self.interrupted {
            return RunStatus::Incomplete;
        }
        match self.verdict.as_ref().map(|v| v.status) {
            Some(Status::Certified) => RunStatus::Conformant,
            Some(Status::NotCertified) => RunStatus::Failed,
            Some(Status::Incomplete) => RunStatus::Incomplete,
            None if report::exit_code(&self.results) != 0 => RunStatus::Failed,
            // What transport faults hid on every attempt is neither conformant nor failed.
            None if self.results.iter().any(|r| {
                r.level == crate::spec::Level::Must
                    && r.grade == crate::result::Grade::Indeterminate
            }) =>
            {
                RunStatus::Incomplete
            }
            None => RunStatus::Conformant,
        }
    }
}

/// Runs the plan; `stop` ends it early (cases in flight finish; nothing is left behind).
pub async fn run(
    plan: &RunPlan,
    stop: &CancellationToken,
    mut on_event: impl FnMut(Event<'_>),
) -> Result<RunOutcome, RunCommandError> {
    let started_wall = now_rfc3339();
    let started = Instant::now();
    if let Some(dir) = &plan.out {
        std::fs::create_dir_all(dir).map_err(|e| ReportError::write(dir, e))?;
    }
    // Created first, so even a run that cannot start leaves its (empty) results.jsonl.
    let mut jsonl = match &plan.out {
        Some(dir) => Some(
            report::json::JsonLines::create(&dir.join("results.jsonl"))
                .map_err(RunCommandError::Results)?,
        ),
        None => None,
    };
    let (target, embedded) = match &plan.target {
        TargetChoice::File(t) => (t.clone(), None),
        TargetChoice::Embedded(config) => {
            match Embedded::start(config.clone(), embedded::name(config)).await {
                Ok(e) => (e.target.clone(), Some(e)),
                Err(e) => {
                    let identity = (embedded::name(config), String::new());
                    return not_started(plan, identity, started_wall, started, e.to_string());
                }
            }
        }
    };
    let identity = (target.name.clone(), target.base_url.clone());
    let runner = match Runner::connect(target, plan.config.clone()).await {
        Ok(r) => r,
        Err(e) => {
            if let Some(s) = embedded {
                s.shutdown().await;
            }
            return not_started(plan, identity, started_wall, started, e.to_string());
        }
    };
    // Routed inbound interactions are waited for before any scenario's deadline starts.
    let mut media: Vec<String> = plan.cases.iter().map(|c| c.media.clone()).collect();
    media.sort();
    media.dedup();
    runner
        .provisioner()
        .await_inbound(&media, stop, |waiting| eprintln!("{waiting}"))
        .await;
    let mut write_error = None;
    let mut forward = |event: Event<'_>| {
        // Results reach disk before anyone is told, so what was reported is never lost.
        if let (Event::CaseFinished { result, .. }, Some(j)) = (&event, jsonl.as_mut())
            && let Err(e) = j.write(result)
        {
            write_error.get_or_insert(e);
        }
        on_event(event);
    };
    let orchestrator = Orchestrator::new(runner, &plan.checker, Retention::KeepResults)
        .with_waivers(plan.waivers.clone())
        .with_retries(plan.retries)
        .with_transport_budget(plan.transport_budget);
    orchestrator.run(&plan.cases, stop, &mut forward).await;
    let outcome = orchestrator.finish(&mut forward).await;
    if let Some(s) = embedded {
        s.shutdown().await;
    }
    if let Some(e) = write_error {
        return Err(RunCommandError::Results(e));
    }
    let verdict = plan
        .profile
        .as_ref()
        .map(|p| p.judge(&plan.suite, plan.gws_version, &outcome.results));
    let accepted_snapshots = match &plan.accept_snapshots {
        Some(dir) => Some(crate::check::snapshot::accept_json_dir(
            dir,
            &outcome.results,
        )?),
        None => None,
    };
    if let Some(dir) = &plan.out {
        let mut record = report::json::RunRecord::new(
            provenance(plan, identity, started_wall),
            verdict.clone(),
            outcome.results.clone(),
            outcome.notes.clone(),
        );
        record.waivers = outcome.waivers.clone();
        report::write_bundle(dir, &record)?;
    }
    Ok(RunOutcome {
        results: outcome.results,
        notes: outcome.notes,
        waivers: outcome.waivers,
        verdict,
        interrupted: outcome.interrupted,
        not_started: None,
        accepted_snapshots,
        elapsed: started.elapsed(),
    })
}

/// A run that could not start still writes its whole bundle: no results, the cause, and an
/// incomplete verdict when a profile was requested.
fn not_started(
    plan: &RunPlan,
    identity: (String, String),
    started_wall: String,
    started: Instant,
    cause: String,
) -> Result<RunOutcome, RunCommandError> {
    let verdict = plan
        .profile
        .as_ref()
        .map(|p| p.judge(&plan.suite, plan.gws_version, &[]));
    let record = report::json::RunRecord::not_started(
        provenance(plan, identity, started_wall),
        verdict,
        cause.clone(),
    );
    if let Some(dir) = &plan.out {
        report::write_bundle(dir, &record)?;
    }
    Ok(RunOutcome {
        results: Vec::new(),
        notes: RunNotes::default(),
        waivers: None,
        verdict: record.verdict,
        interrupted: false,
        not_started: Some(cause),
        accepted_snapshots: None,
        elapsed: started.elapsed(),
    })
}

fn provenance(
    plan: &RunPlan,
    (target_name, target_url): (String, String),
    started: String,
) -> Provenance {
    Provenance {
        tool: "gws-conformance".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        suite_hash: plan.suite.hash.clone(),
        target_name,
        target_url,
        started,
        finished: now_rfc3339(),
        profile: plan.profile.as_ref().map(|p| p.name.clone()),
        shard: plan.shard.clone(),
        gws_version: plan.gws_version,
    }
}
