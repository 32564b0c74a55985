//! The fixture contract: how the runner obtains an interaction to operate on.
//!
//! `POST {fixtures}/interactions` with the owning agent's credentials and
//! `{"media": M, "userData": {...}}` answers `201 {"id", "path"}`; `DELETE
//! {fixtures}/interactions/{id}` cleans up. An `exec` provisioner gets the same request JSON
//! plus `"agent"` on stdin and prints `{"id", "path"}`; a non-zero exit means "not offered".
//! A 4xx answer also means the media is not offered; anything else is a setup failure.
//!
//! Which way a media is provisioned (this contract, or the documented GWS operations of
//! `native.rs`) is the [`Provisioner`](super::Provisioner)'s choice; this module only speaks
//! the contract. Its failures are [`FixtureError`]s.

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
        /// Where the customer side is ended (a chat requested through the Customer Chat API).
        customer: Option<String>,
    },
    /// Routed in by the deployment, accepted once and reused: this is the `scenario`th use.
    Routed { media: String, scenario: usize },
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
    /// The documented operation whose input carried the initial `userData`, if one did.
    pub fn initial_data_by(&self) -> Option<&'static str> {
        match self {
            Way::Native {
                operation,
                initial_data: InitialData::InRequest,
                ..
            } => Some(operation),
            Way::Native {
                initial_data: InitialData::Attached,
                ..
            } => Some("AttachUserData"),
            _ => None,
        }
    }

    /// One line for results and reports: which way the interaction was provisioned.
    pub fn describe(&self) -> String {
        match self {
            Way::Contract => "fixture contract".into(),
            Way::Native {
                operation,
                initial_data,
                ..
            } => {
                let data = match initial_data {
                    InitialData::Empty => "no initial userData",
                    InitialData::InRequest => "initial userData in the request",
                    InitialData::Attached => "initial userData attached afterwards",
                };
                format!("native {operation}, {data}")
            }
            Way::Routed { media, scenario } => format!(
                "routed {media} interaction, accepted, reused for scenario {scenario}, its user data reset and read back"
            ),
        }
    }
}

/// Why the fixture contract gave no interaction; the text is the reason alone, for `Setup`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FixtureError {
    #[error("fixture request failed: {0}")]
    Request(RequestError),
    #[error("fixture answer is not JSON: {body}")]
    NotJson { body: String },
    #[error(
        "the fixture answer lacks a string `id` and a `path` starting with `/`: {}",
        crate::util::truncate(&body.to_string(), 200)
    )]
    Incomplete { body: Value },
    /// A 4xx: the target does not offer the media.
    #[error("the fixture endpoint answered HTTP {status} for media `{media}`: {body}")]
    Declined {
        media: String,
        status: u16,
        body: String,
    },
    #[error("the fixture endpoint answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the exec provisioner is empty")]
    EmptyExec,
    #[error("cannot start provisioner `{program}`: {message}")]
    Start { program: String, message: String },
    #[error("provisioner `{program}` did not finish within {:.1}s", after.as_secs_f64())]
    Timeout { program: String, after: Duration },
    #[error("provisioner `{program}` failed: {message}")]
    Wait { program: String, message: String },
    /// A non-zero exit: the provisioner does not offer the media.
    #[error("provisioner exited with {status}: {}", crate::util::truncate(stderr.trim(), 300))]
    Exited { status: String, stderr: String },
    #[error(
        "provisioner output is not JSON ({message}): {}",
        crate::util::truncate(stdout, 200)
    )]
    ExecNotJson { message: String, stdout: String },
}

impl FixtureError {
    /// The contract's way of saying that the target does not offer the media.
    pub fn declined(&self) -> bool {
        matches!(
            self,
            FixtureError::Declined { .. } | FixtureError::Exited { .. }
        )
    }
}

fn parse_provisioned(body: &Value) -> Result<Provisioned, FixtureError> {
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
        _ => Err(FixtureError::Incomplete { body: body.clone() }),
    }
}

pub async fn provision(
    contract: &Contract,
    session: &AgentSession,
    media: &str,
    user_data: &Map<String, Value>,
    timeout: Duration,
    wire: &WireLog,
) -> Result<Provisioned, FixtureError> {
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
                .map_err(FixtureError::Request)?;
            match reply.status {
                200 | 201 => {
                    let body = reply.body.json().ok_or_else(|| FixtureError::NotJson {
                        body: reply.body.describe(),
                    })?;
                    parse_provisioned(body)
                }
                400..=499 => Err(FixtureError::Declined {
                    media: media.to_string(),
                    status: reply.status,
                    body: reply.body.describe(),
                }),
                status => Err(FixtureError::Status {
                    status,
                    body: reply.body.describe(),
                }),
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
) -> Result<Provisioned, FixtureError> {
    let Some((program, args)) = argv.split_first() else {
        return Err(FixtureError::EmptyExec);
    };
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| FixtureError::Start {
            program: program.clone(),
            message: e.to_string(),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(request.to_string().as_bytes()).await;
    }
    let output = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| FixtureError::Timeout {
            program: program.clone(),
            after: timeout,
        })?
        .map_err(|e| FixtureError::Wait {
            program: program.clone(),
            message: e.to_string(),
        })?;
    if !output.status.success() {
        return Err(FixtureError::Exited {
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    let body: Value =
        serde_json::from_slice(&output.stdout).map_err(|e| FixtureError::ExecNotJson {
            message: e.to_string(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
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
