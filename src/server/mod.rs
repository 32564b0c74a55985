//! The embedded reference server: a faithful GWS simulator for the user-data operations.
//!
//! It serves Basic authentication with `JSESSIONID` sessions and optional CSRF, `GET /api/v2/me`,
//! `GET /api/v2/features`, GET and POST on interactions of all nine media, a long-polling
//! CometD endpoint with per-agent delivery, the documented operations that begin and end
//! interactions (contact-center session, Ready, devices, Dial, Create, Hangup, Complete,
//! Cancel, collection listings), and the fixture contract at `/conformance/v1` (which
//! `ServerConfig::fixtures` can turn off, leaving a stock GWS).
//! With a [`Defect`] it becomes a realistic wrong server for measuring the suite.
//!
//! It binds loopback by default and knows nothing about scenarios or the runner.

pub mod bayeux;
pub mod defect;
pub mod http;
pub mod media;
mod native;
pub mod state;
pub mod variant;

pub use defect::Defect;
pub use state::ServerConfig;
pub use variant::Variant;

use axum::Router;
use axum::routing::{delete, get, post};
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

/// Adds every handler's wall time to the server's statistics.
async fn timed(
    axum::extract::State(state): axum::extract::State<Arc<state::ServerState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let start = std::time::Instant::now();
    let response = next.run(request).await;
    let stats = &state.stats;
    stats
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    stats.handler_nanos.fetch_add(
        start.elapsed().as_nanos() as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
    response
}

pub fn router(state: Arc<state::ServerState>) -> Router {
    let fixtures = state.config.fixtures;
    let app = Router::new()
        .route("/api/v2/me", get(http::get_me).post(native::post_me))
        .route("/api/v2/me/devices", get(native::get_devices))
        .route(
            "/api/v2/me/devices/{device}/calls",
            post(native::post_device_calls),
        )
        .route("/api/v2/me/channels/{channel}", post(native::post_channel))
        .route(
            "/api/v2/me/openmedia/{media_type}",
            get(native::get_open_media_collection).post(native::post_open_media_collection),
        )
        .route(
            "/api/v2/me/{collection}",
            get(native::get_collection).post(native::post_collection),
        )
        .route("/api/v2/queues/{id}", get(native::get_queue))
        .route("/api/v2/chats", post(native::post_customer_chats))
        .route("/api/v2/chats/{id}", post(native::post_customer_chat))
        .route("/api/v2/features", get(http::get_features))
        .route("/api/v2/notifications", post(bayeux::endpoint))
        // CometD clients append the message type (`/handshake`, `/connect` ...) to the URL.
        .route("/api/v2/notifications/", post(bayeux::endpoint))
        .route(
            "/api/v2/notifications/{*message_type}",
            post(bayeux::endpoint),
        )
        .route(
            "/api/v2/me/openmedia/{media_type}/{id}",
            get(http::get_open_media)
                .post(http::post_open_media)
                .put(http::post_open_media)
                .patch(http::post_open_media)
                .delete(http::post_open_media),
        )
        .route(
            "/api/v2/me/{collection}/{id}",
            get(http::get_interaction)
                .post(http::post_interaction)
                .put(http::post_interaction)
                .patch(http::post_interaction)
                .delete(http::post_interaction),
        );
    let app = if fixtures {
        app.route("/conformance/v1/interactions", post(http::create_fixture))
            .route(
                "/conformance/v1/interactions/{id}",
                delete(http::delete_fixture),
            )
    } else {
        app
    };
    app.layer(axum::middleware::from_fn_with_state(
        Arc::clone(&state),
        timed,
    ))
    .with_state(state)
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
