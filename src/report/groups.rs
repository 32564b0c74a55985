//! Root causes: findings grouped across scenarios, so a vendor reads "missing
//! /data/twitter/receivedDate — 13 scenarios" once instead of thirteen times.
//!
//! Two findings share a root cause when they come from the same `check` and their messages are
//! equal after normalisation. Severity is not part of the key: a finding's severity follows its
//! scenario's level, so one defect is an error in `must` scenarios and a warning in `should`
//! ones; the cause takes the worst and counts its scenarios per severity. Normalisation removes only what
//! differs from scenario to scenario for the same defect:
//!
//! - **interaction ids** → `{id}`: the ids the scenario itself used (taken from its wire log:
//!   fixture answers and request paths), and any segment following `/api/v2/me/<collection>/`
//!   or `/interactions/`;
//! - **durations** → `{duration}`: `within 1.0s`, `after 12 ms` (deadlines and timings vary
//!   with options and load, not with the defect);
//! - **referenceId values** → `{n}`: `"referenceId":7`, `referenceId 7`, `referenceId…got 7`;
//! - **the media's resource key** in JSON pointers (`/data/call`, `/data/chat`, …) →
//!   `/data/{resource}`, but *only when that merges groups*: when findings of several media
//!   differ only by their resource key. A problem seen on one media keeps its literal pointer
//!   (`missing /data/twitter/receivedDate`), which is the more useful text.
//!
//! Resource keys are learned from the results themselves (the `data` member holding the
//! interaction in the scenario's notification or in the pinned shape a finding quotes, and the
//! key a `notification.resource` finding expected), so the report stage needs no media table.
//! Other numbers (HTTP statuses, counts, expected values) are deliberately kept: they usually
//! *are* the root cause.
//!
//! This module does no IO and never fails: unknown shapes of message are simply not
//! normalised, which at worst leaves two groups where one would do.

use crate::result::{ScenarioResult, Severity};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

/// Findings of several scenarios that share a check and a normalised message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootCause {
    /// The worst severity among its scenarios (a finding's severity follows its scenario's
    /// level, so one defect can be an error in `must` scenarios and a warning in `should` ones).
    pub severity: Severity,
    /// Scenarios per severity, each counted at its worst, when they differ (empty when every
    /// scenario has [`RootCause::severity`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub severities: BTreeMap<Severity, usize>,
    pub check: String,
    /// The normalised message (placeholders `{id}`, `{duration}`, `{n}`, `{resource}`).
    pub message: String,
    /// Number of distinct scenarios (a scenario counts once even with several such findings).
    pub count: usize,
    /// The media of those scenarios, sorted.
    pub media: Vec<String>,
    /// Scenario ids, sorted.
    pub scenarios: Vec<String>,
}

static ME_PATH_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(/api/v2/me/[A-Za-z][A-Za-z-]*/)[^/\s"'`),;?#]+"#).expect("a valid regex")
});
static FIXTURE_PATH_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(/interactions/)[^/\s"'`),;?#]+"#).expect("a valid regex"));
static DURATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d+(?:\.\d+)?\s?(?:ms|µs|s)\b").expect("a valid regex"));
static REFERENCE_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(referenceIds?\W{1,6})-?\d+"#).expect("a valid regex"));
static REFERENCE_ID_GOT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(referenceId[^;)\n]{0,60}?\bgot )-?\d+"#).expect("a valid regex")
});
static DATA_MEMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"/data/([^/\s"'`),;]+)"#).expect("a valid regex"));
static BACKTICKED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"`([^`\s]+)`").expect("a valid regex"));

/// Ids shorter than this are not replaced verbatim: they could be ordinary words or numbers.
const MIN_ID_LEN: usize = 6;

/// Removes the per-scenario values from `message`; `ids` are the interaction ids the scenario
/// used.
pub fn normalise(message: &str, ids: &BTreeSet<String>) -> String {
    let mut text = ME_PATH_ID.replace_all(message, "${1}{id}").into_owned();
    text = FIXTURE_PATH_ID.replace_all(&text, "${1}{id}").into_owned();
    // Longest first, so an id that contains another is replaced whole.
    let mut ids: Vec<&String> = ids.iter().filter(|i| i.len() >= MIN_ID_LEN).collect();
    ids.sort_by_key(|i| std::cmp::Reverse(i.len()));
    for id in ids {
        text = text.replace(id.as_str(), "{id}");
    }
    text = REFERENCE_ID_GOT.replace_all(&text, "${1}{n}").into_owned();
    text = REFERENCE_ID.replace_all(&text, "${1}{n}").into_owned();
    DURATION.replace_all(&text, "{duration}").into_owned()
}

