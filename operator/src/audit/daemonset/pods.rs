//! The Pods of the required DaemonSets, indexed once by (DaemonSet, node), and what their
//! status says: Running and Ready, or why not.

use super::scheduling::pinned_node;
use crate::model::{ContainerStatus, DaemonSet, Pod, PodSpec, PodStatus};
use std::collections::{HashMap, HashSet};

/// (namespace, name) of a DaemonSet.
pub type DsKey<'a> = (&'a str, &'a str);

/// Pods of the required DaemonSets by DaemonSet and node. Built in one pass over the Pods:
/// 150,000 Pods cost one hash lookup each, whatever the number of nodes.
#[derive(Default)]
pub struct PodIndex<'a> {
    by_ds: HashMap<DsKey<'a>, HashMap<&'a str, Vec<&'a Pod>>>,
}

impl<'a> PodIndex<'a> {
    pub fn new(pods: &'a [std::sync::Arc<Pod>], required: &HashSet<DsKey<'_>>) -> PodIndex<'a> {
        let mut index = PodIndex::default();
        for pod in pods {
            let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
            let Some(spec) = pod.spec.as_ref() else {
                continue;
            };
            let owners = pod.metadata.owner_references.iter().flatten();
            for owner in owners.filter(|o| o.kind == "DaemonSet") {
                if !required.contains(&(ns, owner.name.as_str())) {
                    continue;
                }
                let node = spec
                    .node_name
                    .as_deref()
                    .filter(|n| !n.is_empty())
                    .or_else(|| pinned_node(spec));
                if let Some(node) = node {
                    index
                        .by_ds
                        .entry((ns, owner.name.as_str()))
                        .or_default()
                        .entry(node)
                        .or_default()
                        .push(pod);
                }
            }
        }
        index
    }

    /// The Pods of `ds` that belong to `node`. A Pod whose owner reference names the DaemonSet
    /// but carries another UID belongs to a deleted namesake, not to this one.
    pub fn on_node(&self, ds: &DaemonSet, node: &str) -> Vec<&'a Pod> {
        let key = (
            ds.metadata.namespace.as_deref().unwrap_or("default"),
            ds.metadata.name.as_deref().unwrap_or(""),
        );
        let uid = ds.metadata.uid.as_deref().filter(|u| !u.is_empty());
        let Some(pods) = self.by_ds.get(&key).and_then(|m| m.get(node)) else {
            return Vec::new();
        };
        pods.iter()
            .copied()
            .filter(|p| {
                p.metadata.owner_references.iter().flatten().any(|o| {
                    o.kind == "DaemonSet"
                        && o.name == key.1
                        && (uid.is_none() || o.uid.is_empty() || Some(o.uid.as_str()) == uid)
                })
            })
            .collect()
    }
}

pub fn name(p: &Pod) -> &str {
    p.metadata.name.as_deref().unwrap_or("")
}

pub fn is_terminating(p: &Pod) -> bool {
    p.metadata.deletion_timestamp.is_some()
}

