//! The reports a vendor reads (issue 21): the verdict and its root causes first on every view
//! (terminal, `report.md` as a Markdown renderer shows it, `report.html` as headless Chromium
//! builds it), severities that follow the scenario's grade, waivers, retries and `ctrf.json`.

use crate::support;

use regex::Regex;
use serde_json::Value;
use std::path::Path;
use support::browser::{chromium, dump_dom, visible_lines_before};
use support::{bin, text};

/// The most lines of the verdict block a reader may need to scroll past to reach the first
/// root cause: one screen.
const SCREEN: usize = 25;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The CTRF JSON Schema as published: `schema/ctrf.schema.json` of
/// https://github.com/ctrf-io/ctrf (commit 84ddec55811b6a9bf9db3bf9638c9568cde88bb5), vendored
/// unchanged as `tests/ctrf.schema.json`.
fn ctrf_validator() -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_str(include_str!("ctrf.schema.json")).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

/// `DIR/ctrf.json`, after checking it against the CTRF schema (every violation listed).
fn valid_ctrf(dir: &Path) -> Value {
    let doc = read_json(&dir.join("ctrf.json"));
    let errors: Vec<String> = ctrf_validator()
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "ctrf.json is not valid CTRF:\n{}",
        errors.join("\n")
    );
    doc
}

/// The CTRF test named `id`.
fn ctrf_test<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["results"]["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == id)
        .unwrap_or_else(|| panic!("{id} is in ctrf.json"))
}

fn markdown_to_html(markdown: &str) -> String {
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new(markdown));
    html
}

