//! End-to-end tests of the `gws-conformance` binary: exit codes, failure rendering, spec
//! errors, listing, and the committed schema.

use crate::support;

use support::results::Results;
use support::target::TargetFile;
use support::{bin, serve, text};

use std::path::{Path, PathBuf};
use std::process::Output;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

/// A spec directory with the real media table and the given scenario files.
fn spec_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::create_dir_all(dir.path().join("scenarios")).expect("mkdir");
    std::fs::copy(
        root().join("specs/media.yaml"),
        dir.path().join("media.yaml"),
    )
    .expect("copy media.yaml");
    for (name, body) in files {
        std::fs::write(dir.path().join("scenarios").join(name), body).expect("write scenario");
    }
    dir
}

fn path(dir: &Path) -> &str {
    dir.to_str().expect("utf-8 temp path")
}

#[test]
fn the_reference_server_passes_the_default_suite() {
    let out = run(&["run", "--quiet"]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}

#[test]
fn a_wrong_expected_diff_fails_with_a_readable_diff() {
    let dir = spec_dir(&[(
        "wrong.yaml",
        "scenarios:\n  - name: wrong-expectation\n    operation: UpdateUserData\n    media: sms\n    given: {userData: {UserData1: DATA1}}\n    request: {operationName: UpdateUserData, userData: {UserData1: NEW}}\n    expect:\n      snapshot: false\n      notification:\n        diff:\n          - {op: replace, path: /userData/UserData1, value: SOMETHING-ELSE}\n",
    )]);
    let out = run(&["run", "--specs", path(dir.path())]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL sms/UpdateUserData/wrong-expectation"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "wrong value at /userData/UserData1: expected \"SOMETHING-ELSE\", got \"NEW\""
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("--- expected") && stdout.contains("+++ actual"),
        "{stdout}"
    );
    assert!(
        stdout.contains("-    \"value\": \"SOMETHING-ELSE\"")
            && stdout.contains("+    \"value\": \"NEW\""),
        "{stdout}"
    );
    assert!(stdout.contains("result: 0 passed, 1 failed"), "{stdout}");
}

#[test]
fn a_notification_that_lacks_the_change_fails() {
    let out = run(&[
        "run",
        "--defect",
        "notification-omits-change",
        "--filter",
        "sms/UpdateUserData/documented-sample",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL sms/UpdateUserData/documented-sample"),
        "{stdout}"
    );
    assert!(
        stdout.contains("missing: replace /userData/UserData1"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("GET after the notification shows other user data than the notification"),
        "one fact, one finding: {stdout}"
    );
    assert!(
        stdout.contains(
            "info [read-after]: GET after the notification differs from it at /userData/UserData1"
        ) && stdout.contains("reported under notification.diff"),
        "{stdout}"
    );
}

#[test]
fn a_broken_spec_exits_2_with_file_line_and_column() {
    let dir = spec_dir(&[(
        "broken.yaml",
        "scenarios:\n  - name: broken\n    operation: UpdateUserData\n    media: sms\n    request: {operationName: UpdateUserData, userData: {A: 1}}\n    expect:\n      respnse: {status: 200}\n      notification: none\n",
    )]);
    for command in ["run", "list"] {
        let out = run(&[command, "--specs", path(dir.path())]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {stderr}");
        assert!(stderr.contains("broken.yaml:7:7"), "{command}: {stderr}");
        assert!(stderr.contains("unknown key `respnse`"), "{stderr}");
        assert!(stderr.contains("did you mean `response`?"), "{stderr}");
        assert!(stderr.contains("scenarios[0].expect.respnse"), "{stderr}");
    }
    let out = run(&["check", path(dir.path())]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_empty_selection_is_an_error() {
    let out = run(&["run", "--filter", "no-such-scenario"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("selection is empty"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn list_json_names_id_media_operation_and_level() {
    let out = run(&["list", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert!(lines.len() >= 5);
    for l in &lines {
        let id = l["id"].as_str().expect("id");
        assert_eq!(
            id,
            format!(
                "{}/{}/{}",
                l["media"].as_str().unwrap(),
                l["operation"].as_str().unwrap(),
                l["name"].as_str().unwrap()
            )
        );
        assert!(["must", "should", "may"].contains(&l["level"].as_str().unwrap()));
    }
    for wanted in [
        "sms/AttachUserData/",
        "sms/UpdateUserData/",
        "sms/DeleteUserData/",
        "chat/UpdateUserData/",
        "voice/DeleteUserData/",
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l["id"].as_str().unwrap().starts_with(wanted)),
            "no scenario {wanted}"
        );
    }
}

#[test]
fn the_committed_schema_is_current() {
    let out = run(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let committed = std::fs::read_to_string(root().join("specs/scenario.schema.json"))
        .expect("specs/scenario.schema.json is committed");
    assert_eq!(
        committed.trim(),
        text(&out.stdout).trim(),
        "regenerate with: cargo run -- schema > specs/scenario.schema.json"
    );
}

#[test]
fn results_are_written_as_jsonl_and_json() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let out = run(&[
        "run",
        "--quiet",
        "--filter",
        "sms/*/documented-sample",
        "--out",
        path(dir.path()),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let results = Results::read(dir.path());
    let parsed = results.lines();
    assert_eq!(parsed.len(), 3);
    assert!(parsed.iter().all(|r| r["grade"] == "pass"));
    assert_eq!(results.record()["provenance"]["tool"], "gws-conformance");
    assert_eq!(results.record_results().len(), 3);
}

#[test]
fn every_grade_is_produced() {
    let scenario = |name: &str, level: &str, value: &str| {
        format!(
            "  - name: {name}\n    operation: UpdateUserData\n    media: [sms, voice]\n    level: {level}\n    given: {{userData: {{K: old}}}}\n    request: {{operationName: UpdateUserData, userData: {{K: new}}}}\n    expect:\n      snapshot: false\n      notification:\n        diff:\n          - {{op: replace, path: /userData/K, value: {value}}}\n"
        )
    };
    let body = format!(
        "scenarios:\n{}{}{}{}",
        scenario("passes", "must", "new"),
        scenario("fails", "must", "other"),
        scenario("warns", "should", "other"),
        scenario("informs", "may", "other")
    );
    let specs = spec_dir(&[("grades.yaml", &body)]);
    let out_dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "run",
        "--quiet",
        "--offer",
        "sms",
        "--specs",
        path(specs.path()),
        "--out",
        path(out_dir.path()),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a must scenario failed: {}",
        text(&out.stdout)
    );
    let g = Results::read(out_dir.path()).grades();
    assert_eq!(g["sms/UpdateUserData/passes"], "pass");
    assert_eq!(g["sms/UpdateUserData/fails"], "fail");
    assert_eq!(g["sms/UpdateUserData/warns"], "warning");
    assert_eq!(g["sms/UpdateUserData/informs"], "informational");
    assert_eq!(g["voice/UpdateUserData/passes"], "not-applicable");

    // A target whose provisioner answers something that is not JSON: setup fails, the scenario
    // is could-not-test. (An unreachable fixture endpoint is a transport fault: indeterminate.)
    let served = serve(&[]);
    let target = TargetFile::new("broken fixtures", &served.base_url)
        .agents(&[("agent1", "GWSC_TEST_PASSWORD")])
        .fixtures_exec(&["echo", "not json"])
        .write(out_dir.path());
    let out_dir2 = tempfile::tempdir().unwrap();
    let out = bin()
        .args([
            "run",
            "--quiet",
            "--target",
            target.to_str().unwrap(),
            "--filter",
            "sms/UpdateUserData/passes",
            "--specs",
            path(specs.path()),
            "--out",
            path(out_dir2.path()),
        ])
        .env("GWSC_TEST_PASSWORD", "agent1-pass")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert_eq!(
        Results::read(out_dir2.path()).grades()["sms/UpdateUserData/passes"],
        "could-not-test"
    );
}

#[test]
fn a_voice_only_target_is_certified_for_the_voice_profile_only() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "run",
        "--quiet",
        "--offer",
        "voice",
        "--profile",
        "voice",
        "--out",
        path(out_dir.path()),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("verdict: CERTIFIED for profile `voice`"),
        "{stdout}"
    );
    let g = Results::read(out_dir.path()).grades();
    assert!(
        g.iter()
            .filter(|(id, _)| !id.starts_with("voice/"))
            .all(|(_, grade)| grade == "not-applicable")
    );
    assert!(
        g.iter()
            .filter(|(id, _)| id.starts_with("voice/"))
            .any(|(_, grade)| grade == "pass")
    );
    let doc = Results::read(out_dir.path());
    let doc = doc.record();
    assert_eq!(doc["verdict"]["status"], "certified");
    assert_eq!(doc["provenance"]["profile"], "voice");

    let out = run(&[
        "run",
        "--quiet",
        "--offer",
        "voice",
        "--profile",
        "multimedia",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("NOT CERTIFIED: ")
            && text(&out.stdout).contains("— profile `multimedia`")
    );

    let out = run(&["run", "--quiet", "--profile", "full", "--filter", "voice/"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a filtered certification run is incomplete"
    );
    assert!(text(&out.stdout).contains("INCOMPLETE"));
}

#[test]
fn the_suite_covers_every_media_and_operation() {
    let out = run(&["list", "--matrix"]);
    let matrix = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(!matrix.contains("EMPTY"), "{matrix}");
    let out = run(&["list", "--json"]);
    let ids: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let media = [
        "voice",
        "chat",
        "sms",
        "email",
        "openmedia",
        "workitem",
        "im",
        "facebook-pm",
        "twitter",
    ];
    let mut pairs = 0;
    for m in media {
        let ops: &[&str] = if m == "voice" {
            &[
                "AttachUserData",
                "UpdateUserData",
                "DeleteUserData",
                "DeleteUserDataPair",
            ]
        } else {
            &["AttachUserData", "UpdateUserData", "DeleteUserData"]
        };
        for op in ops {
            assert!(
                ids.iter().any(|id| id.starts_with(&format!("{m}/{op}/"))),
                "no scenario for {m}/{op}"
            );
            pairs += 1;
        }
        for name in [
            "missing-operation-name",
            "unknown-operation",
            "body-not-json",
            "unknown-interaction",
            "no-credentials",
            "wrong-password",
            "other-agent-cannot-change",
            "other-agent-cannot-read",
            "notifications-stay-private",
            "csrf-token-required",
        ] {
            assert!(ids.iter().any(|id| id.starts_with(&format!("{m}/")) && id.ends_with(&format!("/{name}"))), "no {name} scenario for {m}");
        }
    }
    assert_eq!(pairs, 28);
}

#[test]
fn the_suite_passes_with_csrf_protection() {
    let out = run(&["run", "--quiet", "--csrf", "--profile", "full"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains(" 0 failed"));
}

#[test]
fn every_spec_problem_in_a_directory_is_reported_at_once() {
    let ok = "scenarios:\n  - name: same\n    operation: UpdateUserData\n    media: sms\n    request: {operationName: UpdateUserData, userData: {A: 1}}\n    expect: {notification: none}\n";
    let dir = spec_dir(&[
        ("1-syntax.yaml", "scenarios:\n  - name: [unclosed\n"),
        (
            "2-types.yaml",
            "scenarios:\n  - name: types\n    operation: 7\n    media: sms\n    level: sometimes\n    request: {operationName: UpdateUserData}\n    expect: {notification: none, unchanged: maybe}\n",
        ),
        (
            "3-regex.yaml",
            "scenarios:\n  - name: regex\n    operation: UpdateUserData\n    media: sms\n    request: {operationName: UpdateUserData}\n    expect:\n      response: {body: {statusMessage: !regex '(unclosed'}}\n      notification: none\n",
        ),
        ("4-empty.yaml", ""),
        ("5-dup-a.yaml", ok),
        ("6-dup-b.yaml", ok),
    ]);
    let out = run(&["check", path(dir.path())]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for expected in [
        "1-syntax.yaml:",
        "YAML syntax error",
        "2-types.yaml:3:16",
        "expected a string, found number",
        "2-types.yaml:5:12",
        "unknown value `sometimes`",
        "expected one of: must, should, may",
        "expected true or false, found string",
        "3-regex.yaml:7:40",
        "invalid regular expression `(unclosed`",
        "4-empty.yaml",
        "the file is empty",
        "6-dup-b.yaml:2:5",
        "duplicate scenario id `sms/UpdateUserData/same`",
        "first defined at",
    ] {
        assert!(
            stderr.contains(expected),
            "missing `{expected}` in:\n{stderr}"
        );
    }

    let empty = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(empty.path().join("scenarios")).unwrap();
    std::fs::copy(
        root().join("specs/media.yaml"),
        empty.path().join("media.yaml"),
    )
    .unwrap();
    let out = run(&["check", path(empty.path())]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no scenario files found"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_closed_stdout_pipe_ends_quietly() {
    use std::io::{BufRead, BufReader};
    let mut child = bin()
        .arg("list")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("must"), "{first}");
    // The reader is gone now; the program must not panic on its next write.
    let out = child.wait_with_output().unwrap();
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        matches!(out.status.code(), Some(0) | Some(141)),
        "{:?}",
        out.status
    );
}

#[test]
fn late_notifications_are_attributed_to_their_scenario() {
    // A server that announces the end of an interaction when the fixture is deleted notifies
    // after the scenario's barrier; the run attributes it instead of losing it.
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "run",
        "--quiet",
        "--notify-on-cleanup",
        "--filter",
        "sms/*/documented-sample",
        "--out",
        path(dir.path()),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "informational only: {}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("3 notification(s) arrived after their scenario had finished"),
        "{}",
        text(&out.stderr)
    );
    let results = Results::read(dir.path());
    assert_eq!(
        results.record()["notes"]["late_notifications"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    for r in results.record_results() {
        let late: Vec<&serde_json::Value> = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["check"] == "notification.late")
            .collect();
        assert_eq!(late.len(), 1, "{r}");
        assert_eq!(late[0]["severity"], "info");
        assert!(
            late[0]["actual"]
                .as_str()
                .unwrap()
                .contains("\"Completed\"")
        );
        assert_eq!(r["grade"], "pass");
    }
}

#[test]
fn one_defect_failing_many_scenarios_is_one_root_cause_in_every_report() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let out = run(&[
        "run",
        "--quiet",
        "--defect",
        "wrong-message-type",
        "--out",
        path(dir.path()),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    // `must` scenarios fail, `should` ones warn, `may` ones are informational: one cause,
    // counted per severity.
    let failed: Vec<String> = Results::read(dir.path())
        .grades()
        .into_iter()
        .filter(|(_, g)| ["fail", "warning", "informational"].contains(&g.as_str()))
        .map(|(id, _)| id)
        .collect();
    assert!(
        failed.len() > 100,
        "the defect fails most scenarios: {failed:?}"
    );

    // results.json: one error-or-warning cause, naming every failed scenario.
    let results = Results::read(dir.path());
    let doc = results.record();
    let causes: Vec<&serde_json::Value> = doc["root_causes"]
        .as_array()
        .expect("root_causes")
        .iter()
        .filter(|c| c["severity"] != "info")
        .collect();
    assert_eq!(causes.len(), 1, "{causes:#?}");
    assert_eq!(causes[0]["check"], "notification.messageType");
    assert_eq!(causes[0]["count"], failed.len());
    let listed: Vec<String> = causes[0]["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|s| s.as_str().expect("an id").to_string())
        .collect();
    assert_eq!(listed, failed);

    // report.md: the causes come first, as one entry listing those scenarios.
    let md = std::fs::read_to_string(dir.path().join("report.md")).expect("report.md");
    let start = md.find("## Root causes").expect("a root-cause section");
    assert!(start < md.find("## Matrix").expect("matrix"), "{md}");
    let section = &md[start..md.find("## Matrix").expect("matrix")];
    let entries: Vec<&str> = section
        .lines()
        .filter(|l| {
            l.split_once(". **")
                .is_some_and(|(n, _)| n.parse::<u32>().is_ok())
        })
        .collect();
    assert_eq!(entries.len(), 1, "{section}");
    assert!(
        entries[0].contains("\\[notification.messageType\\]")
            && entries[0].contains(&format!("**{} scenarios (", failed.len())),
        "{}",
        entries[0]
    );
    for id in &failed {
        assert!(
            section.contains(id.as_str()),
            "{id} is not listed:\n{section}"
        );
    }

    // report.html: one row in the root-cause table, linking every scenario to its details.
    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("report.html");
    let table = html
        .split("<table id=\"root-causes\">")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("a root-cause table");
    assert!(
        html.find("id=\"root-causes\"") < html.find("id=\"matrix\""),
        "causes come first"
    );
    assert_eq!(table.matches("<tr class=\"cause").count(), 1, "{table}");
    for id in &failed {
        let link = format!("href=\"#{}\"", id.replace('/', "&#x2f;"));
        assert!(table.contains(&link), "no link {link}");
    }

    // The terminal summary names it in one short line.
    assert!(
        stdout.contains(&format!(
            "{:>5}  error [notification.messageType] unexpected `data.messageType`",
            failed.len()
        )),
        "{stdout}"
    );
}

#[test]
fn a_spec_directory_without_media_yaml_uses_the_built_in_table_and_says_so_once() {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::create_dir_all(dir.path().join("scenarios")).expect("mkdir");
    // `keys-delete` is a group of the built-in media table: it resolves only with that table.
    std::fs::write(
        dir.path().join("scenarios/extra.yaml"),
        "scenarios:\n  - name: extra\n    operation: DeleteUserData\n    media: keys-delete\n    request: {operationName: DeleteUserData, keys: [A]}\n    expect: {notification: none}\n",
    )
    .expect("write scenario");
    let note = format!(
        "note: {} has no media.yaml; using the built-in media table",
        path(dir.path())
    );

    let out = run(&["check", path(dir.path())]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("ok: 1 scenario definitions"), "{stdout}");
    assert_eq!(stderr.matches(&note).count(), 1, "{stderr}");
    assert!(
        !stdout.contains("note:"),
        "notes belong on stderr: {stdout}"
    );

    let out = run(&["list", "--specs", path(dir.path())]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("sms/DeleteUserData/extra"), "{stdout}");
    assert_eq!(stderr.matches(&note).count(), 1, "{stderr}");
    assert!(
        !stdout.contains("note:"),
        "notes belong on stderr: {stdout}"
    );

    // With its own media.yaml a directory gets no note.
    std::fs::copy(
        root().join("specs/media.yaml"),
        dir.path().join("media.yaml"),
    )
    .expect("copy media.yaml");
    let out = run(&["check", path(dir.path())]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("note:"),
        "{}",
        text(&out.stderr)
    );
}
