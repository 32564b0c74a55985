//! The coverage matrix: media × operation with scenario counts by level.

use crate::plan::Case;
use crate::spec::{Level, Suite, media::OPERATIONS};
use std::fmt::Write;

/// Counts `(must, should, may)` for one cell.
pub fn cell(cases: &[Case], media: &str, operation: &str) -> (usize, usize, usize) {
    let mut c = (0, 0, 0);
    for case in cases
        .iter()
        .filter(|c| c.media == media && c.scenario.operation == operation)
    {
        match case.scenario.level {
            Level::Must => c.0 += 1,
            Level::Should => c.1 += 1,
            Level::May => c.2 += 1,
        }
    }
    c
}

/// A text table; cells read `must/should/may`, `-` where the media has no such operation,
/// and `EMPTY` where it has the operation but no scenario covers it.
pub fn render(suite: &Suite, cases: &[Case]) -> String {
    let mut out = String::new();
    let _ = write!(out, "{:<12}", "media");
    for op in OPERATIONS {
        let _ = write!(out, " {op:>19}");
    }
    let _ = writeln!(out, "   (must/should/may)");
    for (media, facts) in suite.media.media.iter() {
        let _ = write!(out, "{media:<12}");
        for op in OPERATIONS {
            let (m, s, y) = cell(cases, media, op);
            let text = if m + s + y > 0 {
                format!("{m}/{s}/{y}")
            } else if facts.operations.iter().any(|o| o == op) {
                "EMPTY".to_string()
            } else {
                "-".to_string()
            };
            let _ = write!(out, " {text:>19}");
        }
        let _ = writeln!(out);
    }
    out
}
