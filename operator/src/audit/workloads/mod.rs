//! Workloads as the checks see them: every pod spec in the snapshot, reported once, on the
//! top-level object present in the input (a Deployment, never also its ReplicaSets and Pods).

mod checks;
mod containers;

pub use checks::{
    PowerfulAccounts, SYSTEM_NAMESPACES, audit, audit_workload, host_path_severity,
    namespace_checks, namespaces_without_pod_security, normalize_path, root_reason, seccomp_of,
    unreadable_inputs,
};
pub use containers::{ContainerKind, ContainerRef, containers};

use crate::audit::ObjectRef;
use crate::audit::rbac::selector_matches;
use crate::model::{Pod, PodSpec};
use crate::snapshot::{ObjectKind, Snapshot};
use foldhash::{HashSet, HashSetExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

/// A pod spec and the object that carries it.
#[derive(Clone, Copy, Debug)]
pub struct Workload<'a> {
    pub kind: ObjectKind,
    pub meta: &'a ObjectMeta,
    pub namespace: &'a str,
    pub name: &'a str,
    pub spec: &'a PodSpec,
    /// The pod template's metadata (the Pod's own for bare Pods): annotations such as AppArmor.
    pub pod_meta: Option<&'a ObjectMeta>,
    /// The Pod itself, for bare Pods.
    pub pod: Option<&'a Pod>,
}

impl Workload<'_> {
    /// The command that opens this workload for editing.
    pub fn edit_command(&self) -> String {
        format!(
            "kubectl edit {} {} -n {}",
            self.kind.name().to_lowercase(),
            self.name,
            self.namespace
        )
    }

    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef::new(self.kind, Some(self.namespace), self.name)
    }
}

impl std::fmt::Display for Workload<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

const CONTROLLERS: [ObjectKind; 7] = [
    ObjectKind::Deployment,
    ObjectKind::StatefulSet,
    ObjectKind::DaemonSet,
    ObjectKind::ReplicaSet,
    ObjectKind::ReplicationController,
    ObjectKind::Job,
    ObjectKind::CronJob,
];

