//! The scenario model: what a loaded scenario says, independent of YAML.
//!
//! These types are the v1 scenario format. `schemars` derives `specs/scenario.schema.json`
//! from them (`gws-conformance schema`), so the field names and docs here are the format's
//! reference. The loader does not use serde to read them (it converts by hand, to locate every
//! problem), so its key and keyword tables in `format/vocabulary.rs` repeat what the attributes
//! here say; a test there fails when the two differ. They hold no behaviour beyond small
//! accessors; assembling a suite is in `assemble`, running in `run`, judging in `check`.

use super::matcher::Expected;
use super::yaml::Location;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

/// How much a scenario's failure counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Required by the documentation; a failure fails certification.
    Must,
    /// Expected but not certain from the documentation; a failure is a warning.
    Should,
    /// Implementation-defined; the result is informational.
    May,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "must",
            Level::Should => "should",
            Level::May => "may",
        }
    }
}

/// A scenario file: a list of scenarios.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub scenarios: Vec<Scenario>,
}

/// One scenario, instantiated once per listed media. Its ids are `<media>/<operation>/<name>`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short kebab-case name, unique per media and operation.
    pub name: String,
    /// The operation under test (`AttachUserData`, `UpdateUserData`, `DeleteUserData`,
    /// `DeleteUserDataPair`); it classifies the scenario even when the request omits it.
    pub operation: String,
    /// Media names or group names from `media.yaml`; groups are expanded on load.
    pub media: Vec<String>,
    /// `must` (default), `should` or `may`.
    #[serde(default = "default_level")]
    pub level: Level,
    #[serde(default)]
    pub description: Option<String>,
    /// The interaction the scenario starts from.
    #[serde(default)]
    pub given: Given,
    /// The JSON body POSTed to the interaction's URL.
    #[schemars(with = "Option<serde_json::Map<String, Value>>")]
    pub request: Option<Value>,
    /// Further request bodies POSTed back to back after `request`, without waiting for
    /// notifications in between; the expected diff is then the composition of all of them.
    #[serde(default)]
    #[schemars(with = "Vec<serde_json::Map<String, Value>>")]
    pub then: Vec<Value>,
    /// How the request is sent (which agent, which credentials, which interaction).
    #[serde(default)]
    pub send: Send,
    pub expect: Expectation,
    /// Where the scenario is written (not part of the format).
    #[serde(skip)]
    #[schemars(skip)]
    pub source: Source,
}

fn default_level() -> Level {
    Level::Must
}

/// The file and position a scenario was read from.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Source {
    pub file: String,
    pub location: Location,
}

/// The starting interaction.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Given {
    /// A named `userData` preset from `media.yaml`, merged under `userData`.
    #[serde(default)]
    pub preset: Option<String>,
    /// Initial `userData` of the interaction.
    #[serde(default, rename = "userData")]
    #[schemars(with = "Option<serde_json::Map<String, Value>>")]
    pub user_data: Option<Value>,
}

/// Which agent sends the request, with which credentials, to which interaction.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Send {
    /// `first` (default, the interaction's owner) or `second` (another agent).
    #[serde(default, rename = "as")]
    pub agent: AgentRole,
    #[serde(default)]
    pub auth: AuthMode,
    #[serde(default)]
    pub csrf: CsrfMode,
    /// The session cookie presented; omitted, `auth` decides (the agent's own with `agent`,
    /// none otherwise).
    #[serde(default)]
    pub cookie: Option<CookieMode>,
    #[serde(default)]
    pub interaction: InteractionRef,
    /// Sent verbatim instead of `request` (for bodies that are not JSON).
    #[serde(default)]
    pub raw_body: Option<String>,
    /// `post` (default) sends the operation; `get` only reads the interaction; `put` and
    /// `delete` send the request body with a method the API does not use for operations.
    #[serde(default)]
    pub method: SendMethod,
    /// Also prove, with a barrier on every agent's stream, that no other agent was notified.
    #[serde(default)]
    pub watch_all_agents: bool,
    /// Send `request` and every `then` operation at once instead of one after another; the
    /// notifications may come in either order.
    #[serde(default)]
    pub concurrently: bool,
    /// Open a second Bayeux client beside the agents' streams, as an eavesdropper would, and
    /// listen on it while the operation runs (see `expect.listener`).
    #[serde(default)]
    pub listener: Option<ListenerMode>,
}

