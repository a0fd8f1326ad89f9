//! The Finding objects a report calls for, and what must change to get there. Pure: the
//! reconcile applies the plan.

use crate::api::{
    Finding as FindingObject, FindingSpec, FindingStatus, SecurityPolicy, TargetRef, labels,
};
use crate::audit::{Finding, Report};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Resource;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// FNV-1a, 64 bits: a stable hash (the same on every platform and release) for names.
pub(crate) fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// `<policy>-<check>-<8 hex of the identity's hash>`, lower case, at most 253 characters.
pub fn finding_name(policy: &str, f: &Finding) -> String {
    let hash = fnv1a(&format!("{policy}|{}", f.identity())) as u32;
    let check = f.check.as_str().to_lowercase();
    let max_policy = 253 - check.len() - 10;
    let policy: String = policy.chars().take(max_policy).collect();
    format!("{policy}-{check}-{hash:08x}")
}

/// A label value: at most 63 characters, alphanumeric at both ends.
fn label_value(s: &str) -> String {
    if s.len() <= 63 {
        return s.to_string();
    }
    let hash = fnv1a(s) as u32;
    let head: String = s.chars().take(54).collect();
    format!("{}-{hash:08x}", head.trim_end_matches(['-', '.', '_']))
}

fn owner(policy: &SecurityPolicy) -> Option<OwnerReference> {
    Some(OwnerReference {
        api_version: crate::api::API_VERSION.to_string(),
        kind: "SecurityPolicy".to_string(),
        name: policy.metadata.name.clone()?,
        uid: policy.metadata.uid.clone()?,
        controller: Some(true),
        block_owner_deletion: None,
    })
}

/// The status a Finding object carries for `f` (firstSeen set by the caller).
pub fn finding_status(f: &Finding) -> FindingStatus {
    FindingStatus {
        severity: Some(f.severity),
        category: Some(f.category.as_str().to_string()),
        title: Some(f.title.to_string()),
        message: Some(f.message.clone()),
        remediation: Some(f.remediation.to_string()),
        subject: f.subject.clone(),
        node: f.node.as_deref().map(String::from),
        daemon_set: f.daemon_set.as_deref().cloned(),
        container: f.container.clone(),
        reason: f.reason.as_deref().map(String::from),
        evidence: f.evidence.clone(),
        suppressed: f.suppressed,
        suppressed_by: f.suppressed_by.clone(),
        exception: f.exception.as_ref().map(|e| crate::api::FindingException {
            index: u32::try_from(e.index).unwrap_or(u32::MAX),
            waives: e.key.clone(),
        }),
        first_seen: None,
    }
}

/// The Finding object for `f` (metadata and spec; status travels separately).
pub fn finding_object(policy: &SecurityPolicy, f: &Finding) -> FindingObject {
    let policy_name = policy.metadata.name.clone().unwrap_or_default();
    let mut l = BTreeMap::new();
    l.insert(labels::POLICY.to_string(), label_value(&policy_name));
    l.insert(labels::CHECK.to_string(), f.check.to_string());
    l.insert(
        labels::SEVERITY.to_string(),
        f.severity.as_str().to_string(),
    );
    l.insert(
        labels::CATEGORY.to_string(),
        f.category.as_str().to_string(),
    );
    l.insert(
        labels::TARGET_NAMESPACE.to_string(),
        f.resource.namespace.clone().unwrap_or_default(),
    );
    FindingObject {
        metadata: ObjectMeta {
            name: Some(finding_name(&policy_name, f)),
            labels: Some(l),
            owner_references: owner(policy).map(|o| vec![o]),
            ..Default::default()
        },
        spec: FindingSpec {
            policy: policy_name,
            check: f.check.to_string(),
            resource: TargetRef {
                api_version: f.resource.api_version.to_string(),
                kind: f.resource.kind.to_string(),
                namespace: f.resource.namespace.clone().unwrap_or_default(),
                name: f.resource.name.clone(),
            },
        },
        status: None,
    }
}

/// What to write.
#[derive(Debug, Default)]
pub struct Plan<'r> {
    /// New Findings: create the object, then its status.
    pub create: Vec<(FindingObject, FindingStatus, &'r Finding)>,
    /// Existing Findings whose details changed (or whose labels did): rewrite.
    pub update: Vec<(FindingObject, FindingStatus)>,
    /// Findings no longer reported (by name), with the existing object for events.
    pub delete: Vec<Arc<FindingObject>>,
    /// Of `delete`, those really resolved (not merely pushed out by the finding limit).
    pub resolved: Vec<Arc<FindingObject>>,
}

