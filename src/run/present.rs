//! What a scenario's actor presents with its request: the credentials (`send.auth`), the
//! cookie (`send.cookie`: its own, another agent's, none, a forged, planted or ended session's)
//! and the CSRF token (`send.csrf`), as a client holding them would send them.
//!
//! A cookie or token the server never issued makes the scenario not applicable (presenting it
//! tests nothing). It prepares what is presented; sending the request is `case.rs`'s, and
//! ending a session for `logged-out` is `logout.rs`'s.

use super::Runner;
use super::listener::OpenListener;
use super::session::{Auth, CookieChoice, CsrfChoice, Presented};
use super::wire::WireLog;
use crate::observation::Setup;
use crate::spec::{AuthMode, CookieMode, CsrfMode, Scenario};
use reqwest::Method;

impl Runner {
    /// What the actor presents (its own session, a planted or ended one, the credentials and
    /// CSRF token the scenario asks for) and the listener it opens, if any.
    pub(super) async fn present(
        &self,
        scenario: &Scenario,
        actor_index: usize,
        wire: &WireLog,
    ) -> Result<(Presented, Option<OpenListener>), Setup> {
        let borrowed = match scenario.send.cookie {
            Some(CookieMode::Planted) => Some(self.plant_session(wire).await?),
            Some(CookieMode::LoggedOut) => Some(self.ended_session(wire).await?),
            _ => None,
        };
        let presented = self.presented(scenario, actor_index, borrowed)?;
        let listener = match scenario.send.listener {
            Some(mode) => Some(self.open_listener(mode, wire).await?),
            None => None,
        };
        Ok((presented, listener))
    }

    /// What the scenario's request presents: credentials, cookie and CSRF token, taking the
    /// other agent's cookie or token where `send` asks for them. A token or cookie the server
    /// never issued makes the scenario not applicable: presenting it tests nothing.
    fn presented(
        &self,
        scenario: &Scenario,
        actor_index: usize,
        borrowed: Option<SessionToPresent>,
    ) -> Result<Presented, Setup> {
        let actor = &self.sessions[actor_index];
        let other = || {
            self.sessions
                .get(if actor_index == 0 { 1 } else { 0 })
                .ok_or_else(|| {
                    Setup::Failed("this scenario needs a second agent; the target names one".into())
                })
        };
        let absent = |what: &str| Setup::OptionalFeatureAbsent(what.to_string());
        let auth = match scenario.send.auth {
            AuthMode::Agent => Auth::Session,
            AuthMode::None => Auth::Anonymous,
            AuthMode::WrongPassword => Auth::WrongPassword,
            AuthMode::EmptyPassword => Auth::EmptyPassword,
        };
        let csrf = match scenario.send.csrf {
            // A planted cookie's token can be read by whoever planted it (a GET with the
            // cookie alone shows it); an ended session's is the one it was issued.
            CsrfMode::Send if borrowed.is_some() => {
                match borrowed.as_ref().and_then(|p| p.csrf.clone()) {
                    Some((name, value)) => CsrfChoice::Pair(name, value),
                    None => CsrfChoice::Omit,
                }
            }
            // The token goes with the session it was issued to: another agent's cookie is
            // presented with that agent's token, as a client holding both would send them.
            CsrfMode::Send if scenario.send.cookie == Some(CookieMode::OtherAgent) => {
                match other()?.csrf_token() {
                    Some((name, value)) => CsrfChoice::Pair(name, value),
                    None => CsrfChoice::Omit,
                }
            }
            CsrfMode::Send => CsrfChoice::Own,
            CsrfMode::Omit if !actor.has_csrf_token() => {
                return Err(absent(
                    "the server issued no CSRF token, so omitting it tests nothing",
                ));
            }
            CsrfMode::Omit => CsrfChoice::Omit,
            CsrfMode::OtherAgent => match (actor.csrf_token(), other()?.csrf_token()) {
                (Some(_), Some((name, value))) => CsrfChoice::Pair(name, value),
                _ => {
                    return Err(absent(
                        "the server issued no CSRF tokens, so presenting another session's tests nothing",
                    ));
                }
            },
        };
        let cookie = match scenario.send.cookie {
            None => CookieChoice::Implied,
            Some(CookieMode::None) => CookieChoice::None,
            Some(CookieMode::Own) => match actor.cookie_header() {
                Some(v) => CookieChoice::Header(v),
                None => return Err(absent("the server set no session cookie")),
            },
            Some(CookieMode::OtherAgent) => match other()?.cookie_header() {
                Some(v) => CookieChoice::Header(v),
                None => {
                    return Err(absent(
                        "the server set no session cookie, so presenting another agent's tests nothing",
                    ));
                }
            },
            Some(CookieMode::Forged) => CookieChoice::Header(forged_session_cookie()),
            Some(CookieMode::Planted | CookieMode::LoggedOut) => match borrowed {
                Some(p) => CookieChoice::Header(p.cookie),
                None => return Err(Setup::Failed("no session cookie to present".into())),
            },
        };
        Ok(Presented { auth, cookie, csrf })
    }

    /// Plants a session id the way a session-fixation attack does: the first agent logs in
    /// (`GET /api/v2/me` with its valid Basic credentials) presenting a `JSESSIONID` the
    /// harness chose. Whatever the server answers, the scenario then finds out what that
    /// cookie alone is worth; only a login that got no answer at all stops it (a transport
    /// fault makes the attempt indeterminate).
    async fn plant_session(&self, wire: &WireLog) -> Result<SessionToPresent, Setup> {
        let cookie = forged_session_cookie();
        let login = Presented {
            auth: Auth::Session,
            cookie: CookieChoice::Header(cookie.clone()),
            csrf: CsrfChoice::Omit,
        };
        let (_, csrf) = self.sessions[0]
            .send(Method::GET, "/api/v2/me", None, &login, Some(wire))
            .await
            .map_err(|e| {
                let why =
                    format!("the login presenting a planted session cookie got no answer: {e}");
                Setup::interrupted_or_failed(why, e.is_transport())
            })?;
        Ok(SessionToPresent { cookie, csrf })
    }
}

/// A session cookie a scenario presents instead of the agents' own (one the harness planted on
/// a login, or one whose session was ended), with the CSRF token announced for it, if any.
pub(super) struct SessionToPresent {
    pub(super) cookie: reqwest::header::HeaderValue,
    pub(super) csrf: Option<(reqwest::header::HeaderName, reqwest::header::HeaderValue)>,
}

/// A `JSESSIONID` cookie no server issued: 128 random bits in hex, the form servlet containers
/// use, so that it reads as a plausible (expired or forged) session id.
fn forged_session_cookie() -> reqwest::header::HeaderValue {
    let mut bytes = [0u8; 16];
    // Without OS randomness the zero id is still one no server issued.
    let _ = getrandom::fill(&mut bytes);
    let id: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
    let mut value = reqwest::header::HeaderValue::from_str(&format!("JSESSIONID={id}"))
        .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static("JSESSIONID=0"));
    value.set_sensitive(true);
    value
}
