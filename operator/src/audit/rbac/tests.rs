use crate::audit::testutil::{audit, checks, ids};

/// A ClusterRole/Role with one rule, bound to a subject: the shape most tests need.
fn grant(binding_kind: &str, ns: &str, rule: &str, subject: &str) -> String {
    let (role_kind, meta_ns) = if binding_kind == "RoleBinding" {
        ("Role", format!("namespace: {ns}, "))
    } else {
        ("ClusterRole", String::new())
    };
    format!(
        r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: {role_kind}
metadata: {{{meta_ns}name: r}}
rules:
- {rule}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: {binding_kind}
metadata: {{{meta_ns}name: b}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: {role_kind}, name: r}}
subjects:
- {subject}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{namespace: ci, name: deployer}}
"#
    )
}

const SA: &str = "{kind: ServiceAccount, namespace: ci, name: deployer}";

fn crb(rule: &str) -> Vec<&'static str> {
    checks(&audit(&grant("ClusterRoleBinding", "", rule, SA)))
}

#[test]
fn rbac_001_cluster_admin_rule_and_role_ref() {
    let r = audit(&grant(
        "ClusterRoleBinding",
        "",
        "{apiGroups: ['*'], resources: ['*'], verbs: ['*']}",
        SA,
    ));
    let f = r
        .findings
        .iter()
        .find(|f| f.check == "RBAC-001")
        .expect("RBAC-001");
    assert_eq!(f.severity, crate::catalog::Severity::Critical);
    assert_eq!(f.subject.as_ref().unwrap().name, "deployer");
    assert_eq!(f.evidence, ["clusterrole r: * * [*]"]);
    // Folded: no RBAC-004…014 for the same pair.
    assert_eq!(checks(&r), ["RBAC-001"]);

    let yaml = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: ci-admin}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: User, name: alice}]\n";
    assert_eq!(ids(&audit(yaml)), ["RBAC-001 ClusterRoleBinding ci-admin"]);
}

#[test]
fn rbac_001_namespaced_is_high() {
    let r = audit(&grant(
        "RoleBinding",
        "ci",
        "{apiGroups: ['*'], resources: ['*'], verbs: ['*']}",
        SA,
    ));
    let f = r.findings.iter().find(|f| f.check == "RBAC-001").unwrap();
    assert_eq!(f.severity, crate::catalog::Severity::High);
}

#[test]
fn rbac_001_negative_needs_all_three_wildcards() {
    assert!(!crb("{apiGroups: [''], resources: ['*'], verbs: ['*']}").contains(&"RBAC-001"));
    assert!(
        !crb("{apiGroups: ['*'], resources: ['*'], verbs: ['*'], resourceNames: [x]}")
            .contains(&"RBAC-001")
    );
}

#[test]
fn rbac_002_anonymous_beyond_public_urls() {
    let yaml = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: health}
rules: [{nonResourceURLs: [/healthz, /version], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: health}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: health}
subjects: [{kind: Group, name: system:unauthenticated}]
"#;
    assert!(checks(&audit(yaml)).is_empty(), "public URLs are fine");
    let yaml = yaml.replace("[/healthz, /version]", "[/healthz, /metrics]");
    assert_eq!(ids(&audit(&yaml)), ["RBAC-002 ClusterRoleBinding health"]);
    let r = grant(
        "ClusterRoleBinding",
        "",
        "{apiGroups: [''], resources: [pods], verbs: [list]}",
        "{kind: User, name: system:anonymous}",
    );
    assert!(checks(&audit(&r)).contains(&"RBAC-002"));
}

#[test]
fn rbac_002_reports_builtin_bindings_too() {
    let yaml = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: system:oops, labels: {kubernetes.io/bootstrapping: rbac-defaults}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: Group, name: system:unauthenticated}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: view, labels: {kubernetes.io/bootstrapping: rbac-defaults}}
rules: [{apiGroups: [''], resources: [pods], verbs: [get]}]
"#;
    assert_eq!(checks(&audit(yaml)), ["RBAC-002"]);
}

#[test]
fn rbac_003_all_authenticated() {
    let g = "{kind: Group, name: system:authenticated}";
    let r = audit(&grant(
        "ClusterRoleBinding",
        "",
        "{apiGroups: [''], resources: [configmaps], verbs: [get]}",
        g,
    ));
    assert_eq!(checks(&r), ["RBAC-003"]);
    let g = "{kind: Group, name: developers}";
    let r = audit(&grant(
        "ClusterRoleBinding",
        "",
        "{apiGroups: [''], resources: [configmaps], verbs: [get]}",
        g,
    ));
    assert!(checks(&r).is_empty());
}

