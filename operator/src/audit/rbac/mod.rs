//! RBAC analysis (category `rbac`): who is granted what, through which binding, and the checks
//! RBAC-001…RBAC-017 over those grants; RBAC-030 follows escalation paths across them. The
//! entry point is [`keep::audit`], which reuses what an earlier audit computed where a
//! change allows it (none, for a full audit).

mod checks;
mod escalation;
pub mod keep;
mod roles;
pub mod rules;

pub use roles::{RoleIndex, RoleKey, is_builtin, selector_matches};

use crate::audit::{ObjectRef, identity};
use crate::outcome::SubjectRef;
use crate::snapshot::{ObjectKind, Snapshot};
use std::collections::HashSet;
use std::fmt;

/// A RoleBinding or ClusterRoleBinding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BindingRef<'a> {
    /// `None` for a ClusterRoleBinding.
    pub namespace: Option<&'a str>,
    pub name: &'a str,
    pub builtin: bool,
}

impl BindingRef<'_> {
    pub fn kind(&self) -> ObjectKind {
        if self.namespace.is_some() {
            ObjectKind::RoleBinding
        } else {
            ObjectKind::ClusterRoleBinding
        }
    }

    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef::new(self.kind(), self.namespace, self.name)
    }

    /// Where the grant applies: "cluster-wide" or "in namespace x".
    pub fn scope(&self) -> String {
        match self.namespace {
            None => "cluster-wide".to_string(),
            Some(ns) => format!("in namespace {ns}"),
        }
    }

    /// The kubectl command to edit it.
    pub fn edit_command(&self) -> String {
        match self.namespace {
            None => format!("kubectl edit clusterrolebinding {}", self.name),
            Some(ns) => format!("kubectl edit rolebinding {} -n {ns}", self.name),
        }
    }
}

impl fmt::Display for BindingRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.namespace {
            None => write!(f, "ClusterRoleBinding {}", self.name),
            Some(ns) => write!(f, "RoleBinding {ns}/{}", self.name),
        }
    }
}

/// An RBAC subject, with a ServiceAccount's namespace resolved (a RoleBinding's own namespace
/// when the subject leaves it empty, as the authorizer does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject<'a> {
    User(&'a str),
    Group(&'a str),
    ServiceAccount { namespace: &'a str, name: &'a str },
}

impl Subject<'_> {
    pub fn to_ref(self) -> SubjectRef {
        match self {
            Subject::User(n) => SubjectRef {
                kind: "User".into(),
                namespace: None,
                name: n.into(),
            },
            Subject::Group(n) => SubjectRef {
                kind: "Group".into(),
                namespace: None,
                name: n.into(),
            },
            Subject::ServiceAccount { namespace, name } => SubjectRef {
                kind: "ServiceAccount".into(),
                namespace: Some(namespace.into()),
                name: name.into(),
            },
        }
    }

    /// The subject as a finding target (RBAC-030).
    pub fn object_ref(self) -> ObjectRef {
        match self {
            Subject::ServiceAccount { namespace, name } => {
                ObjectRef::new(ObjectKind::ServiceAccount, Some(namespace), name)
            }
            Subject::User(n) => ObjectRef::other("rbac.authorization.k8s.io/v1", "User", None, n),
            Subject::Group(n) => ObjectRef::other("rbac.authorization.k8s.io/v1", "Group", None, n),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Subject::User(_) => "User",
            Subject::Group(_) => "Group",
            Subject::ServiceAccount { .. } => "ServiceAccount",
        }
    }
}

impl fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::User(n) => write!(f, "User {n}"),
            Subject::Group(n) => write!(f, "Group {n}"),
            Subject::ServiceAccount { namespace, name } => {
                write!(f, "ServiceAccount {namespace}/{name}")
            }
        }
    }
}

/// One subject of one binding.
#[derive(Clone, Copy, Debug)]
pub struct Grant<'a> {
    pub binding: BindingRef<'a>,
    pub subject: Subject<'a>,
    pub role: RoleKey<'a>,
}

