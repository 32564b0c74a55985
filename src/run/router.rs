//! Routes notifications from every agent's Bayeux stream to the scenarios waiting for them.
//!
//! Each message is filed under (agent, interaction id), the id taken from the object inside
//! `data` that carries one. The router listens for the whole run; a scenario takes what was
//! filed for its interaction when it is done, and whatever is left at the end (late extras,
//! messages for unknown interactions) is reported by the run. Barrier interactions are
//! tracked separately: the router only counts their notifications. Notifications about a
//! conversation's other activity (participants, transcript) are not filed at all: they answer
//! no request of the run.
//!
//! Every filing slot has its own wake-up, so a notification wakes only the scenario waiting
//! for that interaction, not every scenario in flight; a closing stream wakes everyone.

use crate::observation::Delivered;
use crate::util::Unpoisoned;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::Notify;

/// The `userData` key barrier operations write; its value is an increasing mark (only for
/// people reading wire logs: barriers count notifications, they do not read them).
pub const BARRIER_KEY: &str = "gws-conformance-barrier";

type Key = (usize, String);

/// Where GWS announces agent and device state (`DeviceStateChangeMessage`).
const DEVICES_CHANNEL: &str = "/v2/me/devices";

/// Notifications about a conversation's other activity: who takes part and the transcript. GWS
/// sends them whenever a party acts (the ChatAccept page shows a `ParticipantsUpdated` and the
/// history after the `StatusChange`; the SMS Accept page a `MessageLogUpdated`), so they follow
/// an Accept or a customer's message at any time; no user-data operation causes them, so they
/// answer no request of the run and are not filed.
const ACTIVITY: &[&str] = &["ParticipantsUpdated", "MessageLogUpdated", "NewMessages"];

/// Whether `message` is about a conversation's other activity (see [`ACTIVITY`]).
fn is_activity(message: &Value) -> bool {
    ["/data/notificationType", "/data/messageType"]
        .iter()
        .filter_map(|p| message.pointer(p).and_then(Value::as_str))
        .any(|t| ACTIVITY.contains(&t))
}

#[derive(Default)]
struct Slot {
    messages: Vec<(Value, Instant)>,
    wake: Arc<Notify>,
}

#[derive(Default)]
struct BarrierSlot {
    count: u64,
    wake: Arc<Notify>,
}

/// Notifications filed by agent and interaction, barrier counts, and closed streams.
#[derive(Default)]
struct Routes {
    filed: HashMap<Key, Slot>,
    barriers: HashMap<Key, BarrierSlot>,
    /// When each interaction was first heard of on each stream; kept after its slot is taken,
    /// so that a straggler about an old interaction never reads as a new one.
    first_seen: HashMap<Key, Instant>,
    /// Interactions the run knows the id of (provisioned, claimed, barriers): never "new".
    owned: std::collections::HashSet<Key>,
    /// Interactions being ended by the run: their `StatusChange` is the ending's, not news.
    ending: std::collections::HashSet<Key>,
    /// Per agent: woken by every filed notification, for claims of new interactions.
    arrivals: HashMap<usize, Arc<Notify>>,
    /// Notifications announcing the end of an interaction the run ended.
    endings_heard: usize,
    /// Why an agent's stream ended, if it did.
    closed: HashMap<usize, String>,
    unattributed: Vec<(usize, Value)>,
    /// Agents whose stream had to re-handshake, once per time it happened.
    rehandshakes: Vec<usize>,
    /// Every interruption of a stream (a cut long poll, a re-handshake), in order.
    interruptions: Vec<Interruption>,
    /// Per agent: whether its stream is polling again since its last interruption.
    healthy: HashMap<usize, bool>,
}

/// A stream interrupted: a long poll cut by a transport fault (what it carried may be lost), or
/// the server having forgotten the client (a restart or failover).
#[derive(Debug, Clone)]
pub struct Interruption {
    pub agent: usize,
    pub at: Instant,
    pub cause: String,
    pub server_forgot: bool,
}

#[derive(Default)]
pub struct Router {
    inner: Mutex<Routes>,
    /// Wakes every waiter when a stream closes.
    closed_changed: Notify,
}

/// Whether a notification announces a change of state (`notificationType: StatusChange`), the
/// form in which GWS announces an interaction's beginning and end.
pub fn is_status_change(message: &Value) -> bool {
    message
        .pointer("/data/notificationType")
        .and_then(Value::as_str)
        == Some("StatusChange")
}

