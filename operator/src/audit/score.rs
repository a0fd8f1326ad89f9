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
use crate::catalog::CheckId;
use crate::catalog::{Category, CheckMeta, Layer, Scope, Severity};
use crate::outcome::{LayerStatus, NotAssessed, Summary};
use crate::policy::EffectivePolicy;
use foldhash::HashSet;

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
    tallies: &Tallies,
    not_assessed: &[NotAssessed],
    live: bool,
    dockerfiles: bool,
) -> Vec<CheckId> {
    let unassessed: HashSet<&str> = not_assessed
        .iter()
        .flat_map(|n| n.checks.iter().map(String::as_str))
        .collect();
    policy
        .enabled_checks()
        .filter(|c| {
            tallies.ran(c.id)
                || !(unassessed.contains(c.id.as_str())
                    || (c.category == Category::Daemonset
                        && policy.required_daemon_sets.is_empty())
                    || (c.category == Category::Policy && policy.exceptions.is_empty())
                    || (c.scope == Scope::LiveOnly && !live)
                    || (c.id == CheckId::Img001 && !dockerfiles))
        })
        .map(|c| c.id)
        .collect()
}

pub fn score(
    policy: &EffectivePolicy,
    tallies: &Tallies,
    not_assessed: &[NotAssessed],
    live: bool,
    dockerfiles: bool,
) -> u32 {
    let seen = Seen::new(tallies, not_assessed);
    let t = tally(policy, &seen, live, dockerfiles, |_| true);
    t.ratio().unwrap_or(100)
}

/// The weights the score adds up, over the enabled checks `within` selects.
struct Tally {
    /// Checks counted (assessed, of any weight).
    counted: usize,
    total: u64,
    passing: u64,
}

impl Tally {
    /// `round(100 × passing / total)`; `None` when no check counted. Checks that all weigh
    /// nothing (info) pass by definition: 100.
    fn ratio(&self) -> Option<u32> {
        if self.counted == 0 {
            return None;
        }
        if self.total == 0 {
            return Some(100);
        }
        Some(((self.passing * 100 + self.total / 2) / self.total) as u32)
    }
}

/// A report's findings counted by check: unsuppressed ones by severity (in
/// [`Severity::ALL`]'s order), then suppressed ones. Counted as the report's findings are
/// settled, and read by the summary, the score, the layers and [`assessed`]: a large report
/// has 100,000 findings, walked once rather than once for each of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tallies {
    by_check: Vec<[u32; 6]>,
}

impl Default for Tallies {
    fn default() -> Tallies {
        Tallies {
            by_check: vec![[0; 6]; crate::catalog::CHECKS.len()],
        }
    }
}

impl Tallies {
    fn slot(f: &Finding) -> usize {
        if f.suppressed {
            5
        } else {
            Severity::ALL
                .iter()
                .position(|s| *s == f.severity)
                .unwrap_or(0)
        }
    }

    pub fn add(&mut self, f: &Finding) {
        self.by_check[f.check as usize][Self::slot(f)] += 1;
    }

    /// Take back a finding counted by [`Tallies::add`] (one the report then drops).
    pub fn remove(&mut self, f: &Finding) {
        let n = &mut self.by_check[f.check as usize][Self::slot(f)];
        *n = n.saturating_sub(1);
    }

    /// Whether `check` has a finding, suppressed or not.
    pub fn ran(&self, check: CheckId) -> bool {
        self.by_check[check as usize].iter().any(|n| *n > 0)
    }

    /// Whether `check` has an unsuppressed finding.
    pub fn failing(&self, check: CheckId) -> bool {
        self.by_check[check as usize][..5].iter().any(|n| *n > 0)
    }

    /// The counts of the findings of the checks `within` selects: unsuppressed ones by
    /// severity (`total` is their sum), and suppressed ones apart.
    pub fn summary(&self, within: impl Fn(CheckId) -> bool) -> Summary {
        let mut s = Summary::default();
        for (&id, n) in CheckId::ALL.iter().zip(&self.by_check) {
            if !within(id) {
                continue;
            }
            let [critical, high, medium, low, info, suppressed] = n.map(u64::from);
            s.critical += critical;
            s.high += high;
            s.medium += medium;
            s.low += low;
            s.info += info;
            s.total += critical + high + medium + low + info;
            s.suppressed += suppressed;
        }
        s
    }
}

/// What the findings and `notAssessed` say about each check, computed once per audit.
struct Seen<'a> {
    tallies: &'a Tallies,
    /// Categories named in `notAssessed`.
    skipped: HashSet<&'a str>,
}

impl<'a> Seen<'a> {
    fn new(tallies: &'a Tallies, not_assessed: &'a [NotAssessed]) -> Seen<'a> {
        Seen {
            tallies,
            skipped: not_assessed.iter().map(|n| n.category.as_str()).collect(),
        }
    }
}

fn tally(
    policy: &EffectivePolicy,
    seen: &Seen,
    live: bool,
    dockerfiles: bool,
    within: impl Fn(&CheckMeta) -> bool,
) -> Tally {
    let Seen { tallies, skipped } = seen;
    let mut t = Tally {
        counted: 0,
        total: 0,
        passing: 0,
    };
    for c in policy.enabled_checks().filter(|c| within(c)) {
        // A check with a finding always counts (a category partly not assessed can still fail
        // a check); one without counts only if its category could be assessed.
        let not_applicable = !tallies.ran(c.id)
            && (skipped.contains(c.category.as_str())
                || (c.category == Category::Daemonset && policy.required_daemon_sets.is_empty())
                || (c.category == Category::Policy && policy.exceptions.is_empty())
                || (c.scope == Scope::LiveOnly && !live)
                || (c.id == CheckId::Img001 && !dockerfiles));
        if not_applicable {
            continue;
        }
        let w = weight(c.severity);
        t.counted += 1;
        t.total += w;
        if !tallies.failing(c.id) {
            t.passing += w;
        }
    }
    t
}

