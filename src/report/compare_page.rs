//! The page of a [`Comparison`]: Markdown (`compare.md`) and self-contained HTML
//! (`compare.html`), in the same order: verdicts, the side-by-side matrix, the differences
//! grouped by root cause, then run-to-run changes.
//!
//! Only renders; what is compared, and how much of it is kept, is decided in
//! [`super::compare`].

use super::compare::{Comparison, DiffRow};
use super::markdown::{escape, escape_cell, fenced};
use crate::result::Grade;
use crate::verdict::count;
use std::fmt::Write;

fn grade_text(g: Option<Grade>) -> &'static str {
    g.map_or("—", Grade::as_str)
}

/// The comparison as Markdown, in the order of the HTML page.
pub fn markdown(c: &Comparison) -> String {
    let mut out = String::from("# GWS conformance comparison\n\n## Verdicts\n\n");
    markdown_verdicts(&mut out, c);
    let names: Vec<String> = c.targets.iter().map(|t| escape_cell(&t.name)).collect();
    markdown_matrix(&mut out, c, &names);
    markdown_differences(&mut out, c, &names);
    markdown_run_to_run(&mut out, c);
    out
}

/// Each target's verdict per profile, then its counts and blocking root causes.
fn markdown_verdicts(out: &mut String, c: &Comparison) {
    let profiles: Vec<&str> = c
        .targets
        .first()
        .map(|t| t.verdicts.iter().map(|v| v.profile.as_str()).collect())
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "| target | {} |",
        profiles
            .iter()
            .map(|p| escape_cell(p))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|---|{}", "---|".repeat(profiles.len()));
    for t in &c.targets {
        let cells: Vec<String> = t
            .verdicts
            .iter()
            .map(|v| match v.reason.is_empty() {
                true => format!("**{}**", v.label),
                false => format!("**{}**: {}", v.label, escape_cell(&v.reason)),
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} ({}) | {} |",
            escape_cell(&t.name),
            escape_cell(&t.started),
            cells.join(" | ")
        );
    }
    for t in &c.targets {
        let _ = writeln!(out, "\n**{}**: {}", escape(&t.name), escape(&t.counts_text));
        if t.blocking_causes.is_empty() {
            let _ = writeln!(out, "\nNo blocking root cause.");
        } else {
            let _ = writeln!(out, "\nBlocking root causes:\n");
        }
        for cause in &t.blocking_causes {
            let _ = writeln!(
                out,
                "- [`{}`] {} — {} ({})",
                cause.check,
                escape(&cause.message),
                cause.count_text,
                cause.media.join(", ")
            );
        }
        if t.more_causes > 0 {
            let _ = writeln!(out, "- … and {} more in its report", t.more_causes);
        }
    }
}

/// The matrix side by side: per cell, passed/applicable for each target.
fn markdown_matrix(out: &mut String, c: &Comparison, names: &[String]) {
    let _ = writeln!(
        out,
        "\n## Matrix (passed/applicable; {})\n",
        names.join(" · ")
    );
    let _ = writeln!(out, "| media | {} |", c.operations.join(" | "));
    let _ = writeln!(out, "|---|{}", "---|".repeat(c.operations.len()));
    for row in &c.matrix {
        let cells: Vec<String> = row
            .cells
            .iter()
            .map(|per_target| {
                per_target
                    .iter()
                    .map(|cell| cell.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" · ")
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} |",
            escape_cell(&row.media),
            cells.join(" | ")
        );
    }
}

/// The scenarios graded differently, grouped by root cause, each with its payload diff.
fn markdown_differences(out: &mut String, c: &Comparison, names: &[String]) {
    let _ = writeln!(
        out,
        "\n## Differences: {} of {} scenarios, by root cause\n",
        c.differing, c.scenarios
    );
    for g in &c.differences {
        let _ = writeln!(
            out,
            "### [`{}`] {} ({})\n",
            g.check,
            escape(&g.message),
            count(g.rows.len(), "scenario")
        );
        let _ = writeln!(out, "| scenario | level | {} |", names.join(" | "));
        let _ = writeln!(out, "|---|---|{}", "---|".repeat(names.len()));
        for row in &g.rows {
            let cells: Vec<String> = row
                .cells
                .iter()
                .map(|cell| match &cell.href {
                    Some(href) => format!("[{}]({})", cell.grade, href.replace(' ', "%20")),
                    None => cell.grade.clone(),
                })
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                escape_cell(&row.id),
                row.level,
                cells.join(" | ")
            );
        }
        let with_payload: Vec<&DiffRow> = g.rows.iter().filter(|r| !r.payload.is_empty()).collect();
        for row in with_payload {
            let _ = writeln!(out, "\n{}:\n", escape(&row.id));
            out.push_str(&fenced(&row.payload.join("\n")));
        }
        out.push('\n');
    }
}

/// Between runs of one target: what regressed and what was fixed.
fn markdown_run_to_run(out: &mut String, c: &Comparison) {
    for r in &c.run_to_run {
        let _ = writeln!(
            out,
            "\n## Run to run: {} ({} → {})\n",
            escape(&r.target),
            escape(&r.from_started),
            escape(&r.to_started)
        );
        let _ = writeln!(
            out,
            "Regressed: {}, fixed: {}\n",
            r.regressed.len(),
            r.fixed.len()
        );
        for ch in &r.regressed {
            let _ = writeln!(
                out,
                "- regressed: {} ({} → {})",
                escape(&ch.id),
                grade_text(ch.from),
                grade_text(ch.to)
            );
        }
        for ch in &r.fixed {
            let _ = writeln!(
                out,
                "- fixed: {} ({} → {})",
                escape(&ch.id),
                grade_text(ch.from),
                grade_text(ch.to)
            );
        }
    }
}

/// The comparison as a self-contained HTML page (autoescaped, no scripts).
pub fn html(c: &Comparison) -> Result<String, super::ReportError> {
    super::render_template(
        "compare.html",
        include_str!("templates/compare.html"),
        c,
        |env| {
            env.add_filter("code", |text: String| {
                minijinja::Value::from_safe_string(super::html::code(&text))
            });
        },
    )
}
