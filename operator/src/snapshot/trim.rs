//! What is kept of each object. The slim model (`crate::model`) already skips fields no check
//! reads while deserializing; what remains to drop depends on the object: managedFields and the
//! last-applied annotation everywhere, a container's command, args and env outside kube-system
//! (only control-plane flags are read), volumes other than hostPath, node images and the like.
//! Applied by every loader: files, live lists and the controller's caches.

use crate::model::{
    Container, CronJob, DaemonSet, Deployment, Job, Pod, PodSpec, PodTemplateSpec, ReplicaSet,
    ReplicationController, StatefulSet, TemplatedSpec,
};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;

#[cfg(test)]
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The annotations a check reads on Pods and pod templates: the legacy seccomp and AppArmor
/// profiles (WL-008, WL-012).
fn read_annotation(key: &str) -> bool {
    key.starts_with("seccomp.security.alpha.kubernetes.io/")
        || key.starts_with("container.seccomp.security.alpha.kubernetes.io/")
        || key.starts_with("container.apparmor.security.beta.kubernetes.io/")
}

/// Keep only the annotations a check reads (they are most of an object's metadata otherwise).
fn pod_annotations(meta: &mut ObjectMeta) {
    if let Some(a) = meta.annotations.as_mut() {
        a.retain(|k, _| read_annotation(k));
        if a.is_empty() {
            meta.annotations = None;
        }
    }
}

/// Every kind: drop managedFields and the last-applied annotation.
/// The token Secret's owner: the one annotation read on objects other than Pods.
const SA_NAME: &str = "kubernetes.io/service-account.name";

/// Every object: no managedFields, and only the annotations a check reads (each non-empty
/// map costs a B-tree node of half a kilobyte, on every object of a 300,000-object cluster).
pub fn object<K: Resource>(o: &mut K) {
    let meta = o.meta_mut();
    meta.managed_fields = None;
    // No check reads it, and it changes with every write: without it, an update that
    // changes nothing the audit reads leaves the trimmed object equal (no audit for it).
    // The watcher tracks resource versions from the events, before this trim.
    meta.resource_version = None;
    // No check reads it (owners are found by reference, a ReplicaSet's Deployment by name).
    meta.generate_name = None;
    if let Some(a) = meta.annotations.as_mut() {
        a.retain(|k, _| k == SA_NAME || read_annotation(k));
        if a.is_empty() {
            meta.annotations = None;
        }
    }
    exact(&mut meta.owner_references);
    exact(&mut meta.finalizers);
}

/// A list read from JSON (a watch, a list, a file) has room for more: serde_json does not
/// know an array's length before reading it, so a vector grows by doubling to a capacity of
/// at least four (a Pod's one owner reference, one container, one port each held room for
/// four: about 900 of a trimmed object's 3,200 bytes at S). Every list kept is cut to its
/// length here, for every loader alike.
fn exact<T>(v: &mut Option<Vec<T>>) {
    if let Some(v) = v {
        v.shrink_to_fit();
    }
}

/// An RBAC rule's lists.
fn rules(rules: &mut Option<Vec<k8s_openapi::api::rbac::v1::PolicyRule>>) {
    exact(rules);
    for r in rules.iter_mut().flatten() {
        r.verbs.shrink_to_fit();
        exact(&mut r.api_groups);
        exact(&mut r.resources);
        exact(&mut r.resource_names);
        exact(&mut r.non_resource_urls);
    }
}

pub fn role(r: &mut Role) {
    object(r);
    rules(&mut r.rules);
}

pub fn cluster_role(r: &mut ClusterRole) {
    object(r);
    rules(&mut r.rules);
    if let Some(a) = r.aggregation_rule.as_mut() {
        exact(&mut a.cluster_role_selectors);
    }
}

pub fn role_binding(b: &mut RoleBinding) {
    object(b);
    exact(&mut b.subjects);
}

