//! HTTP surface of the reference server: authentication, sessions, CSRF, the GWS REST
//! resources the suite touches, and the fixture contract.
//!
//! Handlers translate HTTP to [`ServerState`] calls and back; they hold no user-data logic.

use super::defect::Defect;
use super::media::{self, ServerMedia};
use super::state::{Interaction, Lifecycle, OpResult, ServerState, Session};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Instant;

pub type AppState = Arc<ServerState>;

/// The authenticated caller of a request.
pub struct Caller {
    pub agent: String,
    pub session_id: String,
    pub csrf_token: String,
    /// Set when this request created the session, so the response sets the cookie.
    pub new_session: bool,
}

pub fn json_response(status: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

pub(super) fn decode_basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|cookies| {
            cookies
                .split(';')
                .find_map(|c| c.trim().strip_prefix("JSESSIONID=").map(str::to_string))
        })
}

/// Authenticates with the session cookie or Basic credentials. Wrong Basic credentials are
/// refused even when a valid cookie is present, as a servlet container would.
pub fn authenticate(state: &ServerState, headers: &HeaderMap) -> Result<Caller, Box<Response>> {
    let unauthorized = || {
        let (status, body) = state.error_body(401, 20, "User is not authenticated");
        let mut r = json_response(status, &body);
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"gws\""),
        );
        r
    };
    let basic = decode_basic(headers);
    if let Some((user, pass)) = &basic {
        let ok = state.is_agent(user, pass);
        if !ok && !state.defect(Defect::NoAuth) {
            return Err(Box::new(unauthorized()));
        }
    }
    if let Some(sid) = session_cookie(headers) {
        let inner = state.lock();
        let adopted =
            !inner.sessions.contains_key(&sid) && state.defect(Defect::ForgedSessionAdopted);
        if adopted
            && let Some(first) = state.config.agents.first()
            && let Some((id, session)) = inner.sessions.iter().find(|(_, s)| s.agent == first.0)
        {
            return Ok(Caller {
                agent: session.agent.clone(),
                session_id: id.clone(),
                csrf_token: session.csrf_token.clone(),
                new_session: false,
            });
        }
        if let Some(session) = inner.sessions.get(&sid) {
            let same_user = basic.as_ref().is_none_or(|(u, _)| *u == session.agent)
                || state.defect(Defect::CookieOverridesBasic);
            if same_user {
                return Ok(Caller {
                    agent: session.agent.clone(),
                    session_id: sid,
                    csrf_token: session.csrf_token.clone(),
                    new_session: false,
                });
            }
        }
    }
    let agent = match basic {
        Some((user, _)) => user,
        None if state.defect(Defect::NoAuth) => state
            .config
            .agents
            .first()
            .map(|(u, _)| u.clone())
            .unwrap_or_default(),
        None => return Err(Box::new(unauthorized())),
    };
    // Session fixation: the id the client chose, instead of one the server makes up.
    let chosen = session_cookie(headers).filter(|_| state.defect(Defect::SessionIdFromClient));
    let session_id = chosen.unwrap_or_else(ServerState::random_id);
    let csrf_token = ServerState::random_id();
    state.lock().sessions.insert(
        session_id.clone(),
        Session {
            agent: agent.clone(),
            csrf_token: csrf_token.clone(),
        },
    );
    Ok(Caller {
        agent,
        session_id,
        csrf_token,
        new_session: true,
    })
}

/// Adds the session cookie (for new sessions) and the CSRF announcement headers.
pub fn finish(state: &ServerState, caller: &Caller, mut response: Response) -> Response {
    let headers = response.headers_mut();
    if caller.new_session
        && let Ok(v) = HeaderValue::from_str(&format!(
            "JSESSIONID={}; Path=/; HttpOnly",
            caller.session_id
        ))
    {
        headers.append(header::SET_COOKIE, v);
    }
    if state.config.csrf {
        headers.insert("X-CSRF-HEADER", HeaderValue::from_static("X-CSRF-TOKEN"));
        if let Ok(v) = HeaderValue::from_str(&caller.csrf_token) {
            headers.insert("X-CSRF-TOKEN", v);
        }
    }
    response
}

