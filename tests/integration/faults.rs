//! The harness through a faulty network (#26): the fault injector of `tests/support/faults.rs`
//! between the binary and a standalone reference server, and a server restarted mid-run.
//!
//! What must hold: a correct server is certified however the link misbehaves (each run saying
//! how many exchanges it re-did and why), a server with a real defect is still failed with the
//! same root cause, and a restart leaves every scenario with a result and the verdict
//! certified or incomplete, never a false failure.

use crate::support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Output, Stdio};
use support::faults::{FaultPlan, Injector};
use support::standin::StandIn;
use support::target::{AGENT_PASSWORDS, TargetFile};
use support::{bin, serve, text};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn run_through(injector: &Injector, out: &Path, args: &[&str]) -> Output {
    let target = TargetFile::new("A server behind a faulty link", injector.base_url()).write(out);
    bin()
        .args([
            "run",
            "--quiet",
            "--target",
            s(&target),
            "--out",
            s(&out.join("out")),
        ])
        .args(args)
        .envs(AGENT_PASSWORDS)
        .output()
        .unwrap()
}

/// The voice profile's scenarios: every operation on the media whose notification shape differs
/// most, in about half a minute through the injector.
const VOICE: [&str; 4] = ["--profile", "voice", "--filter", "voice/"];

/// The run's verdict line and the `verdict` of `results.json`.
fn verdict(out: &Path) -> serde_json::Value {
    let record = support::results::Results::read(&out.join("out"));
    record.record()["verdict"].clone()
}

