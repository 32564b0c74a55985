//! A located YAML tree: every node keeps its line, column and tag.
//!
//! Scenario files need three things serde alone does not give at once: the location of every
//! node (so an error inside a free-form expected body still points at `file:line:column`),
//! custom tags on any node (`!any`, `!type string`, `!regex ...`), and the chance to report
//! every problem in a file rather than the first. So the spec loader reads YAML events from
//! serde-saphyr's parser into this tree and converts the tree by hand.
//!
//! This module knows nothing about scenarios; it does no IO and never panics on bad input.
//! Anchors and aliases are resolved here, under a node budget that stops alias bombs.

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;
use std::fmt;

/// Where a node starts in its source: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

impl Location {
    /// A tagged node starts at its tag, which is where a reader looks for it.
    fn of(span: &Span) -> Self {
        let start = span.tag_start.as_ref().unwrap_or(&span.start);
        Location {
            line: start.line(),
            column: start.col() + 1,
        }
    }
}

/// One YAML node with its resolved core-schema type, its custom tag and its location.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: NodeValue,
    /// A local tag such as `!regex`, written without the handle expansion (`"!regex"`).
    pub tag: Option<String>,
    pub location: Location,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Keys stay nodes so errors can point at the key itself; order is kept.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The JSON-ish name of this node's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "boolean",
            NodeValue::Int(_) | NodeValue::Float(_) => "number",
            NodeValue::Str(_) => "string",
            NodeValue::Seq(_) => "sequence",
            NodeValue::Map(_) => "mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A scalar rendered as text, whatever its resolved type (used for tag arguments).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            NodeValue::Null => Some(String::new()),
            NodeValue::Bool(b) => Some(b.to_string()),
            NodeValue::Int(i) => Some(i.to_string()),
            NodeValue::Float(x) => Some(x.to_string()),
            NodeValue::Str(s) => Some(s.clone()),
            _ => None,
        }
    }
}

/// A YAML syntax error with its location.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    pub location: Location,
    pub message: String,
}

/// Upper bound on nodes built from one source, aliases included. Large enough for any real
/// suite, small enough that a billion-laughs file fails fast with a clear message.
const NODE_BUDGET: usize = 2_000_000;

/// Parses every document of `source` into located trees.
pub fn parse(source: &str) -> Result<Vec<Node>, YamlError> {
    let mut builder = Builder {
        parser: Parser::new_from_str(source),
        anchors: HashMap::new(),
        nodes: 0,
        last_location: Location { line: 1, column: 1 },
    };
    builder.stream()
}

struct Builder<'s> {
    parser: Parser<'s, serde_saphyr::granit_parser::StrInput<'s>>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    last_location: Location,
}

enum Step<'s> {
    Event(Event<'s>, Location),
    End,
}

