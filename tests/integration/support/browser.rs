//! A real browser and a reader of what it shows: the page as headless Chromium builds it
//! (`--dump-dom`), and the lines of text a reader sees on it before a given element, with closed
//! `<details>` folded away as a browser folds them.
//!
//! It asserts nothing about the reports; it only renders and counts.

use super::text;
use regex::Regex;
use std::path::Path;
use std::process::Command;

/// The headless browser on this machine.
pub fn chromium() -> String {
    for candidate in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new("which")
            .arg(candidate)
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return candidate.to_string();
        }
    }
    panic!("no headless browser found: install Debian's chromium (scripts/test does)");
}

/// The page at `file` as the browser built it (scripts, were there any allowed, would have run).
pub fn dump_dom(browser: &str, file: &Path, profile: &Path) -> String {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", file.display()))
        .output()
        .expect("the browser runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// The lines of visible text in `html` before the first match of `marker`: the head and the
/// content of closed `<details>` (all but their `<summary>`) are hidden, and every block element
/// (heading, paragraph, list item, table row, summary, `<br>`, and each line of a `<pre>`)
/// starts a line. `None` when `marker` does not occur.
pub fn visible_lines_before(html: &str, marker: &str) -> Option<usize> {
    let end = html.find(marker)?;
    let mut page = html[..end].to_string();
    if let Some(body) = page.find("<body") {
        page = page[body..].to_string();
    }
    let details = Regex::new(r"(?s)<details(?: [^>]*)?>\s*(<summary.*?</summary>)(.*?)</details>")
        .expect("a valid regex");
    let mut folded = details.replace_all(&page, "$1").into_owned();
    // A fold still open where the marker sits (the marker inside it) hides nothing before it.
    folded = folded
        .replace("<details", "<div")
        .replace("</details>", "</div>");
    let pre = Regex::new(r"(?s)<pre[^>]*>(.*?)</pre>").expect("a valid regex");
    let folded = pre.replace_all(&folded, |c: &regex::Captures| c[1].replace('\n', "<br>"));
    let block =
        Regex::new(r"(?i)<(?:/?(?:h[1-6]|p|li|tr|summary|section|div|ol|ul|table)|br)\b[^>]*>")
            .expect("a valid regex");
    let tags = Regex::new(r"<[^>]*>").expect("a valid regex");
    Some(
        block
            .split(&folded)
            .map(|chunk| tags.replace_all(chunk, ""))
            .filter(|line| !line.trim().is_empty())
            .count(),
    )
}