/// Checks the CSRF token on a modifying request when protection is on.
fn csrf_ok(state: &ServerState, caller: &Caller, method: &Method, headers: &HeaderMap) -> bool {
    if !state.config.csrf || *method == Method::GET {
        return true;
    }
    let sent = headers.get("X-CSRF-TOKEN").and_then(|v| v.to_str().ok());
    if state.defect(Defect::CsrfTokenUnbound) {
        return !caller.new_session
            && sent.is_some_and(|t| state.lock().sessions.values().any(|s| s.csrf_token == t));
    }
    // A token only exists once the session does, so a request that creates the session
    // cannot carry it: that is the documented 403 for clients without a cookie store.
    !caller.new_session && sent == Some(caller.csrf_token.as_str())
}

fn csrf_rejected() -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/plain")],
        "Missing or invalid Csrf token",
    )
        .into_response()
}

pub async fn get_me(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let caller = match authenticate(&state, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let mut body = json!({
        "statusCode": 0,
        "user": {
            "id": format!("{:x}", caller.agent.len() * 7919),
            "userName": caller.agent,
            "roles": ["ROLE_AGENT"],
            "enabled": true,
            "uri": format!("{}/api/v2/me", state.base_url),
            "path": "/me",
        }
    });
    let asked = query_values(query.as_deref(), "subresources");
    if asked.iter().any(|s| s == "*" || s == "devices") {
        body["user"]["devices"] = Value::Array(state.devices(&caller.agent));
    }
    finish(&state, &caller, json_response(200, &body))
}

pub async fn get_features(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let caller = match authenticate(&state, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let mut features: Vec<&str> = media::MEDIA
        .iter()
        .filter(|m| state.offers(m))
        .map(|m| m.feature)
        .collect();
    features.sort_unstable();
    features.dedup();
    let list: Vec<Value> = features.iter().map(|f| json!({"id": f})).collect();
    finish(
        &state,
        &caller,
        json_response(200, &json!({"statusCode": 0, "features": list})),
    )
}

/// The comma-separated values of query parameter `name` (`subresources=devices,features`).
pub(super) fn query_values(query: Option<&str>, name: &str) -> Vec<String> {
    query
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(k, _)| *k == name)
        .flat_map(|(_, v)| v.split(',').map(|s| s.replace("%2A", "*")))
        .collect()
}

fn lookup(collection: &str) -> Option<&'static ServerMedia> {
    media::by_collection(collection)
}

