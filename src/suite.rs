//! The default suite built into the binary, and loading a suite from a directory.
//!
//! This module only finds sources; parsing and validation are the spec stage's.

use crate::snapshot::SnapshotStore;
use crate::spec::{self, SourceFile, SpecErrors, Suite};
use std::path::Path;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_suite.rs"));
}

/// The built-in suite.
pub fn builtin() -> Result<Suite, SpecErrors> {
    let files: Vec<SourceFile> = embedded::SPEC_FILES
        .iter()
        .map(|(p, t)| SourceFile {
            path: (*p).to_string(),
            text: (*t).to_string(),
        })
        .collect();
    let profiles = files
        .iter()
        .find(|f| f.path == "specs/profiles.yaml")
        .cloned();
    let (media, scenarios): (Vec<_>, Vec<_>) = files
        .into_iter()
        .partition(|f| f.path.ends_with("media.yaml") && !f.path.contains("scenarios"));
    let Some(media) = media.into_iter().next() else {
        return Err(SpecErrors(vec![spec::SpecError::new(
            "specs/media.yaml",
            "the binary was built without specs/media.yaml",
        )]));
    };
    let scenarios: Vec<SourceFile> = scenarios
        .into_iter()
        .filter(|f| f.path.starts_with("specs/scenarios"))
        .collect();
    spec::load_suite_with_profiles(&media, profiles.as_ref(), &scenarios)
}

pub fn builtin_snapshots() -> SnapshotStore {
    SnapshotStore::from_files(embedded::SNAPSHOT_FILES.iter().copied())
}

/// Loads `dir/media.yaml` and `dir/scenarios/**.yaml`.
pub fn from_dir(dir: &Path) -> Result<Suite, SpecErrors> {
    let (media, profiles, files) = spec::read_dir(dir)?;
    spec::load_suite_with_profiles(&media, profiles.as_ref(), &files)
}

/// The built-in media table as a source file, for validating loose scenario files.
pub fn builtin_media_file() -> SourceFile {
    embedded::SPEC_FILES
        .iter()
        .find(|(p, _)| p.ends_with("specs/media.yaml"))
        .map(|(p, t)| SourceFile {
            path: (*p).to_string(),
            text: (*t).to_string(),
        })
        .unwrap_or(SourceFile {
            path: "specs/media.yaml".into(),
            text: String::new(),
        })
}
