//! The coverage matrix: media × operation, then media × scenario class, with scenario counts by
//! level. A scenario's class is the name of the file it is written in
//! (`specs/scenarios/<class>.yaml`): errors, ordering, security, sessions, edges, concurrency …
//!
//! It counts cases; it does not run or judge them.

use crate::plan::Case;
use crate::spec::{Level, Suite, media::OPERATIONS};
use std::fmt::Write;

/// Operations sorted in the documented order (Attach, Update, Delete, DeletePair), unknown
/// ones after them: the columns of every media × operation table.
pub fn in_documented_order(operations: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut operations: Vec<String> = operations.into_iter().collect();
    operations.sort_by_key(|o| OPERATIONS.iter().position(|x| x == o).unwrap_or(usize::MAX));
    operations
}

/// The scenario files that hold one operation's own scenarios; every other file is a class
/// of its own in the second table.
const OPERATION_FILES: &[&str] = &["attach", "update", "delete", "delete-pair"];

/// A case's class: the stem of the file its scenario is written in.
pub fn class_of(case: &Case) -> &str {
    let file = case.scenario.source.file.as_str();
    let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
    name.strip_suffix(".yaml")
        .or_else(|| name.strip_suffix(".yml"))
        .unwrap_or(name)
}

/// Counts `(must, should, may)` for one cell.
pub fn cell(cases: &[Case], media: &str, operation: &str) -> (usize, usize, usize) {
    count(
        cases
            .iter()
            .filter(|c| c.media == media && c.scenario.operation == operation),
    )
}

fn count<'c>(cases: impl Iterator<Item = &'c Case>) -> (usize, usize, usize) {
    let mut c = (0, 0, 0);
    for case in cases {
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
    let mut classes: Vec<&str> = cases
        .iter()
        .map(class_of)
        .filter(|c| !OPERATION_FILES.contains(c))
        .collect();
    classes.sort_unstable();
    classes.dedup();
    if classes.is_empty() {
        return out;
    }
    let _ = writeln!(out);
    let _ = write!(out, "{:<12}", "media");
    for class in &classes {
        let _ = write!(out, " {class:>13}");
    }
    let _ = writeln!(out, "   (scenario classes, must/should/may)");
    for (media, _) in suite.media.media.iter() {
        let _ = write!(out, "{media:<12}");
        for class in &classes {
            let (m, s, y) = count(
                cases
                    .iter()
                    .filter(|c| c.media == media && class_of(c) == *class),
            );
            // Every class here applies to every media: a media without one is a gap.
            let text = if m + s + y > 0 {
                format!("{m}/{s}/{y}")
            } else {
                "EMPTY".to_string()
            };
            let _ = write!(out, " {text:>13}");
        }
        let _ = writeln!(out);
    }
    out
}
