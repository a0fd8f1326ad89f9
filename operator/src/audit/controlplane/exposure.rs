//! ETCD-008 (a Service in front of etcd) and ETCD-009 (a workload mounting etcd's data or
//! the Kubernetes PKI from the host): etcd reached other than through the API server.

use super::Component;
use super::instance::Instance;
use crate::audit::workloads::{Workload, normalize_path};
use crate::audit::{Ctx, Finding, ObjectRef, Sink};
use crate::catalog::Category;
use crate::catalog::CheckId;
use crate::model::Pod;
use crate::snapshot::ObjectKind;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// etcd's client and peer ports.
const ETCD_PORTS: [i32; 2] = [2379, 2380];

pub fn audit(ctx: &Ctx, etcds: &[&Instance], sink: &mut Sink) {
    if ctx.enabled(CheckId::Etcd008) {
        if let Some(reason) = ctx.snapshot.unavailable(ObjectKind::Service) {
            sink.not_assessed(
                Category::Etcd,
                format!("cannot read services: {reason} (ETCD-008 not assessed)"),
            );
        }
        for svc in &ctx.snapshot.services {
            if let Some(f) = service_exposing_etcd(ctx, svc) {
                sink.push(f);
            }
        }
    }
    if ctx.enabled(CheckId::Etcd009) {
        let protected = protected_paths(etcds);
        for w in ctx.workloads.iter().filter(|w| !ctx.is_control_plane(w)) {
            if let Some(f) = mounts_protected(w, &protected) {
                sink.push(f);
            }
        }
    }
}

/// ETCD-008. A Service selects Pods of its own namespace only, so only a kube-system Service
/// can select the control plane's etcd. ExternalName Services proxy nothing.
fn service_exposing_etcd(ctx: &Ctx, svc: &Service) -> Option<Finding> {
    let ns = svc.metadata.namespace.as_deref().unwrap_or("default");
    let name = svc.metadata.name.as_deref().unwrap_or("");
    // The API server's own Service.
    if ns == "default" && name == "kubernetes" {
        return None;
    }
    let spec = svc.spec.as_ref()?;
    let kind = spec.type_.as_deref().unwrap_or("ClusterIP");
    if kind == "ExternalName" {
        return None;
    }
    let mut evidence = Vec::new();
    if let Some(selector) = spec.selector.as_ref().filter(|s| !s.is_empty()) {
        let selected = ctx
            .components
            .iter()
            .filter(|c| c.component == Component::Etcd)
            .filter(|c| ns == "kube-system" && selects(selector, c.pod));
        for c in selected {
            let sel: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
            evidence.push(format!(
                "selector {} matches etcd Pod kube-system/{}",
                sel.join(","),
                c.name()
            ));
        }
    }
    for p in spec.ports.iter().flatten() {
        let target = match &p.target_port {
            Some(IntOrString::Int(t)) => Some(*t),
            _ => None,
        };
        if ETCD_PORTS.contains(&p.port) || target.is_some_and(|t| ETCD_PORTS.contains(&t)) {
            let target = p
                .target_port
                .as_ref()
                .map_or(p.port.to_string(), |t| match t {
                    IntOrString::Int(i) => i.to_string(),
                    IntOrString::String(s) => s.clone(),
                });
            let node_port = p
                .node_port
                .map(|n| format!(", nodePort {n}"))
                .unwrap_or_default();
            evidence.push(format!("port {} -> targetPort {target}{node_port}", p.port));
        }
    }
    if evidence.is_empty() {
        return None;
    }
    let external_ips = spec.external_ips.as_deref().unwrap_or_default();
    let outside = matches!(kind, "NodePort" | "LoadBalancer") || !external_ips.is_empty();
    evidence.insert(0, format!("type {kind}"));
    if !external_ips.is_empty() {
        evidence.insert(1, format!("externalIPs {}", external_ips.join(",")));
    }
    let reach = if outside {
        "from outside the cluster"
    } else {
        "to every pod in the cluster"
    };
    let f = Finding::new(
        CheckId::Etcd008,
        ObjectRef::new(ObjectKind::Service, Some(ns), name),
        format!("Service {ns}/{name} ({kind}) exposes etcd {reach}"),
    )
    .evidence(evidence)
    .fill(&[("name", name), ("namespace", ns)]);
    Some(if outside { f } else { f.reduced() })
}

