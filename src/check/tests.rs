//! Unit tests of the check stage on whole hand-built observations judged by `evaluate`: each
//! check passes on a conforming observation and fails on a broken one. Single checks on
//! hand-built values are `parts_tests.rs`'s.

use super::evaluate;
use super::evaluate::{Pinned, late_notification};
use super::listener::check_listener;
use super::response::check_undisclosed;
use crate::observation::{Delivered, Observation, Setup};
use crate::plan::Case;
use crate::result::{Grade, ScenarioResult, Severity};
use crate::spec::GwsVersion;
use serde_json::{Value, json};

/// A case of the built-in suite, by id.
pub(super) fn builtin_case(id: &str) -> Case {
    let suite = crate::suite::builtin().expect("the built-in suite loads");
    crate::plan::build(&suite, &crate::plan::Selection::default())
        .into_iter()
        .find(|c| c.id == id)
        .expect("the case exists")
}

#[test]
fn an_error_notification_after_a_rejected_operation_is_no_failure() {
    let case = builtin_case("chat/UpdateUserData/unknown-operation");
    let seeded = json!({"id": "c", "userData": {"Seed": "value"}});
    let rejected_with = |data: Value| {
        let obs = Observation {
            before: Some(seeded.clone()),
            after: Ok(seeded.clone()),
            response: Ok(crate::observation::Reply {
                status: 400,
                body: crate::observation::Body::Json(
                    json!({"statusCode": 2, "statusMessage": "no such operation"}),
                ),
            }),
            notifications: vec![Delivered {
                agent: 0,
                message: json!({"channel": "/v2/me/chats", "data": data}),
                after_post: std::time::Duration::ZERO,
            }],
            ..Observation::not_started(Setup::Ready, Vec::new(), std::time::Duration::ZERO)
        };
        evaluate(&case, &obs, Pinned::NotCompared, &[], GwsVersion::default()).grade
    };
    assert_eq!(
        rejected_with(json!({"notificationType": "Error"})),
        Grade::Pass
    );
    assert_eq!(
        rejected_with(json!({"notificationType": "PropertiesUpdated", "chat": seeded.clone()})),
        Grade::Fail
    );
}

/// A chat that conforms to `chat/UpdateUserData/add-new-key`: the observation of a correct
/// server, which each test below breaks in one way.
pub(super) struct Chat {
    pub(super) before: Value,
    pub(super) message: Value,
    pub(super) response: (u16, Value),
    pub(super) after: Value,
}

impl Chat {
    pub(super) fn conforming() -> Chat {
        let chat = |user_data: Value| {
            json!({
                "id": "c1", "state": "Chatting", "uri": "http://gws/api/v2/chats/c1",
                "capabilities": ["UpdateUserData"],
                "participants": [{"nickname": "N", "type": "Customer", "participantId": "p"}],
                "userData": user_data,
            })
        };
        let before = chat(json!({"Existing": "kept", "Other": 7}));
        let notified = chat(json!({"Existing": "kept", "Other": 7, "NewKey": "new value"}));
        Chat {
            message: json!({"channel": "/v2/me/chats", "data": {
                "notificationType": "PropertiesUpdated", "messageType": "ChatStateChangeMessage",
                "referenceId": 5, "chat": notified.clone()}}),
            after: notified,
            before,
            response: (200, json!({"statusCode": 0})),
        }
    }

    pub(super) fn observation(&self) -> Observation {
        Observation {
            before: Some(self.before.clone()),
            response: Ok(crate::observation::Reply {
                status: self.response.0,
                body: crate::observation::Body::Json(self.response.1.clone()),
            }),
            notifications: vec![Delivered {
                agent: 0,
                message: self.message.clone(),
                after_post: std::time::Duration::from_millis(3),
            }],
            after: Ok(self.after.clone()),
            ..Observation::not_started(Setup::Ready, Vec::new(), std::time::Duration::ZERO)
        }
    }

    pub(super) fn judged(&self) -> ScenarioResult {
        self.judged_with(&self.observation())
    }