pub fn cluster_role_binding(b: &mut ClusterRoleBinding) {
    object(b);
    exact(&mut b.subjects);
}

pub fn service_account(sa: &mut ServiceAccount) {
    object(sa);
    exact(&mut sa.secrets);
    exact(&mut sa.image_pull_secrets);
}

pub fn namespace(n: &mut Namespace) {
    object(n);
    if let Some(s) = n.spec.as_mut() {
        exact(&mut s.finalizers);
    }
    if let Some(s) = n.status.as_mut() {
        exact(&mut s.conditions);
    }
}

/// A `securityContext: {}` (the API server gives one to every Pod and pod template) says
/// nothing a missing one does not: every check reads its fields. Kept, it costs 144 bytes a
/// Pod and 192 a container.
fn none_if_empty<T: Default + PartialEq>(context: &mut Option<Box<T>>) {
    if context.as_deref().is_some_and(|c| *c == T::default()) {
        *context = None;
    }
}

/// Keep the entries of `list` that `keep` accepts; none left is no list.
fn keep_only<T>(list: &mut Option<Vec<T>>, keep: impl FnMut(&T) -> bool) {
    if let Some(l) = list.as_mut() {
        l.retain(keep);
        if l.is_empty() {
            *list = None;
        }
    }
}

fn container(c: &mut Container, keep_argv: bool) {
    if !keep_argv {
        c.command = None;
        c.args = None;
        c.env = None;
    }
    none_if_empty(&mut c.security_context);
    // Only a port bound on the node is read (WL-011's hostPort), in any namespace.
    keep_only(&mut c.ports, |p| p.host_port.is_some_and(|h| h != 0));
    exact(&mut c.command);
    exact(&mut c.args);
    exact(&mut c.env);
    exact(&mut c.ports);
    exact(&mut c.volume_mounts);
    if let Some(caps) = c
        .security_context
        .as_mut()
        .and_then(|s| s.capabilities.as_mut())
    {
        exact(&mut caps.add);
        exact(&mut caps.drop);
    }
}

fn pod_spec(spec: &mut PodSpec, keep_argv: bool) {
    none_if_empty(&mut spec.security_context);
    if let Some(sc) = spec.security_context.as_mut() {
        exact(&mut sc.sysctls);
    }
    if let Some(vols) = spec.volumes.as_mut() {
        vols.retain(|v| v.host_path.is_some());
        vols.shrink_to_fit();
    }
    // Mounts are read only to find where a hostPath volume is mounted: outside kube-system
    // (where the control plane's own mounts are read too), drop mounts of the volumes dropped.
    // Before each container's trim, which cuts the lists kept to their length.
    if !keep_argv {
        let host_paths: Vec<String> = spec
            .volumes
            .iter()
            .flatten()
            .map(|v| v.name.clone())
            .collect();
        let all = spec
            .containers
            .iter_mut()
            .chain(spec.init_containers.iter_mut().flatten())
            .chain(spec.ephemeral_containers.iter_mut().flatten());
        for c in all {
            keep_only(&mut c.volume_mounts, |m| host_paths.contains(&m.name));
        }
    }
    spec.containers
        .iter_mut()
        .for_each(|c| container(c, keep_argv));
    spec.init_containers
        .iter_mut()
        .flatten()
        .for_each(|c| container(c, keep_argv));
    spec.ephemeral_containers
        .iter_mut()
        .flatten()
        .for_each(|c| container(c, keep_argv));
    spec.containers.shrink_to_fit();
    exact(&mut spec.init_containers);
    exact(&mut spec.ephemeral_containers);
    exact(&mut spec.tolerations);
}

const POD_SECCOMP: &str = "seccomp.security.alpha.kubernetes.io/pod";
const CONTAINER_SECCOMP: &str = "container.seccomp.security.alpha.kubernetes.io/";

