//! A source as the spec stage receives it: a path for messages and the text (no IO here).

/// One source file: its display path and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}
