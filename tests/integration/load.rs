//! `load` end to end on the embedded server: a clean run accounts for every operation, each
//! load-only defect is caught by `load` (exit 1, naming the kind and the operations) and not by
//! `run`, shards merge into the single run's ledger, and `mutants` leaves load-only defects out.
//!
//! Small agent counts and durations keep each test to a few seconds; nothing here is timed.

use crate::support;

use serde_json::Value;
use support::{bin, text};

/// Load tests open dozens of agents each; one at a time keeps a 2-core machine responsive, so
/// that no request deadline is missed for want of CPU.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn load_with_env(args: &[&str], env: &[(String, String)]) -> (Option<i32>, String, String) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let out = bin()
        .arg("load")
        .args(args)
        .args(["--request-timeout", "30s"])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("the binary runs");
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

fn load(args: &[&str]) -> (Option<i32>, String, String) {
    load_with_env(args, &[])
}

fn read_load(dir: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(dir.join("load.json")).expect("load.json written");
    serde_json::from_str(&text).expect("load.json is JSON")
}

/// The number of values a serialised histogram holds, read back through the library.
fn histogram_count(encoded: &Value) -> u64 {
    let h = gws_conformance::load::latency::Latency::decode(encoded.as_str().expect("base64"))
        .expect("a V2 histogram");
    h.count()
}

#[test]
fn a_clean_load_accounts_for_every_operation() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let (code, stdout, stderr) = load(&["--agents", "60", "--duration", "2s", "--out", out]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("PASS"), "{stdout}");
    assert!(
        stdout.contains("p99.9"),
        "percentiles are printed: {stdout}"
    );
    let report = read_load(dir.path());
    let ledger = &report["ledger"];
    let ops = ledger["operations"].as_u64().unwrap();
    assert!(ops > 0, "{ledger}");
    assert_eq!(ledger["notified_once"].as_u64(), Some(ops), "{ledger}");
    for kind in ["lost", "duplicated", "crossed", "wrong"] {
        assert_eq!(ledger[kind].as_u64(), Some(0), "{kind}: {ledger}");
    }
    assert_eq!(histogram_count(&report["http"]), ops);
    assert_eq!(histogram_count(&report["notification"]), ops);
    assert_eq!(report["read_your_writes"]["checked"].as_u64(), Some(60));
    assert_eq!(report["read_your_writes"]["mismatched"].as_u64(), Some(0));
    let per_second: u64 = report["seconds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["ledger"]["operations"].as_u64().unwrap())
        .sum();
    assert_eq!(
        per_second, ops,
        "the per-second series covers every operation"
    );
    assert_eq!(report["settings"]["agents"].as_u64(), Some(60));
    assert!(
        !report["stream_problems"]
            .to_string()
            .contains("after the final barriers"),
        "a clean server sends nothing once the load has settled: {}",
        report["stream_problems"]
    );
    // report.html: the chart is there, drawn by the browser, with no script.
    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("report.html");
    assert!(!html.contains("<script"), "no script in report.html");
    let dom = support::browser::dump_dom(
        &support::browser::chromium(),
        &dir.path().join("report.html"),
        &dir.path().join("browser"),
    );
    assert!(
        dom.contains("<svg id=\"load-chart\""),
        "the chart is in the page:\n{dom}"
    );
    for line in ["throughput", "p99"] {
        let at = dom
            .find(&format!("id=\"{line}\""))
            .unwrap_or_else(|| panic!("the {line} line is drawn:\n{dom}"));
        let points = dom[at..].split("points=\"").nth(1).unwrap_or("");
        assert!(
            points.split('"').next().unwrap_or("").contains(','),
            "the {line} line has points"
        );
    }
    assert!(
        dom.contains(&format!("<td class=\"n\">{ops}</td>")),
        "the ledger shows the operations"
    );
}

