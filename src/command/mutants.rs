//! Suite power: runs the suite against the clean reference server and against each injected
//! defect, and builds the kill matrix.
//!
//! A defect is *killed* when at least one `must` scenario fails on it. The suite's score is
//! the share of killed defects; a good suite kills every one while the clean server passes
//! everything. This module orchestrates runs and summarises results; it does not judge
//! scenarios (that is `check`) nor print (that is the CLI).

use crate::check::Checker;
use crate::command::embedded::Embedded;
use crate::orchestrator::{Event, Orchestrator, Retention};
use crate::plan::Case;
use crate::result::Grade;
use crate::run::{Native, RunConfig, Runner};
use crate::server::{Defect, ServerConfig};
use crate::spec::Level;
use futures::StreamExt;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// How one server variant fared.
#[derive(Debug, Clone, Serialize)]
pub struct VariantOutcome {
    /// `clean`, or the defect's name.
    pub server: String,
    pub description: String,
    /// `must` scenarios that failed: the killers.
    pub killed_by: Vec<String>,
    /// Every other scenario that did not pass, with its grade.
    pub other: Vec<(String, Grade)>,
    /// A harness fault that prevented the run, if any.
    pub error: Option<String>,
    /// How many scenarios ran (with `--load`: operations): fewer than the matrix's
    /// `scenarios` when the run stopped at its first kill ([`Scope::FirstKill`]).
    pub ran: usize,
}

impl VariantOutcome {
    pub fn killed(&self) -> bool {
        !self.killed_by.is_empty()
    }
}

/// The kill matrix and the clean run.
#[derive(Debug, Clone, Serialize)]
pub struct KillMatrix {
    pub scenarios: usize,
    pub clean: VariantOutcome,
    pub defects: Vec<VariantOutcome>,
    pub killed: usize,
    /// Killed defects as a percentage of all defects.
    pub score: f64,
    /// Each defect's run stopped at its first kill ([`Scope::FirstKill`]): `killed_by` is
    /// partial.
    pub first_kill: bool,
}

impl KillMatrix {
    /// The clean server passes everything and every defect is killed.
    pub fn perfect(&self) -> bool {
        self.clean.error.is_none()
            && self.clean.killed_by.is_empty()
            && self
                .clean
                .other
                .iter()
                .all(|(_, g)| *g == Grade::NotApplicable)
            && self.defects.iter().all(|d| d.killed() && d.error.is_none())
    }

    pub fn survivors(&self) -> Vec<&str> {
        self.defects
            .iter()
            .filter(|d| !d.killed())
            .map(|d| d.server.as_str())
            .collect()
    }
}

/// The defects `mutants` runs when none are named: with `load`, the load-only ones (they act
/// only with more than 50 Bayeux clients); otherwise every defect the suite must kill —
/// load-only ones cannot act on the suite's two agents, and warning-only ones leave the
/// server conformant, so the suite only warns.
pub fn default_defects(load: bool) -> Vec<Defect> {
    Defect::ALL
        .iter()
        .copied()
        .filter(|d| {
            if load {
                d.load_only()
            } else {
                d.in_kill_matrix()
            }
        })
        .collect()
}

/// How much of each defect's run the kill matrix waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every scenario against every defect: each defect's whole list of killers.
    Full,
    /// A defect's run starts no new scenario after its first kill (scenarios in flight
    /// finish), so `killed_by` names the killers seen by then. The score and the clean run are
    /// the same as with `Full`, in a fraction of the time.
    FirstKill,
}

/// Whether a finished scenario kills the server it ran against: a `must` scenario failed.
fn kills(result: &crate::result::ScenarioResult) -> bool {
    result.level == Level::Must && result.grade == Grade::Fail
}

/// Runs `cases` against one server variant.
async fn run_variant(
    defect: Option<Defect>,
    cases: &[Case],
    checker: &Checker,
    config: &RunConfig,
    scope: Scope,
) -> VariantOutcome {
    let (server_name, description) = match defect {
        Some(d) => (d.name().to_string(), d.description().to_string()),
        None => (
            "clean".to_string(),
            "the reference server as it is".to_string(),
        ),
    };
    let server_config = ServerConfig {
        defect,
        // A defect in the CSRF check can only act on a server that checks CSRF tokens.
        csrf: defect.is_some_and(Defect::needs_csrf),
        // Late enough to miss any notification deadline of the run.
        late_delay: config.deadlines.notification * 3,
        ..ServerConfig::default()
    };
    let mut outcome = VariantOutcome {
        server: server_name,
        description,
        killed_by: Vec::new(),
        other: Vec::new(),
        error: None,
        ran: 0,
    };
    let name = format!("reference server ({})", outcome.server);
    let Embedded { mut target, server } = match Embedded::start(server_config, name).await {
        Ok(e) => e,
        Err(e) => {
            outcome.error = Some(e.to_string());
            return outcome;
        }
    };
    if defect.is_some_and(Defect::needs_native_voice) {
        // Calls are then placed with `Dial`, the other media still come from the contract.
        target.fixtures.native = Some(Native {
            dial: Some("15002".into()),
            ..Native::default()
        });
    }
    match Runner::connect(target, config.clone()).await {
        Err(e) => outcome.error = Some(e.to_string()),
        Ok(runner) => {
            let orchestrator = Orchestrator::new(runner, checker, Retention::KeepResults);
            let stop = CancellationToken::new();
            // The clean server always runs everything: passing all of it is half the proof.
            let stop_at_kill = scope == Scope::FirstKill && defect.is_some();
            orchestrator
                .run(cases, &stop, |event| {
                    if let Event::CaseFinished { result, .. } = event
                        && stop_at_kill
                        && kills(result)
                    {
                        stop.cancel();
                    }
                })
                .await;
            let mut results = orchestrator.finish(|_| {}).await.results;
            results.sort_by(|a, b| a.id.cmp(&b.id));
            outcome.ran = results.len();
            for r in results {
                if kills(&r) {
                    outcome.killed_by.push(r.id);
                } else if r.grade != Grade::Pass {
                    outcome.other.push((r.id, r.grade));
                }
            }
        }
    }
    server.shutdown().await;
    outcome
}

