//! An agent's session with the target: the GWS client flow over one cookie-keeping HTTP client.
//!
//! Opening a session does what GWS clients do: `GET /api/v2/me` with Basic credentials (which
//! sets `JSESSIONID` and, when CSRF protection is on, announces `X-CSRF-HEADER` and
//! `X-CSRF-TOKEN`), then a Bayeux handshake and a subscription to `/v2/me/*`, waiting for its
//! acknowledgement. Every later request sends Basic credentials, the cookies, and the CSRF
//! token on modifying requests.
//!
//! Sessions know HTTP and Bayeux, not scenarios: they return raw replies and never judge them.
//! A request without a reply is a [`RequestError`]; a session that cannot be opened, a
//! [`SessionError`]; an HTTP client that cannot be built, a [`ClientError`].

use super::target::{Credentials, RunConfig, Target};
use super::wire::WireLog;
use crate::bayeux::{BayeuxClient, BayeuxError};
pub use crate::observation::RequestError;
use crate::observation::{Body, Reply};
use crate::util::Unpoisoned;
use crate::util::{error_chain, read_capped};
use base64::Engine;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderMap, HeaderName, HeaderValue};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The Bayeux subscription every session makes; a wildcard sidesteps the channel names the
/// documentation leaves open (SMS).
pub const SUBSCRIPTION: &str = "/v2/me/*";

/// How many times a read (GET) is tried when transport faults cut it short.
pub const READ_ATTEMPTS: u32 = 3;

/// Which credentials a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// The session's own credentials and cookies.
    Session,
    /// No credentials, no cookies.
    Anonymous,
    /// The session's user name with a wrong password, no cookies.
    WrongPassword,
    /// The session's user name with an empty password, no cookies.
    EmptyPassword,
}

/// The session cookie a request presents.
#[derive(Debug, Clone)]
pub enum CookieChoice {
    /// The session's own cookies when it sends its own credentials (`Auth::Session`), none
    /// otherwise.
    Implied,
    /// No cookies at all.
    None,
    /// Exactly this `Cookie` header (another session's, or a forged one) and nothing else.
    Header(HeaderValue),
}

/// The CSRF token a modifying request presents.
#[derive(Debug, Clone)]
pub enum CsrfChoice {
    /// The session's own, when the server issued one.
    Own,
    Omit,
    /// This header and token (another session's).
    Pair(HeaderName, HeaderValue),
}

/// Everything a request presents to identify its sender: credentials, cookie, CSRF token.
#[derive(Debug, Clone)]
pub struct Presented {
    pub auth: Auth,
    pub cookie: CookieChoice,
    pub csrf: CsrfChoice,
}

impl Presented {
    /// What `auth` presents by itself: the session's cookies with its own credentials.
    pub fn auth(auth: Auth, send_csrf: bool) -> Presented {
        Presented {
            auth,
            cookie: CookieChoice::Implied,
            csrf: if send_csrf {
                CsrfChoice::Own
            } else {
                CsrfChoice::Omit
            },
        }
    }
}

pub struct AgentSession {
    pub index: usize,
    pub username: String,
    http: reqwest::Client,
    /// The cookies `http` keeps, readable so a scenario can present them on another request.
    jar: Arc<reqwest::cookie::Jar>,
    /// A cookie-less client for requests that must not carry the session.
    bare: reqwest::Client,
    basic: HeaderValue,
    wrong_basic: HeaderValue,
    empty_basic: HeaderValue,
    csrf: Mutex<Option<(HeaderName, HeaderValue)>>,
    base_url: String,
    request_timeout: Duration,
    max_body: usize,
    pub bayeux: Arc<BayeuxClient>,
}

/// Why an HTTP client with the target's TLS settings could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    #[error("invalid CA certificate: {message}")]
    CaCert { target: String, message: String },
    #[error("cannot build the HTTP client: {message}")]
    Build { target: String, message: String },
}

/// Why an agent's session could not be opened (login, or its notification stream).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Client(#[from] ClientError),
    /// `GET /api/v2/me` got no reply.
    #[error("{source}")]
    Login {
        username: String,
        source: RequestError,
    },
    #[error("login as `{username}` was refused (HTTP {status}): check the user name and password")]
    Refused { username: String, status: u16 },
    #[error("GET /api/v2/me as `{username}` answered HTTP {status}: {body}")]
    LoginStatus {
        username: String,
        status: u16,
        body: String,
    },
    #[error("Bayeux handshake as `{username}` failed: {source}")]
    Handshake {
        username: String,
        source: BayeuxError,
    },
    #[error("Bayeux subscribe to {channel} as `{username}` failed: {source}")]
    Subscribe {
        username: String,
        channel: String,
        source: BayeuxError,
    },
}

