//! Any bytes as a scenario file: loading reports errors, never panics or hangs.
#![no_main]

use gws_conformance::spec::{self, SourceFile};
use libfuzzer_sys::fuzz_target;

const MEDIA: &str = include_str!("../../specs/media.yaml");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let media = SourceFile { path: "media.yaml".into(), text: MEDIA.into() };
    let file = SourceFile { path: "fuzz.yaml".into(), text: text.into() };
    if let Err(errors) = spec::load_suite(&media, &[file]) {
        // Rendering must not panic either (it slices source lines at columns).
        let _ = errors.to_string();
    }
});
