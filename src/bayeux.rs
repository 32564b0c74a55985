//! A Bayeux (CometD) long-polling client over reqwest.
//!
//! It does handshake, subscribe (waiting for the acknowledgement), the `/meta/connect` loop
//! honouring `advice` (`reconnect`, `interval`, `timeout`), re-handshake and re-subscribe on
//! `402::Unknown client` or `reconnect: handshake`, and disconnect. Every request carries the
//! session's Basic credentials and cookies because it goes through the session's
//! `reqwest::Client`. Every wait has a deadline.
//!
//! It delivers raw messages on a channel and knows nothing about GWS, interactions or
//! scenarios; routing is the runner's job.

mod message;
mod meta;

pub use message::{Advice, BayeuxError, Reconnect, parse_replies, refusal, split_connect};
pub use meta::{MetaExchange, MetaResponse, Recording};
use meta::{MetaLog, RECORDED_EXCHANGES};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::util::{ReadError, error_chain, lock, read_capped, truncate};

/// Failed connects in a row (refusals) after which the connect loop closes.
const MAX_CONSECUTIVE_FAILURES: u32 = 3;
/// Connects in a row lost to transport faults after which the loop closes: with the back-off
/// of `pause`, about half a minute of an unreachable server.
const MAX_CONSECUTIVE_TRANSPORT_FAULTS: u32 = 16;

/// Something the connect loop reports.
#[derive(Debug, Clone)]
pub enum BayeuxEvent {
    /// The messages on non-meta channels that one answer carried, in order, never empty. One
    /// event per answer, so that a consumer files a batch at once and nobody waiting on the
    /// first sees it without the rest (a duplicate sent beside it, say).
    Messages(Vec<Value>),
    /// The client re-handshook (the server had forgotten it); messages may have been lost.
    Rehandshook,
    /// A `/meta/connect` got no reply because of a transport fault (the long poll was cut):
    /// what it carried may be lost. The loop reconnects.
    Interrupted(String),
    /// A `/meta/connect` was answered (after an interruption: the stream is back).
    Polled,
    /// The loop stopped for good, with the reason.
    Closed(String),
}

pub struct BayeuxClient {
    http: reqwest::Client,
    endpoint: String,
    headers: HeaderMap,
    request_timeout: Duration,
    client_id: Mutex<Option<String>>,
    advice: Mutex<Advice>,
    subscriptions: Mutex<Vec<String>>,
    next_id: AtomicU64,
    /// Data messages that arrived on handshake or subscribe replies, delivered by `run`.
    stray: Mutex<Vec<Value>>,
    /// Most bytes accepted in one reply, so a hostile server cannot exhaust memory.
    max_body: usize,
    /// The meta exchanges kept for the protocol checks.
    meta_log: Mutex<MetaLog>,
}

impl BayeuxClient {
    /// `headers` are sent on every request (Authorization, CSRF token).
    pub fn new(
        http: reqwest::Client,
        endpoint: String,
        headers: HeaderMap,
        request_timeout: Duration,
    ) -> Self {
        BayeuxClient {
            http,
            endpoint,
            headers,
            request_timeout,
            client_id: Mutex::new(None),
            advice: Mutex::new(Advice::default()),
            subscriptions: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            stray: Mutex::new(Vec::new()),
            max_body: 16 * 1024 * 1024,
            meta_log: Mutex::new(MetaLog {
                recording: Recording::Sample,
                exchanges: Vec::new(),
            }),
        }
    }

    /// Which meta exchanges this client keeps (default: [`Recording::Sample`]).
    pub fn with_recording(self, recording: Recording) -> Self {
        lock(&self.meta_log).recording = recording;
        self
    }

    /// The meta exchanges kept so far, in the order they were sent.
    pub fn meta_exchanges(&self) -> Vec<MetaExchange> {
        lock(&self.meta_log).exchanges.clone()
    }

