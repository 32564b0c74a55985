//! What the runner saw while executing one case, before any judgement.
//!
//! The runner fills this in; `check` turns it into findings. Keeping raw observations apart
//! from verdicts lets the checks be pure functions, tested without a network.
//!
//! Failures it records are typed ([`RequestError`], [`ReadError`], [`NotInFlightTogether`],
//! [`BayeuxError`]); their `Display` is the text the findings quote.

pub use crate::bayeux::{BayeuxError, MetaExchange, MetaResponse};
use crate::result::{TransportFault, WireEntry};
use serde_json::Value;
use std::time::Duration;

/// Whether the case could start.
#[derive(Debug, Clone, PartialEq)]
pub enum Setup {
    Ready,
    /// The target does not offer the media (fixture 4xx, or the feature is absent).
    NotOffered(String),
    /// The target file gives no way to obtain an interaction of the media: it needs fixtures.
    NotProvisionable(String),
    /// The scenario tests an optional server feature the target does not use (e.g. CSRF).
    OptionalFeatureAbsent(String),
    /// Something outside the operation under test failed (fixture error, GET before).
    Failed(String),
    /// A transport fault cut the setup short (the fault is in [`Observation::transport`]):
    /// nothing was learnt about the server.
    Interrupted(String),
}

impl Setup {
    /// A set-up step that failed for `why`: re-done when a transport fault took its reply
    /// (nothing was learnt about the server), a setup failure otherwise.
    pub fn interrupted_or_failed(why: String, transport: bool) -> Setup {
        match transport {
            true => Setup::Interrupted(why),
            false => Setup::Failed(why),
        }
    }
}

/// An HTTP response body: JSON when it parses, text otherwise.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Json(Value),
    Text(String),
}

impl Body {
    pub fn json(&self) -> Option<&Value> {
        match self {
            Body::Json(v) => Some(v),
            Body::Text(_) => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Body::Json(v) => v.to_string(),
            Body::Text(t) => format!("(not JSON) {}", crate::util::truncate(t, 300)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Body,
}

/// Why a request got no HTTP reply at all. The URL is kept for callers that need to say where;
/// the text is only the cause, because the wire log and the findings name the request already.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    #[error("no response within {:.1}s", after.as_secs_f64())]
    Timeout { url: String, after: Duration },
    /// Connection, TLS or protocol failure, as an error chain.
    #[error("{message}")]
    Transport { url: String, message: String },
    #[error("the body did not arrive within {:.1}s", after.as_secs_f64())]
    BodyTimeout { url: String, after: Duration },
    /// The body broke off (reset, truncated).
    #[error("{message}")]
    Body { url: String, message: String },
    /// The body was larger than the cap.
    #[error("{message}")]
    TooLarge { url: String, message: String },
    /// The case ended before its request (setup failed).
    #[error("not sent")]
    NotSent,
    #[error("the scenario has no request to send")]
    NoRequest,
    /// A task sending one of the concurrent requests panicked or was cancelled.
    #[error("a concurrent request task failed: {message}")]
    TaskFailed { message: String },
}

impl RequestError {
    /// Whether the reply was lost on the way rather than given: a refused or reset connection,
    /// no answer before the deadline, a body that broke off or did not finish in time. The
    /// harness cannot tell a slow or lossy network from the server here, so it is a transport
    /// fault (indeterminate), never a finding.
    pub fn is_transport(&self) -> bool {
        matches!(
            self,
            RequestError::Timeout { .. }
                | RequestError::Transport { .. }
                | RequestError::BodyTimeout { .. }
                | RequestError::Body { .. }
        )
    }
}

/// Why the interaction could not be read (`GET` of its path).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("GET {path} answered HTTP {status}: {body}")]
    Status {
        path: String,
        status: u16,
        body: String,
    },
    #[error("GET {path} answered a body that is not JSON: {body}")]
    NotJson { path: String, body: String },
    #[error("GET {path} has no interaction object under {key:?}: {body}")]
    NoResource {
        path: String,
        key: Vec<String>,
        body: String,
    },
    /// The case ended before the read (setup failed).
    #[error("not read")]
    NotRead,
}

impl ReadError {
    /// Whether the read got no reply because of a transport fault ([`RequestError::is_transport`]).
    pub fn is_transport(&self) -> bool {
        matches!(self, ReadError::Request(e) if e.is_transport())
    }
}

/// Concurrent operations that were not provably in flight together.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("one of the {operations} operations was answered before the last was sent")]
pub struct NotInFlightTogether {
    pub operations: usize,
}

/// A notification that reached one agent's Bayeux client.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    /// Index of the agent in the target's agent list.
    pub agent: usize,
    /// The whole Bayeux message (`channel`, `data`, ...).
    pub message: Value,
    /// When it arrived, relative to the operation's POST.
    pub after_post: Duration,
}

