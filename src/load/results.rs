//! `load.json` and the one-screen summary: the ledger totals, the affected operations, the
//! latency histograms (mergeable), the per-second series, read-your-writes, and what happened
//! to the streams; merging the files of shards into one.
//!
//! It combines finished results and reads and writes their file; it never runs anything, and
//! rendering them for people is `crate::report::load`'s.

use super::latency::{Latency, Percentiles};
use super::ledger::{Affected, Totals};
use crate::report::ReportError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Why shards of a load could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge")]
    Nothing,
    #[error(
        "load results of `{first_name}` ({first_url}) and `{other_name}` ({other_url}) are not of one target"
    )]
    OtherTarget {
        first_name: String,
        first_url: String,
        other_name: String,
        other_url: String,
    },
    #[error(transparent)]
    Latency(#[from] super::latency::LatencyError),
}

/// The format tag of `load.json`.
pub const FORMAT: &str = "gws-conformance-load/1";

/// How the load was generated.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    /// Agents that generated load in this file (the sum over merged shards).
    pub agents: usize,
    /// `K/N` for one shard; absent for a whole run or a merge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// Operations started per second (rate mode), if so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Operations in flight (closed loop), if so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
    /// Concurrent operations per interaction (1: none shared).
    pub shared: usize,
    pub duration_secs: f64,
    /// The scenarios replayed.
    pub scenarios: usize,
}

/// One second of the run, by the operations' (intended) start.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Second {
    pub second: u64,
    pub ledger: Totals,
    pub http: Latency,
    pub notification: Latency,
}

/// Read-your-writes at the end: one GET per interaction against the expected final state.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct ReadYourWrites {
    pub checked: u64,
    pub mismatched: u64,
    /// Interactions whose GET a transport fault cut every time it was sent: unobserved, so
    /// neither checked nor held against the server.
    #[serde(default)]
    pub unread: u64,
}

/// Everything `load` writes to `load.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadReport {
    pub format: String,
    pub target_name: String,
    pub target_url: String,
    pub started: String,
    pub finished: String,
    pub settings: Settings,
    /// Wall time of the load phase (the longest, for a merge).
    pub wall_secs: f64,
    pub ledger: Totals,
    /// Every operation that was not simply notified once (up to [`MAX_AFFECTED`]).
    pub affected: Vec<Affected>,
    /// Affected operations beyond those listed.
    #[serde(default)]
    pub affected_not_listed: u64,
    pub read_your_writes: ReadYourWrites,
    /// HTTP round trip, from the operation's intended start to its answer.
    pub http: Latency,
    /// Operation → notification, from the intended start to the notification's arrival.
    pub notification: Latency,
    /// Derived from the histograms, for readers of the file; recomputed on merge.
    pub percentiles: PercentileSummary,
    pub seconds: Vec<Second>,
    /// Streams that closed or re-handshook, failed final barriers, unclaimed notifications,
    /// interactions that could not be ended.
    #[serde(default)]
    pub stream_problems: Vec<String>,
    /// Media of the selection the target could not provision (`media: why`): not loaded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct PercentileSummary {
    pub http: Percentiles,
    pub notification: Percentiles,
}

/// Affected operations listed in `load.json`; beyond this they are only counted.
pub const MAX_AFFECTED: usize = 10_000;

impl LoadReport {
    /// Whether the run fails: an operation lost, crossed, duplicated or wrong.
    pub fn fails(&self) -> bool {
        self.ledger.failing() > 0
    }

    pub fn ops_per_sec(&self) -> f64 {
        if self.wall_secs > 0.0 {
            self.ledger.operations as f64 / self.wall_secs
        } else {
            0.0
        }
    }

    pub fn refresh_percentiles(&mut self) {
        self.percentiles = PercentileSummary {
            http: self.http.percentiles(),
            notification: self.notification.percentiles(),
        };
    }

    pub fn write(&self, dir: &Path) -> Result<(), ReportError> {
        let path = dir.join("load.json");
        let text =
            serde_json::to_string_pretty(self).map_err(|e| ReportError::render("load.json", e))?;
        std::fs::write(&path, text + "\n").map_err(|e| ReportError::write(path, e))
    }

    pub fn read(dir: &Path) -> Result<LoadReport, ReportError> {
        let path = dir.join("load.json");
        let text = std::fs::read_to_string(&path).map_err(|e| ReportError::read(&path, e))?;
        let report: LoadReport = serde_json::from_str(&text).map_err(|e| ReportError::Parse {
            path: path.clone(),
            what: format!("not a load.json: {e}"),
        })?;
        if report.format != FORMAT {
            return Err(ReportError::Parse {
                path,
                what: format!("format `{}`, expected `{FORMAT}`", report.format),
            });
        }
        Ok(report)
    }

    /// Combines shards of one load (one target): totals and histograms add exactly, seconds
    /// add by index, affected operations are concatenated.
    pub fn merge(parts: Vec<LoadReport>) -> Result<LoadReport, MergeError> {
        let mut parts = parts.into_iter();
        let Some(mut merged) = parts.next() else {
            return Err(MergeError::Nothing);
        };
        for p in parts {
            if p.target_url != merged.target_url || p.target_name != merged.target_name {
                return Err(MergeError::OtherTarget {
                    first_name: merged.target_name.clone(),
                    first_url: merged.target_url.clone(),
                    other_name: p.target_name.clone(),
                    other_url: p.target_url.clone(),
                });
            }
            merged.started = merged.started.clone().min(p.started);
            merged.finished = merged.finished.clone().max(p.finished);
            merged.settings.agents += p.settings.agents;
            merged.settings.rate = match (merged.settings.rate, p.settings.rate) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            merged.settings.concurrency =
                match (merged.settings.concurrency, p.settings.concurrency) {
                    (Some(a), Some(b)) => Some(a + b),
                    (a, b) => a.or(b),
                };
            merged.wall_secs = merged.wall_secs.max(p.wall_secs);
            merged.ledger.add(&p.ledger);
            merged.affected.extend(p.affected);
            merged.affected_not_listed += p.affected_not_listed;
            merged.read_your_writes.checked += p.read_your_writes.checked;
            merged.read_your_writes.mismatched += p.read_your_writes.mismatched;
            merged.read_your_writes.unread += p.read_your_writes.unread;
            merged.http.merge(&p.http)?;
            merged.notification.merge(&p.notification)?;
            for s in p.seconds {
                match merged.seconds.iter_mut().find(|m| m.second == s.second) {
                    Some(m) => {
                        m.ledger.add(&s.ledger);
                        m.http.merge(&s.http)?;
                        m.notification.merge(&s.notification)?;
                    }
                    None => merged.seconds.push(s),
                }
            }
            merged.stream_problems.extend(p.stream_problems);
            for media in p.left_out {
                if !merged.left_out.contains(&media) {
                    merged.left_out.push(media);
                }
            }
        }
        merged.seconds.sort_by_key(|s| s.second);
        merged.settings.shard = None;
        if merged.affected.len() > MAX_AFFECTED {
            merged.affected_not_listed += (merged.affected.len() - MAX_AFFECTED) as u64;
            merged.affected.truncate(MAX_AFFECTED);
        }
        merged.refresh_percentiles();
        Ok(merged)
    }
}