/// What the snapshot holds, for ownership questions.
struct Owners<'a> {
    uids: HashSet<&'a str>,
    names: HashSet<(&'a str, &'a str, &'a str)>,
    /// Deployments and CronJobs, to recognise the children of ReplicaSets and Jobs that are
    /// missing from a partial snapshot.
    deployments: Vec<(&'a str, &'a str, &'a LabelSelector)>,
    cron_jobs: Vec<(&'a str, &'a str)>,
}

impl<'a> Owners<'a> {
    fn new(s: &'a Snapshot) -> Owners<'a> {
        let controllers = s.deployments.len()
            + s.stateful_sets.len()
            + s.daemon_sets.len()
            + s.replica_sets.len()
            + s.replication_controllers.len()
            + s.jobs.len()
            + s.cron_jobs.len();
        let mut o = Owners {
            uids: HashSet::with_capacity(controllers),
            names: HashSet::with_capacity(controllers),
            deployments: Vec::new(),
            cron_jobs: Vec::new(),
        };
        let mut add = |kind: ObjectKind, m: &'a ObjectMeta| {
            if let Some(uid) = m.uid.as_deref() {
                o.uids.insert(uid);
            }
            o.names.insert((
                kind.name(),
                m.namespace.as_deref().unwrap_or("default"),
                m.name.as_deref().unwrap_or(""),
            ));
        };
        s.deployments
            .iter()
            .for_each(|x| add(ObjectKind::Deployment, &x.metadata));
        s.stateful_sets
            .iter()
            .for_each(|x| add(ObjectKind::StatefulSet, &x.metadata));
        s.daemon_sets
            .iter()
            .for_each(|x| add(ObjectKind::DaemonSet, &x.metadata));
        s.replica_sets
            .iter()
            .for_each(|x| add(ObjectKind::ReplicaSet, &x.metadata));
        s.replication_controllers
            .iter()
            .for_each(|x| add(ObjectKind::ReplicationController, &x.metadata));
        s.jobs
            .iter()
            .for_each(|x| add(ObjectKind::Job, &x.metadata));
        s.cron_jobs
            .iter()
            .for_each(|x| add(ObjectKind::CronJob, &x.metadata));
        o.deployments = s
            .deployments
            .iter()
            .filter_map(|d| {
                Some((
                    d.metadata.namespace.as_deref().unwrap_or("default"),
                    d.metadata.name.as_deref().unwrap_or(""),
                    d.spec.as_ref()?.selector.as_ref()?,
                ))
            })
            .collect();
        o.cron_jobs = s
            .cron_jobs
            .iter()
            .map(|c| {
                (
                    c.metadata.namespace.as_deref().unwrap_or("default"),
                    c.metadata.name.as_deref().unwrap_or(""),
                )
            })
            .collect();
        o
    }

    /// Whether `meta` is owned by a controller present in the snapshot (directly, or through a
    /// ReplicaSet or Job the snapshot lacks whose Deployment or CronJob it holds).
    fn owned(&self, meta: &ObjectMeta) -> bool {
        let ns = meta.namespace.as_deref().unwrap_or("default");
        let refs = meta.owner_references.as_deref().unwrap_or_default();
        // The references flagged `controller`, or all of them when none is.
        let flagged = refs.iter().any(|r| r.controller == Some(true));
        let mut controller = refs
            .iter()
            .filter(|r| !flagged || r.controller == Some(true));
        controller.any(|r| {
            if !CONTROLLERS.iter().any(|k| k.name() == r.kind) {
                return false;
            }
            if self.uids.contains(r.uid.as_str())
                || self.names.contains(&(r.kind.as_str(), ns, r.name.as_str()))
            {
                return true;
            }
            // A ReplicaSet is named <deployment>-<hash>, a Job <cronjob>-<time>.
            match r.kind.as_str() {
                "ReplicaSet" => self.deployments.iter().any(|(dns, dname, sel)| {
                    *dns == ns
                        && r.name
                            .strip_prefix(dname)
                            .is_some_and(|rest| rest.starts_with('-'))
                        && selector_matches(sel, meta.labels.as_ref())
                }),
                "Job" => self.cron_jobs.iter().any(|(cns, cname)| {
                    *cns == ns
                        && r.name
                            .strip_prefix(cname)
                            .is_some_and(|rest| rest.starts_with('-'))
                }),
                _ => false,
            }
        })
    }
}

/// The pod template of each controller kind.
mod tpl {
    use crate::model::{
        CronJob, DaemonSet, Deployment, Job, PodTemplateSpec, ReplicaSet, ReplicationController,
        StatefulSet, TemplatedSpec,
    };

    fn templated(s: &Option<TemplatedSpec>) -> Option<&PodTemplateSpec> {
        s.as_ref().and_then(|s| s.template.as_ref())
    }

    pub fn deployment(d: &Deployment) -> Option<&PodTemplateSpec> {
        templated(&d.spec)
    }
    pub fn stateful_set(d: &StatefulSet) -> Option<&PodTemplateSpec> {
        templated(&d.spec)
    }
    pub fn daemon_set(d: &DaemonSet) -> Option<&PodTemplateSpec> {
        d.spec.as_ref().and_then(|s| s.template.as_ref())
    }
    pub fn replica_set(d: &ReplicaSet) -> Option<&PodTemplateSpec> {
        templated(&d.spec)
    }
    pub fn replication_controller(d: &ReplicationController) -> Option<&PodTemplateSpec> {
        templated(&d.spec)
    }
    pub fn job(d: &Job) -> Option<&PodTemplateSpec> {
        templated(&d.spec)
    }
    pub fn cron_job(d: &CronJob) -> Option<&PodTemplateSpec> {
        let jt = d.spec.as_ref().and_then(|s| s.job_template.as_ref());
        jt.and_then(|j| templated(&j.spec))
    }
}

/// Every top-level workload of the snapshot, in a stable order (kind, then input order).
pub fn top_level(s: &Snapshot) -> Vec<Workload<'_>> {
    let owners = Owners::new(s);
    let mut out = Vec::new();
    fn ns(m: &ObjectMeta) -> &str {
        m.namespace.as_deref().unwrap_or("default")
    }
    fn name(m: &ObjectMeta) -> &str {
        m.name.as_deref().unwrap_or("")
    }
    macro_rules! templated {
        ($list:expr, $kind:expr, $spec:expr) => {
            for x in $list.iter() {
                let m = &x.metadata;
                if owners.owned(m) {
                    continue;
                }
                if let Some(t) = $spec(x) {
                    if let Some(spec) = t.spec.as_ref() {
                        out.push(Workload {
                            kind: $kind,
                            meta: m,
                            namespace: ns(m),
                            name: name(m),
                            spec,
                            pod_meta: t.metadata.as_deref(),
                            pod: None,
                        });
                    }
                }
            }
        };
    }
    templated!(s.deployments, ObjectKind::Deployment, tpl::deployment);
    templated!(s.stateful_sets, ObjectKind::StatefulSet, tpl::stateful_set);
    templated!(s.daemon_sets, ObjectKind::DaemonSet, tpl::daemon_set);
    templated!(s.replica_sets, ObjectKind::ReplicaSet, tpl::replica_set);
    templated!(
        s.replication_controllers,
        ObjectKind::ReplicationController,
        tpl::replication_controller
    );
    templated!(s.jobs, ObjectKind::Job, tpl::job);
    templated!(s.cron_jobs, ObjectKind::CronJob, tpl::cron_job);
    for p in &s.pods {
        let m = &p.metadata;
        if owners.owned(m) {
            continue;
        }
        if let Some(spec) = p.spec.as_ref() {
            out.push(Workload {
                kind: ObjectKind::Pod,
                meta: m,
                namespace: ns(m),
                name: name(m),
                spec,
                pod_meta: Some(m),
                pod: Some(p),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testutil::snapshot;

    fn names(s: &Snapshot) -> Vec<String> {
        top_level(s).iter().map(|w| w.to_string()).collect()
    }

    const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {namespace: shop, name: web, uid: d-1}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: nginx}]}
"#;
    const REPLICASET: &str = r#"
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  namespace: shop
  name: web-5d9c7b
  uid: rs-1
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: d-1, controller: true}]
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: nginx}]}
"#;
    fn pod(name: &str) -> String {
        format!(
            r#"
apiVersion: v1
kind: Pod
metadata:
  namespace: shop
  name: {name}
  labels: {{app: web}}
  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d9c7b, uid: rs-1, controller: true}}]
