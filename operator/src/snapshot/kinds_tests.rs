//! The registry against what it stands for: the Rust types the loaders use, and the RBAC the
//! operator is deployed with (`manifests/rbac.yaml`).

use super::*;
use serde_json::Value;
use std::collections::BTreeSet;

#[test]
fn the_registry_is_in_enum_order() {
    for (i, k) in ALL_KINDS.into_iter().enumerate() {
        assert_eq!(REGISTRY[i].kind, k);
        assert_eq!(k.info().name, format!("{k:?}"));
    }
}

#[test]
fn each_row_agrees_with_its_rust_type() {
    struct Check(Vec<String>);
    impl KindVisitor for Check {
        fn visit<K: Kind>(&mut self) {
            let info = K::KIND.info();
            let rust = (K::api_version(&()), K::kind(&()), K::plural(&()));
            if (rust.0.as_ref(), rust.1.as_ref(), rust.2.as_ref())
                != (info.api_version, info.name, info.plural)
            {
                self.0.push(format!("{:?}: {rust:?}", K::KIND));
            }
            self.0.push(format!("visited {:?}", K::KIND));
        }
    }
    let mut c = Check(Vec::new());
    visit_kinds(&mut c);
    let expected: Vec<String> = ALL_KINDS.iter().map(|k| format!("visited {k:?}")).collect();
    assert_eq!(
        c.0, expected,
        "a row disagrees with its type, or a type is not visited"
    );
}

#[test]
fn secrets_are_never_read_from_a_cluster() {
    let secret = ObjectKind::Secret.info();
    assert!(!secret.is_read_live());
    assert!(secret.verbs.is_empty());
    // Every other kind is read live, with the reflectors' verbs.
    for k in REGISTRY.iter().filter(|k| k.kind != ObjectKind::Secret) {
        assert!(k.is_read_live(), "{:?}", k.kind);
        assert!(
            ["list", "watch"].iter().all(|v| k.verbs.contains(v)),
            "{:?}",
            k.kind
        );
    }
}

#[test]
fn group_and_type_meta_come_from_the_registry() {
    assert_eq!(ObjectKind::CronJob.group(), "batch");
    assert_eq!(ObjectKind::Pod.group(), "");
    assert_eq!(
        ObjectKind::from_type_meta("batch/v1beta1", "CronJob"),
        Some(ObjectKind::CronJob)
    );
    assert_eq!(
        ObjectKind::from_type_meta("extensions/v1beta1", "Deployment"),
        Some(ObjectKind::Deployment)
    );
    assert_eq!(ObjectKind::from_type_meta("v1", "Deployment"), None);
    assert!(
        ObjectKind::ConfigMap
            .info()
            .keeps(Some("kube-system"), "kubelet-config")
    );
    assert!(
        !ObjectKind::ConfigMap
            .info()
            .keeps(Some("app"), "kubelet-config")
    );
    assert!(ObjectKind::Pod.info().keeps(Some("app"), "anything"));
}

/// `(apiGroup, resource, verb)`.
type Grant = (String, String, String);

fn grants(role: &Value) -> BTreeSet<Grant> {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let mut out = BTreeSet::new();
    for rule in role["rules"].as_array().into_iter().flatten() {
        for g in strings(&rule["apiGroups"]) {
            for r in strings(&rule["resources"]) {
                for v in strings(&rule["verbs"]) {
                    out.insert((g.clone(), r.clone(), v));
                }
            }
        }
    }
    out
}

fn expand(group: &str, resources: &[&str], verbs: &[&str]) -> Vec<Grant> {
    resources
        .iter()
        .flat_map(|r| {
            verbs
                .iter()
                .map(move |v| (group.to_string(), r.to_string(), v.to_string()))
        })
        .collect()
}

