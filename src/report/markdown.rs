//! `report.md`: the same content as the HTML report, for pull requests and wikis.
//!
//! Every server-provided string is escaped: inline text has Markdown and HTML metacharacters
//! backslash- or entity-escaped, and code blocks use a fence longer than any backtick run in
//! their content, so a hostile server cannot break out of either.

use super::view::{CauseView, ReportView};
use std::fmt::Write;

/// Escapes text for inline Markdown (and the HTML many renderers allow inside it).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '|' | '!' | '{' | '}' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A fenced code block that its content cannot close.
pub fn fenced(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let body: String = text
        .chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect();
    format!("{fence}text\n{}\n{fence}\n", body.trim_end_matches('\n'))
}

pub fn render(view: &ReportView) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", escape(&view.title));
    if let Some(cause) = &view.harness_error {
        out.push_str("**The run could not start: no scenario ran.** Cause:\n\n");
        out.push_str(&fenced(cause));
        out.push('\n');
    }
    match &view.verdict {
        Some(v) => {
            let _ = writeln!(out, "**Verdict: {}**\n", escape(&v.summary));
            for b in &v.blocking {
                let _ = writeln!(out, "- blocking: {}", escape(b));
            }
            for m in &v.missing {
                let _ = writeln!(out, "- no result: {}", escape(m));
            }
            out.push('\n');
        }
        None => out.push_str("No certification profile was requested.\n\n"),
    }
    if view.harness_error.is_none() {
        causes(&mut out, &view.causes, "Root causes", true);
    }
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(
        out,
        "| Target | {} ({}) |",
        escape(&view.target_name),
        escape(&view.target_url)
    );
    let _ = writeln!(
        out,
        "| Tool | gws-conformance {}, suite {} |",
        escape(&view.tool_version),
        escape(&view.suite_hash)
    );
    let _ = writeln!(
        out,
        "| Run | {} → {} |",
        escape(&view.started),
        escape(&view.finished)
    );
    let _ = writeln!(
        out,
        "| Scenarios | {}: {} |\n",
        view.total, view.counts_text
    );
    if view.harness_error.is_some() {
        // Nothing ran: an empty matrix and "no problems" would only mislead.
        return out;
    }
    let _ = writeln!(out, "## Matrix\n");
    let _ = writeln!(
        out,
        "| media | {} |",
        view.operations
            .iter()
            .map(|o| escape(o))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|---|{}", "---|".repeat(view.operations.len()));
    for row in &view.matrix {
        let cells: Vec<String> = row.cells.iter().map(|c| escape(&c.text)).collect();
        let _ = writeln!(out, "| {} | {} |", escape(&row.media), cells.join(" | "));
    }
    let _ = writeln!(out, "\n## Problems\n");
    if view.problems.is_empty() {
        out.push_str("None.\n");
    }
    for p in &view.problems {
        let _ = writeln!(out, "### {} — {}\n", escape(&p.grade), escape(&p.id));
        let _ = writeln!(
            out,
            "Level {}, written at {}.\n",
            escape(&p.level),
            escape(&p.source)
        );
        for f in &p.findings {
            let _ = writeln!(
                out,
                "- **{}** \\[{}\\]: {}",
                escape(&f.severity),
                escape(&f.check),
                escape(&f.message)
            );
            if let Some(d) = &f.diff {
                out.push('\n');
                out.push_str(&fenced(d));
            }
        }
        let _ = writeln!(
            out,
            "\n<details><summary>Wire log ({} entries)</summary>\n",
            p.wire.len()
        );
        for w in &p.wire {
            let mut text = format!(
                "{} ms {} {} {}",
                w.t_ms,
                w.kind,
                w.agent.as_deref().unwrap_or(""),
                w.summary
            );
            if let Some(s) = w.status {
                let _ = write!(text, " → {s}");
            }
            if let Some(r) = &w.request {
                let _ = write!(text, "\nsent: {r}");
            }
            if let Some(r) = &w.response {
                let _ = write!(text, "\nreceived: {r}");
            }
            out.push_str(&fenced(&text));
        }
        out.push_str("\n</details>\n\n");
    }
    if !view.info_causes.is_empty() {
        causes(
            &mut out,
            &view.info_causes,
            "Informational findings by cause",
            false,
        );
    }
    out
}

/// A numbered list of root causes, each with its scenarios folded away.
fn causes(out: &mut String, causes: &[CauseView], title: &str, explain: bool) {
    let _ = writeln!(out, "## {title}\n");
    if explain {
        out.push_str(
            "The same check with the same message, once per-scenario values are replaced by \
             `{id}`, `{duration}`, `{n}` (a referenceId) and `{resource}` (the media's resource \
             key), is one entry.\n\n",
        );
    }
    if causes.is_empty() {
        out.push_str("No errors or warnings.\n\n");
    }
    for (i, c) in causes.iter().enumerate() {
        let media: Vec<String> = c.media.iter().map(|m| escape(m)).collect();
        let _ = writeln!(
            out,
            "{}. **{}** \\[{}\\] {} — **{}** (media: {})",
            i + 1,
            escape(&c.severity),
            escape(&c.check),
            escape(&c.message),
            escape(&c.count_text),
            media.join(", ")
        );
        let ids: Vec<String> = c.scenarios.iter().map(|s| escape(&s.id)).collect();
        let _ = writeln!(
            out,
            "   <details><summary>Scenarios</summary>\n\n   {}\n\n   </details>\n",
            ids.join(", ")
        );
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_text_cannot_inject_markup() {
        let e = escape("<script>alert(1)</script> | [x](javascript:y) `code`");
        assert!(!e.contains('<') && !e.contains('>'));
        assert!(e.contains("\\|") && e.contains("\\[") && e.contains("\\`"));
    }

    #[test]
    fn fences_outgrow_their_content() {
        let f = fenced("a ``` b ```` c");
        assert!(f.starts_with("`````text\n"), "{f}");
        assert!(f.ends_with("\n`````\n"));
    }
}
