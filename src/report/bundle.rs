//! The bundle of a finished run written to its directory: `results.json`, `junit.xml`,
//! `ctrf.json`, `report.md`, `report.html`. It renders through the other report modules and
//! only writes; reading a bundle back is `json::RunRecord`'s.

use super::{ReportError, ctrf, html, json, junit, markdown, view};

/// Writes `results.json`, `junit.xml`, `ctrf.json`, `report.md` and `report.html` for a
/// finished run.
pub fn write_bundle(dir: &std::path::Path, record: &json::RunRecord) -> Result<(), ReportError> {
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| ReportError::write(path, e))
    };
    let results = dir.join("results.json");
    record
        .write(&results)
        .map_err(|e| ReportError::write(results, e))?;
    write("junit.xml", junit::render(record)?)?;
    write(
        "ctrf.json",
        serde_json::to_string_pretty(&ctrf::render(record))
            .map_err(|e| ReportError::render("ctrf.json", e))?,
    )?;
    let view = view::ReportView::of(record);
    write("report.md", markdown::render(&view))?;
    write("report.html", html::render(&view)?)?;
    Ok(())
}
