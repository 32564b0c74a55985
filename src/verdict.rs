//! Certification verdicts: whether a run's results certify a target for a profile.
//!
//! A profile names media; its required scenarios are the `must` scenarios on those media in
//! the loaded suite. The verdict is *certified* only when every required scenario has a result
//! and passed; a required scenario that is not applicable only because an optional server
//! feature is absent (the `setup.optional` finding, e.g. no CSRF) is accepted, and so is one
//! graded `waived` (an active waiver accepts its failure), which the verdict counts and names:
//! "certified with 3 waivers". A scenario graded `flaky` (it failed, then passed on a retry)
//! blocks unless the profile says `flaky_counts_as_passed: true`. Missing results make the
//! verdict *incomplete*, which is an error rather than a failure; so does a required scenario
//! whose media the target gives no way to provision (the verdict names those media), and so
//! does one left `indeterminate` when the transport budget ran out (transport faults hid what
//! it was to observe; the verdict names the causes), unless a real failure makes it not
//! certified. Attempts re-run after transport faults are counted, with their causes, in every
//! verdict: a certification through a faulty network says what it had to re-do.

pub mod waivers;

use crate::plan::Case;
use crate::result::{Grade, ScenarioResult};
use crate::spec::{GwsVersion, Level, Profile};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Certified,
    NotCertified,
    /// Required scenarios have no result (filtered out, shard, crash): no verdict possible.
    Incomplete,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub profile: String,
    pub status: Status,
    pub required: usize,
    pub passed: usize,
    /// Of the passed ones, those whose `must` expectations held but a `should` did not.
    #[serde(default)]
    pub passed_with_warnings: usize,
    /// The GWS release whose documented shapes were required.
    #[serde(default)]
    pub gws_version: GwsVersion,
    /// Required scenarios that did not pass, with their grade.
    pub blocking: Vec<(String, Grade)>,
    /// How many root causes the blocking scenarios' errors fall into (see
    /// [`crate::report::groups::blocking_causes`]); 0 in files written before it existed.
    #[serde(default)]
    pub blocking_causes: usize,
    /// Required scenarios without a result.
    pub missing: Vec<String>,
    /// Media of required scenarios the target gives no way to provision: they need
    /// `fixtures.url` or `fixtures.exec` (their scenarios are in `not_provisioned`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs_fixtures: Vec<String>,
    /// Required scenarios graded not-applicable because the target gives no way to provision
    /// their media: like `missing`, they make the verdict incomplete, but they have a result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_provisioned: Vec<String>,
    /// Required scenarios graded not-applicable only because an optional feature is absent
    /// (`setup.optional`, e.g. no CSRF): accepted, and counted in `passed`.
    #[serde(default)]
    pub optional_absent: usize,
    /// The required scenarios per grade, in the grades' own words (`pass`, `not-applicable`
    /// …; `no result` for `missing`), so the verdict counts what the terminal and the reports
    /// count; empty in files written before it existed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counts: BTreeMap<String, usize>,
    /// Required scenarios that did not pass but an active waiver accepts: they do not block,
    /// and "certified with N waivers" is not "certified".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waived: Vec<String>,
    /// Required scenarios graded `flaky`: passed when the profile lets flaky count as passed
    /// (then also counted in `passed`), blocking otherwise (then also in `blocking`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flaky: Vec<String>,
    /// Required scenarios still indeterminate when the transport budget ran out: the verdict
    /// is incomplete because of them (never not certified).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indeterminate: Vec<String>,
    /// Attempts of the run's scenarios re-run on a fresh interaction after transport faults.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub redone: usize,
    /// The transport faults behind them (and behind indeterminate scenarios), by cause, most
    /// frequent first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transport_causes: Vec<(String, usize)>,
    /// Why no scenario ran at all (target unreachable, login refused…); absent otherwise.
    /// Not part of [`Verdict::summary`]: whoever shows the summary shows the cause on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

