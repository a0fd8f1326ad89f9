//! Why the DaemonSet controller would not place a Pod on a node: the node is not Ready, a taint
//! is not tolerated, or the template's node selector / required node affinity excludes it.
//! The semantics are the scheduler's (`k8s.io/component-helpers/scheduling/corev1`), so the
//! diagnosis names the exact taint or selector to change.

use crate::model::PodSpec;
use k8s_openapi::api::core::v1::{
    Node, NodeCondition, NodeSelectorRequirement, NodeSelectorTerm, Taint, Toleration,
};
use std::collections::BTreeMap;

/// The tolerations the DaemonSet controller adds to every daemon Pod
/// (`pkg/controller/daemon/util.AddOrUpdateDaemonPodTolerations`); the last one only for
/// hostNetwork Pods.
const AUTOMATIC: [(&str, &str); 6] = [
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
];
const HOST_NETWORK_AUTOMATIC: (&str, &str) =
    ("node.kubernetes.io/network-unavailable", "NoSchedule");

/// The node's `Ready` condition, when it is not `True` (a node without one is not Ready).
pub fn not_ready(node: &Node) -> Option<NotReady<'_>> {
    let cond = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"));
    match cond {
        Some(c) if c.status == "True" => None,
        other => Some(NotReady(other)),
    }
}

/// A node's failing `Ready` condition (`None`: the node reports none).
pub struct NotReady<'a>(Option<&'a NodeCondition>);

impl std::fmt::Display for NotReady<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some(c) = self.0 else {
            return write!(f, "reports no Ready condition");
        };
        write!(f, "Ready={}", c.status)?;
        let reason = c.reason.as_deref().filter(|r| !r.is_empty());
        let message = c.message.as_deref().filter(|m| !m.is_empty());
        match (reason, message) {
            (Some(r), Some(m)) => write!(f, " ({r}: {m})"),
            (Some(x), None) | (None, Some(x)) => write!(f, " ({x})"),
            (None, None) => Ok(()),
        }
    }
}

/// `Toleration.ToleratesTaint`: an empty effect matches every effect, an empty key (with
/// `Exists`) every key; `Equal` (the default operator) compares values.
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    let effect = t.effect.as_deref().unwrap_or("");
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = t.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match t.operator.as_deref().unwrap_or("") {
        "" | "Equal" => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        "Exists" => true,
        _ => false,
    }
}

fn tolerated_automatically(spec: &PodSpec, taint: &Taint) -> bool {
    let host_network = spec.host_network == Some(true);
    AUTOMATIC
        .iter()
        .chain(host_network.then_some(&HOST_NETWORK_AUTOMATIC))
        .any(|(key, effect)| *key == taint.key && *effect == taint.effect)
}

/// The node's taints that keep the template's Pods off it. PreferNoSchedule only steers the
/// scheduler and never excludes a node.
pub fn untolerated_taints<'n>(node: &'n Node, spec: &PodSpec) -> Vec<&'n Taint> {
    let tolerations = spec.tolerations.as_deref().unwrap_or_default();
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or_default()
        .iter()
        .filter(|t| matches!(t.effect.as_str(), "NoSchedule" | "NoExecute"))
        .filter(|t| !tolerated_automatically(spec, t))
        .filter(|t| !tolerations.iter().any(|tol| tolerates(tol, t)))
        .collect()
}

pub fn taint_text(t: &Taint) -> String {
    match t.value.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => format!("{}={}:{}", t.key, v, t.effect),
        None => format!("{}:{}", t.key, t.effect),
    }
}

/// The toleration that admits exactly this taint, as JSON for `kubectl patch`.
pub fn toleration_for(t: &Taint) -> serde_json::Value {
    match t.value.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => {
            serde_json::json!({"key": t.key, "operator": "Equal", "value": v, "effect": t.effect})
        }
        None => serde_json::json!({"key": t.key, "operator": "Exists", "effect": t.effect}),
    }
}

/// The same toleration as flow YAML, to paste into `spec.template.spec.tolerations`.
pub fn toleration_yaml(t: &Taint) -> String {
    match t.value.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => format!(
            "{{key: {}, operator: Equal, value: \"{}\", effect: {}}}",
            t.key, v, t.effect
        ),
        None => format!("{{key: {}, operator: Exists, effect: {}}}", t.key, t.effect),
    }
}

/// What in the template excludes a node.
#[derive(Debug, PartialEq)]
pub enum Exclusion {
    /// `spec.nodeSelector` entry the node's labels lack: (key, wanted value, node's value).
    NodeSelector {
        key: String,
        wanted: String,
        actual: Option<String>,
    },
    /// No term of the required node affinity matches; the first failing requirement of each
    /// term, as text.
    Affinity(Vec<String>),
}

impl std::fmt::Display for Exclusion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exclusion::NodeSelector {
                key,
                wanted,
                actual,
            } => {
                write!(f, "spec.template.spec.nodeSelector {key}={wanted} (")?;
                match actual {
                    Some(v) => write!(f, "the node has {key}={v})"),
                    None => write!(f, "the node has no label {key})"),
                }
            }
            Exclusion::Affinity(terms) => write!(
                f,
                "spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution: {}",
                terms.join("; ")
            ),
        }
    }
}

