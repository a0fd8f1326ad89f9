//! Which nodes each top-level workload's Pods run on. Workloads are reported on their
//! top-level object (a Deployment, never its ReplicaSets or Pods), but only a Pod says where
//! it runs (`spec.nodeName`): follow each Pod's controller references up to the workload.

use crate::audit::workloads::Workload;
use crate::snapshot::{ObjectKind, Snapshot};
use foldhash::{HashMap, HashMapExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use std::collections::BTreeSet;

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
    rs.chain(jobs)
        .map(|(kind, m)| {
            let ns = m.namespace.as_deref().unwrap_or("default");
            ((kind, ns, m.name.as_deref().unwrap_or("")), m)
        })
        .collect()
}

/// The objects a Pod may be reported on, nearest first: itself, its controller, and that
/// controller's own (found in the snapshot, or guessed from the `<deployment>-<hash>` and
/// `<cronjob>-<time>` names when the middle object is missing).
fn chain<'a>(
    middle: &HashMap<Key<'a>, &'a ObjectMeta>,
    ns: &'a str,
    pod: &'a ObjectMeta,
) -> Vec<Key<'a>> {
    let mut out = vec![(
        ObjectKind::Pod.name(),
        ns,
        pod.name.as_deref().unwrap_or(""),
    )];
    let Some(owner) = controller(pod) else {
        return out;
    };
    out.push((owner.kind.as_str(), ns, owner.name.as_str()));
    let parent = match owner.kind.as_str() {
        "ReplicaSet" => "Deployment",
        "Job" => "CronJob",
        _ => return out,
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
    out
}

/// Nodes per workload (index into `workloads`), from the Pods with a `nodeName`.
pub fn nodes_of<'a>(s: &'a Snapshot, workloads: &[Workload]) -> HashMap<usize, BTreeSet<&'a str>> {
    let index: HashMap<Key, usize> = workloads
        .iter()
        .enumerate()
        .map(|(i, w)| ((w.kind.name(), w.namespace, w.name), i))
        .collect();
    let middle = middle_objects(s);
    let mut out: HashMap<usize, BTreeSet<&'a str>> = HashMap::new();
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
        if let Some(&i) = chain(&middle, ns, &pod.metadata)
            .iter()
            .rev()
            .find_map(|k| index.get(k))
        {
            out.entry(i).or_default().insert(node);
        }
    }
    out
}
