//! Machine-readable results: `results.jsonl` (one line per finished scenario, flushed as each
//! finishes) and `results.json` (the whole run with provenance, root causes, and — when the run
//! could not start — the harness error that stopped it).

use super::Tally;
use crate::result::ScenarioResult;
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Appends results to `results.jsonl`, flushing after every line so a crash loses nothing
/// already finished.
pub struct JsonLines {
    file: BufWriter<File>,
}

impl JsonLines {
    pub fn create(path: &Path) -> std::io::Result<JsonLines> {
        Ok(JsonLines {
            file: BufWriter::new(File::create(path)?),
        })
    }

    pub fn write(&mut self, result: &ScenarioResult) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.file, result)?;
        self.file.write_all(b"\n")?;
        self.file.flush()?;
        self.file.get_ref().sync_data()
    }
}

/// Where results came from.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Provenance {
    pub tool: String,
    pub tool_version: String,
    pub suite_hash: String,
    pub target_name: String,
    pub target_url: String,
    pub started: String,
    pub finished: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// The GWS release whose documented shapes the run required.
    #[serde(default)]
    pub gws_version: crate::spec::GwsVersion,
}

/// The whole run, as written to `results.json` and read back by `report`, `compare` and
/// `merge`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RunRecord {
    pub format: String,
    pub provenance: Provenance,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<crate::verdict::Verdict>,
    pub tally: Tally,
    /// Findings grouped by root cause across scenarios (see [`super::groups`]); derived from
    /// `results`, absent from files written before it existed.
    #[serde(default)]
    pub root_causes: Vec<super::groups::RootCause>,
    pub results: Vec<ScenarioResult>,
    #[serde(default)]
    pub notes: crate::run::RunNotes,
    /// What `--waivers` did: waived scenarios, waivers no longer needed, expired and unmatched
    /// ones; absent without a waiver file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waivers: Option<crate::verdict::waivers::WaiverOutcome>,
    /// Set when the run stopped before its first scenario; absent for every run that started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harness_error: Option<HarnessError>,
}

/// Why a run could not start (target unreachable, login refused, `GET /api/v2/me` broken…).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct HarnessError {
    /// Always `incomplete`: nothing was tested, so nothing is certified or failed. Present even
    /// when no profile was requested, so one field tells every reader.
    pub status: crate::verdict::Status,
    /// The error, as printed on stderr.
    pub cause: String,
}

pub const FORMAT: &str = "gws-conformance/results/v1";

impl RunRecord {
    pub fn new(
        provenance: Provenance,
        verdict: Option<crate::verdict::Verdict>,
        results: Vec<ScenarioResult>,
        notes: crate::run::RunNotes,
    ) -> RunRecord {
        RunRecord {
            format: FORMAT.into(),
            provenance,
            verdict,
            tally: Tally::of(&results),
            root_causes: super::groups::root_causes(&results),
            results,
            notes,
            waivers: None,
            harness_error: None,
        }
    }

    /// The record of a run that could not start: no results, the cause, and the verdict
    /// (`incomplete`, with the cause) when a profile was requested.
    pub fn not_started(
        provenance: Provenance,
        verdict: Option<crate::verdict::Verdict>,
        cause: String,
    ) -> RunRecord {
        let verdict = verdict.map(|mut v| {
            v.status = crate::verdict::Status::Incomplete;
            v.cause = Some(cause.clone());
            v
        });
        RunRecord {
            harness_error: Some(HarnessError {
                status: crate::verdict::Status::Incomplete,
                cause,
            }),
            ..RunRecord::new(provenance, verdict, Vec::new(), Default::default())
        }
    }

    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(path, text)
    }

    /// Reads `dir/results.json`; the error names the file.
    pub fn read_dir(dir: &Path) -> Result<RunRecord, super::ReportError> {
        let path = dir.join("results.json");
        let text =
            std::fs::read_to_string(&path).map_err(|e| super::ReportError::read(&path, e))?;
        let record: RunRecord =
            serde_json::from_str(&text).map_err(|e| super::ReportError::Parse {
                path: path.clone(),
                what: format!("not a results file: {e}"),
            })?;
        if record.format != FORMAT {
            return Err(super::ReportError::Parse {
                path,
                what: format!("unknown format `{}` (expected {FORMAT})", record.format),
            });
        }
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance() -> Provenance {
        Provenance {
            tool: "gws-conformance".into(),
            tool_version: "0".into(),
            suite_hash: "h".into(),
            target_name: "t".into(),
            target_url: "http://127.0.0.1:9".into(),
            started: "s".into(),
            finished: "f".into(),
            profile: None,
            shard: None,
            gws_version: Default::default(),
        }
    }

    #[test]
    fn a_record_from_before_root_causes_and_harness_errors_still_reads() {
        let mut value = serde_json::to_value(RunRecord::new(
            provenance(),
            None,
            Vec::new(),
            Default::default(),
        ))
        .unwrap();
        let object = value.as_object_mut().unwrap();
        assert!(object.remove("root_causes").is_some());
        assert!(
            !object.contains_key("harness_error"),
            "absent when the run started"
        );
        let record: RunRecord = serde_json::from_value(value).unwrap();
        assert!(record.root_causes.is_empty() && record.harness_error.is_none());
    }

    #[test]
    fn a_run_that_could_not_start_is_incomplete_with_its_cause() {
        let record = RunRecord::not_started(provenance(), None, "login refused".into());
        let value = serde_json::to_value(&record).unwrap();
        assert_eq!(value["harness_error"]["status"], "incomplete");
        assert_eq!(value["harness_error"]["cause"], "login refused");
        assert_eq!(value["tally"]["total"], 0);
        let back: RunRecord = serde_json::from_value(value).unwrap();
        assert_eq!(back.harness_error, record.harness_error);
    }
}
