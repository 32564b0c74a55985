//! The barrier: proof, on an event, that an agent's stream has delivered everything sent
//! before a point in time for one media (see the run module's documentation for why it holds).
//!
//! It owns one private interaction per agent and media; it never sleeps.

use super::*;

pub(super) struct Barrier {
    pub(super) id: String,
    pub(super) path: String,
    pub(super) tickets: AtomicU64,
    /// Tickets whose update was refused, so no notification will ever count for them.
    pub(super) refused: Mutex<Vec<u64>>,
}

/// Which barrier operation passed: its interaction and ticket (the value it wrote under
/// `BARRIER_KEY`), for clients outside the router that wait for the same notification.
pub(super) struct BarrierMark {
    pub(super) id: String,
    pub(super) ticket: u64,
}

pub(super) type BarrierCell = Arc<OnceCell<Result<Arc<Barrier>, String>>>;

impl Runner {
    /// Proves that `agent`'s stream has delivered everything sent before now for this media.
    pub(super) async fn barrier(
        &self,
        agent: usize,
        media: &str,
        wire: &WireLog,
    ) -> Result<BarrierMark, String> {
        let cell = {
            let mut map = self.barriers.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(map.entry((agent, media.to_string())).or_default())
        };
        let session = &self.sessions[agent];
        let barrier = cell
            .get_or_init(|| async {
                let p = self
                    .provision(agent, media, &serde_json::Map::new(), wire)
                    .await
                    .map_err(|e| {
                        format!("could not provision a barrier interaction: {}", e.reason())
                    })?;
                self.router.register_barrier(agent, &p.id);
                Ok(Arc::new(Barrier {
                    id: p.id,
                    path: p.path,
                    tickets: AtomicU64::new(0),
                    refused: Mutex::new(Vec::new()),
                }))
            })
            .await
            .clone()?;
        let ticket = barrier.tickets.fetch_add(1, Ordering::SeqCst) + 1;
        let body = json!({"operationName": "UpdateUserData", "userData": {BARRIER_KEY: ticket}})
            .to_string();
        let refuse = |why: String| {
            barrier
                .refused
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(ticket);
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
            Err(e) => return refuse(format!("the barrier operation failed: {e}")),
        };
        if reply.body.json().and_then(|b| b.get("statusCode")) != Some(&json!(0)) {
            return refuse(format!(
                "the barrier operation was refused: HTTP {} {}",
                reply.status,
                reply.body.describe()
            ));
        }
        let needed = || {
            let refused = barrier.refused.lock().unwrap_or_else(|p| p.into_inner());
            ticket - refused.iter().filter(|t| **t < ticket).count() as u64
        };
        let deadline = tokio::time::Instant::now() + self.config.deadlines.notification;
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
            Err(format!(
                "the barrier notification did not arrive within {:.1}s",
                self.config.deadlines.notification.as_secs_f64()
            ))
        }
    }
}
