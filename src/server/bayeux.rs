//! The reference server's Bayeux (CometD) endpoint: long-polling at `/api/v2/notifications`.
//!
//! Implements what GWS clients use: handshake, subscribe/unsubscribe, the `/meta/connect`
//! long poll with `advice`, disconnect, and `402::Unknown client` for stale client ids. Each
//! client belongs to the agent that handshook, and only that agent's notifications reach it.
//! Publishing from clients is refused: GWS channels are server-to-client only.

use super::defect::Defect;
use super::http::{AppState, Caller, authenticate, decode_basic, finish, json_response};
use super::state::{ConnectedClient, ServerState};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::Notify;

pub async fn endpoint(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let caller = match authenticate(&state, &headers) {
        Ok(c) => c,
        Err(refusal) => match defective_caller(&state, &headers) {
            Some(caller) => caller,
            None => return *refusal,
        },
    };
    let messages: Vec<Value> = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(items)) => items,
        Ok(obj @ Value::Object(_)) => vec![obj],
        _ => {
            let reply = json!([{"successful": false, "error": "400::message is not a JSON object or array"}]);
            return finish(&state, &caller, json_response(400, &reply));
        }
    };
    // A handshake must be processed alone: other messages in its batch are ignored.
    let messages = match messages
        .iter()
        .find(|m| m.get("channel").and_then(Value::as_str) == Some("/meta/handshake"))
    {
        Some(handshake) => vec![handshake.clone()],
        None => messages,
    };
    touch(&state, &caller.agent, &messages);
    let mut replies = Vec::new();
    for message in messages {
        let channel = message
            .get("channel")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let reply = match channel.as_str() {
            "/meta/handshake" => handshake(&state, &caller.agent, &message),
            "/meta/connect" => {
                let (events, reply) = connect(&state, &caller.agent, &message).await;
                replies.extend(events);
                reply
            }
            "/meta/subscribe" => subscribe(&state, &caller.agent, &message, true),
            "/meta/unsubscribe" => subscribe(&state, &caller.agent, &message, false),
            "/meta/disconnect" => disconnect(&state, &caller.agent, &message),
            "" => error_reply(&message, "", "400::channel missing"),
            other if state.defect(Defect::ClientPublishDelivered) => {
                deliver_to_everyone(&state, other, &message)
            }
            other => error_reply(&message, other, "403::Publish denied"),
        };
        replies.push(reply);
    }
    let mut response = json_response(200, &Value::Array(replies));
    if state.defect(Defect::BayeuxTextPlain) {
        response.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("text/plain;charset=UTF-8"),
        );
    }
    finish(&state, &caller, response)
}

/// Whom the endpoint serves a request the authentication refused, under the defects that
/// make it lax: an anonymous request as the first agent, or a known user name whatever its
/// password. `None` means the refusal stands.
fn defective_caller(state: &ServerState, headers: &HeaderMap) -> Option<Caller> {
    let anonymous = !headers.contains_key(axum::http::header::AUTHORIZATION)
        && !headers.contains_key(axum::http::header::COOKIE);
    let agent = if anonymous && state.defect(Defect::AnonymousHandshake) {
        state.config.agents.first()?.0.clone()
    } else if state.defect(Defect::BayeuxIgnoresPassword) {
        let (user, _) = decode_basic(headers)?;
        state
            .config
            .agents
            .iter()
            .find(|(u, _)| *u == user)?
            .0
            .clone()
    } else {
        return None;
    };
    Some(Caller {
        agent,
        session_id: String::new(),
        csrf_token: String::new(),
        new_session: false,
    })
}

/// The `client-publish-delivered` defect: a client's publish goes to every agent's clients
/// subscribed to the channel, and is acknowledged.
fn deliver_to_everyone(state: &ServerState, channel: &str, message: &Value) -> Value {
    let data = message.get("data").cloned().unwrap_or(Value::Null);
    for (agent, _) in &state.config.agents {
        state.publish(agent, channel, &data);
    }
    base_reply(message, channel)
}

fn base_reply(message: &Value, channel: &str) -> Value {
    let mut reply = json!({"channel": channel});
    if let Some(id) = message.get("id") {
        reply["id"] = id.clone();
    }
    if let Some(client_id) = message.get("clientId") {
        reply["clientId"] = client_id.clone();
    }
    reply
}

fn error_reply(message: &Value, channel: &str, error: &str) -> Value {
    let mut reply = base_reply(message, channel);
    reply["successful"] = json!(false);
    reply["error"] = json!(error);
    reply
}

fn advice(state: &ServerState) -> Value {
    json!({"reconnect": "retry", "interval": 0, "timeout": state.config.long_poll.as_millis() as u64})
}

fn unknown_client(message: &Value, channel: &str) -> Value {
    let mut reply = error_reply(message, channel, "402::Unknown client");
    reply["advice"] = json!({"reconnect": "handshake", "interval": 0});
    reply
}

fn handshake(state: &ServerState, agent: &str, message: &Value) -> Value {
    let offers_long_polling = message
        .get("supportedConnectionTypes")
        .and_then(Value::as_array)
        .is_none_or(|types| types.iter().any(|t| t == "long-polling"));
    if !offers_long_polling {
        let mut reply = error_reply(
            message,
            "/meta/handshake",
            "406::long-polling is the only supported connection type",
        );
        reply["supportedConnectionTypes"] = json!(["long-polling"]);
        return reply;
    }
    let client_id = {
        let mut inner = state.lock();
        expire_idle_clients(state, &mut inner);
        let id = ServerState::random_id();
        inner.clients.insert(
            id.clone(),
            ConnectedClient {
                agent: agent.to_string(),
                subscriptions: Vec::new(),
                queue: VecDeque::new(),
                wake: Arc::new(Notify::new()),
                connect_generation: 0,
                disconnected: false,
                polling: false,
                last_seen: std::time::Instant::now(),
            },
        );
        id
    };
    let mut reply = base_reply(message, "/meta/handshake");
    reply["clientId"] = json!(client_id);
    reply["version"] = json!("1.0");
    if state.defect(Defect::HandshakeWebsocketOnly) {
        reply["supportedConnectionTypes"] = json!(["websocket"]);
    } else if !state.defect(Defect::HandshakeWithoutConnectionTypes) {
        reply["supportedConnectionTypes"] = json!(["long-polling"]);
    }
    reply["successful"] = json!(true);
    reply["advice"] = advice(state);
    reply
}

