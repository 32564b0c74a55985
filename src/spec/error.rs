//! Spec errors: one located problem ([`SpecError`]), all of them ([`SpecErrors`]), their
//! compiler-style rendering, and the "did you mean" hints.
//!
//! Errors are data: whoever finds a problem builds one with the constructors here and keeps
//! going, so a run reports every problem at once. This module does not decide what is wrong
//! with a file (that is the loader's and the converters' job) and never prints; the CLI does.

use super::source::SourceFile;
use super::yaml::Location;
use std::fmt;

/// One problem in a spec file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SpecError {
    pub file: String,
    pub location: Option<Location>,
    /// Where in the document, e.g. `scenarios[2].expect.response.status`.
    pub key_path: String,
    pub message: String,
    pub hint: Option<String>,
    /// The source line the location points at, for display.
    #[serde(skip)]
    pub source_line: Option<String>,
}

impl SpecError {
    /// A problem with a file (or directory) as a whole: unreadable, empty, missing. No
    /// position, key path, hint or quoted line until the builders below add them.
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Self {
        SpecError {
            file: file.into(),
            location: None,
            key_path: String::new(),
            message: message.into(),
            hint: None,
            source_line: None,
        }
    }

    /// A problem at a position (when known) in `source`, quoting the source line so the
    /// rendering can point a caret at it.
    pub fn in_source(
        source: &SourceFile,
        location: Option<Location>,
        message: impl Into<String>,
    ) -> Self {
        SpecError::new(source.path.clone(), message)
            .located(location)
            .quoting(&source.text)
    }

    /// Sets the position without quoting a line: for texts that are not worth showing (or
    /// not at hand), the rendering then prints only `file:line:column`.
    pub fn located(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    /// Quotes the line of `text` the position points at (nothing without a position, or when
    /// the text is shorter).
    pub fn quoting(mut self, text: &str) -> Self {
        self.source_line = self.location.and_then(|l| line_of(text, l.line));
        self
    }

    /// Where in the document, e.g. `scenarios[2].expect`.
    pub fn with_key_path(mut self, key_path: impl Into<String>) -> Self {
        self.key_path = key_path.into();
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        match self.location {
            Some(loc) => writeln!(f, "  --> {}:{}:{}", self.file, loc.line, loc.column)?,
            None => writeln!(f, "  --> {}", self.file)?,
        }
        if let (Some(line), Some(loc)) = (&self.source_line, self.location) {
            let gutter = loc.line.to_string();
            writeln!(f, "{:width$} |", "", width = gutter.len())?;
            writeln!(f, "{gutter} | {line}")?;
            // Tabs stay tabs so the caret lines up however the terminal renders them.
            let caret_pad: String = line
                .chars()
                .take(loc.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            writeln!(f, "{:width$} | {caret_pad}^", "", width = gutter.len())?;
        }
        if !self.key_path.is_empty() {
            writeln!(f, "   = at: {}", self.key_path)?;
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "   = hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every problem found while loading, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecErrors(pub Vec<SpecError>);

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.0 {
            writeln!(f, "{e}")?;
        }
        write!(f, "{} problem(s) in the spec files", self.0.len())
    }
}

impl std::error::Error for SpecErrors {}

/// Line `line` (1-based) of `text`, if there is one.
pub(super) fn line_of(text: &str, line: usize) -> Option<String> {
    text.lines()
        .nth(line.checked_sub(1)?)
        .map(|l| l.to_string())
}

/// "did you mean `x`?" for the closest candidate, when one is close enough to be a typo.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (distance(word, c), c))
        // Short keys tolerate two edits; longer ones a third of their length.
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

/// Levenshtein distance, for "did you mean" hints on short keys.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_quoted_line_caret_path_and_hint() {
        let source = SourceFile {
            path: "s.yaml".into(),
            text: "a: 1\n\tkey: 2\n".into(),
        };
        let e = SpecError::in_source(&source, Some(Location { line: 2, column: 2 }), "bad")
            .with_key_path("a.key")
            .with_hint("did you mean `kee`?");
        assert_eq!(
            e.to_string(),
            "error: bad\n  --> s.yaml:2:2\n  |\n2 | \tkey: 2\n  | \t^\n   = at: a.key\n   = hint: did you mean `kee`?\n"
        );
        let whole = SpecError::new("dir", "cannot read the directory");
        assert_eq!(
            whole.to_string(),
            "error: cannot read the directory\n  --> dir\n"
        );
    }

    #[test]
    fn suggests_only_close_words() {
        assert_eq!(
            suggest("respnse", ["response", "notification"]),
            Some("did you mean `response`?".into())
        );
        assert_eq!(suggest("xyz", ["response"]), None);
    }
}
