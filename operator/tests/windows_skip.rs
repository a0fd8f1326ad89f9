//! WL-005 skips Windows pods (checks.md) on every path an object takes into the model: files
//! (YAML, JSON, `kind: List`, directories) and the live trims the reflectors and `audit` apply.
//! Issue 12: the unit test built the pod spec directly, while the loaders' trim dropped the
//! nodeSelector of bare Pods, so every Windows Pod read from a cluster was reported.
//!
//! Each case loads a Windows workload of every kind next to an identical Linux twin, and asserts
//! WL-005 on every twin and on no Windows workload: the test fails if the skip breaks on some
//! path, and if WL-005 stops firing at all.

use kube::api::DynamicObject;
use kube_posture::audit::nodes::ReleaseData;
use kube_posture::audit::{AuditInput, run};
use kube_posture::model;
use kube_posture::policy::EffectivePolicy;
use kube_posture::snapshot::{LoadStats, Snapshot, load_paths, load_str, trim};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

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

#[derive(Clone, Copy, PartialEq)]
enum Os {
    Linux,
    /// `nodeSelector: {kubernetes.io/os: windows}`, among other selector labels.
    WindowsSelector,
    /// `spec.os.name: windows` (PodOS).
    WindowsOsField,
}

const ALL_OS: [Os; 3] = [Os::Linux, Os::WindowsSelector, Os::WindowsOsField];

fn name(kind: &str, os: Os) -> String {
    let os = match os {
        Os::Linux => "linux",
        Os::WindowsSelector => "win-selector",
        Os::WindowsOsField => "win-podos",
    };
    format!("{}-{os}", kind.to_lowercase())
}

/// A pod spec whose one container may run as root (no runAsUser, no runAsNonRoot).
fn pod_spec(os: Os) -> Value {
    let mut spec = json!({"containers": [{"name": "app", "image": "example/app:1"}]});
    match os {
        Os::Linux => spec["nodeSelector"] = json!({"kubernetes.io/os": "linux", "pool": "a"}),
        Os::WindowsSelector => {
            spec["nodeSelector"] = json!({"kubernetes.io/os": "windows", "pool": "win"})
        }
        Os::WindowsOsField => spec["os"] = json!({"name": "windows"}),
    }
    spec
}

fn manifest(kind: &str, os: Os, cronjob_version: &str) -> Value {
    let name = name(kind, os);
    let labels = json!({"app": name});
    let template = json!({"metadata": {"labels": labels}, "spec": pod_spec(os)});
    let templated = json!({"selector": {"matchLabels": labels}, "template": template});
    let (api_version, spec) = match kind {
        "Pod" => ("v1", pod_spec(os)),
        "ReplicationController" => ("v1", json!({"selector": labels, "template": template})),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => ("apps/v1", templated),
        "Job" => ("batch/v1", json!({"template": template})),
        "CronJob" => (
            cronjob_version,
            json!({"schedule": "0 0 * * *", "jobTemplate": {"spec": {"template": template}}}),
        ),
        other => panic!("unknown kind {other}"),
    };
    json!({
        "apiVersion": api_version, "kind": kind,
        "metadata": {"name": name, "namespace": "win", "managedFields": [{"manager": "kubectl"}],
                     "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "spec": spec,
    })
}

fn manifests(cronjob_version: &str) -> Vec<Value> {
    KINDS
        .iter()
        .flat_map(|k| ALL_OS.map(|os| manifest(k, os, cronjob_version)))
        .collect()
}

/// (kind, name) of every WL-005 finding of the default-policy audit.
fn wl005(snapshot: &Snapshot) -> BTreeSet<(String, String)> {
    let policy = EffectivePolicy::default_policy();
    let report = run(&AuditInput {
        snapshot,
        policy: &policy,
        now: "2026-11-28T12:00:00Z".parse().expect("time"),
        release_data: ReleaseData::builtin(),
        probe: None,
        images: None,
        kubelet: None,
    });
    report
        .findings
        .iter()
        .filter(|f| f.check == "WL-005")
        .map(|f| (f.resource.kind.to_string(), f.resource.name.clone()))
        .collect()
}

/// The Linux twins, and only them, get WL-005.
fn assert_only_linux_twins(path: &str, snapshot: &Snapshot) {
    let expected: BTreeSet<(String, String)> = KINDS
        .iter()
        .map(|k| (k.to_string(), name(k, Os::Linux)))
        .collect();
    assert_eq!(wl005(snapshot), expected, "{path}");
}

fn load(file: &str, text: &str) -> Snapshot {
    let mut snapshot = Snapshot::default();
    let mut stats = LoadStats::default();
    load_str(Path::new(file), text, &mut snapshot, &mut stats)
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    snapshot
}

fn yaml(v: &Value) -> String {
    kube_posture::yaml::to_string(v).expect("YAML")
}

#[test]
fn multi_document_yaml() {
    for version in ["batch/v1", "batch/v1beta1"] {
        let text: Vec<String> = manifests(version).iter().map(yaml).collect();
        let snapshot = load("all.yaml", &text.join("---\n"));
        assert_only_linux_twins(&format!("YAML, CronJob {version}"), &snapshot);
    }
}

#[test]
fn hand_written_flow_style_yaml() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: pod-linux, namespace: win}\nspec: {nodeSelector: {kubernetes.io/os: linux}, containers: [{name: app}]}\n---\n\
                apiVersion: v1\nkind: Pod\nmetadata: {name: pod-windows, namespace: win}\nspec: {nodeSelector: {kubernetes.io/os: Windows}, containers: [{name: app}]}\n";
    let found = wl005(&load("pods.yaml", text));
    assert_eq!(
        found,
        BTreeSet::from([("Pod".to_string(), "pod-linux".to_string())])
    );
}

