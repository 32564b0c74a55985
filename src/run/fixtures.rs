//! The fixture contract: how the runner obtains an interaction to operate on.
//!
//! `POST {fixtures}/interactions` with the owning agent's credentials and
//! `{"media": M, "userData": {...}}` answers `201 {"id", "path"}`; `DELETE
//! {fixtures}/interactions/{id}` cleans up. An `exec` provisioner gets the same request JSON
//! plus `"agent"` on stdin and prints `{"id", "path"}`; a non-zero exit means "not offered".
//! A 4xx answer also means the media is not offered; anything else is a setup failure.
//!
//! Which way a media is provisioned (this contract, or the documented GWS operations of
//! `native.rs`) is the runner's choice (`provision.rs`); this module only speaks the contract.

use super::session::{AgentSession, Auth, RequestError};
use super::target::Contract;
use super::wire::WireLog;
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

#[derive(Debug, Clone, PartialEq)]
pub struct Provisioned {
    pub id: String,
    /// Path of the interaction, e.g. `/api/v2/me/chats/{id}`.
    pub path: String,
    pub way: Way,
}

/// How an interaction was obtained, which decides how it is ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Way {
    /// The fixture contract (URL or exec).
    Contract,
    /// A documented GWS operation (`Dial`, `Create`).
    Native {
        operation: &'static str,
        initial_data: InitialData,
    },
}

/// How a natively provisioned interaction got the scenario's initial `userData`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialData {
    /// There was none to give.
    Empty,
    /// In the creating request, where its page documents `userData`.
    InRequest,
    /// With `AttachUserData` after the creation, its notification consumed before the scenario.
    Attached,
}

impl Way {
    /// One line for results and reports: which way the interaction was provisioned.
    pub fn describe(&self) -> String {
        match self {
            Way::Contract => "fixture contract".into(),
            Way::Native {
                operation,
                initial_data,
            } => {
                let data = match initial_data {
                    InitialData::Empty => "no initial userData",
                    InitialData::InRequest => "initial userData in the request",
                    InitialData::Attached => "initial userData attached afterwards",
                };
                format!("native {operation}, {data}")
            }
        }
    }
}

/// Why no interaction was obtained; the text is the reason alone, for `Setup`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProvisionError {
    /// The target does not offer the media.
    #[error("{0}")]
    NotOffered(String),
    /// The target file gives no way to obtain one (the media needs fixtures).
    #[error("{0}")]
    NotProvisionable(String),
    #[error("{0}")]
    Failed(String),
    /// The request got no reply because of a transport fault: nothing is known (the
    /// interaction may even exist).
    #[error("{0}")]
    Interrupted(String),
}

impl ProvisionError {
    pub fn reason(&self) -> &str {
        match self {
            ProvisionError::NotOffered(w)
            | ProvisionError::NotProvisionable(w)
            | ProvisionError::Failed(w)
            | ProvisionError::Interrupted(w) => w,
        }
    }
}

fn parse_provisioned(body: &Value) -> Result<Provisioned, ProvisionError> {
    let id = body
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let path = body
        .get("path")
        .and_then(Value::as_str)
        .filter(|p| p.starts_with('/') || p.starts_with("http"));
    match (id, path) {
        (Some(id), Some(path)) => Ok(Provisioned {
            id: id.to_string(),
            path: path.to_string(),
            way: Way::Contract,
        }),
        _ => Err(ProvisionError::Failed(format!(
            "the fixture answer lacks a string `id` and a `path` starting with `/`: {}",
            crate::util::truncate(&body.to_string(), 200)
        ))),
    }
}

pub async fn provision(
    contract: &Contract,
    session: &AgentSession,
    media: &str,
    user_data: &Map<String, Value>,
    timeout: Duration,
    wire: &WireLog,
) -> Result<Provisioned, ProvisionError> {
    let request = json!({"media": media, "userData": user_data});
    match contract {
        Contract::Url(base) => {
            let url = format!("{}/interactions", base.trim_end_matches('/'));
            let body = request.to_string();
            let (reply, _) = session
                .request(
                    Method::POST,
                    &url,
                    Some(body.as_bytes()),
                    Auth::Session,
                    true,
                    Some(wire),
                )
                .await
                .map_err(|e| {
                    let why = format!("fixture request failed: {e}");
                    if e.is_transport() {
                        ProvisionError::Interrupted(why)
                    } else {
                        ProvisionError::Failed(why)
                    }
                })?;
            match reply.status {
                200 | 201 => {
                    let body = reply.body.json().ok_or_else(|| {
                        ProvisionError::Failed(format!(
                            "fixture answer is not JSON: {}",
                            reply.body.describe()
                        ))
                    })?;
                    parse_provisioned(body)
                }
                400..=499 => Err(ProvisionError::NotOffered(format!(
                    "the fixture endpoint answered HTTP {} for media `{media}`: {}",
                    reply.status,
                    reply.body.describe()
                ))),
                other => Err(ProvisionError::Failed(format!(
                    "the fixture endpoint answered HTTP {other}: {}",
                    reply.body.describe()
                ))),
            }
        }
        Contract::Exec(argv) => {
            let mut request = request;
            request["agent"] = json!(session.username);
            run_provisioner(argv, &request, timeout).await
        }
    }
}

async fn run_provisioner(
    argv: &[String],
    request: &Value,
    timeout: Duration,
) -> Result<Provisioned, ProvisionError> {
    let Some((program, args)) = argv.split_first() else {
        return Err(ProvisionError::Failed(
            "the exec provisioner is empty".into(),
        ));
    };
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            ProvisionError::Failed(format!("cannot start provisioner `{program}`: {e}"))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(request.to_string().as_bytes()).await;
    }
    let output = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| {
            ProvisionError::Failed(format!(
                "provisioner `{program}` did not finish within {:.1}s",
                timeout.as_secs_f64()
            ))
        })?
        .map_err(|e| ProvisionError::Failed(format!("provisioner `{program}` failed: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(ProvisionError::NotOffered(format!(
            "provisioner exited with {}: {}",
            output.status,
            crate::util::truncate(stderr.trim(), 300)
        )));
    }
    let body: Value = serde_json::from_slice(&output.stdout).map_err(|e| {
        ProvisionError::Failed(format!(
            "provisioner output is not JSON ({e}): {}",
            crate::util::truncate(&String::from_utf8_lossy(&output.stdout), 200)
        ))
    })?;
    parse_provisioned(&body)
}

/// Why the contract's `DELETE` did not clean up.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CleanupError {
    #[error("cleanup answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("cleanup failed: {source}")]
    Request { url: String, source: RequestError },
}

/// Best-effort cleanup; a failure is reported but does not change the scenario's grade.
pub async fn cleanup(
    contract: &Contract,
    session: &AgentSession,
    id: &str,
    wire: &WireLog,
) -> Option<CleanupError> {
    match contract {
        Contract::Url(base) => {
            let url = format!("{}/interactions/{id}", base.trim_end_matches('/'));
            match session
                .request(Method::DELETE, &url, None, Auth::Session, true, Some(wire))
                .await
            {
                Ok((reply, _)) if reply.status < 300 || reply.status == 404 => None,
                Ok((reply, _)) => Some(CleanupError::Status {
                    url,
                    status: reply.status,
                }),
                Err(source) => Some(CleanupError::Request { url, source }),
            }
        }
        Contract::Exec(_) => None,
    }
}
