//! The one reader of a run's results (README "Results"): `results.jsonl` and `results.json` in
//! an `--out` directory.
//!
//! It checks that what is there is JSON (a line that is not fails the test, naming the file and
//! the line) and notes what is absent; it does not judge the contents, which is each test's
//! business. Results stay `serde_json::Value`s so a test can reach any field the format has;
//! the few fields many tests read (`id`, `grade`, finding messages) have helpers.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// What a run left in its `--out` directory.
pub struct Results {
    /// `results.jsonl`, one value per line, in order; `None` when the file is absent.
    pub lines: Option<Vec<Value>>,
    /// `results.json`, the whole run; `None` when the run did not get to write it.
    pub record: Option<Value>,
}

impl Results {
    /// Reads both files in `out`.
    pub fn read(out: &Path) -> Results {
        Results::read_explained(out, "")
    }

    /// Like [`Results::read`]; `context` (say, the run's stderr) is added to the message when a
    /// file is not JSON, so the failure shows why.
    pub fn read_explained(out: &Path, context: &str) -> Results {
        let read = |name: &str| std::fs::read_to_string(out.join(name)).ok();
        let lines = read("results.jsonl").map(|text| {
            text.lines()
                .enumerate()
                .map(|(n, l)| {
                    serde_json::from_str::<Value>(l).unwrap_or_else(|e| {
                        panic!(
                            "results.jsonl line {} is not complete JSON ({e}): {l}\n{context}",
                            n + 1
                        )
                    })
                })
                .collect()
        });
        let record = read("results.json").map(|text| {
            serde_json::from_str::<Value>(&text)
                .unwrap_or_else(|e| panic!("results.json is not JSON ({e})\n{context}"))
        });
        Results { lines, record }
    }

    /// `results.jsonl`; the test fails when it is absent.
    pub fn lines(&self) -> &[Value] {
        self.lines
            .as_deref()
            .expect("results.jsonl is written by every run with --out")
    }

    /// `results.json`; the test fails when it is absent.
    pub fn record(&self) -> &Value {
        self.record
            .as_ref()
            .expect("results.json is written when a run finishes")
    }

    /// The `results` array of `results.json`.
    pub fn record_results(&self) -> &[Value] {
        self.record()["results"]
            .as_array()
            .expect("results.json has a `results` array")
    }

    /// Grade by scenario id, from `results.jsonl`.
    pub fn grades(&self) -> BTreeMap<String, String> {
        self.lines()
            .iter()
            .map(|r| (field(r, "id"), field(r, "grade")))
            .collect()
    }
}

fn field(result: &Value, name: &str) -> String {
    result[name]
        .as_str()
        .unwrap_or_else(|| panic!("a result without a string `{name}`: {result}"))
        .to_string()
}

/// The messages of a result's findings, in order.
pub fn messages(result: &Value) -> Vec<String> {
    result["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["message"].as_str().map(str::to_string))
        .collect()
}
