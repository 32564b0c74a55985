//! The customer side of a natively provisioned chat: `RequestChat` through the Customer Chat
//! API (`POST {customer_api}` with the `ContactCenterId` header and no agent credentials) and
//! the customer's `Disconnect` at the end.
//!
//! Correlation: the customer-side id the reply gives need not be the agent-side id, so each
//! request carries a nickname no other customer has (`gwsc-` and 64 random bits), and the chat
//! offered to the agent is the first new one on its stream, after the request, whose customer
//! participant has that nickname; only one chat request per agent is in flight at a time. The
//! agent's side (`Accept`, and the ending) is `native.rs`'s. This module judges nothing.

use super::native::Refused;
use super::target::CustomerChat;
use super::wire::WireLog;
use crate::observation::{Body, Reply};
use crate::util::error_chain;
use serde_json::{Map, Value, json};
use std::time::Duration;

/// A nickname no other customer has, for correlating the offered chat.
pub(super) fn fresh_nickname() -> String {
    let mut bytes = [0u8; 8];
    // Without OS randomness the clock still makes the nickname unlikely to repeat.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        bytes = nanos.to_le_bytes();
    }
    format!("gwsc-{}", u64::from_le_bytes(bytes))
}

/// Whether `message` offers a chat whose customer goes by `nickname`.
pub(super) fn offers_chat_of(message: &Value, nickname: &str) -> bool {
    message
        .get("data")
        .and_then(Value::as_object)
        .is_some_and(|data| {
            data.values().any(|v| {
                v.get("participants")
                    .and_then(Value::as_array)
                    .is_some_and(|ps| {
                        ps.iter()
                            .any(|p| p.get("nickname") == Some(&json!(nickname)))
                    })
            })
        })
}

/// Posts `body` to `url` as the customer and returns the reply's JSON, or why it failed.
async fn post(
    client: &reqwest::Client,
    chat: &CustomerChat,
    url: &str,
    body: &Value,
    timeout: Duration,
    wire: &WireLog,
) -> Result<Value, Refused> {
    let sent = body.to_string();
    let outcome = client
        .post(url)
        .timeout(timeout)
        .header("ContactCenterId", &chat.contact_center_id)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(sent.clone())
        .send()
        .await;
    let response = match outcome {
        Ok(r) => r,
        Err(e) => {
            let message = error_chain(&e);
            wire.record(
                "http",
                format!("POST {url}"),
                Some("customer"),
                None,
                Some(&sent),
                Some(&message),
            );
            return Err(Refused::NoReply(
                crate::observation::RequestError::Transport {
                    url: url.to_string(),
                    message,
                },
            ));
        }
    };
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    wire.record(
        "http",
        format!("POST {url}"),
        Some("customer"),
        Some(status),
        Some(&sent),
        Some(&crate::util::truncate(&text, 8 * 1024)),
    );
    let body = serde_json::from_str(&text).map_or(Body::Text(text), Body::Json);
    let reply = Reply { status, body };
    match super::native::refusal_of(&reply) {
        None => Ok(reply.body.json().cloned().unwrap_or(Value::Null)),
        Some(refused) => Err(refused),
    }
}

/// `RequestChat` as a customer going by `nickname`, with `user_data`; returns the customer-side
/// URL the chat is later disconnected at.
pub(super) async fn request(
    client: &reqwest::Client,
    chat: &CustomerChat,
    nickname: &str,
    user_data: &Map<String, Value>,
    timeout: Duration,
    wire: &WireLog,
) -> Result<String, Refused> {
    let mut body = json!({
        "operationName": "RequestChat",
        "nickname": nickname,
        "subject": "gws-conformance",
    });
    if !user_data.is_empty() {
        body["userData"] = Value::Object(user_data.clone());
    }
    let reply = post(client, chat, &chat.customer_api, &body, timeout, wire).await?;
    let id = reply.get("id").and_then(Value::as_str).unwrap_or_default();
    Ok(format!("{}/{id}", chat.customer_api.trim_end_matches('/')))
}

/// The customer's `Disconnect`; a chat already gone (404, statusCode 6) is fine.
pub(super) async fn disconnect(
    client: &reqwest::Client,
    chat: &CustomerChat,
    url: &str,
    timeout: Duration,
    wire: &WireLog,
) -> Result<(), Refused> {
    match post(
        client,
        chat,
        url,
        &json!({"operationName": "Disconnect"}),
        timeout,
        wire,
    )
    .await
    {
        Ok(_) => Ok(()),
        Err(Refused::Answer { status: 404, .. }) => Ok(()),
        Err(Refused::Answer {
            status_code: Some(code),
            ..
        }) if code == json!(6) => Ok(()),
        Err(other) => Err(other),
    }
}
