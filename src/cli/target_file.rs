//! Reading a target file (`run --target FILE`) into a library [`Target`].
//!
//! Passwords come only from the environment variables the file names; a missing variable is
//! a usage error. TLS is verified unless the file itself says `insecure: true`. `fixtures`
//! names `native` (documented GWS operations), the fixture contract (`url` or `exec`), or
//! `native` with one of them for the media native provisioning cannot create.

use gws_conformance::run::native::{NATIVE_MEDIA, unavailable};
use gws_conformance::run::{Contract, Credentials, Fixtures, Native, Secret, Target};
use serde::Deserialize;
use std::path::Path;

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
    fn expand(&self, shown: &std::path::Display<'_>) -> Result<Vec<(String, String)>, String> {
        if !self.username.contains("{n}") {
            return Err(format!(
                "{shown}: the agent pattern's `username` must contain {{n}}, got `{}`",
                self.username
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
}

impl NativeEntry {
    /// Checks that every listed media can be provisioned with what the file gives.
    fn resolve(self, shown: &std::path::Display<'_>) -> Result<Native, String> {
        let native = Native {
            dial: self.dial,
            queue_uri: self.queue_uri,
            queue_path: self.queue_path,
            openmedia_type: self.openmedia_type,
            media: self.media,
        };
        if let Some(list) = &native.media {
            for media in list {
                if let Some(why) = unavailable(&native, media) {
                    return Err(format!(
                        "{shown}: fixtures.native.media lists `{media}`: {why} (native provisioning covers {})",
                        NATIVE_MEDIA.join(", ")
                    ));
                }
            }
        }
        if NATIVE_MEDIA
            .iter()
            .all(|m| unavailable(&native, m).is_some())
        {
            return Err(format!(
                "{shown}: fixtures.native provisions nothing: give `dial` (voice), `queue_uri` (email, workitem; with `openmedia_type`, open media) or `queue_path` (Twitter)"
            ));
        }
        Ok(native)
    }
}

/// Reads and resolves a target file; errors name the file and, where known, the position.
pub fn load(path: &Path) -> Result<Target, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{shown}: cannot read the target file: {e}"))?;
    let file: TargetFile = serde_saphyr::from_str(&text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(":{}:{}", l.line(), l.column()))
            .unwrap_or_default();
        format!(
            "{shown}{at}: invalid target file: {}",
            e.to_string().lines().next().unwrap_or("")
        )
    })?;
    if !(file.base_url.starts_with("http://") || file.base_url.starts_with("https://")) {
        return Err(format!(
            "{shown}: `base_url` must start with http:// or https://, got `{}`",
            file.base_url
        ));
    }
    let listed = match (&file.agent_pattern, file.agents.is_empty()) {
        (Some(pattern), true) => pattern.expand(&shown)?,
        (None, _) => file
            .agents
            .iter()
            .map(|a| (a.username.clone(), a.password_env.clone()))
            .collect(),
        (Some(_), false) => {
            return Err(format!(
                "{shown}: name the agents with `agents` or `agent_pattern`, not both"
            ));
        }
    };
    if listed.is_empty() {
        return Err(format!("{shown}: `agents` must name at least one agent"));
    }
    let mut agents = Vec::new();
    for (username, password_env) in listed {
        let password = std::env::var(&password_env).map_err(|_| {
            format!(
                "{shown}: the password of agent `{username}` comes from ${password_env}, which is not set"
            )
        })?;
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
            return Err(format!(
                "{shown}: `fixtures` takes at most one of `url` or `exec` (a non-empty list), beside `native`"
            ));
        }
    };
    let native = file
        .fixtures
        .native
        .map(|n| n.resolve(&shown))
        .transpose()?;
    if native.is_none() && contract.is_none() {
        return Err(format!(
            "{shown}: `fixtures` needs `native` (documented GWS operations), `url` or `exec`"
        ));
    }
    let fixtures = Fixtures { native, contract };
    let ca_cert = match file.ca_cert {
        Some(p) => {
            let p = path.parent().unwrap_or(Path::new(".")).join(p);
            Some(
                std::fs::read(&p)
                    .map_err(|e| format!("{shown}: cannot read ca_cert {}: {e}", p.display()))?,
            )
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
