//! Roles by name, with aggregated ClusterRoles resolved from their selectors (whether or not
//! the snapshot holds their aggregated rules), and capability summaries cached per role.

use super::rules::Capabilities;
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, OnceLock};

/// Kubernetes' bootstrap ClusterRoles, for snapshots that lack them.
static BOOTSTRAP_CLUSTER_ROLES: LazyLock<Vec<Arc<ClusterRole>>> = LazyLock::new(|| {
    let mut snapshot = crate::snapshot::Snapshot::default();
    let mut stats = crate::snapshot::LoadStats::default();
    crate::snapshot::load_str(
        std::path::Path::new("bootstrap-clusterroles.yaml"),
        include_str!("bootstrap-clusterroles.yaml"),
        &mut snapshot,
        &mut stats,
    )
    .expect("embedded bootstrap ClusterRoles parse");
    snapshot.cluster_roles
});

pub const BOOTSTRAP_LABEL: &str = "kubernetes.io/bootstrapping";
pub const BOOTSTRAP_VALUE: &str = "rbac-defaults";

pub fn is_builtin(labels: Option<&BTreeMap<String, String>>) -> bool {
    labels
        .and_then(|l| l.get(BOOTSTRAP_LABEL))
        .is_some_and(|v| v == BOOTSTRAP_VALUE)
}

/// ClusterRoles the API server creates (and re-creates if deleted) at start: a binding to
/// them never dangles, even when a snapshot lacks them.
pub fn is_bootstrap_cluster_role(name: &str) -> bool {
    matches!(name, "cluster-admin" | "admin" | "edit" | "view") || name.starts_with("system:")
}

/// A role's summaries: through a ClusterRoleBinding (everything) and through a RoleBinding
/// (namespaced resources only).
#[derive(Debug, Default)]
pub struct RoleCaps {
    pub cluster: Capabilities,
    pub namespaced: Capabilities,
}

/// The role a binding refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RoleKey<'a> {
    Role { namespace: &'a str, name: &'a str },
    ClusterRole(&'a str),
}

pub struct RoleIndex<'a> {
    roles: HashMap<(&'a str, &'a str), &'a Role>,
    cluster_roles: HashMap<&'a str, &'a ClusterRole>,
    /// Effective rules (aggregation resolved) and their summaries, computed when first asked
    /// for: an audit after a binding change asks only for the roles of the bindings it
    /// evaluates, and no audit asks for a role nothing binds.
    entries: HashMap<RoleKey<'a>, (Cow<'a, [PolicyRule]>, OnceLock<RoleCaps>)>,
}

impl<'a> RoleIndex<'a> {
    pub fn new(roles: &'a [Arc<Role>], cluster_roles: &'a [Arc<ClusterRole>]) -> RoleIndex<'a> {
        let roles: HashMap<(&str, &str), &Role> = roles
            .iter()
            .map(|r| {
                let m = &r.metadata;
                (
                    (
                        m.namespace.as_deref().unwrap_or(""),
                        m.name.as_deref().unwrap_or(""),
                    ),
                    &**r,
                )
            })
            .collect();
        let mut by_name: HashMap<&str, &ClusterRole> = cluster_roles
            .iter()
            .map(|r| (r.metadata.name.as_deref().unwrap_or(""), &**r))
            .collect();
        // Bootstrap roles the snapshot lacks still exist in the cluster it describes.
        let mut all: Vec<&'a ClusterRole> = cluster_roles.iter().map(|r| &**r).collect();
        if by_name
            .values()
            .filter(|r| is_builtin(r.metadata.labels.as_ref()))
            .count()
            < BOOTSTRAP_CLUSTER_ROLES.len()
        {
            for r in BOOTSTRAP_CLUSTER_ROLES.iter() {
                let name = r.metadata.name.as_deref().unwrap_or("");
                if !by_name.contains_key(name) {
                    by_name.insert(name, &**r);
                    all.push(&**r);
                }
            }
        }
        let aggregated = resolve_aggregation(&all, &by_name);
        let mut entries = HashMap::with_capacity(aggregated.len() + roles.len());
        for (name, rules) in aggregated {
            entries.insert(RoleKey::ClusterRole(name), (rules, OnceLock::new()));
        }
        for (&(namespace, name), role) in &roles {
            let rules = role.rules.as_deref().unwrap_or_default();
            entries.insert(
                RoleKey::Role { namespace, name },
                (Cow::Borrowed(rules), OnceLock::new()),
            );
        }
        RoleIndex {
            roles,
            cluster_roles: by_name,
            entries,
        }
    }

    /// Whether the role exists in the snapshot.
    pub fn exists(&self, key: RoleKey) -> bool {
        match key {
            RoleKey::Role { namespace, name } => self.roles.contains_key(&(namespace, name)),
            RoleKey::ClusterRole(name) => self.cluster_roles.contains_key(name),
        }
    }

    pub fn is_builtin(&self, key: RoleKey) -> bool {
        match key {
            RoleKey::Role { namespace, name } => self
                .roles
                .get(&(namespace, name))
                .is_some_and(|r| is_builtin(r.metadata.labels.as_ref())),
            RoleKey::ClusterRole(name) => self
                .cluster_roles
                .get(name)
                .is_some_and(|r| is_builtin(r.metadata.labels.as_ref())),
        }
    }

    /// The capability summaries of a role; `None` when it does not exist.
    pub fn caps(&self, key: RoleKey<'a>) -> Option<&RoleCaps> {
        let (rules, caps) = self.entries.get(&key)?;
        Some(caps.get_or_init(|| match key {
            // A Role can only be bound in its namespace: both views are the namespaced one.
            RoleKey::Role { .. } => {
                let namespaced = Capabilities::of(rules, true);
                RoleCaps {
                    cluster: namespaced.clone(),
                    namespaced,
                }
            }
            RoleKey::ClusterRole(_) => RoleCaps {
                cluster: Capabilities::of(rules, false),
                namespaced: Capabilities::of(rules, true),
            },
        }))
    }

    /// The role's effective rules (aggregation resolved).
    pub fn rules(&self, key: RoleKey<'a>) -> &[PolicyRule] {
        self.entries
            .get(&key)
            .map(|(r, _)| &**r)
            .unwrap_or_default()
    }
}