fn context(out: &Output, injector: &Injector) -> String {
    format!(
        "exit {:?}; injector {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        injector.counts(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// The seeds of a certification loop: `FAULT_SEEDS=A..=B` (the acceptance measurement runs
/// `1..=10`), else `ci`, what CI can afford.
fn seeds(ci: &[u64]) -> Vec<u64> {
    match std::env::var("FAULT_SEEDS") {
        Ok(range) => {
            let (a, b) = range.split_once("..=").expect("FAULT_SEEDS=A..=B");
            (a.parse().unwrap()..=b.parse().unwrap()).collect()
        }
        Err(_) => ci.to_vec(),
    }
}

/// Runs `run ARGS` (no `--retries`) against `upstream` through the hostile link of each seed and
/// asserts that every run is certified for `profile`, really went through faults, and says
/// what it re-did and why. `upstream_log` adds the server's own account to failure messages.
fn certified_through_faults(
    upstream: &str,
    args: &[&str],
    profile: &str,
    seeds: &[u64],
    upstream_log: &dyn Fn() -> String,
) {
    for &seed in seeds {
        let injector = Injector::start(upstream, FaultPlan::hostile_link(seed));
        let dir = tempfile::tempdir().unwrap();
        let out = run_through(&injector, dir.path(), args);
        let why = format!(
            "{}\nserver stderr:\n{}",
            context(&out, &injector),
            upstream_log()
        );
        assert_eq!(out.status.code(), Some(0), "seed {seed}: {why}");
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains(&format!("verdict: CERTIFIED for profile `{profile}`")),
            "seed {seed}: {why}"
        );
        let counts = injector.counts();
        assert!(
            counts.resets + counts.cut_held > 0 && counts.fragments > counts.connections,
            "seed {seed}: the link really misbehaved: {counts:?}"
        );
        let verdict = verdict(dir.path());
        // The verdict says what it had to re-do, and why.
        let redone = verdict["redone"].as_u64().unwrap_or(0);
        let causes = verdict["transport_causes"].as_array().map_or(0, Vec::len);
        if redone > 0 {
            assert!(
                stdout.contains("re-done after transport faults") && causes > 0,
                "seed {seed}: {why}"
            );
        }
        eprintln!("seed {seed}: certified, {redone} attempt(s) re-done; {counts:?}");
    }
}

#[test]
fn a_correct_server_is_certified_through_a_faulty_link() {
    let served = serve(&[]);
    certified_through_faults(
        &served.base_url,
        &VOICE,
        "voice",
        &seeds(&[1, 2]),
        &String::new,
    );
}

/// The same for a second, independent GWS: the Node stand-in on cometd-nodejs-server with its
/// fixture contract (interop/README.md), so what the harness re-does after a fault is not
/// tuned to the reference server's habits.
#[test]
fn the_node_stand_in_is_certified_through_a_faulty_link() {
    let stand_in = StandIn::start("cometd", &[]);
    certified_through_faults(&stand_in.base_url, &VOICE, "voice", &seeds(&[1]), &|| {
        stand_in.stderr()
    });
}

#[test]
fn a_wrong_server_is_still_failed_through_a_faulty_link_with_the_same_root_cause() {
    for defect in ["wrong-message-type", "update-replaces-all"] {
        let served = serve(&["--defect", defect]);
        let dir = tempfile::tempdir().unwrap();
        let direct_out = dir.path().join("direct");
        let direct = bin()
            .args(["run", "--quiet", "--out", s(&direct_out), "--target"])
            .arg(TargetFile::new("direct", &served.base_url).write(dir.path()))
            .args(VOICE)
            .envs(AGENT_PASSWORDS)
            .output()
            .unwrap();
        assert_eq!(
            direct.status.code(),
            Some(1),
            "{defect}: {}",
            text(&direct.stdout)
        );
        let (direct_failed, direct_checks) = failures(&direct_out);
        assert!(
            !direct_failed.is_empty(),
            "{defect}: {}",
            text(&direct.stdout)
        );
        let injector = Injector::start(&served.base_url, FaultPlan::hostile_link(7));
        let faulty = run_through(&injector, dir.path(), &VOICE);
        let why = context(&faulty, &injector);
        assert_eq!(faulty.status.code(), Some(1), "{defect}: {why}");
        assert!(
            text(&faulty.stdout).contains("NOT CERTIFIED"),
            "{defect}: {why}"
        );
        let (failed, checks) = failures(&dir.path().join("out"));
        assert_eq!(
            checks, direct_checks,
            "{defect}: the same root causes\n{why}"
        );
        // A scenario the budget left indeterminate is missing here, never one more failed.
        assert!(
            failed.is_subset(&direct_failed) && failed.len() * 10 >= direct_failed.len() * 9,
            "{defect}: failed {failed:?}, without faults {direct_failed:?}\n{why}"
        );
    }
}

/// The failed scenarios of the run in `out`, and the checks of their error findings (the root
/// causes, without the details that differ between interactions).
fn failures(out: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let results = support::results::Results::read(out);
    let failed: Vec<&serde_json::Value> = results
        .lines()
        .iter()
        .filter(|r| r["grade"] == "fail")
        .collect();
    let ids = failed
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let checks = failed
        .iter()
        .flat_map(|r| r["findings"].as_array().cloned().unwrap_or_default())
        .filter(|f| f["severity"] == "error")
        .map(|f| f["check"].as_str().unwrap_or("").to_string())
        .collect();
    (ids, checks)
}

#[test]
fn a_server_restarted_mid_run_leaves_every_scenario_with_a_result_and_no_false_failure() {
    restarted_mid_run(&[]);
}

#[test]
fn a_restart_that_forgets_the_csrf_tokens_is_no_false_failure_either() {
    // The new process knows neither the sessions nor the CSRF tokens bound to them: the run's
    // next POSTs carry a token it never issued.
    restarted_mid_run(&["--csrf"]);
}

/// Runs the voice scenarios through a faithful link and, on the tenth scenario line, swaps
/// the server for a fresh process started with `server_args`.
fn restarted_mid_run(server_args: &[&str]) {
    let first = serve(server_args);
    let injector = Injector::start(&first.base_url, FaultPlan::clean(3));
    let dir = tempfile::tempdir().unwrap();
    let target = TargetFile::new("restarting server", injector.base_url()).write(dir.path());
    let out = dir.path().join("out");
    let mut child = bin()
        .args([
            "run",
            "--target",
            s(&target),
            "--out",
            s(&out),
            "--jobs",
            "2",
        ])
        .args(VOICE)
        .envs(AGENT_PASSWORDS)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The restart comes on an event: the tenth scenario line on the run's output.
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    while seen.len() < 10 {
        match lines.next() {
            Some(Ok(line)) => seen.push(line),
            _ => break,
        }
    }
    let second = serve(server_args);
    injector.switch_upstream(&second.base_url);
    drop(first);
    seen.extend(lines.map_while(Result::ok));
    let output = child.wait_with_output().unwrap();
    let shown = format!(
        "exit {:?}\n{}\nstderr:\n{}",
        output.status.code(),
        seen.join("\n"),
        text(&output.stderr)
    );
    assert!(
        matches!(output.status.code(), Some(0) | Some(2)),
        "certified or incomplete, never failed: {shown}"
    );
    let results = support::results::Results::read(&out);
    let listed = bin()
        .args(["list", "--json", "--filter", "voice/"])
        .output()
        .unwrap();
    let expected = text(&listed.stdout).lines().count();
    assert_eq!(
        results.lines().len(),
        expected,
        "every scenario has a result: {shown}"
    );
    for r in results.lines() {
        assert!(
            !matches!(r["grade"].as_str(), Some("fail") | Some("could-not-test")),
            "{}: no false failure after a restart: {r}\n{shown}",
            r["id"]
        );
    }
    let status = results.record()["verdict"]["status"].clone();
    assert!(
        status == "certified" || status == "incomplete",
        "{status}: {shown}"
    );
    assert!(
        injector.counts().upstream_lost > 0,
        "the restart cut connections: {:?}",
        injector.counts()
    );
}

#[test]
fn load_through_a_faulty_link_counts_no_operation_of_a_correct_server_as_lost() {
    let served = serve(&[]);
    let injector = Injector::start(&served.base_url, FaultPlan::hostile_link(5));
    let dir = tempfile::tempdir().unwrap();
    let target = TargetFile::new("Reference server behind a faulty link", injector.base_url())
        .write(dir.path());
    let out = dir.path().join("out");
    let ran = bin()
        .args([
            "load",
            "--target",
            s(&target),
            "--agents",
            "2",
            "--duration",
            "4s",
        ])
        .args(["--out", s(&out)])
        .envs(AGENT_PASSWORDS)
        .output()
        .unwrap();
    let why = context(&ran, &injector);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("load.json")).expect(&why)).unwrap();
    let ledger = &report["ledger"];
    assert!(
        ledger["operations"].as_u64().unwrap_or(0) > 0,
        "{ledger}\n{why}"
    );
    for kind in ["lost", "duplicated", "crossed", "wrong"] {
        assert_eq!(ledger[kind].as_u64(), Some(0), "{kind}: {ledger}\n{why}");
    }
    let counts = injector.counts();
    assert!(counts.fragments > counts.connections, "{counts:?}");
    eprintln!("load through the injector: {ledger}; {counts:?}");
}