/// Drop the legacy seccomp annotations no check can read: those the API server (1.19 to 1.24)
/// mirrors from a `seccompProfile` field onto every Pod that sets one, one map per Pod that
/// would otherwise have none (about 12 MiB of the operator's 30,000 Pods at S).
///
/// A container's annotation is read (WL-008, `seccomp_of`) only when the container has no
/// `seccompProfile` field, and the Pod's only when the Pod has no field either; besides, WL-012
/// reads either only when it says `unconfined`. So an annotation is dropped when the field it
/// stands behind is set and the annotation does not say `unconfined`: whatever it says, no
/// finding changes (`mirrored_seccomp_annotations_change_no_finding`).
fn unread_seccomp_annotations(meta: &mut ObjectMeta, spec: Option<&PodSpec>) {
    let (Some(a), Some(spec)) = (meta.annotations.as_mut(), spec) else {
        return;
    };
    let pod_field = spec
        .security_context
        .as_ref()
        .is_some_and(|s| s.seccomp_profile.is_some());
    let container_field = |name: &str| {
        spec.containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
            .chain(spec.ephemeral_containers.iter().flatten())
            .find(|c| c.name == name)
            .and_then(|c| c.security_context.as_ref())
            .is_some_and(|s| s.seccomp_profile.is_some())
    };
    a.retain(|k, v| {
        if v == "unconfined" {
            return true;
        }
        if k == POD_SECCOMP {
            return !pod_field;
        }
        match k.strip_prefix(CONTAINER_SECCOMP) {
            Some(name) => !container_field(name),
            None => true,
        }
    });
    if a.is_empty() {
        meta.annotations = None;
    }
}

fn template(t: &mut PodTemplateSpec) {
    if let Some(m) = t.metadata.as_mut() {
        m.managed_fields = None;
        // A template's labels are never read (selectors are the controller's own).
        m.labels = None;
        pod_annotations(m);
        unread_seccomp_annotations(m, t.spec.as_ref());
    }
    // Only annotations are read from a template's metadata: without them it holds nothing.
    if t.metadata.as_ref().is_some_and(|m| m.annotations.is_none()) {
        t.metadata = None;
    }
    if let Some(spec) = t.spec.as_mut() {
        pod_spec(spec, false);
    }
}

pub fn pod(p: &mut Pod) {
    object(p);
    pod_annotations(&mut p.metadata);
    unread_seccomp_annotations(&mut p.metadata, p.spec.as_ref());
    let in_kube_system = p.metadata.namespace.as_deref() == Some("kube-system");
    if let Some(spec) = p.spec.as_mut() {
        pod_spec(spec, in_kube_system);
    }
    // Status is read for DaemonSet coverage only.
    let owned_by_daemon_set = p
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == "DaemonSet");
    if !owned_by_daemon_set {
        // Status, and where a Pod may be scheduled, are read for DaemonSet coverage only; but
        // for each container's imageID, which image inspection (spec.images) reads. The OS
        // label of the nodeSelector is what WL-005's Windows skip reads (issue 12: dropping it
        // made every Windows Pod read from a snapshot or a live cluster a WL-005).
        p.status = p.status.take().and_then(image_ids_only);
        if let Some(spec) = p.spec.as_mut() {
            spec.tolerations = None;
            spec.affinity = None;
            if let Some(sel) = spec.node_selector.as_mut() {
                sel.retain(|k, _| k == crate::model::OS_LABEL);
                if sel.is_empty() {
                    spec.node_selector = None;
                }
            }
        }
    }
    if let Some(st) = p.status.as_mut() {
        exact(&mut st.conditions);
        exact(&mut st.container_statuses);
        exact(&mut st.init_container_statuses);
    }
}

