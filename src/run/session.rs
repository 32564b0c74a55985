//! An agent's session with the target: the GWS client flow over one cookie-keeping HTTP client.
//!
//! Opening a session does what GWS clients do: `GET /api/v2/me` with Basic credentials (which
//! sets `JSESSIONID` and, when CSRF protection is on, announces `X-CSRF-HEADER` and
//! `X-CSRF-TOKEN`), then a Bayeux handshake and a subscription to `/v2/me/*`, waiting for its
//! acknowledgement. Every later request sends Basic credentials, the cookies, and the CSRF
//! token on modifying requests.
//!
//! Sessions know HTTP and Bayeux, not scenarios: they return raw replies and never judge them.

use super::target::{Credentials, RunConfig, Target};
use super::wire::WireLog;
use crate::bayeux::BayeuxClient;
use crate::observation::{Body, Reply};
use crate::util::{error_chain, read_capped};
use base64::Engine;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The Bayeux subscription every session makes; a wildcard sidesteps the channel names the
/// documentation leaves open (SMS).
pub const SUBSCRIPTION: &str = "/v2/me/*";

/// Which credentials a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// The session's own credentials and cookies.
    Session,
    /// No credentials, no cookies.
    Anonymous,
    /// The session's user name with a wrong password, no cookies.
    WrongPassword,
}

pub struct AgentSession {
    pub index: usize,
    pub username: String,
    http: reqwest::Client,
    /// A cookie-less client for requests that must not carry the session.
    bare: reqwest::Client,
    basic: HeaderValue,
    wrong_basic: HeaderValue,
    csrf: Mutex<Option<(HeaderName, HeaderValue)>>,
    base_url: String,
    request_timeout: Duration,
    max_body: usize,
    pub bayeux: Arc<BayeuxClient>,
}

/// Builds an HTTP client with the target's TLS settings.
pub fn http_client(target: &Target, cookies: bool) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .cookie_store(cookies)
        .pool_max_idle_per_host(64);
    if target.insecure {
        builder = builder.danger_accept_invalid_certs(true);
    }
    if let Some(pem) = &target.ca_cert {
        let cert = reqwest::Certificate::from_pem(pem)
            .map_err(|e| format!("invalid CA certificate: {}", error_chain(&e)))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {}", error_chain(&e)))
}

fn basic(username: &str, password: &str) -> HeaderValue {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    let mut value = HeaderValue::from_str(&format!("Basic {token}"))
        .unwrap_or_else(|_| HeaderValue::from_static("Basic"));
    value.set_sensitive(true);
    value
}

impl AgentSession {
    /// Logs in and opens the notification stream (handshake and acknowledged subscription).
    pub async fn open(
        index: usize,
        credentials: &Credentials,
        target: &Target,
        config: &RunConfig,
    ) -> Result<AgentSession, String> {
        let http = http_client(target, true)?;
        let bare = http_client(target, false)?;
        let base_url = target.base_url.trim_end_matches('/').to_string();
        let basic_value = basic(&credentials.username, credentials.password.expose());
        let mut bayeux_headers = HeaderMap::new();
        bayeux_headers.insert(AUTHORIZATION, basic_value.clone());
        let session = AgentSession {
            index,
            username: credentials.username.clone(),
            bayeux: Arc::new(BayeuxClient::new(
                http.clone(),
                String::new(),
                HeaderMap::new(),
                config.deadlines.request,
            )),
            http,
            bare,
            basic: basic_value,
            wrong_basic: basic(
                &credentials.username,
                &format!("{}-wrong", credentials.password.expose()),
            ),
            csrf: Mutex::new(None),
            base_url,
            request_timeout: config.deadlines.request,
            max_body: config.max_body,
        };
        let me = session
            .request(Method::GET, "/api/v2/me", None, Auth::Session, true, None)
            .await?;
        match me.0.status {
            200 => {}
            401 | 403 => {
                return Err(format!(
                    "login as `{}` was refused (HTTP {}): check the user name and password",
                    credentials.username, me.0.status
                ));
            }
            other => {
                return Err(format!(
                    "GET /api/v2/me as `{}` answered HTTP {other}: {}",
                    credentials.username,
                    me.0.body.describe()
                ));
            }
        }
        if let Some(pair) = me.1 {
            bayeux_headers.insert(pair.0.clone(), pair.1.clone());
            *session.csrf.lock().unwrap_or_else(|p| p.into_inner()) = Some(pair);
        }
        let bayeux = BayeuxClient::new(
            session.http.clone(),
            format!("{}/api/v2/notifications", session.base_url),
            bayeux_headers,
            config.deadlines.request,
        )
        .with_max_body(config.max_body);
        bayeux
            .handshake()
            .await
            .map_err(|e| format!("Bayeux handshake as `{}` failed: {e}", credentials.username))?;
        bayeux.subscribe(SUBSCRIPTION).await.map_err(|e| {
            format!(
                "Bayeux subscribe to {SUBSCRIPTION} as `{}` failed: {e}",
                credentials.username
            )
        })?;
        Ok(AgentSession {
            bayeux: Arc::new(bayeux),
            ..session
        })
    }

