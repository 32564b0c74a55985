//! The server started on a loopback (or given) address and stopped: `start`, `RunningServer`.
//! What it serves is `routes.rs`'s.

use super::routes::router;
use super::{ServerConfig, state};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// A server running on the current tokio runtime; dropping it does not stop it, `shutdown` does.
pub struct RunningServer {
    pub base_url: String,
    pub state: Arc<state::ServerState>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting connections and waits for the server task to end.
    pub async fn shutdown(self) {
        // Pending long polls would hold graceful shutdown open until their timeout.
        {
            let mut inner = self.state.lock();
            for client in inner.clients.drain() {
                client.wake.notify_one();
            }
        }
        self.cancel.cancel();
        let _ = self.task.await;
    }

    /// Resolves when the server stops (for `serve`).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Binds and starts the server; returns once it accepts connections.
pub async fn start(config: ServerConfig) -> std::io::Result<RunningServer> {
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let state = Arc::new(state::ServerState::new(config, base_url.clone()));
    let cancel = CancellationToken::new();
    let app = router(Arc::clone(&state));
    let token = cancel.clone();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(token.cancelled_owned())
            .await;
    });
    Ok(RunningServer {
        base_url,
        state,
        cancel,
        task,
    })
}
