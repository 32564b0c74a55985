//! `load` as one call: check the request, start the embedded server with numbered agents or
//! take the target file's agents (the first N, then the shard's slice), run the load, shut
//! the server down, and write `load.json` and `report.html`.
//!
//! It judges nothing itself (every verdict is `check`'s, through `crate::load`) and prints
//! nothing; the caller watches [`Progress`] and renders the [`LoadReport`].

use crate::command::embedded::TargetChoice;
use crate::command::embedded::{Embedded, EmbeddedError};
use crate::load::model::LoadOp;
use crate::load::results::LoadReport;
use crate::load::{self, LoadConfig, LoadError, Pacing, Progress};
use crate::report::ReportError;
use crate::run::{Deadlines, RunConfig, Target};
use crate::server::{Defect, ServerConfig};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A load, as asked; [`LoadPlan::check`] refuses what would test nothing.
pub struct LoadPlan {
    pub ops: Vec<LoadOp>,
    /// The embedded server gets the CSRF token required when the defect needs it.
    pub target: TargetChoice,
    /// Agents: the embedded server creates agent1..agentN (default 2); with a target file, its
    /// first N (default: all).
    pub agents: Option<usize>,
    /// The K-th of N disjoint slices of the agents.
    pub shard: Option<(usize, usize)>,
    pub duration: Duration,
    pub rate: Option<f64>,
    pub concurrency: Option<usize>,
    pub shared: usize,
    pub ops_per_agent: Option<u64>,
    pub interactions_per_agent: Option<usize>,
    pub request_timeout: Duration,
    pub notification_timeout: Duration,
    /// Where `load.json` and `report.html` go.
    pub out: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadCommandError {
    /// A request that would test nothing or cannot be met, with what to change.
    #[error("{0}")]
    Request(String),
    #[error(transparent)]
    Embedded(#[from] EmbeddedError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Report(#[from] ReportError),
    /// Nothing judged is not a pass: the target provided no interaction to operate on, or the
    /// run ended before the first operation.
    #[error("no operation was sent, so nothing was tested (see the stream problems above)")]
    NothingSent(Box<LoadReport>),
}

impl LoadPlan {
    /// Refuses a load that would pass without having tested anything, or that names nothing to
    /// run on.
    pub fn check(&self) -> Result<(), LoadCommandError> {
        let refuse = |why: &str| Err(LoadCommandError::Request(why.to_string()));
        if self.shared == 0 {
            return refuse("--shared must be at least 1");
        }
        if self.agents == Some(0) {
            return refuse("--agents must be at least 1");
        }
        if self.concurrency == Some(0) {
            return refuse("--concurrency must be at least 1");
        }
        if self.duration.is_zero() && self.ops_per_agent.is_none_or(|m| m == 0) {
            return refuse("--duration must be longer than 0s (or give --ops-per-agent)");
        }
        if let Some(r) = self.rate
            && !(r.is_finite() && r > 0.0)
        {
            return refuse("--rate must be a positive number of operations per second");
        }
        if self.ops.is_empty() {
            return refuse(
                "no replayable scenario in the selection: load replays positive scenarios sent by the interaction's owner",
            );
        }
        Ok(())
    }

    /// The agents of this run: the target's, cut to `agents`, then to the shard's slice.
    fn agents_of(&self, mut target: Target) -> Result<Target, LoadCommandError> {
        if let (Some(n), TargetChoice::File(_)) = (self.agents, &self.target)
            && (n == 0 || n > target.agents.len())
        {
            return Err(LoadCommandError::Request(format!(
                "--agents {n}: the target file names {} agents",
                target.agents.len()
            )));
        }
        if let Some(n) = self.agents {
            target.agents.truncate(n);
        }
        if let Some((k, n)) = self.shard {
            target.agents = crate::plan::shard_slice(&target.agents, k, n);
            if target.agents.is_empty() {
                return Err(LoadCommandError::Request(format!(
                    "--shard {k}/{n}: this slice of the agents is empty"
                )));
            }
        }
        Ok(target)
    }

    fn config(&self, agents: usize) -> LoadConfig {
        LoadConfig {
            duration: self.duration,
            pacing: match (self.rate, self.concurrency) {
                (Some(r), _) => Pacing::Rate(r),
                (None, Some(c)) => Pacing::Concurrency(c),
                (None, None) => Pacing::Concurrency(agents),
            },
            shared: self.shared,
            ops_per_agent: self.ops_per_agent,
            interactions_per_agent: self.interactions_per_agent,
            run: RunConfig {
                deadlines: Deadlines {
                    request: self.request_timeout,
                    notification: self.notification_timeout,
                    ..Deadlines::default()
                },
                ..RunConfig::default()
            },
            shard: self.shard.map(|(k, n)| format!("{k}/{n}")),
        }
    }
}

/// How `load` names the embedded server.
fn embedded_name(config: &ServerConfig) -> String {
    match config.defect {
        Some(d) => format!("reference server ({d})"),
        None => "reference server".to_string(),
    }
}

/// Runs the load; `progress` counts live for whoever watches.
pub async fn run(plan: LoadPlan, progress: Arc<Progress>) -> Result<LoadReport, LoadCommandError> {
    plan.check()?;
    if let Some(dir) = &plan.out {
        std::fs::create_dir_all(dir).map_err(|e| ReportError::write(dir, e))?;
    }
    let (target, embedded) = match &plan.target {
        TargetChoice::File(t) => (t.clone(), None),
        TargetChoice::Embedded(config) => {
            // A defect that acts only on CSRF-protected requests needs the server to ask for them.
            let config = ServerConfig {
                csrf: config.csrf || config.defect.is_some_and(Defect::needs_csrf),
                ..config.clone()
            };
            let e = Embedded::start(config.clone(), embedded_name(&config)).await?;
            (e.target.clone(), Some(e))
        }
    };
    let outcome = match plan.agents_of(target) {
        Ok(target) => {
            let config = plan.config(target.agents.len());
            load::run(target, plan.ops.clone(), config, progress)
                .await
                .map_err(LoadCommandError::from)
        }
        Err(e) => Err(e),
    };
    if let Some(s) = embedded {
        s.shutdown().await;
    }
    let report = outcome?;
    if let Some(dir) = &plan.out {
        report.write(dir)?;
        let html = report.html()?;
        let path = dir.join("report.html");
        std::fs::write(&path, html).map_err(|e| ReportError::write(path, e))?;
    }
    if report.ledger.operations == 0 {
        return Err(LoadCommandError::NothingSent(Box::new(report)));
    }
    Ok(report)
}