/// `message` with every `/data/<key>` whose key is one of `keys` written `/data/{resource}`.
pub fn generalise_resource(message: &str, keys: &BTreeSet<String>) -> String {
    DATA_MEMBER
        .replace_all(message, |c: &regex::Captures| {
            if keys.contains(&c[1]) {
                "/data/{resource}".to_string()
            } else {
                c[0].to_string()
            }
        })
        .into_owned()
}

/// The interaction ids a scenario used, from its wire log.
fn interaction_ids(r: &ScenarioResult) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for w in r.wire.iter().filter(|w| w.kind == "http") {
        for re in [&*ME_PATH_ID, &*FIXTURE_PATH_ID] {
            for m in re.find_iter(&w.summary) {
                if let Some(id) = m.as_str().rsplit('/').next() {
                    ids.insert(id.to_string());
                }
            }
        }
        // The fixture contract answers `{"id": …, "path": …}`.
        if w.summary.contains("/interactions")
            && let Some(Value::String(id)) = w
                .response
                .as_deref()
                .and_then(|b| serde_json::from_str::<Value>(b).ok())
                .and_then(|v| v.get("id").cloned())
        {
            ids.insert(id);
        }
    }
    ids
}

/// Members of a notification's `data` that hold an interaction (an object with `id` or
/// `userData`).
fn resource_members(notification: &Value, into: &mut BTreeSet<String>) {
    if let Some(data) = notification.get("data").and_then(Value::as_object) {
        for (k, v) in data {
            if v.get("id").is_some() || v.get("userData").is_some() {
                into.insert(k.clone());
            }
        }
    }
}

/// The resource keys seen for one scenario's media in its own result.
fn resource_keys(r: &ScenarioResult, into: &mut BTreeSet<String>) {
    if let Some(n) = &r.notification {
        resource_members(n, into);
    }
    for f in &r.findings {
        if f.check == "notification.resource"
            && let Some(expected) = &f.expected
        {
            into.extend(BACKTICKED.captures_iter(expected).map(|c| c[1].to_string()));
        }
        for side in [&f.expected, &f.actual].into_iter().flatten() {
            if side.trim_start().starts_with('{')
                && let Ok(v) = serde_json::from_str::<Value>(side)
            {
                resource_members(&v, into);
            }
        }
    }
}

type Key = (String, String);

#[derive(Default)]
struct Group {
    /// Each scenario with its worst finding's severity.
    scenarios: BTreeMap<String, Severity>,
    media: BTreeSet<String>,
    /// The message with the resource key generalised, per scenario's media.
    generic: BTreeSet<String>,
}

/// Groups every finding of `results` by root cause: errors first, then warnings, then info;
/// within a severity, the cause shared by most scenarios first.
pub fn root_causes(results: &[ScenarioResult]) -> Vec<RootCause> {
    grouped(results, &|_, _| true)
}

/// The root causes that block certification: the errors of the scenarios named in `blocking`
/// (a blocking scenario without an error, such as one whose operations never overlapped,
/// contributes all its findings), grouped as [`root_causes`] groups them.
pub fn blocking_causes(results: &[ScenarioResult], blocking: &[String]) -> Vec<RootCause> {
    let blocking: BTreeSet<&str> = blocking.iter().map(String::as_str).collect();
    grouped(results, &|r, f| {
        blocking.contains(r.id.as_str())
            && (f.severity == Severity::Error
                || !r.findings.iter().any(|f| f.severity == Severity::Error))
    })
}