/// Runs the clean server and every defect in `defects`, `parallel` variants at a time, each
/// as far as `scope` says, and calls `progress` as each variant finishes.
pub async fn kill_matrix(
    cases: &[Case],
    checker: &Checker,
    config: &RunConfig,
    defects: &[Defect],
    parallel: usize,
    scope: Scope,
    mut progress: impl FnMut(&VariantOutcome),
) -> KillMatrix {
    let variants: Vec<Option<Defect>> = std::iter::once(None)
        .chain(defects.iter().copied().map(Some))
        .collect();
    let mut outcomes: Vec<(usize, VariantOutcome)> =
        futures::stream::iter(variants.into_iter().enumerate())
            .map(|(i, d)| async move { (i, run_variant(d, cases, checker, config, scope).await) })
            .buffer_unordered(parallel.max(1))
            .inspect(|(_, o)| progress(o))
            .collect()
            .await;
    outcomes.sort_by_key(|(i, _)| *i);
    let mut outcomes = outcomes.into_iter().map(|(_, o)| o);
    let clean = outcomes.next().expect("the clean variant always runs");
    KillMatrix {
        first_kill: scope == Scope::FirstKill,
        ..KillMatrix::of(cases.len(), clean, outcomes.collect())
    }
}

/// Load-only defects against `load` (`mutants --load`): each variant is the embedded server
/// with `agents` numbered agents, loaded for `duration` with two concurrent operations per
/// interaction (so that lost updates can show). A defect is killed when the load ledger fails;
/// `killed_by` names the failing kinds with their counts.
pub async fn load_kill_matrix(
    ops: &[crate::load::model::LoadOp],
    defects: &[Defect],
    agents: usize,
    duration: std::time::Duration,
    mut progress: impl FnMut(&VariantOutcome),
) -> KillMatrix {
    let mut outcomes = Vec::new();
    // One variant at a time: each opens dozens of streams, and the defects are about load.
    for defect in std::iter::once(None).chain(defects.iter().copied().map(Some)) {
        let outcome = run_load_variant(defect, ops, agents, duration).await;
        progress(&outcome);
        outcomes.push(outcome);
    }
    let mut outcomes = outcomes.into_iter();
    let clean = outcomes.next().unwrap_or_else(|| VariantOutcome {
        server: "clean".into(),
        description: String::new(),
        killed_by: Vec::new(),
        other: Vec::new(),
        error: Some("the clean variant did not run".into()),
        ran: 0,
    });
    KillMatrix::of(ops.len(), clean, outcomes.collect())
}

impl KillMatrix {
    /// The matrix of a clean run and the defect runs, with how many were killed and the score.
    fn of(scenarios: usize, clean: VariantOutcome, defects: Vec<VariantOutcome>) -> KillMatrix {
        let killed = defects.iter().filter(|d| d.killed()).count();
        let score = if defects.is_empty() {
            100.0
        } else {
            killed as f64 * 100.0 / defects.len() as f64
        };
        KillMatrix {
            scenarios,
            clean,
            defects,
            killed,
            score,
            first_kill: false,
        }
    }
}

async fn run_load_variant(
    defect: Option<Defect>,
    ops: &[crate::load::model::LoadOp],
    agents: usize,
    duration: std::time::Duration,
) -> VariantOutcome {
    use crate::load::ledger::Kind;
    let mut outcome = VariantOutcome {
        server: defect.map_or_else(|| "clean".to_string(), |d| d.name().to_string()),
        description: defect.map_or_else(
            || "the reference server as it is".to_string(),
            |d| d.description().to_string(),
        ),
        killed_by: Vec::new(),
        other: Vec::new(),
        error: None,
        ran: 0,
    };
    let config = ServerConfig {
        agents: crate::server::state::ServerState::numbered_agents(agents),
        defect,
        csrf: defect.is_some_and(Defect::needs_csrf),
        ..ServerConfig::default()
    };
    let name = format!("reference server ({})", outcome.server);
    let Embedded { target, server } = match Embedded::start(config, name).await {
        Ok(e) => e,
        Err(e) => {
            outcome.error = Some(e.to_string());
            return outcome;
        }
    };
    let load = crate::load::LoadConfig {
        duration,
        pacing: crate::load::Pacing::Concurrency(agents),
        shared: 2,
        ops_per_agent: None,
        interactions_per_agent: None,
        run: RunConfig {
            deadlines: crate::run::Deadlines {
                notification: std::time::Duration::from_secs(2),
                ..Default::default()
            },
            ..RunConfig::default()
        },
        shard: None,
    };
    match crate::load::run(target, ops.to_vec(), load, Default::default()).await {
        Err(e) => outcome.error = Some(e.to_string()),
        Ok(report) => {
            outcome.ran = usize::try_from(report.ledger.operations).unwrap_or(usize::MAX);
            for kind in Kind::ALL.into_iter().filter(|k| k.fails()) {
                let n = report.ledger.get(kind);
                if n > 0 {
                    outcome.killed_by.push(format!("{}: {n}", kind.name()));
                }
            }
        }
    }
    server.shutdown().await;
    outcome
}