impl Verdict {
    /// One line: the status first, e.g. `NOT CERTIFIED: 222 blocking scenarios, 1 root cause
    /// — profile `full` (GWS 8.5.2): 322 required scenarios: 100 pass, 222 fail`. The counts
    /// use the grades' words, as the terminal's and the reports' counts do.
    pub fn summary(&self) -> String {
        let scope = format!(
            "profile `{}` (GWS {}): {}",
            self.profile,
            self.gws_version,
            self.counted()
        );
        let mut text = match self.status {
            Status::Certified if !self.waived.is_empty() => format!(
                "CERTIFIED with {} for {scope}",
                count(self.waived.len(), "waiver")
            ),
            Status::Certified => format!("CERTIFIED for {scope}"),
            Status::NotCertified => format!(
                "NOT CERTIFIED: {}, {} — {scope}",
                count(self.blocking.len(), "blocking scenario"),
                count(self.blocking_causes, "root cause")
            ),
            Status::Incomplete => format!("INCOMPLETE for {scope}"),
        };
        if self.redone > 0 || !self.transport_causes.is_empty() {
            let causes: Vec<String> = self
                .transport_causes
                .iter()
                .map(|(cause, n)| format!("{cause} ×{n}"))
                .collect();
            text.push_str(&format!(
                "; {} re-done after transport faults ({})",
                count(self.redone, "attempt"),
                causes.join(", ")
            ));
        }
        if self.status != Status::NotCertified && !self.blocking.is_empty() {
            text.push_str(&format!(", {} blocking", self.blocking.len()));
        }
        if !self.needs_fixtures.is_empty() {
            text.push_str(&format!(
                "; {} cannot be provisioned with this target: add fixtures.url or fixtures.exec for {}",
                self.needs_fixtures.join(", "),
                if self.needs_fixtures.len() == 1 { "it" } else { "them" }
            ));
        }
        text
    }

    /// `604 required scenarios: 333 pass, 271 not-applicable (266 cannot be provisioned, 5
    /// optional feature absent, accepted)`; from `passed` alone for files without `counts`.
    pub fn counted(&self) -> String {
        let required = count(self.required, "required scenario");
        if self.counts.is_empty() {
            return format!(
                "{}/{} required scenarios passed",
                self.passed, self.required
            );
        }
        let mut parts: Vec<String> = Grade::ALL
            .iter()
            .map(|g| g.as_str())
            .chain([NO_RESULT])
            .filter_map(|g| Some((g, *self.counts.get(g).filter(|n| **n > 0)?)))
            .map(|(g, n)| match g {
                "not-applicable" => format!(
                    "{n} {g}{}",
                    not_applicable_why(n, self.not_provisioned.len(), self.optional_absent)
                ),
                "warning" => format!("{n} {g} (counted as passed)"),
                "indeterminate" => format!("{n} {g} after the transport budget"),
                "flaky" if self.flaky_counts_as_passed() => format!("{n} {g} (counted as passed)"),
                _ => format!("{n} {g}"),
            })
            .collect();
        if parts.is_empty() {
            parts.push("none ran".into());
        }
        format!("{required}: {}", parts.join(", "))
    }

    /// Whether the flaky scenarios were counted in `passed` (the profile let them).
    fn flaky_counts_as_passed(&self) -> bool {
        !self.flaky.is_empty() && !self.blocking.iter().any(|(_, g)| *g == Grade::Flaky)
    }
}

/// Why `n` not-applicable scenarios were not applicable, of which `not_provisioned` for want
/// of provisioning and `optional_absent` for an optional feature the server does not use; the
/// one wording of the terminal, the verdict and the reports. Empty when neither applies.
pub fn not_applicable_why(n: usize, not_provisioned: usize, optional_absent: usize) -> String {
    let mut why = Vec::new();
    if not_provisioned > 0 {
        why.push(format!("{not_provisioned} cannot be provisioned"));
    }
    if optional_absent > 0 {
        why.push(format!("{optional_absent} optional feature absent"));
    }
    let other = n.saturating_sub(not_provisioned + optional_absent);
    if other > 0 && !why.is_empty() {
        why.push(format!("{other} not offered"));
    }
    match why.is_empty() {
        true => String::new(),
        false => format!(" ({})", why.join(", ")),
    }
}

/// The word for a required scenario without a result in [`Verdict::counts`].
pub const NO_RESULT: &str = "without a result";
fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The kind of a transport fault, for counting causes: what it hit and the first words of
/// why, without the URLs and ids that differ between occurrences.
pub fn transport_cause(fault: &crate::result::TransportFault) -> String {
    let what = if fault.server_forgot {
        "server forgot the session (restart or failover)"
    } else if fault.stream {
        "notification stream interrupted"
    } else {
        "request without a reply"
    };
    let why = fault.cause.to_lowercase();
    let kind = if fault.server_forgot {
        ""
    } else if why.contains("reset") {
        ": connection reset"
    } else if why.contains("refused") {
        ": connection refused"
    } else if why.contains("within") || why.contains("deadline") || why.contains("timed out") {
        ": no reply in time"
    } else if why.contains("body") || why.contains("closed") || why.contains("incomplete") {
        ": connection closed mid-reply"
    } else {
        ""
    };
    format!("{what}{kind}")
}

