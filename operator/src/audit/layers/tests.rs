//! XL-001…003 on snapshots with Nodes, Pods and RBAC.

use crate::api::{CheckSelection, PolicyException, SecurityPolicySpec};
use crate::audit::testutil::{audit, audit_with, ids};
use crate::audit::{Finding, Report};
use crate::catalog::Severity;
use crate::policy::EffectivePolicy;

fn node(name: &str, kernel: &str, os: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Node\nmetadata: {{name: {name}}}\nstatus:\n  nodeInfo: \
         {{kubeletVersion: v1.35.2, containerRuntimeVersion: \"containerd://1.7.22\", \
         architecture: amd64, operatingSystem: linux, osImage: \"{os}\", kernelVersion: \"{kernel}\"}}\n"
    )
}

const OLD: &str = "5.10.50";
const NEW: &str = "6.6.60";
const UBUNTU: &str = "5.15.0-23-generic";

/// A Deployment, its ReplicaSet (optional) and one Pod per node.
fn deployment(ns: &str, name: &str, pod_spec: &str, nodes: &[&str], with_rs: bool) -> String {
    let mut docs = vec![format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{namespace: {ns}, name: {name}, uid: d-{name}}}\n\
         spec:\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec: {pod_spec}\n"
    )];
    if with_rs {
        docs.push(format!(
            "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  namespace: {ns}\n  name: {name}-5d9c7b\n  uid: rs-{name}\n  \
             ownerReferences: [{{apiVersion: apps/v1, kind: Deployment, name: {name}, uid: d-{name}, controller: true}}]\n\
             spec:\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec: {pod_spec}\n"
        ));
    }
    for (i, n) in nodes.iter().enumerate() {
        let spec = pod_spec.replacen('{', &format!("{{nodeName: {n}, "), 1);
        docs.push(format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  namespace: {ns}\n  name: {name}-5d9c7b-{i}\n  labels: {{app: {name}}}\n  \
             ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: {name}-5d9c7b, uid: rs-{name}, controller: true}}]\n\
             spec: {spec}\n"
        ));
    }
    docs.join("---\n")
}

const PRIVILEGED: &str =
    "{containers: [{name: app, image: nginx, securityContext: {privileged: true}}]}";
const CONFINED: &str = "{securityContext: {seccompProfile: {type: RuntimeDefault}}, containers: [{name: app, image: nginx}]}";
const NO_PROFILE: &str = "{containers: [{name: app, image: nginx}]}";

fn of<'a>(r: &'a Report, check: &str) -> Vec<&'a Finding> {
    r.findings
        .iter()
        .filter(|f| f.check == check)
        .map(|f| &**f)
        .collect()
}

fn reasons(r: &Report, check: &str) -> Vec<String> {
    r.not_assessed
        .iter()
        .filter(|n| n.checks.iter().any(|c| c == check))
        .map(|n| n.reason.clone())
        .collect()
}

#[test]
fn xl001_one_finding_per_workload_and_vulnerable_node() {
    let yaml = [
        node("old-1", OLD, "Talos (v0.12.0)"),
        node("old-2", OLD, "Talos (v0.12.0)"),
        node("new", NEW, "Talos (v1.8.0)"),
        deployment(
            "shop",
            "agent",
            PRIVILEGED,
            &["old-1", "old-2", "new"],
            true,
        ),
        // Two replicas on one node: one finding.
        deployment("shop", "web", PRIVILEGED, &["old-1", "old-1"], false),
        deployment("shop", "safe", CONFINED, &["old-1"], true),
    ]
    .join("---\n");
    let r = audit(&yaml);
    let xl: Vec<String> = of(&r, "XL-001")
        .iter()
        .map(|f| format!("{} {}", f.resource.name, f.node.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        xl,
        ["agent old-1", "agent old-2", "web old-1"],
        "{:?}",
        ids(&r)
    );
    let f = of(&r, "XL-001")[0];
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.resource.kind, "Deployment");
    assert!(
        f.evidence[0].starts_with(
            "path: Deployment shop/agent → container app is privileged → node old-1 → CVE-"
        ),
        "{:?}",
        f.evidence
    );
    assert!(
        f.evidence
            .iter()
            .any(|e| e.contains("(NODE-004)") && e.contains("CVE-2022-0847")),
        "{:?}",
        f.evidence
    );
}

