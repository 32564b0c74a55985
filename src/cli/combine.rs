//! `compare` and `merge`: commands over finished result directories.

use super::{EXIT_ERROR, EXIT_OK, SuiteArgs, error};
use clap::Args;
use gws_conformance::load::report::LoadReport;
use gws_conformance::plan;
use gws_conformance::report::{
    self, compare,
    json::{HarnessError, Provenance, RunRecord},
};
use gws_conformance::result::ScenarioResult;
use gws_conformance::run::RunNotes;
use gws_conformance::verdict;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct CompareArgs {
    /// Result directories (each with results.json), one per target or run.
    #[arg(required = true, num_args = 2.., value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Write compare.json, compare.md and compare.html here.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    suite: SuiteArgs,
}

#[derive(Args)]
pub struct MergeArgs {
    /// Result directories to combine (e.g. one per shard).
    #[arg(required = true, num_args = 1.., value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Where the merged results and reports go.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Judge the merged results for this profile (default: the profile of the first run).
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    #[command(flatten)]
    suite: SuiteArgs,
}

/// `compare` over `load` result directories: the runs side by side.
fn compare_load(args: &CompareArgs) -> ExitCode {
    let mut runs = Vec::new();
    for d in &args.dirs {
        match LoadReport::read(d) {
            Ok(r) => runs.push((d.display().to_string(), r)),
            Err(e) => return error(e),
        }
    }
    let markdown = gws_conformance::load::report::compare_markdown(&runs);
    match &args.out {
        Some(out) => {
            let json = serde_json::to_string_pretty(
                &runs
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
                    .collect::<Vec<_>>(),
            )
            .unwrap_or_default();
            let written = std::fs::create_dir_all(out)
                .and_then(|_| std::fs::write(out.join("compare.md"), &markdown))
                .and_then(|_| std::fs::write(out.join("compare.json"), json));
            if let Err(e) = written {
                return error(format!(
                    "cannot write the comparison into {}: {e}",
                    out.display()
                ));
            }
            outln!(
                "{} load runs compared; written to {}",
                runs.len(),
                out.display()
            );
        }
        None => out!("{markdown}"),
    }
    ExitCode::from(EXIT_OK)
}

pub fn compare(args: CompareArgs) -> ExitCode {
    if args
        .dirs
        .iter()
        .all(|d| d.join("load.json").exists() && !d.join("results.json").exists())
    {
        return compare_load(&args);
    }
    let suite = match args.suite.load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let mut records = Vec::new();
    for d in &args.dirs {
        match RunRecord::read_dir(d) {
            Ok(r) => records.push(r),
            Err(e) => return error(e),
        }
    }
    let comparison = compare::compare(&records, &suite.profiles, &suite.media.groups);
    let markdown = compare::markdown(&comparison);
    match &args.out {
        Some(out) => {
            let html = match compare::html(&comparison) {
                Ok(h) => h,
                Err(e) => return error(e),
            };
            let json = serde_json::to_string_pretty(&comparison).unwrap_or_default();
            let written = std::fs::create_dir_all(out)
                .and_then(|_| std::fs::write(out.join("compare.md"), &markdown))
                .and_then(|_| std::fs::write(out.join("compare.html"), html))
                .and_then(|_| std::fs::write(out.join("compare.json"), json));
            if let Err(e) = written {
                return error(format!(
                    "cannot write the comparison into {}: {e}",
                    out.display()
                ));
            }
            let differing = comparison.rows.iter().filter(|r| r.differs).count();
            outln!(
                "{} targets, {} scenarios, {differing} differ; written to {}",
                comparison.targets.len(),
                comparison.rows.len(),
                out.display()
            );
        }
        None => out!("{markdown}"),
    }
    ExitCode::from(EXIT_OK)
}

/// Reads `results.json`, or — for a run that was killed — the `results.jsonl` it left.
/// What one directory contributes to a merge: everything of its `results.json`, or only the
/// results of its `results.jsonl` (a run cut short before it wrote the rest).
struct Part {
    provenance: Option<Provenance>,
    results: Vec<ScenarioResult>,
    notes: RunNotes,
    harness_error: Option<String>,
}

fn read_any(dir: &Path) -> Result<Part, String> {
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
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e} (and no results.json)", path.display()))?;
    let mut results = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        results.push(
            serde_json::from_str(line).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?,
        );
    }
    Ok(Part {
        provenance: None,
        results,
        notes: RunNotes::default(),
        harness_error: None,
    })
}