impl Plan<'_> {
    /// The policy's Finding objects once the plan is applied: `existing` less the deleted and
    /// rewritten ones, plus the new and rewritten ones with their statuses. What the policy
    /// reports (OpenReports) show.
    pub fn outcome(&self, existing: &[Arc<FindingObject>]) -> Vec<Arc<FindingObject>> {
        let replaced: std::collections::HashSet<&str> = self
            .delete
            .iter()
            .filter_map(|f| f.metadata.name.as_deref())
            .chain(
                self.update
                    .iter()
                    .filter_map(|(o, _)| o.metadata.name.as_deref()),
            )
            .collect();
        let written = self
            .create
            .iter()
            .map(|(o, s, _)| (o, s))
            .chain(self.update.iter().map(|(o, s)| (o, s)))
            .map(|(o, s)| {
                let mut o = o.clone();
                o.status = Some(s.clone());
                Arc::new(o)
            });
        existing
            .iter()
            .filter(|f| {
                !f.metadata
                    .name
                    .as_deref()
                    .is_some_and(|n| replaced.contains(n))
            })
            .cloned()
            .chain(written)
            .collect()
    }
}

/// Diff the report's top `findingLimit` findings against the policy's existing Finding
/// objects. `now` is the firstSeen of new findings.
pub fn plan<'r>(
    policy: &SecurityPolicy,
    report: &'r Report,
    limit: usize,
    existing: &[Arc<FindingObject>],
    now: &str,
) -> Plan<'r> {
    let policy_name = policy.metadata.name.clone().unwrap_or_default();
    let by_name: HashMap<&str, &Arc<FindingObject>> = existing
        .iter()
        .filter_map(|f| f.metadata.name.as_deref().map(|n| (n, f)))
        .collect();
    let mut plan = Plan::default();
    let mut wanted = std::collections::HashSet::new();
    for f in report.findings.iter().take(limit) {
        let obj = finding_object(policy, f);
        let name = obj.metadata.name.clone().unwrap_or_default();
        let mut status = finding_status(f);
        match by_name.get(name.as_str()) {
            None => {
                status.first_seen = Some(now.to_string());
                plan.create.push((obj, status, f));
            }
            Some(cur) => {
                status.first_seen = cur
                    .status
                    .as_ref()
                    .and_then(|s| s.first_seen.clone())
                    .or_else(|| Some(now.to_string()));
                let same_status = cur.status.as_ref() == Some(&status);
                let same_meta = cur.metadata.labels == obj.metadata.labels && cur.spec == obj.spec;
                if !same_status || !same_meta {
                    plan.update.push((obj, status));
                }
            }
        }
        wanted.insert(name);
    }
    // Every finding's name (beyond the limit too), only when an object is deleted: to tell a
    // finding resolved from one evicted by the limit. Most audits delete nothing, and naming
    // 100,000 findings on each was a tenth of the operator's CPU.
    let mut all_names: Option<std::collections::HashSet<String>> = None;
    for f in existing {
        let Some(name) = f.metadata.name.as_deref() else {
            continue;
        };
        if !wanted.contains(name) {
            plan.delete.push(f.clone());
            let all = all_names.get_or_insert_with(|| {
                report
                    .findings
                    .iter()
                    .map(|f| finding_name(&policy_name, f))
                    .collect()
            });
            if !all.contains(name) {
                plan.resolved.push(f.clone());
            }
        }
    }
    plan
}

