//! What is kept of each object: only what some check reads. Objects are trimmed as they are
//! loaded (files, live lists) or arrive in the controller's caches, so a large cluster costs
//! memory for its security-relevant fields only (managedFields alone are often half an object).

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    Container, Node, Pod, PodSpec, PodTemplateSpec, ReplicationController, Volume,
};
use kube::Resource;
use kube::api::DynamicObject;
use kube::runtime::watcher;

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Every kind: drop managedFields and the last-applied annotation.
pub fn object<K: Resource>(o: &mut K) {
    let meta = o.meta_mut();
    meta.managed_fields = None;
    if let Some(a) = meta.annotations.as_mut() {
        a.remove(LAST_APPLIED);
    }
}

/// A container keeps its identity, image, security context, ports and mounts; command, args
/// and env only where the control-plane checks read flags (kube-system).
fn container(c: &mut Container, keep_argv: bool) {
    c.liveness_probe = None;
    c.readiness_probe = None;
    c.startup_probe = None;
    c.lifecycle = None;
    c.resources = None;
    c.env_from = None;
    c.termination_message_path = None;
    c.termination_message_policy = None;
    c.working_dir = None;
    if !keep_argv {
        c.command = None;
        c.args = None;
        c.env = None;
    }
}

/// Volumes keep their name and hostPath; other sources are never read.
fn volume(v: &mut Volume) {
    let host_path = v.host_path.take();
    *v = Volume {
        name: std::mem::take(&mut v.name),
        host_path,
        ..Default::default()
    };
}

fn pod_spec(spec: &mut PodSpec, keep_argv: bool) {
    spec.containers
        .iter_mut()
        .for_each(|c| container(c, keep_argv));
    spec.init_containers
        .iter_mut()
        .flatten()
        .for_each(|c| container(c, keep_argv));
    if let Some(eph) = spec.ephemeral_containers.as_mut() {
        for c in eph {
            c.liveness_probe = None;
            c.readiness_probe = None;
            c.startup_probe = None;
            c.resources = None;
            if !keep_argv {
                c.command = None;
                c.args = None;
                c.env = None;
            }
        }
    }
    // Only hostPath volumes are read; a Volume is 3 KiB whatever it holds.
    if let Some(vols) = spec.volumes.as_mut() {
        vols.retain(|v| v.host_path.is_some());
        vols.iter_mut().for_each(volume);
        vols.shrink_to_fit();
    }
    spec.dns_config = None;
    spec.host_aliases = None;
    spec.readiness_gates = None;
    spec.topology_spread_constraints = None;
    spec.overhead = None;
    spec.image_pull_secrets = None;
}

fn template(t: &mut PodTemplateSpec) {
    if let Some(m) = t.metadata.as_mut() {
        m.managed_fields = None;
    }
    if let Some(spec) = t.spec.as_mut() {
        pod_spec(spec, false);
    }
}

pub fn pod(p: &mut Pod) {
    object(p);
    let in_kube_system = p.metadata.namespace.as_deref() == Some("kube-system");
    if let Some(spec) = p.spec.as_mut() {
        pod_spec(spec, in_kube_system);
    }
    if let Some(st) = p.status.as_mut() {
        st.host_ips = None;
        st.pod_ips = None;
        st.pod_ip = None;
        st.host_ip = None;
        st.start_time = None;
        st.qos_class = None;
        st.message = None;
        st.nominated_node_name = None;
        for cs in st
            .container_statuses
            .iter_mut()
            .flatten()
            .chain(st.init_container_statuses.iter_mut().flatten())
        {
            cs.last_state = None;
            cs.image_id = String::new();
            cs.container_id = None;
        }
    }
}

pub fn node(n: &mut Node) {
    object(n);
    if let Some(st) = n.status.as_mut() {
        st.images = None;
        st.volumes_attached = None;
        st.volumes_in_use = None;
        st.allocatable = None;
        st.capacity = None;
        st.daemon_endpoints = None;
        st.addresses = None;
        st.config = None;
    }
}

macro_rules! templated {
    ($name:ident, $t:ty, $get:ident) => {
        pub fn $name(o: &mut $t) {
            object(o);
            if let Some(t) = $get(o) {
                template(t);
            }
            o.status = None;
        }
    };
}

