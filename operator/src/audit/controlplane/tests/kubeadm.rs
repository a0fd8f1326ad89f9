//! No noise: a control plane exactly as `kubeadm init` (v1.30) leaves it gets the findings
//! kubeadm's defaults deserve, and nothing else.

use super::*;
use crate::audit::testutil::ids;

fn kubeadm_report() -> Report {
    let dir = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/kubeadm-1.30"
    ));
    let (snap, _) = crate::snapshot::load_paths(&[dir]).expect("fixture loads");
    assert_eq!(snap.pods.len(), 4);
    crate::audit::run(&crate::audit::AuditInput {
        snapshot: &snap,
        policy: &crate::policy::EffectivePolicy::default_policy(),
        now: crate::audit::testutil::now(),
        release_data: crate::audit::nodes::ReleaseData::builtin(),
        probe: None,
        images: None,
        kubelet: None,
    })
}

#[test]
fn kubeadm_1_30_defaults_get_exactly_the_findings_they_deserve() {
    let r = kubeadm_report();
    let mut found = ids(&r);
    found.sort();
    assert_eq!(
        found,
        [
            // kubeadm leaves --anonymous-auth at its default, true.
            "API-001 Pod kube-system/kube-apiserver-cp1",
            // --enable-admission-plugins=NodeRestriction only.
            "API-003 Pod kube-system/kube-apiserver-cp1",
            // No --kubelet-certificate-authority (kubelets serve self-signed certificates).
            "API-005 Pod kube-system/kube-apiserver-cp1",
            "API-009 Pod kube-system/kube-apiserver-cp1",
            "API-011 Pod kube-system/kube-apiserver-cp1",
            // --profiling left at its default, true.
            "API-015 Pod kube-system/kube-apiserver-cp1",
            // No audit logging (and so no API-017…019).
            "API-016 Pod kube-system/kube-apiserver-cp1",
            // No --encryption-provider-config.
            "API-027 Pod kube-system/kube-apiserver-cp1",
            // --service-account-extend-token-expiration left at its default, true.
            "API-030 Pod kube-system/kube-apiserver-cp1",
            // No --terminated-pod-gc-threshold; --profiling default true.
            "CM-001 Pod kube-system/kube-controller-manager-cp1",
            "CM-002 Pod kube-system/kube-controller-manager-cp1",
            // The kubelet baseline kubeadm gives nodes: no serving certificate pair and no
            // serverTLSBootstrap (self-signed), no pod PID limit, no seccomp default, kernel
            // tunables unprotected. Its `streamingConnectionIdleTimeout: 0s` is the
            // kubelet's 4h default, not a finding.
            "KUBELET-007 ConfigMap kube-system/kubelet-config",
            "KUBELET-011 ConfigMap kube-system/kubelet-config",
            "KUBELET-012 ConfigMap kube-system/kubelet-config",
            "KUBELET-013 ConfigMap kube-system/kubelet-config",
            "SCH-001 Pod kube-system/kube-scheduler-cp1",
        ]
    );
    // Everything could be assessed but the paths across layers: the input has no Node.
    assert!(
        r.not_assessed
            .iter()
            .all(|n| n.category == "layers" && n.reason.contains("no Node in the input")),
        "{:?}",
        r.not_assessed
    );
}

#[test]
fn kubeadm_findings_carry_the_flag_seen_and_a_concrete_fix() {
    let r = kubeadm_report();
    let f = of(&r, "API-009")[0];
    assert_eq!(f.evidence, ["--enable-admission-plugins=NodeRestriction"]);
    assert!(
        f.remediation.starts_with(
            "Add EventRateLimit to --enable-admission-plugins (or to --admission-control, where \
             the API server takes that older list) and configure its limits in \
             --admission-control-config-file in the kube-apiserver command line. On kubeadm \
             clusters: edit /etc/kubernetes/manifests/kube-apiserver.yaml on node cp1"
        ),
        "{}",
        f.remediation
    );
    let f = of(&r, "CM-002")[0];
    assert_eq!(
        f.message,
        "kube-controller-manager-cp1 serves profiling data"
    );
    assert_eq!(f.evidence, ["--profiling: (unset, default true)"]);
    assert!(f.remediation.contains("controllerManager.extraArgs"));
}

/// The remediation of a control-plane finding is the catalog's (the one copy of it), followed
/// by where to make the change on this cluster: no check carries a second text in code.
#[test]
fn control_plane_remediations_are_the_catalogs() {
    let dir = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../e2e/fixtures/insecure-cluster"
    ));
    let (snap, _) = crate::snapshot::load_paths(&[dir]).expect("fixture loads");
    let r = crate::audit::run(&crate::audit::AuditInput::offline(
        &snap,
        &crate::policy::EffectivePolicy::default_policy(),
        crate::audit::testutil::now(),
    ));
    let mut seen = std::collections::BTreeSet::new();
    for f in r.findings.iter().filter(|f| {
        // Flag checks, on the component's Pod (ETCD-008/009 and API-033 are about other objects).
        matches!(f.check.family(), "API" | "ETCD" | "CM" | "SCH") && f.resource.kind == "Pod"
    }) {
        let general = f.check.meta().remediation.trim_end_matches('.');
        assert!(
            f.remediation.starts_with(&format!("{general} in the ")),
            "{}: {}",
            f.check,
            f.remediation
        );
        seen.insert(f.check);
    }
    assert!(
        seen.len() >= 25,
        "only {} checks fired: {seen:?}",
        seen.len()
    );
}
