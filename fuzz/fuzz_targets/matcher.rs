//! An expectation (YAML with matcher tags) and an actual JSON value, split at the first NUL
//! byte: compiling and matching never panic, and a value matches its own exact expectation.
#![no_main]

use gws_conformance::spec::expected_from_yaml;
use gws_conformance::spec::matcher::Expected;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (expectation, actual) = text.split_once('\0').unwrap_or((text, "null"));
    let Ok(actual) = serde_json::from_str::<serde_json::Value>(actual) else { return };
    if let Ok(expected) = expected_from_yaml(expectation) {
        let _ = expected.check(Some(&actual));
        let _ = expected.to_string();
    }
    assert!(Expected::exact(&actual).matches(Some(&actual)), "a value must match itself");
});
