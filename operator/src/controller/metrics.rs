//! Prometheus metrics (text format at /metrics): findings by policy, severity and check;
//! score by policy; audit durations; reconciles and their errors by reason; API writes and
//! Events; watch restarts; cached objects by kind; leadership.

use crate::audit::Report;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct FindingLabels {
    pub policy: String,
    pub severity: String,
    pub check: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PolicyLabel {
    pub policy: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabel {
    pub code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

pub struct Metrics {
    registry: Registry,
    findings: Family<FindingLabels, Gauge>,
    score: Family<PolicyLabel, Gauge>,
    audit_duration: Histogram,
    reconciles: Family<PolicyLabel, Counter>,
    reconcile_errors: Family<ReasonLabel, Counter>,
    writes: Counter,
    events: Counter,
    watch_restarts: Counter,
    cached_objects: Family<KindLabel, Gauge>,
    leader: Gauge,
    leader_step_downs: Counter,
    lease_renew_duration: Histogram,
    metrics_requests: Family<CodeLabel, Counter>,
    /// The finding series each policy has, so stale ones are removed.
    series: Mutex<BTreeMap<String, BTreeSet<FindingLabels>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("kube_posture");
        let m = Metrics {
            findings: Family::default(),
            score: Family::default(),
            audit_duration: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            reconciles: Family::default(),
            reconcile_errors: Family::default(),
            writes: Counter::default(),
            events: Counter::default(),
            watch_restarts: Counter::default(),
            cached_objects: Family::default(),
            leader: Gauge::default(),
            leader_step_downs: Counter::default(),
            lease_renew_duration: Histogram::new(exponential_buckets(0.005, 2.0, 12)),
            metrics_requests: Family::default(),
            series: Mutex::new(BTreeMap::new()),
            registry: Registry::default(),
        };
        registry.register(
            "findings",
            "Unsuppressed findings by policy, severity and check",
            m.findings.clone(),
        );
        registry.register("score", "Posture score (0-100) by policy", m.score.clone());
        registry.register(
            "audit_duration_seconds",
            "Duration of one audit",
            m.audit_duration.clone(),
        );
        registry.register("reconciles", "Reconciles by policy", m.reconciles.clone());
        registry.register(
            "reconcile_errors",
            "Failed reconciles by reason",
            m.reconcile_errors.clone(),
        );
        registry.register(
            "api_writes",
            "Writes to the API server (Findings, status)",
            m.writes.clone(),
        );
        registry.register("events", "Events published", m.events.clone());
        registry.register(
            "watch_restarts",
            "Watch errors after which a watch restarted",
            m.watch_restarts.clone(),
        );
        registry.register(
            "cached_objects",
            "Objects held in the watch caches by kind",
            m.cached_objects.clone(),
        );
        registry.register(
            "leader",
            "1 when this replica holds the leader Lease",
            m.leader.clone(),
        );
        registry.register(
            "leader_step_downs",
            "Times this replica stopped leading because no Lease renewal succeeded within the renew deadline",
            m.leader_step_downs.clone(),
        );
        registry.register(
            "lease_renew_duration_seconds",
            "Duration of each successful Lease acquisition or renewal (get and update)",
            m.lease_renew_duration.clone(),
        );
        registry.register(
            "metrics_requests",
            "Requests for /metrics over HTTPS by answer (200, 401, 403, 503)",
            m.metrics_requests.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Record a reconcile's report for `policy`.
    pub fn record_report(&self, policy: &str, report: &Report, audit_seconds: f64) {
        self.audit_duration.observe(audit_seconds);
        self.score
            .get_or_create(&PolicyLabel {
                policy: policy.to_string(),
            })
            .set(i64::from(report.score));
        let mut counts: BTreeMap<FindingLabels, i64> = BTreeMap::new();
        for f in report.findings.iter().filter(|f| !f.suppressed) {
            *counts
                .entry(FindingLabels {
                    policy: policy.to_string(),
                    severity: f.severity.as_str().to_string(),
                    check: f.check.to_string(),
                })
                .or_default() += 1;
        }
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let previous = series.remove(policy).unwrap_or_default();
        for stale in previous.iter().filter(|l| !counts.contains_key(*l)) {
            self.findings.remove(stale);
        }
        for (labels, n) in &counts {
            self.findings.get_or_create(labels).set(*n);
        }
        series.insert(policy.to_string(), counts.into_keys().collect());
    }

    /// Forget a deleted policy's series.
    pub fn forget_policy(&self, policy: &str) {
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        for l in series.remove(policy).unwrap_or_default() {
            self.findings.remove(&l);
        }
        self.score.remove(&PolicyLabel {
            policy: policy.to_string(),
        });
    }

    pub fn reconciled(&self, policy: &str, writes: usize, events: usize) {
        self.reconciles
            .get_or_create(&PolicyLabel {
                policy: policy.to_string(),
            })
            .inc();
        self.writes.inc_by(writes as u64);
        self.events.inc_by(events as u64);
    }

    pub fn lease_renewed(&self, took: std::time::Duration) {
        self.lease_renew_duration.observe(took.as_secs_f64());
    }

    /// A request for the secured /metrics, answered with `code`.
    pub fn metrics_request(&self, code: u16) {
        self.metrics_requests
            .get_or_create(&CodeLabel { code })
            .inc();
    }

    pub fn reconcile_error(&self, reason: &str) {
        self.reconcile_errors
            .get_or_create(&ReasonLabel {
                reason: reason.to_string(),
            })
            .inc();
    }

    pub fn set_watch_restarts(&self, total: u64) {
        let now = self.watch_restarts.get();
        if total > now {
            self.watch_restarts.inc_by(total - now);
        }
    }

    pub fn set_cached(&self, kind: &str, n: usize) {
        self.cached_objects
            .get_or_create(&KindLabel {
                kind: kind.to_string(),
            })
            .set(n as i64);
    }

    pub fn set_step_downs(&self, total: u64) {
        let now = self.leader_step_downs.get();
        if total > now {
            self.leader_step_downs.inc_by(total - now);
        }
    }

    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testutil::audit;

    #[test]
    fn finding_series_follow_the_report() {
        let m = Metrics::new();
        let two = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: a}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: User, name: u1}, {kind: User, name: u2}]\n";
        m.record_report("p", &audit(two), 0.01);
        let text = m.encode();
        assert!(
            text.contains(
                "kube_posture_findings{policy=\"p\",severity=\"critical\",check=\"RBAC-001\"} 2"
            ),
            "{text}"
        );
        assert!(text.contains("kube_posture_score{policy=\"p\"}"));
        m.record_report("p", &audit("apiVersion: v1\nkind: Namespace\nmetadata: {name: x, labels: {pod-security.kubernetes.io/enforce: restricted}}\n"), 0.01);
        assert!(!m.encode().contains("RBAC-001"), "stale series removed");
        m.forget_policy("p");
        assert!(!m.encode().contains("policy=\"p\""));
    }
}
