//! Fixtures instantiated under a prefix so that concurrent tests never share an object:
//! the fixture's namespaces, its cluster-scoped objects, the Users and Groups it names, and
//! every reference to them are renamed `<prefix>-<name>`. Kubernetes' own names (kube-system,
//! built-in ClusterRoles, `system:` subjects) are left alone.

use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// Whether a fixture's kind is cluster-scoped: the audited kinds as the registry says, and the
/// operator's own kinds (both cluster-scoped).
fn cluster_scoped(kind: &str) -> bool {
    match kube_posture::snapshot::ObjectKind::from_name(kind) {
        Some(k) => !k.namespaced(),
        None => matches!(kind, "SecurityPolicy" | "Finding"),
    }
}

/// Every document of the YAML files in `dir` (sorted), optionally only files whose name starts
/// with one of `only`.
pub fn load(dir: &Path, only: &[&str]) -> Result<Vec<Value>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| dir.display().to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| {
            only.is_empty()
                || p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| only.iter().any(|o| n.starts_with(o)))
        })
        .collect();
    files.sort();
    let mut docs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f)?;
        let values: Vec<Value> =
            kube_posture::yaml::from_str_multi(&text).map_err(anyhow::Error::msg)?;
        docs.extend(values.into_iter().filter(|v| !v.is_null()));
    }
    Ok(docs)
}

pub struct Renamer {
    pub prefix: String,
    namespaces: BTreeSet<String>,
    cluster_roles: BTreeSet<String>,
    nodes: BTreeSet<String>,
}

impl Renamer {
    pub fn new(prefix: &str, docs: &[Value]) -> Renamer {
        let names = |kind: &str| -> BTreeSet<String> {
            docs.iter()
                .filter(|d| d["kind"] == kind)
                .filter_map(|d| d["metadata"]["name"].as_str().map(str::to_string))
                .collect()
        };
        Renamer {
            prefix: prefix.to_string(),
            namespaces: names("Namespace"),
            cluster_roles: names("ClusterRole"),
            nodes: names("Node"),
        }
    }

    fn p(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    /// The instantiated name of a fixture namespace (others are unchanged).
    pub fn namespace(&self, ns: &str) -> String {
        if self.namespaces.contains(ns) {
            self.p(ns)
        } else {
            ns.to_string()
        }
    }

    pub fn node(&self, n: &str) -> String {
        if self.nodes.contains(n) {
            self.p(n)
        } else {
            n.to_string()
        }
    }

    fn subject_name(&self, name: &str) -> String {
        if name.starts_with("system:") {
            name.to_string()
        } else {
            self.p(name)
        }
    }

    pub fn rename(&self, doc: &Value) -> Value {
        let mut d = doc.clone();
        let kind = d["kind"].as_str().unwrap_or("").to_string();
        let name = d["metadata"]["name"].as_str().unwrap_or("").to_string();
        if cluster_scoped(&kind) {
            d["metadata"]["name"] = Value::from(self.p(&name));
        } else {
            let ns = d["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_string();
            d["metadata"]["namespace"] = Value::from(self.namespace(&ns));
            if !self.namespaces.contains(&ns) {
                // An object in a namespace the fixture does not own (kube-system): rename it.
                d["metadata"]["name"] = Value::from(self.p(&name));
            }
        }
        if let Some(r) = d.get_mut("roleRef")
            && r["kind"] == "ClusterRole"
            && let Some(n) = r["name"].as_str().map(str::to_string)
            && self.cluster_roles.contains(&n)
        {
            r["name"] = Value::from(self.p(&n));
        }
        if let Some(subjects) = d.get_mut("subjects").and_then(Value::as_array_mut) {
            for s in subjects {
                match s["kind"].as_str() {
                    Some("ServiceAccount") => {
                        if let Some(ns) = s["namespace"].as_str().map(str::to_string) {
                            s["namespace"] = Value::from(self.namespace(&ns));
                        }
                    }
                    Some(_) => {
                        if let Some(n) = s["name"].as_str().map(str::to_string) {
                            s["name"] = Value::from(self.subject_name(&n));
                        }
                    }
                    None => {}
                }
            }
        }
        for spec_path in [
            "/spec",
            "/spec/template/spec",
            "/spec/jobTemplate/spec/template/spec",
        ] {
            if let Some(spec) = d.pointer_mut(spec_path)
                && let Some(node) = spec
                    .get("nodeName")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            {
                spec["nodeName"] = Value::from(self.node(&node));
            }
        }
        d
    }

    pub fn rename_all(&self, docs: &[Value]) -> Vec<Value> {
        docs.iter().map(|d| self.rename(d)).collect()
    }

    /// Whether a finding of the audit JSON belongs to this instance.
    pub fn owns(&self, finding: &Value) -> bool {
        let mine = |s: Option<&str>| s.is_some_and(|s| s.starts_with(&format!("{}-", self.prefix)));
        mine(finding["resource"]["namespace"].as_str())
            || mine(finding["resource"]["name"].as_str())
            || mine(finding["subject"]["name"].as_str())
            || mine(finding["subject"]["namespace"].as_str())
    }
}

/// Write documents as one multi-document YAML file.
pub fn write(path: &Path, docs: &[Value]) -> Result<()> {
    let mut out = String::new();
    for d in docs {
        out.push_str("---\n");
        out.push_str(&kube_posture::yaml::to_string(d).map_err(anyhow::Error::msg)?);
    }
    std::fs::write(path, out)?;
    Ok(())
}

/// The parts of the insecure sample that a live API server holds as written (no Pod status,
/// no DaemonSet Pods that the controller would replace).
pub const LIVE_FILES: &[&str] = &["00-", "10-", "20-", "30-", "40-", "41-"];

/// Apply the insecure sample cluster under `prefix`, write the applied documents to
/// `dir/cluster.yaml`, and wait until the controllers have made the Deployments' Pods.
pub async fn instantiate_sample(prefix: &str, dir: &Path) -> Renamer {
    instantiate_sample_on(&crate::admin().await, prefix, dir).await
}

/// [`instantiate_sample`] on the cluster of `client` (a private control plane).
pub async fn instantiate_sample_on(client: &kube::Client, prefix: &str, dir: &Path) -> Renamer {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, ListParams};
    let docs = load(
        &crate::repo().join("e2e/fixtures/insecure-cluster"),
        LIVE_FILES,
    )
    .expect("sample loads");
    let r = Renamer::new(prefix, &docs);
    let inst = r.rename_all(&docs);
    std::fs::create_dir_all(dir).expect("fixture dir");
    write(&dir.join("cluster.yaml"), &inst).expect("fixture written");
    crate::apply(client, &inst)
        .await
        .expect("apply the sample cluster");
    // The live audit must see a Deployment with its controller-made ReplicaSet and Pods (and
    // still report it once).
    let pods: Api<Pod> = Api::namespaced(client.clone(), &r.namespace("payments"));
    crate::wait_for(std::time::Duration::from_secs(30), || async {
        let list = pods
            .list(&ListParams::default().labels("app=api"))
            .await
            .ok()?;
        (list.items.len() >= 2).then_some(())
    })
    .await
    .expect("the payments/api Deployment's Pods exist");
    r
}
