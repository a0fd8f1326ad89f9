//! OpenReports output (issue 15) against the real API server: the operator writes one
//! `Report` per audited namespaced resource and a `ClusterReport` per cluster-scoped one,
//! with summaries that equal their results; a fixed misconfiguration leaves its report, a
//! report with no result left is deleted, a deleted resource's report is garbage-collected
//! (owner reference), a report over budget is capped as documented (docs/openreports.md), and
//! `--reports wgpolicy` writes the legacy group and removes ours from the other one. One test,
//! one writer at a time: reports are per resource, not per operator.
//!
//! The budget is lowered to 2 results with the hidden `--report-max-results` flag: reaching
//! the real 500 would need 500 findings on one object.

use k8s_openapi::api::apps::v1::Deployment;
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::discovery::ApiResource;
use kube_posture::api::Finding;
use kube_posture_e2e::operator::{
    Operator, Options, condition, create_policy, findings, policy, wait_reconciled,
};
use kube_posture_e2e::{admin, apply, kubectl, prefix, repo, text, wait_for};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const MAX_RESULTS: usize = 2;
const MANAGED: &str = "app.kubernetes.io/managed-by=kube-posture";

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: "openreports.io".into(),
        version: "v1alpha1".into(),
        api_version: "openreports.io/v1alpha1".into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// Apply `file` of config/openreports/ (as a user would) and wait until `api_version` serves
/// `plurals`.
async fn install_crds(client: &Client, file: &str, api_version: &str, plurals: [&str; 2]) {
    let text = std::fs::read_to_string(repo().join("config/openreports").join(file)).unwrap();
    let docs: Vec<Value> = kube_posture::yaml::from_str_multi(&text).unwrap();
    assert_eq!(docs.len(), 2, "a namespaced and a cluster kind");
    apply(client, &docs).await.expect("apply the report CRDs");
    wait_for(Duration::from_secs(30), || async {
        let list = client.list_api_group_resources(api_version).await.ok()?;
        let names: BTreeSet<String> = list.resources.into_iter().map(|r| r.name).collect();
        plurals.iter().all(|p| names.contains(*p)).then_some(())
    })
    .await
    .expect("the report API is served");
}

async fn install_openreports(client: &Client) {
    install_crds(
        client,
        "crds.yaml",
        "openreports.io/v1alpha1",
        ["reports", "clusterreports"],
    )
    .await;
}

/// A Deployment hardened as the operator's own (which passes every check), with `extra`
/// merged into its container's securityContext and `pod` into its pod spec.
fn deployment(ns: &str, name: &str, extra: Value, pod: Value) -> Value {
    let mut sc = json!({
        "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
        "capabilities": {"drop": ["ALL"]}
    });
    merge(&mut sc, extra);
    let mut spec = json!({
        "automountServiceAccountToken": false,
        "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "app", "image": "registry.example/app@sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
            "securityContext": sc,
        }],
    });
    merge(&mut spec, pod);
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"namespace": ns, "name": name},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": spec}},
    })
}

fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

/// Our reports (namespaced and cluster), by name.
async fn reports(client: &Client) -> BTreeMap<String, DynamicObject> {
    let mut out = BTreeMap::new();
    for (kind, plural) in [("Report", "reports"), ("ClusterReport", "clusterreports")] {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource(kind, plural));
        for r in api
            .list(&ListParams::default().labels(MANAGED))
            .await
            .expect("list reports")
            .items
        {
            out.insert(r.metadata.name.clone().unwrap(), r);
        }
    }
    out
}

fn results(r: &DynamicObject) -> Vec<Value> {
    r.data["results"].as_array().cloned().unwrap_or_default()
}

fn omitted(r: &DynamicObject) -> usize {
    r.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("kubeposture.io/results-omitted"))
        .map_or(0, |n| n.parse().unwrap())
}

