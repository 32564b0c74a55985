//! Routes notifications from every agent's Bayeux stream to the scenarios waiting for them.
//!
//! Each message is filed under (agent, interaction id), the id taken from the object inside
//! `data` that carries one. The router listens for the whole run; a scenario takes what was
//! filed for its interaction when it is done, and whatever is left at the end (late extras,
//! messages for unknown interactions) is reported by the run. Barrier interactions are
//! tracked separately: the router only remembers the highest barrier mark seen.

use super::observation::Delivered;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;
use tokio::sync::Notify;

/// The `userData` key barrier operations write; its value is an increasing mark (only for
/// people reading wire logs: barriers count notifications, they do not read them).
pub const BARRIER_KEY: &str = "gws-conformance-barrier";

#[derive(Default)]
struct Inner {
    filed: HashMap<(usize, String), Vec<(Value, Instant)>>,
    barriers: HashMap<(usize, String), u64>,
    /// Why an agent's stream ended, if it did.
    closed: HashMap<usize, String>,
    unattributed: Vec<(usize, Value)>,
}

#[derive(Default)]
pub struct Router {
    inner: Mutex<Inner>,
    changed: Notify,
}

/// The interaction id inside a notification's `data`: the `id` of the first object-valued
/// property that has one.
pub fn interaction_id(message: &Value) -> Option<String> {
    let data = message.get("data")?.as_object()?;
    data.values()
        .find_map(|v| v.as_object()?.get("id")?.as_str().map(str::to_string))
}

impl Router {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn deliver(&self, agent: usize, message: Value) {
        let now = Instant::now();
        {
            let mut inner = self.lock();
            match interaction_id(&message) {
                Some(id) => {
                    let key = (agent, id);
                    if let Some(count) = inner.barriers.get_mut(&key) {
                        *count += 1;
                    } else {
                        inner.filed.entry(key).or_default().push((message, now));
                    }
                }
                None => inner.unattributed.push((agent, message)),
            }
        }
        self.changed.notify_waiters();
    }

    pub fn close(&self, agent: usize, reason: String) {
        self.lock().closed.insert(agent, reason);
        self.changed.notify_waiters();
    }

    pub fn closed_reason(&self, agent: usize) -> Option<String> {
        self.lock().closed.get(&agent).cloned()
    }

    pub fn register_barrier(&self, agent: usize, id: &str) {
        self.lock()
            .barriers
            .entry((agent, id.to_string()))
            .or_insert(0);
    }

    /// Waits until `condition` holds or the deadline passes; returns whether it held.
    async fn wait_until(
        &self,
        deadline: tokio::time::Instant,
        mut condition: impl FnMut(&Inner) -> bool,
    ) -> bool {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if condition(&self.lock()) {
                return true;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return condition(&self.lock());
            }
        }
    }

    /// Waits for at least `count` notifications about `id` on `agent`'s stream, or for that
    /// stream to close. Returns false at the deadline.
    pub async fn wait_for(
        &self,
        agent: usize,
        id: &str,
        count: usize,
        deadline: tokio::time::Instant,
    ) -> bool {
        let key = (agent, id.to_string());
        self.wait_until(deadline, |inner| {
            inner.filed.get(&key).is_some_and(|v| v.len() >= count)
                || inner.closed.contains_key(&agent)
        })
        .await
    }

    /// Waits until at least `needed()` notifications about barrier interaction `id` arrived.
    pub async fn wait_for_barrier(
        &self,
        agent: usize,
        id: &str,
        needed: impl Fn() -> u64,
        deadline: tokio::time::Instant,
    ) -> bool {
        let key = (agent, id.to_string());
        self.wait_until(deadline, |inner| {
            inner.barriers.get(&key).is_some_and(|n| *n >= needed())
                || inner.closed.contains_key(&agent)
        })
        .await
    }

    /// Removes and returns what was filed for `id` on `agent`'s stream.
    pub fn take(&self, agent: usize, id: &str, since: Instant) -> Vec<Delivered> {
        let taken = self
            .lock()
            .filed
            .remove(&(agent, id.to_string()))
            .unwrap_or_default();
        taken
            .into_iter()
            .map(|(message, at)| Delivered {
                agent,
                message,
                after_post: at.saturating_duration_since(since),
            })
            .collect()
    }

    /// Everything still filed: notifications nobody took (late extras, unknown interactions).
    pub fn leftovers(&self) -> Vec<(usize, Value)> {
        let mut inner = self.lock();
        let mut out: Vec<(usize, Value)> = std::mem::take(&mut inner.unattributed);
        for ((agent, _), messages) in inner.filed.drain() {
            out.extend(messages.into_iter().map(|(m, _)| (agent, m)));
        }
        out
    }
}
