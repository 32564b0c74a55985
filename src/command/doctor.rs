//! `doctor`: a newcomer's first look at a real server, one line per prerequisite of a run:
//! reachability and TLS, login and CSRF, the CometD handshake and subscription, features,
//! devices and queues, and for every media whether and how an interaction can be provisioned,
//! proven by creating one and ending it.
//!
//! Each failing line names the cause and what to change in the target file. A media the chosen
//! profile does not need is reported but never fails the diagnosis. Everything created is
//! ended before it returns (the runner's ledger), so it leaves nothing behind. It judges no
//! conformance: that is `run`'s job.

use crate::run::native::{self, NO_DOCUMENTED_CREATE};
use crate::run::session::{AgentSession, Auth, http_client};
use crate::run::wire::WireLog;
use crate::run::{Contract, RunConfig, Runner, Target};
use reqwest::Method;
use serde_json::Map;
use std::fmt::Write as _;
use std::time::Instant;

/// How one line came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Works, with a remark worth reading.
    Warn,
    Fail,
    /// Not checked, because something it depends on failed, or the target does not use it.
    Skipped,
}

#[derive(Debug, Clone)]
pub struct Line {
    pub topic: String,
    pub status: Status,
    pub detail: String,
    /// What to change in the target file (failures only).
    pub fix: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub target: String,
    pub base_url: String,
    /// The profile whose media had to work, if one was named.
    pub profile: Option<String>,
    pub lines: Vec<Line>,
}

impl Diagnosis {
    /// Whether everything the profile needs works.
    pub fn ready(&self) -> bool {
        self.lines.iter().all(|l| l.status != Status::Fail)
    }

    fn push(&mut self, topic: &str, status: Status, detail: String, fix: Option<String>) {
        self.lines.push(Line {
            topic: topic.to_string(),
            status,
            detail,
            fix,
        });
    }

    /// The diagnosis as the terminal shows it: one line per check (plus its fix), then the
    /// conclusion.
    pub fn render(&self) -> String {
        let mut out = format!("doctor: target `{}` at {}\n", self.target, self.base_url);
        for line in &self.lines {
            let mark = match line.status {
                Status::Ok => "ok  ",
                Status::Warn => "warn",
                Status::Fail => "FAIL",
                Status::Skipped => "--  ",
            };
            let _ = writeln!(out, "  {mark}  {:<11} {}", line.topic, line.detail);
            if let Some(fix) = &line.fix {
                let _ = writeln!(out, "        {:<11} fix: {fix}", "");
            }
        }
        let failures = self
            .lines
            .iter()
            .filter(|l| l.status == Status::Fail)
            .count();
        let scope = match &self.profile {
            Some(p) => format!(" for profile `{p}`"),
            None => String::new(),
        };
        if failures == 0 {
            let _ = writeln!(out, "ready{scope}: every check it needs passed");
        } else {
            let _ = writeln!(
                out,
                "not ready{scope}: {failures} problem{} above",
                if failures == 1 { "" } else { "s" }
            );
        }
        out
    }
}

/// What a media needs to be diagnosed: its name, its feature id, and whether the profile needs
/// it (`None` without a profile: needed when the target file gives a way to provision it).
#[derive(Debug, Clone)]
pub struct MediaNeed {
    pub media: String,
    pub feature: String,
    pub needed: Option<bool>,
}

/// A media with its need decided.
struct Need<'a> {
    media: &'a str,
    feature: &'a str,
    needed: bool,
}

/// Whether the target file gives any way to provision `media`.
fn provisionable(target: &Target, media: &str) -> bool {
    target.fixtures.contract.is_some()
        || target
            .fixtures
            .native
            .as_ref()
            .is_some_and(|n| native::unavailable(n, media).is_none())
}

