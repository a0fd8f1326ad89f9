//! WL-013: namespaces without Pod Security enforcement.

use crate::audit::{Ctx, Finding, ObjectRef, Sink};
use crate::catalog::CheckId;
use crate::snapshot::ObjectKind;

pub const SYSTEM_NAMESPACES: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];
const ENFORCE: &str = "pod-security.kubernetes.io/enforce";

/// The Namespaces WL-013 reports (the system ones aside), with what is wrong and the label's
/// value: the paths across layers (XL-003) read them whatever the policy enables.
pub fn namespaces_without_pod_security(
    s: &crate::snapshot::Snapshot,
) -> Vec<(&str, &'static str, Option<&str>)> {
    s.namespaces
        .iter()
        .filter_map(|ns| {
            let name = ns.metadata.name.as_deref()?;
            if SYSTEM_NAMESPACES.contains(&name) {
                return None;
            }
            let level = ns
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(ENFORCE))
                .map(String::as_str);
            let problem = match level {
                None => "has no pod-security.kubernetes.io/enforce label",
                Some("privileged") => {
                    "enforces the privileged Pod Security level (anything is admitted)"
                }
                Some(_) => return None,
            };
            Some((name, problem, level))
        })
        .collect()
}

pub(super) fn unenforced_namespaces(ctx: &Ctx, sink: &mut Sink) {
    for (name, problem, level) in namespaces_without_pod_security(ctx.snapshot) {
        sink.push(
            Finding::new(
                CheckId::Wl013,
                ObjectRef::new(ObjectKind::Namespace, None, name),
                format!("Namespace {name} {problem}"),
            )
            .evidence([format!("{ENFORCE}: {}", level.unwrap_or("(unset)"))])
            .fill(&[("namespace", name)]),
        );
    }
}
