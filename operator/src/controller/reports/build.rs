//! The policy reports the Finding objects call for: one per audited resource, in the shape of
//! OpenReports (`openreports.io/v1alpha1` `Report`/`ClusterReport`) or of the legacy
//! wgpolicyk8s.io group (`PolicyReport`/`ClusterPolicyReport`). Pure: the shell in
//! [`super::sync`] writes what this returns.
//!
//! A report's content is a view of the Finding objects (issue 15, reports.md "OpenReports"):
//! `timestamp` is the Finding's `firstSeen`, `properties.finding` its name, a suppressed
//! Finding is a `skip`. Nothing in it depends on the time of the audit, so an unchanged audit
//! builds byte-identical reports and the shell skips their writes.

use super::flavor::Flavor;
use crate::api::{Finding as FindingObject, SecurityPolicy, TargetRef};
use crate::catalog::{self, Severity, frameworks};
use crate::controller::desired::fnv1a;
use crate::snapshot::Snapshot;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Resource;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// `source` of every report and result.
pub const SOURCE: &str = "kube-posture";
/// The ClusterReport for results about no object the operator can name by UID (a User, a
/// Group, a ServiceAccount a binding names but that does not exist).
pub const CLUSTER_REPORT: &str = "kube-posture-cluster";
/// Every report's name starts so; the rest is the resource's UID.
pub const NAME_PREFIX: &str = "kube-posture-";
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The hash of a report's content, so that a new leader (or a restart) knows which reports
/// are current from a metadata-only list.
pub const HASH_ANNOTATION: &str = "kubeposture.io/content-hash";
/// Results left out of a report by its budget (absent when none were).
pub const OMITTED_ANNOTATION: &str = "kubeposture.io/results-omitted";

/// How much one report may hold (reports.md: at most 500 results and 800 KiB).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub max_results: usize,
    pub max_bytes: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_results: 500,
            max_bytes: 800 * 1024,
        }
    }
}

/// `Report.summary`: every count, zeros included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub warn: usize,
    pub error: usize,
    pub skip: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// An open finding.
    Fail,
    /// A finding an exception suppresses.
    Skip,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Fail => "fail",
            Outcome::Skip => "skip",
        }
    }
}

/// `metav1.Timestamp`: both fields are required by the schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Timestamp {
    pub seconds: i64,
    pub nanos: i32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportResult {
    pub source: &'static str,
    /// The check ID.
    pub policy: String,
    /// A short slug of the check's title.
    pub rule: String,
    pub category: String,
    pub severity: Severity,
    pub result: Outcome,
    pub scored: bool,
    pub timestamp: Timestamp,
    /// Exactly one: Policy Reporter reads only the first.
    pub resources: Vec<ObjectReference>,
    pub message: String,
    pub properties: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub max_results: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Configuration {
    pub limits: Limits,
}

/// A Report, ClusterReport, PolicyReport or ClusterPolicyReport.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyReport {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    /// OpenReports only (the legacy group has no top-level `source`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<ObjectReference>,
    /// OpenReports only: the result budget, as the contract between writers and readers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration: Option<Configuration>,
    pub summary: Summary,
    pub results: Vec<ReportResult>,
}

/// Where a report lives: its namespace (`None`: cluster-scoped) and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReportKey {
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for ReportKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{ns}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// A report to write, with its content hash and what its budget left out.
#[derive(Clone, Debug, PartialEq)]
pub struct Built {
    pub key: ReportKey,
    pub report: PolicyReport,
    pub hash: u64,
    pub omitted: usize,
}

impl Built {
    /// The serialized size, in bytes.
    pub fn bytes(&self) -> usize {
        json_len(&self.report)
    }
}

/// The UIDs of the objects findings can be about: the audited kinds and the policies.
#[derive(Clone, Debug, Default)]
pub struct Owners(HashMap<(String, String, String), String>);

impl Owners {
    pub fn insert(&mut self, kind: &str, namespace: &str, name: &str, uid: &str) {
        self.0.insert(
            (kind.to_string(), namespace.to_string(), name.to_string()),
            uid.to_string(),
        );
    }

