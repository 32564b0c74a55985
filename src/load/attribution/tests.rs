//! Table tests of attribution: hand-built memories and messages, no server and no timing.
//! Each row names the rule it holds; breaking the rule fails that row.

use super::*;
use crate::check::same_user_data;
use serde_json::json;

fn map(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("an object")
}

fn r(i: usize) -> RecordIndex {
    RecordIndex(i)
}

fn group(records: &[usize], state: u64, missing: usize) -> Group {
    Group {
        records: records.iter().copied().map(RecordIndex).collect(),
        final_state: state,
        missing,
        last_message: None,
    }
}

/// Every record counts as lost; the rows that need otherwise say so.
fn all_lost(_: RecordIndex) -> bool {
    true
}

#[test]
fn the_state_hash_agrees_with_same_user_data() {
    // (rule, a, b): `same_user_data(a, b)` and hash equality must agree on every row.
    let rows = [
        (
            "key order",
            json!({"a": 1, "b": "x"}),
            json!({"b": "x", "a": 1}),
        ),
        (
            "key order, nested",
            json!({"o": {"p": 1, "q": [1, {"r": 2, "s": 3}]}}),
            json!({"o": {"q": [1, {"s": 3, "r": 2}], "p": 1}}),
        ),
        (
            "integer and float spelling",
            json!({"n": 1}),
            json!({"n": 1.0}),
        ),
        ("exponent spelling", json!({"n": 100}), json!({"n": 1e2})),
        ("negative zero", json!({"n": 0}), json!({"n": -0.0})),
        ("negative integers", json!({"n": -3}), json!({"n": -3.0})),
        ("different values", json!({"n": 1}), json!({"n": 2})),
        ("number and string", json!({"n": 1}), json!({"n": "1"})),
        (
            "array order counts",
            json!({"a": [1, 2]}),
            json!({"a": [2, 1]}),
        ),
        ("a missing key", json!({"a": 1, "b": 2}), json!({"a": 1})),
        ("null is a value", json!({"a": null}), json!({})),
        ("empty", json!({}), json!({})),
        (
            "nested difference",
            json!({"o": {"p": 1}}),
            json!({"o": {"p": 1, "q": 1}}),
        ),
    ];
    for (rule, a, b) in rows {
        let (a, b) = (map(a), map(b));
        assert_eq!(
            state_hash(&a) == state_hash(&b),
            same_user_data(&a, &b),
            "{rule}: {a:?} vs {b:?}"
        );
    }
}

#[test]
fn absent_user_data_is_empty_and_a_message_hash_sees_everything() {
    assert_eq!(user_data_hash(&json!({"id": "i"})), state_hash(&Map::new()));
    assert_eq!(
        user_data_hash(&json!({"id": "i", "userData": {"a": 1}})),
        state_hash(&map(json!({"a": 1.0})))
    );
    let m = json!({"data": {"chat": {"id": "i", "userData": {"a": 1}}}, "channel": "/v2/me/chats"});
    let copy =
        json!({"channel": "/v2/me/chats", "data": {"chat": {"userData": {"a": 1}, "id": "i"}}});
    let other =
        json!({"data": {"chat": {"id": "j", "userData": {"a": 1}}}, "channel": "/v2/me/chats"});
    assert_eq!(message_hash(&m), message_hash(&copy), "a copy");
    assert_ne!(
        message_hash(&m),
        message_hash(&other),
        "another interaction"
    );
}

