//! RBAC-001…RBAC-017: what each (binding, subject) pair grants.

use super::rules::{Capabilities, RuleIdx, describe_rule};
use super::{BindingRef, Grant, RbacAnalysis, RoleKey, Subject};
use crate::audit::{Finding, Sink, bounds};
use crate::catalog::CheckId;
use crate::snapshot::ObjectKind;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Rules shown per role; the rest are counted (`… and N more`, see audit::bounds). A role
/// of thousands of rules is not formatted thousands of times per subject.
const RULES_SHOWN: usize = bounds::MAX_EVIDENCE / 2;
/// RBAC-011 shows two roles and a line of its own within bounds::MAX_EVIDENCE.
const RULES_SHOWN_PER_HALF: usize = (bounds::MAX_EVIDENCE - 1) / 2 - 1;

fn role_label(key: RoleKey) -> String {
    match key {
        RoleKey::Role { namespace, name } => format!("role {namespace}/{name}"),
        RoleKey::ClusterRole(name) => format!("clusterrole {name}"),
    }
}

/// Evidence lines for the rules at `idx` of a role: `clusterrole x: get,list secrets [core]`.
fn evidence(a: &RbacAnalysis, key: RoleKey, idx: &[u32]) -> Vec<String> {
    evidence_at_most(a, key, idx, RULES_SHOWN)
}

fn evidence_at_most(a: &RbacAnalysis, key: RoleKey, idx: &[u32], max: usize) -> Vec<String> {
    let label = role_label(key);
    let rules = a.roles.rules(key);
    bounds::capped(
        idx.iter().filter_map(|&i| rules.get(i as usize)),
        max,
        |r| format!("{label}: {}", describe_rule(r)),
    )
}

/// A finding about one (binding, subject) pair.
fn grant_finding(check: CheckId, g: &Grant, what: &str, evidence: Vec<String>) -> Finding {
    let mut f = Finding::new(
        check,
        g.binding.object_ref(),
        format!(
            "{} {what} {} through {}",
            g.subject,
            g.binding.scope(),
            g.binding
        ),
    )
    .subject(g.subject.to_ref())
    .evidence(evidence)
    .then(&remediation(g));
    if g.binding.namespace.is_some() {
        f = f.reduced();
    }
    f
}

/// Built-in roles are restored by the API server, so the fix is always on the binding side.
fn remediation(g: &Grant) -> String {
    let builtin_role =
        matches!(g.role, RoleKey::ClusterRole(n) if super::roles::is_bootstrap_cluster_role(n));
    if builtin_role {
        format!(
            " {} is built in: bind a narrower role instead, or remove {} from the binding: {}",
            role_label(g.role),
            g.subject,
            g.binding.edit_command()
        )
    } else {
        format!(
            " Narrow {} or remove {} from the binding: {}",
            role_label(g.role),
            g.subject,
            g.binding.edit_command()
        )
    }
}

fn is_anonymous(s: Subject) -> bool {
    matches!(s, Subject::User(n) | Subject::Group(n) if n == "system:anonymous" || n == "system:unauthenticated")
}

fn is_everyone_group(s: Subject) -> bool {
    matches!(
        s,
        Subject::Group("system:authenticated" | "system:serviceaccounts")
    )
}

