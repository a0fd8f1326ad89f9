//! Compliance with a framework (CIS, NSA/CISA, Pod Security Standards), judged from an audit
//! report: a pure function of the framework's rows (`catalog::frameworks`) and the
//! [`Report`]. The CLI's `report --framework` and the operator's `status.frameworks` both
//! call [`evaluate`].

use crate::api::FrameworkStatus;
use crate::audit::{Finding, ObjectRef, Report};
use crate::catalog::Severity;
use crate::catalog::frameworks::{CheckRef, Control, Coverage, FRAMEWORKS, Framework};
use serde::Serialize;
use std::collections::BTreeSet;

/// Where a control stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ControlStatus {
    /// A mapped check failed on at least one resource (waived findings do not count).
    Fail,
    /// Every mapped check that ran found nothing, and at least one ran.
    Pass,
    /// No check judges it, or the checks can only fail it (partial coverage): a person must.
    Manual,
    /// None of its checks ran (disabled by the policy, or their input could not be read), or
    /// they had nothing to examine (no workload, no control-plane Pod in the input).
    NotAssessed,
}

impl ControlStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ControlStatus::Pass => "pass",
            ControlStatus::Fail => "fail",
            ControlStatus::Manual => "manual",
            ControlStatus::NotAssessed => "not-assessed",
        }
    }
}

/// A mapped check, as this audit saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    pub id: &'static str,
    /// The word its findings' evidence must hold to count for this control.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<&'static str>,
    /// `pass`, `fail` or `not-assessed`.
    pub status: ControlStatus,
    /// Distinct resources it fails on.
    pub failing: usize,
    /// Resources it examined, where the audit knows (workloads, namespaces, nodes,
    /// control-plane Pods; not RBAC grants).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub examined: Option<usize>,
}

/// One control's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlResult {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub coverage: Coverage,
    pub status: ControlStatus,
    pub citation: String,
    pub checks: Vec<CheckResult>,
    /// Distinct resources failing any mapped check (waived findings excluded).
    pub failing: usize,
    /// Resources passing every mapped check, where derivable: when all its assessed checks
    /// examine the same set of resources (workloads, or the API server Pods…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passing: Option<usize>,
    /// 0-100: the share of its assessed checks that pass; absent when none was assessed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<u32>,
}

/// How many controls are in each status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub passed: u32,
    pub failed: u32,
    pub manual: u32,
    pub not_assessed: u32,
}

/// A framework's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameworkReport {
    pub id: &'static str,
    pub name: &'static str,
    pub version: &'static str,
    pub document: &'static str,
    /// 0-100: the share of evaluated controls (passed + failed) that pass; absent when no
    /// control could be evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<u32>,
    /// Controls by status.
    pub summary: Counts,
    pub controls: Vec<ControlResult>,
}

impl FrameworkReport {
    /// Failing controls at or above `threshold` (`--fail-on`).
    pub fn failing_at_or_above(&self, threshold: Severity) -> usize {
        self.controls
            .iter()
            .filter(|c| c.status == ControlStatus::Fail && c.severity >= threshold)
            .count()
    }
}

/// What every framework's controls read of a report, indexed once per report.
struct Index<'r> {
    assessed: BTreeSet<&'r str>,
    /// The unsuppressed findings of each check: a control reads only its checks' (a scan of
    /// every finding per check of every control was most of a status update).
    unsuppressed: std::collections::HashMap<&'r str, Vec<&'r Finding>>,
}

