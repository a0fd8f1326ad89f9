//! Never a false all-clear (issue 12), against the real API server: a kind the operator can no
//! longer read leaves its Findings as they were, `snapshot` records what it could not read, and
//! a start that cannot work fails at once with an error that says how to fix it.
//!
//! Each test prints `FIGURE honesty=<name> key=value ...` lines (docs/faults.md has the table).

use k8s_openapi::api::rbac::v1::ClusterRole;
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use kube_posture::api::{Finding, SecurityPolicy};
use kube_posture_e2e::fixture::instantiate_sample;
use kube_posture_e2e::operator::{
    Operator, Options, cleanup_identity, condition, create_policy, findings, get_policy, identity,
    own_operator_identity, policy, resolved_events_since,
};
use kube_posture_e2e::private_plane::PrivatePlane;
use kube_posture_e2e::{
    admin, admin_kubeconfig, kube_posture_bin, operator_kubeconfig, prefix, text, wait_for,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

/// The role's rules without `resources` (list and watch taken away with them).
fn without(role: &ClusterRole, resources: &[&str]) -> Value {
    let rules: Vec<Value> = role
        .rules
        .clone()
        .unwrap()
        .into_iter()
        .filter_map(|mut r| {
            let kept: Vec<String> = r
                .resources
                .clone()
                .unwrap_or_default()
                .into_iter()
                .filter(|x| !resources.contains(&x.as_str()))
                .collect();
            if kept.is_empty() {
                return None;
            }
            r.resources = Some(kept);
            Some(serde_json::to_value(r).unwrap())
        })
        .collect();
    json!(rules)
}

/// Finding name → (uid, firstSeen).
async fn finding_records(client: &Client, policy: &str) -> BTreeMap<String, (String, String)> {
    findings(client, policy)
        .await
        .into_iter()
        .map(|f: Finding| {
            (
                f.metadata.name.clone().unwrap_or_default(),
                (
                    f.metadata.uid.clone().unwrap_or_default(),
                    f.status
                        .as_ref()
                        .and_then(|s| s.first_seen.clone())
                        .unwrap_or_default(),
                ),
            )
        })
        .collect()
}

/// The number of "reconciled" log lines of a policy so far.
fn reconciles(op: &Operator, policy: &str) -> usize {
    op.log_lines("reconciled", Some(policy)).len()
}

/// List on RoleBindings and ClusterRoleBindings taken from the operator's own ClusterRole:
/// the RBAC checks are not assessed (Degraded names both kinds, notAssessed lists the checks),
/// and the Findings they had made stay exactly as they were — same objects, same firstSeen, no
/// FindingResolved, no POL-002 for an exception of an RBAC check. Given back, the same
/// Findings go on.
#[tokio::test]
async fn revoked_rbac_read_keeps_findings() {
    let client = admin().await;
    let p = prefix("revoke");
    let (role, kc) = own_operator_identity(&client, &p).await;
    let op = Operator::start_with(
        &p,
        Options {
            kubeconfig: Some(kc),
            extra: vec!["--no-leader-election".into()],
            ..Default::default()
        },
    )
    .await;
    instantiate_sample(&p, &std::env::temp_dir().join(format!("kp-e2e-{p}"))).await;
    let name = format!("{p}-r");
    // An exception that waives an RBAC finding of the sample (so it is used), and one for an
    // RBAC check on a binding that does not exist (unused: POL-002 before the revocation).
    create_policy(
        &client,
        &policy(
            &p,
            &name,
            json!({
                "namespaces": {"include": [format!("{p}-*")]},
                // Other tests' cluster-scoped objects add findings: keep every one an object.
                "findingLimit": 10000,
                "exceptions": [
                    {"check": "RBAC-001", "resource": {"kind": "ClusterRoleBinding", "name": "*"},
                     "reason": "reviewed"},
                    {"check": "RBAC-005", "resource": {"kind": "RoleBinding", "name": "no-such-binding"},
                     "reason": "stale waiver"},
                ],
            }),
        ),
    )
    .await;
    // Settled: the Finding set is the same twice, 3 s apart.
    let settle_start = Instant::now();
    let mut last = BTreeMap::new();
    let before = loop {
        assert!(
            settle_start.elapsed() < Duration::from_secs(90),
            "the policy's Findings did not settle:\n{}",
            op.log_text()
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
        let now = finding_records(&client, &name).await;
        if !now.is_empty() && now == last {
            break now;
        }
        last = now;
    };
    let all = findings(&client, &name).await;
    let rbac_on = |kind: &str| {
        all.iter()
            .filter(|f| f.spec.check.starts_with("RBAC-") && f.spec.resource.kind == kind)
            .count()
    };
    assert!(
        rbac_on("RoleBinding") > 0 && rbac_on("ClusterRoleBinding") > 0,
        "the sample gives RBAC findings on both binding kinds"
    );
    assert!(
        all.iter().any(|f| f.spec.check == "POL-002"),
        "the waiver of a missing binding is unused before the revocation"
    );
    let pol002_before: Vec<String> = all
        .iter()
        .filter(|f| f.spec.check == "POL-002")
        .filter_map(|f| f.metadata.name.clone())
        .collect();

    // Take list/watch on both binding kinds away.
    let roles: Api<ClusterRole> = Api::all(client.clone());
    let revoked_at = Timestamp::now();
    let t0 = Instant::now();
    roles
        .patch(
            &p,
            &PatchParams::default(),
            &Patch::Merge(
                &json!({"rules": without(&role, &["rolebindings", "clusterrolebindings"])}),
            ),
        )
        .await
        .unwrap();
    let degraded = wait_for(Duration::from_secs(90), || async {
        let pol = get_policy(&client, &name).await;
        let d = condition(&pol, "Degraded")?.clone();
        (d.status == "True"
            && d.message.contains("rolebindings")
            && d.message.contains("clusterrolebindings"))
        .then_some(pol)
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "Degraded names both binding kinds within 90 s:\n{}",
            op.log_text()
        )
    });
    let degraded_s = t0.elapsed().as_secs_f64();
    // Two more audits while degraded (the interval is the default; a change to any object
    // triggers one): touch a namespace to make sure they ran.
    let seen = reconciles(&op, &name);
    wait_for(Duration::from_secs(60), || async {
        let _ = Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
            .patch(
                &format!("{p}-ci"),
                &PatchParams::default(),
                &Patch::Merge(&json!({"metadata": {"labels": {"touched": Timestamp::now().as_second().to_string()}}})),
            )
            .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        (reconciles(&op, &name) >= seen + 2).then_some(())
    })
    .await
    .expect("the operator keeps auditing while degraded");
    let st = degraded.status.clone().unwrap();
    let rbac = st
        .not_assessed
        .iter()
        .find(|n| n.category == "rbac")
        .unwrap_or_else(|| panic!("rbac is not assessed: {:?}", st.not_assessed));
    assert!(
        rbac.reason.contains("rolebindings") || rbac.reason.contains("clusterrolebindings"),
        "the reason names the kind: {rbac:?}"
    );
    for id in ["RBAC-001", "RBAC-005", "RBAC-030"] {
        assert!(
            st.not_assessed
                .iter()
                .any(|n| n.checks.iter().any(|c| c == id)),
            "{id} is listed as not assessed: {:?}",
            st.not_assessed
        );
    }
    let during = finding_records(&client, &name).await;
    let lost: Vec<&String> = before.keys().filter(|k| !during.contains_key(*k)).collect();
    assert!(
        lost.is_empty(),
        "no Finding deleted while RBAC is not readable: {lost:?}"
    );
    for (k, v) in &before {
        assert_eq!(during.get(k), Some(v), "{k}: same object, same firstSeen");
    }
    assert_eq!(
        resolved_events_since(&client, &name, revoked_at).await,
        0,
        "no FindingResolved while not assessed"
    );
    let pol002_during: Vec<String> = findings(&client, &name)
        .await
        .iter()
        .filter(|f| f.spec.check == "POL-002")
        .filter_map(|f| f.metadata.name.clone())
        .collect();
    assert_eq!(
        pol002_during, pol002_before,
        "the POL-002 of the waiver of a check not assessed is held as it was, no new one"
    );
    assert!(
        st.not_assessed.iter().any(|n| n.category == "policy"
            && n.checks == ["POL-002"]
            && n.reason.contains("exceptions[1]")),
        "POL-002 of that waiver is not assessed: {:?}",
        st.not_assessed
    );
    let summary = st.summary.clone().unwrap();
    assert!(
        summary.total + summary.suppressed >= before.len() as u64,
        "the counts still include the held findings: {summary:?}"
    );

    // Give it back: the same Findings go on.
    let t1 = Instant::now();
    roles
        .patch(
            &p,
            &PatchParams::default(),
            &Patch::Merge(&json!({"rules": role.rules})),
        )
        .await
        .unwrap();
    wait_for(Duration::from_secs(90), || async {
        let pol = get_policy(&client, &name).await;
        (condition(&pol, "Degraded")?.status == "False").then_some(())
    })
    .await
    .expect("recovers when the permission returns");
    // The audit that cleared Degraded wrote its Findings before the status.
    let recovered_s = t1.elapsed().as_secs_f64();
    // Other tests share this API server and add cluster-scoped objects (control-plane Pods in
    // kube-system, ClusterRoleBindings) that this policy audits too: new Findings may appear.
    // Every Finding from before must go on as it was, and none may have a twin.
    let after = finding_records(&client, &name).await;
    for (k, v) in &before {
        assert_eq!(
            after.get(k),
            Some(v),
            "{k}: the same object, the same firstSeen"
        );
    }
    let all = findings(&client, &name).await;
    let mut identities = std::collections::BTreeMap::new();
    for f in &all {
        let key = identity(f);
        if let Some(other) = identities.insert(key.clone(), f.metadata.name.clone()) {
            panic!(
                "two Findings with one identity {key}: {other:?} and {:?}",
                f.metadata.name
            );
        }
    }
    assert_eq!(
        resolved_events_since(&client, &name, revoked_at).await,
        0,
        "no FindingResolved across the revocation"
    );
    println!(
        "FIGURE honesty=rbac_revoked degraded_s={degraded_s:.1} recovered_s={recovered_s:.1} findings_kept={}",
        before.len()
    );
    drop(op);
    cleanup_identity(&client, &p).await;
}

/// `kube-posture run` with arguments, its exit status, stderr, and how long it ran (killed
/// after `limit`).
fn run_operator(
    kubeconfig: &std::path::Path,
    args: &[&str],
    limit: Duration,
) -> (Option<i32>, String, f64) {
    let t0 = Instant::now();
    let mut child = Command::new(kube_posture_bin())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("run")
        .args(["--metrics-addr", "off", "--health-addr", "off"])
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kube-posture run starts");
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let out = child.wait_with_output().unwrap();
            return (status.code(), text(&out.stderr), t0.elapsed().as_secs_f64());
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            return (None, text(&out.stderr), t0.elapsed().as_secs_f64());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Out of cluster, without the Lease namespace: exit 1 at once, naming the namespace and both
/// ways out, as the admin (the namespace is simply missing) and as the operator's own identity
/// (whose Lease permission lives in a namespace that is not there).
#[tokio::test]
async fn a_missing_lease_namespace_fails_fast() {
    let client = admin().await;
    kube_posture_e2e::operator::install(&client).await.unwrap();
    let ns = format!("{}-absent", prefix("lease"));
    let mut identities = vec![("admin", admin_kubeconfig())];
    identities.extend(operator_kubeconfig().map(|k| ("operator", k)));
    for (who, kc) in identities {
        let (code, stderr, secs) =
            run_operator(&kc, &["--lease-namespace", &ns], Duration::from_secs(60));
        assert_eq!(
            code,
            Some(1),
            "{who}: exit 1, not a hang or a retry loop:\n{stderr}"
        );
        for needle in [ns.as_str(), "--lease-namespace", "--no-leader-election"] {
            assert!(
                stderr.contains(needle),
                "{who}: the error names {needle}:\n{stderr}"
            );
        }
        println!("FIGURE honesty=lease_namespace_missing identity={who} exit_s={secs:.1}");
    }
}

/// Without the Finding CRD (only SecurityPolicy installed), `run` stops with an error naming
/// the CRD and how to install it. On a private control plane: deleting a CRD from the shared
/// one would disturb the other tests.
#[tokio::test]
async fn a_missing_finding_crd_fails_fast() {
    let plane = PrivatePlane::up("honesty-crd");
    let client = plane.admin().await;
    use kube::CustomResourceExt;
    // The CRDs as `crds/` has them (fixed up for 1.20); only SecurityPolicy's.
    let crd = kube_posture::api::crds()
        .into_iter()
        .find(|c| c["metadata"]["name"] == SecurityPolicy::crd_name())
        .unwrap();
    kube_posture_e2e::apply(&client, &[crd]).await.unwrap();
    let (code, stderr, secs) = run_operator(
        &plane.admin_kubeconfig,
        &["--no-leader-election"],
        Duration::from_secs(90),
    );
    assert_eq!(code, Some(1), "exit 1, not a hang:\n{stderr}");
    assert!(
        stderr.contains("findings.kubeposture.io") && stderr.contains("kubectl apply -f crds/"),
        "the error names the CRD and the fix:\n{stderr}"
    );
    println!("FIGURE honesty=finding_crd_missing exit_s={secs:.1}");
}

/// `kube-posture snapshot` as an identity that may not list RoleBindings writes what it could
/// not read into the snapshot; `audit --snapshot` of it reports RBAC as not assessed, naming
/// the kind, instead of clean.
#[tokio::test]
async fn snapshot_records_what_it_could_not_read() {
    let client = admin().await;
    let p = prefix("snapinfo");
    let (role, kc) = own_operator_identity(&client, &p).await;
    Api::<ClusterRole>::all(client.clone())
        .patch(
            &p,
            &PatchParams::default(),
            &Patch::Merge(&json!({"rules": without(&role, &["rolebindings"])})),
        )
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("kp-e2e-{p}-snapshot"));
    let _ = std::fs::remove_dir_all(&dir);
    // RBAC is cached by the API server's authorizer for a moment after a change.
    let out = wait_for(Duration::from_secs(30), || async {
        let out = Command::new(kube_posture_bin())
            .arg("--kubeconfig")
            .arg(&kc)
            .args(["snapshot", "-o"])
            .arg(&dir)
            .output()
            .unwrap();
        let info = std::fs::read_to_string(dir.join("snapshot-info.yaml")).unwrap_or_default();
        (out.status.success() && info.contains("RoleBinding")).then_some(out)
    })
    .await
    .expect("snapshot writes snapshot-info.yaml");
    assert!(
        text(&out.stderr).contains("rolebindings"),
        "{}",
        text(&out.stderr)
    );
    let info: Value = kube_posture::yaml::from_str(
        &std::fs::read_to_string(dir.join("snapshot-info.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(info["kind"], "SnapshotInfo");
    assert_eq!(info["unreadable"][0]["kind"], "RoleBinding", "{info}");
    assert!(
        info["read"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == "ClusterRoleBinding"),
        "{info}"
    );
    let audit = Command::new(kube_posture_bin())
        .args(["audit", "-o", "json", "--snapshot"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(audit.status.code(), Some(0), "{}", text(&audit.stderr));
    let report: Value = serde_json::from_slice(&audit.stdout).unwrap();
    let rbac = report["notAssessed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["category"] == "rbac")
        .unwrap_or_else(|| panic!("rbac not assessed: {}", report["notAssessed"]));
    assert!(
        rbac["reason"].as_str().unwrap().contains("rolebindings"),
        "{rbac}"
    );
    assert!(
        rbac["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "RBAC-001"),
        "{rbac}"
    );
    cleanup_identity(&client, &p).await;
}
