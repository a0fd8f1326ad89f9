//! The cluster as the audit sees it: typed objects of the kinds the checks read, loaded from
//! files (`audit --snapshot`) or from the controller's reflector stores. The audit never
//! touches the network: everything it needs is in a [`Snapshot`].

pub mod dockerfiles;
mod files;
pub mod info;
mod json_list;
mod kinds;
pub mod live;
pub mod locate;
mod paths;
mod probe;
mod stream;
pub mod trim;

pub use files::{
    DEFAULT_MAX_FILE_BYTES, LoadError, LoadOptions, LoadStats, Loaded, load_paths, load_paths_with,
    load_str,
};
pub use kinds::{
    ALL_KINDS, KUBELET_CONFIG_NAMESPACE, Kind, KindInfo, KindVisitor, ObjectKind, READ_VERBS,
    REGISTRY, Read, is_kubelet_config_map, visit_kinds,
};
pub use probe::ProbeResult;

use crate::model::{
    CronJob, DaemonSet, Deployment, Dockerfile, Job, Pod, ReplicaSet, ReplicationController,
    StatefulSet,
};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use std::sync::Arc;

/// Every object kind the audit reads, in typed form. Objects are shared (`Arc`) so a snapshot
/// of the controller's caches costs a pointer per object.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub namespaces: Vec<Arc<Namespace>>,
    pub nodes: Vec<Arc<Node>>,
    pub pods: Vec<Arc<Pod>>,
    pub deployments: Vec<Arc<Deployment>>,
    pub stateful_sets: Vec<Arc<StatefulSet>>,
    pub daemon_sets: Vec<Arc<DaemonSet>>,
    pub replica_sets: Vec<Arc<ReplicaSet>>,
    pub replication_controllers: Vec<Arc<ReplicationController>>,
    pub jobs: Vec<Arc<Job>>,
    pub cron_jobs: Vec<Arc<CronJob>>,
    pub services: Vec<Arc<Service>>,
    pub service_accounts: Vec<Arc<ServiceAccount>>,
    /// ServiceAccount token Secrets only matter by type and annotation: data is dropped on load.
    /// The live operator never reads Secrets.
    pub secrets: Vec<Arc<Secret>>,
    pub roles: Vec<Arc<Role>>,
    pub cluster_roles: Vec<Arc<ClusterRole>>,
    pub role_bindings: Vec<Arc<RoleBinding>>,
    pub cluster_role_bindings: Vec<Arc<ClusterRoleBinding>>,
    /// kubeadm's kubelet baseline only (`kube-system/kubelet-config[-1.N]`, key `kubelet`):
    /// every other ConfigMap is ignored on load and never watched into a store.
    pub config_maps: Vec<Arc<ConfigMap>>,
    /// Dockerfiles found among `audit --snapshot` inputs (IMG-001); never in live snapshots.
    pub dockerfiles: Vec<Arc<Dockerfile>>,
    /// Kinds that could not be read (forbidden, missing API): the checks that need them are
    /// not assessed, and say why.
    pub unavailable: Vec<Unavailable>,
    /// Kinds a `SnapshotInfo` says were read completely (none of them is absent).
    pub read_kinds: Vec<ObjectKind>,
    /// Kinds of which an input read from files holds no object although every cluster has
    /// some ([`KindInfo::always_present`]): their checks are not assessed, as for unavailable ones.
    pub absent: Vec<ObjectKind>,
}

/// A kind the snapshot lacks, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unavailable {
    pub kind: ObjectKind,
    pub reason: String,
}

impl Snapshot {
    /// Why `kind` is missing from this snapshot, if it is.
    pub fn unavailable(&self, kind: ObjectKind) -> Option<&str> {
        self.unavailable
            .iter()
            .find(|u| u.kind == kind)
            .map(|u| u.reason.as_str())
            .or_else(|| self.absent.contains(&kind).then_some(info::ABSENT_REASON))
    }

    /// Whether `kind` is merely absent from a file input (see [`Snapshot::absent`]).
    pub fn is_absent(&self, kind: ObjectKind) -> bool {
        self.absent.contains(&kind) && !self.unavailable.iter().any(|u| u.kind == kind)
    }
}
