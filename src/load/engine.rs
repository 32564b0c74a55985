//! The load run from start to report: connect the agents through a `Runner`, leave out the
//! media the target cannot provision (and name them), provision the slots, hand them to the
//! dispatcher for the load phase, and have finishing settle and report.
//!
//! What the parts share is `context.rs`'s [`LoadContext`](super::context::LoadContext); this
//! file does none of their jobs: no pacing, no sending, no attribution, no verdicts.

use super::Progress;
use super::config::{LoadConfig, LoadError};
use super::context::{Identity, LoadContext};
use super::dispatcher;
use super::finish;
use super::journal::Journal;
use super::model::LoadOp;
use super::results::LoadReport;
use super::slots;
use crate::run::{Runner, Target};
use std::sync::Arc;
use std::time::Instant;

/// Runs the load against `target` (every agent in it generates load) and returns the report.
/// `Err` only for harness faults: no connection, no interaction could be provisioned.
pub async fn run(
    target: Target,
    ops: Vec<LoadOp>,
    config: LoadConfig,
    progress: Arc<Progress>,
) -> Result<LoadReport, LoadError> {
    let identity = Identity {
        started: crate::util::now_rfc3339(),
        target_name: target.name.clone(),
        target_url: target.base_url.clone(),
    };
    let setup = |message: String| LoadError::Setup {
        target: identity.target_name.clone(),
        message,
    };
    if ops.is_empty() {
        return Err(setup(
            "no replayable scenario: the selection has no positive scenario sent by the owner"
                .into(),
        ));
    }
    let runner = Runner::connect(target, config.run.clone()).await?;
    let (ops, left_out) = provisionable(&runner, ops);
    if ops.is_empty() {
        let _ = runner.close().await;
        return Err(setup(format!(
            "the target can provision none of the selected media: {}",
            left_out.join("; ")
        )));
    }
    let agents = runner.agent_count();
    let per_agent = config.slots_per_agent(agents);
    let slots = slots::provision(&runner, &ops, agents, per_agent)
        .await
        .map_err(|source| LoadError::Slots {
            target: identity.target_name.clone(),
            source,
        })?;
    let engine = Arc::new(LoadContext {
        runner,
        ops,
        journal: Journal::new(Instant::now(), progress),
        config,
        left_out,
    });
    let (slots, wall_secs) = dispatcher::dispatch(&engine, slots).await;
    let Ok(engine) = Arc::try_unwrap(engine) else {
        return Err(setup("an operation task outlived the run".into()));
    };
    Ok(finish::finish(engine, slots, identity, wall_secs).await)
}

/// The operations whose media the target can provision, and a note per media it cannot.
fn provisionable(runner: &Runner, ops: Vec<LoadOp>) -> (Vec<LoadOp>, Vec<String>) {
    let mut left_out: Vec<String> = Vec::new();
    let ops = ops
        .into_iter()
        .filter(
            |op| match runner.provisioner().can_provision(&op.case.media) {
                Ok(()) => true,
                Err(why) => {
                    let note = format!("{}: {why}", op.case.media);
                    if !left_out.contains(&note) {
                        left_out.push(note);
                    }
                    false
                }
            },
        )
        .collect();
    (ops, left_out)
}