    pub(super) fn judged_with(&self, obs: &Observation) -> ScenarioResult {
        let case = builtin_case("chat/UpdateUserData/add-new-key");
        evaluate(&case, obs, Pinned::NotCompared, &[], GwsVersion::default())
    }
}

/// The checks that produced error findings.
pub(super) fn failed_checks(result: &ScenarioResult) -> Vec<&str> {
    result
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.check.as_str())
        .collect()
}

#[test]
fn a_conforming_observation_passes_every_check() {
    let result = Chat::conforming().judged();
    assert_eq!(result.grade, Grade::Pass, "{:?}", result.findings);
    assert_eq!(result.latency_ms, Some(3.0));
}

#[test]
fn the_response_status_and_body_are_checked() {
    let mut chat = Chat::conforming();
    chat.response = (500, json!({"statusCode": 4, "statusMessage": "down"}));
    let result = chat.judged();
    assert_eq!(result.grade, Grade::Fail);
    assert_eq!(failed_checks(&result), ["response.status", "response.body"]);
    let mut extra = Chat::conforming();
    extra.response.1 = json!({"statusCode": 0, "requestId": "r-1"});
    assert_eq!(
        extra.judged().grade,
        Grade::Pass,
        "extra success properties are allowed"
    );
}

#[test]
fn the_envelope_names_channel_types_and_resource() {
    let mut chat = Chat::conforming();
    chat.message["channel"] = json!("/v2/me/interactions");
    chat.message["data"]["messageType"] = json!("InteractionStateChangeMessage");
    assert_eq!(
        failed_checks(&chat.judged()),
        ["notification.channel", "notification.messageType"]
    );
    let mut chat = Chat::conforming();
    let resource = chat.message["data"]["chat"].take();
    chat.message["data"]["interaction"] = resource;
    chat.message["data"].as_object_mut().unwrap().remove("chat");
    assert!(failed_checks(&chat.judged()).contains(&"notification.resource"));
}

#[test]
fn a_multimedia_notification_needs_an_integer_reference_id() {
    let mut chat = Chat::conforming();
    chat.message["data"]
        .as_object_mut()
        .unwrap()
        .remove("referenceId");
    assert_eq!(failed_checks(&chat.judged()), ["notification.referenceId"]);
    chat.message["data"]["referenceId"] = json!("5");
    assert_eq!(failed_checks(&chat.judged()), ["notification.referenceId"]);
}

#[test]
fn the_diff_must_be_exactly_the_expected_change() {
    let mut chat = Chat::conforming();
    chat.message["data"]["chat"]["userData"]["NewKey"] = json!(42);
    chat.message["data"]["chat"]["state"] = json!("Completed");
    chat.after = chat.message["data"]["chat"].clone();
    let result = chat.judged();
    assert_eq!(failed_checks(&result), ["notification.diff"]);
    let message = &result.findings[0].message;
    assert!(
        message.contains("wrong value at /userData/NewKey"),
        "{message}"
    );
    assert!(message.contains("unexpected: replace /state"), "{message}");
}

#[test]
fn read_your_writes_needs_the_user_data_and_warns_on_the_rest() {
    let mut chat = Chat::conforming();
    chat.after = chat.before.clone();
    assert_eq!(failed_checks(&chat.judged()), ["read-after"]);
    let mut chat = Chat::conforming();
    chat.after["state"] = json!("Chatting, read later");
    let result = chat.judged();
    assert_eq!(result.grade, Grade::Warning, "{:?}", result.findings);
    assert_eq!(result.findings[0].check, "read-after.properties");
    let chat = Chat::conforming();
    let obs = Observation {
        after: Err(crate::observation::ReadError::Request(
            crate::observation::RequestError::Transport {
                url: "http://gws/api/v2/me/chats/1".into(),
                message: "connection reset".into(),
            },
        )),
        transport: vec![crate::result::TransportFault::request(
            "GET /api/v2/me/chats/1 (after the request)",
            "connection reset",
        )],
        ..chat.observation()
    };
    // A read lost on the way is a transport fault, not a finding: the scenario is
    // indeterminate (and re-run), never failed for it.
    let lost = chat.judged_with(&obs);
    assert!(failed_checks(&lost).is_empty(), "{:?}", lost.findings);
    assert_eq!(lost.grade, Grade::Indeterminate, "{:?}", lost.findings);
    let obs = Observation {
        after: Err(crate::observation::ReadError::Status {
            path: "/api/v2/me/chats/1".into(),
            status: 500,
            body: "{}".into(),
        }),
        ..chat.observation()
    };
    assert_eq!(failed_checks(&chat.judged_with(&obs)), ["read-after"]);
}

