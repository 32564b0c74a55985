//! Expected values with matchers: what a scenario says a JSON value must look like.
//!
//! A matcher is written in YAML with a local tag: `!any`, `!type string`, `!regex '^\d+$'`,
//! `!not 0`, `!absent`, and `!partial` on a mapping to allow keys it does not list. Untagged
//! values match exactly; mappings match strictly (no unlisted keys) unless `!partial`.
//!
//! This module compiles and evaluates matchers. It does not read files or decide grades; a
//! mismatch is returned as data for the check stage to turn into a finding.

use regex::Regex;
use serde_json::Value;
use std::fmt;

/// JSON types that `!type` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    Null,
    Boolean,
    Number,
    Integer,
    String,
    Array,
    Object,
}

impl JsonType {
    pub const NAMES: &'static [&'static str] = &[
        "null", "boolean", "number", "integer", "string", "array", "object",
    ];

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "null" => JsonType::Null,
            "boolean" | "bool" => JsonType::Boolean,
            "number" => JsonType::Number,
            "integer" => JsonType::Integer,
            "string" => JsonType::String,
            "array" => JsonType::Array,
            "object" => JsonType::Object,
            _ => return None,
        })
    }

    pub fn of(value: &Value) -> JsonType {
        match value {
            Value::Null => JsonType::Null,
            Value::Bool(_) => JsonType::Boolean,
            Value::Number(n) if n.is_i64() || n.is_u64() => JsonType::Integer,
            Value::Number(_) => JsonType::Number,
            Value::String(_) => JsonType::String,
            Value::Array(_) => JsonType::Array,
            Value::Object(_) => JsonType::Object,
        }
    }

    fn accepts(self, value: &Value) -> bool {
        let actual = JsonType::of(value);
        actual == self || (self == JsonType::Number && actual == JsonType::Integer)
    }

    fn name(self) -> &'static str {
        match self {
            JsonType::Null => "null",
            JsonType::Boolean => "boolean",
            JsonType::Number => "number",
            JsonType::Integer => "integer",
            JsonType::String => "string",
            JsonType::Array => "array",
            JsonType::Object => "object",
        }
    }
}

/// An expected JSON value, possibly containing matchers at any depth.
#[derive(Debug, Clone)]
pub enum Expected {
    /// A scalar that must be equal (numbers compare by value: `1` equals `1.0`).
    Exact(Value),
    Object {
        entries: Vec<(String, Expected)>,
        partial: bool,
    },
    Array(Vec<Expected>),
    Any,
    Type(JsonType),
    Regex(Regex),
    Not(Value),
    /// The key must not be present (only meaningful as an object entry).
    Absent,
}

/// One place where an actual value differs from the expectation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Mismatch {
    /// JSON pointer of the differing value, relative to the compared root.
    pub path: String,
    pub expected: String,
    pub actual: String,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Exact(v) => write!(f, "{v}"),
            Expected::Any => f.write_str("!any"),
            Expected::Type(t) => write!(f, "!type {}", t.name()),
            Expected::Regex(r) => write!(f, "!regex {}", r.as_str()),
            Expected::Not(v) => write!(f, "!not {v}"),
            Expected::Absent => f.write_str("!absent"),
            Expected::Array(_) | Expected::Object { .. } => {
                write!(
                    f,
                    "{}",
                    serde_json::to_string(&self.to_display_json()).unwrap_or_default()
                )
            }
        }
    }
}

impl Expected {
    /// A JSON rendering in which matchers appear as their tag text; used in diffs.
    pub fn to_display_json(&self) -> Value {
        match self {
            Expected::Exact(v) => v.clone(),
            Expected::Object { entries, .. } => Value::Object(
                entries
                    .iter()
                    .filter(|(_, e)| !matches!(e, Expected::Absent))
                    .map(|(k, e)| (k.clone(), e.to_display_json()))
                    .collect(),
            ),
            Expected::Array(items) => {
                Value::Array(items.iter().map(|e| e.to_display_json()).collect())
            }
            other => Value::String(other.to_string()),
        }
    }

    /// Builds an exact expectation from a plain JSON value.
    pub fn exact(value: &Value) -> Expected {
        match value {
            Value::Object(map) => Expected::Object {
                entries: map
                    .iter()
                    .map(|(k, v)| (k.clone(), Expected::exact(v)))
                    .collect(),
                partial: false,
            },
            Value::Array(items) => Expected::Array(items.iter().map(Expected::exact).collect()),
            scalar => Expected::Exact(scalar.clone()),
        }
    }

    /// Compares `actual` (None = absent) and returns every mismatch.
    pub fn check(&self, actual: Option<&Value>) -> Vec<Mismatch> {
        let mut out = Vec::new();
        self.check_at(actual, &mut String::new(), &mut out);
        out
    }