#[test]
fn json_stream_and_kubectl_json_list() {
    let docs = manifests("batch/v1");
    let stream: Vec<String> = docs.iter().map(|d| d.to_string()).collect();
    assert_only_linux_twins("JSON stream", &load("all.json", &stream.join("\n")));
    let list = json!({"apiVersion": "v1", "kind": "List", "items": docs, "metadata": {"resourceVersion": ""}});
    assert_only_linux_twins(
        "kubectl get -o json",
        &load("list.json", &serde_json::to_string_pretty(&list).unwrap()),
    );
}

#[test]
fn yaml_kind_list() {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": manifests("batch/v1beta1")});
    assert_only_linux_twins("kubectl get -o yaml", &load("list.yaml", &yaml(&list)));
}

#[test]
fn a_directory_of_files() {
    let dir = std::env::temp_dir().join(format!("kp-windows-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (i, doc) in manifests("batch/v1").iter().enumerate() {
        let text = if i % 2 == 0 {
            yaml(doc)
        } else {
            doc.to_string()
        };
        let ext = if i % 2 == 0 { "yaml" } else { "json" };
        std::fs::write(dir.join(format!("{i:02}.{ext}")), text).unwrap();
    }
    let (snapshot, _) = load_paths(std::slice::from_ref(&dir)).expect("loads");
    std::fs::remove_dir_all(&dir).unwrap();
    assert_only_linux_twins("directory", &snapshot);
}

/// What the reflectors (`.modify(trim::…)` in controller/caches.rs) and `audit` on a live
/// cluster (snapshot/live.rs) do: the API's JSON, deserialised into the model, then trimmed.
#[test]
fn live_trims() {
    fn typed<T: serde::de::DeserializeOwned>(v: &Value, trim: fn(&mut T)) -> Arc<T> {
        let mut o: T = serde_json::from_value(v.clone()).expect("model");
        trim(&mut o);
        Arc::new(o)
    }
    let mut s = Snapshot::default();
    for doc in manifests("batch/v1") {
        match doc["kind"].as_str().unwrap() {
            "Pod" => s.pods.push(typed::<model::Pod>(&doc, trim::pod)),
            "Deployment" => s.deployments.push(typed(&doc, trim::deployment)),
            "StatefulSet" => s.stateful_sets.push(typed(&doc, trim::stateful_set)),
            "DaemonSet" => s.daemon_sets.push(typed(&doc, trim::daemon_set)),
            "ReplicaSet" => s.replica_sets.push(typed(&doc, trim::replica_set)),
            "ReplicationController" => s
                .replication_controllers
                .push(typed(&doc, trim::replication_controller)),
            "Job" => s.jobs.push(typed(&doc, trim::job)),
            "CronJob" => s.cron_jobs.push(typed(&doc, trim::cron_job)),
            other => panic!("{other}"),
        }
    }
    assert_only_linux_twins("live trims", &s);
}

/// API servers before 1.21 serve CronJobs as batch/v1beta1 only: the reflector reads them as
/// dynamic objects and converts them (`trim::v1beta1_cron_job`).
#[test]
fn live_v1beta1_cron_jobs() {
    let mut s = Snapshot::default();
    for os in ALL_OS {
        let doc = manifest("CronJob", os, "batch/v1beta1");
        let o: DynamicObject = serde_json::from_value(doc).expect("dynamic object");
        let c = trim::v1beta1_cron_job(serde_json::to_value(o).unwrap()).expect("converted");
        s.cron_jobs.push(Arc::new(c));
    }
    assert_eq!(
        wl005(&s),
        BTreeSet::from([("CronJob".to_string(), name("CronJob", Os::Linux))])
    );
}
