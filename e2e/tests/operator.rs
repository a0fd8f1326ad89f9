//! The operator against a real API server (issue 5's scenarios): Findings, status, Events,
//! policy edits, garbage collection, independent policies, DaemonSet coverage, the finding
//! limit and invalid policies. Each test runs its own operator as the operator's own identity.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube_posture::api::{Finding, SecurityPolicy};
use kube_posture_e2e::fixture::instantiate_sample;
use kube_posture_e2e::operator::{
    Operator, condition, create_policy, findings, get_policy, policy, sample_policy,
    wait_reconciled,
};
use kube_posture_e2e::private_plane::PrivatePlane;
use kube_posture_e2e::{admin, kubectl, node_info, prefix, text, wait_for};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

fn tmp(p: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("kp-e2e-{p}"))
}

/// Findings of `policy` whose target belongs to `prefix`, as "CHECK Kind ns/name".
async fn owned(client: &Client, policy: &str, prefix: &str) -> BTreeSet<String> {
    findings(client, policy)
        .await
        .into_iter()
        .filter(|f| {
            let r = &f.spec.resource;
            r.namespace.starts_with(prefix) || r.name.starts_with(prefix)
        })
        .map(|f| {
            format!(
                "{} {} {}/{}",
                f.spec.check, f.spec.resource.kind, f.spec.resource.namespace, f.spec.resource.name
            )
        })
        .collect()
}

