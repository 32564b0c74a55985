//! Pinned notification shapes: reading insta `.snap` files outside of tests.
//!
//! The test harness writes and asserts snapshots through insta; a run only reads them, from
//! a directory or from the copies built into the binary, and compares shapes structurally.
//! Nothing here writes an insta snapshot; a target's own accepted shapes (`--target-snapshots`)
//! are plain JSON files, read and written here.

use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, Default)]
pub struct SnapshotStore {
    shapes: HashMap<String, Value>,
}

/// The JSON body of an insta snapshot file (the part after the metadata header).
pub fn parse_snap(text: &str) -> Option<Value> {
    let rest = text.strip_prefix("---\n")?;
    let end = rest.find("\n---\n")?;
    serde_json::from_str(&rest[end + 5..]).ok()
}

impl SnapshotStore {
    pub fn from_files<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> SnapshotStore {
        let shapes = files
            .into_iter()
            .filter_map(|(name, text)| {
                let stem = Path::new(name)
                    .file_name()?
                    .to_str()?
                    .strip_suffix(".snap")?;
                Some((stem.to_string(), parse_snap(text)?))
            })
            .collect();
        SnapshotStore { shapes }
    }

    pub fn from_dir(dir: &Path) -> std::io::Result<SnapshotStore> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "snap") {
                files.push((path.display().to_string(), std::fs::read_to_string(&path)?));
            }
        }
        Ok(SnapshotStore::from_files(
            files.iter().map(|(n, t)| (n.as_str(), t.as_str())),
        ))
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.shapes.get(name)
    }
}

/// Reads a target's accepted snapshots: `<name>.json` files holding redacted notifications.
/// A missing directory is an empty store (nothing accepted yet).
pub fn read_json_dir(dir: &Path) -> std::io::Result<HashMap<String, Value>> {
    let mut out = HashMap::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        let Some(stem) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path)?;
        let value = serde_json::from_str(&text).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })?;
        out.insert(stem.to_string(), value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_insta_files() {
        let text = "---\nsource: tests/conformance.rs\nexpression: x\n---\n{\n  \"a\": 1\n}\n";
        assert_eq!(parse_snap(text), Some(serde_json::json!({"a": 1})));
        assert_eq!(parse_snap("garbage"), None);
    }
}

/// A target snapshot that could not be stored.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub struct SnapshotWriteError {
    pub path: std::path::PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Stores each result's redacted notification as `<dir>/<snapshot name>.json`, the target's
/// accepted shapes from now on (`run --accept-snapshots`); returns how many were written.
pub fn accept_json_dir(
    dir: &Path,
    results: &[crate::result::ScenarioResult],
) -> Result<usize, SnapshotWriteError> {
    let failed = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SnapshotWriteError { path, source }
    };
    std::fs::create_dir_all(dir).map_err(failed(dir))?;
    let mut written = 0;
    for r in results {
        if let Some(notification) = &r.notification {
            let path = dir.join(format!("{}.json", r.id.replace('/', "__")));
            let text = serde_json::to_string_pretty(notification).unwrap_or_default();
            std::fs::write(&path, text + "\n").map_err(failed(&path))?;
            written += 1;
        }
    }
    Ok(written)
}