#[test]
fn another_agent_hearing_of_the_interaction_fails_isolation() {
    let chat = Chat::conforming();
    let obs = Observation {
        leaked: vec![Delivered {
            agent: 1,
            message: chat.message.clone(),
            after_post: std::time::Duration::ZERO,
        }],
        ..chat.observation()
    };
    let result = chat.judged_with(&obs);
    assert_eq!(failed_checks(&result), ["isolation"]);
    assert!(result.findings[0].message.contains("agent #2"));
}

#[test]
fn duplicates_and_silence_are_counted() {
    let chat = Chat::conforming();
    let mut obs = chat.observation();
    let twice = obs.notifications[0].clone();
    obs.notifications.push(twice);
    assert_eq!(
        failed_checks(&chat.judged_with(&obs)),
        ["notification.count"]
    );
    obs.notifications.clear();
    assert_eq!(failed_checks(&chat.judged_with(&obs)), ["notification"]);
}

#[test]
fn a_late_notification_is_informational_only() {
    let mut result = Chat::conforming().judged();
    late_notification(&mut result, &json!({"data": {"chat": {"id": "c1"}}}));
    assert_eq!(result.findings.len(), 1);
    assert_eq!(result.findings[0].check, "notification.late");
    assert_eq!(result.findings[0].severity, Severity::Info);
    assert_eq!(
        Grade::from_findings(result.level, &result.findings),
        Grade::Pass
    );
}

#[test]
fn concurrent_operations_may_be_announced_in_either_order_but_must_overlap() {
    let case = builtin_case("chat/UpdateUserData/disjoint-updates-at-once");
    let chat = |user_data: Value| {
        json!({"id": "c1", "state": "Chatting", "uri": "u", "capabilities": [],
               "participants": [{"nickname": "N", "type": "Customer", "participantId": "p"}],
               "userData": user_data})
    };
    let announce = |reference_id: i64, user_data: Value| Delivered {
        agent: 0,
        message: json!({"channel": "/v2/me/chats", "data": {"notificationType": "PropertiesUpdated",
            "messageType": "ChatStateChangeMessage", "referenceId": reference_id,
            "chat": chat(user_data)}}),
        after_post: std::time::Duration::ZERO,
    };
    let both = json!({"Kept": "kept", "First": "1", "Second": "2"});
    let obs = Observation {
        before: Some(chat(json!({"Kept": "kept"}))),
        response: Ok(crate::observation::Reply {
            status: 200,
            body: crate::observation::Body::Json(json!({"statusCode": 0})),
        }),
        // The final state arrives first: the order of concurrent notifications is free.
        notifications: vec![
            announce(8, both.clone()),
            announce(9, json!({"Kept": "kept", "First": "1"})),
        ],
        after: Ok(chat(both)),
        in_flight_together: Some(Ok(())),
        ..Observation::not_started(Setup::Ready, Vec::new(), std::time::Duration::ZERO)
    };
    let judge =
        |obs: &Observation| evaluate(&case, obs, Pinned::NotCompared, &[], GwsVersion::default());
    assert_eq!(judge(&obs).grade, Grade::Pass, "{:?}", judge(&obs).findings);

    let lost = Observation {
        after: Ok(chat(json!({"Kept": "kept", "Second": "2"}))),
        notifications: vec![
            announce(8, json!({"Kept": "kept", "First": "1"})),
            announce(9, json!({"Kept": "kept", "Second": "2"})),
        ],
        ..obs.clone()
    };
    assert_eq!(failed_checks(&judge(&lost)), ["notification.diff"]);

    let sequential = Observation {
        in_flight_together: Some(Err(crate::observation::NotInFlightTogether {
            operations: 2,
        })),
        ..obs
    };
    assert_eq!(judge(&sequential).grade, Grade::CouldNotTest);
}