async fn wait_until<F, Fut>(what: &str, timeout: Duration, f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<()>>,
{
    wait_for(timeout, f)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"));
}

async fn has_finding(client: &Client, policy: &str, check: &str, name: &str) -> bool {
    findings(client, policy)
        .await
        .iter()
        .any(|f| f.spec.check == check && f.spec.resource.name == name)
}

async fn events_about(client: &Client, namespace: &str, kind: &str, name: &str) -> Vec<Event> {
    Api::<Event>::namespaced(client.clone(), namespace)
        .list(&ListParams::default())
        .await
        .expect("list events")
        .items
        .into_iter()
        .filter(|e| {
            e.regarding
                .as_ref()
                .is_some_and(|r| r.kind.as_deref() == Some(kind) && r.name.as_deref() == Some(name))
        })
        .collect()
}

/// 1 + 2: Findings for every expected check, status, kubectl columns; fixes resolve Findings
/// within 10 s with Events.
#[tokio::test]
async fn findings_status_events_and_fixes() {
    let client = admin().await;
    let p = prefix("op-main");
    let op = Operator::start(&p).await;
    let r = instantiate_sample(&p, &tmp(&p)).await;
    let name = format!("{p}-base");
    create_policy(&client, &sample_policy(&p, &name)).await;

    let expected = [
        "RBAC-001", "RBAC-002", "RBAC-003", "RBAC-004", "RBAC-005", "RBAC-006", "RBAC-007",
        "RBAC-008", "RBAC-009", "RBAC-010", "RBAC-011", "RBAC-012", "RBAC-013", "RBAC-014",
        "RBAC-015", "RBAC-016", "RBAC-017", "RBAC-030", "WL-001", "WL-002", "WL-003", "WL-004",
        "WL-005", "WL-010", "WL-011", "WL-012", "WL-013",
    ];
    wait_until(
        "a Finding for every expected check",
        Duration::from_secs(30),
        || async {
            let got: BTreeSet<String> = owned(&client, &name, &p)
                .await
                .iter()
                .map(|s| s.split(' ').next().unwrap().to_string())
                .collect();
            expected.iter().all(|c| got.contains(*c)).then_some(())
        },
    )
    .await;
    let pol = wait_reconciled(&client, &name).await;
    let st = pol.status.as_ref().unwrap();
    assert_eq!(st.observed_generation, pol.metadata.generation);
    assert_eq!(condition(&pol, "Ready").unwrap().status, "True");
    assert_eq!(condition(&pol, "Compliant").unwrap().status, "False");
    // kstatus: after an audit, nothing in progress and nothing stuck.
    for kstatus in ["Reconciling", "Stalled"] {
        let c = condition(&pol, kstatus).unwrap_or_else(|| panic!("no {kstatus} condition"));
        assert_eq!(c.status, "False", "{kstatus}: {}", c.message);
        assert_eq!(c.observed_generation, pol.metadata.generation);
    }
    let all = findings(&client, &name).await;
    let summary = st.summary.as_ref().unwrap();
    assert_eq!(
        summary.total + summary.suppressed,
        all.len() as u64,
        "counts match the Finding objects"
    );
    assert!(st.score.is_some_and(|s| s <= 100));
    // Issue 15: a summary per compliance framework, judged from the same audit.
    let ids: Vec<&str> = st.frameworks.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(
        ids,
        ["cis-1.12", "nsa-cisa-1.2", "pss-baseline", "pss-restricted"],
        "status.frameworks"
    );
    let baseline = &st.frameworks[2];
    assert!(
        baseline.failed >= 1 && baseline.score.is_some_and(|s| s < 100),
        "privileged pods fail the baseline: {baseline:?}"
    );
    // Issue 14: the posture by layer, from the same audit; a layer nothing could assess
    // (XL-*: this control plane has no Node to trace a path through) has no score, not 100.
    let layer = |l: kube_posture::catalog::Layer| {
        st.layers
            .iter()
            .find(|s| s.layer == l)
            .unwrap_or_else(|| panic!("no {l} in status.layers: {:?}", st.layers))
    };
    let identity = layer(kube_posture::catalog::Layer::Identity);
    assert!(
        identity.critical >= 1 && identity.score.is_some_and(|s| s < 100),
        "{identity:?}"
    );
    let paths = layer(kube_posture::catalog::Layer::Paths);
    assert_eq!((paths.score, paths.assessed), (None, 0), "{paths:?}");
    // The per-framework and per-layer gauges, for this policy.
    let series = [
        format!(
            "kube_posture_framework_controls{{policy=\"{name}\",framework=\"pss-baseline\",status=\"fail\"}} "
        ),
        format!("kube_posture_framework_score{{policy=\"{name}\",framework=\"pss-baseline\"}} "),
        format!("kube_posture_layer_score{{policy=\"{name}\",layer=\"identity\"}} "),
    ];
    wait_until(
        "the framework and layer gauges of the policy",
        Duration::from_secs(10),
        || async {
            let url = format!("{}/metrics", op.metrics_url());
            let (_, body) = kube_posture_e2e::http_get(&url).ok()?;
            series
                .iter()
                .all(|s| body.lines().any(|l| l.starts_with(s.as_str())))
                .then_some(())
        },
    )
    .await;
    let absent = format!("kube_posture_layer_score{{policy=\"{name}\",layer=\"paths\"}}");
    let (_, body) = kube_posture_e2e::http_get(&format!("{}/metrics", op.metrics_url())).unwrap();
    assert!(
        !body.contains(&absent),
        "no score series for an unassessed layer"
    );

    {
        let o = kubectl(&[
            "get",
            "findings",
            "-l",
            &format!("kubeposture.io/policy={name}"),
        ]);
        let out = text(&o.stdout);
        let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(
            header,
            [
                "NAME",
                "SEVERITY",
                "CHECK",
                "KIND",
                "NAMESPACE",
                "NAME",
                "AGE"
            ]
        );
        let row = out
            .lines()
            .find(|l| l.contains(&format!("{p}-ci-admin")))
            .expect("ci-admin row");
        assert!(
            row.contains("critical")
                && row.contains("RBAC-001")
                && row.contains("ClusterRoleBinding"),
            "{row}"
        );
    }

    // Warning Events: a cluster-scoped target (in kube-system) and a namespaced one.
    let crb = format!("{p}-ci-admin");
    wait_until(
        "a Warning Event on the ClusterRoleBinding, in kube-system",
        Duration::from_secs(10),
        || async {
            let evs = events_about(&client, "kube-system", "ClusterRoleBinding", &crb).await;
            evs.iter()
                .any(|e| {
                    e.type_.as_deref() == Some("Warning")
                        && e.reason.as_deref() == Some("ClusterAdminGranted")
                })
                .then_some(())
        },
    )
    .await;
    let ns = r.namespace("payments");
    let evs = events_about(&client, &ns, "Deployment", "api").await;
    assert!(
        evs.iter()
            .any(|e| e.reason.as_deref() == Some("PrivilegedContainer")),
        "{evs:?}"
    );

    // Fix two misconfigurations: their Findings go within 10 s, with FindingResolved Events.
    Api::<ClusterRoleBinding>::all(client.clone())
        .delete(&crb, &DeleteParams::default())
        .await
        .unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "api", "securityContext": {"privileged": false}}]}}}});
    deployments
        .patch("api", &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    wait_until(
        "the fixed misconfigurations' Findings deleted",
        Duration::from_secs(10),
        || async {
            let gone = !has_finding(&client, &name, "RBAC-001", &crb).await
                && !has_finding(&client, &name, "WL-001", "api").await;
            gone.then_some(())
        },
    )
    .await;
    eprintln!("fixes resolved in {:?}", started.elapsed());
    wait_until(
        "FindingResolved Events on the policy",
        Duration::from_secs(10),
        || async {
            let evs = events_about(&client, "kube-system", "SecurityPolicy", &name).await;
            let resolved: Vec<_> = evs
                .iter()
                .filter(|e| e.reason.as_deref() == Some("FindingResolved"))
                .collect();
            (resolved.len() >= 2).then_some(())
        },
    )
    .await;
    drop(op);
}

