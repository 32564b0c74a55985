//! Results as data: findings, grades and per-scenario results.
//!
//! The runner produces these, `check` fills in findings and grades, and every reporter reads
//! them. They serialise to the documented `results.jsonl` / `results.json` forms, so field
//! names here are part of the output format.

use crate::spec::Level;
use serde::{Deserialize, Serialize};

/// How much one finding weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Violates what the scenario requires at its level.
    Error,
    /// Violates a `should` expectation.
    Warning,
    /// Worth knowing, never a failure (e.g. extra properties).
    Info,
}

impl Severity {
    /// The most a finding of a scenario at `level` weighs, so that severity follows the
    /// scenario's grade in every view: a `should` scenario's findings are warnings at most, a
    /// `may` scenario's informational.
    pub fn ceiling(level: Level) -> Severity {
        match level {
            Level::Must => Severity::Error,
            Level::Should => Severity::Warning,
            Level::May => Severity::Info,
        }
    }
}

/// Lowers every finding to the ceiling of its scenario's level (see [`Severity::ceiling`]).
/// Grade first: the grade is decided from the findings before they are lowered.
pub fn cap_severities(level: Level, findings: &mut [Finding]) {
    let ceiling = Severity::ceiling(level);
    for f in findings {
        f.severity = f.severity.max(ceiling);
    }
}

/// One observed deviation from the scenario's expectations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    /// Which check: `response.status`, `notification.diff`, `shape` ...
    pub check: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
}

impl Finding {
    /// A finding of severity error; `.severity(…)` lowers it.
    pub fn new(check: &str, message: impl Into<String>) -> Finding {
        Finding {
            severity: Severity::Error,
            check: check.into(),
            message: message.into(),
            expected: None,
            actual: None,
        }
    }

    pub fn with(mut self, expected: impl Into<String>, actual: impl Into<String>) -> Finding {
        self.expected = Some(expected.into());
        self.actual = Some(actual.into());
        self
    }

    pub fn severity(mut self, severity: Severity) -> Finding {
        self.severity = severity;
        self
    }
}

/// The outcome of one scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Grade {
    Pass,
    /// A `must` scenario failed.
    Fail,
    /// A `should` scenario (or `should` expectation) failed.
    Warning,
    /// The target does not offer the media or feature.
    NotApplicable,
    /// Setup outside the operation under test failed.
    CouldNotTest,
    /// A `may` scenario did not pass.
    Informational,
    /// It did not pass, and an active waiver accepts that (`run --waivers`): it does not block,
    /// and its findings and the grade it would have had stay on the result.
    Waived,
    /// It failed, then passed when re-run on a fresh interaction (`run --retries N`); every
    /// attempt is on the result. Blocks certification unless the profile says otherwise.
    Flaky,
    /// Transport faults hid what the scenario was to observe on every attempt the transport
    /// budget allowed: neither passed nor failed. The verdict is incomplete, naming the cause.
    Indeterminate,
}

impl Grade {
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Pass => "pass",
            Grade::Fail => "fail",
            Grade::Warning => "warning",
            Grade::NotApplicable => "not-applicable",
            Grade::CouldNotTest => "could-not-test",
            Grade::Informational => "informational",
            Grade::Waived => "waived",
            Grade::Flaky => "flaky",
            Grade::Indeterminate => "indeterminate",
        }
    }

    /// Whether a re-run could turn it around: the scenario failed or could not be tested.
    pub fn is_failure(self) -> bool {
        matches!(self, Grade::Fail | Grade::CouldNotTest)
    }

    pub const ALL: [Grade; 9] = [
        Grade::Pass,
        Grade::Fail,
        Grade::Warning,
        Grade::NotApplicable,
        Grade::CouldNotTest,
        Grade::Informational,
        Grade::Waived,
        Grade::Flaky,
        Grade::Indeterminate,
    ];

    /// The grade for a scenario at `level` with these findings.
    pub fn from_findings(level: Level, findings: &[Finding]) -> Grade {
        let errors = findings.iter().any(|f| f.severity == Severity::Error);
        let warnings = findings.iter().any(|f| f.severity == Severity::Warning);
        match (level, errors, warnings) {
            (_, false, false) => Grade::Pass,
            (Level::May, _, _) => Grade::Informational,
            (Level::Must, true, _) => Grade::Fail,
            _ => Grade::Warning,
        }
    }
}

