//! Suite power: runs the suite against the clean reference server and against each injected
//! defect, and builds the kill matrix.
//!
//! A defect is *killed* when at least one `must` scenario fails on it. The suite's score is
//! the share of killed defects; a good suite kills every one while the clean server passes
//! everything. This module orchestrates runs and summarises results; it does not judge
//! scenarios (that is `check`) nor print (that is the CLI).

use crate::check::Checker;
use crate::orchestrator::{Orchestrator, Retention};
use crate::plan::Case;
use crate::result::Grade;
use crate::run::{RunConfig, Runner, Target};
use crate::server::{self, Defect, ServerConfig};
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

/// Runs `cases` against one server variant.
async fn run_variant(
    defect: Option<Defect>,
    cases: &[Case],
    checker: &Checker,
    config: &RunConfig,
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
    };
    let server = match server::start(server_config.clone()).await {
        Ok(s) => s,
        Err(e) => {
            outcome.error = Some(format!("cannot start the server: {e}"));
            return outcome;
        }
    };
    let target = Target::embedded(
        format!("reference server ({})", outcome.server),
        &server.base_url,
        &server_config.agents,
    );
    match Runner::connect(target, config.clone()).await {
        Err(e) => outcome.error = Some(e.to_string()),
        Ok(runner) => {
            let orchestrator = Orchestrator::new(runner, checker, Retention::KeepResults);
            orchestrator
                .run(cases, &CancellationToken::new(), |_| {})
                .await;
            let mut results = orchestrator.finish(|_| {}).await.results;
            results.sort_by(|a, b| a.id.cmp(&b.id));
            for r in results {
                if r.level == Level::Must && r.grade == Grade::Fail {
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

/// Runs the clean server and every defect in `defects`, `parallel` variants at a time, and
/// calls `progress` as each variant finishes.
pub async fn kill_matrix(
    cases: &[Case],
    checker: &Checker,
    config: &RunConfig,
    defects: &[Defect],
    parallel: usize,
    mut progress: impl FnMut(&VariantOutcome),
) -> KillMatrix {
    let variants: Vec<Option<Defect>> = std::iter::once(None)
        .chain(defects.iter().copied().map(Some))
        .collect();
    let mut outcomes: Vec<(usize, VariantOutcome)> =
        futures::stream::iter(variants.into_iter().enumerate())
            .map(|(i, d)| async move { (i, run_variant(d, cases, checker, config).await) })
            .buffer_unordered(parallel.max(1))
            .inspect(|(_, o)| progress(o))
            .collect()
            .await;
    outcomes.sort_by_key(|(i, _)| *i);
    let mut outcomes = outcomes.into_iter().map(|(_, o)| o);
    let clean = outcomes.next().expect("the clean variant always runs");
    let defects: Vec<VariantOutcome> = outcomes.collect();
    let killed = defects.iter().filter(|d| d.killed()).count();
    let score = if defects.is_empty() {
        100.0
    } else {
        killed as f64 * 100.0 / defects.len() as f64
    };
    KillMatrix {
        scenarios: cases.len(),
        clean,
        defects,
        killed,
        score,
    }
}