/// An observation of a refused request whose reply had `body`, for an interaction seeded with
/// an account number.
fn refused_with(body: crate::observation::Body) -> Observation {
    Observation {
        before: Some(
            json!({"id": "c1", "state": "Chatting", "userData": {"Account": "ACCT-7741", "Flag": "y"}}),
        ),
        response: Ok(crate::observation::Reply { status: 401, body }),
        ..Observation::not_started(Setup::Ready, Vec::new(), std::time::Duration::ZERO)
    }
}

#[test]
fn a_refusal_that_carries_nothing_of_the_interaction_discloses_nothing() {
    use crate::observation::Body;
    let mut f = Vec::new();
    let error = json!({"statusCode": 20, "statusMessage": "User is not authenticated"});
    check_undisclosed(&refused_with(Body::Json(error)), &mut f);
    check_undisclosed(&refused_with(Body::Text("Unauthorized".into())), &mut f);
    // A short value such as "y" appears in any text by chance and is not searched for.
    check_undisclosed(&refused_with(Body::Text("you may not".into())), &mut f);
    assert!(f.is_empty(), "{f:?}");
}

#[test]
fn a_refusal_that_carries_the_interaction_or_a_value_names_what_leaked() {
    use crate::observation::Body;
    let mut f = Vec::new();
    let leak = json!({"statusCode": 20, "chat": {"id": "c1", "userData": {}}});
    check_undisclosed(&refused_with(Body::Json(leak)), &mut f);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].check, "response.disclosure");
    assert!(
        f[0].message.contains("interaction object (id c1) at /chat"),
        "{}",
        f[0].message
    );
    let mut f = Vec::new();
    let html = "<html>401: account ACCT-7741 is not yours</html>".to_string();
    check_undisclosed(&refused_with(Body::Text(html)), &mut f);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message.contains("userData key `Account`"),
        "{}",
        f[0].message
    );
}

#[test]
fn a_listener_fails_on_an_accepted_anonymous_handshake_and_on_anything_it_heard() {
    use crate::observation::Listened;
    use crate::spec::{ListenerExpectation as Expect, ListenerMode as Mode};
    let checks = |mode, expect, listened: &Listened| {
        let mut f = Vec::new();
        check_listener(Some(mode), expect, Some(listened), &mut f);
        f.into_iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.check)
            .collect::<Vec<_>>()
    };
    let refused = Listened {
        handshake: Some(Err(crate::bayeux::BayeuxError::HttpStatus {
            status: 401,
            body: String::new(),
        })),
        ..Listened::default()
    };
    assert!(checks(Mode::Anonymous, Expect::Refused, &refused).is_empty());
    let accepted_but_deaf = Listened {
        handshake: Some(Ok(())),
        ..Listened::default()
    };
    for mode in [Mode::Anonymous, Mode::WrongPassword] {
        assert_eq!(
            checks(mode, Expect::Refused, &accepted_but_deaf),
            ["listener.handshake"]
        );
    }
    let heard = Listened {
        heard: vec![json!({"channel": "/v2/me/chats", "data": {"chat": {"id": "c1"}}})],
        ..Listened::default()
    };
    assert_eq!(
        checks(Mode::OtherChannels, Expect::Silent, &heard),
        ["listener.silent"]
    );
    let silent = Listened {
        owner_heard: Some(true),
        ..Listened::default()
    };
    assert!(checks(Mode::ForeignClientId, Expect::Silent, &silent).is_empty());
    let mut none = Vec::new();
    check_listener(None, Expect::Silent, None, &mut none);
    assert_eq!(
        none.len(),
        1,
        "a listener that was never opened is a failure"
    );
}
