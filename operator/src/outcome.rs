//! The plain values of an audit's outcome (counts, what could not be assessed, the posture by
//! layer, subjects and names): produced by the audit, printed by the reports and carried by
//! the CRD status, which re-exports them from `api`. A leaf: it depends on the catalog only, so
//! the audit never depends on the CRD types.

use crate::catalog::Layer;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An RBAC subject. `namespace` only for ServiceAccounts.
#[derive(
    Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct SubjectRef {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

#[derive(
    Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct NamespacedName {
    pub namespace: String,
    pub name: String,
}

/// One layer of defence: its unsuppressed findings by severity, and its score by the same
/// rule as `score`, over the layer's checks only.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LayerStatus {
    /// `identity` (RBAC), `control-plane` (API server, controller manager, scheduler),
    /// `datastore` (etcd), `host` (nodes, kubelets, security agents), `workload` (pods and
    /// images), `paths` (attack paths across layers) or `policy` (exceptions).
    pub layer: Layer,
    /// 0-100; absent when none of the layer's checks could be assessed: what was not seen
    /// is never scored as safe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u32>,
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
    pub info: u64,
    pub suppressed: u64,
    /// The enabled checks of this layer.
    pub checks: u32,
    /// Of those, the checks this audit could judge.
    pub assessed: u32,
    /// Of those, the checks that could not be assessed (`notAssessed` says why). The rest
    /// (checks - assessed - notAssessed) did not apply: DaemonSet checks with no required
    /// DaemonSet, exception hygiene with no exception, live-only checks offline.
    pub not_assessed: u32,
}

/// Finding counts by severity. Suppressed findings count only in `suppressed`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
    pub info: u64,
    pub total: u64,
    pub suppressed: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotAssessed {
    pub category: String,
    pub reason: String,
    /// The enabled checks that could not be assessed for this reason. While a check is not
    /// assessed, its Findings from earlier audits are kept as they were (never reported as
    /// fixed) and exceptions naming it are not reported unused (POL-002).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<String>,
}
