//! The v1 scenario format: a scenario file's located YAML tree → [`Scenario`]s. Where each
//! mapping, keyword, request body and expectation sits, defaults for omitted keys, and the
//! checks that need context: media and preset names against the media table, JSON pointers,
//! `remove` without `value`, kebab-case names, a request (or a reason to have none).
//!
//! The keys and keywords themselves are listed in `vocabulary.rs` (which keeps them equal to
//! the JSON Schema derived from `model.rs`). This module relies on [`Converter`] for the
//! generic conversion and on `matcher_parse.rs` for expectations; it does not read files or
//! check ids across files (`assemble.rs` does).

use super::vocabulary::{keys, words};
use crate::spec::convert::{Converter, join};
use crate::spec::error::{SpecError, suggest};
use crate::spec::matcher::{Expected, escape_pointer};
use crate::spec::media::MediaTable;
use crate::spec::model::{
    Expectation, Given, Level, ListenerExpectation, ListenerMode, NoneKeyword,
    NotificationExpectation, NotificationSpec, PatchExpectation, PatchOp, ResponseExpectation,
    Scenario, Send, SendMethod, ShouldExpectation, Source,
};
use crate::spec::source::SourceFile;
use crate::spec::yaml::{self, Location, Node, NodeValue};
use serde_json::Value;

/// Converts one scenario file, adding its problems to `errors`. `media` is `None` when the
/// media table failed to load: the scenarios are still read, so their other problems show.
pub(in crate::spec) fn scenarios(
    file: &SourceFile,
    media: Option<&MediaTable>,
    errors: &mut Vec<SpecError>,
) -> Vec<Scenario> {
    ScenarioReader {
        cx: Converter::new(file, errors),
        media,
    }
    .scenario_file()
}

