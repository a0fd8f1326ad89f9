//! RBAC evaluated again after a binding change, reusing what the last audit computed (the
//! incremental engine's RBAC part, [`crate::audit::incremental`]).
//!
//! - **One binding's checks** (RBAC-001…010, 012…017) read the binding, the roles and the
//!   ServiceAccounts: while Roles, ClusterRoles and ServiceAccounts are the same objects, a
//!   binding object seen before keeps its findings; only added or changed bindings are
//!   evaluated. RBAC-011, which combines a subject's cluster-wide grants, is evaluated whole
//!   (it reads only ClusterRoleBindings).
//! - **Escalation paths** (RBAC-030) are a search backwards from the ServiceAccounts that hold
//!   cluster-admin power, over the edges of ServiceAccounts and of the groups every
//!   ServiceAccount is in. When the bindings added, removed or changed name only Users and
//!   other Groups, and Secrets, ServiceAccounts, Namespaces and roles are the same, that
//!   search's result is the same: the kept one is reused, and only the changed subjects are
//!   evaluated against it (a User given cluster-admin, say, loses its path). A change naming a
//!   ServiceAccount or a ServiceAccount group evaluates RBAC-030 whole.
//!
//! The result is a full audit's, in the same order (`incremental_equals_full`): the search
//! breaks ties by the order of grants, so the kept search is used only when the bindings
//! seen before are still in the same relative order (a watch store that reorders its objects
//! only costs a full evaluation).
//!
//! The caller drops what is kept whenever what could be read changes (unavailable kinds).

use super::checks::{self, BindingPart, KeepBindings};
use super::escalation;
use super::{Subject, analyze, subject};
use crate::audit::Sink;
use crate::audit::identity::{ByPlace, same, same_names};
use crate::catalog::Category;
use crate::snapshot::Snapshot;
use foldhash::HashMap;
use std::collections::BTreeSet;
use std::sync::Arc;

/// A [`Subject`] that outlives its snapshot, ordered as [`Subject`] is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OwnedSubject {
    User(String),
    Group(String),
    ServiceAccount { namespace: String, name: String },
}

impl OwnedSubject {
    pub fn new(s: Subject) -> OwnedSubject {
        match s {
            Subject::User(n) => OwnedSubject::User(n.to_string()),
            Subject::Group(n) => OwnedSubject::Group(n.to_string()),
            Subject::ServiceAccount { namespace, name } => OwnedSubject::ServiceAccount {
                namespace: namespace.to_string(),
                name: name.to_string(),
            },
        }
    }

    pub fn borrow(&self) -> Subject<'_> {
        match self {
            OwnedSubject::User(n) => Subject::User(n),
            OwnedSubject::Group(n) => Subject::Group(n),
            OwnedSubject::ServiceAccount { namespace, name } => {
                Subject::ServiceAccount { namespace, name }
            }
        }
    }

    /// Whether a grant to this subject can change which ServiceAccounts reach cluster-admin:
    /// a ServiceAccount's own grants, and those of the groups every ServiceAccount is in.
    fn moves_service_accounts(&self) -> bool {
        match self {
            OwnedSubject::ServiceAccount { .. } => true,
            OwnedSubject::Group(g) => {
                g == "system:serviceaccounts"
                    || g == "system:authenticated"
                    || g.starts_with("system:serviceaccounts:")
            }
            OwnedSubject::User(_) => false,
        }
    }
}

/// What an RBAC audit keeps for the next one.
#[derive(Debug, Default)]
pub struct Kept {
    /// By the address of the binding object's metadata, in the analysis's order of bindings.
    bindings: ByPlace<BindingPart>,
    escalation: Option<escalation::Kept>,
}

/// What one RBAC audit reused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reuse {
    pub bindings_kept: usize,
    pub bindings_evaluated: usize,
    /// RBAC-030's search reused (only the changed subjects evaluated).
    pub escalation_kept: bool,
}

struct KeepParts<'r> {
    old: ByPlace<BindingPart>,
    new: Option<ByPlace<BindingPart>>,
    reuse: &'r mut Reuse,
}

impl KeepBindings for KeepParts<'_> {
    fn binding(&mut self, address: usize, compute: &dyn Fn() -> BindingPart) -> BindingPart {
        let (part, kept) = self.old.take_next_or(address, self.new.as_mut(), compute);
        if kept {
            self.reuse.bindings_kept += 1;
        } else {
            self.reuse.bindings_evaluated += 1;
        }
        part
    }
}