/// Groups the findings of `results` that `keep` keeps.
fn grouped(
    results: &[ScenarioResult],
    keep: &dyn Fn(&ScenarioResult, &crate::result::Finding) -> bool,
) -> Vec<RootCause> {
    let mut keys_by_media: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for r in results {
        resource_keys(r, keys_by_media.entry(r.media.as_str()).or_default());
    }
    let no_keys = BTreeSet::new();
    let mut literal: BTreeMap<Key, Group> = BTreeMap::new();
    for r in results {
        let ids = interaction_ids(r);
        let keys = keys_by_media.get(r.media.as_str()).unwrap_or(&no_keys);
        for f in r.findings.iter().filter(|f| keep(r, f)) {
            let message = normalise(&f.message, &ids);
            let generic = generalise_resource(&message, keys);
            let g = literal.entry((f.check.clone(), message)).or_default();
            let worst = g.scenarios.entry(r.id.clone()).or_insert(f.severity);
            *worst = (*worst).min(f.severity);
            g.media.insert(r.media.clone());
            g.generic.insert(generic);
        }
    }
    // Second pass: literal groups that differ only by their media's resource key merge.
    let mut merged: BTreeMap<Key, Vec<(String, Group)>> = BTreeMap::new();
    for ((check, message), g) in literal {
        let generic = match g.generic.len() {
            1 => g.generic.iter().next().cloned().unwrap_or_default(),
            // The same text meant different things for different media: keep it literal.
            _ => message.clone(),
        };
        merged
            .entry((check, generic))
            .or_default()
            .push((message, g));
    }
    let mut causes: Vec<RootCause> = merged
        .into_iter()
        .map(|((check, generic), parts)| {
            let message = match parts.as_slice() {
                [(only, _)] => only.clone(),
                _ => generic,
            };
            let mut scenarios: BTreeMap<String, Severity> = BTreeMap::new();
            let mut media = BTreeSet::new();
            for (_, g) in parts {
                for (id, severity) in g.scenarios {
                    let worst = scenarios.entry(id).or_insert(severity);
                    *worst = (*worst).min(severity);
                }
                media.extend(g.media);
            }
            let mut severities: BTreeMap<Severity, usize> = BTreeMap::new();
            for severity in scenarios.values() {
                *severities.entry(*severity).or_default() += 1;
            }
            let severity = severities.keys().next().copied().unwrap_or(Severity::Info);
            if severities.len() == 1 {
                severities.clear();
            }
            RootCause {
                severity,
                severities,
                check,
                message,
                count: scenarios.len(),
                media: media.into_iter().collect(),
                scenarios: scenarios.into_keys().collect(),
            }
        })
        .collect();
    causes.sort_by(|a, b| {
        (a.severity, std::cmp::Reverse(a.count), &a.check, &a.message).cmp(&(
            b.severity,
            std::cmp::Reverse(b.count),
            &b.check,
            &b.message,
        ))
    });
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{Finding, WireEntry};
    use crate::spec::Level;
    use serde_json::json;

    fn ids(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn result(id: &str, media: &str, findings: Vec<Finding>) -> ScenarioResult {
        ScenarioResult::for_test(id, media, findings)
    }

    fn http(summary: &str, response: Option<&str>) -> WireEntry {
        WireEntry {
            t_ms: 0.0,
            kind: "http".into(),
            summary: summary.into(),
            agent: None,
            status: Some(200),
            request: None,
            response: response.map(String::from),
        }
    }

    #[test]
    fn durations_are_placeholders_and_other_numbers_stay() {
        assert_eq!(
            normalise("no notification for the interaction within 1.0s", &ids(&[])),
            "no notification for the interaction within {duration}"
        );
        assert_eq!(
            normalise("no response within 10s, then 250 ms more", &ids(&[])),
            "no response within {duration}, then {duration} more"
        );
        // Statuses and expected values are what a vendor fixes: never normalised.
        let kept = "HTTP status 200 does not match 400 (/statusCode: expected 1, got 0)";
        assert_eq!(normalise(kept, &ids(&[])), kept);
        assert_eq!(
            normalise("wrong value at /userData/UserData2: expected 42", &ids(&[])),
            "wrong value at /userData/UserData2: expected 42"
        );
    }

    #[test]
    fn interaction_ids_are_placeholders() {
        assert_eq!(
            normalise(
                "GET /api/v2/me/chats/03W07R2WKI004KSA51TN answered HTTP 500: oops",
                &ids(&[])
            ),
            "GET /api/v2/me/chats/{id} answered HTTP 500: oops"
        );
        assert_eq!(
            normalise(
                "cleanup answered HTTP 500 for http://h:1/conformance/v1/interactions/ABC123XYZ",
                &ids(&[])
            ),
            "cleanup answered HTTP 500 for http://h:1/conformance/v1/interactions/{id}"
        );
        // An id the scenario used, wherever it appears in free text.
        assert_eq!(
            normalise(
                "interaction 03W07R2WKI004KSA51TN is unknown",
                &ids(&["03W07R2WKI004KSA51TN", "ab"])
            ),
            "interaction {id} is unknown"
        );
        // Too short to be replaced verbatim without hitting ordinary text.
        assert_eq!(normalise("abc abcd", &ids(&["abc"])), "abc abcd");
    }

    #[test]
    fn reference_id_values_are_placeholders() {
        assert_eq!(
            normalise(r#"body {"statusCode":0,"referenceId":17}"#, &ids(&[])),
            r#"body {"statusCode":0,"referenceId":{n}}"#
        );
        assert_eq!(
            normalise("referenceId 4 is not above referenceId 9", &ids(&[])),
            "referenceId {n} is not above referenceId {n}"
        );
        assert_eq!(
            normalise(
                "the response body does not match (/referenceId: expected !type string, got 12)",
                &ids(&[])
            ),
            "the response body does not match (/referenceId: expected !type string, got {n})"
        );
    }

    #[test]
    fn resource_keys_are_generalised_only_when_listed() {
        let keys = ids(&["call"]);
        assert_eq!(
            generalise_resource("missing /data/call, /data/call/userData/A", &keys),
            "missing /data/{resource}, /data/{resource}/userData/A"
        );
        assert_eq!(
            generalise_resource("missing /data/referenceId, /data/calls", &keys),
            "missing /data/referenceId, /data/calls"
        );
    }

    #[test]
    fn one_cause_across_scenarios_becomes_one_group() {
        let msg = |s: &str| Finding::new("notification", s);
        let results = vec![
            result(
                "chat/UpdateUserData/a",
                "chat",
                vec![msg("no notification for the interaction within 1.0s")],
            ),
            result(
                "sms/UpdateUserData/a",
                "sms",
                vec![msg("no notification for the interaction within 5.0s")],
            ),
            result(
                "sms/UpdateUserData/b",
                "sms",
                vec![
                    msg("no notification for the interaction within 5.0s"),
                    // The same cause twice in one scenario counts the scenario once.
                    msg("no notification for the interaction within 2.5s"),
                    Finding::new("response.status", "HTTP status 500 does not match 200"),
                ],
            ),
            result("voice/UpdateUserData/c", "voice", vec![]),
        ];
        let causes = root_causes(&results);
        assert_eq!(causes.len(), 2, "{causes:#?}");
        let first = &causes[0];
        assert_eq!(first.check, "notification");
        assert_eq!(
            first.message,
            "no notification for the interaction within {duration}"
        );
        assert_eq!(first.count, 3);
        assert_eq!(first.media, vec!["chat", "sms"]);
        assert_eq!(
            first.scenarios,
            vec![
                "chat/UpdateUserData/a",
                "sms/UpdateUserData/a",
                "sms/UpdateUserData/b"
            ]
        );
        assert_eq!(causes[1].message, "HTTP status 500 does not match 200");
        assert_eq!(causes[1].count, 1);
    }

    #[test]
    fn ids_from_the_wire_log_are_removed() {
        let mut a = result(
            "chat/UpdateUserData/a",
            "chat",
            vec![Finding::new("setup", "the server lost 03W07AAAAAAAAAAA")],
        );
        a.wire.push(http(
            "POST http://h:1/conformance/v1/interactions",
            Some(r#"{"id":"03W07AAAAAAAAAAA","path":"/api/v2/me/chats/03W07AAAAAAAAAAA"}"#),
        ));
        let mut b = result(
            "chat/UpdateUserData/b",
            "chat",
            vec![Finding::new("setup", "the server lost 03W07BBBBBBBBBBB")],
        );
        b.wire
            .push(http("GET /api/v2/me/chats/03W07BBBBBBBBBBB", None));
        let causes = root_causes(&[a, b]);
        assert_eq!(causes.len(), 1, "{causes:#?}");
        assert_eq!(causes[0].message, "the server lost {id}");
        assert_eq!(causes[0].count, 2);
    }

    #[test]
    fn severities_order_groups_and_info_comes_last() {
        let results = vec![
            result(
                "a/X/1",
                "a",
                vec![Finding::new("shape.extra", "extra").severity(Severity::Info)],
            ),
            result(
                "a/X/2",
                "a",
                vec![Finding::new("shape.extra", "extra").severity(Severity::Info)],
            ),
            result(
                "a/X/3",
                "a",
                vec![Finding::new("response", "should").severity(Severity::Warning)],
            ),
            result("a/X/4", "a", vec![Finding::new("response", "must")]),
        ];
        let order: Vec<(Severity, usize)> = root_causes(&results)
            .iter()
            .map(|c| (c.severity, c.count))
            .collect();
        assert_eq!(
            order,
            vec![
                (Severity::Error, 1),
                (Severity::Warning, 1),
                (Severity::Info, 2)
            ]
        );
    }

    #[test]
    fn media_differing_only_by_resource_key_merge_and_single_media_stays_literal() {
        let shape = |pointer: &str| {
            Finding::new(
                "shape",
                format!("the notification's shape differs from the pinned one: missing {pointer}"),
            )
        };
        let notified = |key: &str| json!({"data": {"notificationType": "X", key: {"id": "1"}}});
        let mut results = Vec::new();
        for (media, key) in [("voice", "call"), ("chat", "chat"), ("sms", "smssession")] {
            let mut r = result(
                &format!("{media}/UpdateUserData/a"),
                media,
                vec![shape(&format!("/data/{key}/userData/Count"))],
            );
            r.notification = Some(notified(key));
            results.push(r);
        }
        let mut twitter = result(
            "twitter/UpdateUserData/a",
            "twitter",
            vec![shape("/data/twitter/receivedDate")],
        );
        twitter.notification = Some(notified("twitter"));
        results.push(twitter);
        // The same literal pointer for every media is no resource key: not generalised.
        for media in ["voice", "chat"] {
            results.push(result(
                &format!("{media}/UpdateUserData/b"),
                media,
                vec![shape("/data/referenceId")],
            ));
        }
        let causes = root_causes(&results);
        let texts: Vec<(String, usize)> = causes
            .iter()
            .map(|c| (c.message.clone(), c.count))
            .collect();
        let prefix = "the notification's shape differs from the pinned one: missing ";
        assert_eq!(
            texts,
            vec![
                (format!("{prefix}/data/{{resource}}/userData/Count"), 3),
                (format!("{prefix}/data/referenceId"), 2),
                (format!("{prefix}/data/twitter/receivedDate"), 1),
            ]
        );
        assert_eq!(causes[0].media, vec!["chat", "sms", "voice"]);
    }

    #[test]
    fn the_pinned_shape_and_the_resource_finding_teach_the_key() {
        // A server that puts the interaction under a wrong member: the scenario's own
        // notification does not name the right key, the findings do.
        let mut results = Vec::new();
        for (media, key) in [("voice", "call"), ("chat", "chat")] {
            let pinned = json!({"data": {key: {"id": "[redacted]"}}}).to_string();
            let mut r = result(
                &format!("{media}/AttachUserData/a"),
                media,
                vec![
                    Finding::new(
                        "shape",
                        format!("the notification's shape differs: missing /data/{key}"),
                    )
                    .with(pinned, "{}"),
                ],
            );
            r.notification = Some(json!({"data": {"interaction": {"id": "[redacted]"}}}));
            results.push(r);
        }
        let mut sms = result(
            "sms/AttachUserData/a",
            "sms",
            vec![
                Finding::new("notification.resource", "the interaction object is missing")
                    .with("`smssession` or `smsession`", "keys [\"interaction\"]"),
                Finding::new(
                    "shape",
                    "the notification's shape differs: missing /data/smssession",
                ),
            ],
        );
        sms.notification = None;
        results.push(sms);
        let causes = root_causes(&results);
        let shape: Vec<&RootCause> = causes.iter().filter(|c| c.check == "shape").collect();
        assert_eq!(shape.len(), 1, "{causes:#?}");
        assert_eq!(
            shape[0].message,
            "the notification's shape differs: missing /data/{resource}"
        );
        assert_eq!(shape[0].count, 3);
    }

    #[test]
    fn nothing_to_group_is_empty() {
        assert!(root_causes(&[]).is_empty());
        assert!(root_causes(&[result("a/X/1", "a", vec![])]).is_empty());
    }

    #[test]
    fn one_defect_in_must_and_should_scenarios_is_one_cause_counted_per_severity() {
        let finding =
            |severity| Finding::new("notification.messageType", "unexpected").severity(severity);
        let mut should = result("chat/X/should", "chat", vec![finding(Severity::Warning)]);
        should.level = Level::Should;
        let results = vec![
            result("chat/X/must", "chat", vec![finding(Severity::Error)]),
            result("sms/X/must", "sms", vec![finding(Severity::Error)]),
            should,
        ];
        let causes = root_causes(&results);
        assert_eq!(causes.len(), 1, "{causes:#?}");
        assert_eq!(causes[0].severity, Severity::Error);
        assert_eq!(causes[0].count, 3);
        assert_eq!(
            causes[0].severities,
            BTreeMap::from([(Severity::Error, 2), (Severity::Warning, 1)])
        );
        let blocking = blocking_causes(&results, &["chat/X/must".to_string()]);
        assert_eq!(blocking.len(), 1);
        assert_eq!(blocking[0].scenarios, ["chat/X/must"]);
        assert!(blocking[0].severities.is_empty(), "one severity: no split");
    }
}
