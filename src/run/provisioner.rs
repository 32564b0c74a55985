//! The [`Provisioner`]: which way each media is provisioned, and the ledger that makes sure
//! whatever the run created is ended.
//!
//! A media is provisioned natively when `fixtures.native` covers it, else through the fixture
//! contract when the target has one; otherwise it cannot be provisioned (the scenario is not
//! applicable and the media needs fixtures). The provisioner owns what provisioning needs
//! across scenarios: each agent's native preparation, the per-agent lock that keeps one native
//! creation in flight, and the ledger. Every interaction obtained is recorded in the ledger
//! before anything else can fail, and leaves it only once it was ended; `release_all` (the
//! runner's `close`) ends what is still there (a scenario cut off by its deadline, a run
//! stopped with Ctrl-C), so no interaction created by the run remains on the target.
//!
//! How an interaction is created lives in `fixtures.rs` (contract) and `native.rs` (documented
//! operations, one row per media); this module only chooses and keeps account. Why no
//! interaction was obtained is a [`ProvisionError`]; a media with no way, [`NoWay`]; an
//! interaction that could not be ended, a [`ReleaseError`].

use super::fixtures::{self, CleanupError, FixtureError, Provisioned, Way};
use super::native::{
    EndError, NativeError, NativeFailure, Unavailable, barrier_media, first_agent_only, unavailable,
};
use super::router::Router;
use super::session::{AgentSession, ClientError, http_client};
use super::target::{Contract, Deadlines, Fixtures, Native, Target};
use super::wire::WireLog;
use crate::observation::Setup;
use crate::util::Unpoisoned;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OnceCell;

/// Obtains the run's interactions and ends them.
pub struct Provisioner {
    fixtures: Fixtures,
    /// `fixtures.native`, when the target has it.
    pub(super) native: Option<Native>,
    /// The customer's HTTP client (no credentials, no cookies), when chats are requested.
    pub(super) customer: Option<reqwest::Client>,
    pub(super) sessions: Vec<Arc<AgentSession>>,
    pub(super) router: Arc<Router>,
    pub(super) deadlines: Deadlines,
    /// Per agent: its native preparation (device, contact-center session, Ready), done once.
    pub(super) native_agents: Vec<OnceCell<Result<PreparedAgent, NativeError>>>,
    /// Per agent: held while a native creation is in flight, so its interaction is the next
    /// new one on the agent's stream.
    pub(super) creating: Vec<tokio::sync::Mutex<()>>,
    /// Interactions the run obtained and has not ended yet, by id.
    ledger: Mutex<HashMap<String, Obtained>>,
    /// Per inbound media: what waiting for its offer gave.
    pub(super) inbound: Mutex<HashMap<String, Inbound>>,
    /// Reused interactions in use by a scenario: its turn, held until released.
    pub(super) turns: Mutex<HashMap<String, tokio::sync::OwnedMutexGuard<()>>>,
    /// Set by `release_all`: from then on a reused interaction is ended, not kept.
    closing: AtomicBool,
}

/// What an agent's one-time preparation found.
#[derive(Debug, Clone)]
pub(super) struct PreparedAgent {
    /// The device voice calls are dialled from.
    pub(super) device: Option<String>,
}

/// What waiting for one inbound media gave.
pub(super) enum Inbound {
    /// Accepted: scenarios take turns on it.
    Accepted {
        provisioned: Provisioned,
        turn: Arc<tokio::sync::Mutex<()>>,
        uses: AtomicUsize,
    },
    /// Nothing was offered within the wait (or the run was stopped meanwhile).
    NeverOffered { wait: Duration },
    /// Offered, but taking it failed.
    Failed(String),
}

/// Why no interaction was obtained.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProvisionError {
    /// The target file gives no way to obtain one (the media needs fixtures).
    #[error(transparent)]
    NoWay(Box<NoWay>),
    #[error(transparent)]
    Fixture(Box<FixtureError>),
    #[error(transparent)]
    Native(Box<NativeFailure>),
    #[error(transparent)]
    Reset(Box<ResetError>),
}

/// A reused interaction's user data could not be brought to the scenario's initial data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("resetting the reused {media} interaction's user data failed: {why}")]
pub struct ResetError {
    pub media: String,
    pub why: String,
}

