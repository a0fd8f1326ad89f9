//! WL-013: namespaces without Pod Security enforcement.

use crate::audit::{Ctx, Finding, ObjectRef, Sink, bounds, identity};
use crate::catalog::CheckId;
use crate::snapshot::ObjectKind;
use k8s_openapi::api::core::v1::Namespace;
use std::sync::Arc;

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
            let (problem, level) = without_pod_security(ns)?;
            Some((name, problem, level))
        })
        .collect()
}

/// What is wrong with a Namespace's Pod Security enforcement, and the label's value; `None`
/// for the system Namespaces and those that enforce baseline or restricted.
fn without_pod_security(ns: &Namespace) -> Option<(&'static str, Option<&str>)> {
    if SYSTEM_NAMESPACES.contains(&ns.metadata.name.as_deref()?) {
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
        Some("privileged") => "enforces the privileged Pod Security level (anything is admitted)",
        Some(_) => return None,
    };
    Some((problem, level))
}

/// WL-013 of each Namespace of the snapshot, by place: kept for Namespaces that are the same
/// as at their place in `then` (a snapshot still held, whose results are `kept`), so that a
/// large cluster's 10,000 findings are not built, and sorted among the others, every audit.
pub(super) fn unenforced_namespaces(
    ctx: &Ctx,
    then: Option<(&crate::snapshot::Snapshot, &[Option<Arc<Finding>>])>,
    sink: &mut Sink,
) -> Vec<Option<Arc<Finding>>> {
    let then = then.map(|(s, kept)| (&s.namespaces[..], kept));
    let found = identity::by_place(&ctx.snapshot.namespaces, then, |ns| {
        let name = ns.metadata.name.as_deref()?;
        let (problem, level) = without_pod_security(ns)?;
        let f = Finding::new(
            CheckId::Wl013,
            ObjectRef::new(ObjectKind::Namespace, None, name),
            format!("Namespace {name} {problem}"),
        )
        .evidence([format!("{ENFORCE}: {}", level.unwrap_or("(unset)"))])
        .fill(&[("namespace", name)]);
        Some(bounds::bounded(f))
    });
    sink.findings.extend(found.iter().flatten().cloned());
    found
}
