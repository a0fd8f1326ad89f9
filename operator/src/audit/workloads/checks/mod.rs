//! WL-001…WL-013: workload hardening, one finding per (check, workload) naming the
//! containers concerned. Control-plane Pods are exempt (they are audited by their flags).
//!
//! One file per family: [`privilege`] (WL-001, 004, 006, 007), [`host`] (WL-002, 003, 011),
//! [`identity`] (WL-005, 010), [`confinement`] (WL-008, 009, 012), [`namespaces`] (WL-013).
//! Remediation text comes from the catalog only; a finding adds the command that edits its
//! workload.

mod confinement;
mod host;
mod identity;
mod namespaces;
mod privilege;

pub use confinement::seccomp_of;
pub use host::{host_path_severity, normalize_path};
pub use identity::{PowerfulAccounts, root_reason};
pub use namespaces::{SYSTEM_NAMESPACES, namespaces_without_pod_security};

use super::{ContainerRef, Workload, containers};
use crate::audit::{Ctx, Finding, Sink, bounds};
use crate::catalog::CheckId;
use crate::snapshot::ObjectKind;

/// A finding about a workload, naming its containers. Its remediation is the catalog's, with
/// the command that edits this workload.
fn wl_finding(check: CheckId, w: &Workload, containers: &[&str], what: &str) -> Finding {
    let mut message = format!("{w} {what}");
    if !containers.is_empty() {
        message.push_str(": ");
        let room = bounds::MAX_MESSAGE.saturating_sub(message.len());
        message.push_str(&bounds::join_names(containers, ", ", room));
    }
    Finding::new(check, w.object_ref(), message)
        .container(containers)
        .clause(&format!(" ({})", w.edit_command()))
}

/// A finding of `check` on `w` naming the containers for which `test` holds; `None` when it
/// holds for none.
fn containers_where<'a>(
    check: CheckId,
    w: &Workload<'a>,
    what: &str,
    mut test: impl FnMut(&ContainerRef<'a>) -> bool,
) -> Option<Finding> {
    let names: Vec<&str> = containers(w.spec)
        .filter(|c| test(c))
        .map(|c| c.name)
        .collect();
    (!names.is_empty()).then(|| wl_finding(check, w, &names, what))
}

/// The kinds that carry pod specs, and the Namespaces WL-013 reads.
const WORKLOAD_INPUTS: [ObjectKind; 9] = [
    ObjectKind::Pod,
    ObjectKind::Deployment,
    ObjectKind::StatefulSet,
    ObjectKind::DaemonSet,
    ObjectKind::ReplicaSet,
    ObjectKind::ReplicationController,
    ObjectKind::Job,
    ObjectKind::CronJob,
    ObjectKind::Namespace,
];

/// What WL-010 reads besides the workloads: the RBAC objects that make an account powerful.
const RBAC_INPUTS: [ObjectKind; 4] = [
    ObjectKind::Role,
    ObjectKind::ClusterRole,
    ObjectKind::RoleBinding,
    ObjectKind::ClusterRoleBinding,
];

/// Every workload check over every workload of `ctx`.
pub fn audit(ctx: &Ctx, powerful: &PowerfulAccounts, sink: &mut Sink) {
    unreadable_inputs(ctx, sink);
    for w in &ctx.workloads {
        audit_workload(ctx, w, powerful, sink);
    }
    namespace_checks(ctx, None, sink);
}

/// What the workload checks cannot assess because a kind they read is missing.
pub fn unreadable_inputs(ctx: &Ctx, sink: &mut Sink) {
    if crate::catalog::CHECKS
        .iter()
        .any(|c| c.category == crate::catalog::Category::Workload && ctx.enabled(c.id))
    {
        for kind in WORKLOAD_INPUTS {
            // A manifest directory without bare Pods is complete for the workload checks: its
            // controllers are audited through their templates.
            if kind == ObjectKind::Pod && ctx.snapshot.is_absent(kind) {
                continue;
            }
            if let Some(reason) = ctx.snapshot.unavailable(kind) {
                let reason = format!("cannot read {}: {reason}", kind.plural());
                let category = crate::catalog::Category::Workload;
                match kind {
                    // Namespaces only matter to the namespace check.
                    ObjectKind::Namespace => {
                        sink.not_assessed_checks(category, reason, &[CheckId::Wl013])
                    }
                    _ => sink.not_assessed(category, reason),
                }
            }
        }
        // WL-010 judges ServiceAccounts by their RBAC power.
        for kind in RBAC_INPUTS {
            if let Some(reason) = ctx.snapshot.unavailable(kind) {
                sink.not_assessed_checks(
                    crate::catalog::Category::Workload,
                    format!("cannot read {}: {reason}", kind.plural()),
                    &[CheckId::Wl010],
                );
            }
        }
    }
}

/// WL-001…WL-012 on one workload. What it reads besides `w` itself: the policy's enabled
/// checks, whether `w` is a control-plane Pod (a fact of the Pod), the ServiceAccounts
/// (automount), `powerful` and inspected images. The incremental audit reuses its result while
/// those are unchanged ([`crate::audit::incremental`]).
pub fn audit_workload(ctx: &Ctx, w: &Workload, powerful: &PowerfulAccounts, sink: &mut Sink) {
    if ctx.is_control_plane(w) {
        return;
    }
    let e = |id| ctx.enabled(id);
    if e(CheckId::Wl001) {
        privilege::privileged(w, sink);
    }
    if e(CheckId::Wl002) {
        host::host_namespaces(w, sink);
    }
    if e(CheckId::Wl003) {
        host::host_paths(w, sink);
    }
    if e(CheckId::Wl004) {
        privilege::capabilities_added(w, sink);
    }
    if e(CheckId::Wl005) {
        identity::runs_as_root(ctx, w, sink);
    }
    if e(CheckId::Wl006) {
        privilege::privilege_escalation(w, sink);
    }
    if e(CheckId::Wl007) {
        privilege::capabilities_not_dropped(w, sink);
    }
    if e(CheckId::Wl008) {
        confinement::no_seccomp_profile(w, sink);
    }
    if e(CheckId::Wl009) {
        confinement::writable_root_filesystem(w, sink);
    }
    if e(CheckId::Wl010) {
        identity::powerful_token(ctx, w, powerful, sink);
    }
    if e(CheckId::Wl011) {
        host::host_ports(w, sink);
    }
    if e(CheckId::Wl012) {
        confinement::escape_hatches(w, sink);
    }
}

/// WL-013, namespaces without Pod Security enforcement, with its findings by Namespace for
/// the next audit; reused for the Namespaces of `then` (a snapshot still held) that are the
/// same.
pub fn namespace_checks(
    ctx: &Ctx,
    then: Option<(
        &crate::snapshot::Snapshot,
        &[Option<std::sync::Arc<crate::audit::Finding>>],
    )>,
    sink: &mut Sink,
) -> Vec<Option<std::sync::Arc<crate::audit::Finding>>> {
    if ctx.enabled(CheckId::Wl013) {
        namespaces::unenforced_namespaces(ctx, then, sink)
    } else {
        Vec::new()
    }
}
