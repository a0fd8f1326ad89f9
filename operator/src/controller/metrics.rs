//! Prometheus metrics (text format at /metrics): findings by policy, severity and check;
//! score by policy; audit durations; reconciles and their errors by reason; API writes and
//! Events; watch restarts; cached objects by kind; leadership; per policy, when it was last
//! audited, its interval and its conditions (for the alerts in config/monitoring/).

use crate::audit::Report;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::{Metric, Registry};
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
pub struct ConditionLabels {
    pub policy: String,
    pub condition: String,
}

/// The condition types a SecurityPolicy's status carries, one series each per policy.
pub const CONDITION_TYPES: [&str; 5] = ["Ready", "Compliant", "Degraded", "Reconciling", "Stalled"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct FrameworkLabels {
    pub policy: String,
    pub framework: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControlLabels {
    pub policy: String,
    pub framework: String,
    /// `pass`, `fail`, `manual` or `not-assessed`, as `report --framework` names them.
    pub status: String,
}

/// The control statuses of a framework, one `framework_controls` series each.
pub const CONTROL_STATUSES: [&str; 4] = ["pass", "fail", "manual", "not-assessed"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LayerLabels {
    pub policy: String,
    pub layer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutputLabel {
    pub output: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OpLabel {
    pub op: String,
}

/// Where policy reports go (`--reports`): the API written to, or why none.
pub const REPORT_OUTPUTS: [&str; 4] = ["openreports", "wgpolicy", "disabled", "not_served"];

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
    last_audit: Family<PolicyLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    audit_interval: Family<PolicyLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    conditions: Family<ConditionLabels, Gauge>,
    report_output: Family<OutputLabel, Gauge>,
    report_writes: Family<OpLabel, Counter>,
    report_results_omitted: Gauge,
    framework_score: Family<FrameworkLabels, Gauge>,
    framework_controls: Family<ControlLabels, Gauge>,
    layer_score: Family<LayerLabels, Gauge>,
    /// Every metric registered, by the name a scrape shows (counters with `_total`), with
    /// its type: what alert and dashboard expressions may name (tested in monitoring_tests).
    #[cfg_attr(not(test), allow(dead_code))]
    names: BTreeMap<String, &'static str>,
    /// The finding series each policy has, so stale ones are removed.
    series: Mutex<BTreeMap<String, BTreeSet<FindingLabels>>>,
    /// The frameworks each policy has series for, likewise.
    frameworks: Mutex<BTreeMap<String, Vec<String>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix(PREFIX);
        let mut names = BTreeMap::new();
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
            last_audit: Family::default(),
            audit_interval: Family::default(),
            conditions: Family::default(),
            report_output: Family::default(),
            report_writes: Family::default(),
            report_results_omitted: Gauge::default(),
            framework_score: Family::default(),
            framework_controls: Family::default(),
            layer_score: Family::default(),
            series: Mutex::new(BTreeMap::new()),
            frameworks: Mutex::new(BTreeMap::new()),
            registry: Registry::default(),
            names: BTreeMap::new(),
        };
        register(
            &mut registry,
            &mut names,
            "findings",
            "Unsuppressed findings by policy, severity and check",
            m.findings.clone(),
        );
        register(
            &mut registry,
            &mut names,
            "score",
            "Posture score (0-100) by policy",
            m.score.clone(),
        );
        register(
            &mut registry,
            &mut names,
            "audit_duration_seconds",
            "Duration of one audit",
            m.audit_duration.clone(),
        );
        register(
            &mut registry,
            &mut names,
            "reconciles",
            "Reconciles by policy",
            m.reconciles.clone(),
        );
        register(
            &mut registry,
            &mut names,
            "reconcile_errors",
            "Failed reconciles by reason",
            m.reconcile_errors.clone(),
        );
        register(
            &mut registry,
            &mut names,
            "api_writes",
            "Writes to the API server (Findings, status)",
            m.writes.clone(),
        );
        register(
            &mut registry,
            &mut names,
            "events",
            "Events published",
            m.events.clone(),
        );
        register(
            &mut registry,
            &mut names,
            "watch_restarts",
            "Watch errors after which a watch restarted",
            m.watch_restarts.clone(),
        );
        register(
            &mut registry,
            &mut names,
            "cached_objects",
            "Objects held in the watch caches by kind",
            m.cached_objects.clone(),
        );
        register(
            &mut registry,
            &mut names,
            "leader",
            "1 when this replica holds the leader Lease",
            m.leader.clone(),
        );
        register(
            &mut registry,
            &mut names,
            "leader_step_downs",
            "Times this replica stopped leading because no Lease renewal succeeded within the renew deadline",
            m.leader_step_downs.clone(),
        );
        register(
            &mut registry,
            &mut names,
            "lease_renew_duration_seconds",
            "Duration of each successful Lease acquisition or renewal (get and update)",
            m.lease_renew_duration.clone(),
        );
        register(
            &mut registry,
            &mut names,
            "metrics_requests",
            "Requests for /metrics over HTTPS by answer (200, 401, 403, 503)",
            m.metrics_requests.clone(),
        );
        register(
            &mut registry,
            &mut names,
            "last_audit_timestamp_seconds",
            "When the last audit of a policy completed (Unix seconds): alert when it falls behind the policy's interval",
            m.last_audit.clone(),
        );
        register(
            &mut registry,
            &mut names,
            "audit_interval_seconds",
            "A valid policy's spec.interval in seconds (no series while the spec is invalid)",
            m.audit_interval.clone(),
        );
        register(
            &mut registry,
            &mut names,
            "policy_condition",
            "1 when a policy's condition (Ready, Compliant, Degraded, Reconciling, Stalled) is True, else 0",
            m.conditions.clone(),
        );
        register(
            &mut registry,
            &mut names,
            "report_output",
            "1 for where policy reports go: openreports, wgpolicy, or none because disabled or not_served (their API is not installed)",
            m.report_output.clone(),
        );
        register(
            &mut registry,
            &mut names,
            "framework_score",
            "Compliance score (0-100) by policy and framework: the share of evaluated controls that pass (no series while none could be evaluated)",
            m.framework_score.clone(),
        );
        register(
            &mut registry,
            &mut names,
            "report_writes",
            "Policy report writes by op: apply, delete, and unchanged (skipped: same content hash)",
            m.report_writes.clone(),
        );
        register(
            &mut registry,
            &mut names,
            "framework_controls",
            "Controls of a framework by policy and status (pass, fail, manual, not-assessed)",
            m.framework_controls.clone(),
        );
        register(
            &mut registry,
            &mut names,
            "report_results_omitted",
            "Results left out of policy reports by their budget (500 results, 800 KiB) in the last write pass",
            m.report_results_omitted.clone(),
        );
        register(
            &mut registry,
            &mut names,
            "layer_score",
            "Posture score (0-100) by policy and layer (no series for a layer none of whose checks could be assessed)",
            m.layer_score.clone(),
        );
        Metrics {
            registry,
            names,
            ..m
        }
    }

    /// A policy's audit completed at `at` (Unix seconds).
    pub fn audited(&self, policy: &str, at: f64) {
        self.last_audit.get_or_create(&policy_label(policy)).set(at);
    }

    /// A policy's interval; `None` while its spec is invalid (it is not audited on a schedule
    /// then, and the Stalled alert speaks for it rather than the staleness one).
    pub fn set_interval(&self, policy: &str, interval: Option<std::time::Duration>) {
        match interval {
            Some(i) => {
                self.audit_interval
                    .get_or_create(&policy_label(policy))
                    .set(i.as_secs_f64());
            }
            None => {
                self.audit_interval.remove(&policy_label(policy));
            }
        }
    }

    /// The policy's conditions as its status shows them: one series per known type, 1 for
    /// True, 0 for anything else (a type the status lacks is 0).
    pub fn set_conditions<'a>(
        &self,
        policy: &str,
        conditions: impl IntoIterator<Item = (&'a str, bool)>,
    ) {
        let set: BTreeMap<&str, bool> = conditions.into_iter().collect();
        for type_ in CONDITION_TYPES {
            self.conditions
                .get_or_create(&ConditionLabels {
                    policy: policy.to_string(),
                    condition: type_.to_string(),
                })
                .set(i64::from(set.get(type_).copied().unwrap_or(false)));
        }
    }

    /// A policy's compliance per framework, from its `status.frameworks`: a score series
    /// while some control could be evaluated, and one control-count series per status.
    pub fn set_frameworks(&self, policy: &str, frameworks: &[crate::api::FrameworkStatus]) {
        self.forget_frameworks(policy);
        for f in frameworks {
            let labels = FrameworkLabels {
                policy: policy.to_string(),
                framework: f.id.clone(),
            };
            if let Some(score) = f.score {
                self.framework_score
                    .get_or_create(&labels)
                    .set(i64::from(score));
            }
            for (status, n) in
                CONTROL_STATUSES
                    .into_iter()
                    .zip([f.passed, f.failed, f.manual, f.not_assessed])
            {
                self.framework_controls
                    .get_or_create(&ControlLabels {
                        policy: policy.to_string(),
                        framework: f.id.clone(),
                        status: status.to_string(),
                    })
                    .set(i64::from(n));
            }
        }
        let mut known = self.frameworks.lock().unwrap_or_else(|e| e.into_inner());
        known.insert(
            policy.to_string(),
            frameworks.iter().map(|f| f.id.clone()).collect(),
        );
    }

    /// A policy's score per layer, from its `status.layers`: no series for a layer without a
    /// score (nothing in it could be assessed), so a dashboard never shows it as 100.
    pub fn set_layers(&self, policy: &str, layers: &[crate::api::LayerStatus]) {
        for layer in crate::catalog::Layer::ALL {
            let labels = LayerLabels {
                policy: policy.to_string(),
                layer: layer.as_str().to_string(),
            };
            match layers
                .iter()
                .find(|l| l.layer == layer)
                .and_then(|l| l.score)
            {
                Some(score) => {
                    self.layer_score
                        .get_or_create(&labels)
                        .set(i64::from(score));
                }
                None => {
                    self.layer_score.remove(&labels);
                }
            }
        }
    }

    fn forget_frameworks(&self, policy: &str) {
        let mut known = self.frameworks.lock().unwrap_or_else(|e| e.into_inner());
        for id in known.remove(policy).unwrap_or_default() {
            self.framework_score.remove(&FrameworkLabels {
                policy: policy.to_string(),
                framework: id.clone(),
            });
            for status in CONTROL_STATUSES {
                self.framework_controls.remove(&ControlLabels {
                    policy: policy.to_string(),
                    framework: id.clone(),
                    status: status.to_string(),
                });
            }
        }
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
        self.score.remove(&policy_label(policy));
        self.last_audit.remove(&policy_label(policy));
        self.audit_interval.remove(&policy_label(policy));
        for type_ in CONDITION_TYPES {
            self.conditions.remove(&ConditionLabels {
                policy: policy.to_string(),
                condition: type_.to_string(),
            });
        }
        self.forget_frameworks(policy);
        self.set_layers(policy, &[]);
    }

    /// Forget every policy's series: a replica that stopped leading no longer audits, and
    /// its frozen values would otherwise sit beside the new leader's (double findings,
    /// conditions that no longer hold).
    pub fn forget_policies(&self) {
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        series.clear();
        self.findings.clear();
        self.score.clear();
        self.last_audit.clear();
        self.audit_interval.clear();
        self.conditions.clear();
        self.framework_score.clear();
        self.framework_controls.clear();
        self.layer_score.clear();
        self.frameworks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The names of the metrics this exports, as a scrape shows them (counters with their
    /// `_total`), with their type, whether or not they have a sample yet.
    #[cfg(test)]
    pub fn exported_names(&self) -> &BTreeMap<String, &'static str> {
        &self.names
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

    /// Where policy reports go now (one of [`REPORT_OUTPUTS`]).
    pub fn set_report_output(&self, output: &str) {
        for o in REPORT_OUTPUTS {
            self.report_output
                .get_or_create(&OutputLabel {
                    output: o.to_string(),
                })
                .set(i64::from(o == output));
        }
    }

    /// One pass of policy report writes.
    pub fn report_pass(&self, applied: usize, deleted: usize, unchanged: usize, omitted: usize) {
        for (op, n) in [
            ("apply", applied),
            ("delete", deleted),
            ("unchanged", unchanged),
        ] {
            self.report_writes
                .get_or_create(&OpLabel { op: op.to_string() })
                .inc_by(n as u64);
        }
        self.report_results_omitted.set(omitted as i64);
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

const PREFIX: &str = "kube_posture";

/// Register `metric` and note the name it is scraped under.
fn register<M: Metric + TypedMetric>(
    registry: &mut Registry,
    names: &mut BTreeMap<String, &'static str>,
    name: &str,
    help: &str,
    metric: M,
) {
    let kind = match M::TYPE {
        MetricType::Counter => "counter",
        MetricType::Gauge => "gauge",
        MetricType::Histogram => "histogram",
        _ => "unknown",
    };
    let scraped = match M::TYPE {
        MetricType::Counter => format!("{PREFIX}_{name}_total"),
        _ => format!("{PREFIX}_{name}"),
    };
    names.insert(scraped, kind);
    registry.register(name, help, metric);
}

fn policy_label(policy: &str) -> PolicyLabel {
    PolicyLabel {
        policy: policy.to_string(),
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

    #[test]
    fn policy_state_series_follow_the_policy() {
        let m = Metrics::new();
        m.audited("p", 1_764_000_000.5);
        m.set_interval("p", Some(std::time::Duration::from_secs(600)));
        m.set_conditions("p", [("Ready", true), ("Degraded", false)]);
        let text = m.encode();
        for line in [
            "kube_posture_last_audit_timestamp_seconds{policy=\"p\"} 1764000000.5",
            "kube_posture_audit_interval_seconds{policy=\"p\"} 600.0",
            "kube_posture_policy_condition{policy=\"p\",condition=\"Ready\"} 1",
            "kube_posture_policy_condition{policy=\"p\",condition=\"Degraded\"} 0",
            "kube_posture_policy_condition{policy=\"p\",condition=\"Stalled\"} 0",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        m.set_interval("p", None);
        assert!(!m.encode().contains("kube_posture_audit_interval_seconds{"));
        m.set_conditions("q", [("Stalled", true)]);
        m.forget_policy("p");
        let text = m.encode();
        assert!(!text.contains("policy=\"p\""), "{text}");
        assert!(text.contains("policy=\"q\",condition=\"Stalled\"} 1"));
        m.forget_policies();
        assert!(!m.encode().contains("policy=\""));
    }

    #[test]
    fn framework_and_layer_series_follow_the_status() {
        use crate::api::{FrameworkStatus, LayerStatus};
        use crate::catalog::Layer;
        let m = Metrics::new();
        let cis = FrameworkStatus {
            id: "cis-1.12".into(),
            score: Some(75),
            passed: 3,
            failed: 1,
            manual: 20,
            not_assessed: 5,
        };
        let pss = FrameworkStatus {
            id: "pss-baseline".into(),
            score: None,
            not_assessed: 12,
            ..Default::default()
        };
        let layer = |layer, score| LayerStatus {
            layer,
            score,
            critical: 0,
            high: 0,
            medium: 0,
            low: 0,
            info: 0,
            suppressed: 0,
            checks: 1,
            assessed: u32::from(score.is_some()),
            not_assessed: u32::from(score.is_none()),
        };
        m.set_frameworks("p", &[cis.clone(), pss]);
        m.set_layers(
            "p",
            &[layer(Layer::Identity, Some(40)), layer(Layer::Host, None)],
        );
        let text = m.encode();
        for line in [
            "kube_posture_framework_score{policy=\"p\",framework=\"cis-1.12\"} 75",
            "kube_posture_framework_controls{policy=\"p\",framework=\"cis-1.12\",status=\"pass\"} 3",
            "kube_posture_framework_controls{policy=\"p\",framework=\"cis-1.12\",status=\"fail\"} 1",
            "kube_posture_framework_controls{policy=\"p\",framework=\"cis-1.12\",status=\"manual\"} 20",
            "kube_posture_framework_controls{policy=\"p\",framework=\"cis-1.12\",status=\"not-assessed\"} 5",
            "kube_posture_framework_controls{policy=\"p\",framework=\"pss-baseline\",status=\"not-assessed\"} 12",
            "kube_posture_layer_score{policy=\"p\",layer=\"identity\"} 40",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        // Nothing evaluated: no score series, never a 0 or a 100.
        assert!(!text.contains("framework=\"pss-baseline\"} "), "{text}");
        assert!(!text.contains("layer=\"host\""), "{text}");
        // A framework gone from the status loses its series.
        m.set_frameworks("p", &[cis]);
        assert!(!m.encode().contains("pss-baseline"));
        m.forget_policy("p");
        let text = m.encode();
        assert!(!text.contains("policy=\"p\""), "{text}");
    }

    #[test]
    fn exported_names_come_from_the_registry() {
        let m = Metrics::new();
        let names = m.exported_names();
        assert_eq!(
            names.get("kube_posture_reconcile_errors_total").copied(),
            Some("counter")
        );
        assert_eq!(
            names.get("kube_posture_audit_duration_seconds").copied(),
            Some("histogram")
        );
        assert!(names.contains_key("kube_posture_last_audit_timestamp_seconds"));
        assert!(!names.contains_key("kube_posture_reconcile_errors"));
    }
}
