//! The node's resources: WL-002 host namespaces, WL-003 host paths, WL-011 host ports.

use super::{containers_where, wl_finding};
use crate::audit::Sink;
use crate::audit::workloads::{Workload, containers};
use crate::catalog::CheckId;
use crate::catalog::Severity;

pub(super) fn host_namespaces(w: &Workload, sink: &mut Sink) {
    let s = w.spec;
    let set: Vec<&str> = [
        ("hostPID", s.host_pid),
        ("hostIPC", s.host_ipc),
        ("hostNetwork", s.host_network),
    ]
    .into_iter()
    .filter(|(_, v)| *v == Some(true))
    .map(|(k, _)| k)
    .collect();
    if !set.is_empty() {
        sink.push(
            wl_finding(
                CheckId::Wl002,
                w,
                &[],
                &format!("shares the node's namespaces ({})", set.join(", ")),
            )
            .evidence(set.iter().map(|k| format!("spec.{k}: true"))),
        );
    }
}

/// Lexical normalisation: `//` and `.` removed, `..` resolved, no trailing `/`.
pub fn normalize_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

pub(super) fn is_or_under(path: &str, base: &str) -> bool {
    path == base
        || (base == "/" && path.starts_with('/'))
        || path.strip_prefix(base).is_some_and(|r| r.starts_with('/'))
}

/// Container runtime sockets and their directories: mounting any of them (or a directory that
/// holds them, such as `/run` or `/var/run`) hands over every container on the node.
const RUNTIME_SOCKETS: &[&str] = &[
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run/dockershim.sock",
    "/var/run/cri-dockerd.sock",
    "/run/cri-dockerd.sock",
    "/var/run/containerd/containerd.sock",
    "/run/containerd/containerd.sock",
    "/var/run/crio/crio.sock",
    "/run/crio/crio.sock",
    "/run/k3s/containerd/containerd.sock",
    "/var/run/docker",
    "/run/docker",
    "/var/run/containerd",
    "/run/containerd",
    "/var/run/crio",
    "/run/crio",
    "/run/k3s/containerd",
];
const SENSITIVE_DIRS: &[&str] = &[
    "/etc",
    "/proc",
    "/sys",
    "/root",
    "/home",
    "/boot",
    "/var/lib/kubelet",
    "/var/lib/docker",
    "/var/lib/containerd",
];

/// WL-003's verdict on a hostPath: critical for a runtime socket, its directory, anything
/// under those, or a directory holding them (but `/`); high for `/` and the system paths.
pub fn host_path_severity(path: &str) -> Option<Severity> {
    let p = normalize_path(path);
    let runtime = RUNTIME_SOCKETS
        .iter()
        .any(|s| is_or_under(&p, s) || (p != "/" && is_or_under(s, &p)));
    if runtime {
        return Some(Severity::Critical);
    }
    if p == "/" || SENSITIVE_DIRS.iter().any(|d| is_or_under(&p, d)) {
        return Some(Severity::High);
    }
    None
}

pub(super) fn host_paths(w: &Workload, sink: &mut Sink) {
    let mut worst: Option<Severity> = None;
    let mut evidence = Vec::new();
    let mut names = Vec::new();
    for v in w.spec.volumes.iter().flatten() {
        let Some(hp) = v.host_path.as_ref() else {
            continue;
        };
        if let Some(sev) = host_path_severity(&hp.path) {
            worst = worst.max(Some(sev));
            evidence.push(format!("volume {}: hostPath {}", v.name, hp.path));
            names.push(v.name.as_str());
        }
    }
    let Some(sev) = worst else { return };
    // The containers that mount those volumes.
    let mounting: Vec<&str> = containers(w.spec)
        .filter(|c| {
            w.spec
                .containers
                .iter()
                .chain(w.spec.init_containers.iter().flatten())
                .find(|x| x.name == c.name)
                .and_then(|x| x.volume_mounts.as_ref())
                .is_some_and(|m| m.iter().any(|m| names.contains(&m.name.as_str())))
        })
        .map(|c| c.name)
        .collect();
    let mut f = wl_finding(
        CheckId::Wl003,
        w,
        &mounting,
        &format!(
            "mounts sensitive host paths ({})",
            evidence
                .iter()
                .map(|e| e.rsplit(' ').next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
    .evidence(evidence);
    if sev == Severity::High {
        f = f.reduced();
    }
    sink.push(f);
}

/// WL-011: containers exposed on the node's address.
pub(super) fn host_ports(w: &Workload, sink: &mut Sink) {
    let what = "exposes containers on the node's address (hostPort)";
    let f = containers_where(CheckId::Wl011, w, what, |c| {
        c.ports.iter().any(|p| p.host_port.is_some_and(|h| h != 0))
    });
    if let Some(f) = f {
        let ports: Vec<String> = containers(w.spec)
            .flat_map(|c| {
                c.ports.iter().filter_map(move |p| {
                    p.host_port
                        .filter(|h| *h != 0)
                        .map(|h| format!("{}: hostPort {h}", c.name))
                })
            })
            .collect();
        sink.push(f.evidence(ports));
    }
}