impl From<NoWay> for ProvisionError {
    fn from(e: NoWay) -> Self {
        ProvisionError::NoWay(Box::new(e))
    }
}

impl From<FixtureError> for ProvisionError {
    fn from(e: FixtureError) -> Self {
        ProvisionError::Fixture(Box::new(e))
    }
}

impl From<NativeFailure> for ProvisionError {
    fn from(e: NativeFailure) -> Self {
        ProvisionError::Native(Box::new(e))
    }
}

impl ProvisionError {
    /// The request that would have provisioned the interaction got no reply because of a
    /// transport fault: nothing is known (the interaction may even exist), so the case is
    /// indeterminate rather than failed.
    pub fn interrupted(&self) -> bool {
        match self {
            ProvisionError::NoWay(_) | ProvisionError::Reset(_) => false,
            ProvisionError::Fixture(f) => {
                matches!(&**f, FixtureError::Request(e) if e.is_transport())
            }
            ProvisionError::Native(n) => n.interrupted(),
        }
    }

    /// What the scenario's setup was, had it been this error.
    pub fn setup(&self) -> Setup {
        let reason = self.to_string();
        match self {
            ProvisionError::NoWay(_) => Setup::NotProvisionable(reason),
            ProvisionError::Fixture(f) if f.declined() => Setup::NotOffered(reason),
            ProvisionError::Fixture(_) | ProvisionError::Native(_) | ProvisionError::Reset(_) => {
                Setup::Failed(reason)
            }
        }
    }
}

/// Why the target file gives no way to provision a media.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{reason}")]
pub struct NoWay {
    pub media: String,
    pub reason: NoWayReason,
}

/// Why a media has no way.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NoWayReason {
    #[error("the target names no fixtures (native, url or exec)")]
    NoFixtures,
    #[error(transparent)]
    Native(#[from] Unavailable),
}

