//! Report stage: renders results for people and machines.
//!
//! Reporters consume [`crate::result::ScenarioResult`]s and run summaries; they never call the
//! runner or the checks.

mod bundle;
pub mod compare;
pub mod compare_page;
pub mod ctrf;
pub mod diff;
mod error;
pub mod groups;
pub mod html;
pub mod json;
pub mod junit;
pub mod kill_matrix;
pub mod load;
pub mod markdown;
pub mod matrix;
mod tally;
pub mod terminal;
pub mod view;

pub use bundle::write_bundle;
pub use error::{ReportError, render_template};
pub use tally::{Tally, exit_code};
