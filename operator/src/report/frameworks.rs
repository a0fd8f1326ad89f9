//! `report --framework`: a framework's controls as a table or a JSON document, and the list
//! `kube-posture frameworks` prints.

use super::InputError;
use super::terminal::{clean, clean_lines};
use crate::api::NotAssessed;
use crate::catalog::frameworks::{FRAMEWORKS, Framework};
use crate::compliance::{ControlStatus, FrameworkReport};
use serde::Serialize;
use std::fmt::Write;

/// The widest CONTROL column; longer titles end with `…` (JSON has them whole).
const TITLE_WIDTH: usize = 64;

/// The document `report --framework … -o json` prints.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameworkDocument<'a> {
    #[serde(flatten)]
    pub framework: &'a FrameworkReport,
    /// Why checks could not be assessed (their controls are then `not-assessed`).
    pub not_assessed: &'a [NotAssessed],
    /// Snapshot files that could not be read: the report covers the others only.
    pub input_errors: &'a [InputError],
    pub policy: &'a str,
    /// The audit's "now" (RFC 3339).
    pub audit_time: String,
}

fn shorten(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// One line per control (ID, SEVERITY, CONTROL, STATUS, FAILING resources), then what could
/// not be read and a summary line with the score.
pub fn render_framework_table(
    r: &FrameworkReport,
    input_errors: &[InputError],
    policy: &str,
) -> String {
    let id_width = id_width(r.controls.iter().map(|c| c.id));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<id_width$}  {:<8}  {:<TITLE_WIDTH$}  {:<12}  FAILING",
        "ID", "SEVERITY", "CONTROL", "STATUS"
    );
    for c in &r.controls {
        let failing = match c.status {
            ControlStatus::Pass | ControlStatus::Fail => c.failing.to_string(),
            ControlStatus::Manual | ControlStatus::NotAssessed => "-".to_string(),
        };
        let _ = writeln!(
            out,
            "{:<id_width$}  {:<8}  {:<TITLE_WIDTH$}  {:<12}  {failing}",
            c.id,
            c.severity.as_str(),
            shorten(c.title, TITLE_WIDTH),
            c.status.as_str(),
        );
    }
    out.push('\n');
    if !input_errors.is_empty() {
        let _ = writeln!(out, "NOT READ (the report covers the other files only)");
        for e in input_errors {
            let _ = writeln!(out, "  {}: {}", clean(&e.file), clean_lines(&e.error));
        }
        out.push('\n');
    }
    let n = &r.summary;
    let score = r.score.map_or("no control evaluated".to_string(), |s| {
        format!("score {s}/100")
    });
    let _ = writeln!(
        out,
        "{} ({} {}): {} pass, {} fail, {} manual, {} not assessed · {score} · policy {}",
        r.id,
        r.name,
        r.version,
        n.passed,
        n.failed,
        n.manual,
        n.not_assessed,
        clean(policy)
    );
    out
}

/// `kube-posture frameworks`: ID, number of controls (and how many a check judges), document;
/// with one framework, its controls and their checks.
pub fn render_frameworks_table(one: Option<&Framework>) -> String {
    if let Some(f) = one {
        return render_controls(f);
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:<9} {:<8} DOCUMENT",
        "ID", "CONTROLS", "CHECKED"
    );
    for f in FRAMEWORKS {
        let checked = f.controls.iter().filter(|c| !c.checks.is_empty()).count();
        let _ = writeln!(
            out,
            "{:<16} {:<9} {:<8} {}",
            f.id,
            f.controls.len(),
            checked,
            f.document
        );
    }
    out
}

/// The ID column's width: the longest ID, at least the header's.
fn id_width<'a>(ids: impl Iterator<Item = &'a str>) -> usize {
    ids.map(str::len).max().unwrap_or(0).max("ID".len())
}

fn render_controls(f: &Framework) -> String {
    let id_width = id_width(f.controls.iter().map(|c| c.id));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<id_width$}  {:<8}  {:<TITLE_WIDTH$}  {:<8}  CHECKS",
        "ID", "SEVERITY", "CONTROL", "COVERAGE"
    );
    for c in f.controls {
        let coverage = serde_json::to_value(c.coverage).expect("coverage serialises");
        let _ = writeln!(
            out,
            "{:<id_width$}  {:<8}  {:<TITLE_WIDTH$}  {:<8}  {}",
            c.id,
            c.severity.as_str(),
            shorten(c.title, TITLE_WIDTH),
            coverage.as_str().unwrap_or_default(),
            c.checks.join(", ")
        );
    }
    out
}