/// 3: editing the policy: an excluded check's Findings go, an exception suppresses, an
/// expired one raises POL-001.
#[tokio::test]
async fn policy_edits_are_followed() {
    let client = admin().await;
    let p = prefix("op-edit");
    let _op = Operator::start(&p).await;
    instantiate_sample(&p, &tmp(&p)).await;
    let name = format!("{p}-edit");
    create_policy(
        &client,
        &policy(&p, &name, json!({"checks": {"include": ["rbac"]}})),
    )
    .await;
    wait_until("RBAC-005 Finding", Duration::from_secs(30), || async {
        has_finding(&client, &name, "RBAC-005", &format!("{p}-prometheus"))
            .await
            .then_some(())
    })
    .await;
    let api: Api<SecurityPolicy> = Api::all(client.clone());
    let spec = json!({"spec": {
        "checks": {"include": ["rbac", "policy"], "exclude": ["RBAC-005"]},
        "exceptions": [
            {"check": "RBAC-002", "resource": {"kind": "ClusterRoleBinding", "name": format!("{p}-public-dashboard")}, "reason": "public status page, reviewed"},
            {"check": "RBAC-008", "resource": {"name": format!("{p}-sudo")}, "reason": "old waiver", "expires": "2020-01-01T00:00:00Z"}
        ]
    }});
    api.patch(&name, &PatchParams::default(), &Patch::Merge(&spec))
        .await
        .unwrap();
    wait_until("the edit is followed", Duration::from_secs(15), || async {
        let fs = findings(&client, &name).await;
        let no_005 = !fs.iter().any(|f| f.spec.check == "RBAC-005");
        let suppressed = fs.iter().any(|f| {
            f.spec.check == "RBAC-002"
                && f.spec.resource.name == format!("{p}-public-dashboard")
                && f.status.as_ref().is_some_and(|s| s.suppressed)
        });
        let pol001 = fs.iter().any(|f| {
            f.spec.check == "POL-001"
                && f.spec.resource.kind == "SecurityPolicy"
                && f.spec.resource.name == name
        });
        (no_005 && suppressed && pol001).then_some(())
    })
    .await;
    let pol = wait_reconciled(&client, &name).await;
    assert!(pol.status.unwrap().summary.unwrap().suppressed >= 1);
}

