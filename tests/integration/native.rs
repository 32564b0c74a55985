//! Native provisioning end to end: a `serve --no-fixtures` process (a stock GWS as far as the
//! harness can tell: no fixture contract) driven through target files with `fixtures.native`.
//! Voice is certified, every email, open-media, workitem, Twitter, IM and chat scenario passes
//! (chat requested through the Customer Chat API and accepted), SMS and Facebook without
//! `inbound` are not applicable with the documented reason, `--profile full` is
//! incomplete and names them, and no interaction the harness created remains afterwards —
//! after a finished run, a stopped one (Ctrl-C) and one whose scenarios were cut off by their
//! deadline. The check that nothing remains reads the documented collection listings.

use crate::support;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use support::results::{Results, messages};
use support::target::{AGENT_PASSWORDS, TargetFile};
use support::{bin, serve, text};

const NATIVE_MEDIA: [&str; 7] = [
    "voice",
    "email",
    "openmedia",
    "workitem",
    "twitter",
    "im",
    "chat",
];
const NO_CREATE: [&str; 2] = ["sms", "facebook-pm"];

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn run(target: &Path, out_dir: &Path, args: &[&str]) -> Output {
    bin()
        .args(["run", "--quiet", "--target", s(target), "--out", s(out_dir)])
        .args(args)
        .envs(AGENT_PASSWORDS)
        .output()
        .unwrap()
}

fn remaining(base_url: &str) -> Vec<String> {
    support::remaining_interactions(base_url)
}

fn grade_of(result: &Value) -> &str {
    result["grade"].as_str().unwrap_or("?")
}

