//! `kube-posture report --framework cis-1.12` against a live API server: control by control,
//! the same verdicts as the offline report of the files that were applied, and the statuses
//! the sample calls for.

use kube_posture_e2e::fixture::instantiate_sample;
use kube_posture_e2e::{kube_posture, prefix, text};
use serde_json::Value;
use std::collections::BTreeMap;

fn report(extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec![
        "report",
        "--framework",
        "cis-1.12",
        "-o",
        "json",
        "-q",
        "--as-of",
        "2026-11-28T12:00:00Z",
    ];
    args.extend_from_slice(extra);
    let o = kube_posture(&args);
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("kube-posture {args:?}: {e}: {}", text(&o.stderr)));
    (o.status.code(), v)
}

fn statuses(r: &Value) -> BTreeMap<String, String> {
    r["controls"]
        .as_array()
        .expect("controls")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn cis_report_on_the_live_cluster_judges_the_controls_it_can_see() {
    let dir = std::env::temp_dir().join(format!("kp-e2e-cis-{}", std::process::id()));
    instantiate_sample(&prefix("cis"), &dir).await;

    let (code, live) = report(&["--fail-on", "critical"]);
    assert_eq!(code, Some(1), "a critical control fails: exit 1");
    assert_eq!(live["id"], "cis-1.12");
    let st = statuses(&live);
    for (id, want) in [
        // RBAC-001: the sample's ci-admin binding.
        ("5.1.1", "fail"),
        // WL-001: the privileged Deployment.
        ("5.2.2", "fail"),
        // API-001 on the sample's kube-apiserver Pod in kube-system (--anonymous-auth=true).
        ("1.2.1", "fail"),
        // API-013 finds nothing on it.
        ("1.2.13", "pass"),
        // File permissions on the node: no check can judge them from the API.
        ("1.1.1", "manual"),
    ] {
        assert_eq!(st.get(id).map(String::as_str), Some(want), "control {id}");
    }
    let s = &live["summary"];
    let total: u64 = ["passed", "failed", "manual", "notAssessed"]
        .iter()
        .map(|k| s[k].as_u64().unwrap())
        .sum();
    assert_eq!(total as usize, st.len(), "every control counted once: {s}");
    // No Node in this control plane (no kubelet): the kubelet checks have nothing to read,
    // and say so, never passed in silence.
    let pending = live["notAssessed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["category"] == "kubelet")
        .unwrap_or_else(|| panic!("kubelet not assessed: {:#}", live["notAssessed"]));
    assert!(
        pending["reason"].as_str().unwrap().contains("no Node"),
        "{pending}"
    );

    // The offline report of the applied files reaches the same verdict on every control.
    let file = dir.join("cluster.yaml");
    let (code, offline) = report(&["--snapshot", file.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{offline:#}");
    let off = statuses(&offline);
    let differ: Vec<String> = st
        .iter()
        .filter(|(id, s)| off.get(*id) != Some(*s))
        .map(|(id, s)| format!("{id}: live {s}, offline {:?}", off.get(id)))
        .collect();
    assert!(differ.is_empty(), "{differ:#?}");
    std::fs::remove_dir_all(&dir).ok();
}
