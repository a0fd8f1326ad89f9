//! Kubelets (category `kubelet`, host.md): KUBELET-001…014 from the kubelet configuration,
//! KUBELET-101/102 from live probes.
//!
//! Sources of the configuration, strongest first; each node takes the first one readable:
//! 1. `configz` (opt-in, `spec.kubelet.configz`): what the kubelet runs. Findings on the Node.
//! 2. kubeadm's `kube-system/kubelet-config` (or the newest `kubelet-config-1.N`): what nodes
//!    were given. Findings on the ConfigMap, once for every node without configz; it is not
//!    evaluated when configz covered every node (what they run is known).
//! 3. k3s/RKE2 `node-args` annotations: `--kubelet-arg` overrides only; what they do not set
//!    is not assessed. Findings on the Node.
//!
//! A node none of them covers is not assessed, with the count of such nodes.

pub mod checks;
pub mod config;
pub mod probes;
#[cfg(test)]
mod tests;

use crate::audit::{Finding, ObjectRef, Sink};
use crate::catalog::Category;
use crate::catalog::CheckId;
use crate::snapshot::trim::{NODE_ARGS_ANNOTATIONS, NODE_ARGS_UNREADABLE};
use crate::snapshot::{KUBELET_CONFIG_NAMESPACE, ObjectKind, Snapshot};
use checks::{CONFIG_CHECKS, Failure, evaluate};
use config::{Defaults, KubeletConfig};
use k8s_openapi::api::core::v1::{ConfigMap, Node};
use std::collections::BTreeMap;

/// What the shell read from the kubelets themselves, for the pure audit.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveKubelets {
    /// `configz` per node name (`spec.kubelet.configz`), or why it could not be read;
    /// `None` when not asked for.
    pub configz: Option<BTreeMap<String, Result<KubeletConfig, String>>>,
    /// The live probes (`spec.probes.kubelet`); `None` when not sent.
    pub probes: Option<Vec<probes::NodeProbes>>,
}

/// The source a finding came from, as its evidence names it (host.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Configz,
    KubeadmConfigMap,
    K3sAnnotation,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Configz => "configz",
            Source::KubeadmConfigMap => "kubeadm-configmap",
            Source::K3sAnnotation => "k3s-annotation",
        }
    }
}

/// The configuration `configz` returned: its body is `{"kubeletconfig": {...}}`.
pub fn parse_configz(body: &[u8]) -> Result<KubeletConfig, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("configz is not JSON: {e}"))?;
    let doc = v
        .get("kubeletconfig")
        .ok_or("configz has no kubeletconfig object")?;
    if !doc.is_object() {
        return Err("configz's kubeletconfig is not an object".into());
    }
    KubeletConfig::from_document(doc).map_err(|e| format!("configz: {e}"))
}

/// kubeadm's kubelet ConfigMap: `kubelet-config`, else the newest `kubelet-config-1.N`.
pub fn kubeadm_config_map(snapshot: &Snapshot) -> Option<&ConfigMap> {
    let minor = |c: &ConfigMap| -> u32 {
        match c.metadata.name.as_deref() {
            Some("kubelet-config") => u32::MAX,
            Some(n) => n
                .strip_prefix("kubelet-config-1.")
                .and_then(|m| m.parse().ok())
                .unwrap_or(0),
            None => 0,
        }
    };
    snapshot
        .config_maps
        .iter()
        .filter(|c| {
            crate::snapshot::is_kubelet_config_map(
                c.metadata.namespace.as_deref(),
                c.metadata.name.as_deref().unwrap_or(""),
            )
        })
        .max_by_key(|c| minor(c))
        .map(|c| &**c)
}

/// The KubeletConfiguration in a kubeadm ConfigMap's `kubelet` key.
pub fn parse_kubeadm(c: &ConfigMap) -> Result<KubeletConfig, String> {
    let text = c
        .data
        .as_ref()
        .and_then(|d| d.get("kubelet"))
        .ok_or("it has no `kubelet` key")?;
    let doc: serde_json::Value =
        crate::yaml::from_str(text).map_err(|e| format!("its `kubelet` key is not YAML: {e}"))?;
    KubeletConfig::from_document(&doc).map_err(|e| format!("its `kubelet` key: {e}"))
}

