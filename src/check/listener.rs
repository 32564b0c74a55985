//! The eavesdropping client's check (`expect.listener`): a handshake that had to be refused
//! and was not, and any message about the case's interaction that reached the listener.
//!
//! It reads what the runner recorded in [`Listened`]; it does not know how the listener was
//! opened or drained.

use crate::observation::Listened;
use crate::result::{Finding, Severity};
use crate::spec::{ListenerExpectation, ListenerMode};

pub(super) fn check_listener(
    mode: Option<ListenerMode>,
    expect: ListenerExpectation,
    listened: Option<&Listened>,
    findings: &mut Vec<Finding>,
) {
    let who = match mode {
        Some(ListenerMode::Anonymous) => "a client that handshook without credentials",
        Some(ListenerMode::WrongPassword) => "a client that handshook with a wrong password",
        Some(ListenerMode::ForeignClientId) => {
            "the first agent's client id presented with the second agent's credentials"
        }
        Some(ListenerMode::OtherChannels) => {
            "the second agent's client subscribed outside /v2/me/*"
        }
        Some(ListenerMode::Protocol) => "the protocol probe",
        Some(ListenerMode::Publisher) => {
            "the second agent's client that published a forged notification"
        }
        None => "the listener",
    };
    let Some(listened) = listened else {
        findings.push(Finding::new(
            "listener",
            "the scenario expects a listener, but none was opened",
        ));
        return;
    };
    if expect == ListenerExpectation::Refused
        && let Some(Ok(())) = &listened.handshake
    {
        let presented = match mode {
            Some(ListenerMode::WrongPassword) => "a wrong password and no session cookie",
            _ => "neither credentials nor a session cookie",
        };
        findings.push(
            Finding::new(
                "listener.handshake",
                format!("a Bayeux handshake with {presented} was accepted"),
            )
            .with("refused (HTTP 401, or successful: false)", "a clientId"),
        );
    }
    if let Some(first) = listened.heard.first() {
        findings.push(
            Finding::new(
                "listener.silent",
                format!(
                    "{who} received {} message(s) about the first agent's interaction",
                    listened.heard.len()
                ),
            )
            .with("nothing", first.to_string()),
        );
    }
    if let Some(problem) = &listened.drain_problem {
        findings.push(
            Finding::new(
                "listener",
                format!("the listener's silence could not be shown: {problem}"),
            )
            .severity(Severity::Info),
        );
    }
    if listened.heard.is_empty() && listened.owner_heard == Some(false) {
        findings.push(
            Finding::new(
                "listener",
                "the listener's own agent did not receive the notification on it either, so its silence under another identity shows little",
            )
            .severity(Severity::Info),
        );
    }
}
