//! Machine-readable results: `results.jsonl` (one line per finished scenario, flushed as each
//! finishes) and `results.json` (the whole run with provenance).

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
    pub results: Vec<ScenarioResult>,
    #[serde(default)]
    pub notes: crate::run::RunNotes,
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
            results,
            notes,
        }
    }

    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(path, text)
    }

    /// Reads `dir/results.json`; the error names the file.
    pub fn read_dir(dir: &Path) -> Result<RunRecord, String> {
        let path = dir.join("results.json");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let record: RunRecord = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a results file: {e}", path.display()))?;
        if record.format != FORMAT {
            return Err(format!(
                "{}: unknown format `{}` (expected {FORMAT})",
                path.display(),
                record.format
            ));
        }
        Ok(record)
    }
}