/// Why an interaction the run obtained could not be ended.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReleaseError {
    #[error(transparent)]
    Native(#[from] EndError),
    #[error(transparent)]
    Contract(#[from] CleanupError),
}

/// The way a media is provisioned.
enum Chosen<'a> {
    Native(&'a Native),
    Contract(&'a Contract),
}

/// An interaction the run obtained and has not yet ended.
#[derive(Debug, Clone)]
struct Obtained {
    agent: usize,
    media: String,
    provisioned: Provisioned,
}

impl Provisioner {
    pub(super) fn new(
        target: &Target,
        sessions: Vec<Arc<AgentSession>>,
        router: Arc<Router>,
        deadlines: Deadlines,
    ) -> Result<Provisioner, ClientError> {
        let fixtures = target.fixtures.clone();
        let native = fixtures.native.clone();
        let customer = match native.as_ref().and_then(|n| n.chat.as_ref()) {
            Some(_) => Some(http_client(target, false)?),
            None => None,
        };
        Ok(Provisioner {
            fixtures,
            native,
            customer,
            native_agents: sessions.iter().map(|_| OnceCell::new()).collect(),
            creating: sessions
                .iter()
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            sessions,
            router,
            deadlines,
            ledger: Mutex::new(HashMap::new()),
            inbound: Mutex::new(HashMap::new()),
            turns: Mutex::new(HashMap::new()),
            closing: AtomicBool::new(false),
        })
    }

    /// Obtains an interaction of `media` owned by `agent`, starting with `user_data`.
    pub async fn provision(
        &self,
        agent: usize,
        media: &str,
        user_data: &Map<String, Value>,
        wire: &WireLog,
    ) -> Result<Provisioned, ProvisionError> {
        match self.way_for(media)? {
            Chosen::Native(native) => {
                self.provision_native(native, agent, media, user_data, wire)
                    .await
            }
            Chosen::Contract(contract) => {
                let session = &self.sessions[agent];
                let made = fixtures::provision(
                    contract,
                    session,
                    media,
                    user_data,
                    self.deadlines.request,
                    wire,
                )
                .await?;
                self.router.own(agent, &made.id);
                self.remember(agent, media, &made);
                Ok(made)
            }
        }
    }

    /// Whether the target file gives a way to provision `media` for `load`, and why not:
    /// routed inbound interactions are reused one scenario at a time, which load cannot do.
    pub fn can_provision(&self, media: &str) -> Result<(), NoWay> {
        match self.way_for(media)? {
            Chosen::Native(native) if native.inbound.iter().any(|m| m == media) => {
                Err(self.no_way(media, Unavailable::ReusedOnly))
            }
            _ => Ok(()),
        }
    }

    /// Whether `agent` can be given interactions of `media`: routed media go only to the first
    /// agent when they are provisioned natively.
    pub fn serves(&self, agent: usize, media: &str) -> bool {
        match self.way_for(media) {
            Ok(Chosen::Native(native)) => agent == 0 || !first_agent_only(native, media),
            Ok(Chosen::Contract(_)) => true,
            Err(_) => false,
        }
    }

    fn way_for(&self, media: &str) -> Result<Chosen<'_>, NoWay> {
        let native_refusal = match &self.fixtures.native {
            Some(native) => match unavailable(native, media) {
                None => return Ok(Chosen::Native(native)),
                Some(why) => NoWayReason::Native(why),
            },
            None => NoWayReason::NoFixtures,
        };
        self.fixtures
            .contract
            .as_ref()
            .map(Chosen::Contract)
            .ok_or_else(|| NoWay {
                media: media.to_string(),
                reason: native_refusal,
            })
    }

    /// The media whose barrier interaction stands in for `media`'s on the same agent's stream.
    pub fn barrier_media<'a>(&self, media: &'a str) -> &'a str {
        match self.way_for(media) {
            Ok(Chosen::Native(native)) => barrier_media(native, media),
            _ => media,
        }
    }

    /// A media native provisioning cannot create: the reason, as `NoWay`.
    pub(super) fn no_way(&self, media: &str, reason: Unavailable) -> NoWay {
        NoWay {
            media: media.to_string(),
            reason: NoWayReason::Native(reason),
        }
    }

    /// Records an interaction the run must end.
    pub(super) fn remember(&self, agent: usize, media: &str, provisioned: &Provisioned) {
        self.ledger.locked().insert(
            provisioned.id.clone(),
            Obtained {
                agent,
                media: media.to_string(),
                provisioned: provisioned.clone(),
            },
        );
    }

    /// Ends interaction `id` the way it was obtained (documented ending or the contract's
    /// DELETE) and takes it off the ledger once that worked. Returns the problem, if any; an
    /// interaction whose ending failed stays on the ledger for `release_all` to try again.
    pub async fn release(&self, id: &str, wire: &WireLog) -> Option<ReleaseError> {
        let entry = self.ledger.locked().get(id).cloned();
        let Obtained {
            agent,
            media,
            provisioned,
        } = entry?;
        let problem = match (&provisioned.way, &self.fixtures.contract) {
            (Way::Routed { .. }, _) if !self.closing.load(Ordering::SeqCst) => {
                // Kept for the next scenario of its media; only this scenario's turn ends.
                self.end_turn(id);
                return None;
            }
            (Way::Native { .. } | Way::Routed { .. }, _) => self
                .end_native(agent, &provisioned, &media, wire)
                .await
                .err()
                .map(ReleaseError::from),
            (Way::Contract, Some(contract)) => {
                fixtures::cleanup(contract, &self.sessions[agent], id, wire)
                    .await
                    .map(ReleaseError::from)
            }
            (Way::Contract, None) => None,
        };
        if problem.is_none() {
            self.ledger.locked().remove(id);
        }
        problem
    }

    /// Ends everything still on the ledger; returns what could not be ended.
    pub async fn release_all(&self, wire: &WireLog) -> Vec<String> {
        self.closing.store(true, Ordering::SeqCst);
        // Nothing more offered first, then what was accepted ended.
        let mut problems = self.stop_offers(wire).await;
        let left: Vec<Obtained> = self.ledger.locked().values().cloned().collect();
        for obtained in left {
            let id = &obtained.provisioned.id;
            if let Some(problem) = self.release(id, wire).await {
                problems.push(format!(
                    "agent {}: {} interaction {id} may remain on the target: {problem}",
                    self.sessions[obtained.agent].username, obtained.media
                ));
            }
        }
        problems
    }
}
