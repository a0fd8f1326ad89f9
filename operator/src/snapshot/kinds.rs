//! The registry of the kinds the product reads: the one place a kind is declared (issue 16).
//! Each row says where the kind lives in the API, whether it is namespaced, where and with which
//! RBAC verbs a live audit reads it, how it is trimmed, and which check categories need it. The
//! enum [`ObjectKind`], the loaders (files, live lists), the `snapshot` command, the
//! controller's access checks and the ClusterRole test in `manifests/` all read it; code that
//! must stay per Rust type (the reflectors) is checked against it by tests.

use super::Snapshot;
use crate::catalog::Category;
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

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

/// The RBAC verbs a kind read from a live cluster needs: reflectors list and watch; `get` is
/// granted with them (as `kubectl get` and the built-in `view` role do).
pub const READ_VERBS: &[&str] = &["get", "list", "watch"];

/// How a live audit, the `snapshot` command and the controller read a kind.
#[derive(Clone, Copy, Debug)]
pub enum Read {
    /// In every namespace (or cluster-wide): a ClusterRole grants [`READ_VERBS`].
    Everywhere,
    /// In one namespace only, keeping the objects `keep(namespace, name)` accepts (the same
    /// filter applies to file inputs): a Role in that namespace grants [`READ_VERBS`].
    Only {
        namespace: &'static str,
        keep: fn(Option<&str>, &str) -> bool,
    },
    /// Never read from a cluster (accepted from files only): no RBAC at all.
    Never,
}

impl Read {
    /// The RBAC verbs this way of reading needs.
    pub const fn verbs(&self) -> &'static [&'static str] {
        match self {
            Read::Everywhere | Read::Only { .. } => READ_VERBS,
            Read::Never => &[],
        }
    }
}

/// One row of the [`REGISTRY`].
#[derive(Clone, Copy, Debug)]
pub struct KindInfo {
    pub kind: ObjectKind,
    /// `kind:` as written in manifests.
    pub name: &'static str,
    /// The preferred `apiVersion` (`v1` for core, else `group/version`).
    pub api_version: &'static str,
    /// The lower-case plural used in URLs, RBAC rules and snapshot file names.
    pub plural: &'static str,
    pub namespaced: bool,
    pub read: Read,
    /// The RBAC verbs the operator needs on it (none for a kind never read live).
    pub verbs: &'static [&'static str],
    /// Every running cluster holds objects of it: an input from files with none is partial in
    /// it ([`super::info`]).
    pub always_present: bool,
    /// What is kept of its objects ([`super::trim`]).
    pub trim: &'static str,
    /// The check categories whose checks are (wholly or partly) not assessed when it cannot be
    /// read. A test makes each family's not-assessed logic agree with this.
    pub needed_by: &'static [Category],
}

impl KindInfo {
    /// The API group (`""` for core).
    pub fn group(&self) -> &'static str {
        self.api_version
            .rsplit_once('/')
            .map(|(g, _)| g)
            .unwrap_or("")
    }

    /// Whether a live audit and the controller read it.
    pub fn is_read_live(&self) -> bool {
        !matches!(self.read, Read::Never)
    }

    /// Whether an object of this kind at `namespace/name` is kept (ConfigMaps: the kubelet
    /// baseline only).
    pub fn keeps(&self, namespace: Option<&str>, name: &str) -> bool {
        match self.read {
            Read::Only { keep, .. } => keep(namespace, name),
            Read::Everywhere | Read::Never => true,
        }
    }

    /// The one namespace it is read in, if it is not read everywhere.
    pub fn only_namespace(&self) -> Option<&'static str> {
        match self.read {
            Read::Only { namespace, .. } => Some(namespace),
            Read::Everywhere | Read::Never => None,
        }
    }
}

/// A Rust type the snapshot holds objects of, tied to its registry row. The supertraits are
/// what loading, writing and watching it take.
pub trait Kind:
    kube::Resource<DynamicType = ()>
    + Serialize
    + serde::de::DeserializeOwned
    + Clone
    + fmt::Debug
    + Send
    + Sync
    + 'static
{
    const KIND: ObjectKind;
    /// The snapshot's objects of this kind.
    fn objects(s: &Snapshot) -> &Vec<Arc<Self>>;
    fn objects_mut(s: &mut Snapshot) -> &mut Vec<Arc<Self>>;
    /// Drop what no check reads (the registry row's `trim`).
    fn trim(&mut self);
}

