//! Spec stage: scenario files and the media table, read and validated.
//!
//! Everything here is synchronous and free of network IO; the output is plain data
//! ([`Suite`]) or a list of located [`SpecError`]s.

mod convert;
pub mod error;
pub mod load;
pub mod matcher;
mod matcher_parse;
pub mod media;
pub mod model;
pub mod yaml;

pub use error::{SpecError, SpecErrors};
pub use load::{SourceFile, Suite, load_suite, load_suite_with_profiles};
pub use matcher::{Expected, JsonType, Mismatch};
pub use matcher_parse::expected_from_yaml;
pub use media::{DeleteStyle, DocumentedShape, GwsVersion, MediaFacts, MediaTable, Presence};
pub use model::*;
