//! The dispatcher: the load phase's pacing and the pool of free slots. With `--concurrency`, a
//! closed loop of that many workers each takes a free slot, runs one group on it and puts it
//! back; with `--rate`, groups start on a schedule fixed in advance, and the intended start
//! (which latencies count from) does not move when a slot is slow to come free. With
//! `ops_per_agent`, an agent's slots retire once its operations are done, and the phase ends
//! when the last slot retires or the duration has passed.
//!
//! It paces and hands out slots; what a group does is the executor's, and nothing here waits
//! for an event without a deadline (the schedule is pacing, not waiting).

use super::config::Pacing;
use super::context::LoadContext;
use super::executor;
use super::slots::Slot;
use crate::util::lock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio_util::sync::CancellationToken;

/// The free slots, and those retired because their agent did its operations.
struct Pool {
    free_tx: UnboundedSender<Slot>,
    free_rx: tokio::sync::Mutex<UnboundedReceiver<Slot>>,
    retired: Mutex<Vec<Slot>>,
    /// Operations each agent may still start, with `ops_per_agent`.
    budget: Option<Vec<AtomicU64>>,
    live_slots: AtomicUsize,
    all_retired: CancellationToken,
    /// The end of the load phase.
    end: tokio::time::Instant,
}

impl Pool {
    /// Waits for a free slot until the end of the load phase or until every slot retired.
    async fn next(&self) -> Option<Slot> {
        if tokio::time::Instant::now() >= self.end {
            return None;
        }
        let mut rx = tokio::select! {
            rx = self.free_rx.lock() => rx,
            _ = self.all_retired.cancelled() => return None,
            _ = tokio::time::sleep_until(self.end) => return None,
        };
        tokio::select! {
            slot = rx.recv() => slot,
            _ = self.all_retired.cancelled() => None,
            _ = tokio::time::sleep_until(self.end) => None,
        }
    }

    /// Takes the slot for a group of `shared` operations unless its agent has done its
    /// operations, in which case the slot retires (and the phase ends when the last one does).
    fn admit(&self, slot: Slot, shared: usize) -> Option<Slot> {
        let Some(budget) = &self.budget else {
            return Some(slot);
        };
        let taken = budget[slot.agent]
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                n.checked_sub(shared as u64)
            })
            .is_ok();
        if taken {
            return Some(slot);
        }
        lock(&self.retired).push(slot);
        if self.live_slots.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.all_retired.cancel();
        }
        None
    }

    fn put_back(&self, slot: Slot) {
        let _ = self.free_tx.send(slot);
    }
}

/// Runs the load phase over `slots` and returns them all (in their order) with the phase's
/// wall-clock seconds.
pub(crate) async fn dispatch(engine: &Arc<LoadContext>, slots: Vec<Slot>) -> (Vec<Slot>, f64) {
    let start = engine.journal.start();
    let config = &engine.config;
    let (free_tx, free_rx) = unbounded_channel::<Slot>();
    let slot_count = slots.len();
    let pool = Arc::new(Pool {
        free_tx,
        free_rx: tokio::sync::Mutex::new(free_rx),
        retired: Mutex::new(Vec::new()),
        budget: config.ops_per_agent.map(|n| {
            (0..engine.runner.agent_count())
                .map(|_| AtomicU64::new(n))
                .collect()
        }),
        live_slots: AtomicUsize::new(slot_count),
        all_retired: CancellationToken::new(),
        end: tokio::time::Instant::from_std(start + config.duration),
    });
    for s in slots {
        pool.put_back(s);
    }
    match config.pacing {
        Pacing::Concurrency(c) => closed_loop(engine, &pool, c.max(1)).await,
        Pacing::Rate(rate) => fixed_rate(engine, &pool, rate).await,
    }
    let wall_secs = start.elapsed().as_secs_f64();
    let mut slots: Vec<Slot> = std::mem::take(&mut *lock(&pool.retired));
    {
        let mut rx = pool.free_rx.lock().await;
        while slots.len() < slot_count {
            match rx.try_recv() {
                Ok(s) => slots.push(s),
                Err(_) => break,
            }
        }
    }
    slots.sort_by_key(|s| s.index);
    (slots, wall_secs)
}

/// `workers` groups in flight: each worker runs a group as soon as its last one is judged.
async fn closed_loop(engine: &Arc<LoadContext>, pool: &Arc<Pool>, workers: usize) {
    let shared = engine.config.group_size();
    let workers: Vec<_> = (0..workers)
        .map(|_| {
            let (engine, pool) = (Arc::clone(engine), Arc::clone(pool));
            tokio::spawn(async move {
                while let Some(slot) = pool.next().await {
                    let Some(mut slot) = pool.admit(slot, shared) else {
                        continue;
                    };
                    executor::run_group(&engine, &mut slot, Instant::now()).await;
                    pool.put_back(slot);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.await;
    }
}

/// Groups started on a fixed schedule of `rate` operations per second.
async fn fixed_rate(engine: &Arc<LoadContext>, pool: &Arc<Pool>, rate: f64) {
    let shared = engine.config.group_size();
    let start = engine.journal.start();
    let period = Duration::from_secs_f64(shared as f64 / rate.max(0.001));
    let mut tasks = Vec::new();
    let mut tick: u32 = 0;
    loop {
        // The schedule is fixed in advance; waiting for a free slot delays the start but not
        // the intended time the latencies count from.
        let intended = start + period * tick;
        tick = tick.saturating_add(1);
        if tokio::time::Instant::from_std(intended) >= pool.end {
            break;
        }
        tokio::time::sleep_until(tokio::time::Instant::from_std(intended)).await;
        let Some(slot) = pool.next().await else {
            break;
        };
        let Some(mut slot) = pool.admit(slot, shared) else {
            continue;
        };
        let (engine, pool) = (Arc::clone(engine), Arc::clone(pool));
        tasks.push(tokio::spawn(async move {
            executor::run_group(&engine, &mut slot, intended).await;
            pool.put_back(slot);
        }));
        tasks.retain(|t| !t.is_finished());
    }
    for t in tasks {
        let _ = t.await;
    }
}