/// Calls [`KindVisitor::visit`] once per registered type, in registry order: how code that
/// must be generic over the Rust type (writing, listing) follows the registry.
pub trait KindVisitor {
    fn visit<K: Kind>(&mut self);
}

macro_rules! registry {
    ($(
        $(#[doc = $doc:literal])*
        $kind:ident($ty:ty, $field:ident) {
            api_version: $api_version:literal,
            plural: $plural:literal,
            namespaced: $namespaced:literal,
            read: $read:expr,
            always_present: $always:literal,
            trim: $trim:path => $trim_doc:expr,
            needed_by: [$($cat:ident),*] $(,)?
        }
    )*) => {
        /// The kinds the audit reads. Anything else in a snapshot is ignored.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        pub enum ObjectKind {
            $($(#[doc = $doc])* $kind,)*
        }

        /// Every kind the audit reads, one row each.
        pub static REGISTRY: [KindInfo; COUNT] = [$(KindInfo {
            kind: ObjectKind::$kind,
            name: stringify!($kind),
            api_version: $api_version,
            plural: $plural,
            namespaced: $namespaced,
            read: $read,
            verbs: $read.verbs(),
            always_present: $always,
            trim: $trim_doc,
            needed_by: &[$(Category::$cat),*],
        },)*];

        const COUNT: usize = [$(stringify!($kind)),*].len();

        /// Every kind, in registry order.
        pub const ALL_KINDS: [ObjectKind; COUNT] = [$(ObjectKind::$kind),*];

        $(impl Kind for $ty {
            const KIND: ObjectKind = ObjectKind::$kind;
            fn objects(s: &Snapshot) -> &Vec<Arc<Self>> {
                &s.$field
            }
            fn objects_mut(s: &mut Snapshot) -> &mut Vec<Arc<Self>> {
                &mut s.$field
            }
            fn trim(&mut self) {
                $trim(self)
            }
        })*

        /// Visit every registered type, in registry order.
        pub fn visit_kinds(v: &mut impl KindVisitor) {
            $(v.visit::<$ty>();)*
        }

        impl Snapshot {
            /// Objects held, per kind.
            pub fn counts(&self) -> [(ObjectKind, usize); COUNT] {
                [$((ObjectKind::$kind, self.$field.len())),*]
            }

            /// Drop every object of `kind`.
            pub fn clear(&mut self, kind: ObjectKind) {
                match kind {
                    $(ObjectKind::$kind => self.$field.clear(),)*
                }
            }

            /// Append another snapshot's objects, kind by kind.
            fn merge_objects(&mut self, other: &mut Snapshot) {
                $(self.$field.append(&mut other.$field);)*
            }

            /// Read an object of `kind` from `de`; `keep` sees its metadata before the trim
            /// and says whether to add it (then trimmed), and what to return.
            fn push_from_if<'de, D: serde::Deserializer<'de>, R>(
                &mut self,
                kind: ObjectKind,
                de: D,
                keep: impl FnOnce(&k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> (bool, R),
            ) -> Result<R, D::Error> {
                match kind {
                    $(ObjectKind::$kind => {
                        let mut o = <$ty as serde::Deserialize>::deserialize(de)?;
                        let (add, r) = keep(kube::Resource::meta(&o));
                        if add {
                            Kind::trim(&mut o);
                            self.$field.push(Arc::new(o));
                        }
                        Ok(r)
                    })*
                }
            }
        }
    };
}

impl Snapshot {
    /// Add an object of `kind` read by `de` (a tree of values already trimmed as values, or a
    /// JSON text in the kind's current apiVersion), trimmed.
    fn push_from<'de, D: serde::Deserializer<'de>>(
        &mut self,
        kind: ObjectKind,
        de: D,
    ) -> Result<(), D::Error> {
        self.push_from_if(kind, de, |_| (true, ()))
    }

    /// Add a document of `kind` (already trimmed as a value) and trim its typed form.
    pub(super) fn push_value(
        &mut self,
        kind: ObjectKind,
        doc: serde_json::Value,
    ) -> Result<(), serde_json::Error> {
        self.push_from(kind, doc)
    }

    /// Add an object of `kind` from its JSON text (one value, as the reader delimited a List
    /// item; in the kind's current apiVersion), trimmed.
    pub(super) fn push_json(
        &mut self,
        kind: ObjectKind,
        text: &str,
    ) -> Result<(), serde_json::Error> {
        self.push_from(kind, &mut serde_json::Deserializer::from_str(text))
    }

    /// Add an object of `kind` from a map being read (a List item whose type was read first,
    /// in the kind's current apiVersion), trimmed, if `keep` accepts its metadata.
    pub(super) fn push_map_if<'de, A: serde::de::MapAccess<'de>, R>(
        &mut self,
        kind: ObjectKind,
        map: A,
        keep: impl FnOnce(&k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> (bool, R),
    ) -> Result<R, A::Error> {
        self.push_from_if(
            kind,
            serde::de::value::MapAccessDeserializer::new(map),
            keep,
        )
    }
}

use crate::model::{
    CronJob, DaemonSet, Deployment, Job, Pod, ReplicaSet, ReplicationController, StatefulSet,
};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};

/// The trim of kinds read for their metadata and rules alone ([`super::trim::object`]).
/// The trim of workload controllers: their pod template, as a Pod's spec.
const TEMPLATE: &str = "pod template trimmed as a Pod's spec";
const METADATA_ONLY: &str = "metadata: no managedFields, only annotations a check reads";

// The order is the enum's, so the order of metrics, snapshot files and `read:` lists.
registry! {
    Namespace(Namespace, namespaces) {
        api_version: "v1", plural: "namespaces", namespaced: false,
        read: Read::Everywhere, always_present: true,
        trim: super::trim::namespace => METADATA_ONLY,
        needed_by: [Workload, Layers],
    }
    Node(Node, nodes) {
        api_version: "v1", plural: "nodes", namespaced: false,
        read: Read::Everywhere, always_present: true,
        trim: super::trim::node => "node info, kubelet args, addresses and the Ready condition; no images",
        needed_by: [Daemonset, Node, Kubelet, Layers],
    }
    Pod(Pod, pods) {
        api_version: "v1", plural: "pods", namespaced: true,
        read: Read::Everywhere, always_present: true,
        trim: super::trim::pod => "pod spec without argv and env outside kube-system, hostPath volumes and hostPort ports only",
        needed_by: [Apiserver, Etcd, Controlplane, Daemonset, Workload, Node, Layers],
    }
    Deployment(Deployment, deployments) {
        api_version: "apps/v1", plural: "deployments", namespaced: true,
        read: Read::Everywhere, always_present: false,
        trim: super::trim::deployment => TEMPLATE,
        needed_by: [Workload],
    }
    StatefulSet(StatefulSet, stateful_sets) {
        api_version: "apps/v1", plural: "statefulsets", namespaced: true,
        read: Read::Everywhere, always_present: false,
        trim: super::trim::stateful_set => TEMPLATE,
        needed_by: [Workload],
    }
    DaemonSet(DaemonSet, daemon_sets) {
        api_version: "apps/v1", plural: "daemonsets", namespaced: true,
        read: Read::Everywhere, always_present: false,
        trim: super::trim::daemon_set => "pod template trimmed as a Pod's spec; status kept",
        needed_by: [Daemonset, Workload],
    }
    ReplicaSet(ReplicaSet, replica_sets) {
        api_version: "apps/v1", plural: "replicasets", namespaced: true,
        read: Read::Everywhere, always_present: false,
        trim: super::trim::replica_set => TEMPLATE,
        needed_by: [Workload],
    }
    ReplicationController(ReplicationController, replication_controllers) {
        api_version: "v1", plural: "replicationcontrollers", namespaced: true,
        read: Read::Everywhere, always_present: false,
        trim: super::trim::replication_controller => TEMPLATE,
        needed_by: [Workload],
    }
    Job(Job, jobs) {
        api_version: "batch/v1", plural: "jobs", namespaced: true,
        read: Read::Everywhere, always_present: false,
        trim: super::trim::job => TEMPLATE,
        needed_by: [Workload],
    }
    CronJob(CronJob, cron_jobs) {
        api_version: "batch/v1", plural: "cronjobs", namespaced: true,
        read: Read::Everywhere, always_present: false,
        trim: super::trim::cron_job => "job template's pod template trimmed as a Pod's spec",
        needed_by: [Workload],
    }
    Service(Service, services) {
        api_version: "v1", plural: "services", namespaced: true,
        read: Read::Everywhere, always_present: false,
        trim: super::trim::object => METADATA_ONLY,
        // Whether etcd's client port is exposed (ETCD-*).
        needed_by: [Etcd],
    }
    ServiceAccount(ServiceAccount, service_accounts) {
        api_version: "v1", plural: "serviceaccounts", namespaced: true,
        read: Read::Everywhere, always_present: true,
        trim: super::trim::service_account => METADATA_ONLY,
        needed_by: [Rbac],
    }
    /// Token Secrets from file inputs only: the product never reads Secrets from a cluster,
    /// and drops a Secret's data on load.
    Secret(Secret, secrets) {
        api_version: "v1", plural: "secrets", namespaced: true,
        read: Read::Never, always_present: false,
        trim: super::trim::object => "type and the service-account annotation; data and stringData dropped",
        needed_by: [],
    }
    Role(Role, roles) {
        api_version: "rbac.authorization.k8s.io/v1", plural: "roles", namespaced: true,
        read: Read::Everywhere, always_present: true,
        trim: super::trim::role => METADATA_ONLY,
        needed_by: [Rbac, Workload],
    }
    ClusterRole(ClusterRole, cluster_roles) {
        api_version: "rbac.authorization.k8s.io/v1", plural: "clusterroles", namespaced: false,
        read: Read::Everywhere, always_present: true,
        trim: super::trim::cluster_role => METADATA_ONLY,
        needed_by: [Rbac, Workload],
    }
    RoleBinding(RoleBinding, role_bindings) {
        api_version: "rbac.authorization.k8s.io/v1", plural: "rolebindings", namespaced: true,
        read: Read::Everywhere, always_present: true,
        trim: super::trim::role_binding => METADATA_ONLY,
        needed_by: [Rbac, Workload],
    }
    ClusterRoleBinding(ClusterRoleBinding, cluster_role_bindings) {
        api_version: "rbac.authorization.k8s.io/v1", plural: "clusterrolebindings", namespaced: false,
        read: Read::Everywhere, always_present: true,
        trim: super::trim::cluster_role_binding => METADATA_ONLY,
        needed_by: [Rbac, Workload],
    }
    /// Only kube-system's kubeadm `kubelet-config` ConfigMaps ([`is_kubelet_config_map`]).
    ConfigMap(ConfigMap, config_maps) {
        api_version: "v1", plural: "configmaps", namespaced: true,
        read: Read::Only { namespace: KUBELET_CONFIG_NAMESPACE, keep: is_kubelet_config_map },
        always_present: false,
        trim: super::trim::kubelet_config_map => "the `kubelet` key only",
        needed_by: [Kubelet],
    }
}

impl Snapshot {
    /// Append another snapshot's objects.
    pub fn merge(&mut self, mut other: Snapshot) {
        self.merge_objects(&mut other);
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

    /// Number of objects held, all kinds together.
    pub fn len(&self) -> usize {
        self.counts().iter().map(|(_, n)| n).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ObjectKind {
    /// The kind's row in the [`REGISTRY`].
    pub fn info(self) -> &'static KindInfo {
        &REGISTRY[self as usize]
    }

    /// The API group the kind lives in (`""` for core).
    pub fn group(self) -> &'static str {
        self.info().group()
    }

    /// The preferred `apiVersion` of the kind.
    pub fn api_version(self) -> &'static str {
        self.info().api_version
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The lower-case plural used in URLs and RBAC rules.
    pub fn plural(self) -> &'static str {
        self.info().plural
    }

    pub fn namespaced(self) -> bool {
        self.info().namespaced
    }

    /// The kind called `name` (`kind:` in a manifest), in whichever group.
    pub fn from_name(name: &str) -> Option<ObjectKind> {
        REGISTRY.iter().find(|k| k.name == name).map(|k| k.kind)
    }

    /// The kind named by `apiVersion` and `kind` in a document, if the audit reads it. Any
    /// version of the kind's group is accepted (`batch/v1beta1` CronJobs, `rbac…/v1beta1`).
    pub fn from_type_meta(api_version: &str, kind: &str) -> Option<ObjectKind> {
        let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
        // Old clusters served workloads from extensions/v1beta1 with the same shape.
        let group = if group == "extensions" { "apps" } else { group };
        REGISTRY
            .iter()
            .find(|k| k.name == kind && k.group() == group)
            .map(|k| k.kind)
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
#[path = "kinds_tests.rs"]
mod tests;
