//! Loading: YAML sources → a validated [`Suite`], or every problem found, each located.
//!
//! This module assembles a suite: the media table and `profiles.yaml` (small and regular, so
//! they go through serde-saphyr directly), every scenario file (converted by `format/`, so
//! that one pass reports every problem with `file:line:column`, key path and hint), ids
//! checked for duplicates across files, and a content hash for provenance.
//!
//! Loading does no IO at all: the sources arrive as text (finding them on disk is
//! `crate::suite`'s job). Errors and their rendering are `error.rs`'s.

use super::error::{SpecError, SpecErrors};
use super::format;
use super::media::MediaTable;
use super::model::Scenario;
use super::source::SourceFile;
use super::yaml::Location;
use std::collections::BTreeMap;

/// A loaded suite: the media table and every scenario, in file order.
#[derive(Debug, Clone)]
pub struct Suite {
    pub media: MediaTable,
    /// Certification profiles (`profiles.yaml`; empty when the directory has none).
    pub profiles: super::Profiles,
    pub scenarios: Vec<Scenario>,
    /// A content hash of every source, for provenance in results.
    pub hash: String,
}

/// Validates the media table and every scenario file, reporting all problems at once.
pub fn load_suite(
    media_file: &SourceFile,
    scenario_files: &[SourceFile],
) -> Result<Suite, SpecErrors> {
    load_suite_with_profiles(media_file, None, scenario_files)
}

/// Like [`load_suite`], with an optional `profiles.yaml`.
pub fn load_suite_with_profiles(
    media_file: &SourceFile,
    profiles_file: Option<&SourceFile>,
    scenario_files: &[SourceFile],
) -> Result<Suite, SpecErrors> {
    let mut errors = Vec::new();
    let media = match load_media(media_file) {
        Ok(m) => Some(m),
        Err(e) => {
            errors.push(*e);
            None
        }
    };
    let profiles = match (profiles_file, &media) {
        (Some(file), Some(table)) => match load_profiles(file, table) {
            Ok(p) => Some(p),
            Err(e) => {
                errors.push(*e);
                None
            }
        },
        _ => None,
    };
    let mut scenarios = Vec::new();
    for file in scenario_files {
        scenarios.extend(format::scenarios(file, media.as_ref(), &mut errors));
    }
    check_duplicate_ids(&scenarios, scenario_files, &mut errors);
    if scenario_files.is_empty() {
        errors.push(SpecError::new(
            "(scenarios)",
            "no scenario files were given",
        ));
    } else if scenarios.is_empty() && errors.is_empty() {
        errors.push(
            SpecError::new(
                scenario_files[0].path.clone(),
                "the files define no scenarios",
            )
            .with_hint("a scenario file is a mapping with a `scenarios:` list"),
        );
    }
    match (media, errors.is_empty()) {
        (Some(media), true) => Ok(Suite {
            media,
            profiles: profiles.unwrap_or_default(),
            scenarios,
            hash: suite_hash(media_file, scenario_files),
        }),
        _ => Err(SpecErrors(errors)),
    }
}

