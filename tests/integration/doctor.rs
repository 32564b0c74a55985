//! `doctor` end to end: all green against `serve --no-fixtures` with a native target (and
//! nothing left behind), a wrong password named on the login line, a server without a CometD
//! endpoint named on the CometD line, an unreachable server on the reach line, and a profile
//! that needs media the target cannot provision.

use crate::support;

use support::hostile::{Hostile, Mode};
use support::target::{AGENT_PASSWORDS, TargetFile};
use support::{bin, serve, text};

use std::path::Path;
use std::process::Output;

fn doctor(target: &Path, passwords: (&str, &str), extra: &[&str]) -> Output {
    bin()
        .args(["doctor", "--target", target.to_str().unwrap()])
        .args(extra)
        .env("GWS_AGENT1_PASSWORD", passwords.0)
        .env("GWS_AGENT2_PASSWORD", passwords.1)
        .output()
        .unwrap()
}

const PASSWORDS: (&str, &str) = (AGENT_PASSWORDS[0].1, AGENT_PASSWORDS[1].1);

/// The line about `topic`, which must exist.
fn line<'a>(report: &'a str, topic: &str) -> &'a str {
    report
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(topic))
        .unwrap_or_else(|| panic!("no `{topic}` line in:\n{report}"))
}

#[test]
fn a_stock_server_with_a_native_target_is_all_green_and_left_clean() {
    let served = serve(&["--no-fixtures", "--csrf"]);
    let dir = tempfile::tempdir().unwrap();
    let target = TargetFile::new("Native", &served.base_url)
        .native()
        .write(dir.path());
    let out = doctor(&target, PASSWORDS, &[]);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{report}{}", text(&out.stderr));
    assert!(!report.contains("FAIL"), "{report}");
    for topic in ["reach", "login", "cometd", "features", "devices", "queues"] {
        assert!(
            line(&report, topic).trim_start().starts_with("ok"),
            "{report}"
        );
    }
    assert!(
        line(&report, "login").contains("CSRF token announced"),
        "{report}"
    );
    for media in ["voice", "email", "openmedia", "workitem", "twitter"] {
        let l = line(&report, media);
        assert!(l.contains("ok") && l.contains("native"), "{report}");
    }
    assert!(
        line(&report, "sms").contains("no documented operation creates one"),
        "{report}"
    );
    assert!(report.lines().count() <= 24, "one screen:\n{report}");
    // Nothing the doctor created remains: every collection listing is empty.
    let left = support::remaining_interactions(&served.base_url);
    assert_eq!(left, Vec::<String>::new());

    let out = doctor(&target, PASSWORDS, &["--profile", "full"]);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let sms = line(&report, "sms");
    assert!(sms.contains("FAIL"), "{report}");
    assert!(
        report.contains("fix: add fixtures.url or fixtures.exec for sms"),
        "{report}"
    );
}

#[test]
fn a_wrong_password_is_named_on_the_login_line() {
    let served = serve(&["--no-fixtures"]);
    let dir = tempfile::tempdir().unwrap();
    let target = TargetFile::new("Native", &served.base_url)
        .native()
        .write(dir.path());
    let out = doctor(&target, ("not-the-password", PASSWORDS.1), &[]);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let login = line(&report, "login");
    assert!(
        login.contains("FAIL") && login.contains("agent1"),
        "{report}"
    );
    assert!(
        report.contains("fix: check the agents' user names"),
        "{report}"
    );
    assert!(line(&report, "reach").contains("ok"), "{report}");
    assert!(line(&report, "cometd").contains("not checked"), "{report}");
}

#[test]
fn a_server_without_a_cometd_endpoint_is_named_on_the_cometd_line() {
    let hostile = Hostile::start(Mode::NoNotifications);
    let dir = tempfile::tempdir().unwrap();
    let target = TargetFile::new("No CometD", hostile.base_url()).write(dir.path());
    let out = doctor(&target, PASSWORDS, &[]);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let cometd = line(&report, "cometd");
    assert!(
        cometd.contains("FAIL") && cometd.contains("handshake"),
        "{report}"
    );
    assert!(report.contains("/api/v2/notifications"), "{report}");
    assert!(line(&report, "login").contains("ok"), "{report}");
}

#[test]
fn an_unreachable_server_is_named_on_the_reach_line() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = TargetFile::new("Nobody", &format!("http://127.0.0.1:{port}"))
        .native()
        .write(dir.path());
    let out = doctor(&target, PASSWORDS, &[]);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let reach = line(&report, "reach");
    assert!(
        reach.contains("FAIL") && reach.contains(&port.to_string()),
        "{report}"
    );
    assert!(report.contains("fix: check base_url"), "{report}");
}