fn image_ids_only(s: crate::model::PodStatus) -> Option<crate::model::PodStatus> {
    let keep = |list: Option<Vec<crate::model::ContainerStatus>>| {
        let kept: Vec<_> = list
            .into_iter()
            .flatten()
            .filter(|c| c.image_id.as_deref().is_some_and(|i| !i.is_empty()))
            .map(|c| crate::model::ContainerStatus {
                name: c.name,
                image_id: c.image_id,
                ..Default::default()
            })
            .collect();
        (!kept.is_empty()).then_some(kept)
    };
    let status = crate::model::PodStatus {
        container_statuses: keep(s.container_statuses),
        init_container_statuses: keep(s.init_container_statuses),
        ..Default::default()
    };
    (status.container_statuses.is_some() || status.init_container_statuses.is_some())
        .then_some(status)
}

/// kubeadm's kubelet ConfigMap: only its `kubelet` key (the KubeletConfiguration) is read.
pub fn kubelet_config_map(c: &mut ConfigMap) {
    object(c);
    c.binary_data = None;
    if let Some(d) = c.data.as_mut() {
        d.retain(|k, _| k == "kubelet");
    }
}

/// The k3s and RKE2 annotations holding the node's command line (a JSON array), read for the
/// kubelet's `--kubelet-arg` overrides (KUBELET-*).
pub const NODE_ARGS_ANNOTATIONS: [&str; 2] = ["k3s.io/node-args", "rke2.io/node-args"];

/// Nodes keep their InternalIP and kubelet port (the live kubelet probes, KUBELET-101) and,
/// of the k3s/RKE2 command line, only the kubelet's arguments: the rest may name tokens.
pub fn node(n: &mut Node) {
    let node_args: Vec<(String, String)> = n
        .metadata
        .annotations
        .as_ref()
        .map(|a| {
            NODE_ARGS_ANNOTATIONS
                .iter()
                .filter_map(|k| a.get(*k).map(|v| (k.to_string(), kubelet_args_only(v))))
                .collect()
        })
        .unwrap_or_default();
    object(n);
    if !node_args.is_empty() {
        n.metadata
            .annotations
            .get_or_insert_with(Default::default)
            .extend(node_args);
    }
    if let Some(spec) = n.spec.as_mut() {
        exact(&mut spec.taints);
        exact(&mut spec.pod_cidrs);
    }
    if let Some(st) = n.status.as_mut() {
        st.images = None;
        st.volumes_attached = None;
        st.volumes_in_use = None;
        st.allocatable = None;
        st.capacity = None;
        if let Some(a) = st.addresses.as_mut() {
            a.retain(|a| a.type_ == "InternalIP");
        }
        exact(&mut st.addresses);
        st.config = None;
        // Only the Ready condition is read (DaemonSet coverage: NotReady nodes); the others
        // (pressure, network) are a kilobyte per node. Without its heartbeat time, a status
        // update that only says "still Ready" leaves the trimmed Node equal, and costs no audit.
        if let Some(c) = st.conditions.as_mut() {
            c.retain(|c| c.type_ == "Ready");
            c.iter_mut().for_each(|c| c.last_heartbeat_time = None);
        }
        exact(&mut st.conditions);
    }
}

/// A k3s/RKE2 `node-args` value reduced to its `--kubelet-arg` entries (with the value that
/// follows a bare `--kubelet-arg`); a value that is not a JSON array of strings becomes `[]`
/// plus a marker the audit reports as unreadable.
fn kubelet_args_only(value: &str) -> String {
    let Ok(args) = serde_json::from_str::<Vec<String>>(value) else {
        return NODE_ARGS_UNREADABLE.to_string();
    };
    let mut kept = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        if a == "--kubelet-arg" {
            kept.push(a);
            kept.extend(it.next());
        } else if a.starts_with("--kubelet-arg=") {
            kept.push(a);
        }
    }
    serde_json::to_string(&kept).unwrap_or_default()
}

/// What [`node`] leaves of a `node-args` annotation that is not a JSON array of strings.
pub const NODE_ARGS_UNREADABLE: &str = "not a JSON array of strings";