fn deployment_t(o: &mut Deployment) -> Option<&mut PodTemplateSpec> {
    Some(&mut o.spec.template)
}
fn stateful_set_t(o: &mut StatefulSet) -> Option<&mut PodTemplateSpec> {
    Some(&mut o.spec.template)
}
fn daemon_set_t(o: &mut DaemonSet) -> Option<&mut PodTemplateSpec> {
    Some(&mut o.spec.template)
}
fn replica_set_t(o: &mut ReplicaSet) -> Option<&mut PodTemplateSpec> {
    o.spec.template.as_mut()
}
fn replication_controller_t(o: &mut ReplicationController) -> Option<&mut PodTemplateSpec> {
    o.spec.as_mut().and_then(|s| s.template.as_mut())
}
fn job_t(o: &mut Job) -> Option<&mut PodTemplateSpec> {
    o.spec.as_mut().map(|s| &mut s.template)
}
fn cron_job_t(o: &mut CronJob) -> Option<&mut PodTemplateSpec> {
    o.spec.job_template.spec.as_mut().map(|s| &mut s.template)
}

templated!(deployment, Deployment, deployment_t);
templated!(stateful_set, StatefulSet, stateful_set_t);
templated!(daemon_set, DaemonSet, daemon_set_t);
templated!(replica_set, ReplicaSet, replica_set_t);
templated!(
    replication_controller,
    ReplicationController,
    replication_controller_t
);
templated!(job, Job, job_t);
templated!(cron_job, CronJob, cron_job_t);

/// A batch/v1beta1 CronJob read as batch/v1 (same shape for what the audit reads).
pub fn cronjob_event(ev: watcher::Event<DynamicObject>) -> Option<watcher::Event<CronJob>> {
    fn convert(o: DynamicObject) -> Option<CronJob> {
        let mut v = serde_json::to_value(o).ok()?;
        v["apiVersion"] = serde_json::Value::from("batch/v1");
        let mut c: CronJob = serde_json::from_value(v).ok()?;
        cron_job(&mut c);
        Some(c)
    }
    Some(match ev {
        watcher::Event::Apply(o) => watcher::Event::Apply(convert(o)?),
        watcher::Event::Delete(o) => watcher::Event::Delete(convert(o)?),
        watcher::Event::InitApply(o) => watcher::Event::InitApply(convert(o)?),
        watcher::Event::Init => watcher::Event::Init,
        watcher::Event::InitDone => watcher::Event::InitDone,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimming_keeps_what_checks_read() {
        let mut p: Pod = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "app", "managedFields": [{"manager": "x"}],
                         "annotations": {LAST_APPLIED: "{}", "keep": "me"}},
            "spec": {"hostPID": true, "serviceAccountName": "sa",
                     "containers": [{"name": "c", "image": "i", "command": ["sh"], "env": [{"name": "A", "value": "b"}],
                                     "securityContext": {"privileged": true}, "ports": [{"containerPort": 1, "hostPort": 2}],
                                     "livenessProbe": {"exec": {"command": ["true"]}}}],
                     "volumes": [{"name": "h", "hostPath": {"path": "/"}}, {"name": "cm", "configMap": {"name": "x"}}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1", "conditions": [{"type": "Ready", "status": "True"}]}
        }))
        .unwrap();
        pod(&mut p);
        assert!(p.metadata.managed_fields.is_none());
        assert_eq!(p.metadata.annotations.as_ref().unwrap().len(), 1);
        let spec = p.spec.as_ref().unwrap();
        let c = &spec.containers[0];
        assert!(c.command.is_none() && c.env.is_none() && c.liveness_probe.is_none());
        assert_eq!(c.security_context.as_ref().unwrap().privileged, Some(true));
        assert_eq!(c.ports.as_ref().unwrap()[0].host_port, Some(2));
        assert_eq!(
            spec.volumes.as_ref().unwrap()[0]
                .host_path
                .as_ref()
                .unwrap()
                .path,
            "/"
        );
        assert!(spec.volumes.as_ref().unwrap()[1].config_map.is_none());
        let st = p.status.as_ref().unwrap();
        assert!(st.pod_ip.is_none() && st.conditions.is_some());
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

/// Trim whatever a snapshot holds, by kind.
pub fn snapshot_object(kind: crate::snapshot::ObjectKind, s: &mut crate::snapshot::Snapshot) {
    use crate::snapshot::ObjectKind::*;
    fn last<T: Clone>(v: &mut [std::sync::Arc<T>], f: impl Fn(&mut T)) {
        if let Some(o) = v.last_mut() {
            f(std::sync::Arc::make_mut(o));
        }
    }
    match kind {
        Pod => last(&mut s.pods, pod),
        Node => last(&mut s.nodes, node),
        Deployment => last(&mut s.deployments, deployment),
        StatefulSet => last(&mut s.stateful_sets, stateful_set),
        DaemonSet => last(&mut s.daemon_sets, daemon_set),
        ReplicaSet => last(&mut s.replica_sets, replica_set),
        ReplicationController => last(&mut s.replication_controllers, replication_controller),
        Job => last(&mut s.jobs, job),
        CronJob => last(&mut s.cron_jobs, cron_job),
        _ => {}
    }
}