#[test]
fn one_root_cause_behind_many_blocking_scenarios_fits_the_first_screen_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = bin()
        .args([
            "run",
            "--quiet",
            "--defect",
            "wrong-message-type",
            "--profile",
            "full",
        ])
        .args(["--out", s(&out_dir)])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let headline =
        Regex::new(r"NOT CERTIFIED: (\d+) blocking scenarios, 1 root cause — profile `full`")
            .unwrap();
    let blocking: usize = headline
        .captures(&stdout)
        .unwrap_or_else(|| panic!("the verdict names the blocking scenarios and causes: {stdout}"))
        [1]
    .parse()
    .unwrap();
    assert!(blocking > 100, "the defect breaks many scenarios: {stdout}");
    let more = format!("and {} more", blocking - 10);
    let cause = "[notification.messageType] unexpected `data.messageType`";

    // The terminal summary.
    let first = stdout
        .lines()
        .position(|l| l.contains(cause))
        .unwrap_or_else(|| panic!("the root cause is in the summary: {stdout}"));
    assert!(
        first < SCREEN,
        "{first} lines before the root cause:\n{stdout}"
    );
    assert!(
        stdout.contains(&more),
        "the blocking ids are capped: {stdout}"
    );
    assert!(stdout.lines().count() < 2 * SCREEN, "{stdout}");

    // report.md, as written and as a Markdown renderer shows it.
    let markdown = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    let md_cause = "\\[notification.messageType\\] unexpected `data.messageType`";
    let first = markdown
        .lines()
        .position(|l| l.contains(md_cause))
        .unwrap_or_else(|| panic!("the root cause in report.md:\n{markdown}"));
    assert!(
        first < SCREEN,
        "{first} lines before the root cause:\n{markdown}"
    );
    assert!(markdown.contains(&more), "{markdown}");
    let rendered = markdown_to_html(&markdown);
    assert!(
        rendered.contains("profile <code>full</code>")
            && rendered.contains("unexpected <code>data.messageType</code>"),
        "backticks render as code:\n{rendered}"
    );
    assert!(
        !rendered.contains("\\`") && !rendered.contains("\\("),
        "no escape shows"
    );
    let lines = visible_lines_before(&rendered, "unexpected <code>data.messageType</code>")
        .expect("the cause is rendered");
    assert!(
        lines < SCREEN,
        "{lines} rendered lines before the root cause:\n{rendered}"
    );

    // report.html, as Chromium builds it: the ids behind a fold.
    let dom = dump_dom(
        &chromium(),
        &out_dir.join("report.html"),
        &dir.path().join("browser"),
    );
    assert!(
        dom.contains(&format!(
            "NOT CERTIFIED: {blocking} blocking scenarios, 1 root cause — profile <code>full</code>"
        )),
        "{dom}"
    );
    let fold = Regex::new(r#"(?s)<details id="blocking"><summary>(\d+) blocking scenarios</summary><ul>(.*?)</ul></details>"#)
        .unwrap();
    let folded = fold
        .captures(&dom)
        .expect("the blocking ids are folded away");
    assert_eq!(folded[1].parse::<usize>().unwrap(), blocking);
    assert_eq!(folded[2].matches("<li>").count(), blocking);
    let lines = visible_lines_before(&dom, r#"<li class="cause error">"#)
        .expect("the verdict block names the root cause");
    assert!(
        lines < SCREEN,
        "{lines} visible lines before the root cause:\n{dom}"
    );
    assert!(
        dom.contains("unexpected <code>data.messageType</code>"),
        "{dom}"
    );

    // ctrf.json: valid, every grade mapped, the counts those of results.json.
    let doc = valid_ctrf(&out_dir);
    let record = read_json(&out_dir.join("results.json"));
    let counts = &record["tally"]["counts"];
    let n = |g: &str| counts[g].as_u64().unwrap();
    let summary = &doc["results"]["summary"];
    assert_eq!(summary["tests"], record["tally"]["total"]);
    assert_eq!(
        summary["failed"].as_u64().unwrap(),
        n("fail") + n("could-not-test")
    );
    assert_eq!(
        summary["passed"].as_u64().unwrap(),
        n("pass") + n("warning") + n("informational")
    );
    assert_eq!(summary["skipped"].as_u64().unwrap(), n("not-applicable"));
    for r in record["results"].as_array().unwrap() {
        let t = ctrf_test(&doc, r["id"].as_str().unwrap());
        assert_eq!(t["rawStatus"], r["grade"]);
        assert_eq!(t["labels"]["level"], r["level"]);
    }
    let failed = ctrf_test(&doc, "chat/AttachUserData/documented-sample");
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("[notification.messageType]")
    );
    assert!(
        doc["extra"]["verdict"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("NOT CERTIFIED")
    );
}

#[test]
fn the_ctrf_schema_check_can_fail() {
    let mut doc = serde_json::json!({
        "reportFormat": "CTRF", "specVersion": "1.0.0",
        "results": {"tool": {"name": "gws-conformance"},
            "summary": {"tests": 1, "passed": 0, "failed": 0, "skipped": 0, "pending": 0, "other": 0, "start": 0, "stop": 0},
            "tests": [{"name": "x", "status": "passed", "duration": 1}]}
    });
    assert!(ctrf_validator().is_valid(&doc));
    doc["results"]["tests"][0]["status"] = "flaky".into();
    assert!(
        !ctrf_validator().is_valid(&doc),
        "a status CTRF does not know"
    );
}

/// Every finding of a `should` scenario is a warning at most, in results.json and in every
/// report's list of root causes and problems.
#[test]
fn no_should_scenario_shows_an_error_in_any_view() {
    let dir = tempfile::tempdir().unwrap();
    // The built-in suite's edge cases are either-or musts now, so a suite of its own holds a
    // `should` scenario (with the built-in media table).
    let specs = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(specs.path().join("scenarios")).unwrap();
    std::fs::write(
        specs.path().join("scenarios/should.yaml"),
        "scenarios:\n  - name: should-level-update\n    operation: UpdateUserData\n    media: [chat, voice]\n    level: should\n    given:\n      userData: {A: \"1\"}\n    request:\n      operationName: UpdateUserData\n      userData: {A: \"2\"}\n    expect:\n      snapshot: false\n      notification:\n        diff:\n          - {op: replace, path: /userData/A, value: \"2\"}\n  - name: must-level-update\n    operation: UpdateUserData\n    media: [chat]\n    given:\n      userData: {A: \"1\"}\n    request:\n      operationName: UpdateUserData\n      userData: {A: \"2\"}\n    expect:\n      snapshot: false\n      notification:\n        diff:\n          - {op: replace, path: /userData/A, value: \"2\"}\n",
    )
    .unwrap();
    let out = bin()
        .args([
            "run",
            "--quiet",
            "--specs",
            s(specs.path()),
            "--defect",
            "wrong-message-type",
            "--out",
            s(dir.path()),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("results.json")).unwrap())
            .unwrap();
    let should: Vec<&Value> = record["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["level"] == "should")
        .collect();
    assert!(
        should.iter().any(|r| r["grade"] == "warning"),
        "the defect shows in should scenarios too"
    );
    for r in &should {
        for f in r["findings"].as_array().unwrap() {
            assert_ne!(f["severity"], "error", "{}: {f}", r["id"]);
        }
    }
    let should_ids: Vec<&str> = should.iter().map(|r| r["id"].as_str().unwrap()).collect();
    // A cause that spans must and should scenarios counts the should ones as warnings.
    let mut split = 0;
    for cause in record["root_causes"].as_array().unwrap() {
        let count = cause["count"].as_u64().unwrap();
        let errors = match cause["severities"].as_object() {
            Some(split) => split.get("error").and_then(Value::as_u64).unwrap_or(0),
            None if cause["severity"] == "error" => count,
            None => 0,
        };
        let should_in_it = cause["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|id| should_ids.contains(&id.as_str().unwrap()))
            .count() as u64;
        assert!(errors + should_in_it <= count, "{cause}");
        split += u64::from(should_in_it > 0 && errors > 0);
    }
    assert!(split > 0, "the defect spans must and should scenarios");
    let markdown = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    for section in markdown.split("\n### ").skip(1) {
        if section.starts_with("warning — ") {
            assert!(!section.contains("- **error**"), "{section}");
        }
    }
    assert!(markdown.contains("### warning — "), "warnings are listed");
}

/// A voice-only server whose voice DeleteUserData leaves `"userData": {}`: a known deviation.
fn run_with_waivers(dir: &Path, waivers: &str) -> (std::process::Output, std::path::PathBuf) {
    let file = dir.join("waivers.yaml");
    std::fs::write(&file, waivers).unwrap();
    let out_dir = dir.join("out");
    let out = bin()
        .args(["run", "--quiet", "--offer", "voice", "--profile", "voice"])
        .args([
            "--defect",
            "voice-delete-leaves-empty",
            "--waivers",
            s(&file),
        ])
        .args(["--out", s(&out_dir)])
        .output()
        .unwrap();
    (out, out_dir)
}

fn waivers_file(delete_expires: &str) -> String {
    format!(
        "waivers:\n  - scenario: voice/DeleteUserData/documented-sample\n    reason: \"`userData: {{}}` stays until 8.5.3 (GWS-1234)\"\n    owner: voice-team@vendor.example\n    expires: {delete_expires}\n  - scenario: voice/DeleteUserData/five-hundred-keys\n    reason: the same fault (GWS-1234)\n    owner: voice-team@vendor.example\n    expires: {delete_expires}\n  - scenario: voice/AttachUserData/*-sample\n    reason: was broken in the lab\n    owner: lab@vendor.example\n    expires: 2999-12-31\n"
    )
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_waived_failure_does_not_block_stays_visible_everywhere_and_an_unneeded_waiver_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (out, out_dir) = run_with_waivers(dir.path(), &waivers_file("2999-12-31"));
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("verdict: CERTIFIED with 2 waivers for profile `voice`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("waiver no longer needed: voice/AttachUserData/documented-sample passed"),
        "{stdout}"
    );
    let id = "voice/DeleteUserData/documented-sample";
    let record = read_json(&out_dir.join("results.json"));
    let waived = record["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap();
    assert_eq!(waived["grade"], "waived");
    assert_eq!(
        waived["waiver"]["grade"], "fail",
        "the grade it would have had"
    );
    assert_eq!(waived["waiver"]["owner"], "voice-team@vendor.example");
    assert!(
        !waived["findings"].as_array().unwrap().is_empty(),
        "findings stay"
    );
    assert_eq!(record["verdict"]["status"], "certified");
    assert_eq!(record["verdict"]["waived"][0], id);
    assert_eq!(
        record["waivers"]["unneeded"][0]["scenario"],
        "voice/AttachUserData/documented-sample"
    );

    let junit = std::fs::read_to_string(out_dir.join("junit.xml")).unwrap();
    let case = junit
        .split("<testcase ")
        .find(|c| c.starts_with(&format!("name=\"{id}\"")))
        .expect("the waived scenario is in junit.xml");
    assert!(
        case.contains("<skipped")
            && case.contains("type=\"waived\"")
            && case.contains("owner voice-team@vendor.example"),
        "{case}"
    );

    let markdown = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    let rendered = markdown_to_html(&markdown);
    assert!(
        rendered.contains(&format!(
            "{id} (fail without the waiver): <code>userData: {{}}</code> stays"
        )),
        "{rendered}"
    );
    assert!(rendered.contains("waiver no longer needed"), "{rendered}");
    assert!(
        markdown.contains(&format!("### waived — {id}")),
        "listed under Problems"
    );
    let dom = dump_dom(
        &chromium(),
        &out_dir.join("report.html"),
        &dir.path().join("browser"),
    );
    assert!(
        dom.contains("CERTIFIED with 2 waivers for profile <code>voice</code>"),
        "{dom}"
    );
    assert!(
        dom.contains("id=\"waivers\"") && dom.contains(&format!("<a href=\"#{id}\">{id}</a>")),
        "{dom}"
    );
    assert!(dom.contains("waiver no longer needed"), "{dom}");

    let doc = valid_ctrf(&out_dir);
    let t = ctrf_test(&doc, id);
    assert_eq!(
        (t["status"].as_str(), t["rawStatus"].as_str()),
        (Some("skipped"), Some("waived"))
    );
    assert_eq!(t["extra"]["waiver"]["owner"], "voice-team@vendor.example");
    assert_eq!(
        doc["extra"]["waivers"]["unneeded"][0]["scenario"],
        "voice/AttachUserData/documented-sample"
    );
}

#[test]
fn an_expired_waiver_counts_as_absent_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (out, out_dir) = run_with_waivers(dir.path(), &waivers_file("2020-01-31"));
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("verdict: NOT CERTIFIED: 2 blocking scenarios, 1 root cause"),
        "{stdout}"
    );
    assert!(
        stdout.contains("waiver expired on 2020-01-31: `voice/DeleteUserData/documented-sample`"),
        "{stdout}"
    );
    let record = read_json(&out_dir.join("results.json"));
    assert_eq!(
        record["waivers"]["expired_hits"][0],
        "voice/DeleteUserData/documented-sample"
    );
    assert!(
        record["verdict"]["waived"].is_null(),
        "nothing waived: {}",
        record["verdict"]
    );
}

#[test]
fn a_broken_waiver_file_is_a_located_error() {
    let dir = tempfile::tempdir().unwrap();
    let (out, out_dir) = run_with_waivers(
        dir.path(),
        "waivers:\n  - scenario: voice/*\n    reasn: x\n    owner: o\n    expires: tomorrow\n",
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let file = dir.path().join("waivers.yaml");
    for expected in [
        format!("{}:3:5", s(&file)),
        "at: waivers[0].reasn".to_string(),
        "did you mean `reason`?".to_string(),
        format!("{}:5:14", s(&file)),
        "YYYY-MM-DD".to_string(),
        "missing key `reason`".to_string(),
        "3 problem(s) in the waiver file".to_string(),
    ] {
        assert!(stderr.contains(&expected), "{expected} in:\n{stderr}");
    }
    assert!(!out_dir.exists(), "nothing ran");
}

/// The interaction id of an attempt: the path segment after `/api/v2/me/calls/`.
fn interaction_of(attempt: &Value) -> String {
    attempt["wire"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["summary"].as_str())
        .find_map(|s| s.split("/api/v2/me/calls/").nth(1))
        .map(|rest| rest.split(['/', ' ', '?']).next().unwrap().to_string())
        .expect("the attempt addressed its call")
}

/// `flaky-first-attach` answers the first AttachUserData with a given body on a media with 503:
/// one scenario, run once, fails; re-run on a fresh interaction, it passes.
#[test]
fn a_scenario_that_fails_once_then_passes_on_a_retry_is_flaky_with_every_attempt_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let id = "voice/AttachUserData/documented-sample";
    let run = |retries: &str, out: &Path| {
        bin()
            .args(["run", "--defect", "flaky-first-attach", "--filter", id])
            .args([
                "--notification-timeout",
                "1s",
                "--retries",
                retries,
                "--out",
                s(out),
            ])
            .output()
            .unwrap()
    };
    let without = run("0", &dir.path().join("once"));
    assert_eq!(
        without.status.code(),
        Some(1),
        "the defect fails the scenario once"
    );
    assert!(text(&without.stdout).contains(&format!("FAIL {id}")));

    let out_dir = dir.path().join("retried");
    let out = run("2", &out_dir);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "flaky does not pass by default: {stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "RETRY {id} (attempt 1 fail; running it again on a fresh interaction)"
        )),
        "the retry is announced: {stdout}"
    );
    assert!(stdout.contains(&format!("FLKY {id}")), "{stdout}");
    assert!(
        stdout.contains("result: 0 passed, 0 failed, 1 flaky"),
        "{stdout}"
    );
    let record = read_json(&out_dir.join("results.json"));
    let result = &record["results"][0];
    assert_eq!(result["grade"], "flaky");
    assert_eq!(record["tally"]["counts"]["flaky"], 1);
    let attempts = result["attempts"].as_array().unwrap();
    let grades: Vec<&str> = attempts
        .iter()
        .map(|a| a["grade"].as_str().unwrap())
        .collect();
    assert_eq!(grades, ["fail", "pass"], "both attempts, and no third");
    assert!(
        attempts[0]["findings"]
            .to_string()
            .contains("HTTP status 503")
    );
    assert_ne!(
        interaction_of(&attempts[0]),
        interaction_of(&attempts[1]),
        "the retry ran on a fresh interaction"
    );
    let finding = &result["findings"].as_array().unwrap().last().unwrap();
    assert_eq!(finding["check"], "flaky");
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("failed 1 of 2 attempts"),
        "{finding}"
    );

    let junit = std::fs::read_to_string(out_dir.join("junit.xml")).unwrap();
    let case = junit
        .split("<testcase ")
        .find(|c| c.starts_with(&format!("name=\"{id}\"")))
        .unwrap();
    assert_eq!(case.matches("<flakyFailure").count(), 1, "{case}");
    assert!(
        case.contains("HTTP status 503 does not match 200"),
        "{case}"
    );
    assert!(!case.contains("<failure"), "the case itself passed: {case}");

    let doc = valid_ctrf(&out_dir);
    let t = ctrf_test(&doc, id);
    assert_eq!(
        (t["status"].as_str(), t["flaky"].as_bool()),
        (Some("passed"), Some(true))
    );
    assert_eq!(t["retries"], 1);
    let tried: Vec<&str> = t["retryAttempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert_eq!(tried, ["failed", "passed"]);
    assert_eq!(doc["results"]["summary"]["flaky"], 1);
}