    fn record(&self, exchange: MetaExchange) {
        let mut log = lock(&self.meta_log);
        if log.exchanges.len() >= RECORDED_EXCHANGES {
            return;
        }
        let keep = match log.recording {
            Recording::All => true,
            Recording::Sample => {
                !exchange.went_well()
                    || !log
                        .exchanges
                        .iter()
                        .any(|e| e.channel() == exchange.channel())
            }
        };
        if keep {
            log.exchanges.push(exchange);
        }
    }

    /// A new client on the same endpoint, HTTP client (and so cookies) and headers, with no
    /// client id of its own yet.
    pub fn sibling(&self) -> BayeuxClient {
        BayeuxClient::new(
            self.http.clone(),
            self.endpoint.clone(),
            self.headers.clone(),
            self.request_timeout,
        )
        .with_max_body(self.max_body)
    }

    /// Presents `client_id` from now on, as if this client had handshaken it.
    pub fn adopt(&self, client_id: String) {
        *lock(&self.client_id) = Some(client_id);
    }

    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    pub fn client_id(&self) -> Option<String> {
        lock(&self.client_id).clone()
    }

    pub fn advice(&self) -> Advice {
        lock(&self.advice).clone()
    }

    fn message(&self, channel: &str) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut m = json!({"channel": channel, "id": id.to_string()});
        if let Some(client_id) = self.client_id() {
            m["clientId"] = json!(client_id);
        }
        m
    }

    /// POSTs one message and returns the reply array; a meta message and its response are
    /// recorded (see [`Recording`]).
    async fn exchange(&self, message: Value, timeout: Duration) -> Result<Vec<Value>, BayeuxError> {
        let meta = message["channel"]
            .as_str()
            .is_some_and(|c| c.starts_with("/meta/"));
        let request = meta.then(|| message.clone());
        let (outcome, response) = self.post(message, timeout).await;
        if let Some(request) = request {
            self.record(MetaExchange { request, response });
        }
        outcome
    }

    async fn post(
        &self,
        message: Value,
        timeout: Duration,
    ) -> (
        Result<Vec<Value>, BayeuxError>,
        Result<MetaResponse, BayeuxError>,
    ) {
        let channel = message["channel"].as_str().unwrap_or("").to_string();
        let body = Value::Array(vec![message]);
        let request = self
            .http
            .post(&self.endpoint)
            .headers(self.headers.clone())
            .json(&body)
            .timeout(timeout);
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let err = if e.is_timeout() {
                    BayeuxError::Timeout(channel.clone())
                } else {
                    BayeuxError::Transport(error_chain(&e))
                };
                return (Err(err.clone()), Err(err));
            }
        };
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let bytes = match read_capped(response, self.max_body).await {
            Ok(b) => b,
            Err(e) => {
                let err = match e {
                    ReadError::Timeout => BayeuxError::Timeout(channel.clone()),
                    ReadError::TooLarge(m) => BayeuxError::Invalid(m),
                    ReadError::Other(m) => BayeuxError::Transport(m),
                };
                return (Err(err.clone()), Err(err));
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        let parsed = parse_replies(&text);
        let recorded = MetaResponse {
            status,
            content_type,
            messages: match &parsed {
                Ok(all) => Ok(all
                    .iter()
                    .filter(|m| {
                        m.get("channel")
                            .and_then(Value::as_str)
                            .is_none_or(|c| c.starts_with("/meta/"))
                    })
                    .cloned()
                    .collect()),
                Err(e) => Err(e.clone()),
            },
            array: text.trim_start().starts_with('['),
            data_messages: parsed.as_ref().map_or(0, |all| {
                all.iter()
                    .filter(|m| {
                        m.get("channel")
                            .and_then(Value::as_str)
                            .is_some_and(|c| !c.starts_with("/meta/"))
                    })
                    .count()
            }),
        };
        if status != 200 {
            let err = BayeuxError::HttpStatus {
                status,
                body: truncate(&text, 300),
            };
            return (Err(err), Ok(recorded));
        }
        (parsed, Ok(recorded))
    }

    fn take_advice(&self, reply: &Value) {
        let mut advice = lock(&self.advice);
        *advice = advice.updated(reply);
    }

    /// Finds the reply to a meta message and fails unless it is successful.
    fn meta_reply(&self, replies: &[Value], channel: &str) -> Result<Value, BayeuxError> {
        let reply = replies
            .iter()
            .find(|m| m.get("channel").and_then(Value::as_str) == Some(channel))
            .cloned()
            .ok_or_else(|| {
                BayeuxError::Invalid(format!(
                    "no {channel} reply in {}",
                    truncate(&Value::Array(replies.to_vec()).to_string(), 200)
                ))
            })?;
        self.take_advice(&reply);
        // Servers may piggyback data messages on any reply; keep them for the connect loop.
        let stray: Vec<Value> = replies
            .iter()
            .filter(|m| {
                m.get("channel")
                    .and_then(Value::as_str)
                    .is_some_and(|c| !c.starts_with("/meta/"))
            })
            .cloned()
            .collect();
        if !stray.is_empty() {
            lock(&self.stray).extend(stray);
        }
        match refusal(&reply, channel) {
            Some(e) => Err(e),
            None => Ok(reply),
        }
    }

    pub async fn handshake(&self) -> Result<(), BayeuxError> {
        *lock(&self.client_id) = None;
        let mut m = self.message("/meta/handshake");
        m["version"] = json!("1.0");
        m["minimumVersion"] = json!("1.0");
        m["supportedConnectionTypes"] = json!(["long-polling"]);
        m["advice"] = json!({"timeout": 60000, "interval": 0});
        let replies = self.exchange(m, self.request_timeout).await?;
        let reply = self.meta_reply(&replies, "/meta/handshake")?;
        let client_id = reply
            .get("clientId")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| BayeuxError::Invalid("handshake reply has no clientId".into()))?;
        *lock(&self.client_id) = Some(client_id.to_string());
        Ok(())
    }

    /// Subscribes and waits for the acknowledgement; the subscription is renewed after any
    /// re-handshake.
    pub async fn subscribe(&self, channel: &str) -> Result<(), BayeuxError> {
        self.subscribe_raw(channel).await?;
        let mut subs = lock(&self.subscriptions);
        if !subs.iter().any(|s| s == channel) {
            subs.push(channel.to_string());
        }
        Ok(())
    }

    async fn subscribe_raw(&self, channel: &str) -> Result<(), BayeuxError> {
        let mut m = self.message("/meta/subscribe");
        m["subscription"] = json!(channel);
        let replies = self.exchange(m, self.request_timeout).await?;
        self.meta_reply(&replies, "/meta/subscribe").map(|_| ())
    }

    /// Publishes `data` on `channel` and waits for the server's reply to it: `Err` when the
    /// server refused the publish (or did not answer it).
    pub async fn publish(&self, channel: &str, data: Value) -> Result<(), BayeuxError> {
        let mut m = self.message(channel);
        m["data"] = data;
        let replies = self.exchange(m, self.request_timeout).await?;
        self.meta_reply(&replies, channel).map(|_| ())
    }

    /// Unsubscribes and waits for the acknowledgement; the subscription is no longer renewed.
    pub async fn unsubscribe(&self, channel: &str) -> Result<(), BayeuxError> {
        lock(&self.subscriptions).retain(|s| s != channel);
        let mut m = self.message("/meta/unsubscribe");
        m["subscription"] = json!(channel);
        let replies = self.exchange(m, self.request_timeout).await?;
        self.meta_reply(&replies, "/meta/unsubscribe").map(|_| ())
    }

    async fn rehandshake(&self) -> Result<(), BayeuxError> {
        self.handshake().await?;
        let subs = lock(&self.subscriptions).clone();
        for s in subs {
            self.subscribe_raw(&s).await?;
        }
        Ok(())
    }

    /// One `/meta/connect`: the data messages it carried and, if the server refused the
    /// connect, why (messages that came with a refusal are still delivered).
    pub async fn connect_once(&self) -> Result<(Vec<Value>, Option<BayeuxError>), BayeuxError> {
        self.connect_with(None).await
    }

    /// One `/meta/connect` asking the server not to hold it (`advice.timeout: 0`, as CometD
    /// clients send after a lost connection): it returns what is queued now. A server that
    /// ignores the request holds it for its own timeout at most.
    pub async fn poll_now(&self) -> Result<(Vec<Value>, Option<BayeuxError>), BayeuxError> {
        self.connect_with(Some(json!({"timeout": 0}))).await
    }

    async fn connect_with(
        &self,
        advice: Option<Value>,
    ) -> Result<(Vec<Value>, Option<BayeuxError>), BayeuxError> {
        let mut m = self.message("/meta/connect");
        m["connectionType"] = json!("long-polling");
        if let Some(advice) = advice {
            m["advice"] = advice;
        }
        // The server may hold the poll for its advised timeout; allow that plus our own
        // request deadline before calling the server unresponsive.
        let timeout = self.advice().timeout + self.request_timeout;
        let replies = self.exchange(m, timeout).await?;
        let (events, reply) = split_connect(replies)?;
        self.take_advice(&reply);
        let refused = refusal(&reply, "/meta/connect");
        Ok((events, refused))
    }

    /// Runs the connect loop until cancelled or the server says stop. A connect lost to a
    /// transport fault (a cut long poll, a refused or reset connection, no reply in time) is
    /// reported as [`BayeuxEvent::Interrupted`] and retried with a growing back-off, never
    /// sooner than the advised interval (Bayeux 1.0 §3.6.1: `retry`); a refusal is retried a
    /// few times, re-handshaking (and re-subscribing) when the server forgot the client
    /// (`402`) or advises `handshake`. Either kind, too many in a row, closes the loop with
    /// the cause.
    pub async fn run(&self, sink: mpsc::UnboundedSender<BayeuxEvent>, cancel: CancellationToken) {
        let mut failures = 0;
        let mut transport_faults = 0;
        // Whether the stream was interrupted since it last polled: the next answered connect
        // says it is back.
        let mut interrupted = false;
        loop {
            let stray = std::mem::take(&mut *lock(&self.stray));
            if !stray.is_empty() && sink.send(BayeuxEvent::Messages(stray)).is_err() {
                return;
            }
            let outcome = tokio::select! {
                _ = cancel.cancelled() => return,
                r = self.connect_once() => r,
            };
            let outcome = match outcome {
                Ok((events, refused)) => {
                    if !events.is_empty() && sink.send(BayeuxEvent::Messages(events)).is_err() {
                        return;
                    }
                    if interrupted && refused.is_none() {
                        interrupted = false;
                        let _ = sink.send(BayeuxEvent::Polled);
                    }
                    refused.map_or(Ok(()), Err)
                }
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) if self.advice().reconnect == Reconnect::None => {
                    // Bayeux: the server ended the session; the client must not poll again.
                    let _ = sink.send(BayeuxEvent::Closed(
                        "server advised reconnect=none on a successful /meta/connect".into(),
                    ));
                    return;
                }
                Ok(()) => {
                    failures = 0;
                    transport_faults = 0;
                }
                Err(err) if err.is_transport() => {
                    interrupted = true;
                    if sink
                        .send(BayeuxEvent::Interrupted(err.to_string()))
                        .is_err()
                    {
                        return;
                    }
                    transport_faults += 1;
                    if transport_faults > MAX_CONSECUTIVE_TRANSPORT_FAULTS {
                        let _ = sink.send(BayeuxEvent::Closed(format!(
                            "gave up after {MAX_CONSECUTIVE_TRANSPORT_FAULTS} connects in a row lost to transport faults: {err}"
                        )));
                        return;
                    }
                    if !self.pause(transport_faults, &cancel).await {
                        return;
                    }
                    continue;
                }
                Err(err) => {
                    let unknown_client = matches!(&err, BayeuxError::Refused { error, .. } if error.starts_with("402"));
                    let advice = self.advice();
                    if advice.reconnect == Reconnect::None {
                        let _ = sink.send(BayeuxEvent::Closed(format!(
                            "server advised reconnect=none after: {err}"
                        )));
                        return;
                    }
                    failures += 1;
                    if failures > MAX_CONSECUTIVE_FAILURES {
                        let _ = sink.send(BayeuxEvent::Closed(format!(
                            "gave up after {MAX_CONSECUTIVE_FAILURES} failed connects: {err}"
                        )));
                        return;
                    }
                    if unknown_client || advice.reconnect == Reconnect::Handshake {
                        interrupted = true;
                        let go_on = self
                            .rehandshake_in_loop(
                                &sink,
                                &cancel,
                                &mut failures,
                                &mut transport_faults,
                            )
                            .await;
                        if !go_on {
                            return;
                        }
                    } else if !self.pause(failures, &cancel).await {
                        return;
                    }
                    continue;
                }
            }
            let interval = self.advice().interval;
            if !interval.is_zero() {
                // The server asked for this pause between polls (Bayeux `advice.interval`).
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(interval) => {}
                }
            }
        }
    }

    /// Handshakes again inside the connect loop (the server forgot the client, or advised
    /// `handshake`) and says whether the loop goes on. A transport fault on the way counts as
    /// one, not as a failed connect: the server may be restarting.
    async fn rehandshake_in_loop(
        &self,
        sink: &mpsc::UnboundedSender<BayeuxEvent>,
        cancel: &CancellationToken,
        failures: &mut u32,
        transport_faults: &mut u32,
    ) -> bool {
        let rehandshake = tokio::select! {
            _ = cancel.cancelled() => return false,
            r = self.rehandshake() => r,
        };
        match rehandshake {
            Ok(()) => {
                let _ = sink.send(BayeuxEvent::Rehandshook);
                lock(&self.advice).reconnect = Reconnect::Retry;
            }
            // The server is not back yet (a restart): the next connect, still
            // unknown, leads here again after the back-off.
            Err(e) if e.is_transport() => {
                let _ = sink.send(BayeuxEvent::Interrupted(e.to_string()));
                *transport_faults += 1;
                *failures -= 1;
                if *transport_faults > MAX_CONSECUTIVE_TRANSPORT_FAULTS {
                    let _ = sink.send(BayeuxEvent::Closed(format!("re-handshake failed: {e}")));
                    return false;
                }
                if !self.pause(*transport_faults, cancel).await {
                    return false;
                }
            }
            Err(e) => {
                let _ = sink.send(BayeuxEvent::Closed(format!("re-handshake failed: {e}")));
                return false;
            }
        }
        true
    }

    /// The back-off before the `attempt`-th retry in a row: growing, capped at two seconds,
    /// never sooner than the server's advised interval. False when cancelled meanwhile.
    async fn pause(&self, attempt: u32, cancel: &CancellationToken) -> bool {
        let growing = Duration::from_millis(50 << attempt.min(6)).min(Duration::from_secs(2));
        let pause = growing.max(self.advice().interval);
        tokio::select! {
            _ = cancel.cancelled() => false,
            _ = tokio::time::sleep(pause) => true,
        }
    }

    /// Sends `/meta/disconnect`; failures are ignored because the session is ending anyway.
    pub async fn disconnect(&self) {
        if self.client_id().is_none() {
            return;
        }
        let m = self.message("/meta/disconnect");
        let _ = self.exchange(m, self.request_timeout).await;
        *lock(&self.client_id) = None;
    }
}
