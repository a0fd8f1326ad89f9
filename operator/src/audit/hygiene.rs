//! Exceptions applied to findings, and the policy-hygiene checks about the exceptions
//! themselves (POL-001 expired, POL-002 unused).

use super::{ExceptionRef, Finding, ObjectRef};
use crate::catalog::CheckId;
use crate::policy::EffectivePolicy;
use jiff::Timestamp;

/// Mark `f` suppressed if an unexpired exception waives it (the first matching exception,
/// in spec order, wins), and note in `used` that the exception matched a finding.
pub fn waive(
    policy: &EffectivePolicy,
    now: Timestamp,
    f: &mut std::sync::Arc<Finding>,
    used: &mut [bool],
) {
    if policy.exceptions.is_empty() {
        return;
    }
    let hit = policy.waiver(
        now,
        f.check,
        &f.resource.kind,
        f.resource.namespace.as_deref(),
        &f.resource.name,
    );
    if let Some(i) = hit {
        used[i] = true;
        // A copy: the finding may be shared with an incremental engine.
        let f = std::sync::Arc::make_mut(f);
        f.suppressed = true;
        f.suppressed_by = Some(policy.exceptions[i].reason.clone());
        super::bounds::bound(f);
    }
}

/// POL-001 for expired exceptions, POL-002 for unused ones.
///
/// An exception that may match a check not assessed in this audit (`unassessed`) cannot be
/// judged unused: the findings it waives could not be looked for. Its POL-002 is then held as
/// it was: kept if an earlier audit (`previous`) had it, not raised otherwise. Returns the
/// findings and the indexes of the exceptions not judged.
pub fn audit(
    policy: &EffectivePolicy,
    now: Timestamp,
    used: &[bool],
    unassessed: &foldhash::HashSet<&str>,
    previous: &[std::sync::Arc<Finding>],
) -> (Vec<Finding>, Vec<usize>) {
    let mut not_judged = Vec::new();
    let target = ObjectRef::other(
        crate::api::API_VERSION,
        "SecurityPolicy",
        None,
        &policy.name,
    );
    let mut out = Vec::new();
    let refs = exception_refs(policy);
    for ((e, &used), eref) in policy.exceptions.iter().zip(used).zip(refs) {
        let what = describe(e);
        if e.is_expired(now) {
            if policy.is_enabled(CheckId::Pol001) {
                let expires = e.expires.map(|t| t.to_string()).unwrap_or_default();
                out.push(
                    Finding::new(
                        CheckId::Pol001,
                        target.clone(),
                        format!(
                            "exception {} ({what}) expired at {expires}: it suppresses nothing",
                            e.index
                        ),
                    )
                    .fill(&[("reason", &e.reason), ("index", &e.index.to_string())])
                    .evidence([format!("spec.exceptions[{}].expires: {expires}", e.index)])
                    .exception(eref),
                );
            }
        } else if !used && policy.is_enabled(CheckId::Pol002) {
            let unused = Finding::new(
                CheckId::Pol002,
                target.clone(),
                format!(
                    "exception {} ({what}) matched no finding in this audit",
                    e.index
                ),
            )
            .fill(&[("index", &e.index.to_string())])
            .evidence([format!("spec.exceptions[{}]: {what}", e.index)])
            .exception(eref);
            if !waives_unassessed(e, unassessed) {
                out.push(unused);
            } else {
                not_judged.push(e.index);
                if previous.iter().any(|p| p.same_identity(&unused)) {
                    out.push(unused);
                }
            }
        }
    }
    (out, not_judged)
}

fn waives_unassessed(
    e: &crate::policy::CompiledException,
    unassessed: &foldhash::HashSet<&str>,
) -> bool {
    match e.check {
        Some(id) => unassessed.contains(id.as_str()),
        // `*` waives every check: it may have matched a finding of any check not assessed whose
        // findings can be about objects of the exception's kind.
        None => unassessed.iter().any(|id| {
            crate::catalog::lookup(id)
                .is_some_and(|c| e.kind.as_deref().is_none_or(|k| may_target(c, k)))
        }),
    }
}

/// Whether findings of `check` can be about an object of `kind` (checks.md, "Where a finding
/// points").
fn may_target(check: &crate::catalog::CheckMeta, kind: &str) -> bool {
    use crate::catalog::Category::*;
    match check.category {
        Etcd if check.id == CheckId::Etcd008 => kind == "Service",
        Etcd if check.id == CheckId::Etcd009 => is_workload_kind(kind),
        Rbac => matches!(
            kind,
            "RoleBinding" | "ClusterRoleBinding" | "ServiceAccount" | "User" | "Group"
        ),
        Apiserver | Controlplane => kind == "Pod",
        Etcd => kind == "Pod",
        Workload => is_workload_kind(kind) || kind == "Namespace",
        Daemonset => matches!(kind, "DaemonSet" | "Node"),
        Node => kind == "Node",
        // configz, probes and k3s arguments point at the Node; the kubeadm baseline at its
        // ConfigMap (host.md).
        Kubelet => matches!(kind, "Node" | "ConfigMap"),
        Image => kind == "Dockerfile" || is_workload_kind(kind),
        // Paths start at a workload (XL-001/002) or a subject (XL-003), whose finding points
        // at the binding that grants it.
        Layers => {
            is_workload_kind(kind)
                || matches!(
                    kind,
                    "Namespace"
                        | "ServiceAccount"
                        | "User"
                        | "Group"
                        | "RoleBinding"
                        | "ClusterRoleBinding"
                )
        }
        Policy => kind == "SecurityPolicy",
    }
}

fn is_workload_kind(kind: &str) -> bool {
    matches!(
        kind,
        "Pod"
            | "Deployment"
            | "StatefulSet"
            | "DaemonSet"
            | "ReplicaSet"
            | "ReplicationController"
            | "Job"
            | "CronJob"
    )
}

/// Each exception's [`ExceptionRef`]: its scope as written, and its rank among the
/// exceptions with that same scope.
fn exception_refs(policy: &EffectivePolicy) -> Vec<ExceptionRef> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    policy
        .exceptions
        .iter()
        .map(|e| {
            let r = &e.source.resource;
            // JSON keeps an absent field (any) apart from an empty one (cluster-scoped).
            let scope =
                serde_json::json!([e.source.check, r.kind, r.namespace, r.name]).to_string();
            let rank = seen.entry(scope.clone()).or_insert(0);
            let key = format!("{scope}#{rank}");
            *rank += 1;
            ExceptionRef {
                index: e.index,
                key,
            }
        })
        .collect()
}

fn describe(e: &crate::policy::CompiledException) -> String {
    let r = &e.source.resource;
    format!(
        "check {}, kind {}, namespace {}, name {}",
        e.source.check,
        r.kind.as_deref().unwrap_or("*"),
        r.namespace
            .as_deref()
            .map(|n| if n.is_empty() { "\"\"" } else { n })
            .unwrap_or("*"),
        r.name.as_deref().unwrap_or("*"),
    )
}
