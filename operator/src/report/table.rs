//! The terminal table: findings grouped by severity, most severe first, then a summary line.

use super::Context;
use super::terminal::{clean, clean_lines};
use crate::api::LayerStatus;
use crate::audit::{Finding, Report};
use crate::catalog::{self, Scope, Severity};
use std::fmt::Write;

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn severity_color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "1;31",
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low => "36",
        Severity::Info => "37",
    }
}

/// Every string below that comes from the input (names, messages that quote names, paths or
/// annotations, evidence) goes through `clean`: see `terminal`.
fn target(f: &Finding) -> String {
    let (kind, name) = (clean(&f.resource.kind), clean(&f.resource.name));
    match &f.resource.namespace {
        Some(ns) => format!("{kind} {}/{name}", clean(ns)),
        None => format!("{kind} {name}"),
    }
}

pub fn render_table(report: &Report, ctx: &Context) -> String {
    let c = ctx.color;
    let mut out = String::new();
    for sev in Severity::ALL {
        let group: Vec<&std::sync::Arc<Finding>> = report
            .findings
            .iter()
            .filter(|f| f.severity == sev && !f.suppressed)
            .collect();
        if group.is_empty() {
            continue;
        }
        let header = format!("{} ({})", sev.as_str().to_uppercase(), group.len());
        let _ = writeln!(out, "{}", paint(c, severity_color(sev), &header));
        for f in group {
            let _ = writeln!(out, "  {}  {}", paint(c, "1", f.check.as_str()), target(f));
            let _ = writeln!(out, "      {}", clean(&f.message));
            if let Some(containers) = &f.container {
                let _ = writeln!(out, "      containers: {}", clean(containers));
            }
            if let Some(reason) = &f.reason {
                let _ = writeln!(out, "      reason: {}", clean(reason));
            }
            for e in &f.evidence {
                let _ = writeln!(out, "      {} {}", paint(c, "2", "·"), clean(e));
            }
            let _ = writeln!(
                out,
                "      {} {}",
                paint(c, "32", "fix:"),
                clean(&f.remediation)
            );
        }
        out.push('\n');
    }
    let suppressed: Vec<&std::sync::Arc<Finding>> =
        report.findings.iter().filter(|f| f.suppressed).collect();
    if !suppressed.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            paint(c, "2", &format!("SUPPRESSED ({})", suppressed.len()))
        );
        for f in suppressed {
            let _ = writeln!(
                out,
                "  {}  {}  ({})",
                f.check,
                target(f),
                clean(f.suppressed_by.as_deref().unwrap_or("exception"))
            );
        }
        out.push('\n');
    }
    if !report.not_assessed.is_empty() {
        let _ = writeln!(out, "{}", paint(c, "2", "NOT ASSESSED"));
        for n in &report.not_assessed {
            let _ = writeln!(out, "  {}: {}", clean(&n.category), clean(&n.reason));
        }
        out.push('\n');
    }
    if !ctx.input_errors.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            paint(
                c,
                "1;31",
                "NOT READ (the audit covers the other files only)"
            )
        );
        for e in ctx.input_errors {
            let _ = writeln!(out, "  {}: {}", clean(&e.file), clean_lines(&e.error));
        }
        out.push('\n');
    }
    if !report.layers.is_empty() {
        let _ = writeln!(out, "{}", paint(c, "1", "POSTURE BY LAYER"));
        out.push_str(&layer_lines(&report.layers, c));
        out.push('\n');
    }
    let s = &report.summary;
    let counts = [
        (s.critical, Severity::Critical),
        (s.high, Severity::High),
        (s.medium, Severity::Medium),
        (s.low, Severity::Low),
        (s.info, Severity::Info),
    ];
    let parts: Vec<String> = counts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, sev)| paint(c, severity_color(*sev), &format!("{n} {sev}")))
        .collect();
    let mut line = if s.total == 0 {
        "No findings".to_string()
    } else {
        format!(
            "{} finding{}: {}",
            s.total,
            if s.total == 1 { "" } else { "s" },
            parts.join(", ")
        )
    };
    if s.suppressed > 0 {
        let _ = write!(line, " ({} suppressed)", s.suppressed);
    }
    if !ctx.input_errors.is_empty() {
        let n = ctx.input_errors.len();
        let text = format!(
            "incomplete: {n} file{} not read",
            if n == 1 { "" } else { "s" }
        );
        let _ = write!(line, " · {}", paint(c, "1;31", &text));
    }
    let _ = writeln!(
        out,
        "{line} · score {}/100 · policy {}",
        paint(c, "1", &report.score.to_string()),
        clean(ctx.policy)
    );
    out
}

/// One line per layer: its score (or "not assessed" when none of its checks could be), its
/// unsuppressed findings by severity, and how many of its checks were assessed.
pub fn layer_lines(layers: &[LayerStatus], c: bool) -> String {
    let mut out = String::new();
    for l in layers {
        let score = match l.score {
            Some(n) => format!("{n:>3}/100"),
            None => "not assessed".to_string(),
        };
        let counts: Vec<String> = [
            (l.critical, Severity::Critical),
            (l.high, Severity::High),
            (l.medium, Severity::Medium),
            (l.low, Severity::Low),
            (l.info, Severity::Info),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, sev)| paint(c, severity_color(*sev), &format!("{n} {sev}")))
        .collect();
        let counts = if counts.is_empty() {
            "no findings".to_string()
        } else {
            counts.join(", ")
        };
        let mut coverage = format!("{}/{} checks assessed", l.assessed, l.checks);
        if l.not_assessed > 0 {
            let _ = write!(coverage, ", {} not assessed", l.not_assessed);
        }
        let _ = writeln!(
            out,
            "  {:<14} {:<12}  {counts} ({coverage})",
            l.layer.as_str(),
            score
        );
    }
    out
}

/// `kube-posture checks`: the catalog as a table.
pub fn render_catalog_table() -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<9} {:<12} {:<15} {:<7} {:<62} REFERENCES",
        "ID", "CATEGORY", "SEVERITY", "DEFAULT", "TITLE"
    );
    for c in catalog::CHECKS {
        let sev = match c.reduced_severity {
            Some(r) => format!("{}/{}", c.severity, r),
            None => c.severity.to_string(),
        };
        let default = match (c.scope, c.default) {
            (Scope::LiveOnly, _) => "live",
            (_, true) => "on",
            (_, false) => "off",
        };
        let _ = writeln!(
            out,
            "{:<9} {:<12} {:<15} {:<7} {:<62} {}",
            c.id,
            c.category.as_str(),
            sev,
            default,
            c.title,
            c.references.join(", ")
        );
    }
    out
}