/// Every ClusterRole's effective rules: its own, or, with an `aggregationRule`, the union of the
/// rules of every ClusterRole its selectors match (resolved recursively; a cycle contributes
/// nothing more).
fn resolve_aggregation<'a>(
    all: &[&'a ClusterRole],
    by_name: &HashMap<&'a str, &'a ClusterRole>,
) -> HashMap<&'a str, Cow<'a, [PolicyRule]>> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        InProgress,
        Done,
    }
    struct Resolver<'a, 'b> {
        all: &'b [&'a ClusterRole],
        by_name: &'b HashMap<&'a str, &'a ClusterRole>,
        state: HashMap<&'a str, State>,
        out: HashMap<&'a str, Cow<'a, [PolicyRule]>>,
    }
    impl<'a> Resolver<'a, '_> {
        fn resolve(&mut self, name: &'a str) {
            if self.state.contains_key(name) {
                return;
            }
            let Some(role) = self.by_name.get(name).copied() else {
                return;
            };
            self.state.insert(name, State::InProgress);
            let own: &'a [PolicyRule] = role.rules.as_deref().unwrap_or_default();
            let selectors = role
                .aggregation_rule
                .as_ref()
                .and_then(|a| a.cluster_role_selectors.as_ref());
            let Some(selectors) = selectors else {
                self.state.insert(name, State::Done);
                self.out.insert(name, Cow::Borrowed(own));
                return;
            };
            let mut rules = own.to_vec();
            {
                let members: Vec<&'a str> = self
                    .all
                    .iter()
                    .filter(|r| {
                        let n = r.metadata.name.as_deref().unwrap_or("");
                        n != name
                            && selectors.iter().any(|s| {
                                selector_matches(s, |k| {
                                    r.metadata.labels.as_ref()?.get(k).map(String::as_str)
                                })
                            })
                    })
                    .map(|r| r.metadata.name.as_deref().unwrap_or(""))
                    .collect();
                for m in members {
                    self.resolve(m);
                    if let Some(member_rules) = self.out.get(m) {
                        for r in member_rules.iter() {
                            if !rules.contains(r) {
                                rules.push(r.clone());
                            }
                        }
                    }
                }
            }
            self.state.insert(name, State::Done);
            self.out.insert(name, Cow::Owned(rules));
        }
    }
    let mut r = Resolver {
        all,
        by_name,
        state: HashMap::new(),
        out: HashMap::new(),
    };
    for role in all {
        r.resolve(role.metadata.name.as_deref().unwrap_or(""));
    }
    debug_assert!(r.state.values().all(|s| *s == State::Done));
    r.out
}

/// A `LabelSelector`'s semantics ([`crate::model::selector_matches`]) over labels found by
/// `get`.
pub fn selector_matches<'l>(sel: &LabelSelector, get: impl Fn(&str) -> Option<&'l str>) -> bool {
    let labels = sel.match_labels.iter().flatten();
    crate::model::selector_matches(
        labels.map(|(k, v)| (k.as_str(), v.as_str())),
        sel.match_expressions.as_deref().unwrap_or_default(),
        get,
    )
}
