//! The certifier's checklist classes (#27): each injected defect of a class is killed by that
//! class's scenarios and by no other scenario, on every media.
//!
//! The whole suite runs against each defect (`mutants --json`), so a defect that some older
//! scenario also caught, or that the class missed on one media, shows up here. The logout
//! phase runs after every other scenario, one at a time, and disturbs none of them: shown with
//! `--jobs 8` against a stock server provisioned natively, where a logout mid-run would make
//! the agent's next Dial or Create fail.

use crate::support;

use serde_json::Value;
use support::results::{Results, messages};
use support::target::{AGENT_PASSWORDS, TargetFile};

/// A defect and the scenario names (the last part of an id) that alone may kill it.
const CLASSES: &[(&str, &[&str])] = &[
    (
        "session-id-from-client",
        &["planted-session-cookie", "planted-session-cookie-on-post"],
    ),
    (
        "trim-values",
        &[
            "values-with-surrounding-whitespace",
            "values-with-invisible-characters",
        ],
    ),
    (
        "any-media-any-path",
        &["read-under-another-media", "update-under-another-media"],
    ),
    ("any-method-as-post", &["put-instead-of-post"]),
    ("empty-password-accepted", &["empty-password"]),
    (
        "client-publish-delivered",
        &["publish-on-another-agents-channel"],
    ),
    (
        "logout-keeps-session",
        &["session-ended-by-logout", "session-ended-by-logout-on-post"],
    ),
];

const LOGOUT: &[&str] = &["session-ended-by-logout", "session-ended-by-logout-on-post"];

/// The media the suite instantiates every checklist scenario on (`media: all`).
const MEDIA_COUNT: usize = 9;

#[test]
fn each_checklist_defect_is_killed_by_its_class_alone_on_every_media() {
    // A generous notification deadline and fewer jobs: on a busy machine the default 1 s lets
    // an unrelated scenario miss its notification, which would read as a kill outside the class.
    let mut args = vec![
        "mutants",
        "--json",
        "--parallel",
        "2",
        "--jobs",
        "8",
        "--notification-timeout",
        "5s",
    ];
    for (defect, _) in CLASSES {
        args.extend(["--defect", defect]);
    }
    let out = support::bin()
        .args(&args)
        .output()
        .expect("the binary runs");
    let stdout = support::text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        support::text(&out.stderr)
    );
    let matrix: Value = serde_json::from_str(&stdout).expect("JSON matrix");
    let defects = matrix["defects"].as_array().expect("defects");
    assert_eq!(defects.len(), CLASSES.len(), "{stdout}");
    for d in defects {
        let name = d["server"].as_str().expect("server name");
        let (_, names) = CLASSES
            .iter()
            .find(|(defect, _)| *defect == name)
            .expect("a defect asked for");
        let killed: Vec<&str> = d["killed_by"]
            .as_array()
            .expect("killed_by")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let outside: Vec<&&str> = killed
            .iter()
            .filter(|id| !names.iter().any(|n| id.rsplit('/').next() == Some(n)))
            .collect();
        assert!(
            outside.is_empty(),
            "{name} killed outside its class by {outside:?}"
        );
        let media: std::collections::BTreeSet<&str> = killed
            .iter()
            .filter_map(|id| id.split('/').next())
            .collect();
        assert_eq!(
            media.len(),
            MEDIA_COUNT,
            "{name} survives on some media: {killed:?}"
        );
    }
}

#[test]
fn the_logout_phase_runs_last_on_its_own_and_disturbs_nothing() {
    let served = support::serve(&["--no-fixtures", "--csrf"]);
    let dir = tempfile::tempdir().unwrap();
    let target = TargetFile::new("Native reference server", &served.base_url)
        .native()
        .write(dir.path());
    let out_dir = dir.path().join("out");
    let out = support::bin()
        .args(["run", "--quiet", "--jobs", "8"])
        .args(["--filter", "voice/*", "--filter", "email/*"])
        .arg("--target")
        .arg(&target)
        .arg("--out")
        .arg(&out_dir)
        .envs(AGENT_PASSWORDS)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        support::text(&out.stdout),
        support::text(&out.stderr)
    );
    let results = Results::read(&out_dir);
    let lines = results.lines();
    let is_logout = |r: &Value| {
        r["id"]
            .as_str()
            .and_then(|id| id.rsplit('/').next())
            .is_some_and(|name| LOGOUT.contains(&name))
    };
    let not_passed: Vec<String> = lines
        .iter()
        .filter(|r| r["grade"] != "pass")
        .map(|r| format!("{} {}: {:?}", r["id"], r["grade"], messages(r)))
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:#?}");
    let logouts = lines.iter().filter(|r| is_logout(r)).count();
    assert_eq!(
        logouts,
        2 * LOGOUT.len(),
        "voice and email, each logout scenario"
    );
    assert!(lines.len() > 100, "{} results", lines.len());
    // results.jsonl is written as each scenario finishes: the phase is the tail.
    let first_logout = lines.iter().position(is_logout).unwrap();
    assert!(
        lines[first_logout..].iter().all(is_logout),
        "a scenario finished after the logout phase began"
    );
    assert_eq!(
        support::remaining_interactions(&served.base_url),
        Vec::<String>::new()
    );
}