#[test]
fn rbac_004_wildcards() {
    assert_eq!(
        crb("{apiGroups: [apps], resources: ['*'], verbs: [get]}"),
        ["RBAC-004"]
    );
    let r = audit(&grant(
        "RoleBinding",
        "ci",
        "{apiGroups: [''], resources: [configmaps], verbs: ['*']}",
        SA,
    ));
    let f = r.findings.iter().find(|f| f.check == "RBAC-004").unwrap();
    assert_eq!(f.severity, crate::catalog::Severity::Medium);
    assert!(crb("{apiGroups: [apps], resources: ['*/scale'], verbs: [get]}").is_empty());
}

#[test]
fn rbac_005_secrets() {
    assert_eq!(
        crb("{apiGroups: [''], resources: [secrets], verbs: [list]}"),
        ["RBAC-005"]
    );
    assert!(
        crb("{apiGroups: [''], resources: [secrets], verbs: [get], resourceNames: [tls]}")
            .is_empty()
    );
    assert!(crb("{apiGroups: [''], resources: [configmaps], verbs: [get]}").is_empty());
}

#[test]
fn rbac_006_exec_attach() {
    assert_eq!(
        crb("{apiGroups: [''], resources: [pods/exec], verbs: [create]}"),
        ["RBAC-006"]
    );
    assert_eq!(
        crb("{apiGroups: [''], resources: ['*/attach'], verbs: [get]}"),
        ["RBAC-006"]
    );
    assert!(crb("{apiGroups: [''], resources: [pods/log], verbs: [get]}").is_empty());
}

#[test]
fn rbac_007_workload_writes() {
    assert_eq!(
        crb("{apiGroups: [apps], resources: [deployments], verbs: [patch]}"),
        ["RBAC-007"]
    );
    assert_eq!(
        crb("{apiGroups: [batch], resources: [cronjobs], verbs: [create]}"),
        ["RBAC-007"]
    );
    assert!(
        crb("{apiGroups: [apps], resources: [deployments], verbs: [get, list, watch]}").is_empty()
    );
    assert!(
        crb("{apiGroups: [''], resources: [deployments], verbs: [create]}").is_empty(),
        "wrong group"
    );
}

#[test]
fn rbac_008_escalate_bind_impersonate() {
    assert_eq!(
        crb("{apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind]}"),
        ["RBAC-008"]
    );
    assert_eq!(
        crb("{apiGroups: [''], resources: [users, groups], verbs: [impersonate]}"),
        ["RBAC-008"]
    );
    assert_eq!(
        crb(
            "{apiGroups: [''], resources: [serviceaccounts], verbs: [impersonate], resourceNames: [x]}"
        ),
        ["RBAC-008"],
        "resourceNames still count"
    );
    assert!(
        crb("{apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [get]}")
            .is_empty()
    );
}

#[test]
fn rbac_009_node_proxy() {
    assert_eq!(
        crb("{apiGroups: [''], resources: [nodes/proxy], verbs: [get]}"),
        ["RBAC-009"]
    );
    assert!(crb("{apiGroups: [''], resources: [nodes], verbs: [get]}").is_empty());
    // A RoleBinding cannot grant a cluster-scoped resource.
    let rb = audit(&grant(
        "RoleBinding",
        "ci",
        "{apiGroups: [''], resources: [nodes/proxy], verbs: [get]}",
        SA,
    ));
    assert!(checks(&rb).is_empty());
}

#[test]
fn rbac_010_token_minting() {
    assert_eq!(
        crb("{apiGroups: [''], resources: [serviceaccounts/token], verbs: [create]}"),
        ["RBAC-010"]
    );
    assert_eq!(
        crb(
            "{apiGroups: [''], resources: [serviceaccounts/token], verbs: [create], resourceNames: [bot]}"
        ),
        ["RBAC-010"]
    );
    assert!(crb("{apiGroups: [''], resources: [serviceaccounts], verbs: [create]}").is_empty());
}

#[test]
fn rbac_011_needs_both_halves_across_bindings() {
    let approval = "{apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests/approval], verbs: [update]}";
    let signers = "{apiGroups: [certificates.k8s.io], resources: [signers], verbs: [approve]}";
    assert!(crb(approval).is_empty());
    assert!(crb(signers).is_empty());
    let both = format!(
        "{}\n---\n{}",
        grant("ClusterRoleBinding", "", approval, SA),
        grant("ClusterRoleBinding", "", signers, SA)
            .replace("name: r}", "name: r2}")
            .replace("name: b}", "name: b2}")
    );
    let r = audit(&both);
    assert_eq!(
        ids(&r),
        ["RBAC-011 ClusterRoleBinding b2"],
        "points at the signer half"
    );
}

