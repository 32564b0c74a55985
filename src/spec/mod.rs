//! Spec stage: scenario files and the media table, read and validated.
//!
//! Everything here is synchronous and free of network IO; the output is plain data
//! ([`Suite`]) or a list of located [`SpecError`]s.

pub mod load;
pub mod matcher;
pub mod media;
pub mod model;
pub mod yaml;

pub use load::{load_suite, read_dir, SourceFile, SpecError, SpecErrors, Suite};
pub use matcher::{Expected, JsonType, Mismatch};
pub use media::{DeleteStyle, MediaFacts, MediaTable, Presence};
pub use model::*;
