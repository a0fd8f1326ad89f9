//! Which nodes each top-level workload's Pods run on. Workloads are reported on their
//! top-level object (a Deployment, never its ReplicaSets or Pods), but only a Pod says where
//! it runs (`spec.nodeName`): follow each Pod's controller references up to the workload.

use crate::audit::workloads::Workload;
use crate::snapshot::{ObjectKind, Snapshot};
use foldhash::{HashMap, HashMapExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

/// (kind, namespace, name), borrowed from the snapshot: no allocation per Pod.
type Key<'a> = (&'a str, &'a str, &'a str);

fn controller(meta: &ObjectMeta) -> Option<&OwnerReference> {
    let refs = meta.owner_references.as_deref()?;
    refs.iter()
        .find(|r| r.controller == Some(true))
        .or(refs.first())
}

/// The ReplicaSets and Jobs of the snapshot by key, built once: a Pod's chain is looked up,
/// never scanned for (a scan per Pod is quadratic: minutes at 150,000 Pods).
fn middle_objects(s: &Snapshot) -> HashMap<Key<'_>, &ObjectMeta> {
    let rs = s.replica_sets.iter().map(|x| ("ReplicaSet", &x.metadata));
    let jobs = s.jobs.iter().map(|x| ("Job", &x.metadata));
    let mut out = HashMap::with_capacity(s.replica_sets.len() + s.jobs.len());
    out.extend(rs.chain(jobs).map(|(kind, m)| {
        let ns = m.namespace.as_deref().unwrap_or("default");
        ((kind, ns, m.name.as_deref().unwrap_or("")), m)
    }));
    out
}

/// The objects a Pod may be reported on, nearest first: itself, its controller, and that
/// controller's own (found in the snapshot, or guessed from the `<deployment>-<hash>` and
/// `<cronjob>-<time>` names when the middle object is missing). Written into `out` (cleared
/// first), reused from Pod to Pod.
fn chain<'a>(
    middle: &HashMap<Key<'a>, &'a ObjectMeta>,
    ns: &'a str,
    pod: &'a ObjectMeta,
    out: &mut Vec<Key<'a>>,
) {
    out.clear();
    out.push((
        ObjectKind::Pod.name(),
        ns,
        pod.name.as_deref().unwrap_or(""),
    ));
    let Some(owner) = controller(pod) else {
        return;
    };
    out.push((owner.kind.as_str(), ns, owner.name.as_str()));
    let parent = match owner.kind.as_str() {
        "ReplicaSet" => "Deployment",
        "Job" => "CronJob",
        _ => return,
    };
    match middle.get(&(owner.kind.as_str(), ns, owner.name.as_str())) {
        Some(m) => {
            if let Some(grand) = controller(m) {
                out.push((grand.kind.as_str(), ns, grand.name.as_str()));
            }
        }
        None => {
            if let Some((prefix, _)) = owner.name.rsplit_once('-') {
                out.push((parent, ns, prefix));
            }
        }
    }
}

/// Which workload (index into the audit's workloads) each Pod of a snapshot belongs to, by
/// the address of the Pod's metadata, in the snapshot's order: what [`nodes_of`] found, for
/// the next audit to look up again only the Pods that are not the same.
#[derive(Debug, Default)]
pub struct PodPlaces(Vec<(usize, Option<usize>)>);

/// The metadata of the object of `kind` at `index` in `s` (workload kinds only).
fn meta_at(s: &Snapshot, kind: ObjectKind, index: usize) -> Option<&ObjectMeta> {
    use ObjectKind as K;
    Some(match kind {
        K::Deployment => &s.deployments.get(index)?.metadata,
        K::StatefulSet => &s.stateful_sets.get(index)?.metadata,
        K::DaemonSet => &s.daemon_sets.get(index)?.metadata,
        K::ReplicaSet => &s.replica_sets.get(index)?.metadata,
        K::ReplicationController => &s.replication_controllers.get(index)?.metadata,
        K::Job => &s.jobs.get(index)?.metadata,
        K::CronJob => &s.cron_jobs.get(index)?.metadata,
        K::Pod => &s.pods.get(index)?.metadata,
        _ => return None,
    })
}