#[test]
fn xl001_sees_lower_findings_that_are_waived_or_disabled() {
    let yaml = [
        node("old", OLD, "Talos (v0.12.0)"),
        deployment("shop", "agent", PRIVILEGED, &["old"], true),
    ]
    .join("---\n");
    let spec = SecurityPolicySpec {
        checks: CheckSelection {
            include: vec!["XL-001".to_string(), "WL-001".to_string()],
            ..Default::default()
        },
        exceptions: vec![PolicyException {
            check: "WL-001".to_string(),
            resource: Default::default(),
            reason: "the agent needs it".to_string(),
            expires: None,
        }],
        ..Default::default()
    };
    let policy = EffectivePolicy::compile("p", &spec).expect("policy");
    let r = audit_with(&yaml, &policy);
    // NODE-004 is off and WL-001 is waived: the path stays.
    assert!(of(&r, "NODE-004").is_empty());
    assert!(of(&r, "WL-001").iter().all(|f| f.suppressed));
    let xl = of(&r, "XL-001");
    assert_eq!(xl.len(), 1, "{:?}", ids(&r));
    assert!(!xl[0].suppressed);
}

#[test]
fn xl001_unknown_kernels_are_not_assessed_with_counts() {
    let yaml = [
        node("u1", UBUNTU, "Ubuntu 22.04 LTS"),
        node("u2", UBUNTU, "Ubuntu 22.04 LTS"),
        deployment("shop", "agent", PRIVILEGED, &["u1", "u2"], true),
    ]
    .join("---\n");
    let r = audit(&yaml);
    assert!(of(&r, "XL-001").is_empty());
    let why = reasons(&r, "XL-001");
    assert_eq!(
        why,
        [
            "XL-001 not assessed for 1 workload with a way to the host on 2 nodes (u1, u2): their kernel could not be judged (distro kernel carries backports; no fix data)"
        ]
    );
}

#[test]
fn xl002_unconfined_pods_on_kernels_they_can_exploit() {
    let yaml = [
        node("old", OLD, "Talos (v0.12.0)"),
        node("new", NEW, "Talos (v1.8.0)"),
        deployment("shop", "plain", NO_PROFILE, &["old", "new"], true),
        deployment("shop", "confined", CONFINED, &["old"], true),
    ]
    .join("---\n");
    let r = audit(&yaml);
    let xl: Vec<String> = of(&r, "XL-002")
        .iter()
        .map(|f| format!("{} {}", f.resource.name, f.node.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(xl, ["plain old"]);
    let f = of(&r, "XL-002")[0];
    // Only CVEs a user namespace or a held capability reaches: not Dirty Pipe.
    assert!(f.message.contains("CVE-2024-1086"), "{}", f.message);
    assert!(!f.message.contains("CVE-2022-0847"), "{}", f.message);
    assert!(
        f.evidence[0].contains("the kubelet is not known to default to RuntimeDefault"),
        "{:?}",
        f.evidence
    );
}

#[test]
fn xl002_a_capability_cve_needs_the_capability() {
    // 5.4.50 has CVE-2020-14386 (CAP_NET_RAW) among others; only count the capability ones.
    let caps = |drop: &str| {
        format!(
            "{{securityContext: {{seccompProfile: {{type: Unconfined}}}}, containers: [{{name: app, image: nginx, securityContext: {{capabilities: {{drop: [{drop}]}}}}}}]}}"
        )
    };
    let yaml = |drop: &str| {
        [
            node("old", "5.4.50", "Talos (v0.5.0)"),
            deployment("shop", "app", &caps(drop), &["old"], true),
        ]
        .join("---\n")
    };
    let with_raw = audit(&yaml("MKNOD"));
    let f = of(&with_raw, "XL-002");
    assert!(f[0].message.contains("CVE-2020-14386"), "{}", f[0].message);
    let without_raw = audit(&yaml("NET_RAW"));
    let f = of(&without_raw, "XL-002");
    assert!(!f[0].message.contains("CVE-2020-14386"), "{}", f[0].message);
}

fn binding(kind: &str, ns: Option<&str>, name: &str, role: &str, user: &str) -> String {
    let ns = ns.map(|n| format!(", namespace: {n}")).unwrap_or_default();
    format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata: {{name: {name}{ns}}}\n\
         roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {role}}}\n\
         subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: User, name: {user}}}]\n"
    )
}