/// A copy of the built-in specs whose `voice` profile says how flaky counts.
fn specs_with_flaky_voice_profile(dir: &Path, counts_as_passed: bool) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    let specs = dir.join(format!("specs-{counts_as_passed}"));
    std::fs::create_dir_all(specs.join("scenarios")).unwrap();
    std::fs::copy(root.join("media.yaml"), specs.join("media.yaml")).unwrap();
    for entry in std::fs::read_dir(root.join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(
            &path,
            specs.join("scenarios").join(path.file_name().unwrap()),
        )
        .unwrap();
    }
    std::fs::write(
        specs.join("profiles.yaml"),
        format!("profiles:\n  voice:\n    description: Voice calls.\n    media: [voice]\n    flaky_counts_as_passed: {counts_as_passed}\n"),
    )
    .unwrap();
    specs
}

#[test]
fn a_profile_says_whether_flaky_counts_as_passed_and_by_default_it_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let certify = |specs: &Path| {
        bin()
            .args(["run", "--quiet", "--offer", "voice", "--profile", "voice"])
            .args([
                "--specs",
                s(specs),
                "--defect",
                "flaky-first-attach",
                "--retries",
                "1",
            ])
            .args(["--notification-timeout", "1s"])
            .output()
            .unwrap()
    };
    let strict = certify(&specs_with_flaky_voice_profile(dir.path(), false));
    let stdout = text(&strict.stdout);
    assert_eq!(
        strict.status.code(),
        Some(1),
        "{stdout}{}",
        text(&strict.stderr)
    );
    assert!(stdout.contains("verdict: NOT CERTIFIED: "), "{stdout}");
    assert!(stdout.contains(" flaky"), "{stdout}");
    assert!(
        stdout.contains("(flaky)"),
        "the blocking flaky scenarios are listed: {stdout}"
    );

    let lenient = certify(&specs_with_flaky_voice_profile(dir.path(), true));
    let stdout = text(&lenient.stdout);
    assert_eq!(
        lenient.status.code(),
        Some(0),
        "{stdout}{}",
        text(&lenient.stderr)
    );
    assert!(
        stdout.contains("verdict: CERTIFIED for profile `voice`"),
        "{stdout}"
    );
    assert!(stdout.contains(" flaky"), "still counted: {stdout}");
}

