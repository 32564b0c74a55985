//! Run stage: executes cases against a target over real HTTP and Bayeux.
//!
//! A [`Runner`] opens one session per agent (login, CSRF token, Bayeux handshake and an
//! acknowledged `/v2/me/*` subscription) and keeps every notification stream listening for the
//! whole run. Each case then provisions its own interaction, reads it, sends the operation,
//! waits for the notification *event* (bounded by a deadline), passes a barrier to catch
//! duplicates and extras, reads the interaction again and cleans up. The outcome is an
//! [`Observation`]: raw facts, no verdicts; judging it is the check stage's, and running many
//! cases concurrently is the orchestrator's (`crate::orchestrator`).

mod barrier;
mod case;
mod chat;
pub mod fixtures;
pub mod inbound;
mod listener;
mod logout;
pub mod native;
pub mod provisioner;

pub mod router;
pub mod session;
pub mod target;
pub mod target_file;
pub mod wire;

mod notes;
mod runner;

pub use notes::{RunNotes, StreamChange, StreamNote};
pub use runner::RunError;

use crate::observation::{Delivered, Observation, Reply, Setup};
use crate::plan::Case;
use crate::result::WireEntry;
use crate::spec::{
    AgentRole, AuthMode, CookieMode, CsrfMode, InteractionRef, Scenario, SendMethod,
};
use barrier::BarrierCell;
pub use barrier::BarrierError;
use fixtures::Provisioned;
pub use provisioner::{NoWay, NoWayReason, ProvisionError, Provisioner, ReleaseError};
use reqwest::Method;
use router::Router;
use serde_json::{Value, json};
use session::{AgentSession, Auth, CookieChoice, CsrfChoice, Presented};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
pub use target::{
    Contract, Credentials, CustomerChat, Deadlines, Fixtures, Native, RunConfig, Secret, Target,
};
use tokio_util::sync::CancellationToken;
use wire::WireLog;

pub struct Runner {
    pub target: Target,
    pub config: RunConfig,
    sessions: Vec<Arc<AgentSession>>,
    router: Arc<Router>,
    barriers: Mutex<HashMap<(usize, String), BarrierCell>>,
    /// Feature ids from `GET /api/v2/features`, when the server answers it.
    features: Option<Vec<String>>,
    cancel: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Interaction id → the scenario that used it, to attribute late notifications.
    owners: Mutex<HashMap<String, String>>,
    unknown_ids: AtomicU64,
    stream_notes: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<StreamNote>>>,
    /// Obtains and ends the run's interactions, and keeps account of them.
    provisioner: Provisioner,
}
