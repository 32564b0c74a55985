//! Reading a target file (`run --target FILE`) into a [`Target`]: the file format and its
//! checks, so the CLI, `doctor` and library tests read a target the same way.
//!
//! Passwords come only from the environment variables the file names; a missing variable is
//! a usage error. TLS is verified unless the file itself says `insecure: true`. `fixtures`
//! names `native` (documented GWS operations), the fixture contract (`url` or `exec`), or
//! `native` with one of them for the media native provisioning cannot create.

use crate::run::native::{native_media, unavailable};
use crate::run::target::DEFAULT_INBOUND_WAIT;
use crate::run::{Contract, Credentials, CustomerChat, Fixtures, Native, Secret, Target};
use serde::Deserialize;
use std::path::{Path, PathBuf};

mod located;

/// A target file that cannot be used; it names the file and, where known, line and column.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {problem}", file.display(), at.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
pub struct TargetFileError {
    pub file: PathBuf,
    pub at: Option<(usize, usize)>,
    pub problem: TargetFileProblem,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetFileProblem {
    #[error("cannot read the target file: {0}")]
    Read(std::io::Error),
    /// What serde could not read, with the key path and what to write.
    #[error("{0}")]
    Syntax(String),
    #[error("the password of agent `{agent}` comes from ${env}, which is not set")]
    MissingPassword { agent: String, env: String },
    #[error("cannot read ca_cert {}: {source}", path.display())]
    CaCert {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A value the format does not allow, with what it must be.
    #[error("{0}")]
    Invalid(String),
}

impl TargetFileError {
    /// The same error, located at `at` unless it already has a location.
    fn at(mut self, at: Option<(usize, usize)>) -> Self {
        self.at = self.at.or(at);
        self
    }
}

fn invalid(file: &Path, why: String) -> TargetFileError {
    problem(file, TargetFileProblem::Invalid(why))
}

fn problem(file: &Path, problem: TargetFileProblem) -> TargetFileError {
    TargetFileError {
        file: file.to_path_buf(),
        at: None,
        problem,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    name: String,
    base_url: String,
    #[serde(default)]
    agents: Vec<AgentEntry>,
    /// Many agents by pattern (`load`), instead of `agents`.
    #[serde(default)]
    agent_pattern: Option<PatternEntry>,
    fixtures: FixtureEntry,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    ca_cert: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentEntry {
    username: String,
    password_env: String,
}

/// `agent_pattern: {username: "agent{n}", count: 200, password_env: "GWS_AGENT{n}_PASSWORD"}`,
/// where `{n}` runs from `first` (default 1); a `password_env` without `{n}` is one password
/// shared by every agent.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternEntry {
    username: String,
    count: usize,
    password_env: String,
    #[serde(default = "one")]
    first: usize,
}

fn one() -> usize {
    1
}

impl PatternEntry {
    /// `(username, password_env)` of every agent.
    fn expand(&self, file: &Path) -> Result<Vec<(String, String)>, TargetFileError> {
        if !self.username.contains("{n}") {
            return Err(invalid(
                file,
                format!(
                    "the agent pattern's `username` must contain {{n}}, got `{}`",
                    self.username
                ),
            ));
        }
        Ok((self.first..self.first + self.count)
            .map(|n| {
                (
                    self.username.replace("{n}", &n.to_string()),
                    self.password_env.replace("{n}", &n.to_string()),
                )
            })
            .collect())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureEntry {
    #[serde(default)]
    native: Option<NativeEntry>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    exec: Option<Vec<String>>,
}

/// `fixtures.native`, exactly the documented syntax (README "Against a real GWS").
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NativeEntry {
    #[serde(default)]
    dial: Option<String>,
    #[serde(default)]
    queue_uri: Option<String>,
    #[serde(default)]
    queue_path: Option<String>,
    #[serde(default)]
    openmedia_type: Option<String>,
    #[serde(default)]
    media: Option<Vec<String>>,
    #[serde(default)]
    im: Option<String>,
    #[serde(default)]
    chat: Option<ChatEntry>,
    #[serde(default)]
    inbound: Vec<String>,
    #[serde(default)]
    inbound_wait: Option<String>,
}

/// `fixtures.native.chat`: the Customer Chat API.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatEntry {
    customer_api: String,
    contact_center_id: String,
}

/// The media a deployment routes in: they have no create operation.
const INBOUND_MEDIA: [&str; 2] = ["sms", "facebook-pm"];

/// `10m`, `90s`, `1h` or a number of seconds.
fn wait_of(text: &str) -> Option<std::time::Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: u64 = t[..split].parse().ok()?;
    let unit = match t[split..].trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return None,
    };
    Some(std::time::Duration::from_secs(n * unit))
}

impl NativeEntry {
    /// Checks that every listed media can be provisioned with what the file gives.
    fn resolve(self, file: &Path) -> Result<Native, TargetFileError> {
        if let Some(media) = self
            .inbound
            .iter()
            .find(|m| !INBOUND_MEDIA.contains(&m.as_str()))
        {
            return Err(invalid(
                file,
                format!(
                    "fixtures.native.inbound lists `{media}`: only {} are routed in without a create operation",
                    INBOUND_MEDIA.join(" and ")
                ),
            ));
        }
        let inbound_wait = match &self.inbound_wait {
            None => DEFAULT_INBOUND_WAIT,
            Some(text) => wait_of(text).ok_or_else(|| {
                invalid(
                    file,
                    format!("fixtures.native.inbound_wait `{text}` is not a duration (e.g. 90s, 10m, 1h)"),
                )
            })?,
        };
        if let Some(chat) = &self.chat
            && !(chat.customer_api.starts_with("http://")
                || chat.customer_api.starts_with("https://"))
        {
            return Err(invalid(
                file,
                format!(
                    "fixtures.native.chat.customer_api must start with http:// or https://, got `{}`",
                    chat.customer_api
                ),
            ));
        }
        let native = Native {
            dial: self.dial,
            queue_uri: self.queue_uri,
            queue_path: self.queue_path,
            openmedia_type: self.openmedia_type,
            media: self.media,
            im: self.im,
            chat: self.chat.map(|c| CustomerChat {
                customer_api: c.customer_api,
                contact_center_id: c.contact_center_id,
            }),
            inbound: self.inbound,
            inbound_wait,
        };
        if let Some(list) = &native.media {
            for media in list {
                if let Some(why) = unavailable(&native, media) {
                    return Err(invalid(
                        file,
                        format!(
                            "fixtures.native.media lists `{media}`: {why} (native provisioning covers {})",
                            native_media().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            }
        }
        if native_media().all(|m| unavailable(&native, m).is_some()) {
            return Err(invalid(
                file,
                "fixtures.native provisions nothing: give `dial` (voice), `queue_uri` (email, workitem; with `openmedia_type`, open media), `queue_path` (Twitter), `im` (IM) or `chat` (chat)".into(),
            ));
        }
        Ok(native)
    }
}

/// Reads and resolves a target file; errors name the file and, where known, the position.
pub fn load(path: &Path) -> Result<Target, TargetFileError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| problem(path, TargetFileProblem::Read(e)))?;
    let file: TargetFile = serde_saphyr::from_str(&text).map_err(|e| {
        let (at, message) = located::describe(&text, &e);
        TargetFileError {
            file: path.to_path_buf(),
            at,
            problem: TargetFileProblem::Syntax(message),
        }
    })?;
    let key = |key_path: &str| located::key(&text, key_path);
    if !(file.base_url.starts_with("http://") || file.base_url.starts_with("https://")) {
        return Err(invalid(
            path,
            format!(
                "`base_url` must start with http:// or https://, got `{}`",
                file.base_url
            ),
        )
        .at(key("base_url")));
    }
    let listed = match (&file.agent_pattern, file.agents.is_empty()) {
        (Some(pattern), true) => pattern
            .expand(path)
            .map_err(|e| e.at(key("agent_pattern.username")))?,
        (None, _) => file
            .agents
            .iter()
            .map(|a| (a.username.clone(), a.password_env.clone()))
            .collect(),
        (Some(_), false) => {
            return Err(invalid(
                path,
                "name the agents with `agents` or `agent_pattern`, not both".into(),
            )
            .at(key("agent_pattern")));
        }
    };
    if listed.is_empty() {
        let (at, why) = located::no_agents(&text);
        return Err(invalid(path, why).at(Some(at)));
    }
    let mut agents = Vec::new();
    for (username, password_env) in listed {
        let Ok(password) = std::env::var(&password_env) else {
            return Err(problem(
                path,
                TargetFileProblem::MissingPassword {
                    agent: username,
                    env: password_env,
                },
            ));
        };
        agents.push(Credentials {
            username,
            password: Secret::new(password),
        });
    }
    let contract = match (file.fixtures.url, file.fixtures.exec) {
        (Some(url), None) => Some(Contract::Url(url)),
        (None, Some(argv)) if !argv.is_empty() => Some(Contract::Exec(argv)),
        (None, None) => None,
        _ => {
            return Err(invalid(
                path,
                "`fixtures` takes at most one of `url` or `exec` (a non-empty list), beside `native`".into(),
            )
            .at(key("fixtures")));
        }
    };
    let native = file
        .fixtures
        .native
        .map(|n| n.resolve(path))
        .transpose()
        .map_err(|e| e.at(key("fixtures.native")))?;
    if native.is_none() && contract.is_none() {
        return Err(invalid(
            path,
            format!(
                "`fixtures` names no way to obtain interactions; write {}",
                located::example("fixtures").unwrap_or_default()
            ),
        )
        .at(key("fixtures")));
    }
    let fixtures = Fixtures { native, contract };
    let ca_cert = match file.ca_cert {
        Some(p) => {
            let p = path.parent().unwrap_or(Path::new(".")).join(p);
            match std::fs::read(&p) {
                Ok(pem) => Some(pem),
                Err(source) => {
                    return Err(problem(path, TargetFileProblem::CaCert { path: p, source })
                        .at(key("ca_cert")));
                }
            }
        }
        None => None,
    };
    Ok(Target {
        name: file.name,
        base_url: file.base_url,
        agents,
        fixtures,
        insecure: file.insecure,
        ca_cert,
    })
}

#[cfg(test)]
mod tests;