/// A workload controller's pod template, trimmed as a Pod's spec; its selector only where a
/// check reads it (`keep_selector`: a Deployment's, which claims the Pods of a ReplicaSet no
/// longer in the snapshot). Pods are found by their owner references, not by selectors.
fn templated_spec(s: Option<&mut TemplatedSpec>, keep_selector: bool) {
    let Some(s) = s else { return };
    if !keep_selector {
        s.selector = None;
    }
    if let Some(t) = s.template.as_mut() {
        template(t);
    }
}

/// A workload controller (Deployment, ReplicaSet, DaemonSet...): no check reads its own labels
/// (a Pod's are read, for Services and selectors); a label map costs a 536-byte B-tree node.
fn controller<K: Resource>(o: &mut K) {
    object(o);
    o.meta_mut().labels = None;
}

pub fn deployment(o: &mut Deployment) {
    controller(o);
    templated_spec(o.spec.as_mut(), true);
}

pub fn stateful_set(o: &mut StatefulSet) {
    controller(o);
    templated_spec(o.spec.as_mut(), false);
}

pub fn replica_set(o: &mut ReplicaSet) {
    controller(o);
    templated_spec(o.spec.as_mut(), false);
}

pub fn replication_controller(o: &mut ReplicationController) {
    controller(o);
    templated_spec(o.spec.as_mut(), false);
}

pub fn job(o: &mut Job) {
    controller(o);
    templated_spec(o.spec.as_mut(), false);
}

pub fn daemon_set(o: &mut DaemonSet) {
    controller(o);
    if let Some(st) = o.status.as_mut() {
        exact(&mut st.conditions);
    }
    if let Some(s) = o.spec.as_mut() {
        s.selector = None;
        if let Some(t) = s.template.as_mut() {
            template(t);
        }
    }
}

pub fn cron_job(o: &mut CronJob) {
    controller(o);
    let jt = o.spec.as_mut().and_then(|s| s.job_template.as_mut());
    if let Some(jt) = jt {
        // Only the pod template inside is read.
        jt.metadata = None;
        templated_spec(jt.spec.as_mut(), false);
    }
}

/// A batch/v1beta1 CronJob (API servers before 1.21, same shape for what the checks read), as
/// the model's CronJob, trimmed; `None` when it does not read as one.
pub fn v1beta1_cron_job(o: serde_json::Value) -> Option<CronJob> {
    let mut c: CronJob = serde_json::from_value(o).ok()?;
    cron_job(&mut c);
    Some(c)
}

