//! The journal: the one consumer of the load events. It turns them into one record per
//! operation (its facts, with the first words said about it), the latency histograms (whole
//! run and per second, by intended start) and the live progress counters, and at the end
//! tallies the records into the ledger's totals, the per-second series and the affected list.
//!
//! It decides nothing: the facts come from `check`, whose verdicts the executor and finishing
//! emit, and which operation a fact is about comes from attribution.

use super::config::Progress;
use super::ids::{OpIndex, RecordIndex, SlotIndex};
use super::latency::Latency;
use super::ledger::{Affected, Facts, Kind, Totals};
use super::model::LoadOp;
use super::results::{self, Second};
use super::slots::Slot;
use crate::check::LoadFact;
use crate::util::{Unpoisoned, lock};
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the executor and finishing tell the journal.
#[derive(Debug)]
pub(crate) enum LoadEvent {
    /// Operations were sent.
    Sent { operations: u64 },
    /// One HTTP answer came, `latency` after the group's intended start.
    HttpAnswered {
        intended: Instant,
        latency: Duration,
    },
    /// A notification judged for an operation came, `latency` after its intended start.
    Notified {
        intended: Instant,
        latency: Duration,
    },
    /// A fact about one operation, with what was seen (kept if the record has no words yet).
    Fact {
        record: RecordIndex,
        fact: LoadFact,
        detail: Option<String>,
    },
    /// A group was judged: operations notified once and problems, for the progress line.
    Judged { notified: u64, problems: u64 },
}

/// What is recorded about one operation.
struct OpRecord {
    op: OpIndex,
    slot: SlotIndex,
    /// Which of the slot's interactions: an index into its retired ones, or the current one.
    interaction: usize,
    second: u64,
    facts: Facts,
    detail: Option<String>,
}

/// Which latency a measurement is.
#[derive(Clone, Copy)]
enum Measure {
    Http,
    Notification,
}

#[derive(Default)]
struct Metrics {
    http: Latency,
    notification: Latency,
    seconds: Vec<(Latency, Latency)>,
}

/// Records, metrics and progress of one run.
pub(crate) struct Journal {
    start: Instant,
    records: Mutex<Vec<OpRecord>>,
    metrics: Mutex<Metrics>,
    progress: Arc<Progress>,
}

/// The journal's account of a finished run, for the report.
pub(crate) struct Tally {
    pub(crate) ledger: Totals,
    pub(crate) seconds: Vec<Second>,
    pub(crate) affected: Vec<Affected>,
    pub(crate) affected_not_listed: u64,
    /// Distinct scenarios replayed.
    pub(crate) scenarios: usize,
    pub(crate) http: Latency,
    pub(crate) notification: Latency,
}

fn set(facts: &mut Facts, fact: LoadFact) {
    match fact {
        LoadFact::Notified => facts.notified = true,
        LoadFact::Lost => facts.lost = true,
        LoadFact::Late => facts.late = true,
        LoadFact::Duplicated => facts.duplicated = true,
        LoadFact::Crossed => facts.crossed = true,
        LoadFact::Wrong => facts.wrong = true,
        LoadFact::Indeterminate => facts.indeterminate = true,
    }
}

impl Journal {
    pub(crate) fn new(start: Instant, progress: Arc<Progress>) -> Journal {
        Journal {
            start,
            records: Mutex::new(Vec::new()),
            metrics: Mutex::new(Metrics::default()),
            progress,
        }
    }

    /// The run's start, which seconds and the retired interactions' cleanup times count from.
    pub(crate) fn start(&self) -> Instant {
        self.start
    }

