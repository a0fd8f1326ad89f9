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

use crate::audit::{ObjectRef, identity};
use crate::model::{Labels, Pod, PodSpec, Selector};
use crate::snapshot::{ObjectKind, Snapshot};
use foldhash::{HashMap, HashSet, HashSetExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::sync::Arc;

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
    /// Its place among the snapshot's objects of its kind.
    pub index: usize,
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

/// What the snapshot holds, for ownership questions. Every audit asks it of every Pod and
/// workload: the controllers' UIDs are indexed up front (nearly every owner reference is
/// found by them); the rest (names, for objects without UIDs, and the Deployments and
/// CronJobs by namespace, for children of a ReplicaSet or Job a partial snapshot lacks) only
/// when a reference is not found by its UID.
struct Owners<'a> {
    snapshot: &'a Snapshot,
    uids: std::cell::OnceCell<HashSet<&'a str>>,
    fallback: std::cell::OnceCell<Fallback<'a>>,
}

struct Fallback<'a> {
    names: HashSet<(&'a str, &'a str, &'a str)>,
    /// By namespace: Deployments' names and selectors, CronJobs' names.
    deployments: HashMap<&'a str, Vec<(&'a str, &'a Selector)>>,
    cron_jobs: HashMap<&'a str, Vec<&'a str>>,
}

/// Each controller kind's objects' metadata, kind by kind, in the snapshot's order.
fn controllers(s: &Snapshot) -> impl Iterator<Item = (ObjectKind, &ObjectMeta)> {
    use ObjectKind as K;
    let deployments = s.deployments.iter().map(|x| (K::Deployment, &x.metadata));
    let stateful_sets = s
        .stateful_sets
        .iter()
        .map(|x| (K::StatefulSet, &x.metadata));
    let daemon_sets = s.daemon_sets.iter().map(|x| (K::DaemonSet, &x.metadata));
    let replica_sets = s.replica_sets.iter().map(|x| (K::ReplicaSet, &x.metadata));
    let rcs = s.replication_controllers.iter();
    let rcs = rcs.map(|x| (K::ReplicationController, &x.metadata));
    let jobs = s.jobs.iter().map(|x| (K::Job, &x.metadata));
    let cron_jobs = s.cron_jobs.iter().map(|x| (K::CronJob, &x.metadata));
    deployments
        .chain(stateful_sets)
        .chain(daemon_sets)
        .chain(replica_sets)
        .chain(rcs)
        .chain(jobs)
        .chain(cron_jobs)
}

fn ns_of(m: &ObjectMeta) -> &str {
    m.namespace.as_deref().unwrap_or("default")
}

impl<'a> Owners<'a> {
    /// The index of `s`'s controllers, built on the first question (an audit that reuses
    /// every answer asks none).
    fn new(s: &'a Snapshot) -> Owners<'a> {
        Owners {
            snapshot: s,
            uids: std::cell::OnceCell::new(),
            fallback: std::cell::OnceCell::new(),
        }
    }

    fn uids(&self) -> &HashSet<&'a str> {
        self.uids.get_or_init(|| {
            let s = self.snapshot;
            let mut uids = HashSet::with_capacity(controllers(s).size_hint().0);
            uids.extend(controllers(s).filter_map(|(_, m)| m.uid.as_deref()));
            uids
        })
    }

