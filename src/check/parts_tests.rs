//! Unit tests of the checks one at a time on hand-built values: the documented shape and its
//! redaction, the state diff and unchanged state, reference ids and resources. Whole
//! observations judged by `evaluate` are `tests.rs`'s.

use super::notification::{check_reference_order, check_resource};
use super::shape::{check_documented_shape, check_shape, redact};
use super::state::{check_unchanged, interaction_diff};
use crate::observation::{Delivered, Observation, Setup};
use crate::result::Severity;
use crate::spec::matcher::Expected;
use crate::spec::{GwsVersion, MediaFacts};
use serde_json::{Value, json};
#[test]
fn redaction_reaches_every_depth() {
    let v = json!({"data": {"call": {"id": "x", "userData": {"id": "kept?"}, "participants": [{"uri": "u"}]}}});
    let r = redact(&v, &["id".into(), "uri".into()]);
    assert_eq!(r["data"]["call"]["id"], "[redacted]");
    assert_eq!(r["data"]["call"]["participants"][0]["uri"], "[redacted]");
}

#[test]
fn shapes_report_missing_retyped_and_extra() {
    let reference = json!({"a": 1, "b": {"c": "x"}, "d": [1]});
    let actual = json!({"a": "1", "b": {}, "d": [2], "e": true});
    let mut f = Vec::new();
    check_shape(Some(&reference), None, &actual, &mut f);
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(f[0].message.contains("missing /b/c"), "{}", f[0].message);
    assert!(
        f[0].message.contains("/a (number → string)"),
        "{}",
        f[0].message
    );
    assert_eq!(f[1].severity, Severity::Info);
    assert!(f[1].message.contains("/e"));
}

/// Voice facts with both documented versions, as `specs/media.yaml` records them.
fn voice_facts() -> MediaFacts {
    let call_852 = json!({"id": "x", "participants": [{"phoneNumber": "1"}], "connId": "c", "duration": "1", "userData": {}});
    let call_851 = json!({"id": "x", "participants": ["1"], "participantsInfo": [{"digits": "1"}], "duration": "1", "userData": {}});
    serde_json::from_value(json!({
        "feature": "api-voice", "collection": ["calls"], "resource_key": ["call"],
        "channel": ["/v2/me/calls"], "message_type": ["CallStateChangeMessage"],
        "notification_type": ["AttachedDataChanged"],
        "reference_id": {"response": "optional", "notification": "optional"},
        "delete": "all", "operations": ["AttachUserData"], "volatile": ["/duration"],
        "documented": [
            {"gws": ["8.5.2"], "basis": "pages", "shape": {"channel": "c", "data": {"call": call_852}}},
            {"gws": ["8.5.1"], "basis": "capture", "signature": "participants are strings",
             "shape": {"channel": "c", "data": {"call": call_851}}}
        ]
    }))
    .unwrap()
}

fn message(call: Value) -> Value {
    json!({"channel": "/v2/me/calls", "data": {"call": call}})
}

#[test]
fn absent_user_data_and_an_empty_object_are_the_same_state() {
    let facts = voice_facts();
    let bare = json!({"id": "a", "state": "Dialing"});
    let empty = json!({"id": "a", "state": "Dialing", "userData": {}});
    assert!(interaction_diff(&facts, &bare, &empty).is_empty());
    let attached = json!({"state": "Dialing", "id": "a", "userData": {"K": "v"}});
    assert_eq!(
        interaction_diff(&facts, &bare, &attached),
        vec![json!({"op": "add", "path": "/userData/K", "value": "v"})]
    );
    assert_eq!(
        interaction_diff(&facts, &empty, &attached),
        interaction_diff(&facts, &bare, &attached),
        "the change does not depend on how empty user data was shown"
    );
}

