//! Notification shapes in two layers: the documented core per media and GWS version (a
//! failure when a property is missing or retyped) and the reference server's pinned snapshot
//! beyond it (a warning); plus the redaction and key normalisation that make shapes comparable.
//!
//! It does not look at values, only property names and JSON types.

use crate::result::{Finding, Severity};
use crate::spec::{GwsVersion, MediaFacts};
use serde_json::{Value, json};

/// Renames an accepted alternative resource key to the canonical one, so shapes compare.
pub(super) fn normalize(facts: &MediaFacts, message: &Value) -> Value {
    let mut m = message.clone();
    if let Some(data) = m.get_mut("data").and_then(Value::as_object_mut) {
        let canonical = facts.canonical_resource_key().to_string();
        if let Some(alt) = facts
            .resource_key
            .iter()
            .skip(1)
            .find(|k| data.contains_key(k.as_str()))
            .cloned()
            && !data.contains_key(&canonical)
            && let Some(v) = data.remove(&alt)
        {
            data.insert(canonical, v);
        }
    }
    m
}
/// Replaces the values of volatile keys, at any depth, with `"[redacted]"`.
pub fn redact(value: &Value, keys: &[String]) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if keys.iter().any(|r| r == k) && !v.is_object() && !v.is_array() {
                        json!("[redacted]")
                    } else {
                        redact(v, keys)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| redact(v, keys)).collect()),
        other => other.clone(),
    }
}
/// Where two shapes disagree.
#[derive(Default)]
pub(super) struct ShapeGaps {
    missing: Vec<String>,
    retyped: Vec<String>,
    extra: Vec<String>,
}
impl ShapeGaps {
    fn of(reference: &Value, actual: &Value) -> ShapeGaps {
        let mut gaps = ShapeGaps::default();
        compare_shape(reference, actual, &mut String::new(), &mut gaps);
        gaps
    }

    fn is_match(&self) -> bool {
        self.missing.is_empty() && self.retyped.is_empty()
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.missing.is_empty() {
            parts.push(format!("missing {}", self.missing.join(", ")));
        }
        if !self.retyped.is_empty() {
            parts.push(format!("different type at {}", self.retyped.join(", ")));
        }
        parts.join("; ")
    }

    /// Expected and actual, one line per differing path.
    fn sides(&self, reference: &Value, actual: &Value) -> (String, String) {
        let mut expected = Vec::new();
        let mut got = Vec::new();
        for path in &self.missing {
            expected.push(format!("{path}: {}", type_at(reference, path)));
            got.push(format!("{path}: (absent)"));
        }
        for entry in &self.retyped {
            let path = entry.split(" (").next().unwrap_or(entry);
            expected.push(format!("{path}: {}", type_at(reference, path)));
            got.push(format!("{path}: {}", type_at(actual, path)));
        }
        (expected.join("\n"), got.join("\n"))
    }
}
pub(super) fn type_at(doc: &Value, path: &str) -> &'static str {
    let pointer = if path == "/" { "" } else { path };
    doc.pointer(pointer).map_or("(absent)", type_name)
}
/// The first shape layer: every property the GWS pages show for this media (in `version`)
/// must be there with its documented JSON type. Returns the core used, so the second layer
/// can leave its paths alone.
pub(super) fn check_documented_shape<'f>(
    facts: &'f MediaFacts,
    version: GwsVersion,
    message: &Value,
    findings: &mut Vec<Finding>,
) -> Option<&'f Value> {
    let core = facts.documented_for(version)?;
    let gaps = ShapeGaps::of(&core.shape, message);
    if !gaps.is_match() {
        // A notification that fits another version's documented shape is most likely that
        // version, not a broken server: say so, so the vendor knows what to change.
        let other = facts
            .documented
            .iter()
            .filter(|d| !d.describes(version))
            .find(|d| ShapeGaps::of(&d.shape, message).is_match());
        let lacks = format!(
            "the notification lacks the documented GWS {version} shape: {}",
            gaps.describe()
        );
        let message_text = match other {
            Some(other) => {
                let versions: Vec<&str> = other.gws.iter().map(|v| v.as_str()).collect();
                format!(
                    "{}; the notification fits the documented GWS {} shape instead (certify with --gws-version {}): {lacks}",
                    other
                        .signature
                        .as_deref()
                        .unwrap_or("another version's format"),
                    versions.join("/"),
                    versions.last().copied().unwrap_or_default(),
                )
            }
            None => lacks,
        };
        let (expected, actual) = gaps.sides(&core.shape, message);
        findings.push(Finding::new("shape.documented", message_text).with(expected, actual));
    }
    Some(&core.shape)
}
/// The second shape layer: the pinned snapshot is what the reference server sends. Where it
/// goes beyond the documented core, a difference is only a warning; properties the target
/// adds are informational.
pub(super) fn check_shape(
    reference: Option<&Value>,
    core: Option<&Value>,
    actual: &Value,
    findings: &mut Vec<Finding>,
) {
    let Some(reference) = reference else {
        findings.push(
            Finding::new("shape", "no pinned snapshot for this scenario")
                .severity(Severity::Warning),
        );
        return;
    };
    let mut gaps = ShapeGaps::of(reference, actual);
    let in_core = |path: &str| {
        let path = path.split(" (").next().unwrap_or(path);
        core.is_some_and(|c| c.pointer(path).is_some())
    };
    gaps.missing.retain(|p| !in_core(p));
    gaps.retyped.retain(|p| !in_core(p));
    if !gaps.is_match() {
        let (expected, got) = gaps.sides(reference, actual);
        findings.push(
            Finding::new(
                "shape",
                format!(
                    "beyond the documented shape, the notification differs from the reference server's: {}",
                    gaps.describe()
                ),
            )
            .with(expected, got)
            .severity(Severity::Warning),
        );
    }
    if !gaps.extra.is_empty() {
        findings.push(
            Finding::new(
                "shape.extra",
                format!(
                    "properties beyond the pinned shape: {}",
                    gaps.extra.join(", ")
                ),
            )
            .severity(Severity::Info),
        );
    }
}
pub(super) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
/// Walks `reference`: each of its properties must exist in `actual` with the same JSON type.
/// Arrays compare their first elements. A missing `userData` is not a gap: it means `{}`.
pub(super) fn compare_shape(
    reference: &Value,
    actual: &Value,
    path: &mut String,
    gaps: &mut ShapeGaps,
) {
    if type_name(reference) != type_name(actual) {
        gaps.retyped.push(format!(
            "{} ({} → {})",
            if path.is_empty() { "/" } else { path },
            type_name(reference),
            type_name(actual)
        ));
        return;
    }
    match (reference, actual) {
        (Value::Object(r), Value::Object(a)) => {
            for (k, rv) in r {
                let len = path.len();
                path.push('/');
                path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                match a.get(k) {
                    None if k == "userData" => {}
                    None => gaps.missing.push(path.clone()),
                    Some(av) => compare_shape(rv, av, path, gaps),
                }
                path.truncate(len);
            }
            for k in a.keys().filter(|k| !r.contains_key(*k)) {
                gaps.extra.push(format!("{path}/{k}"));
            }
        }
        (Value::Array(r), Value::Array(a)) => {
            if let (Some(rv), Some(av)) = (r.first(), a.first()) {
                let len = path.len();
                path.push_str("/0");
                compare_shape(rv, av, path, gaps);
                path.truncate(len);
            }
        }
        _ => {}
    }
}