/// 4: deleting the policy garbage-collects its Findings.
#[tokio::test]
async fn deleting_the_policy_collects_its_findings() {
    let client = admin().await;
    let p = prefix("op-gc");
    let _op = Operator::start(&p).await;
    instantiate_sample(&p, &tmp(&p)).await;
    let name = format!("{p}-gc");
    create_policy(
        &client,
        &policy(&p, &name, json!({"checks": {"include": ["rbac"]}})),
    )
    .await;
    wait_until("Findings exist", Duration::from_secs(30), || async {
        (!findings(&client, &name).await.is_empty()).then_some(())
    })
    .await;
    Api::<SecurityPolicy>::all(client.clone())
        .delete(&name, &DeleteParams::default())
        .await
        .unwrap();
    wait_until(
        "Findings garbage-collected",
        Duration::from_secs(60),
        || async { findings(&client, &name).await.is_empty().then_some(()) },
    )
    .await;
}

/// 5: two policies with different scopes have independent Findings.
#[tokio::test]
async fn two_policies_two_scopes() {
    let client = admin().await;
    let p = prefix("op-two");
    let _op = Operator::start(&p).await;
    let r = instantiate_sample(&p, &tmp(&p)).await;
    let (a, b) = (format!("{p}-payments"), format!("{p}-ci"));
    create_policy(&client, &policy(&p, &a, json!({"checks": {"include": ["workload"]}, "namespaces": {"include": [r.namespace("payments")]}}))).await;
    create_policy(&client, &policy(&p, &b, json!({"checks": {"include": ["workload"]}, "namespaces": {"include": [r.namespace("ci")]}}))).await;
    wait_until(
        "both policies have their Findings",
        Duration::from_secs(30),
        || async {
            let fa = owned(&client, &a, &p).await;
            let fb = owned(&client, &b, &p).await;
            let a_ok = fa.iter().any(|f| f.starts_with("WL-001 Deployment"))
                && !fa.iter().any(|f| f.contains("docker-builder"));
            let b_ok = fb.iter().any(|f| f.contains("docker-builder"))
                && !fb.iter().any(|f| f.contains("/api"));
            (a_ok && b_ok).then_some(())
        },
    )
    .await;
}

/// 6: DaemonSet coverage on a live cluster: a tainted control-plane node without the agent.
#[tokio::test]
async fn daemonset_coverage_live() {
    // On a control plane of its own: its Nodes are cluster-wide, and the other tests expect
    // none (a policy's paths layer, the CIS report's kubelet controls).
    let plane = PrivatePlane::up("op-ds");
    let client = plane.admin().await;
    let p = prefix("op-ds");
    let _op = Operator::start_with(&p, plane.options()).await;
    for (n, taint) in [("cp", true), ("w1", false), ("w2", false)] {
        let name = format!("{p}-{n}");
        let mut node = json!({"metadata": {"name": name, "labels": {"e2e": p}}});
        if taint {
            node["spec"] = json!({"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]});
        }
        let status = json!({"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "lastHeartbeatTime": "2026-11-28T12:00:00Z", "lastTransitionTime": "2026-11-28T12:00:00Z"}],
                            "nodeInfo": node_info("6.1", "Debian", "linux")});
        kube_posture_e2e::create_node(&client, node, status)
            .await
            .unwrap();
    }
    let ns = format!("{p}-falco");
    kube_posture_e2e::apply(&client, &[json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "falco", "namespace": ns},
               "spec": {"selector": {"matchLabels": {"app": "falco"}},
                        "template": {"metadata": {"labels": {"app": "falco"}},
                                     "spec": {"nodeSelector": {"e2e": p}, "containers": [{"name": "falco", "image": "falcosecurity/falco:0.39.1"}]}}}})]).await.unwrap();
    // The DaemonSet controller creates a Pod per eligible node (no scheduler runs here, so they
    // stay unscheduled with a node affinity); mark them Running and Ready as a kubelet would.
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    wait_until(
        "DaemonSet Pods for the two workers",
        Duration::from_secs(30),
        || async { (pods.list(&ListParams::default()).await.ok()?.items.len() >= 2).then_some(()) },
    )
    .await;
    for pod in pods.list(&ListParams::default()).await.unwrap() {
        let status = json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                             "containerStatuses": [{"name": "falco", "ready": true, "restartCount": 0, "image": "falcosecurity/falco:0.39.1", "imageID": "", "state": {"running": {}}}]}});
        pods.patch_status(
            &pod.metadata.name.unwrap(),
            &PatchParams::default(),
            &Patch::Merge(&status),
        )
        .await
        .unwrap();
    }
    let name = format!("{p}-agents");
    create_policy(
        &client,
        &policy(
            &p,
            &name,
            json!({"checks": {"include": ["daemonset"]},
        "requiredDaemonSets": [{"namespace": ns, "name": "falco", "nodeSelector": {"e2e": p}}]}),
        ),
    )
    .await;
    wait_until(
        "DS-002 on the tainted node, nothing on the workers",
        Duration::from_secs(30),
        || async {
            let fs: Vec<Finding> = findings(&client, &name).await;
            let on = |n: &str| {
                fs.iter()
                    .filter(|f| f.spec.resource.name == format!("{p}-{n}"))
                    .collect::<Vec<_>>()
            };
            let cp = on("cp");
            let ok = cp.len() == 1
                && cp[0].spec.check == "DS-002"
                && cp[0].status.as_ref().and_then(|s| s.reason.as_deref())
                    == Some("TaintNotTolerated")
                && on("w1").is_empty()
                && on("w2").is_empty();
            ok.then_some(())
        },
    )
    .await;
}

