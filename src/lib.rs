//! gws-conformance: a conformance harness for the Genesys Web Services API v2 user-data
//! operations. See README.md for the user manual and ARCHITECTURE.md for the code map.

pub mod spec;