/// Diagnoses `target`: every line in order; a failure skips what depends on it.
pub async fn diagnose(
    target: Target,
    config: RunConfig,
    profile: Option<String>,
    media: &[MediaNeed],
) -> Diagnosis {
    let media: Vec<Need<'_>> = media
        .iter()
        .map(|m| Need {
            media: &m.media,
            feature: &m.feature,
            needed: m.needed.unwrap_or_else(|| provisionable(&target, &m.media)),
        })
        .collect();
    let media = media.as_slice();
    let mut d = Diagnosis {
        target: target.name.clone(),
        base_url: target.base_url.clone(),
        profile,
        lines: Vec::new(),
    };
    let skip = |d: &mut Diagnosis, topics: &[&str], why: &str| {
        for topic in topics {
            d.push(topic, Status::Skipped, format!("not checked: {why}"), None);
        }
    };
    const AFTER_REACH: [&str; 6] = ["login", "cometd", "features", "devices", "queues", "media"];
    if !reach(&target, &config, &mut d).await {
        skip(&mut d, &AFTER_REACH, "the server is not reachable");
        return d;
    }
    let Some(sessions) = login(&target, &config, &mut d).await else {
        skip(&mut d, &AFTER_REACH[1..], "login failed");
        return d;
    };
    let names: Vec<String> = sessions.iter().map(|s| s.username.clone()).collect();
    let mut stream_failures = Vec::new();
    for session in sessions {
        match session.open_stream(&config).await {
            Ok(open) => open.bayeux.disconnect().await,
            Err(why) => stream_failures.push(why.to_string()),
        }
    }
    if !stream_failures.is_empty() {
        d.push(
            "cometd",
            Status::Fail,
            stream_failures.join("; "),
            Some(format!(
                "GWS serves CometD at {}/api/v2/notifications: point base_url at the GWS node that serves it (a proxy in between must pass it through)",
                target.base_url.trim_end_matches('/')
            )),
        );
        skip(&mut d, &AFTER_REACH[2..], "no notification stream");
        return d;
    }
    d.push(
        "cometd",
        Status::Ok,
        format!(
            "{}: handshake and /v2/me/* subscription acknowledged",
            names.join(", ")
        ),
        None,
    );
    let runner = match Runner::connect(target.clone(), config.clone()).await {
        Ok(r) => r,
        Err(e) => {
            d.push("session", Status::Fail, e.to_string(), None);
            return d;
        }
    };
    features(&runner, media, &mut d);
    devices(&runner, &target, &mut d).await;
    queues(&runner, &target, &mut d).await;
    for need in media {
        provisioning(&runner, &target, need, &mut d).await;
    }
    let notes = runner.close().await;
    if !notes.left_behind.is_empty() {
        d.push(
            "cleanup",
            Status::Fail,
            notes.left_behind.join("; "),
            Some("end these interactions by hand; the server refused the documented ending".into()),
        );
    }
    d
}

/// Logs every agent in; the login line says who, and whether session cookies and CSRF
/// tokens came with it. `None` when some agent was refused.
async fn login(
    target: &Target,
    config: &RunConfig,
    d: &mut Diagnosis,
) -> Option<Vec<AgentSession>> {
    let mut sessions = Vec::new();
    let mut refused = Vec::new();
    for (i, agent) in target.agents.iter().enumerate() {
        match AgentSession::login(i, agent, target, config).await {
            Ok(s) => sessions.push(s),
            Err(why) => refused.push(why.to_string()),
        }
    }
    if !refused.is_empty() {
        d.push(
            "login",
            Status::Fail,
            refused.join("; "),
            Some("check the agents' user names, and the passwords in the environment variables the target file names for them".into()),
        );
        return None;
    }
    let csrf = sessions.iter().filter(|s| s.has_csrf_token()).count();
    let cookies = sessions
        .iter()
        .filter(|s| s.cookie_header().is_some())
        .count();
    let names: Vec<String> = sessions.iter().map(|s| s.username.clone()).collect();
    let (status, cookie_note) = if cookies == sessions.len() {
        (Status::Ok, "JSESSIONID set")
    } else {
        (Status::Warn, "no session cookie set for some agent")
    };
    let csrf_note = match csrf {
        0 => "no CSRF token announced (protection off)".to_string(),
        n if n == sessions.len() => "CSRF token announced".to_string(),
        n => format!("CSRF token announced for {n} of {} agents", sessions.len()),
    };
    d.push(
        "login",
        status,
        format!("{} logged in; {cookie_note}; {csrf_note}", names.join(", ")),
        None,
    );
    Some(sessions)
}

