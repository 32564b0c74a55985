//! The reference server's HTTP surface for the documented operations that begin and end
//! interactions and prepare an agent: `POST /api/v2/me` (contact-center session), `Ready` on
//! `/api/v2/me/channels/{channel}`, devices, `Dial`, `Create`, collection listings and queues.
//!
//! Also the Customer Chat API (`POST /api/v2/chats`, `POST /api/v2/chats/{id}`), which takes no
//! agent credentials and no CSRF token, only the `ContactCenterId` header.
//!
//! Handlers translate HTTP to the state's lifecycle calls and back; the meaning of each
//! operation lives in `state/lifecycle.rs` and `state/routing.rs`. After anything that can let
//! a waiting interaction be offered, they have the state route and publish the offers. `Hangup`, `Complete` and `Cancel` arrive on the
//! interaction URL and are dispatched by the interaction handler in `http.rs`.

use super::http::{
    AppState, Caller, admit, answer, authenticate, finish, json_response, publish_offers,
    query_values,
};
use super::media::{self, ServerMedia};
use super::state::OpResult;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde_json::json;

/// Admits a modifying request (credentials, CSRF, JSON body), applies `operation` to it and
/// answers with what it produced.
fn operate(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    body: &Bytes,
    operation: impl FnOnce(&Caller, &serde_json::Value) -> OpResult,
) -> Response {
    match admit(state, method, headers, body) {
        Ok((caller, parsed)) => {
            let outcome = operation(&caller, &parsed);
            answer(state, &caller, outcome)
        }
        Err(refused) => *refused,
    }
}

/// `POST /api/v2/me`: `StartContactCenterSession`, `EndContactCenterSession`.
pub async fn post_me(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    operate(&state, &method, &headers, &body, |caller, parsed| {
        state.session_operation(&caller.agent, &caller.session_id, parsed)
    })
}

/// `POST /api/v2/me/channels/{channel}`: `Ready`, `NotReady`.
pub async fn post_channel(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let response = operate(&state, &method, &headers, &body, |caller, parsed| {
        state.channel_operation(&caller.agent, &channel, parsed)
    });
    publish_offers(&state);
    response
}

fn contact_center_id(headers: &HeaderMap) -> Option<&str> {
    headers.get("ContactCenterId").and_then(|v| v.to_str().ok())
}

fn customer_body(body: &Bytes) -> serde_json::Value {
    serde_json::from_slice(body).unwrap_or(serde_json::Value::Null)
}

/// `POST /api/v2/chats`: `RequestChat` from the Customer Chat API.
pub async fn post_customer_chats(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (status, reply) = state.request_chat(contact_center_id(&headers), &customer_body(&body));
    publish_offers(&state);
    json_response(status, &reply)
}

/// `POST /api/v2/chats/{id}`: the customer's `Disconnect`.
pub async fn post_customer_chat(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ((status, reply), ended) =
        state.customer_operation(contact_center_id(&headers), &id, &customer_body(&body));
    if let Some((owner, channel, data)) = ended {
        state.publish(&owner, &channel, &data);
    }
    publish_offers(&state);
    json_response(status, &reply)
}

/// `GET /api/v2/me/devices`: URIs, or the devices with `fields=*`.
pub async fn get_devices(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let caller = match authenticate(&state, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let devices = state.devices(&caller.agent);
    let body = if wants_fields(query.as_deref()) {
        json!({"statusCode": 0, "devices": devices})
    } else {
        let uris: Vec<String> = devices
            .iter()
            .filter_map(|d| d["id"].as_str())
            .map(|id| format!("{}/api/v2/devices/{id}", state.base_url))
            .collect();
        json!({"statusCode": 0, "uris": uris})
    };
    finish(&state, &caller, json_response(200, &body))
}

/// `POST /api/v2/me/devices/{device}/calls`: `Dial`.
pub async fn post_device_calls(
    State(state): State<AppState>,
    Path(device): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    operate(&state, &method, &headers, &body, |caller, parsed| {
        state.dial(&caller.agent, &device, parsed)
    })
}

/// `GET /api/v2/me/{collection}` (and `openmedia/{type}`): the caller's interactions.
pub async fn get_collection(
    State(state): State<AppState>,
    Path(collection): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    list(
        &state,
        media::by_collection(&collection),
        None,
        query,
        &headers,
    )
}

pub async fn get_open_media_collection(
    State(state): State<AppState>,
    Path(media_type): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    list(
        &state,
        media::by_name("openmedia"),
        Some(&media_type),
        query,
        &headers,
    )
}

fn list(
    state: &AppState,
    media: Option<&'static ServerMedia>,
    open_media_type: Option<&str>,
    query: Option<String>,
    headers: &HeaderMap,
) -> Response {
    let caller = match authenticate(state, headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let response = match media.filter(|m| state.offers(m)) {
        Some(media) => json_response(
            200,
            &state.listing(
                &caller.agent,
                media,
                open_media_type,
                wants_fields(query.as_deref()),
            ),
        ),
        None => {
            let (status, body) = state.error_body(404, 6, "no such resource");
            json_response(status, &body)
        }
    };
    finish(state, &caller, response)
}

/// `POST /api/v2/me/{collection}` (and `openmedia/{type}`): `Create`.
pub async fn post_collection(
    State(state): State<AppState>,
    Path(collection): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    create(
        state,
        media::by_collection(&collection),
        "",
        method,
        headers,
        body,
    )
}

pub async fn post_open_media_collection(
    State(state): State<AppState>,
    Path(media_type): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    create(
        state,
        media::by_name("openmedia"),
        &media_type,
        method,
        headers,
        body,
    )
}

fn create(
    state: AppState,
    media: Option<&'static ServerMedia>,
    open_media_type: &str,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    operate(
        &state,
        &method,
        &headers,
        &body,
        |caller, parsed| match media.filter(|m| state.offers(m)) {
            Some(media) => state.create(&caller.agent, media, open_media_type, parsed),
            None => state.refusal(404, 6, "no such resource", &caller.agent),
        },
    )
}

/// `GET /api/v2/queues/{id}`: any queue id names a queue here; agents may read it.
pub async fn get_queue(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let caller = match authenticate(&state, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let body = json!({
        "statusCode": 0,
        "queue": {
            "id": id,
            "name": format!("Queue {id}"),
            "uri": format!("{}/api/v2/queues/{id}", state.base_url),
        }
    });
    finish(&state, &caller, json_response(200, &body))
}

fn wants_fields(query: Option<&str>) -> bool {
    query_values(query, "fields").iter().any(|f| f == "*")
}
