//! Which nodes each top-level workload's Pods run on. Workloads are reported on their
//! top-level object (a Deployment, never its ReplicaSets or Pods), but only a Pod says where
//! it runs (`spec.nodeName`): follow each Pod's controller references up to the workload.

use crate::audit::workloads::Workload;
use crate::snapshot::{ObjectKind, Snapshot};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use std::collections::{BTreeSet, HashMap};

type Key = (String, String, String);

fn key(kind: &str, ns: &str, name: &str) -> Key {
    (kind.to_string(), ns.to_string(), name.to_string())
}

fn controller(meta: &ObjectMeta) -> Option<&OwnerReference> {
    let refs = meta.owner_references.as_deref()?;
    refs.iter()
        .find(|r| r.controller == Some(true))
        .or(refs.first())
}

/// The metadata of a ReplicaSet or Job in the snapshot.
fn find<'a>(s: &'a Snapshot, kind: &str, ns: &str, name: &str) -> Option<&'a ObjectMeta> {
    let is = |m: &ObjectMeta| {
        m.name.as_deref() == Some(name) && m.namespace.as_deref().unwrap_or("default") == ns
    };
    match kind {
        "ReplicaSet" => s.replica_sets.iter().map(|x| &x.metadata).find(|m| is(m)),
        "Job" => s.jobs.iter().map(|x| &x.metadata).find(|m| is(m)),
        _ => None,
    }
}

/// The objects a Pod may be reported on, nearest first: itself, its controller, and that
/// controller's own (found in the snapshot, or guessed from the `<deployment>-<hash>` and
/// `<cronjob>-<time>` names when the middle object is missing).
fn chain(s: &Snapshot, ns: &str, pod: &ObjectMeta) -> Vec<Key> {
    let mut out = vec![key(
        ObjectKind::Pod.name(),
        ns,
        pod.name.as_deref().unwrap_or(""),
    )];
    let Some(owner) = controller(pod) else {
        return out;
    };
    out.push(key(&owner.kind, ns, &owner.name));
    let parent = match owner.kind.as_str() {
        "ReplicaSet" => "Deployment",
        "Job" => "CronJob",
        _ => return out,
    };
    match find(s, &owner.kind, ns, &owner.name) {
        Some(m) => {
            if let Some(grand) = controller(m) {
                out.push(key(&grand.kind, ns, &grand.name));
            }
        }
        None => {
            if let Some((prefix, _)) = owner.name.rsplit_once('-') {
                out.push(key(parent, ns, prefix));
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
        .map(|(i, w)| (key(w.kind.name(), w.namespace, w.name), i))
        .collect();
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
        if let Some(&i) = chain(s, ns, &pod.metadata)
            .iter()
            .rev()
            .find_map(|k| index.get(k))
        {
            out.entry(i).or_default().insert(node);
        }
    }
    out
}
