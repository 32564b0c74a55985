//! The load verdicts on hand-built groups and messages: each rule passes on a conforming
//! observation and fails on the one broken way it names.

use super::*;
use crate::observation::Body;

/// A case of the built-in suite, by id.
fn builtin_case(id: &str) -> Case {
    let suite = crate::suite::builtin().expect("the built-in suite loads");
    crate::plan::build(&suite, &crate::plan::Selection::default())
        .into_iter()
        .find(|c| c.id == id)
        .expect("the case exists")
}

fn map(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("an object")
}

fn accepted() -> Result<Reply, RequestError> {
    Ok(Reply {
        status: 200,
        body: Body::Json(json!({"statusCode": 0})),
    })
}

fn refused() -> Result<Reply, RequestError> {
    Ok(Reply {
        status: 400,
        body: Body::Json(json!({"statusCode": 1, "statusMessage": "no"})),
    })
}

/// A conforming chat notification showing `user_data`, `ms` after the POST.
fn notified(user_data: Value, ms: u64) -> Delivered {
    Delivered {
        agent: 0,
        message: json!({"channel": "/v2/me/chats", "data": {
        "notificationType": "PropertiesUpdated", "messageType": "ChatStateChangeMessage",
        "referenceId": 5, "chat": {
            "id": "c1", "state": "Chatting", "uri": "http://gws/api/v2/chats/c1",
            "capabilities": ["UpdateUserData"],
            "participants": [{"nickname": "N", "type": "Customer", "participantId": "p"}],
            "userData": user_data,
        }}}),
        after_post: Duration::from_millis(ms),
    }
}

/// The marks of a group as `(op, fact)`, and whether each detail contains its word.
fn judge(
    keys: &[Option<Vec<String>>],
    replies: &[Result<Reply, RequestError>],
    notifications: &[Delivered],
    expected: Value,
) -> GroupVerdict {
    judge_through(keys, replies, notifications, expected, None)
}

/// [`judge`] with the owner's stream interrupted during the window (`interrupted`: why).
fn judge_through(
    keys: &[Option<Vec<String>>],
    replies: &[Result<Reply, RequestError>],
    notifications: &[Delivered],
    expected: Value,
    interrupted: Option<&str>,
) -> GroupVerdict {
    let case = builtin_case("chat/UpdateUserData/add-new-key");
    let expected = map(expected);
    load_group(&GroupObservation {
        operations: keys
            .iter()
            .zip(replies)
            .map(|(keys, reply)| GroupOperation {
                case: &case,
                keys: keys.clone(),
                reply,
            })
            .collect(),
        notifications,
        expected: &expected,
        deadline: Duration::from_secs(1),
        interrupted: interrupted.map(str::to_string),
    })
}

fn facts(verdict: &GroupVerdict) -> Vec<(usize, LoadFact)> {
    verdict.marks.iter().map(|m| (m.op, m.fact)).collect()
}

fn detail(verdict: &GroupVerdict, i: usize) -> &str {
    verdict.marks[i].detail.as_deref().unwrap_or("")
}

fn keys(k: &str) -> Option<Vec<String>> {
    Some(vec![k.to_string()])
}

#[test]
fn one_operation_notified_with_the_expected_state_is_notified() {
    let v = judge(
        &[keys("a")],
        &[accepted()],
        &[notified(json!({"b": 2, "a": 1.0}), 7)],
        json!({"a": 1, "b": 2}),
    );
    assert_eq!(facts(&v), vec![(0, LoadFact::Notified)]);
    assert_eq!(v.notification_latencies, vec![Duration::from_millis(7)]);
    assert_eq!((v.notified, v.problems), (1, 0));
}

#[test]
fn what_a_transport_fault_hid_is_indeterminate_not_lost_or_wrong() {
    let cut = "notification endpoint unreachable: connection reset";
    let hidden = judge_through(&[keys("a")], &[accepted()], &[], json!({"a": 1}), Some(cut));
    assert_eq!(facts(&hidden), vec![(0, LoadFact::Indeterminate)]);
    assert!(detail(&hidden, 0).contains(cut), "{}", detail(&hidden, 0));
    assert_eq!(hidden.problems, 0);
    let no_reply: Result<Reply, RequestError> = Err(RequestError::Transport {
        url: "http://gws/api/v2/me/chats/c1".into(),
        message: "connection reset by peer".into(),
    });
    let lost_reply = judge(&[keys("a")], &[no_reply], &[], json!({"a": 1}));
    assert_eq!(facts(&lost_reply), vec![(0, LoadFact::Indeterminate)]);
    // A notification that came is judged, interrupted or not.
    let came = judge_through(
        &[keys("a")],
        &[accepted()],
        &[notified(json!({"a": 2}), 3)],
        json!({"a": 1}),
        Some(cut),
    );
    assert_eq!(facts(&came), vec![(0, LoadFact::Wrong)]);
}