    pub fn matches(&self, actual: Option<&Value>) -> bool {
        self.check(actual).is_empty()
    }

    fn check_at(&self, actual: Option<&Value>, path: &mut String, out: &mut Vec<Mismatch>) {
        let mut fail = |expected: String| {
            out.push(Mismatch {
                path: if path.is_empty() {
                    "/".into()
                } else {
                    path.clone()
                },
                expected,
                actual: actual.map_or_else(|| "(absent)".into(), |v| v.to_string()),
            })
        };
        match (self, actual) {
            (Expected::Absent, None) => {}
            (Expected::Absent, Some(_)) => fail("(absent)".into()),
            (_, None) => fail(self.to_string()),
            (Expected::Any, Some(_)) => {}
            (Expected::Type(t), Some(v)) => {
                if !t.accepts(v) {
                    fail(self.to_string());
                }
            }
            (Expected::Regex(re), Some(v)) => {
                if !v.as_str().is_some_and(|s| re.is_match(s)) {
                    fail(self.to_string());
                }
            }
            (Expected::Not(bad), Some(v)) => {
                if json_equal(bad, v) {
                    fail(self.to_string());
                }
            }
            (Expected::Exact(want), Some(v)) => {
                if !json_equal(want, v) {
                    fail(self.to_string());
                }
            }
            (Expected::Array(items), Some(Value::Array(actual_items))) => {
                if items.len() != actual_items.len() {
                    fail(format!("an array of {} items: {self}", items.len()));
                    return;
                }
                for (i, (e, a)) in items.iter().zip(actual_items).enumerate() {
                    let len = path.len();
                    path.push_str(&format!("/{i}"));
                    e.check_at(Some(a), path, out);
                    path.truncate(len);
                }
            }
            (Expected::Object { entries, partial }, Some(Value::Object(map))) => {
                for (key, e) in entries {
                    let len = path.len();
                    path.push('/');
                    path.push_str(&escape_pointer(key));
                    e.check_at(map.get(key), path, out);
                    path.truncate(len);
                }
                if !partial {
                    for (key, value) in map {
                        if !entries.iter().any(|(k, _)| k == key) {
                            out.push(Mismatch {
                                path: format!("{path}/{}", escape_pointer(key)),
                                expected: "(absent: key not expected)".into(),
                                actual: value.to_string(),
                            });
                        }
                    }
                }
            }
            (Expected::Array(_) | Expected::Object { .. }, Some(_)) => fail(self.to_string()),
        }
    }
}

/// JSON equality where numbers compare by value, so `1` equals `1.0`.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// RFC 6901 escaping of one reference token.
pub fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(entries: Vec<(&str, Expected)>, partial: bool) -> Expected {
        Expected::Object {
            entries: entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            partial,
        }
    }

    #[test]
    fn strict_objects_reject_extra_keys() {
        let e = object(vec![("statusCode", Expected::Exact(json!(0)))], false);
        assert!(e.matches(Some(&json!({"statusCode": 0}))));
        let m = e.check(Some(&json!({"statusCode": 0, "x": 1})));
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].path, "/x");
    }

    #[test]
    fn partial_objects_allow_extra_keys() {
        let e = object(vec![("a", Expected::Type(JsonType::Integer))], true);
        assert!(e.matches(Some(&json!({"a": 1, "b": 2}))));
        assert!(!e.matches(Some(&json!({"a": "1"}))));
    }

    #[test]
    fn matchers_match_what_they_say() {
        assert!(Expected::Any.matches(Some(&json!(null))));
        assert!(!Expected::Any.matches(None));
        assert!(Expected::Absent.matches(None));
        assert!(!Expected::Absent.matches(Some(&json!(1))));
        assert!(Expected::Not(json!(0)).matches(Some(&json!(6))));
        assert!(!Expected::Not(json!(0)).matches(Some(&json!(0.0))));
        assert!(Expected::Type(JsonType::Number).matches(Some(&json!(3))));
        assert!(!Expected::Type(JsonType::Integer).matches(Some(&json!(3.5))));
        let re = Expected::Regex(Regex::new("^a+$").unwrap());
        assert!(re.matches(Some(&json!("aaa"))));
        assert!(!re.matches(Some(&json!("ab"))));
        assert!(!re.matches(Some(&json!(1))));
    }

    #[test]
    fn mismatch_paths_are_json_pointers() {
        let e = Expected::exact(&json!({"userData": {"a/b": [1, 2]}}));
        let m = e.check(Some(&json!({"userData": {"a/b": [1, 3]}})));
        assert_eq!(m[0].path, "/userData/a~1b/1");
        assert_eq!(m[0].expected, "2");
        assert_eq!(m[0].actual, "3");
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(json_equal(&json!(1), &json!(1.0)));
        assert!(!json_equal(&json!(1), &json!("1")));
    }
}
