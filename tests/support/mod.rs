//! Shared helpers of the binary-level tests (`tests/*.rs` that say `mod support;`): the binary,
//! its output as text, a standalone `serve` process on a free port, the one target-file writer
//! ([`target`]), the one results reader ([`results`]), the hostile server kit ([`hostile`]) and
//! the headless browser ([`browser`]).
//!
//! Each test file compiles all of it and uses a part, hence `allow(dead_code)` for the whole
//! module. The helpers assert nothing about the harness's behaviour; they set up and read.

#![allow(dead_code)]

pub mod browser;
pub mod hostile;
pub mod results;
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
