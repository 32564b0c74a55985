//! The reports a vendor reads (issue 21): the verdict and its root causes first on every view
//! (terminal, `report.md` as a Markdown renderer shows it, `report.html` as headless Chromium
//! builds it), severities that follow the scenario's grade, waivers, retries and `ctrf.json`.

mod support;

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
}

/// Every finding of a `should` scenario is a warning at most, in results.json and in every
/// report's list of root causes and problems.
#[test]
fn no_should_scenario_shows_an_error_in_any_view() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args([
            "run",
            "--quiet",
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
        "waivers:\n  - scenario: voice/DeleteUserData/documented-sample\n    reason: \"`userData: {{}}` stays until 8.5.3 (GWS-1234)\"\n    owner: voice-team@vendor.example\n    expires: {delete_expires}\n  - scenario: voice/AttachUserData/*-sample\n    reason: was broken in the lab\n    owner: lab@vendor.example\n    expires: 2999-12-31\n"
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
        stdout.contains("verdict: CERTIFIED with 1 waiver for profile `voice`"),
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
        dom.contains("CERTIFIED with 1 waiver for profile <code>voice</code>"),
        "{dom}"
    );
    assert!(
        dom.contains("id=\"waivers\"") && dom.contains(&format!("<a href=\"#{id}\">{id}</a>")),
        "{dom}"
    );
    assert!(dom.contains("waiver no longer needed"), "{dom}");
}

#[test]
fn an_expired_waiver_counts_as_absent_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (out, out_dir) = run_with_waivers(dir.path(), &waivers_file("2020-01-31"));
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("verdict: NOT CERTIFIED: 1 blocking scenario, 1 root cause"),
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
