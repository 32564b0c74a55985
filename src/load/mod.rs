//! Conformance under load: many agents, each with one Bayeux stream for the whole run, replay
//! the suite's positive scenarios on long-lived interactions of their own, and every operation
//! is judged by `check` and accounted for in a ledger (see [`ledger`]).
//!
//! Each agent gets a few interactions ("slots"), provisioned through the runner and spread
//! over the media the replayable scenarios cover. A slot is used by one operation (or one
//! group of `shared` concurrent operations) at a time; the harness keeps the state its
//! operations must have produced ([`model`]) and has `check` judge each notification against
//! it. With `--rate`, groups start on a fixed schedule and every latency counts from the
//! *intended* start, so a stalled server cannot hide its latency by slowing the generator
//! (coordinated omission, corrected as wrk2 does); with `--concurrency`, a closed loop keeps
//! that many groups in flight. Notifications are matched by the state they show as well as by
//! count, and at the end a final barrier per stream and media settles what is in flight.
//!
//! The parts, in the order of a run, joined by the load events the journal consumes:
//!
//! ```text
//! config ─▶ engine ─▶ slots::provision ─▶ dispatcher ─▶ executor ─LoadEvent─▶ journal
//!                                         (pacing,      │    ▲                  │
//!                                          slot pool)   ▼    │                  ▼
//!                                               check::load_group   attribution (pure)
//! finish: final barriers, leftovers (attribution + check::judge_leftover), read-your-writes
//!         (check), release, Runner::close ─▶ journal tally ─▶ results::LoadReport
//! ```
//!
//! It deliberately does not run the suite's other scenarios (negative, isolation, CSRF): they
//! test meaning, which `run` does; `load` tests delivery and state under concurrency. This
//! module only declares and re-exports. Nothing in the load mode sleeps to wait for an event:
//! waits are on the router's wake-ups, with deadlines.

mod attribution;
mod config;
mod context;
mod dispatcher;
mod engine;
mod executor;
mod finish;
mod ids;
mod journal;
pub mod latency;
pub mod ledger;
pub mod model;
pub mod results;
mod slots;
#[cfg(test)]
mod tests;

pub use config::{LoadConfig, LoadError, Pacing, Progress};
pub use engine::run;
pub use slots::{GROUPS_PER_INTERACTION, SlotError};
