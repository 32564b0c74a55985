//! The server's routes: every GWS path it serves, the fixture contract's when it is on, and
//! the timing layer behind `bench`. Handlers live in `http.rs`, `native.rs` and `bayeux.rs`.

use super::{bayeux, http, native, state};
use axum::Router;
use axum::routing::{delete, get, post};
use std::sync::Arc;

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

/// The routes over `state`.
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
