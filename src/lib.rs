//! gws-conformance: a conformance harness for the Genesys Web Services API v2 user-data
//! operations. See README.md for the user manual and ARCHITECTURE.md for the code map.

pub mod bayeux;
pub mod check;
pub mod command;
pub mod load;
pub mod observation;
pub mod orchestrator;
pub mod plan;
pub mod report;
pub mod result;
pub mod run;
pub mod server;
pub mod spec;
pub mod suite;
pub mod util;
pub mod verdict;