/// The eavesdropping Bayeux client a scenario opens (`send.listener`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ListenerMode {
    /// A handshake with neither credentials nor a session cookie; if the server accepts it,
    /// the client subscribes to `/v2/me/*` and `/**`.
    Anonymous,
    /// A handshake with the first agent's user name and a wrong password, no cookie; if the
    /// server accepts it, the client subscribes like the anonymous one.
    WrongPassword,
    /// A client the first agent handshook and subscribed to `/v2/me/*`, whose `clientId` is
    /// then presented in a `/meta/connect` with the second agent's credentials and cookie.
    ForeignClientId,
    /// The second agent's client, subscribed to `/v2/me/*` and to channels outside it (`/**`,
    /// `/v2/**`).
    OtherChannels,
    /// A fresh client of the first agent, with its credentials, cookie and token, that goes
    /// through the whole Bayeux life cycle: handshake, connect, subscribe to `/v2/me/*`, and
    /// after the operation a connect asking not to be held (`advice.timeout: 0`), unsubscribe
    /// and disconnect. Every meta reply is kept for `expect.listener: conformant`.
    Protocol,
    /// The second agent's client, subscribed to `/v2/me/*`, which right after the operation
    /// publishes a forged notification about the first agent's interaction on that media's
    /// `/v2/me/` channel (a client may not publish there: only the server announces an
    /// agent's interactions). Neither the owner's stream nor the listener may get it.
    Publisher,
}

/// What the scenario's listener must observe (`expect.listener`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ListenerExpectation {
    /// Nothing about the scenario's interaction reaches the listener.
    Silent,
    /// The listener's handshake is refused, and nothing reaches it.
    Refused,
    /// Every `/meta/*` reply the protocol probe (`send.listener: protocol`) and the run's
    /// notification streams received meets the message-field requirements of Bayeux 1.0.
    Conformant,
}