/// A kube-system ConfigMap, kept only when it is kubeadm's kubelet baseline, and trimmed to its
/// `kubelet` key: no other ConfigMap reaches a store.
pub fn kubelet_baseline(mut c: ConfigMap) -> Option<ConfigMap> {
    crate::snapshot::is_kubelet_config_map(
        c.metadata.namespace.as_deref(),
        c.metadata.name.as_deref().unwrap_or(""),
    )
    .then(|| {
        kubelet_config_map(&mut c);
        c
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_objects_keep_only_the_token_secret_annotation() {
        use k8s_openapi::api::core::v1::{Namespace, Secret};
        let mut ns: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "n", "annotations": {LAST_APPLIED: "{}", "owner": "x"}}}))
        .unwrap();
        object(&mut ns);
        assert!(ns.metadata.annotations.is_none());
        let mut s: Secret = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "t", "annotations": {SA_NAME: "sa", "kubernetes.io/service-account.uid": "u"}}}))
        .unwrap();
        object(&mut s);
        assert_eq!(s.metadata.annotations.unwrap().len(), 1);
    }

    /// What the API server adds to every Pod and template (`securityContext: {}`), what no
    /// check reads of a workload controller (its labels; its selector, but a Deployment's)
    /// and of any object (`generateName`), are not kept; a security context that says
    /// something is.
    #[test]
    fn defaults_and_controllers_labels_are_not_kept() {
        let template = serde_json::json!({
            "metadata": {"labels": {"app": "a"}},
            "spec": {"securityContext": {}, "containers": [
                {"name": "empty", "securityContext": {}},
                {"name": "set", "securityContext": {"runAsNonRoot": true}}]}
        });
        let spec =
            serde_json::json!({"selector": {"matchLabels": {"app": "a"}}, "template": template});
        let meta = serde_json::json!({"name": "w", "namespace": "n", "labels": {"team": "t"},
            "generateName": "w-"});
        let check_spec = |s: &PodSpec| {
            assert!(s.security_context.is_none());
            assert!(s.containers[0].security_context.is_none());
            let set = s.containers[1].security_context.as_deref().unwrap();
            assert_eq!(set.run_as_non_root, Some(true));
        };
        let mut d: Deployment =
            serde_json::from_value(serde_json::json!({"metadata": meta, "spec": spec})).unwrap();
        deployment(&mut d);
        assert!(d.metadata.labels.is_none());
        let s = d.spec.as_ref().unwrap();
        assert!(s.selector.is_some(), "a Deployment's selector is read");
        check_spec(s.template.as_ref().unwrap().spec.as_ref().unwrap());
        let mut r: ReplicaSet =
            serde_json::from_value(serde_json::json!({"metadata": meta, "spec": spec})).unwrap();
        replica_set(&mut r);
        assert!(r.metadata.labels.is_none());
        assert!(r.spec.as_ref().unwrap().selector.is_none());
        let mut ds: DaemonSet =
            serde_json::from_value(serde_json::json!({"metadata": meta, "spec": spec})).unwrap();
        daemon_set(&mut ds);
        assert!(ds.metadata.labels.is_none());
        let s = ds.spec.as_ref().unwrap();
        assert!(s.selector.is_none());
        check_spec(s.template.as_ref().unwrap().spec.as_ref().unwrap());
        let mut c: CronJob = serde_json::from_value(serde_json::json!({"metadata": meta,
            "spec": {"jobTemplate": {"metadata": {"labels": {"x": "y"}}, "spec": spec}}}))
        .unwrap();
        cron_job(&mut c);
        assert!(c.metadata.labels.is_none());
        let jt = c.spec.as_ref().unwrap().job_template.as_ref().unwrap();
        assert!(jt.metadata.is_none() && jt.spec.as_ref().unwrap().selector.is_none());
        // A Pod keeps its labels (Services and a Deployment's selector read them).
        let mut p: Pod = serde_json::from_value(serde_json::json!({"metadata": meta,
            "spec": template["spec"]}))
        .unwrap();
        pod(&mut p);
        assert!(!p.labels.is_empty());
        assert!(p.metadata.generate_name.is_none() && d.metadata.generate_name.is_none());
        check_spec(p.spec.as_ref().unwrap());
    }

    #[test]
    fn trimming_keeps_what_checks_read() {
        let mut p: Pod = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "app", "managedFields": [{"manager": "x"}],
                         "annotations": {LAST_APPLIED: "{}", "team": "x", "seccomp.security.alpha.kubernetes.io/pod": "runtime/default"}},
            "spec": {"hostPID": true, "serviceAccountName": "sa",
                     "containers": [{"name": "c", "image": "i", "command": ["sh"], "env": [{"name": "A", "value": "b"}],
                                     "securityContext": {"privileged": true}, "ports": [{"containerPort": 8080, "name": "http"},
                                     {"containerPort": 1, "hostPort": 2}, {"containerPort": 3, "hostPort": 0}]},
                                    {"name": "d", "ports": [{"containerPort": 80}]}],
                     "volumes": [{"name": "h", "hostPath": {"path": "/"}}, {"name": "cm", "configMap": {"name": "x"}}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
        }))
        .unwrap();
        pod(&mut p);
        assert!(p.metadata.managed_fields.is_none());
        let kept: Vec<_> = p.metadata.annotations.as_ref().unwrap().keys().collect();
        assert_eq!(
            kept,
            ["seccomp.security.alpha.kubernetes.io/pod"],
            "only annotations a check reads"
        );
        let spec = p.spec.as_ref().unwrap();
        let c = &spec.containers[0];
        assert!(c.command.is_none() && c.env.is_none());
        assert_eq!(c.security_context.as_ref().unwrap().privileged, Some(true));
        let ports: Vec<_> = c.ports.iter().flatten().map(|p| p.host_port).collect();
        assert_eq!(ports, [Some(2)], "only ports bound on the node (WL-011)");
        assert!(spec.containers[1].ports.is_none());
        assert_eq!(
            spec.volumes.as_ref().unwrap().len(),
            1,
            "only hostPath volumes are kept"
        );
        assert!(p.status.is_none(), "status is read for DaemonSet Pods only");
    }

    #[test]
    fn only_mounts_of_host_paths_are_kept_outside_kube_system() {
        let v = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "NS"},
            "spec": {"containers": [{"name": "c", "volumeMounts": [
                        {"name": "h", "mountPath": "/host"}, {"name": "cm", "mountPath": "/etc/x"}]}],
                     "volumes": [{"name": "h", "hostPath": {"path": "/"}}, {"name": "cm", "configMap": {"name": "x"}}]}
        });
        let mut p: Pod = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "app"},
            "spec": {"containers": [], "nodeSelector": {"a": "b"},
                     "tolerations": [{"operator": "Exists"}]}}))
        .unwrap();
        pod(&mut p);
        let spec = p.spec.as_ref().unwrap();
        assert!(spec.tolerations.is_none() && spec.node_selector.is_none());
        for (ns, mounts) in [("app", 1), ("kube-system", 2)] {
            let mut p: Pod = serde_json::from_value(
                serde_json::from_str(&v.to_string().replace("NS", ns)).unwrap(),
            )
            .unwrap();
            pod(&mut p);
            let c = &p.spec.as_ref().unwrap().containers[0];
            assert_eq!(c.volume_mounts.as_ref().unwrap().len(), mounts, "{ns}");
            assert_eq!(c.volume_mounts.as_ref().unwrap()[0].name, "h");
        }
    }

    #[test]
    fn nodes_keep_only_their_ready_condition() {
        let at = |beat: &str| {
            let mut n: Node = serde_json::from_value(serde_json::json!({
                "apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
                "status": {"conditions": [
                    {"type": "MemoryPressure", "status": "False", "lastHeartbeatTime": beat},
                    {"type": "Ready", "status": "False", "reason": "KubeletNotReady", "lastHeartbeatTime": beat},
                    {"type": "DiskPressure", "status": "False"}]}
            }))
            .unwrap();
            node(&mut n);
            n
        };
        let n = at("2026-12-06T10:00:00Z");
        assert_eq!(
            n,
            at("2026-12-06T10:05:00Z"),
            "a heartbeat alone leaves the trimmed Node equal"
        );
        let kept = n.status.unwrap().conditions.unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(
            (kept[0].type_.as_str(), kept[0].reason.as_deref()),
            ("Ready", Some("KubeletNotReady")),
            "the Ready condition is kept whole: NotReady findings quote its reason"
        );
    }

    #[test]
    fn kube_system_pods_keep_their_flags() {
        let mut p: Pod = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "etcd", "namespace": "kube-system"},
            "spec": {"containers": [{"name": "etcd", "command": ["etcd", "--client-cert-auth=true"], "env": [{"name": "ETCD_X", "value": "1"}]}]}
        }))
        .unwrap();
        pod(&mut p);
        let c = &p.spec.as_ref().unwrap().containers[0];
        assert!(c.command.is_some() && c.env.is_some());
    }
}