/// Which narrower checks a grant triggers (RBAC-004…RBAC-014 but 011, which combines grants).
fn narrow_checks(c: &Capabilities) -> [(CheckId, &'static str, &RuleIdx); 10] {
    [
        (CheckId::Rbac004, "has wildcard permissions", &c.wildcard),
        (CheckId::Rbac005, "can read Secrets", &c.secrets_read),
        (CheckId::Rbac006, "can exec or attach into pods", &c.exec),
        (
            CheckId::Rbac007,
            "can create or change pods and pod controllers",
            &c.workload_write,
        ),
        (
            CheckId::Rbac008,
            "can escalate, bind or impersonate",
            &c.escalate,
        ),
        (
            CheckId::Rbac009,
            "can reach the kubelet API (nodes/proxy)",
            &c.node_proxy,
        ),
        (
            CheckId::Rbac010,
            "can mint ServiceAccount tokens",
            &c.token_create,
        ),
        (
            CheckId::Rbac012,
            "can change admission webhooks",
            &c.webhooks,
        ),
        (
            CheckId::Rbac013,
            "can create or change PersistentVolumes",
            &c.pv_write,
        ),
        (
            CheckId::Rbac014,
            "can change RBAC roles and bindings",
            &c.rbac_write,
        ),
    ]
}

/// What RBAC-001…010, 012…015 and 017 (the checks of one grant at a time) and RBAC-016 found
/// for one binding: it depends only on the binding, the roles and the ServiceAccounts, so an
/// incremental audit keeps it while those are the same ([`super::keep`]).
#[derive(Clone, Debug, Default)]
pub struct BindingPart {
    /// Its grants' findings, in the order of its subjects.
    pub grants: Vec<Arc<Finding>>,
    /// RBAC-016: the role it refers to does not exist.
    pub dangling: Option<Arc<Finding>>,
}

/// How [`binding_checks`] gets each binding's part: a full audit computes it, an incremental
/// one may return the part it kept for the same binding object.
pub trait KeepBindings {
    /// The part of binding `i` of the analysis (`a.bindings[i]`, whose object is at `address`).
    fn binding(&mut self, address: usize, compute: &dyn Fn() -> BindingPart) -> BindingPart;
}

/// RBAC-001…017 but RBAC-030. Findings come in the order of a full audit whatever was kept:
/// every binding's grant findings in binding order, RBAC-011, then RBAC-016.
pub fn binding_checks(a: &RbacAnalysis, keep: &mut dyn KeepBindings, sink: &mut Sink) {
    let roles_known = !a
        .missing
        .iter()
        .any(|(k, _)| matches!(k, ObjectKind::Role | ObjectKind::ClusterRole));
    let sas_known = !a
        .missing
        .iter()
        .any(|(k, _)| *k == ObjectKind::ServiceAccount);
    let parts: Vec<BindingPart> = (0..a.bindings.len())
        .map(|i| {
            keep.binding(a.binding_objects[i].0, &|| {
                binding_part(a, i, roles_known, sas_known)
            })
        })
        .collect();
    for p in &parts {
        sink.findings.extend(p.grants.iter().cloned());
    }
    csr_checks(a, sink);
    for p in parts {
        sink.findings.extend(p.dangling);
    }
}

/// One binding's [`BindingPart`].
fn binding_part(a: &RbacAnalysis, i: usize, roles_known: bool, sas_known: bool) -> BindingPart {
    let mut grants = Vec::new();
    for g in &a.grants[a.binding_objects[i].1.clone()] {
        grant_checks(a, g, sas_known, &mut |f| grants.push(bounds::bounded(f)));
    }
    let (binding, role) = a.bindings[i];
    let bootstrap =
        matches!(role, RoleKey::ClusterRole(n) if super::roles::is_bootstrap_cluster_role(n));
    let dangling = (roles_known && !binding.builtin && !bootstrap && !a.roles.exists(role))
        .then(|| bounds::bounded(dangling(binding, role)));
    BindingPart { grants, dangling }
}

/// The checks of one grant: RBAC-017, 001, 002, 003, 004…014 but 011, 015.
fn grant_checks(a: &RbacAnalysis, g: &Grant, sas_known: bool, push: &mut dyn FnMut(Finding)) {
    if let Subject::ServiceAccount { namespace, name } = g.subject
        && sas_known
        && !g.binding.builtin
        && !a.service_account_exists(namespace, name)
    {
        push(missing_sa(g, namespace, name));
    }
    let bound_to_cluster_admin = g.role == RoleKey::ClusterRole("cluster-admin");
    let Some(caps) = a.caps(g) else {
        if bound_to_cluster_admin && !g.binding.builtin {
            push(admin_finding(
                g,
                vec!["roleRef clusterrole cluster-admin".to_string()],
            ));
        }
        return;
    };
    let is_admin = bound_to_cluster_admin || !caps.cluster_admin.is_empty();
    if is_anonymous(g.subject) && (is_admin || !caps.beyond_public.is_empty()) {
        push(
            grant_finding(
                CheckId::Rbac002,
                g,
                "(anyone who can reach the API server) is granted permissions",
                evidence(a, g.role, &caps.beyond_public),
            )
            .fill(&[
                ("subject", &g.subject.to_string()),
                ("binding", &g.binding.to_string()),
                ("edit", &g.binding.edit_command()),
            ]),
        );
    }
    if g.binding.builtin {
        return;
    }
    if is_admin {
        let ev = if caps.cluster_admin.is_empty() {
            vec!["roleRef clusterrole cluster-admin".to_string()]
        } else {
            evidence(a, g.role, &caps.cluster_admin)
        };
        push(admin_finding(g, ev));
    }
    if is_everyone_group(g.subject) && !caps.any_resource.is_empty() {
        push(grant_finding(
            CheckId::Rbac003,
            g,
            "(every authenticated user or every ServiceAccount) is granted permissions on resources",
            evidence(a, g.role, &caps.any_resource),
        ));
    }
    if !is_admin {
        for (check, what, rules) in narrow_checks(caps) {
            if !rules.is_empty() {
                push(grant_finding(check, g, what, evidence(a, g.role, rules)));
            }
        }
    }
    if let Subject::ServiceAccount {
        namespace,
        name: "default",
    } = g.subject
        && (is_admin || !caps.any.is_empty())
    {
        push(
            grant_finding(
                CheckId::Rbac015,
                g,
                "(used by every pod of the namespace that names no ServiceAccount) is granted permissions",
                evidence(a, g.role, &caps.any),
            )
            .fill(&[("namespace", namespace), ("edit", &g.binding.edit_command())]),
        );
    }
}

/// RBAC-011 combines cluster-wide grants per subject: approval updates and signer approval
/// (the approval half possibly from a built-in binding). Evaluated whole on every RBAC audit:
/// it reads only ClusterRoleBindings' grants.
fn csr_checks(a: &RbacAnalysis, sink: &mut Sink) {
    let cluster_wide = a.grants.iter().filter(|g| g.binding.namespace.is_none());
    let mut csr: BTreeMap<Subject, (Vec<&Grant>, Vec<&Grant>)> = BTreeMap::new();
    for g in cluster_wide.clone().filter(|g| !g.binding.builtin) {
        let Some(caps) = a.caps(g) else { continue };
        let is_admin =
            g.role == RoleKey::ClusterRole("cluster-admin") || !caps.cluster_admin.is_empty();
        if is_admin || (caps.csr_approval.is_empty() && caps.signers_approve.is_empty()) {
            continue;
        }
        let entry = csr.entry(g.subject).or_default();
        if !caps.csr_approval.is_empty() {
            entry.0.push(g);
        }
        if !caps.signers_approve.is_empty() {
            entry.1.push(g);
        }
    }
    if csr.is_empty() {
        return;
    }
    for g in cluster_wide.filter(|g| g.binding.builtin) {
        if let Some(caps) = a.caps(g)
            && !caps.csr_approval.is_empty()
            && let Some(entry) = csr.get_mut(&g.subject)
        {
            entry.0.push(g);
        }
    }
    for (_, (approvals, signers)) in csr {
        let Some(first_approval) = approvals.first() else {
            continue;
        };
        for g in signers.iter().filter(|g| !g.binding.builtin) {
            let caps = a.caps(g).expect("grant with capabilities");
            let approval_caps = a.caps(first_approval).expect("grant with capabilities");
            let mut ev = evidence_at_most(a, g.role, &caps.signers_approve, RULES_SHOWN_PER_HALF);
            ev.extend(evidence_at_most(
                a,
                first_approval.role,
                &approval_caps.csr_approval,
                RULES_SHOWN_PER_HALF,
            ));
            sink.push(
                grant_finding(
                    CheckId::Rbac011,
                    g,
                    "can approve certificate signing requests",
                    ev,
                )
                .evidence([format!(
                    "approval update granted through {}",
                    first_approval.binding
                )]),
            );
        }
    }
}

fn admin_finding(g: &Grant, evidence: Vec<String>) -> Finding {
    grant_finding(CheckId::Rbac001, g, "has cluster-admin power", evidence)
}

fn dangling(binding: BindingRef, role: RoleKey) -> Finding {
    let (kind, name) = match role {
        RoleKey::Role { name, .. } => ("Role", name),
        RoleKey::ClusterRole(name) => ("ClusterRole", name),
    };
    Finding::new(
        CheckId::Rbac016,
        binding.object_ref(),
        format!("{binding} refers to {kind} {name}, which does not exist"),
    )
    .evidence([format!("roleRef: {kind} {name}")])
    .fill(&[
        (
            "delete",
            &match binding.namespace {
                None => format!("kubectl delete clusterrolebinding {}", binding.name),
                Some(ns) => format!("kubectl delete rolebinding {} -n {ns}", binding.name),
            },
        ),
        ("kind", kind),
    ])
}

fn missing_sa(g: &Grant, namespace: &str, name: &str) -> Finding {
    Finding::new(
        CheckId::Rbac017,
        g.binding.object_ref(),
        format!(
            "{} names ServiceAccount {namespace}/{name}, which does not exist: whoever creates it inherits the binding",
            g.binding
        ),
    )
    .subject(g.subject.to_ref())
    .evidence([format!("subject: ServiceAccount {namespace}/{name}")])
    .fill(&[("edit", &g.binding.edit_command())])
}
