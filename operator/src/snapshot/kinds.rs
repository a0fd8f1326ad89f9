use serde::Serialize;
use std::fmt;

/// The kinds the audit reads. Anything else in a snapshot is ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum ObjectKind {
    Namespace,
    Node,
    Pod,
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    ReplicationController,
    Job,
    CronJob,
    Service,
    ServiceAccount,
    Secret,
    Role,
    ClusterRole,
    RoleBinding,
    ClusterRoleBinding,
    /// Only kube-system's kubeadm `kubelet-config` ConfigMaps ([`is_kubelet_config_map`]).
    ConfigMap,
}

pub const ALL_KINDS: [ObjectKind; 18] = [
    ObjectKind::Namespace,
    ObjectKind::Node,
    ObjectKind::Pod,
    ObjectKind::Deployment,
    ObjectKind::StatefulSet,
    ObjectKind::DaemonSet,
    ObjectKind::ReplicaSet,
    ObjectKind::ReplicationController,
    ObjectKind::Job,
    ObjectKind::CronJob,
    ObjectKind::Service,
    ObjectKind::ServiceAccount,
    ObjectKind::Secret,
    ObjectKind::Role,
    ObjectKind::ClusterRole,
    ObjectKind::RoleBinding,
    ObjectKind::ClusterRoleBinding,
    ObjectKind::ConfigMap,
];

/// Where kubeadm keeps the kubelet configuration it gives nodes (host.md, KUBELET-*).
pub const KUBELET_CONFIG_NAMESPACE: &str = "kube-system";

/// Whether a ConfigMap is kubeadm's kubelet baseline: `kube-system/kubelet-config` (kubeadm
/// 1.24+) or `kube-system/kubelet-config-1.N` (older). No other ConfigMap is read or kept.
pub fn is_kubelet_config_map(namespace: Option<&str>, name: &str) -> bool {
    namespace == Some(KUBELET_CONFIG_NAMESPACE)
        && (name == "kubelet-config"
            || name.strip_prefix("kubelet-config-1.").is_some_and(|minor| {
                !minor.is_empty() && minor.chars().all(|c| c.is_ascii_digit())
            }))
}

impl ObjectKind {
    /// The API group the kind lives in (`""` for core).
    pub fn group(self) -> &'static str {
        use ObjectKind::*;
        match self {
            Namespace
            | Node
            | Pod
            | ReplicationController
            | Service
            | ServiceAccount
            | Secret
            | ConfigMap => "",
            Deployment | StatefulSet | DaemonSet | ReplicaSet => "apps",
            Job | CronJob => "batch",
            Role | ClusterRole | RoleBinding | ClusterRoleBinding => "rbac.authorization.k8s.io",
        }
    }

    /// The preferred `apiVersion` of the kind.
    pub fn api_version(self) -> &'static str {
        match self.group() {
            "" => "v1",
            "apps" => "apps/v1",
            "batch" => "batch/v1",
            _ => "rbac.authorization.k8s.io/v1",
        }
    }

    pub fn name(self) -> &'static str {
        use ObjectKind::*;
        match self {
            Namespace => "Namespace",
            Node => "Node",
            Pod => "Pod",
            Deployment => "Deployment",
            StatefulSet => "StatefulSet",
            DaemonSet => "DaemonSet",
            ReplicaSet => "ReplicaSet",
            ReplicationController => "ReplicationController",
            Job => "Job",
            CronJob => "CronJob",
            Service => "Service",
            ServiceAccount => "ServiceAccount",
            Secret => "Secret",
            Role => "Role",
            ClusterRole => "ClusterRole",
            RoleBinding => "RoleBinding",
            ClusterRoleBinding => "ClusterRoleBinding",
            ConfigMap => "ConfigMap",
        }
    }

    /// The lower-case plural used in URLs and RBAC rules.
    pub fn plural(self) -> &'static str {
        use ObjectKind::*;
        match self {
            Namespace => "namespaces",
            Node => "nodes",
            Pod => "pods",
            Deployment => "deployments",
            StatefulSet => "statefulsets",
            DaemonSet => "daemonsets",
            ReplicaSet => "replicasets",
            ReplicationController => "replicationcontrollers",
            Job => "jobs",
            CronJob => "cronjobs",
            Service => "services",
            ServiceAccount => "serviceaccounts",
            Secret => "secrets",
            Role => "roles",
            ClusterRole => "clusterroles",
            RoleBinding => "rolebindings",
            ClusterRoleBinding => "clusterrolebindings",
            ConfigMap => "configmaps",
        }
    }

    pub fn namespaced(self) -> bool {
        !matches!(
            self,
            ObjectKind::Namespace
                | ObjectKind::Node
                | ObjectKind::ClusterRole
                | ObjectKind::ClusterRoleBinding
        )
    }

    /// The kind named by `apiVersion` and `kind` in a document, if the audit reads it. Any
    /// version of the kind's group is accepted (`batch/v1beta1` CronJobs, `rbac…/v1beta1`).
    pub fn from_type_meta(api_version: &str, kind: &str) -> Option<ObjectKind> {
        let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
        // Old clusters served workloads from extensions/v1beta1 with the same shape.
        let group = if group == "extensions" { "apps" } else { group };
        ALL_KINDS
            .into_iter()
            .find(|k| k.name() == kind && k.group() == group)
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
