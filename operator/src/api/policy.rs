// kube-derive repeats `type_ = …` in each printcolumn; clippy reads that as a duplicated attribute.
#![allow(clippy::duplicated_attributes)]

use crate::catalog::Severity;
use crate::outcome::{LayerStatus, NotAssessed, Summary};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A check selector: a check ID (`RBAC-001`), a category (`rbac`, `apiserver`, `etcd`,
/// `controlplane`, `daemonset`, `workload`, `node`, `kubelet`, `image`, `layers`, `policy`) or a group
/// (`workload-restricted`).
pub const CHECK_SELECTOR_PATTERN: &str = r"^([A-Z]+-[0-9]{3}|rbac|apiserver|etcd|controlplane|daemonset|workload|node|kubelet|image|layers|policy|workload-restricted)$";
/// An exception's check: an ID or `*`.
pub const EXCEPTION_CHECK_PATTERN: &str = r"^([A-Z]+-[0-9]{3}|\*)$";
/// A Go-style duration made of whole units: `30s`, `10m`, `1h30m`.
pub const INTERVAL_PATTERN: &str = r"^([0-9]+(ms|s|m|h))+$";

/// A SecurityPolicy says what to audit and how to judge it: which checks run, on which
/// namespaces, which security agents must run on every node, and which findings are waived.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "kubeposture.io",
    version = "v1alpha1",
    kind = "SecurityPolicy",
    plural = "securitypolicies",
    shortname = "secpol",
    category = "posture",
    status = "SecurityPolicyStatus",
    doc = "A security posture policy: which checks run on which namespaces, required security agents and waivers.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Compliant",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Compliant\")].status"
    ),
    printcolumn(
        name = "Critical",
        type_ = "integer",
        json_path = ".status.summary.critical"
    ),
    printcolumn(name = "High", type_ = "integer", json_path = ".status.summary.high"),
    printcolumn(name = "Score", type_ = "integer", json_path = ".status.score"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct SecurityPolicySpec {
    /// Which checks run. Empty `include` means every check that is on by default.
    #[serde(default)]
    pub checks: CheckSelection,
    /// Change the severity of a check's findings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 200))]
    pub severity_overrides: Vec<SeverityOverride>,
    /// Which namespaces namespaced targets (workloads, RoleBindings, Namespaces) are audited in.
    /// Cluster-scoped checks always run.
    #[serde(default)]
    pub namespaces: NamespaceSelection,
    /// Security agents that must run, Ready, on every eligible node (checks DS-001…DS-004).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub required_daemon_sets: Vec<RequiredDaemonSet>,
    /// Waivers: findings they match are reported as suppressed and do not count.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 500))]
    pub exceptions: Vec<PolicyException>,
    /// Remediation Events on offending objects.
    #[serde(default)]
    pub remediation: RemediationSettings,
    /// `Compliant` is False when an unsuppressed finding is at or above this severity.
    /// Default: high.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<Severity>,
    /// How often a full audit runs, besides the audits that cluster changes trigger.
    /// A duration such as `10m` or `1h`; at least 30s. Default: 10m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), pattern(INTERVAL_PATTERN))]
    pub interval: Option<String>,
    /// The most Finding objects this policy may own (counts in status stay exact beyond it).
    /// Default: 500.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000))]
    pub finding_limit: Option<u32>,
    /// Image inspection: read the configs of running images from their registries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<ImageSettings>,
    /// How kubelet configurations are read (KUBELET-001…014).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubelet: Option<KubeletSettings>,
    /// Live probes sent from where the operator runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probes: Option<ProbeSettings>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubeletSettings {
    /// Read each kubelet's running configuration (`GET /api/v1/nodes/NODE/proxy/configz`
    /// through the API server), the strongest source for KUBELET-001…014. Needs `get` on
    /// `nodes/proxy`, which also allows exec into every pod on the node: the default install
    /// does not grant it; apply `manifests/optional/kubelet-configz-rbac.yaml` to allow it.
    /// Without it, the kubeadm `kube-system/kubelet-config` ConfigMap and k3s/RKE2 node-args
    /// annotations are read. Default: false.
    #[serde(default)]
    pub configz: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProbeSettings {
    /// KUBELET-101/102: unauthenticated GETs from the operator to every node's InternalIP,
    /// `https://IP:KUBELET_PORT/healthz` then `/pods`, and `http://IP:10255/healthz`. No
    /// credentials, TLS not verified, 2 s to connect and 5 s in all, at most 1 KiB read and
    /// never kept. A kubelet that does not answer is reported as not assessed. Turns on
    /// KUBELET-101 and KUBELET-102 unless `checks.exclude` names them. Default: false.
    #[serde(default)]
    pub kubelet: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageSettings {
    /// Read the image config (OCI distribution API) of every container that WL-005 reports, to
    /// tell an image that runs as root by default (IMG-001) from one that sets a non-root USER
    /// (WL-005 then stays, at low severity). Anonymous pulls, unless the operator is given a
    /// docker-config file (`--registry-config`); Secrets are never read. Default: false.
    #[serde(default)]
    pub inspect: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckSelection {
    /// Check IDs, categories or groups to run. Empty: every default check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 200),
        inner(length(max = 64), pattern(CHECK_SELECTOR_PATTERN))
    )]
    pub include: Vec<String>,
    /// Check IDs, categories or groups not to run (wins over include).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 200),
        inner(length(max = 64), pattern(CHECK_SELECTOR_PATTERN))
    )]
    pub exclude: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeverityOverride {
    /// A check ID.
    #[schemars(length(max = 16), pattern(r"^[A-Z]+-[0-9]{3}$"))]
    pub check: String,
    pub severity: Severity,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSelection {
    /// Namespace names or globs (`team-*`). Empty: all namespaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 500), inner(length(min = 1, max = 253)))]
    pub include: Vec<String>,
    /// Namespace names or globs to leave out (wins over include).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 500), inner(length(min = 1, max = 253)))]
    pub exclude: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequiredDaemonSet {
    #[schemars(length(min = 1, max = 63))]
    pub namespace: String,
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Nodes that must run it (labels that must all match). Empty: every node.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyException {
    /// The check it waives: an ID, or `*` for every check.
    #[schemars(length(max = 16), pattern(EXCEPTION_CHECK_PATTERN))]
    pub check: String,
    /// The finding's target. Omitted fields match anything; `name` may be a glob.
    #[serde(default)]
    pub resource: ExceptionResource,
    /// Why the finding is accepted (shown with suppressed findings).
    #[schemars(length(min = 1, max = 1024))]
    pub reason: String,
    /// When the waiver stops applying (RFC 3339, e.g. `2027-03-31T00:00:00Z`). Expired
    /// exceptions suppress nothing and raise POL-001.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub expires: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionResource {
    /// Kind of the target (`ClusterRoleBinding`, `Deployment`, `Node`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub kind: Option<String>,
    /// Namespace of the target; `""` for cluster-scoped targets. A glob is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub namespace: Option<String>,
    /// Name of the target, or a glob (`break-glass-*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub name: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemediationSettings {
    /// Write a Warning Event on the offending object when a finding first appears. Default: true.
    #[serde(default = "default_true")]
    pub events: bool,
}

impl Default for RemediationSettings {
    fn default() -> Self {
        RemediationSettings { events: true }
    }
}

fn default_true() -> bool {
    true
}

/// What the operator last saw, written through the status subresource.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecurityPolicyStatus {
    /// The generation of the spec this status describes; lags `metadata.generation` while an
    /// edit is being audited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When the audit that produced this status ran (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_audit_time: Option<String>,
    /// 0-100: the severity-weighted share of assessed checks that pass (see docs/checks.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// `Ready` (the last audit ran and its results were written), `Compliant` (nothing
    /// unsuppressed at or above `failureThreshold`), `Degraded` (some input could not be
    /// read), and kstatus' `Reconciling` (a spec edit not yet audited) and `Stalled` (an
    /// invalid spec, or Findings that cannot be written: someone has to act).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The most severe findings (at most 50); all of them are Finding objects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<FindingSummary>,
    /// True when there are more findings than `findings` or Finding objects show.
    #[serde(default)]
    pub findings_truncated: bool,
    /// Categories that could not be assessed, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_assessed: Vec<NotAssessed>,
    /// Compliance with each framework (`kube-posture report --framework ID` shows the
    /// controls), judged from the same audit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frameworks: Vec<FrameworkStatus>,
    /// The posture layer by layer (identity, control-plane, datastore, host, workload, paths,
    /// policy): finding counts and a score for each layer that has an enabled check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerStatus>,
}

/// One compliance framework's summary: how many of its controls pass, fail, need a person
/// (`manual`) or could not be judged with the checks this policy runs (`notAssessed`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FrameworkStatus {
    /// `cis-1.12`, `nsa-cisa-1.2`, `pss-baseline` or `pss-restricted`.
    pub id: String,
    /// 0-100: the share of evaluated controls (passed + failed) that pass; absent when none
    /// could be evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u32>,
    pub passed: u32,
    pub failed: u32,
    pub manual: u32,
    pub not_assessed: u32,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FindingSummary {
    pub check: String,
    pub severity: Severity,
    pub resource: ResourceKey,
    pub message: String,
}

/// Kind, namespace and name of an object.
#[derive(
    Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct ResourceKey {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

#[cfg(test)]
mod selector_pattern_tests {
    use super::CHECK_SELECTOR_PATTERN;
    use crate::catalog::{Category, GROUPS};

    /// The CRD's pattern lists the selectors by name: a category or group the catalog gains
    /// must be added there, or the API server rejects policies that name it.
    #[test]
    fn the_crd_pattern_names_every_category_and_group() {
        let alternatives: Vec<&str> = CHECK_SELECTOR_PATTERN
            .strip_prefix("^(")
            .and_then(|p| p.strip_suffix(")$"))
            .expect("pattern is ^(a|b|...)$")
            .split('|')
            .collect();
        for c in Category::ALL {
            assert!(alternatives.contains(&c.as_str()), "category {c} missing");
        }
        for g in GROUPS {
            assert!(alternatives.contains(g), "group {g} missing");
        }
    }
}