/// Everything the RBAC checks read, indexed once per audit.
pub struct RbacAnalysis<'a> {
    pub roles: RoleIndex<'a>,
    pub grants: Vec<Grant<'a>>,
    /// Every binding, with or without subjects: ClusterRoleBindings, then RoleBindings, in
    /// the snapshot's order.
    pub bindings: Vec<(BindingRef<'a>, RoleKey<'a>)>,
    /// For each of `bindings`: the address of its object's metadata (an incremental audit's
    /// key, see [`keep`]) and its grants in `grants`.
    pub binding_objects: Vec<(usize, std::ops::Range<usize>)>,
    service_accounts: HashSet<(&'a str, &'a str)>,
    /// Kinds that could not be read, so checks that need them are not assessed.
    pub missing: Vec<(ObjectKind, &'a str)>,
}

impl<'a> RbacAnalysis<'a> {
    /// Whether a ServiceAccount exists. Every namespace has `default`.
    pub fn service_account_exists(&self, namespace: &str, name: &str) -> bool {
        name == "default" || self.service_accounts.contains(&(namespace, name))
    }

    /// The capabilities a grant gives, through its binding's scope.
    pub fn caps(&self, g: &Grant<'a>) -> Option<&rules::Capabilities> {
        let caps = self.roles.caps(g.role)?;
        Some(if g.binding.namespace.is_some() {
            &caps.namespaced
        } else {
            &caps.cluster
        })
    }
}

/// Index roles, bindings and ServiceAccounts.
pub fn analyze(snapshot: &Snapshot) -> RbacAnalysis<'_> {
    let roles = RoleIndex::new(&snapshot.roles, &snapshot.cluster_roles);
    let mut grants =
        Vec::with_capacity(snapshot.role_bindings.len() + snapshot.cluster_role_bindings.len());
    let mut bindings = Vec::with_capacity(grants.capacity());
    let mut binding_objects = Vec::with_capacity(grants.capacity());
    for crb in &snapshot.cluster_role_bindings {
        let first = grants.len();
        let binding = BindingRef {
            namespace: None,
            name: crb.metadata.name.as_deref().unwrap_or(""),
            builtin: is_builtin(crb.metadata.labels.as_ref()),
        };
        let role = RoleKey::ClusterRole(&crb.role_ref.name);
        bindings.push((binding, role));
        for s in crb.subjects.iter().flatten() {
            if let Some(subject) = subject(s, None) {
                grants.push(Grant {
                    binding,
                    subject,
                    role,
                });
            }
        }
        binding_objects.push((identity::address(&crb.metadata), first..grants.len()));
    }
    for rb in &snapshot.role_bindings {
        let first = grants.len();
        let namespace = rb.metadata.namespace.as_deref().unwrap_or("default");
        let binding = BindingRef {
            namespace: Some(namespace),
            name: rb.metadata.name.as_deref().unwrap_or(""),
            builtin: is_builtin(rb.metadata.labels.as_ref()),
        };
        let role = if rb.role_ref.kind == "Role" {
            RoleKey::Role {
                namespace,
                name: &rb.role_ref.name,
            }
        } else {
            RoleKey::ClusterRole(&rb.role_ref.name)
        };
        bindings.push((binding, role));
        for s in rb.subjects.iter().flatten() {
            if let Some(subject) = subject(s, Some(namespace)) {
                grants.push(Grant {
                    binding,
                    subject,
                    role,
                });
            }
        }
        binding_objects.push((identity::address(&rb.metadata), first..grants.len()));
    }
    let service_accounts = snapshot
        .service_accounts
        .iter()
        .map(|sa| {
            (
                sa.metadata.namespace.as_deref().unwrap_or("default"),
                sa.metadata.name.as_deref().unwrap_or(""),
            )
        })
        .collect();
    let missing = [
        ObjectKind::Role,
        ObjectKind::ClusterRole,
        ObjectKind::RoleBinding,
        ObjectKind::ClusterRoleBinding,
        ObjectKind::ServiceAccount,
    ]
    .into_iter()
    .filter_map(|k| snapshot.unavailable(k).map(|r| (k, r)))
    .collect();
    RbacAnalysis {
        roles,
        grants,
        bindings,
        binding_objects,
        service_accounts,
        missing,
    }
}

fn subject<'a>(
    s: &'a k8s_openapi::api::rbac::v1::Subject,
    binding_ns: Option<&'a str>,
) -> Option<Subject<'a>> {
    match s.kind.as_str() {
        "User" => Some(Subject::User(&s.name)),
        "Group" => Some(Subject::Group(&s.name)),
        "ServiceAccount" => {
            let namespace = s
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .or(binding_ns)?;
            Some(Subject::ServiceAccount {
                namespace,
                name: &s.name,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
