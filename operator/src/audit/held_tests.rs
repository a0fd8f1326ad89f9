//! Tests of the "not assessed means held" rule (issue 12): findings of a check that cannot be
//! assessed are carried from the earlier audit, never reported as fixed.

use super::testutil::{now, snapshot};
use super::{AuditInput, Report, run, run_with_previous};
use crate::catalog::CheckId;
use crate::policy::EffectivePolicy;
use crate::snapshot::{ObjectKind, Snapshot, Unavailable};

const RBAC: &str = "\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ci-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: deployer, namespace: ci}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: ci}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: secret-reader}
subjects: [{kind: User, name: bob}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: secret-reader}
rules: [{apiGroups: [''], resources: [secrets], verbs: [get, list]}]
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: ci}
spec: {containers: [{name: c, image: x, securityContext: {privileged: true}}]}
";

fn audit(
    snap: &Snapshot,
    policy: &EffectivePolicy,
    previous: &[std::sync::Arc<super::Finding>],
) -> Report {
    run_with_previous(
        &AuditInput {
            snapshot: snap,
            policy,
            now: now(),
            release_data: super::nodes::ReleaseData::builtin(),
            probe: None,
            images: None,
            kubelet: None,
        },
        previous,
    )
}

fn forbid(snap: &mut Snapshot, kind: ObjectKind) {
    snap.clear(kind);
    snap.unavailable.push(Unavailable {
        kind,
        reason: format!(
            "forbidden: RBAC does not allow list and watch on {}",
            kind.plural()
        ),
    });
}

fn keys(r: &Report) -> Vec<String> {
    r.findings.iter().map(|f| f.identity()).collect()
}

#[test]
fn findings_of_checks_not_assessed_are_held() {
    let policy = EffectivePolicy::default_policy();
    let full = snapshot(RBAC);
    let first = audit(&full, &policy, &[]);
    assert!(first.findings.iter().any(|f| f.check == CheckId::Rbac005));
    assert!(first.findings.iter().any(|f| f.check == CheckId::Wl001));

    let mut partial = snapshot(RBAC);
    forbid(&mut partial, ObjectKind::RoleBinding);
    // Without the earlier findings, the RoleBinding's finding is gone (and said not assessed).
    let blind = run(&AuditInput {
        snapshot: &partial,
        policy: &policy,
        now: now(),
        release_data: super::nodes::ReleaseData::builtin(),
        probe: None,
        images: None,
        kubelet: None,
    });
    assert!(!blind.findings.iter().any(|f| f.check == CheckId::Rbac005));
    let rbac = blind
        .not_assessed
        .iter()
        .find(|n| n.category == "rbac")
        .expect("rbac not assessed");
    assert!(rbac.reason.contains("rolebindings"), "{rbac:?}");
    assert!(rbac.checks.iter().any(|c| c == "RBAC-005"), "{rbac:?}");
    assert!(
        blind
            .not_assessed
            .iter()
            .any(|n| n.category == "workload" && n.checks == ["WL-010"]),
        "WL-010 reads RBAC: {:?}",
        blind.not_assessed
    );

    // With them, every earlier finding is there, the same.
    let held = audit(&partial, &policy, &first.findings);
    assert_eq!(keys(&held), keys(&first));
    assert_eq!(held.summary, first.summary, "counts do not drop");
    // Passing checks not assessed leave the score; failing ones stay: it cannot rise.
    assert!(
        held.score <= first.score,
        "{} > {}",
        held.score,
        first.score
    );
}

#[test]
fn assessed_checks_are_not_held() {
    let policy = EffectivePolicy::default_policy();
    let first = audit(&snapshot(RBAC), &policy, &[]);
    // The privileged Pod is fixed while RoleBindings are forbidden: WL-001 is assessed, so its
    // finding goes; RBAC-005 is held.
    let fixed = RBAC.replace("privileged: true", "privileged: false");
    let mut partial = snapshot(&fixed);
    forbid(&mut partial, ObjectKind::RoleBinding);
    let r = audit(&partial, &policy, &first.findings);
    assert!(!r.findings.iter().any(|f| f.check == CheckId::Wl001));
    assert!(r.findings.iter().any(|f| f.check == CheckId::Rbac005));
    // Once RoleBindings are readable again, a fixed RBAC finding goes.
    let no_reader = snapshot(&RBAC.replace("verbs: [get, list]", "verbs: [create]"));
    let r = audit(&no_reader, &policy, &first.findings);
    assert!(!r.findings.iter().any(|f| f.check == CheckId::Rbac005));
}

