//! Attribution: which operation a notification belongs to, decided from the user data it
//! shows rather than from when it came. A slot remembers, per group of operations, the state
//! its notification must show; a message showing the state of a group judged short of
//! notifications is that group's late one, a message showing the last group's state again is a
//! repeat, and a message about an interaction that reached another agent's stream is matched
//! to the operation whose state it shows.
//!
//! Everything here is pure: no server, no clock, no journal (whether an operation is still
//! counted lost is asked through a closure). It decides *whose* a message is, never whether
//! that is right or wrong: the verdicts are `check::judge_leftover` and `check::load_group`.
//! "Same state" is [`state_hash`] equality, which agrees with `check::same_user_data`.

use super::ids::RecordIndex;
use crate::spec::MediaFacts;
use serde_json::{Map, Value};
use std::hash::Hash;
use std::time::Duration;

/// Groups per slot whose late notifications are still looked for.
const MAX_PENDING_GROUPS: usize = 64;

/// A hash of a user data map that ignores key order and number spelling (`1`, `1.0`, `1e0`,
/// `-0.0` and `0` alike), computed without copying: the notifications of a long run carry
/// large user data, and every one is hashed.
///
/// Two maps that `check::same_user_data` calls the same always hash the same. The converse
/// holds but for hash collisions and for integers beyond 2^53 that differ only past the
/// precision of an `f64` (which `json_equal` itself compares through `f64` against floats).
pub(crate) fn state_hash(data: &Map<String, Value>) -> u64 {
    hash_object(data)
}

/// One hash of `t`: foldhash with a fixed seed, as every state of one run must hash alike, and
/// fast, as every notification of a load is hashed (SipHash was a tenth of the judging cost).
fn one<T: Hash>(t: T) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x6777_735f_636f_6e66).hash_one(t)
}

fn hash_value(v: &Value) -> u64 {
    fn value(v: &Value) -> u64 {
        match v {
            Value::Object(m) => object(m),
            Value::Array(items) => items.iter().fold(one(7u8), |acc, i| one((acc, value(i)))),
            Value::Number(n) => match n.as_f64() {
                // `0.0 == -0.0` for `json_equal` (and for this pattern), so both hash as `0.0`.
                Some(0.0) => one((3u8, 0f64.to_bits())),
                Some(f) => one((3u8, f.to_bits())),
                None => one((3u8, n.to_string())),
            },
            Value::String(s) => one((4u8, s)),
            Value::Bool(b) => one((5u8, b)),
            Value::Null => one(6u8),
        }
    }
    fn object(m: &Map<String, Value>) -> u64 {
        hash_object(m)
    }
    value(v)
}

fn hash_object(m: &Map<String, Value>) -> u64 {
    // A commutative combination of the entries' hashes: key order does not count.
    m.iter().fold(one((8u8, m.len())), |acc, (k, v)| {
        acc.wrapping_add(one((k, hash_value(v))))
    })
}

/// [`state_hash`] of a whole message (as if it were the one value of a map, without copying
/// it): two copies of one notification hash the same.
pub(crate) fn message_hash(message: &Value) -> u64 {
    one((8u8, 1usize)).wrapping_add(one(("", hash_value(message))))
}

/// [`state_hash`] of the `userData` inside an interaction object (absent counts as `{}`).
pub(crate) fn user_data_hash(interaction: &Value) -> u64 {
    match interaction.get("userData").and_then(Value::as_object) {
        Some(m) => state_hash(m),
        None => state_hash(&Map::new()),
    }
}

/// The hash of the user data a notification shows, if it carries an interaction of `facts`'
/// media.
pub(crate) fn shown_state(facts: &MediaFacts, message: &Value) -> Option<u64> {
    facts
        .find_resource(&message["data"])
        .map(|(_, r)| user_data_hash(r))
}

/// One group of operations run together on a slot, as attribution remembers it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Group {
    /// The group's operations, in the journal.
    pub(crate) records: Vec<RecordIndex>,
    /// The state its notifications must show.
    pub(crate) final_state: u64,
    /// Notifications the group still lacked when it was judged (its late ones may follow).
    pub(crate) missing: usize,
    /// The [`message_hash`] of the last notification taken as the group's.
    pub(crate) last_message: Option<u64>,
}

/// An interaction a slot used before its current one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Retired {
    pub(crate) id: String,
    /// When it was cleaned up, since the run's start: what arrives for it before is still
    /// judged; anything after may announce its end.
    pub(crate) cleaned_at: Duration,
    /// Its last notification (hash) and that group's first operation: a copy of it is a
    /// duplicate.
    pub(crate) last_message: Option<(u64, RecordIndex)>,
}

/// What a slot remembers to attribute the messages about its interactions.
#[derive(Debug, Clone, Default)]
pub(crate) struct Memory {
    /// The slot's last group on its current interaction.
    pub(crate) last: Option<Group>,
    /// Groups judged without all their notifications, newest last: a message showing one's
    /// state is its late notification, however many groups later it comes.
    pub(crate) pending: Vec<Group>,
    /// Every state announced-to-be, with its operation, to attribute crossed notifications.
    pub(crate) history: Vec<(u64, RecordIndex)>,
}

/// A message that came while a group waited for its notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// The waiting group's own.
    Ours,
    /// The late notification of an earlier group, with the operation it resolves (if one of
    /// that group's operations was still counted lost).
    Late(Option<RecordIndex>),
}

