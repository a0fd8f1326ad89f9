//! Renderers for audit reports: a terminal table, JSON, YAML, SARIF 2.1.0 and JUnit XML.

pub mod findings;
pub mod frameworks;
mod junit;
mod sarif;
mod table;
pub mod terminal;

pub use table::{render_catalog_table, render_table};

use crate::api::{NotAssessed, Summary};
use crate::audit::{Finding, Report};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Yaml,
    Sarif,
    /// JUnit XML: a test case per enabled check, failed by its findings (CI test dashboards).
    Junit,
}

/// The document `audit -o json|yaml` prints.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportDocument<'a> {
    pub findings: &'a [std::sync::Arc<Finding>],
    pub summary: SummaryWithScore<'a>,
    pub not_assessed: &'a [NotAssessed],
    /// Snapshot files that could not be read: the report covers the others only.
    pub input_errors: &'a [InputError],
    /// The policy applied.
    pub policy: &'a str,
    /// The audit's "now" (RFC 3339).
    pub audit_time: String,
    /// Each compliance framework's counts and score (`report --framework ID` for controls).
    pub frameworks: Vec<crate::api::FrameworkStatus>,
    /// The posture layer by layer: counts and score per layer (host.md).
    pub layers: &'a [crate::api::LayerStatus],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryWithScore<'a> {
    #[serde(flatten)]
    pub counts: &'a Summary,
    pub score: u32,
}

/// A snapshot file (or path) that could not be read, and why: the audit ran on the rest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InputError {
    pub file: String,
    pub error: String,
}

/// The file an object was read from, and the line of its `metadata.name` when known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub file: String,
    pub line: Option<u32>,
}

/// Where the report came from, for renderers that name it.
pub struct Context<'a> {
    pub policy: &'a str,
    pub audit_time: jiff::Timestamp,
    /// The file each finding's target was read from (snapshot audits), for SARIF locations.
    pub source_of: &'a dyn Fn(&Finding) -> Option<Source>,
    pub color: bool,
    /// Snapshot files skipped: every format lists them, so an incomplete audit never reads as
    /// a clean one.
    pub input_errors: &'a [InputError],
}

pub fn render(report: &Report, format: Format, ctx: &Context) -> String {
    let mut out = Vec::new();
    render_to(report, format, ctx, &mut out).expect("writing to memory");
    String::from_utf8(out).expect("reports are UTF-8")
}

/// Render into `out`. JSON is streamed: a report of 100,000 findings is never held as one
/// string next to the findings themselves.
pub fn render_to(
    report: &Report,
    format: Format,
    ctx: &Context,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let doc = || ReportDocument {
        findings: &report.findings,
        summary: SummaryWithScore {
            counts: &report.summary,
            score: report.score,
        },
        not_assessed: &report.not_assessed,
        input_errors: ctx.input_errors,
        policy: ctx.policy,
        audit_time: ctx.audit_time.to_string(),
        frameworks: crate::compliance::summaries(report),
        layers: &report.layers,
    };
    match format {
        Format::Table => out.write_all(render_table(report, ctx).as_bytes()),
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &doc()).map_err(std::io::Error::other)?;
            out.write_all(b"\n")
        }
        Format::Yaml => out.write_all(
            crate::yaml::to_string(&doc())
                .expect("report serialises")
                .as_bytes(),
        ),
        Format::Sarif => out.write_all(sarif::render(report, ctx).as_bytes()),
        Format::Junit => out.write_all(junit::render(report, ctx).as_bytes()),
    }
}