const POD_CREATOR: &str = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: pod-creator}\nrules:\n- {apiGroups: [\"\"], resources: [pods], verbs: [create]}\n";

fn namespace(name: &str, enforce: Option<&str>) -> String {
    let labels = enforce
        .map(|e| format!(", labels: {{pod-security.kubernetes.io/enforce: {e}}}"))
        .unwrap_or_default();
    format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}{labels}}}\n")
}

#[test]
fn xl003_subjects_reaching_unenforced_namespaces_with_a_vulnerable_node() {
    let yaml = |kernel: &str| {
        [
            node("n1", kernel, "Talos (v0.12.0)"),
            // Listed after n1 in the input, before it in reasons: node names are sorted.
            node("a0", NEW, "Talos (v0.12.0)"),
            POD_CREATOR.to_string(),
            namespace("dev", None),
            namespace("prod", Some("restricted")),
            binding(
                "RoleBinding",
                Some("dev"),
                "dev-deployers",
                "pod-creator",
                "alice",
            ),
            binding(
                "RoleBinding",
                Some("prod"),
                "prod-deployers",
                "pod-creator",
                "bob",
            ),
            binding(
                "ClusterRoleBinding",
                None,
                "everywhere",
                "pod-creator",
                "carol",
            ),
        ]
        .join("---\n")
    };
    let r = audit(&yaml(OLD));
    let xl: Vec<String> = of(&r, "XL-003")
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f.resource.name,
                f.subject.as_ref().map(|s| s.name.as_str()).unwrap_or("")
            )
        })
        .collect();
    // bob's namespace enforces restricted.
    assert_eq!(
        xl,
        ["everywhere carol", "dev-deployers alice"],
        "{:?}",
        ids(&r)
    );
    let f = of(&r, "XL-003")[1];
    assert_eq!(f.severity, Severity::High);
    assert!(
        f.evidence[0].starts_with("path: User alice → namespace dev → node n1 → CVE-"),
        "{:?}",
        f.evidence
    );
    // No vulnerable kernel: no path.
    assert!(of(&audit(&yaml(NEW)), "XL-003").is_empty());
    // Unknown kernels: not assessed, with the count and the names in order.
    let unknown = audit(&yaml(UBUNTU).replace(NEW, UBUNTU));
    assert!(of(&unknown, "XL-003").is_empty());
    assert_eq!(
        reasons(&unknown, "XL-003"),
        [
            "XL-003 not assessed for 2 subjects that can place Pods in namespaces without Pod Security enforcement: the kernel of 2 nodes (a0, n1) could not be judged (distro kernel carries backports; no fix data)"
        ]
    );
}

/// Without any Node, no path through a node can be traced: the paths are not assessed (and
/// the paths layer has no score), never passed.
#[test]
fn no_node_in_the_input_leaves_the_paths_not_assessed() {
    let r = audit(&deployment("shop", "plain", NO_PROFILE, &[], true));
    for check in ["XL-001", "XL-002", "XL-003"] {
        assert!(of(&r, check).is_empty(), "{check}");
        assert!(
            reasons(&r, check)
                .iter()
                .any(|why| why.contains("no Node in the input")),
            "{check}: {:?}",
            r.not_assessed
        );
        assert!(!r.assessed.iter().any(|c| c == check), "{check}");
    }
}

/// XL-002 reads each node's `seccompDefault` from the kubelet layer: under a kubeadm baseline
/// that defaults to RuntimeDefault, a container without a profile is confined, so there is
/// no path; the same pod under a baseline without it has one.
#[test]
fn xl002_follows_the_kubelets_seccomp_default() {
    let kubeadm = |seccomp: bool| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{namespace: kube-system, name: kubelet-config}}\n\
             data:\n  kubelet: |\n    apiVersion: kubelet.config.k8s.io/v1beta1\n    kind: KubeletConfiguration\n    \
             seccompDefault: {seccomp}\n"
        )
    };
    let yaml = |seccomp: bool| {
        [
            node("old", OLD, "Talos (v0.12.0)"),
            kubeadm(seccomp),
            deployment("shop", "plain", NO_PROFILE, &["old"], true),
        ]
        .join("---\n")
    };
    assert!(of(&audit(&yaml(true)), "XL-002").is_empty());
    assert_eq!(of(&audit(&yaml(false)), "XL-002").len(), 1);
}
