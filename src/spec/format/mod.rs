//! The v1 scenario format: `reader.rs` turns a scenario file's located YAML tree into
//! [`Scenario`](crate::spec::Scenario)s; `vocabulary.rs` lists its keys and keywords (kept equal
//! to the JSON Schema).

mod reader;
mod vocabulary;

pub(in crate::spec) use reader::scenarios;