#[derive(Debug, Clone)]
pub struct Observation {
    pub setup: Setup,
    /// The interaction object read just before the request.
    pub before: Option<Value>,
    /// The operation's HTTP reply, or why there was none.
    pub response: Result<Reply, RequestError>,
    /// Notifications about the interaction delivered to its owner, in arrival order.
    pub notifications: Vec<Delivered>,
    /// Notifications about the interaction delivered to other agents.
    pub leaked: Vec<Delivered>,
    /// How long the runner waited for the first notification.
    pub notification_deadline: Duration,
    /// Why extra notifications could not be ruled out, if so.
    pub barrier_problem: Option<String>,
    /// Why the owner's notification stream had closed by the end of the wait, if it had.
    pub stream_closed: Option<String>,
    /// The interaction object read after the notification (or after the barrier).
    pub after: Result<Value, ReadError>,
    /// For operations sent concurrently: whether they were provably in flight together (each
    /// later one sent before the first one's answer arrived), or why not.
    pub in_flight_together: Option<Result<(), NotInFlightTogether>>,
    /// What the scenario's eavesdropping Bayeux client (`send.listener`) saw.
    pub listened: Option<Listened>,
    pub wire: Vec<WireEntry>,
    pub duration: Duration,
    /// How the interaction was obtained (fixture contract, or which native operation).
    pub provisioning: Option<String>,
    /// The documented operation whose input gave the interaction the scenario's initial
    /// `userData` (`Dial` or `Create` carrying it, or `AttachUserData` right after the
    /// creation); `None` when the fixture contract, a reset or nothing gave it. `check` holds
    /// [`Observation::before`] to that input.
    pub initial_data_by: Option<&'static str>,
    /// Transport faults that hid part of what the case was to observe: a request without a
    /// reply, a notification stream interrupted (or re-handshaken) during the case's window.
    pub transport: Vec<TransportFault>,
}

impl Observation {
    /// An observation for a case that never got to its request.
    pub fn not_started(setup: Setup, wire: Vec<WireEntry>, duration: Duration) -> Observation {
        Observation {
            setup,
            before: None,
            response: Err(RequestError::NotSent),
            notifications: Vec::new(),
            leaked: Vec::new(),
            notification_deadline: Duration::ZERO,
            barrier_problem: None,
            stream_closed: None,
            after: Err(ReadError::NotRead),
            in_flight_together: None,
            listened: None,
            wire,
            duration,
            provisioning: None,
            initial_data_by: None,
            transport: Vec::new(),
        }
    }

    /// An observation for a case whose setup a transport fault cut short.
    pub fn interrupted(
        fault: TransportFault,
        wire: Vec<WireEntry>,
        duration: Duration,
    ) -> Observation {
        Observation {
            transport: vec![fault.clone()],
            ..Observation::not_started(Setup::Interrupted(fault.to_string()), wire, duration)
        }
    }

    /// Whether a notification stream the case listened on was interrupted during its window,
    /// so that a missing (or extra) notification cannot be ruled out.
    pub fn stream_interrupted(&self) -> bool {
        self.transport.iter().any(|f| f.stream)
    }
}

/// What an eavesdropping Bayeux client saw during a case.
#[derive(Debug, Clone, Default)]
pub struct Listened {
    /// The server's answer to its handshake: accepted, or why it was refused.
    pub handshake: Option<Result<(), BayeuxError>>,
    /// The channels it asked for and whether each subscription was accepted.
    pub subscriptions: Vec<(String, Result<(), BayeuxError>)>,
    /// Messages it received that mention the case's interaction.
    pub heard: Vec<Value>,
    /// Why its silence could not be proven (the drain did not complete), if so.
    pub drain_problem: Option<String>,
    /// For a listener presented under another agent's identity: whether its rightful owner,
    /// connecting afterwards, did receive the notification, which shows there was something
    /// to leak. `None` when not applicable.
    pub owner_heard: Option<bool>,
    /// For the protocol probe (`listener: protocol`): every meta exchange of its own client,
    /// in order (handshake, connect, subscribe, connect, unsubscribe, disconnect).
    pub meta: Vec<MetaExchange>,
    /// For the protocol probe: the meta exchanges the run's long-lived streams kept so far
    /// (their handshake and subscription, a first connect, and any that did not go well), by
    /// agent user name.
    pub stream_meta: Vec<(String, Vec<MetaExchange>)>,
    /// For the protocol probe: why its life cycle ended early without the server being at
    /// fault (the server forgot the probe's client while it held no connect, which Bayeux
    /// allows), so what it did not get to send is unobserved, not passed.
    pub cut_short: Option<String>,
}
