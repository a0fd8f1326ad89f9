//! Bounded evidence on a real API server (issue 12, item 6): a Role of 3,000 rules, a Pod of
//! 300 privileged containers and a ClusterRoleBinding to cluster-admin with 5,000 subjects.
//! Every Finding object stays within `audit::bounds::MAX_FINDING_OBJECT`, every policy status
//! within 256 KiB, every Event note within 1 KiB, and where a list was capped it says
//! `… and N more`.
//!
//! Runs on a private control plane: a cluster-admin binding of 5,000 Users would add 5,000
//! critical findings to the policies of every test sharing `E2E_KUBECONFIG`. Without one (the
//! tests pointed at a cluster the user gave) the test fails rather than skips.
//! Prints `FIGURE bounds …` lines (docs/faults.md has the table).

use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use kube::discovery::ApiResource;
use kube_posture::api::{Finding, SecurityPolicy};
use kube_posture::audit::bounds::{MAX_ENTRY, MAX_FINDING_OBJECT, MAX_MESSAGE};
use kube_posture_e2e::operator::{Operator, Options, create_policy, get_policy, policy};
use kube_posture_e2e::private_plane::PrivatePlane;
use kube_posture_e2e::{prefix, wait_for};
use serde_json::{Value, json};
use std::time::Duration;

const CONTROLLER: &str = "kubeposture.io/kube-posture";
const RULES: usize = 3000;
/// Rules of ~1 KiB described (40 resources), to be cut to 512 bytes; the rest are small.
const LONG_RULES: usize = 10;
const CONTAINERS: usize = 300;
const SUBJECTS: usize = 5000;
const MAX_STATUS: usize = 256 * 1024;
const MAX_NOTE: usize = 1024;

async fn create<K>(api: &Api<K>, doc: Value) -> usize
where
    K: kube::Resource
        + Clone
        + std::fmt::Debug
        + k8s_openapi::serde::Serialize
        + k8s_openapi::serde::de::DeserializeOwned,
{
    let bytes = serde_json::to_vec(&doc).expect("JSON").len();
    let obj: K = serde_json::from_value(doc).expect("a valid object");
    api.create(&PostParams::default(), &obj)
        .await
        .unwrap_or_else(|e| panic!("the API server refuses a {bytes}-byte object: {e}"));
    bytes
}

/// The policy's Finding objects as the API server returns them (managedFields included).
async fn raw_findings(client: &Client, policy: &str) -> Vec<Value> {
    let ar = ApiResource::erase::<Finding>(&());
    Api::<DynamicObject>::all_with(client.clone(), &ar)
        .list(&ListParams::default().labels(&format!("kubeposture.io/policy={policy}")))
        .await
        .expect("list findings")
        .items
        .into_iter()
        .map(|o| serde_json::to_value(o).expect("JSON"))
        .collect()
}

async fn status_bytes(client: &Client, name: &str) -> usize {
    let ar = ApiResource::erase::<SecurityPolicy>(&());
    let p = Api::<DynamicObject>::all_with(client.clone(), &ar)
        .get(name)
        .await
        .expect("get policy");
    let status = p.data.get("status").expect("a status");
    serde_json::to_vec(status).expect("JSON").len()
}

fn find<'a>(fs: &'a [Value], check: &str, kind: &str) -> Option<&'a Value> {
    fs.iter()
        .find(|f| f["spec"]["check"] == check && f["spec"]["resource"]["kind"] == kind)
}