/// A message that came after the slot's last group was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Straggler {
    /// The late notification of a group short of them (see [`Arrival::Late`]).
    Late(Option<RecordIndex>),
    /// The last group's state again: a repeat, on the group's first operation.
    Repeat(RecordIndex),
    /// Any other state, on the last group's last operation.
    Unexpected(RecordIndex),
    /// There is no last group to hold it to.
    Unattributed,
}

/// A message about an interaction the slot had left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnRetired {
    /// A copy of the interaction's last notification.
    Copy(RecordIndex),
    /// Came after the cleanup: it may announce the interaction's end, and is no operation's.
    AfterCleanup,
    /// The state of an operation still counted lost: its late notification.
    Late(RecordIndex),
    /// The state of an operation already notified: another notification of it.
    SameState(RecordIndex),
    /// A state no operation of the slot announced.
    Unknown,
}

impl Memory {
    /// A message showing the state of a group still short of notifications is that group's
    /// late notification (the newest such group's): the group lacks one fewer, and leaves the
    /// pending list when it lacks none. Returns `None` when no pending group shows `shows`,
    /// else the first of its operations still counted lost (`lost` says which are).
    pub(crate) fn claim_late(
        &mut self,
        shows: Option<u64>,
        lost: impl Fn(RecordIndex) -> bool,
    ) -> Option<Option<RecordIndex>> {
        let i = self
            .pending
            .iter()
            .rposition(|g| Some(g.final_state) == shows)?;
        let group = &mut self.pending[i];
        let record = group.records.iter().copied().find(|r| lost(*r));
        group.missing = group.missing.saturating_sub(1);
        if group.missing == 0 {
            self.pending.remove(i);
        }
        Some(record)
    }

    /// A message that came while a group expecting the state `expected` waited: ours when it
    /// shows that state (an operation may change nothing, so an unchanged state is ours too),
    /// else a late one of a group short of notifications if it shows that group's, else ours.
    pub(crate) fn during_group(
        &mut self,
        shows: Option<u64>,
        expected: u64,
        lost: impl Fn(RecordIndex) -> bool,
    ) -> Arrival {
        if shows == Some(expected) {
            return Arrival::Ours;
        }
        match self.claim_late(shows, lost) {
            Some(record) => Arrival::Late(record),
            None => Arrival::Ours,
        }
    }

    /// A message that came after the last group was judged: a pending group's late one, else
    /// a repeat of the last group when it shows its state, else unexpected.
    pub(crate) fn straggler(
        &mut self,
        shows: Option<u64>,
        lost: impl Fn(RecordIndex) -> bool,
    ) -> Straggler {
        if let Some(record) = self.claim_late(shows, lost) {
            return Straggler::Late(record);
        }
        let Some(last) = &self.last else {
            return Straggler::Unattributed;
        };
        let record = if shows == Some(last.final_state) {
            last.records.first().copied().map(Straggler::Repeat)
        } else {
            last.records.last().copied().map(Straggler::Unexpected)
        };
        record.unwrap_or(Straggler::Unattributed)
    }

    /// Remembers a judged group: its state for every one of its operations, the group as the
    /// last one, and as pending if it lacked notifications (the oldest pending group is
    /// forgotten past [`MAX_PENDING_GROUPS`], so a server that never delivers cannot make the
    /// list grow without bound).
    pub(crate) fn remember(&mut self, group: Group) {
        for &r in &group.records {
            self.history.push((group.final_state, r));
        }
        if group.missing > 0 {
            self.pending.push(group.clone());
            if self.pending.len() > MAX_PENDING_GROUPS {
                self.pending.remove(0);
            }
        }
        self.last = Some(group);
    }

    /// Leaves the current interaction: what a copy of its last notification would be
    /// attributed to, for its [`Retired`] entry. The next interaction has no last group.
    pub(crate) fn leave_interaction(&mut self) -> Option<(u64, RecordIndex)> {
        self.last
            .take()
            .and_then(|g| g.last_message.zip(g.records.first().copied()))
    }

    /// The operation a notification that reached another agent's stream is held against: the
    /// first that announced the state it shows, else the slot's latest.
    pub(crate) fn crossed(&self, shows: Option<u64>) -> Option<RecordIndex> {
        self.history
            .iter()
            .find(|(h, _)| Some(*h) == shows)
            .or(self.history.last())
            .map(|(_, r)| *r)
    }

    /// The slot's latest operation, which a failed read-your-writes is held against.
    pub(crate) fn latest(&self) -> Option<RecordIndex> {
        self.history.last().map(|(_, r)| *r)
    }

    /// A message about `retired`, an interaction the slot had left, with its [`message_hash`],
    /// when it came (since the run's start) and the state it shows.
    pub(crate) fn on_retired(
        &self,
        retired: &Retired,
        message: u64,
        came: Duration,
        shows: Option<u64>,
        lost: impl Fn(RecordIndex) -> bool,
    ) -> OnRetired {
        if let Some((hash, record)) = retired.last_message
            && hash == message
        {
            return OnRetired::Copy(record);
        }
        if came >= retired.cleaned_at {
            return OnRetired::AfterCleanup;
        }
        match self.history.iter().find(|(h, _)| Some(*h) == shows) {
            None => OnRetired::Unknown,
            Some(&(_, record)) if lost(record) => OnRetired::Late(record),
            Some(&(_, record)) => OnRetired::SameState(record),
        }
    }
}

#[cfg(test)]
mod tests;