/// The interaction id inside a notification's `data`: the `id` of the first object-valued
/// property that has one.
pub fn interaction_id(message: &Value) -> Option<String> {
    let data = message.get("data")?.as_object()?;
    data.values()
        .find_map(|v| v.as_object()?.get("id")?.as_str().map(str::to_string))
        // A message that carries no interaction object may name it (a voice ErrorMessage
        // naming the call it refused).
        .or_else(|| {
            ["callId", "interactionId"]
                .iter()
                .find_map(|k| data.get(*k)?.as_str().map(str::to_string))
        })
}

impl Routes {
    fn file(&mut self, agent: usize, message: Value, now: Instant) {
        if is_activity(&message) {
            return;
        }
        let Some(id) = interaction_id(&message) else {
            // The agent's device state is the answer to the Ready the run itself sent.
            if message.get("channel").and_then(Value::as_str) != Some(DEVICES_CHANNEL) {
                self.unattributed.push((agent, message));
            }
            return;
        };
        let key = (agent, id);
        if let Some(barrier) = self.barriers.get_mut(&key) {
            barrier.count += 1;
            barrier.wake.notify_waiters();
        } else if self.ending.contains(&key) && is_status_change(&message) {
            self.endings_heard += 1;
        } else {
            self.first_seen.entry(key.clone()).or_insert(now);
            let slot = self.filed.entry(key).or_default();
            slot.messages.push((message, now));
            slot.wake.notify_waiters();
            if let Some(arrivals) = self.arrivals.get(&agent) {
                arrivals.notify_waiters();
            }
        }
    }
}

