//! Issue 12 at the controller's edge: the names of findings unchanged, and Finding objects
//! and status within their budgets at the sizes of a hostile cluster.

use super::desired::{finding_name, finding_object, finding_status};
use super::status::{self, MAX_STATUS_BYTES, Outcome};
use crate::api::SecurityPolicy;
use crate::audit::bounds;
use crate::audit::testutil::audit;
use crate::policy::EffectivePolicy;

/// What a Finding object may serialize to as the operator writes it (metadata, spec and
/// status). The server's copy adds uid, timestamps and managedFields (about 1 KiB); the e2e
/// test `bounds` holds that copy to [`FINDING_OBJECT_BUDGET`] + 4 KiB.
pub const FINDING_OBJECT_BUDGET: usize = 20 * 1024;

const ADMIN: &str = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: a}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: User, name: u1}, {kind: User, name: u2}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: ns1, name: p}\nspec: {containers: [{name: c, image: x, securityContext: {privileged: true}}]}\n";

/// Finding names of other checks are those of earlier releases: existing clusters' Findings
/// are not re-created. (Expected values: FNV-1a of `base|<identity>`, computed independently.)
#[test]
fn names_of_other_findings_are_unchanged() {
    let r = audit(ADMIN);
    let name = |check: &str, subject: Option<&str>| {
        let f = r
            .findings
            .iter()
            .find(|f| f.check == check && f.subject.as_ref().map(|s| s.name.as_str()) == subject)
            .unwrap_or_else(|| panic!("{check} {subject:?}"));
        (f.identity(), finding_name("base", f))
    };
    assert_eq!(
        name("RBAC-001", Some("u1")),
        (
            "RBAC-001|ClusterRoleBinding||a|subject=User//u1".to_string(),
            "base-rbac-001-70f18dd4".to_string()
        )
    );
    assert_eq!(name("RBAC-001", Some("u2")).1, "base-rbac-001-70f192ed");
    assert_eq!(
        name("WL-001", None),
        (
            "WL-001|Pod|ns1|p".to_string(),
            "base-wl-001-ce648758".to_string()
        )
    );
}

/// The sizes of issue 12: a Role of 3,000 rules, a Pod of 300 privileged containers with
/// 63-character names, a binding to cluster-admin with 5,000 subjects.
fn hostile_cluster() -> String {
    let mut y = String::from(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {namespace: big, name: many-rules}\nrules:\n",
    );
    for i in 0..3000 {
        let extra: Vec<String> = (0..40)
            .map(|j| format!("r{i:04}-{j:02}-xxxxxxxxxx"))
            .collect();
        y.push_str(&format!(
            "- {{apiGroups: [\"\"], resources: [secrets, {}], verbs: [get]}}\n",
            extra.join(", ")
        ));
    }
    y.push_str("---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {namespace: big, name: many-rules}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: many-rules}\nsubjects: [{kind: User, name: reader}]\n");
    y.push_str("---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: big, name: wide}\nspec:\n  containers:\n");
    for i in 0..300 {
        y.push_str(&format!(
            "  - {{name: c{i:03}-{}, image: busybox, securityContext: {{privileged: true}}}}\n",
            "x".repeat(58)
        ));
    }
    y.push_str("---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: crowd}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects:\n");
    for i in 0..5000 {
        y.push_str(&format!("- {{kind: User, name: user-{i:05}}}\n"));
    }
    y
}

#[test]
fn finding_objects_and_status_stay_within_budget_at_hostile_sizes() {
    let r = audit(&hostile_cluster());
    let mut sp = SecurityPolicy::new("base", Default::default());
    sp.metadata.uid = Some("uid-1".into());
    let mut largest = 0;
    for f in &r.findings {
        let mut o = finding_object(&sp, f);
        o.status = Some(finding_status(f));
        let bytes = serde_json::to_vec(&o).unwrap().len();
        largest = largest.max(bytes);
        assert!(
            bytes <= FINDING_OBJECT_BUDGET,
            "{} on {}: {bytes} bytes",
            f.check,
            f.resource.name
        );
    }
    let by = |check: &str, name: &str| {
        r.findings
            .iter()
            .find(|f| f.check == check && f.resource.name == name)
            .unwrap_or_else(|| panic!("{check} on {name}"))
    };
    let secrets = by("RBAC-005", "many-rules");
    assert!(
        secrets
            .evidence
            .last()
            .unwrap()
            .starts_with("… and 2990 more"),
        "{:?}",
        secrets.evidence.last()
    );
    assert!(
        secrets
            .evidence
            .iter()
            .all(|e| e.len() <= bounds::MAX_ENTRY)
    );
    assert!(
        secrets.evidence[0].ends_with(" more bytes)"),
        "a 1 KiB rule is cut: {}",
        secrets.evidence[0]
    );
    let wide = by("WL-001", "wide");
    assert!(wide.message.ends_with("… and 286 more"), "{}", wide.message);
    assert!(wide.message.len() <= bounds::MAX_MESSAGE);
    assert!(
        wide.container
            .as_deref()
            .unwrap()
            .ends_with("… and 285 more")
    );
    let crowd = r
        .findings
        .iter()
        .filter(|f| f.check == "RBAC-001" && f.resource.name == "crowd")
        .count();
    assert_eq!(crowd, 5000, "one finding per subject, none dropped");

    let p = EffectivePolicy::default_policy();
    let st = status::desired(&Outcome {
        generation: Some(1),
        now: crate::audit::testutil::now(),
        audit: Ok((&r, &p)),
        degraded: vec![],
        findings_error: None,
    });
    let status_bytes = status::serialized_len(&st);
    assert!(status_bytes <= MAX_STATUS_BYTES);
    assert_eq!(st.findings.len(), status::TOP_FINDINGS);
    println!(
        "FIGURE bounds unit largest_finding_object_bytes={largest} status_bytes={status_bytes}"
    );
}
