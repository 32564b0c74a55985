//! The refusal stage of `evaluate`: which branch the server took (the effect, a synchronous
//! refusal, or on voice an asynchronous one: `statusCode` 0 and an `ErrorMessage`), and the
//! checks of the refusal branch of an either-or scenario (`expect.refusal`).
//!
//! It judges only the reply and the notifications of a refusal; the state left unchanged is
//! the side-effects stage's.

use super::notification::is_error_notification;
use super::response::check_response;
use crate::observation::Observation;
use crate::plan::Case;
use crate::result::{Finding, Severity};
use crate::spec::Refusal;
use serde_json::{Value, json};

/// The refusal stage: the reply's checks, or, when the scenario allows a refusal and the
/// server refused, the refusal branch's. Returns whether the refusal branch was taken, or on
/// voice may have been taken unseen (then the notification stage is skipped and the state must
/// be unchanged).
pub(super) fn check_refusal(case: &Case, obs: &Observation, findings: &mut Vec<Finding>) -> bool {
    let scenario = &case.scenario;
    let refused = refusal_taken(case, obs);
    match (scenario.expect.refusal, &refused) {
        (Some(Refusal::Allowed), Some(form)) => {
            check_allowed_refusal(obs, form, findings);
            true
        }
        (Some(Refusal::Required), Some(form @ RefusalForm::Asynchronous)) => {
            // The reply of an asynchronous refusal is a success; the refusal is the
            // ErrorMessage (which the notification check counts as no change).
            findings.push(form.finding());
            false
        }
        (Some(Refusal::Required), None) if error_notification_unseen(case, obs) => {
            // statusCode 0 is the first half of an asynchronous refusal; its ErrorMessage may
            // have been in the long poll that was cut. Only the unchanged state is judged, and
            // the transport fault makes the attempt indeterminate.
            findings.push(
                Finding::new(
                    "refusal.form",
                    "statusCode 0 in the reply, and the notification stream was interrupted: an ErrorMessage refusing the operation asynchronously may have been lost with it",
                )
                .severity(Severity::Info),
            );
            true
        }
        (Some(Refusal::Required), form) => {
            if let Some(form) = form {
                findings.push(form.finding());
            }
            check_response(case, obs, findings);
            false
        }
        (_, _) => {
            check_response(case, obs, findings);
            false
        }
    }
}

/// How a server refused an operation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RefusalForm {
    /// A non-zero `statusCode` in the reply.
    Synchronous { status_code: Value },
    /// Voice: `statusCode` 0, then an `ErrorMessage` notification about the call.
    Asynchronous,
}

impl RefusalForm {
    /// The info finding that tells reports which form the server used.
    fn finding(&self) -> Finding {
        let message = match self {
            RefusalForm::Synchronous { status_code } => {
                format!("refused synchronously: statusCode {status_code} in the reply")
            }
            RefusalForm::Asynchronous => {
                "refused asynchronously: statusCode 0 in the reply, then an ErrorMessage notification about the call".to_string()
            }
        };
        Finding::new("refusal.form", message).severity(Severity::Info)
    }
}

/// Whether (and how) the server refused the operation: a non-zero `statusCode`, or on voice
/// (whose requests GWS passes on to T-Server) `statusCode` 0 and an error notification.
fn refusal_taken(case: &Case, obs: &Observation) -> Option<RefusalForm> {
    let code = obs
        .response
        .as_ref()
        .ok()?
        .body
        .json()
        .and_then(|b| b.get("statusCode"))
        .cloned();
    match code {
        Some(c) if c != json!(0) => Some(RefusalForm::Synchronous { status_code: c }),
        Some(_)
            if case.media == "voice"
                && reaches_t_server(case)
                && obs
                    .notifications
                    .iter()
                    .any(|n| is_error_notification(&n.message)) =>
        {
            Some(RefusalForm::Asynchronous)
        }
        _ => None,
    }
}

/// Whether the reply said `statusCode` 0 to a request GWS can refuse asynchronously, with no
/// ErrorMessage received while the notification stream was interrupted: the refusal cannot be
/// ruled out, nor seen.
fn error_notification_unseen(case: &Case, obs: &Observation) -> bool {
    let code = obs
        .response
        .as_ref()
        .ok()
        .and_then(|r| r.body.json())
        .and_then(|b| b.get("statusCode"));
    code == Some(&json!(0))
        && case.media == "voice"
        && reaches_t_server(case)
        && obs.stream_interrupted()
        && !obs
            .notifications
            .iter()
            .any(|n| is_error_notification(&n.message))
}

/// Whether the request is one GWS can pass on to T-Server: parseable, about an existing call.
fn reaches_t_server(case: &Case) -> bool {
    let send = &case.scenario.send;
    send.raw_body.is_none() && send.interaction == crate::spec::InteractionRef::Own
}

/// The refusal branch of an either-or scenario: a documented refusal (a `statusMessage` with a
/// synchronous one), no notification announcing a change (the caller checks `unchanged`). The
/// scenario prefers the effect, so a correct refusal is a warning.
fn check_allowed_refusal(obs: &Observation, form: &RefusalForm, findings: &mut Vec<Finding>) {
    if let (RefusalForm::Synchronous { .. }, Ok(reply)) = (form, &obs.response)
        && !reply
            .body
            .json()
            .and_then(|b| b.get("statusMessage"))
            .is_some_and(Value::is_string)
    {
        findings.push(
            Finding::new(
                "refusal",
                "the refusal carries no statusMessage (every error reply has one)",
            )
            .with("a string statusMessage", reply.body.describe()),
        );
    }
    for n in obs
        .notifications
        .iter()
        .filter(|n| !is_error_notification(&n.message))
    {
        findings.push(
            Finding::new(
                "notification.none",
                "the operation was refused, yet a notification announced a change",
            )
            .with("no notification", n.message.to_string()),
        );
    }
    findings.push(form.finding());
    findings.push(
        Finding::new(
            "refusal.allowed",
            "the server refused the operation (allowed: a documented refusal that changes nothing); the documented effect is preferred",
        )
        .severity(Severity::Warning),
    );
}