/// A Service's equality-based selector against a Pod's labels.
fn selects(selector: &std::collections::BTreeMap<String, String>, pod: &Pod) -> bool {
    selector
        .iter()
        .all(|(k, v)| pod.labels.get(k) == Some(v.as_str()))
}

/// Host paths that hold etcd's data or the cluster's keys, with what they hold.
fn protected_paths(etcds: &[&Instance]) -> Vec<(String, String)> {
    let mut out = vec![
        ("/var/lib/etcd".to_string(), "etcd's data dir".to_string()),
        (
            "/etc/kubernetes/pki".to_string(),
            "the Kubernetes PKI".to_string(),
        ),
    ];
    for inst in etcds {
        let Some(dir) = inst.flags.nonempty("data-dir") else {
            continue;
        };
        // A relative --data-dir is inside the container's working directory: no host path.
        if !dir.starts_with('/') {
            continue;
        }
        let what = format!("etcd's data dir (--data-dir of {})", inst.name());
        let dir = normalize_path(dir);
        if let Some(host) = host_path_of(inst, &dir) {
            out.push((host, what.clone()));
        }
        out.push((dir, what));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|(p, _)| seen.insert(p.clone()));
    out
}

/// The host path behind a path of the etcd container, through its hostPath volume mounts.
fn host_path_of(inst: &Instance, path: &str) -> Option<String> {
    let spec = inst.pod.pod.spec.as_ref()?;
    let container = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == inst.pod.container.name)?;
    container
        .volume_mounts
        .iter()
        .flatten()
        .filter_map(|m| {
            let rest = relative_to(path, &normalize_path(&m.mount_path))?;
            let volume = spec.volumes.iter().flatten().find(|v| v.name == m.name)?;
            let host = normalize_path(&volume.host_path.as_ref()?.path);
            Some((
                m.mount_path.len(),
                normalize_path(&format!("{host}/{rest}")),
            ))
        })
        // The most specific mount wins, as in the container's mount table.
        .max_by_key(|(len, _)| *len)
        .map(|(_, host)| host)
}

/// `path` relative to `base` when it is `base` or lies under it ("" for `base` itself).
fn relative_to<'p>(path: &'p str, base: &str) -> Option<&'p str> {
    if base == "/" {
        return path.strip_prefix('/');
    }
    match path.strip_prefix(base)? {
        "" => Some(""),
        rest => rest.strip_prefix('/'),
    }
}

/// ETCD-009: a hostPath volume that is, lies under, or contains a protected path.
fn mounts_protected(w: &Workload, protected: &[(String, String)]) -> Option<Finding> {
    let mut evidence = Vec::new();
    let mut volumes = Vec::new();
    for v in w.spec.volumes.iter().flatten() {
        let Some(hp) = v.host_path.as_ref() else {
            continue;
        };
        let path = normalize_path(&hp.path);
        let hits: Vec<String> = protected
            .iter()
            .filter_map(|(p, what)| {
                if relative_to(&path, p).is_some() {
                    Some(what.clone())
                } else if relative_to(p, &path).is_some() {
                    Some(format!("holds {p}, {what}"))
                } else {
                    None
                }
            })
            .collect();
        if !hits.is_empty() {
            evidence.push(format!(
                "volume {}: hostPath {} ({})",
                v.name,
                hp.path,
                hits.join("; ")
            ));
            volumes.push(v.name.as_str());
        }
    }
    if volumes.is_empty() {
        return None;
    }
    let mounting: Vec<&str> = w
        .spec
        .init_containers
        .iter()
        .flatten()
        .chain(w.spec.containers.iter())
        .filter(|c| {
            c.volume_mounts
                .iter()
                .flatten()
                .any(|m| volumes.contains(&m.name.as_str()))
        })
        .map(|c| c.name.as_str())
        .collect();
    Some(
        Finding::new(
            CheckId::Etcd009,
            w.object_ref(),
            format!(
                "{w} mounts etcd's data or the Kubernetes PKI from the host: {}",
                volumes.join(", ")
            ),
        )
        .container(&mounting)
        .evidence(evidence)
        .fill(&[
            ("volumes", &volumes.join(", ")),
            ("workload", &w.to_string()),
            ("edit", &w.edit_command()),
        ]),
    )
}
