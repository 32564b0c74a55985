//! The hostile server kit: the embedded reference server with, in front of it, a "hostile
//! proxy" — an axum server on `127.0.0.1:0` that forwards every request to the reference server
//! and misbehaves in exactly one switchable way ([`Mode`]) over HTTP, the fixture contract or
//! Bayeux. Both run on a tokio runtime owned by [`Hostile`], which keeps serving while a test
//! runs the binary as a child process; the proxy counts what it did so that a test can prove
//! the misbehaviour really happened.
//!
//! It judges nothing and never starts the binary: running `gws-conformance` against it and the
//! assertions are `tests/hostile.rs`'s. The only timers are the misbehaviours' own (the trickled
//! body, and a short pause before a reset so that the first bytes are really on the wire).

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use gws_conformance::server::{self, RunningServer, ServerConfig};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// The `userData` key the runner's barrier operations write (`run::router::BARRIER_KEY`).
const BARRIER_KEY: &str = "gws-conformance-barrier";

/// The one way the proxy misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forwards everything faithfully (the control).
    Transparent,
    /// The operation POST: the connection is accepted and nothing is ever sent.
    HangOperation,
    /// `advice.timeout` is 1000 ms in the handshake reply and in the reply to each client's first
    /// `/meta/connect` (answered at once); every later `/meta/connect` hangs.
    HangLongPoll,
    /// The operation reply: headers and a few bytes of body, then the connection drops.
    ResetMidBody,
    /// The operation reply: HTTP 200 with a body that is not JSON.
    NotJson,
    /// The operation reply: an HTML 502 from a "gateway".
    Html502,
    /// The operation reply: 50 MB of body, streamed in chunks, no Content-Length.
    HugeBody,
    /// The operation reply: one byte per second.
    Trickle,
    /// `402::Unknown client` on every `/meta/connect`.
    UnknownClient,
    /// Each client's first `/meta/connect` is answered at once, successful, advising
    /// `reconnect: none`; later connects of that client get `402::Unknown client` (the server
    /// terminated the session).
    ReconnectNone,
    /// `/meta/handshake` answered `successful: false`.
    HandshakeFails,
    /// `/meta/subscribe` answered `successful: false`.
    SubscribeFails,
    /// Notifications with the wrong JSON types, plus injected malformed messages.
    WrongTypes,
    /// Every notification delivered twice.
    Duplicated,
    /// The first two notifications about an interaction delivered in swapped order.
    Swapped,
    /// Well-formed notifications about interactions that do not exist, on every connect.
    UnknownInteractions,
    /// `POST {fixtures}/interactions` answers HTTP 500.
    FixtureFails,
    /// `POST {fixtures}/interactions` answers 200 with a body that is not JSON.
    FixtureGarbage,
    /// After this many forwarded operation POSTs the server dies: listener gone, every open
    /// connection cut.
    DiesAfter(usize),
    /// No CometD endpoint: everything under `/api/v2/notifications` answers an HTML 404, as a
    /// gateway that does not route it would.
    NoNotifications,
}

// ---------------------------------------------------------------------------------------------
// The hostile proxy
// ---------------------------------------------------------------------------------------------

pub struct Proxy {
    mode: Mode,
    upstream: String,
    http: reqwest::Client,
    /// Fired when the server dies: every connection's IO fails from then on.
    kill: CancellationToken,
    serve_task: OnceLock<tokio::task::AbortHandle>,
    /// Operation POSTs (not barrier updates) that reached the proxy.
    operations: AtomicUsize,
    /// `/meta/connect` requests that reached the proxy.
    connects: AtomicUsize,
    /// `/meta/connect` requests from a client after it was advised `reconnect: none`.
    connects_after_none: AtomicUsize,
    /// Notifications altered, duplicated, swapped, replaced or injected.
    tampered: AtomicUsize,
    /// Responses the proxy made hostile (operation replies, fixture replies, Bayeux refusals).
    misbehaved: AtomicUsize,
    /// Client ids already seen (long-poll hang) or advised `reconnect: none`.
    clients: Mutex<HashSet<String>>,
    /// Notifications held back to be delivered after the next one (swap).
    held: Mutex<HashMap<String, Value>>,
    /// Bytes of hostile bodies the proxy's HTTP server pulled to send (huge body).
    streamed: Arc<AtomicUsize>,
}

