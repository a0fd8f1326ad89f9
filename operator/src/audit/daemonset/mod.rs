//! DaemonSet coverage (category `daemonset`, DS-001…DS-004): every security agent the policy
//! requires (`spec.requiredDaemonSets`) runs, Running and Ready, on every eligible node; when
//! it does not, the finding says exactly what to change (the toleration to add, the selector
//! that excludes the node, the node condition to fix).

mod coverage;
mod pods;
mod scheduling;
#[cfg(test)]
mod tests;

use crate::audit::{Ctx, Finding, ObjectRef, Sink};
use crate::catalog::Category;
use crate::catalog::CheckId;
use crate::model::DaemonSet;
use crate::policy::RequiredAgent;
use crate::snapshot::ObjectKind;
use pods::{DsKey, PodIndex};
use std::collections::{HashMap, HashSet};

const CHECKS: [CheckId; 4] = [
    CheckId::Ds001,
    CheckId::Ds002,
    CheckId::Ds003,
    CheckId::Ds004,
];

pub fn audit(ctx: &Ctx, sink: &mut Sink) {
    let required = &ctx.policy.required_daemon_sets;
    if required.is_empty() || !CHECKS.iter().any(|c| ctx.enabled(*c)) {
        return;
    }
    let s = ctx.snapshot;
    let unreadable: Vec<String> = [ObjectKind::Node, ObjectKind::Pod, ObjectKind::DaemonSet]
        .into_iter()
        .filter_map(|k| {
            s.unavailable(k)
                .map(|why| format!("{}s could not be read ({why})", k.name()))
        })
        .collect();
    if !unreadable.is_empty() {
        sink.not_assessed(
            Category::Daemonset,
            format!(
                "required DaemonSets not assessed: {}",
                unreadable.join("; ")
            ),
        );
        return;
    }

    let daemon_sets: HashMap<DsKey, &DaemonSet> = s
        .daemon_sets
        .iter()
        .map(|d| {
            let key = (
                d.metadata.namespace.as_deref().unwrap_or("default"),
                d.metadata.name.as_deref().unwrap_or(""),
            );
            (key, d.as_ref())
        })
        .collect();
    // An input without Nodes or without any Pod (a partial snapshot) cannot show coverage:
    // reporting every node as uncovered, or none, would both be wrong.
    let coverage_visible = if s.nodes.is_empty() {
        sink.not_assessed(
            Category::Daemonset,
            "the input holds no Nodes: node coverage of required DaemonSets (DS-002…DS-004) not assessed",
        );
        false
    } else if s.pods.is_empty() {
        sink.not_assessed(
            Category::Daemonset,
            "the input holds no Pods: node coverage of required DaemonSets (DS-002…DS-004) not assessed",
        );
        false
    } else {
        true
    };
    let keys: HashSet<DsKey> = required
        .iter()
        .map(|r| (r.namespace.as_str(), r.name.as_str()))
        .collect();
    let index = if coverage_visible {
        PodIndex::new(&s.pods, &keys)
    } else {
        PodIndex::default()
    };

    for r in required {
        match daemon_sets.get(&(r.namespace.as_str(), r.name.as_str())) {
            None => sink.push(missing(r, &daemon_sets)),
            Some(ds) if coverage_visible => coverage::audit(ctx, r, ds, &index, sink),
            Some(_) => {}
        }
    }
}

/// DS-001, with the DaemonSets the namespace does hold (a renamed agent is a common cause).
fn missing(r: &RequiredAgent, daemon_sets: &HashMap<DsKey, &DaemonSet>) -> Finding {
    let mut here: Vec<&str> = daemon_sets
        .keys()
        .filter(|(ns, _)| *ns == r.namespace)
        .map(|(_, name)| *name)
        .collect();
    here.sort_unstable();
    let hint = if here.is_empty() {
        format!("namespace {} holds no DaemonSet", r.namespace)
    } else {
        format!(
            "namespace {} holds DaemonSets: {}",
            r.namespace,
            here.join(", ")
        )
    };
    Finding::new(
        CheckId::Ds001,
        ObjectRef::new(ObjectKind::DaemonSet, Some(&r.namespace), &r.name),
        format!(
            "Required DaemonSet {}/{} does not exist: no node{} runs this agent",
            r.namespace,
            r.name,
            coverage::scope_text(r)
        ),
    )
    .daemon_set(&r.namespace, &r.name)
    .evidence([hint])
    .fill(&[("name", &r.name), ("namespace", &r.namespace)])
}