/// A transport fault that hid part of what a scenario was to observe: never a finding against
/// the server, it makes the attempt indeterminate and has it re-run on a fresh interaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransportFault {
    /// What it hit: a request (`POST /api/v2/me/chats/…`) or `agent1's notification stream`.
    pub during: String,
    /// Why, as the client saw it: refused, reset, no answer in time, a body that broke off.
    pub cause: String,
    /// A notification stream was interrupted: notifications may have been lost with it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
    /// The server forgot the Bayeux client (a restart or failover): whatever was in flight may
    /// be gone with it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub server_forgot: bool,
    /// An operation under test got no reply: whether the server ever received it is unknown,
    /// so nothing that should have followed it can be judged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub operation: bool,
    /// Which attempt of the scenario it hit, from 1 (0 until the orchestrator numbers it).
    #[serde(default)]
    pub attempt: usize,
}

impl TransportFault {
    pub fn request(during: impl Into<String>, cause: impl std::fmt::Display) -> TransportFault {
        TransportFault {
            during: during.into(),
            cause: cause.to_string(),
            stream: false,
            server_forgot: false,
            operation: false,
            attempt: 0,
        }
    }

    /// A fault on an operation under test (see [`TransportFault::operation`]).
    pub fn operation(during: impl Into<String>, cause: impl std::fmt::Display) -> TransportFault {
        TransportFault {
            operation: true,
            ..TransportFault::request(during, cause)
        }
    }
}

impl std::fmt::Display for TransportFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "transport fault during {}: {}", self.during, self.cause)
    }
}

/// One entry of a scenario's wire log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireEntry {
    /// Milliseconds since the scenario started.
    pub t_ms: f64,
    /// `http` or `bayeux`.
    pub kind: String,
    /// For HTTP: `GET /path`; for Bayeux: the channel.
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
}

/// Everything known about one finished scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    pub id: String,
    pub media: String,
    pub operation: String,
    pub level: Level,
    pub grade: Grade,
    pub findings: Vec<Finding>,
    pub duration_ms: f64,
    /// Operation POST sent → first notification received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// The notification with volatile values redacted, as pinned in snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<serde_json::Value>,
    /// `file:line` of the scenario.
    pub source: String,
    /// How the interaction was obtained: the fixture contract, or which native operation and
    /// how the initial `userData` was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning: Option<String>,
    pub wire: Vec<WireEntry>,
    /// The waiver that accepted this scenario's failure (grade `waived`), with the grade it
    /// would have had.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<AppliedWaiver>,
    /// With `--retries`, every attempt of a scenario that failed at first, in order (the last
    /// is the one the rest of the result describes); empty when the first attempt was final.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
    /// The transport faults of every attempt (numbered): why attempts were re-done, or why the
    /// scenario is indeterminate. Empty on a clean network.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transport: Vec<TransportFault>,
    /// What the scenario's interaction was announced as, to recognise a late repeat; kept in
    /// memory only (the run attributes late notifications before writing results).
    #[serde(skip)]
    pub received: Received,
}

/// The notifications a scenario received, as fingerprints: their `referenceId`s and the
/// announced states (volatile properties left out).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Received {
    pub reference_ids: Vec<serde_json::Value>,
    pub states: Vec<serde_json::Value>,
    /// Property names of the media's interaction object and its volatile JSON pointers, to
    /// fingerprint a later message the same way.
    pub resource_keys: Vec<String>,
    pub volatile: Vec<String>,
}

impl Received {
    /// The announced state of `message`'s interaction, volatile properties removed.
    pub fn state_of(&self, message: &serde_json::Value) -> Option<serde_json::Value> {
        let data = message.get("data")?;
        let mut state = self.resource_keys.iter().find_map(|k| data.get(k))?.clone();
        for pointer in &self.volatile {
            let (parent, leaf) = pointer.rsplit_once('/')?;
            let holder = if parent.is_empty() {
                Some(&mut state)
            } else {
                state.pointer_mut(parent)
            };
            if let Some(obj) = holder.and_then(serde_json::Value::as_object_mut) {
                obj.remove(leaf);
            }
        }
        if let Some(obj) = state.as_object_mut()
            && obj
                .get("userData")
                .is_some_and(|u| u.as_object().is_some_and(|m| m.is_empty()))
        {
            obj.remove("userData");
        }
        Some(state)
    }