/// `… and N more` at the end of `list` (items joined by `sep`): N, and the names shown.
fn capped_count(list: &str, sep: &str) -> (usize, usize) {
    let items: Vec<&str> = list.split(sep).collect();
    let last = items.last().expect("an item");
    let n = last
        .strip_prefix("… and ")
        .and_then(|r| r.strip_suffix(" more"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `… and N more` at the end of {list:?}"));
    (n, items.len() - 1)
}

#[tokio::test]
async fn hostile_sizes_stay_within_bounds() {
    let plane = PrivatePlane::up("bounds");
    let client = plane.admin().await;
    let p = prefix("bounds");
    let ns = format!("{p}-big");
    let op = Operator::start_with(
        &p,
        Options {
            extra: vec!["--no-leader-election".into()],
            ..plane.options()
        },
    )
    .await;
    let since = Timestamp::now();

    create(
        &Api::<Namespace>::all(client.clone()),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
    )
    .await;

    // A Role of 3,000 rules granting `get secrets` (RBAC-005), bound to one User.
    let rules: Vec<Value> = (0..RULES)
        .map(|i| {
            let mut resources = vec!["secrets".to_string()];
            if i < LONG_RULES {
                resources.extend((0..40).map(|j| format!("r{i:04}-{j:02}-resource-name")));
            }
            json!({"apiGroups": [""], "resources": resources, "verbs": ["get"]})
        })
        .collect();
    let role_bytes = create(
        &Api::<Role>::namespaced(client.clone(), &ns),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
               "metadata": {"name": "many-rules", "namespace": ns}, "rules": rules}),
    )
    .await;
    create(
        &Api::<RoleBinding>::namespaced(client.clone(), &ns),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "many-rules", "namespace": ns},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "many-rules"},
               "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": format!("{p}-reader")}]}),
    )
    .await;

    // A Pod of 300 privileged containers with 63-character names (WL-001, WL-005).
    let sas = Api::<ServiceAccount>::namespaced(client.clone(), &ns);
    wait_for(Duration::from_secs(60), || async {
        sas.get_opt("default").await.ok().flatten()
    })
    .await
    .expect("the namespace's default ServiceAccount (the Pod's admission needs it)");
    let containers: Vec<Value> = (0..CONTAINERS)
        .map(|i| {
            json!({"name": format!("c{i:03}-{}", "x".repeat(58)), "image": "busybox:1.36",
                   "securityContext": {"privileged": true}})
        })
        .collect();
    let pod_bytes = create(
        &Api::<Pod>::namespaced(client.clone(), &ns),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "wide", "namespace": ns},
               "spec": {"automountServiceAccountToken": false, "containers": containers}}),
    )
    .await;

    // A ClusterRoleBinding to cluster-admin with 5,000 Users (5,000 RBAC-001 findings).
    let subjects: Vec<Value> = (0..SUBJECTS)
        .map(|i| json!({"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": format!("{p}-u{i:05}")}))
        .collect();
    let crowd_binding = format!("{p}-crowd");
    let binding_bytes = create(
        &Api::<ClusterRoleBinding>::all(client.clone()),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": crowd_binding},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
               "subjects": subjects}),
    )
    .await;

    // Two policies: RBAC-001 on the crowd would fill any findingLimit before the others.
    let wide = format!("{p}-wide");
    create_policy(
        &client,
        &policy(
            &p,
            &wide,
            json!({"namespaces": {"include": [ns]}, "checks": {"exclude": ["RBAC-001"]}}),
        ),
    )
    .await;
    let crowd = format!("{p}-crowd");
    create_policy(
        &client,
        &policy(&p, &crowd, json!({"checks": {"include": ["RBAC-001"]}})),
    )
    .await;

    let wide_findings = wait_for(Duration::from_secs(180), || async {
        let fs = raw_findings(&client, &wide).await;
        let ready = [
            ("RBAC-005", "RoleBinding"),
            ("WL-001", "Pod"),
            ("WL-005", "Pod"),
        ]
        .iter()
        .all(|(c, k)| find(&fs, c, k).is_some_and(|f| f["status"]["message"].is_string()));
        ready.then_some(fs)
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "no RBAC-005, WL-001 and WL-005 Findings within 180 s:\n{}",
            op.log_text()
        )
    });
    let crowd_findings = wait_for(Duration::from_secs(180), || async {
        let pol = get_policy(&client, &crowd).await;
        let total = pol.status.as_ref()?.summary.as_ref()?.total;
        let fs = raw_findings(&client, &crowd).await;
        let with_status = fs.iter().filter(|f| f["status"].is_object()).count();
        (total >= SUBJECTS as u64 && with_status == 500).then_some(fs)
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "no complete status and 500 Findings for the crowd within 180 s:\n{}",
            op.log_text()
        )
    });

    // Every Finding object within its budget.
    let mut largest = (0, String::new());
    for f in wide_findings.iter().chain(&crowd_findings) {
        let bytes = serde_json::to_vec(f).expect("JSON").len();
        let what = format!(
            "{} on {}",
            f["spec"]["check"].as_str().unwrap_or("?"),
            f["spec"]["resource"]["name"].as_str().unwrap_or("?")
        );
        assert!(
            bytes <= MAX_FINDING_OBJECT,
            "Finding {what} is {bytes} bytes"
        );
        if bytes > largest.0 {
            largest = (bytes, what);
        }
    }

    // Capped where it had to be, and saying so.
    let rbac005 = &find(&wide_findings, "RBAC-005", "RoleBinding").unwrap()["status"];
    let evidence: Vec<&str> = rbac005["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let (more_rules, shown_rules) = capped_count(&evidence.join("\n"), "\n");
    assert_eq!(
        more_rules + shown_rules,
        RULES,
        "every rule shown or counted"
    );
    assert!(evidence.iter().all(|e| e.len() <= MAX_ENTRY));
    assert!(
        evidence[0].ends_with(" more bytes)"),
        "a 1 KiB rule is cut: {}",
        evidence[0]
    );
    let wl001 = &find(&wide_findings, "WL-001", "Pod").unwrap()["status"];
    let message = wl001["message"].as_str().unwrap();
    assert!(message.len() <= MAX_MESSAGE, "{}", message.len());
    let (more, shown) = capped_count(message.split_once(": ").unwrap().1, ", ");
    assert_eq!(more + shown, CONTAINERS, "{message}");
    let container = wl001["container"].as_str().unwrap();
    let (more_c, shown_c) = capped_count(container, ",");
    assert_eq!(more_c + shown_c, CONTAINERS, "{container}");
    let wl005 = &find(&wide_findings, "WL-005", "Pod").unwrap()["status"];
    let ev005: Vec<&str> = wl005["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        ev005.last().copied(),
        Some(format!("… and {} more", CONTAINERS - 20).as_str())
    );

    // Statuses within 256 KiB; the crowd's says it holds only the top findings.
    let wide_status = status_bytes(&client, &wide).await;
    let crowd_status = status_bytes(&client, &crowd).await;
    assert!(wide_status <= MAX_STATUS, "{wide_status} bytes");
    assert!(crowd_status <= MAX_STATUS, "{crowd_status} bytes");
    let crowd_policy = get_policy(&client, &crowd).await;
    let st = crowd_policy.status.as_ref().unwrap();
    assert!(st.findings_truncated && st.findings.len() == 50);

    // Every Event note within 1 KiB; the Pod's (message and fix) had to be cut.
    let events = wait_for(Duration::from_secs(60), || async {
        let events: Vec<Event> = Api::<Event>::all(client.clone())
            .list(&ListParams::default())
            .await
            .ok()?
            .items
            .into_iter()
            .filter(|e| e.reporting_controller.as_deref() == Some(CONTROLLER))
            .filter(|e| e.event_time.as_ref().is_some_and(|t| t.0 >= since))
            .collect();
        let on = |kind: &str, name: &str| {
            events.iter().any(|e| {
                e.regarding.as_ref().is_some_and(|r| {
                    r.kind.as_deref() == Some(kind) && r.name.as_deref() == Some(name)
                })
            })
        };
        (on("Pod", "wide")
            && on("RoleBinding", "many-rules")
            && on("ClusterRoleBinding", &crowd_binding))
        .then_some(events)
    })
    .await
    .unwrap_or_else(|_| {
        panic!("no Events on the Pod, the RoleBinding and the ClusterRoleBinding within 60 s")
    });
    let notes: Vec<&str> = events.iter().filter_map(|e| e.note.as_deref()).collect();
    assert_eq!(notes.len(), events.len(), "every Event has a note");
    let max_note = notes.iter().map(|n| n.len()).max().unwrap_or(0);
    for e in &events {
        let note = e.note.as_deref().unwrap_or("");
        assert!(note.len() <= MAX_NOTE, "{} bytes: {note}", note.len());
    }
    let pod_note = events
        .iter()
        .filter(|e| {
            e.regarding
                .as_ref()
                .is_some_and(|r| r.name.as_deref() == Some("wide"))
        })
        .filter_map(|e| e.note.as_deref())
        .find(|n| n.starts_with("WL-001"))
        .expect("a WL-001 Event on the Pod");
    // The message is cut, the fix is whole.
    assert!(
        pod_note.contains(" more bytes) Fix: Remove securityContext.privileged"),
        "{pod_note}"
    );

    println!(
        "FIGURE bounds role_rules={RULES} role_bytes={role_bytes} pod_containers={CONTAINERS} pod_bytes={pod_bytes} binding_subjects={SUBJECTS} binding_bytes={binding_bytes}"
    );
    println!(
        "FIGURE bounds finding_objects={} max_finding_bytes={} max_finding={:?} rbac005_evidence_entries={} wl001_message_bytes={} wl001_containers_named={shown} wl005_evidence_entries={}",
        wide_findings.len() + crowd_findings.len(),
        largest.0,
        largest.1,
        evidence.len(),
        message.len(),
        ev005.len(),
    );
    println!(
        "FIGURE bounds status_bytes_wide={wide_status} status_bytes_crowd={crowd_status} crowd_findings_total={} events={} max_note_bytes={max_note} pod_note_bytes={}",
        st.summary.as_ref().unwrap().total,
        events.len(),
        pod_note.len()
    );
}
