//! A Node GWS stand-in (`interop/standins/serve.js`, a second GWS written independently of the
//! reference server, see interop/README.md) as a child process on a free port, for binary-level
//! tests that want a server other than our own behind their own plumbing (the fault injector).
//!
//! It needs `node` and the locked packages in `interop/node_modules` (`npm ci` in `interop/`;
//! `scripts/test` does both). Without them it panics saying so: a test that silently skipped
//! would be reported as passing. It judges nothing about the stand-in.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// A stand-in process; killed on drop.
pub struct StandIn {
    child: Child,
    pub base_url: String,
    stderr: Arc<Mutex<String>>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl StandIn {
    /// Starts `node interop/standins/serve.js KIND --port 0 EXTRA…` (fixture contract on unless
    /// `--no-fixtures` is among `extra`) and waits for the line announcing its URL.
    pub fn start(kind: &str, extra: &[&str]) -> StandIn {
        let interop = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop");
        let package = interop.join("node_modules").join("cometd-nodejs-server");
        assert!(
            package.is_dir(),
            "{} is missing: the Node stand-in needs the locked packages; run `npm ci` in {} \
             (scripts/test does)",
            package.display(),
            interop.display()
        );
        let mut child = Command::new("node")
            .arg(interop.join("standins").join("serve.js"))
            .args([kind, "--port", "0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "`node` (Node 20 or later) is needed for the stand-in and could not be \
                     started: {e}; install nodejs (scripts/test does)"
                )
            });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().expect("piped stderr");
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut out = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        let read = out.read_line(&mut line);
        // Whatever else it prints is drained, so a write never fails on a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        // "<title> listening on http://127.0.0.1:PORT (agents …"
        let base_url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
            .map(str::to_string);
        let Some(base_url) = base_url else {
            let status = child.try_wait();
            panic!(
                "the {kind} stand-in did not announce its URL (read {read:?}, line {line:?}, \
                 status {status:?}); stderr:\n{}",
                stderr.lock().unwrap()
            );
        };
        StandIn {
            child,
            base_url,
            stderr,
        }
    }

    /// What the stand-in wrote to stderr so far (its unexpected errors), for failure messages.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}