/// What the proxy did, as counted when asked; tests read it after the run to prove that the
/// misbehaviour really happened (and no more than it should).
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    /// Operation POSTs (not barrier updates) that reached it.
    pub operations: usize,
    /// `/meta/connect` requests that reached it.
    pub connects: usize,
    /// `/meta/connect` requests from a client after it was advised `reconnect: none`.
    pub connects_after_none: usize,
    /// Notifications altered, duplicated, swapped, replaced or injected.
    pub tampered: usize,
    /// Responses it made hostile (operation replies, fixture replies, Bayeux refusals).
    pub misbehaved: usize,
    /// Bytes of hostile bodies its HTTP server pulled to send (huge body).
    pub streamed: usize,
    /// The server died ([`Mode::DiesAfter`]).
    pub died: bool,
}

impl Proxy {
    /// Its counters, now.
    pub fn counts(&self) -> Counts {
        let read = |c: &AtomicUsize| c.load(Ordering::SeqCst);
        Counts {
            operations: read(&self.operations),
            connects: read(&self.connects),
            connects_after_none: read(&self.connects_after_none),
            tampered: read(&self.tampered),
            misbehaved: read(&self.misbehaved),
            streamed: read(&self.streamed),
            died: self.kill.is_cancelled(),
        }
    }
}

