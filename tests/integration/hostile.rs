//! Hostile servers: the `gws-conformance` binary against a proxy that misbehaves in one way.
//!
//! Every test starts the embedded reference server with a hostile proxy in front of it (the kit
//! is `support::hostile`; [`Mode`] names the misbehaviours) and runs the binary
//! (`run --target FILE`) against the proxy as a child process with short deadlines. The tests
//! then assert what the harness must do with such a server: end every scenario within its
//! deadlines, never panic, keep `results.jsonl` valid, grade the affected scenarios `fail` or
//! `could-not-test` with a finding that names the cause, and exit 1 (a conformance failure) or 2
//! (a harness or connection failure before any scenario, with the cause on stderr).
//!
//! What every run must do is asserted once, when it is read ([`Outcome::read`]): it ended, did
//! not panic, and was prompt. Each test states only its misbehaviour and what is particular to
//! it; most run the same two scenarios ([`run_pair`]). It does not test the proxy itself beyond
//! the transparent control, nor timing targets (those are `bench`'s).
//!
//! The assertion helpers are `#[track_caller]`, so a failure points at the test's own line.
//!
//! No test waits on a fixed sleep: the child is awaited with a hard deadline, and the only
//! timers are inside the hostile server itself. `HOSTILE_VERBOSE=1 cargo test --test integration
//! hostile:: -- --nocapture` prints every run's output and results.

use crate::support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::hostile::{Counts, Hostile, Mode};
use support::results::{Results, messages};
use support::target::{AGENT_PASSWORDS, TargetFile};

/// The deadlines every run uses: short, so that a misbehaviour ends quickly.
const DEADLINES: [&str; 8] = [
    "--request-timeout",
    "1s",
    "--notification-timeout",
    "1s",
    "--scenario-timeout",
    "5s",
    "--run-timeout",
    "60s",
];

/// Longest a run may take before the harness counts as hung: the run deadline (60 s) plus
/// room for closing the streams. Only reached when the harness ignores its own deadlines.
const HARD_LIMIT: Duration = Duration::from_secs(75);

/// With two scenarios and a 5 s scenario deadline, a harness that honours its deadlines is done
/// well within this (scenarios run concurrently; closing costs at most one request deadline).
const PROMPT: Duration = Duration::from_secs(20);

const CHAT_UPDATE: &str = "chat/UpdateUserData/documented-sample";
const VOICE_DELETE: &str = "voice/DeleteUserData/documented-sample";
const SMS_UPDATE: &str = "sms/UpdateUserData/documented-sample";
const CHAT_BACK_TO_BACK: &str = "chat/UpdateUserData/back-to-back";
const SMS_BACK_TO_BACK: &str = "sms/UpdateUserData/back-to-back";

/// What most tests run: a multimedia update and the voice delete-all, which differ in media,
/// channel, operation and notification shape.
const PAIR: [&str; 2] = [CHAT_UPDATE, VOICE_DELETE];

/// Either grade of a scenario that could not succeed; which one depends on where it broke.
const FAILED: &[&str] = &["fail", "could-not-test"];

// ---------------------------------------------------------------------------------------------
// Running the binary against the proxy
// ---------------------------------------------------------------------------------------------

/// [`PAIR`] against a proxy misbehaving as `mode`.
#[track_caller]
fn run_pair(mode: Mode) -> Outcome {
    run_scenarios(mode, &PAIR, &[], None)
}

