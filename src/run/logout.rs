//! The session a `logged-out` scenario presents: a dedicated login of the first agent (a fresh
//! HTTP session with its own cookie and CSRF token) that sends `EndContactCenterSession`,
//! documented to log the agent out and to invalidate the client's HTTP session. The scenario
//! then finds out what that session's cookie is still worth.
//!
//! Ending the contact-center session logs the agent out of its channels for every session, so
//! such scenarios run in a phase of their own after all others, one at a time (the
//! orchestrator sees to that), and the agent's contact-center session is started again right
//! away when native provisioning needs it. The agents' own sessions are never ended. It judges
//! nothing: a refused logout is a setup problem, not a finding.

use super::Runner;
use super::present::SessionToPresent;
use super::session::{AgentSession, Auth};
use super::wire::WireLog;
use crate::observation::Setup;
use reqwest::Method;
use serde_json::{Value, json};

impl Runner {
    /// Logs the first agent in once more, ends that login with `EndContactCenterSession`, and
    /// returns its cookie and CSRF token.
    pub(super) async fn ended_session(&self, wire: &WireLog) -> Result<SessionToPresent, Setup> {
        let credentials = self
            .target
            .agents
            .first()
            .ok_or_else(|| Setup::Failed("the target names no agent".into()))?;
        let dedicated = AgentSession::login(0, credentials, &self.target, &self.config)
            .await
            .map_err(|e| {
                let why = format!("the dedicated login for the logout failed: {e}");
                Setup::interrupted_or_failed(why, e.is_transport())
            })?;
        let cookie = dedicated.cookie_header().ok_or_else(|| {
            Setup::OptionalFeatureAbsent(
                "the server set no session cookie, so there is no session to end".into(),
            )
        })?;
        let csrf = dedicated.csrf_token();
        let logout = json!({"operationName": "EndContactCenterSession"}).to_string();
        let ended = dedicated
            .request(
                Method::POST,
                "/api/v2/me",
                Some(logout.as_bytes()),
                Auth::Session,
                true,
                Some(wire),
            )
            .await;
        // The agent is logged out of its channels whatever the answer: start again first.
        let resumed = self.provisioner.resume_contact_center(0, wire).await;
        let (reply, _) = ended.map_err(|e| {
            let why = format!("EndContactCenterSession got no answer: {e}");
            Setup::interrupted_or_failed(why, e.is_transport())
        })?;
        let status_code = reply.body.json().and_then(|b| b.get("statusCode"));
        if reply.status != 200 || status_code != Some(&Value::from(0)) {
            return Err(Setup::Failed(format!(
                "EndContactCenterSession was refused (HTTP {}): {}",
                reply.status,
                reply.body.describe()
            )));
        }
        resumed.map_err(|e| {
            let why =
                format!("starting the contact-center session again after the logout failed: {e}");
            Setup::interrupted_or_failed(why, e.interrupted())
        })?;
        Ok(SessionToPresent { cookie, csrf })
    }
}