pub async fn get_interaction(
    State(state): State<AppState>,
    Path((collection, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    get_resource(&state, lookup(&collection), &id, &headers)
}

pub async fn get_open_media(
    State(state): State<AppState>,
    Path((_media_type, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    get_resource(&state, media::by_name("openmedia"), &id, &headers)
}

fn get_resource(
    state: &ServerState,
    media: Option<&'static ServerMedia>,
    id: &str,
    headers: &HeaderMap,
) -> Response {
    let caller = match authenticate(state, headers) {
        Ok(c) => c,
        Err(_) if state.defect(Defect::RefusalCarriesInteraction) => {
            return refusal_with_interaction(state, media, id);
        }
        Err(r) => return *r,
    };
    let found = media.and_then(|media| {
        let inner = state.lock();
        let interaction = inner.interactions.get(id)?;
        (state.serves_under(interaction, media) && state.can_access(interaction, &caller.agent))
            .then(|| (media.resource_key, state.render(interaction, id, true)))
    });
    let response = match found {
        Some((key, resource)) => json_response(200, &json!({"statusCode": 0, key: resource})),
        None => {
            let (status, body) =
                state.error_body(404, 6, &format!("interaction {id} does not exist"));
            json_response(status, &body)
        }
    };
    finish(state, &caller, response)
}

/// The `refusal-carries-interaction` defect: the status says 401, but the body was rendered
/// before the refusal was decided, as a filter that sets the status too late would do.
fn refusal_with_interaction(
    state: &ServerState,
    media: Option<&'static ServerMedia>,
    id: &str,
) -> Response {
    let (status, mut body) = state.error_body(401, 20, "User is not authenticated");
    if let Some(media) = media {
        let inner = state.lock();
        if let Some(interaction) = inner.interactions.get(id) {
            body[media.resource_key] = state.render(interaction, id, true);
        }
    }
    json_response(status, &body)
}

pub async fn post_interaction(
    State(state): State<AppState>,
    Path((collection, id)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post_operation(state, lookup(&collection), id, method, headers, body).await
}

pub async fn post_open_media(
    State(state): State<AppState>,
    Path((_media_type, id)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post_operation(
        state,
        media::by_name("openmedia"),
        id,
        method,
        headers,
        body,
    )
    .await
}

/// PUT, PATCH and DELETE on an interaction: the API posts operations and never uses these
/// methods, so they are not allowed, unless the `any-method-as-post` defect serves them as
/// POST (a request mapping that names no method).
fn not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::ALLOW, "GET, POST")],
    )
        .into_response()
}

async fn post_operation(
    state: AppState,
    media: Option<&'static ServerMedia>,
    id: String,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != Method::POST && !state.defect(Defect::AnyMethodAsPost) {
        return not_allowed();
    }
    let (caller, parsed) = match admit(&state, &method, &headers, &body) {
        Ok(admitted) => admitted,
        Err(refused) => return *refused,
    };
    let Some(media) = media else {
        let (status, body) = state.error_body(404, 6, "no such resource");
        return finish(&state, &caller, json_response(status, &body));
    };
    let operation_name = parsed.get("operationName").and_then(Value::as_str);
    if let Some(operation) = operation_name.and_then(Lifecycle::parse) {
        state.repeat_on_release(&id);
        let outcome = state.end(&caller.agent, media, &id, operation);
        let response = answer(&state, &caller, outcome);
        publish_offers(&state);
        return response;
    }
    if let Some(accept) = operation_name.and_then(|o| match o {
        "Accept" => Some(true),
        "Reject" => Some(false),
        _ => None,
    }) {
        let outcome = state.answer_offer(&caller.agent, media, &id, accept);
        let response = answer(&state, &caller, outcome);
        publish_offers(&state);
        return response;
    }
    if state.defect(Defect::FlakyFirstAttach)
        && parsed.get("operationName").and_then(Value::as_str) == Some("AttachUserData")
        && state.first_attach(media, &parsed)
    {
        let (status, body) =
            state.error_body(503, 1, "the service is temporarily unavailable; try again");
        return finish(&state, &caller, json_response(status, &body));
    }
    if state.defect(Defect::LostConcurrentUpdate)
        && let Some(stale) = state.user_data_of(&id)
    {
        // Read, wait, write back, then apply: an operation that lands meanwhile is lost.
        tokio::time::sleep(state.config.race_window).await;
        state.write_back_user_data(&id, stale);
    }
    let outcome = state.apply_operation(&caller.agent, media, &id, &parsed);
    if let Some((channel, data)) = outcome.notification {
        if state.defect(Defect::RepeatOnRelease) {
            state.lock().last_published.insert(
                id.clone(),
                (outcome.owner.clone(), channel.clone(), data.clone()),
            );
        }
        if state.defect(Defect::LateNotification) {
            let state = Arc::clone(&state);
            let delay = state.config.late_delay;
            let owner = outcome.owner.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                state.publish(&owner, &channel, &data);
            });
        } else {
            state.publish(&outcome.owner, &channel, &data);
        }
    }
    finish(&state, &caller, json_response(outcome.http, &outcome.body))
}