/// The findings `existing` Finding objects record, as an audit reports them: what the last
/// audits found, which the next one holds for checks it cannot assess. Objects of checks no
/// longer in the catalog, or whose status was never written, are left out.
pub fn recorded_findings(policy: &str, existing: &[Arc<FindingObject>]) -> Vec<Arc<Finding>> {
    existing
        .iter()
        .filter_map(|o| {
            let meta = crate::catalog::lookup(&o.spec.check)?;
            let st = o.status.as_ref()?;
            let r = &o.spec.resource;
            let mut f = Finding::new(
                meta.id,
                crate::audit::ObjectRef::other(
                    &r.api_version,
                    &r.kind,
                    Some(r.namespace.as_str()),
                    &r.name,
                ),
                st.message.clone().unwrap_or_default(),
            );
            f.severity = st.severity.unwrap_or(meta.severity);
            // The catalog's text stays borrowed: only a remediation with facts is copied.
            if let Some(r) = st.remediation.as_ref().filter(|r| **r != f.remediation) {
                f.remediation = r.clone().into();
            }
            f.subject = st.subject.clone();
            f.node = st.node.as_deref().map(Box::from);
            f.daemon_set = st.daemon_set.clone().map(Box::new);
            f.container = st.container.clone();
            f.reason = st.reason.as_deref().map(Box::from);
            f.evidence = st.evidence.clone();
            f.suppressed = st.suppressed;
            f.suppressed_by = st.suppressed_by.clone();
            f.exception = st.exception.as_ref().map(|e| {
                Box::new(crate::audit::ExceptionRef {
                    index: e.index as usize,
                    key: e.waives.clone(),
                })
            });
            // Only what maps back to the same object: a name that differs would be a new
            // object, and the old one deleted.
            (o.metadata.name.as_deref() == Some(finding_name(policy, &f).as_str()))
                .then(|| Arc::new(f))
        })
        .collect()
}

