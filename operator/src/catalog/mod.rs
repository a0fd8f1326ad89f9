//! The check catalog as data: every check's ID, category, severity, default state, title and
//! benchmark references. The CLI (`kube-posture checks`), SARIF rules, docs and metric labels
//! all read this one table; the audit functions are keyed by the same IDs.

mod docs;
pub mod frameworks;
mod ids;
mod table;

pub use docs::markdown;
pub use ids::CheckId;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub use table::CHECKS;

/// How bad a finding is. Ordered from least to most severe so `>=` reads naturally.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity {other:?} (expected critical, high, medium, low or info)"
            )),
        }
    }
}

/// The family a check belongs to; also a selector in `spec.checks.include/exclude`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Rbac,
    Apiserver,
    Etcd,
    Controlplane,
    Daemonset,
    Workload,
    Node,
    Kubelet,
    Image,
    Layers,
    Policy,
}

impl Category {
    pub const ALL: [Category; 11] = [
        Category::Rbac,
        Category::Apiserver,
        Category::Etcd,
        Category::Controlplane,
        Category::Daemonset,
        Category::Workload,
        Category::Node,
        Category::Kubelet,
        Category::Image,
        Category::Layers,
        Category::Policy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Rbac => "rbac",
            Category::Apiserver => "apiserver",
            Category::Etcd => "etcd",
            Category::Controlplane => "controlplane",
            Category::Daemonset => "daemonset",
            Category::Workload => "workload",
            Category::Node => "node",
            Category::Kubelet => "kubelet",
            Category::Image => "image",
            Category::Layers => "layers",
            Category::Policy => "policy",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The layer of defence a check belongs to (host.md, "Layers in the status"): the status,
/// the JSON report and the table summarise findings layer by layer.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    /// RBAC: who may do what.
    Identity,
    /// The API server, controller manager and scheduler.
    ControlPlane,
    /// etcd.
    Datastore,
    /// Nodes, kubelets and the security agents that run on them.
    Host,
    /// Pods, their containers and images.
    Workload,
    /// Paths across layers (XL-*).
    Paths,
    /// The policy's own hygiene (exceptions).
    Policy,
}

impl Layer {
    pub const ALL: [Layer; 7] = [
        Layer::Identity,
        Layer::ControlPlane,
        Layer::Datastore,
        Layer::Host,
        Layer::Workload,
        Layer::Paths,
        Layer::Policy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Identity => "identity",
            Layer::ControlPlane => "control-plane",
            Layer::Datastore => "datastore",
            Layer::Host => "host",
            Layer::Workload => "workload",
            Layer::Paths => "paths",
            Layer::Policy => "policy",
        }
    }

    pub fn parse(s: &str) -> Option<Layer> {
        Layer::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a check can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Scope {
    /// Decided from objects: offline snapshots and live clusters alike.
    Objects,
    /// Needs a live API server (a probe); skipped by `audit --snapshot`.
    LiveOnly,
}

/// One row of the catalog.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckMeta {
    pub id: CheckId,
    pub category: Category,
    /// Default severity; for "cw/ns" checks, the cluster-wide one.
    pub severity: Severity,
    /// The lower severity of the narrower case, for checks with two ("cw/ns" in the spec): a
    /// grant limited to one namespace (RBAC), a ClusterIP Service (ETCD-008), a system path
    /// rather than a runtime socket (WL-003).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reduced_severity: Option<Severity>,
    /// Whether the check runs when a policy does not name checks.
    pub default: bool,
    pub title: &'static str,
    /// The CamelCase reason of remediation Events about this check.
    pub event_reason: &'static str,
    /// Why it matters, for docs and SARIF help text.
    pub rationale: &'static str,
    /// How to fix it: the one text of the check's remediation. `{name}` placeholders are
    /// filled by the finding ([`fill_remediation`]); docs and rule listings show them as
    /// `<name>`. Check code adds facts (a command for the object) after it, never a second text.
    #[serde(serialize_with = "general_remediation")]
    pub remediation: &'static str,
    /// Where the catalog left room, the interpretation kube-posture chose (docs/checks.md).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub notes: &'static str,
    /// Benchmark and tool references: `CIS 1.2.1`, `KSV041`, `C-0035`, `rbac-police:…`.
    pub references: &'static [&'static str],
    pub scope: Scope,
    /// Named groups the check belongs to (for `spec.checks.include`).
    pub groups: &'static [&'static str],
}

fn general_remediation<S: serde::Serializer>(r: &&'static str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&fill_remediation(r, &[]))
}