#[test]
fn a_late_notification_is_claimed_by_the_newest_pending_group_showing_its_state() {
    // (rule, pending groups, state shown, claim, pending missing counts after)
    type Row = (
        &'static str,
        Vec<Group>,
        Option<u64>,
        Option<Option<RecordIndex>>,
        Vec<usize>,
    );
    let rows: Vec<Row> = vec![
        ("no pending group", vec![], Some(1), None, vec![]),
        (
            "another state",
            vec![group(&[0], 1, 1)],
            Some(2),
            None,
            vec![1],
        ),
        (
            "no state shown",
            vec![group(&[0], 1, 1)],
            None,
            None,
            vec![1],
        ),
        (
            "the group showing it, which then lacks nothing",
            vec![group(&[0], 1, 1), group(&[1], 2, 1)],
            Some(1),
            Some(Some(r(0))),
            vec![1],
        ),
        (
            "the newest of two with one state",
            vec![group(&[0], 1, 1), group(&[1], 2, 1), group(&[2], 1, 1)],
            Some(1),
            Some(Some(r(2))),
            vec![1, 1],
        ),
        (
            "a group lacking two stays pending",
            vec![group(&[3, 4], 5, 2)],
            Some(5),
            Some(Some(r(3))),
            vec![1],
        ),
    ];
    for (rule, pending, shows, claim, after) in rows {
        let mut memory = Memory {
            pending,
            ..Memory::default()
        };
        assert_eq!(memory.claim_late(shows, all_lost), claim, "{rule}");
        let missing: Vec<usize> = memory.pending.iter().map(|g| g.missing).collect();
        assert_eq!(missing, after, "{rule}");
    }
}

#[test]
fn a_late_notification_resolves_the_first_operation_still_lost() {
    let mut memory = Memory {
        pending: vec![group(&[3, 4], 5, 2)],
        ..Memory::default()
    };
    let resolved_first = |record: RecordIndex| record != r(3);
    assert_eq!(memory.claim_late(Some(5), resolved_first), Some(Some(r(4))));
    assert_eq!(
        memory.claim_late(Some(5), |_| false),
        Some(None),
        "still late, but no operation left to resolve"
    );
    assert!(memory.pending.is_empty());
}

#[test]
fn while_a_group_waits_its_own_state_wins_over_a_pending_one() {
    // (rule, state shown, state the waiting group expects, arrival, pending left)
    let rows = [
        ("its own state", Some(1), 1, Arrival::Ours, 1),
        (
            "a pending group's state",
            Some(2),
            1,
            Arrival::Late(Some(r(0))),
            0,
        ),
        ("any other state is ours", Some(3), 1, Arrival::Ours, 1),
        ("no state shown is ours", None, 1, Arrival::Ours, 1),
        (
            "its own state, even when a pending group shares it",
            Some(2),
            2,
            Arrival::Ours,
            1,
        ),
    ];
    for (rule, shows, expected, arrival, left) in rows {
        let mut memory = Memory {
            pending: vec![group(&[0], 2, 1)],
            ..Memory::default()
        };
        assert_eq!(
            memory.during_group(shows, expected, all_lost),
            arrival,
            "{rule}"
        );
        assert_eq!(memory.pending.len(), left, "{rule}");
    }
}

#[test]
fn stragglers_are_late_repeats_or_unexpected() {
    // (rule, pending, last group, state shown, straggler)
    let rows = [
        (
            "a pending group's state: late",
            vec![group(&[0], 1, 1)],
            Some(group(&[5, 6], 2, 0)),
            Some(1),
            Straggler::Late(Some(r(0))),
        ),
        (
            "the last group's state: a repeat, on its first operation",
            vec![],
            Some(group(&[5, 6], 2, 0)),
            Some(2),
            Straggler::Repeat(r(5)),
        ),
        (
            "another state: unexpected, on its last operation",
            vec![],
            Some(group(&[5, 6], 2, 0)),
            Some(3),
            Straggler::Unexpected(r(6)),
        ),
        (
            "no state shown: unexpected",
            vec![],
            Some(group(&[5], 2, 0)),
            None,
            Straggler::Unexpected(r(5)),
        ),
        (
            "no last group (a fresh interaction): nothing to hold it to",
            vec![],
            None,
            Some(3),
            Straggler::Unattributed,
        ),
        (
            "a pending group wins over the last group with the same state",
            vec![group(&[0], 2, 1)],
            Some(group(&[5], 2, 0)),
            Some(2),
            Straggler::Late(Some(r(0))),
        ),
    ];
    for (rule, pending, last, shows, straggler) in rows {
        let mut memory = Memory {
            pending,
            last,
            ..Memory::default()
        };
        assert_eq!(memory.straggler(shows, all_lost), straggler, "{rule}");
    }
}