    /// Whether the server announced a CSRF token for this session.
    pub fn has_csrf_token(&self) -> bool {
        self.csrf
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base_url)
        }
    }

    /// Sends one request. Returns the reply and, if the response announced one, the CSRF
    /// header/token pair. `Err` means no HTTP reply at all (transport, deadline, size cap).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
        auth: Auth,
        send_csrf: bool,
        wire: Option<&WireLog>,
    ) -> Result<(Reply, Option<(HeaderName, HeaderValue)>), String> {
        let client = if auth == Auth::Session {
            &self.http
        } else {
            &self.bare
        };
        let mut req = client
            .request(method.clone(), self.url(path))
            .timeout(self.request_timeout);
        match auth {
            Auth::Session => req = req.header(AUTHORIZATION, self.basic.clone()),
            Auth::WrongPassword => req = req.header(AUTHORIZATION, self.wrong_basic.clone()),
            Auth::Anonymous => {}
        }
        if send_csrf
            && method != Method::GET
            && let Some((name, value)) = self.csrf.lock().unwrap_or_else(|p| p.into_inner()).clone()
        {
            req = req.header(name, value);
        }
        if let Some(b) = body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(b.to_vec());
        }
        let summary = format!("{method} {path}");
        let sent = body.map(String::from_utf8_lossy);
        let outcome = async {
            let response = req.send().await.map_err(|e| {
                if e.is_timeout() {
                    format!(
                        "no response within {:.1}s",
                        self.request_timeout.as_secs_f64()
                    )
                } else {
                    error_chain(&e)
                }
            })?;
            let status = response.status().as_u16();
            let csrf = csrf_pair(response.headers());
            let bytes = read_capped(response, self.max_body)
                .await
                .map_err(|e| match e {
                    crate::util::ReadError::Timeout => format!(
                        "the body did not arrive within {:.1}s",
                        self.request_timeout.as_secs_f64()
                    ),
                    crate::util::ReadError::Other(m) => m,
                })?;
            let body = match serde_json::from_slice(&bytes) {
                Ok(v) => Body::Json(v),
                Err(_) => Body::Text(String::from_utf8_lossy(&bytes).into_owned()),
            };
            // The wire log shows the body as it came, which also spares a re-serialisation.
            let raw =
                wire.map(|_| crate::util::truncate(&String::from_utf8_lossy(&bytes), 8 * 1024));
            Ok::<_, String>((Reply { status, body }, csrf, raw))
        }
        .await;
        if let Some(wire) = wire {
            match &outcome {
                Ok((reply, _, raw)) => wire.record(
                    "http",
                    summary,
                    Some(&self.username),
                    Some(reply.status),
                    sent.as_deref(),
                    raw.as_deref(),
                ),
                Err(e) => wire.record(
                    "http",
                    summary,
                    Some(&self.username),
                    None,
                    sent.as_deref(),
                    Some(&format!("(no response: {e})")),
                ),
            }
        }
        outcome.map(|(reply, csrf, _)| (reply, csrf))
    }
}

fn csrf_pair(headers: &HeaderMap) -> Option<(HeaderName, HeaderValue)> {
    let name = headers.get("X-CSRF-HEADER")?.to_str().ok()?;
    let name = HeaderName::from_bytes(name.trim().as_bytes()).ok()?;
    let mut value = headers.get("X-CSRF-TOKEN")?.clone();
    value.set_sensitive(true);
    Some((name, value))
}
