//! Slots: the interactions each agent owns for the run. They are provisioned at the start
//! through `Runner::provision` (the media in turn over agents and slots, each starting with the
//! user data of its first scenario), moved to a fresh interaction every
//! [`GROUPS_PER_INTERACTION`] groups (the old one released at once), and released at the end.
//!
//! A slot carries the state its operations must have produced and what attribution remembers
//! about it; it sends nothing itself (the executor does) and judges nothing. A slot that
//! cannot be provisioned at the start is a [`SlotError`].

use super::attribution::{Memory, Retired};
use super::ids::{OpIndex, SlotIndex};
use super::model::LoadOp;
use crate::run::ProvisionError;
use crate::run::Runner;
use crate::run::wire::WireLog;
use futures::StreamExt;
use serde_json::{Map, Value};
use std::time::Instant;

/// Groups a slot runs on one interaction before it moves to a fresh one, provisioned with the
/// next scenario's initial user data: replayed attaches and updates would otherwise grow the
/// user data without bound, and every notification with it, which measures payload size
/// instead of delivery (and is unlike the suite, whose cases start from their own data).
pub const GROUPS_PER_INTERACTION: usize = 16;

/// One interaction an agent owns for the whole run (or, after a move, its successor).
pub(crate) struct Slot {
    pub(crate) index: SlotIndex,
    pub(crate) agent: usize,
    pub(crate) media: String,
    pub(crate) id: String,
    pub(crate) path: String,
    /// The operations replayed on this slot, in turn (all of its media).
    pub(crate) ops: Vec<OpIndex>,
    pub(crate) next: usize,
    /// The user data the operations so far must have produced.
    pub(crate) state: Map<String, Value>,
    /// What attribution remembers of the groups run here.
    pub(crate) memory: Memory,
    /// Groups run on the current interaction.
    pub(crate) groups_here: usize,
    /// Interactions this slot used before the current one, oldest first.
    pub(crate) retired: Vec<Retired>,
}

impl Slot {
    /// The next `n` operations to replay, in turn.
    pub(crate) fn pick(&mut self, n: usize) -> Vec<OpIndex> {
        (0..n)
            .map(|_| {
                let op = self.ops[self.next % self.ops.len()];
                self.next += 1;
                op
            })
            .collect()
    }

    /// An operation of the slot's media, for its media facts.
    pub(crate) fn any_op(&self) -> OpIndex {
        self.ops[0]
    }

    /// The interaction a record made on this slot was about: `which` indexes the retired ones,
    /// past them is the current one.
    pub(crate) fn interaction(&self, which: usize) -> &str {
        self.retired.get(which).map_or(&self.id, |r| &r.id)
    }

    /// Every interaction id the slot used, the current one first.
    pub(crate) fn interaction_ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.retired.iter().map(|r| r.id.as_str()))
    }

    /// Whether the slot should move before its next group: enough groups here, and none of
    /// them still waiting for a late notification.
    pub(crate) fn due_for_fresh_interaction(&self) -> bool {
        self.groups_here >= GROUPS_PER_INTERACTION && self.memory.pending.is_empty()
    }
}

/// Why the slots could not be provisioned at the start of a run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SlotError {
    #[error("no session for agent #{}", agent + 1)]
    NoSession { agent: usize },
    #[error("cannot provision a {media} interaction for agent `{username}`: {source}")]
    Provision {
        media: String,
        username: String,
        source: ProvisionError,
    },
}

/// Provisions `per_agent` interactions for every agent, the media in turn over agents and
/// slots, each starting with the user data of its first scenario.
pub(crate) async fn provision(
    runner: &Runner,
    ops: &[LoadOp],
    agents: usize,
    per_agent: usize,
) -> Result<Vec<Slot>, SlotError> {
    let mut by_media: Vec<(String, Vec<OpIndex>)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        match by_media.iter_mut().find(|(m, _)| *m == op.case.media) {
            Some((_, list)) => list.push(OpIndex(i)),
            None => by_media.push((op.case.media.clone(), vec![OpIndex(i)])),
        }
    }
    // Each agent takes the media it can be given (routed media go only to the first agent).
    let usable: Vec<Vec<usize>> = (0..agents)
        .map(|agent| {
            (0..by_media.len())
                .filter(|m| runner.provisioner().serves(agent, &by_media[*m].0))
                .collect()
        })
        .collect();
    let plan: Vec<(usize, usize, usize)> = (0..agents)
        .flat_map(|a| (0..per_agent).map(move |k| (a, k)))
        .filter(|(agent, _)| !usable[*agent].is_empty())
        .enumerate()
        .map(|(index, (agent, _))| {
            let mine = &usable[agent];
            (index, agent, mine[index % mine.len()])
        })
        .collect();
    let wire = WireLog::new(Instant::now());
    let made: Vec<Result<Slot, SlotError>> = futures::stream::iter(plan)
        .map(|(index, agent, media_index)| {
            let (media, list) = &by_media[media_index];
            let wire = &wire;
            async move {
                let session = runner
                    .session(agent)
                    .ok_or(SlotError::NoSession { agent })?;
                let first = &ops[list[0].0];
                let p = runner
                    .provisioner()
                    .provision(agent, media, &first.case.user_data, wire)
                    .await
                    .map_err(|source| SlotError::Provision {
                        media: media.clone(),
                        username: session.username.clone(),
                        source,
                    })?;
                Ok(Slot {
                    index: SlotIndex(index),
                    agent,
                    media: media.clone(),
                    id: p.id,
                    path: p.path,
                    ops: list.clone(),
                    // Agents start at different scenarios so that the load mixes them.
                    next: index,
                    state: first.case.user_data.clone(),
                    memory: Memory::default(),
                    groups_here: 0,
                    retired: Vec::new(),
                })
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    made.into_iter().collect()
}

/// Provisions a fresh interaction for the slot with the user data of the scenario it replays
/// next, and releases the old one at once (so that a long run does not pile interactions up
/// on the server); on failure the slot stays where it is (the run goes on, growing).
pub(crate) async fn move_to_fresh_interaction(
    runner: &Runner,
    ops: &[LoadOp],
    slot: &mut Slot,
    run_start: Instant,
) {
    let next = &ops[slot.ops[slot.next % slot.ops.len()].0];
    let wire = WireLog::new(Instant::now());
    let Ok(fresh) = runner
        .provisioner()
        .provision(slot.agent, &slot.media, &next.case.user_data, &wire)
        .await
    else {
        return;
    };
    let old = std::mem::replace(&mut slot.id, fresh.id);
    let cleaned_at = run_start.elapsed();
    runner.provisioner().release(&old, &wire).await;
    let last_message = slot.memory.leave_interaction();
    slot.retired.push(Retired {
        id: old,
        cleaned_at,
        last_message,
    });
    slot.path = fresh.path;
    slot.state = next.case.user_data.clone();
    slot.groups_here = 0;
}

/// Releases every slot's current interaction (the retired ones were released on the move).
pub(crate) async fn release_all(runner: &Runner, slots: &[Slot]) {
    let wire = WireLog::new(Instant::now());
    futures::stream::iter(slots.iter().map(|s| s.id.as_str()))
        .map(|id| {
            let wire = &wire;
            async move {
                runner.provisioner().release(id, wire).await;
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
}
