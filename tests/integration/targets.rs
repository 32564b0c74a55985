//! Real targets and outputs: a standalone `serve` process driven through a target file,
//! certification, wrong passwords, CSRF, the exec provisioner, the report bundle in a real
//! headless browser, comparison, sharding and merge, accepted target snapshots, a killed run,
//! secrets that never reach any output, and the bundle of a run that could not start.

use crate::support;

use support::browser::{chromium, dump_dom};
use support::results::Results;
use support::target::TargetFile;
use support::{bin, serve, text};

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The target file of a standalone `serve` process, with its own fixture endpoint.
fn standalone(base_url: &str) -> TargetFile {
    TargetFile::new("Standalone reference server", base_url)
}

fn run_target(target: &Path, passwords: (&str, &str), args: &[&str]) -> Output {
    bin()
        .args(["run", "--quiet", "--target", target.to_str().unwrap()])
        .args(args)
        .env("GWS_AGENT1_PASSWORD", passwords.0)
        .env("GWS_AGENT2_PASSWORD", passwords.1)
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_standalone_server_is_certified_through_a_target_file() {
    let served = serve(&[]);
    let dir = tempfile::tempdir().unwrap();
    let target = standalone(&served.base_url).write(dir.path());
    let out = run_target(
        &target,
        ("agent1-pass", "agent2-pass"),
        &["--profile", "full"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("verdict: CERTIFIED for profile `full`"));

    let out = run_target(&target, ("wrong", "agent2-pass"), &["--profile", "full"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("target `Standalone reference server`")
            && stderr.contains("login as `agent1` was refused (HTTP 401)"),
        "{stderr}"
    );

    let missing = bin()
        .args(["run", "--target", s(&target)])
        .env_remove("GWS_AGENT1_PASSWORD")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("$GWS_AGENT1_PASSWORD, which is not set"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn a_csrf_protected_server_still_passes() {
    let served = serve(&["--csrf"]);
    let dir = tempfile::tempdir().unwrap();
    let target = standalone(&served.base_url).write(dir.path());
    let out = run_target(
        &target,
        ("agent1-pass", "agent2-pass"),
        &["--profile", "full"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("0 failed"));
}

#[test]
fn a_gws_8_5_1_server_is_certified_under_8_5_1_only() {
    let served = serve(&["--gws-version", "8.5.1"]);
    let dir = tempfile::tempdir().unwrap();
    let target = standalone(&served.base_url).write(dir.path());
    let passwords = ("agent1-pass", "agent2-pass");

    let old = run_target(
        &target,
        passwords,
        &["--profile", "full", "--gws-version", "8.5.1"],
    );
    let stdout = text(&old.stdout);
    assert_eq!(
        old.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&old.stderr)
    );
    assert!(
        stdout.contains("verdict: CERTIFIED for profile `full` (GWS 8.5.1)"),
        "{stdout}"
    );

    let out = dir.path().join("under-8.5.2");
    let new = run_target(&target, passwords, &["--profile", "full", "--out", s(&out)]);
    let stdout = text(&new.stdout);
    assert_eq!(new.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("verdict: NOT CERTIFIED: ")
            && stdout.contains("root cause — profile `full` (GWS 8.5.2)"),
        "{stdout}"
    );
    let results = Results::read(&out);
    let failed: Vec<&serde_json::Value> = results
        .record_results()
        .iter()
        .filter(|r| r["grade"] == "fail")
        .collect();
    assert!(!failed.is_empty());
    for r in &failed {
        assert!(
            r["id"].as_str().unwrap().starts_with("voice/"),
            "only voice differs between the versions: {r}"
        );
        let named = r["findings"].as_array().unwrap().iter().any(|f| {
            f["check"] == "shape.documented"
                && f["message"].as_str().unwrap().starts_with(
                    "participants are strings, with details in participantsInfo: the GWS 8.5.0/8.5.1 format",
                )
                && f["message"].as_str().unwrap().contains("--gws-version 8.5.1")
        });
        assert!(named, "the version is named as the cause: {r}");
    }
}

#[test]
fn an_exec_provisioner_provides_interactions_and_declines_media() {
    let served = serve(&[]);
    let dir = tempfile::tempdir().unwrap();
    // Offers voice only: any other media is declined with a non-zero exit.
    let script = dir.path().join("provision.py");
    std::fs::write(
        &script,
        r#"import base64, json, sys, urllib.request
req = json.load(sys.stdin)
if req["media"] != "voice":
    sys.stderr.write("only voice here\n"); sys.exit(3)
password = {"agent1": "agent1-pass", "agent2": "agent2-pass"}[req["agent"]]
auth = base64.b64encode(f"{req['agent']}:{password}".encode()).decode()
body = json.dumps({"media": req["media"], "userData": req["userData"]}).encode()
r = urllib.request.Request(sys.argv[1] + "/conformance/v1/interactions", data=body, method="POST",
    headers={"Authorization": "Basic " + auth, "Content-Type": "application/json"})
print(urllib.request.urlopen(r).read().decode())
"#,
    )
    .unwrap();
    let target = standalone(&served.base_url)
        .fixtures_exec(&["python3", s(&script), &served.base_url])
        .write(dir.path());
    let out_dir = dir.path().join("out");
    let out = run_target(
        &target,
        ("agent1-pass", "agent2-pass"),
        // One scenario is enough to see interactions provided and media declined; the script
        // starts Python once per interaction.
        &[
            "--filter",
            "UpdateUserData/add-new-key",
            "--out",
            s(&out_dir),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let results = Results::read(&out_dir);
    let results = results.lines();
    assert!(
        results
            .iter()
            .filter(|r| r["media"] == "voice")
            .any(|r| r["grade"] == "pass")
    );
    let declined = results
        .iter()
        .find(|r| r["media"] == "chat")
        .expect("a chat result");
    assert_eq!(declined["grade"], "not-applicable");
    assert!(
        declined["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("only voice here")
    );
}

/// Every line carrying raw markup must sit inside a fenced code block, where Markdown shows it
/// as text.
fn assert_markup_only_in_code_blocks(markdown: &str) {
    let mut fence: Option<usize> = None;
    for line in markdown.lines() {
        let ticks = line.chars().take_while(|c| *c == '`').count();
        match fence {
            None if ticks >= 3 => fence = Some(ticks),
            Some(open) if ticks >= open && line.trim_start_matches('`').is_empty() => fence = None,
            None => assert!(
                !line.contains("<script") && !line.contains("<img"),
                "markup outside a code block: {line}"
            ),
            Some(_) => {}
        }
    }
    assert!(fence.is_none(), "an unclosed code block");
}

#[test]
fn report_html_renders_in_a_browser_and_never_runs_server_strings() {
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    std::fs::create_dir_all(specs.join("scenarios")).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(root.join("specs/media.yaml"), specs.join("media.yaml")).unwrap();
    std::fs::copy(
        root.join("specs/profiles.yaml"),
        specs.join("profiles.yaml"),
    )
    .unwrap();
    // The server echoes this userData in its notification; the scenario fails on purpose, so
    // the report shows it in diffs and wire logs.
    std::fs::write(
        specs.join("scenarios/xss.yaml"),
        "scenarios:\n  - name: hostile-user-data\n    operation: UpdateUserData\n    media: [chat, voice]\n    given: {userData: {Note: \"<script>document.title='PWNED'</script><img src=x onerror=\\\"document.title='PWNED2'\\\">\"}}\n    request: {operationName: UpdateUserData, userData: {Other: \"</pre><script>document.title='PWNED3'</script>\"}}\n    expect:\n      snapshot: false\n      notification:\n        diff:\n          - {op: add, path: /userData/Missing, value: x}\n",
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    let out = bin()
        .args([
            "run",
            "--quiet",
            "--specs",
            s(&specs),
            "--profile",
            "full",
            "--out",
            s(&out_dir),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let html = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    assert!(
        !html.contains("<script>document.title"),
        "an unescaped server string in report.html"
    );
    let markdown = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert_markup_only_in_code_blocks(&markdown);

    let dom = dump_dom(
        &chromium(),
        &out_dir.join("report.html"),
        &dir.path().join("browser"),
    );
    assert!(
        dom.contains("<title>GWS conformance: embedded reference server</title>"),
        "a script ran or the page failed:\n{dom}"
    );
    assert!(
        !dom.contains("PWNED</title>")
            && !dom.contains("PWNED2</title>")
            && !dom.contains("PWNED3</title>")
    );
    assert!(
        dom.contains(
            "NOT CERTIFIED: 2 blocking scenarios, 1 root cause — profile <code>full</code>"
        ),
        "the verdict is shown"
    );
    assert!(
        dom.contains("id=\"matrix\"") && dom.contains("UpdateUserData"),
        "the matrix is shown"
    );
    assert!(
        dom.contains("&lt;script&gt;document.title='PWNED'&lt;/script&gt;"),
        "the hostile string shows as text"
    );
    let junit = std::fs::read_to_string(out_dir.join("junit.xml")).unwrap();
    assert!(
        junit.contains("<testcase name=\"chat/UpdateUserData/hostile-user-data\""),
        "{junit}"
    );
    assert!(junit.contains("<failure"));
}

#[test]
fn compare_shows_failing_cells_and_their_payload_differences() {
    let dir = tempfile::tempdir().unwrap();
    let (good, bad, cmp) = (
        dir.path().join("good"),
        dir.path().join("bad"),
        dir.path().join("cmp"),
    );
    for (out, extra) in [(&good, None), (&bad, Some("numbers-as-strings"))] {
        let mut cmd = bin();
        cmd.args([
            "run",
            "--quiet",
            "--filter",
            "*/documented-sample",
            "--out",
            s(out),
        ]);
        if let Some(d) = extra {
            cmd.args(["--defect", d]);
        }
        let o = cmd.output().unwrap();
        assert!(
            o.status.code().is_some_and(|c| c <= 1),
            "{}",
            text(&o.stderr)
        );
    }
    let out = bin()
        .args(["compare", s(&good), s(&bad), "--out", s(&cmp)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let md = std::fs::read_to_string(cmp.join("compare.md")).unwrap();
    assert!(
        md.contains("| chat/AttachUserData/documented-sample | must | pass | [fail](../bad/report.html#chat/AttachUserData/documented-sample) |"),
        "{md}"
    );
    assert!(
        md.contains("-        \"UserData2\": 123456789\n+        \"UserData2\": \"123456789\""),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cmp.join("compare.json")).unwrap()).unwrap();
    assert_eq!(json["targets"].as_array().unwrap().len(), 2);
    assert!(json["targets"][0]["latency_p50_ms"].as_f64().is_some());
    assert!(json["targets"][1]["conformance"]["full"].as_f64().unwrap() < 100.0);
    // Every scenario that differs is listed once, and nothing else.
    let listed: usize = json["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["rows"].as_array().unwrap().len())
        .sum();
    assert_eq!(json["differing"].as_u64(), Some(listed as u64));
    assert!(listed > 0 && listed < json["scenarios"].as_u64().unwrap() as usize);
    assert!(
        std::fs::read_to_string(cmp.join("compare.html"))
            .unwrap()
            .contains("id=\"matrix\"")
    );
}

#[test]
fn shards_merge_into_the_whole_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut total = 0;
    let mut dirs = Vec::new();
    for k in 1..=3 {
        let out = dir.path().join(format!("shard{k}"));
        let o = bin()
            .args([
                "run",
                "--quiet",
                "--shard",
                &format!("{k}/3"),
                "--out",
                s(&out),
            ])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
        total += Results::read(&out).lines().len();
        dirs.push(out);
    }
    let listed = bin().args(["list", "--json"]).output().unwrap();
    assert_eq!(
        total,
        text(&listed.stdout).lines().count(),
        "shards cover every scenario exactly once"
    );
    let merged = dir.path().join("merged");
    let o = bin()
        .arg("merge")
        .args(dirs.iter().map(|d| s(d)))
        .args(["--out", s(&merged), "--profile", "full"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("verdict: CERTIFIED for profile `full`"),
        "{}",
        text(&o.stdout)
    );
    assert_eq!(Results::read(&merged).record_results().len(), total);
    assert!(merged.join("report.html").exists() && merged.join("junit.xml").exists());
}

#[test]
fn a_shard_that_could_not_start_leaves_the_merged_run_incomplete() {
    let served = serve(&[]);
    let dir = tempfile::tempdir().unwrap();
    let target = standalone(&served.base_url).write(dir.path());
    let shard = |k: u32, passwords| {
        let out = dir.path().join(format!("shard{k}"));
        let o = run_target(
            &target,
            passwords,
            &[
                "--shard",
                &format!("{k}/2"),
                "--filter",
                "UpdateUserData/add-new-key",
                "--out",
                s(&out),
            ],
        );
        (o, out)
    };
    let (ran, first) = shard(1, ("agent1-pass", "agent2-pass"));
    assert_eq!(ran.status.code(), Some(0), "{}", text(&ran.stdout));
    let (refused, second) = shard(2, ("wrong", "agent2-pass"));
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    let merged = dir.path().join("merged");
    let o = bin()
        .args(["merge", s(&first), s(&second), "--out", s(&merged)])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    assert!(
        text(&o.stderr).contains("shard2"),
        "the shard is named: {}",
        text(&o.stderr)
    );
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(merged.join("results.json")).unwrap())
            .unwrap();
    let cause = record["harness_error"]["cause"]
        .as_str()
        .unwrap_or_default();
    assert!(
        cause.contains("shard2") && cause.contains("refused"),
        "the merged run carries the shard's harness error: {record:#}"
    );
    assert_eq!(record["harness_error"]["status"], "incomplete");
}

#[test]
fn accepted_target_snapshots_catch_any_change() {
    let dir = tempfile::tempdir().unwrap();
    let snaps = dir.path().join("accepted");
    let filter = ["--filter", "chat/UpdateUserData/documented-sample"];
    let accept = bin()
        .args([
            "run",
            "--quiet",
            "--target-snapshots",
            s(&snaps),
            "--accept-snapshots",
        ])
        .args(filter)
        .output()
        .unwrap();
    assert_eq!(accept.status.code(), Some(0), "{}", text(&accept.stderr));
    assert!(
        snaps
            .join("chat__UpdateUserData__documented-sample.json")
            .exists()
    );
    let same = bin()
        .args(["run", "--quiet", "--target-snapshots", s(&snaps)])
        .args(filter)
        .output()
        .unwrap();
    assert_eq!(same.status.code(), Some(0), "{}", text(&same.stdout));
    // A server that also changes the state: still the documented shape, but not the accepted one.
    let changed = bin()
        .args([
            "run",
            "--target-snapshots",
            s(&snaps),
            "--defect",
            "touches-other-fields",
        ])
        .args(filter)
        .output()
        .unwrap();
    assert_eq!(changed.status.code(), Some(1));
    assert!(
        text(&changed.stdout)
            .contains("the notification differs from the one accepted for this target"),
        "{}",
        text(&changed.stdout)
    );
}

/// Starts a run that is slow (late notifications, 2 jobs) and returns once it has reported
/// `results` finished scenarios on stdout.
fn slow_run_reporting(
    out_dir: &Path,
    results: usize,
) -> (std::process::Child, BufReader<std::process::ChildStdout>) {
    let mut child = bin()
        .args([
            "run",
            "--defect",
            "late-notification",
            "--notification-timeout",
            "2s",
            "--jobs",
            "2",
            "--out",
            s(out_dir),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut finished = 0;
    let mut line = String::new();
    while finished < results && reader.read_line(&mut line).unwrap() > 0 {
        if ["PASS ", "FAIL ", "WARN ", "N/A ", "CNT ", "INFO "]
            .iter()
            .any(|p| line.starts_with(p))
        {
            finished += 1;
        }
        line.clear();
    }
    assert_eq!(finished, results, "the run reported {results} results");
    (child, reader)
}

#[test]
fn a_killed_run_leaves_every_finished_result_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let (mut child, mut reader) = slow_run_reporting(&out_dir, 3);
    child.kill().unwrap();
    child.wait().unwrap();
    let mut rest = String::new();
    let _ = reader.read_to_string(&mut rest);
    // Every line is complete JSON: the reader fails the test on one that is not.
    let results = Results::read(&out_dir);
    let parsed = results.lines();
    assert!(parsed.len() >= 3, "{} results on disk", parsed.len());
    assert!(
        !out_dir.join("results.json").exists(),
        "the run did not get to finish"
    );
}

#[test]
fn passwords_cookies_and_tokens_never_reach_any_output() {
    const SENTINEL: &str = "S3NTINEL-pa55word-7f1c";
    let served = serve(&[
        "--csrf",
        "--agent",
        &format!("agent1:{SENTINEL}"),
        "--agent",
        &format!("agent2:{SENTINEL}-2"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let target = standalone(&served.base_url).write(dir.path());
    let out_dir = dir.path().join("out");
    // A failing run, so reports carry details and wire logs.
    let out = bin()
        .args([
            "run",
            "--verbose",
            "--target",
            s(&target),
            "--filter",
            "chat/",
            "--out",
            s(&out_dir),
            "--profile",
            "full",
        ])
        .env("GWS_AGENT1_PASSWORD", SENTINEL)
        .env("GWS_AGENT2_PASSWORD", format!("{SENTINEL}-2"))
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c != 0),
        "the profile is incomplete with a filter"
    );
    let mut everything = text(&out.stdout) + &text(&out.stderr);
    for entry in std::fs::read_dir(&out_dir).unwrap() {
        everything.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    assert!(
        everything.contains("chat/UpdateUserData/documented-sample"),
        "the outputs are not empty"
    );
    for secret in [
        SENTINEL,
        "Authorization",
        "Basic ",
        "JSESSIONID",
        "X-CSRF-TOKEN:",
    ] {
        assert!(
            !everything.contains(secret),
            "`{secret}` leaked into an output"
        );
    }
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("agent1:{SENTINEL}"));
    assert!(!everything.contains(&encoded));
}

#[test]
fn ctrl_c_stops_starting_scenarios_and_writes_what_finished() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let (child, mut reader) = slow_run_reporting(&out_dir, 2);
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    let _ = reader.read_to_string(&mut rest);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{rest}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("interrupted: finishing the scenarios in flight"),
        "{stderr}"
    );
    let results = Results::read(&out_dir);
    let total = text(&bin().args(["list", "--json"]).output().unwrap().stdout)
        .lines()
        .count();
    let written = results.record_results().len();
    assert!(
        written >= 2 && written < total,
        "{written} of {total} results"
    );
    assert!(
        stderr.contains(&format!(
            "interrupted: {written} of {total} scenarios finished"
        )),
        "{stderr}"
    );
    assert!(out_dir.join("report.html").exists());
}

/// Asserts the bundle of a run that could not start: every file, the cause in each.
fn assert_not_started_bundle(out: &Output, out_dir: &Path, cause: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(cause), "{stderr}");
    let results = Results::read(out_dir);
    assert!(results.lines().is_empty(), "no scenario ran");
    let doc = results.record();
    assert_eq!(doc["harness_error"]["status"], "incomplete");
    assert!(
        doc["harness_error"]["cause"]
            .as_str()
            .is_some_and(|c| c.contains(cause)),
        "{doc:#}"
    );
    assert_eq!(doc["verdict"]["status"], "incomplete");
    assert!(
        doc["verdict"]["cause"]
            .as_str()
            .is_some_and(|c| c.contains(cause))
    );
    assert_eq!(doc["results"].as_array().map(Vec::len), Some(0));

    let junit = std::fs::read_to_string(out_dir.join("junit.xml")).expect("junit.xml");
    assert_eq!(junit.matches("<testcase ").count(), 1, "{junit}");
    assert_eq!(junit.matches("<error ").count(), 1, "{junit}");
    assert!(junit.contains(cause), "{junit}");

    let md = std::fs::read_to_string(out_dir.join("report.md")).expect("report.md");
    let banner = md
        .find("The run could not start: no scenario ran")
        .expect(&md);
    assert!(banner < md.find("Verdict: INCOMPLETE").expect(&md), "{md}");
    assert!(md.contains(cause), "{md}");
    let html = std::fs::read_to_string(out_dir.join("report.html")).expect("report.html");
    assert!(html.contains("id=\"harness-error\""), "{html}");
    assert!(
        html.contains("The run could not start: no scenario ran."),
        "{html}"
    );
    assert!(html.contains(&cause.replace('/', "&#x2f;")), "{html}");
}

#[test]
fn an_unreachable_target_still_gets_a_bundle_saying_why() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base_url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let target = standalone(&base_url).write(dir.path());
    let out_dir = dir.path().join("out");
    let out = run_target(
        &target,
        ("agent1-pass", "agent2-pass"),
        &["--profile", "full", "--out", s(&out_dir)],
    );
    assert_not_started_bundle(&out, &out_dir, "target `Standalone reference server`");
    let doc = std::fs::read_to_string(out_dir.join("results.json")).unwrap();
    assert!(doc.contains(&format!("{base_url}/api/v2/me")), "{doc}");
}

#[test]
fn a_refused_login_still_gets_a_bundle_naming_the_agent() {
    let served = serve(&[]);
    let dir = tempfile::tempdir().unwrap();
    let target = standalone(&served.base_url).write(dir.path());
    let out_dir = dir.path().join("out");
    let out = run_target(
        &target,
        ("wrong", "agent2-pass"),
        &["--profile", "voice", "--out", s(&out_dir)],
    );
    assert_not_started_bundle(&out, &out_dir, "login as `agent1` was refused (HTTP 401)");

    // Without a profile there is no verdict, but the record still says incomplete and why.
    let out_dir = dir.path().join("no-profile");
    let out = run_target(&target, ("wrong", "agent2-pass"), &["--out", s(&out_dir)]);
    assert_eq!(out.status.code(), Some(2));
    let results = Results::read(&out_dir);
    let doc = results.record();
    assert!(doc.get("verdict").is_none(), "{doc:#}");
    assert_eq!(doc["harness_error"]["status"], "incomplete");
    assert!(
        doc["harness_error"]["cause"]
            .as_str()
            .is_some_and(|c| c.contains("login as `agent1` was refused")),
        "{doc:#}"
    );
    for file in ["results.jsonl", "junit.xml", "report.md", "report.html"] {
        assert!(out_dir.join(file).exists(), "{file} is missing");
    }
}
