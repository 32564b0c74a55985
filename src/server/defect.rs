//! Defects the reference server can inject, one at a time, to measure the suite's power.
//!
//! Each defect is a realistic mistake a GWS implementation could make. The server consults the
//! active defect at the few points where behaviour forks; with no defect it is the faithful
//! model. This module only names and describes defects; the forks live where they act.

use std::fmt;

macro_rules! defects {
    ($($variant:ident = $name:literal : $about:literal,)*) => {
        /// A single injected server defect.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Defect { $($variant,)* }

        impl Defect {
            pub const ALL: &'static [Defect] = &[$(Defect::$variant,)*];

            pub fn name(self) -> &'static str {
                match self { $(Defect::$variant => $name,)* }
            }

            pub fn description(self) -> &'static str {
                match self { $(Defect::$variant => $about,)* }
            }
        }
    };
}

defects! {
    NoNotification = "no-notification": "a successful operation never sends its notification",
    DuplicateNotification = "duplicate-notification": "every notification is sent twice",
    WrongChannel = "wrong-channel": "notifications go out on /v2/me/interactions instead of the media channel",
    WrongNotificationType = "wrong-notification-type": "user-data changes are announced as StatusChange",
    WrongMessageType = "wrong-message-type": "notifications carry InteractionStateChangeMessage",
    MissingReferenceId = "missing-reference-id": "multimedia notifications omit referenceId",
    ConstantReferenceId = "constant-reference-id": "referenceId is always 1 instead of a fresh value per request",
    UpdateReplacesAll = "update-replaces-all": "UpdateUserData replaces the whole userData instead of merging",
    AttachDropsOthers = "attach-drops-others": "AttachUserData keeps only the attached keys",
    UpdateKeepsOld = "update-keeps-old": "UpdateUserData does not overwrite keys that already exist",
    DeleteFirstKeyOnly = "delete-first-key-only": "DeleteUserData with several keys deletes only the first",
    DeleteTooMuch = "delete-too-much": "DeleteUserData with keys deletes every key",
    NumbersAsStrings = "numbers-as-strings": "integer values come back as strings",
    UnicodeDamage = "unicode-damage": "non-ASCII characters are replaced by '?'",
    VoiceDeleteLeavesEmpty = "voice-delete-leaves-empty": "voice DeleteUserData leaves \"userData\": {} instead of removing it",
    TouchesOtherFields = "touches-other-fields": "every operation also changes the interaction's state",
    FailedOpMutates = "failed-op-mutates": "a rejected operation still applies the userData it carried",
    FailedOpNotifies = "failed-op-notifies": "a rejected operation still sends a notification",
    ErrorStatusZero = "error-status-zero": "errors are answered with HTTP 200 and statusCode 0",
    NoAuth = "no-auth": "requests without valid credentials are served",
    EmptyPasswordAccepted = "empty-password-accepted": "a known user name with an empty password is accepted, as a directory that takes an empty password for an anonymous bind would",
    CrossAgentAccess = "cross-agent-access": "an agent can read and change another agent's interactions",
    CrossAgentNotifications = "cross-agent-notifications": "notifications reach every agent's clients",
    AnonymousHandshake = "anonymous-handshake": "the CometD endpoint serves requests without credentials (handshake included) as the first agent",
    BayeuxIgnoresPassword = "bayeux-ignores-password": "the CometD endpoint takes the user name of Basic credentials without checking the password",
    ClientIdNotBound = "client-id-not-bound": "a Bayeux clientId is served to whoever presents it, not only to the agent that handshook it",
    SubscribeAnywhere = "subscribe-anywhere": "a subscription outside /v2/me/ receives every agent's notifications on the channels it matches",
    ClientPublishDelivered = "client-publish-delivered": "a message a client publishes on a channel is delivered to every agent's clients subscribed to it (no publish authorizer), so one agent can forge notifications in another's stream",
    StaleGet = "stale-get": "GET returns the interaction as it was before the last operation",
    LateNotification = "late-notification": "notifications are sent only after a long delay",
    WrongResourceKey = "wrong-resource-key": "the interaction object is sent under \"interaction\"",
    NotificationOmitsChange = "notification-omits-change": "the notification carries the interaction as it was before the change",
    RefusalCarriesInteraction = "refusal-carries-interaction": "a GET refused for missing credentials answers 401 with the interaction in the body",
    CsrfTokenUnbound = "csrf-token-unbound": "a CSRF token issued to any session is accepted on every session",
    ForgedSessionAdopted = "forged-session-adopted": "a JSESSIONID the server never issued is served as the first agent's session instead of re-authenticating from the Basic credentials",
    CookieOverridesBasic = "cookie-overrides-basic": "a valid session cookie wins over another user's Basic credentials",
    SessionIdFromClient = "session-id-from-client": "a JSESSIONID the client presents with valid Basic credentials, never issued by the server, becomes the id of the session those credentials open (session fixation)",
    LogoutKeepsSession = "logout-keeps-session": "EndContactCenterSession ends the contact-center session but keeps the HTTP session (its cookie and CSRF token stay valid)",
    AnyMethodAsPost = "any-method-as-post": "PUT, PATCH and DELETE on an interaction are served as POST (a request mapping that names no method), so a PUT carrying an operation changes the interaction",
    AnyMediaAnyPath = "any-media-any-path": "an interaction is served and changed under any media's collection, not only its own (an SMS session at /api/v2/me/chats/{id})",
    HandshakeWithoutConnectionTypes = "handshake-without-connection-types": "a successful Bayeux handshake reply has no supportedConnectionTypes",
    HandshakeWebsocketOnly = "handshake-websocket-only": "the Bayeux handshake reply announces only websocket, none of the connection types the client offered, while the endpoint goes on serving long-polling",
    ConnectReplyWithoutId = "connect-reply-without-id": "/meta/connect replies do not carry the request's id (the reply of a held poll is built from the client's state, not from its request)",
    BayeuxTextPlain = "bayeux-text-plain": "the CometD endpoint answers with Content-Type text/plain;charset=UTF-8 instead of application/json (a Bayeux SHOULD: the suite warns, it does not fail)",
    DurationAsNumber = "duration-as-number": "a call's duration is a JSON number, not the documented string of seconds",
    LostConcurrentUpdate = "lost-concurrent-update": "of two operations on one interaction that overlap, the later write loses the earlier one's change",
    TruncateLongValues = "truncate-long-values": "string values longer than 1,000 bytes are cut to 1,000 bytes",
    TrimKeys = "trim-keys": "keys are stored with leading and trailing whitespace trimmed",
    TrimValues = "trim-values": "string values are stored trimmed as Java's String.trim() does: leading and trailing spaces, tabs, line breaks and other control characters removed",
    CaseInsensitiveKeys = "case-insensitive-keys": "keys that differ only by case are the same key (the first spelling stays)",
    SilentDamage = "silent-damage": "unusual user data is answered statusCode 0 but stored otherwise: nulls and the empty key dropped, non-integral numbers truncated, booleans as strings, objects below the second level as JSON text, keys beyond the hundredth dropped",
    AsyncErrorApplies = "async-error-applies": "voice refusals come asynchronously (statusCode 0, then an ErrorMessage), but the refused request's userData is applied anyway",
    RepeatOnRelease = "repeat-on-release": "when an interaction is released (cleanup or ending), its last notification is sent again, referenceId and all",
    FlakyFirstAttach = "flaky-first-attach": "the first AttachUserData with a given body on a media is answered 503 and changes nothing; the same request again is served (a scenario fails once, then passes on a fresh interaction)",
    DialIgnoresUserData = "dial-ignores-user-data": "Dial answers statusCode 0 and places the call, but drops the documented userData it was given (the call starts with none)",
    DropUnderLoad = "drop-under-load": "once more than 50 Bayeux clients are connected, 1 notification in 500 is never delivered",
    CrossUnderLoad = "cross-under-load": "once more than 50 Bayeux clients are connected, 1 notification in 200 also reaches another agent's client",
    LostUpdateUnderLoad = "lost-update-under-load": "once more than 50 Bayeux clients are connected, an operation arriving within 5 ms of the previous one on the same interaction is applied to the state before that one, losing it",
}

