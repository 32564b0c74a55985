//! The one launcher of the embedded reference server for a run: starts it on a free loopback
//! port and builds the [`Target`] that reaches it (its agents, its fixture contract), and shuts
//! it down. Every command and benchmark that runs against an embedded server goes through here,
//! so the name a report shows and the target's shape are decided once.
//!
//! It does not decide the server's behaviour (that is `ServerConfig`) and it does not run
//! anything against it.

use crate::run::Target;
use crate::server::{self, RunningServer, ServerConfig};

/// Where a command runs: a target file's server, or an embedded one started for the command
/// with these settings.
pub enum TargetChoice {
    File(Target),
    Embedded(ServerConfig),
}

/// The embedded server could not listen.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the embedded server on {bind}: {source}")]
pub struct EmbeddedError {
    pub bind: std::net::SocketAddr,
    #[source]
    pub source: std::io::Error,
}

/// A running embedded server and the target that reaches it.
pub struct Embedded {
    pub target: Target,
    pub server: RunningServer,
}

impl Embedded {
    /// Starts `config`'s server; the target is named `name`.
    pub async fn start(
        config: ServerConfig,
        name: impl Into<String>,
    ) -> Result<Embedded, EmbeddedError> {
        let agents = config.agents.clone();
        let bind = config.bind;
        let server = server::start(config)
            .await
            .map_err(|source| EmbeddedError { bind, source })?;
        let target = Target::embedded(name, &server.base_url, &agents);
        Ok(Embedded { target, server })
    }

    /// Ends the server, waking its pending long polls first.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// How a report names the embedded server: with its defect, when it has one, so a kill matrix
/// or a results directory says which server it judged.
pub fn name(config: &ServerConfig) -> String {
    match &config.defect {
        Some(d) => format!("embedded reference server (defect {d})"),
        None => "embedded reference server".into(),
    }
}
