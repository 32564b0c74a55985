//! Loading: YAML sources → a validated [`Suite`], or every problem found, each located.
//!
//! Scenario files are parsed into the located tree of [`super::yaml`] and converted by hand,
//! so that one pass reports every unknown key, wrong type, bad regex, unknown media and
//! duplicate id with `file:line:column`, the key path and a hint. The media table is small and
//! regular, so it goes through serde-saphyr directly.
//!
//! Loading does no IO at all: the sources arrive as text (finding them on disk is
//! `crate::suite`'s job).

use super::convert::{Converter, Keys, join};
use super::error::{SpecError, SpecErrors, suggest};
use super::matcher::Expected;
use super::media::MediaTable;
use super::model::*;
use super::yaml::{self, Location, Node, NodeValue};
use serde_json::Value;
use std::collections::BTreeMap;

/// One source file: its display path and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

/// A loaded suite: the media table and every scenario, in file order.
#[derive(Debug, Clone)]
pub struct Suite {
    pub media: MediaTable,
    /// Certification profiles (`profiles.yaml`; empty when the directory has none).
    pub profiles: crate::verdict::Profiles,
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
        let mut reader = ScenarioReader {
            cx: Converter::new(file, &mut errors),
            media: media.as_ref(),
        };
        scenarios.extend(reader.scenario_file());
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

fn load_profiles(
    file: &SourceFile,
    table: &MediaTable,
) -> Result<crate::verdict::Profiles, Box<SpecError>> {
    let error = |location: Option<Location>, message: String| {
        Box::new(SpecError::in_source(file, location, message))
    };
    let profiles: crate::verdict::Profiles = serde_saphyr::from_str(&file.text).map_err(|e| {
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

/// Largest scenario file accepted; a suite is many small files, so anything bigger is a mistake
/// (or an attack) and should not cost seconds of parsing.
const MAX_SCENARIO_FILE: usize = 8 * 1024 * 1024;

/// The keys of each mapping in the format. `model.rs` declares the same keys through serde for
/// the JSON Schema; a test keeps the two equal.
mod keys {
    use super::Keys;

    /// A scenario file.
    pub const FILE: Keys = Keys {
        allowed: &["scenarios"],
        required: &["scenarios"],
    };
    pub const SCENARIO: Keys = Keys {
        allowed: &[
            "name",
            "operation",
            "media",
            "level",
            "description",
            "given",
            "request",
            "then",
            "send",
            "expect",
        ],
        required: &["name", "operation", "media", "expect"],
    };
    pub const GIVEN: Keys = Keys {
        allowed: &["preset", "userData"],
        required: &[],
    };
    pub const SEND: Keys = Keys {
        allowed: &[
            "as",
            "auth",
            "csrf",
            "interaction",
            "raw_body",
            "method",
            "watch_all_agents",
        ],
        required: &[],
    };
    pub const EXPECT: Keys = Keys {
        allowed: &[
            "response",
            "notification",
            "unchanged",
            "snapshot",
            "should",
        ],
        required: &["notification"],
    };
    /// `expect.should`.
    pub const SHOULD: Keys = Keys {
        allowed: &["response"],
        required: &["response"],
    };
    /// `expect.response` and `expect.should.response`.
    pub const RESPONSE: Keys = Keys {
        allowed: &["status", "body"],
        required: &[],
    };
    /// `expect.notification` when it is not `none`.
    pub const NOTIFICATION: Keys = Keys {
        allowed: &["diff", "envelope", "resource"],
        required: &["diff"],
    };
    /// One operation of `expect.notification.diff`.
    pub const PATCH: Keys = Keys {
        allowed: &["op", "path", "value"],
        required: &["op", "path"],
    };
}

/// Reads scenarios: the generic conversion plus the media table that `media` lists and
/// presets are checked against (absent when the table itself failed to load).
struct ScenarioReader<'a> {
    cx: Converter<'a>,
    media: Option<&'a MediaTable>,
}

// Deref so the format code reads as conversion calls (`self.string(..)`), which is what it is.
impl<'a> std::ops::Deref for ScenarioReader<'a> {
    type Target = Converter<'a>;
    fn deref(&self) -> &Converter<'a> {
        &self.cx
    }
}

impl<'a> std::ops::DerefMut for ScenarioReader<'a> {
    fn deref_mut(&mut self) -> &mut Converter<'a> {
        &mut self.cx
    }
}

impl ScenarioReader<'_> {
    fn scenario_file(&mut self) -> Vec<Scenario> {
        if self.file.text.len() > MAX_SCENARIO_FILE {
            let error = SpecError::new(
                self.file.path.clone(),
                format!(
                    "the file is {} bytes; scenario files are limited to {MAX_SCENARIO_FILE} bytes",
                    self.file.text.len()
                ),
            )
            .with_hint("split it into several files under scenarios/");
            self.errors.push(error);
            return Vec::new();
        }
        let docs = match yaml::parse(&self.file.text) {
            Ok(d) => d,
            Err(e) => {
                self.error(
                    e.location,
                    "",
                    format!("YAML syntax error: {}", e.message),
                    None,
                );
                return Vec::new();
            }
        };
        let Some(root) = docs.first() else {
            // An empty file has no line to quote.
            let error = SpecError::new(self.file.path.clone(), "the file is empty")
                .located(Some(Location { line: 1, column: 1 }))
                .with_hint("a scenario file is a mapping with a `scenarios:` list");
            self.errors.push(error);
            return Vec::new();
        };
        if docs.len() > 1 {
            self.error(
                docs[1].location,
                "",
                "a scenario file holds one YAML document",
                None,
            );
        }
        let Some(fields) = self.fields(root, "", &keys::FILE) else {
            return Vec::new();
        };
        let Some(list) = fields.get("scenarios") else {
            return Vec::new();
        };
        let NodeValue::Seq(items) = &list.value else {
            self.wrong_type(list, "scenarios", "a list of scenarios");
            return Vec::new();
        };
        if items.is_empty() {
            self.error(
                list.location,
                "scenarios",
                "the scenario list is empty",
                None,
            );
        }
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.scenario(item, &format!("scenarios[{i}]")))
            .collect()
    }

    fn scenario(&mut self, node: &Node, path: &str) -> Option<Scenario> {
        let f = self.fields(node, path, &keys::SCENARIO)?;
        let before = self.errors.len();
        let name = f
            .get("name")
            .and_then(|n| self.name(n, &join(path, "name")));
        let operation = f
            .get("operation")
            .and_then(|n| self.string(n, &join(path, "operation")));
        let media = f
            .get("media")
            .and_then(|n| self.media_list(n, &join(path, "media")));
        let level = match f.get("level") {
            Some(n) => self.keyword(
                n,
                &join(path, "level"),
                &[
                    ("must", Level::Must),
                    ("should", Level::Should),
                    ("may", Level::May),
                ],
            ),
            None => Some(Level::Must),
        };
        let description = match f.get("description") {
            Some(n) => Some(self.string(n, &join(path, "description"))?),
            None => None,
        };
        let given = match f.get("given") {
            Some(n) => self.given(n, &join(path, "given")),
            None => Some(Given::default()),
        };
        let request = match f.get("request") {
            Some(n) => Some(self.json_object(n, &join(path, "request"))?),
            None => None,
        };
        let then = match f.get("then") {
            Some(n) => self.request_list(n, &join(path, "then")),
            None => Some(Vec::new()),
        };
        let send = match f.get("send") {
            Some(n) => self.send(n, &join(path, "send")),
            None => Some(Send::default()),
        };
        let expect = f
            .get("expect")
            .and_then(|n| self.expectation(n, &join(path, "expect")));
        let reads_only = send.as_ref().is_some_and(|s| s.method == SendMethod::Get);
        if request.is_none()
            && send.as_ref().is_some_and(|s| s.raw_body.is_none())
            && f.get("request").is_none()
            && !reads_only
        {
            self.error(
                node.location,
                path,
                "a scenario needs `request` (or `send.raw_body`, or `send.method: get`)",
                None,
            );
        }
        if self.errors.len() != before {
            return None;
        }
        Some(Scenario {
            name: name?,
            operation: operation?,
            media: media?,
            level: level?,
            description,
            given: given?,
            request,
            then: then?,
            send: send?,
            expect: expect?,
            source: Source {
                file: self.file.path.clone(),
                location: node.location,
            },
        })
    }

    fn name(&mut self, node: &Node, path: &str) -> Option<String> {
        let name = self.string(node, path)?;
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            self.error(
                node.location,
                path,
                format!("invalid scenario name `{name}`"),
                Some("names are kebab-case: lowercase letters, digits and `-`".into()),
            );
            return None;
        }
        Some(name)
    }

    fn media_list(&mut self, node: &Node, path: &str) -> Option<Vec<String>> {
        let names = self.string_list(node, path)?;
        let table = self.media?;
        let mut out: Vec<String> = Vec::new();
        let mut ok = true;
        for (name, location) in names {
            let members: Vec<String> = if let Some(group) = table.groups.get(&name) {
                group.clone()
            } else if table.media.contains_key(&name) {
                vec![name.clone()]
            } else {
                let candidates = table
                    .media
                    .keys()
                    .chain(table.groups.keys().map(|k| k.as_str()));
                let hint = suggest(&name, candidates);
                self.error(
                    location,
                    path,
                    format!("unknown media or group `{name}`"),
                    hint,
                );
                ok = false;
                continue;
            };
            for m in members {
                if !out.contains(&m) {
                    out.push(m);
                }
            }
        }
        ok.then_some(out)
    }

    fn given(&mut self, node: &Node, path: &str) -> Option<Given> {
        let f = self.fields(node, path, &keys::GIVEN)?;
        let preset = match f.get("preset") {
            Some(n) => {
                let name = self.string(n, &join(path, "preset"))?;
                if let Some(table) = self.media
                    && !table.presets.contains_key(&name)
                {
                    let hint = suggest(&name, table.presets.keys().map(|k| k.as_str()));
                    self.error(
                        n.location,
                        &join(path, "preset"),
                        format!("unknown preset `{name}`"),
                        hint,
                    );
                    return None;
                }
                Some(name)
            }
            None => None,
        };
        let user_data = match f.get("userData") {
            Some(n) => Some(self.json_object(n, &join(path, "userData"))?),
            None => None,
        };
        Some(Given { preset, user_data })
    }

    fn request_list(&mut self, node: &Node, path: &str) -> Option<Vec<Value>> {
        let NodeValue::Seq(items) = &node.value else {
            self.wrong_type(node, path, "a list of request bodies");
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.json_object(item, &format!("{path}[{i}]")) {
                Some(v) => out.push(v),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn send(&mut self, node: &Node, path: &str) -> Option<Send> {
        let f = self.fields(node, path, &keys::SEND)?;
        let mut send = Send::default();
        if let Some(n) = f.get("as") {
            send.agent = self.keyword(
                n,
                &join(path, "as"),
                &[("first", AgentRole::First), ("second", AgentRole::Second)],
            )?;
        }
        if let Some(n) = f.get("auth") {
            send.auth = self.keyword(
                n,
                &join(path, "auth"),
                &[
                    ("agent", AuthMode::Agent),
                    ("none", AuthMode::None),
                    ("wrong-password", AuthMode::WrongPassword),
                ],
            )?;
        }
        if let Some(n) = f.get("csrf") {
            send.csrf = self.keyword(
                n,
                &join(path, "csrf"),
                &[("send", CsrfMode::Send), ("omit", CsrfMode::Omit)],
            )?;
        }
        if let Some(n) = f.get("interaction") {
            send.interaction = self.keyword(
                n,
                &join(path, "interaction"),
                &[
                    ("own", InteractionRef::Own),
                    ("unknown", InteractionRef::Unknown),
                ],
            )?;
        }
        if let Some(n) = f.get("method") {
            send.method = self.keyword(
                n,
                &join(path, "method"),
                &[("post", SendMethod::Post), ("get", SendMethod::Get)],
            )?;
        }
        if let Some(n) = f.get("watch_all_agents") {
            send.watch_all_agents = self.boolean(n, &join(path, "watch_all_agents"))?;
        }
        if let Some(n) = f.get("raw_body") {
            send.raw_body = Some(self.string(n, &join(path, "raw_body"))?);
        }
        Some(send)
    }

    fn response(&mut self, node: &Node, path: &str) -> Option<ResponseExpectation> {
        let f = self.fields(node, path, &keys::RESPONSE)?;
        let status = match f.get("status") {
            Some(n) => Some(self.expected(n, &join(path, "status"))?),
            None => None,
        };
        let body = match f.get("body") {
            Some(n) => Some(self.expected(n, &join(path, "body"))?),
            None => None,
        };
        Some(ResponseExpectation { status, body })
    }

    fn expectation(&mut self, node: &Node, path: &str) -> Option<Expectation> {
        let f = self.fields(node, path, &keys::EXPECT)?;
        let response = match f.get("response") {
            Some(n) => Some(self.response(n, &join(path, "response"))?),
            None => None,
        };
        let should = match f.get("should") {
            Some(n) => {
                let path = join(path, "should");
                let g = self.fields(n, &path, &keys::SHOULD)?;
                let response = self.response(g.get("response")?, &join(&path, "response"))?;
                Some(ShouldExpectation { response })
            }
            None => None,
        };
        let unchanged = match f.get("unchanged") {
            Some(n) => self.boolean(n, &join(path, "unchanged"))?,
            None => false,
        };
        let snapshot = match f.get("snapshot") {
            Some(n) => Some(self.boolean(n, &join(path, "snapshot"))?),
            None => None,
        };
        let notification =
            self.notification(f.get("notification")?, &join(path, "notification"))?;
        Some(Expectation {
            response,
            notification,
            unchanged,
            snapshot,
            should,
        })
    }

    fn notification(&mut self, node: &Node, path: &str) -> Option<NotificationExpectation> {
        if node.as_str() == Some("none") && node.tag.is_none() {
            return Some(NotificationExpectation::None(NoneKeyword::None));
        }
        if !matches!(node.value, NodeValue::Map(_)) {
            self.error(
                node.location,
                path,
                format!("expected `none` or a mapping, found {}", node.type_name()),
                None,
            );
            return None;
        }
        let f = self.fields(node, path, &keys::NOTIFICATION)?;
        let diff_node = f.get("diff")?;
        let NodeValue::Seq(items) = &diff_node.value else {
            self.wrong_type(diff_node, &join(path, "diff"), "a list of patch operations");
            return None;
        };
        let mut diff = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.patch(item, &format!("{path}.diff[{i}]")) {
                Some(p) => diff.push(p),
                None => ok = false,
            }
        }
        let envelope = self.key_matchers(f.get("envelope"), &join(path, "envelope"))?;
        let resource = self.key_matchers(f.get("resource"), &join(path, "resource"))?;
        ok.then_some(NotificationExpectation::Expected(NotificationSpec {
            diff,
            envelope,
            resource,
        }))
    }

    /// A mapping of key → matcher (`envelope`, `resource`); absent means none.
    fn key_matchers(&mut self, node: Option<&Node>, path: &str) -> Option<Vec<(String, Expected)>> {
        let Some(n) = node else {
            return Some(Vec::new());
        };
        match self.expected(n, path)? {
            Expected::Object { entries, .. } => Some(entries),
            _ => {
                self.wrong_type(n, path, "a mapping");
                None
            }
        }
    }

    fn patch(&mut self, node: &Node, path: &str) -> Option<PatchExpectation> {
        let f = self.fields(node, path, &keys::PATCH)?;
        let op = self.keyword(
            f.get("op")?,
            &join(path, "op"),
            &[
                ("add", PatchOp::Add),
                ("remove", PatchOp::Remove),
                ("replace", PatchOp::Replace),
            ],
        )?;
        let pointer_node = f.get("path")?;
        let pointer = self.string(pointer_node, &join(path, "path"))?;
        let pointer_ok = pointer.starts_with('/');
        if !pointer_ok {
            self.error(
                pointer_node.location,
                &join(path, "path"),
                format!("`{pointer}` is not a JSON pointer"),
                Some("JSON pointers start with `/`, e.g. `/userData/AccountNumber`".into()),
            );
        }
        let value = match (op, f.get("value")) {
            (PatchOp::Remove, Some(n)) => {
                self.error(
                    n.location,
                    &join(path, "value"),
                    "a `remove` operation takes no `value`",
                    None,
                );
                return None;
            }
            (PatchOp::Remove, None) => None,
            (_, Some(n)) => Some(self.expected(n, &join(path, "value"))?),
            (_, None) => {
                self.error(
                    node.location,
                    path,
                    format!("an `{}` operation needs a `value`", op.as_str()),
                    None,
                );
                return None;
            }
        };
        pointer_ok.then_some(PatchExpectation {
            op,
            path: pointer,
            value,
        })
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
}