/// `gws-conformance run --target` against a proxy misbehaving as `mode`, with the scenarios
/// `ids`, the short deadlines and `extra` arguments; under `wrapper` (a command the binary's
/// path and arguments are appended to) when given.
#[track_caller]
fn run_scenarios(mode: Mode, ids: &[&str], extra: &[&str], wrapper: Option<&[&str]>) -> Outcome {
    let hostile = Hostile::start(mode);
    let dir = tempfile::tempdir().expect("a temp dir");
    let target =
        TargetFile::new(&format!("hostile proxy ({mode:?})"), hostile.base_url()).write(dir.path());
    let out = dir.path().join("out");
    let binary = env!("CARGO_BIN_EXE_gws-conformance");
    let mut cmd = match wrapper {
        Some(w) => {
            let mut c = Command::new(w[0]);
            c.args(&w[1..]).arg(binary);
            c
        }
        None => Command::new(binary),
    };
    cmd.args(["run", "--target", s(&target), "--out", s(&out)])
        .args(DEADLINES)
        .args(ids.iter().flat_map(|f| ["--filter", f]))
        .args(extra)
        .envs(AGENT_PASSWORDS)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // The proxy is on loopback; a proxy from the environment would stand in between.
    for var in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    let started = Instant::now();
    let child = cmd.spawn().expect("the binary starts");
    let pid = child.id();
    let (output, hung) = hostile.block_on(async move {
        let mut waiting = tokio::task::spawn_blocking(move || child.wait_with_output());
        match tokio::time::timeout(HARD_LIMIT, &mut waiting).await {
            Ok(done) => (done.expect("join").expect("wait"), false),
            Err(_) => {
                // Our own child, by its id: the harness ignored its run deadline.
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                (waiting.await.expect("join").expect("wait"), true)
            }
        }
    });
    let ran = Ran {
        output,
        elapsed: started.elapsed(),
        hung,
    };
    Outcome::read(hostile, ids, dir, out, ran)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// The child as it ended.
struct Ran {
    output: Output,
    elapsed: Duration,
    /// Killed at [`HARD_LIMIT`].
    hung: bool,
}

/// What one run left behind, with the proxy it ran against.
struct Outcome {
    /// Kept until the test ends, as the servers were while the run went on.
    hostile: Hostile,
    /// The scenarios selected.
    ids: Vec<String>,
    _dir: tempfile::TempDir,
    out: PathBuf,
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    results: Results,
}

impl Outcome {
    /// Reads the run and asserts what every run must: it ended within [`HARD_LIMIT`], its
    /// results files are JSON, it did not panic, and it was prompt.
    #[track_caller]
    fn read(
        hostile: Hostile,
        ids: &[&str],
        dir: tempfile::TempDir,
        out: PathBuf,
        ran: Ran,
    ) -> Outcome {
        let stdout = String::from_utf8_lossy(&ran.output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&ran.output.stderr).into_owned();
        assert!(
            !ran.hung,
            "the run did not end within {HARD_LIMIT:?} although its run deadline is 60s\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        let results = Results::read_explained(&out, &format!("stderr:\n{stderr}"));
        let outcome = Outcome {
            hostile,
            ids: ids.iter().map(|id| id.to_string()).collect(),
            _dir: dir,
            out,
            code: ran.output.status.code(),
            stdout,
            stderr,
            elapsed: ran.elapsed,
            results,
        };
        if std::env::var_os("HOSTILE_VERBOSE").is_some() {
            eprintln!("{}", outcome.context());
        }
        outcome.assert_no_panic();
        outcome.assert_prompt();
        outcome
    }

    /// What the proxy counted, now.
    fn counts(&self) -> Counts {
        self.hostile.proxy().counts()
    }

    fn context(&self) -> String {
        format!(
            "exit {:?} after {:.1}s\n--- stdout\n{}\n--- stderr\n{}\n--- results.jsonl\n{}",
            self.code,
            self.elapsed.as_secs_f64(),
            self.stdout,
            self.stderr,
            self.results
                .lines
                .as_ref()
                .map(|l| l.iter().map(summary_line).collect::<Vec<_>>().join("\n"))
                .unwrap_or_else(|| "(absent)".into())
        )
    }

    #[track_caller]
    fn assert_no_panic(&self) {
        for text in [&self.stdout, &self.stderr] {
            assert!(
                !text.contains("panicked") && !text.contains("RUST_BACKTRACE"),
                "the harness panicked\n{}",
                self.context()
            );
        }
    }

    #[track_caller]
    fn assert_prompt(&self) {
        assert!(
            self.elapsed < PROMPT,
            "the run took {:.1}s: longer than its deadlines allow\n{}",
            self.elapsed.as_secs_f64(),
            self.context()
        );
    }

    #[track_caller]
    fn assert_exit(&self, allowed: &[i32]) {
        assert!(
            self.code.is_some_and(|c| allowed.contains(&c)),
            "expected exit code in {allowed:?}\n{}",
            self.context()
        );
    }

    /// The run exited with `code` and has a result for every selected scenario.
    #[track_caller]
    fn assert_finished(&self, code: i32) {
        self.assert_exit(&[code]);
        self.assert_complete();
    }

    #[track_caller]
    fn results(&self) -> &[Value] {
        self.results.lines.as_deref().unwrap_or_else(|| {
            panic!(
                "no results.jsonl in {}\n{}",
                self.out.display(),
                self.context()
            )
        })
    }

    /// The run finished: one result per selected scenario in `results.jsonl`, and `results.json`
    /// with the same results.
    #[track_caller]
    fn assert_complete(&self) {
        let mut got: Vec<&str> = self
            .results()
            .iter()
            .map(|r| r["id"].as_str().unwrap_or("(no id)"))
            .collect();
        got.sort_unstable();
        let mut want: Vec<&str> = self.ids.iter().map(String::as_str).collect();
        want.sort_unstable();
        assert_eq!(got, want, "one result per scenario\n{}", self.context());
        let record = self.results.record.as_ref().unwrap_or_else(|| {
            panic!(
                "no results.json: the run did not finish\n{}",
                self.context()
            )
        });
        assert_eq!(
            record["results"].as_array().map_or(0, Vec::len),
            self.ids.len(),
            "results.json holds every result\n{}",
            self.context()
        );
    }

    /// Every selected scenario passed.
    #[track_caller]
    fn assert_all_pass(&self) {
        for r in self.results() {
            assert_eq!(r["grade"], "pass", "{}", self.context());
        }
    }

    /// A failure before any scenario: exit 2, stderr names each of `causes`, no scenario ran
    /// and no operation reached the server.
    #[track_caller]
    fn assert_harness_error(&self, causes: &[&str]) {
        self.assert_exit(&[2]);
        self.assert_stderr_names(causes, "stderr names the target and the cause");
        assert!(
            self.results.lines.as_ref().is_none_or(Vec::is_empty),
            "no scenario ran\n{}",
            self.context()
        );
        assert_eq!(self.counts().operations, 0);
    }

    /// stderr contains every one of `texts`.
    #[track_caller]
    fn assert_stderr_names(&self, texts: &[&str], why: &str) {
        assert!(
            texts.iter().all(|t| self.stderr.contains(t)),
            "{why}: stderr lacks one of {texts:?}\n{}",
            self.context()
        );
    }

    /// A finding of severity `error` (one that decides the grade) names `cause` in each selected
    /// scenario: the cause is not left to an informational finding while the error states
    /// something else.
    #[track_caller]
    fn assert_errors_name(&self, cause: &str) {
        for id in &self.ids {
            let r = self.result(id);
            let errors: Vec<&str> = r["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|f| f["severity"] == "error")
                .filter_map(|f| f["message"].as_str())
                .collect();
            assert!(
                errors.iter().any(|m| m.contains(cause)),
                "{id}: no error finding names `{cause}` (the scenario lasted {} ms; errors: {errors:?})\n{}",
                r["duration_ms"],
                self.context()
            );
        }
    }

    #[track_caller]
    fn result(&self, id: &str) -> &Value {
        self.results()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no result for {id}\n{}", self.context()))
    }

    /// `id` ended with one of `grades` and a finding whose message contains one of `causes`.
    #[track_caller]
    fn assert_graded(&self, id: &str, grades: &[&str], causes: &[&str]) -> &Value {
        let r = self.result(id);
        let grade = r["grade"].as_str().unwrap_or("");
        assert!(
            grades.contains(&grade),
            "{id}: grade `{grade}`, expected one of {grades:?}\n{}",
            self.context()
        );
        let messages = messages(r);
        assert!(
            messages
                .iter()
                .any(|m| causes.iter().any(|c| m.contains(c))),
            "{id}: no finding names the cause (one of {causes:?}); findings: {messages:#?}\n{}",
            self.context()
        );
        r
    }

    /// Every selected scenario ended with one of `grades` and, for each of `causes`, a finding
    /// whose message contains it. Returns their results, in selection order.
    #[track_caller]
    fn assert_each(&self, grades: &[&str], causes: &[&str]) -> Vec<&Value> {
        self.ids
            .iter()
            .map(|id| {
                for cause in causes {
                    self.assert_graded(id, grades, &[cause]);
                }
                self.result(id)
            })
            .collect()
    }

    /// `result` ended at the 1 s request deadline, well before the 5 s scenario deadline.
    #[track_caller]
    fn assert_ended_by_request_deadline(&self, result: &Value) {
        assert!(
            result["duration_ms"].as_f64().unwrap() < 5000.0,
            "the request deadline, not the scenario deadline, ended it\n{}",
            self.context()
        );
    }
}

/// One line per result for assertion messages: id, grade, finding messages.
fn summary_line(r: &Value) -> String {
    format!(
        "{} {} {:?}",
        r["id"].as_str().unwrap_or("?"),
        r["grade"].as_str().unwrap_or("?"),
        messages(r)
    )
}

// ---------------------------------------------------------------------------------------------
// The control
// ---------------------------------------------------------------------------------------------

#[test]
fn the_proxy_alone_is_transparent() {
    let run = run_pair(Mode::Transparent);
    run.assert_finished(0);
    run.assert_all_pass();
    assert_eq!(run.counts().operations, 2);
}

// ---------------------------------------------------------------------------------------------
// 1. An operation POST that is never answered
// ---------------------------------------------------------------------------------------------

/// One re-run after a transport fault, so that a misbehaviour on every attempt ends quickly.
const ONE_REDO: [&str; 2] = ["--transport-budget", "1"];

/// `r` was re-run once after transport faults and is still indeterminate: two attempts, both
/// indeterminate, and no error finding (what the network hid is never the server's fault).
#[track_caller]
fn assert_redone_once(run: &Outcome, r: &Value) {
    let attempts = r["attempts"].as_array().map_or(0, Vec::len);
    assert_eq!(attempts, 2, "{}: attempts\n{}", r["id"], run.context());
    assert!(
        r["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|f| f["severity"] != "error"),
        "{}: an error finding\n{}",
        r["id"],
        run.context()
    );
    assert!(
        r["transport"].as_array().is_some_and(|t| t.len() >= 2),
        "{}: the faults of both attempts are on the result\n{}",
        r["id"],
        run.context()
    );
}

#[test]
fn an_operation_post_never_answered_ends_at_the_request_deadline() {
    let run = run_scenarios(Mode::HangOperation, &PAIR, &ONE_REDO, None);
    run.assert_finished(2);
    for r in run.assert_each(&["indeterminate"], &["no response within 1.0s"]) {
        run.assert_ended_by_request_deadline(r);
        assert_redone_once(&run, r);
    }
    assert_eq!(run.counts().misbehaved, 4, "two attempts of each");
}

// ---------------------------------------------------------------------------------------------
// 2. A long poll that never returns
// ---------------------------------------------------------------------------------------------

#[test]
fn a_long_poll_that_never_returns_ends_in_a_missing_notification() {
    let run = run_pair(Mode::HangLongPoll);
    run.assert_finished(1);
    for id in PAIR {
        run.assert_graded(
            id,
            FAILED,
            &["no notification", "notification stream closed"],
        );
    }
    assert!(run.counts().misbehaved >= 2, "both agents' polls hung");
}

// ---------------------------------------------------------------------------------------------
// 3. A reset in the middle of a body
// ---------------------------------------------------------------------------------------------

#[test]
fn a_reset_in_the_middle_of_the_body_is_no_http_response() {
    let run = run_scenarios(Mode::ResetMidBody, &PAIR, &ONE_REDO, None);
    run.assert_finished(2);
    for r in run.assert_each(&["indeterminate"], &["transport fault during POST"]) {
        // The cause is the broken body, not a deadline.
        assert!(
            messages(r)
                .iter()
                .any(|m| m.starts_with("transport fault during POST")
                    && !m.contains("within")
                    && (m.contains("body") || m.contains("connection"))),
            "{}: {:?}",
            r["id"],
            messages(r)
        );
        assert_redone_once(&run, r);
    }
}

// ---------------------------------------------------------------------------------------------
// 4. A body that is not JSON; HTML with status 502
// ---------------------------------------------------------------------------------------------

#[test]
fn a_body_that_is_not_json_is_a_finding() {
    let run = run_pair(Mode::NotJson);
    run.assert_finished(1);
    for r in run.assert_each(&["fail"], &["not JSON"]) {
        let body = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == "response.body")
            .expect("a response.body finding");
        assert!(
            body["actual"]
                .as_str()
                .is_some_and(|a| a.contains("this body is not JSON")),
            "the finding shows what came: {body}"
        );
    }
}

#[test]
fn an_html_502_is_a_finding() {
    let run = run_pair(Mode::Html502);
    run.assert_finished(1);
    run.assert_each(&["fail"], &["HTTP status 502", "not JSON"]);
}

// ---------------------------------------------------------------------------------------------
// 5. A 50 MB body
// ---------------------------------------------------------------------------------------------

/// Peak resident memory of the child, from `/usr/bin/time -v`.
fn peak_rss_kib(stderr: &str) -> Option<u64> {
    stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
}

/// `/usr/bin/time -v`, which reports a child's peak resident set; the memory test cannot be
/// judged without it, so its absence fails the test rather than skipping the check.
fn peak_memory_wrapper() -> &'static [&'static str] {
    assert!(
        Path::new("/usr/bin/time").exists(),
        "/usr/bin/time is missing: install Debian's `time` package (scripts/test does)"
    );
    &["/usr/bin/time", "-v"]
}

#[test]
fn a_50_mb_body_is_refused_at_the_size_cap_in_bounded_memory() {
    let wrapper = peak_memory_wrapper();
    let run = run_scenarios(Mode::HugeBody, &PAIR, &[], Some(wrapper));
    run.assert_finished(1);
    run.assert_each(
        &["fail"],
        &["no HTTP response: body larger than the 4194304-byte limit"],
    );
    // The client stops reading at the cap: what left the proxy for both replies is the cap plus
    // socket buffers (about 20 MB), not a whole 50 MB body.
    let streamed = run.counts().streamed;
    assert!(
        streamed < 50 * 1024 * 1024,
        "{streamed} bytes of the two 50 MB bodies were read: the client did not stop at the cap"
    );
    // Peak memory is judged against the same binary running the same pair through a faithful
    // proxy, so the allocator's caches and the runtime's own footprint cancel out: reading two
    // bodies up to the 4 MiB cap costs 15–21 MiB more (measured), holding either 50 MB body at
    // least 50.
    let control = run_scenarios(Mode::Transparent, &PAIR, &[], Some(wrapper));
    control.assert_finished(0);
    let peak_of = |o: &Outcome| {
        peak_rss_kib(&o.stderr)
            .unwrap_or_else(|| panic!("no peak RSS from /usr/bin/time -v\n{}", o.context()))
    };
    let (peak, baseline) = (peak_of(&run), peak_of(&control));
    let extra = peak.saturating_sub(baseline);
    eprintln!("peak memory: {peak} KiB with 50 MB bodies, {baseline} KiB with small ones");
    assert!(
        extra < 40 * 1024,
        "peak memory {peak} KiB against {baseline} KiB for the same pair with small bodies: \
         {extra} KiB more, so the body was not capped while reading\n{}",
        run.context()
    );
}

// ---------------------------------------------------------------------------------------------
// 6. A body trickled one byte per second
// ---------------------------------------------------------------------------------------------

#[test]
fn a_body_trickled_one_byte_per_second_ends_at_the_request_deadline() {
    let run = run_scenarios(Mode::Trickle, &PAIR, &ONE_REDO, None);
    run.assert_finished(2);
    let causes = ["the body did not arrive within 1.0s"];
    for r in run.assert_each(&["indeterminate"], &causes) {
        run.assert_ended_by_request_deadline(r);
        assert_redone_once(&run, r);
    }
}

// ---------------------------------------------------------------------------------------------
// 7. Bayeux errors
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_client_on_every_connect_closes_the_stream() {
    let run = run_pair(Mode::UnknownClient);
    run.assert_finished(1);
    run.assert_each(
        FAILED,
        &["notification stream closed", "402::Unknown client"],
    );
    // The notification is missing because the stream closed, not because 1 s passed.
    run.assert_errors_name("notification stream closed");
    run.assert_stderr_names(
        &[
            "notification stream closed during the run",
            "402::Unknown client",
        ],
        "the stream's end and its cause are reported",
    );
    // Bounded: a few re-handshakes, not a tight loop.
    let connects = run.counts().connects;
    assert!((2..=20).contains(&connects), "{connects} connects");
}

#[test]
fn reconnect_none_on_connect_stops_polling_and_closes_the_stream() {
    let run = run_pair(Mode::ReconnectNone);
    run.assert_finished(1);
    // Bayeux: `reconnect: none` on a successful /meta/connect means the server ended the session;
    // the client must not poll again (cometd.js `_connectResponse` disconnects).
    assert_eq!(
        run.counts().connects_after_none,
        0,
        "the client polled again after the server advised reconnect=none\n{}",
        run.context()
    );
    run.assert_stderr_names(&["reconnect=none"], "stderr names the advice");
    run.assert_each(FAILED, &["notification stream closed"]);
    run.assert_errors_name("notification stream closed");
}

#[test]
fn a_failed_handshake_is_a_harness_error() {
    run_pair(Mode::HandshakeFails).assert_harness_error(&[
        "target `hostile proxy (HandshakeFails)`",
        "Bayeux handshake as `agent",
        "403::handshake denied by the hostile proxy",
    ]);
}

#[test]
fn a_failed_subscribe_is_a_harness_error() {
    run_pair(Mode::SubscribeFails).assert_harness_error(&[
        "target `hostile proxy (SubscribeFails)`",
        "Bayeux subscribe to /v2/me/* as `agent",
        "403::subscription denied by the hostile proxy",
    ]);
}

// ---------------------------------------------------------------------------------------------
// 8. Hostile notifications
// ---------------------------------------------------------------------------------------------

#[test]
fn notifications_with_wrong_types_are_findings() {
    let run = run_pair(Mode::WrongTypes);
    run.assert_finished(1);
    // The chat's userData is a number: the diff, the read-back and the shape all say so.
    let chat = run.assert_graded(CHAT_UPDATE, &["fail"], &["userData"]);
    assert!(
        messages(chat)
            .iter()
            .any(|m| m.contains("different type at /data/chat/userData")),
        "{:?}",
        messages(chat)
    );
    // The call's `data` is a string: nothing about the interaction arrived.
    run.assert_graded(VOICE_DELETE, &["fail"], &["no notification"]);
    run.assert_stderr_names(
        &["no scenario claimed"],
        "the malformed messages are reported, not dropped silently",
    );
    assert!(run.counts().tampered >= 3);
}

#[test]
fn duplicated_notifications_are_findings() {
    let run = run_pair(Mode::Duplicated);
    run.assert_finished(1);
    run.assert_each(
        &["fail"],
        &["2 notifications for 1 operation(s) (duplicates or extras)"],
    );
}

#[test]
fn swapped_notifications_are_findings() {
    let run = run_scenarios(
        Mode::Swapped,
        &[CHAT_BACK_TO_BACK, SMS_BACK_TO_BACK],
        &[],
        None,
    );
    run.assert_finished(1);
    // The referenceIds arrive out of order, and the last notification carries the
    // intermediate state.
    let causes = [
        "successive notifications do not carry increasing referenceIds",
        "not the expected one",
    ];
    run.assert_each(&["fail"], &causes);
    assert_eq!(run.counts().tampered, 2);
}

#[test]
fn notifications_for_unknown_interactions_break_nothing() {
    let run = run_pair(Mode::UnknownInteractions);
    run.assert_finished(0);
    run.assert_all_pass();
    let injected = run.counts().tampered;
    assert!(injected >= 2, "{injected} injected");
    run.assert_stderr_names(&["no scenario claimed"], "the injected ones are reported");
    let unclaimed = &run.results.record()["notes"]["unclaimed_notifications"];
    assert!(
        unclaimed.as_array().is_some_and(|u| u
            .iter()
            .any(|m| m.to_string().contains("GWSC-HOSTILE-UNKNOWN"))),
        "the unknown interactions are listed in results.json: {unclaimed}"
    );
}

// ---------------------------------------------------------------------------------------------
// 9. Fixture endpoint failures
// ---------------------------------------------------------------------------------------------

#[test]
fn a_fixture_endpoint_answering_500_is_could_not_test() {
    let run = run_pair(Mode::FixtureFails);
    run.assert_finished(1);
    run.assert_each(
        &["could-not-test"],
        &[
            "the fixture endpoint answered HTTP 500",
            "provisioning backend exploded",
        ],
    );
    assert_eq!(run.counts().operations, 0);
}

#[test]
fn a_fixture_endpoint_answering_garbage_is_could_not_test() {
    let run = run_pair(Mode::FixtureGarbage);
    run.assert_finished(1);
    run.assert_each(&["could-not-test"], &["fixture answer is not JSON"]);
    assert_eq!(run.counts().operations, 0);
}

// ---------------------------------------------------------------------------------------------
// 10. A server that dies in the middle of the run
// ---------------------------------------------------------------------------------------------

#[test]
fn a_server_dying_mid_run_still_ends_every_scenario() {
    // One at a time, so the first scenario is over before the server dies.
    let run = run_scenarios(
        Mode::DiesAfter(2),
        &[CHAT_UPDATE, VOICE_DELETE, SMS_UPDATE],
        &["--jobs", "1", "--transport-budget", "1"],
        None,
    );
    run.assert_exit(&[1, 2]);
    let results = run.results();
    assert_eq!(results.len(), 3, "every scenario ended\n{}", run.context());
    assert_eq!(results[0]["grade"], "pass", "{}", run.context());
    for r in &results[1..] {
        let id = r["id"].as_str().unwrap();
        run.assert_graded(
            id,
            &["fail", "could-not-test", "indeterminate"],
            &[
                "transport fault",
                "no HTTP response",
                "fixture request failed",
                "could not read",
                "notification stream closed",
                "no notification",
            ],
        );
    }
    // The last scenario found the server gone before it could start.
    let last = results[2]["id"].as_str().unwrap();
    run.assert_graded(
        last,
        &["could-not-test", "indeterminate"],
        &["fixture request failed"],
    );
    if run.code == Some(1) {
        run.assert_complete();
    }
    assert!(run.counts().died, "the server died");
}