/// Running with condition Ready=True: the agent is doing its job.
pub fn running_ready(p: &Pod) -> bool {
    let Some(status) = p.status.as_ref() else {
        return false;
    };
    status.phase.as_deref() == Some("Running")
        && status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// Why a Pod is not Running and Ready, most specific first.
#[derive(Debug, PartialEq)]
pub struct Failure {
    /// The finding's `reason`: a container's waiting/terminated reason, the Pod's own reason,
    /// `Unschedulable`, `NodeNotReady`, or the phase.
    pub reason: String,
    /// The container concerned, when the reason is a container's.
    pub container: Option<String>,
    /// Details for the evidence (messages, exit codes, restarts).
    pub details: Vec<String>,
}

/// Container reasons that only say "not started yet": a more specific cause wins over them.
const GENERIC: [&str; 2] = ["ContainerCreating", "PodInitializing"];

/// `node_not_ready`: the node's failing Ready condition, as text, when it is not Ready.
pub fn failure(p: &Pod, node_not_ready: Option<String>) -> Failure {
    let default = PodStatus::default();
    let status = p.status.as_ref().unwrap_or(&default);
    let phase = status
        .phase
        .clone()
        .unwrap_or_else(|| "Pending".to_string());
    let statuses: Vec<(&ContainerStatus, bool)> = status
        .init_container_statuses
        .iter()
        .flatten()
        .map(|s| (s, true))
        .chain(
            status
                .container_statuses
                .iter()
                .flatten()
                .map(|s| (s, false)),
        )
        .collect();
    let reasons: Vec<(&ContainerStatus, String, Vec<String>)> = statuses
        .iter()
        .filter_map(|(s, init)| container_reason(s, *init).map(|(r, d)| (*s, r, d)))
        .collect();
    let container_failure = |specific: bool| {
        reasons
            .iter()
            .find(|(_, r, _)| GENERIC.contains(&r.as_str()) != specific)
            .map(|(s, r, d)| Failure {
                reason: r.clone(),
                container: Some(s.name.clone()),
                details: d.clone(),
            })
    };
    if let Some(f) = container_failure(true) {
        return f;
    }
    let with_message = |reason: &str, message: Option<&str>| Failure {
        reason: reason.to_string(),
        container: None,
        details: message
            .filter(|m| !m.is_empty())
            .map(|m| vec![m.to_string()])
            .unwrap_or_default(),
    };
    // Evicted, NodeLost, UnexpectedAdmissionError, OutOfcpu…: the kubelet's verdict on the Pod.
    if let Some(r) = status.reason.as_deref().filter(|r| !r.is_empty()) {
        return with_message(r, status.message.as_deref());
    }
    let conditions = status.conditions.as_deref().unwrap_or_default();
    if let Some(c) = conditions
        .iter()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False")
    {
        return with_message(
            c.reason.as_deref().unwrap_or("Unschedulable"),
            c.message.as_deref(),
        );
    }
    if let Some(f) = container_failure(false) {
        return f;
    }
    // A Pod on a node that stopped reporting keeps its last (healthy-looking) container states.
    if let Some(state) = node_not_ready {
        return with_message("NodeNotReady", Some(state.as_str()));
    }
    if phase == "Running"
        && let Some(c) = conditions
            .iter()
            .find(|c| c.type_ == "Ready" && c.status != "True")
    {
        return with_message(
            c.reason.as_deref().unwrap_or("NotReady"),
            c.message.as_deref(),
        );
    }
    with_message(&phase, status.message.as_deref())
}

/// A container's waiting or terminated reason with details. Init containers that completed
/// and running containers have none.
fn container_reason(s: &ContainerStatus, init: bool) -> Option<(String, Vec<String>)> {
    let state = s.state.as_ref()?;
    let mut details = Vec::new();
    let reason = if let Some(w) = &state.waiting {
        if let Some(m) = w.message.as_deref().filter(|m| !m.is_empty()) {
            details.push(format!("{}: {m}", s.name));
        }
        w.reason.clone().unwrap_or_else(|| "Waiting".to_string())
    } else if let Some(t) = &state.terminated {
        if init && t.exit_code == 0 {
            return None;
        }
        details.push(format!("{}: exit code {}", s.name, t.exit_code));
        t.reason.clone().unwrap_or_else(|| "Terminated".to_string())
    } else {
        return None;
    };
    // CrashLoopBackOff hides the cause: the last termination tells it (OOMKilled, Error…).
    if let Some(t) = s.last_state.as_ref().and_then(|l| l.terminated.as_ref()) {
        details.push(format!(
            "{}: last terminated {} (exit code {})",
            s.name,
            t.reason.as_deref().unwrap_or("without a reason"),
            t.exit_code
        ));
    }
    if s.restart_count > 0 {
        details.push(format!("{}: {} restarts", s.name, s.restart_count));
    }
    Some((reason, details))
}

/// Containers whose image in the Pod's spec differs from the template's, as
/// `name: old → new` (init containers too). Containers the Pod has and the template lacks are
/// ignored: admission webhooks inject sidecars.
pub fn image_drift(pod: &PodSpec, template: &PodSpec) -> Vec<String> {
    let pod_images: HashMap<(bool, &str), &str> = all_images(pod).collect();
    all_images(template)
        .filter_map(|(key, want)| match pod_images.get(&key) {
            Some(have) if same_image(have, want) => None,
            Some(have) => Some(format!("{}: {have} → {want}", key.1)),
            None => Some(format!("{}: (absent from the Pod) → {want}", key.1)),
        })
        .collect()
}

fn all_images(spec: &PodSpec) -> impl Iterator<Item = ((bool, &str), &str)> {
    let init = spec.init_containers.iter().flatten().map(|c| (true, c));
    let regular = spec.containers.iter().map(|c| (false, c));
    init.chain(regular)
        .map(|(is_init, c)| ((is_init, c.name.as_str()), c.image.as_deref().unwrap_or("")))
}

/// Image references equal after normalisation: `nginx` = `docker.io/library/nginx:latest`, and
/// a digest an admission webhook pinned (`…:1.2@sha256:…`) does not count as a change.
pub fn same_image(a: &str, b: &str) -> bool {
    let (na, da) = normalize(a);
    let (nb, db) = normalize(b);
    match (da, db) {
        (Some(x), Some(y)) => x == y,
        _ => na == nb,
    }
}

fn normalize(image: &str) -> (String, Option<&str>) {
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let (first, rest) = name.split_once('/').unwrap_or(("", name));
    let is_registry = first.contains(['.', ':']) || first == "localhost";
    let mut full = match (first, is_registry) {
        ("", _) => format!("docker.io/library/{rest}"),
        (_, true) => name.to_string(),
        (_, false) => format!("docker.io/{name}"),
    };
    let last = full.rsplit('/').next().unwrap_or("");
    if !last.contains(':') && digest.is_none() {
        full.push_str(":latest");
    }
    (full, digest)
}
