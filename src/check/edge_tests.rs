//! Unit tests of the verdict's edges on hand-built observations: late repeats after the
//! barrier, the scope of the must diff, one fact reported once, and severities capped by the
//! scenario's level. They share the conforming chat of `tests.rs`.

use super::evaluate;
use super::evaluate::{Pinned, late_notification, own_snapshot};
use super::tests::{Chat, builtin_case, failed_checks};
use crate::observation::{Delivered, Observation, Setup};
use crate::result::{Grade, Severity};
use crate::spec::{GwsVersion, Level};
use serde_json::json;
use std::sync::Arc;

#[test]
fn a_late_repeat_of_a_received_notification_is_a_duplicate() {
    let chat = Chat::conforming();
    let mut result = chat.judged();
    assert_eq!(result.grade, Grade::Pass);
    late_notification(&mut result, &chat.message);
    assert_eq!(result.grade, Grade::Fail, "{:?}", result.findings);
    assert!(failed_checks(&result).contains(&"notification.duplicate"));

    // Something new after the barrier (the cleanup announcing the end) stays informational.
    let mut result = chat.judged();
    let mut ended = chat.message.clone();
    ended["data"]["referenceId"] = json!(6);
    ended["data"]["chat"]["state"] = json!("Completed");
    late_notification(&mut result, &ended);
    assert_eq!(result.grade, Grade::Pass, "{:?}", result.findings);
    assert_eq!(result.findings.last().unwrap().check, "notification.late");
}

#[test]
fn without_a_reference_id_a_late_repeat_is_the_same_announced_state() {
    let case = builtin_case("voice/AttachUserData/documented-sample");
    let call = |duration: &str, state: &str| {
        json!({"channel": "/v2/me/calls", "data": {"notificationType": "AttachedDataChanged",
            "call": {"id": "v1", "state": state, "duration": duration, "userData": {"A": "1"}}}})
    };
    let obs = Observation {
        notifications: vec![Delivered {
            agent: 0,
            message: call("3", "Dialing"),
            after_post: std::time::Duration::ZERO,
        }],
        ..Observation::not_started(Setup::Ready, Vec::new(), std::time::Duration::ZERO)
    };
    let judged = || {
        let mut r = evaluate(&case, &obs, Pinned::NotCompared, &[], GwsVersion::default());
        r.grade = Grade::Pass;
        r
    };
    let mut repeated = judged();
    // The duration is volatile: a copy sent later, with a longer duration, is still a repeat.
    late_notification(&mut repeated, &call("9", "Dialing"));
    assert_eq!(repeated.grade, Grade::Fail, "{:?}", repeated.findings);
    let mut released = judged();
    late_notification(&mut released, &call("9", "Released"));
    assert_eq!(released.grade, Grade::Pass, "{:?}", released.findings);
}

#[test]
fn outside_calls_a_property_only_the_get_shows_is_a_warning_but_the_core_is_a_must() {
    let chat = Chat::conforming();
    let mut richer = chat.observation();
    richer.before.as_mut().unwrap()["lastModified"] = json!("2026-12-01 10:00:00.000+0000");
    let result = chat.judged_with(&richer);
    assert_eq!(result.grade, Grade::Warning, "{:?}", result.findings);
    assert!(
        result
            .findings
            .iter()
            .any(|f| f.check == "notification.diff.properties" && f.severity == Severity::Warning)
    );
    // A documented core property that changes is still a must failure.
    let mut restated = chat.observation();
    restated.notifications[0].message["data"]["chat"]["state"] = json!("Invited");
    restated.after = Ok(restated.notifications[0].message["data"]["chat"].clone());
    let result = chat.judged_with(&restated);
    assert!(
        failed_checks(&result).contains(&"notification.diff"),
        "{:?}",
        result.findings
    );
}

#[test]
fn one_fact_seen_by_two_checks_is_one_finding_the_other_refers_to() {
    // A property the notification shows differently from both GETs: the notified change and
    // read-your-writes both see /lastModified; read-after.properties reports it (a warning for
    // chat, where GET is not documented to equal the notification), the diff refers to it.
    let mut chat = Chat::conforming();
    chat.before["lastModified"] = json!("T0");
    chat.after["lastModified"] = json!("T0");
    chat.message["data"]["chat"]["lastModified"] = json!("T1");
    let result = chat.judged();
    let reporting: Vec<(&str, Severity)> = result
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .map(|f| (f.check.as_str(), f.severity))
        .collect();
    assert_eq!(
        reporting,
        [("read-after.properties", Severity::Warning)],
        "{:?}",
        result.findings
    );
    let refers = result
        .findings
        .iter()
        .find(|f| f.check == "notification.diff")
        .expect("the diff refers to the finding");
    assert_eq!(refers.severity, Severity::Info);
    assert!(
        refers.message.contains("/lastModified")
            && refers.message.contains("read-after.properties"),
        "{}",
        refers.message
    );
    assert_eq!(result.grade, Grade::Warning);

    // A notification without the written key, which GET after shows: the diff reports it,
    // read-your-writes refers to it.
    let mut chat = Chat::conforming();
    chat.message["data"]["chat"]["userData"] = chat.before["userData"].clone();
    let result = chat.judged();
    assert_eq!(failed_checks(&result), ["notification.diff"]);
    let refers = result
        .findings
        .iter()
        .find(|f| f.check == "read-after")
        .expect("read-your-writes refers to the diff");
    assert_eq!(refers.severity, Severity::Info);
    assert!(
        refers.message.contains("/userData/NewKey"),
        "{}",
        refers.message
    );
}

