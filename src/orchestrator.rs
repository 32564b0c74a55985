//! The orchestrator: the one run loop. It drives the runner over cases (up to `jobs` at once,
//! each bounded by its scenario deadline and the run deadline), judges every observation with
//! the checker, and tells consumers what happens as typed [`Event`]s: a case started, a case
//! finished with its result, a notification stream closed or re-handshook, a notification came
//! late or was never claimed, the run finished.
//!
//! The terminal reporter, the results files, `bench`, `mutants` and the conformance tests are
//! all consumers of these events; none of them runs or checks cases itself. Late notifications
//! are attributed to their scenario's result here, before the run is declared finished, so no
//! consumer patches results afterwards.
//!
//! With retries, a case that failed or could not be tested runs again on a fresh interaction
//! (each attempt announced as [`Event::CaseRetried`]); one that then passes is `flaky`, and the
//! result keeps every attempt. Waivers, when given, regrade each finished result before it is announced (a failure an
//! active waiver accepts becomes `waived`), and the run's waiver outcome comes with the
//! [`Outcome`].
//!
//! It does not print, write files, or know about the CLI; it neither opens sessions (the runner
//! does) nor decides verdicts (the verdict module does).

use crate::check::{self, Checker};
use crate::observation::{Observation, Setup};
use crate::plan::Case;
use crate::result::{Attempt, Finding, Grade, ScenarioResult, Severity};
use crate::run::{RunNotes, Runner, StreamNote};
use crate::util::Unpoisoned;
use crate::verdict::waivers::{WaiverOutcome, WaiverPolicy};
use futures::StreamExt;
use serde_json::Value;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

/// A failed attempt on its way to the run loop: the case, which attempt, its result.
type Retried<'a> = (&'a Case, usize, ScenarioResult);

/// What consumers hear, in the order it happens.
#[derive(Debug)]
pub enum Event<'a> {
    CaseStarted {
        case: &'a Case,
    },
    /// An attempt of the case failed (`--retries`) or was indeterminate (transport faults,
    /// within the transport budget) and it runs again, on a fresh interaction; `attempt`
    /// counts from 1.
    CaseRetried {
        case: &'a Case,
        attempt: usize,
        failed: &'a ScenarioResult,
    },
    CaseFinished {
        result: &'a ScenarioResult,
        /// Time spent judging the observation (the check stage alone).
        check_time: Duration,
    },
    /// An agent's notification stream closed or had to re-handshake.
    Stream(&'a StreamNote),
    /// A notification about a scenario's interaction arrived after that scenario had finished.
    LateNotification {
        scenario: &'a str,
        message: &'a Value,
    },
    /// A notification about an interaction no scenario used.
    UnclaimedNotification(&'a Value),
    RunFinished(&'a Outcome),
}

/// Everything a run produced, once the streams are closed.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Every result, in finishing order, late notifications attributed; empty when the
    /// orchestrator was told not to keep results.
    pub results: Vec<ScenarioResult>,
    pub notes: RunNotes,
    /// Cases started (fewer than given when the run was stopped).
    pub started: usize,
    /// A stop was requested before every case had started.
    pub interrupted: bool,
    /// What the waivers did (with [`Orchestrator::with_waivers`] and kept results).
    pub waivers: Option<WaiverOutcome>,
}

/// Whether the orchestrator keeps every result until the run finishes (reports need them; a
/// benchmark of many thousand cases does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    KeepResults,
    DropResults,
}

pub struct Orchestrator<'c> {
    runner: Runner,
    checker: &'c Checker,
    retention: Retention,
    kept: Mutex<Vec<ScenarioResult>>,
    stream_notes: tokio::sync::Mutex<Option<UnboundedReceiver<StreamNote>>>,
    started: std::sync::atomic::AtomicUsize,
    interrupted: std::sync::atomic::AtomicBool,
    waivers: Option<WaiverPolicy>,
    retries: usize,
    transport_budget: usize,
}

/// How many times a scenario is re-run on a fresh interaction, by default, when transport
/// faults hid what it was to observe (no `--retries` needed).
pub const TRANSPORT_BUDGET: usize = 4;

impl<'c> Orchestrator<'c> {
    pub fn new(runner: Runner, checker: &'c Checker, retention: Retention) -> Orchestrator<'c> {
        let stream_notes = runner.take_stream_notes();
        Orchestrator {
            runner,
            checker,
            retention,
            kept: Mutex::new(Vec::new()),
            stream_notes: tokio::sync::Mutex::new(stream_notes),
            started: Default::default(),
            interrupted: Default::default(),
            waivers: None,
            retries: 0,
            transport_budget: TRANSPORT_BUDGET,
        }
    }

    /// Re-runs a case whose attempt was indeterminate (transport faults hid what it was to
    /// observe) up to `budget` more times, on fresh interactions; see [`TRANSPORT_BUDGET`].
    pub fn with_transport_budget(mut self, budget: usize) -> Orchestrator<'c> {
        self.transport_budget = budget;
        self
    }

