//! Where a target file's problem is, and what to write instead: serde's "missing field" and
//! "unknown field" turned into the line of the mapping or key concerned, the key path, and an
//! example of the missing key; the checks after parsing located at the key they judge.
//!
//! It reads the file a second time into the spec stage's located tree, only on the error path
//! and for locations; it does not validate anything itself (the serde types and the checks in
//! `target_file` decide what is valid), so a key added there needs nothing here unless it is
//! required, when it deserves an example in [`example`].

use crate::spec::error::suggest;
use crate::spec::yaml::{Node, NodeValue, parse};
use serde_saphyr::{DefaultMessageFormatter, MessageFormatter};

/// A 1-based `(line, column)`.
pub(super) type At = (usize, usize);

/// What to write for a required key, with what it means.
pub(super) fn example(key: &str) -> Option<&'static str> {
    Some(match key {
        "name" => "`name: Lab GWS` (the name reports give the server)",
        "base_url" => {
            "`base_url: https://gws.example.com:8443` (the server's root URL, http:// or https://; \
             the API is under /api/v2)"
        }
        "fixtures" => {
            "`fixtures:` with how the run obtains interactions: `native:` (documented GWS \
             operations: `dial` for voice, `queue_uri` for email, open media and workitem, \
             `queue_path` for Twitter), `url:` (the fixture contract's base URL) or `exec:` (a \
             provisioner command), e.g. `fixtures: {native: {dial: \"15002\"}}` or \
             `fixtures: {url: \"https://gws.example.com/conformance/v1\"}` (README \"Against a \
             real GWS\")"
        }
        "agents" => {
            "`agents:` with two agents of the test tenant, e.g. \
             `agents: [{username: agent1, password_env: GWS_AGENT1_PASSWORD}, {username: agent2, \
             password_env: GWS_AGENT2_PASSWORD}]` (or `agent_pattern: {username: \"agent{n}\", \
             count: 200, password_env: GWS_AGENT_PASSWORD}` for many)"
        }
        "username" => "`username: agent1` (the agent's GWS login)",
        "password_env" => {
            "`password_env: GWS_AGENT1_PASSWORD` (the environment variable holding the agent's \
             password; passwords never go in the file)"
        }
        "count" => "`count: 200` (how many agents the pattern names)",
        _ => return None,
    })
}

/// A serde-saphyr error as a located message naming the key path and what to write.
pub(super) fn describe(text: &str, error: &serde_saphyr::Error) -> (Option<At>, String) {
    let error = error.without_snippet();
    let reported = error
        .location()
        .map(|l| (l.line() as usize, l.column() as usize));
    let parsed = parse(text);
    let empty =
        matches!(&parsed, Ok(docs) if docs.first().is_none_or(|r| r.value == NodeValue::Null));
    let root = parsed.ok().and_then(|docs| docs.into_iter().next());
    match error {
        serde_saphyr::Error::SerdeMissingField { field, .. } => {
            let (path, at) = root
                .as_ref()
                .and_then(|root| mapping_at(root, reported?))
                .unwrap_or_else(|| (String::new(), (1, 1)));
            let what = example(field)
                .map(|e| format!("; add {e}"))
                .unwrap_or_default();
            (
                Some(at),
                format!("{} has no `{field}`{what}", describe_path(&path, at)),
            )
        }
        serde_saphyr::Error::SerdeUnknownField {
            field, expected, ..
        } => {
            let path = root
                .as_ref()
                .zip(reported)
                .and_then(|(root, at)| key_path_at(root, at))
                .map(|p| p.rsplit_once('.').map(|(parent, _)| parent.to_string()))
                .unwrap_or_default()
                .unwrap_or_default();
            let hint = suggest(field, expected.iter().copied())
                .map(|s| format!("{s} "))
                .unwrap_or_default();
            let place = if path.is_empty() {
                "at the top level".to_string()
            } else {
                format!("in `{path}`")
            };
            (
                reported,
                format!(
                    "unknown key `{field}` {place}; {hint}allowed there: {}",
                    expected.join(", ")
                ),
            )
        }
        _ if empty => (
            Some((1, 1)),
            "the target file is empty; it needs `name`, `base_url`, `agents` and `fixtures` \
             (README \"Against a real GWS\")"
                .to_string(),
        ),
        other => {
            let message = DefaultMessageFormatter.format_message(other);
            let path = root
                .as_ref()
                .zip(reported)
                .and_then(|(root, at)| key_path_at(root, at));
            match path {
                Some(path) => (reported, format!("`{path}`: {message}")),
                None => (reported, message.into_owned()),
            }
        }
    }
}