/// The `--kubelet-arg` overrides of a node's k3s/RKE2 `node-args` annotation, if it has one.
pub fn node_overrides(node: &Node) -> Option<(&'static str, Result<KubeletConfig, String>)> {
    let ann = node.metadata.annotations.as_ref()?;
    let (key, value) = NODE_ARGS_ANNOTATIONS
        .iter()
        .find_map(|k| ann.get(*k).map(|v| (*k, v)))?;
    let parsed = if value == NODE_ARGS_UNREADABLE {
        Err(format!("{key} is {NODE_ARGS_UNREADABLE}"))
    } else {
        config::kubelet_args(value)
            .and_then(|args| KubeletConfig::from_flags(&args))
            .map_err(|e| format!("{key}: {e}"))
    };
    Some((key, parsed))
}

/// How one node's kubelet configuration is known.
enum Known<'a> {
    Configz(&'a KubeletConfig),
    KubeadmConfigMap,
    Overrides(&'static str, Box<KubeletConfig>),
    /// Nothing readable, and why.
    Unreadable(String),
}

struct Resolved<'a> {
    nodes: Vec<(&'a str, Known<'a>)>,
    /// The kubeadm ConfigMap and its configuration (or why it cannot be read).
    kubeadm: Option<(&'a ConfigMap, Result<KubeletConfig, String>)>,
}

fn resolve<'a>(snapshot: &'a Snapshot, live: Option<&'a LiveKubelets>) -> Resolved<'a> {
    let configz = live.and_then(|l| l.configz.as_ref());
    let kubeadm = kubeadm_config_map(snapshot).map(|c| (c, parse_kubeadm(c)));
    let config_maps_unreadable = snapshot.unavailable(ObjectKind::ConfigMap);
    let nodes = snapshot
        .nodes
        .iter()
        .map(|n| {
            let name = n.metadata.name.as_deref().unwrap_or("");
            let mut why: Vec<String> = Vec::new();
            match configz.map(|c| c.get(name)) {
                Some(Some(Ok(c))) => return (name, Known::Configz(c)),
                Some(Some(Err(e))) => why.push(format!("configz: {e}")),
                Some(None) => why.push("configz: not read".into()),
                None => {}
            }
            match &kubeadm {
                Some((_, Ok(_))) => return (name, Known::KubeadmConfigMap),
                Some((c, Err(e))) => why.push(format!(
                    "{}/{}: {e}",
                    KUBELET_CONFIG_NAMESPACE,
                    c.metadata.name.as_deref().unwrap_or("")
                )),
                None => {}
            }
            match node_overrides(n) {
                Some((key, Ok(c))) => return (name, Known::Overrides(key, Box::new(c))),
                Some((_, Err(e))) => why.push(e),
                None => {}
            }
            let reason = if why.is_empty() {
                match config_maps_unreadable {
                    Some(r) => format!("ConfigMaps in kube-system could not be read ({r})"),
                    None if configz.is_none() => "no configz (spec.kubelet.configz is off), no kubeadm kubelet-config ConfigMap in kube-system, no k3s/RKE2 node-args annotation".to_string(),
                    None => "no kubeadm kubelet-config ConfigMap in kube-system, no k3s/RKE2 node-args annotation".to_string(),
                }
            } else {
                why.join("; ")
            };
            (name, Known::Unreadable(reason))
        })
        .collect();
    Resolved { nodes, kubeadm }
}

/// Whether the kubelet on `node` defaults pods without a seccomp profile to RuntimeDefault
/// (`seccompDefault`), from the strongest readable source; `None` when unknown. For XL-002.
pub fn kubelet_defaults_seccomp(
    snapshot: &Snapshot,
    live: Option<&LiveKubelets>,
    node: &str,
) -> Option<bool> {
    seccomp_defaults(snapshot, live).get(node).copied()
}

/// [`kubelet_defaults_seccomp`] for every node whose answer is known, resolved once (the
/// paths across layers ask per node and workload).
pub fn seccomp_defaults<'a>(
    snapshot: &'a Snapshot,
    live: Option<&'a LiveKubelets>,
) -> crate::audit::layers::SeccompDefaults<'a> {
    let r = resolve(snapshot, live);
    let kubeadm = match &r.kubeadm {
        Some((_, Ok(c))) => c.with_defaults(Defaults::ConfigFile).seccomp_default,
        _ => None,
    };
    r.nodes
        .iter()
        .filter_map(|(name, known)| {
            let v = match known {
                Known::Configz(c) => c.with_defaults(Defaults::GoZero).seccomp_default,
                Known::KubeadmConfigMap => kubeadm,
                Known::Overrides(_, c) => c.seccomp_default,
                Known::Unreadable(_) => None,
            };
            v.map(|v| (*name, v))
        })
        .collect()
}

