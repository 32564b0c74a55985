//! What a load run is asked to do, resolved once before it starts: the pacing, the duration
//! or amount of work, interactions per agent, sharing, the deadlines; the live progress
//! counters a caller may watch; and the one error type of the load mode.
//!
//! It holds no logic of the run itself: the dispatcher paces, the slots provision, the
//! journal counts.

use crate::run::{RunConfig, RunError};
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// How operations are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// Groups start on a fixed schedule, this many operations per second.
    Rate(f64),
    /// A closed loop with this many groups in flight.
    Concurrency(usize),
}

/// What a load run does, independent of the target.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub duration: Duration,
    pub pacing: Pacing,
    /// Concurrent operations on one interaction, on disjoint keys (1: none).
    pub shared: usize,
    /// Stop an agent after this many operations (the run ends when every agent has stopped
    /// or the duration has passed): a fixed amount of work, e.g. to compare shards.
    pub ops_per_agent: Option<u64>,
    /// Interactions per agent; default: enough for the pacing.
    pub interactions_per_agent: Option<usize>,
    /// Deadlines (request, notification) and body limit.
    pub run: RunConfig,
    /// `K/N` when this run is one shard, for the report.
    pub shard: Option<String>,
}

impl LoadConfig {
    /// Operations per group: `shared`, at least one.
    pub fn group_size(&self) -> usize {
        self.shared.max(1)
    }

    /// Interactions each of `agents` agents gets: as asked, else enough for the pacing (the
    /// closed loop's groups spread over the agents; two each at a fixed rate).
    pub fn slots_per_agent(&self, agents: usize) -> usize {
        self.interactions_per_agent.unwrap_or(match self.pacing {
            Pacing::Concurrency(c) => c.div_ceil(agents.max(1)).max(1),
            Pacing::Rate(_) => 2,
        })
    }
}

/// Live counters for a progress line.
#[derive(Debug, Default)]
pub struct Progress {
    pub sent: AtomicU64,
    pub notified: AtomicU64,
    pub problems: AtomicU64,
}

/// A fault of the harness or the environment: nothing was judged.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Connect(#[from] RunError),
    #[error("target `{target}`: {message}")]
    Setup { target: String, message: String },
    #[error("target `{target}`: {source}")]
    Slots {
        target: String,
        source: super::slots::SlotError,
    },
}
