//! `report.html`: a self-contained page (no scripts, no external resources) rendered with
//! minijinja's HTML autoescaping, so every server-provided string shows as text. A strict
//! Content-Security-Policy forbids scripts even if escaping were bypassed.

use super::view::ReportView;

const TEMPLATE: &str = include_str!("templates/report.html");

pub fn render(view: &ReportView) -> Result<String, String> {
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| format!("report template: {e}"))?;
    let template = env
        .get_template("report.html")
        .map_err(|e| format!("report template: {e}"))?;
    template
        .render(minijinja::value::Serde(view))
        .map_err(|e| format!("cannot render report.html: {e}"))
}