/// An anonymous `GET /api/v2/me`: any HTTP answer shows the server is there.
async fn reach(target: &Target, config: &RunConfig, d: &mut Diagnosis) -> bool {
    let base = target.base_url.trim_end_matches('/');
    let tls = if !base.starts_with("https://") {
        "plain HTTP"
    } else if target.insecure {
        "TLS, certificate NOT verified (insecure: true)"
    } else {
        "TLS, certificate verified"
    };
    let client = match http_client(target, false) {
        Ok(c) => c,
        Err(why) => {
            d.push(
                "tls",
                Status::Fail,
                why.to_string(),
                Some("check ca_cert: it must be a PEM file".into()),
            );
            return false;
        }
    };
    let started = Instant::now();
    match client
        .get(format!("{base}/api/v2/me"))
        .timeout(config.deadlines.request)
        .send()
        .await
    {
        Ok(response) => {
            d.push(
                "reach",
                Status::Ok,
                format!(
                    "GET /api/v2/me answered HTTP {} in {} ms without credentials; {tls}",
                    response.status().as_u16(),
                    started.elapsed().as_millis()
                ),
                None,
            );
            true
        }
        Err(e) => {
            let why = crate::util::error_chain(&e);
            let lower = why.to_lowercase();
            if base.starts_with("https://")
                && (lower.contains("certificate") || lower.contains("tls"))
            {
                d.push(
                    "tls",
                    Status::Fail,
                    why,
                    Some("trust the server's CA with `ca_cert: FILE` in the target file (or `insecure: true` for a test deployment)".into()),
                );
            } else {
                d.push(
                    "reach",
                    Status::Fail,
                    format!("{base}: {why}"),
                    Some("check base_url (scheme, host, port) in the target file".into()),
                );
            }
            false
        }
    }
}

