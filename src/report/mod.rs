//! Report stage: renders results for people and machines.
//!
//! Reporters consume [`crate::result::ScenarioResult`]s and run summaries; they never call the
//! runner or the checks.

mod bundle;
pub mod compare;
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
pub mod terminal;
pub mod view;

pub use bundle::write_bundle;
pub use error::{ReportError, render_template};

use crate::result::{Grade, ScenarioResult};
use crate::spec::Level;
use std::collections::BTreeMap;

/// Counts per grade.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    pub counts: BTreeMap<String, usize>,
    pub total: usize,
}

impl Tally {
    pub fn of(results: &[ScenarioResult]) -> Tally {
        let mut t = Tally::default();
        for g in Grade::ALL {
            t.counts.insert(g.as_str().to_string(), 0);
        }
        for r in results {
            *t.counts.entry(r.grade.as_str().to_string()).or_default() += 1;
            t.total += 1;
        }
        t
    }

    pub fn get(&self, grade: Grade) -> usize {
        self.counts.get(grade.as_str()).copied().unwrap_or(0)
    }
}

/// The process exit code for a finished run: 0 when every `must` scenario that applies
/// passed, 1 otherwise (a flaky `must` scenario did not reliably pass).
pub fn exit_code(results: &[ScenarioResult]) -> i32 {
    let failed = results.iter().any(|r| {
        r.grade == Grade::Fail
            || (r.level == Level::Must && matches!(r.grade, Grade::CouldNotTest | Grade::Flaky))
    });
    i32::from(failed)
}