impl<'r> Index<'r> {
    fn new(report: &'r Report) -> Index<'r> {
        let mut unsuppressed: std::collections::HashMap<&str, Vec<&Finding>> = Default::default();
        for f in report.findings.iter().filter(|f| !f.suppressed) {
            unsuppressed.entry(f.check.as_str()).or_default().push(f);
        }
        Index {
            assessed: report.assessed.iter().map(|c| c.as_str()).collect(),
            unsuppressed,
        }
    }
}

/// Judge every control of `framework` from `report`.
pub fn evaluate(framework: &Framework, report: &Report) -> FrameworkReport {
    evaluate_indexed(framework, report, &Index::new(report))
}

fn evaluate_indexed(framework: &Framework, report: &Report, index: &Index) -> FrameworkReport {
    let controls: Vec<ControlResult> = framework
        .controls
        .iter()
        .map(|c| control(framework, c, report, index))
        .collect();
    let mut summary = Counts::default();
    for c in &controls {
        match c.status {
            ControlStatus::Pass => summary.passed += 1,
            ControlStatus::Fail => summary.failed += 1,
            ControlStatus::Manual => summary.manual += 1,
            ControlStatus::NotAssessed => summary.not_assessed += 1,
        }
    }
    FrameworkReport {
        id: framework.id,
        name: framework.name,
        version: framework.version,
        document: framework.document,
        score: percent(
            summary.passed as usize,
            (summary.passed + summary.failed) as usize,
        ),
        summary,
        controls,
    }
}

/// Every framework's counts and score, as the SecurityPolicy status and `audit -o json` show
/// them.
pub fn summaries(report: &Report) -> Vec<FrameworkStatus> {
    let index = Index::new(report);
    FRAMEWORKS
        .iter()
        .map(|f| {
            let r = evaluate_indexed(f, report, &index);
            FrameworkStatus {
                id: r.id.to_string(),
                score: r.score,
                passed: r.summary.passed,
                failed: r.summary.failed,
                manual: r.summary.manual,
                not_assessed: r.summary.not_assessed,
            }
        })
        .collect()
}

fn control(framework: &Framework, c: &Control, report: &Report, index: &Index) -> ControlResult {
    let mut failing_resources: BTreeSet<&ObjectRef> = BTreeSet::new();
    let checks: Vec<CheckResult> = c
        .check_refs()
        .map(|r| {
            let word = r.evidence.map(str::to_ascii_lowercase);
            let failing: BTreeSet<&ObjectRef> = index
                .unsuppressed
                .get(r.id)
                .into_iter()
                .flatten()
                .filter(|f| counts_against(f, r, word.as_deref()))
                .map(|f| &f.resource)
                .collect();
            let status = if !failing.is_empty() {
                ControlStatus::Fail
            } else if index.assessed.contains(r.id) {
                ControlStatus::Pass
            } else {
                ControlStatus::NotAssessed
            };
            let n = failing.len();
            failing_resources.extend(failing);
            CheckResult {
                id: r.id,
                evidence: r.evidence,
                status,
                failing: n,
                examined: (status != ControlStatus::NotAssessed)
                    .then(|| report.examined.get(&r.id.parse().ok()?).copied())
                    .flatten(),
            }
        })
        .collect();
    let failed = checks
        .iter()
        .filter(|r| r.status == ControlStatus::Fail)
        .count();
    let evaluated = checks
        .iter()
        .filter(|r| r.status != ControlStatus::NotAssessed)
        .count();
    let ran = || {
        checks
            .iter()
            .filter(|r| r.status != ControlStatus::NotAssessed)
    };
    // One set of resources behind every check that ran: passing resources are derivable.
    let population = ran()
        .map(|r| r.examined)
        .reduce(|a, b| if a == b { a } else { None })
        .flatten();
    let nothing_examined = ran().all(|r| r.examined == Some(0));
    let status = match c.coverage {
        Coverage::Manual => ControlStatus::Manual,
        _ if failed > 0 => ControlStatus::Fail,
        _ if evaluated == 0 || nothing_examined => ControlStatus::NotAssessed,
        // The checks found nothing, but they do not see all the control asks.
        Coverage::Partial => ControlStatus::Manual,
        Coverage::Full => ControlStatus::Pass,
    };
    ControlResult {
        id: c.id,
        title: c.title,
        severity: c.severity,
        coverage: c.coverage,
        status,
        citation: c.citation(framework),
        passing: population.map(|n| n.saturating_sub(failing_resources.len())),
        failing: failing_resources.len(),
        score: percent(evaluated - failed, evaluated),
        checks,
    }
}

/// Whether `f` is an unwaived finding of the mapped check, with the evidence it asks for
/// (`word`: `r.evidence` in lower case, lowered once per reference). A finding whose evidence
/// was cut (`… and N more`) may hide the word: it counts.
fn counts_against(f: &Finding, r: CheckRef, word: Option<&str>) -> bool {
    if f.suppressed || f.check != r.id {
        return false;
    }
    let Some(word) = word else { return true };
    f.evidence
        .iter()
        .any(|e| e.to_ascii_lowercase().contains(word) || e.starts_with(crate::audit::bounds::MORE))
}

fn percent(part: usize, whole: usize) -> Option<u32> {
    (whole > 0).then(|| ((part * 100 + whole / 2) / whole) as u32)
}

#[cfg(test)]
mod tests;
