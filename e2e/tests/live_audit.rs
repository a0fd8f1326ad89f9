//! `kube-posture audit` against a live API server agrees with the offline audit: of the same
//! files after applying them, and of a `kube-posture snapshot` of the cluster.

use kube_posture_e2e::fixture::{Renamer, instantiate_sample};
use kube_posture_e2e::{kube_posture, prefix, text};
use serde_json::Value;
use std::collections::BTreeSet;

fn audit_json(args: &[&str]) -> Value {
    let mut all = vec![
        "audit",
        "-o",
        "json",
        "-q",
        "--as-of",
        "2026-11-28T12:00:00Z",
    ];
    all.extend_from_slice(args);
    let o = kube_posture(&all);
    assert!(
        o.status.success(),
        "kube-posture {all:?}: {}",
        text(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("JSON report")
}

/// (check, kind, namespace, name, subject) of the findings this instance owns.
fn identities(report: &Value, r: &Renamer) -> BTreeSet<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| r.owns(f))
        .map(identity)
        .collect()
}

fn identity(f: &Value) -> String {
    format!(
        "{} {} {}/{} {}",
        f["check"].as_str().unwrap(),
        f["resource"]["kind"].as_str().unwrap(),
        f["resource"]["namespace"].as_str().unwrap_or(""),
        f["resource"]["name"].as_str().unwrap(),
        f["subject"]
    )
}

#[tokio::test]
async fn live_audit_matches_the_offline_audit_of_the_applied_files() {
    let dir = std::env::temp_dir().join(format!("kp-e2e-live-{}", std::process::id()));
    let r = instantiate_sample(&prefix("live"), &dir).await;
    let live = identities(&audit_json(&[]), &r);
    let offline = identities(&audit_json(&["--snapshot", dir.to_str().unwrap()]), &r);
    assert!(offline.len() >= 20, "the sample has findings: {offline:#?}");
    let api_findings: Vec<_> = live
        .iter()
        .filter(|i| i.contains("api") && i.starts_with("WL-001"))
        .collect();
    assert_eq!(
        api_findings.len(),
        1,
        "one finding for the Deployment, none for its ReplicaSet and Pods: {api_findings:?}"
    );
    let missing: Vec<_> = offline.difference(&live).collect();
    assert!(
        missing.is_empty(),
        "found offline but not live: {missing:#?}"
    );
    // A live cluster holds what the files cannot: the token Secrets Kubernetes (before 1.24)
    // creates for every ServiceAccount. Paths that read one are real, and only live.
    let live_report = audit_json(&[]);
    let extra: Vec<&Value> = live_report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| r.owns(f) && !offline.contains(&identity(f)))
        .collect();
    for f in &extra {
        let via_token_secret = f["check"] == "RBAC-030"
            && f["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e.as_str().unwrap().contains("can read Secret"));
        assert!(
            via_token_secret,
            "live-only finding not explained by token Secrets: {f:#}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn snapshot_then_offline_audit_matches_the_live_audit() {
    let dir = std::env::temp_dir().join(format!("kp-e2e-snap-{}", std::process::id()));
    let r = instantiate_sample(&prefix("snap"), &dir.join("applied")).await;
    let snap_dir = dir.join("snapshot");
    let o = kube_posture(&["snapshot", "-o", snap_dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("wrote"));
    let live = audit_json(&[]);
    let offline = audit_json(&["--snapshot", snap_dir.to_str().unwrap()]);
    let (live_ids, offline_ids) = (identities(&live, &r), identities(&offline, &r));
    assert!(!live_ids.is_empty());
    // The snapshot holds no Secrets (the operator never reads them), exactly like the live
    // reading path: the two must agree finding for finding.
    assert_eq!(live_ids, offline_ids);
    std::fs::remove_dir_all(&dir).ok();
}