    fn insert_all<K: Resource>(&mut self, kind: &str, objects: &[Arc<K>]) {
        for o in objects {
            let m = o.meta();
            if let (Some(name), Some(uid)) = (&m.name, &m.uid) {
                self.insert(kind, m.namespace.as_deref().unwrap_or(""), name, uid);
            }
        }
    }

    /// Every object of `snapshot` and the SecurityPolicies (policy-hygiene findings are
    /// about them).
    pub fn from_snapshot(snapshot: &Snapshot, policies: &[Arc<SecurityPolicy>]) -> Owners {
        let mut o = Owners::default();
        o.insert_all("Namespace", &snapshot.namespaces);
        o.insert_all("Node", &snapshot.nodes);
        o.insert_all("Pod", &snapshot.pods);
        o.insert_all("Deployment", &snapshot.deployments);
        o.insert_all("StatefulSet", &snapshot.stateful_sets);
        o.insert_all("DaemonSet", &snapshot.daemon_sets);
        o.insert_all("ReplicaSet", &snapshot.replica_sets);
        o.insert_all("ReplicationController", &snapshot.replication_controllers);
        o.insert_all("Job", &snapshot.jobs);
        o.insert_all("CronJob", &snapshot.cron_jobs);
        o.insert_all("Service", &snapshot.services);
        o.insert_all("ServiceAccount", &snapshot.service_accounts);
        o.insert_all("Role", &snapshot.roles);
        o.insert_all("ClusterRole", &snapshot.cluster_roles);
        o.insert_all("RoleBinding", &snapshot.role_bindings);
        o.insert_all("ClusterRoleBinding", &snapshot.cluster_role_bindings);
        o.insert_all("SecurityPolicy", policies);
        o
    }

    fn uid(&self, r: &TargetRef) -> Option<&str> {
        self.0
            .get(&(r.kind.clone(), r.namespace.clone(), r.name.clone()))
            .map(String::as_str)
    }
}

/// `rule`: the check's title in lower case, words joined by `-`, cut at a word boundary to at
/// most 48 characters ("Privileged containers" → `privileged-containers`).
pub fn slug(title: &str) -> String {
    const MAX: usize = 48;
    let mut out = String::new();
    for word in title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let extra = usize::from(!out.is_empty()) + word.len();
        if out.len() + extra > MAX {
            if out.is_empty() {
                out.push_str(&word[..MAX].to_ascii_lowercase());
            }
            break;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&word.to_ascii_lowercase());
    }
    out
}

/// `properties.resultID`: a hash of what makes the result this result (source, check,
/// resource UID, sub-key, result). The sub-key is the Finding object's name, which encodes the
/// policy and what the finding is about within the resource (subject, DaemonSet, exception):
/// two policies reporting the same check on the same object are two results.
pub fn result_id(check: &str, uid: &str, sub_key: &str, outcome: Outcome) -> String {
    format!(
        "{:016x}",
        fnv1a(&format!(
            "{SOURCE}|{check}|{uid}|{sub_key}|{}",
            outcome.as_str()
        ))
    )
}

/// The framework controls a check's finding fails, as `framework/control` (`cis-1.12/5.1.1`),
/// honouring evidence qualifiers (`WL-002:hostPID` counts only findings that mention it).
fn controls(check: &str, evidence: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for f in frameworks::FRAMEWORKS {
        for c in f.controls {
            let hit = c.check_refs().any(|r| {
                r.id == check
                    && r.evidence.is_none_or(|word| {
                        let word = word.to_ascii_lowercase();
                        evidence
                            .iter()
                            .any(|e| e.to_ascii_lowercase().contains(&word))
                    })
            });
            if hit {
                out.push(format!("{}/{}", f.id, c.id));
            }
        }
    }
    out
}

