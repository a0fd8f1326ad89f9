//! Kernel-level confinement: WL-008 seccomp, WL-009 read-only root filesystem, WL-012
//! disabled baseline controls.

use super::{containers_where, wl_finding};
use crate::audit::Sink;
use crate::audit::workloads::{ContainerRef, Workload, containers};
use crate::catalog::CheckId;
use k8s_openapi::api::core::v1::SeccompProfile;

/// WL-008: containers without a RuntimeDefault or Localhost seccomp profile.
pub(super) fn no_seccomp_profile(w: &Workload, sink: &mut Sink) {
    let what = "has no RuntimeDefault or Localhost seccomp profile for containers";
    let f = containers_where(CheckId::Wl008, w, what, |c| {
        !matches!(
            seccomp_of(w, c).as_deref(),
            Some("RuntimeDefault" | "Localhost")
        )
    });
    sink.extend(f);
}

/// WL-009: containers with a writable root filesystem.
pub(super) fn writable_root_filesystem(w: &Workload, sink: &mut Sink) {
    let what = "has a writable root filesystem in containers";
    let f = containers_where(CheckId::Wl009, w, what, |c| {
        c.security_context.and_then(|s| s.read_only_root_filesystem) != Some(true)
    });
    sink.extend(f);
}

/// The effective seccomp profile type of a container: its own, else the pod's; the legacy
/// annotations (before 1.19 fields) count too.
pub fn seccomp_of(w: &Workload, c: &ContainerRef) -> Option<String> {
    let field = |p: Option<&SeccompProfile>| p.map(|p| p.type_.clone());
    if let Some(t) = field(c.security_context.and_then(|s| s.seccomp_profile.as_ref())) {
        return Some(t);
    }
    let ann = w.pod_meta.and_then(|m| m.annotations.as_ref());
    if let Some(a) = ann.and_then(|a| {
        a.get(&format!(
            "container.seccomp.security.alpha.kubernetes.io/{}",
            c.name
        ))
    }) {
        return Some(legacy_seccomp(a));
    }
    if let Some(t) = field(
        w.spec
            .security_context
            .as_ref()
            .and_then(|s| s.seccomp_profile.as_ref()),
    ) {
        return Some(t);
    }
    ann.and_then(|a| a.get("seccomp.security.alpha.kubernetes.io/pod"))
        .map(|a| legacy_seccomp(a))
}

pub(super) fn legacy_seccomp(v: &str) -> String {
    match v {
        "runtime/default" | "docker/default" => "RuntimeDefault".into(),
        "unconfined" => "Unconfined".into(),
        v if v.starts_with("localhost/") => "Localhost".into(),
        other => other.to_string(),
    }
}

/// PSS baseline's safe sysctls.
const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

pub(super) fn escape_hatches(w: &Workload, sink: &mut Sink) {
    let mut evidence = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    let pod_sc = w.spec.security_context.as_ref();
    if pod_sc
        .and_then(|s| s.seccomp_profile.as_ref())
        .is_some_and(|p| p.type_ == "Unconfined")
    {
        evidence.push("spec.securityContext.seccompProfile.type: Unconfined".to_string());
    }
    if pod_sc
        .and_then(|s| s.app_armor_profile.as_ref())
        .is_some_and(|p| p.type_ == "Unconfined")
    {
        evidence.push("spec.securityContext.appArmorProfile.type: Unconfined".to_string());
    }
    let ann = w.pod_meta.and_then(|m| m.annotations.as_ref());
    if ann
        .and_then(|a| a.get("seccomp.security.alpha.kubernetes.io/pod"))
        .is_some_and(|v| v == "unconfined")
    {
        evidence
            .push("annotation seccomp.security.alpha.kubernetes.io/pod: unconfined".to_string());
    }
    for sysctl in pod_sc
        .and_then(|s| s.sysctls.as_ref())
        .into_iter()
        .flatten()
    {
        if !SAFE_SYSCTLS.contains(&sysctl.name.as_str()) {
            evidence.push(format!(
                "sysctl {}={} is not in the safe set",
                sysctl.name, sysctl.value
            ));
        }
    }
    for c in containers(w.spec) {
        let before = evidence.len();
        let sc = c.security_context;
        if sc
            .and_then(|s| s.seccomp_profile.as_ref())
            .is_some_and(|p| p.type_ == "Unconfined")
        {
            evidence.push(format!("{}: seccompProfile.type: Unconfined", c.name));
        }
        if sc
            .and_then(|s| s.app_armor_profile.as_ref())
            .is_some_and(|p| p.type_ == "Unconfined")
        {
            evidence.push(format!("{}: appArmorProfile.type: Unconfined", c.name));
        }
        if sc.and_then(|s| s.proc_mount.as_deref()) == Some("Unmasked") {
            evidence.push(format!("{}: procMount: Unmasked", c.name));
        }
        for (key, label) in [
            (
                format!("container.apparmor.security.beta.kubernetes.io/{}", c.name),
                "AppArmor",
            ),
            (
                format!("container.seccomp.security.alpha.kubernetes.io/{}", c.name),
                "seccomp",
            ),
        ] {
            if ann
                .and_then(|a| a.get(&key))
                .is_some_and(|v| v == "unconfined")
            {
                evidence.push(format!("{}: {label} annotation unconfined", c.name));
            }
        }
        if evidence.len() > before {
            names.push(c.name);
        }
    }
    if !evidence.is_empty() {
        sink.push(
            wl_finding(
                CheckId::Wl012,
                w,
                &names,
                "disables a baseline security control",
            )
            .evidence(evidence),
        );
    }
}
