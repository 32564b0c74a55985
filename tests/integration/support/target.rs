//! The one writer of target files (README "Target files") for the binary-level tests.
//!
//! [`TargetFile`] starts from what nearly every test wants — both built-in agents of the
//! reference server, their passwords in `GWS_AGENT1_PASSWORD` and `GWS_AGENT2_PASSWORD`, and the
//! embedded fixture endpoint under `base_url` — and says only what differs: a fixture URL or an
//! exec provisioner, native provisioning (alone or beside the contract), other agents,
//! `ca_cert`, `insecure`. It writes block-style YAML as a vendor
//! would, with every string double-quoted, so URLs, paths and names need no escaping thought.
//!
//! It deliberately does not validate (the binary's loader is what the tests exercise), and it
//! writes no broken files: a test about a malformed target file writes its text itself.

use std::path::{Path, PathBuf};

/// The environment variables the default agents' passwords come from, with the reference
/// server's passwords: `Command::envs(AGENT_PASSWORDS)` lets a run log in.
pub const AGENT_PASSWORDS: [(&str, &str); 2] = [
    ("GWS_AGENT1_PASSWORD", "agent1-pass"),
    ("GWS_AGENT2_PASSWORD", "agent2-pass"),
];

#[derive(Clone)]
enum Fixtures {
    Url(String),
    Exec(Vec<String>),
}

/// A target file to write; see the module documentation for the defaults.
#[derive(Clone)]
pub struct TargetFile {
    name: String,
    base_url: String,
    /// `(username, password_env)` pairs.
    agents: Vec<(String, String)>,
    /// `None`: no `url` or `exec` (native only).
    fixtures: Option<Fixtures>,
    /// `fixtures.native` with every key, for the queue at `base_url`.
    native: bool,
    /// `fixtures.native.inbound: [sms, facebook-pm]` with this `inbound_wait`.
    inbound_wait: Option<String>,
    ca_cert: Option<String>,
    insecure: bool,
}

impl TargetFile {
    /// Target `name` at `base_url`, with the two built-in agents and fixtures at
    /// `{base_url}/conformance/v1` (where the embedded server serves the contract).
    pub fn new(name: &str, base_url: &str) -> TargetFile {
        TargetFile {
            name: name.to_string(),
            base_url: base_url.to_string(),
            agents: [
                ("agent1", AGENT_PASSWORDS[0].0),
                ("agent2", AGENT_PASSWORDS[1].0),
            ]
            .map(|(u, e)| (u.to_string(), e.to_string()))
            .to_vec(),
            fixtures: Some(Fixtures::Url(format!("{base_url}/conformance/v1"))),
            native: false,
            inbound_wait: None,
            ca_cert: None,
            insecure: false,
        }
    }

    /// `fixtures: {native: {...}}` alone: the documented Dial and Create, nothing else.
    pub fn native(mut self) -> TargetFile {
        self.native = true;
        self.fixtures = None;
        self
    }

    /// `fixtures.native.inbound: [sms, facebook-pm]`, waited for up to `wait` each.
    pub fn inbound(mut self, wait: &str) -> TargetFile {
        self.inbound_wait = Some(wait.to_string());
        self
    }

    /// `fixtures.native` beside the fixture contract (which then serves the other media).
    pub fn native_and_contract(mut self) -> TargetFile {
        self.native = true;
        self
    }

    /// `fixtures: {exec: ARGV}`: an exec provisioner.
    pub fn fixtures_exec(mut self, argv: &[&str]) -> TargetFile {
        self.fixtures = Some(Fixtures::Exec(argv.iter().map(|a| a.to_string()).collect()));
        self
    }

    /// Replaces the agents with these `(username, password_env)` pairs.
    pub fn agents(mut self, agents: &[(&str, &str)]) -> TargetFile {
        self.agents = agents
            .iter()
            .map(|(u, e)| (u.to_string(), e.to_string()))
            .collect();
        self
    }

    /// `ca_cert: PATH` (relative to the target file's directory).
    pub fn ca_cert(mut self, path: &str) -> TargetFile {
        self.ca_cert = Some(path.to_string());
        self
    }

    /// `insecure: true`.
    pub fn insecure(mut self) -> TargetFile {
        self.insecure = true;
        self
    }

    /// The file's text.
    pub fn yaml(&self) -> String {
        let mut y = format!(
            "name: {}\nbase_url: {}\nagents:\n",
            q(&self.name),
            q(&self.base_url)
        );
        for (username, password_env) in &self.agents {
            y += &format!(
                "  - username: {}\n    password_env: {}\n",
                q(username),
                q(password_env)
            );
        }
        y += "fixtures:\n";
        if self.native {
            y += &format!(
                "  native:\n    dial: \"15002\"\n    queue_uri: {}\n    queue_path: \"/queues/8a3c0f\"\n    openmedia_type: \"promotion\"\n    im: \"16001\"\n    chat:\n      customer_api: {}\n      contact_center_id: \"8a3c0f12\"\n",
                q(&format!("{}/api/v2/queues/8a3c0f", self.base_url)),
                q(&format!("{}/api/v2/chats", self.base_url))
            );
            if let Some(wait) = &self.inbound_wait {
                y += &format!(
                    "    inbound: [sms, facebook-pm]\n    inbound_wait: {}\n",
                    q(wait)
                );
            }
        }
        match &self.fixtures {
            None => {}
            Some(Fixtures::Url(url)) => y += &format!("  url: {}\n", q(url)),
            Some(Fixtures::Exec(argv)) => {
                y += "  exec:\n";
                for arg in argv {
                    y += &format!("    - {}\n", q(arg));
                }
            }
        }
        if let Some(path) = &self.ca_cert {
            y += &format!("ca_cert: {}\n", q(path));
        }
        if self.insecure {
            y += "insecure: true\n";
        }
        y
    }

    /// Writes `target.yaml` in `dir` (replacing an earlier one) and returns its path.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let path = dir.join("target.yaml");
        std::fs::write(&path, self.yaml()).expect("the target file is written");
        path
    }
}

/// A YAML double-quoted scalar: JSON's string syntax is valid YAML and escapes all that needs it.
fn q(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}