#[test]
fn remembered_groups_feed_history_pending_and_last() {
    let mut memory = Memory::default();
    memory.remember(group(&[0, 1], 7, 0));
    memory.remember(group(&[2], 8, 1));
    assert_eq!(memory.history, vec![(7, r(0)), (7, r(1)), (8, r(2))]);
    assert_eq!(
        memory.pending,
        vec![group(&[2], 8, 1)],
        "only the group short of one"
    );
    assert_eq!(memory.last, Some(group(&[2], 8, 1)));
    for i in 0..MAX_PENDING_GROUPS + 5 {
        memory.remember(group(&[10 + i], 100 + i as u64, 1));
    }
    assert_eq!(memory.pending.len(), MAX_PENDING_GROUPS, "bounded");
    assert_eq!(
        memory.pending.first().map(|g| g.final_state),
        Some(105),
        "the oldest forgotten first"
    );
}

#[test]
fn leaving_an_interaction_keeps_its_last_notification_for_copies() {
    let mut memory = Memory::default();
    assert_eq!(memory.leave_interaction(), None);
    memory.remember(Group {
        last_message: Some(42),
        ..group(&[3, 4], 9, 0)
    });
    assert_eq!(memory.leave_interaction(), Some((42, r(3))));
    assert_eq!(memory.last, None, "the fresh interaction has no last group");
    assert_eq!(memory.history.len(), 2, "history stays, for crossed ones");
}

#[test]
fn crossed_notifications_are_held_against_the_state_they_show() {
    let memory = Memory {
        history: vec![(1, r(0)), (2, r(1)), (1, r(2))],
        ..Memory::default()
    };
    // (rule, state shown, operation)
    let rows = [
        ("the first operation announcing it", Some(1), Some(r(0))),
        ("a later state", Some(2), Some(r(1))),
        (
            "an unknown state: the latest operation",
            Some(9),
            Some(r(2)),
        ),
        ("no state: the latest operation", None, Some(r(2))),
    ];
    for (rule, shows, record) in rows {
        assert_eq!(memory.crossed(shows), record, "{rule}");
    }
    assert_eq!(Memory::default().crossed(Some(1)), None, "no operation yet");
    assert_eq!(memory.latest(), Some(r(2)));
}

#[test]
fn messages_about_a_left_interaction() {
    let memory = Memory {
        history: vec![(1, r(0)), (2, r(1))],
        ..Memory::default()
    };
    let retired = Retired {
        id: "old".into(),
        cleaned_at: Duration::from_secs(10),
        last_message: Some((77, r(1))),
    };
    let before = Duration::from_secs(9);
    let after = Duration::from_secs(10);
    let lost_0 = |record: RecordIndex| record == r(0);
    // (rule, message hash, when it came, state shown, attribution)
    let rows = [
        (
            "a copy of its last notification",
            77,
            after,
            Some(2),
            OnRetired::Copy(r(1)),
        ),
        (
            "anything else after the cleanup",
            78,
            after,
            Some(1),
            OnRetired::AfterCleanup,
        ),
        (
            "a lost operation's state before it: late",
            78,
            before,
            Some(1),
            OnRetired::Late(r(0)),
        ),
        (
            "a notified operation's state before it: another one",
            78,
            before,
            Some(2),
            OnRetired::SameState(r(1)),
        ),
        (
            "a state nobody announced",
            78,
            before,
            Some(3),
            OnRetired::Unknown,
        ),
    ];
    for (rule, hash, came, shows, attribution) in rows {
        assert_eq!(
            memory.on_retired(&retired, hash, came, shows, lost_0),
            attribution,
            "{rule}"
        );
    }
}
