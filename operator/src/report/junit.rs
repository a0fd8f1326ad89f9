//! JUnit XML (`audit -o junit`), for the test dashboards of CI systems (GitLab, Jenkins,
//! GitHub Actions test reporters).
//!
//! The shape, and why:
//! - one `<testsuite>` per category, one `<testcase>` per check the policy enabled (checks it
//!   did not enable are not listed: they were not run), so a dashboard shows every check, green
//!   or red, and its history per check;
//! - a check with unsuppressed findings fails with **one** `<failure>` (Jenkins keeps only one
//!   per test case) whose message counts the findings and whose text lists each of them, one
//!   per line, with its fix; findings waived by an exception do not fail, they are listed in
//!   `<system-out>`;
//! - a check that could not be assessed is `<skipped>` with the reason: never a pass;
//! - a snapshot file that could not be read is an `<error>` test case of a suite `input`, so
//!   an incomplete audit never shows as all green.
//!
//! Every finding fails its check whatever its severity (`--fail-on` decides the exit code, not
//! what the report shows); the `type` of a failure is the highest severity among its findings.

use super::Context;
use crate::audit::{Finding, Report};
use crate::catalog::CheckId;
use crate::catalog::{self, Severity};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Text for XML 1.0: markup characters escaped, and characters XML 1.0 cannot carry at all
/// (most C0 controls, lone surrogates cannot occur in `str`, U+FFFE/U+FFFF) replaced by U+FFFD,
/// since object names and annotations may hold them. No XML crate removes these: they escape
/// markup only, which would still yield a document parsers reject.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            // Escape sequences would reach a terminal that prints the report.
            '\u{7F}'..='\u{9F}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn target(f: &Finding) -> String {
    match &f.resource.namespace {
        Some(ns) => format!("{} {ns}/{}", f.resource.kind, f.resource.name),
        None => format!("{} {}", f.resource.kind, f.resource.name),
    }
}

fn finding_line(f: &Finding) -> String {
    let mut line = format!("[{}] {}: {}", f.severity.as_str(), target(f), f.message);
    if let Some(c) = &f.container {
        let _ = write!(line, " (container {c})");
    }
    if !f.evidence.is_empty() {
        let _ = write!(line, "\n    evidence: {}", f.evidence.join("; "));
    }
    let _ = write!(line, "\n    fix: {}", f.remediation);
    line
}

enum Outcome<'a> {
    Passed,
    Failed(Vec<&'a Finding>),
    Skipped(String),
}

struct Case<'a> {
    check: &'static catalog::CheckMeta,
    outcome: Outcome<'a>,
    waived: Vec<&'a Finding>,
}

