//! The initial state a documented input promised: right after `Dial` or `Create` carried the
//! scenario's initial `userData` (or `AttachUserData` gave it to the new interaction), the
//! interaction read before the request must hold every key with its value.
//!
//! A server that drops such an input fails here once, with one message for every scenario, so
//! that the report shows one root cause rather than a diff failure per scenario downstream.
//! Keys the server added besides are not judged here (routing or deployment keys may appear),
//! and the fixture contract's interactions are not judged at all: the contract is test
//! tooling, not a documented GWS input.

use super::text::pretty;
use crate::observation::Observation;
use crate::plan::Case;
use crate::result::Finding;
use crate::spec::matcher::json_equal;
use serde_json::{Map, Value};

/// Adds the finding when the interaction did not start with the initial `userData` its
/// provisioning operation was given; returns whether it did, so that nothing downstream of a
/// wrong starting point is judged.
pub(super) fn check_initial_data(
    case: &Case,
    obs: &Observation,
    findings: &mut Vec<Finding>,
) -> bool {
    let (Some(operation), Some(before)) = (obs.initial_data_by, &obs.before) else {
        return false;
    };
    let held = match before.get("userData") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let dropped = case
        .user_data
        .iter()
        .any(|(k, v)| !held.get(k).is_some_and(|h| json_equal(v, h)));
    if !dropped {
        return false;
    }
    findings.push(
        Finding::new(
            "setup.initial-data",
            format!(
                "right after {operation}, the interaction does not hold the userData {operation} was given (a documented input of {operation}): the server ignored or altered it, so the scenario's starting point is wrong and nothing after it was judged"
            ),
        )
        .with(
            pretty(&Value::Object(case.user_data.clone())),
            pretty(&Value::Object(held)),
        ),
    );
    true
}