/// Authenticates a modifying request, checks its CSRF token and parses its JSON body; a
/// refusal is the finished response.
pub(super) fn admit(
    state: &ServerState,
    method: &Method,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Caller, Value), Box<Response>> {
    let caller = authenticate(state, headers)?;
    if !csrf_ok(state, &caller, method, headers) && !state.defect(Defect::NoAuth) {
        return Err(Box::new(finish(state, &caller, csrf_rejected())));
    }
    match serde_json::from_slice(body) {
        Ok(parsed) => Ok((caller, parsed)),
        Err(e) => {
            let (status, body) =
                state.error_body(400, 1, &format!("the request body is not valid JSON: {e}"));
            Err(Box::new(finish(
                state,
                &caller,
                json_response(status, &body),
            )))
        }
    }
}

/// Publishes what an operation announces and answers it.
pub(super) fn answer(state: &ServerState, caller: &Caller, outcome: OpResult) -> Response {
    if let Some((channel, data)) = &outcome.notification {
        state.publish(&outcome.owner, channel, data);
    }
    finish(state, caller, json_response(outcome.http, &outcome.body))
}

/// `POST /conformance/v1/interactions`: creates an interaction owned by the caller.
pub async fn create_fixture(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = match authenticate(&state, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return json_response(400, &json!({"error": format!("the body is not JSON: {e}")}));
        }
    };
    let Some(name) = request.get("media").and_then(Value::as_str) else {
        return json_response(400, &json!({"error": "`media` (a string) is required"}));
    };
    let Some(media) = media::by_name(name) else {
        return json_response(400, &json!({"error": format!("unknown media `{name}`")}));
    };
    if !state.offers(media) {
        return json_response(
            404,
            &json!({"error": format!("media `{name}` is not offered by this server")}),
        );
    }
    let user_data: Map<String, Value> = match request.get("userData") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return json_response(400, &json!({"error": "`userData` must be an object"})),
    };
    let open_media_type = request
        .get("mediaType")
        .and_then(Value::as_str)
        .unwrap_or("promotion")
        .to_string();
    let id = {
        let mut inner = state.lock();
        let id = media.new_id(ServerState::next_serial(&mut inner));
        inner.interactions.insert(
            id.clone(),
            Interaction {
                owner: caller.agent.clone(),
                media,
                open_media_type: open_media_type.clone(),
                previous_user_data: user_data.clone(),
                user_data,
                state_override: None,
                created: Instant::now(),
                origin: super::state::Origin::Fixture,
            },
        );
        id
    };
    let path = media.api_path(&open_media_type, &id);
    finish(
        &state,
        &caller,
        json_response(201, &json!({"id": id, "path": path})),
    )
}

/// `DELETE /conformance/v1/interactions/{id}`: removes the caller's interaction.
pub async fn delete_fixture(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let caller = match authenticate(&state, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let owns = state
        .lock()
        .interactions
        .get(&id)
        .is_some_and(|i| i.owner == caller.agent);
    if owns {
        state.repeat_on_release(&id);
    }
    if owns
        && state.config.notify_on_cleanup
        && let Some((owner, channel, data)) = state.completion_notification(&id)
    {
        state.publish(&owner, &channel, &data);
    }
    let removed = {
        let mut inner = state.lock();
        match inner.interactions.get(&id) {
            Some(i) if i.owner == caller.agent => inner.interactions.remove(&id).is_some(),
            _ => false,
        }
    };
    let response = if removed {
        StatusCode::NO_CONTENT.into_response()
    } else {
        json_response(404, &json!({"error": "no such interaction"}))
    };
    finish(&state, &caller, response)
}

/// Offers what waits to whoever can take it now, and publishes the offers.
pub(super) fn publish_offers(state: &AppState) {
    for (owner, channel, data) in state.route() {
        state.publish(&owner, &channel, &data);
    }
}