/// What the operator needs beyond reading the registry's kinds, and why.
fn own_needs() -> Vec<Grant> {
    [
        // Reconciles SecurityPolicies and writes their status.
        expand(
            "kubeposture.io",
            &["securitypolicies"],
            &["get", "list", "watch"],
        ),
        expand(
            "kubeposture.io",
            &["securitypolicies/status"],
            &["get", "patch", "update"],
        ),
        // Owns the Findings: one object per finding, deleted when it resolves.
        expand(
            "kubeposture.io",
            &["findings"],
            &[
                "get", "list", "watch", "create", "patch", "update", "delete",
            ],
        ),
        expand(
            "kubeposture.io",
            &["findings/status"],
            &["get", "patch", "update"],
        ),
        // Policy reports (--reports), in whichever group is served.
        expand(
            "openreports.io",
            &["reports", "clusterreports"],
            &["get", "list", "create", "patch", "delete"],
        ),
        expand(
            "wgpolicyk8s.io",
            &["policyreports", "clusterpolicyreports"],
            &["get", "list", "create", "patch", "delete"],
        ),
        // Secured /metrics: who is the scraper, may it get /metrics.
        expand("authentication.k8s.io", &["tokenreviews"], &["create"]),
        expand(
            "authorization.k8s.io",
            &["subjectaccessreviews"],
            &["create"],
        ),
        // Remediation Events on audited objects (its Lease is in leader-election.yaml).
        expand("events.k8s.io", &["events"], &["create", "patch"]),
    ]
    .concat()
}

fn rbac_manifest() -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests/rbac.yaml");
    let text = std::fs::read_to_string(&path).expect("manifests/rbac.yaml");
    crate::yaml::from_str_multi(&text).expect("manifests/rbac.yaml parses")
}

fn object<'a>(docs: &'a [Value], kind: &str, namespace: Option<&str>) -> &'a Value {
    docs.iter()
        .find(|d| {
            d["kind"] == kind
                && d["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("kube-posture"))
                && d["metadata"]["namespace"].as_str() == namespace
        })
        .unwrap_or_else(|| {
            panic!("manifests/rbac.yaml has no kube-posture {kind} in {namespace:?}")
        })
}

/// What the registry says the ClusterRole (kinds read everywhere) and the Role of each
/// namespace (kinds read in one namespace) must grant.
fn registry_grants(namespace: Option<&str>) -> BTreeSet<Grant> {
    REGISTRY
        .iter()
        .filter(|k| k.is_read_live() && k.only_namespace() == namespace)
        .flat_map(|k| expand(k.group(), &[k.plural], k.verbs))
        .collect()
}

#[test]
fn the_cluster_role_grants_exactly_what_the_registry_reads() {
    let docs = rbac_manifest();
    let granted = grants(object(&docs, "ClusterRole", None));
    let mut expected = registry_grants(None);
    expected.extend(own_needs());
    let missing: Vec<_> = expected.difference(&granted).collect();
    let extra: Vec<_> = granted.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "manifests/rbac.yaml's ClusterRole and the registry disagree:\n  missing: {missing:?}\n  beyond the registry and the operator's own needs: {extra:?}"
    );
}

#[test]
fn each_namespace_role_grants_exactly_what_the_registry_reads_there() {
    let docs = rbac_manifest();
    let namespaces: BTreeSet<&str> = REGISTRY.iter().filter_map(|k| k.only_namespace()).collect();
    assert!(
        !namespaces.is_empty(),
        "ConfigMaps are read in kube-system only"
    );
    for ns in namespaces {
        let granted = grants(object(&docs, "Role", Some(ns)));
        assert_eq!(granted, registry_grants(Some(ns)), "Role in {ns}");
        let binding = object(&docs, "RoleBinding", Some(ns));
        assert_eq!(binding["roleRef"]["kind"], "Role");
        assert_eq!(binding["subjects"][0]["name"], "kube-posture");
    }
}

#[test]
fn no_rule_lets_the_operator_read_secrets() {
    for doc in rbac_manifest()
        .iter()
        .filter(|d| d["kind"] == "ClusterRole" || d["kind"] == "Role")
    {
        for (group, resource, verb) in grants(doc) {
            assert!(
                resource != "secrets" && resource != "*" && verb != "*" && group != "*",
                "{}: {group} {resource} {verb}",
                doc["metadata"]["name"]
            );
        }
    }
}
