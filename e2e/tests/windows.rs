//! WL-005's Windows skip on a real API server (issue 12): a Pod and each controller kind with
//! `nodeSelector: {kubernetes.io/os: windows}`, each next to an identical Linux twin, audited
//! live by the `kube-posture` binary. No Windows workload may get WL-005, every Linux twin must:
//! the test fails when the skip breaks on the live path and when WL-005 stops firing at all.
//! The same objects then go through `kube-posture snapshot -o DIR` and an offline audit of DIR.
//!
//! `spec.os` (PodOS) is not served by the 1.20 API server the harness runs (it drops the field
//! on 1.20, added in 1.23); operator/tests/windows_skip.rs covers it on every offline and trim
//! path. Pods stay Pending (no kubelet): the audit reads specs, not status.

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams};
use kube_posture_e2e::{admin, admin_kubeconfig, apply, kube_posture, prefix, text};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const KINDS: [&str; 8] = [
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
];

fn name(kind: &str, os: &str) -> String {
    format!("{}-{os}", kind.to_lowercase())
}

/// `kind` named `<kind>-<os>` whose one container may run as root, scheduled on `os` nodes.
/// CronJobs are batch/v1beta1: the only version 1.20 serves (the audit reads both).
fn workload(ns: &str, kind: &str, os: &str) -> Value {
    let name = name(kind, os);
    let labels = json!({"app": name});
    let restart = if matches!(kind, "Job" | "CronJob") {
        "Never"
    } else {
        "Always"
    };
    let pod_spec = json!({
        "serviceAccountName": "app",
        "restartPolicy": restart,
        "nodeSelector": {"kubernetes.io/os": os, "pool": "e2e"},
        "containers": [{"name": "app", "image": "example.invalid/app:1"}],
    });
    let template = json!({"metadata": {"labels": labels}, "spec": pod_spec});
    let (api_version, spec) = match kind {
        "Pod" => ("v1", pod_spec),
        "ReplicationController" => ("v1", json!({"selector": labels, "template": template})),
        "StatefulSet" => (
            "apps/v1",
            json!({"selector": {"matchLabels": labels}, "serviceName": name, "template": template}),
        ),
        "Deployment" | "DaemonSet" | "ReplicaSet" => (
            "apps/v1",
            json!({"selector": {"matchLabels": labels}, "template": template}),
        ),
        "Job" => ("batch/v1", json!({"template": template})),
        "CronJob" => (
            "batch/v1beta1",
            json!({"schedule": "0 0 1 1 *", "jobTemplate": {"spec": {"template": template}}}),
        ),
        other => panic!("unknown kind {other}"),
    };
    json!({
        "apiVersion": api_version, "kind": kind,
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": spec,
    })
}

/// `kube-posture audit -o json ARGS`: (kind, name) of the WL-005 findings in `ns`.
fn audit(args: &[&str], ns: &str) -> BTreeSet<(String, String)> {
    let mut all = vec!["audit", "-o", "json", "-q"];
    all.extend_from_slice(args);
    let o = kube_posture(&all);
    assert!(o.status.success(), "{all:?}: {}", text(&o.stderr));
    let report: Value = serde_json::from_slice(&o.stdout).expect("JSON report");
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["check"] == "WL-005" && f["resource"]["namespace"] == ns)
        .map(|f| {
            (
                f["resource"]["kind"].as_str().unwrap().to_string(),
                f["resource"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn windows_workloads_are_skipped_by_wl_005_and_their_linux_twins_are_not() {
    let client = admin().await;
    let ns = prefix("windows");
    let mut docs = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app", "namespace": ns}}),
    ];
    for kind in KINDS {
        for os in ["windows", "linux"] {
            docs.push(workload(&ns, kind, os));
        }
    }
    apply(&client, &docs).await.expect("workloads applied");

    let dir = std::env::temp_dir().join(format!("kp-e2e-{ns}"));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("policy.yaml");
    std::fs::write(
        &policy,
        format!(
            "apiVersion: kubeposture.io/v1alpha1\nkind: SecurityPolicy\nmetadata: {{name: {ns}}}\n\
             spec:\n  namespaces: {{include: [{ns}]}}\n"
        ),
    )
    .unwrap();
    let kubeconfig = admin_kubeconfig();
    let kubeconfig = kubeconfig.to_str().unwrap();
    let policy = policy.to_str().unwrap();
    let linux: BTreeSet<(String, String)> = KINDS
        .iter()
        .map(|k| (k.to_string(), name(k, "linux")))
        .collect();

    let live = audit(&["--kubeconfig", kubeconfig, "--policy", policy], &ns);
    assert_eq!(
        live, linux,
        "live: WL-005 on every Linux twin and on no Windows workload"
    );

    // The same objects written by `kube-posture snapshot` and audited offline.
    let snapshot = dir.join("snapshot");
    let o = kube_posture(&[
        "snapshot",
        "--kubeconfig",
        kubeconfig,
        "-o",
        snapshot.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "snapshot: {}", text(&o.stderr));
    let offline = audit(
        &["--snapshot", snapshot.to_str().unwrap(), "--policy", policy],
        &ns,
    );
    assert_eq!(offline, linux, "kube-posture snapshot, audited offline");

    let namespaces: Api<Namespace> = Api::all(client);
    let _ = namespaces.delete(&ns, &DeleteParams::default()).await;
    let _ = std::fs::remove_dir_all(&dir);
}