/// How many names a not-assessed reason lists.
const NAMES_SHOWN: usize = 5;

pub(crate) fn listed(names: &[&str]) -> String {
    let mut s = names
        .iter()
        .take(NAMES_SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > NAMES_SHOWN {
        s.push_str(&format!(" and {} more", names.len() - NAMES_SHOWN));
    }
    s
}

pub(crate) fn nodes_word(n: usize) -> String {
    format!("{n} node{}", if n == 1 { "" } else { "s" })
}

/// Every KUBELET check: the configuration checks, then the probes.
pub fn audit(
    snapshot: &Snapshot,
    live: Option<&LiveKubelets>,
    enabled: &dyn Fn(CheckId) -> bool,
    sink: &mut Sink,
) {
    if CONFIG_CHECKS.iter().any(|c| enabled(*c)) {
        audit_config(snapshot, live, sink);
    }
    let (secure, read_only) = (enabled(CheckId::Kubelet101), enabled(CheckId::Kubelet102));
    if let Some(p) = live.and_then(|l| l.probes.as_ref())
        && (secure || read_only)
    {
        probes::audit(p, secure, read_only, sink);
    }
}

fn audit_config(snapshot: &Snapshot, live: Option<&LiveKubelets>, sink: &mut Sink) {
    if let Some(why) = snapshot.unavailable(ObjectKind::Node) {
        sink.not_assessed_checks(
            Category::Kubelet,
            format!("Nodes could not be read ({why})"),
            &CONFIG_CHECKS,
        );
    }
    let r = resolve(snapshot, live);
    let total = r.nodes.len();
    let on_config_map = r
        .nodes
        .iter()
        .filter(|(_, k)| matches!(k, Known::KubeadmConfigMap))
        .count();
    // The ConfigMap speaks for every node without configz; with no Node in the input it is
    // still what nodes will be given.
    if let Some((cm, Ok(c))) = &r.kubeadm
        && (on_config_map > 0 || total == 0)
    {
        let name = cm.metadata.name.as_deref().unwrap_or("");
        let verdict = evaluate(c, Defaults::ConfigFile);
        for f in verdict.failures {
            sink.push(config_map_finding(name, on_config_map, f));
        }
    }
    let mut unknown: BTreeMap<CheckId, Vec<&str>> = BTreeMap::new();
    let mut unreadable: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (node, known) in &r.nodes {
        match known {
            Known::Configz(c) => {
                for f in evaluate(c, Defaults::GoZero).failures {
                    sink.push(node_finding(node, Source::Configz, None, f));
                }
            }
            Known::Overrides(key, c) => {
                let v = evaluate(c, Defaults::Unknown);
                for f in v.failures {
                    sink.push(node_finding(node, Source::K3sAnnotation, Some(key), f));
                }
                for check in v.unknown {
                    unknown.entry(check).or_default().push(node);
                }
            }
            Known::KubeadmConfigMap => {}
            Known::Unreadable(why) => unreadable.entry(why.as_str()).or_default().push(node),
        }
    }
    // The checks judged the other nodes, so only the unjudged nodes' earlier findings are
    // held: a node fixed since must not keep its finding because another cannot be read. When
    // the kubeadm ConfigMap itself is what cannot be read, its findings (on the ConfigMap, for
    // every node it spoke for) cannot be told apart per node: every earlier finding is held.
    let config_map_unreadable = snapshot.unavailable(ObjectKind::ConfigMap).is_some()
        || matches!(r.kubeadm, Some((_, Err(_))));
    let not_judged = |sink: &mut Sink, reason: String, checks: &[CheckId], nodes: &[&str]| {
        if config_map_unreadable {
            sink.not_assessed_checks(Category::Kubelet, reason, checks);
            return;
        }
        sink.not_assessed_on_nodes(Category::Kubelet, reason, checks, nodes);
    };
    // One entry per set of checks with the same nodes, so the reasons stay few.
    let mut by_nodes: BTreeMap<Vec<&str>, Vec<CheckId>> = BTreeMap::new();
    for (check, mut nodes) in unknown {
        nodes.sort_unstable();
        by_nodes.entry(nodes).or_default().push(check);
    }
    for (nodes, checks) in by_nodes {
        not_judged(
            sink,
            format!(
                "the k3s/RKE2 node-args of {} of {total} do not set the fields these checks read (they give overrides only): {}",
                nodes_word(nodes.len()),
                listed(&nodes)
            ),
            &checks,
            &nodes,
        );
    }
    for (why, mut nodes) in unreadable {
        nodes.sort_unstable();
        not_judged(
            sink,
            format!(
                "the kubelet configuration of {} of {total} is not readable ({why}): {}",
                nodes_word(nodes.len()),
                listed(&nodes)
            ),
            &CONFIG_CHECKS,
            &nodes,
        );
    }
    if total == 0 {
        match &r.kubeadm {
            Some((_, Ok(_))) => {}
            Some((cm, Err(e))) => sink.not_assessed_checks(
                Category::Kubelet,
                format!(
                    "{KUBELET_CONFIG_NAMESPACE}/{} cannot be read: {e}",
                    cm.metadata.name.as_deref().unwrap_or("")
                ),
                &CONFIG_CHECKS,
            ),
            None => sink.not_assessed_checks(
                Category::Kubelet,
                match snapshot.unavailable(ObjectKind::ConfigMap) {
                    Some(why) => format!("no Node in the input, and ConfigMaps in kube-system could not be read ({why})"),
                    None => "no Node and no kubeadm kubelet-config ConfigMap in the input: no kubelet configuration to read".to_string(),
                },
                &CONFIG_CHECKS,
            ),
        }
    }
}

fn config_map_finding(name: &str, nodes: usize, f: Failure) -> Finding {
    let mut finding = Finding::new(
        f.check,
        ObjectRef::new(ObjectKind::ConfigMap, Some(KUBELET_CONFIG_NAMESPACE), name),
        format!(
            "{KUBELET_CONFIG_NAMESPACE}/{name}, the kubelet configuration kubeadm gives nodes (what they were given, not necessarily what they run): {}",
            f.message
        ),
    );
    finding.severity = f.severity;
    finding.evidence([format!(
        "source: kubeadm-configmap {KUBELET_CONFIG_NAMESPACE}/{name}, key kubelet (the baseline of {}, absent fields take the config-file defaults)",
        nodes_word(nodes)
    )]
    .into_iter()
    .chain(f.evidence))
}

fn node_finding(node: &str, source: Source, key: Option<&str>, f: Failure) -> Finding {
    let from = match source {
        Source::Configz => "configz: the kubelet's running configuration".to_string(),
        _ => format!(
            "{}, `--kubelet-arg` overrides in {}",
            source.as_str(),
            key.unwrap_or("node-args")
        ),
    };
    let mut finding = Finding::new(
        f.check,
        ObjectRef::new(ObjectKind::Node, None, node),
        format!("on node {node}, {}", f.message),
    )
    .node(node);
    finding.severity = f.severity;
    finding.evidence([format!("source: {from}")].into_iter().chain(f.evidence))
}
