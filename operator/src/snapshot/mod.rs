//! The cluster as the audit sees it: typed objects of the kinds the checks read, loaded from
//! files (`audit --snapshot`) or from the controller's reflector stores. The audit never
//! touches the network: everything it needs is in a [`Snapshot`].

pub mod dockerfiles;
mod files;
pub mod info;
mod kinds;
pub mod live;
pub mod locate;
mod paths;
mod stream;
pub mod trim;

pub use files::{
    DEFAULT_MAX_FILE_BYTES, LoadError, LoadOptions, LoadStats, Loaded, load_paths, load_paths_with,
    load_str,
};
pub use kinds::{ALL_KINDS, KUBELET_CONFIG_NAMESPACE, ObjectKind, is_kubelet_config_map};

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
    /// some ([`info::ALWAYS_PRESENT`]): their checks are not assessed, as for unavailable ones.
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

    /// Objects held, per kind.
    pub fn counts(&self) -> [(ObjectKind, usize); 18] {
        use ObjectKind::*;
        [
            (Namespace, self.namespaces.len()),
            (Node, self.nodes.len()),
            (Pod, self.pods.len()),
            (Deployment, self.deployments.len()),
            (StatefulSet, self.stateful_sets.len()),
            (DaemonSet, self.daemon_sets.len()),
            (ReplicaSet, self.replica_sets.len()),
            (ReplicationController, self.replication_controllers.len()),
            (Job, self.jobs.len()),
            (CronJob, self.cron_jobs.len()),
            (Service, self.services.len()),
            (ServiceAccount, self.service_accounts.len()),
            (Secret, self.secrets.len()),
            (Role, self.roles.len()),
            (ClusterRole, self.cluster_roles.len()),
            (RoleBinding, self.role_bindings.len()),
            (ClusterRoleBinding, self.cluster_role_bindings.len()),
            (ConfigMap, self.config_maps.len()),
        ]
    }

    /// Number of objects held, all kinds together.
    pub fn len(&self) -> usize {
        self.namespaces.len()
            + self.nodes.len()
            + self.pods.len()
            + self.deployments.len()
            + self.stateful_sets.len()
            + self.daemon_sets.len()
            + self.replica_sets.len()
            + self.replication_controllers.len()
            + self.jobs.len()
            + self.cron_jobs.len()
            + self.services.len()
            + self.service_accounts.len()
            + self.secrets.len()
            + self.roles.len()
            + self.cluster_roles.len()
            + self.role_bindings.len()
            + self.cluster_role_bindings.len()
            + self.config_maps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop every object of `kind`.
    pub fn clear(&mut self, kind: ObjectKind) {
        use ObjectKind::*;
        match kind {
            Namespace => self.namespaces.clear(),
            Node => self.nodes.clear(),
            Pod => self.pods.clear(),
            Deployment => self.deployments.clear(),
            StatefulSet => self.stateful_sets.clear(),
            DaemonSet => self.daemon_sets.clear(),
            ReplicaSet => self.replica_sets.clear(),
            ReplicationController => self.replication_controllers.clear(),
            Job => self.jobs.clear(),
            CronJob => self.cron_jobs.clear(),
            Service => self.services.clear(),
            ServiceAccount => self.service_accounts.clear(),
            Secret => self.secrets.clear(),
            Role => self.roles.clear(),
            ClusterRole => self.cluster_roles.clear(),
            RoleBinding => self.role_bindings.clear(),
            ClusterRoleBinding => self.cluster_role_bindings.clear(),
            ConfigMap => self.config_maps.clear(),
        }
    }

    /// Append another snapshot's objects.
    pub fn merge(&mut self, other: Snapshot) {
        self.namespaces.extend(other.namespaces);
        self.nodes.extend(other.nodes);
        self.pods.extend(other.pods);
        self.deployments.extend(other.deployments);
        self.stateful_sets.extend(other.stateful_sets);
        self.daemon_sets.extend(other.daemon_sets);
        self.replica_sets.extend(other.replica_sets);
        self.replication_controllers
            .extend(other.replication_controllers);
        self.jobs.extend(other.jobs);
        self.cron_jobs.extend(other.cron_jobs);
        self.services.extend(other.services);
        self.service_accounts.extend(other.service_accounts);
        self.secrets.extend(other.secrets);
        self.roles.extend(other.roles);
        self.cluster_roles.extend(other.cluster_roles);
        self.role_bindings.extend(other.role_bindings);
        self.cluster_role_bindings
            .extend(other.cluster_role_bindings);
        self.config_maps.extend(other.config_maps);
        self.dockerfiles.extend(other.dockerfiles);
        for u in other.unavailable {
            if !self.unavailable.iter().any(|x| x.kind == u.kind) {
                self.unavailable.push(u);
            }
        }
        for k in other.read_kinds {
            if !self.read_kinds.contains(&k) {
                self.read_kinds.push(k);
            }
        }
    }
}
