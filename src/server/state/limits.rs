//! What a conservative back end stores (the most keys, the longest value, the deepest object),
//! which the `refuse-unusual-data` reading refuses beyond, and what a `silent-damage` server
//! stores instead of data it does not keep.
//!
//! Only the limits and the damage; which reading or defect applies them is the server state's.

use serde_json::{Map, Value, json};

/// The most keys, and the longest value, a conservative back end stores.
pub(super) const MOST_KEYS: usize = 100;
pub(super) const LONGEST_VALUE: usize = 16 * 1024;
/// Objects deeper than this many levels are what a conservative back end will not store, and
/// what `silent-damage` flattens to text.
pub(super) const DEEPEST: usize = 2;

/// What a `silent-damage` server stores instead of `data`: nulls and the empty key dropped,
/// non-integral numbers truncated, booleans as strings, objects beyond the second level as JSON
/// text, keys beyond the hundredth dropped.
pub(super) fn silently_damaged(data: Map<String, Value>) -> Map<String, Value> {
    data.into_iter()
        .filter(|(k, v)| !k.is_empty() && !v.is_null())
        .take(MOST_KEYS)
        .map(|(k, v)| (k, damaged(v, 1)))
        .collect()
}

fn damaged(value: Value, depth: usize) -> Value {
    match value {
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => {
            json!(n.as_f64().map_or(0, |f| f.trunc() as i64))
        }
        Value::Object(inner) if depth >= DEEPEST => Value::String(Value::Object(inner).to_string()),
        Value::Object(inner) => Value::Object(
            inner
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, damaged(v, depth + 1)))
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| damaged(v, depth + 1)).collect())
        }
        other => other,
    }
}