fn features(runner: &Runner, media: &[Need<'_>], d: &mut Diagnosis) {
    match runner.features() {
        None => d.push(
            "features",
            Status::Warn,
            "GET /api/v2/features answered no list; every media is tried".into(),
            None,
        ),
        Some(list) => {
            let missing: Vec<&str> = media
                .iter()
                .filter(|m| m.needed && !list.iter().any(|f| f == m.feature))
                .map(|m| m.feature)
                .collect();
            let mut shown = list.to_vec();
            shown.sort();
            if missing.is_empty() {
                d.push("features", Status::Ok, shown.join(", "), None);
            } else {
                let mut missing = missing;
                missing.dedup();
                d.push(
                    "features",
                    Status::Fail,
                    format!("{} (missing: {})", shown.join(", "), missing.join(", ")),
                    Some("enable the missing features on the server, or choose a profile without their media".into()),
                );
            }
        }
    }
}

async fn devices(runner: &Runner, target: &Target, d: &mut Diagnosis) {
    let voice_native = target
        .fixtures
        .native
        .as_ref()
        .is_some_and(|n| native::unavailable(n, "voice").is_none());
    if !voice_native {
        d.push(
            "devices",
            Status::Skipped,
            "not needed: voice is not provisioned natively".into(),
            None,
        );
        return;
    }
    let wire = WireLog::new(Instant::now());
    let mut found = Vec::new();
    for agent in 0..runner.agent_count() {
        let Some(session) = runner.session(agent) else {
            continue;
        };
        match native::read_device(session, &wire).await {
            Ok(id) => found.push(format!("{}: {id}", session.username)),
            Err(why) => {
                d.push(
                    "devices",
                    Status::Fail,
                    why.to_string(),
                    Some("give the agent a place with a DN in the GWS configuration, or leave voice out of fixtures.native.media".into()),
                );
                return;
            }
        }
    }
    d.push("devices", Status::Ok, found.join("; "), None);
}

async fn queues(runner: &Runner, target: &Target, d: &mut Diagnosis) {
    let Some(queue) = target
        .fixtures
        .native
        .as_ref()
        .and_then(|n| n.queue_uri.clone())
    else {
        d.push(
            "queues",
            Status::Skipped,
            "not needed: fixtures.native.queue_uri is not set".into(),
            None,
        );
        return;
    };
    let Some(session) = runner.session(0) else {
        return;
    };
    let read = session
        .request(Method::GET, &queue, None, Auth::Session, true, None)
        .await;
    match read {
        Ok((reply, _)) if reply.status == 200 => d.push(
            "queues",
            Status::Ok,
            format!("{queue} answers HTTP 200"),
            None,
        ),
        // Agents may not be allowed to read queues; Create below is the proof that counts.
        Ok((reply, _)) => d.push(
            "queues",
            Status::Warn,
            format!(
                "{queue} answered HTTP {} (Create below shows whether it works)",
                reply.status
            ),
            None,
        ),
        Err(why) => d.push(
            "queues",
            Status::Warn,
            format!("{queue}: {why} (Create below shows whether it works)"),
            None,
        ),
    }
}

/// Creates one interaction of the media the way a run would, and ends it.
async fn provisioning(runner: &Runner, target: &Target, need: &Need<'_>, d: &mut Diagnosis) {
    let media = need.media;
    let native_reason = target
        .fixtures
        .native
        .as_ref()
        .map(|n| native::unavailable(n, media));
    let way = match (&native_reason, &target.fixtures.contract) {
        (Some(None), _) => "native",
        (_, Some(Contract::Url(_))) => "fixtures.url",
        (_, Some(Contract::Exec(_))) => "fixtures.exec",
        (_, None) => {
            let why = native_reason
                .flatten()
                .map_or_else(|| NO_DOCUMENTED_CREATE.to_string(), |u| u.to_string());
            let status = if need.needed {
                Status::Fail
            } else {
                Status::Skipped
            };
            let fix = need.needed.then(|| {
                format!(
                    "add fixtures.url or fixtures.exec for {media}, or choose a profile without it"
                )
            });
            d.push(media, status, format!("not provisionable: {why}"), fix);
            return;
        }
    };
    if let Some(native) = target
        .fixtures
        .native
        .as_ref()
        .filter(|n| way == "native" && n.inbound.iter().any(|m| m == media))
    {
        // Making the agent Ready would have a waiting customer's interaction offered to it, so
        // doctor does not: the line says what the run will do instead.
        d.push(
            media,
            Status::Ok,
            format!(
                "native, routed in: the run makes {} Ready on {media} and waits up to {} for one to be offered (doctor takes none, so Ready on it is not tried)",
                runner.session(0).map_or("the first agent", |s| s.username.as_str()),
                crate::run::inbound::spoken_wait(native.inbound_wait)
            ),
            None,
        );
        return;
    }
    let wire = WireLog::new(Instant::now());
    let fail_status = if need.needed {
        Status::Fail
    } else {
        Status::Warn
    };
    match runner.provisioner().provision(0, media, &Map::new(), &wire).await {
        Ok(made) => match runner.provisioner().release(&made.id, &wire).await {
            None => d.push(
                media,
                Status::Ok,
                format!("{}: created one and ended it", made.way.describe()),
                None,
            ),
            Some(problem) => d.push(
                media,
                fail_status,
                format!("{way}: created one, but ending it failed: {problem}"),
                Some("the run could leave interactions behind; check the agent's permissions to end them".into()),
            ),
        },
        Err(e) => {
            let fix = match way {
                "native" => format!(
                    "check fixtures.native ({}) and that the agent may work on {media}",
                    match media {
                        "voice" => "dial",
                        "twitter" => "queue_path",
                        "openmedia" => "queue_uri, openmedia_type",
                        "im" => "im",
                        "chat" => "chat.customer_api, chat.contact_center_id",
                        _ => "queue_uri",
                    }
                ),
                other => format!("check {other} in the target file"),
            };
            d.push(
                media,
                fail_status,
                format!("{way}: {e}"),
                need.needed.then_some(fix),
            );
        }
    }
}
