//! Issue 12 at the controller's edge: one Finding object per exception (POL-001, POL-002),
//! the names of other findings unchanged, and Finding objects and status within their budgets
//! at the sizes of a hostile cluster.

use super::desired::{finding_name, finding_object, finding_status};
use super::status::{self, MAX_STATUS_BYTES, Outcome};
use crate::api::{SecurityPolicy, SecurityPolicySpec};
use crate::audit::bounds;
use crate::audit::testutil::{audit, audit_with};
use crate::policy::EffectivePolicy;
use std::collections::BTreeSet;

/// What a Finding object may serialize to as the operator writes it (metadata, spec and
/// status): 4 KiB less than bounds::MAX_FINDING_OBJECT, which the e2e test `bounds` holds the
/// server's copy to (it adds uid, timestamps and managedFields).
const FINDING_OBJECT_BUDGET: usize = bounds::MAX_FINDING_OBJECT - 4 * 1024;

fn policy_from(spec: serde_json::Value) -> EffectivePolicy {
    let spec: SecurityPolicySpec = serde_json::from_value(spec).expect("spec");
    EffectivePolicy::compile("base", &spec).expect("valid policy")
}

const ADMIN: &str = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: a}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: User, name: u1}, {kind: User, name: u2}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: ns1, name: p}\nspec: {containers: [{name: c, image: x, securityContext: {privileged: true}}]}\n";

fn exception(check: &str, name: &str, expires: Option<&str>) -> serde_json::Value {
    let mut e = serde_json::json!({
        "check": check,
        "resource": {"kind": "ClusterRoleBinding", "namespace": "", "name": name},
        "reason": format!("waiver for {name}"),
    });
    if let Some(t) = expires {
        e["expires"] = t.into();
    }
    e
}

fn pol_names(exceptions: Vec<serde_json::Value>) -> Vec<(String, usize)> {
    let p = policy_from(serde_json::json!({ "exceptions": exceptions }));
    audit_with(ADMIN, &p)
        .findings
        .iter()
        .filter(|f| f.check.as_str().starts_with("POL-"))
        .map(|f| (finding_name("base", f), f.exception.as_ref().unwrap().index))
        .collect()
}

/// Three expired and two unused exceptions: five findings, five Finding objects.
#[test]
fn one_finding_and_one_finding_object_per_exception() {
    let p = policy_from(serde_json::json!({"exceptions": [
        exception("RBAC-001", "old-1", Some("2020-01-01T00:00:00Z")),
        exception("RBAC-001", "old-2", Some("2021-01-01T00:00:00Z")),
        exception("*", "old-3", Some("2022-01-01T00:00:00Z")),
        exception("RBAC-001", "a", None),
        exception("RBAC-005", "nothing-1", None),
        exception("RBAC-001", "nothing-2", None),
    ]}));
    let r = audit_with(ADMIN, &p);
    let pol: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.check.as_str().starts_with("POL-"))
        .collect();
    let checks: Vec<&str> = pol.iter().map(|f| f.check.as_str()).collect();
    assert_eq!(
        checks,
        ["POL-001", "POL-001", "POL-001", "POL-002", "POL-002"]
    );
    let indices: Vec<usize> = pol
        .iter()
        .map(|f| f.exception.as_ref().unwrap().index)
        .collect();
    assert_eq!(indices, [0, 1, 2, 4, 5], "in spec order");
    let names: BTreeSet<String> = pol.iter().map(|f| finding_name("base", f)).collect();
    assert_eq!(names.len(), 5, "five distinct Finding names: {names:?}");
    assert_eq!(r.summary.low, 5, "each counts");

    // Every output shows the five.
    let ctx = crate::report::Context {
        policy: "base",
        audit_time: crate::audit::testutil::now(),
        source_of: &|_| None,
        color: false,
        input_errors: &[],
    };
    let json = crate::report::render(&r, crate::report::Format::Json, &ctx);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let exceptions: Vec<u64> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["exception"]["index"].as_u64())
        .collect();
    assert_eq!(exceptions, [0, 1, 2, 4, 5]);
    let sarif = crate::report::render(&r, crate::report::Format::Sarif, &ctx);
    let sarif: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let fingerprints: BTreeSet<String> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"].as_str().unwrap().starts_with("POL-"))
        .map(|r| r["partialFingerprints"]["kubePostureIdentity/v1"].to_string())
        .collect();
    assert_eq!(fingerprints.len(), 5);
    let table = crate::report::render(&r, crate::report::Format::Table, &ctx);
    for i in [0, 1, 2, 4, 5] {
        assert!(table.contains(&format!("exception {i} (")), "{table}");
    }
    let sp = SecurityPolicy::new("base", Default::default());
    let objects: BTreeSet<Option<String>> = pol
        .iter()
        .map(|f| finding_object(&sp, f).metadata.name)
        .collect();
    assert_eq!(objects.len(), 5);
}

/// A new exception above the others does not rename their findings (the identity is what an
/// exception waives, not its index); the moved ones report their new index.
#[test]
fn inserting_an_exception_keeps_the_others_findings() {
    let expired = exception("RBAC-001", "old", Some("2020-01-01T00:00:00Z"));
    let unused = exception("RBAC-001", "nothing", None);
    let before = pol_names(vec![expired.clone(), unused.clone()]);
    let after = pol_names(vec![
        exception("RBAC-005", "new", None),
        expired.clone(),
        unused.clone(),
    ]);
    assert_eq!(before.len(), 2);
    assert_eq!(after.len(), 3);
    for (name, index) in &before {
        let moved = after.iter().find(|(n, _)| n == name);
        assert_eq!(
            moved.map(|(_, i)| *i),
            Some(index + 1),
            "{name} keeps its name, at its new index"
        );
    }
    // Renewing the reason keeps the identity; what it waives is the identity.
    let mut reworded = expired.clone();
    reworded["reason"] = "reviewed again".into();
    assert_eq!(pol_names(vec![reworded, unused.clone()])[0].0, before[0].0);
    // Two exceptions with the same scope are still two findings.
    let twice = pol_names(vec![expired.clone(), expired]);
    assert_eq!(twice.len(), 2);
    assert_ne!(twice[0].0, twice[1].0);
}

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

    // The offline JSON is the same report: bounded too (a decision, see audit::bounds).
    let ctx = crate::report::Context {
        policy: "base",
        audit_time: crate::audit::testutil::now(),
        source_of: &|_| None,
        color: false,
        input_errors: &[],
    };
    let json = crate::report::render(&r, crate::report::Format::Json, &ctx);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rbac005 = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "RBAC-005")
        .unwrap();
    assert_eq!(
        rbac005["evidence"].as_array().unwrap().last().unwrap(),
        "… and 2990 more"
    );

    let p = EffectivePolicy::default_policy();
    let st = status::desired(&Outcome {
        generation: Some(1),
        now: crate::audit::testutil::now(),
        audit: Ok((&r, &p)),
        degraded: vec![],
        findings_error: None,
        reports: None,
    });
    let status_bytes = status::serialized_len(&st);
    assert!(status_bytes <= MAX_STATUS_BYTES);
    assert_eq!(st.findings.len(), status::TOP_FINDINGS);
    println!(
        "FIGURE bounds unit largest_finding_object_bytes={largest} status_bytes={status_bytes}"
    );
}
