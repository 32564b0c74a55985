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

/// How the runner obtains interactions: through documented GWS operations (`native`), through
/// the fixture contract (`contract`), or both, native first for the media it covers.
#[derive(Debug, Clone, Default)]
pub struct Fixtures {
    pub native: Option<Native>,
    pub contract: Option<Contract>,
}

impl Fixtures {
    /// The fixture contract over HTTP at `base`, nothing native.
    pub fn url(base: impl Into<String>) -> Fixtures {
        Fixtures {
            native: None,
            contract: Some(Contract::Url(base.into())),
        }
    }
}

/// The project's fixture contract, served by the target or run as a program.
#[derive(Debug, Clone)]
pub enum Contract {
    /// The fixture contract over HTTP at this base URL.
    Url(String),
    /// A provisioner program: request JSON on stdin, `{"id", "path"}` on stdout.
    Exec(Vec<String>),
}

/// `fixtures.native`: what the documented operations that create interactions need.
#[derive(Debug, Clone, PartialEq)]
pub struct Native {
    /// The number each agent dials (voice, `Dial`).
    pub dial: Option<String>,
    /// The queue emails, open media and workitems are created into (`queueUri`).
    pub queue_uri: Option<String>,
    /// The queue tweets are created into (`queuePath`).
    pub queue_path: Option<String>,
    /// The open-media type created (the path segment of `openmedia/{type}`).
    pub openmedia_type: Option<String>,
    /// Which media to provision natively; `None`: every media the other keys allow.
    pub media: Option<Vec<String>>,
    /// The number an IM session is initiated to (`InitiateIMSession`).
    pub im: Option<String>,
    /// Where chats are requested as a customer (the Customer Chat API).
    pub chat: Option<CustomerChat>,
    /// Media routed to the first agent by the deployment, accepted and reused.
    pub inbound: Vec<String>,
    /// How long the run waits for each inbound media to be offered.
    pub inbound_wait: Duration,
}

/// `fixtures.native.chat`: the Customer Chat API a chat is requested through.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerChat {
    /// The URL `RequestChat` is posted to, e.g. `https://gws:8443/api/v2/chats`.
    pub customer_api: String,
    /// The `ContactCenterId` header's value.
    pub contact_center_id: String,
}

impl Default for Native {
    fn default() -> Self {
        Native {
            dial: None,
            queue_uri: None,
            queue_path: None,
            openmedia_type: None,
            media: None,
            im: None,
            chat: None,
            inbound: Vec::new(),
            inbound_wait: DEFAULT_INBOUND_WAIT,
        }
    }
}

/// How long a run waits for an inbound interaction when the target file does not say.
pub const DEFAULT_INBOUND_WAIT: Duration = Duration::from_secs(600);

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
            fixtures: Fixtures::url(format!("{base_url}/conformance/v1")),
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
