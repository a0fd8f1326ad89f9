//! Helpers for audit unit tests: snapshots from inline YAML.

use crate::audit::{AuditInput, Report, run};
use crate::policy::EffectivePolicy;
use crate::snapshot::{LoadStats, Snapshot};
use std::path::Path;

pub fn snapshot(yaml: &str) -> Snapshot {
    let mut s = Snapshot::default();
    let mut st = LoadStats::default();
    crate::snapshot::load_str(Path::new("test.yaml"), yaml, &mut s, &mut st)
        .expect("test YAML loads");
    s
}

pub fn now() -> jiff::Timestamp {
    "2026-11-28T12:00:00Z".parse().expect("timestamp")
}

pub fn audit_with(yaml: &str, policy: &EffectivePolicy) -> Report {
    let snap = snapshot(yaml);
    run(&AuditInput::offline(&snap, policy, now()))
}

/// An audit of `yaml` whose Nodes could not be read (forbidden), as a live audit sees it
/// when the operator lost `list nodes`.
pub fn audit_without_nodes(yaml: &str) -> Report {
    let mut snap = snapshot(yaml);
    snap.unavailable.push(crate::snapshot::Unavailable {
        kind: crate::snapshot::ObjectKind::Node,
        reason: "forbidden: RBAC does not allow list and watch on nodes".into(),
    });
    run(&AuditInput::offline(
        &snap,
        &EffectivePolicy::default_policy(),
        now(),
    ))
}

pub fn audit(yaml: &str) -> Report {
    audit_with(yaml, &EffectivePolicy::default_policy())
}

/// `(check, kind, namespace/name)` of every unsuppressed finding, for compact assertions.
pub fn ids(r: &Report) -> Vec<String> {
    r.findings
        .iter()
        .filter(|f| !f.suppressed)
        .map(|f| {
            format!(
                "{} {} {}{}",
                f.check,
                f.resource.kind,
                f.resource
                    .namespace
                    .as_deref()
                    .map(|n| format!("{n}/"))
                    .unwrap_or_default(),
                f.resource.name
            )
        })
        .collect()
}

/// The checks that fired, deduplicated, sorted.
pub fn checks(r: &Report) -> Vec<&'static str> {
    let mut v: Vec<_> = r
        .findings
        .iter()
        .filter(|f| !f.suppressed)
        .map(|f| f.check.as_str())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Every `notAssessed` entry, as a list of references for compact assertions.
pub fn not_assessed_by_families(r: &Report) -> Vec<&crate::outcome::NotAssessed> {
    r.not_assessed.iter().collect()
}

/// A ServiceAccount `shop/deployer` bound to cluster-admin (RBAC-001): a powerful token.
pub const POWERFUL_SA: &str = r#"
apiVersion: v1
kind: ServiceAccount
metadata: {namespace: shop, name: deployer}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: deployer-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, namespace: shop, name: deployer}]
"#;

/// A Deployment in namespace `shop` with the given pod spec fields (YAML flow mappings).
pub fn deploy(pod_spec_extra: &str, container_extra: &str) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{namespace: shop, name: web}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      {pod_spec_extra}
      containers:
      - name: app
        image: nginx:1.27
        {container_extra}
"#
    )
}
