//! What a snapshot says about itself: `kube-posture snapshot` writes a `SnapshotInfo` document
//! (`snapshot-info.yaml`) beside the objects, naming the kinds it read completely and those it
//! could not read, with the reason. `audit --snapshot` reads it back, so a kind that could not
//! be read is reported as not assessed instead of audited as if the cluster had none of it.
//!
//! For inputs without that document (hand-made directories, `kubectl get -o yaml` dumps), a
//! kind every cluster has objects of (Namespaces, Nodes, Pods, ServiceAccounts, the RBAC kinds)
//! that the input holds none of is *absent*: the checks that need it say so in `notAssessed`.

use super::{ObjectKind, Snapshot, Unavailable};
use serde::{Deserialize, Serialize};

pub const API_VERSION: &str = "kubeposture.io/v1alpha1";
pub const KIND: &str = "SnapshotInfo";
/// The file `kube-posture snapshot` writes it to.
pub const FILE_NAME: &str = "snapshot-info.yaml";

/// Kinds of which a running cluster always holds objects (the `default` Namespace and
/// ServiceAccounts, kube-system's Pods and Roles, the bootstrap RBAC objects; Nodes, but on a
/// bare control plane): the registry's `always_present` rows. An input with none of one of
/// them is partial in that kind.
pub fn always_present() -> impl Iterator<Item = ObjectKind> {
    super::REGISTRY
        .iter()
        .filter(|k| k.always_present)
        .map(|k| k.kind)
}

/// Why an absent kind is not assessed.
pub const ABSENT_REASON: &str = "none in the input, though every cluster has some";

/// The `SnapshotInfo` document.
#[derive(Serialize, Deserialize, Debug, Default, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotInfo {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: serde_json::Value,
    /// When the snapshot was taken (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_at: Option<String>,
    /// The API server it was taken from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Kinds read completely (an empty file for one of them means the cluster has none).
    #[serde(default)]
    pub read: Vec<String>,
    /// Kinds that could not be read, and why.
    #[serde(default)]
    pub unreadable: Vec<UnreadableKind>,
}

#[derive(Serialize, Deserialize, Debug, Default, Clone, PartialEq)]
pub struct UnreadableKind {
    pub kind: String,
    pub reason: String,
}

impl SnapshotInfo {
    /// The document describing `s`, taken from `server` at `taken_at`.
    pub fn describe(s: &Snapshot, server: Option<String>, taken_at: Option<String>) -> Self {
        SnapshotInfo {
            api_version: API_VERSION.to_string(),
            kind: KIND.to_string(),
            metadata: serde_json::json!({"name": "snapshot"}),
            taken_at,
            server,
            read: super::REGISTRY
                .iter()
                .filter(|k| k.is_read_live() && s.unavailable(k.kind).is_none())
                .map(|k| k.name.to_string())
                .collect(),
            unreadable: s
                .unavailable
                .iter()
                .map(|u| UnreadableKind {
                    kind: u.kind.name().to_string(),
                    reason: u.reason.clone(),
                })
                .collect(),
        }
    }
}

/// Whether a document of this `apiVersion`/`kind` is a `SnapshotInfo`.
pub fn is_info(api_version: &str, kind: &str) -> bool {
    kind == KIND && api_version.starts_with("kubeposture.io/")
}

/// Record what a `SnapshotInfo` document says in `snapshot`.
pub fn apply(doc: serde_json::Value, snapshot: &mut Snapshot) -> Result<(), String> {
    let info: SnapshotInfo =
        serde_json::from_value(doc).map_err(|e| format!("SnapshotInfo: {e}"))?;
    let kind_of = |name: &str| {
        ObjectKind::from_name(name).ok_or_else(|| format!("SnapshotInfo: unknown kind {name:?}"))
    };
    for name in &info.read {
        let k = kind_of(name)?;
        if !snapshot.read_kinds.contains(&k) {
            snapshot.read_kinds.push(k);
        }
    }
    for u in info.unreadable {
        let kind = kind_of(&u.kind)?;
        if snapshot.unavailable(kind).is_none() {
            snapshot.unavailable.push(Unavailable {
                kind,
                reason: u.reason,
            });
        }
    }
    Ok(())
}

impl Snapshot {
    /// Mark the [`always_present`] kinds this snapshot (read from files) holds no object of,
    /// unless a `SnapshotInfo` says they were read or could not be. Returns the kinds marked.
    pub fn mark_absent_kinds(&mut self) -> Vec<ObjectKind> {
        let counts = self.counts();
        let absent: Vec<ObjectKind> = always_present()
            .filter(|k| counts.iter().any(|(c, n)| c == k && *n == 0))
            .filter(|k| !self.read_kinds.contains(k) && self.unavailable(*k).is_none())
            .collect();
        self.absent = absent.clone();
        absent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_round_trips_through_a_snapshot() {
        let mut s = Snapshot::default();
        s.unavailable.push(Unavailable {
            kind: ObjectKind::RoleBinding,
            reason: "forbidden: no list".into(),
        });
        let info = SnapshotInfo::describe(&s, Some("https://x".into()), None);
        assert!(!info.read.contains(&"RoleBinding".to_string()));
        assert!(info.read.contains(&"ClusterRoleBinding".to_string()));
        let mut back = Snapshot::default();
        apply(serde_json::to_value(&info).unwrap(), &mut back).unwrap();
        assert_eq!(
            back.unavailable(ObjectKind::RoleBinding),
            Some("forbidden: no list")
        );
        // Read kinds with no objects are not absent; nothing is.
        assert!(back.mark_absent_kinds().is_empty());
    }

    #[test]
    fn kinds_a_cluster_always_has_are_absent_when_missing() {
        let mut s = Snapshot::default();
        let absent = s.mark_absent_kinds();
        assert_eq!(absent, always_present().collect::<Vec<_>>());
        assert_eq!(
            absent,
            [
                ObjectKind::Namespace,
                ObjectKind::Node,
                ObjectKind::Pod,
                ObjectKind::ServiceAccount,
                ObjectKind::Role,
                ObjectKind::ClusterRole,
                ObjectKind::RoleBinding,
                ObjectKind::ClusterRoleBinding,
            ]
        );
        assert_eq!(s.unavailable(ObjectKind::Node), Some(ABSENT_REASON));
        // Workload controllers may legitimately be missing.
        assert_eq!(s.unavailable(ObjectKind::Deployment), None);
    }

    #[test]
    fn an_unknown_kind_in_the_info_is_an_error() {
        let doc = serde_json::json!({"apiVersion": API_VERSION, "kind": KIND, "read": ["Gizmo"]});
        let e = apply(doc, &mut Snapshot::default()).unwrap_err();
        assert!(e.contains("Gizmo"), "{e}");
    }
}