#[test]
fn key_order_never_makes_a_difference() {
    let facts = voice_facts();
    let a = json!({"id": "a", "userData": {"A": 1, "B": {"x": 1, "y": 2}}});
    let b = json!({"userData": {"B": {"y": 2, "x": 1}, "A": 1}, "id": "a"});
    assert!(interaction_diff(&facts, &a, &b).is_empty());
}

#[test]
fn a_missing_documented_property_fails_and_names_the_path() {
    let facts = voice_facts();
    let mut f = Vec::new();
    let call = json!({"id": "x", "participants": [{"phoneNumber": "1"}], "duration": 5});
    check_documented_shape(&facts, GwsVersion::V8_5_2, &message(call), &mut f);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].check.as_str(), f[0].severity),
        ("shape.documented", Severity::Error)
    );
    assert!(
        f[0].message.contains("missing /data/call/connId"),
        "{}",
        f[0].message
    );
    assert!(
        f[0].message
            .contains("/data/call/duration (string → number)"),
        "{}",
        f[0].message
    );
    assert_eq!(
        f[0].expected.as_deref(),
        Some("/data/call/connId: string\n/data/call/duration: string")
    );
    assert_eq!(
        f[0].actual.as_deref(),
        Some("/data/call/connId: (absent)\n/data/call/duration: number")
    );
}

#[test]
fn the_documented_shape_passes_without_user_data_and_with_extras() {
    let facts = voice_facts();
    let mut f = Vec::new();
    let call = json!({"extra": true, "connId": "c", "duration": "2", "participants": [{"phoneNumber": "1", "more": 1}], "id": "x"});
    let core = check_documented_shape(&facts, GwsVersion::V8_5_2, &message(call), &mut f);
    assert!(f.is_empty(), "{f:?}");
    assert!(core.is_some());
    let mut f = Vec::new();
    let retyped = json!({"id": "x", "participants": [{"phoneNumber": "1"}], "connId": "c", "duration": "1", "userData": []});
    check_documented_shape(&facts, GwsVersion::V8_5_2, &message(retyped), &mut f);
    assert!(
        f[0].message
            .contains("/data/call/userData (object → array)"),
        "{f:?}"
    );
}

#[test]
fn another_versions_shape_is_named_as_the_cause() {
    let facts = voice_facts();
    let old = message(
        json!({"id": "x", "participants": ["1"], "participantsInfo": [{"digits": "1"}], "duration": "1"}),
    );
    let mut f = Vec::new();
    check_documented_shape(&facts, GwsVersion::V8_5_1, &old, &mut f);
    assert!(f.is_empty(), "certified under its own version: {f:?}");
    check_documented_shape(&facts, GwsVersion::V8_5_2, &old, &mut f);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message.starts_with("participants are strings; the notification fits the documented GWS 8.5.1 shape instead (certify with --gws-version 8.5.1)"),
        "{}",
        f[0].message
    );
    let mut f = Vec::new();
    check_documented_shape(
        &facts,
        GwsVersion::V8_5_2,
        &message(json!({"id": 1})),
        &mut f,
    );
    assert!(
        !f[0].message.contains("--gws-version"),
        "no version fits: {}",
        f[0].message
    );
}

#[test]
fn beyond_the_documented_core_a_difference_is_only_a_warning() {
    let core = json!({"data": {"call": {"id": "x", "participants": []}}});
    let pinned =
        json!({"data": {"call": {"id": "x", "receivedDate": "d", "participants": [{"id": "p"}]}}});
    let actual = json!({"data": {"call": {"id": "x", "participants": [{"name": "n"}], "own": 1}}});
    let mut f = Vec::new();
    check_shape(Some(&pinned), Some(&core), &actual, &mut f);
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(
        (f[0].check.as_str(), f[0].severity),
        ("shape", Severity::Warning)
    );
    assert!(
        f[0].message.starts_with("beyond the documented shape"),
        "{}",
        f[0].message
    );
    assert!(
        f[0].message
            .contains("missing /data/call/receivedDate, /data/call/participants/0/id"),
        "{}",
        f[0].message
    );
    assert_eq!(f[1].severity, Severity::Info);
    let mut f = Vec::new();
    check_shape(Some(&pinned), Some(&core), &pinned, &mut f);
    assert!(f.is_empty(), "{f:?}");
}

