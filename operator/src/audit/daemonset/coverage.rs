//! DS-002…DS-004 for one required DaemonSet: each eligible node is covered by a Running and
//! Ready Pod of it that runs the template's images, or gets one finding per check saying why
//! not and what to change.

use super::pods::{self, Failure, PodIndex};
use super::scheduling::{self, Exclusion};
use crate::audit::{Ctx, Finding, ObjectRef, Sink};
use crate::catalog::CheckId;
use crate::model::{DaemonSet, Pod, PodSpec};
use crate::policy::RequiredAgent;
use crate::snapshot::ObjectKind;
use k8s_openapi::api::core::v1::Node;

/// The DaemonSet and what every finding about it repeats.
struct Target<'a> {
    ds: &'a DaemonSet,
    ns: &'a str,
    name: &'a str,
    template: &'a PodSpec,
}

impl Target<'_> {
    fn finding(&self, check: CheckId, node: &str, message: String) -> Finding {
        Finding::new(check, ObjectRef::new(ObjectKind::Node, None, node), message)
            .node(node)
            .daemon_set(self.ns, self.name)
    }

    fn kubectl(&self, verb: &str) -> String {
        format!("kubectl -n {} {verb}", self.ns)
    }

    /// The DaemonSet controller's own counts, which corroborate a finding.
    fn status(&self) -> Option<String> {
        let s = self.ds.status.as_ref()?;
        Some(format!(
            "DaemonSet status: desired {}, scheduled {}, ready {}, up to date {}",
            s.desired_number_scheduled,
            s.current_number_scheduled,
            s.number_ready,
            s.updated_number_scheduled.unwrap_or(0)
        ))
    }

    fn update_strategy(&self) -> &str {
        self.ds
            .spec
            .as_ref()
            .and_then(|s| s.update_strategy.as_ref())
            .and_then(|u| u.type_.as_deref())
            .unwrap_or("RollingUpdate")
    }
}

/// " matching kubernetes.io/os=linux", or "" for every node.
pub fn scope_text(r: &RequiredAgent) -> String {
    if r.node_selector.is_empty() {
        return String::new();
    }
    let labels: Vec<String> = r
        .node_selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!(" matching {}", labels.join(","))
}

