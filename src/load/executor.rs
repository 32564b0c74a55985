//! The executor: one group of operations on one slot. It attributes what arrived since the
//! slot's last group, moves the slot to a fresh interaction when due, sends the group's
//! requests concurrently, applies the accepted ones to the model, collects the group's
//! notifications (setting aside the late ones of earlier groups, by the state they show), has
//! `check::load_group` judge the group, and emits everything as load events to the journal.
//!
//! It decides no verdict (`check` does) and no attribution (`attribution` does); it only
//! sends, waits (on the router's wake-ups, with the notification deadline) and reports.

use super::attribution::{self, Arrival, Group, Straggler, message_hash, state_hash};
use super::context::LoadContext;
use super::ids::{OpIndex, RecordIndex};
use super::journal::LoadEvent;
use super::model::{self, Effect};
use super::slots::{self, Slot};
use crate::check::{
    self, GroupObservation, GroupOperation, Leftover, same_user_data, user_data_of,
};
use crate::observation::{Delivered, Reply, RequestError};
use crate::run::session::Auth;
use reqwest::Method;
use serde_json::Value;
use std::time::Instant;

/// The hash of the user data a notification shows, for the slot's media.
pub(crate) fn shown_state(engine: &LoadContext, slot: &Slot, message: &Value) -> Option<u64> {
    attribution::shown_state(&engine.op(slot.any_op()).case.facts, message)
}

/// Emits `check`'s verdict on a leftover message as a fact about `record`.
pub(crate) fn emit_leftover(
    engine: &LoadContext,
    record: RecordIndex,
    leftover: Leftover<'_>,
    message: &Value,
) {
    let (fact, detail) = check::judge_leftover(leftover, message);
    engine.journal.emit(LoadEvent::Fact {
        record,
        fact,
        detail,
    });
}

/// Messages that arrived after the slot's last group was judged: late notifications of
/// groups short of them, else repeats of the last group, else unexpected.
pub(crate) fn attribute_stragglers(
    engine: &LoadContext,
    slot: &mut Slot,
    messages: Vec<Delivered>,
) {
    let lost = |r| engine.journal.still_lost(r);
    for m in messages {
        let shows = shown_state(engine, slot, &m.message);
        let (record, leftover) = match slot.memory.straggler(shows, lost) {
            Straggler::Late(Some(record)) => (record, Leftover::Late),
            Straggler::Repeat(record) => (record, Leftover::Repeat),
            Straggler::Unexpected(record) => (record, Leftover::Unexpected),
            Straggler::Late(None) | Straggler::Unattributed => continue,
        };
        emit_leftover(engine, record, leftover, &m.message);
    }
}