/// A catalog remediation with its `{name}` placeholders replaced by `values`; a placeholder
/// without a value reads `<name>`, as in the docs. A text without placeholders is the
/// catalog's own, borrowed: most of a large cluster's findings then hold no copy of it.
pub fn fill_remediation(
    template: &'static str,
    values: &[(&str, &str)],
) -> std::borrow::Cow<'static, str> {
    if !template.contains('{') {
        return std::borrow::Cow::Borrowed(template);
    }
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(len) = rest[open + 1..].find('}') else {
            break;
        };
        let key = &rest[open + 1..open + 1 + len];
        out.push_str(&rest[..open]);
        match values.iter().find(|(k, _)| *k == key) {
            Some((_, v)) => out.push_str(v),
            None => {
                out.push('<');
                out.push_str(key);
                out.push('>');
            }
        }
        rest = &rest[open + len + 2..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

impl CheckMeta {
    /// The remediation as docs and rule listings show it: placeholders as `<name>`.
    pub fn general_remediation(&self) -> String {
        fill_remediation(self.remediation, &[]).into_owned()
    }

    /// The check's layer, from its ID prefix (host.md): images belong to the workload layer,
    /// DaemonSet coverage to the host layer.
    pub fn layer(&self) -> Layer {
        self.id.layer()
    }
}

/// The layer of a check ID, by its prefix. An unknown prefix is a catalog bug, caught by the
/// `every_check_has_a_layer` test; it falls back to the policy layer rather than panicking.
pub fn layer_of(id: &str) -> Layer {
    match id.split_once('-').map_or(id, |(p, _)| p) {
        "RBAC" => Layer::Identity,
        "API" | "CM" | "SCH" => Layer::ControlPlane,
        "ETCD" => Layer::Datastore,
        "NODE" | "KUBELET" | "DS" => Layer::Host,
        "WL" | "IMG" => Layer::Workload,
        "XL" => Layer::Paths,
        _ => Layer::Policy,
    }
}

/// Groups a policy may name in `checks.include/exclude`, besides IDs and categories.
pub const GROUPS: &[&str] = &["workload-restricted"];

/// The catalog row of an ID a user wrote (a policy, `--check`); check code uses [`CheckId`].
pub fn lookup(id: &str) -> Option<&'static CheckMeta> {
    id.parse::<CheckId>().ok().map(CheckId::meta)
}

/// Checks selected by a selector: an ID, a category or a group. `None` for an unknown selector.
pub fn select(selector: &str) -> Option<Vec<&'static CheckMeta>> {
    if let Some(c) = lookup(selector) {
        return Some(vec![c]);
    }
    if let Some(cat) = Category::parse(selector) {
        return Some(CHECKS.iter().filter(|c| c.category == cat).collect());
    }
    if GROUPS.contains(&selector) {
        return Some(
            CHECKS
                .iter()
                .filter(|c| c.groups.contains(&selector))
                .collect(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for c in CHECKS {
            assert!(seen.insert(c.id), "duplicate check {}", c.id);
            let (prefix, num) = c.id.as_str().split_once('-').expect("ID has a dash");
            assert!(prefix.chars().all(|ch| ch.is_ascii_uppercase()), "{}", c.id);
            assert!(
                num.len() == 3 && num.chars().all(|ch| ch.is_ascii_digit()),
                "{}",
                c.id
            );
            assert!(!c.title.is_empty() && !c.rationale.is_empty() && !c.remediation.is_empty());
        }
    }

    #[test]
    fn remediation_placeholders_are_names_and_fill() {
        for c in CHECKS {
            let mut rest = c.remediation;
            while let Some(open) = rest.find('{') {
                let close = rest[open..].find('}').map(|i| open + i);
                let key = close.map(|close| &rest[open + 1..close]);
                assert!(
                    key.is_some_and(
                        |k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    ),
                    "{}: a brace that is not a {{name}} placeholder in {:?}",
                    c.id,
                    c.remediation
                );
                rest = &rest[close.unwrap() + 1..];
            }
            assert!(!rest.contains('}'), "{}: stray brace", c.id);
        }
        assert_eq!(
            fill_remediation("Upgrade node {node} to {target}.", &[("node", "n1")]),
            "Upgrade node n1 to <target>."
        );
    }

    #[test]
    fn selectors_resolve_ids_categories_and_groups() {
        assert_eq!(select("RBAC-001").unwrap().len(), 1);
        assert!(select("rbac").unwrap().len() >= 18);
        let restricted = select("workload-restricted").unwrap();
        let ids: Vec<_> = restricted.iter().map(|c| c.id).collect();
        assert_eq!(ids, ["WL-006", "WL-007", "WL-008", "WL-009"]);
        assert!(select("RBAC-999").is_none());
    }

    #[test]
    fn every_check_has_a_layer() {
        for c in CHECKS {
            let prefix = c.id.family();
            assert!(
                prefix == "POL" || c.layer() != Layer::Policy,
                "{} has no layer: add its prefix to layer_of",
                c.id
            );
        }
        assert_eq!(layer_of("KUBELET-004"), Layer::Host);
        assert_eq!(layer_of("XL-001"), Layer::Paths);
        for l in Layer::ALL {
            assert_eq!(Layer::parse(l.as_str()), Some(l));
        }
    }

    #[test]
    fn event_reasons_are_camel_case_and_unique() {
        let mut seen = HashSet::new();
        for c in CHECKS {
            let r = c.event_reason;
            assert!(r.chars().next().unwrap().is_ascii_uppercase(), "{r}");
            assert!(r.chars().all(|c| c.is_ascii_alphanumeric()), "{r}");
            assert!(seen.insert(r), "duplicate reason {r}");
        }
    }
}
