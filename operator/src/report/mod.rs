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

impl<'a> ReportDocument<'a> {
    /// The document of `report` rendered in `ctx`.
    pub fn new(report: &'a Report, ctx: &Context<'a>) -> ReportDocument<'a> {
        ReportDocument {
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
        }
    }
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

/// Findings per piece of a JSON report rendered at once: about a megabyte of text.
const JSON_CHUNK: usize = 1024;

/// `serde_json::to_writer_pretty(out, &doc)` and a newline, byte for byte, with the findings
/// (nearly all of a large report: 135 MB of text at M, half a second on one core) rendered on
/// every core, `chunk` findings at a time, while this thread writes the pieces in order. A few
/// pieces are in flight at once, so memory stays bounded. (serde_json's pretty printer cannot
/// start at a given depth, so each finding is rendered at depth 0 and its lines indented for
/// the depth of `findings`' items; a JSON string holds no raw newline.)
fn write_json(
    mut doc: ReportDocument,
    out: &mut dyn std::io::Write,
    chunk: usize,
) -> std::io::Result<()> {
    use std::io::Write;
    let findings = std::mem::take(&mut doc.findings);
    let rest = serde_json::to_string_pretty(&doc).map_err(std::io::Error::other)?;
    let rest = rest
        .strip_prefix("{\n  \"findings\": []")
        .expect("findings are the report's first field");
    out.write_all(b"{\n  \"findings\": ")?;
    if findings.is_empty() {
        out.write_all(b"[]")?;
    } else {
        /// Writes what it is given with each line after the first indented by 4 spaces.
        struct Indented<'a>(&'a mut Vec<u8>);
        impl Write for Indented<'_> {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                let mut lines = buf.split(|&b| b == b'\n');
                if let Some(first) = lines.next() {
                    self.0.extend_from_slice(first);
                }
                for line in lines {
                    self.0.extend_from_slice(b"\n    ");
                    self.0.extend_from_slice(line);
                }
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let piece = |k: usize| -> std::io::Result<Vec<u8>> {
            let mut text = Vec::with_capacity(chunk * 1200);
            let end = (k * chunk + chunk).min(findings.len());
            for (i, f) in findings[k * chunk..end].iter().enumerate() {
                text.extend_from_slice(if k == 0 && i == 0 {
                    b"\n    "
                } else {
                    b",\n    "
                });
                serde_json::to_writer_pretty(Indented(&mut text), f)
                    .map_err(std::io::Error::other)?;
            }
            Ok(text)
        };
        let pieces = findings.len().div_ceil(chunk);
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(pieces);
        out.write_all(b"[")?;
        std::thread::scope(|scope| {
            let pending: Vec<_> = (0..workers)
                .map(|w| {
                    let (tx, rx) = std::sync::mpsc::sync_channel(2);
                    scope.spawn(move || {
                        for k in (w..pieces).step_by(workers) {
                            // A closed receiver: the writer stopped (a closed pipe).
                            if tx.send(piece(k)).is_err() {
                                break;
                            }
                        }
                    });
                    rx
                })
                .collect();
            let written = (0..pieces).try_for_each(|k| {
                let text = pending[k % workers]
                    .recv()
                    .map_err(|_| std::io::Error::other("a JSON renderer stopped"))??;
                out.write_all(&text)
            });
            drop(pending);
            written
        })?;
        out.write_all(b"\n  ]")?;
    }
    out.write_all(rest.as_bytes())?;
    out.write_all(b"\n")
}

/// Render into `out`. JSON is streamed: a report of 100,000 findings is never held as one
/// string next to the findings themselves.
pub fn render_to(
    report: &Report,
    format: Format,
    ctx: &Context,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let doc = || ReportDocument::new(report, ctx);
    match format {
        Format::Table => out.write_all(render_table(report, ctx).as_bytes()),
        Format::Json => write_json(doc(), out, JSON_CHUNK),
        Format::Yaml => out.write_all(
            crate::yaml::to_string(&doc())
                .expect("report serialises")
                .as_bytes(),
        ),
        Format::Sarif => out.write_all(sarif::render(report, ctx).as_bytes()),
        Format::Junit => out.write_all(junit::render(report, ctx).as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON report rendered in pieces on several threads is serde_json's, byte for byte:
    /// no findings, one, and many over several pieces (one piece short).
    #[test]
    fn json_rendered_in_pieces_is_serde_jsons() {
        let report = crate::audit::testutil::audit(
            "
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: team, labels: {app: \"a\\nb\"}}
spec:
  hostPID: true
  containers: [{name: c, image: \"x:1\", securityContext: {privileged: true}}]
",
        );
        assert!(report.findings.len() > 2, "{:?}", report.findings);
        let ctx = Context {
            policy: "default",
            audit_time: crate::audit::testutil::now(),
            source_of: &|_| None,
            color: false,
            input_errors: &[],
        };
        let many: Vec<_> = report.findings.iter().cycle().take(1000).cloned().collect();
        for findings in [&[][..], &report.findings[..1], &report.findings, &many[..]] {
            let doc = || ReportDocument {
                findings,
                ..ReportDocument::new(&report, &ctx)
            };
            let mut expected = serde_json::to_vec_pretty(&doc()).unwrap();
            expected.push(b'\n');
            for chunk in [1, 7, JSON_CHUNK] {
                let mut text = Vec::new();
                write_json(doc(), &mut text, chunk).unwrap();
                assert!(
                    text == expected,
                    "{} findings in pieces of {chunk}:\n{}",
                    findings.len(),
                    String::from_utf8_lossy(&text)
                );
            }
        }
    }
}