/// Whether the template's `nodeSelector` and required node affinity admit the node.
pub fn exclusion(node: &Node, spec: &PodSpec) -> Option<Exclusion> {
    let empty = BTreeMap::new();
    let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
    let name = node.metadata.name.as_deref().unwrap_or("");
    for (key, wanted) in spec.node_selector.iter().flatten() {
        let actual = labels.get(key);
        if actual != Some(wanted) {
            return Some(Exclusion::NodeSelector {
                key: key.clone(),
                wanted: wanted.clone(),
                actual: actual.cloned(),
            });
        }
    }
    let terms = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| {
            n.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .map(|s| s.node_selector_terms.as_slice())?;
    let mut failures = Vec::new();
    for (i, term) in terms.iter().enumerate() {
        match term_failure(term, labels, name) {
            None => return None,
            Some(why) => failures.push(format!("term {}: {why}", i + 1)),
        }
    }
    if failures.is_empty() {
        failures.push("no nodeSelectorTerms (matches no node)".to_string());
    }
    Some(Exclusion::Affinity(failures))
}

/// The first requirement of a term the node fails, or `None` when the term matches. Terms are
/// ANDs of their requirements; a term without requirements matches nothing.
fn term_failure(
    term: &NodeSelectorTerm,
    labels: &BTreeMap<String, String>,
    name: &str,
) -> Option<String> {
    let exprs = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if exprs.is_empty() && fields.is_empty() {
        return Some("empty term (matches no node)".to_string());
    }
    for r in exprs {
        if !requirement_matches(r, labels.get(&r.key).map(String::as_str)) {
            let has = match labels.get(&r.key) {
                Some(v) => format!("the node has {}={v}", r.key),
                None => format!("the node has no label {}", r.key),
            };
            return Some(format!("{} ({has})", requirement_text(r)));
        }
    }
    for r in fields {
        // Only metadata.name is a supported node field (the scheduler rejects others).
        let value = (r.key == "metadata.name").then_some(name);
        if !requirement_matches(r, value) {
            return Some(format!(
                "field {} (the node is {name})",
                requirement_text(r)
            ));
        }
    }
    None
}

/// `NodeSelectorRequirement` semantics on a label (or field) value, `None` when absent.
pub fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or_default();
    let number = |s: &str| s.parse::<i64>().ok();
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(have), Some(bound)) = (
                value.and_then(number),
                values.first().and_then(|v| number(v)),
            ) else {
                return false;
            };
            if r.operator == "Gt" {
                have > bound
            } else {
                have < bound
            }
        }
        _ => false,
    }
}

fn requirement_text(r: &NodeSelectorRequirement) -> String {
    let values = r.values.as_deref().unwrap_or_default();
    match r.operator.as_str() {
        "Exists" | "DoesNotExist" => format!("{} {}", r.key, r.operator),
        _ => format!("{} {} [{}]", r.key, r.operator, values.join(", ")),
    }
}

/// The node a Pod of a DaemonSet is meant for while it is not scheduled yet: the DaemonSet
/// controller pins each Pod with a required node affinity `matchFields metadata.name In [node]`.
pub fn pinned_node(spec: &PodSpec) -> Option<&str> {
    spec.affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms
        .iter()
        .flat_map(|t| t.match_fields.iter().flatten())
        .find(|r| r.key == "metadata.name" && r.operator == "In")
        .and_then(|r| match r.values.as_deref() {
            Some([only]) => Some(only.as_str()),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::daemonset::pods::same_image;

    fn req(op: &str, values: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement {
            key: "k".to_string(),
            operator: op.to_string(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }
    }

    #[test]
    fn node_selector_operators() {
        assert!(requirement_matches(&req("In", &["a", "b"]), Some("b")));
        assert!(!requirement_matches(&req("In", &["a"]), None));
        // NotIn and DoesNotExist hold for a node without the label.
        assert!(requirement_matches(&req("NotIn", &["a"]), None));
        assert!(!requirement_matches(&req("NotIn", &["a"]), Some("a")));
        assert!(requirement_matches(&req("Exists", &[]), Some("")));
        assert!(requirement_matches(&req("DoesNotExist", &[]), None));
        // Gt/Lt compare integers; a label that is not one never matches.
        assert!(requirement_matches(&req("Gt", &["8"]), Some("16")));
        assert!(!requirement_matches(&req("Gt", &["8"]), Some("8")));
        assert!(requirement_matches(&req("Lt", &["8"]), Some("4")));
        assert!(!requirement_matches(&req("Lt", &["8"]), Some("four")));
        assert!(!requirement_matches(&req("Gt", &["8"]), None));
        assert!(!requirement_matches(&req("Bogus", &["8"]), Some("8")));
    }

    #[test]
    fn image_references_compare_normalised() {
        assert!(same_image("nginx", "docker.io/library/nginx:latest"));
        assert!(same_image(
            "falcosecurity/falco:0.38.1",
            "docker.io/falcosecurity/falco:0.38.1"
        ));
        assert!(same_image("falco:0.38.1@sha256:abc", "falco:0.38.1"));
        assert!(!same_image(
            "falco:0.38.1@sha256:abc",
            "falco:0.38.1@sha256:def"
        ));
        assert!(!same_image("registry.local:5000/falco:1", "falco:1"));
        assert!(!same_image("falco:0.37.0", "falco:0.38.1"));
    }
}