/// Every report: its summary equals its results, all five counts present, within budget,
/// one resource per result. Every Finding of `policy` is a result of the report of its
/// resource, unless that report says it left results out.
async fn check_reports(client: &Client, policy: &str) -> Result<(), String> {
    let all = reports(client).await;
    for (name, r) in &all {
        let res = results(r);
        let count = |o: &str| res.iter().filter(|x| x["result"] == o).count() as u64;
        let s = &r.data["summary"];
        for (k, want) in [
            ("pass", 0),
            ("fail", count("fail")),
            ("warn", 0),
            ("error", 0),
            ("skip", count("skip")),
        ] {
            if s[k].as_u64() != Some(want) {
                return Err(format!("{name}: summary.{k} {} != {want}", s[k]));
            }
        }
        if res.len() > MAX_RESULTS {
            return Err(format!("{name}: {} results over the budget", res.len()));
        }
        if res
            .iter()
            .any(|x| x["resources"].as_array().map(Vec::len) != Some(1))
        {
            return Err(format!("{name}: a result without exactly one resource"));
        }
    }
    let fs: Vec<Finding> = findings(client, policy).await;
    if fs.is_empty() {
        return Err("no Findings yet".into());
    }
    for f in &fs {
        let n = f.metadata.name.as_deref().unwrap();
        let found = all.values().any(|r| {
            results(r)
                .iter()
                .any(|x| x["properties"]["finding"] == n && x["properties"]["policy"] == policy)
        });
        let capped = all
            .values()
            .any(|r| omitted(r) > 0 && r.data["scope"]["name"] == f.spec.resource.name.as_str());
        if !found && !capped {
            return Err(format!("Finding {n} has no result"));
        }
    }
    Ok(())
}

async fn uid_of(client: &Client, ns: &str, name: &str) -> String {
    Api::<Deployment>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .expect("get deployment")
        .metadata
        .uid
        .unwrap()
}

async fn report_named(client: &Client, name: &str) -> Option<DynamicObject> {
    reports(client).await.remove(name)
}