/// Every RBAC check over `now` (RBAC-001…017, RBAC-030), reusing what an audit of `then` kept
/// (`prior`; none for a full audit). Returns what to keep for the next audit when `keep`.
pub fn audit(
    now: &Snapshot,
    prior: Option<(&Snapshot, Kept)>,
    keep: bool,
    sink: &mut Sink,
) -> (Option<Kept>, Reuse) {
    let a = analyze(now);
    for (kind, reason) in &a.missing {
        sink.not_assessed(
            Category::Rbac,
            format!("cannot read {}: {reason}", kind.plural()),
        );
    }
    let mut reuse = Reuse::default();
    let (then, mut kept) = match prior {
        Some((then, kept)) => (Some(then), kept),
        None => (None, Kept::default()),
    };
    let bindings_reusable = then.is_some_and(|then| {
        same(&now.roles, &then.roles)
            && same(&now.cluster_roles, &then.cluster_roles)
            && same(&now.service_accounts, &then.service_accounts)
    });
    let changed = then
        .filter(|then| {
            bindings_reusable
                && same(&now.secrets, &then.secrets)
                && same_names(&now.namespaces, &then.namespaces)
        })
        .and_then(|then| changed_subjects(then, now))
        .filter(|changed| !changed.iter().any(OwnedSubject::moves_service_accounts));
    let prior_escalation = match (&changed, kept.escalation.take()) {
        (Some(changed), Some(k)) => {
            reuse.escalation_kept = true;
            Some((k, changed))
        }
        _ => None,
    };
    let mut parts = KeepParts {
        old: if bindings_reusable {
            std::mem::take(&mut kept.bindings)
        } else {
            ByPlace::default()
        },
        new: keep.then(|| ByPlace::with_capacity(a.bindings.len())),
        reuse: &mut reuse,
    };
    // The two halves read the analysis only: the escalation search (two thirds of an audit's
    // RBAC time at M, 420 of 660 ms) runs on another core while the bindings are checked,
    // its findings added after theirs, as when they ran one after the other.
    let (new_bindings, escalation) = std::thread::scope(|scope| {
        let escalation = scope.spawn(|| {
            let mut part = Sink::default();
            let kept = escalation::audit(&a, now, prior_escalation, keep, &mut part);
            (kept, part)
        });
        checks::binding_checks(&a, &mut parts, sink);
        let (escalation, part) = escalation
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        sink.merge(part);
        (parts.new.take().unwrap_or_default(), escalation)
    });
    let kept = keep.then_some(Kept {
        bindings: new_bindings,
        escalation,
    });
    (kept, reuse)
}

/// The subjects of the bindings added, removed or changed from `then` to `now`; `None` when
/// the bindings both hold are not in the same relative order.
fn changed_subjects(then: &Snapshot, now: &Snapshot) -> Option<BTreeSet<OwnedSubject>> {
    let mut out = BTreeSet::new();
    changed(
        &then.cluster_role_bindings,
        &now.cluster_role_bindings,
        |crb, out| {
            for s in crb.subjects.iter().flatten() {
                out.extend(subject(s, None).map(OwnedSubject::new));
            }
        },
        &mut out,
    )?;
    changed(
        &then.role_bindings,
        &now.role_bindings,
        |rb, out| {
            let ns = rb.metadata.namespace.as_deref().unwrap_or("default");
            for s in rb.subjects.iter().flatten() {
                out.extend(subject(s, Some(ns)).map(OwnedSubject::new));
            }
        },
        &mut out,
    )?;
    Some(out)
}

/// Add the subjects (`subjects`) of the objects only one of `then` and `now` holds (by
/// pointer) to `out`; `None` when the objects both hold are not in the same relative order.
fn changed<T>(
    then: &[Arc<T>],
    now: &[Arc<T>],
    subjects: impl Fn(&T, &mut BTreeSet<OwnedSubject>),
    out: &mut BTreeSet<OwnedSubject>,
) -> Option<()> {
    let at: HashMap<*const T, usize> = then
        .iter()
        .enumerate()
        .map(|(i, o)| (Arc::as_ptr(o), i))
        .collect();
    let mut matched = vec![false; then.len()];
    let mut last: Option<usize> = None;
    for o in now {
        match at.get(&Arc::as_ptr(o)) {
            Some(&i) if !matched[i] => {
                if last.is_some_and(|l| l > i) {
                    return None;
                }
                last = Some(i);
                matched[i] = true;
            }
            _ => subjects(o, out),
        }
    }
    for (o, _) in then.iter().zip(&matched).filter(|(_, m)| !**m) {
        subjects(o, out);
    }
    Some(())
}