/// Eligible: matches the entry's nodeSelector and is not being deleted.
fn eligible(r: &RequiredAgent, node: &Node) -> bool {
    if node.metadata.deletion_timestamp.is_some() {
        return false;
    }
    let labels = node.metadata.labels.as_ref();
    r.node_selector
        .iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

pub fn audit(ctx: &Ctx, r: &RequiredAgent, ds: &DaemonSet, index: &PodIndex, sink: &mut Sink) {
    let empty = PodSpec::default();
    let t = Target {
        ds,
        ns: &r.namespace,
        name: &r.name,
        template: ds
            .spec
            .as_ref()
            .and_then(|s| s.template.as_ref())
            .and_then(|t| t.spec.as_ref())
            .unwrap_or(&empty),
    };
    for node in ctx.snapshot.nodes.iter().filter(|n| eligible(r, n)) {
        let node_name = node.metadata.name.as_deref().unwrap_or("");
        let mut on_node = index.on_node(ds, node_name);
        if on_node.is_empty() {
            sink.push(uncovered(&t, node, node_name));
            continue;
        }
        // Any Running and Ready Pod covers the node (during a surge rollout a node briefly has
        // two, and a terminating one still works until it stops). Otherwise a live Pod tells
        // why the node is uncovered better than one on its way out.
        on_node.sort_by_key(|p| {
            (
                !pods::running_ready(p),
                pods::is_terminating(p),
                pods::name(p),
            )
        });
        if let Some(first) = on_node.first().filter(|p| !pods::running_ready(p)) {
            let node_state =
                scheduling::not_ready(node).map(|nr| format!("node {node_name}: {nr}"));
            let failure = pods::failure(first, node_state);
            sink.push(not_running(&t, node_name, first, failure));
        }
        let live: Vec<&Pod> = on_node
            .into_iter()
            .filter(|p| !pods::is_terminating(p))
            .collect();
        let drifts: Vec<Vec<String>> = live
            .iter()
            .map(|p| {
                p.spec
                    .as_ref()
                    .map(|s| pods::image_drift(s, t.template))
                    .unwrap_or_default()
            })
            .collect();
        if !live.is_empty() && drifts.iter().all(|d| !d.is_empty()) {
            sink.push(outdated(&t, node_name, live[0], &drifts[0]));
        }
    }
}

/// DS-002, with the most specific reason: the node is not Ready, a taint is not tolerated, the
/// template's selector excludes the node, or nothing explains it.
fn uncovered(t: &Target, node: &Node, n: &str) -> Finding {
    let ds = format!("{}/{}", t.ns, t.name);
    let edit = t.kubectl(&format!("edit daemonset {}", t.name));
    let base = format!("Node {n} has no Pod of required DaemonSet {ds}");
    let (reason, message, diagnosis, mut evidence) = if let Some(nr) = scheduling::not_ready(node) {
        (
            "NodeNotReady",
            format!("{base}: the node is not Ready, {nr}; fix that first"),
            format!(
                "Make the node Ready: `kubectl describe node {n}` shows why it is not (check the \
                 kubelet and the container runtime on it); the DaemonSet places its Pod once it \
                 is Ready. If the node is gone for good, remove it: kubectl delete node {n}."
            ),
            vec![format!("node condition {nr}")],
        )
    } else if let taints @ [_, ..] = scheduling::untolerated_taints(node, t.template).as_slice() {
        let names: Vec<String> = taints.iter().map(|x| scheduling::taint_text(x)).collect();
        let yaml: Vec<String> = taints
            .iter()
            .map(|x| scheduling::toleration_yaml(x))
            .collect();
        (
            "TaintNotTolerated",
            format!(
                "{base}: the DaemonSet does not tolerate the node's taint {}",
                names.join(", ")
            ),
            format!(
                "Add to spec.template.spec.tolerations of DaemonSet {ds}: {} ({}). If the agent \
                 must not run on such nodes, exclude them with the nodeSelector of this \
                 spec.requiredDaemonSets entry instead.",
                yaml.join(", "),
                toleration_patch(t, taints)
            ),
            names.iter().map(|x| format!("taint {x}")).collect(),
        )
    } else if let Some(ex) = scheduling::exclusion(node, t.template) {
        let fix = match &ex {
            Exclusion::NodeSelector {
                key,
                wanted,
                actual,
            } => format!(
                "If the agent belongs on this node, label it (kubectl label node {n} {key}={wanted}{}) \
                 or remove {key} from spec.template.spec.nodeSelector ({edit})",
                if actual.is_some() { " --overwrite" } else { "" }
            ),
            Exclusion::Affinity(_) => format!(
                "If the agent belongs on this node, widen the DaemonSet's required node affinity \
                 so that it admits {n} ({edit}) or label the node to match it"
            ),
        };
        (
            "NodeSelectorMismatch",
            format!("{base}: the DaemonSet's {ex} excludes it"),
            format!(
                "{fix}; if it does not, narrow the nodeSelector of this spec.requiredDaemonSets \
                 entry so the node is not required to run it."
            ),
            vec![ex.to_string()],
        )
    } else {
        (
            "NotScheduled",
            format!(
                "{base}, although nothing in the DaemonSet's template excludes the node: the \
                 DaemonSet controller has not created one"
            ),
            format!(
                "Look for FailedCreate events (a quota, or an admission webhook denying the Pod): \
                 {}; check that kube-controller-manager runs. A node that just joined gets its \
                 Pod within seconds.",
                t.kubectl(&format!("describe daemonset {}", t.name))
            ),
            Vec::new(),
        )
    };
    evidence.extend(t.status());
    t.finding(CheckId::Ds002, n, message)
        .reason(reason)
        .then(&format!(" {diagnosis}"))
        .evidence(evidence)
}

/// A JSON patch that adds the tolerations (appending when the template already has some).
fn toleration_patch(t: &Target, taints: &[&k8s_openapi::api::core::v1::Taint]) -> String {
    let ops: Vec<serde_json::Value> = if t.template.tolerations.is_some() {
        taints
            .iter()
            .map(|x| {
                serde_json::json!({"op": "add", "path": "/spec/template/spec/tolerations/-",
                    "value": scheduling::toleration_for(x)})
            })
            .collect()
    } else {
        let all: Vec<serde_json::Value> = taints
            .iter()
            .map(|x| scheduling::toleration_for(x))
            .collect();
        vec![
            serde_json::json!({"op": "add", "path": "/spec/template/spec/tolerations", "value": all}),
        ]
    };
    let patch = serde_json::Value::Array(ops);
    t.kubectl(&format!(
        "patch daemonset {} --type=json -p '{patch}'",
        t.name
    ))
}

/// DS-003: the Pod for the node exists but is not Running and Ready.
fn not_running(t: &Target, n: &str, pod: &Pod, f: Failure) -> Finding {
    let p = pods::name(pod);
    let describe = t.kubectl(&format!("describe pod {p}"));
    let of = |c: &Option<String>| {
        c.as_ref()
            .map(|c| format!(" (container {c})"))
            .unwrap_or_default()
    };
    let container = f.container.as_deref().unwrap_or("");
    let oom = f.reason == "OOMKilled" || f.details.iter().any(|d| d.contains("OOMKilled"));
    let diagnosis = match f.reason.as_str() {
        _ if oom => format!(
            "Raise resources.limits.memory of container {container} in DaemonSet {}/{} ({}).",
            t.ns,
            t.name,
            t.kubectl(&format!("edit daemonset {}", t.name))
        ),
        "CrashLoopBackOff" | "Error" | "RunContainerError" | "StartError" => format!(
            "See why the agent exits: {}; then fix its configuration.",
            t.kubectl(&format!("logs {p} -c {container} --previous"))
        ),
        "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" | "ErrImageNeverPull" => format!(
            "Fix the image reference or the registry credentials (imagePullSecrets) of container \
             {container}: {describe} shows the pull error."
        ),
        "CreateContainerConfigError" | "CreateContainerError" => format!(
            "A ConfigMap, Secret or key the container references is missing or invalid: {describe}."
        ),
        "Unschedulable" => format!(
            "The scheduler cannot place it on {n} (see the evidence): free resources on the node, \
             or give the DaemonSet priorityClassName: system-node-critical so its Pods preempt \
             others."
        ),
        "NodeNotReady" => format!("Make the node Ready first: kubectl describe node {n}."),
        _ => format!("See why: {describe}."),
    };
    // The container, or else what the scheduler or the node says (it names the fix).
    let context = match (&f.container, f.details.first()) {
        (Some(_), _) => of(&f.container),
        (None, Some(d)) => format!(" ({d})"),
        (None, None) => String::new(),
    };
    let mut evidence = vec![format!(
        "Pod {}/{p}{}: {}",
        t.ns,
        of(&f.container),
        f.reason
    )];
    evidence.extend(f.details);
    t.finding(
        CheckId::Ds003,
        n,
        format!(
            "Pod {p} of required DaemonSet {}/{} on node {n} is not Running and Ready: {}{}",
            t.ns, t.name, f.reason, context
        ),
    )
    .reason(f.reason)
    .then(&format!(" {diagnosis}"))
    .evidence(evidence)
}

/// DS-004: the node runs the agent from an older template (the rollout did not reach it).
fn outdated(t: &Target, n: &str, pod: &Pod, drift: &[String]) -> Finding {
    let p = pods::name(pod);
    let delete = t.kubectl(&format!("delete pod {p}"));
    let diagnosis = if t.update_strategy() == "OnDelete" {
        format!(
            "The DaemonSet's updateStrategy is OnDelete: delete the Pod to get the new template: {delete}."
        )
    } else {
        format!(
            "See where the rollout stopped: {}. A RollingUpdate waits while maxUnavailable Pods \
             are not Ready (fix those first, see DS-003); to update this node now: {delete}.",
            t.kubectl(&format!("rollout status daemonset/{}", t.name))
        )
    };
    let mut evidence: Vec<String> = drift
        .iter()
        .map(|d| format!("Pod {}/{p} {d}", t.ns))
        .collect();
    evidence.push(format!("updateStrategy: {}", t.update_strategy()));
    t.finding(
        CheckId::Ds004,
        n,
        format!(
            "Pod {p} of required DaemonSet {}/{} on node {n} runs other images than the \
             DaemonSet's template (rollout stuck): {}",
            t.ns,
            t.name,
            drift.join(", ")
        ),
    )
    .reason("OutdatedImage")
    .then(&format!(" {diagnosis}"))
    .evidence(evidence)
}