/// What the runner's closing barrier catches — here the repeats `repeat-on-release` sends when
/// the slots' interactions are released after the final barriers — is reported, not dropped.
#[test]
fn notifications_caught_while_closing_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let (code, stdout, stderr) = load(&[
        "--agents",
        "4",
        "--duration",
        "1s",
        "--defect",
        "repeat-on-release",
        "--out",
        out,
    ]);
    assert!(code.is_some(), "{stdout}\n{stderr}");
    let problems = read_load(dir.path())["stream_problems"].to_string();
    assert!(
        problems.contains("arrived after the final barriers, while the run was closing"),
        "{problems}\n{stdout}"
    );
}

#[test]
fn shared_interactions_compose_on_the_clean_server() {
    let (code, stdout, stderr) = load(&[
        "--agents",
        "10",
        "--duration",
        "2s",
        "--shared",
        "3",
        "--rate",
        "150",
    ]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("read-your-writes: 20 interactions checked, 0 mismatched"),
        "{stdout}"
    );
}

/// `load` with `defect` exits 1 naming `kind` and at least one operation of it, and the plain
/// suite (`run`) passes on the same defect.
fn caught_by_load_only(defect: &str, kind: &str, extra: &[&str]) {
    let mut args = vec!["--agents", "60", "--duration", "2s", "--defect", defect];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = load(&args);
    assert_eq!(code, Some(1), "{defect}: {stdout}\n{stderr}");
    assert!(
        stdout.lines().any(|l| l.starts_with(&format!("{kind} ("))),
        "{defect}: the kind is named: {stdout}"
    );
    assert!(
        stdout.lines().any(|l| l.trim_start().starts_with("op ")),
        "{defect}: the operations are named: {stdout}"
    );
    let run = bin()
        .args(["run", "-q", "--defect", defect])
        .output()
        .expect("the binary runs");
    assert_eq!(
        run.status.code(),
        Some(0),
        "{defect} must be invisible to the plain suite: {}",
        text(&run.stdout)
    );
}

#[test]
fn drop_under_load_is_lost_and_invisible_to_run() {
    caught_by_load_only("drop-under-load", "lost", &[]);
}

#[test]
fn cross_under_load_is_crossed_and_invisible_to_run() {
    caught_by_load_only("cross-under-load", "crossed", &[]);
}

#[test]
fn lost_update_under_load_is_wrong_and_invisible_to_run() {
    caught_by_load_only("lost-update-under-load", "wrong", &["--shared", "2"]);
}

#[test]
fn duplicated_notifications_are_counted_as_such() {
    let (code, stdout, _) = load(&[
        "--agents",
        "4",
        "--duration",
        "1s",
        "--defect",
        "duplicate-notification",
    ]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.starts_with("duplicated (")),
        "{stdout}"
    );
    // Every operation's notification is sent twice, and every copy is judged: a copy that was
    // still on its way when its slot moved to a fresh interaction is attributed before the
    // move (after a barrier), so no operation reads as notified once.
    let count = |kind: &str| -> u64 {
        let line = stdout
            .lines()
            .find(|l| l.starts_with("ledger:"))
            .unwrap_or("");
        line.split(&format!("{kind} "))
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no `{kind}` count in the ledger: {stdout}"))
    };
    let (once, duplicated) = (count("notified-once"), count("duplicated"));
    assert!(duplicated > 0, "{stdout}");
    assert_eq!(once, 0, "no operation judged notified once: {stdout}");
}