/// 7: `findingLimit: 5` with more findings: 5 objects, exact counts, findingsTruncated.
#[tokio::test]
async fn finding_limit_caps_objects_not_counts() {
    let client = admin().await;
    let p = prefix("op-limit");
    let _op = Operator::start(&p).await;
    instantiate_sample(&p, &tmp(&p)).await;
    let name = format!("{p}-limit");
    create_policy(
        &client,
        &policy(
            &p,
            &name,
            json!({"findingLimit": 5, "namespaces": {"include": [format!("{p}-*")]}}),
        ),
    )
    .await;
    wait_until(
        "5 Findings and truncated counts",
        Duration::from_secs(30),
        || async {
            let fs = findings(&client, &name).await;
            let pol = get_policy(&client, &name).await;
            let st = pol.status?;
            let total = st.summary.as_ref()?.total + st.summary.as_ref()?.suppressed;
            (fs.len() == 5 && total >= 20 && st.findings_truncated).then_some(())
        },
    )
    .await;
    // The 5 kept are the most severe.
    let fs = findings(&client, &name).await;
    assert!(fs.iter().all(|f| f.status.as_ref().and_then(|s| s.severity)
        == Some(kube_posture::catalog::Severity::Critical)));
}

/// 8: a policy the schema accepts but that makes no sense: Ready=False, InvalidPolicy, named
/// field; no crash and no hot loop; fixing it recovers.
#[tokio::test]
async fn invalid_policy_reports_and_waits() {
    let client = admin().await;
    let p = prefix("op-invalid");
    let op = Operator::start(&p).await;
    let name = format!("{p}-bad");
    create_policy(
        &client,
        &policy(
            &p,
            &name,
            json!({"checks": {"include": ["RBAC-999"]}, "interval": "5s"}),
        ),
    )
    .await;
    let pol = wait_reconciled(&client, &name).await;
    let ready = condition(&pol, "Ready").unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "InvalidPolicy")
    );
    let stalled = condition(&pol, "Stalled").expect("a Stalled condition");
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", "InvalidPolicy")
    );
    assert!(
        ready.message.contains("spec.checks.include[0]") && ready.message.contains("spec.interval"),
        "{}",
        ready.message
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    let n = op.log_lines("reconciled", Some(&name)).len();
    assert_eq!(
        n,
        1,
        "reconciled once, then waits for a spec change:\n{}",
        op.log_text()
    );
    let api: Api<SecurityPolicy> = Api::all(client.clone());
    api.patch(
        &name,
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"checks": {"include": ["rbac"]}, "interval": "1m"}})),
    )
    .await
    .unwrap();
    wait_until("valid again", Duration::from_secs(15), || async {
        let pol = get_policy(&client, &name).await;
        let ready = condition(&pol, "Ready")?;
        (ready.status == "True"
            && condition(&pol, "Stalled")?.status == "False"
            && pol.status.as_ref()?.observed_generation == pol.metadata.generation)
            .then_some(())
    })
    .await;
}
