//! One writer, provably (issue 13): two replicas share a Lease; the leader is frozen (SIGSTOP)
//! past the lease, the other takes over and writes, the first is resumed. The API server's
//! audit log (every request of the operator identity, with each replica's User-Agent) shows
//! that the two never wrote in overlapping windows: every write of the first comes before the
//! first write of the second, and the first writes nothing once resumed.

use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use kube::Client;
use kube::api::{Api, PostParams};
use kube_posture_e2e::fixture::instantiate_sample_on;
use kube_posture_e2e::operator::{
    Operator, Options, create_policy, findings, sample_policy, wait_reconciled,
};
use kube_posture_e2e::private_plane::PrivatePlane;
use kube_posture_e2e::{prefix, repo, wait_for};
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

async fn admin_binding(client: &Client, name: &str) {
    let crb: ClusterRoleBinding = serde_json::from_value(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": format!("{name}-user")}],
    }))
    .unwrap();
    Api::<ClusterRoleBinding>::all(client.clone())
        .create(&PostParams::default(), &crb)
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e}"));
}

async fn wait_finding_on(client: &Client, policy: &str, binding: &str) {
    wait_for(Duration::from_secs(60), || async {
        findings(client, policy)
            .await
            .iter()
            .any(|f| f.spec.resource.name == binding)
            .then_some(())
    })
    .await
    .unwrap_or_else(|_| panic!("a Finding on {binding}"));
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -{sig} {pid}");
}

/// A write in the audit log: (time the request was received, replica, what).
fn writes(log: &str, replicas: &[&str]) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["stage"] == "ResponseComplete")
        .filter(|e| {
            matches!(
                e["verb"].as_str(),
                Some("create" | "update" | "patch" | "delete" | "deletecollection")
            )
        })
        // The Lease is how they agree; everything else is a write of the audit's results.
        .filter(|e| e["objectRef"]["resource"] != "leases")
        .filter(|e| e["objectRef"]["resource"] != "selfsubjectaccessreviews")
        .filter_map(|e| {
            let agent = e["userAgent"].as_str()?;
            let replica = replicas
                .iter()
                .find(|r| agent.contains(&format!("({r})")))?;
            Some((
                e["requestReceivedTimestamp"].as_str()?.to_string(),
                replica.to_string(),
                format!(
                    "{} {} {} -> {}",
                    e["verb"].as_str().unwrap_or(""),
                    e["objectRef"]["resource"].as_str().unwrap_or(""),
                    e["objectRef"]["name"].as_str().unwrap_or(""),
                    e["responseStatus"]["code"]
                ),
            ))
        })
        .collect();
    // RFC 3339 with microseconds, all UTC: text order is time order.
    out.sort();
    out
}

#[tokio::test]
async fn a_frozen_leader_never_writes_after_its_successor() {
    let p = prefix("leader");
    let audit_log = std::env::temp_dir().join(format!("kp-e2e-{p}-audit.log"));
    let plane = PrivatePlane::up_with(
        "leader",
        &[
            format!(
                "--audit-policy-file={}",
                repo().join("bench/audit-policy.yaml").display()
            ),
            format!("--audit-log-path={}", audit_log.display()),
        ],
    );
    let client = plane.admin().await;
    let lease = format!("kube-posture-{p}");
    let (ra, rb) = (format!("{p}-a"), format!("{p}-b"));
    let start = |instance: &str| Options {
        instance: Some(instance.to_string()),
        lease: Some(lease.clone()),
        ..plane.options()
    };
    let a = Operator::start_with(&p, start(&ra)).await;
    wait_for(Duration::from_secs(20), || async {
        a.leading().then_some(())
    })
    .await
    .expect("the first replica leads");
    let b = Operator::start_with(&p, start(&rb)).await;
    instantiate_sample_on(
        &client,
        &p,
        &std::env::temp_dir().join(format!("kp-e2e-{p}")),
    )
    .await;
    let name = format!("{p}-base");
    create_policy(&client, &sample_policy(&p, &name)).await;
    wait_reconciled(&client, &name).await;
    admin_binding(&client, &format!("{p}-before")).await;
    wait_finding_on(&client, &name, &format!("{p}-before")).await;
    assert!(!b.leading(), "one leader");

    // Freeze the leader past its lease; the other takes over and writes.
    signal(a.pid(), "STOP");
    let frozen = Instant::now();
    wait_for(Duration::from_secs(40), || async {
        b.leading().then_some(())
    })
    .await
    .unwrap_or_else(|_| panic!("the second replica takes over:\n{}", b.log_text()));
    let takeover = frozen.elapsed();
    admin_binding(&client, &format!("{p}-during")).await;
    wait_finding_on(&client, &name, &format!("{p}-during")).await;

    // Resume the old leader, and give it something to write right away.
    signal(a.pid(), "CONT");
    let resumed = Instant::now();
    admin_binding(&client, &format!("{p}-after")).await;
    wait_finding_on(&client, &name, &format!("{p}-after")).await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let a_log = a.log_text();
    assert!(
        a_log.contains("\"leading\":false"),
        "the resumed replica says it no longer leads:\n{a_log}"
    );
    drop(a);
    drop(b);

    let log = std::fs::read_to_string(&audit_log).expect("the API server's audit log");
    let all = writes(&log, &[&ra, &rb]);
    let first_b = all
        .iter()
        .position(|(_, r, _)| *r == rb)
        .expect("the successor wrote");
    let a_writes = all.iter().filter(|(_, r, _)| *r == ra).count();
    assert!(a_writes > 0, "the first leader wrote before it was frozen");
    let late: Vec<&(String, String, String)> =
        all[first_b..].iter().filter(|(_, r, _)| *r == ra).collect();
    assert!(
        late.is_empty(),
        "the old leader wrote after its successor's first write: {late:#?}\nall writes: {all:#?}"
    );
    println!(
        "FIGURE leader=sigstop takeover_s={:.1} writes_before={a_writes} writes_after={} resumed_quiet_s={:.1}",
        takeover.as_secs_f64(),
        all.len() - first_b,
        resumed.elapsed().as_secs_f64()
    );
    drop(plane);
}
