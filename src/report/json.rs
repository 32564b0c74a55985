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
}

/// The whole run, as written to `results.json`.
#[derive(Debug, Clone, Serialize)]
pub struct RunDocument<'a> {
    pub format: &'static str,
    pub provenance: &'a Provenance,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<&'a crate::verdict::Verdict>,
    pub tally: Tally,
    pub results: &'a [ScenarioResult],
    pub notes: &'a crate::run::RunNotes,
}

pub fn write_document(
    path: &Path,
    provenance: &Provenance,
    verdict: Option<&crate::verdict::Verdict>,
    results: &[ScenarioResult],
    notes: &crate::run::RunNotes,
) -> std::io::Result<()> {
    let doc = RunDocument {
        format: "gws-conformance/results/v1",
        provenance,
        verdict,
        tally: Tally::of(results),
        results,
        notes,
    };
    let text = serde_json::to_string_pretty(&doc).map_err(std::io::Error::other)?;
    std::fs::write(path, text)
}
