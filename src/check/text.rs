//! How the checks quote JSON values in findings. Formatting only; no check lives here.

use serde_json::Value;

/// A value as a finding quotes it, `(absent)` for none.
pub(super) fn show(v: Option<&Value>) -> String {
    v.map_or_else(|| "(absent)".into(), Value::to_string)
}
/// A value pretty-printed, for a finding's expected or actual side.
pub(super) fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}
