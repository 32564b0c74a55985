//! `report.md`: the same content as the HTML report, for pull requests and wikis.
//!
//! Every server-provided string is escaped, but only as far as needed: inline text has what
//! could start markup (HTML, links and images, emphasis, table cells) backslash- or
//! entity-escaped, while a balanced backtick span stays a code span, so `` `full` `` renders as
//! code and parentheses stay plain. Code blocks use a fence longer than any backtick run in their
//! content. A hostile server can break out of neither.
//!
//! It does not decide what is shown: the order (verdict and blocking root causes first) and the
//! caps come from the [`ReportView`].

use super::view::{CauseView, LISTED, ProblemView, ReportView, WaiversView};
use std::fmt::Write;

/// Escapes one character of inline text outside a code span.
fn escape_char(c: char, out: &mut String) {
    match c {
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
            out.push('\\');
            out.push(c);
        }
        '\n' | '\r' => out.push(' '),
        c if c.is_control() => out.push('\u{FFFD}'),
        c => out.push(c),
    }
}

/// Escapes text for inline Markdown (and the HTML many renderers allow inside it). A run of
/// backticks closed by a run of the same length later in the text is kept as a code span, whose
/// content Markdown shows literally; an unclosed backtick is escaped.
pub fn escape(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            escape_char(chars[i], &mut out);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|c| **c == '`').count();
        match closing_run(&chars, i + run, run) {
            Some(end) => {
                for c in &chars[i..end + run] {
                    out.push(match c {
                        '\n' | '\r' => ' ',
                        c if c.is_control() => '\u{FFFD}',
                        c => *c,
                    });
                }
                i = end + run;
            }
            None => {
                for _ in 0..run {
                    out.push_str("\\`");
                }
                i += run;
            }
        }
    }
    out
}

/// Escapes text for a table cell: as [`escape`], but backticks too, since a pipe inside a code
/// span would still end the cell.
pub fn escape_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        escape_char(c, &mut out);
    }
    out
}