#[test]
fn a_stock_server_is_tested_through_the_documented_operations() {
    let served = serve(&["--no-fixtures", "--csrf"]);
    let dir = tempfile::tempdir().unwrap();
    let target = TargetFile::new("Native reference server", &served.base_url)
        .native()
        .write(dir.path());

    let voice_out = dir.path().join("voice");
    let out = run(&target, &voice_out, &["--profile", "voice"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let voice = Results::read(&voice_out);
    assert_eq!(voice.record()["verdict"]["status"], "certified");

    let full_out = dir.path().join("full");
    let out = run(&target, &full_out, &["--profile", "full", "--jobs", "8"]);
    assert_eq!(out.status.code(), Some(2), "full is incomplete");
    let full = Results::read(&full_out);
    let results = full.record_results();
    for media in NATIVE_MEDIA {
        let mine: Vec<&Value> = results.iter().filter(|r| r["media"] == media).collect();
        assert!(mine.len() > 50, "{media}: {} scenarios", mine.len());
        let not_passed: Vec<String> = mine
            .iter()
            .filter(|r| grade_of(r) != "pass")
            .map(|r| format!("{} {}: {:?}", r["id"], grade_of(r), messages(r)))
            .collect();
        assert!(not_passed.is_empty(), "{media}: {not_passed:#?}");
        assert!(
            mine.iter().all(|r| r["provisioning"]
                .as_str()
                .is_some_and(|p| p.starts_with("native "))),
            "{media}: each result says how it was provisioned"
        );
    }
    let attached = results
        .iter()
        .find(|r| r["id"] == "workitem/AttachUserData/existing-key")
        .expect("the scenario ran");
    assert_eq!(
        attached["provisioning"],
        "native Create, initial userData attached afterwards"
    );
    let dialled = results
        .iter()
        .find(|r| r["id"] == "voice/AttachUserData/existing-key")
        .expect("the scenario ran");
    assert_eq!(
        dialled["provisioning"],
        "native Dial, initial userData in the request"
    );
    for media in NO_CREATE {
        for r in results.iter().filter(|r| r["media"] == media) {
            assert_eq!(grade_of(r), "not-applicable", "{}", r["id"]);
            assert!(
                messages(r).iter().any(|m| m.contains(
                    "no documented operation creates one; use fixtures.url or fixtures.exec"
                )),
                "{}: {:?}",
                r["id"],
                messages(r)
            );
        }
    }
    let verdict = &full.record()["verdict"];
    assert_eq!(verdict["status"], "incomplete");
    let needs: Vec<&str> = verdict["needs_fixtures"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for media in NO_CREATE {
        assert!(needs.contains(&media), "{needs:?} names {media}");
    }
    assert!(
        text(&out.stdout).contains("cannot be provisioned with this target"),
        "the verdict line says why: {}",
        text(&out.stdout)
    );
    one_set_of_numbers(&text(&out.stdout), &full_out, results);
    assert_eq!(remaining(&served.base_url), Vec::<String>::new());
}

/// The terminal, the verdict, `report.md`, `report.html` and `results.json` count the same
/// things in the same words: a scenario not applicable for want of provisioning is
/// "not-applicable (N cannot be provisioned)" everywhere, never "without a result".
fn one_set_of_numbers(stdout: &str, out_dir: &Path, results: &[Value]) {
    let count = |pred: &dyn Fn(&Value) -> bool| results.iter().filter(|r| pred(r)).count();
    let not_provisioned = |r: &Value| {
        grade_of(r) == "not-applicable"
            && r["findings"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f["check"] == "setup.fixtures"))
    };
    let pass = count(&|r| grade_of(r) == "pass");
    let na = count(&|r| grade_of(r) == "not-applicable");
    let np = count(&not_provisioned);
    assert!(np > 0 && np <= na, "{np} of {na}");
    let record = Results::read(out_dir).record().clone();
    assert_eq!(record["tally"]["counts"]["pass"], pass);
    assert_eq!(record["tally"]["counts"]["not-applicable"], na);
    assert_eq!(record["tally"]["not_provisioned"], np, "results.json");
    let terminal = format!("{pass} pass, 0 fail, {na} not-applicable ({np} cannot be provisioned");
    assert!(stdout.contains(&terminal), "{terminal} in {stdout}");

    let verdict = &record["verdict"];
    let required_np = verdict["not_provisioned"].as_array().map_or(0, Vec::len);
    let required_pass = verdict["counts"]["pass"].as_u64().unwrap_or(0);
    let required_na = verdict["counts"]["not-applicable"].as_u64().unwrap_or(0);
    assert!(
        required_np > 0 && required_np <= np,
        "{required_np} of {np}"
    );
    assert_eq!(
        verdict["missing"],
        serde_json::json!([]),
        "every scenario has a result"
    );
    let sentence = format!(
        "{} required scenarios: {required_pass} pass, {required_na} not-applicable ({required_np} cannot be provisioned",
        verdict["required"]
    );
    assert!(stdout.contains(&sentence), "{sentence} in {stdout}");
    assert!(!stdout.contains("without a result"), "{stdout}");
    let markdown = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    let html = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    for (name, report) in [("report.md", &markdown), ("report.html", &html)] {
        assert!(
            report.contains(&terminal.replace(", 0 fail", "")),
            "{name}: {terminal}"
        );
        assert!(report.contains(&sentence), "{name}: {sentence}");
        assert!(!report.contains("without a result"), "{name}");
    }
}

#[test]
fn native_provisioning_beside_the_contract_certifies_every_media() {
    let served = serve(&[]);
    let dir = tempfile::tempdir().unwrap();
    let target = TargetFile::new("Native and contract", &served.base_url)
        .native_and_contract()
        .write(dir.path());
    let out_dir = dir.path().join("out");
    let out = run(&target, &out_dir, &["--profile", "full"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let results = Results::read(&out_dir);
    let way = |id: &str| {
        results
            .record_results()
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["provisioning"].clone())
    };
    assert_eq!(
        way("sms/UpdateUserData/documented-sample"),
        Some(Value::from("fixture contract"))
    );
    assert_eq!(
        way("voice/UpdateUserData/documented-sample"),
        Some(Value::from("native Dial, initial userData in the request"))
    );
    assert_eq!(remaining(&served.base_url), Vec::<String>::new());
}

/// Runs the scenarios `filter` selects against `target`, sends Ctrl-C (SIGINT) once `passes`
/// of them have passed, and returns what the run printed after that; the run must exit 2.
fn interrupt_after_passes(target: &Path, filter: &str, passes: usize) -> String {
    let mut child = bin()
        .args([
            "run",
            "--target",
            s(target),
            "--jobs",
            "4",
            "--filter",
            filter,
        ])
        .envs(AGENT_PASSWORDS)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let mut finished = 0;
    while finished < passes && reader.read_line(&mut line).unwrap() > 0 {
        if line.starts_with("PASS ") {
            finished += 1;
        }
        line.clear();
    }
    assert_eq!(finished, passes, "the run got going on {filter}");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{rest}");
    rest
}

#[test]
fn a_run_stopped_with_ctrl_c_leaves_no_interaction_behind() {
    let served = serve(&["--no-fixtures"]);
    let dir = tempfile::tempdir().unwrap();
    let target = TargetFile::new("Native reference server", &served.base_url)
        .native()
        .write(dir.path());
    let rest = interrupt_after_passes(&target, "voice/", 6);
    assert!(
        rest.lines().filter(|l| l.starts_with("PASS ")).count() < 60,
        "the run stopped early: {rest}"
    );
    assert_eq!(remaining(&served.base_url), Vec::<String>::new());
}

#[test]
fn scenarios_cut_off_by_their_deadline_leave_no_interaction_behind() {
    // Notifications come 10 s late, so each scenario is still waiting when its 1 s deadline
    // drops it: its interaction is ended when the run closes.
    let served = serve(&["--no-fixtures", "--defect", "late-notification"]);
    let dir = tempfile::tempdir().unwrap();
    let target = TargetFile::new("Late native server", &served.base_url)
        .native()
        .write(dir.path());
    let out_dir = dir.path().join("out");
    let out = run(
        &target,
        &out_dir,
        &[
            "--filter",
            "email/UpdateUserData/documented-sample",
            "--filter",
            "voice/AttachUserData/documented-sample",
            "--scenario-timeout",
            "1s",
            "--notification-timeout",
            "5s",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let results = Results::read(&out_dir);
    let cut: Vec<&Value> = results
        .record_results()
        .iter()
        .filter(|r| messages(r).iter().any(|m| m.contains("deadline")))
        .collect();
    assert!(!cut.is_empty(), "{:?}", results.grades());
    assert_eq!(remaining(&served.base_url), Vec::<String>::new());
}

#[test]
fn a_target_file_that_asks_native_for_what_it_cannot_do_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (native, expected) in [
        (
            "    dial: \"15002\"\n    media: [voice, sms]\n",
            "fixtures.native.media lists `sms`: no documented operation creates one",
        ),
        (
            "    media: [voice]\n",
            "fixtures.native.media lists `voice`: fixtures.native.dial is not set",
        ),
        (
            "    openmedia_type: promotion\n",
            "fixtures.native provisions nothing",
        ),
        ("    dail: \"15002\"\n", "unknown key `dail`"),
    ] {
        let path = dir.path().join("target.yaml");
        std::fs::write(
            &path,
            format!(
                "name: t\nbase_url: http://127.0.0.1:9\nagents:\n  - {{username: agent1, password_env: GWS_AGENT1_PASSWORD}}\nfixtures:\n  native:\n{native}"
            ),
        )
        .unwrap();
        let out = bin()
            .args(["run", "--target", s(&path)])
            .envs(AGENT_PASSWORDS)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(expected) && stderr.contains("target.yaml"),
            "{expected}: {stderr}"
        );
    }
}

#[test]
fn load_runs_on_natively_provisioned_interactions_and_ends_them() {
    let served = serve(&["--no-fixtures"]);
    let dir = tempfile::tempdir().unwrap();
    let target = TargetFile::new("Native reference server", &served.base_url)
        .native()
        .write(dir.path());
    let out_dir = dir.path().join("load");
    let out = bin()
        .args([
            "load",
            "--target",
            s(&target),
            "--duration",
            "2s",
            "--out",
            s(&out_dir),
        ])
        .envs(AGENT_PASSWORDS)
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("load.json")).unwrap()).unwrap();
    assert!(
        report["ledger"]["operations"].as_u64().unwrap() > 0,
        "{report}"
    );
    assert_eq!(
        report["ledger"]["notified_once"],
        report["ledger"]["operations"]
    );
    let left_out: Vec<&str> = report["left_out"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for media in ["chat", "im"] {
        assert!(
            !left_out
                .iter()
                .any(|l| l.starts_with(&format!("{media}: "))),
            "{media} is loaded natively: {left_out:?}"
        );
    }
    for media in NO_CREATE {
        assert!(
            left_out
                .iter()
                .any(|l| l.starts_with(&format!("{media}: "))),
            "{left_out:?}"
        );
    }
    assert!(
        stdout.contains("not loaded: sms: no documented operation creates one"),
        "{stdout}"
    );
    assert_eq!(remaining(&served.base_url), Vec::<String>::new());
}

/// The reference server's routing, over HTTP only: waiting customers (`--inbound sms=2`) are
/// offered `Invited` to an agent once it is Ready on their channel, one at a time (the second
/// when the first ends), and taken with `Accept` or refused with `Reject`; a customer's chat
/// (`RequestChat` with `ContactCenterId`, no credentials) is offered under an id of its own and
/// ends with the customer's `Disconnect` while nobody accepted it.
#[test]
fn waiting_customers_are_offered_one_at_a_time_to_an_agent_ready_on_their_channel() {
    let served = serve(&["--no-fixtures", "--inbound", "sms=2"]);
    let base = served.base_url.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let client = reqwest::Client::new();
        let post = |path: String, body: Value| {
            let request = client
                .post(format!("{base}{path}"))
                .basic_auth("agent1", Some("agent1-pass"))
                .json(&body);
            async move {
                let reply = request.send().await.unwrap();
                (
                    reply.status().as_u16(),
                    reply.json::<Value>().await.unwrap(),
                )
            }
        };
        // The listings reader runs its own runtime, so it runs on a thread of its own.
        let sms = || {
            let base = base.clone();
            std::thread::spawn(move || support::remaining_interactions(&base))
                .join()
                .unwrap()
        };
        let start =
            json!({"operationName": "StartContactCenterSession", "channels": ["sms", "chat"]});
        assert_eq!(post("/api/v2/me".into(), start).await.0, 200);
        assert!(sms().is_empty(), "nothing is offered before Ready");
        let ready = json!({"operationName": "Ready"});
        assert_eq!(
            post("/api/v2/me/channels/sms".into(), ready.clone())
                .await
                .0,
            200
        );
        let first = sms();
        assert_eq!(first.len(), 1, "one at a time: {first:?}");
        let path = first[0].split_once(&base).unwrap().1.to_string();
        let read = client
            .get(format!("{base}{path}"))
            .basic_auth("agent1", Some("agent1-pass"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        assert_eq!(read["smssession"]["state"], "Invited", "{read}");
        let complete = json!({"operationName": "Complete"});
        assert_eq!(
            post(path.clone(), complete.clone()).await.0,
            400,
            "not before Accept"
        );
        let accept = json!({"operationName": "Accept", "nickname": "agent1"});
        assert_eq!(post(path.clone(), accept).await.0, 200);
        assert_eq!(sms(), first, "the second waits while the first is open");
        assert_eq!(post(path.clone(), complete).await.0, 200);
        let second = sms();
        assert_eq!(second.len(), 1, "{second:?}");
        assert_ne!(second, first, "the second is offered when the first ends");
        let second_path = second[0].split_once(&base).unwrap().1.to_string();
        assert_eq!(
            post(second_path, json!({"operationName": "Reject"}))
                .await
                .0,
            200
        );
        assert!(sms().is_empty(), "nobody waits any more");

        let customer = |headers: Option<&str>, path: &str, body: Value| {
            let mut request = client.post(format!("{base}{path}")).json(&body);
            if let Some(id) = headers {
                request = request.header("ContactCenterId", id);
            }
            async move {
                let reply = request.send().await.unwrap();
                (
                    reply.status().as_u16(),
                    reply.json::<Value>().await.unwrap(),
                )
            }
        };
        let request =
            json!({"operationName": "RequestChat", "nickname": "Chris", "subject": "Question"});
        assert_eq!(
            customer(None, "/api/v2/chats", request.clone()).await.0,
            400
        );
        let (status, reply) = customer(Some("8a3c0f12"), "/api/v2/chats", request).await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["statusCode"], 0);
        let customer_path = reply["path"].as_str().unwrap().to_string();
        assert!(sms().is_empty(), "no chat is offered before Ready on chat");
        assert_eq!(post("/api/v2/me/channels/chat".into(), ready).await.0, 200);
        let chats = sms();
        assert_eq!(chats.len(), 1, "{chats:?}");
        assert!(
            !chats[0].ends_with(reply["id"].as_str().unwrap()),
            "the agent side has an id of its own"
        );
        let disconnect = json!({"operationName": "Disconnect"});
        assert_eq!(
            customer(Some("8a3c0f12"), &customer_path, disconnect.clone())
                .await
                .0,
            200
        );
        assert!(
            sms().is_empty(),
            "a chat nobody accepted ends with its customer"
        );
        assert_eq!(
            customer(Some("8a3c0f12"), &customer_path, disconnect)
                .await
                .0,
            404
        );
    });
}

/// Issue #25's acceptance on the reference server: with waiting SMS and Facebook customers and
/// a target naming every native way, `full` is certified, all nine media run (none not
/// applicable), the inbound ones on one accepted interaction each, reset before every
/// scenario; the person at the terminal is told what the run waits for; and the listings are
/// empty afterwards, although a second customer of each media still waits (the agent is set
/// NotReady before the first is ended, so it is never offered).
#[test]
fn every_media_runs_natively_with_waiting_customers_and_nothing_is_left_behind() {
    let served = serve(&[
        "--no-fixtures",
        "--csrf",
        "--inbound",
        "sms=2,facebook-pm=2",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let target = TargetFile::new("Native reference server", &served.base_url)
        .native()
        .inbound("30s")
        .write(dir.path());
    let out_dir = dir.path().join("full");
    let out = run(&target, &out_dir, &["--profile", "full", "--jobs", "8"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("waiting up to 30s for an SMS session routed to agent1: send one now"),
        "{stderr}"
    );
    let full = Results::read(&out_dir);
    assert_eq!(full.record()["verdict"]["status"], "certified");
    let results = full.record_results();
    for media in NATIVE_MEDIA.iter().chain(&NO_CREATE) {
        let mine: Vec<&Value> = results.iter().filter(|r| r["media"] == *media).collect();
        assert!(mine.len() > 50, "{media}: {} scenarios", mine.len());
        assert!(
            mine.iter().all(|r| grade_of(r) == "pass"),
            "{media}: {:?}",
            mine.iter().map(|r| grade_of(r)).collect::<Vec<_>>()
        );
    }
    let reused: Vec<&str> = results
        .iter()
        .filter(|r| r["media"] == "sms")
        .filter_map(|r| r["provisioning"].as_str())
        .collect();
    assert!(
        reused
            .iter()
            .all(|p| p.starts_with("routed sms interaction, accepted, reused for scenario ")),
        "{reused:?}"
    );
    assert_eq!(remaining(&served.base_url), Vec::<String>::new());
}

/// An inbound media nobody routes to the agent makes the verdict incomplete, naming the media
/// and the wait; the run does not hang, and leaves nothing behind.
#[test]
fn an_inbound_media_never_offered_makes_the_verdict_incomplete_naming_it_and_the_wait() {
    let served = serve(&["--no-fixtures", "--csrf", "--inbound", "sms=1"]);
    let dir = tempfile::tempdir().unwrap();
    let target = TargetFile::new("Native reference server", &served.base_url)
        .native()
        .inbound("2s")
        .write(dir.path());
    let out_dir = dir.path().join("full");
    let out = run(&target, &out_dir, &["--profile", "full", "--jobs", "8"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let full = Results::read(&out_dir);
    let verdict = &full.record()["verdict"];
    assert_eq!(verdict["status"], "incomplete");
    assert_eq!(
        verdict["needs_fixtures"],
        serde_json::json!(["facebook-pm"])
    );
    for r in full
        .record_results()
        .iter()
        .filter(|r| r["media"] == "facebook-pm")
    {
        assert_eq!(grade_of(r), "not-applicable");
        assert!(
            messages(r).iter().any(|m| m.contains(
                "no facebook-pm was offered to the first agent within fixtures.native.inbound_wait (2s)"
            )),
            "{:?}",
            messages(r)
        );
    }
    assert!(
        full.record_results()
            .iter()
            .filter(|r| r["media"] == "sms")
            .all(|r| grade_of(r) == "pass")
    );
    assert_eq!(remaining(&served.base_url), Vec::<String>::new());
}

/// Ctrl-C while the reused SMS interaction is in use by a scenario: the agent is set NotReady
/// and the accepted interaction ended, so the listings are empty although another customer
/// still waits.
#[test]
fn a_run_stopped_while_a_reused_interaction_is_in_use_leaves_nothing_behind() {
    let served = serve(&["--no-fixtures", "--inbound", "sms=2"]);
    let dir = tempfile::tempdir().unwrap();
    let target = TargetFile::new("Native reference server", &served.base_url)
        .native()
        .inbound("30s")
        .write(dir.path());
    interrupt_after_passes(&target, "sms/", 3);
    assert_eq!(remaining(&served.base_url), Vec::<String>::new());
}

#[test]
fn a_dial_that_ignores_its_user_data_fails_with_one_root_cause_that_says_so() {
    // `Dial` documents `userData`: a server that drops it starts every voice scenario from the
    // wrong state. That is one fact, reported once per scenario in the same words, not a diff
    // failure of each scenario's own.
    let served = serve(&["--no-fixtures", "--defect", "dial-ignores-user-data"]);
    let dir = tempfile::tempdir().unwrap();
    let target = TargetFile::new("Dial drops userData", &served.base_url)
        .native()
        .write(dir.path());
    let out_dir = dir.path().join("out");
    let out = run(&target, &out_dir, &["--filter", "voice/UpdateUserData/"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let results = Results::read(&out_dir);
    let failed: Vec<&Value> = results
        .record_results()
        .iter()
        .filter(|r| grade_of(r) == "fail")
        .collect();
    assert!(!failed.is_empty(), "{:?}", results.grades());
    for r in &failed {
        let errors: Vec<&Value> = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "error")
            .collect();
        assert_eq!(errors.len(), 1, "{r}");
        assert_eq!(errors[0]["check"], "setup.initial-data", "{r}");
        assert!(
            errors[0]["message"]
                .as_str()
                .unwrap()
                .contains("right after Dial"),
            "{r}"
        );
    }
    // One root cause on the terminal, naming the operation whose input was dropped.
    let stdout = text(&out.stdout);
    let causes: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("root causes"))
        .skip(1)
        .take_while(|l| l.starts_with(' '))
        .collect();
    assert_eq!(causes.len(), 1, "{stdout}");
    assert!(
        causes[0].contains("[setup.initial-data] right after Dial"),
        "{stdout}"
    );
    assert_eq!(remaining(&served.base_url), Vec::<String>::new());
}