/// The posture layer by layer (host.md, "Layers in the status"), for each layer with an
/// enabled check, in [`Layer::ALL`] order: counts of the layer's findings (as
/// [`Tallies::summary`] counts them), and its score by the rule of [`score`] restricted to
/// its checks. Unlike the overall score, a layer none of whose checks could be assessed has
/// no score rather than 100: a layer the audit could not see must not read as a safe one.
pub fn layers(
    policy: &EffectivePolicy,
    tallies: &Tallies,
    not_assessed: &[NotAssessed],
    assessed: &[CheckId],
    live: bool,
    dockerfiles: bool,
) -> Vec<LayerStatus> {
    let unassessed: HashSet<&str> = not_assessed
        .iter()
        .flat_map(|n| n.checks.iter().map(String::as_str))
        .collect();
    let seen = Seen::new(tallies, not_assessed);
    Layer::ALL
        .into_iter()
        .filter_map(|layer| {
            let checks: Vec<CheckId> = policy
                .enabled_checks()
                .filter(|c| c.layer() == layer)
                .map(|c| c.id)
                .collect();
            if checks.is_empty() {
                return None;
            }
            let counts = tallies.summary(|id| id.layer() == layer);
            let t = tally(policy, &seen, live, dockerfiles, |c| c.layer() == layer);
            let count = |keep: &dyn Fn(CheckId) -> bool| {
                u32::try_from(checks.iter().filter(|id| keep(**id)).count()).unwrap_or(u32::MAX)
            };
            Some(LayerStatus {
                layer,
                score: t.ratio(),
                critical: counts.critical,
                high: counts.high,
                medium: counts.medium,
                low: counts.low,
                info: counts.info,
                suppressed: counts.suppressed,
                checks: count(&|_| true),
                assessed: count(&|id| assessed.contains(&id)),
                not_assessed: count(&|id| unassessed.contains(id.as_str())),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::audit::testutil::{audit, audit_with};
    use crate::catalog::Layer;
    use crate::outcome::LayerStatus;
    use crate::policy::EffectivePolicy;

    const ADMIN: &str = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: a}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: User, name: u1}]\n";

    fn layer(layers: &[LayerStatus], l: Layer) -> &LayerStatus {
        layers
            .iter()
            .find(|s| s.layer == l)
            .unwrap_or_else(|| panic!("no {l} layer in {layers:?}"))
    }

    #[test]
    fn layers_count_findings_and_score_their_own_checks() {
        let r = audit(ADMIN);
        let order: Vec<Layer> = r.layers.iter().map(|l| l.layer).collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted, "layers in Layer::ALL order");
        let identity = layer(&r.layers, Layer::Identity);
        assert_eq!(identity.critical, 1);
        assert!(identity.score.is_some_and(|s| s < 100), "{identity:?}");
        assert_eq!(identity.assessed, identity.checks);
        // The layers' counts add up to the summary.
        let sum: u64 = r
            .layers
            .iter()
            .map(|l| l.critical + l.high + l.medium + l.low + l.info)
            .sum();
        assert_eq!(sum, r.summary.total);
    }

    /// A layer the audit could not see has no score (the table says "not assessed"), never
    /// 100: with Nodes unreadable, no path through a node can be judged, the host checks have
    /// nothing to read, and DaemonSet checks have no required DaemonSet.
    #[test]
    fn a_layer_nothing_could_assess_has_no_score() {
        let r = crate::audit::testutil::audit_without_nodes(ADMIN);
        let paths = layer(&r.layers, Layer::Paths);
        assert_eq!(paths.score, None, "{paths:?}");
        assert_eq!((paths.assessed, paths.not_assessed), (0, paths.checks));
        let host = layer(&r.layers, Layer::Host);
        assert!(
            host.not_assessed > 0 && host.assessed < host.checks,
            "{host:?}"
        );
        assert_eq!(host.score, None, "{host:?}");
        // The overall score keeps its rule (nothing assessed there is left out, not failed).
        assert!(r.score < 100);
    }

    #[test]
    fn only_layers_with_enabled_checks_are_listed() {
        let spec: crate::api::SecurityPolicySpec = serde_json::from_value(serde_json::json!({
            "checks": {"include": ["rbac"]}
        }))
        .unwrap();
        let policy = EffectivePolicy::compile("p", &spec).unwrap();
        let r = audit_with(ADMIN, &policy);
        let order: Vec<Layer> = r.layers.iter().map(|l| l.layer).collect();
        assert_eq!(order, [Layer::Identity]);
        assert_eq!(r.layers[0].score, Some(r.score));
    }

    #[test]
    fn suppressed_findings_count_apart_and_do_not_fail_the_layer() {
        let spec: crate::api::SecurityPolicySpec = serde_json::from_value(serde_json::json!({
            "checks": {"include": ["rbac"]},
            "exceptions": [{"check": "RBAC-001", "reason": "break glass"}]
        }))
        .unwrap();
        let policy = EffectivePolicy::compile("p", &spec).unwrap();
        let r = audit_with(ADMIN, &policy);
        let identity = layer(&r.layers, Layer::Identity);
        assert_eq!((identity.critical, identity.suppressed), (0, 1));
        assert_eq!(identity.score, Some(100));
    }
}
