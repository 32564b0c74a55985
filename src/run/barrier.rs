//! The barrier: proof, on an event, that an agent's stream has delivered everything sent
//! before a point in time for one media (see the run module's documentation for why it holds).
//!
//! [`Barriers`] owns one private interaction per agent and media; it never sleeps. Why a
//! barrier did not pass is a [`BarrierError`]. It knows the sessions, the router and the
//! provisioner it is handed, not the `Runner` that holds it.

use super::provisioner::{ProvisionError, Provisioner};
use super::router::{BARRIER_KEY, Router};
use super::session::{AgentSession, Auth};
use super::wire::WireLog;
use crate::observation::RequestError;
use crate::util::Unpoisoned;
use reqwest::Method;
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OnceCell;

pub(super) struct Barrier {
    pub(super) id: String,
    pub(super) path: String,
    pub(super) tickets: AtomicU64,
    /// Tickets whose update was refused, so no notification will ever count for them.
    pub(super) refused: Mutex<Vec<u64>>,
    /// A ticket's reply was lost to a transport fault: its update may or may not have been
    /// applied, so the count no longer says which notification is whose. Later tickets
    /// still in flight count it as applied (at worst they wait out their deadline), and the
    /// next pass makes a fresh barrier.
    pub(super) lost: std::sync::atomic::AtomicBool,
    /// The agent's stream interruptions when it was made: after another, one of its
    /// notifications may be lost for good (the count would never be reached again), or the
    /// server may have forgotten the interaction, so a fresh barrier replaces it.
    pub(super) epoch: usize,
}

/// Which barrier operation passed: its interaction and ticket (the value it wrote under
/// `BARRIER_KEY`), for clients outside the router that wait for the same notification.
pub(super) struct BarrierMark {
    pub(super) id: String,
    pub(super) ticket: u64,
}

/// Why a barrier could not prove delivery.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BarrierError {
    #[error("could not provision a barrier interaction: {source}")]
    Provision {
        agent: usize,
        media: String,
        source: ProvisionError,
    },
    #[error("the barrier operation failed: {source}")]
    Request { path: String, source: RequestError },
    #[error("the barrier operation was refused: HTTP {status} {body}")]
    Refused {
        path: String,
        status: u16,
        body: String,
    },
    #[error("the barrier notification did not arrive within {:.1}s", after.as_secs_f64())]
    Timeout {
        id: String,
        after: std::time::Duration,
    },
}

type BarrierCell = Arc<OnceCell<Result<Arc<Barrier>, BarrierError>>>;

/// Every barrier of a run, by agent and media, on the streams `router` files.
pub(super) struct Barriers {
    cells: Mutex<HashMap<(usize, String), BarrierCell>>,
    router: Arc<Router>,
    /// How long a barrier's notification may take.
    deadline: Duration,
}

impl Barriers {
    pub(super) fn new(router: Arc<Router>, deadline: Duration) -> Barriers {
        Barriers {
            cells: Mutex::new(HashMap::new()),
            router,
            deadline,
        }
    }

    /// The agents and media that have had a barrier.
    pub(super) fn used(&self) -> Vec<(usize, String)> {
        self.cells.locked().keys().cloned().collect()
    }

    /// Proves that `session`'s stream has delivered everything sent before now for this media;
    /// the barrier interaction comes from `provisioner`.
    pub(super) async fn pass(
        &self,
        session: &AgentSession,
        provisioner: &Provisioner,
        media: &str,
        wire: &WireLog,
    ) -> Result<BarrierMark, BarrierError> {
        let agent = session.index;
        let media = provisioner.barrier_media(media);
        let epoch = self.router.interruption_count(agent);
        let cell = {
            let mut map = self.cells.locked();
            let cell = map.entry((agent, media.to_string())).or_default();
            let stale = match cell.get() {
                Some(Ok(barrier)) => barrier.epoch != epoch || barrier.lost.load(Ordering::SeqCst),
                // Provisioning lost to a transport fault is tried again.
                Some(Err(BarrierError::Provision { source, .. })) => source.interrupted(),
                _ => false,
            };
            if stale {
                *cell = BarrierCell::default();
            }
            Arc::clone(cell)
        };
        let barrier = cell
            .get_or_init(|| async {
                let p = provisioner
                    .provision(agent, media, &serde_json::Map::new(), wire)
                    .await
                    .map_err(|e| BarrierError::Provision {
                        agent,
                        media: media.to_string(),
                        source: e,
                    })?;
                self.router.register_barrier(agent, &p.id);
                Ok(Arc::new(Barrier {
                    id: p.id,
                    path: p.path,
                    tickets: AtomicU64::new(0),
                    refused: Mutex::new(Vec::new()),
                    lost: std::sync::atomic::AtomicBool::new(false),
                    epoch,
                }))
            })
            .await
            .clone()?;
        let ticket = barrier.tickets.fetch_add(1, Ordering::SeqCst) + 1;
        let body = json!({"operationName": "UpdateUserData", "userData": {BARRIER_KEY: ticket}})
            .to_string();
        let refuse = |why: BarrierError| {
            barrier.refused.locked().push(ticket);
            Err(why)
        };
        let reply = match session
            .request(
                Method::POST,
                &barrier.path,
                Some(body.as_bytes()),
                Auth::Session,
                true,
                Some(wire),
            )
            .await
        {
            Ok((reply, _)) => reply,
            // Counted as refused, an update the server did apply would let a later ticket
            // pass one notification early, before what it is to prove has arrived.
            Err(source) if source.is_transport() => {
                barrier.lost.store(true, Ordering::SeqCst);
                return Err(BarrierError::Request {
                    path: barrier.path.clone(),
                    source,
                });
            }
            Err(source) => {
                return refuse(BarrierError::Request {
                    path: barrier.path.clone(),
                    source,
                });
            }
        };
        if reply.body.json().and_then(|b| b.get("statusCode")) != Some(&json!(0)) {
            return refuse(BarrierError::Refused {
                path: barrier.path.clone(),
                status: reply.status,
                body: reply.body.describe(),
            });
        }
        let needed = || {
            let refused = barrier.refused.locked();
            ticket - refused.iter().filter(|t| **t < ticket).count() as u64
        };
        let deadline = tokio::time::Instant::now() + self.deadline;
        if self
            .router
            .wait_for_barrier(agent, &barrier.id, needed, deadline)
            .await
        {
            Ok(BarrierMark {
                id: barrier.id.clone(),
                ticket,
            })
        } else {
            Err(BarrierError::Timeout {
                id: barrier.id.clone(),
                after: self.deadline,
            })
        }
    }
}
