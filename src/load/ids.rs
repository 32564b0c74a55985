//! The indices the load mode's parts pass to each other, as distinct types, so that an index
//! into the replayable operations can never be used as one into the journal's records (a
//! slot's operations and a group's records were both `usize` once).
//!
//! Plain data: no logic beyond reaching into the right list.

/// An index into the run's replayable operations (the `LoadOp`s the run was given, after the
/// media the target cannot provision were left out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct OpIndex(pub(crate) usize);

/// An index into the journal's records: one operation sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct RecordIndex(pub(crate) usize);

/// A slot's place among the run's slots (also its order of provisioning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SlotIndex(pub(crate) usize);
