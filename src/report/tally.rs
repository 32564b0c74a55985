//! The run's counts per grade (`Tally`) and the exit code they give: what the terminal summary,
//! the reports and `results.json` count alike. It renders nothing.

use crate::result::{Grade, ScenarioResult};
use crate::spec::Level;
use std::collections::BTreeMap;

/// Counts per grade.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    pub counts: BTreeMap<String, usize>,
    pub total: usize,
    /// Of the `not-applicable` ones, those whose media the target gives no way to provision
    /// (0 in files written before it existed).
    #[serde(default)]
    pub not_provisioned: usize,
    /// Of the `not-applicable` ones, those testing an optional feature the server does not use
    /// (0 in files written before it existed).
    #[serde(default)]
    pub optional_absent: usize,
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
            t.not_provisioned += usize::from(r.not_provisioned());
            t.optional_absent += usize::from(r.optional_absent());
        }
        t
    }

    pub fn get(&self, grade: Grade) -> usize {
        self.counts.get(grade.as_str()).copied().unwrap_or(0)
    }

    /// `333 pass, 0 fail, 280 not-applicable (270 cannot be provisioned, 10 optional feature
    /// absent)`: every grade that
    /// occurred (and `always`, even at 0), in the words of the verdict and the reports.
    pub fn text(&self, always: &[Grade]) -> String {
        Grade::ALL
            .iter()
            .filter(|g| self.get(**g) > 0 || always.contains(g))
            .map(|g| match g {
                Grade::NotApplicable => format!(
                    "{} {}{}",
                    self.get(*g),
                    g.as_str(),
                    crate::verdict::not_applicable_why(
                        self.get(*g),
                        self.not_provisioned,
                        self.optional_absent
                    )
                ),
                _ => format!("{} {}", self.get(*g), g.as_str()),
            })
            .collect::<Vec<_>>()
            .join(", ")
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