    /// Why `message` repeats a notification already received, if it does: the same
    /// `referenceId`, or for media without one, the same announced state.
    pub fn repeated_by(&self, message: &serde_json::Value) -> Option<String> {
        match message.pointer("/data/referenceId") {
            Some(reference) => self
                .reference_ids
                .contains(reference)
                .then(|| format!("it has referenceId {reference}, as one the scenario received")),
            None => {
                let state = self.state_of(message)?;
                self.states
                    .contains(&state)
                    .then(|| "it announces the same state as one the scenario received".into())
            }
        }
    }
}

/// One run of a scenario on its own fresh interaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub grade: Grade,
    pub findings: Vec<Finding>,
    pub duration_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    pub wire: Vec<WireEntry>,
}

impl Attempt {
    pub fn of(result: &ScenarioResult) -> Attempt {
        Attempt {
            grade: result.grade,
            findings: result.findings.clone(),
            duration_ms: result.duration_ms,
            latency_ms: result.latency_ms,
            wire: result.wire.clone(),
        }
    }
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "must" => Ok(Level::Must),
            "should" => Ok(Level::Should),
            "may" => Ok(Level::May),
            other => Err(serde::de::Error::custom(format!("unknown level `{other}`"))),
        }
    }
}

/// The waivers' types live here, beside the result that carries one; reading a waiver file
/// and applying it are `verdict::waivers`'s.
/// One accepted deviation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiver {
    /// A scenario id, or a glob with `*` that must match a whole id.
    pub scenario: String,
    pub reason: String,
    pub owner: String,
    /// The last day the waiver holds, `YYYY-MM-DD`.
    pub expires: String,
    /// `file:line` of the entry.
    pub source: String,
}

/// A waiver that covered a scenario's failure, kept on the result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedWaiver {
    #[serde(flatten)]
    pub waiver: Waiver,
    /// The grade the scenario would have had without the waiver.
    pub grade: Grade,
}
/// The finding of a scenario whose media the target gives no way to provision: graded
/// not-applicable, counted as "cannot be provisioned" by every view, and making the verdict
/// incomplete rather than failed.
pub const FIXTURES_NEEDED: &str = "setup.fixtures";

impl ScenarioResult {
    /// Not applicable because the target gives no way to provision its media.
    pub fn not_provisioned(&self) -> bool {
        self.grade == Grade::NotApplicable
            && self.findings.iter().any(|f| f.check == FIXTURES_NEEDED)
    }

    /// Not applicable only because an optional server feature is absent (e.g. no CSRF):
    /// accepted by a verdict.
    pub fn optional_absent(&self) -> bool {
        self.grade == Grade::NotApplicable
            && self.findings.iter().any(|f| f.check == OPTIONAL_ABSENT)
    }
}

/// The finding of a scenario that tests an optional feature the server does not use.
pub const OPTIONAL_ABSENT: &str = "setup.optional";

#[cfg(test)]
impl ScenarioResult {
    /// A `must` result on `media` with these findings and the grade they give, for the tests of
    /// what consumes results (reports, waivers, merges); everything else empty.
    pub(crate) fn for_test(id: &str, media: &str, findings: Vec<Finding>) -> ScenarioResult {
        ScenarioResult {
            id: id.into(),
            media: media.into(),
            operation: "UpdateUserData".into(),
            level: Level::Must,
            grade: Grade::from_findings(Level::Must, &findings),
            findings,
            duration_ms: 1.0,
            latency_ms: None,
            notification: None,
            source: "specs/scenarios/x.yaml:1".into(),
            provisioning: None,
            wire: Vec::new(),
            received: Default::default(),
            waiver: None,
            attempts: Vec::new(),
            transport: Vec::new(),
        }
    }
}
