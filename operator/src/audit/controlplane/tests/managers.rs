//! CM-*, SCH-*, and what happens when a component is not there.

use super::*;
use crate::audit::testutil::{audit, audit_with, checks, ids, snapshot};
use crate::policy::EffectivePolicy;

fn controller_manager(changes: &[&str]) -> Vec<&'static str> {
    let p = pod(
        "kube-controller-manager-cp1",
        "kube-controller-manager",
        "registry.k8s.io/kube-controller-manager:v1.30.4",
        &with(SECURE_CONTROLLER_MANAGER, changes),
        "",
    );
    checks(&audit(&p))
}

fn scheduler_report(changes: &[&str]) -> Report {
    let p = pod(
        "kube-scheduler-cp1",
        "kube-scheduler",
        "registry.k8s.io/kube-scheduler:v1.30.4",
        &with(SECURE_SCHEDULER, changes),
        "",
    );
    audit(&p)
}

fn scheduler(changes: &[&str]) -> Vec<&'static str> {
    checks(&scheduler_report(changes))
}

#[test]
fn hardened_controller_manager_and_scheduler_have_no_findings() {
    assert!(controller_manager(&[]).is_empty());
    assert!(scheduler(&[]).is_empty());
}

#[test]
fn cm_001_to_005() {
    assert_eq!(
        controller_manager(&["!--terminated-pod-gc-threshold"]),
        ["CM-001"]
    );
    assert_eq!(controller_manager(&["!--profiling"]), ["CM-002"]);
    assert_eq!(controller_manager(&["--profiling", "false"]), ["CM-002"]);
    assert_eq!(
        controller_manager(&["!--use-service-account-credentials"]),
        ["CM-003"]
    );
    assert_eq!(
        controller_manager(&["--use-service-account-credentials=false"]),
        ["CM-003"]
    );
    assert!(controller_manager(&["--use-service-account-credentials"]).is_empty());
    assert_eq!(
        controller_manager(&["!--service-account-private-key-file"]),
        ["CM-004"]
    );
    assert_eq!(controller_manager(&["--root-ca-file="]), ["CM-005"]);
}

#[test]
fn cm_006_rotation_disabled_in_any_feature_gates_occurrence() {
    assert_eq!(
        controller_manager(&["--feature-gates=RotateKubeletServerCertificate=false"]),
        ["CM-006"]
    );
    assert_eq!(
        controller_manager(&["--feature-gates=SomeGate=true,RotateKubeletServerCertificate=false"]),
        ["CM-006"]
    );
    let mut argv = with(SECURE_CONTROLLER_MANAGER, &["!--feature-gates"]);
    argv.extend([
        "--feature-gates=RotateKubeletServerCertificate=false".to_string(),
        "--feature-gates=OtherGate=true".to_string(),
    ]);
    let p = pod(
        "kube-controller-manager-cp1",
        "kube-controller-manager",
        "registry.k8s.io/kube-controller-manager:v1.30.4",
        &argv,
        "",
    );
    assert_eq!(
        checks(&audit(&p)),
        ["CM-006"],
        "gates merge across occurrences"
    );
    assert!(controller_manager(&["!--feature-gates"]).is_empty());
}

#[test]
fn cm_007_and_sch_002_bind_address_only_when_set() {
    assert_eq!(controller_manager(&["--bind-address=0.0.0.0"]), ["CM-007"]);
    assert!(
        controller_manager(&["!--bind-address"]).is_empty(),
        "unset is not judged"
    );
    assert!(controller_manager(&["--bind-address=::1"]).is_empty());
    assert_eq!(scheduler(&["--bind-address=192.168.56.10"]), ["SCH-002"]);
    assert!(scheduler(&["!--bind-address"]).is_empty());
    assert!(scheduler(&["--bind-address=127.0.0.1"]).is_empty());
}

#[test]
fn sch_001_profiling_unless_a_config_file_decides() {
    let r = scheduler_report(&["!--profiling"]);
    assert_eq!(ids(&r), ["SCH-001 Pod kube-system/kube-scheduler-cp1"]);
    assert_eq!(
        of(&r, "SCH-001")[0].evidence,
        ["--profiling: (unset, default true)"]
    );
    let r = scheduler_report(&[
        "!--profiling",
        "--config=/etc/kubernetes/scheduler-config.yaml",
    ]);
    assert!(checks(&r).is_empty());
    assert!(
        not_assessed(&r)
            .iter()
            .any(|n| n.starts_with("controlplane: ") && n.contains("SCH-001")),
        "{:?}",
        not_assessed(&r)
    );
    // --bind-address is still a flag with a config file.
    assert_eq!(
        scheduler(&[
            "--config=/etc/kubernetes/scheduler-config.yaml",
            "--bind-address=0.0.0.0"
        ]),
        ["SCH-002"]
    );
}

#[test]
fn components_without_a_pod_are_not_assessed_never_failed() {
    // A managed cluster: workloads but no control-plane Pods.
    let r = audit(
        "apiVersion: v1\nkind: Pod\nmetadata: {namespace: kube-system, name: coredns-1}\nspec: {containers: [{name: coredns, image: coredns:1.11}]}\n",
    );
    assert!(
        !r.findings
            .iter()
            .any(|f| f.check.as_str().starts_with("API-")
                || f.check.as_str().starts_with("CM-")
                || f.check.as_str().starts_with("SCH-")
                || f.check.as_str().starts_with("ETCD-")),
        "{:?}",
        ids(&r)
    );
    assert_eq!(
        not_assessed(&r),
        [
            "apiserver: no kube-apiserver Pod in kube-system",
            "controlplane: no kube-controller-manager Pod in kube-system",
            "controlplane: no kube-scheduler Pod in kube-system",
            "etcd: no etcd Pod in kube-system",
            "etcd: no kube-apiserver Pod in kube-system",
            // No Node and no kubeadm ConfigMap either: the kubelets are not assessed.
            "kubelet: no Node and no kubeadm kubelet-config ConfigMap in the input: no kubelet configuration to read",
            // Nor any path through a node.
            "layers: no Node in the input: paths through nodes cannot be traced",
        ]
    );
}

#[test]
fn not_assessed_only_for_enabled_categories() {
    let spec = crate::api::SecurityPolicySpec {
        checks: crate::api::CheckSelection {
            include: vec!["rbac".into(), "SCH-001".into()],
            exclude: vec![],
        },
        ..Default::default()
    };
    let policy = EffectivePolicy::compile("p", &spec).unwrap();
    let r = audit_with(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
        &policy,
    );
    assert_eq!(
        not_assessed(&r),
        ["controlplane: no kube-scheduler Pod in kube-system"]
    );
}

#[test]
fn unreadable_pods_say_so() {
    let mut snap = snapshot("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n");
    snap.unavailable.push(crate::snapshot::Unavailable {
        kind: crate::snapshot::ObjectKind::Pod,
        reason: "forbidden".into(),
    });
    let r = crate::audit::run(&crate::audit::AuditInput {
        snapshot: &snap,
        policy: &EffectivePolicy::default_policy(),
        now: crate::audit::testutil::now(),
        release_data: crate::audit::nodes::ReleaseData::builtin(),
        probe: None,
        images: None,
        kubelet: None,
    });
    assert!(
        not_assessed(&r).contains(&"apiserver: cannot read pods: forbidden".to_string()),
        "{:?}",
        not_assessed(&r)
    );
}
