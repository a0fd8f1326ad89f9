//! The posture score.
//!
//! `score = round(100 × Σ weight(passing checks) / Σ weight(assessed checks))`
//!
//! over the checks the policy enables, where a check *passes* when it has no unsuppressed
//! finding, and the weight is the check's default severity: critical 10, high 5, medium 3,
//! low 1, info 0. Checks that cannot be assessed are left out unless they found something:
//! those of categories listed in `notAssessed`, DaemonSet checks when the policy requires none,
//! policy-hygiene checks when it has no exceptions, live-only checks in offline audits, and
//! IMG-001 when the input holds no Dockerfile.
//! With nothing assessed the score is 100. The score measures breadth (how many controls fail), not
//! volume: one privileged pod costs as much as a hundred, so fixing the last one is what
//! moves it.

use super::Finding;
use crate::api::NotAssessed;
use crate::catalog::{Category, Scope, Severity};
use crate::policy::EffectivePolicy;
use std::collections::HashSet;

pub fn weight(s: Severity) -> u64 {
    match s {
        Severity::Critical => 10,
        Severity::High => 5,
        Severity::Medium => 3,
        Severity::Low => 1,
        Severity::Info => 0,
    }
}

/// The enabled checks the audit could judge: every check with a finding (suppressed or not),
/// and those without one unless they could not run: named in `notAssessed`, or not applicable
/// as [`score`] leaves them out (DaemonSet checks with no required DaemonSet, hygiene checks
/// with no exception, live-only checks offline, IMG-001 without Dockerfiles). Unlike the
/// score, which leaves out a whole category when part of it was not assessed, this is per
/// check: a framework control judged by API-001 is assessed even when API-006 could not be.
pub fn assessed(
    policy: &EffectivePolicy,
    findings: &[Finding],
    not_assessed: &[NotAssessed],
    live: bool,
    dockerfiles: bool,
) -> Vec<&'static str> {
    let ran: HashSet<&str> = findings.iter().map(|f| f.check).collect();
    let unassessed: HashSet<&str> = not_assessed
        .iter()
        .flat_map(|n| n.checks.iter().map(String::as_str))
        .collect();
    policy
        .enabled_checks()
        .filter(|c| {
            ran.contains(c.id)
                || !(unassessed.contains(c.id)
                    || (c.category == Category::Daemonset
                        && policy.required_daemon_sets.is_empty())
                    || (c.category == Category::Policy && policy.exceptions.is_empty())
                    || (c.scope == Scope::LiveOnly && !live)
                    || (c.id == "IMG-001" && !dockerfiles))
        })
        .map(|c| c.id)
        .collect()
}

pub fn score(
    policy: &EffectivePolicy,
    findings: &[Finding],
    not_assessed: &[NotAssessed],
    live: bool,
    dockerfiles: bool,
) -> u32 {
    let failing: HashSet<&str> = findings
        .iter()
        .filter(|f| !f.suppressed)
        .map(|f| f.check)
        .collect();
    let ran: HashSet<&str> = findings.iter().map(|f| f.check).collect();
    let skipped: HashSet<&str> = not_assessed.iter().map(|n| n.category.as_str()).collect();
    let (mut total, mut passing) = (0u64, 0u64);
    for c in policy.enabled_checks() {
        // A check with a finding always counts (a category partly not assessed can still fail
        // a check); one without counts only if its category could be assessed.
        let not_applicable = !ran.contains(c.id)
            && (skipped.contains(c.category.as_str())
                || (c.category == Category::Daemonset && policy.required_daemon_sets.is_empty())
                || (c.category == Category::Policy && policy.exceptions.is_empty())
                || (c.scope == Scope::LiveOnly && !live)
                || (c.id == "IMG-001" && !dockerfiles));
        if not_applicable {
            continue;
        }
        let w = weight(c.severity);
        total += w;
        if !failing.contains(c.id) {
            passing += w;
        }
    }
    if total == 0 {
        return 100;
    }
    ((passing * 100 + total / 2) / total) as u32
}
