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
