//! Finishing a load run: a final barrier per stream and media proves what the server sent has
//! arrived; what is left is attributed (late, repeated, unexpected on each slot's current and
//! left interactions; crossed when it reached another agent's stream); one GET per
//! interaction checks read-your-writes; the slots are released, the runner closed (its stream
//! notes and anything left behind become stream problems), and the journal tallied into the
//! report.
//!
//! The verdicts are `check`'s (`judge_leftover`, `load_read_your_writes`, and the stream
//! problems' words); whose a message is, is attribution's. It sends no operation.

use super::attribution::OnRetired;
use super::config::Pacing;
use super::context::{Identity, LoadContext};
use super::executor::{
    READ_BACK_ATTEMPTS, ReadBackError, attribute_stragglers, emit_leftover, read_back, shown_state,
};
use super::journal::LoadEvent;
use super::results::{self, LoadReport, ReadYourWrites, Settings};
use super::slots::{self, Slot};
use crate::check::{self, Leftover};
use futures::StreamExt;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};

/// After the load phase: final barriers, leftovers, read-your-writes, cleanup, the report.
pub(crate) async fn finish(
    engine: LoadContext,
    mut slots: Vec<Slot>,
    identity: Identity,
    wall_secs: f64,
) -> LoadReport {
    let mut stream_problems = final_barriers(&engine, &slots).await;
    for slot in slots.iter_mut() {
        attribute_leftovers(&engine, slot, &mut stream_problems);
    }
    if let Some(problem) = check::unclaimed_notifications(attribute_crossed(&engine, &slots)) {
        stream_problems.push(problem);
    }
    let read_your_writes = read_your_writes(&engine, &slots).await;
    slots::release_all(&engine.runner, &slots).await;
    let LoadContext {
        runner,
        ops,
        config,
        journal,
        left_out,
    } = engine;
    let names: Vec<String> = (0..runner.agent_count())
        .map(|i| {
            runner
                .session(i)
                .map(|s| s.username.clone())
                .unwrap_or_default()
        })
        .collect();
    let notes = runner.close().await;
    let caught_closing: Vec<Value> = notes
        .late_notifications
        .into_iter()
        .map(|(_, message)| message)
        .chain(notes.unclaimed_notifications)
        .collect();
    stream_problems.extend(check::after_final_barriers(&caught_closing));
    stream_problems.extend(notes.closed_streams);
    stream_problems.extend(notes.rehandshakes);
    stream_problems.extend(notes.left_behind);
    let tally = journal.tally(&slots, &ops, &names);
    let mut report = LoadReport {
        format: results::FORMAT.into(),
        target_name: identity.target_name,
        target_url: identity.target_url,
        started: identity.started,
        finished: crate::util::now_rfc3339(),
        settings: Settings {
            agents: slots.iter().map(|s| s.agent).collect::<BTreeSet<_>>().len(),
            shard: config.shard.clone(),
            rate: match config.pacing {
                Pacing::Rate(r) => Some(r),
                Pacing::Concurrency(_) => None,
            },
            concurrency: match config.pacing {
                Pacing::Concurrency(c) => Some(c),
                Pacing::Rate(_) => None,
            },
            shared: config.group_size(),
            duration_secs: config.duration.as_secs_f64(),
            scenarios: tally.scenarios,
        },
        wall_secs,
        ledger: tally.ledger,
        affected: tally.affected,
        affected_not_listed: tally.affected_not_listed,
        read_your_writes,
        http: tally.http,
        notification: tally.notification,
        percentiles: Default::default(),
        seconds: tally.seconds,
        stream_problems,
        left_out,
    };
    report.refresh_percentiles();
    report
}

/// One barrier per stream and media the slots use; a barrier that fails is a stream problem.
async fn final_barriers(engine: &LoadContext, slots: &[Slot]) -> Vec<String> {
    let runner = &engine.runner;
    let streams: BTreeSet<(usize, String)> =
        slots.iter().map(|s| (s.agent, s.media.clone())).collect();
    let problems: Vec<Option<String>> = futures::stream::iter(streams.iter())
        .map(|(agent, media)| async move {
            let e = runner.settle_stream(*agent, media).await.err()?;
            let name = runner
                .session(*agent)
                .map(|s| s.username.clone())
                .unwrap_or_default();
            Some(format!("agent {name}, {media}: final barrier: {e}"))
        })
        .buffer_unordered(64)
        .collect()
        .await;
    problems.into_iter().flatten().collect()
}