/// An audit under the policy of `spec` once RoleBindings cannot be read, after a full audit
/// of the same objects under the default policy.
fn audited_with_bindings_forbidden(spec: serde_json::Value) -> Report {
    let policy = EffectivePolicy::compile("p", &serde_json::from_value(spec).unwrap())
        .expect("valid policy");
    let first = audit(&snapshot(RBAC), &EffectivePolicy::default_policy(), &[]);
    let mut partial = snapshot(RBAC);
    forbid(&mut partial, ObjectKind::RoleBinding);
    audit(&partial, &policy, &first.findings)
}

#[test]
fn exceptions_are_applied_to_held_findings_and_not_called_unused() {
    let spec = serde_json::json!({"exceptions": [
        {"check": CheckId::Rbac005, "resource": {"kind": "RoleBinding", "name": "reader"}, "reason": "ok"},
        {"check": CheckId::Rbac006, "resource": {"kind": "RoleBinding", "name": "gone"}, "reason": "old"},
        {"check": CheckId::Wl001, "resource": {"kind": "Pod", "name": "other"}, "reason": "unused"},
    ]});
    let r = audited_with_bindings_forbidden(spec);
    let rbac005 = r
        .findings
        .iter()
        .find(|f| f.check == CheckId::Rbac005)
        .unwrap();
    assert!(
        rbac005.suppressed,
        "the held finding is waived by the policy of now"
    );
    let unused: Vec<&str> = r
        .findings
        .iter()
        .filter(|f| f.check == CheckId::Pol002)
        .flat_map(|f| f.evidence.iter().map(String::as_str))
        .collect();
    assert_eq!(
        unused.len(),
        1,
        "only the WL-001 waiver is unused: {unused:?}"
    );
    assert!(unused[0].contains("WL-001"), "{unused:?}");
}

#[test]
fn a_star_exception_is_not_unused_while_anything_is_not_assessed() {
    // XL-001/002 (not implemented yet, so never assessed) may point at Deployments: off here,
    // or no `*` waiver on a Deployment could ever be judged unused.
    let spec = serde_json::json!({"exceptions": [
        {"check": "*", "resource": {"kind": "Deployment", "name": "nothing-here"}, "reason": "x"},
    ], "checks": {"exclude": [CheckId::Xl001, CheckId::Xl002, CheckId::Xl003]}});
    let policy = EffectivePolicy::compile("p", &serde_json::from_value(spec).unwrap())
        .expect("valid policy");
    let mut partial = snapshot(RBAC);
    let r = audit(&partial, &policy, &[]);
    assert!(r.findings.iter().any(|f| f.check == CheckId::Pol002));
    forbid(&mut partial, ObjectKind::Node);
    let r = audit(&partial, &policy, &[]);
    assert!(
        r.findings.iter().any(|f| f.check == CheckId::Pol002),
        "node findings are never about Deployments"
    );
    // With XL-001 on, unreadable Nodes leave a path about a Deployment unjudged.
    let spec = serde_json::json!({"exceptions": [
        {"check": "*", "resource": {"kind": "Deployment", "name": "nothing-here"}, "reason": "x"},
    ]});
    let with_paths = EffectivePolicy::compile("p", &serde_json::from_value(spec).unwrap())
        .expect("valid policy");
    let r = audit(&partial, &with_paths, &[]);
    assert!(!r.findings.iter().any(|f| f.check == CheckId::Pol002));
    // WL-010 reads RBAC, and its findings may be about a Deployment.
    let mut rbac_blind = snapshot(RBAC);
    forbid(&mut rbac_blind, ObjectKind::ClusterRole);
    let r = audit(&rbac_blind, &policy, &[]);
    assert!(!r.findings.iter().any(|f| f.check == CheckId::Pol002));
    forbid(&mut partial, ObjectKind::Deployment);
    let r = audit(&partial, &policy, &[]);
    assert!(
        !r.findings.iter().any(|f| f.check == CheckId::Pol002),
        "workload checks not assessed"
    );
}

#[test]
fn disabled_checks_are_neither_listed_nor_held() {
    let spec = serde_json::json!({"checks": {"include": ["workload"]}});
    let r = audited_with_bindings_forbidden(spec);
    assert!(
        !r.findings
            .iter()
            .any(|f| f.check.as_str().starts_with("RBAC-"))
    );
    assert!(
        !r.not_assessed.iter().any(|n| n.category == "rbac"),
        "no RBAC check is enabled: {:?}",
        r.not_assessed
    );
}