fn timestamp(o: &FindingObject) -> Timestamp {
    let seen = o
        .status
        .as_ref()
        .and_then(|s| s.first_seen.as_deref())
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .or_else(|| o.metadata.creation_timestamp.as_ref().map(|t| t.0))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    Timestamp {
        seconds: seen.as_second(),
        nanos: seen.subsec_nanosecond(),
    }
}

fn reference(r: &TargetRef, uid: Option<&str>) -> ObjectReference {
    ObjectReference {
        api_version: Some(r.api_version.clone()),
        kind: Some(r.kind.clone()),
        namespace: (!r.namespace.is_empty()).then(|| r.namespace.clone()),
        name: Some(r.name.clone()),
        uid: uid.map(str::to_string),
        ..Default::default()
    }
}

/// One result for one Finding object (which must have a status).
fn result(o: &FindingObject, uid: Option<&str>) -> Option<ReportResult> {
    let st = o.status.as_ref()?;
    let meta = catalog::lookup(&o.spec.check);
    let outcome = if st.suppressed {
        Outcome::Skip
    } else {
        Outcome::Fail
    };
    let finding = o.metadata.name.clone().unwrap_or_default();
    let r = &o.spec.resource;
    let identity = uid.map_or_else(
        || format!("{}/{}/{}/{}", r.api_version, r.kind, r.namespace, r.name),
        str::to_string,
    );
    let mut properties = BTreeMap::new();
    properties.insert(
        "resultID".to_string(),
        result_id(&o.spec.check, &identity, &finding, outcome),
    );
    properties.insert("policy".to_string(), o.spec.policy.clone());
    properties.insert("finding".to_string(), finding);
    let fw = controls(&o.spec.check, &st.evidence);
    if !fw.is_empty() {
        properties.insert("frameworks".to_string(), fw.join(","));
    }
    if st.suppressed {
        properties.insert(
            "exceptionReason".to_string(),
            st.suppressed_by.clone().unwrap_or_default(),
        );
    }
    Some(ReportResult {
        source: SOURCE,
        policy: o.spec.check.clone(),
        rule: slug(meta.map_or(o.spec.check.as_str(), |m| m.title)),
        category: st
            .category
            .clone()
            .or_else(|| meta.map(|m| m.category.as_str().to_string()))
            .unwrap_or_default(),
        severity: st
            .severity
            .or_else(|| meta.map(|m| m.severity))
            .unwrap_or(Severity::Info),
        result: outcome,
        scored: true,
        timestamp: timestamp(o),
        resources: vec![reference(r, uid)],
        message: st.message.clone().unwrap_or_default(),
        properties,
    })
}

fn json_len<T: Serialize>(v: &T) -> usize {
    // Strings, numbers and maps of strings: serialization cannot fail.
    serde_json::to_vec(v).map_or(0, |b| b.len())
}

/// The order results are kept in when a report is over budget, and listed in: open before
/// suppressed, most severe first, then by check, policy and ID (deterministic).
fn rank(r: &ReportResult) -> impl Ord + '_ {
    (
        r.result,
        std::cmp::Reverse(r.severity),
        r.policy.as_str(),
        r.properties.get("policy"),
        r.properties.get("resultID"),
    )
}

/// Room kept in the byte budget for the annotations and summary written after the cut.
const OVERHEAD: usize = 512;

