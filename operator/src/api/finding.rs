// kube-derive repeats `type_ = …` in each printcolumn; clippy reads that as a duplicated attribute.
#![allow(clippy::duplicated_attributes)]

use crate::catalog::Severity;
use crate::outcome::{NamespacedName, SubjectRef};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One finding of a SecurityPolicy's audit. Its spec is the finding's identity, written once;
/// its status holds the details, updated through the status subresource.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "kubeposture.io",
    version = "v1alpha1",
    kind = "Finding",
    plural = "findings",
    shortname = "fnd",
    category = "posture",
    status = "FindingStatus",
    doc = "A security finding about one object, owned by the SecurityPolicy whose audit found it.",
    printcolumn(name = "Severity", type_ = "string", json_path = ".status.severity"),
    printcolumn(name = "Check", type_ = "string", json_path = ".spec.check"),
    printcolumn(name = "Kind", type_ = "string", json_path = ".spec.resource.kind"),
    printcolumn(
        name = "Namespace",
        type_ = "string",
        json_path = ".spec.resource.namespace"
    ),
    printcolumn(name = "Name", type_ = "string", json_path = ".spec.resource.name"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct FindingSpec {
    /// The SecurityPolicy that found it.
    pub policy: String,
    /// The check ID, e.g. `RBAC-001`.
    pub check: String,
    /// The object the finding is about.
    pub resource: TargetRef,
}

/// A reference to the object a finding is about.
#[derive(
    Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct TargetRef {
    pub api_version: String,
    pub kind: String,
    /// Empty for cluster-scoped objects. (Required rather than defaulted: API servers before
    /// 1.21 mishandle a `default: ""` in CRD schemas.)
    pub namespace: String,
    pub name: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FindingStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// What to change, concretely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
    /// The RBAC subject the finding is about (RBAC checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<SubjectRef>,
    /// The node (DaemonSet coverage and node checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The required DaemonSet (DaemonSet coverage checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon_set: Option<NamespacedName>,
    /// The containers concerned (workload checks), comma-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// A machine-readable cause (DaemonSet coverage checks), e.g. `TaintNotTolerated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    #[serde(default)]
    pub suppressed: bool,
    /// The exception's reason, when suppressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed_by: Option<String>,
    /// The `spec.exceptions` entry a policy-hygiene finding (POL-001, POL-002) is about: its
    /// position, and what it waives (check, kind, namespace, name, and its rank among entries
    /// waiving the same), which is the finding's identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<FindingException>,
    /// When the operator first saw this finding (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
}

/// See [`FindingStatus::exception`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FindingException {
    /// Position in the policy's `spec.exceptions`.
    pub index: u32,
    /// What it waives, as written: `["CHECK", kind, namespace, name]#rank`.
    pub waives: String,
}