    /// Re-runs a case that failed or could not be tested, on a fresh interaction, up to
    /// `retries` more times; one that then passes is graded `flaky`, with every attempt kept.
    pub fn with_retries(mut self, retries: usize) -> Orchestrator<'c> {
        self.retries = retries;
        self
    }

    /// Applies these waivers to every finished result before it is announced: a failure an
    /// active waiver accepts is graded `waived` (see [`crate::verdict::waivers`]).
    pub fn with_waivers(mut self, policy: Option<WaiverPolicy>) -> Orchestrator<'c> {
        self.waivers = policy;
        self
    }

    pub fn runner(&self) -> &Runner {
        &self.runner
    }

    /// Runs and judges `cases`, emitting events as they happen, and starts no new case once
    /// `stop` is cancelled (cases in flight finish). Can be called several times before
    /// [`Orchestrator::finish`].
    ///
    /// Scenarios that end a session (`Scenario::ends_session`: a logout) cannot run beside
    /// others, so they form a phase of their own after all the others, one at a time.
    pub async fn run(
        &self,
        cases: &[Case],
        stop: &CancellationToken,
        mut on_event: impl FnMut(Event<'_>),
    ) {
        let run_deadline = Instant::now() + self.runner.config.deadlines.run;
        let (ending, ordinary): (Vec<&Case>, Vec<&Case>) =
            cases.iter().partition(|c| c.scenario.ends_session());
        let jobs = self.runner.config.jobs.max(1);
        self.run_phase(ordinary, jobs, run_deadline, stop, &mut on_event)
            .await;
        self.run_phase(ending, 1, run_deadline, stop, &mut on_event)
            .await;
    }

    /// Runs and judges `cases`, up to `jobs` at once; see [`Orchestrator::run`].
    async fn run_phase(
        &self,
        cases: Vec<&Case>,
        jobs: usize,
        run_deadline: Instant,
        stop: &CancellationToken,
        on_event: &mut impl FnMut(Event<'_>),
    ) {
        if cases.is_empty() {
            return;
        }
        let (progress_tx, mut progress) = tokio::sync::mpsc::unbounded_channel();
        let (retry_tx, mut retried) = tokio::sync::mpsc::unbounded_channel();
        let mut work = futures::stream::iter(cases)
            .take_while(|_| std::future::ready(!stop.is_cancelled()))
            .map(move |case| {
                let progress_tx = progress_tx.clone();
                let retry_tx = retry_tx.clone();
                async move {
                    // The receiver lives as long as this loop, so the send cannot fail.
                    let _ = progress_tx.send(case);
                    self.one_case(case, run_deadline, stop, &retry_tx).await
                }
            })
            .buffer_unordered(jobs);
        // Concurrent calls (a test harness running cases one by one on many threads) must not
        // wait for each other: only one of them reports stream news.
        let mut stream_notes = self.stream_notes.try_lock().ok();
        let started = |case: &Case, on_event: &mut dyn FnMut(Event<'_>)| {
            self.started
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            on_event(Event::CaseStarted { case });
        };
        let emit_progress = |progress: &mut UnboundedReceiver<&Case>,
                             on_event: &mut dyn FnMut(Event<'_>)| {
            while let Ok(case) = progress.try_recv() {
                started(case, on_event);
            }
        };
        let emit_retries = |retried: &mut UnboundedReceiver<Retried<'_>>,
                            on_event: &mut dyn FnMut(Event<'_>)| {
            while let Ok((case, attempt, failed)) = retried.try_recv() {
                on_event(Event::CaseRetried {
                    case,
                    attempt,
                    failed: &failed,
                });
            }
        };
        loop {
            tokio::select! {
                biased;
                Some(case) = progress.recv() => started(case, on_event),
                Some((case, attempt, failed)) = retried.recv() => {
                    on_event(Event::CaseRetried { case, attempt, failed: &failed });
                }
                Some(note) = async {
                    match stream_notes.as_mut().and_then(|guard| guard.as_mut()) {
                        Some(rx) => rx.recv().await,
                        None => std::future::pending().await,
                    }
                } => on_event(Event::Stream(&note)),
                finished = work.next() => match finished {
                    Some((result, check_time)) => {
                        // A case that ended while being started reports its start (and its
                        // retries) first.
                        emit_progress(&mut progress, on_event);
                        emit_retries(&mut retried, on_event);
                        on_event(Event::CaseFinished { result: &result, check_time });
                        if self.retention == Retention::KeepResults {
                            self.kept.locked().push(result);
                        }
                    }
                    None => break,
                },
            }
        }
        emit_progress(&mut progress, on_event);
        if stop.is_cancelled() {
            self.interrupted
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Runs and judges one case, re-running it on a fresh interaction while it fails and
    /// retries are left, or while transport faults make it indeterminate and the transport
    /// budget is not spent (and the run is neither stopped nor past its deadline); then applies
    /// the waivers.
    async fn one_case<'a>(
        &self,
        case: &'a Case,
        run_deadline: Instant,
        stop: &CancellationToken,
        retried: &tokio::sync::mpsc::UnboundedSender<Retried<'a>>,
    ) -> (ScenarioResult, Duration) {
        let mut attempts = Vec::new();
        let mut faults = Vec::new();
        let mut check_time = Duration::ZERO;
        let (mut failed, mut redone) = (0, 0);
        let mut result = loop {
            let (result, judging) = self.attempt(case, run_deadline).await;
            check_time += judging;
            let number = attempts.len() + 1;
            faults.extend(result.transport.iter().cloned().map(|mut f| {
                f.attempt = number;
                f
            }));
            let running = !stop.is_cancelled() && Instant::now() < run_deadline;
            let again = running
                && match result.grade {
                    Grade::Indeterminate => redone < self.transport_budget,
                    grade => grade.is_failure() && failed < self.retries,
                };
            attempts.push(Attempt::of(&result));
            if !again {
                break result;
            }
            if result.grade == Grade::Indeterminate {
                redone += 1;
            } else {
                failed += 1;
            }
            // The receiver lives as long as the run loop, so the send cannot fail.
            let _ = retried.send((case, number, result));
        };
        let last = attempts.len();
        if last > 1 {
            // Only an attempt the server failed makes a pass flaky: one the network hid is
            // neither a failure nor a pass.
            let first_failure = attempts.iter().find(|a| a.grade.is_failure());
            if !result.grade.is_failure()
                && result.grade != Grade::Indeterminate
                && let Some(first) = first_failure
            {
                let why = first
                    .findings
                    .iter()
                    .find(|f| f.severity == Severity::Error)
                    .or(first.findings.first())
                    .map(|f| format!("[{}] {}", f.check, f.message))
                    .unwrap_or_default();
                let failures = attempts.iter().filter(|a| a.grade.is_failure()).count();
                result.findings.push(
                    Finding::new(
                        "flaky",
                        format!(
                            "failed {failures} of {last} attempts, then passed on a fresh interaction; first failure: {why}"
                        ),
                    )
                    .severity(Severity::ceiling(result.level).max(Severity::Warning)),
                );
                result.grade = Grade::Flaky;
            }
            if redone > 0 {
                let decided = match result.grade {
                    Grade::Indeterminate => format!(
                        "still indeterminate after {last} attempts (transport budget {})",
                        self.transport_budget
                    ),
                    grade => format!("attempt {last} decided it ({})", grade.as_str()),
                };
                result.findings.push(
                    Finding::new(
                        "transport",
                        format!(
                            "re-run {redone} time(s) on a fresh interaction after transport faults; {decided}"
                        ),
                    )
                    .severity(Severity::Info),
                );
            }
            result.attempts = attempts;
        }
        result.transport = faults;
        if let Some(policy) = &self.waivers {
            policy.waivers.regrade(&policy.today, &mut result);
        }
        (result, check_time)
    }

    /// Runs and judges one attempt of a case within the scenario and run deadlines.
    async fn attempt(&self, case: &Case, run_deadline: Instant) -> (ScenarioResult, Duration) {
        let deadlines = self.runner.config.deadlines;
        let remaining = run_deadline.saturating_duration_since(Instant::now());
        let limit = deadlines.scenario.min(remaining);
        let started = Instant::now();
        let observation = match tokio::time::timeout(limit, self.runner.run_case(case)).await {
            Ok(o) => o,
            Err(_) => {
                let why = if remaining <= deadlines.scenario {
                    format!(
                        "the run deadline ({:.0}s) passed before the scenario finished",
                        deadlines.run.as_secs_f64()
                    )
                } else {
                    format!(
                        "the scenario did not finish within its deadline of {:.1}s",
                        deadlines.scenario.as_secs_f64()
                    )
                };
                Observation::not_started(Setup::Failed(why), Vec::new(), started.elapsed())
            }
        };
        let judging = Instant::now();
        let result = self.checker.judge(case, &observation);
        (result, judging.elapsed())
    }

    /// Closes the streams (a final barrier flushes what the server sent before the end),
    /// attributes late notifications to their scenarios, and emits the last events.
    pub async fn finish(self, mut on_event: impl FnMut(Event<'_>)) -> Outcome {
        let notes = self.runner.close().await;
        let mut results = self.kept.into_unpoisoned();
        for (scenario, message) in &notes.late_notifications {
            if let Some(r) = results.iter_mut().find(|r| &r.id == scenario) {
                check::late_notification(r, message);
            }
            on_event(Event::LateNotification { scenario, message });
        }
        for message in &notes.unclaimed_notifications {
            on_event(Event::UnclaimedNotification(message));
        }
        let waivers = self
            .waivers
            .as_ref()
            .filter(|_| self.retention == Retention::KeepResults)
            .map(|p| p.waivers.outcome(&p.today, &results));
        let outcome = Outcome {
            waivers,
            results,
            notes,
            started: self.started.into_inner(),
            interrupted: self.interrupted.into_inner(),
        };
        on_event(Event::RunFinished(&outcome));
        outcome
    }
}