/// Largest scenario file accepted; a suite is many small files, so anything bigger is a mistake
/// (or an attack) and should not cost seconds of parsing.
const MAX_SCENARIO_FILE: usize = 8 * 1024 * 1024;

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
            Some(n) => self.keyword(n, &join(path, "level"), words::LEVEL),
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
        let listens = send.as_ref().and_then(|s| s.listener).is_some();
        let listened_for = expect.as_ref().and_then(|e| e.listener).is_some();
        if listens != listened_for {
            let (missing, present) = if listens {
                ("expect.listener", "send.listener")
            } else {
                ("send.listener", "expect.listener")
            };
            self.error(
                node.location,
                path,
                format!("`{present}` needs `{missing}`"),
                Some(
                    "a listener is opened by `send.listener` and judged by `expect.listener`"
                        .into(),
                ),
            );
        }
        // The protocol probe is judged by the protocol checks, and only it gives them
        // something to judge.
        let probes = send.as_ref().and_then(|s| s.listener) == Some(ListenerMode::Protocol);
        let judged =
            expect.as_ref().and_then(|e| e.listener) == Some(ListenerExpectation::Conformant);
        if listens && listened_for && probes != judged {
            self.error(
                node.location,
                path,
                "`send.listener: protocol` and `expect.listener: conformant` go together",
                Some("the protocol probe is judged against Bayeux 1.0, other listeners by what they heard".into()),
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
            send.agent = self.keyword(n, &join(path, "as"), words::AGENT)?;
        }
        if let Some(n) = f.get("auth") {
            send.auth = self.keyword(n, &join(path, "auth"), words::AUTH)?;
        }
        if let Some(n) = f.get("csrf") {
            send.csrf = self.keyword(n, &join(path, "csrf"), words::CSRF)?;
        }
        if let Some(n) = f.get("cookie") {
            send.cookie = Some(self.keyword(n, &join(path, "cookie"), words::COOKIE)?);
        }
        if let Some(n) = f.get("interaction") {
            send.interaction = self.keyword(n, &join(path, "interaction"), words::INTERACTION)?;
        }
        if let Some(n) = f.get("method") {
            send.method = self.keyword(n, &join(path, "method"), words::METHOD)?;
        }
        if let Some(n) = f.get("watch_all_agents") {
            send.watch_all_agents = self.boolean(n, &join(path, "watch_all_agents"))?;
        }
        if let Some(n) = f.get("concurrently") {
            send.concurrently = self.boolean(n, &join(path, "concurrently"))?;
        }
        if let Some(n) = f.get("listener") {
            send.listener = Some(self.keyword(n, &join(path, "listener"), words::LISTENER)?);
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
        let undisclosed = match f.get("undisclosed") {
            Some(n) => self.boolean(n, &join(path, "undisclosed"))?,
            None => false,
        };
        let listener = match f.get("listener") {
            Some(n) => {
                Some(self.keyword(n, &join(path, "listener"), words::LISTENER_EXPECTATION)?)
            }
            None => None,
        };
        let snapshot = match f.get("snapshot") {
            Some(n) => Some(self.boolean(n, &join(path, "snapshot"))?),
            None => None,
        };
        let refusal = match f.get("refusal") {
            Some(n) => Some(self.keyword(n, &join(path, "refusal"), words::REFUSAL)?),
            None => None,
        };
        let notification =
            self.notification(f.get("notification")?, &join(path, "notification"))?;
        Some(Expectation {
            refusal,
            response,
            notification,
            unchanged,
            undisclosed,
            listener,
            snapshot,
            should,
        })
    }

    fn notification(&mut self, node: &Node, path: &str) -> Option<NotificationExpectation> {
        if node.as_str() == Some(words::NONE) && node.tag.is_none() {
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
                Some(p) => diff.extend(p),
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

    /// One diff entry: a single operation, or with `each: true` one per entry of `value`.
    fn patch(&mut self, node: &Node, path: &str) -> Option<Vec<PatchExpectation>> {
        let f = self.fields(node, path, &keys::PATCH)?;
        let op = self.keyword(f.get("op")?, &join(path, "op"), words::PATCH_OP)?;
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
        let each = match f.get("each") {
            Some(n) => self.boolean(n, &join(path, "each"))?,
            None => false,
        };
        if each {
            let entries = self.each_entries(f.get("value"), node, path)?;
            let ops = entries
                .into_iter()
                .map(|(key, value)| PatchExpectation {
                    op,
                    path: format!("{pointer}/{}", escape_pointer(&key)),
                    value: (op != PatchOp::Remove).then_some(value),
                })
                .collect();
            return pointer_ok.then_some(ops);
        }
        let value = match (op, f.get("value")) {
            (PatchOp::Remove, Some(n)) => {
                self.error(
                    n.location,
                    &join(path, "value"),
                    "a `remove` operation takes no `value`",
                    Some("to remove every key of a mapping, add `each: true`".into()),
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
        pointer_ok.then_some(vec![PatchExpectation {
            op,
            path: pointer,
            value,
        }])
    }

    /// The entries an `each` operation expands to: `value` must be a mapping (written out, or
    /// generated by `!keys`), matched strictly.
    fn each_entries(
        &mut self,
        value: Option<&Node>,
        node: &Node,
        path: &str,
    ) -> Option<Vec<(String, Expected)>> {
        let Some(n) = value else {
            self.error(
                node.location,
                path,
                "`each: true` needs a `value` mapping (e.g. `!keys {...}`)",
                None,
            );
            return None;
        };
        let value_path = join(path, "value");
        match self.expected(n, &value_path)? {
            Expected::Exact(Value::Object(map)) => Some(
                map.into_iter()
                    .map(|(k, v)| (k, Expected::Exact(v)))
                    .collect(),
            ),
            Expected::Object {
                entries,
                partial: false,
            } => Some(entries),
            _ => {
                self.wrong_type(
                    n,
                    &value_path,
                    "a mapping (without `!partial`) with `each: true`",
                );
                None
            }
        }
    }
}
