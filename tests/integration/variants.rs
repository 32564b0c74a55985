//! Legal readings and their illegal neighbours, end to end through the embedded server:
//! each reading the GWS documentation allows (`run --variant`) is certified — a GET richer than
//! the notification, asynchronous voice errors, refusing absent keys, refusing unusual data —
//! and for every edge and absent-key case, a server that answers `statusCode` 0 but stores
//! something else fails a `must` scenario, while one that refuses and changes nothing passes.

use crate::support;

use serde_json::Value;
use std::collections::BTreeSet;
use support::bin;
use support::results::{Results, messages};

fn run(args: &[&str]) -> (Option<i32>, Results) {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = bin()
        .args(["run", "--quiet", "--profile", "full", "--out"])
        .arg(&out_dir)
        .args(args)
        .output()
        .unwrap();
    (out.status.code(), Results::read(&out_dir))
}

fn has_finding(results: &Results, check: &str, text: &str) -> bool {
    results.record_results().iter().any(|r| {
        r["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|f| f["check"] == check && f["message"].as_str().is_some_and(|m| m.contains(text)))
    })
}

#[test]
fn each_legal_reading_is_certified() {
    for variants in [
        &["richer-get"][..],
        &["async-voice-errors"],
        &["refuse-absent-keys"],
        &["refuse-unusual-data"],
        &[
            "richer-get",
            "async-voice-errors",
            "refuse-absent-keys",
            "refuse-unusual-data",
            "--csrf",
        ],
    ] {
        let mut args = Vec::new();
        for v in variants {
            if v.starts_with("--") {
                args.push(*v);
            } else {
                args.extend(["--variant", v]);
            }
        }
        let (code, results) = run(&args);
        let verdict = &results.record()["verdict"];
        assert_eq!(code, Some(0), "{variants:?}: {}", verdict);
        assert_eq!(verdict["status"], "certified", "{variants:?}");
        if variants.contains(&"async-voice-errors") {
            assert!(
                has_finding(&results, "refusal.form", "refused asynchronously"),
                "{variants:?}: the report says which form the server used"
            );
        }
        if variants.contains(&"refuse-unusual-data") || variants.contains(&"refuse-absent-keys") {
            assert!(
                has_finding(&results, "refusal.allowed", "refused"),
                "{variants:?}"
            );
        }
        if variants.contains(&"richer-get") {
            // One fact, one finding: read-after reports the property, the diff refers to it.
            assert!(
                has_finding(&results, "notification.diff.properties", "lastModified")
                    || has_finding(&results, "read-after.properties", "lastModified"),
                "{variants:?}: the richer GET is seen, as a warning"
            );
        }
    }
}

/// Every edge and absent-key case (scenario name and operation), with a defect that answers
/// `statusCode` 0 to it but stores something else.
const EDGES: &[(&str, &str, &str)] = &[
    ("value-1kib", "AttachUserData", "truncate-long-values"),
    ("value-1kib", "UpdateUserData", "truncate-long-values"),
    ("value-64kib", "AttachUserData", "truncate-long-values"),
    ("value-64kib", "UpdateUserData", "truncate-long-values"),
    ("keys-with-spaces", "AttachUserData", "trim-keys"),
    ("keys-with-spaces", "UpdateUserData", "trim-keys"),
    ("keys-with-spaces", "DeleteUserData", "delete-too-much"),
    ("keys-with-spaces", "DeleteUserDataPair", "delete-too-much"),
    (
        "keys-differing-by-case",
        "AttachUserData",
        "case-insensitive-keys",
    ),
    (
        "keys-differing-by-case",
        "UpdateUserData",
        "case-insensitive-keys",
    ),
    (
        "keys-differing-by-case",
        "DeleteUserData",
        "case-insensitive-keys",
    ),
    (
        "keys-differing-by-case",
        "DeleteUserDataPair",
        "case-insensitive-keys",
    ),
    (
        "unicode-keys-and-values",
        "AttachUserData",
        "unicode-damage",
    ),
    (
        "unicode-keys-and-values",
        "UpdateUserData",
        "unicode-damage",
    ),
    (
        "unicode-keys-and-values",
        "DeleteUserData",
        "delete-too-much",
    ),
    (
        "unicode-keys-and-values",
        "DeleteUserDataPair",
        "delete-too-much",
    ),
    ("empty-key", "AttachUserData", "silent-damage"),
    ("empty-key", "DeleteUserData", "delete-too-much"),
    ("five-hundred-keys", "AttachUserData", "silent-damage"),
    ("five-hundred-keys", "UpdateUserData", "silent-damage"),
    (
        "five-hundred-keys",
        "DeleteUserData",
        "touches-other-fields",
    ),
    ("negative-integers", "AttachUserData", "numbers-as-strings"),
    ("large-integers", "AttachUserData", "numbers-as-strings"),
    ("null-value", "AttachUserData", "silent-damage"),
    ("floats", "AttachUserData", "silent-damage"),
    ("booleans", "AttachUserData", "silent-damage"),
    ("scalars-change-type", "UpdateUserData", "silent-damage"),
    ("deep-nesting", "AttachUserData", "silent-damage"),
    ("nested-object", "AttachUserData", "silent-damage"),
    ("nested-object", "UpdateUserData", "touches-other-fields"),
    ("same-key-twice", "DeleteUserData", "delete-too-much"),
    ("absent-key", "DeleteUserData", "delete-too-much"),
    ("absent-key", "DeleteUserDataPair", "touches-other-fields"),
    (
        "present-and-absent-keys",
        "DeleteUserData",
        "delete-too-much",
    ),
    ("nothing-attached", "DeleteUserData", "touches-other-fields"),
];

fn of<'r>(results: &'r Results, name: &str, operation: &str) -> Vec<&'r Value> {
    results
        .record_results()
        .iter()
        .filter(|r| {
            let id = r["id"].as_str().unwrap_or("");
            id.ends_with(&format!("/{operation}/{name}"))
        })
        .collect()
}

