//! The kill matrix for the terminal: per defect whether the suite (or `load`) killed it and by
//! which scenarios, the clean server's own failures, the score, and the survivors.
//!
//! It renders a finished [`KillMatrix`]; running the defects is `crate::command::mutants`'s.

use crate::command::mutants::KillMatrix;
use crate::result::Grade;
use crate::server::Defect;
use std::fmt::Write as _;

fn short_list(ids: &[String], max: usize) -> String {
    let mut shown: Vec<&str> = ids.iter().take(max).map(String::as_str).collect();
    if ids.len() > max {
        shown.push("…");
    }
    shown.join(", ")
}

/// The matrix as a table; `load` says it came from `mutants --load` (so load-only defects are
/// not listed as left out).
pub fn render(matrix: &KillMatrix, load: bool) -> String {
    let mut out = String::new();
    let width = matrix
        .defects
        .iter()
        .map(|d| d.server.len())
        .max()
        .unwrap_or(10)
        .max(12);
    let _ = writeln!(
        out,
        "{:<width$}  {:>6}  {:>7}  killed by (must scenarios that failed)",
        "defect", "killed", "kills"
    );
    if matrix.first_kill {
        let _ = writeln!(
            out,
            "(--first-kill: each defect's run stopped at its first kill, so `kills` counts only the killers seen by then)"
        );
    }
    for d in &matrix.defects {
        let mark = if d.error.is_some() {
            "ERROR"
        } else if d.killed() {
            "yes"
        } else {
            "NO"
        };
        let detail = match &d.error {
            Some(e) => e.clone(),
            None if d.killed() => short_list(&d.killed_by, 3),
            None => format!("SURVIVED — {}", d.description),
        };
        let _ = writeln!(
            out,
            "{:<width$}  {:>6}  {:>7}  {detail}",
            d.server,
            mark,
            d.killed_by.len()
        );
    }
    let clean = &matrix.clean;
    let clean_problems = clean
        .other
        .iter()
        .filter(|(_, g)| *g != Grade::NotApplicable)
        .count();
    let _ = writeln!(
        out,
        "\nclean server: {} scenarios, {} must failures, {clean_problems} other problems{}",
        matrix.scenarios,
        clean.killed_by.len(),
        clean
            .error
            .as_ref()
            .map(|e| format!(" — error: {e}"))
            .unwrap_or_default()
    );
    for id in clean.killed_by.iter().take(10) {
        let _ = writeln!(out, "  fails on the clean server: {id}");
    }
    let _ = writeln!(
        out,
        "score: {}/{} defects killed ({:.0}%)",
        matrix.killed,
        matrix.defects.len(),
        matrix.score
    );
    let load_only: Vec<&str> = Defect::ALL
        .iter()
        .filter(|d| d.load_only())
        .map(|d| d.name())
        .collect();
    if !load && !load_only.is_empty() {
        let _ = writeln!(
            out,
            "load-only defects (not run by the suite; `load --defect NAME` catches them): {}",
            load_only.join(", ")
        );
    }
    let survivors = matrix.survivors();
    if !survivors.is_empty() {
        let _ = writeln!(out, "surviving defects: {}", survivors.join(", "));
    }
    out
}