#[test]
fn rbac_012_013_014() {
    assert_eq!(
        crb(
            "{apiGroups: [admissionregistration.k8s.io], resources: [mutatingwebhookconfigurations], verbs: [update]}"
        ),
        ["RBAC-012"]
    );
    assert_eq!(
        crb("{apiGroups: [''], resources: [persistentvolumes], verbs: [create]}"),
        ["RBAC-013"]
    );
    assert_eq!(
        crb("{apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings], verbs: [create]}"),
        ["RBAC-014"]
    );
    assert!(crb("{apiGroups: [''], resources: [persistentvolumes], verbs: [list]}").is_empty());
}

#[test]
fn rbac_015_default_service_account() {
    let sa = "{kind: ServiceAccount, namespace: ci, name: default}";
    let r = audit(&grant(
        "RoleBinding",
        "ci",
        "{apiGroups: [''], resources: [configmaps], verbs: [get]}",
        sa,
    ));
    assert_eq!(checks(&r), ["RBAC-015"]);
    let r = audit(&grant(
        "RoleBinding",
        "ci",
        "{apiGroups: [''], resources: [configmaps], verbs: [get]}",
        SA,
    ));
    assert!(checks(&r).is_empty());
}

#[test]
fn rbac_016_dangling_role_ref() {
    let yaml = "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {namespace: ci, name: b}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: gone}\nsubjects: [{kind: User, name: bob}]\n";
    assert_eq!(ids(&audit(yaml)), ["RBAC-016 RoleBinding ci/b"]);
    // Bootstrap ClusterRoles always exist, even when a snapshot lacks them.
    let yaml = yaml.replace("kind: Role, name: gone", "kind: ClusterRole, name: view");
    assert!(checks(&audit(&yaml)).is_empty());
}

#[test]
fn rbac_017_missing_service_account() {
    let ghost = "{kind: ServiceAccount, namespace: ci, name: ghost}";
    let r = audit(&grant(
        "RoleBinding",
        "ci",
        "{apiGroups: [''], resources: [configmaps], verbs: [get]}",
        ghost,
    ));
    assert_eq!(ids(&r), ["RBAC-017 RoleBinding ci/b"]);
    let r = audit(&grant(
        "RoleBinding",
        "ci",
        "{apiGroups: [''], resources: [configmaps], verbs: [get]}",
        SA,
    ));
    assert!(checks(&r).is_empty());
}

#[test]
fn subject_namespace_defaults_to_the_role_binding_namespace() {
    let sa = "{kind: ServiceAccount, name: deployer}";
    let r = audit(&grant(
        "RoleBinding",
        "ci",
        "{apiGroups: [''], resources: [secrets], verbs: [get]}",
        sa,
    ));
    let f = &r.findings[0];
    assert_eq!(f.subject.as_ref().unwrap().namespace.as_deref(), Some("ci"));
    assert_eq!(
        checks(&r),
        ["RBAC-005"],
        "the ServiceAccount exists in ci: no RBAC-017"
    );
}

#[test]
fn aggregated_cluster_roles_resolve_from_selectors() {
    let yaml = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: monitoring}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {rbac.example.com/aggregate-to-monitoring: "true"}}]
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: secrets-reader, labels: {rbac.example.com/aggregate-to-monitoring: "true"}}
rules: [{apiGroups: [''], resources: [secrets], verbs: [list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: mon}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: monitoring}
subjects: [{kind: User, name: prometheus}]
"#;
    assert_eq!(ids(&audit(yaml)), ["RBAC-005 ClusterRoleBinding mon"]);
}

#[test]
fn cyclic_aggregation_terminates() {
    let yaml = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: a, labels: {agg: b}}
aggregationRule: {clusterRoleSelectors: [{matchLabels: {agg: a}}]}
rules: [{apiGroups: [''], resources: [secrets], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: b, labels: {agg: a}}
aggregationRule: {clusterRoleSelectors: [{matchLabels: {agg: b}}]}
rules: [{apiGroups: [''], resources: [pods/exec], verbs: [create]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: x}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: a}
subjects: [{kind: User, name: u}]
"#;
    assert_eq!(checks(&audit(yaml)), ["RBAC-005", "RBAC-006"]);
}

#[test]
fn builtin_bindings_are_not_reported() {
    let yaml = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: system:controller:x, labels: {kubernetes.io/bootstrapping: rbac-defaults}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:controller:x}
