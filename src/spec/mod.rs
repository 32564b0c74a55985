//! Spec stage: scenario files and the media table, validated from their text.
//!
//! Everything here is synchronous and free of IO: sources arrive as text (`crate::suite` finds
//! and reads them), and the output is plain data ([`Suite`]) or a list of located
//! [`SpecError`]s. The layers, bottom up: `yaml` (located tree), `convert` (generic node →
//! value conversion), `generate` (value generators), `matcher_parse` (matcher tags), `format`
//! (the scenario format), `assemble` (the whole suite); `error` is shared by all of them.

pub mod assemble;
mod convert;
pub mod error;
mod format;
mod generate;
pub mod matcher;
mod matcher_parse;
pub mod media;
pub mod model;
mod profiles;
mod source;
pub mod yaml;

pub use assemble::{Suite, load_suite, load_suite_with_profiles};
pub use error::{SpecError, SpecErrors};
pub use matcher::{Expected, JsonType, Mismatch};
pub use matcher_parse::expected_from_yaml;
pub use media::{
    DeleteStyle, DocumentedShape, GwsVersion, MediaFacts, MediaTable, Presence, UnknownGwsVersion,
};
pub use model::{
    AgentRole, AuthMode, CookieMode, CsrfMode, Expectation, Given, InteractionRef, Level,
    ListenerExpectation, ListenerMode, NoneKeyword, NotificationExpectation, NotificationSpec,
    PatchEntry, PatchExpectation, PatchOp, Refusal, ResponseExpectation, Scenario, ScenarioFile,
    Send, SendMethod, ShouldExpectation, Source,
};
pub use profiles::{MediaList, Profile, Profiles};
pub use source::SourceFile;
