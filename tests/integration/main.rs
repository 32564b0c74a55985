//! The integration tests as one binary, so that the library and the binary's dependencies are
//! linked once rather than once per test file. Each module was a `tests/*.rs` of its own;
//! `support` is their shared kit, compiled once. `tests/conformance.rs` stays a target of its
//! own (libtest-mimic, `harness = false`).
//!
//! One module alone: `cargo test --test integration faults::`.

mod support;

mod bayeux;
mod checklist;
mod cli;
mod doctor;
mod faults;
mod hostile;
mod load;
mod mutants;
mod native;
mod reports;
mod targets;
mod tls;
mod variants;