/// Whether the places of `then`'s Pods hold in `now`: a Pod's workload depends on the Pod,
/// the ReplicaSets and Jobs between (found by name, followed by their controller reference)
/// and the workloads' names. So: the same workloads, each at its place the same object or
/// one of the same kind, namespace and name (`then_workloads`: each workload's kind and
/// place among `then`'s objects of its kind); and the same ReplicaSets and Jobs, each the
/// same object or one with the same name, namespace and controller.
pub fn places_hold(
    now: &Snapshot,
    workloads: &[Workload],
    then: &Snapshot,
    then_workloads: &[(ObjectKind, usize)],
) -> bool {
    let same_workloads = workloads.len() == then_workloads.len()
        && workloads
            .iter()
            .zip(then_workloads)
            .all(|(w, &(kind, at))| {
                kind == w.kind
                    && meta_at(then, kind, at).is_some_and(|m| {
                        std::ptr::eq(m, w.meta)
                            || (m.name.as_deref().unwrap_or("") == w.name
                                && m.namespace.as_deref().unwrap_or("default") == w.namespace)
                    })
            });
    let same_middle = |a: &ObjectMeta, b: &ObjectMeta| {
        std::ptr::eq(a, b)
            || (a.name == b.name
                && a.namespace == b.namespace
                && controller(a).map(|r| (&r.kind, &r.name))
                    == controller(b).map(|r| (&r.kind, &r.name)))
    };
    same_workloads
        && now.replica_sets.len() == then.replica_sets.len()
        && now.jobs.len() == then.jobs.len()
        && (now.replica_sets.iter().zip(&then.replica_sets))
            .all(|(a, b)| same_middle(&a.metadata, &b.metadata))
        && (now.jobs.iter().zip(&then.jobs)).all(|(a, b)| same_middle(&a.metadata, &b.metadata))
}

/// Nodes per workload (index into `workloads`), from the Pods with a `nodeName`: sorted,
/// without duplicates (a small vector, not a set: most workloads run on a few nodes).
pub fn nodes_of<'a>(s: &'a Snapshot, workloads: &[Workload]) -> Vec<Vec<&'a str>> {
    nodes_of_kept(s, workloads, None, false).0
}