#[test]
fn a_should_scenarios_findings_are_warnings_and_a_may_scenarios_informational() {
    let mut chat = Chat::conforming();
    chat.after = chat.before.clone();
    chat.message["data"]["messageType"] = json!("Wrong");
    let mut case = builtin_case("chat/UpdateUserData/add-new-key");
    for (level, grade, ceiling) in [
        (Level::Should, Grade::Warning, Severity::Warning),
        (Level::May, Grade::Informational, Severity::Info),
    ] {
        Arc::make_mut(&mut case.scenario).level = level;
        let mut result = evaluate(
            &case,
            &chat.observation(),
            Pinned::NotCompared,
            &[],
            GwsVersion::default(),
        );
        assert_eq!(result.grade, grade, "{:?}", result.findings);
        assert!(result.findings.len() >= 2, "{:?}", result.findings);
        assert!(
            result.findings.iter().all(|f| f.severity >= ceiling),
            "{:?}",
            result.findings
        );
        // A finding added later (the target's own snapshot) is capped the same way and keeps
        // the grade.
        own_snapshot(&mut result, Some(&json!({"other": true})));
        assert_eq!(result.grade, grade);
        assert!(result.findings.iter().all(|f| f.severity >= ceiling));
    }
    Arc::make_mut(&mut case.scenario).level = Level::May;
    let mut passing = evaluate(
        &case,
        &Chat::conforming().observation(),
        Pinned::NotCompared,
        &[],
        GwsVersion::default(),
    );
    assert_eq!(passing.grade, Grade::Pass);
    passing.notification = Some(json!({"x": 1}));
    own_snapshot(&mut passing, Some(&json!({"x": 2})));
    assert_eq!(
        passing.grade,
        Grade::Informational,
        "a may scenario's new miss"
    );
}

#[test]
fn a_voice_refusal_whose_error_message_an_interrupted_stream_may_have_lost_is_indeterminate() {
    let case = builtin_case("voice/UpdateUserData/missing-user-data");
    let call = json!({"id": "v1", "state": "Established", "userData": {"Seed": "value"}});
    let answered = |after: serde_json::Value, interrupted: bool| Observation {
        before: Some(call.clone()),
        response: Ok(crate::observation::Reply {
            status: 200,
            body: crate::observation::Body::Json(json!({"statusCode": 0})),
        }),
        after: Ok(after),
        transport: match interrupted {
            true => vec![crate::result::TransportFault {
                stream: true,
                ..crate::result::TransportFault::request(
                    "agent1's notification stream",
                    "connection reset",
                )
            }],
            false => Vec::new(),
        },
        ..Observation::not_started(Setup::Ready, Vec::new(), std::time::Duration::ZERO)
    };
    let judge =
        |obs: &Observation| evaluate(&case, obs, Pinned::NotCompared, &[], GwsVersion::default());
    // On an uninterrupted stream, statusCode 0 with no ErrorMessage is no refusal at all.
    let clean = judge(&answered(call.clone(), false));
    assert_eq!(clean.grade, Grade::Fail, "{:?}", clean.findings);
    assert!(failed_checks(&clean).contains(&"response.body"));
    // The ErrorMessage may have been in the cut long poll: nothing is held against the server.
    let cut = judge(&answered(call.clone(), true));
    assert_eq!(cut.grade, Grade::Indeterminate, "{:?}", cut.findings);
    assert!(failed_checks(&cut).is_empty(), "{:?}", cut.findings);
    // What did arrive still counts: a call changed by an operation that must fail.
    let mut changed = call.clone();
    changed["userData"]["Extra"] = json!("1");
    let wrong = judge(&answered(changed, true));
    assert_eq!(wrong.grade, Grade::Fail, "{:?}", wrong.findings);
    assert_eq!(failed_checks(&wrong), ["unchanged"]);
}