#[test]
fn every_edge_case_fails_silent_damage_and_passes_a_refusal() {
    let defects: BTreeSet<&str> = EDGES.iter().map(|(_, _, d)| *d).collect();
    let damaged: Vec<(&str, Results)> = defects
        .into_iter()
        .map(|d| (d, run(&["--defect", d]).1))
        .collect();
    let (code, refusing) = run(&[
        "--variant",
        "refuse-unusual-data",
        "--variant",
        "refuse-absent-keys",
        "--variant",
        "async-voice-errors",
    ]);
    assert_eq!(code, Some(0), "{}", refusing.record()["verdict"]);
    let mut refused_somewhere = 0;
    for (name, operation, defect) in EDGES {
        let (_, results) = damaged.iter().find(|(d, _)| d == defect).unwrap();
        let cases = of(results, name, operation);
        assert!(!cases.is_empty(), "{operation}/{name} exists");
        assert!(
            cases
                .iter()
                .any(|r| r["grade"] == "fail" && r["level"] == "must"),
            "{operation}/{name}: success with another effect ({defect}) fails a must scenario: {:?}",
            cases
                .iter()
                .map(|r| (&r["id"], &r["grade"]))
                .collect::<Vec<_>>()
        );
        for r in of(&refusing, name, operation) {
            assert!(
                r["grade"] == "pass" || r["grade"] == "warning",
                "{}: a refusal that changes nothing passes: {} {:?}",
                r["id"],
                r["grade"],
                messages(r)
            );
            if messages(r).iter().any(|m| m.contains("the server refused")) {
                refused_somewhere += 1;
            }
        }
    }
    assert!(
        refused_somewhere > 100,
        "{refused_somewhere} refused edge cases"
    );
}
