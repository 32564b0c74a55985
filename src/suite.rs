//! The default suite built into the binary, and loading a suite from a directory: finding
//! `media.yaml`, `profiles.yaml` and `scenarios/**.yaml` and reading them into sources.
//!
//! This module only finds and reads sources; parsing and validation are the spec stage's
//! (`crate::spec`), which does no file IO of its own.

use crate::check::snapshot::SnapshotStore;
use crate::spec::{self, SourceFile, SpecError, SpecErrors, Suite};
use std::path::{Path, PathBuf};

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

/// Loads `dir/media.yaml` (or the built-in table when the directory has none),
/// `dir/profiles.yaml` when present and `dir/scenarios/**.yaml`, dropping the notes
/// [`load_dir`] would give: for callers with no one to tell.
pub fn from_dir(dir: &Path) -> Result<Suite, SpecErrors> {
    load_dir(dir, &mut Vec::new())
}

/// Like [`from_dir`], adding to `notes` what the user should be told about how the suite was
/// found (e.g. that the built-in media table stands in for a missing one). The notes are
/// added whether or not the suite loads, since they can explain its errors; showing them is
/// the caller's business (the library never prints).
pub fn load_dir(dir: &Path, notes: &mut Vec<String>) -> Result<Suite, SpecErrors> {
    let sources = read_dir(dir)?;
    notes.extend(sources.notes);
    spec::load_suite_with_profiles(
        &sources.media,
        sources.profiles.as_ref(),
        &sources.scenarios,
    )
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

/// A spec directory's sources, found and read but not validated.
#[derive(Debug, Clone)]
pub struct DirSources {
    pub media: SourceFile,
    pub profiles: Option<SourceFile>,
    /// Every `*.yaml` (or `*.yml`) below `scenarios/`, sorted by path.
    pub scenarios: Vec<SourceFile>,
    /// What the user should be told about how the sources were found.
    pub notes: Vec<String>,
}

/// Reads `dir/media.yaml`, `dir/profiles.yaml` when present, and every `*.yaml` below
/// `dir/scenarios`, sorted by path. A directory without `media.yaml` gets the built-in media
/// table, and a note saying so: scenarios written for the built-in media need no copy of it.
pub fn read_dir(dir: &Path) -> Result<DirSources, SpecErrors> {
    let read = |path: &Path| -> Result<SourceFile, Box<SpecError>> {
        std::fs::read_to_string(path)
            .map(|text| SourceFile {
                path: path.display().to_string(),
                text,
            })
            .map_err(|e| {
                Box::new(SpecError::new(
                    path.display().to_string(),
                    format!("cannot read the file: {e}"),
                ))
            })
    };
    let mut errors = Vec::new();
    let mut notes = Vec::new();
    let media_path = dir.join("media.yaml");
    // Only a directory that exists and surely lacks the file falls back; a mistyped `--specs`
    // or an unreadable media.yaml stays an error naming media.yaml, as it always was.
    let media = if dir.is_dir() && matches!(media_path.try_exists(), Ok(false)) {
        notes.push(format!(
            "{} has no media.yaml; using the built-in media table",
            dir.display()
        ));
        builtin_media_file()
    } else {
        read(&media_path).map_err(|e| SpecErrors(vec![*e]))?
    };
    let mut paths = Vec::new();
    collect_yaml(&dir.join("scenarios"), &mut paths, &mut errors);
    paths.sort();
    let mut files = Vec::new();
    for p in paths {
        match read(&p) {
            Ok(f) => files.push(f),
            Err(e) => errors.push(*e),
        }
    }
    if files.is_empty() && errors.is_empty() {
        errors.push(
            SpecError::new(
                dir.join("scenarios").display().to_string(),
                "no scenario files found",
            )
            .with_hint("scenario files are `*.yaml` files under `<specs>/scenarios/`"),
        );
    }
    let profiles_path = dir.join("profiles.yaml");
    let profiles = if profiles_path.exists() {
        match read(&profiles_path) {
            Ok(f) => Some(f),
            Err(e) => {
                errors.push(*e);
                None
            }
        }
    } else {
        None
    };
    if errors.is_empty() {
        Ok(DirSources {
            media,
            profiles,
            scenarios: files,
            notes,
        })
    } else {
        Err(SpecErrors(errors))
    }
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<SpecError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(SpecError::new(
                dir.display().to_string(),
                format!("cannot read the directory: {e}"),
            ));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_yaml(&path, out, errors);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// Reads what `check PATHS` names: spec directories (each loaded whole, with its notes) and
/// scenario files (loaded together against the built-in media table). Every problem of every
/// path is reported at once; the suite returned is the last one loaded.
pub fn load_paths(paths: &[PathBuf], notes: &mut Vec<String>) -> Result<Suite, SpecErrors> {
    let mut errors = Vec::new();
    let mut last = None;
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            match load_dir(p, notes) {
                Ok(s) => last = Some(s),
                Err(e) => errors.extend(e.0),
            }
        } else {
            match std::fs::read_to_string(p) {
                Ok(text) => files.push(SourceFile {
                    path: p.display().to_string(),
                    text,
                }),
                Err(e) => errors.push(SpecError::new(
                    p.display().to_string(),
                    format!("cannot read the file: {e}"),
                )),
            }
        }
    }
    if !files.is_empty() {
        match crate::spec::load_suite(&builtin_media_file(), &files) {
            Ok(s) => last = Some(s),
            Err(e) => errors.extend(e.0),
        }
    }
    match (errors.is_empty(), last) {
        (true, Some(s)) => Ok(s),
        _ => Err(SpecErrors(errors)),
    }
}