#[test]
fn shards_merge_into_the_single_run() {
    // One server, as in a CI matrix: every shard loads the same `serve --agents 40`.
    let served = support::serve(&["--agents", "40"]);
    let dir = tempfile::tempdir().unwrap();
    let env: Vec<(String, String)> = (1..=40)
        .map(|k| (format!("LOAD_AGENT{k}_PASSWORD"), format!("agent{k}-pass")))
        .collect();
    // The agents as a pattern, one password variable per agent.
    let target = dir.path().join("target.yaml");
    std::fs::write(
        &target,
        format!(
            "name: \"one server\"\nbase_url: \"{url}\"\nagent_pattern: {{username: \"agent{{n}}\", count: 40, password_env: \"LOAD_AGENT{{n}}_PASSWORD\"}}\nfixtures:\n  url: \"{url}/conformance/v1\"\n",
            url = served.base_url
        ),
    )
    .unwrap();
    let target = target.to_str().unwrap().to_string();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let run_into = |name: &str, shard: Option<&str>| {
        let out = path(name);
        let mut args: Vec<&str> = vec![
            "--target",
            &target,
            "--ops-per-agent",
            "5",
            "--duration",
            "60s",
            "--out",
            &out,
        ];
        if let Some(s) = shard {
            args.extend(["--shard", s]);
        }
        let (code, stdout, stderr) = load_with_env(&args, &env);
        assert_eq!(code, Some(0), "{name}: {stdout}\n{stderr}");
        read_load(&dir.path().join(name))
    };
    let single = run_into("single", None);
    let one = run_into("one", Some("1/2"));
    let two = run_into("two", Some("2/2"));
    assert_eq!(one["settings"]["agents"].as_u64(), Some(20));
    assert_eq!(one["settings"]["shard"].as_str(), Some("1/2"));
    let merged = bin()
        .args([
            "merge",
            &path("one"),
            &path("two"),
            "--out",
            &path("merged"),
        ])
        .output()
        .expect("the binary runs");
    assert_eq!(
        merged.status.code(),
        Some(0),
        "{}{}",
        text(&merged.stdout),
        text(&merged.stderr)
    );
    let merged = read_load(&dir.path().join("merged"));
    assert_eq!(
        merged["ledger"], single["ledger"],
        "merged ledger = single run's"
    );
    assert_eq!(single["ledger"]["operations"].as_u64(), Some(200));
    for h in ["http", "notification"] {
        assert_eq!(
            histogram_count(&merged[h]),
            histogram_count(&one[h]) + histogram_count(&two[h]),
            "{h} counts add up"
        );
        assert_eq!(histogram_count(&merged[h]), 200);
    }
    assert_eq!(merged["settings"]["agents"].as_u64(), Some(40));
    assert!(merged["settings"]["shard"].is_null());
    // `compare` puts the single run and the merged shards side by side.
    let compared = bin()
        .args(["compare", &path("single"), &path("merged")])
        .output()
        .expect("the binary runs");
    let table = text(&compared.stdout);
    assert_eq!(compared.status.code(), Some(0), "{table}");
    assert!(table.contains("| loss rate |"), "{table}");
    assert_eq!(
        table
            .lines()
            .filter(|l| l.contains("| one server | 40 |"))
            .count(),
        2,
        "{table}"
    );
}

#[test]
fn mutants_leaves_load_only_defects_to_load() {
    let out = bin()
        .args([
            "mutants",
            "--filter",
            "sms/UpdateUserData/documented-sample",
            "--defect",
            "no-notification",
        ])
        .output()
        .expect("the binary runs");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("load-only defects"))
        .unwrap_or_else(|| panic!("load-only defects are listed: {stdout}"));
    for d in [
        "drop-under-load",
        "cross-under-load",
        "lost-update-under-load",
    ] {
        assert!(line.contains(d), "{line}");
    }
}

#[test]
fn mutants_load_kills_a_load_only_defect() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let out = bin()
        .args([
            "mutants",
            "--load",
            "--defect",
            "cross-under-load",
            "--load-duration",
            "1s",
        ])
        .output()
        .expect("the binary runs");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.lines().any(|l| l.starts_with("cross-under-load")
            && l.contains("yes")
            && l.contains("crossed:")),
        "{stdout}"
    );
    assert!(
        stdout.contains("score: 1/1 defects killed (100%)"),
        "{stdout}"
    );
}

/// Arguments under which `load` would test nothing are usage errors naming the option, never a
/// vacuous pass.
#[test]
fn arguments_that_would_test_nothing_are_refused() {
    for (args, named) in [
        (&["--agents", "0"][..], "--agents"),
        (&["--concurrency", "0"][..], "--concurrency"),
        (&["--duration", "0s"][..], "--duration"),
        (&["--shared", "0"][..], "--shared"),
        (&["--rate", "0"][..], "--rate"),
    ] {
        let (code, stdout, stderr) = load(args);
        assert_eq!(code, Some(2), "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(named), "{args:?} names {named}: {stderr}");
    }
}