    fn fallback(&self) -> &Fallback<'a> {
        self.fallback.get_or_init(|| {
            let s = self.snapshot;
            let names = controllers(s)
                .map(|(kind, m)| (kind.name(), ns_of(m), m.name.as_deref().unwrap_or("")))
                .collect();
            let mut deployments: HashMap<&str, Vec<_>> = HashMap::default();
            for d in &s.deployments {
                if let Some(sel) = d.spec.as_ref().and_then(|s| s.selector.as_ref()) {
                    let name = d.metadata.name.as_deref().unwrap_or("");
                    deployments
                        .entry(ns_of(&d.metadata))
                        .or_default()
                        .push((name, sel));
                }
            }
            let mut cron_jobs: HashMap<&str, Vec<_>> = HashMap::default();
            for c in &s.cron_jobs {
                let name = c.metadata.name.as_deref().unwrap_or("");
                cron_jobs.entry(ns_of(&c.metadata)).or_default().push(name);
            }
            Fallback {
                names,
                deployments,
                cron_jobs,
            }
        })
    }

    /// Whether `meta` is owned by a controller present in the snapshot (directly, or through a
    /// ReplicaSet or Job the snapshot lacks whose Deployment or CronJob it holds). `labels`
    /// are a Pod's (a Deployment's selector finds the Pods of a ReplicaSet it lacks); no
    /// controller's labels are kept.
    fn owned(&self, meta: &ObjectMeta, labels: Option<&Labels>) -> bool {
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
            if self.uids().contains(r.uid.as_str()) {
                return true;
            }
            let fallback = self.fallback();
            if fallback
                .names
                .contains(&(r.kind.as_str(), ns, r.name.as_str()))
            {
                return true;
            }
            // A ReplicaSet is named <deployment>-<hash>, a Job <cronjob>-<time>.
            let child_of = |parent: &str| {
                r.name
                    .strip_prefix(parent)
                    .is_some_and(|rest| rest.starts_with('-'))
            };
            match r.kind.as_str() {
                "ReplicaSet" => fallback.deployments.get(ns).is_some_and(|ds| {
                    ds.iter()
                        .any(|(dname, sel)| child_of(dname) && sel.matches(|k| labels?.get(k)))
                }),
                "Job" => fallback
                    .cron_jobs
                    .get(ns)
                    .is_some_and(|cs| cs.iter().any(|c| child_of(c))),
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
    top_level_kept(s, None, false).0
}

/// Which controllers and Pods of a snapshot are owned by another object (so not top level),
/// each by the address of its metadata, in the snapshot's order: what [`top_level_kept`]
/// answered, for the next audit to ask again only of objects that are not the same.
#[derive(Debug, Default)]
pub struct Ownership {
    controllers: Vec<(usize, bool)>,
    pods: Vec<(usize, bool)>,
}

/// Whether the controllers of `now` answer every ownership question as those of `then` do:
/// kind by kind, in the same order, each the same object or one with the same name,
/// namespace and UID (and, for a Deployment, the same selector: it finds the Pods of
/// ReplicaSets a snapshot lacks). What differs between two such controllers is only their
/// own owner references: their own answers must be asked again, no one else's.
fn controllers_answer_alike(now: &Snapshot, then: &Snapshot) -> bool {
    let same_meta = |a: &ObjectMeta, b: &ObjectMeta| {
        std::ptr::eq(a, b) || (a.name == b.name && a.namespace == b.namespace && a.uid == b.uid)
    };
    let (mut a, mut b) = (controllers(now), controllers(then));
    let all_alike = loop {
        match (a.next(), b.next()) {
            (None, None) => break true,
            (Some((k1, m1)), Some((k2, m2))) if k1 == k2 && same_meta(m1, m2) => {}
            _ => break false,
        }
    };
    all_alike
        && now.deployments.iter().zip(&then.deployments).all(|(x, y)| {
            Arc::ptr_eq(x, y)
                || x.spec.as_ref().and_then(|s| s.selector.as_ref())
                    == y.spec.as_ref().and_then(|s| s.selector.as_ref())
        })
}

/// [`top_level`], reusing `then`: the ownership of a snapshot the caller still holds (so
/// that no other object can have one of its addresses), with that snapshot. Whether an
/// object is owned depends on the object and on the controllers' names, UIDs and
/// Deployments' selectors only: while those answer alike
/// ([`controllers_answer_alike`]), each controller or Pod at a place where the same object
/// is keeps its answer, and only the others are asked. Any other change of a controller
/// asks every object again. With `keep`, returns this snapshot's ownership.
pub fn top_level_kept<'s>(
    s: &'s Snapshot,
    then: Option<(&Ownership, &Snapshot)>,
    keep: bool,
) -> (Vec<Workload<'s>>, Option<Ownership>) {
    let then = then
        .filter(|(_, old)| controllers_answer_alike(s, old))
        .map(|(t, _)| t);
    let owners = Owners::new(s);
    let mut kept = keep.then(|| Ownership {
        controllers: Vec::with_capacity(then.map_or(0, |t| t.controllers.len())),
        pods: Vec::with_capacity(s.pods.len()),
    });
    let mut at = 0usize;
    let mut owned_controller = |m: &ObjectMeta| {
        let address = identity::address(m);
        let owned = match then.and_then(|t| t.controllers.get(at)) {
            Some(&(a, owned)) if a == address => owned,
            _ => owners.owned(m, None),
        };
        if let Some(k) = kept.as_mut() {
            k.controllers.push((address, owned));
        }
        at += 1;
        owned
    };
    let mut out = Vec::new();
    fn name(m: &ObjectMeta) -> &str {
        m.name.as_deref().unwrap_or("")
    }
    macro_rules! templated {
        ($list:expr, $kind:expr, $spec:expr) => {
            for (index, x) in $list.iter().enumerate() {
                let m = &x.metadata;
                if owned_controller(m) {
                    continue;
                }
                if let Some(t) = $spec(x) {
                    if let Some(spec) = t.spec.as_ref() {
                        out.push(Workload {
                            kind: $kind,
                            meta: m,
                            namespace: ns_of(m),
                            name: name(m),
                            spec,
                            pod_meta: t.metadata.as_deref(),
                            pod: None,
                            index,
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
    for (i, p) in s.pods.iter().enumerate() {
        let m = &p.metadata;
        let address = identity::address(m);
        let owned = match then.and_then(|t| t.pods.get(i)) {
            Some(&(a, owned)) if a == address => owned,
            _ => owners.owned(m, Some(&p.labels)),
        };
        if let Some(k) = kept.as_mut() {
            k.pods.push((address, owned));
        }
        if owned {
            continue;
        }
        if let Some(spec) = p.spec.as_ref() {
            out.push(Workload {
                kind: ObjectKind::Pod,
                meta: m,
                namespace: ns_of(m),
                name: name(m),
                spec,
                pod_meta: Some(m),
                pod: Some(p),
                index: i,
            });
        }
    }
    (out, kept)
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

    /// Reused answers are the answers: after each change (a Pod replaced by one another
    /// ReplicaSet owns, a bare Pod added, the Deployment gone, the ReplicaSet replaced by
    /// another, then gone, the Deployment back, replaced by one alike, then by one with
    /// another selector), the
    /// ownership kept from the last snapshot gives what asking afresh gives, and reuses
    /// nothing that changed.
    #[test]
    fn kept_ownership_answers_as_asking_again() {
        let bare = "\napiVersion: v1\nkind: Pod\nmetadata: {namespace: shop, name: solo}\nspec: {containers: [{name: app, image: nginx}]}\n";
        // Pod b, now owned by a ReplicaSet the snapshot lacks (so top level).
        let stray = pod("web-5d9c7b-b")
            .replace("rs-1", "rs-2")
            .replace("name: web-5d9c7b,", "name: gone-1,");
        let renamed = REPLICASET
            .replace("web-5d9c7b", "api-7f6e")
            .replace("rs-1", "rs-3");
        let states = [
            format!(
                "{DEPLOYMENT}---{REPLICASET}---{}---{}",
                pod("web-5d9c7b-a"),
                pod("web-5d9c7b-b")
            ),
            format!(
                "{DEPLOYMENT}---{REPLICASET}---{}---{stray}",
                pod("web-5d9c7b-a")
            ),
            format!(
                "{DEPLOYMENT}---{REPLICASET}---{}---{stray}---{bare}",
                pod("web-5d9c7b-a")
            ),
            format!("{REPLICASET}---{}---{stray}---{bare}", pod("web-5d9c7b-a")),
            // As many controllers, but another one.
            format!("{renamed}---{}---{stray}---{bare}", pod("web-5d9c7b-a")),
            format!("{}---{stray}---{bare}", pod("web-5d9c7b-a")),
            // The Deployment back: it owns Pod a by its selector (no ReplicaSet).
            format!("{DEPLOYMENT}---{}---{stray}---{bare}", pod("web-5d9c7b-a")),
            // Another object, alike in name, UID and selector.
            format!(
                "{}---{}---{stray}---{bare}",
                DEPLOYMENT.replace("image: nginx", "image: httpd"),
                pod("web-5d9c7b-a")
            ),
            // Another selector: Pod a is no longer its.
            format!(
                "{}---{}---{stray}---{bare}",
                DEPLOYMENT.replace("matchLabels: {app: web}", "matchLabels: {app: other}"),
                pod("web-5d9c7b-a")
            ),
        ];
        let mut then = snapshot(&states[0]);
        let (_, mut kept) = top_level_kept(&then, None, true);
        for state in &states[1..] {
            let fresh = snapshot(state);
            // The next state shares every object that did not change.
            let mut now = fresh.clone();
            for (p, q) in now.pods.iter_mut().zip(&then.pods) {
                if p == q {
                    *p = q.clone();
                }
            }
            for (d, e) in now.deployments.iter_mut().zip(&then.deployments) {
                if d == e {
                    *d = e.clone();
                }
            }
            for (r, t) in now.replica_sets.iter_mut().zip(&then.replica_sets) {
                if r == t {
                    *r = t.clone();
                }
            }
            let (got, next) = top_level_kept(&now, kept.as_ref().map(|k| (k, &then)), true);
            let got: Vec<String> = got.iter().map(|w| w.to_string()).collect();
            assert_eq!(got, names(&fresh), "after {state}");
            kept = next;
            then = now;
        }
        assert_eq!(
            names(&then),
            [
                "Deployment shop/web",
                "Pod shop/web-5d9c7b-a",
                "Pod shop/web-5d9c7b-b",
                "Pod shop/solo"
            ]
        );
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

    /// Found by name when there are no UIDs (hand-written snapshots), and through a missing
    /// ReplicaSet or Job only to a parent of the same namespace (and, for a Deployment, whose
    /// selector matches the Pod).
    #[test]
    fn owners_by_name_and_through_missing_parents_stay_in_their_namespace() {
        let no_uids = REPLICASET
            .replace("uid: rs-1", "")
            .replace(", uid: d-1", "");
        let pod_no_uid = pod("web-5d9c7b-a").replace(", uid: rs-1", "");
        let s = snapshot(&format!(
            "{}---{no_uids}---{pod_no_uid}",
            DEPLOYMENT.replace(", uid: d-1", "")
        ));
        assert_eq!(names(&s), ["Deployment shop/web"]);
        let elsewhere = DEPLOYMENT.replace("namespace: shop", "namespace: other");
        let s = snapshot(&format!("{elsewhere}---{}", pod("web-5d9c7b-a")));
        assert_eq!(names(&s), ["Deployment other/web", "Pod shop/web-5d9c7b-a"]);
        let unmatched = DEPLOYMENT.replace("matchLabels: {app: web}", "matchLabels: {app: api}");
        let s = snapshot(&format!("{unmatched}---{}", pod("web-5d9c7b-a")));
        assert_eq!(names(&s), ["Deployment shop/web", "Pod shop/web-5d9c7b-a"]);
        let job_pod = |ns: &str| {
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata:\n  namespace: {ns}\n  name: backup-1-x\n  ownerReferences: [{{apiVersion: batch/v1, kind: Job, name: backup-1, uid: j-1, controller: true}}]\nspec: {{containers: [{{name: b}}]}}\n"
            )
        };
        let cron = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {namespace: ops, name: backup, uid: cj-1}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec: {containers: [{name: b}]}\n";
        let s = snapshot(&format!(
            "{cron}---\n{}---\n{}",
            job_pod("ops"),
            job_pod("dev")
        ));
        assert_eq!(names(&s), ["CronJob ops/backup", "Pod dev/backup-1-x"]);
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
