//! Small helpers shared by the HTTP-facing modules: poison-tolerant locks, bounded text for
//! logs and findings, error chains as one line, size-capped body reads, and the wall-clock
//! timestamp results files record.
//!
//! Nothing here knows GWS, Bayeux or scenarios; it holds no state.

use std::sync::Mutex;

/// A lock that survives a panicked holder: the data is still the best there is.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The poison-tolerant [`lock`] as methods, so a call reads `state.locked()`; the one place
/// that decides what a poisoned lock means.
pub(crate) trait Unpoisoned<T> {
    fn locked(&self) -> std::sync::MutexGuard<'_, T>;
    fn into_unpoisoned(self) -> T;
}

impl<T> Unpoisoned<T> for Mutex<T> {
    fn locked(&self) -> std::sync::MutexGuard<'_, T> {
        lock(self)
    }

    fn into_unpoisoned(self) -> T {
        self.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

/// At most `max` bytes of `s` (on a character boundary), saying how long it was.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

/// An error and its sources on one line, without repeating a source already in the text.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Why a capped body read stopped.
pub(crate) enum ReadError {
    Timeout,
    /// The body is larger than the cap: the sender's doing, not the network's.
    TooLarge(String),
    /// The body broke off (reset, truncated), as an error chain.
    Other(String),
}

/// Reads a body up to `max` bytes; a larger body is an error, not an allocation.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, ReadError> {
    if response.content_length().is_some_and(|n| n as usize > max) {
        return Err(ReadError::TooLarge(format!(
            "body larger than the {max}-byte limit"
        )));
    }
    let mut out = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if out.len() + chunk.len() > max {
                    return Err(ReadError::TooLarge(format!(
                        "body larger than the {max}-byte limit"
                    )));
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(out),
            Err(e) if e.is_timeout() => return Err(ReadError::Timeout),
            Err(e) => return Err(ReadError::Other(error_chain(&e))),
        }
    }
}

/// The current UTC time in RFC 3339, as results files record it.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