fn suite_hash(media: &SourceFile, files: &[SourceFile]) -> String {
    // FNV-1a: stable across platforms and Rust versions, which `DefaultHasher` is not.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for f in std::iter::once(media).chain(files) {
        for b in f.path.bytes().chain([0]).chain(f.text.bytes()).chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

fn load_media(file: &SourceFile) -> Result<MediaTable, Box<SpecError>> {
    let table: MediaTable = serde_saphyr::from_str(&file.text).map_err(|e| {
        let location = e.location().map(|l| Location {
            line: l.line() as usize,
            column: l.column() as usize,
        });
        let message = e
            .to_string()
            .lines()
            .next()
            .unwrap_or("invalid media table")
            .to_string();
        Box::new(SpecError::in_source(file, location, message))
    })?;
    let mut problems = Vec::new();
    for (group, members) in &table.groups {
        for m in members {
            if !table.media.contains_key(m) {
                problems.push(format!("group `{group}` names unknown media `{m}`"));
            }
        }
    }
    for (name, facts) in table.media.iter() {
        for (what, list) in [
            ("collection", &facts.collection),
            ("resource_key", &facts.resource_key),
            ("channel", &facts.channel),
            ("message_type", &facts.message_type),
            ("notification_type", &facts.notification_type),
        ] {
            if list.is_empty() {
                problems.push(format!("media `{name}` has an empty `{what}` list"));
            }
        }
    }
    match problems.first() {
        None => Ok(table),
        Some(p) => Err(Box::new(SpecError::new(file.path.clone(), p.clone()))),
    }
}

fn load_profiles(file: &SourceFile, table: &MediaTable) -> Result<super::Profiles, Box<SpecError>> {
    let error = |location: Option<Location>, message: String| {
        Box::new(SpecError::in_source(file, location, message))
    };
    let profiles: super::Profiles = serde_saphyr::from_str(&file.text).map_err(|e| {
        let location = e.location().map(|l| Location {
            line: l.line() as usize,
            column: l.column() as usize,
        });
        error(
            location,
            e.to_string()
                .lines()
                .next()
                .unwrap_or("invalid profiles file")
                .to_string(),
        )
    })?;
    for (name, profile) in &profiles.profiles {
        for m in profile.media.names() {
            if !table.media.contains_key(&m) && !table.groups.contains_key(&m) {
                return Err(error(
                    None,
                    format!("profile `{name}` names unknown media or group `{m}`"),
                ));
            }
        }
    }
    Ok(profiles)
}

fn check_duplicate_ids(scenarios: &[Scenario], files: &[SourceFile], errors: &mut Vec<SpecError>) {
    let mut seen: BTreeMap<String, &Scenario> = BTreeMap::new();
    for s in scenarios {
        for m in &s.media {
            let id = s.id_for(m);
            if let Some(first) = seen.get(&id) {
                let text = files
                    .iter()
                    .find(|f| f.path == s.source.file)
                    .map(|f| f.text.as_str());
                let error = SpecError::new(
                    s.source.file.clone(),
                    format!("duplicate scenario id `{id}`"),
                )
                .located(Some(s.source.location))
                .with_key_path(format!("scenario `{}`", s.name))
                .with_hint(format!(
                    "first defined at {}:{}; ids are <media>/<operation>/<name>, so rename one",
                    first.source.file, first.source.location
                ));
                // The file is always among the sources; without it the error loses only
                // its quoted line.
                errors.push(match text {
                    Some(t) => error.quoting(t),
                    None => error,
                });
            } else {
                seen.insert(id, s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEDIA: &str = "redact_keys: [id]\ngroups: {both: [voice, chat]}\npresets: {routed: {RTenant: Environment}}\nmedia:\n  voice:\n    feature: api-voice\n    collection: [calls]\n    resource_key: [call]\n    channel: [/v2/me/calls]\n    message_type: [CallStateChangeMessage]\n    notification_type: [AttachedDataChanged]\n    reference_id: {response: absent, notification: optional}\n    delete: all\n    operations: [AttachUserData]\n  chat:\n    feature: api-multimedia\n    collection: [chats]\n    resource_key: [chat]\n    channel: [/v2/me/chats]\n    message_type: [ChatStateChangeMessage]\n    notification_type: [PropertiesUpdated]\n    reference_id: {response: optional, notification: required}\n    delete: keys\n    operations: [AttachUserData]\n";

    fn load(text: &str) -> Result<Suite, SpecErrors> {
        let media = SourceFile {
            path: "media.yaml".into(),
            text: MEDIA.into(),
        };
        load_suite(
            &media,
            &[SourceFile {
                path: "s.yaml".into(),
                text: text.into(),
            }],
        )
    }

    #[test]
    fn loads_a_valid_scenario() {
        let suite = load("scenarios:\n  - name: add-key\n    operation: UpdateUserData\n    media: both\n    given: {preset: routed, userData: {A: 1}}\n    request: {operationName: UpdateUserData, userData: {B: 2}}\n    expect:\n      notification:\n        diff:\n          - {op: add, path: /userData/B, value: !type integer}\n").unwrap();
        assert_eq!(suite.scenarios.len(), 1);
        assert_eq!(suite.scenarios[0].media, vec!["voice", "chat"]);
        assert_eq!(
            suite.scenarios[0].id_for("chat"),
            "chat/UpdateUserData/add-key"
        );
    }

    #[test]
    fn reports_every_problem_with_location_path_and_hint() {
        let errs = load("scenarios:\n  - name: a\n    operation: X\n    media: [voice, chatt]\n    request: {operationName: X}\n    expect:\n      respnse: {}\n      notification:\n        diff:\n          - {op: add, path: /userData/B, value: !regex '(['}\n          - {op: add, path: userData, value: !type strin}\n").unwrap_err();
        let text = errs.to_string();
        assert!(text.contains("unknown media or group `chatt`"), "{text}");
        assert!(text.contains("did you mean `chat`?"), "{text}");
        assert!(text.contains("unknown key `respnse`"), "{text}");
        assert!(text.contains("did you mean `response`?"), "{text}");
        assert!(text.contains("invalid regular expression"), "{text}");
        assert!(text.contains("is not a JSON pointer"), "{text}");
        assert!(text.contains("unknown JSON type `strin`"), "{text}");
        assert!(text.contains("s.yaml:7:7"), "{text}");
        assert!(text.contains("scenarios[0].expect.respnse"), "{text}");
        assert_eq!(errs.0.len(), 5, "{text}");
    }

    #[test]
    fn reports_duplicate_ids() {
        let one = "  - name: a\n    operation: X\n    media: voice\n    request: {operationName: X}\n    expect: {notification: none}\n";
        let errs = load(&format!("scenarios:\n{one}{one}")).unwrap_err();
        assert!(
            errs.to_string()
                .contains("duplicate scenario id `voice/X/a`"),
            "{errs}"
        );
        assert_eq!(errs.0[0].location, Some(Location { line: 7, column: 5 }));
    }

    #[test]
    fn reports_syntax_errors_and_empty_files() {
        let errs = load("scenarios: [\n").unwrap_err();
        assert!(errs.to_string().contains("YAML syntax error"), "{errs}");
        let errs = load("").unwrap_err();
        assert!(errs.to_string().contains("the file is empty"), "{errs}");
    }

    #[test]
    fn huge_files_are_refused_with_a_hint() {
        let huge = format!("scenarios:\n{}", "  # padding\n".repeat(800_000));
        let errs = load(&huge).unwrap_err();
        assert!(
            errs.to_string().contains("scenario files are limited to"),
            "{errs}"
        );
    }

    #[test]
    fn tags_are_rejected_outside_expectations() {
        let errs = load("scenarios:\n  - name: a\n    operation: X\n    media: voice\n    request: {operationName: !any}\n    expect: {notification: none}\n").unwrap_err();
        assert!(
            errs.to_string()
                .contains("the tag `!any` is not allowed here"),
            "{errs}"
        );
    }

    #[test]
    fn generators_expand_in_requests_and_each_expands_the_diff() {
        let suite = load("scenarios:\n  - name: many\n    operation: AttachUserData\n    media: chat\n    given: {userData: !keys {prefix: G, count: 2, value: g}}\n    request: {operationName: AttachUserData, userData: !keys {prefix: K, count: 3, value: !repeat {text: ab, times: 2}}}\n    expect:\n      notification:\n        diff:\n          - {op: add, path: /userData, each: true, value: !keys {prefix: K, count: 3, value: abab}}\n          - {op: remove, path: /userData, each: true, value: {a/b: 1}}\n").unwrap();
        let s = &suite.scenarios[0];
        assert_eq!(
            s.given.user_data,
            Some(serde_json::json!({"G1": "g", "G2": "g"}))
        );
        assert_eq!(s.request.as_ref().unwrap()["userData"]["K3"], "abab");
        let paths: Vec<&str> = s.expect_diff().iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/userData/K1",
                "/userData/K2",
                "/userData/K3",
                "/userData/a~1b"
            ]
        );
        assert!(s.expect_diff()[3].value.is_none());
    }

    #[test]
    fn each_needs_a_mapping_and_generators_stay_located() {
        let errs = load("scenarios:\n  - name: a\n    operation: X\n    media: voice\n    given: {userData: !repeat {text: a, times: 2}}\n    request: {operationName: X}\n    expect:\n      notification:\n        diff:\n          - {op: add, path: /userData, each: true, value: 3}\n          - {op: add, path: /userData, each: true}\n          - {op: add, path: /userData/L, value: !repeat {text: ab, times: 600000}}\n").unwrap_err();
        let text = errs.to_string();
        assert!(
            text.contains("expected a mapping, but `!repeat` generates a string"),
            "{text}"
        );
        assert!(text.contains("s.yaml:5:23"), "{text}");
        assert!(text.contains("scenarios[0].given.userData"), "{text}");
        assert!(text.contains("with `each: true`"), "{text}");
        assert!(
            text.contains("`each: true` needs a `value` mapping"),
            "{text}"
        );
        assert!(text.contains("would produce 1200000 bytes"), "{text}");
        assert!(
            text.contains("scenarios[0].expect.notification.diff[2].value.times"),
            "{text}"
        );
        assert_eq!(errs.0.len(), 4, "{text}");
    }
}
