//! The Bayeux client against the reference server's CometD endpoint: handshake, acknowledged
//! subscription, delivery, re-handshake after the server forgets the client, disconnect; the
//! meta exchanges it records for the protocol checks; and the Bayeux defects, each caught by
//! the protocol scenarios alone.

use gws_conformance::bayeux::{BayeuxClient, BayeuxEvent, Recording};
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
        BayeuxEvent::Messages(m) => {
            assert_eq!(m.len(), 1, "{m:?}");
            assert_eq!(m[0]["channel"], "/v2/me/calls");
            assert_eq!(m[0]["data"]["n"], 1);
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
        BayeuxEvent::Messages(m) => assert_eq!(m[0]["data"]["n"], 2),
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

#[tokio::test]
async fn the_client_records_every_meta_exchange_of_its_life_cycle() {
    let server = server::start(ServerConfig::default()).await.unwrap();
    let probe = client(&server.base_url, "agent1", "agent1-pass").with_recording(Recording::All);
    probe.handshake().await.unwrap();
    probe.poll_now().await.unwrap();
    probe.subscribe("/v2/me/*").await.unwrap();
    server
        .state
        .publish("agent1", "/v2/me/calls", &json!({"n": 1}));
    let (events, _) = probe.poll_now().await.unwrap();
    assert_eq!(events.len(), 1);
    probe.unsubscribe("/v2/me/*").await.unwrap();
    probe.disconnect().await;
    let log = probe.meta_exchanges();
    let channels: Vec<&str> = log.iter().map(|e| e.channel()).collect();
    assert_eq!(
        channels,
        [
            "/meta/handshake",
            "/meta/connect",
            "/meta/subscribe",
            "/meta/connect",
            "/meta/unsubscribe",
            "/meta/disconnect"
        ]
    );
    for e in &log {
        let reply = e.reply().expect("a reply on the request's channel");
        assert_eq!(reply["id"], e.request["id"], "{reply}");
        let response = e.response.as_ref().unwrap();
        assert_eq!(response.content_type.as_deref(), Some("application/json"));
        assert!(response.array);
    }
    // The data message came with the second connect and is counted, not kept.
    let second = log[3].response.as_ref().unwrap();
    assert_eq!(second.data_messages, 1);
    assert_eq!(second.messages.as_ref().unwrap().len(), 1);
    // A long-lived client keeps only a sample: one connect, however many it makes.
    let stream = client(&server.base_url, "agent1", "agent1-pass");
    stream.handshake().await.unwrap();
    for _ in 0..3 {
        stream.poll_now().await.unwrap();
    }
    assert_eq!(stream.meta_exchanges().len(), 2);
    stream.disconnect().await;
    server.shutdown().await;
}

/// Each Bayeux defect against the whole suite (`mutants --json`): the MUST-breaking ones are
/// killed by the nine protocol scenarios and nothing else; the SHOULD-breaking one only makes
/// those nine warn.
#[test]
fn bayeux_defects_are_caught_by_the_protocol_scenarios_alone() {
    const MUST: &[&str] = &[
        "handshake-without-connection-types",
        "handshake-websocket-only",
        "connect-reply-without-id",
    ];
    const SHOULD: &str = "bayeux-text-plain";
    let mut args = vec!["mutants", "--json", "--parallel", "2"];
    for d in MUST.iter().chain([&SHOULD]) {
        args.extend(["--defect", d]);
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gws-conformance"))
        .args(&args)
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The warning-only defect survives, so the matrix is not perfect (exit 1).
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let matrix: serde_json::Value = serde_json::from_str(&stdout).expect("JSON matrix");
    let protocol = |id: &serde_json::Value| {
        id.as_str()
            .is_some_and(|s| s.ends_with("/UpdateUserData/bayeux-meta-replies"))
    };
    for d in matrix["defects"].as_array().unwrap() {
        let name = d["server"].as_str().unwrap();
        let killed_by = d["killed_by"].as_array().unwrap();
        let other = d["other"].as_array().unwrap();
        let not_applicable = |o: &serde_json::Value| o[1] == "not-applicable";
        if name == SHOULD {
            assert!(killed_by.is_empty(), "{name}: {killed_by:?}");
            let warned: Vec<_> = other.iter().filter(|o| !not_applicable(o)).collect();
            assert_eq!(warned.len(), 9, "{name}: {other:?}");
            assert!(
                warned.iter().all(|o| protocol(&o[0]) && o[1] == "warning"),
                "{name}: {other:?}"
            );
        } else {
            assert!(MUST.contains(&name), "{name}");
            assert_eq!(killed_by.len(), 9, "{name}: {killed_by:?}");
            assert!(killed_by.iter().all(protocol), "{name}: {killed_by:?}");
            assert!(other.iter().all(not_applicable), "{name}: {other:?}");
        }
    }
}
