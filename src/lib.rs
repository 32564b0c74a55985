//! gws-conformance: a conformance harness for the Genesys Web Services API v2 user-data
//! operations. See README.md for the user manual and ARCHITECTURE.md for the code map.
//!
//! The modules are listed in reading order: the pipeline's stages first
//! (spec → plan → run → check → report), then what drives them, then what stands beside them.

// Scenario files read and validated into a `Suite` (no IO).
pub mod spec;

// The suite's sources: built into the binary or read from a directory.
pub mod suite;

// Scenarios × media → cases.
pub mod plan;

// Cases executed against a target over HTTP and Bayeux.
pub mod run;

// What the runner saw: the one type `run` produces and `check` reads.
pub mod observation;

// Observations judged into findings and a grade.
pub mod check;

// A scenario's result, grades and findings.
pub mod result;

// Certification profiles, the verdict, waivers.
pub mod verdict;

// Results rendered: terminal, JSON, JUnit, CTRF, Markdown, HTML, compare.
pub mod report;

// The one run loop: run and judge each case, retry, emit events.
pub mod orchestrator;

// The commands as library calls.
pub mod command;

// Conformance under load.
pub mod load;

// The embedded reference server (reached only over sockets).
pub mod server;

// The Bayeux long-polling client.
pub mod bayeux;

// Helpers every part shares.
pub mod util;
