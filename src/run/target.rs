//! The server under test and how the run treats it: target, credentials, deadlines.
//!
//! A [`Target`] is plain data; reading target files lives here too so that every source of a
//! target (the embedded server, a YAML file) ends in the same struct. Passwords are wrapped in
//! [`Secret`], whose `Debug` and `Display` never show the value.

use std::fmt;
use std::time::Duration;

/// A password or token that must never be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub password: Secret,
}

/// How the runner obtains interactions.
#[derive(Debug, Clone)]
pub enum Fixtures {
    /// The fixture contract over HTTP at this base URL.
    Url(String),
    /// A provisioner program: request JSON on stdin, `{"id", "path"}` on stdout.
    Exec(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    /// Scheme, host and port (and any path prefix) in front of `/api/v2`.
    pub base_url: String,
    /// At least one agent; the second, when present, is used for isolation scenarios.
    pub agents: Vec<Credentials>,
    pub fixtures: Fixtures,
    /// Accept any TLS certificate (only when written in the target file).
    pub insecure: bool,
    /// Extra CA certificate (PEM) to trust.
    pub ca_cert: Option<Vec<u8>>,
}

impl Target {
    /// A server that serves the fixture contract at `/conformance/v1` and knows these agents,
    /// such as the embedded reference server.
    pub fn embedded(
        name: impl Into<String>,
        base_url: &str,
        agents: &[(String, String)],
    ) -> Target {
        Target {
            name: name.into(),
            base_url: base_url.to_string(),
            agents: agents
                .iter()
                .map(|(u, p)| Credentials {
                    username: u.clone(),
                    password: Secret::new(p.clone()),
                })
                .collect(),
            fixtures: Fixtures::Url(format!("{base_url}/conformance/v1")),
            insecure: false,
            ca_cert: None,
        }
    }
}

/// Every wait in a run is bounded by one of these.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deadlines {
    /// One HTTP request, connection to last byte.
    pub request: Duration,
    /// From the operation's POST to its notification.
    pub notification: Duration,
    /// A whole scenario, setup and cleanup included.
    pub scenario: Duration,
    /// The whole run.
    pub run: Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            request: Duration::from_secs(10),
            notification: Duration::from_secs(5),
            scenario: Duration::from_secs(30),
            run: Duration::from_secs(600),
        }
    }
}

/// How the run behaves, independent of the target.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Scenarios in flight at once.
    pub jobs: usize,
    pub deadlines: Deadlines,
    /// Largest HTTP body accepted from the server.
    pub max_body: usize,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            jobs: 8,
            deadlines: Deadlines::default(),
            max_body: 4 * 1024 * 1024,
        }
    }
}
