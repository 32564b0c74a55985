//! The reference server's state, apart from HTTP: configuration, the tables behind one mutex
//! (interactions, sessions, Bayeux clients, per-agent reference ids), ids, and how an
//! interaction is rendered.
//!
//! Every critical section is short and never awaits. The meaning of the user-data operations
//! lives in `operations`, the building and queueing of notifications in `notifications`; the
//! HTTP handlers only translate to and from them.

use super::defect::Defect;
use super::media::ServerMedia;
use crate::util::Unpoisoned;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

mod lifecycle;
mod limits;
mod notifications;
mod operations;
mod readings;
mod routing;

pub use lifecycle::{INVITED, INVITED_CAPABILITIES, Lifecycle, Origin};
pub use routing::{Published, Waiting};

pub use notifications::channel_matches;
pub use operations::{OpError, OpResult};

/// Configuration of one reference server instance.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to bind; loopback with an ephemeral port unless told otherwise.
    pub bind: std::net::SocketAddr,
    /// `(user name, password)` of every agent.
    pub agents: Vec<(String, String)>,
    /// Require the CSRF token on modifying requests and announce it on GETs.
    pub csrf: bool,
    /// How long a `/meta/connect` is held open when nothing is queued.
    pub long_poll: Duration,
    /// Media the server offers; `None` means all nine.
    pub offered_media: Option<Vec<String>>,
    pub defect: Option<Defect>,
    /// Delay used by the `late-notification` defect.
    pub late_delay: Duration,
    /// How long the `lost-concurrent-update` defect holds its stale copy of the user data.
    pub race_window: Duration,
    /// Announce the end of an interaction (`StatusChange`, state `Completed`) when the fixture
    /// contract deletes it, as production servers do when an interaction is released.
    pub notify_on_cleanup: bool,
    /// The GWS release whose notification shapes the server emits (voice differs in 8.5.1).
    pub gws_version: crate::spec::GwsVersion,
    /// Serve the project's fixture contract at `/conformance/v1` (off: a stock GWS, whose
    /// interactions come only from the documented Dial and Create operations).
    pub fixtures: bool,
    /// Legal choices where the documentation allows several (none: the faithful model's).
    pub variants: Vec<super::variant::Variant>,
    /// Customers waiting at start, by media (`serve --inbound sms=2`).
    pub inbound: Vec<(String, usize)>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            agents: vec![
                ("agent1".into(), "agent1-pass".into()),
                ("agent2".into(), "agent2-pass".into()),
            ],
            csrf: false,
            long_poll: Duration::from_secs(30),
            offered_media: None,
            defect: None,
            late_delay: Duration::from_secs(10),
            race_window: Duration::from_millis(50),
            notify_on_cleanup: false,
            gws_version: crate::spec::GwsVersion::default(),
            fixtures: true,
            variants: Vec::new(),
            inbound: Vec::new(),
        }
    }
}

pub struct Interaction {
    pub owner: String,
    pub media: &'static ServerMedia,
    pub open_media_type: String,
    pub user_data: Map<String, Value>,
    /// What a `stale-get` server returns: the data before the last operation.
    pub previous_user_data: Map<String, Value>,
    pub state_override: Option<String>,
    pub created: Instant,
    /// How it came to exist, which decides its documented state and capabilities.
    pub origin: Origin,
}

pub struct Session {
    pub agent: String,
    pub csrf_token: String,
}

/// A Bayeux client the server has handshaken: its agent, subscriptions and undelivered queue.
pub struct ConnectedClient {
    pub agent: String,
    pub subscriptions: Vec<String>,
    pub queue: VecDeque<Value>,
    pub wake: Arc<Notify>,
    /// Bumped by every `/meta/connect`, so an older pending connect knows to return.
    pub connect_generation: u64,
    pub disconnected: bool,
    /// Whether a `/meta/connect` is being held for this client right now.
    pub polling: bool,
    /// When the client last sent anything; idle clients are expired.
    pub last_seen: Instant,
}

