//! The report stage's one error type: a file that could not be written or read back, a results
//! file of another format, or a template or serialiser that failed. Each names its file.
//!
//! It does not cover bad results (those are findings, rendered like any other).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is there but is not what it should be (JSON of another shape, a bad line).
    #[error("{}: {what}", path.display())]
    Parse { path: PathBuf, what: String },
    #[error("cannot render {what}: {detail}")]
    Render { what: &'static str, detail: String },
}

impl ReportError {
    pub fn write(path: impl Into<PathBuf>, source: std::io::Error) -> ReportError {
        ReportError::Write {
            path: path.into(),
            source,
        }
    }

    pub fn read(path: impl Into<PathBuf>, source: std::io::Error) -> ReportError {
        ReportError::Read {
            path: path.into(),
            source,
        }
    }

    pub fn render(what: &'static str, detail: impl std::fmt::Display) -> ReportError {
        ReportError::Render {
            what,
            detail: detail.to_string(),
        }
    }
}

/// Renders a minijinja template (autoescaped by its `.html` name) over `context`.
pub fn render_template(
    what: &'static str,
    template: &'static str,
    context: impl serde::Serialize,
    filters: impl FnOnce(&mut minijinja::Environment<'static>),
) -> Result<String, ReportError> {
    let mut env = minijinja::Environment::new();
    filters(&mut env);
    env.add_template(what, template)
        .map_err(|e| ReportError::render(what, format!("template: {e}")))?;
    env.get_template(what)
        .and_then(|t| t.render(minijinja::value::Serde(context)))
        .map_err(|e| ReportError::render(what, e))
}