/// Sends one group of operations on the slot, intended to start at `intended`, and has it
/// judged.
pub(crate) async fn run_group(engine: &LoadContext, slot: &mut Slot, intended: Instant) {
    let shared = engine.config.group_size();
    let agent = slot.agent;
    let Some(session) = engine.runner.session(agent).cloned() else {
        return;
    };
    let router = engine.runner.router();
    // Whatever arrived since the last group was judged belongs to that group.
    let stragglers = router.take(agent, &slot.id, intended);
    attribute_stragglers(engine, slot, stragglers);
    if slot.due_for_fresh_interaction() {
        // A copy of the last group's notification may still be on its way; once the slot has
        // moved, nothing would take it for this interaction and its operation would read as
        // notified once. The barrier proves the stream delivered everything the server sent
        // before now, so the last of them are attributed here (a barrier that cannot pass
        // leaves them to the final leftovers, as before).
        let _ = engine.runner.settle_stream(agent, &slot.media).await;
        let stragglers = router.take(agent, &slot.id, intended);
        attribute_stragglers(engine, slot, stragglers);
        slots::move_to_fresh_interaction(&engine.runner, &engine.ops, slot, engine.journal.start())
            .await;
    }
    slot.groups_here += 1;
    let picks = slot.pick(shared);
    let requests = group_requests(engine, &picks);
    let records = engine.journal.open(slot, &picks, intended);
    engine.journal.emit(LoadEvent::Sent {
        operations: shared as u64,
    });
    let replies: Vec<(Result<Reply, RequestError>, Instant)> =
        futures::future::join_all(requests.iter().map(|(body, _)| {
            let session = &session;
            let path = &slot.path;
            async move {
                let bytes = body.to_string().into_bytes();
                let reply = session
                    .request(Method::POST, path, Some(&bytes), Auth::Session, true, None)
                    .await
                    .map(|(r, _)| r);
                (reply, Instant::now())
            }
        }))
        .await;
    let mut after = slot.state.clone();
    let mut applied = 0;
    for ((reply, at), (_, effect)) in replies.iter().zip(&requests) {
        engine.journal.emit(LoadEvent::HttpAnswered {
            intended,
            latency: at.saturating_duration_since(intended),
        });
        if check::operation_accepted(reply) {
            effect.apply(&mut after);
            applied += 1;
        }
    }
    let after_hash = state_hash(&after);
    let ours = collect_ours(engine, slot, applied, after_hash, intended).await;
    // A long poll cut during the group's window may have carried its notification: what is
    // missing is then indeterminate, not lost.
    let interrupted = router
        .interruptions_since(&[agent], intended)
        .into_iter()
        .map(|i| i.cause)
        .next();
    let verdict = check::load_group(&GroupObservation {
        operations: picks
            .iter()
            .zip(&requests)
            .zip(&replies)
            .map(|((&op, (_, effect)), (reply, _))| GroupOperation {
                case: &engine.op(op).case,
                keys: effect.keys(),
                reply,
            })
            .collect(),
        notifications: &ours,
        expected: &after,
        deadline: engine.config.run.deadlines.notification,
        interrupted,
    });
    for latency in verdict.notification_latencies {
        engine
            .journal
            .emit(LoadEvent::Notified { intended, latency });
    }
    for mark in verdict.marks {
        engine.journal.emit(LoadEvent::Fact {
            record: records[mark.op],
            fact: mark.fact,
            detail: mark.detail,
        });
    }
    engine.journal.emit(LoadEvent::Judged {
        notified: verdict.notified,
        problems: verdict.problems,
    });
    follow_the_server(engine, slot, &ours, after, after_hash, shared);
    let unsure = match (shared, replies.first(), requests.first()) {
        (1, Some((Err(e), _)), Some((_, effect))) if e.is_transport() => {
            Some(resync_after_lost_reply(engine, slot, effect).await)
        }
        _ => None,
    };
    slot.memory.remember(Group {
        last_message: ours.last().map(|d| message_hash(&d.message)),
        records,
        final_state: unsure.unwrap_or_else(|| state_hash(&slot.state)),
        missing: applied.saturating_sub(ours.len()) + usize::from(unsure.is_some()),
    });
}

/// The requests of one group: the picked operations as they are, or, when several share the
/// interaction, each with its keys suffixed (`~0`, `~1`, ...) so their effects do not overlap.
fn group_requests(engine: &LoadContext, picks: &[OpIndex]) -> Vec<(Value, Effect)> {
    picks
        .iter()
        .enumerate()
        .map(|(j, &op)| {
            let op = engine.op(op);
            if picks.len() == 1 {
                (op.request.clone(), op.effect.clone())
            } else {
                let request = model::with_key_suffix(&op.request, &format!("~{j}"));
                let effect =
                    Effect::of(&request, op.case.facts.delete).unwrap_or_else(|| op.effect.clone());
                (request, effect)
            }
        })
        .collect()
}

