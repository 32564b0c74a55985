//! `serve`: the reference server standalone, until Ctrl-C or until it stops on its own.
//!
//! It starts the server through the one launcher (`embedded`) and tells the caller where it
//! listens; it prints nothing (the listening banner is the CLI's) and decides none of the
//! server's behaviour (that is `ServerConfig`).

use crate::command::embedded::{Embedded, EmbeddedError};
use crate::server::{RunningServer, ServerConfig};

/// Serves `config` until Ctrl-C or the server's end; `on_listening` is told the running server
/// once it accepts connections (to announce its address).
pub async fn serve(
    config: ServerConfig,
    on_listening: impl FnOnce(&RunningServer),
) -> Result<(), EmbeddedError> {
    let server = Embedded::start(config, "reference server").await?.server;
    on_listening(&server);
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = server.wait() => {}
    }
    Ok(())
}