impl Proxy {
    fn new(mode: Mode, upstream: String) -> Proxy {
        Proxy {
            mode,
            upstream,
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("the proxy's HTTP client"),
            kill: CancellationToken::new(),
            serve_task: OnceLock::new(),
            operations: AtomicUsize::new(0),
            connects: AtomicUsize::new(0),
            connects_after_none: AtomicUsize::new(0),
            tampered: AtomicUsize::new(0),
            misbehaved: AtomicUsize::new(0),
            clients: Mutex::new(HashSet::new()),
            held: Mutex::new(HashMap::new()),
            streamed: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn count(&self, counter: &AtomicUsize) -> usize {
        counter.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The server dies: no more accepted connections, every open one fails.
    fn die(&self) {
        self.kill.cancel();
        if let Some(task) = self.serve_task.get() {
            task.abort();
        }
    }

    async fn dispatch(self: Arc<Self>, request: Request) -> Response {
        if let Mode::DiesAfter(n) = self.mode
            && self.operations.load(Ordering::SeqCst) >= n
        {
            self.die();
            return gone();
        }
        let (parts, body) = request.into_parts();
        let Ok(body) = axum::body::to_bytes(body, 16 * 1024 * 1024).await else {
            return gone();
        };
        let path = parts.uri.path().to_string();
        if self.mode == Mode::NoNotifications && path.starts_with("/api/v2/notifications") {
            return (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body><h1>404 Not Found</h1></body></html>",
            )
                .into_response();
        }
        if parts.method == Method::POST && path == "/api/v2/notifications" {
            return self.bayeux(&parts, body).await;
        }
        if parts.method == Method::POST && path == "/conformance/v1/interactions" {
            return self.fixture(&parts, body).await;
        }
        if parts.method == Method::POST
            && is_interaction_path(&path)
            && !String::from_utf8_lossy(&body).contains(BARRIER_KEY)
        {
            self.count(&self.operations);
            return self.operation(&parts, body).await;
        }
        self.pass(&parts, body).await
    }

    /// Forwards one request to the reference server and returns its whole answer.
    async fn forward(
        &self,
        parts: &Parts,
        body: Bytes,
    ) -> Result<(StatusCode, HeaderMap, Bytes), String> {
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut request = self
            .http
            .request(parts.method.clone(), format!("{}{path}", self.upstream))
            .body(body);
        for (name, value) in &parts.headers {
            if !is_hop_header(name) {
                request = request.header(name, value);
            }
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(|e| e.to_string())?;
        Ok((status, headers, bytes))
    }

    async fn pass(&self, parts: &Parts, body: Bytes) -> Response {
        match self.forward(parts, body).await {
            Ok((status, headers, bytes)) => rebuild(status, &headers, Body::from(bytes)),
            Err(e) => (StatusCode::BAD_GATEWAY, format!("proxy: {e}")).into_response(),
        }
    }

    /// An operation POST on an interaction's URL.
    async fn operation(&self, parts: &Parts, body: Bytes) -> Response {
        let hostile_body = match self.mode {
            Mode::HangOperation => {
                self.count(&self.misbehaved);
                // Accepted, read, never answered.
                return std::future::pending().await;
            }
            Mode::ResetMidBody | Mode::NotJson | Mode::Html502 | Mode::HugeBody | Mode::Trickle => {
                self.mode
            }
            _ => return self.pass(parts, body).await,
        };
        // The operation really happens (so its notification is sent); only the reply is bad.
        let Ok((_, upstream_headers, _)) = self.forward(parts, body).await else {
            return gone();
        };
        self.count(&self.misbehaved);
        let cookies: Vec<_> = upstream_headers
            .get_all(header::SET_COOKIE)
            .iter()
            .cloned()
            .collect();
        let mut response = match hostile_body {
            Mode::ResetMidBody => {
                let chunks = futures::stream::unfold(0u8, |step| async move {
                    match step {
                        0 => Some((Ok(Bytes::from_static(b"{\"statusCode\":0,\"refer")), 1)),
                        1 => {
                            // Let the first bytes reach the wire before the connection drops.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Some((
                                Err(io::Error::new(
                                    io::ErrorKind::ConnectionReset,
                                    "hostile proxy drops the connection mid-body",
                                )),
                                2,
                            ))
                        }
                        _ => None,
                    }
                });
                let mut r = Response::new(Body::from_stream(chunks));
                r.headers_mut()
                    .insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
                r.headers_mut()
                    .insert(header::CONTENT_LENGTH, "120".parse().unwrap());
                r
            }
            Mode::NotJson => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain")],
                "OK: user data updated (this body is not JSON)",
            )
                .into_response(),
            Mode::Html502 => (
                StatusCode::BAD_GATEWAY,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
            )
                .into_response(),
            Mode::HugeBody => {
                let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
                let chunks = (50 * 1024 * 1024) / chunk.len();
                let head = Bytes::from_static(b"{\"statusCode\":0,\"padding\":\"");
                let streamed = Arc::clone(&self.streamed);
                let stream = futures::stream::iter(
                    std::iter::once(head)
                        .chain(std::iter::repeat_n(chunk, chunks))
                        .map(move |c| {
                            streamed.fetch_add(c.len(), Ordering::SeqCst);
                            Ok::<_, io::Error>(c)
                        }),
                );
                let mut r = Response::new(Body::from_stream(stream));
                r.headers_mut()
                    .insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
                r
            }
            Mode::Trickle => {
                const TEXT: &[u8] = b"{\"statusCode\":0,\"referenceId\":1}";
                let stream = futures::stream::unfold(0usize, |i| async move {
                    if i >= TEXT.len() {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    Some((Ok::<_, io::Error>(Bytes::from_static(&TEXT[i..i + 1])), i + 1))
                });
                let mut r = Response::new(Body::from_stream(stream));
                r.headers_mut()
                    .insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
                r
            }
            _ => unreachable!(),
        };
        for cookie in cookies {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        response
    }

    /// `POST {fixtures}/interactions`.
    async fn fixture(&self, parts: &Parts, body: Bytes) -> Response {
        let (status, content_type, text) = match self.mode {
            Mode::FixtureFails => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain",
                "provisioning backend exploded",
            ),
            Mode::FixtureGarbage => (
                StatusCode::OK,
                "application/json",
                "<<garbage, not an interaction>>",
            ),
            _ => return self.pass(parts, body).await,
        };
        self.count(&self.misbehaved);
        (status, [(header::CONTENT_TYPE, content_type)], text).into_response()
    }

    /// The CometD endpoint.
    async fn bayeux(&self, parts: &Parts, body: Bytes) -> Response {
        let sent: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let first = match &sent {
            Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
            other => other.clone(),
        };
        let channel = first["channel"].as_str().unwrap_or("").to_string();
        let client_id = first["clientId"].as_str().unwrap_or("").to_string();
        let reply_to = |fields: Value| {
            let mut m = json!({"channel": channel});
            if let Some(id) = first.get("id") {
                m["id"] = id.clone();
            }
            if !client_id.is_empty() {
                m["clientId"] = json!(client_id);
            }
            for (k, v) in fields.as_object().into_iter().flatten() {
                m[k] = v.clone();
            }
            bayeux_response(&json!([m]))
        };
        if channel == "/meta/connect" {
            self.count(&self.connects);
        }
        match (self.mode, channel.as_str()) {
            (Mode::HandshakeFails, "/meta/handshake") => {
                self.count(&self.misbehaved);
                return reply_to(json!({
                    "successful": false,
                    "error": "403::handshake denied by the hostile proxy",
                    "advice": {"reconnect": "none"},
                }));
            }
            (Mode::SubscribeFails, "/meta/subscribe") => {
                self.count(&self.misbehaved);
                return reply_to(json!({
                    "successful": false,
                    "subscription": first["subscription"].clone(),
                    "error": "403::subscription denied by the hostile proxy",
                }));
            }
            (Mode::UnknownClient, "/meta/connect") => {
                self.count(&self.misbehaved);
                return reply_to(json!({
                    "successful": false,
                    "error": "402::Unknown client",
                    "advice": {"reconnect": "handshake", "interval": 0},
                }));
            }
            (Mode::ReconnectNone, "/meta/connect") => {
                if !lock(&self.clients).insert(client_id.clone()) {
                    // The session was terminated: a CometD server no longer knows this client.
                    self.count(&self.connects_after_none);
                    return reply_to(json!({"successful": false, "error": "402::Unknown client"}));
                }
                // The first poll is answered at once (so no notification can slip through it)
                // and ends the session.
                self.count(&self.misbehaved);
                return reply_to(json!({
                    "successful": true,
                    "advice": {"reconnect": "none", "interval": 0},
                }));
            }
            (Mode::HangLongPoll, "/meta/connect") => {
                if lock(&self.clients).insert(client_id.clone()) {
                    // The first poll is answered at once, advising a 1 s long-poll timeout.
                    return reply_to(json!({
                        "successful": true,
                        "advice": {"reconnect": "retry", "interval": 0, "timeout": 1000},
                    }));
                }
                self.count(&self.misbehaved);
                // A long poll that never returns.
                return std::future::pending().await;
            }
            _ => {}
        }
        let (status, headers, bytes) = match self.forward(parts, body).await {
            Ok(r) => r,
            Err(e) => return (StatusCode::BAD_GATEWAY, format!("proxy: {e}")).into_response(),
        };
        let Ok(Value::Array(messages)) = serde_json::from_slice::<Value>(&bytes) else {
            return rebuild(status, &headers, Body::from(bytes));
        };
        let messages = self.rewrite(messages);
        let text = Value::Array(messages).to_string();
        rebuild(status, &headers, Body::from(text))
    }

    /// Applies the mode to one reply of the CometD endpoint.
    fn rewrite(&self, messages: Vec<Value>) -> Vec<Value> {
        let mut out = Vec::new();
        let mut connect_reply = false;
        for mut m in messages {
            let channel = m["channel"].as_str().unwrap_or("").to_string();
            let is_meta = channel.starts_with("/meta/");
            connect_reply |= channel == "/meta/connect";
            let is_notification = !is_meta && !channel.is_empty();
            let is_barrier = m.to_string().contains(BARRIER_KEY);
            match self.mode {
                Mode::HangLongPoll if channel == "/meta/handshake" => {
                    if !m["advice"].is_object() {
                        m["advice"] = json!({});
                    }
                    m["advice"]["timeout"] = json!(1000);
                    out.push(m);
                }
                Mode::WrongTypes if is_notification && !is_barrier => {
                    self.count(&self.tampered);
                    if channel == "/v2/me/calls" {
                        // `data` is a string: no interaction can be found in it.
                        m["data"] = json!("hostile: data is a string");
                    } else if let Some(data) = m["data"].as_object_mut() {
                        // The interaction object's userData is a number.
                        for v in data.values_mut() {
                            if v.get("id").is_some() {
                                v["userData"] = json!(42);
                            }
                        }
                    }
                    out.push(m);
                }
                Mode::Duplicated if is_notification && !is_barrier => {
                    self.count(&self.tampered);
                    out.push(m.clone());
                    out.push(m);
                }
                Mode::Swapped if is_notification && !is_barrier => {
                    let Some(id) = interaction_id(&m) else {
                        out.push(m);
                        continue;
                    };
                    let earlier = lock(&self.held).remove(&id);
                    match earlier {
                        // Deliver the later one first, then the one held back.
                        Some(earlier) => {
                            self.count(&self.tampered);
                            out.push(m);
                            out.push(earlier);
                        }
                        None => {
                            lock(&self.held).insert(id, m);
                        }
                    }
                }
                _ => out.push(m),
            }
        }
        if connect_reply {
            match self.mode {
                Mode::WrongTypes => {
                    self.count(&self.tampered);
                    out.extend([
                        json!({"channel": "/v2/me/chats", "data": {"chat": {"id": 12345, "userData": "x"}}}),
                        json!({"channel": "/v2/me/chats", "data": {"chat": "not an object"}}),
                        json!({"channel": "/v2/me/chats", "data": null}),
                        json!({"channel": "/v2/me/chats"}),
                        json!({"channel": ["/v2/me/chats"], "data": {"chat": {"id": "x"}}}),
                        json!({"channel": "/v2/me/chats", "data": {"chat": {"id": ["an", "array"]}, "referenceId": "NaN"}}),
                    ]);
                }
                Mode::UnknownInteractions => {
                    let n = self.count(&self.tampered);
                    out.push(json!({
                        "channel": "/v2/me/chats",
                        "data": {
                            "messageType": "ChatStateChangeMessage",
                            "notificationType": "PropertiesUpdated",
                            "referenceId": 900_000 + n,
                            "chat": {
                                "id": format!("GWSC-HOSTILE-UNKNOWN-{n}"),
                                "state": "Chatting",
                                "userData": {"Hostile": "yes"},
                            },
                        },
                    }));
                }
                _ => {}
            }
        }
        out
    }
}

async fn handle(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let kill = proxy.kill.clone();
    tokio::select! {
        response = Arc::clone(&proxy).dispatch(request) => response,
        // A dead server answers nothing; the connection's IO fails when hyper writes.
        _ = kill.cancelled() => gone(),
    }
}

fn gone() -> Response {
    StatusCode::SERVICE_UNAVAILABLE.into_response()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn is_hop_header(name: &header::HeaderName) -> bool {
    [
        header::HOST,
        header::CONTENT_LENGTH,
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::TE,
        header::UPGRADE,
    ]
    .contains(name)
        || name.as_str() == "keep-alive"
}

fn rebuild(status: StatusCode, headers: &HeaderMap, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    for (name, value) in headers {
        if !is_hop_header(name) {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}

fn bayeux_response(messages: &Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        messages.to_string(),
    )
        .into_response()
}

/// `/api/v2/me/{collection}/{id}` or `/api/v2/me/openmedia/{type}/{id}`.
fn is_interaction_path(path: &str) -> bool {
    path.strip_prefix("/api/v2/me/")
        .is_some_and(|rest| rest.split('/').filter(|s| !s.is_empty()).count() >= 2)
}

/// The `id` of the first object inside `data` that has one.
fn interaction_id(message: &Value) -> Option<String> {
    message["data"]
        .as_object()?
        .values()
        .find_map(|v| v.get("id")?.as_str().map(str::to_string))
}

/// A listener whose connections all fail once the server is killed.
struct KillableListener {
    inner: tokio::net::TcpListener,
    kill: CancellationToken,
}

impl axum::serve::Listener for KillableListener {
    type Io = KillableStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            if let Ok((stream, addr)) = self.inner.accept().await {
                let killed = Box::pin(self.kill.clone().cancelled_owned());
                return (
                    KillableStream {
                        inner: stream,
                        killed,
                        dead: false,
                    },
                    addr,
                );
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

struct KillableStream {
    inner: tokio::net::TcpStream,
    killed: Pin<Box<WaitForCancellationFutureOwned>>,
    dead: bool,
}

impl KillableStream {
    /// Polling the kill signal also registers the waker, so a pending read fails at once.
    fn dead(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.dead && self.killed.as_mut().poll(cx).is_ready() {
            self.dead = true;
        }
        self.dead
    }
}

fn died() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "the hostile server died")
}

impl AsyncRead for KillableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.dead(cx) {
            return Poll::Ready(Err(died()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.dead(cx) {
            return Poll::Ready(Err(died()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.dead(cx) {
            return Poll::Ready(Err(died()));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// A reference server with a hostile proxy in front, on the test's own runtime.
pub struct Hostile {
    runtime: Option<tokio::runtime::Runtime>,
    proxy: Arc<Proxy>,
    _upstream: RunningServer,
    base_url: String,
}

impl Drop for Hostile {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            // Held long polls and hung handlers are dropped with the runtime.
            rt.shutdown_background();
        }
    }
}

impl Hostile {
    /// Starts the reference server and the proxy in front of it, misbehaving as `mode`.
    pub fn start(mode: Mode) -> Hostile {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let (proxy, upstream, base_url) = runtime.block_on(async move {
            let upstream = server::start(ServerConfig::default())
                .await
                .expect("the reference server starts");
            let proxy = Arc::new(Proxy::new(mode, upstream.base_url.clone()));
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .expect("the proxy binds loopback");
            let addr = listener.local_addr().unwrap();
            let app = axum::Router::new()
                .fallback(handle)
                .with_state(Arc::clone(&proxy));
            let listener = KillableListener {
                inner: listener,
                kill: proxy.kill.clone(),
            };
            let task = tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            proxy.serve_task.set(task.abort_handle()).unwrap();
            (proxy, upstream, format!("http://{addr}"))
        });
        Hostile {
            runtime: Some(runtime),
            proxy,
            _upstream: upstream,
            base_url,
        }
    }

    /// Runs `future` on the runtime that serves the proxy (which keeps serving meanwhile).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime
            .as_ref()
            .expect("the runtime lives until drop")
            .block_on(future)
    }

    /// The proxy's address, `http://127.0.0.1:PORT`: the target's `base_url`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The proxy, for its counters.
    pub fn proxy(&self) -> &Proxy {
        &self.proxy
    }
}