spec: {{containers: [{{name: app, image: nginx}}]}}
"#
        )
    }

    #[test]
    fn a_deployment_hides_its_replica_sets_and_pods() {
        let s = snapshot(&format!(
            "{DEPLOYMENT}---{REPLICASET}---{}---{}",
            pod("web-5d9c7b-a"),
            pod("web-5d9c7b-b")
        ));
        assert_eq!(names(&s), ["Deployment shop/web"]);
    }

    #[test]
    fn without_the_deployment_the_replica_set_is_top_level() {
        let s = snapshot(&format!("{REPLICASET}---{}", pod("web-5d9c7b-a")));
        assert_eq!(names(&s), ["ReplicaSet shop/web-5d9c7b"]);
    }

    #[test]
    fn pods_of_a_missing_replica_set_belong_to_its_deployment() {
        let s = snapshot(&format!("{DEPLOYMENT}---{}", pod("web-5d9c7b-a")));
        assert_eq!(names(&s), ["Deployment shop/web"]);
    }

    #[test]
    fn pods_alone_are_top_level_and_static_pods_too() {
        let s = snapshot(&format!(
            "{}---\napiVersion: v1\nkind: Pod\nmetadata:\n  namespace: kube-system\n  name: etcd-cp1\n  ownerReferences: [{{apiVersion: v1, kind: Node, name: cp1, uid: n-1, controller: true}}]\nspec: {{containers: [{{name: etcd}}]}}\n",
            pod("web-5d9c7b-a")
        ));
        assert_eq!(
            names(&s),
            ["Pod shop/web-5d9c7b-a", "Pod kube-system/etcd-cp1"]
        );
    }

    #[test]
    fn cron_jobs_hide_their_jobs_and_pods() {
        let s = snapshot(
            r#"
apiVersion: batch/v1
kind: CronJob
metadata: {namespace: ops, name: backup, uid: cj-1}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        spec: {containers: [{name: b}], restartPolicy: Never}
---
apiVersion: batch/v1
kind: Job
metadata:
  namespace: ops
  name: backup-28912345
  uid: j-1
  ownerReferences: [{apiVersion: batch/v1, kind: CronJob, name: backup, uid: cj-1, controller: true}]
spec:
  template:
    spec: {containers: [{name: b}], restartPolicy: Never}
---
apiVersion: v1
kind: Pod
metadata:
  namespace: ops
  name: backup-28912345-xyz
  ownerReferences: [{apiVersion: batch/v1, kind: Job, name: backup-28912345, uid: j-1, controller: true}]
spec: {containers: [{name: b}]}
"#,
        );
        assert_eq!(names(&s), ["CronJob ops/backup"]);
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod check_tests;