impl<'s> Builder<'s> {
    fn next(&mut self) -> Result<Step<'s>, YamlError> {
        match self.parser.next_event() {
            None => Ok(Step::End),
            Some(Err(e)) => Err(YamlError {
                location: Location {
                    line: e.marker().line(),
                    column: e.marker().col() + 1,
                },
                message: e.info().to_string(),
            }),
            Some(Ok((event, span))) => {
                let location = Location::of(&span);
                self.last_location = location;
                Ok(Step::Event(event, location))
            }
        }
    }

    fn stream(&mut self) -> Result<Vec<Node>, YamlError> {
        let mut documents = Vec::new();
        loop {
            match self.next()? {
                Step::End | Step::Event(Event::StreamEnd, _) => return Ok(documents),
                Step::Event(Event::DocumentStart(..), _) => {
                    self.anchors.clear();
                    let node = self.node_or_end()?;
                    if let Some(node) = node {
                        documents.push(node);
                        self.expect_document_end()?;
                    }
                }
                Step::Event(_, _) => {}
            }
        }
    }

    fn expect_document_end(&mut self) -> Result<(), YamlError> {
        loop {
            match self.next()? {
                Step::Event(Event::DocumentEnd | Event::StreamEnd, _) | Step::End => return Ok(()),
                Step::Event(
                    event @ (Event::Scalar(..)
                    | Event::SequenceStart(..)
                    | Event::MappingStart(..)
                    | Event::Alias(_)),
                    location,
                ) => {
                    drop(event);
                    return Err(YamlError {
                        location,
                        message: "unexpected content after the end of the document".into(),
                    });
                }
                Step::Event(_, _) => {}
            }
        }
    }

    /// Reads the next node; `None` when the document is empty.
    fn node_or_end(&mut self) -> Result<Option<Node>, YamlError> {
        loop {
            match self.next()? {
                Step::End => return Ok(None),
                Step::Event(Event::DocumentEnd, _) => return Ok(None),
                Step::Event(event, location) => {
                    if let Some(node) = self.node_from(event, location)? {
                        return Ok(Some(node));
                    }
                }
            }
        }
    }

    fn count(&mut self, n: usize, location: Location) -> Result<(), YamlError> {
        self.nodes += n;
        if self.nodes > NODE_BUDGET {
            return Err(YamlError {
                location,
                message: format!(
                    "the document expands to more than {NODE_BUDGET} nodes (an alias bomb?)"
                ),
            });
        }
        Ok(())
    }

    /// Builds the node that starts with `event`; `None` for events that are not nodes
    /// (comments, anchor metadata).
    fn node_from(
        &mut self,
        event: Event<'s>,
        location: Location,
    ) -> Result<Option<Node>, YamlError> {
        let node = match event {
            Event::Scalar(text, style, anchor, tag) => {
                self.count(1, location)?;
                let tag_text = tag
                    .as_ref()
                    .map(|t| format!("{}{}", t.handle(), t.suffix()));
                let value = resolve_scalar(&text, style, tag_text.as_deref());
                let tag = tag_text.filter(|t| !t.starts_with("tag:yaml.org,2002:"));
                let node = Node {
                    value,
                    tag,
                    location,
                };
                self.remember(anchor, &node);
                node
            }
            Event::SequenceStart(_, anchor, tag) => {
                self.count(1, location)?;
                let mut items = Vec::new();
                loop {
                    match self.next()? {
                        Step::Event(Event::SequenceEnd, _) => break,
                        Step::Event(event, location) => {
                            if let Some(item) = self.node_from(event, location)? {
                                items.push(item);
                            }
                        }
                        Step::End => return Err(self.truncated()),
                    }
                }
                let node = Node {
                    value: NodeValue::Seq(items),
                    tag: custom_tag(tag.as_deref()),
                    location,
                };
                self.remember(anchor, &node);
                node
            }
            Event::MappingStart(_, anchor, tag) => {
                self.count(1, location)?;
                let mut entries = Vec::new();
                loop {
                    let key = match self.next()? {
                        Step::Event(Event::MappingEnd, _) => break,
                        Step::Event(event, location) => match self.node_from(event, location)? {
                            Some(key) => key,
                            None => continue,
                        },
                        Step::End => return Err(self.truncated()),
                    };
                    let value = loop {
                        match self.next()? {
                            Step::Event(event, location) => {
                                if let Some(value) = self.node_from(event, location)? {
                                    break value;
                                }
                            }
                            Step::End => return Err(self.truncated()),
                        }
                    };
                    entries.push((key, value));
                }
                let node = Node {
                    value: NodeValue::Map(entries),
                    tag: custom_tag(tag.as_deref()),
                    location,
                };
                self.remember(anchor, &node);
                node
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id).cloned() else {
                    return Err(YamlError {
                        location,
                        message: "alias refers to an unknown anchor".into(),
                    });
                };
                self.count(size(&target), location)?;
                Node { location, ..target }
            }
            Event::UnresolvedAlias(name) => {
                return Err(YamlError {
                    location,
                    message: format!("alias `*{name}` has no anchor before it"),
                });
            }
            Event::SequenceEnd | Event::MappingEnd | Event::DocumentEnd | Event::StreamEnd => {
                return Err(YamlError {
                    location,
                    message: "unexpected end of a collection".into(),
                });
            }
            _ => return Ok(None),
        };
        Ok(Some(node))
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
    }

    fn truncated(&self) -> YamlError {
        YamlError {
            location: self.last_location,
            message: "the document ends inside a collection".into(),
        }
    }
}

