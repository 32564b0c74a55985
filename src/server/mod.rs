//! The embedded reference server: a faithful GWS simulator for the user-data operations.
//!
//! It serves Basic authentication with `JSESSIONID` sessions and optional CSRF, `GET /api/v2/me`,
//! `GET /api/v2/features`, GET and POST on interactions of all nine media, a long-polling
//! CometD endpoint with per-agent delivery, the documented operations that begin and end
//! interactions (contact-center session, Ready, devices, Dial, Create, Hangup, Complete,
//! Cancel, collection listings), and the fixture contract at `/conformance/v1` (which
//! `ServerConfig::fixtures` can turn off, leaving a stock GWS).
//! With a [`Defect`] it becomes a realistic wrong server for measuring the suite.
//!
//! It binds loopback by default and knows nothing about scenarios or the runner.

pub mod bayeux;
pub mod defect;
pub mod http;
pub mod media;
mod native;
mod routes;
mod running;
pub mod state;
pub mod variant;

pub use defect::Defect;
pub use routes::router;
pub use running::{RunningServer, start};
pub use state::ServerConfig;
pub use variant::Variant;