impl SessionError {
    /// Whether the login lost a reply on the way (see [`RequestError::is_transport`] and
    /// [`BayeuxError::is_transport`]): a transport fault, which says nothing about the server.
    pub fn is_transport(&self) -> bool {
        match self {
            SessionError::Login { source, .. } => source.is_transport(),
            SessionError::Handshake { source, .. } | SessionError::Subscribe { source, .. } => {
                source.is_transport()
            }
            SessionError::Client(_)
            | SessionError::Refused { .. }
            | SessionError::LoginStatus { .. } => false,
        }
    }
}

/// Builds an HTTP client with the target's TLS settings.
pub fn http_client(target: &Target, cookies: bool) -> Result<reqwest::Client, ClientError> {
    client_builder(target, reqwest::Client::builder().cookie_store(cookies))
}

/// An HTTP client whose cookies live in `jar`.
fn http_client_with(
    target: &Target,
    jar: &Arc<reqwest::cookie::Jar>,
) -> Result<reqwest::Client, ClientError> {
    client_builder(
        target,
        reqwest::Client::builder().cookie_provider(Arc::clone(jar)),
    )
}

fn client_builder(
    target: &Target,
    builder: reqwest::ClientBuilder,
) -> Result<reqwest::Client, ClientError> {
    let mut builder = builder.pool_max_idle_per_host(64);
    // A plain-HTTP target never needs the platform's roots, and loading them costs milliseconds
    // per client (two per agent): with 200 agents, more CPU than a second of load.
    if target.base_url.starts_with("http://") && target.ca_cert.is_none() {
        builder = builder.tls_certs_only(std::iter::empty());
    }
    if target.insecure {
        builder = builder.danger_accept_invalid_certs(true);
    }
    if let Some(pem) = &target.ca_cert {
        let cert = reqwest::Certificate::from_pem(pem).map_err(|e| ClientError::CaCert {
            target: target.name.clone(),
            message: error_chain(&e),
        })?;
        builder = builder.add_root_certificate(cert);
    }
    builder.build().map_err(|e| ClientError::Build {
        target: target.name.clone(),
        message: error_chain(&e),
    })
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
    ) -> Result<AgentSession, SessionError> {
        Self::login(index, credentials, target, config)
            .await?
            .open_stream(config)
            .await
    }

    /// Logs in (`GET /api/v2/me` with Basic credentials), keeping the session cookie and the
    /// CSRF token the server announces; no notification stream yet.
    pub async fn login(
        index: usize,
        credentials: &Credentials,
        target: &Target,
        config: &RunConfig,
    ) -> Result<AgentSession, SessionError> {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = http_client_with(target, &jar)?;
        let bare = http_client(target, false)?;
        let base_url = target.base_url.trim_end_matches('/').to_string();
        let basic_value = basic(&credentials.username, credentials.password.expose());
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
            jar,
            bare,
            basic: basic_value,
            wrong_basic: basic(
                &credentials.username,
                &format!("{}-wrong", credentials.password.expose()),
            ),
            empty_basic: basic(&credentials.username, ""),
            csrf: Mutex::new(None),
            base_url,
            request_timeout: config.deadlines.request,
            max_body: config.max_body,
        };
        let me = session
            .read("/api/v2/me", None)
            .await
            .map_err(|source| SessionError::Login {
                username: credentials.username.clone(),
                source,
            })?;
        match me.0.status {
            200 => {}
            401 | 403 => {
                return Err(SessionError::Refused {
                    username: credentials.username.clone(),
                    status: me.0.status,
                });
            }
            other => {
                return Err(SessionError::LoginStatus {
                    username: credentials.username.clone(),
                    status: other,
                    body: me.0.body.describe(),
                });
            }
        }
        if let Some(pair) = me.1 {
            *session.csrf.locked() = Some(pair);
        }
        Ok(session)
    }

    /// Opens the session's notification stream: a Bayeux handshake on
    /// `/api/v2/notifications` with the session's credentials, cookie and CSRF token, and an
    /// acknowledged subscription to [`SUBSCRIPTION`].
    pub async fn open_stream(self, config: &RunConfig) -> Result<AgentSession, SessionError> {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, self.basic.clone());
        if let Some((name, value)) = self.csrf_token() {
            headers.insert(name, value);
        }
        let bayeux = BayeuxClient::new(
            self.http.clone(),
            format!("{}/api/v2/notifications", self.base_url),
            headers,
            config.deadlines.request,
        )
        .with_max_body(config.max_body);
        let mut attempt = 1;
        // A handshake or subscription lost to a transport fault is tried again: the same
        // client asks again, as after any lost reply.
        let outcome = loop {
            let outcome = match bayeux.handshake().await {
                Ok(()) => bayeux.subscribe(SUBSCRIPTION).await.map_err(Err),
                Err(e) => Err(Ok(e)),
            };
            match outcome {
                Err(Ok(e) | Err(e)) if e.is_transport() && attempt < READ_ATTEMPTS => {
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                    attempt += 1;
                }
                outcome => break outcome,
            }
        };
        outcome.map_err(|e| match e {
            Ok(source) => SessionError::Handshake {
                username: self.username.clone(),
                source,
            },
            Err(source) => SessionError::Subscribe {
                username: self.username.clone(),
                channel: SUBSCRIPTION.to_string(),
                source,
            },
        })?;
        Ok(AgentSession {
            bayeux: Arc::new(bayeux),
            ..self
        })
    }

    /// A Bayeux client on the target's notification endpoint without the session: no cookies,
    /// no CSRF token, and no credentials or (`wrong_password`) this agent's user name with a
    /// wrong password.
    pub fn unauthenticated_bayeux(&self, wrong_password: bool) -> BayeuxClient {
        let mut headers = HeaderMap::new();
        if wrong_password {
            headers.insert(AUTHORIZATION, self.wrong_basic.clone());
        }
        BayeuxClient::new(
            self.bare.clone(),
            format!("{}/api/v2/notifications", self.base_url),
            headers,
            self.request_timeout,
        )
        .with_max_body(self.max_body)
    }

    /// Whether the server announced a CSRF token for this session.
    pub fn has_csrf_token(&self) -> bool {
        self.csrf.locked().is_some()
    }

    /// The CSRF header and token the server issued to this session, if any.
    pub fn csrf_token(&self) -> Option<(HeaderName, HeaderValue)> {
        self.csrf.locked().clone()
    }

    /// The `Cookie` header this session sends to the target (its `JSESSIONID`), if any.
    pub fn cookie_header(&self) -> Option<HeaderValue> {
        use reqwest::cookie::CookieStore;
        let url = reqwest::Url::parse(&self.url("/api/v2/me")).ok()?;
        let mut value = self.jar.cookies(&url)?;
        value.set_sensitive(true);
        Some(value)
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base_url)
        }
    }

    /// Reads `path` (a GET, which changes nothing) with the session's credentials, trying
    /// again after a short back-off when a transport fault cut it short, up to
    /// [`READ_ATTEMPTS`] tries; each try has the request deadline.
    pub async fn read(
        &self,
        path: &str,
        wire: Option<&WireLog>,
    ) -> Result<(Reply, Option<(HeaderName, HeaderValue)>), RequestError> {
        let mut attempt = 1;
        loop {
            match self
                .request(Method::GET, path, None, Auth::Session, true, wire)
                .await
            {
                Err(e) if e.is_transport() && attempt < READ_ATTEMPTS => {
                    // Transport retry back-off: a refused connection fails at once, and a
                    // server coming back needs a moment.
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    /// Sends one request with the session's own cookies (for `Auth::Session`) and, when
    /// `send_csrf`, its CSRF token. See [`AgentSession::send`].
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
        auth: Auth,
        send_csrf: bool,
        wire: Option<&WireLog>,
    ) -> Result<(Reply, Option<(HeaderName, HeaderValue)>), RequestError> {
        self.send(method, path, body, &Presented::auth(auth, send_csrf), wire)
            .await
    }

    /// Sends one request presenting exactly `presented`. Returns the reply and, if the
    /// response announced one, the CSRF header/token pair. `Err` means no HTTP reply at all
    /// (transport, deadline, size cap).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
        presented: &Presented,
        wire: Option<&WireLog>,
    ) -> Result<(Reply, Option<(HeaderName, HeaderValue)>), RequestError> {
        let auth = presented.auth;
        let own_cookies =
            matches!(presented.cookie, CookieChoice::Implied) && auth == Auth::Session;
        let client = if own_cookies { &self.http } else { &self.bare };
        let url = self.url(path);
        let mut req = client
            .request(method.clone(), &url)
            .timeout(self.request_timeout);
        match auth {
            Auth::Session => req = req.header(AUTHORIZATION, self.basic.clone()),
            Auth::WrongPassword => req = req.header(AUTHORIZATION, self.wrong_basic.clone()),
            Auth::EmptyPassword => req = req.header(AUTHORIZATION, self.empty_basic.clone()),
            Auth::Anonymous => {}
        }
        if let CookieChoice::Header(value) = &presented.cookie {
            req = req.header(COOKIE, value.clone());
        }
        if method != Method::GET {
            let csrf = match &presented.csrf {
                CsrfChoice::Own => self.csrf_token(),
                CsrfChoice::Omit => None,
                CsrfChoice::Pair(name, value) => Some((name.clone(), value.clone())),
            };
            if let Some((name, value)) = csrf {
                req = req.header(name, value);
            }
        }
        if let Some(b) = body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(b.to_vec());
        }
        let summary = format!("{method} {path}");
        let sent = body.map(String::from_utf8_lossy);
        let after = self.request_timeout;
        let outcome = async {
            let response = req.send().await.map_err(|e| {
                if e.is_timeout() {
                    RequestError::Timeout {
                        url: url.clone(),
                        after,
                    }
                } else {
                    RequestError::Transport {
                        url: url.clone(),
                        message: error_chain(&e),
                    }
                }
            })?;
            let status = response.status().as_u16();
            let csrf = csrf_pair(response.headers());
            let bytes = read_capped(response, self.max_body)
                .await
                .map_err(|e| match e {
                    crate::util::ReadError::Timeout => RequestError::BodyTimeout {
                        url: url.clone(),
                        after,
                    },
                    crate::util::ReadError::TooLarge(message) => RequestError::TooLarge {
                        url: url.clone(),
                        message,
                    },
                    crate::util::ReadError::Other(message) => RequestError::Body {
                        url: url.clone(),
                        message,
                    },
                })?;
            let body = match serde_json::from_slice(&bytes) {
                Ok(v) => Body::Json(v),
                Err(_) => Body::Text(String::from_utf8_lossy(&bytes).into_owned()),
            };
            // The wire log shows the body as it came, which also spares a re-serialisation.
            let raw =
                wire.map(|_| crate::util::truncate(&String::from_utf8_lossy(&bytes), 8 * 1024));
            Ok::<_, RequestError>((Reply { status, body }, csrf, raw))
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
        if own_cookies && let Ok((_, Some(pair), _)) = &outcome {
            // A token announced to the session's own cookies is the one the server now binds
            // to it: after a restart or failover the server opens a new session from the
            // Basic credentials and announces a new token, which the next POST must carry.
            *self.csrf.locked() = Some(pair.clone());
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts the CLI, `doctor` and the findings have always shown.
    #[test]
    fn errors_say_what_the_strings_said() {
        let timeout = RequestError::Timeout {
            url: "http://gws/api/v2/me".into(),
            after: Duration::from_millis(2500),
        };
        assert_eq!(timeout.to_string(), "no response within 2.5s");
        let login = SessionError::Login {
            username: "agent1".into(),
            source: timeout,
        };
        assert_eq!(login.to_string(), "no response within 2.5s");
        assert_eq!(
            SessionError::Refused {
                username: "agent1".into(),
                status: 401
            }
            .to_string(),
            "login as `agent1` was refused (HTTP 401): check the user name and password"
        );
        let handshake = SessionError::Handshake {
            username: "agent1".into(),
            source: BayeuxError::Timeout("/meta/handshake".into()),
        };
        assert_eq!(
            handshake.to_string(),
            "Bayeux handshake as `agent1` failed: no reply to /meta/handshake before the deadline"
        );
        assert_eq!(
            crate::util::error_chain(&handshake),
            handshake.to_string(),
            "the source is not repeated"
        );
    }
}
