//! The Bayeux client against the reference server's CometD endpoint: handshake, acknowledged
//! subscription, delivery, re-handshake after the server forgets the client, disconnect.

use gws_conformance::bayeux::{BayeuxClient, BayeuxEvent};
use gws_conformance::server::{self, ServerConfig};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::json;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn client(base: &str, user: &str, password: &str) -> BayeuxClient {
    use base64::Engine;
    let mut headers = HeaderMap::new();
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Basic {token}")).unwrap(),
    );
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    BayeuxClient::new(
        http,
        format!("{base}/api/v2/notifications"),
        headers,
        Duration::from_secs(5),
    )
}

async fn next_message(rx: &mut mpsc::UnboundedReceiver<BayeuxEvent>) -> BayeuxEvent {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("an event before the deadline")
        .expect("the loop is running")
}

#[tokio::test]
async fn delivers_and_rehandshakes_after_unknown_client() {
    let server = server::start(ServerConfig {
        long_poll: Duration::from_secs(2),
        ..ServerConfig::default()
    })
    .await
    .unwrap();
    let bayeux = std::sync::Arc::new(client(&server.base_url, "agent1", "agent1-pass"));
    bayeux.handshake().await.expect("handshake");
    bayeux
        .subscribe("/v2/me/*")
        .await
        .expect("subscribe acknowledged");
    let first_id = bayeux.client_id().expect("a client id");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let task = tokio::spawn({
        let bayeux = bayeux.clone();
        let cancel = cancel.clone();
        async move { bayeux.run(tx, cancel).await }
    });

    server
        .state
        .publish("agent1", "/v2/me/calls", &json!({"n": 1}));
    match next_message(&mut rx).await {
        BayeuxEvent::Message(m) => {
            assert_eq!(m["channel"], "/v2/me/calls");
            assert_eq!(m["data"]["n"], 1);
        }
        other => panic!("expected a message, got {other:?}"),
    }

    // The server forgets every client: the next connect gets 402 and the client re-handshakes
    // and re-subscribes.
    server.state.lock().clients.clear();
    server
        .state
        .publish("agent1", "/v2/me/calls", &json!({"lost": true}));
    assert!(matches!(
        next_message(&mut rx).await,
        BayeuxEvent::Rehandshook
    ));
    assert_ne!(bayeux.client_id().as_deref(), Some(first_id.as_str()));
    server
        .state
        .publish("agent1", "/v2/me/chats", &json!({"n": 2}));
    match next_message(&mut rx).await {
        BayeuxEvent::Message(m) => assert_eq!(m["data"]["n"], 2),
        other => panic!("expected a message after re-handshake, got {other:?}"),
    }

    cancel.cancel();
    task.await.unwrap();
    bayeux.disconnect().await;
    assert!(bayeux.client_id().is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn one_agent_never_receives_another_agents_notifications() {
    let server = server::start(ServerConfig::default()).await.unwrap();
    let other = client(&server.base_url, "agent2", "agent2-pass");
    other.handshake().await.unwrap();
    other.subscribe("/**").await.unwrap();
    server
        .state
        .publish("agent1", "/v2/me/calls", &json!({"secret": 1}));
    // The first connect returns at once with whatever is queued for this client.
    let (events, refused) = other.connect_once().await.unwrap();
    assert!(refused.is_none());
    assert!(events.is_empty(), "agent2 received {events:?}");
    other.disconnect().await;
    server.shutdown().await;
}

#[tokio::test]
async fn wrong_credentials_fail_the_handshake() {
    let server = server::start(ServerConfig::default()).await.unwrap();
    let intruder = client(&server.base_url, "agent1", "not-the-password");
    let err = intruder.handshake().await.expect_err("refused");
    assert!(err.to_string().contains("HTTP 401"), "{err}");
    server.shutdown().await;
}