/// Where a run of exactly `run` backticks starts at or after `from`, as CommonMark closes a
/// code span.
pub(super) fn closing_run(chars: &[char], from: usize, run: usize) -> Option<usize> {
    let mut j = from;
    while j < chars.len() {
        if chars[j] == '`' {
            let len = chars[j..].iter().take_while(|c| **c == '`').count();
            if len == run {
                return Some(j);
            }
            j += len;
        } else {
            j += 1;
        }
    }
    None
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
    verdict(&mut out, view);
    if let Some(w) = &view.waivers {
        waivers(&mut out, w);
    }
    if view.harness_error.is_none() {
        causes(&mut out, &view.causes, "Root causes", true);
    }
    run_table(&mut out, view);
    if view.harness_error.is_some() {
        // Nothing ran: an empty matrix and "no problems" would only mislead.
        return out;
    }
    matrix(&mut out, view);
    let _ = writeln!(out, "\n## Problems\n");
    if view.problems.is_empty() {
        out.push_str("None.\n");
    }
    for p in &view.problems {
        problem(&mut out, p);
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

/// The verdict, what blocks it (first causes, then scenarios), what has no result.
fn verdict(out: &mut String, view: &ReportView) {
    match &view.verdict {
        Some(v) => {
            let _ = writeln!(out, "**Verdict: {}**\n", escape(&v.summary));
            if !v.causes.is_empty() {
                out.push_str("Blocked by:\n\n");
                for (i, c) in v.causes.iter().enumerate() {
                    let _ = writeln!(out, "{}. {}", i + 1, cause_line(c));
                }
                if v.more_causes > 0 {
                    let _ = writeln!(
                        out,
                        "\n… and {} more, under Root causes below.",
                        v.more_causes
                    );
                }
                out.push('\n');
            }
            capped(out, &format!("{}:", v.blocking_text), &v.blocking);
            capped(out, "Without a result:", &v.missing);
        }
        None => out.push_str("No certification profile was requested.\n\n"),
    }
}

/// The waivers applied: each waived scenario with its waiver, then the notes.
fn waivers(out: &mut String, w: &WaiversView) {
    let _ = writeln!(out, "## Waivers ({})\n", escape_cell(&w.file));
    let waived: Vec<String> = w
        .waived
        .iter()
        .map(|x| {
            format!(
                "{} ({} without the waiver): {} — owner {}, expires {} ({})",
                x.id, x.grade, x.reason, x.owner, x.expires, x.source
            )
        })
        .collect();
    if waived.is_empty() {
        out.push_str("No scenario waived.\n\n");
    }
    capped(out, &format!("{}:", w.waived_text), &waived);
    for note in &w.notes {
        let _ = writeln!(out, "- {}", escape(note));
    }
    if !w.notes.is_empty() {
        out.push('\n');
    }
}

/// The run's provenance: target, tool and suite, times, counts.
fn run_table(out: &mut String, view: &ReportView) {
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(
        out,
        "| Target | {} ({}) |",
        escape_cell(&view.target_name),
        escape_cell(&view.target_url)
    );
    let _ = writeln!(
        out,
        "| Tool | gws-conformance {}, suite {} |",
        escape_cell(&view.tool_version),
        escape_cell(&view.suite_hash)
    );
    let _ = writeln!(
        out,
        "| Run | {} → {} |",
        escape_cell(&view.started),
        escape_cell(&view.finished)
    );
    let _ = writeln!(
        out,
        "| Scenarios | {}: {} |\n",
        view.total, view.counts_text
    );
}

/// The coverage matrix, media by operation.
fn matrix(out: &mut String, view: &ReportView) {
    let _ = writeln!(out, "## Matrix\n");
    let _ = writeln!(
        out,
        "| media | {} |",
        view.operations
            .iter()
            .map(|o| escape_cell(o))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|---|{}", "---|".repeat(view.operations.len()));
    for row in &view.matrix {
        let cells: Vec<String> = row.cells.iter().map(|c| escape_cell(&c.text)).collect();
        let _ = writeln!(
            out,
            "| {} | {} |",
            escape_cell(&row.media),
            cells.join(" | ")
        );
    }
}

/// One scenario that did not pass: its findings with their diffs, then its wire log folded.
fn problem(out: &mut String, p: &ProblemView) {
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

/// One root cause on one line: severity, check, message, scenario count and media.
fn cause_line(c: &CauseView) -> String {
    let media: Vec<String> = c.media.iter().map(|m| escape(m)).collect();
    format!(
        "**{}** \\[{}\\] {} — **{}** (media: {})",
        escape(&c.severity),
        escape(&c.check),
        escape(&c.message),
        escape(&c.count_text),
        media.join(", ")
    )
}

/// A bullet list of at most [`LISTED`] items, then "… and N more".
fn capped(out: &mut String, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}\n", escape(title));
    for item in items.iter().take(LISTED) {
        let _ = writeln!(out, "- {}", escape(item));
    }
    if items.len() > LISTED {
        let _ = writeln!(
            out,
            "- … and {} more (each is under Problems below)",
            items.len() - LISTED
        );
    }
    out.push('\n');
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
        let _ = writeln!(out, "{}. {}", i + 1, cause_line(c));
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
        let e = escape("<script>alert(1)</script> | [x](javascript:y) `code` ` lone");
        assert!(!e.contains('<') && !e.contains('>'));
        assert!(e.contains("\\|") && e.contains("\\["));
        assert!(e.contains(" `code` "), "a balanced span stays code: {e}");
        assert!(e.contains("\\` lone"), "a lone backtick is escaped: {e}");
        assert!(e.contains("alert(1)"), "parentheses stay plain: {e}");
    }

    #[test]
    fn code_spans_close_only_on_a_run_of_their_own_length() {
        assert_eq!(escape("``a ` b`` c"), "``a ` b`` c");
        assert_eq!(escape("``a`"), "\\`\\`a\\`");
        assert_eq!(escape("`<b>`"), "`<b>`", "code spans show markup as text");
    }

    #[test]
    fn fences_outgrow_their_content() {
        let f = fenced("a ``` b ```` c");
        assert!(f.starts_with("`````text\n"), "{f}");
        assert!(f.ends_with("\n`````\n"));
    }
}