/// [`nodes_of`], reusing `then`: the places of a snapshot the caller still holds (no other
/// object can have one of its addresses) and for which [`places_hold`]: a Pod at the same
/// place as then is found where it was. With `keep`, returns this snapshot's places.
pub fn nodes_of_kept<'a>(
    s: &'a Snapshot,
    workloads: &[Workload],
    then: Option<&PodPlaces>,
    keep: bool,
) -> (Vec<Vec<&'a str>>, Option<PodPlaces>) {
    // Built only when some Pod must be looked up.
    let index: std::cell::OnceCell<HashMap<Key, usize>> = std::cell::OnceCell::new();
    let index = || {
        index.get_or_init(|| {
            let mut index = HashMap::with_capacity(workloads.len());
            index.extend(
                workloads
                    .iter()
                    .enumerate()
                    .map(|(i, w)| ((w.kind.name(), w.namespace, w.name), i)),
            );
            index
        })
    };
    let middle = std::cell::OnceCell::new();
    let mut places = keep.then(|| Vec::with_capacity(s.pods.len()));
    // By workload: an empty list (no Pod placed) allocates nothing.
    let mut out: Vec<Vec<&'a str>> = vec![Vec::new(); workloads.len()];
    let mut keys = Vec::with_capacity(3);
    for (at, pod) in s.pods.iter().enumerate() {
        let address = crate::audit::identity::address(&pod.metadata);
        let node = pod
            .spec
            .as_ref()
            .and_then(|p| p.node_name.as_deref())
            .filter(|n| !n.is_empty());
        let workload = match (node, then.and_then(|t| t.0.get(at))) {
            (None, _) => None,
            (Some(_), Some(&(a, w))) if a == address => w,
            (Some(_), _) => {
                let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
                // The farthest object of the chain that is a workload is the one reported.
                let middle = middle.get_or_init(|| middle_objects(s));
                chain(middle, ns, &pod.metadata, &mut keys);
                let index = index();
                keys.iter().rev().find_map(|k| index.get(k)).copied()
            }
        };
        if let Some(p) = places.as_mut() {
            p.push((address, workload));
        }
        if let (Some(node), Some(i)) = (node, workload) {
            out[i].push(node);
        }
    }
    for nodes in out.iter_mut().filter(|n| n.len() > 1) {
        nodes.sort_unstable();
        nodes.dedup();
    }
    (out, places.map(PodPlaces))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testutil::snapshot;
    use crate::audit::workloads::top_level;

    fn pod(name: &str, rs: &str, node: &str) -> String {
        let app = rs.split('-').next().unwrap_or(rs);
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  namespace: shop\n  name: {name}\n  labels: {{app: {app}}}\n  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: {rs}, uid: {rs}, controller: true}}]\nspec: {{nodeName: {node}, containers: [{{name: app, image: nginx}}]}}\n"
        )
    }

    fn placed(s: &Snapshot, places: Vec<Vec<&str>>) -> Vec<(String, Vec<String>)> {
        let workloads = top_level(s);
        let mut out: Vec<(String, Vec<String>)> = places
            .into_iter()
            .enumerate()
            .filter(|(_, nodes)| !nodes.is_empty())
            .map(|(i, nodes)| {
                let nodes = nodes.into_iter().map(str::to_string).collect();
                (workloads[i].to_string(), nodes)
            })
            .collect();
        out.sort();
        out
    }

    fn at(s: &Snapshot) -> Vec<(ObjectKind, usize)> {
        top_level(s).iter().map(|w| (w.kind, w.index)).collect()
    }

    /// Kept places answer as looking up again: Pods moved to another node, and a Pod of one
    /// workload replaced at its place by a Pod of another, while the workloads are alike
    /// (other objects of the same names).
    #[test]
    fn kept_places_answer_as_looking_up_again() {
        let controllers = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {namespace: shop, name: web, uid: d-1}\nspec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: app, image: nginx}]}}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {namespace: shop, name: api, uid: d-2}\nspec: {selector: {matchLabels: {app: api}}, template: {metadata: {labels: {app: api}}, spec: {containers: [{name: app, image: nginx}]}}}\n";
        let states = [
            [pod("web-1-a", "web-1", "n1"), pod("web-1-b", "web-1", "n2")],
            [pod("web-1-a", "web-1", "n3"), pod("web-1-b", "web-1", "n2")],
            [pod("web-1-a", "web-1", "n3"), pod("api-1-b", "api-1", "n4")],
        ];
        let load = |pods: &[String; 2]| {
            snapshot(&format!("{controllers}---\n{}---\n{}", pods[0], pods[1]))
        };
        let then = load(&states[0]);
        let (_, mut kept) = nodes_of_kept(&then, &top_level(&then), None, true);
        let mut then = then;
        for state in &states[1..] {
            let fresh = load(state);
            // The Deployments are other objects, alike (`places_hold`).
            let mut now = fresh.clone();
            assert!(places_hold(&now, &top_level(&now), &then, &at(&then)));
            for (p, q) in now.pods.iter_mut().zip(&then.pods) {
                if p == q {
                    *p = q.clone();
                }
            }
            let workloads = top_level(&now);
            let (got, next) = nodes_of_kept(&now, &workloads, kept.as_ref(), true);
            assert_eq!(
                placed(&now, got),
                placed(&fresh, nodes_of(&fresh, &top_level(&fresh)))
            );
            kept = next;
            then = now;
        }
        // A workload renamed: the places do not hold.
        let renamed = snapshot(&format!(
            "{}---\n{}---\n{}",
            controllers.replace("name: web", "name: www"),
            states[2][0],
            states[2][1]
        ));
        assert!(!places_hold(
            &renamed,
            &top_level(&renamed),
            &then,
            &at(&then)
        ));
        assert_eq!(
            placed(&then, nodes_of(&then, &top_level(&then))),
            [
                ("Deployment shop/api".to_string(), vec!["n4".to_string()]),
                ("Deployment shop/web".to_string(), vec!["n3".to_string()]),
            ]
        );
    }
}