    fn second_of(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.start).as_secs()
    }

    /// Opens one record per operation of a group about to be sent on `slot`'s current
    /// interaction, counted in the second of the group's intended start.
    pub(crate) fn open(&self, slot: &Slot, ops: &[OpIndex], intended: Instant) -> Vec<RecordIndex> {
        let second = self.second_of(intended);
        let mut records = lock(&self.records);
        ops.iter()
            .map(|op| {
                records.push(OpRecord {
                    op: *op,
                    slot: slot.index,
                    interaction: slot.retired.len(),
                    second,
                    facts: Facts::default(),
                    detail: None,
                });
                RecordIndex(records.len() - 1)
            })
            .collect()
    }

    /// Whether the operation is counted lost and no late notification resolved it yet.
    pub(crate) fn still_lost(&self, record: RecordIndex) -> bool {
        lock(&self.records)
            .get(record.0)
            .is_some_and(|r| (r.facts.lost || r.facts.indeterminate) && !r.facts.late)
    }

    pub(crate) fn emit(&self, event: LoadEvent) {
        match event {
            LoadEvent::Sent { operations } => {
                self.progress.sent.fetch_add(operations, Ordering::Relaxed);
            }
            LoadEvent::HttpAnswered { intended, latency } => {
                self.record_latency(intended, latency, Measure::Http);
            }
            LoadEvent::Notified { intended, latency } => {
                self.record_latency(intended, latency, Measure::Notification);
            }
            LoadEvent::Fact {
                record,
                fact,
                detail,
            } => {
                let mut records = lock(&self.records);
                if let Some(r) = records.get_mut(record.0) {
                    set(&mut r.facts, fact);
                    if r.detail.is_none() {
                        r.detail = detail;
                    }
                }
            }
            LoadEvent::Judged { notified, problems } => {
                self.progress
                    .notified
                    .fetch_add(notified, Ordering::Relaxed);
                self.progress
                    .problems
                    .fetch_add(problems, Ordering::Relaxed);
            }
        }
    }

    fn record_latency(&self, intended: Instant, latency: Duration, measure: Measure) {
        let second = self.second_of(intended) as usize;
        let mut guard = lock(&self.metrics);
        let m = &mut *guard;
        while m.seconds.len() <= second {
            m.seconds.push((Latency::new(2), Latency::new(2)));
        }
        let (whole, this_second) = match measure {
            Measure::Http => (&mut m.http, &mut m.seconds[second].0),
            Measure::Notification => (&mut m.notification, &mut m.seconds[second].1),
        };
        whole.record(latency);
        this_second.record(latency);
    }

    /// Every record's kind, counted in the totals and in its second; the affected operations
    /// listed (up to [`results::MAX_AFFECTED`]) with the scenario, agent (`names`) and
    /// interaction; and the histograms.
    pub(crate) fn tally(self, slots: &[Slot], ops: &[LoadOp], names: &[String]) -> Tally {
        let records = self.records.into_unpoisoned();
        let metrics = self.metrics.into_unpoisoned();
        let mut ledger = Totals::default();
        let mut seconds: Vec<Second> = metrics
            .seconds
            .into_iter()
            .enumerate()
            .map(|(i, (http, notification))| Second {
                second: i as u64,
                ledger: Totals::default(),
                http,
                notification,
            })
            .collect();
        let mut affected = Vec::new();
        let mut affected_not_listed = 0;
        for (n, r) in records.iter().enumerate() {
            let kind = r.facts.kind();
            ledger.add_kind(kind);
            let s = r.second as usize;
            while seconds.len() <= s {
                let second = seconds.len() as u64;
                seconds.push(Second {
                    second,
                    ..Second::default()
                });
            }
            seconds[s].ledger.add_kind(kind);
            if kind == Kind::NotifiedOnce {
                continue;
            }
            if affected.len() >= results::MAX_AFFECTED {
                affected_not_listed += 1;
                continue;
            }
            let slot = &slots[r.slot.0];
            affected.push(Affected {
                kind,
                op: n as u64 + 1,
                scenario: ops[r.op.0].case.id.clone(),
                agent: names.get(slot.agent).cloned().unwrap_or_default(),
                interaction: slot.interaction(r.interaction).to_string(),
                second: r.second,
                detail: r.detail.clone().unwrap_or_default(),
            });
        }
        let scenarios = records.iter().map(|r| r.op).collect::<BTreeSet<_>>().len();
        Tally {
            ledger,
            seconds,
            affected,
            affected_not_listed,
            scenarios,
            http: metrics.http,
            notification: metrics.notification,
        }
    }
}