/// What is left on the slot's own stream: stragglers of its current interaction, and what
/// came for the interactions it had left (matched by the state shown).
fn attribute_leftovers(engine: &LoadContext, slot: &mut Slot, stream_problems: &mut Vec<String>) {
    let router = engine.runner.router();
    let start = engine.journal.start();
    let left = router.take(slot.agent, &slot.id, start);
    attribute_stragglers(engine, slot, left);
    for retired in &slot.retired {
        for m in router.take(slot.agent, &retired.id, start) {
            let shows = shown_state(engine, slot, &m.message);
            let attribution = slot.memory.on_retired(
                retired,
                super::attribution::message_hash(&m.message),
                m.after_post,
                shows,
                |r| engine.journal.still_lost(r),
            );
            let (record, leftover) = match attribution {
                OnRetired::Copy(record) => (record, Leftover::Copy),
                OnRetired::Late(record) => (record, Leftover::Late),
                OnRetired::SameState(record) => (record, Leftover::SameState),
                OnRetired::AfterCleanup => continue,
                OnRetired::Unknown => {
                    stream_problems.push(check::unexplained_notification(&retired.id, &m.message));
                    continue;
                }
            };
            emit_leftover(engine, record, leftover, &m.message);
        }
    }
}

/// Everything still filed after the slots took theirs reached a stream other than its
/// interaction's owner's: crossed, held against the operation whose state it shows. Returns
/// how many were about interactions the run did not use.
fn attribute_crossed(engine: &LoadContext, slots: &[Slot]) -> usize {
    let by_id: HashMap<&str, &Slot> = slots
        .iter()
        .flat_map(|s| s.interaction_ids().map(move |id| (id, s)))
        .collect();
    let mut unclaimed = 0;
    for (agent, message) in engine.runner.router().leftovers() {
        let id = crate::run::router::interaction_id(&message);
        let Some(slot) = id.as_deref().and_then(|id| by_id.get(id)) else {
            unclaimed += 1;
            continue;
        };
        let receiver = engine
            .runner
            .session(agent)
            .map(|s| s.username.clone())
            .unwrap_or_default();
        if let Some(record) = slot.memory.crossed(shown_state(engine, slot, &message)) {
            emit_leftover(
                engine,
                record,
                Leftover::Crossed {
                    receiver: &receiver,
                },
                &message,
            );
        }
    }
    unclaimed
}

/// One GET per interaction: the user data must be the expected final state. A mismatch makes
/// the interaction's latest operation wrong; a GET every attempt of which a transport fault
/// cut makes it indeterminate, never wrong (the harness did not see the state).
async fn read_your_writes(engine: &LoadContext, slots: &[Slot]) -> ReadYourWrites {
    type Read = (usize, Result<Map<String, Value>, ReadBackError>);
    let reads: Vec<Read> = futures::stream::iter(slots.iter().enumerate())
        .map(|(i, s)| async move { (i, read_back(engine, s).await) })
        .buffer_unordered(32)
        .collect()
        .await;
    let mut result = ReadYourWrites::default();
    for (i, got) in reads {
        let slot = &slots[i];
        let (fact, problem) = match &got {
            Err(e) if e.is_transport() => {
                result.unread += 1;
                (
                    check::LoadFact::Indeterminate,
                    Some(format!(
                        "read-your-writes not observed: {READ_BACK_ATTEMPTS} GETs cut by transport faults, the last: {e}"
                    )),
                )
            }
            got => {
                result.checked += 1;
                let why;
                let read = match got {
                    Ok(seen) => Ok(seen),
                    Err(e) => {
                        why = e.to_string();
                        Err(why.as_str())
                    }
                };
                let problem = check::load_read_your_writes(read, &slot.state);
                if problem.is_some() {
                    result.mismatched += 1;
                }
                (check::LoadFact::Wrong, problem)
            }
        };
        if let (Some(problem), Some(record)) = (problem, slot.memory.latest()) {
            engine.journal.emit(LoadEvent::Fact {
                record,
                fact,
                detail: Some(problem),
            });
        }
    }
    result
}
