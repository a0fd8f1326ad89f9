//! Fault tolerance against a real API server (issue 8): the API server or etcd going away, the
//! Finding CRD deleted under the operator, another field manager overwriting its status,
//! SIGTERM in the middle of a large reconcile, and 100,000 findings in one policy.
//!
//! Each test prints one `FIGURE fault=<name> key=value ...` line (collect them with
//! `--no-capture`; docs/faults.md has the table). Every test but `conflicting_writer` runs on
//! a private control plane (e2e/src/private_plane.rs): they stop components, delete a CRD or
//! load the cluster, which would disturb the tests sharing `E2E_KUBECONFIG`. Against a
//! cluster the user gave (no control-plane script), those fail: leave them out there.

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube_posture::api::{Finding, SecurityPolicy};
use kube_posture_e2e::fixture::instantiate_sample_on;
use kube_posture_e2e::operator::{
    Operator, Options, condition, create_policy, findings, get_policy, identity, policy,
    resolved_events_since, sample_policy,
};
use kube_posture_e2e::private_plane::{PrivatePlane, apiserver_writes};
use kube_posture_e2e::{admin, install_crds, prefix, wait_for};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const CONTROLLER: &str = "kubeposture.io/kube-posture";
/// New-finding Warning Events per reconcile, at most (operator/src/controller/reconcile.rs).
const EVENT_BUDGET: usize = 100;

fn tmp(p: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("kp-e2e-{p}"))
}

/// The policy's Findings by name, with their uids (a deleted and re-created one changes uid).
async fn finding_uids(client: &Client, policy: &str) -> BTreeMap<String, String> {
    findings(client, policy)
        .await
        .into_iter()
        .map(|f| {
            (
                f.metadata.name.clone().unwrap_or_default(),
                f.metadata.uid.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// Wait until the policy is reconciled, Ready, and its Finding objects are complete and
/// settled (as many as the status counts, up to the limit; unchanged for 2 s).
async fn wait_settled(client: &Client, name: &str, timeout: Duration) -> BTreeMap<String, String> {
    let start = Instant::now();
    let mut last: Option<BTreeMap<String, String>> = None;
    let mut since = Instant::now();
    loop {
        assert!(start.elapsed() < timeout, "policy {name} did not settle");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let pol = get_policy(client, name).await;
        let Some(st) = pol.status.as_ref() else {
            continue;
        };
        let ready = condition(&pol, "Ready").is_some_and(|c| c.status == "True")
            && st.observed_generation == pol.metadata.generation;
        let expected = st
            .summary
            .as_ref()
            .map_or(0, |s| ((s.total + s.suppressed) as usize).min(500));
        let now = finding_uids(client, name).await;
        if last.as_ref() != Some(&now) {
            since = Instant::now();
            last = Some(now);
            continue;
        }
        if ready
            && !now.is_empty()
            && now.len() == expected
            && since.elapsed() >= Duration::from_secs(2)
        {
            return now;
        }
    }
}

/// Events the operator created at or after `since`, in every namespace.
async fn operator_events_since(client: &Client, since: Timestamp) -> Vec<Event> {
    Api::<Event>::all(client.clone())
        .list(&ListParams::default())
        .await
        .expect("list events")
        .items
        .into_iter()
        .filter(|e| e.reporting_controller.as_deref() == Some(CONTROLLER))
        .filter(|e| e.event_time.as_ref().is_some_and(|t| t.0 >= since))
        .collect()
}

async fn cluster_admin_binding(client: &Client, name: &str, users: &[String]) {
    let subjects: Vec<Value> = users
        .iter()
        .map(|u| json!({"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": u}))
        .collect();
    let crb: ClusterRoleBinding = serde_json::from_value(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": subjects,
    }))
    .unwrap();
    Api::<ClusterRoleBinding>::all(client.clone())
        .create(&PostParams::default(), &crb)
        .await
        .unwrap_or_else(|e| panic!("create ClusterRoleBinding {name}: {e}"));
}

/// A private plane with the operator, the insecure sample and a policy over it, settled.
struct Scene {
    op: Operator,
    client: Client,
    p: String,
    name: String,
    before: BTreeMap<String, String>,
    // Last: torn down after the operator is killed.
    plane: PrivatePlane,
}

async fn scene(test: &str) -> Scene {
    let plane = PrivatePlane::up(test);
    let client = plane.admin().await;
    let p = prefix(test);
    let op = Operator::start_with(&p, plane.options()).await;
    instantiate_sample_on(&client, &p, &tmp(&p)).await;
    let name = format!("{p}-base");
    create_policy(&client, &sample_policy(&p, &name)).await;
    let before = wait_settled(&client, &name, Duration::from_secs(60)).await;
    Scene {
        op,
        client,
        p,
        name,
        before,
        plane,
    }
}

/// After a fault: a change made now (a new cluster-admin binding) shows up as a Finding.
/// Returns the seconds it took.
async fn a_new_change_is_seen(s: &Scene, tag: &str, timeout: Duration) -> f64 {
    let crb = format!("{}-{tag}", s.p);
    let t0 = Instant::now();
    // The API server may still refuse writes for a moment after /readyz.
    wait_for(Duration::from_secs(20), || async {
        let subjects = [format!("{}-{tag}-user", s.p)];
        let users: Vec<Value> = subjects
            .iter()
            .map(|u| json!({"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": u}))
            .collect();
        let crb: ClusterRoleBinding = serde_json::from_value(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": crb},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": users,
        }))
        .unwrap();
        Api::<ClusterRoleBinding>::all(s.client.clone())
            .create(&PostParams::default(), &crb)
            .await
            .ok()
            .map(|_| ())
    })
    .await
    .expect("the API server takes writes again");
    wait_for(timeout, || async {
        findings(&s.client, &s.name)
            .await
            .iter()
            .any(|f| f.spec.check == "RBAC-001" && f.spec.resource.name == crb)
            .then_some(())
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "a change after the fault ({crb}) did not become a Finding within {timeout:?}:\n{}",
            s.op.log_text()
        )
    });
    t0.elapsed().as_secs_f64()
}