/// Collects this group's notifications, up to one per applied operation; late ones of earlier
/// groups (showing their state, not ours) are set aside, so they are never taken for ours.
async fn collect_ours(
    engine: &LoadContext,
    slot: &mut Slot,
    applied: usize,
    after_hash: u64,
    intended: Instant,
) -> Vec<Delivered> {
    let deadline = tokio::time::Instant::now() + engine.config.run.deadlines.notification;
    let router = engine.runner.router();
    let agent = slot.agent;
    let mut ours: Vec<Delivered> = Vec::new();
    while ours.len() < applied {
        if !router.wait_for(agent, &slot.id, 1, deadline).await {
            break;
        }
        let got = router.take(agent, &slot.id, intended);
        if got.is_empty() {
            // The stream closed: nothing more will come.
            break;
        }
        for d in got {
            let shows = shown_state(engine, slot, &d.message);
            let lost = |r| engine.journal.still_lost(r);
            match slot.memory.during_group(shows, after_hash, lost) {
                Arrival::Ours => ours.push(d),
                Arrival::Late(Some(record)) => {
                    emit_leftover(engine, record, Leftover::Late, &d.message)
                }
                Arrival::Late(None) => {}
            }
        }
    }
    ours
}

/// An operation whose reply a transport fault took may or may not have been applied. The
/// model takes the server's word for the state (one GET), so that the next operation is
/// judged against what is really there; returns the state the lost operation's notification
/// would show, so that one arriving late is attributed to it rather than judged as the next
/// operation's.
async fn resync_after_lost_reply(engine: &LoadContext, slot: &mut Slot, effect: &Effect) -> u64 {
    let mut applied = slot.state.clone();
    effect.apply(&mut applied);
    if let Ok(seen) = read_back(engine, slot).await {
        slot.state = seen;
    }
    state_hash(&applied)
}

/// The model follows the server after a wrong notification (of a single operation), so one
/// fault is one wrong operation, not a cascade over every later operation on the interaction.
fn follow_the_server(
    engine: &LoadContext,
    slot: &mut Slot,
    ours: &[Delivered],
    after: serde_json::Map<String, Value>,
    after_hash: u64,
    shared: usize,
) {
    let facts = &engine.op(slot.any_op()).case.facts;
    let observed = ours
        .last()
        .filter(|d| attribution::shown_state(facts, &d.message) != Some(after_hash))
        .and_then(|d| {
            facts
                .find_resource(&d.message["data"])
                .map(|(_, r)| user_data_of(r))
        })
        .filter(|_| shared == 1);
    slot.state = match observed {
        Some(seen) if !same_user_data(&seen, &after) => seen,
        _ => after,
    };
}

/// Why the final GET of an interaction showed no user data.
#[derive(Debug, thiserror::Error)]
pub(super) enum ReadBackError {
    #[error("no session")]
    NoSession,
    #[error(transparent)]
    Request(#[from] crate::observation::RequestError),
    #[error("GET {path} answered HTTP {status}: {body}")]
    Unexpected {
        path: String,
        status: u16,
        body: String,
    },
}

impl ReadBackError {
    pub(super) fn is_transport(&self) -> bool {
        matches!(self, ReadBackError::Request(e) if e.is_transport())
    }
}

/// How many times the final GET is sent while a transport fault cuts it: a GET changes
/// nothing, so it is redone rather than a lost reply being called a mismatch.
pub(super) const READ_BACK_ATTEMPTS: usize = 3;

/// One GET of a slot's interaction, redone while a transport fault cuts it.
pub(super) async fn read_back(
    engine: &LoadContext,
    slot: &Slot,
) -> Result<serde_json::Map<String, Value>, ReadBackError> {
    let Some(session) = engine.runner.session(slot.agent) else {
        return Err(ReadBackError::NoSession);
    };
    let facts = &engine.op(slot.any_op()).case.facts;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let got = session
            .request(Method::GET, &slot.path, None, Auth::Session, true, None)
            .await
            .map_err(ReadBackError::from)
            .and_then(|(reply, _)| {
                reply
                    .body
                    .json()
                    .filter(|_| reply.status == 200)
                    .and_then(|b| facts.find_resource(b))
                    .map(|(_, r)| user_data_of(r))
                    .ok_or_else(|| ReadBackError::Unexpected {
                        path: slot.path.clone(),
                        status: reply.status,
                        body: reply.body.describe(),
                    })
            });
        match got {
            Err(e) if e.is_transport() && attempt < READ_BACK_ATTEMPTS => continue,
            got => return got,
        }
    }
}
