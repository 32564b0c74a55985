//! Any bytes as a Bayeux response body: parsing, splitting a connect reply, reading advice and
//! routing by interaction id never panic, and advice stays within its clamps.
#![no_main]

use gws_conformance::bayeux::{Advice, parse_replies, refusal, split_connect};
use gws_conformance::run::router::interaction_id;
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(replies) = parse_replies(&text) else { return };
    for reply in &replies {
        let advice = Advice::default().updated(reply);
        assert!(advice.interval <= Duration::from_secs(60));
        assert!(advice.timeout <= Duration::from_secs(600));
        let _ = refusal(reply, "/meta/handshake");
        let _ = interaction_id(reply);
    }
    if let Ok((events, reply)) = split_connect(replies) {
        assert!(events.iter().all(|e| e.get("channel").and_then(|c| c.as_str()).is_some_and(|c| !c.starts_with("/meta/"))));
        let _ = refusal(&reply, "/meta/connect");
    }
});
