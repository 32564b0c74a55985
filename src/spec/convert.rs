//! Generic conversion of the located YAML tree ([`super::yaml`]) into values: mappings with
//! known keys, strings, booleans, keywords, plain JSON. Every problem becomes a located
//! [`SpecError`] with its key path, and conversion goes on, so one pass finds them all.
//!
//! This module knows nothing of the scenario format (which keys a scenario has is
//! `format/`'s business) nor of matchers (`matcher_parse.rs`); it also never reads files.

use super::error::{SpecError, suggest};
use super::source::SourceFile;
use super::yaml::{Location, Node, NodeValue};
use serde_json::Value;

/// Converts the located nodes of one file into values, reporting every problem into a shared
/// list instead of stopping at the first.
pub(super) struct Converter<'a> {
    /// The file being converted: errors name it and quote its lines.
    pub(super) file: &'a SourceFile,
    /// Where problems go. Conversion continues after one, so a file's problems are all
    /// reported in one run; a `None` result only means "this value is unusable".
    pub(super) errors: &'a mut Vec<SpecError>,
    /// Bytes the file's value generators produced so far (`generate.rs` bounds it).
    pub(super) generated_bytes: usize,
}

/// The keys one kind of mapping may have, and those it must have.
#[derive(Debug, Clone, Copy)]
pub(super) struct Keys {
    pub(super) allowed: &'static [&'static str],
    pub(super) required: &'static [&'static str],
}

/// A mapping's entries by key, after unknown and duplicate keys were reported.
pub(super) struct Fields<'n> {
    entries: Vec<(&'n str, &'n Node)>,
}

impl<'n> Fields<'n> {
    pub(super) fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }
}