#[test]
fn the_core_decides_its_own_paths_in_the_second_layer() {
    // Under 8.5.1 participants are strings: the 8.5.2-shaped snapshot must not object.
    let core = json!({"data": {"call": {"participants": ["1"]}}});
    let pinned = json!({"data": {"call": {"participants": [{"phoneNumber": "1"}]}}});
    let actual = json!({"data": {"call": {"participants": ["1"]}}});
    let mut f = Vec::new();
    check_shape(Some(&pinned), Some(&core), &actual, &mut f);
    assert!(f.is_empty(), "{f:?}");
    check_shape(Some(&pinned), None, &actual, &mut f);
    assert!(
        f[0].message
            .contains("/data/call/participants/0 (object → string)"),
        "{f:?}"
    );
}

#[test]
fn state_findings_show_only_the_differing_paths() {
    let facts = voice_facts();
    let before = json!({"id": "a", "state": "Dialing", "userData": {"Seed": "v", "Same": 1}});
    let after = json!({"userData": {"Same": 1, "Seed": "changed"}, "state": "Dialing", "id": "a"});
    let obs = Observation {
        after: Ok(after),
        ..Observation::not_started(Setup::Ready, Vec::new(), std::time::Duration::ZERO)
    };
    let mut f = Vec::new();
    check_unchanged(
        &facts,
        &Observation {
            before: Some(before.clone()),
            ..obs.clone()
        },
        &mut f,
    );
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].expected.as_deref(), Some("/userData/Seed: \"v\""));
    assert_eq!(f[0].actual.as_deref(), Some("/userData/Seed: \"changed\""));
    let mut f = Vec::new();
    let same = json!({"state": "Dialing", "id": "a", "userData": {"Same": 1, "Seed": "changed"}});
    check_unchanged(
        &facts,
        &Observation {
            before: Some(same),
            ..obs
        },
        &mut f,
    );
    assert!(f.is_empty(), "{f:?}");
}

fn delivered(reference_id: i64) -> Delivered {
    Delivered {
        agent: 0,
        message: json!({"data": {"referenceId": reference_id}}),
        after_post: std::time::Duration::ZERO,
    }
}

#[test]
fn reference_ids_must_differ_and_should_grow() {
    let with = |ids: &[i64]| Observation {
        notifications: ids.iter().map(|i| delivered(*i)).collect(),
        ..Observation::not_started(Setup::Ready, Vec::new(), std::time::Duration::ZERO)
    };
    let mut f = Vec::new();
    check_reference_order(&with(&[1007, 1014]), true, &mut f);
    assert!(f.is_empty(), "{f:?}");
    check_reference_order(&with(&[9, 3]), true, &mut f);
    assert_eq!((f.len(), f[0].severity), (1, Severity::Warning));
    let mut f = Vec::new();
    check_reference_order(&with(&[4, 4]), true, &mut f);
    assert_eq!((f.len(), f[0].severity), (1, Severity::Error));
    let mut f = Vec::new();
    check_reference_order(&with(&[9, 3]), false, &mut f);
    assert!(
        f.is_empty(),
        "concurrent operations may be announced in any order: {f:?}"
    );
    check_reference_order(&with(&[4, 4]), false, &mut f);
    assert_eq!((f.len(), f[0].severity), (1, Severity::Error));
}

#[test]
fn resource_matchers_check_the_documented_representation() {
    let absent = vec![("userData".to_string(), Expected::Absent)];
    let mut f = Vec::new();
    check_resource(&absent, &json!({"id": "a"}), &mut f);
    assert!(f.is_empty());
    check_resource(&absent, &json!({"id": "a", "userData": {}}), &mut f);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].check, "notification.resource.userData");
}