subjects: [{kind: ServiceAccount, namespace: kube-system, name: x}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: system:controller:x, labels: {kubernetes.io/bootstrapping: rbac-defaults}}
rules: [{apiGroups: [''], resources: [secrets], verbs: ['*']}]
"#;
    assert!(checks(&audit(yaml)).is_empty());
}

/// user → create pods in ns A (runs as SA a) → a can create tokens for SA b → b is cluster-admin.
const TWO_HOPS: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {namespace: a, name: pod-creator}
rules: [{apiGroups: [''], resources: [pods], verbs: [create]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {namespace: a, name: alice-pods}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-creator}
subjects: [{kind: User, name: alice}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {namespace: a, name: runner}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {namespace: b, name: token-minter}
rules: [{apiGroups: [''], resources: [serviceaccounts/token], verbs: [create], resourceNames: [admin-bot]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {namespace: b, name: runner-tokens}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: token-minter}
subjects: [{kind: ServiceAccount, namespace: a, name: runner}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {namespace: b, name: admin-bot}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: admin-bot}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, namespace: b, name: admin-bot}]
"#;

#[test]
fn rbac_030_two_hop_path_with_evidence() {
    let r = audit(TWO_HOPS);
    let paths: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.check == "RBAC-030")
        .collect();
    let targets: Vec<_> = paths.iter().map(|f| f.resource.name.as_str()).collect();
    assert_eq!(
        targets,
        ["alice", "runner"],
        "alice (2 hops) and runner (1 hop)"
    );
    let alice = paths[0];
    assert_eq!(alice.resource.kind, "User");
    assert_eq!(alice.evidence.len(), 3, "{:#?}", alice.evidence);
    assert!(
        alice.evidence[0]
            .starts_with("User alice can create pods in namespace a (RoleBinding a/alice-pods)")
    );
    assert!(
        alice.evidence[1]
            .contains("ServiceAccount a/runner can create serviceaccounts/token for b/admin-bot")
    );
    assert!(alice.evidence[2].contains("ServiceAccount b/admin-bot has cluster-admin power"));
    assert!(alice.message.contains("2 hops"));
}

#[test]
fn rbac_030_negative_wrong_token_name_and_powerful_subjects() {
    let r = audit(&TWO_HOPS.replace(
        "resourceNames: [admin-bot]",
        "resourceNames: [someone-else]",
    ));
    assert!(!checks(&r).contains(&"RBAC-030"));
    // A subject that is cluster-admin itself has no "path" to report.
    let r = audit(&format!(
        "{TWO_HOPS}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: alice-admin}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}}\nsubjects: [{{kind: User, name: alice}}]\n"
    ));
    assert!(
        !r.findings
            .iter()
            .any(|f| f.check == "RBAC-030" && f.resource.name == "alice")
    );
}

#[test]
fn rbac_030_through_token_secrets() {
    let yaml = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {namespace: ops, name: read-secrets}
rules: [{apiGroups: [''], resources: [secrets], verbs: [get], resourceNames: [admin-token]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {namespace: ops, name: bob-secrets}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-secrets}
subjects: [{kind: User, name: bob}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {namespace: ops, name: admin}
secrets: [{name: admin-token}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ops-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, namespace: ops, name: admin}]
"#;
    let r = audit(yaml);
    let f = r
        .findings
        .iter()
        .find(|f| f.check == "RBAC-030")
        .expect("path via secret");
    assert!(
        f.evidence[0].contains("can read Secret ops/admin-token"),
        "{:?}",
        f.evidence
    );
    let r = audit(&yaml.replace("resourceNames: [admin-token]", "resourceNames: [other]"));
    assert!(!checks(&r).contains(&"RBAC-030"));
}

/// Every RBAC object a real API server (1.20.2, `kube-posture snapshot` of a fresh cluster)
/// creates: Kubernetes' own roles and bindings must produce no RBAC finding.
#[test]
fn a_fresh_clusters_builtin_rbac_has_no_findings() {
    let dir = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/fresh-cluster-1.20"
    ));
    let (snap, _) = crate::snapshot::load_paths(&[dir]).expect("fixture loads");
    assert!(snap.cluster_roles.len() >= 50 && snap.cluster_role_bindings.len() >= 40);
    let r = crate::audit::run(&crate::audit::AuditInput {
        snapshot: &snap,
        policy: &crate::policy::EffectivePolicy::default_policy(),
        now: crate::audit::testutil::now(),
        release_data: crate::audit::nodes::ReleaseData::builtin(),
        probe: None,
        images: None,
        kubelet: None,
    });
    let rbac: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.category == crate::catalog::Category::Rbac)
        .collect();
    assert!(rbac.is_empty(), "{rbac:#?}");
}
