//! Run stage: executes cases against a target over real HTTP and Bayeux.
//!
//! A [`Runner`] opens one session per agent (login, CSRF token, Bayeux handshake and an
//! acknowledged `/v2/me/*` subscription) and keeps every notification stream listening for the
//! whole run. Each case then provisions its own interaction, reads it, sends the operation,
//! waits for the notification *event* (bounded by a deadline), passes a barrier to catch
//! duplicates and extras, reads the interaction again and cleans up. The outcome is an
//! [`Observation`](crate::observation::Observation): raw facts, no verdicts; judging it is the
//! check stage's, and running many cases concurrently is the orchestrator's
//! (`crate::orchestrator`).

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
mod present;
mod runner;

pub use notes::{RunNotes, StreamChange, StreamNote};
pub use runner::RunError;

pub use barrier::BarrierError;
use barrier::Barriers;
pub use provisioner::{NoWay, NoWayReason, ProvisionError, Provisioner, ReleaseError};
use router::Router;
use session::AgentSession;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
pub use target::{
    Contract, Credentials, CustomerChat, Deadlines, Fixtures, Native, RunConfig, Secret, Target,
};
use tokio_util::sync::CancellationToken;

pub struct Runner {
    pub target: Target,
    pub config: RunConfig,
    sessions: Vec<Arc<AgentSession>>,
    router: Arc<Router>,
    barriers: Barriers,
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