/// The report of one scope, cut to `budget`.
fn report(
    flavor: Flavor,
    key: ReportKey,
    scope: Option<(&TargetRef, &str)>,
    mut results: Vec<ReportResult>,
    budget: Budget,
) -> Built {
    results.sort_by(|a, b| rank(a).cmp(&rank(b)));
    let mut labels = BTreeMap::new();
    labels.insert(MANAGED_BY.to_string(), SOURCE.to_string());
    let mut report = PolicyReport {
        api_version: flavor.api_version(),
        kind: flavor.kind(key.namespace.is_none()),
        metadata: ObjectMeta {
            name: Some(key.name.clone()),
            namespace: key.namespace.clone(),
            labels: Some(labels),
            owner_references: scope.map(|(r, uid)| {
                vec![OwnerReference {
                    api_version: r.api_version.clone(),
                    kind: r.kind.clone(),
                    name: r.name.clone(),
                    uid: uid.to_string(),
                    ..Default::default()
                }]
            }),
            ..Default::default()
        },
        source: (flavor == Flavor::OpenReports).then_some(SOURCE),
        scope: scope.map(|(r, uid)| reference(r, Some(uid))),
        configuration: (flavor == Flavor::OpenReports).then_some(Configuration {
            limits: Limits {
                max_results: budget.max_results,
            },
        }),
        summary: Summary::default(),
        results: Vec::new(),
    };
    let total = results.len();
    let mut bytes = json_len(&report) + OVERHEAD;
    let mut kept = Vec::new();
    for r in results {
        let size = json_len(&r) + 1;
        if kept.len() == budget.max_results || bytes + size > budget.max_bytes {
            break;
        }
        bytes += size;
        kept.push(r);
    }
    let omitted = total - kept.len();
    for r in &kept {
        match r.result {
            Outcome::Fail => report.summary.fail += 1,
            Outcome::Skip => report.summary.skip += 1,
        }
    }
    report.results = kept;
    let mut annotations = BTreeMap::new();
    if omitted > 0 {
        annotations.insert(OMITTED_ANNOTATION.to_string(), omitted.to_string());
    }
    report.metadata.annotations = Some(annotations.clone());
    let hash = fnv1a(&serde_json::to_string(&report).unwrap_or_default());
    annotations.insert(HASH_ANNOTATION.to_string(), format!("{hash:016x}"));
    report.metadata.annotations = Some(annotations);
    Built {
        key,
        report,
        hash,
        omitted,
    }
}

/// Every report the Finding objects call for, sorted by namespace and name. Finding objects
/// without a status (never fully written) give no result.
pub fn build(
    flavor: Flavor,
    findings: &[Arc<FindingObject>],
    owners: &Owners,
    budget: Budget,
) -> Vec<Built> {
    // Scope (target and UID; `None`: the cluster report) → results.
    type Scope<'a> = Option<(&'a TargetRef, &'a str)>;
    let mut scopes: BTreeMap<ReportKey, (Scope, Vec<ReportResult>)> = BTreeMap::new();
    for o in findings {
        let target = &o.spec.resource;
        let uid = owners.uid(target);
        let Some(r) = result(o, uid) else { continue };
        let (key, scope) = match uid {
            Some(uid) => (
                ReportKey {
                    namespace: (!target.namespace.is_empty()).then(|| target.namespace.clone()),
                    name: format!("{NAME_PREFIX}{uid}"),
                },
                Some((target, uid)),
            ),
            None => (
                ReportKey {
                    namespace: None,
                    name: CLUSTER_REPORT.to_string(),
                },
                None,
            ),
        };
        scopes
            .entry(key)
            .or_insert_with(|| (scope, Vec::new()))
            .1
            .push(r);
    }
    scopes
        .into_iter()
        .map(|(key, (scope, results))| report(flavor, key, scope, results, budget))
        .collect()
}

/// What the shell must do to bring the cluster from `known` (report → content hash, as last
/// written or listed) to `desired`.
#[derive(Debug, Default, PartialEq)]
pub struct Plan<'a> {
    pub apply: Vec<&'a Built>,
    /// Reports of ours with no result left.
    pub delete: Vec<ReportKey>,
    /// Reports whose content hash is unchanged: not written.
    pub unchanged: usize,
}

pub fn plan<'a>(desired: &'a [Built], known: &HashMap<ReportKey, u64>) -> Plan<'a> {
    let mut p = Plan::default();
    for b in desired {
        if known.get(&b.key) == Some(&b.hash) {
            p.unchanged += 1;
        } else {
            p.apply.push(b);
        }
    }
    let wanted: std::collections::HashSet<&ReportKey> = desired.iter().map(|b| &b.key).collect();
    let mut delete: Vec<ReportKey> = known
        .keys()
        .filter(|k| !wanted.contains(k))
        .cloned()
        .collect();
    delete.sort();
    p.delete = delete;
    p
}