/// The key path of `key` inside `path` (`a.b` + `c` → `a.b.c`).
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl<'a> Converter<'a> {
    pub(super) fn new(file: &'a SourceFile, errors: &'a mut Vec<SpecError>) -> Self {
        Converter {
            file,
            errors,
            generated_bytes: 0,
        }
    }

    pub(super) fn error(
        &mut self,
        location: Location,
        path: &str,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        let mut error =
            SpecError::in_source(self.file, Some(location), message).with_key_path(path);
        error.hint = hint;
        self.errors.push(error);
    }

    pub(super) fn wrong_type(&mut self, node: &Node, path: &str, expected: &str) {
        self.error(
            node.location,
            path,
            format!("expected {expected}, found {}", node.type_name()),
            None,
        );
    }

    pub(super) fn no_tag(&mut self, node: &Node, path: &str) -> bool {
        if let Some(tag) = &node.tag {
            self.error(
                node.location,
                path,
                format!("the tag `{tag}` is not allowed here"),
                Some("matchers (`!any`, `!type`, `!regex`, `!not`, `!absent`, `!partial`) belong in expectations; generators (`!repeat`, `!keys`) in JSON values".into()),
            );
            return false;
        }
        true
    }

    pub(super) fn fields<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        keys: &Keys,
    ) -> Option<Fields<'n>> {
        let Keys { allowed, required } = *keys;
        let NodeValue::Map(entries) = &node.value else {
            self.wrong_type(node, path, "a mapping");
            return None;
        };
        let mut out: Vec<(&'n str, &'n Node)> = Vec::new();
        for (k, v) in entries {
            let Some(key) = k.as_str() else {
                self.error(
                    k.location,
                    path,
                    format!("keys must be strings, found {}", k.type_name()),
                    None,
                );
                continue;
            };
            if out.iter().any(|(seen, _)| *seen == key) {
                self.error(
                    k.location,
                    &join(path, key),
                    format!("duplicate key `{key}`"),
                    None,
                );
                continue;
            }
            if !allowed.contains(&key) {
                let hint = suggest(key, allowed.iter().copied())
                    .or_else(|| Some(format!("allowed keys: {}", allowed.join(", "))));
                self.error(
                    k.location,
                    &join(path, key),
                    format!("unknown key `{key}`"),
                    hint,
                );
                continue;
            }
            out.push((key, v));
        }
        for req in required {
            if !out.iter().any(|(k, _)| k == req) {
                self.error(
                    node.location,
                    path,
                    format!("missing required key `{req}`"),
                    None,
                );
            }
        }
        Some(Fields { entries: out })
    }

    pub(super) fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        if !self.no_tag(node, path) {
            return None;
        }
        match node.as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                self.wrong_type(node, path, "a string");
                None
            }
        }
    }

    pub(super) fn string_list(
        &mut self,
        node: &Node,
        path: &str,
    ) -> Option<Vec<(String, Location)>> {
        match &node.value {
            NodeValue::Str(s) => Some(vec![(s.clone(), node.location)]),
            NodeValue::Seq(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    out.push((self.string(item, &format!("{path}[{i}]"))?, item.location));
                }
                Some(out)
            }
            _ => {
                self.wrong_type(node, path, "a string or a list of strings");
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        match node.value {
            NodeValue::Bool(b) if node.tag.is_none() => Some(b),
            _ => {
                self.wrong_type(node, path, "true or false");
                None
            }
        }
    }

    pub(super) fn keyword<T: Copy>(
        &mut self,
        node: &Node,
        path: &str,
        options: &[(&str, T)],
    ) -> Option<T> {
        let text = self.string(node, path)?;
        match options.iter().find(|(k, _)| *k == text) {
            Some((_, v)) => Some(*v),
            None => {
                let names: Vec<&str> = options.iter().map(|(k, _)| *k).collect();
                let hint = suggest(&text, names.iter().copied())
                    .or_else(|| Some(format!("expected one of: {}", names.join(", "))));
                self.error(node.location, path, format!("unknown value `{text}`"), hint);
                None
            }
        }
    }

    /// Plain JSON, no matchers; value generators (`!repeat`, `!keys`) are expanded.
    pub(super) fn json(&mut self, node: &Node, path: &str) -> Option<Value> {
        if is_generator(node) {
            return self.generated(node, path);
        }
        if !self.no_tag(node, path) {
            return None;
        }
        Some(match &node.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::from(*i),
            NodeValue::Float(x) => match serde_json::Number::from_f64(*x) {
                Some(n) => Value::Number(n),
                None => {
                    self.error(node.location, path, "JSON has no infinity or NaN", None);
                    return None;
                }
            },
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => {
                let mut out = Vec::new();
                let mut ok = true;
                for (i, item) in items.iter().enumerate() {
                    match self.json(item, &format!("{path}[{i}]")) {
                        Some(v) => out.push(v),
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                Value::Array(out)
            }
            NodeValue::Map(entries) => Value::Object(
                self.mapping(
                    entries,
                    path,
                    "JSON object keys must be scalars",
                    Self::json,
                )?
                .into_iter()
                .collect(),
            ),
        })
    }

    /// Converts every entry of a mapping with `convert`, reporting each non-scalar or repeated
    /// key where it stands; `None` when any entry failed (all of them are still reported).
    pub(super) fn mapping<T>(
        &mut self,
        entries: &[(Node, Node)],
        path: &str,
        non_scalar_key: &str,
        mut convert: impl FnMut(&mut Self, &Node, &str) -> Option<T>,
    ) -> Option<Vec<(String, T)>> {
        let mut out: Vec<(String, T)> = Vec::new();
        // A set, so that a mapping with many keys stays linear.
        let mut seen = std::collections::HashSet::new();
        let mut ok = true;
        for (k, v) in entries {
            let Some(key) = k.scalar_text().filter(|_| k.tag.is_none()) else {
                self.error(k.location, path, non_scalar_key, None);
                ok = false;
                continue;
            };
            if !seen.insert(key.clone()) {
                self.error(
                    k.location,
                    &join(path, &key),
                    format!("duplicate key `{key}`"),
                    None,
                );
                ok = false;
                continue;
            }
            match convert(self, v, &join(path, &key)) {
                Some(value) => out.push((key, value)),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    pub(super) fn json_object(&mut self, node: &Node, path: &str) -> Option<Value> {
        if is_generator(node) {
            let value = self.generated(node, path)?;
            if !value.is_object() {
                let tag = node.tag.as_deref().unwrap_or_default();
                self.error(
                    node.location,
                    path,
                    format!("expected a mapping, but `{tag}` generates a string"),
                    Some("`!keys` generates a mapping".into()),
                );
                return None;
            }
            return Some(value);
        }
        if !matches!(node.value, NodeValue::Map(_)) {
            self.wrong_type(node, path, "a mapping");
            return None;
        }
        self.json(node, path)
    }
}

// The generator tags live here, beside the conversion that recognises them; expanding them is
// `generate.rs`'s.
/// The generator tags, for hints and for the tag checks elsewhere.
pub(super) const GENERATORS: &[&str] = &["!repeat", "!keys"];

/// Whether `node` carries a generator tag.
pub(super) fn is_generator(node: &Node) -> bool {
    node.tag.as_deref().is_some_and(|t| GENERATORS.contains(&t))
}
