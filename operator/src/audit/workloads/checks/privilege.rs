//! Privileges: WL-001 privileged, WL-004 added capabilities, WL-006 privilege escalation,
//! WL-007 capabilities not dropped.

use super::{containers_where, wl_finding};
use crate::audit::Sink;
use crate::audit::workloads::{Workload, containers};
use crate::catalog::CheckId;

/// WL-001: privileged containers.
pub(super) fn privileged(w: &Workload, sink: &mut Sink) {
    let f = containers_where(CheckId::Wl001, w, "runs privileged containers", |c| {
        c.security_context.and_then(|s| s.privileged) == Some(true)
    });
    sink.extend(f);
}

/// PSS baseline's allowed added capabilities.
const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

pub(super) fn capabilities_added(w: &Workload, sink: &mut Sink) {
    let mut names = Vec::new();
    let mut evidence = Vec::new();
    for c in containers(w.spec) {
        let added = c
            .security_context
            .and_then(|s| s.capabilities.as_ref())
            .and_then(|caps| caps.add.as_ref());
        let bad: Vec<&String> = added
            .into_iter()
            .flatten()
            .filter(|cap| {
                let upper = cap.to_ascii_uppercase();
                let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
                !BASELINE_CAPABILITIES.contains(&bare)
            })
            .collect();
        if !bad.is_empty() {
            names.push(c.name);
            evidence.push(format!(
                "{}: capabilities.add {}",
                c.name,
                bad.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    if !names.is_empty() {
        sink.push(
            wl_finding(
                CheckId::Wl004,
                w,
                &names,
                "adds dangerous capabilities to containers",
            )
            .evidence(evidence),
        );
    }
}

/// WL-006: containers that may gain privileges (allowPrivilegeEscalation not false).
pub(super) fn privilege_escalation(w: &Workload, sink: &mut Sink) {
    let what = "allows privilege escalation in containers";
    let f = containers_where(CheckId::Wl006, w, what, |c| {
        c.security_context
            .and_then(|s| s.allow_privilege_escalation)
            != Some(false)
    });
    sink.extend(f);
}

/// WL-007: containers that do not drop ALL capabilities.
pub(super) fn capabilities_not_dropped(w: &Workload, sink: &mut Sink) {
    let what = "does not drop all capabilities in containers";
    let f = containers_where(CheckId::Wl007, w, what, |c| {
        !c.security_context
            .and_then(|s| s.capabilities.as_ref())
            .and_then(|caps| caps.drop.as_ref())
            .is_some_and(|d| d.iter().any(|x| x.eq_ignore_ascii_case("ALL")))
    });
    sink.extend(f);
}
