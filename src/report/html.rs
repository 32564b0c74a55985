//! `report.html`: a self-contained page (no scripts, no external resources) rendered with
//! minijinja's HTML autoescaping, so every server-provided string shows as text. A strict
//! Content-Security-Policy forbids scripts even if escaping were bypassed. The one filter of
//! our own, `code`, escapes the same way and then shows balanced backtick spans as `<code>`.
//!
//! It does not decide what is shown or in which order: that is the [`ReportView`].

use super::markdown::closing_run;
use super::view::ReportView;

const TEMPLATE: &str = include_str!("templates/report.html");

fn escape_html(c: char, out: &mut String) {
    match c {
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#x27;"),
        c => out.push(c),
    }
}

/// HTML-escapes `text` and wraps every balanced backtick span (as CommonMark pairs them) in
/// `<code>`; an unpaired backtick stays a literal one.
pub fn code(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            escape_html(chars[i], &mut out);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|c| **c == '`').count();
        match closing_run(&chars, i + run, run) {
            Some(end) => {
                let inner: String = chars[i + run..end].iter().collect();
                out.push_str("<code>");
                for c in inner.trim_matches(' ').chars() {
                    escape_html(c, &mut out);
                }
                out.push_str("</code>");
                i = end + run;
            }
            None => {
                out.extend(std::iter::repeat_n('`', run));
                i += run;
            }
        }
    }
    out
}

pub fn render(view: &ReportView) -> Result<String, super::ReportError> {
    super::render_template("report.html", TEMPLATE, view, |env| {
        env.add_filter("code", |text: String| {
            minijinja::Value::from_safe_string(code(&text))
        });
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backtick_spans_become_code_and_everything_else_stays_text() {
        assert_eq!(
            code("profile `full` <b>&\"'"),
            "profile <code>full</code> &lt;b&gt;&amp;&quot;&#x27;"
        );
        assert_eq!(code("`<script>`"), "<code>&lt;script&gt;</code>");
        assert_eq!(code("a ` b"), "a ` b");
    }
}