/// Merges `load.json` files (the shards of one load) into `out/load.json`; exit 1 when the
/// merged ledger fails, as `load` would.
fn merge_load(args: &MergeArgs) -> ExitCode {
    let mut parts = Vec::new();
    for d in &args.dirs {
        match LoadReport::read(d) {
            Ok(r) => parts.push(r),
            Err(e) => return error(e),
        }
    }
    let merged = match LoadReport::merge(parts) {
        Ok(m) => m,
        Err(e) => return error(e),
    };
    if let Err(e) = std::fs::create_dir_all(&args.out)
        .map_err(|e| e.to_string())
        .and_then(|_| merged.write(&args.out))
    {
        return error(format!(
            "cannot write the merged load into {}: {e}",
            args.out.display()
        ));
    }
    out!("{}", merged.summary());
    outln!(
        "merged {} load results into {}",
        args.dirs.len(),
        args.out.join("load.json").display()
    );
    ExitCode::from(if merged.fails() {
        super::EXIT_FAIL
    } else {
        EXIT_OK
    })
}

pub fn merge(args: MergeArgs) -> ExitCode {
    // Directories written by `load` hold load.json and no suite results.
    if args
        .dirs
        .iter()
        .all(|d| d.join("load.json").exists() && !d.join("results.json").exists())
    {
        return merge_load(&args);
    }
    let suite = match args.suite.load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let mut provenance: Option<Provenance> = None;
    let mut results: Vec<ScenarioResult> = Vec::new();
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    let mut notes = RunNotes::default();
    let mut harness_errors: Vec<String> = Vec::new();
    for d in &args.dirs {
        let part = match read_any(d) {
            Ok(x) => x,
            Err(e) => return error(e),
        };
        let (p, rs) = (part.provenance, part.results);
        notes.absorb(part.notes);
        if let Some(cause) = part.harness_error {
            harness_errors.push(format!("{}: {cause}", d.display()));
        }
        if let (Some(p), Some(first)) = (&p, &provenance)
            && (p.target_name != first.target_name || p.suite_hash != first.suite_hash)
        {
            return error(format!(
                "{} is a run of `{}` (suite {}), not of `{}` (suite {})",
                d.display(),
                p.target_name,
                p.suite_hash,
                first.target_name,
                first.suite_hash
            ));
        }
        if let (Some(first), Some(p)) = (&provenance, p.as_ref())
            && first.gws_version != p.gws_version
        {
            return error(format!(
                "{} was run for GWS {} but an earlier directory for GWS {}; merge runs of one version",
                d.display(),
                p.gws_version,
                first.gws_version
            ));
        }
        match (&mut provenance, p) {
            (None, Some(p)) => provenance = Some(p),
            (Some(first), Some(p)) => {
                first.started = first.started.clone().min(p.started);
                first.finished = first.finished.clone().max(p.finished);
            }
            _ => {}
        }
        for r in rs {
            if let Some(other) = seen.insert(r.id.clone(), d.clone()) {
                return error(format!(
                    "scenario `{}` has results in both {} and {}",
                    r.id,
                    other.display(),
                    d.display()
                ));
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
    if args.profile.is_some() {
        provenance.profile = args.profile.clone();
    }
    let verdict = match &provenance.profile {
        None => None,
        Some(name) => match suite.profiles.profiles.get(name) {
            None => return error(format!("unknown profile `{name}`")),
            Some(p) => {
                let media = verdict::profile_media(p, &suite.media.groups);
                let all = plan::build(&suite, &plan::Selection::default());
                Some(verdict::judge(
                    name,
                    &media,
                    p.flaky_counts_as_passed,
                    provenance.gws_version,
                    &all,
                    &results,
                ))
            }
        },
    };
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        return error(format!("cannot create {}: {e}", args.out.display()));
    }
    let count = results.len();
    let mut record = RunRecord::new(provenance, verdict.clone(), results, notes);
    // A shard that could not start leaves its slice untested: the merged run says so, as that
    // shard's own run did.
    let harness_error = (!harness_errors.is_empty()).then(|| harness_errors.join("; "));
    if let Some(cause) = &harness_error {
        record.harness_error = Some(HarnessError {
            status: verdict::Status::Incomplete,
            cause: format!("a merged run could not start: {cause}"),
        });
        if let Some(v) = &mut record.verdict {
            v.status = verdict::Status::Incomplete;
            v.cause = Some(cause.clone());
        }
    }
    if let Err(e) = report::write_bundle(&args.out, &record) {
        return error(e);
    }
    outln!(
        "merged {count} results from {} directories into {}",
        args.dirs.len(),
        args.out.display()
    );
    if let Some(v) = &record.verdict {
        outln!("verdict: {}", v.summary());
    }
    if let Some(cause) = harness_error {
        eprintln!("error: a merged run could not start, so its share is untested: {cause}");
        return ExitCode::from(EXIT_ERROR);
    }
    ExitCode::from(EXIT_OK)
}
