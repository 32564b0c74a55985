//! Matcher parsing: YAML nodes with the tags `!any`, `!type`, `!regex`, `!not`, `!absent` and
//! `!partial` (at any depth) → [`Expected`], with a located error for every unknown tag, type
//! name or invalid regular expression.
//!
//! What the matchers mean, and how they match, is [`super::matcher`]'s; this module only reads
//! them. Where expectations may appear in a scenario is the format's business (`format/`).

use super::convert::Converter;
use super::error::{SpecError, SpecErrors, suggest};
use super::matcher::{Expected, JsonType};
use super::source::SourceFile;
use super::yaml::{self, Node, NodeValue};

/// Parses one expectation (JSON with matcher tags) from YAML text, as scenario files write
/// them; used by tests and the matcher fuzz target.
pub fn expected_from_yaml(text: &str) -> Result<Expected, SpecErrors> {
    let file = SourceFile {
        path: "(expectation)".into(),
        text: text.to_string(),
    };
    let mut errors = Vec::new();
    let docs = match yaml::parse(text) {
        Ok(d) => d,
        Err(e) => {
            return Err(SpecErrors(vec![
                SpecError::new(file.path.clone(), e.message).located(Some(e.location)),
            ]));
        }
    };
    let Some(node) = docs.first() else {
        return Err(SpecErrors(vec![SpecError::new(file.path.clone(), "empty")]));
    };
    let mut cx = Converter::new(&file, &mut errors);
    match cx.expected(node, "") {
        Some(e) if errors.is_empty() => Ok(e),
        _ => Err(SpecErrors(errors)),
    }
}

impl Converter<'_> {
    /// An expectation: JSON with matcher tags at any depth.
    pub(super) fn expected(&mut self, node: &Node, path: &str) -> Option<Expected> {
        let arg = |node: &Node| node.scalar_text().unwrap_or_default();
        match node.tag.as_deref() {
            None => {}
            Some("!any") => return Some(Expected::Any),
            // A generated value is matched exactly, like the plain value it stands for.
            Some("!repeat" | "!keys") => return self.generated(node, path).map(Expected::Exact),
            Some("!absent") => return Some(Expected::Absent),
            Some("!type") => {
                let name = arg(node);
                return match JsonType::parse(name.trim()) {
                    Some(t) => Some(Expected::Type(t)),
                    None => {
                        let hint = suggest(name.trim(), JsonType::NAMES.iter().copied())
                            .or_else(|| Some(format!("types: {}", JsonType::NAMES.join(", "))));
                        self.error(
                            node.location,
                            path,
                            format!("unknown JSON type `{name}`"),
                            hint,
                        );
                        None
                    }
                };
            }
            Some("!regex") => {
                let Some(pattern) = node.as_str() else {
                    self.wrong_type(node, path, "a regular expression string after `!regex`");
                    return None;
                };
                return match regex::Regex::new(pattern) {
                    Ok(re) => Some(Expected::Regex(re)),
                    Err(e) => {
                        let detail = e.to_string();
                        let last = detail.lines().last().unwrap_or("").trim().to_string();
                        self.error(
                            node.location,
                            path,
                            format!("invalid regular expression `{pattern}`"),
                            Some(last),
                        );
                        None
                    }
                };
            }
            Some("!not") => {
                let stripped = Node {
                    tag: None,
                    ..node.clone()
                };
                return self.json(&stripped, path).map(Expected::Not);
            }
            Some("!partial") => {
                let stripped = Node {
                    tag: None,
                    ..node.clone()
                };
                return match self.expected(&stripped, path)? {
                    Expected::Object { entries, .. } => Some(Expected::Object {
                        entries,
                        partial: true,
                    }),
                    _ => {
                        self.wrong_type(node, path, "a mapping after `!partial`");
                        None
                    }
                };
            }
            Some(other) => {
                let known = [
                    "!any", "!absent", "!type", "!regex", "!not", "!partial", "!repeat", "!keys",
                ];
                let hint = suggest(other, known)
                    .or_else(|| Some(format!("matchers and generators: {}", known.join(", "))));
                self.error(
                    node.location,
                    path,
                    format!("unknown matcher `{other}`"),
                    hint,
                );
                return None;
            }
        }
        match &node.value {
            NodeValue::Seq(items) => {
                let mut out = Vec::new();
                let mut ok = true;
                for (i, item) in items.iter().enumerate() {
                    match self.expected(item, &format!("{path}[{i}]")) {
                        Some(e) => out.push(e),
                        None => ok = false,
                    }
                }
                ok.then_some(Expected::Array(out))
            }
            NodeValue::Map(entries) => self
                .mapping(entries, path, "object keys must be scalars", Self::expected)
                .map(|entries| Expected::Object {
                    entries,
                    partial: false,
                }),
            _ => self.json(node, path).map(Expected::Exact),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_matcher_at_any_depth() {
        let e = expected_from_yaml(
            "!partial {a: !any, b: [!type integer, !regex '^x$'], c: !not 0, d: !absent, e: 1}",
        )
        .unwrap();
        let Expected::Object { entries, partial } = &e else {
            panic!("{e:?}");
        };
        assert!(*partial);
        assert!(matches!(entries[0].1, Expected::Any));
        assert!(matches!(&entries[1].1, Expected::Array(items)
            if matches!(items[0], Expected::Type(JsonType::Integer))
            && matches!(items[1], Expected::Regex(_))));
        assert!(matches!(entries[2].1, Expected::Not(_)));
        assert!(matches!(entries[3].1, Expected::Absent));
        assert!(matches!(entries[4].1, Expected::Exact(_)));
    }

    #[test]
    fn reports_unknown_matchers_types_and_bad_regexes_with_hints() {
        let errs = expected_from_yaml("{a: !ani 1, b: !type strin, c: !regex '(', d: !partial 3}")
            .unwrap_err();
        let text = errs.to_string();
        assert_eq!(errs.0.len(), 4, "{text}");
        assert!(text.contains("unknown matcher `!ani`"), "{text}");
        assert!(text.contains("did you mean `!any`?"), "{text}");
        assert!(text.contains("unknown JSON type `strin`"), "{text}");
        assert!(text.contains("invalid regular expression `(`"), "{text}");
        assert!(
            text.contains("expected a mapping after `!partial`"),
            "{text}"
        );
        assert!(text.contains("(expectation):1:"), "{text}");
    }
}