/// How many connected Bayeux clients make the load-only defects act: far more than the suite's
/// two agents ever open, far fewer than a load run opens.
pub const LOAD_CLIENTS: usize = 50;

impl Defect {
    /// Whether the defect lives in the CSRF check, so that a server showing it must protect
    /// against CSRF (with protection off, the defect could not act).
    pub fn needs_csrf(self) -> bool {
        self == Defect::CsrfTokenUnbound
    }

    /// Whether the defect lives in a documented operation only native provisioning sends
    /// (`Dial`), so that `mutants` must reach the server's voice calls natively to see it.
    pub fn needs_native_voice(self) -> bool {
        self == Defect::DialIgnoresUserData
    }

    /// Whether the defect acts only under load (more than [`LOAD_CLIENTS`] Bayeux clients):
    /// the plain suite cannot see it, so `mutants` leaves it to `mutants --load`.
    pub fn load_only(self) -> bool {
        matches!(
            self,
            Defect::DropUnderLoad | Defect::CrossUnderLoad | Defect::LostUpdateUnderLoad
        )
    }

    /// Whether the defect breaks only a SHOULD of the specification it is about, so that a
    /// server showing it is still conformant (Bayeux 1.0 §1.2: "conditionally compliant"): the
    /// suite must warn about it and still pass the server, so `mutants`, which counts kills by
    /// failed `must` scenarios, leaves it out. `tests/integration/bayeux.rs` and the interop kit check the
    /// warning.
    pub fn warning_only(self) -> bool {
        self == Defect::BayeuxTextPlain
    }

    /// Whether `mutants` runs the defect against the suite (neither load-only nor
    /// warning-only).
    pub fn in_kill_matrix(self) -> bool {
        !self.load_only() && !self.warning_only()
    }

    pub fn parse(name: &str) -> Option<Defect> {
        Defect::ALL.iter().copied().find(|d| d.name() == name)
    }
}

/// A defect name no defect has; its message says where the names are listed.
#[derive(Debug, thiserror::Error)]
#[error("unknown defect `{0}`; `gws-conformance serve --list-defects` lists them")]
pub struct UnknownDefect(pub String);

impl std::str::FromStr for Defect {
    type Err = UnknownDefect;

    fn from_str(name: &str) -> Result<Defect, UnknownDefect> {
        Defect::parse(name).ok_or_else(|| UnknownDefect(name.to_string()))
    }
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
