//! Value generators: YAML tags that stand for a JSON value too large, or too regular, to write
//! by hand — `!repeat {text: "ab", times: 32768}` (a string) and
//! `!keys {prefix: K, count: 500, value: v}` (an object `{K1: v, …, K500: v}`).
//!
//! They are read wherever plain JSON is (request bodies, `given.userData`, `then`) and wherever
//! expectations are (diff values, response bodies), so a scenario states the same generated
//! value on both sides. Generation is bounded: one generator yields at most
//! [`MAX_GENERATED`] bytes of JSON, and one file at most [`FILE_BUDGET`] (aliases of a
//! generator count each time they are used), so a scenario file cannot blow up memory the way
//! an alias bomb would; every refusal is a located error with its key path.

use super::convert::{Converter, Keys, join};
use super::yaml::{Node, NodeValue};
use serde_json::{Map, Value};

/// Largest value one generator may produce, in bytes of compact JSON: 1 MiB. Edge cases need
/// 64 KiB values and a few hundred keys; anything near this is a mistake.
pub(super) const MAX_GENERATED: usize = 1024 * 1024;

/// Largest total one file's generators may produce (each alias use counts again).
pub(super) const FILE_BUDGET: usize = 16 * MAX_GENERATED;

/// Most keys one `!keys` may generate.
const MAX_KEYS: u64 = 10_000;

const REPEAT: Keys = Keys {
    allowed: &["text", "times"],
    required: &["text", "times"],
};

const KEYS: Keys = Keys {
    allowed: &["prefix", "count", "from", "value"],
    required: &["count", "value"],
};

impl Converter<'_> {
    /// The value a generator-tagged node stands for. `None` after reporting a located error.
    pub(super) fn generated(&mut self, node: &Node, path: &str) -> Option<Value> {
        let value = match node.tag.as_deref() {
            Some("!repeat") => self.repeat(node, path)?,
            Some("!keys") => self.keys(node, path)?,
            _ => {
                self.wrong_type(node, path, "a generator (`!repeat`, `!keys`)");
                return None;
            }
        };
        self.charge(node, path, json_len(&value))?;
        Some(value)
    }

    /// Counts `bytes` against the file's budget, refusing once it is spent.
    fn charge(&mut self, node: &Node, path: &str, bytes: usize) -> Option<()> {
        self.generated_bytes = self.generated_bytes.saturating_add(bytes);
        if self.generated_bytes > FILE_BUDGET {
            self.error(
                node.location,
                path,
                format!("generators in this file produce more than {FILE_BUDGET} bytes"),
                Some(
                    "generated values are for edge cases; split the file or use smaller values"
                        .into(),
                ),
            );
            return None;
        }
        Some(())
    }

    fn too_large(&mut self, node: &Node, path: &str, what: &str, bytes: u128) {
        self.error(
            node.location,
            path,
            format!("{what} would produce {bytes} bytes; a generator may produce at most {MAX_GENERATED} (1 MiB)"),
            None,
        );
    }

    fn count(&mut self, node: &Node, path: &str, max: u64) -> Option<u64> {
        match node.value {
            NodeValue::Int(n) if node.tag.is_none() && n >= 0 && (n as u64) <= max => {
                Some(n as u64)
            }
            NodeValue::Int(n) if node.tag.is_none() => {
                self.error(
                    node.location,
                    path,
                    format!("{n} is out of range: expected 0 to {max}"),
                    None,
                );
                None
            }
            _ => {
                self.wrong_type(node, path, "a non-negative integer");
                None
            }
        }
    }

    /// `!repeat {text, times}`: `text` written `times` times.
    fn repeat(&mut self, node: &Node, path: &str) -> Option<Value> {
        let f = self.fields(node, path, &REPEAT)?;
        let text = self.string(f.get("text")?, &join(path, "text"));
        let times_node = f.get("times")?;
        let times = self.count(times_node, &join(path, "times"), u64::MAX >> 1);
        let (text, times) = (text?, times?);
        let bytes = text.len() as u128 * u128::from(times);
        if bytes > MAX_GENERATED as u128 {
            self.too_large(times_node, &join(path, "times"), "`!repeat`", bytes);
            return None;
        }
        Some(Value::String(text.repeat(times as usize)))
    }

    /// `!keys {prefix, count, from, value}`: an object with the keys `prefix` + `from`,
    /// `prefix` + `from + 1`, … (`count` of them; `from` defaults to 1, `prefix` to ""), each
    /// holding `value` (plain JSON, or itself a generator).
    fn keys(&mut self, node: &Node, path: &str) -> Option<Value> {
        let f = self.fields(node, path, &KEYS)?;
        let prefix = match f.get("prefix") {
            Some(n) => self.string(n, &join(path, "prefix")),
            None => Some(String::new()),
        };
        let count_node = f.get("count")?;
        let count = self.count(count_node, &join(path, "count"), MAX_KEYS);
        let from = match f.get("from") {
            Some(n) => self.count(n, &join(path, "from"), u64::from(u32::MAX)),
            None => Some(1),
        };
        let value = self.json(f.get("value")?, &join(path, "value"));
        let (prefix, count, from, value) = (prefix?, count?, from?, value?);
        // Estimated before building, so an oversized request costs nothing: each entry is
        // `"<prefix><n>":<value>,` with at most 10 digits.
        let entry = prefix.len() as u128 + 10 + 4 + json_len(&value) as u128;
        let bytes = entry * u128::from(count);
        if bytes > MAX_GENERATED as u128 {
            self.too_large(count_node, &join(path, "count"), "`!keys`", bytes);
            return None;
        }
        let mut out = Map::new();
        for n in from..from + count {
            out.insert(format!("{prefix}{n}"), value.clone());
        }
        Some(Value::Object(out))
    }
}