fn set_polling(state: &ServerState, id: &str, polling: bool) {
    if let Some(client) = state.lock().clients.get_mut(id) {
        client.polling = polling;
        client.last_seen = std::time::Instant::now();
    }
}

/// Marks the clients named in a request as alive.
fn touch(state: &ServerState, agent: &str, messages: &[Value]) {
    let mut inner = state.lock();
    for m in messages {
        if let Some(client) = inner
            .clients
            .get_mut(client_id(m))
            .filter(|c| c.agent == agent)
        {
            client.last_seen = std::time::Instant::now();
        }
    }
}

/// Forgets clients that stopped polling: neither holding a connect nor heard from for longer
/// than a long poll plus a grace period (what CometD calls `maxInterval`).
fn expire_idle_clients(state: &ServerState, inner: &mut super::state::Tables) {
    let limit = state.config.long_poll + std::time::Duration::from_secs(10);
    inner
        .clients
        .retain(|c| c.polling || c.last_seen.elapsed() < limit);
}

fn client_id(message: &Value) -> &str {
    message
        .get("clientId")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn subscribe(state: &ServerState, agent: &str, message: &Value, add: bool) -> Value {
    let channel = if add {
        "/meta/subscribe"
    } else {
        "/meta/unsubscribe"
    };
    let subscriptions: Vec<String> = match message.get("subscription") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => return error_reply(message, channel, "403::subscription missing"),
    };
    if subscriptions.iter().any(|s| !s.starts_with('/')) {
        return error_reply(message, channel, "400::invalid channel");
    }
    let mut inner = state.lock();
    let Some(client) = inner
        .clients
        .get_mut(client_id(message))
        .filter(|c| c.agent == agent && !c.disconnected)
    else {
        return unknown_client(message, channel);
    };
    for s in &subscriptions {
        if add {
            if !client.subscriptions.contains(s) {
                client.subscriptions.push(s.clone());
            }
        } else {
            client.subscriptions.retain(|x| x != s);
        }
    }
    let mut reply = base_reply(message, channel);
    reply["successful"] = json!(true);
    reply["subscription"] = message.get("subscription").cloned().unwrap_or(Value::Null);
    reply
}

fn disconnect(state: &ServerState, agent: &str, message: &Value) -> Value {
    let mut inner = state.lock();
    let id = client_id(message).to_string();
    match inner.clients.get(&id) {
        Some(c) if c.agent == agent => {
            if let Some(client) = inner.clients.remove(&id) {
                // Wake a pending long poll so it returns now instead of at its timeout.
                client.wake.notify_one();
            }
            let mut reply = base_reply(message, "/meta/disconnect");
            reply["successful"] = json!(true);
            reply
        }
        _ => unknown_client(message, "/meta/disconnect"),
    }
}

/// Holds the poll open until something is queued, the client is superseded or removed, or
/// the advised timeout passes; returns the queued events and the connect reply.
async fn connect(state: &ServerState, agent: &str, message: &Value) -> (Vec<Value>, Value) {
    let id = client_id(message).to_string();
    let first_connect;
    let (wake, generation) = {
        let mut inner = state.lock();
        let unbound = state.defect(Defect::ClientIdNotBound);
        let Some(client) = inner
            .clients
            .get_mut(&id)
            .filter(|c| (unbound || c.agent == agent) && !c.disconnected)
        else {
            return (Vec::new(), unknown_client(message, "/meta/connect"));
        };
        first_connect = client.connect_generation == 0;
        client.connect_generation += 1;
        // A superseded poll is waiting on the same Notify; wake it so it returns.
        client.wake.notify_waiters();
        (Arc::clone(&client.wake), client.connect_generation)
    };
    // A client may ask for a shorter hold (CometD sends `timeout: 0` after a lost connection).
    let hold = message
        .get("advice")
        .and_then(|a| a.get("timeout"))
        .and_then(Value::as_u64)
        .map_or(state.config.long_poll, |ms| {
            state
                .config
                .long_poll
                .min(std::time::Duration::from_millis(ms))
        });
    let deadline = tokio::time::Instant::now() + hold;
    set_polling(state, &id, true);
    let mut events = Vec::new();
    loop {
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let mut inner = state.lock();
            let Some(client) = inner.clients.get_mut(&id) else {
                return (events, unknown_client(message, "/meta/connect"));
            };
            events.extend(client.queue.drain(..));
            if !events.is_empty() || first_connect || client.connect_generation != generation {
                break;
            }
        }
        let waiting = tokio::time::Instant::now();
        let timed_out = tokio::time::timeout_at(deadline, notified).await.is_err();
        state.stats.waiting_nanos.fetch_add(
            waiting.elapsed().as_nanos() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        if timed_out {
            break;
        }
    }
    set_polling(state, &id, false);
    let mut reply = base_reply(message, "/meta/connect");
    if state.defect(Defect::ConnectReplyWithoutId)
        && let Some(fields) = reply.as_object_mut()
    {
        fields.remove("id");
    }
    reply["successful"] = json!(true);
    reply["advice"] = advice(state);
    (events, reply)
}