/// Attempts re-run after transport faults, and the faults' causes counted, over `results`.
pub fn transport_tally(results: &[ScenarioResult]) -> (usize, Vec<(String, usize)>) {
    // Every indeterminate attempt but a scenario's last was followed by a re-run.
    let redone = results
        .iter()
        .flat_map(|r| {
            r.attempts
                .split_last()
                .map_or(&[][..], |(_, earlier)| earlier)
        })
        .filter(|a| a.grade == Grade::Indeterminate)
        .count();
    let mut causes: BTreeMap<String, usize> = BTreeMap::new();
    for fault in results.iter().flat_map(|r| &r.transport) {
        *causes.entry(transport_cause(fault)).or_default() += 1;
    }
    let mut causes: Vec<(String, usize)> = causes.into_iter().collect();
    causes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    (redone, causes)
}

/// `1 root cause`, `2 root causes`.
pub fn count(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// Expands a profile's media (groups included) with the media table's groups.
pub fn profile_media(profile: &Profile, groups: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut out = Vec::new();
    for name in profile.media.names() {
        let members = groups.get(&name).cloned().unwrap_or_else(|| vec![name]);
        for m in members {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    out
}

/// Judges `results` against the required cases of a profile (`all_cases`: the whole suite's
/// cases, before any filter); `flaky_passes` is the profile's `flaky_counts_as_passed`.
pub fn judge(
    name: &str,
    media: &[String],
    flaky_passes: bool,
    gws_version: GwsVersion,
    all_cases: &[Case],
    results: &[ScenarioResult],
) -> Verdict {
    let by_id: HashMap<&str, &ScenarioResult> =
        results.iter().map(|r| (r.id.as_str(), r)).collect();
    let required: Vec<&Case> = all_cases
        .iter()
        .filter(|c| c.scenario.level == Level::Must && media.contains(&c.media))
        .collect();
    let mut passed = 0;
    let mut passed_with_warnings = 0;
    let mut blocking = Vec::new();
    let mut missing = Vec::new();
    let mut needs_fixtures: Vec<String> = Vec::new();
    let mut not_provisioned = Vec::new();
    let mut optional_absent = 0;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut waived = Vec::new();
    let mut flaky = Vec::new();
    let mut indeterminate = Vec::new();
    for case in &required {
        let result = by_id.get(case.id.as_str());
        let word = result.map_or(NO_RESULT, |r| r.grade.as_str());
        *counts.entry(word.to_string()).or_default() += 1;
        match result {
            None => missing.push(case.id.clone()),
            Some(r) if r.not_provisioned() => {
                not_provisioned.push(case.id.clone());
                if !needs_fixtures.contains(&case.media) {
                    needs_fixtures.push(case.media.clone());
                }
            }
            Some(r) if r.grade == Grade::Pass => passed += 1,
            // A `must` scenario is graded warning only when every `must` expectation held and
            // a `should` one (or a shape beyond the documented core) did not.
            Some(r) if r.grade == Grade::Warning => {
                passed += 1;
                passed_with_warnings += 1;
            }
            // Accepted: the scenario tests an optional feature the server does not use.
            Some(r) if r.optional_absent() => {
                passed += 1;
                optional_absent += 1;
            }
            Some(r) if r.grade == Grade::Waived => waived.push(r.id.clone()),
            Some(r) if r.grade == Grade::Indeterminate => indeterminate.push(r.id.clone()),
            Some(r) if r.grade == Grade::Flaky => {
                flaky.push(r.id.clone());
                match flaky_passes {
                    true => passed += 1,
                    false => blocking.push((r.id.clone(), r.grade)),
                }
            }
            Some(r) => blocking.push((r.id.clone(), r.grade)),
        }
    }
    let blocking_ids: Vec<String> = blocking.iter().map(|(id, _)| id.clone()).collect();
    let blocking_causes = crate::report::groups::blocking_causes(results, &blocking_ids).len();
    let status = if !missing.is_empty() || !not_provisioned.is_empty() || required.is_empty() {
        Status::Incomplete
    } else if !blocking.is_empty() {
        Status::NotCertified
    } else if !indeterminate.is_empty() {
        Status::Incomplete
    } else {
        Status::Certified
    };
    let (redone, transport_causes) = transport_tally(results);
    Verdict {
        profile: name.to_string(),
        status,
        required: required.len(),
        passed,
        passed_with_warnings,
        gws_version,
        blocking,
        blocking_causes,
        missing,
        needs_fixtures,
        not_provisioned,
        optional_absent,
        counts,
        waived,
        flaky,
        indeterminate,
        redone,
        transport_causes,
        cause: None,
    }
}

/// A profile named on the command line that the suite does not define.
#[derive(Debug, thiserror::Error)]
#[error("unknown profile `{name}`; known profiles: {known:?}")]
pub struct UnknownProfile {
    pub name: String,
    pub known: Vec<String>,
}

/// A profile chosen for a run, resolved once: its name, its media (groups expanded) and
/// whether a flaky scenario counts as passed.
#[derive(Debug, Clone)]
pub struct ProfileChoice {
    pub name: String,
    pub media: Vec<String>,
    pub flaky_counts_as_passed: bool,
}

impl ProfileChoice {
    pub fn resolve(
        suite: &crate::spec::Suite,
        name: &str,
    ) -> Result<ProfileChoice, UnknownProfile> {
        let Some(profile) = suite.profiles.profiles.get(name) else {
            return Err(UnknownProfile {
                name: name.to_string(),
                known: suite.profiles.profiles.keys().cloned().collect(),
            });
        };
        Ok(ProfileChoice {
            name: name.to_string(),
            media: profile_media(profile, &suite.media.groups),
            flaky_counts_as_passed: profile.flaky_counts_as_passed,
        })
    }

    /// The verdict over `results`, against every case of the whole suite (a filtered or
    /// sharded run is judged on what the profile requires, not on what it selected).
    pub fn judge(
        &self,
        suite: &crate::spec::Suite,
        gws_version: GwsVersion,
        results: &[ScenarioResult],
    ) -> Verdict {
        let all_cases = crate::plan::build(suite, &crate::plan::Selection::default());
        judge(
            &self.name,
            &self.media,
            self.flaky_counts_as_passed,
            gws_version,
            &all_cases,
            results,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{Attempt, Finding, TransportFault};

    /// The voice profile's required cases, each passed; then `edit` changes some results.
    fn voice(edit: impl Fn(&mut Vec<ScenarioResult>)) -> Verdict {
        let suite = crate::suite::builtin().expect("the built-in suite loads");
        let cases = crate::plan::build(&suite, &crate::plan::Selection::default());
        let media = vec!["voice".to_string()];
        let mut results: Vec<ScenarioResult> = cases
            .iter()
            .filter(|c| c.media == "voice" && c.scenario.level == Level::Must)
            .map(|c| ScenarioResult::for_test(&c.id, "voice", Vec::new()))
            .collect();
        edit(&mut results);
        judge(
            "voice",
            &media,
            false,
            GwsVersion::default(),
            &cases,
            &results,
        )
    }

    fn reset() -> TransportFault {
        TransportFault {
            stream: true,
            attempt: 1,
            ..TransportFault::request("agent1's notification stream", "connection reset by peer")
        }
    }

    #[test]
    fn settled_transport_faults_certify_and_are_counted() {
        let v = voice(|results| {
            let r = &mut results[0];
            let mut hidden = r.clone();
            hidden.grade = Grade::Indeterminate;
            r.attempts = vec![Attempt::of(&hidden), Attempt::of(r)];
            r.transport = vec![reset()];
        });
        assert_eq!(v.status, Status::Certified);
        assert_eq!(v.redone, 1);
        assert_eq!(
            v.transport_causes,
            [(
                "notification stream interrupted: connection reset".to_string(),
                1
            )]
        );
        assert!(
            v.summary().contains(
                "1 attempt re-done after transport faults (notification stream interrupted: connection reset ×1)"
            ),
            "{}",
            v.summary()
        );
    }

    #[test]
    fn an_exhausted_budget_is_incomplete_and_a_real_failure_still_fails() {
        let v = voice(|results| {
            results[0].grade = Grade::Indeterminate;
            results[0].transport = vec![reset()];
        });
        assert_eq!(v.status, Status::Incomplete);
        assert_eq!(v.indeterminate.len(), 1);
        assert_eq!(v.redone, 0);
        assert!(
            v.summary()
                .contains("1 indeterminate after the transport budget")
        );
        let v = voice(|results| {
            results[0].grade = Grade::Indeterminate;
            results[1] = ScenarioResult::for_test(
                &results[1].id.clone(),
                "voice",
                vec![Finding::new("notification", "wrong messageType")],
            );
        });
        assert_eq!(v.status, Status::NotCertified);
    }
}