/// The Findings from before are all there, unchanged (same uids: none deleted and re-created),
/// nothing else but `extra` is, and no two have the same identity.
async fn assert_no_flap(s: &Scene, extra: &[&str]) {
    let all = findings(&s.client, &s.name).await;
    let after: BTreeMap<String, String> = all
        .iter()
        .filter(|f| !extra.iter().any(|x| f.spec.resource.name == *x))
        .map(|f| {
            (
                f.metadata.name.clone().unwrap_or_default(),
                f.metadata.uid.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        after, s.before,
        "the Finding set (names and uids) is the same as before the fault"
    );
    let ids: BTreeSet<String> = all.iter().map(identity).collect();
    assert_eq!(ids.len(), all.len(), "no duplicate Findings");
}

/// 1: the API server stops for 30 s (SIGKILL) and comes back with the same etcd.
#[tokio::test]
async fn apiserver_stopped_30s() {
    let mut s = scene("f-apiserver").await;
    let fault = Timestamp::now();
    let reconciles_before = s.op.log_lines("reconciled", Some(&s.name)).len();
    s.plane.kill("apiserver");
    let down = Instant::now();
    while down.elapsed() < Duration::from_secs(30) {
        assert!(
            s.op.alive(),
            "the operator exits while the API server is down"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let start_took = s.plane.start("apiserver");
    let back = Instant::now();
    assert!(s.op.alive(), "the operator is still running");
    // Resumed: a reconcile after the server's return, and a change made now is followed.
    let recovery = a_new_change_is_seen(&s, "after-apiserver", Duration::from_secs(45)).await;
    let reconcile_after = s.op.log_lines("reconciled", Some(&s.name)).len() > reconciles_before;
    let recovered_in = back.elapsed().as_secs_f64();
    assert!(
        recovered_in <= 45.0,
        "resumed {recovered_in:.1}s after the API server's return"
    );
    assert!(reconcile_after, "reconciled again after the restart");
    let (code, _) = kube_posture_e2e::http_get(&format!("{}/readyz", s.op.health_url())).unwrap();
    assert_eq!(code, 200, "/readyz");
    let extra = format!("{}-after-apiserver", s.p);
    assert_no_flap(&s, &[&extra]).await;
    let resolved = resolved_events_since(&s.client, &s.name, fault).await;
    assert_eq!(resolved, 0, "no FindingResolved Event during the outage");
    let restarts = s.op.metric("kube_posture_watch_restarts_total");
    println!(
        "FIGURE fault=apiserver_stopped_30s outage_s=30 restart_s={:.1} recovery_s={recovery:.1} findings={} finding_resolved_events={resolved} watch_restarts={restarts} operator_exited=false",
        start_took.as_secs_f64(),
        s.before.len()
    );
}

/// 2: etcd crashes (SIGKILL) and restarts with its data; the API server stays up.
#[tokio::test]
async fn etcd_restarted() {
    let mut s = scene("f-etcd").await;
    let fault = Timestamp::now();
    s.plane.kill("etcd");
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(s.op.alive(), "the operator exits while etcd is down");
    let start_took = s.plane.start("etcd");
    assert!(s.op.alive(), "the operator is still running");
    let seen = a_new_change_is_seen(&s, "after-etcd", Duration::from_secs(45)).await;
    let extra = format!("{}-after-etcd", s.p);
    assert_no_flap(&s, &[&extra]).await;
    let resolved = resolved_events_since(&s.client, &s.name, fault).await;
    assert_eq!(resolved, 0, "no FindingResolved Event");
    let restarts = s.op.metric("kube_posture_watch_restarts_total");
    println!(
        "FIGURE fault=etcd_restarted etcd_down_s=10 restart_s={:.1} change_seen_s={seen:.1} findings={} finding_resolved_events={resolved} watch_restarts={restarts}",
        start_took.as_secs_f64(),
        s.before.len()
    );
}

/// 4: the Finding CRD is deleted under the running operator: a clear condition on the policy,
/// no hot loop; re-applied, the Findings come back.
#[tokio::test]
async fn finding_crd_deleted_and_reapplied() {
    let mut s = scene("f-crd").await;
    let crds: Api<CustomResourceDefinition> = Api::all(s.client.clone());
    let t0 = Instant::now();
    crds.delete("findings.kubeposture.io", &DeleteParams::default())
        .await
        .unwrap();
    let pol = wait_for(Duration::from_secs(30), || async {
        let pol = get_policy(&s.client, &s.name).await;
        let ready = condition(&pol, "Ready")?;
        (ready.status == "False" && ready.message.contains("findings.kubeposture.io"))
            .then_some(pol)
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "no Ready=False naming findings.kubeposture.io within 30 s:\n{}",
            s.op.log_text()
        )
    });
    let reported = t0.elapsed().as_secs_f64();
    let ready = condition(&pol, "Ready").unwrap().clone();
    eprintln!(
        "condition: {} {}: {}",
        ready.status, ready.reason, ready.message
    );

    // A 20 s window: bounded work, no hot loop.
    let writes0 = s.op.metric("kube_posture_api_writes_total");
    let errors0 = s.op.metric("kube_posture_reconcile_errors_total");
    let server0 = server_writes(&s.client).await;
    let logs0 = s.op.log_text().lines().count();
    let failed0 =
        s.op.log_lines("cannot write Finding objects", Some(&s.name))
            .len();
    tokio::time::sleep(Duration::from_secs(20)).await;
    let writes = s.op.metric("kube_posture_api_writes_total") - writes0;
    let errors = s.op.metric("kube_posture_reconcile_errors_total") - errors0;
    let server = server_writes(&s.client).await - server0;
    let log_lines = s.op.log_text().lines().count() - logs0;
    // Each failed attempt stops at the first "not served" answer, so it costs at most
    // MAX_IN_FLIGHT (4) requests; the API server does not count requests to unserved paths.
    let attempts =
        s.op.log_lines("cannot write Finding objects", Some(&s.name))
            .len()
            - failed0;
    assert!(s.op.alive(), "the operator is still running");
    assert!(
        errors < 30.0 && attempts <= 6 && server < 30 && log_lines < 100,
        "hot loop while the CRD is missing: {errors} reconcile errors, {attempts} write attempts, {server} status/Event writes, {log_lines} log lines in 20 s"
    );

    // Re-apply crds/: the Findings come back.
    let t1 = Instant::now();
    install_crds(&s.client).await.unwrap();
    wait_for(Duration::from_secs(60), || async {
        let pol = get_policy(&s.client, &s.name).await;
        let ready = condition(&pol, "Ready")?.status == "True";
        let names: BTreeSet<String> = finding_uids(&s.client, &s.name).await.into_keys().collect();
        let want: BTreeSet<String> = s.before.keys().cloned().collect();
        (ready && names == want).then_some(())
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "the Findings did not come back within 60 s of re-applying crds/:\n{}",
            s.op.log_text()
        )
    });
    let recovery = t1.elapsed().as_secs_f64();
    println!(
        "FIGURE fault=finding_crd_deleted_and_reapplied condition_s={reported:.1} reason={} outage_window_s=20 operator_writes={writes} reconcile_errors={errors} failed_attempts={attempts} max_requests_per_attempt=4 status_event_writes={server} log_lines={log_lines} recovery_s={recovery:.1} findings={}",
        ready.reason,
        s.before.len()
    );
}

/// Write requests the API server counted on policies and Events (it does not count requests
/// to an unserved resource, such as findings while their CRD is deleted).
async fn server_writes(client: &Client) -> u64 {
    let mut n = 0;
    for r in ["securitypolicies", "events"] {
        n += apiserver_writes(client, r).await;
    }
    n
}

/// 5: another field manager ("intruder", server-side apply with force) overwrites a Finding's
/// status and the policy's status: the operator restores its values within the next audit
/// (interval 30 s), then stays quiet.
#[tokio::test]
async fn conflicting_writer() {
    let client = admin().await;
    let p = prefix("f-conflict");
    let op = Operator::start(&p).await;
    kube_posture_e2e::fixture::instantiate_sample(&p, &tmp(&p)).await;
    let name = format!("{p}-c");
    // Namespaced checks in this test's namespaces only: other tests' objects never change it.
    create_policy(
        &client,
        &policy(
            &p,
            &name,
            json!({"checks": {"include": ["workload"]}, "namespaces": {"include": [format!("{p}-*")]}, "interval": "30s"}),
        ),
    )
    .await;
    wait_settled(&client, &name, Duration::from_secs(60)).await;
    let fs = findings(&client, &name).await;
    let target = fs
        .iter()
        .find(|f| f.spec.check == "WL-001")
        .unwrap_or(&fs[0])
        .clone();
    let fname = target.metadata.name.clone().unwrap();
    let original = target.status.clone().unwrap();
    let pol = get_policy(&client, &name).await;
    let original_status = pol.status.clone().unwrap();

    let intruder = PatchParams::apply("intruder").force();
    let finding_api: Api<Finding> = Api::all(client.clone());
    finding_api
        .patch_status(
            &fname,
            &intruder,
            &Patch::Apply(json!({
                "apiVersion": "kubeposture.io/v1alpha1", "kind": "Finding",
                "metadata": {"name": fname},
                "status": {"message": "nothing to see here", "severity": "low"}
            })),
        )
        .await
        .unwrap();
    let policy_api: Api<SecurityPolicy> = Api::all(client.clone());
    policy_api
        .patch_status(
            &name,
            &intruder,
            &Patch::Apply(json!({
                "apiVersion": "kubeposture.io/v1alpha1", "kind": "SecurityPolicy",
                "metadata": {"name": name},
                "status": {"score": 100, "findingsTruncated": !original_status.findings_truncated}
            })),
        )
        .await
        .unwrap();
    let t0 = Instant::now();
    let changed = finding_api.get(&fname).await.unwrap();
    assert_eq!(
        changed.status.as_ref().and_then(|s| s.message.as_deref()),
        Some("nothing to see here"),
        "the intruder's write took"
    );
    wait_for(Duration::from_secs(45), || async {
        let f = finding_api.get(&fname).await.ok()?;
        let st = f.status?;
        let pol = policy_api.get(&name).await.ok()?;
        let ps = pol.status?;
        (st.message == original.message
            && st.severity == original.severity
            && ps.score == original_status.score
            && ps.findings_truncated == original_status.findings_truncated)
            .then_some(())
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "the operator did not restore its values within 45 s:\n{}",
            op.log_text()
        )
    });
    let converged = t0.elapsed().as_secs_f64();
    // No storm: 30 s after convergence, (almost) no writes.
    let w0 = op.metric("kube_posture_api_writes_total");
    let r0 = op.log_lines("reconciled", Some(&name)).len();
    tokio::time::sleep(Duration::from_secs(30)).await;
    let writes = op.metric("kube_posture_api_writes_total") - w0;
    let reconciles = op.log_lines("reconciled", Some(&name)).len() - r0;
    assert!(
        writes <= 2.0,
        "{writes} writes in the 30 s after convergence:\n{}",
        op.log_text()
    );
    println!(
        "FIGURE fault=conflicting_writer convergence_s={converged:.1} interval_s=30 writes_30s_after={writes} reconciles_30s_after={reconciles}"
    );
}

/// 6: SIGTERM while the first writes of a large reconcile are in flight: exit 0 within 10 s,
/// the Lease released.
#[tokio::test]
async fn sigterm_during_large_audit() {
    let plane = PrivatePlane::up("f-sigterm");
    let client = plane.admin().await;
    let p = prefix("f-sigterm");
    let mut op = Operator::start_with(&p, plane.options()).await;
    let name = format!("{p}-big");
    create_policy(
        &client,
        &policy(
            &p,
            &name,
            json!({"checks": {"include": ["RBAC-001"]}, "findingLimit": 5000}),
        ),
    )
    .await;
    wait_for(Duration::from_secs(30), || async {
        (!op.log_lines("reconciled", Some(&name)).is_empty() && op.leading()).then_some(())
    })
    .await
    .expect("first reconcile");
    let reconciled = op.log_lines("reconciled", Some(&name)).len();
    // 20,000 findings: up to 5,000 Finding objects, 10,000 writes at 4 in flight.
    for b in 0..2 {
        let users: Vec<String> = (0..10_000).map(|i| format!("{p}-u{b}-{i:05}")).collect();
        cluster_admin_binding(&client, &format!("{p}-big-{b}"), &users).await;
    }
    let written = wait_for(Duration::from_secs(60), || async {
        let n = findings(&client, &name).await.len();
        (n >= 50).then_some(n)
    })
    .await
    .expect("the writes started");
    let in_progress = op.log_lines("reconciled", Some(&name)).len() == reconciled;
    let t0 = Instant::now();
    let status = op.signal("TERM").expect("exits after SIGTERM");
    let exit = t0.elapsed().as_secs_f64();
    assert!(status.success(), "SIGTERM exits 0: {status:?}");
    assert!(exit <= 10.0, "exited {exit:.1}s after SIGTERM");
    assert!(
        op.log_text().contains("lease released"),
        "{}",
        op.log_text()
    );
    let lease = Api::<Lease>::namespaced(client.clone(), "kube-posture-system")
        .get(&format!("kube-posture-{p}"))
        .await
        .unwrap();
    let holder = lease.spec.and_then(|s| s.holder_identity);
    assert!(
        holder.as_deref().is_none_or(str::is_empty),
        "holderIdentity cleared: {holder:?}"
    );
    println!(
        "FIGURE fault=sigterm_during_large_audit exit_s={exit:.2} exit_code=0 findings_written_at_sigterm={written} reconcile_in_progress={in_progress} lease_released=true"
    );
    drop(op);
    drop(plane);
}

/// 7: 10 ClusterRoleBindings to cluster-admin with 10,000 Users each: 100,000 RBAC-001
/// findings in one policy. The status stays small, Finding objects stop at findingLimit, the
/// counts are exact, Events stay within the per-reconcile budget.
#[tokio::test]
async fn one_hundred_thousand_findings() {
    const BINDINGS: usize = 10;
    const USERS: usize = 10_000;
    const N: u64 = (BINDINGS * USERS) as u64;
    let plane = PrivatePlane::up("f-100k");
    let client = plane.admin().await;
    let p = prefix("f-100k");
    let op = Operator::start_with(
        &p,
        Options {
            extra: vec!["--no-leader-election".into()],
            ..plane.options()
        },
    )
    .await;
    let name = format!("{p}-many");
    create_policy(
        &client,
        &policy(&p, &name, json!({"checks": {"include": ["RBAC-001"]}})),
    )
    .await;
    // What fires without the bindings (RBAC-001 on the plane's own objects, if any).
    let base = wait_for(Duration::from_secs(30), || async {
        let pol = get_policy(&client, &name).await;
        let st = pol.status?;
        Some(st.summary?.total)
    })
    .await
    .expect("first status");
    let since = Timestamp::now();
    let t0 = Instant::now();
    for b in 0..BINDINGS {
        let users: Vec<String> = (0..USERS).map(|i| format!("{p}-u{b}-{i:05}")).collect();
        cluster_admin_binding(&client, &format!("{p}-many-{b}"), &users).await;
    }
    let created = t0.elapsed().as_secs_f64();
    let pol = wait_for(Duration::from_secs(120), || async {
        let pol = get_policy(&client, &name).await;
        let total = pol.status.as_ref()?.summary.as_ref()?.total;
        (total == base + N).then_some(pol)
    })
    .await
    .unwrap_or_else(|_| panic!("no complete status within 120 s:\n{}", op.log_text()));
    let complete = t0.elapsed().as_secs_f64();
    let st = pol.status.as_ref().unwrap();
    let status_bytes = serde_json::to_vec(st).unwrap().len();
    let summary = st.summary.as_ref().unwrap();
    assert_eq!(summary.total, base + N, "exact count");
    assert_eq!(
        summary.critical,
        base + N,
        "RBAC-001 on a ClusterRoleBinding is critical"
    );
    assert!(st.findings_truncated, "findingsTruncated");
    assert!(status_bytes <= 256 * 1024, "status is {status_bytes} bytes");
    let objects = findings(&client, &name).await.len();
    assert!(
        objects <= 500,
        "{objects} Finding objects > findingLimit 500"
    );
    assert_eq!(objects, 500, "findingLimit Finding objects");
    // Let the Events of that reconcile land, then count them.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let events = operator_events_since(&client, since).await;
    let warnings = events
        .iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .count();
    let series: i32 = events
        .iter()
        .map(|e| e.series.as_ref().map_or(1, |s| s.count))
        .sum();
    assert!(
        warnings <= EVENT_BUDGET,
        "{warnings} Warning Events > the per-reconcile budget"
    );
    let audit_ms = op
        .log_lines("reconciled", Some(&name))
        .iter()
        .filter_map(|l| l["audit_ms"].as_u64())
        .max()
        .unwrap_or(0);
    let writes = op.metric("kube_posture_api_writes_total");
    println!(
        "FIGURE fault=one_hundred_thousand_findings findings={} status_bytes={status_bytes} finding_objects={objects} truncated=true warning_events={warnings} event_occurrences={series} api_writes={writes} create_bindings_s={created:.1} first_complete_status_s={complete:.1} max_audit_ms={audit_ms}",
        base + N
    );
}