pub fn render(report: &Report, ctx: &Context) -> String {
    let mut by_check: BTreeMap<CheckId, (Vec<&Finding>, Vec<&Finding>)> = BTreeMap::new();
    for f in &report.findings {
        let entry = by_check.entry(f.check).or_default();
        if f.suppressed {
            entry.1.push(f);
        } else {
            entry.0.push(f);
        }
    }
    // Why a check could not be assessed: a reason naming it, else its whole category's.
    let unassessed = |check: &catalog::CheckMeta| -> Option<String> {
        report
            .not_assessed
            .iter()
            .find(|n| {
                n.category == check.category.as_str()
                    && (n.checks.is_empty() || n.checks.iter().any(|c| c == check.id.as_str()))
            })
            .map(|n| n.reason.clone())
    };
    let mut suites: BTreeMap<&str, Vec<Case>> = BTreeMap::new();
    // Findings of checks the policy did not list (held findings of another policy cannot occur,
    // but POL-* hygiene findings always run) still fail: list their checks too.
    let mut ids: Vec<CheckId> = report.checks.clone();
    for id in by_check.keys() {
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
    for id in ids {
        let check = id.meta();
        let (failing, waived) = by_check.remove(&id).unwrap_or_default();
        let outcome = if !failing.is_empty() {
            // Held findings of a check not assessed now are still findings: they fail.
            Outcome::Failed(failing)
        } else if let Some(reason) = unassessed(check) {
            Outcome::Skipped(reason)
        } else {
            Outcome::Passed
        };
        suites
            .entry(check.category.as_str())
            .or_default()
            .push(Case {
                check,
                outcome,
                waived,
            });
    }

    let timestamp = ctx.audit_time.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    let count = |cases: &[Case], pick: fn(&Outcome) -> bool| -> usize {
        cases.iter().filter(|c| pick(&c.outcome)).count()
    };
    let failed = |o: &Outcome| matches!(o, Outcome::Failed(_));
    let skipped = |o: &Outcome| matches!(o, Outcome::Skipped(_));
    let total_tests: usize = suites.values().map(Vec::len).sum::<usize>() + ctx.input_errors.len();
    let total_failures: usize = suites.values().map(|c| count(c, failed)).sum();
    let total_skipped: usize = suites.values().map(|c| count(c, skipped)).sum();

    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"kube-posture\" tests=\"{total_tests}\" failures=\"{total_failures}\" errors=\"{}\" skipped=\"{total_skipped}\" timestamp=\"{timestamp}\">",
        ctx.input_errors.len()
    );
    if !ctx.input_errors.is_empty() {
        let _ = writeln!(
            out,
            "  <testsuite name=\"input\" tests=\"{n}\" failures=\"0\" errors=\"{n}\" skipped=\"0\" timestamp=\"{timestamp}\">",
            n = ctx.input_errors.len()
        );
        for e in ctx.input_errors {
            let _ = writeln!(
                out,
                "    <testcase classname=\"kube-posture.input\" name=\"{}\">\n      <error message=\"{}\" type=\"unreadable\">{}: {}</error>\n    </testcase>",
                escape(&e.file),
                escape(&format!("not read: {}", e.error)),
                escape(&e.file),
                escape(&e.error)
            );
        }
        out.push_str("  </testsuite>\n");
    }
    for (category, cases) in &suites {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{category}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" timestamp=\"{timestamp}\" policy=\"{}\">",
            cases.len(),
            count(cases, failed),
            count(cases, skipped),
            escape(ctx.policy)
        );
        for case in cases {
            let _ = write!(
                out,
                "    <testcase classname=\"kube-posture.{category}\" name=\"{} {}\"",
                case.check.id,
                escape(case.check.title)
            );
            if matches!(case.outcome, Outcome::Passed) && case.waived.is_empty() {
                out.push_str("/>\n");
                continue;
            }
            out.push_str(">\n");
            match &case.outcome {
                Outcome::Passed => {}
                Outcome::Skipped(reason) => {
                    let _ = writeln!(
                        out,
                        "      <skipped message=\"{}\"/>",
                        escape(&format!("not assessed: {reason}"))
                    );
                }
                Outcome::Failed(findings) => {
                    let worst = findings
                        .iter()
                        .map(|f| f.severity)
                        .max()
                        .unwrap_or(Severity::Info);
                    let first = findings[0];
                    let message = match findings.len() {
                        1 => format!("{}: {}", target(first), first.message),
                        n => format!("{n} findings; first: {}: {}", target(first), first.message),
                    };
                    let body: Vec<String> = findings.iter().map(|f| finding_line(f)).collect();
                    let _ = writeln!(
                        out,
                        "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                        escape(&message),
                        worst.as_str(),
                        escape(&body.join("\n"))
                    );
                }
            }
            if !case.waived.is_empty() {
                let lines: Vec<String> = case
                    .waived
                    .iter()
                    .map(|f| {
                        format!(
                            "waived: {}: {} ({})",
                            target(f),
                            f.message,
                            f.suppressed_by.as_deref().unwrap_or("exception")
                        )
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "      <system-out>{}</system-out>",
                    escape(&lines.join("\n"))
                );
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_and_control_characters_cannot_break_the_document() {
        assert_eq!(
            escape("a<b>&\"c'\u{1b}[31m\u{0}\u{85}"),
            "a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}[31m\u{FFFD}\u{FFFD}"
        );
        assert_eq!(escape("line\nnext\ttab"), "line\nnext\ttab");
    }
}