/// Size of a value as compact JSON.
fn json_len(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |v| v.len())
}

#[cfg(test)]
mod tests {
    use crate::spec::matcher::Expected;
    use crate::spec::matcher_parse::expected_from_yaml;
    use serde_json::{Value, json};

    fn exact(yaml: &str) -> Value {
        match expected_from_yaml(yaml) {
            Ok(Expected::Exact(v)) => v,
            other => panic!("{other:?}"),
        }
    }

    fn error(yaml: &str) -> String {
        expected_from_yaml(yaml).unwrap_err().to_string()
    }

    #[test]
    fn repeat_writes_text_the_given_number_of_times() {
        assert_eq!(exact("!repeat {text: ab, times: 3}"), json!("ababab"));
        assert_eq!(exact("!repeat {text: x, times: 0}"), json!(""));
        let long = exact("!repeat {text: 'é', times: 32768}");
        assert_eq!(long.as_str().unwrap().len(), 65536);
    }

    #[test]
    fn keys_numbers_its_keys_from_one_or_from() {
        assert_eq!(
            exact("!keys {prefix: K, count: 3, value: v}"),
            json!({"K1": "v", "K2": "v", "K3": "v"})
        );
        assert_eq!(
            exact("!keys {count: 2, from: 0, value: null}"),
            json!({"0": null, "1": null})
        );
        let many = exact("!keys {prefix: Key, count: 500, value: 7}");
        assert_eq!(many.as_object().unwrap().len(), 500);
        assert_eq!(many["Key500"], json!(7));
    }

    #[test]
    fn generators_nest_and_sit_inside_expectations() {
        let v = exact("!keys {prefix: L, count: 2, value: !repeat {text: ab, times: 2}}");
        assert_eq!(v, json!({"L1": "abab", "L2": "abab"}));
        let e = expected_from_yaml("!partial {a: !repeat {text: z, times: 2}, b: !any}").unwrap();
        let Expected::Object { entries, .. } = e else {
            panic!()
        };
        assert!(matches!(&entries[0].1, Expected::Exact(v) if v == "zz"));
    }

    #[test]
    fn absurd_sizes_are_refused_with_a_location() {
        let text = error("{big: !repeat {text: abcd, times: 1000000}}");
        assert!(text.contains("would produce 4000000 bytes"), "{text}");
        assert!(text.contains("at most 1048576 (1 MiB)"), "{text}");
        assert!(text.contains("(expectation):1:"), "{text}");
        assert!(text.contains("big.times"), "{text}");
        let text = error("!keys {prefix: K, count: 10000, value: !repeat {text: a, times: 1000}}");
        assert!(text.contains("`!keys` would produce"), "{text}");
        let text = error("!keys {count: 20000, value: 1}");
        assert!(
            text.contains("20000 is out of range: expected 0 to 10000"),
            "{text}"
        );
    }

    #[test]
    fn the_file_budget_counts_every_alias_use() {
        let mut yaml = String::from("- &big !repeat {text: abcdefgh, times: 131072}\n");
        for _ in 0..20 {
            yaml.push_str("- *big\n");
        }
        let text = error(&yaml);
        assert!(
            text.contains("generators in this file produce more than"),
            "{text}"
        );
    }

    #[test]
    fn malformed_generators_are_located_errors() {
        let text = error(
            "{a: !repeat {text: ab}, b: !repeat {text: 1, times: -1}, c: !keys {count: 2, valu: 1}}",
        );
        assert!(text.contains("missing required key `times`"), "{text}");
        assert!(text.contains("expected a string, found number"), "{text}");
        assert!(text.contains("-1 is out of range"), "{text}");
        assert!(text.contains("unknown key `valu`"), "{text}");
        assert!(text.contains("did you mean `value`?"), "{text}");
        let text = error("!repeat ab");
        assert!(text.contains("expected a mapping, found string"), "{text}");
    }
}
