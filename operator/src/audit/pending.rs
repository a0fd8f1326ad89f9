//! Checks the catalog lists but this build cannot evaluate yet. The host layer (issue 14)
//! landed catalog-first (its rows, categories and layers), with each check's logic following
//! on its own branch; until a check's logic is in, it must read as *not assessed*, never as a
//! silent pass in the score, the layer summary or a framework control ("silence must mean
//! safe"). Whoever implements one of these removes it from [`NOT_IMPLEMENTED`].

use super::{Ctx, Sink};
use crate::catalog::{self, Category};

/// Catalog checks with no audit logic in this build.
pub const NOT_IMPLEMENTED: &[&str] = &[
    "KUBELET-001",
    "KUBELET-002",
    "KUBELET-003",
    "KUBELET-004",
    "KUBELET-005",
    "KUBELET-006",
    "KUBELET-007",
    "KUBELET-008",
    "KUBELET-009",
    "KUBELET-010",
    "KUBELET-011",
    "KUBELET-012",
    "KUBELET-013",
    "KUBELET-014",
    "KUBELET-101",
    "KUBELET-102",
];

pub(crate) const REASON: &str = "not implemented in this version of kube-posture";

/// Report every enabled check of [`NOT_IMPLEMENTED`] as not assessed, one entry per category.
/// Host checks say how many nodes went unassessed (all of them).
pub fn audit(ctx: &Ctx, sink: &mut Sink) {
    for category in Category::ALL {
        let ids: Vec<&'static str> = NOT_IMPLEMENTED
            .iter()
            .filter_map(|id| catalog::lookup(id))
            .filter(|c| c.category == category && ctx.enabled(c.id))
            .map(|c| c.id)
            .collect();
        if ids.is_empty() {
            continue;
        }
        let reason = match category {
            Category::Node | Category::Kubelet => {
                let n = ctx.snapshot.nodes.len();
                format!(
                    "{REASON} (0 of {n} node{} assessed)",
                    if n == 1 { "" } else { "s" }
                )
            }
            _ => REASON.to_string(),
        };
        sink.not_assessed_checks(category, reason, &ids);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testutil::audit;

    #[test]
    fn every_pending_id_is_a_catalog_check() {
        for id in NOT_IMPLEMENTED {
            assert!(catalog::lookup(id).is_some(), "{id} is not in the catalog");
        }
    }

    #[test]
    fn pending_checks_are_not_assessed_with_node_counts() {
        let r = audit(
            "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n---\napiVersion: v1\nkind: Node\nmetadata: {name: n2}\n",
        );
        let kubelet = r
            .not_assessed
            .iter()
            .find(|n| n.category == "kubelet")
            .expect("kubelet checks not assessed");
        assert!(
            kubelet.reason.contains("0 of 2 nodes assessed"),
            "{kubelet:?}"
        );
        assert!(kubelet.checks.contains(&"KUBELET-001".to_string()));
        // Off by default: not named.
        assert!(!kubelet.checks.contains(&"KUBELET-101".to_string()));
        for id in ["KUBELET-001"] {
            assert!(!r.assessed.contains(&id), "{id} must not count as assessed");
        }
    }
}
