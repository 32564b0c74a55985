//! Reading a target file (`run --target FILE`) into a library [`Target`].
//!
//! Passwords come only from the environment variables the file names; a missing variable is
//! a usage error. TLS is verified unless the file itself says `insecure: true`.

use gws_conformance::run::{Credentials, Fixtures, Secret, Target};
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    name: String,
    base_url: String,
    agents: Vec<AgentEntry>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureEntry {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    exec: Option<Vec<String>>,
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
    if file.agents.is_empty() {
        return Err(format!("{shown}: `agents` must name at least one agent"));
    }
    let mut agents = Vec::new();
    for a in &file.agents {
        let password = std::env::var(&a.password_env).map_err(|_| {
            format!(
                "{shown}: the password of agent `{}` comes from ${}, which is not set",
                a.username, a.password_env
            )
        })?;
        agents.push(Credentials {
            username: a.username.clone(),
            password: Secret::new(password),
        });
    }
    let fixtures = match (file.fixtures.url, file.fixtures.exec) {
        (Some(url), None) => Fixtures::Url(url),
        (None, Some(argv)) if !argv.is_empty() => Fixtures::Exec(argv),
        _ => {
            return Err(format!(
                "{shown}: `fixtures` needs exactly one of `url` or `exec` (a non-empty list)"
            ));
        }
    };
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