/// `compare` of a certified run and a failing run of the whole suite (every scenario each)
/// answers who passes and what differs: each target's verdict per profile and the blocking
/// root cause in the first screen of `compare.html` as Chromium builds it, then the media ×
/// operation matrix with "n/a" where nothing applied, then only the differing scenarios,
/// grouped by root cause, each failing one linking to its detail in its run's report; and the
/// page stays under 300 KB, its wire logs left in the runs' reports.
#[test]
fn compare_shows_the_verdicts_and_blocking_cause_first_and_only_what_differs() {
    let dir = tempfile::tempdir().unwrap();
    let (good, bad, cmp) = (
        dir.path().join("good"),
        dir.path().join("bad"),
        dir.path().join("cmp"),
    );
    // The failing server does not offer IM either: its IM cells must read n/a, not 0%.
    let offered = "voice,chat,sms,email,openmedia,workitem,facebook-pm,twitter";
    for (out_dir, extra) in [
        (&good, vec![]),
        (
            &bad,
            vec!["--defect", "wrong-message-type", "--offer", offered],
        ),
    ] {
        let out = bin()
            .args(["run", "--quiet", "--profile", "full", "--out", s(out_dir)])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{}",
            text(&out.stderr)
        );
    }
    let out = bin()
        .args(["compare", s(&good), s(&bad), "--out", s(&cmp)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let page = cmp.join("compare.html");
    let size = std::fs::metadata(&page).unwrap().len();
    let results = |d: &Path| read_json(&d.join("results.json"))["results"].clone();
    let (good_results, bad_results) = (results(&good), results(&bad));
    let listed = bin().args(["list", "--json"]).output().unwrap();
    let suite = text(&listed.stdout).lines().count();
    assert!(suite >= 613, "the whole suite is listed: {suite} scenarios");
    assert_eq!(good_results.as_array().unwrap().len(), suite);
    assert!(size < 300_000, "compare.html is {size} bytes");

    let dom = dump_dom(&chromium(), &page, &dir.path().join("browser"));
    let certified =
        Regex::new(r#"<td class="certified"[^>]*><strong>CERTIFIED</strong></td>"#).unwrap();
    assert!(certified.is_match(&dom), "{dom}");
    let not_certified = Regex::new(
        r#"<td class="not-certified"[^>]*><strong>NOT CERTIFIED</strong><span class="reason">(\d+) blocking scenarios, (\d+) root causes?</span></td>"#,
    )
    .unwrap();
    assert_eq!(
        not_certified.captures_iter(&dom).count(),
        4,
        "every profile of the failing target: {dom}"
    );
    let cause = "unexpected <code>data.messageType</code>";
    let lines = visible_lines_before(&dom, cause).expect("the blocking cause is shown");
    assert!(
        lines < SCREEN,
        "{lines} visible lines before the cause:\n{dom}"
    );
    let (at_cause, at_matrix, at_differences) = (
        dom.find(cause).unwrap(),
        dom.find(r#"id="matrix""#).expect("a matrix"),
        dom.find(r#"id="differences""#).expect("the differences"),
    );
    assert!(at_cause < at_matrix && at_matrix < at_differences);

    // The matrix: IM of the failing target is n/a; its voice cells are failures beside passes.
    let im_row = Regex::new(r"(?s)<tr><th>im</th>(.*?)</tr>").unwrap();
    let im = &im_row.captures(&dom).expect("an im row")[1];
    let cell = Regex::new(r#"<td class="([a-z-]+)">([^<]*)</td>"#).unwrap();
    let cells: Vec<(String, String)> = cell
        .captures_iter(im)
        .map(|c| (c[1].to_string(), c[2].to_string()))
        .collect();
    assert_eq!(cells.len(), 8, "4 operations × 2 targets: {im}");
    for pair in cells.chunks(2) {
        assert_eq!(pair[0].0, "pass", "{im}");
        assert_eq!(pair[1], ("not-applicable".into(), "n/a".into()), "{im}");
    }

    // Only the differing scenarios, each once, under its root cause.
    let grade = |results: &Value, id: &str| {
        results
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["grade"].clone())
    };
    let differing: Vec<String> = good_results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .filter(|id| grade(&good_results, id) != grade(&bad_results, id))
        .collect();
    assert!(differing.len() > 100, "{}", differing.len());
    let diff_part = &dom[at_differences..];
    let row = Regex::new(r#"<tr><th>([a-z-]+/[A-Za-z]+/[a-z0-9-]+)</th>"#).unwrap();
    let mut shown: Vec<String> = row
        .captures_iter(diff_part)
        .map(|c| c[1].to_string())
        .collect();
    shown.sort();
    let mut expected = differing.clone();
    expected.sort();
    assert_eq!(shown, expected);
    assert!(
        diff_part.contains(&format!("[<code>notification.messageType</code>] {cause}")),
        "grouped under the root cause"
    );
    // Each failing cell links to its detail, which exists in the failing run's report.
    let link = Regex::new(r##"<a href="([^"#]+)#([^"]+)">fail</a>"##).unwrap();
    let links: Vec<(String, String)> = link
        .captures_iter(diff_part)
        .map(|c| (c[1].to_string(), c[2].to_string()))
        .collect();
    assert!(!links.is_empty(), "{diff_part}");
    let report = std::fs::read_to_string(cmp.join(&links[0].0)).expect("the link resolves");
    for (_, id) in &links {
        // The raw file has the id as minijinja escapes it (`/` as `&#x2f;`).
        let escaped = id.replace('/', "&#x2f;");
        assert!(
            report.contains(&format!("<h3 id=\"{id}\""))
                || report.contains(&format!("<h3 id=\"{escaped}\"")),
            "{id}"
        );
    }
    assert!(
        !dom.contains("Wire log"),
        "wire logs stay in the runs' reports"
    );
}
