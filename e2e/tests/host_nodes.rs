//! NODE-004, NODE-005 and XL-001 on a real API server (issue 14): Nodes whose `status.nodeInfo`
//! (kernelVersion, osImage, operatingSystem) is set through the status subresource, a
//! privileged Pod bound to one of them, and the operator's Findings and SecurityPolicy status,
//! with the not-assessed reasons and their node counts.
//!
//! On a control plane of its own: Nodes are cluster-wide, and the other tests' audits (which
//! expect no Node at all) must not see these.

use kube_posture::api::Finding;
use kube_posture_e2e::operator::{Operator, create_policy, get_policy, policy, settled_findings};
use kube_posture_e2e::private_plane::PrivatePlane;
use kube_posture_e2e::{apply, create_node, node_info, prefix, wait_for};
use serde_json::json;
use std::time::Duration;

/// (node suffix, kernelVersion, osImage, operatingSystem)
const NODES: [(&str, &str, &str, &str); 6] = [
    // Exact upstream with Dirty Pipe (and more): NODE-004; CentOS 7 is past its end: NODE-005.
    ("old", "5.15.20-talos", "CentOS Linux 7 (Core)", "linux"),
    // Backporting distro without fix data: not assessed, two nodes, one reason.
    ("u1", "5.15.0-91-generic", "Ubuntu 22.04.3 LTS", "linux"),
    // Ubuntu 18.04 is in ESM: NODE-005 medium.
    ("u2", "5.15.0-91-generic", "Ubuntu 18.04.6 LTS", "linux"),
    // COS: no end-of-life date per version.
    (
        "cos",
        "6.6.60+",
        "Container-Optimized OS from Google",
        "linux",
    ),
    // Windows: nothing to say about the kernel.
    (
        "win",
        "10.0.17763.6414",
        "Windows Server 2019 Datacenter",
        "windows",
    ),
    // Current upstream: nothing.
    (
        "new",
        "6.6.60-flatcar",
        "Flatcar Container Linux by Kinvolk 4081.2.0 (Oklo)",
        "linux",
    ),
];

fn on<'a>(fs: &'a [Finding], check: &str, name: &str) -> Vec<&'a Finding> {
    fs.iter()
        .filter(|f| f.spec.check == check && f.spec.resource.name == name)
        .collect()
}

#[tokio::test]
async fn kernel_os_and_escape_paths_from_node_status() {
    let plane = PrivatePlane::up("host");
    let client = plane.admin().await;
    let p = prefix("host");
    let _op = Operator::start_with(&p, plane.options()).await;
    for (n, kernel, os, operating_system) in NODES {
        let name = format!("{p}-{n}");
        let node = json!({"metadata": {"name": name, "labels": {"e2e": p}}});
        let status = json!({"nodeInfo": node_info(kernel, os, operating_system)});
        create_node(&client, node, status).await.unwrap();
    }
    // A privileged Pod bound to the vulnerable node (no kubelet: it stays Pending, and the
    // audit reads spec.nodeName).
    let ns = format!("{p}-apps");
    apply(
        &client,
        &[
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "agent", "namespace": ns},
                   "spec": {"nodeName": format!("{p}-old"),
                            "containers": [{"name": "agent", "image": "example.invalid/agent:1",
                                            "securityContext": {"privileged": true}}]}}),
        ],
    )
    .await
    .unwrap();
    let name = format!("{p}-host");
    create_policy(
        &client,
        &policy(
            &p,
            &name,
            json!({"checks": {"include": ["node", "layers"]},
                   "namespaces": {"include": [format!("{p}-*")]}, "findingLimit": 10000}),
        ),
    )
    .await;

    let node = |n: &str| format!("{p}-{n}");
    let fs: Vec<Finding> = wait_for(Duration::from_secs(60), || async {
        let fs = settled_findings(&client, &name).await?;
        let ready = !on(&fs, "NODE-004", &node("old")).is_empty()
            && !on(&fs, "XL-001", "agent").is_empty()
            && !on(&fs, "NODE-005", &node("u2")).is_empty();
        ready.then_some(fs)
    })
    .await
    .expect("NODE-004, NODE-005 and XL-001 Findings");

    let kernel = on(&fs, "NODE-004", &node("old"));
    assert_eq!(kernel.len(), 1);
    let st = kernel[0].status.as_ref().expect("status");
    let message = st.message.as_deref().unwrap_or("");
    assert!(message.contains("CVE-2022-0847 (Dirty Pipe)"), "{message}");
    assert!(
        st.evidence
            .iter()
            .any(|e| e.starts_with("status.nodeInfo.kernelVersion: 5.15.20-talos")),
        "{:?}",
        st.evidence
    );
    for n in ["u1", "u2", "cos", "win", "new"] {
        assert!(on(&fs, "NODE-004", &node(n)).is_empty(), "NODE-004 on {n}");
    }

    let centos = on(&fs, "NODE-005", &node("old"));
    let msg = centos[0].status.as_ref().and_then(|s| s.message.clone());
    assert!(
        msg.as_deref()
            .is_some_and(|m| m.contains("past the end of all support (2024-06-30)")),
        "{msg:?}"
    );
    let bionic = on(&fs, "NODE-005", &node("u2"));
    let msg = bionic[0].status.as_ref().and_then(|s| s.message.clone());
    assert!(
        msg.as_deref()
            .is_some_and(|m| m.contains("past its standard support (2023-05-31)")),
        "{msg:?}"
    );
    for n in ["u1", "cos", "win", "new"] {
        assert!(on(&fs, "NODE-005", &node(n)).is_empty(), "NODE-005 on {n}");
    }

    let path = on(&fs, "XL-001", "agent");
    assert_eq!(path.len(), 1);
    let st = path[0].status.as_ref().expect("status");
    assert_eq!(st.node.as_deref(), Some(node("old").as_str()));
    assert_eq!(path[0].spec.resource.namespace, ns);
    assert!(
        st.evidence[0].starts_with(&format!(
            "path: Pod {ns}/agent → container agent is privileged → node {} → CVE-",
            node("old")
        )),
        "{:?}",
        st.evidence
    );

    // The status is written after the Findings: wait for this audit's not-assessed reasons.
    let ubuntu = format!(
        "NODE-004 not assessed on 2 nodes ({}, {}): distro kernel carries backports; no fix data (kernel ubuntu-5.15-generic)",
        node("u1"),
        node("u2")
    );
    let cos = format!(
        "NODE-005 not assessed on 1 node ({}): Container-Optimized OS publishes no end-of-life date per version",
        node("cos")
    );
    let reasons = || async {
        get_policy(&client, &name)
            .await
            .status
            .map(|s| {
                s.not_assessed
                    .into_iter()
                    .map(|n| n.reason)
                    .collect::<Vec<String>>()
            })
            .unwrap_or_default()
    };
    let found = wait_for(Duration::from_secs(30), || async {
        let r = reasons().await;
        (r.contains(&ubuntu) && r.iter().any(|x| x.starts_with(&cos))).then_some(())
    })
    .await;
    assert!(found.is_ok(), "{ubuntu}\n{cos}\nin {:#?}", reasons().await);
}