impl Router {
    fn lock(&self) -> std::sync::MutexGuard<'_, Routes> {
        self.inner.locked()
    }

    /// Files the messages of one Bayeux answer under one lock, so that a scenario woken by the
    /// first never takes it without the others.
    pub fn deliver(&self, agent: usize, messages: Vec<Value>) {
        let now = Instant::now();
        let mut inner = self.lock();
        for message in messages {
            inner.file(agent, message, now);
        }
    }

    /// Marks interaction `id` as the run's own: it is never claimed as a new one.
    pub fn own(&self, agent: usize, id: &str) {
        self.lock().owned.insert((agent, id.to_string()));
    }

    /// The run is ending interaction `id`: the `StatusChange` that announces it is expected
    /// and dropped (counted); any other notification about it is still filed, and late.
    pub fn ending(&self, agent: usize, id: &str) {
        self.lock().ending.insert((agent, id.to_string()));
    }

    /// How many end-of-interaction notifications of the run's own endings arrived.
    pub fn endings_heard(&self) -> usize {
        self.lock().endings_heard
    }

    /// Waits for the first notification on `agent`'s stream about an interaction that was
    /// first heard of at `since` or later, that the run does not own, and that `accept`
    /// takes; claims it (the run owns it from now on) and returns its id and the messages
    /// filed for it, which are consumed. `None` at the deadline or when the stream closes.
    ///
    /// The caller makes this exact by having only one creation in flight per agent.
    pub async fn claim_new(
        &self,
        agent: usize,
        since: Instant,
        accept: impl Fn(&Value) -> bool,
        deadline: tokio::time::Instant,
    ) -> Option<(String, Vec<Value>)> {
        let wake = Arc::clone(self.lock().arrivals.entry(agent).or_default());
        let found = std::sync::Mutex::new(None);
        let pick = |inner: &Routes| {
            inner.filed.iter().find_map(|(key, slot)| {
                let fresh = key.0 == agent
                    && !inner.owned.contains(key)
                    && inner.first_seen.get(key).is_some_and(|t| *t >= since);
                let first = slot.messages.first().map(|(m, _)| m)?;
                (fresh && accept(first)).then(|| key.1.clone())
            })
        };
        self.wait_until(wake, deadline, |inner| {
            let id = pick(inner);
            let done = id.is_some() || inner.closed.contains_key(&agent);
            *found.locked() = id;
            done
        })
        .await;
        let id = found.into_unpoisoned()?;
        let mut inner = self.lock();
        let key = (agent, id.clone());
        inner.owned.insert(key.clone());
        let messages = inner
            .filed
            .remove(&key)
            .map(|s| s.messages.into_iter().map(|(m, _)| m).collect())
            .unwrap_or_default();
        Some((id, messages))
    }

    pub fn close(&self, agent: usize, reason: String) {
        self.lock().closed.insert(agent, reason);
        self.closed_changed.notify_waiters();
    }

    /// The server forgot the agent's Bayeux client; what it sent meanwhile may be lost.
    pub fn rehandshook(&self, agent: usize) {
        self.lock().rehandshakes.push(agent);
    }

    /// `agent`'s stream was interrupted (see [`Interruption`]); it is unhealthy until it polls
    /// again.
    pub fn interrupted(&self, agent: usize, cause: String, server_forgot: bool) {
        let mut inner = self.lock();
        inner.interruptions.push(Interruption {
            agent,
            at: Instant::now(),
            cause,
            server_forgot,
        });
        inner.healthy.insert(agent, false);
        drop(inner);
        // Whoever waits for a restart to show (`wait_forgotten`) looks again.
        self.closed_changed.notify_waiters();
    }

    /// `agent`'s stream polls again.
    pub fn polling(&self, agent: usize) {
        let mut inner = self.lock();
        if inner.healthy.insert(agent, true) == Some(false) {
            drop(inner);
            self.closed_changed.notify_waiters();
        }
    }

    /// Waits until one of `agents`' streams shows, since `since`, that the server forgot its
    /// clients (a restart or failover), or the deadline passes; returns whether it did.
    pub async fn wait_forgotten(
        &self,
        agents: &[usize],
        since: Instant,
        deadline: tokio::time::Instant,
    ) -> bool {
        let wake = Arc::new(Notify::new());
        self.wait_until(wake, deadline, |inner| {
            inner
                .interruptions
                .iter()
                .any(|i| i.server_forgot && i.at >= since && agents.contains(&i.agent))
        })
        .await
    }

    /// The interruptions of `agents`' streams since `since`.
    pub fn interruptions_since(&self, agents: &[usize], since: Instant) -> Vec<Interruption> {
        self.lock()
            .interruptions
            .iter()
            .filter(|i| i.at >= since && agents.contains(&i.agent))
            .cloned()
            .collect()
    }

    /// How many times `agent`'s stream was interrupted so far: a barrier made before an
    /// interruption may have lost one of its notifications for good, so it is replaced.
    pub fn interruption_count(&self, agent: usize) -> usize {
        self.lock()
            .interruptions
            .iter()
            .filter(|i| i.agent == agent)
            .count()
    }

    /// Waits until `agent`'s stream polls again after an interruption (or closes), so that a
    /// re-handshake the interruption led to is known; false at the deadline.
    pub async fn wait_polling(&self, agent: usize, deadline: tokio::time::Instant) -> bool {
        let wake = Arc::new(Notify::new());
        self.wait_until(wake, deadline, |inner| {
            inner.healthy.get(&agent).copied().unwrap_or(true) || inner.closed.contains_key(&agent)
        })
        .await
    }

    pub fn rehandshakes(&self) -> Vec<usize> {
        self.lock().rehandshakes.clone()
    }

    pub fn closed_reason(&self, agent: usize) -> Option<String> {
        self.lock().closed.get(&agent).cloned()
    }

    pub fn register_barrier(&self, agent: usize, id: &str) {
        let mut inner = self.lock();
        inner.owned.insert((agent, id.to_string()));
        inner.barriers.entry((agent, id.to_string())).or_default();
    }

    /// Waits on `wake` (and on any stream closing) until `condition` holds or the deadline
    /// passes; returns whether it held.
    async fn wait_until(
        &self,
        wake: Arc<Notify>,
        deadline: tokio::time::Instant,
        condition: impl Fn(&Routes) -> bool,
    ) -> bool {
        loop {
            let changed = wake.notified();
            let closed = self.closed_changed.notified();
            tokio::pin!(changed, closed);
            changed.as_mut().enable();
            closed.as_mut().enable();
            if condition(&self.lock()) {
                return true;
            }
            let woken = tokio::time::timeout_at(deadline, async {
                tokio::select! {
                    _ = changed => {}
                    _ = closed => {}
                }
            });
            if woken.await.is_err() {
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
        let wake = Arc::clone(&self.lock().filed.entry(key.clone()).or_default().wake);
        self.wait_until(wake, deadline, |inner| {
            inner
                .filed
                .get(&key)
                .is_some_and(|s| s.messages.len() >= count)
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
        let wake = Arc::clone(&self.lock().barriers.entry(key.clone()).or_default().wake);
        self.wait_until(wake, deadline, |inner| {
            inner
                .barriers
                .get(&key)
                .is_some_and(|b| b.count >= needed())
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
            .map(|s| s.messages)
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
        for ((agent, _), slot) in inner.filed.drain() {
            out.extend(slot.messages.into_iter().map(|(m, _)| (agent, m)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn note(id: &str) -> Value {
        json!({"channel": "/v2/me/chats", "data": {"chat": {"id": id}}})
    }

    #[tokio::test]
    async fn files_by_interaction_and_wakes_the_right_waiter() {
        let router = Arc::new(Router::default());
        let waiter = {
            let router = Arc::clone(&router);
            tokio::spawn(async move {
                router
                    .wait_for(
                        0,
                        "b",
                        1,
                        tokio::time::Instant::now() + Duration::from_secs(5),
                    )
                    .await
            })
        };
        router.deliver(0, vec![note("a")]);
        router.deliver(0, vec![note("b")]);
        assert!(waiter.await.unwrap());
        assert_eq!(router.take(0, "b", Instant::now()).len(), 1);
        assert_eq!(router.leftovers().len(), 1, "a is left over");
    }

    #[test]
    fn a_conversation_s_other_activity_is_not_filed() {
        let router = Router::default();
        for kind in ["ParticipantsUpdated", "MessageLogUpdated"] {
            let mut message = note("c");
            message["data"]["notificationType"] = json!(kind);
            router.deliver(0, vec![message]);
        }
        let mut change = note("c");
        change["data"]["notificationType"] = json!("PropertiesUpdated");
        router.deliver(0, vec![change]);
        assert_eq!(router.take(0, "c", Instant::now()).len(), 1);
        assert!(router.leftovers().is_empty());
    }

    #[tokio::test]
    async fn a_closed_stream_ends_every_wait() {
        let router = Arc::new(Router::default());
        let waiter = {
            let router = Arc::clone(&router);
            tokio::spawn(async move {
                router
                    .wait_for(
                        0,
                        "x",
                        1,
                        tokio::time::Instant::now() + Duration::from_secs(30),
                    )
                    .await
            })
        };
        tokio::task::yield_now().await;
        router.close(0, "gone".into());
        assert!(
            waiter.await.unwrap(),
            "the wait ends at once, not at its deadline"
        );
        assert_eq!(router.closed_reason(0).as_deref(), Some("gone"));
    }

    #[tokio::test]
    async fn a_claim_takes_only_an_interaction_first_heard_of_after_the_request() {
        let router = Router::default();
        let soon = || tokio::time::Instant::now() + Duration::from_millis(300);
        router.deliver(0, vec![note("old")]);
        router.own(0, "provisioned");
        let since = Instant::now();
        // Heard of before the request, owned by the run, on another agent's stream, or on
        // another channel: none of these is the new interaction.
        router.deliver(0, vec![note("old")]);
        router.deliver(0, vec![note("provisioned")]);
        router.deliver(1, vec![note("other-agent")]);
        router.deliver(
            0,
            vec![json!({"channel": "/v2/me/calls", "data": {"call": {"id": "a-call"}}})],
        );
        let chats = |m: &Value| m["channel"] == "/v2/me/chats";
        assert_eq!(router.claim_new(0, since, chats, soon()).await, None);
        router.deliver(0, vec![note("new")]);
        let (id, consumed) = router.claim_new(0, since, chats, soon()).await.unwrap();
        assert_eq!(id, "new");
        assert_eq!(consumed.len(), 1, "the announcing notification is consumed");
        assert_eq!(
            router.claim_new(0, since, chats, soon()).await,
            None,
            "a claimed interaction is the run's own"
        );
        assert!(router.take(0, "new", since).is_empty());
    }

    #[tokio::test]
    async fn the_ending_of_an_interaction_the_run_ends_is_dropped_and_nothing_else() {
        let router = Router::default();
        router.ending(0, "x");
        let mut ended = note("x");
        ended["data"]["notificationType"] = json!("StatusChange");
        router.deliver(0, vec![ended]);
        router.deliver(0, vec![note("x")]);
        assert_eq!(router.endings_heard(), 1);
        assert_eq!(
            router.leftovers().len(),
            1,
            "a late user-data notification stays"
        );
    }

    #[tokio::test]
    async fn barriers_count_notifications() {
        let router = Router::default();
        router.register_barrier(1, "bar");
        router.deliver(1, vec![note("bar")]);
        router.deliver(1, vec![note("bar")]);
        let deadline = tokio::time::Instant::now() + Duration::from_millis(200);
        assert!(router.wait_for_barrier(1, "bar", || 2, deadline).await);
        assert!(!router.wait_for_barrier(1, "bar", || 3, deadline).await);
        assert!(
            router.leftovers().is_empty(),
            "barrier notifications are not filed"
        );
    }
}