/// The Bayeux clients by id, grouped by agent so that a publish visits only the owner's
/// clients instead of every client connected. A client's `agent` never changes once it is
/// inserted.
#[derive(Default)]
pub struct Clients {
    /// Agent → its clients by id.
    by_agent: HashMap<String, HashMap<String, ConnectedClient>>,
    /// Client id → its agent.
    agent_of: HashMap<String, String>,
}

impl Clients {
    pub fn insert(&mut self, id: String, client: ConnectedClient) {
        if let Some(previous) = self.agent_of.insert(id.clone(), client.agent.clone()) {
            self.take_from(&previous, &id);
        }
        self.by_agent
            .entry(client.agent.clone())
            .or_default()
            .insert(id, client);
    }

    pub fn get(&self, id: &str) -> Option<&ConnectedClient> {
        self.by_agent.get(self.agent_of.get(id)?)?.get(id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut ConnectedClient> {
        self.by_agent.get_mut(self.agent_of.get(id)?)?.get_mut(id)
    }

    pub fn remove(&mut self, id: &str) -> Option<ConnectedClient> {
        let agent = self.agent_of.remove(id)?;
        self.take_from(&agent, id)
    }

    fn take_from(&mut self, agent: &str, id: &str) -> Option<ConnectedClient> {
        let clients = self.by_agent.get_mut(agent)?;
        let client = clients.remove(id);
        if clients.is_empty() {
            self.by_agent.remove(agent);
        }
        client
    }

    /// Keeps the clients `keep` accepts and forgets the others.
    pub fn retain(&mut self, mut keep: impl FnMut(&ConnectedClient) -> bool) {
        let agent_of = &mut self.agent_of;
        self.by_agent.retain(|_, clients| {
            clients.retain(|id, client| {
                let kept = keep(client);
                if !kept {
                    agent_of.remove(id);
                }
                kept
            });
            !clients.is_empty()
        });
    }

    /// Removes every client and returns them.
    pub fn drain(&mut self) -> impl Iterator<Item = ConnectedClient> {
        self.agent_of.clear();
        std::mem::take(&mut self.by_agent)
            .into_values()
            .flat_map(HashMap::into_values)
    }

    pub fn clear(&mut self) {
        self.by_agent.clear();
        self.agent_of.clear();
    }

    pub fn len(&self) -> usize {
        self.agent_of.len()
    }

    pub fn is_empty(&self) -> bool {
        self.agent_of.is_empty()
    }

    pub fn values(&self) -> impl Iterator<Item = &ConnectedClient> {
        self.by_agent.values().flat_map(HashMap::values)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut ConnectedClient> {
        self.by_agent.values_mut().flat_map(HashMap::values_mut)
    }

    /// The clients that `agent` handshook.
    pub fn of_agent_mut(&mut self, agent: &str) -> impl Iterator<Item = &mut ConnectedClient> {
        self.by_agent
            .get_mut(agent)
            .into_iter()
            .flat_map(HashMap::values_mut)
    }
}

/// Everything the server knows, behind its one mutex.
#[derive(Default)]
pub struct Tables {
    pub interactions: HashMap<String, Interaction>,
    pub sessions: HashMap<String, Session>,
    pub clients: Clients,
    pub reference_ids: HashMap<String, u64>,
    pub serial: u64,
    /// When each interaction was last changed (for the `lost-update-under-load` defect).
    pub last_ops: HashMap<String, Instant>,
    /// Notifications published while the load-only defects were armed.
    pub load_serial: u64,
    /// Agent → the channels its contact-center session was started with, and whether the
    /// agent is Ready on each.
    pub contact_center: HashMap<String, std::collections::BTreeMap<String, bool>>,
    /// Interaction → its last user-data notification `(owner, channel, data)`, kept only for
    /// the `repeat-on-release` defect.
    pub last_published: HashMap<String, (String, String, Value)>,
    /// AttachUserData requests seen, by media and body (for the `flaky-first-attach` defect).
    pub attaches_seen: std::collections::HashSet<String>,
    /// Interactions waiting to be offered to an agent (routing), in arrival order.
    pub waiting: VecDeque<Waiting>,
    /// Customer-side chat id → the agent-side interaction it was offered as, once offered.
    pub customer_chats: HashMap<String, Option<String>>,
}

pub struct ServerState {
    pub config: ServerConfig,
    /// Scheme, host and port as clients reach the server, for `uri` fields.
    pub base_url: String,
    /// `config.agents` by user name, so that checking Basic credentials does not scan every
    /// agent.
    passwords: HashMap<String, Vec<String>>,
    inner: Mutex<Tables>,
    pub stats: ServerStats,
}

/// Time the server spends, for the benchmark's breakdown.
#[derive(Debug, Default)]
pub struct ServerStats {
    pub requests: std::sync::atomic::AtomicU64,
    /// Wall time inside handlers, long-poll waits included.
    pub handler_nanos: std::sync::atomic::AtomicU64,
    /// Wall time long polls spent waiting for something to deliver.
    pub waiting_nanos: std::sync::atomic::AtomicU64,
}

impl ServerStats {
    /// Handler time minus long-poll waiting: what the server itself cost.
    pub fn busy(&self) -> Duration {
        use std::sync::atomic::Ordering::Relaxed;
        Duration::from_nanos(
            self.handler_nanos
                .load(Relaxed)
                .saturating_sub(self.waiting_nanos.load(Relaxed)),
        )
    }
}

impl ServerState {
    pub fn new(config: ServerConfig, base_url: String) -> Self {
        let mut passwords: HashMap<String, Vec<String>> = HashMap::new();
        for (user, password) in &config.agents {
            passwords
                .entry(user.clone())
                .or_default()
                .push(password.clone());
        }
        let state = ServerState {
            config,
            base_url,
            passwords,
            // Serials start at a random point, so a restarted server does not hand out the
            // interaction ids of its previous life (a real GWS's ids are unique).
            inner: Mutex::new(Tables {
                serial: u64::from_str_radix(&Self::random_id()[..8], 16).unwrap_or(0) << 16,
                ..Tables::default()
            }),
            stats: ServerStats::default(),
        };
        state.queue_inbound(&state.config.inbound);
        state
    }

    pub fn lock(&self) -> MutexGuard<'_, Tables> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters to a test server, so a poisoned lock is still used.
        self.inner.locked()
    }

    /// Whether `user` and `password` are one of the configured agents.
    pub fn is_agent(&self, user: &str, password: &str) -> bool {
        self.passwords.get(user).is_some_and(|known| {
            known.iter().any(|p| p == password)
                || (password.is_empty() && self.defect(Defect::EmptyPasswordAccepted))
        })
    }

    pub fn defect(&self, d: Defect) -> bool {
        self.config.defect == Some(d)
    }

    /// The `repeat-on-release` defect: interaction `id` is being released, so its last
    /// notification goes out again.
    pub fn repeat_on_release(&self, id: &str) {
        if !self.defect(Defect::RepeatOnRelease) {
            return;
        }
        let last = self.lock().last_published.remove(id);
        if let Some((owner, channel, data)) = last {
            self.publish(&owner, &channel, &data);
        }
    }

    pub fn variant(&self, v: super::variant::Variant) -> bool {
        self.config.variants.contains(&v)
    }

    /// The HTTP status and body of an error, as this server (or its defect) answers it.
    pub fn error_body(&self, http: u16, status_code: u32, message: &str) -> (u16, Value) {
        if self.defect(Defect::ErrorStatusZero) {
            return (200, json!({"statusCode": 0}));
        }
        (
            http,
            json!({"statusCode": status_code, "statusMessage": message}),
        )
    }

    /// Whether this is the first AttachUserData with this body on this media (remembered).
    pub fn first_attach(&self, media: &ServerMedia, body: &Value) -> bool {
        self.lock()
            .attaches_seen
            .insert(format!("{}\u{0}{body}", media.name))
    }

    pub fn offers(&self, media: &ServerMedia) -> bool {
        self.config
            .offered_media
            .as_ref()
            .is_none_or(|list| list.iter().any(|m| m == media.name))
    }

    /// 128 random bits as hex, for session ids, CSRF tokens and Bayeux client ids: a restarted
    /// server must not hand out the ids of its previous life, and nobody may guess them.
    pub fn random_id() -> String {
        let mut bytes = [0u8; 16];
        if getrandom::fill(&mut bytes).is_err() {
            // No OS randomness (never seen on Linux): fall back to time and a counter, still
            // unique within this process.
            static FALLBACK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let n = FALLBACK.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            bytes = (nanos ^ (u128::from(n) << 64)).to_le_bytes();
        }
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn next_serial(inner: &mut Tables) -> u64 {
        inner.serial += 1;
        // Spread serials so ids do not look sequential, as real ids do not.
        inner.serial.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 24
    }

    /// The interaction object as the server shows it now.
    pub fn render(&self, interaction: &Interaction, id: &str, for_get: bool) -> Value {
        let data = if for_get && self.defect(Defect::StaleGet) {
            &interaction.previous_user_data
        } else {
            &interaction.user_data
        };
        let mut resource = interaction.media.resource(
            &self.base_url,
            id,
            &interaction.open_media_type,
            data,
            interaction.created.elapsed().as_secs(),
        );
        interaction.origin.shape(interaction.media, &mut resource);
        if for_get
            && self.variant(super::variant::Variant::RicherGet)
            && interaction.media.name != "voice"
        {
            // Stable while the data is: a server's modification stamp.
            let stamp = super::media::fold(&Value::Object(data.clone()).to_string());
            resource["lastModified"] = Value::String(format!(
                "2026-12-01 {:02}:{:02}:{:02}.000+0000",
                stamp % 24,
                (stamp >> 8) % 60,
                (stamp >> 16) % 60
            ));
        }
        if let Some(state) = &interaction.state_override {
            resource["state"] = Value::String(state.clone());
            if state == INVITED {
                resource["capabilities"] = json!(INVITED_CAPABILITIES);
            }
        }
        if self.defect(Defect::DurationAsNumber)
            && let Some(duration) = resource.get_mut("duration")
        {
            let seconds = duration.as_str().and_then(|d| d.parse::<u64>().ok());
            *duration = seconds.map_or(Value::Null, Value::from);
        }
        if self.config.gws_version == crate::spec::GwsVersion::V8_5_1 {
            interaction.media.as_gws_8_5_1(&mut resource);
        }
        resource
    }

    /// The interaction's user data as it is now (for the `lost-concurrent-update` defect).
    pub fn user_data_of(&self, id: &str) -> Option<Map<String, Value>> {
        self.lock()
            .interactions
            .get(id)
            .map(|i| i.user_data.clone())
    }

    /// Puts back a user data copy taken earlier, losing whatever changed since: the
    /// read-modify-write race of the `lost-concurrent-update` defect.
    pub fn write_back_user_data(&self, id: &str, stale: Map<String, Value>) {
        if let Some(i) = self.lock().interactions.get_mut(id) {
            i.user_data = stale;
        }
    }

    /// Whether a load-only defect `d` is active and armed: more than [`LOAD_CLIENTS`] Bayeux
    /// clients are connected.
    ///
    /// [`LOAD_CLIENTS`]: super::defect::LOAD_CLIENTS
    pub fn under_load(&self, inner: &Tables, d: Defect) -> bool {
        self.defect(d)
            && inner.clients.values().filter(|c| !c.disconnected).count()
                > super::defect::LOAD_CLIENTS
    }

    /// Agents `agent1..agentN` with passwords `agentK-pass`, as `serve --agents N` creates them.
    pub fn numbered_agents(n: usize) -> Vec<(String, String)> {
        (1..=n)
            .map(|k| (format!("agent{k}"), format!("agent{k}-pass")))
            .collect()
    }

    pub fn can_access(&self, interaction: &Interaction, agent: &str) -> bool {
        interaction.owner == agent || self.defect(Defect::CrossAgentAccess)
    }

    /// Whether `interaction` is served under `media`'s collection: only its own media's,
    /// unless the `any-media-any-path` defect looks ids up in every collection.
    pub fn serves_under(&self, interaction: &Interaction, media: &ServerMedia) -> bool {
        std::ptr::eq(interaction.media, media) || self.defect(Defect::AnyMediaAnyPath)
    }
}