async fn wait_until<T, F, Fut>(what: &str, f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    wait_for(Duration::from_secs(60), f)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

#[tokio::test]
async fn openreports_follow_findings_fixes_deletions_and_budget() {
    let client = admin().await;
    install_openreports(&client).await;
    let p = prefix("or");
    let ns = format!("{p}-app");
    let op = Operator::start_with(
        &p,
        Options {
            reports: Some("auto".into()),
            extra: vec![format!("--report-max-results={MAX_RESULTS}")],
            ..Default::default()
        },
    )
    .await;
    let privileged = json!({"privileged": true, "allowPrivilegeEscalation": true,
                            "capabilities": {"add": ["SYS_ADMIN", "NET_ADMIN"]}});
    let host = json!({"hostPID": true, "hostNetwork": true, "hostIPC": true});
    let one = json!({"privileged": true, "allowPrivilegeEscalation": true});
    apply(
        &client,
        &[
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
            // Three findings (WL-001, WL-002, WL-004): over the budget of 2.
            deployment(&ns, "web", privileged, host.clone()),
            // One finding, fixed later: its report goes away.
            deployment(&ns, "fixme", one.clone(), json!({})),
            // Deleted later: its report is garbage-collected.
            deployment(&ns, "gone", one, json!({})),
        ],
    )
    .await
    .expect("apply the workloads");
    let name = format!("{p}-reports");
    create_policy(
        &client,
        &policy(
            &p,
            &name,
            json!({"checks": {"include": ["workload"]}, "namespaces": {"include": [format!("{p}-*")]}}),
        ),
    )
    .await;

    let web = format!("kube-posture-{}", uid_of(&client, &ns, "web").await);
    let fixme = format!("kube-posture-{}", uid_of(&client, &ns, "fixme").await);
    let gone = format!("kube-posture-{}", uid_of(&client, &ns, "gone").await);
    for r in [&web, &fixme, &gone] {
        wait_until(&format!("report {r}"), || report_named(&client, r)).await;
    }
    wait_until("every Finding in a report, every summary right", || async {
        check_reports(&client, &name).await.ok()
    })
    .await;

    let pol = wait_reconciled(&client, &name).await;
    let c = condition(&pol, "ReportsWritten").expect("a ReportsWritten condition");
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("True", "OpenReports")
    );
    assert_eq!(condition(&pol, "Degraded").unwrap().status, "False");

    // What a user sees.
    let o = kubectl(&["get", "reports.openreports.io", "-A", "-o", "wide"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let table = text(&o.stdout);
    for r in [&web, &fixme, &gone] {
        assert!(table.contains(r.as_str()), "{r} in:\n{table}");
    }
    for col in ["KIND", "NAME", "PASS", "FAIL", "WARN", "ERROR", "SKIP"] {
        assert!(table.contains(col), "{col} in:\n{table}");
    }
    let ns_uid = Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
        .get(&ns)
        .await
        .unwrap()
        .metadata
        .uid
        .unwrap();
    let ns_report = format!("kube-posture-{ns_uid}");
    let o = kubectl(&["get", "clusterreports", "-o", "wide"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains(&ns_report),
        "the Namespace's ClusterReport (WL-013) in:\n{}",
        text(&o.stdout)
    );

    // The report of `web`: scoped to and owned by it, capped at 2 of its results, the most
    // severe ones, saying how many it left out.
    let w = report_named(&client, &web).await.unwrap();
    assert_eq!(w.data["source"], "kube-posture");
    assert_eq!(w.data["scope"]["kind"], "Deployment");
    assert_eq!(w.data["scope"]["name"], "web");
    let owner = &w.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("Deployment", "web")
    );
    assert_eq!(w.data["configuration"]["limits"]["maxResults"], MAX_RESULTS);
    let web_findings: Vec<Finding> = findings(&client, &name)
        .await
        .into_iter()
        .filter(|f| f.spec.resource.kind == "Deployment" && f.spec.resource.name == "web")
        .collect();
    assert!(
        web_findings.len() > MAX_RESULTS,
        "the fixture has more findings than the budget: {}",
        web_findings.len()
    );
    assert_eq!(results(&w).len(), MAX_RESULTS);
    assert_eq!(omitted(&w), web_findings.len() - MAX_RESULTS);
    let rank = |s: &str| {
        ["info", "low", "medium", "high", "critical"]
            .iter()
            .position(|x| *x == s)
    };
    let kept_min = results(&w)
        .iter()
        .filter_map(|x| rank(x["severity"].as_str()?))
        .min()
        .unwrap();
    let all_max_left = {
        let mut sev: Vec<usize> = web_findings
            .iter()
            .filter_map(|f| rank(f.status.as_ref()?.severity?.as_str()))
            .collect();
        sev.sort_unstable_by(|a, b| b.cmp(a));
        sev[MAX_RESULTS]
    };
    assert!(kept_min >= all_max_left, "the most severe are kept");
    for x in results(&w) {
        assert_eq!(x["source"], "kube-posture");
        assert_eq!(x["result"], "fail");
        assert!(x["timestamp"]["seconds"].as_i64().unwrap() > 0);
        assert_eq!(x["properties"]["resultID"].as_str().unwrap().len(), 16);
    }

    // Unchanged audits write nothing: the same resourceVersion after another audit.
    let rv = w.metadata.resource_version.clone();
    let passes = op.log_lines("policy reports written", None).len();
    let pols: Api<kube_posture::api::SecurityPolicy> = Api::all(client.clone());
    pols.patch(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"interval": "31s"}})),
    )
    .await
    .unwrap();
    wait_until("a second audit", || async {
        (op.log_lines("policy reports written", None).len() > passes).then_some(())
    })
    .await;
    let line = op.log_lines("policy reports written", None).pop().unwrap();
    assert_eq!(line["applied"], 0, "{line}");
    assert_eq!(
        report_named(&client, &web)
            .await
            .unwrap()
            .metadata
            .resource_version,
        rv,
        "an unchanged report is not written"
    );
    println!("FIGURE openreports {line}");

    // Fix `fixme`: its only finding goes, and its report with it.
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let fixed = deployment(&ns, "fixme", json!({}), json!({}));
    deploys
        .patch(
            "fixme",
            &PatchParams::apply("kube-posture-e2e").force(),
            &Patch::Apply(&fixed),
        )
        .await
        .unwrap();
    wait_until("the fixed Deployment's report deleted", || async {
        report_named(&client, &fixme).await.is_none().then_some(())
    })
    .await;
    // Fix one of `web`'s (privileged): that result leaves its report.
    let before = omitted(&report_named(&client, &web).await.unwrap());
    deploys
        .patch(
            "web",
            &PatchParams::apply("kube-posture-e2e").force(),
            &Patch::Apply(&deployment(
                &ns,
                "web",
                json!({"capabilities": {"add": ["SYS_ADMIN", "NET_ADMIN"]}}),
                host,
            )),
        )
        .await
        .unwrap();
    wait_until("web's report has fewer results", || async {
        let w = report_named(&client, &web).await?;
        let privileged = results(&w).iter().any(|x| x["policy"] == "WL-001");
        (omitted(&w) < before && !privileged).then_some(())
    })
    .await;
    wait_until("reports agree with Findings after the fixes", || async {
        check_reports(&client, &name).await.ok()
    })
    .await;

    // Delete `gone` with the operator stopped: the garbage collector removes its report.
    drop(op);
    deploys
        .delete("gone", &DeleteParams::background())
        .await
        .unwrap();
    wait_until(
        "the deleted Deployment's report garbage-collected",
        || async { report_named(&client, &gone).await.is_none().then_some(()) },
    )
    .await;
    let _ = Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
        .delete(&ns, &DeleteParams::default())
        .await;
}
