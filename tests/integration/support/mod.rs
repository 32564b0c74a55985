//! Shared helpers of the integration tests (the modules of `tests/integration/`): the binary,
//! its output as text, a standalone `serve` process on a free port, the interactions left on a
//! server (by its collection listings), the one target-file writer ([`target`]), the one results
//! reader ([`results`]), the hostile server kit ([`hostile`]), the Node GWS stand-in
//! ([`standin`]) and the headless browser ([`browser`]).
//!
//! Compiled once for the one integration binary, so every helper is used by some module. The
//! helpers assert nothing about the harness's behaviour; they set up and read.

pub mod browser;
pub mod faults;
pub mod hostile;
pub mod results;
pub mod standin;
pub mod target;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gws-conformance"))
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A `serve` process on a free port; killed on drop.
pub struct Served {
    child: Child,
    pub base_url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve --port 0 EXTRA…` and waits for the line announcing its address.
pub fn serve(extra: &[&str]) -> Served {
    let mut child = bin()
        .args(["serve", "--port", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("serve prints its address");
    let base_url = line
        .trim()
        .rsplit(' ')
        .next()
        .expect("an address")
        .to_string();
    assert!(
        base_url.starts_with("http://127.0.0.1:"),
        "unexpected first line: {line}"
    );
    Served { child, base_url }
}

/// Every interaction the two built-in agents own on `base_url`, by the documented collection
/// listings (`GET /api/v2/me/{collection}` answers the URIs): what a run must leave empty.
pub fn remaining_interactions(base_url: &str) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut left = Vec::new();
        for (user, password) in [("agent1", "agent1-pass"), ("agent2", "agent2-pass")] {
            for collection in [
                "calls",
                "emails",
                "workitems",
                "twitter",
                "openmedia/promotion",
                "chats",
                "smssessions",
                "im-sessions",
                "facebooksessions",
            ] {
                let body: serde_json::Value = client
                    .get(format!("{base_url}/api/v2/me/{collection}"))
                    .basic_auth(user, Some(password))
                    .send()
                    .await
                    .expect("the server answers")
                    .json()
                    .await
                    .expect("a JSON listing");
                let uris = body["uris"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{collection}: no uris in {body}"));
                left.extend(
                    uris.iter()
                        .map(|u| format!("{user}: {}", u.as_str().unwrap_or("?"))),
                );
            }
        }
        left
    })
}
