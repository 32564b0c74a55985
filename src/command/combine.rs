//! `merge` and `compare` as calls over finished result directories: shards (or runs cut
//! short, from their `results.jsonl`) merged into one bundle with its verdict, and targets or
//! runs compared, for suite results and for `load` results alike.
//!
//! It reads and writes result files only; it never runs anything, and the rendering is
//! `report`'s.

use crate::load::results::{LoadReport, MergeError};
use crate::report::{
    self, ReportError, compare, compare_page,
    json::{HarnessError, Provenance, RunRecord},
};
use crate::result::ScenarioResult;
use crate::run::RunNotes;
use crate::spec::Suite;
use crate::verdict::{self, ProfileChoice, UnknownProfile};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CombineError {
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Profile(#[from] UnknownProfile),
    #[error(transparent)]
    LoadMerge(#[from] MergeError),
    #[error("{} is a run of `{other_target}` (suite {other_suite}), not of `{first_target}` (suite {first_suite})", dir.display())]
    OtherRun {
        dir: PathBuf,
        other_target: String,
        other_suite: String,
        first_target: String,
        first_suite: String,
    },
    #[error("{} was run for GWS {other} but an earlier directory for GWS {first}; merge runs of one version", dir.display())]
    OtherVersion {
        dir: PathBuf,
        other: crate::spec::GwsVersion,
        first: crate::spec::GwsVersion,
    },
    #[error("scenario `{id}` has results in both {} and {}", first.display(), second.display())]
    TwiceMerged {
        id: String,
        first: PathBuf,
        second: PathBuf,
    },
}

/// Whether every directory holds a `load` result (and none a suite result).
pub fn all_load(dirs: &[PathBuf]) -> bool {
    dirs.iter()
        .all(|d| d.join("load.json").exists() && !d.join("results.json").exists())
}

/// What `merge` produced.
#[derive(Debug)]
pub enum Merged {
    Suite {
        record: Box<RunRecord>,
        /// Directories whose run could not start, each with its cause: their share is untested.
        not_started: Option<String>,
    },
    Load(Box<LoadReport>),
}

/// Merges result directories into `out`: load results when every directory holds one,
/// suite results otherwise (judged for `profile`, or for the first run's profile).
pub fn merge(
    suite: &Suite,
    dirs: &[PathBuf],
    profile: Option<&str>,
    out: &Path,
) -> Result<Merged, CombineError> {
    std::fs::create_dir_all(out).map_err(|e| ReportError::write(out, e))?;
    if all_load(dirs) {
        let parts = dirs
            .iter()
            .map(|d| LoadReport::read(d))
            .collect::<Result<Vec<_>, _>>()?;
        let merged = LoadReport::merge(parts)?;
        merged.write(out)?;
        return Ok(Merged::Load(Box::new(merged)));
    }
    let mut provenance: Option<Provenance> = None;
    let mut results: Vec<ScenarioResult> = Vec::new();
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    let mut notes = RunNotes::default();
    let mut harness_errors: Vec<String> = Vec::new();
    for d in dirs {
        let part = read_part(d)?;
        notes.absorb(part.notes);
        if let Some(cause) = part.harness_error {
            harness_errors.push(format!("{}: {cause}", d.display()));
        }
        if let (Some(p), Some(first)) = (&part.provenance, &provenance) {
            if p.target_name != first.target_name || p.suite_hash != first.suite_hash {
                return Err(CombineError::OtherRun {
                    dir: d.clone(),
                    other_target: p.target_name.clone(),
                    other_suite: p.suite_hash.clone(),
                    first_target: first.target_name.clone(),
                    first_suite: first.suite_hash.clone(),
                });
            }
            if p.gws_version != first.gws_version {
                return Err(CombineError::OtherVersion {
                    dir: d.clone(),
                    other: p.gws_version,
                    first: first.gws_version,
                });
            }
        }
        match (&mut provenance, part.provenance) {
            (None, Some(p)) => provenance = Some(p),
            (Some(first), Some(p)) => {
                first.started = first.started.clone().min(p.started);
                first.finished = first.finished.clone().max(p.finished);
            }
            _ => {}
        }
        for r in part.results {
            if let Some(other) = seen.insert(r.id.clone(), d.clone()) {
                return Err(CombineError::TwiceMerged {
                    id: r.id,
                    first: other,
                    second: d.clone(),
                });
            }
            results.push(r);
        }
    }
    let mut provenance = provenance.unwrap_or(Provenance {
        tool: "gws-conformance".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        suite_hash: suite.hash.clone(),
        target_name: "(unknown: merged from results.jsonl only)".into(),
        target_url: String::new(),
        started: String::new(),
        finished: String::new(),
        profile: None,
        shard: None,
        gws_version: Default::default(),
    });
    provenance.shard = None;
    if let Some(name) = profile {
        provenance.profile = Some(name.to_string());
    }
    let verdict = match &provenance.profile {
        None => None,
        Some(name) => Some(ProfileChoice::resolve(suite, name)?.judge(
            suite,
            provenance.gws_version,
            &results,
        )),
    };
    let mut record = RunRecord::new(provenance, verdict, results, notes);
    // A shard that could not start leaves its slice untested: the merged run says so, as that
    // shard's own run did.
    let not_started = (!harness_errors.is_empty()).then(|| harness_errors.join("; "));
    if let Some(cause) = &not_started {
        record.harness_error = Some(HarnessError {
            status: verdict::Status::Incomplete,
            cause: format!("a merged run could not start: {cause}"),
        });
        if let Some(v) = &mut record.verdict {
            v.status = verdict::Status::Incomplete;
            v.cause = Some(cause.clone());
        }
    }
    report::write_bundle(out, &record)?;
    Ok(Merged::Suite {
        record: Box::new(record),
        not_started,
    })
}

/// What one directory contributes to a merge: everything of its `results.json`, or only the
/// results of its `results.jsonl` (a run cut short before it wrote the rest).
struct Part {
    provenance: Option<Provenance>,
    results: Vec<ScenarioResult>,
    notes: RunNotes,
    harness_error: Option<String>,
}

fn read_part(dir: &Path) -> Result<Part, ReportError> {
    if dir.join("results.json").exists() {
        let r = RunRecord::read_dir(dir)?;
        return Ok(Part {
            provenance: Some(r.provenance),
            results: r.results,
            notes: r.notes,
            harness_error: r.harness_error.map(|h| h.cause),
        });
    }
    let path = dir.join("results.jsonl");
    let text = std::fs::read_to_string(&path).map_err(|e| ReportError::Parse {
        path: path.clone(),
        what: format!("{e} (and no results.json)"),
    })?;
    let mut results = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        results.push(serde_json::from_str(line).map_err(|e| ReportError::Parse {
            path: path.clone(),
            what: format!("line {}: {e}", i + 1),
        })?);
    }
    Ok(Part {
        provenance: None,
        results,
        notes: RunNotes::default(),
        harness_error: None,
    })
}

/// What `compare` produced: the Markdown table, and the files written when asked.
pub struct Compared {
    pub markdown: String,
    /// `N targets, M scenarios, K differ` (suite results) or `N load runs compared`.
    pub headline: String,
}

/// Compares result directories (suite results, or load results when every directory holds
/// one), writing `compare.md`, `compare.json` and, for suite results, `compare.html` into `out`.
pub fn compare(
    suite: &Suite,
    dirs: &[PathBuf],
    out: Option<&Path>,
) -> Result<Compared, CombineError> {
    let mut files: Vec<(&str, String)> = Vec::new();
    let (markdown, headline) = if all_load(dirs) {
        let runs = dirs
            .iter()
            .map(|d| Ok((d.display().to_string(), LoadReport::read(d)?)))
            .collect::<Result<Vec<_>, ReportError>>()?;
        let markdown = report::load::compare_markdown(&runs);
        let summary: Vec<serde_json::Value> = runs
            .iter()
            .map(|(d, r)| {
                serde_json::json!({
                    "run": d,
                    "target": r.target_name,
                    "settings": r.settings,
                    "ops_per_sec": r.ops_per_sec(),
                    "ledger": r.ledger,
                    "percentiles": r.percentiles,
                })
            })
            .collect();
        files.push((
            "compare.json",
            serde_json::to_string_pretty(&summary).unwrap_or_default(),
        ));
        (
            markdown.clone(),
            format!("{} load runs compared", runs.len()),
        )
    } else {
        let records = dirs
            .iter()
            .map(|d| RunRecord::read_dir(d))
            .collect::<Result<Vec<_>, _>>()?;
        let reports: Vec<String> = match out {
            Some(out) => {
                std::fs::create_dir_all(out).map_err(|e| ReportError::write(out, e))?;
                dirs.iter()
                    .map(|d| report_link(out, d).unwrap_or_default())
                    .collect()
            }
            None => Vec::new(),
        };
        let comparison = compare::compare(&records, suite, &reports);
        let markdown = compare_page::markdown(&comparison);
        if out.is_some() {
            files.push(("compare.html", compare_page::html(&comparison)?));
            files.push((
                "compare.json",
                serde_json::to_string_pretty(&comparison).unwrap_or_default(),
            ));
        }
        let headline = format!(
            "{} targets, {} scenarios, {} differ",
            comparison.targets.len(),
            comparison.scenarios,
            comparison.differing
        );
        (markdown, headline)
    };
    if let Some(out) = out {
        std::fs::create_dir_all(out).map_err(|e| ReportError::write(out, e))?;
        files.push(("compare.md", markdown.clone()));
        for (name, text) in files {
            let path = out.join(name);
            std::fs::write(&path, text).map_err(|e| ReportError::write(path, e))?;
        }
    }
    Ok(Compared { markdown, headline })
}

/// `run`'s `report.html` as a link from `out` (relative, so the pair of folders can move
/// together), when the run has one.
fn report_link(out: &Path, run: &Path) -> Option<String> {
    let report = run.join("report.html").canonicalize().ok()?;
    let from = out.canonicalize().ok()?;
    let common = from
        .components()
        .zip(report.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut link: Vec<String> = vec!["..".to_string(); from.components().count() - common];
    link.extend(
        report
            .components()
            .skip(common)
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    Some(link.join("/"))
}
