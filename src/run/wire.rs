//! The per-scenario wire log: every HTTP exchange and every Bayeux message, timestamped.
//!
//! Only bodies, methods, paths and statuses are recorded; headers are not, so credentials,
//! cookies and CSRF tokens cannot reach a report through here. Bodies are truncated.

use crate::result::WireEntry;
use crate::util::Unpoisoned;
use std::sync::Mutex;
use std::time::Instant;

const MAX_LOGGED_BODY: usize = 8 * 1024;

pub struct WireLog {
    start: Instant,
    entries: Mutex<Vec<WireEntry>>,
}

impl WireLog {
    pub fn new(start: Instant) -> WireLog {
        WireLog {
            start,
            entries: Mutex::new(Vec::new()),
        }
    }

    pub fn record(
        &self,
        kind: &str,
        summary: String,
        agent: Option<&str>,
        status: Option<u16>,
        request: Option<&str>,
        response: Option<&str>,
    ) {
        let entry = WireEntry {
            t_ms: 0.0,
            kind: kind.into(),
            summary,
            agent: agent.map(str::to_string),
            status,
            request: request.map(|r| crate::util::truncate(r, MAX_LOGGED_BODY)),
            response: response.map(|r| crate::util::truncate(r, MAX_LOGGED_BODY)),
        };
        self.push_at(Instant::now(), entry);
    }

    /// Adds an entry that happened at `at` (its `t_ms` is computed here).
    pub fn push_at(&self, at: Instant, mut entry: WireEntry) {
        let offset = at.saturating_duration_since(self.start).as_secs_f64() * 1000.0;
        entry.t_ms = (offset * 1000.0).round() / 1000.0;
        let mut entries = self.entries.locked();
        let position = entries.partition_point(|e| e.t_ms <= entry.t_ms);
        entries.insert(position, entry);
    }

    /// Moves `other`'s entries into this log, keeping the moments they happened at.
    pub fn absorb(&self, other: WireLog) {
        let start = other.start;
        for entry in other.take() {
            let at = start + std::time::Duration::from_secs_f64(entry.t_ms / 1000.0);
            self.push_at(at, entry);
        }
    }

    pub fn take(&self) -> Vec<WireEntry> {
        std::mem::take(&mut *self.entries.locked())
    }
}