#[test]
fn one_operation_verdicts() {
    let lost = judge(&[keys("a")], &[accepted()], &[], json!({"a": 1}));
    assert_eq!(facts(&lost), vec![(0, LoadFact::Lost)], "no notification");
    assert_eq!(detail(&lost, 0), "no notification within 1.0s");
    assert!(lost.notification_latencies.is_empty());

    let refused = judge(&[keys("a")], &[refused()], &[], json!({"a": 1}));
    assert_eq!(facts(&refused), vec![(0, LoadFact::Wrong)], "refused");
    assert_eq!(refused.problems, 1);

    let other = judge(
        &[keys("a")],
        &[accepted()],
        &[notified(json!({"a": 2}), 1)],
        json!({"a": 1}),
    );
    assert_eq!(facts(&other), vec![(0, LoadFact::Wrong)], "another state");
    assert!(detail(&other, 0).contains("load.user-data"), "{other:?}");

    let twice = judge(
        &[keys("a")],
        &[accepted()],
        &[notified(json!({"a": 1}), 1), notified(json!({"a": 1}), 2)],
        json!({"a": 1}),
    );
    assert_eq!(
        facts(&twice),
        vec![(0, LoadFact::Notified), (0, LoadFact::Duplicated)],
        "two notifications for one operation"
    );
    assert_eq!(detail(&twice, 1), "2 notifications for 1 operation(s)");
}

#[test]
fn concurrent_operations_must_compose() {
    let expected = json!({"a~0": 1, "b~1": 2});
    let both = [keys("a~0"), keys("b~1")];
    let replies = [accepted(), accepted()];
    let composed = judge(
        &both,
        &replies,
        &[
            notified(json!({"a~0": 1}), 1),
            notified(json!({"a~0": 1, "b~1": 2}), 2),
        ],
        expected.clone(),
    );
    assert_eq!(
        facts(&composed),
        vec![(0, LoadFact::Notified), (1, LoadFact::Notified)],
        "the last shows them both"
    );
    let lost_update = judge(
        &both,
        &replies,
        &[
            notified(json!({"a~0": 1}), 1),
            notified(json!({"b~1": 2}), 2),
        ],
        expected.clone(),
    );
    assert_eq!(
        facts(&lost_update),
        vec![
            (0, LoadFact::Notified),
            (1, LoadFact::Notified),
            (0, LoadFact::Wrong)
        ],
        "the second overwrote the first"
    );
    assert!(detail(&lost_update, 2).starts_with("lost update: "));
    assert_eq!(lost_update.problems, 1);
    let one_short = judge(
        &both,
        &replies,
        &[notified(json!({"a~0": 1, "b~1": 2}), 1)],
        expected,
    );
    assert_eq!(
        facts(&one_short),
        vec![
            (0, LoadFact::Notified),
            (1, LoadFact::Notified),
            (1, LoadFact::Lost)
        ],
        "fewer notifications than operations: the last is lost"
    );
}

#[test]
fn leftover_verdicts() {
    let m = json!({"data": {"chat": {"id": "c1"}}});
    let rows = [
        (Leftover::Late, LoadFact::Late, ""),
        (
            Leftover::Repeat,
            LoadFact::Duplicated,
            "a second notification with the same state",
        ),
        (
            Leftover::Unexpected,
            LoadFact::Wrong,
            "an unexpected notification about the interaction",
        ),
        (
            Leftover::Copy,
            LoadFact::Duplicated,
            "a second copy of the notification",
        ),
        (
            Leftover::SameState,
            LoadFact::Duplicated,
            "another notification with the same state",
        ),
        (
            Leftover::Crossed { receiver: "bob" },
            LoadFact::Crossed,
            "reached agent bob's stream",
        ),
    ];
    for (leftover, fact, words) in rows {
        let (got, detail) = judge_leftover(leftover, &m);
        assert_eq!(got, fact, "{leftover:?}");
        assert!(detail.unwrap_or_default().contains(words), "{leftover:?}");
    }
    assert_eq!(unclaimed_notifications(0), None);
    assert!(unclaimed_notifications(2).is_some_and(|p| p.starts_with("2 notifications")));
}

#[test]
fn read_your_writes_holds_the_get_to_the_expected_state() {
    let expected = map(json!({"a": 1, "b": [1, 2]}));
    let same = map(json!({"b": [1.0, 2], "a": 1.0}));
    assert_eq!(
        load_read_your_writes(Ok(&same), &expected),
        None,
        "key order, spelling"
    );
    let other = map(json!({"a": 1, "b": [2, 1]}));
    assert!(
        load_read_your_writes(Ok(&other), &expected)
            .is_some_and(|p| p.starts_with("read-your-writes: GET shows userData"))
    );
    assert_eq!(
        load_read_your_writes(Err("GET answered HTTP 500"), &expected).as_deref(),
        Some("read-your-writes: GET answered HTTP 500")
    );
}

#[test]
fn an_accepted_operation_answered_status_code_zero() {
    assert!(operation_accepted(&accepted()));
    assert!(!operation_accepted(&refused()));
    assert!(!operation_accepted(&Err(RequestError::Timeout {
        url: "http://gws/api/v2/me/chats/1".into(),
        after: Duration::from_secs(5),
    })));
}