fn size(node: &Node) -> usize {
    match &node.value {
        NodeValue::Seq(items) => 1 + items.iter().map(size).sum::<usize>(),
        NodeValue::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| size(k) + size(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

fn custom_tag(tag: Option<&serde_saphyr::granit_parser::Tag>) -> Option<String> {
    let tag = tag?;
    let text = format!("{}{}", tag.handle(), tag.suffix());
    (!text.starts_with("tag:yaml.org,2002:")).then_some(text)
}

/// YAML 1.2 core-schema resolution of a scalar. Quoted scalars are always strings; a core
/// tag (`!!str`, `!!int` ...) forces the type where the text allows it.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> NodeValue {
    match tag {
        Some("tag:yaml.org,2002:str") => return NodeValue::Str(text.to_string()),
        Some("tag:yaml.org,2002:null") => return NodeValue::Null,
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return NodeValue::Str(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return NodeValue::Null,
        "true" | "True" | "TRUE" => return NodeValue::Bool(true),
        "false" | "False" | "FALSE" => return NodeValue::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return NodeValue::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return NodeValue::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return NodeValue::Float(f64::NAN),
        _ => {}
    }
    if let Some(int) = parse_int(text) {
        return NodeValue::Int(int);
    }
    if looks_like_float(text)
        && let Ok(x) = text.parse::<f64>()
    {
        return NodeValue::Float(x);
    }
    NodeValue::Str(text.to_string())
}

fn parse_int(text: &str) -> Option<i64> {
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok();
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok();
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn looks_like_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mantissa_ok = {
        let mut parts = mantissa.splitn(2, '.');
        let whole = parts.next().unwrap_or("");
        let frac = parts.next();
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        match frac {
            Some(frac) => digits(whole) && digits(frac) && !(whole.is_empty() && frac.is_empty()),
            None => !whole.is_empty() && digits(whole),
        }
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok && (mantissa.contains('.') || exponent.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(src: &str) -> Node {
        let mut docs = parse(src).expect("valid yaml");
        assert_eq!(docs.len(), 1);
        docs.remove(0)
    }

    #[test]
    fn resolves_core_schema_scalars() {
        let node = one("a: 1\nb: '1'\nc: 1.5\nd: true\ne: ~\nf: text\ng: 1e3\nh: -7\n");
        let NodeValue::Map(entries) = node.value else {
            panic!("not a map")
        };
        let values: Vec<_> = entries.into_iter().map(|(_, v)| v.value).collect();
        assert_eq!(
            values,
            vec![
                NodeValue::Int(1),
                NodeValue::Str("1".into()),
                NodeValue::Float(1.5),
                NodeValue::Bool(true),
                NodeValue::Null,
                NodeValue::Str("text".into()),
                NodeValue::Float(1000.0),
                NodeValue::Int(-7),
            ]
        );
    }

    #[test]
    fn keeps_custom_tags_and_locations() {
        let node = one("x:\n  y: !regex '^a+$'\n  z: !any\n");
        let NodeValue::Map(entries) = node.value else {
            panic!("not a map")
        };
        let NodeValue::Map(inner) = &entries[0].1.value else {
            panic!("not a map")
        };
        assert_eq!(inner[0].1.tag.as_deref(), Some("!regex"));
        assert_eq!(inner[0].1.as_str(), Some("^a+$"));
        assert_eq!(inner[0].1.location, Location { line: 2, column: 6 });
        assert_eq!(inner[1].1.tag.as_deref(), Some("!any"));
        assert_eq!(inner[1].1.value, NodeValue::Null);
    }

    #[test]
    fn resolves_aliases() {
        let node = one("a: &base {k: 1}\nb: *base\n");
        let NodeValue::Map(entries) = node.value else {
            panic!("not a map")
        };
        assert_eq!(entries[0].1.value, entries[1].1.value);
        assert_eq!(entries[1].1.location.line, 2);
    }

    #[test]
    fn reports_syntax_errors_with_location() {
        let err = parse("a: [1, 2\nb: 3\n").expect_err("unterminated flow sequence");
        assert!(err.location.line >= 1, "{err:?}");
        assert!(!err.message.is_empty());
    }

    #[test]
    fn stops_alias_bombs() {
        let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            src.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let err = parse(&src).expect_err("alias bomb must fail");
        assert!(err.message.contains("nodes"), "{}", err.message);
    }

    #[test]
    fn empty_source_has_no_documents() {
        assert!(parse("").unwrap().is_empty());
        assert!(parse("# only a comment\n").unwrap().is_empty());
    }
}