/// Whether the operation may, or must, be refused (`expect.refusal`).
///
/// A documented refusal is a non-zero `statusCode` with a `statusMessage` in the reply, or, on
/// voice, `statusCode` 0 followed by an `ErrorMessage` notification about the call (the GWS
/// ErrorHandling page: a request passed on to T-Server is refused asynchronously). Either way
/// no notification announces a change and the interaction is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Refusal {
    /// The operation must be refused, in either documented form; the scenario's `response`
    /// describes the synchronous form.
    Required,
    /// Either the scenario's documented effect exactly, or a documented refusal that changes
    /// nothing. The disjunction is the must; the effect is preferred (a refusal is a warning).
    Allowed,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SendMethod {
    /// The operation, POSTed to the interaction's URL.
    #[default]
    Post,
    /// A read of the interaction; no request body.
    Get,
    /// The request body sent with PUT, a method the API does not use for operations.
    Put,
    /// The request body sent with DELETE, a method the API does not use for operations.
    Delete,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AgentRole {
    #[default]
    First,
    Second,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    /// The agent's own Basic credentials and session cookie.
    #[default]
    Agent,
    /// No `Authorization` header and no cookies.
    None,
    /// The agent's user name with a wrong password, no cookies.
    WrongPassword,
    /// The agent's user name with an empty password, no cookies (a directory that takes an
    /// empty password as an anonymous bind would let it through).
    EmptyPassword,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CsrfMode {
    /// Send the CSRF token when the server issued one: the token of the session whose cookie
    /// is presented (the other agent's with `cookie: other-agent`).
    #[default]
    Send,
    /// Never send the CSRF token.
    Omit,
    /// Send the token the server issued to the other agent's session (not applicable when the
    /// server issues no tokens).
    OtherAgent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CookieMode {
    /// The sending agent's own session cookie.
    Own,
    /// No cookies.
    None,
    /// A `JSESSIONID` the server never issued.
    Forged,
    /// The other agent's session cookie, and only that.
    OtherAgent,
    /// A `JSESSIONID` the harness chose, planted the way a session-fixation attack does: the
    /// first agent logs in with its valid Basic credentials presenting it (`GET /api/v2/me`),
    /// then the request presents that cookie alone, with the CSRF token that login announced.
    /// A server that issues its own session id on authentication (ASVS 4.0.3 V3.2.1) knows
    /// nothing by that cookie.
    Planted,
    /// The cookie of a dedicated login of the first agent (a fresh HTTP session) that then
    /// sent `EndContactCenterSession`, documented to invalidate the client's HTTP session; the
    /// request presents that cookie, with the CSRF token it was issued. A scenario using it
    /// ends a session, so it runs in a phase of its own after every other scenario, one at a
    /// time.
    LoggedOut,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum InteractionRef {
    /// The interaction provisioned for this scenario.
    #[default]
    Own,
    /// An id no interaction has (same collection).
    Unknown,
    /// The interaction's own id under another media's collection: `/api/v2/me/chats/{id}`,
    /// or `/api/v2/me/emails/{id}` for a chat.
    OtherMedia,
}

/// What must be observed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// HTTP status and body. Default: status 200, body `{statusCode: 0}` plus the media's
    /// `referenceId` rule.
    #[serde(default)]
    pub response: Option<ResponseExpectation>,
    /// `none`, or the expected notification.
    pub notification: NotificationExpectation,
    /// The interaction read after the request equals the one read before.
    #[serde(default)]
    pub unchanged: bool,
    /// The response body carries nothing of the interaction: neither the interaction object
    /// (an object with its `id`) nor any of its string `userData` values, wherever they sit.
    #[serde(default)]
    pub undisclosed: bool,
    /// What the `send.listener` client must observe; required with `send.listener`.
    #[serde(default)]
    pub listener: Option<ListenerExpectation>,
    /// Pin the notification's shape in `snapshots/` (default: true when a notification is expected).
    #[serde(default)]
    pub snapshot: Option<bool>,
    /// Extra expectations whose failure is only a warning.
    #[serde(default)]
    pub should: Option<ShouldExpectation>,
    /// Whether a documented refusal is required or allowed instead of the effect.
    #[serde(default)]
    pub refusal: Option<Refusal>,
}

/// Expectations graded `should`, for facts the documentation implies but does not state.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShouldExpectation {
    pub response: ResponseExpectation,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseExpectation {
    #[schemars(with = "Option<Value>")]
    pub status: Option<Expected>,
    #[schemars(with = "Option<Value>")]
    pub body: Option<Expected>,
}

/// The notification the request must (or must not) cause.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum NotificationExpectation {
    /// The literal `none`: no notification for the interaction.
    None(NoneKeyword),
    Expected(NotificationSpec),
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NoneKeyword {
    None,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationSpec {
    /// What differs between the interaction read before the request and the one in the
    /// notification, as RFC 6902 operations (`add`, `remove`, `replace`).
    #[schemars(with = "Vec<PatchEntry>")]
    pub diff: Vec<PatchExpectation>,
    /// Matchers on `data` keys, overriding the media table (`notificationType` ...).
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Map<String, Value>>")]
    pub envelope: Vec<(String, Expected)>,
    /// Matchers on the notified interaction object's own keys, for representations the docs
    /// fix (e.g. `userData: !absent` after voice DeleteUserData).
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Map<String, Value>>")]
    pub resource: Vec<(String, Expected)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PatchOp {
    Add,
    Remove,
    Replace,
}

impl PatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            PatchOp::Add => "add",
            PatchOp::Remove => "remove",
            PatchOp::Replace => "replace",
        }
    }
}

/// One expected operation of a loaded scenario (an `each` entry is expanded into several).
#[derive(Debug, Clone, Serialize)]
pub struct PatchExpectation {
    pub op: PatchOp,
    /// JSON pointer inside the interaction object, e.g. `/userData/AccountNumber`.
    pub path: String,
    /// Required for `add` and `replace`; may use matchers.
    pub value: Option<Expected>,
}

/// One entry of `expect.notification.diff` as written (the schema's view of
/// [`PatchExpectation`], plus `each`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PatchExpectation")]
pub struct PatchEntry {
    pub op: PatchOp,
    /// JSON pointer inside the interaction object, e.g. `/userData/AccountNumber`.
    pub path: String,
    /// Required for `add` and `replace` (and with `each`); may use matchers and generators
    /// (`!repeat`, `!keys`).
    #[schemars(with = "Option<Value>")]
    pub value: Option<Expected>,
    /// `true`: one operation per entry of `value` (a mapping, e.g. `!keys {...}`), at
    /// `path/<key>` with that entry's value (`remove` uses only the keys).
    #[serde(default)]
    pub each: bool,
}

impl serde::Serialize for Expected {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_display_json().serialize(s)
    }
}

impl Scenario {
    /// How many requests the scenario sends.
    pub fn request_count(&self) -> usize {
        1 + self.then.len()
    }

    /// The expected diff (empty when no notification is expected).
    pub fn expect_diff(&self) -> &[PatchExpectation] {
        match &self.expect.notification {
            NotificationExpectation::Expected(spec) => &spec.diff,
            NotificationExpectation::None(_) => &[],
        }
    }

    /// Whether the scenario expects a notification.
    pub fn expects_notification(&self) -> bool {
        matches!(
            self.expect.notification,
            NotificationExpectation::Expected(_)
        )
    }

    pub fn wants_snapshot(&self) -> bool {
        self.expect
            .snapshot
            .unwrap_or_else(|| self.expects_notification())
    }

    /// Whether the scenario ends a session (`send.cookie: logged-out`), which cannot happen
    /// beside other scenarios: such scenarios run after all others, one at a time.
    pub fn ends_session(&self) -> bool {
        self.send.cookie == Some(CookieMode::LoggedOut)
    }

    /// The stable id of this scenario on one media.
    pub fn id_for(&self, media: &str) -> String {
        format!("{media}/{}/{}", self.operation, self.name)
    }
}
