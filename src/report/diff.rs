//! Line diffs of expected vs actual, and the text styling they share with the terminal
//! summary; every report that shows a diff (terminal, views, compare) uses these.
//!
//! It knows nothing of scenarios or results: text in, text out.

use similar::{ChangeTag, TextDiff};
use std::fmt::Write;

/// How text is styled: colour or not, and (for the terminal summary) passing scenarios too.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    /// Print passing scenarios too.
    pub verbose: bool,
}

/// `text` in the ANSI colour `code`, when the style has colour.
pub(super) fn paint(style: Style, code: &str, text: &str) -> String {
    if style.color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// Neutralises control characters from server-provided text so it cannot drive the terminal.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// A unified line diff of expected vs actual.
pub fn diff(style: Style, expected: &str, actual: &str) -> String {
    diff_labeled(style, ("expected", expected), ("actual", actual))
}

/// A line diff with named sides.
pub fn diff_labeled(
    style: Style,
    (old_name, expected): (&str, &str),
    (new_name, actual): (&str, &str),
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", paint(style, "31", &format!("--- {old_name}")));
    let _ = writeln!(out, "{}", paint(style, "32", &format!("+++ {new_name}")));
    let d = TextDiff::from_lines(expected, actual);
    for change in d.iter_all_changes() {
        let line = sanitize(change.value().trim_end_matches('\n'));
        let _ = match change.tag() {
            ChangeTag::Delete => writeln!(out, "{}", paint(style, "31", &format!("-{line}"))),
            ChangeTag::Insert => writeln!(out, "{}", paint(style, "32", &format!("+{line}"))),
            ChangeTag::Equal => writeln!(out, " {line}"),
        };
    }
    out
}