/// The policy's own Finding objects among all of them: owned by this policy's UID (a
/// re-created policy of the same name does not adopt its predecessor's).
pub fn owned_by(policy: &SecurityPolicy, all: &[Arc<FindingObject>]) -> Vec<Arc<FindingObject>> {
    let uid = policy.meta().uid.as_deref();
    all.iter()
        .filter(|f| {
            f.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.kind == "SecurityPolicy" && Some(o.uid.as_str()) == uid)
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testutil::audit;

    fn policy() -> SecurityPolicy {
        let mut p = SecurityPolicy::new("base", Default::default());
        p.metadata.uid = Some("uid-1".into());
        p
    }

    /// The Finding objects a plan's creations leave, statuses included.
    fn written(plan: &Plan) -> Vec<Arc<FindingObject>> {
        plan.create
            .iter()
            .map(|(o, s, _)| {
                let mut o = o.clone();
                o.status = Some(s.clone());
                Arc::new(o)
            })
            .collect()
    }

    const TWO: &str = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: a}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: User, name: u1}, {kind: User, name: u2}]\n";

    #[test]
    fn names_are_stable_distinct_and_valid() {
        let r = audit(TWO);
        let names: Vec<String> = r.findings.iter().map(|f| finding_name("base", f)).collect();
        assert_eq!(names.len(), 2);
        assert_ne!(names[0], names[1], "the subject is part of the identity");
        assert!(
            names[0].starts_with("base-rbac-001-") && names[0].len() == "base-rbac-001-".len() + 8
        );
        assert_eq!(
            names,
            r.findings
                .iter()
                .map(|f| finding_name("base", f))
                .collect::<Vec<_>>()
        );
        let long = "p".repeat(253);
        assert!(finding_name(&long, &r.findings[0]).len() <= 253);
        assert!(label_value(&long).len() <= 63);
    }

    #[test]
    fn plan_creates_then_updates_nothing_then_deletes() {
        let p = policy();
        let r = audit(TWO);
        let plan1 = plan(&p, &r, 500, &[], "t0");
        assert_eq!(
            (plan1.create.len(), plan1.update.len(), plan1.delete.len()),
            (2, 0, 0)
        );
        // What exists after the writes.
        let existing = written(&plan1);
        let plan2 = plan(&p, &r, 500, &existing, "t1");
        let writes = plan2.create.len() + plan2.update.len() + plan2.delete.len();
        assert_eq!(writes, 0, "nothing changed, nothing written");
        let r3 = audit(&TWO.replace(", {kind: User, name: u2}", ""));
        let plan3 = plan(&p, &r3, 500, &existing, "t2");
        assert_eq!(
            (plan3.create.len(), plan3.delete.len(), plan3.resolved.len()),
            (0, 1, 1)
        );
    }

    #[test]
    fn the_outcome_is_what_exists_after_the_writes() {
        let p = policy();
        let r = audit(TWO);
        let plan1 = plan(&p, &r, 500, &[], "t0");
        let json = |v: &[Arc<FindingObject>]| {
            serde_json::to_value(v.iter().map(|o| &**o).collect::<Vec<_>>()).unwrap()
        };
        let after1 = plan1.outcome(&[]);
        assert_eq!(json(&after1), json(&written(&plan1)));
        let plan2 = plan(&p, &r, 500, &after1, "t1");
        assert_eq!(
            json(&plan2.outcome(&after1)),
            json(&after1),
            "nothing changed"
        );
        let r3 = audit(&TWO.replace(", {kind: User, name: u2}", ""));
        let plan3 = plan(&p, &r3, 500, &after1, "t2");
        let after3 = plan3.outcome(&after1);
        assert_eq!(after3.len(), 1);
        assert_eq!(
            after3[0].status.as_ref().unwrap().first_seen.as_deref(),
            Some("t0"),
            "firstSeen kept"
        );
    }

    #[test]
    fn the_limit_caps_objects_without_calling_them_resolved() {
        let p = policy();
        let r = audit(TWO);
        let plan1 = plan(&p, &r, 2, &[], "t0");
        let existing: Vec<Arc<FindingObject>> = plan1
            .create
            .iter()
            .map(|(o, _, _)| Arc::new(o.clone()))
            .collect();
        let plan2 = plan(&p, &r, 1, &existing, "t1");
        assert_eq!((plan2.delete.len(), plan2.resolved.len()), (1, 0));
    }

    #[test]
    fn recorded_findings_map_back_to_the_same_objects() {
        let p = policy();
        let r = audit(TWO);
        let plan1 = plan(&p, &r, 500, &[], "t0");
        let existing = written(&plan1);
        let recorded = recorded_findings("base", &existing);
        assert_eq!(recorded.len(), 2);
        for (f, o) in recorded.iter().zip(&existing) {
            assert_eq!(Some(finding_name("base", f)), o.metadata.name);
            let mut st = finding_status(f);
            st.first_seen = Some("t0".into());
            assert_eq!(
                Some(&st),
                o.status.as_ref(),
                "a held finding rewrites nothing"
            );
        }
        // A report made of them plans no write at all.
        let held = Report {
            findings: recorded,
            ..Default::default()
        };
        let plan2 = plan(&p, &held, 500, &existing, "t1");
        assert_eq!(
            plan2.create.len() + plan2.update.len() + plan2.delete.len(),
            0
        );
        // An object without status, or of an unknown check, is not a record.
        let mut bare = (*existing[0]).clone();
        bare.status = None;
        let mut unknown = (*existing[1]).clone();
        unknown.spec.check = "XYZ-999".into();
        assert!(recorded_findings("base", &[Arc::new(bare), Arc::new(unknown)]).is_empty());
    }

    #[test]
    fn recorded_policy_hygiene_findings_keep_their_exception() {
        let spec = serde_json::json!({"exceptions": [
            {"check": "RBAC-005", "resource": {"kind": "RoleBinding", "name": "a"}, "reason": "x"},
            {"check": "RBAC-005", "resource": {"kind": "RoleBinding", "name": "b"}, "reason": "y"},
        ]});
        let ep =
            crate::policy::EffectivePolicy::compile("base", &serde_json::from_value(spec).unwrap())
                .expect("valid policy");
        let r = crate::audit::testutil::audit_with(TWO, &ep);
        let pols: Vec<&Arc<Finding>> = r.findings.iter().filter(|f| f.check == "POL-002").collect();
        assert_eq!(pols.len(), 2, "one per exception");
        let p = policy();
        let existing = written(&plan(&p, &r, 500, &[], "t0"));
        let recorded = recorded_findings("base", &existing);
        assert_eq!(recorded.len(), existing.len(), "every object maps back");
        for pol in pols {
            assert!(recorded.iter().any(|f| f.same_identity(pol)), "{pol:?}");
        }
    }

    #[test]
    fn labels_and_owner() {
        let r = audit(TWO);
        let o = finding_object(&policy(), &r.findings[0]);
        let l = o.metadata.labels.unwrap();
        assert_eq!(l[labels::CHECK], "RBAC-001");
        assert_eq!(l[labels::SEVERITY], "critical");
        assert_eq!(l[labels::TARGET_NAMESPACE], "");
        let owner = &o.metadata.owner_references.unwrap()[0];
        assert_eq!(
            (owner.uid.as_str(), owner.controller),
            ("uid-1", Some(true))
        );
        assert_eq!(o.spec.resource.namespace, "");
    }
}
