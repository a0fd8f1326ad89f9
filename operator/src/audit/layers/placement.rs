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

/// Nodes per workload (index into `workloads`), from the Pods with a `nodeName`: sorted,
/// without duplicates (a small vector, not a set: most workloads run on a few nodes).
pub fn nodes_of<'a>(s: &'a Snapshot, workloads: &[Workload]) -> HashMap<usize, Vec<&'a str>> {
    let mut index: HashMap<Key, usize> = HashMap::with_capacity(workloads.len());
    index.extend(
        workloads
            .iter()
            .enumerate()
            .map(|(i, w)| ((w.kind.name(), w.namespace, w.name), i)),
    );
    let middle = middle_objects(s);
    let mut out: HashMap<usize, Vec<&'a str>> = HashMap::with_capacity(workloads.len());
    let mut keys = Vec::with_capacity(3);
    for pod in &s.pods {
        let Some(node) = pod
            .spec
            .as_ref()
            .and_then(|p| p.node_name.as_deref())
            .filter(|n| !n.is_empty())
        else {
            continue;
        };
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        // The farthest object of the chain that is a workload is the one reported.
        chain(&middle, ns, &pod.metadata, &mut keys);
        if let Some(&i) = keys.iter().rev().find_map(|k| index.get(k)) {
            out.entry(i).or_default().push(node);
        }
    }
    for nodes in out.values_mut() {
        nodes.sort_unstable();
        nodes.dedup();
    }
    out
}
