//! Judging one operation sent by `load`: the same response and envelope checks as `run`, and
//! the notified `userData` against the state the harness expects (absent `userData` = `{}`,
//! key order irrelevant), either whole or only on the keys the operation touched.
//!
//! It does not count notifications or classify them (lost, duplicated, crossed): that is the
//! load ledger's job, which sees every stream. Like the rest of `check`, it does no IO.

use super::*;
use crate::observation::Reply;

/// Which part of the notified `userData` is compared with the expected state.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// The whole `userData`.
    All,
    /// Only these keys (an operation sharing its interaction with concurrent ones).
    Keys(&'a [String]),
}

/// The errors of one load operation: its HTTP answer, and, when a notification is given, its
/// envelope and its `userData` against `expected`. Empty means the operation is right;
/// warnings (`should` expectations) are left out, since they do not make an operation wrong.
pub fn load_operation(
    case: &Case,
    response: &Result<Reply, String>,
    notification: Option<&Delivered>,
    expected: &Map<String, Value>,
    scope: Scope<'_>,
) -> Vec<Finding> {
    let obs = Observation {
        notifications: notification.into_iter().cloned().collect(),
        response: response.clone(),
        ..Observation::not_started(Setup::Ready, Vec::new(), std::time::Duration::ZERO)
    };
    let mut findings = Vec::new();
    check_response(case, &obs, &mut findings);
    let errors = |mut findings: Vec<Finding>| {
        findings.retain(|f| f.severity == Severity::Error);
        findings
    };
    let (Some(delivered), NotificationExpectation::Expected(spec)) =
        (notification, &case.scenario.expect.notification)
    else {
        return errors(findings);
    };
    check_envelope(case, &obs, delivered, &spec.envelope, &mut findings);
    let Some((_, notified)) = case.facts.find_resource(&delivered.message["data"]) else {
        findings.push(Finding::new(
            "notification.resource",
            "the notification carries no interaction object",
        ));
        return errors(findings);
    };
    let empty = Map::new();
    let actual = notified
        .get("userData")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    // The common case, the expected state, is decided without copying either side.
    let equal = match scope {
        Scope::All => same_user_data(expected, actual),
        Scope::Keys(keys) => keys.iter().all(|k| match (expected.get(k), actual.get(k)) {
            (Some(a), Some(b)) => json_equal(a, b),
            (None, None) => true,
            _ => false,
        }),
    };
    if equal {
        return errors(findings);
    }
    let (want, got) = match scope {
        Scope::All => (expected.clone(), actual.clone()),
        Scope::Keys(keys) => (restrict(expected, keys), restrict(actual, keys)),
    };
    let want = json!({ "userData": want });
    let got = json!({ "userData": got });
    let diff = state_difference(&case.facts, &want, &got);
    if diff.is_empty() {
        // Equal but for number spelling (1 and 1.0), which `json_equal` and the diff differ on.
        return errors(findings);
    }
    {
        findings.push(state_finding(
            "load.user-data",
            "the notified userData is not the state the operations so far must have produced",
            &want,
            &got,
            &diff,
        ));
    }
    errors(findings)
}

/// The `userData` of an interaction object; absent counts as `{}`.
pub fn user_data_of(interaction: &Value) -> Map<String, Value> {
    interaction
        .get("userData")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Whether two user data maps hold the same data (key order and number spelling aside).
pub fn same_user_data(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(k, v)| b.get(k).is_some_and(|w| json_equal(v, w)))
}

fn restrict(data: &Map<String, Value>, keys: &[String]) -> Map<String, Value> {
    data.iter()
        .filter(|(k, _)| keys.iter().any(|key| key == *k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