/// "the top level (line 1)", "`agents[0]` (line 4)".
fn describe_path(path: &str, at: At) -> String {
    if path.is_empty() {
        format!("the top level (from line {})", at.0)
    } else {
        format!("`{path}` (line {})", at.0)
    }
}

/// The location of the key at `path` (`fixtures.native`), when the file has it.
pub(super) fn key(text: &str, path: &str) -> Option<At> {
    let root = parse(text).ok()?.into_iter().next()?;
    let mut node = &root;
    let mut at = None;
    for part in path.split('.') {
        let NodeValue::Map(entries) = &node.value else {
            return None;
        };
        let (k, v) = entries.iter().find(|(k, _)| k.as_str() == Some(part))?;
        at = Some((k.location.line, k.location.column));
        node = v;
    }
    at
}

/// Where the top-level mapping starts (where a missing top-level key belongs), or 1:1.
pub(super) fn top(text: &str) -> At {
    parse(text)
        .ok()
        .and_then(|docs| docs.into_iter().next())
        .map(|n| (n.location.line, n.location.column))
        .unwrap_or((1, 1))
}

/// The mapping serde was reading at `at` (it reports a missing field at the mapping's start or
/// at its last key): its key path and where it starts. Failing an exact match, the last mapping
/// starting before `at`.
fn mapping_at(root: &Node, at: At) -> Option<(String, At)> {
    let mut maps = Vec::new();
    mappings(root, String::new(), &mut maps);
    let start = |n: &Node| (n.location.line, n.location.column);
    let exact = maps.iter().rev().find(|(_, n)| {
        start(n) == at
            || matches!(&n.value, NodeValue::Map(e) if e.iter().any(|(k, _)| start(k) == at))
    });
    let (path, node) = exact.or_else(|| {
        maps.iter()
            .filter(|(_, n)| start(n) <= at)
            .max_by_key(|(_, n)| start(n))
    })?;
    Some((path.clone(), start(node)))
}

/// The key path of the key, or of the value, at `at` (`fixtures.native.dail`,
/// `agents[0].pasword_env`).
fn key_path_at(root: &Node, at: At) -> Option<String> {
    let mut maps = Vec::new();
    mappings(root, String::new(), &mut maps);
    let start = |n: &Node| (n.location.line, n.location.column);
    maps.iter().rev().find_map(|(path, n)| match &n.value {
        NodeValue::Map(entries) => entries
            .iter()
            .find(|(k, v)| start(k) == at || start(v) == at)
            .map(|(k, _)| join(path, &k.scalar_text().unwrap_or_default())),
        _ => None,
    })
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Every mapping under `node` with its key path, in document order.
fn mappings<'n>(node: &'n Node, path: String, out: &mut Vec<(String, &'n Node)>) {
    match &node.value {
        NodeValue::Map(entries) => {
            out.push((path.clone(), node));
            for (k, v) in entries {
                mappings(v, join(&path, &k.scalar_text().unwrap_or_default()), out);
            }
        }
        NodeValue::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                mappings(item, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// `agents` is optional to serde (`agent_pattern` may replace it), so its absence is found
/// after parsing; the message says where it goes and what to write.
pub(super) fn no_agents(text: &str) -> (At, String) {
    let what = example("agents").unwrap_or_default();
    match key(text, "agents") {
        Some(at) => (at, format!("`agents` names no agent; write {what}")),
        None => {
            let at = top(text);
            (
                at,
                format!("{} has no `agents`; add {what}", describe_path("", at)),
            )
        }
    }
}
