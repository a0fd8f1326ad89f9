//! RBAC rule matching, as Kubernetes' authorizer does it (`rbac/v1` helpers `VerbMatches`,
//! `APIGroupMatches`, `ResourceMatches`), and the capability summary of a role that the checks
//! read. Summaries are computed once per role and scope, not once per binding.

use k8s_openapi::api::rbac::v1::PolicyRule;
use std::collections::BTreeSet;

pub const DANGEROUS_VERBS: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];

/// Health and version URLs Kubernetes grants to everyone (system:public-info-viewer).
pub const PUBLIC_URLS: &[&str] = &["/healthz", "/livez", "/readyz", "/version", "/version/"];

/// Cluster-scoped resources (by group and resource): a RoleBinding cannot grant them.
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "nodes"),
    ("", "persistentvolumes"),
    ("", "namespaces"),
    ("", "users"),
    ("", "groups"),
    ("authentication.k8s.io", "userextras"),
    ("certificates.k8s.io", "certificatesigningrequests"),
    ("certificates.k8s.io", "signers"),
    (
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
    ),
    (
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
    ),
    ("rbac.authorization.k8s.io", "clusterroles"),
    ("rbac.authorization.k8s.io", "clusterrolebindings"),
];

fn is_cluster_scoped(group: &str, resource: &str) -> bool {
    let base = resource.split('/').next().unwrap_or(resource);
    CLUSTER_SCOPED.iter().any(|&(g, r)| g == group && r == base)
}

/// Which objects of a resource a grant covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Names {
    All,
    Only(BTreeSet<String>),
}

impl Names {
    pub fn contains(&self, name: &str) -> bool {
        match self {
            Names::All => true,
            Names::Only(n) => n.contains(name),
        }
    }

    fn union(&mut self, other: Names) {
        match (&mut *self, other) {
            (Names::All, _) => {}
            (_, Names::All) => *self = Names::All,
            (Names::Only(a), Names::Only(b)) => a.extend(b),
        }
    }
}

fn holds(list: &[String], value: &str) -> bool {
    list.iter().any(|v| v == "*" || v == value)
}

fn resource_matches(rule_resources: &[String], resource: &str) -> bool {
    let sub = resource.split_once('/').map(|(_, s)| s);
    rule_resources.iter().any(|r| {
        r == "*"
            || r == resource
            || sub.is_some_and(|s| r.len() == s.len() + 2 && r.starts_with("*/") && r.ends_with(s))
    })
}

/// Whether `rule` grants `verb` on `group`/`resource`, and for which names.
pub fn grants(rule: &PolicyRule, verb: &str, group: &str, resource: &str) -> Option<Names> {
    let groups = rule.api_groups.as_deref().unwrap_or_default();
    let resources = rule.resources.as_deref().unwrap_or_default();
    if !holds(&rule.verbs, verb) || !holds(groups, group) || !resource_matches(resources, resource)
    {
        return None;
    }
    match rule.resource_names.as_deref() {
        Some(names) if !names.is_empty() => Some(Names::Only(names.iter().cloned().collect())),
        _ => Some(Names::All),
    }
}

/// A rule as evidence: `get,list secrets [core]`, with resourceNames and URLs when present.
pub fn describe_rule(rule: &PolicyRule) -> String {
    let join = |v: Option<&Vec<String>>| v.map(|v| v.join(",")).unwrap_or_default();
    if let Some(urls) = rule.non_resource_urls.as_ref().filter(|u| !u.is_empty()) {
        return format!("{} {}", rule.verbs.join(","), urls.join(","));
    }
    let groups: Vec<&str> = rule
        .api_groups
        .iter()
        .flatten()
        .map(|g| if g.is_empty() { "core" } else { g.as_str() })
        .collect();
    let mut s = format!(
        "{} {} [{}]",
        rule.verbs.join(","),
        join(rule.resources.as_ref()),
        groups.join(",")
    );
    if let Some(names) = rule.resource_names.as_ref().filter(|n| !n.is_empty()) {
        s.push_str(&format!(" names={}", names.join(",")));
    }
    s
}

/// A question about a role: does any rule grant one of `verbs` on one of `targets`?
struct Query {
    verbs: &'static [&'static str],
    targets: &'static [(&'static str, &'static str)],
    /// Rules restricted by resourceNames count (RBAC-008, RBAC-010) or not.
    count_named: bool,
}

const WORKLOADS: &[(&str, &str)] = &[
    ("", "pods"),
    ("apps", "deployments"),
    ("apps", "daemonsets"),
    ("apps", "statefulsets"),
    ("apps", "replicasets"),
    ("", "replicationcontrollers"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
];

const Q_SECRETS: Query = Query {
    verbs: &["get", "list", "watch"],
    targets: &[("", "secrets")],
    count_named: false,
};
const Q_EXEC: Query = Query {
    verbs: &["create", "get"],
    targets: &[("", "pods/exec"), ("", "pods/attach")],
    count_named: false,
};
const Q_WORKLOAD_WRITE: Query = Query {
    verbs: DANGEROUS_VERBS,
    targets: WORKLOADS,
    count_named: false,
};
const Q_ESCALATE_BIND: Query = Query {
    verbs: &["escalate", "bind"],
    targets: &[
        ("rbac.authorization.k8s.io", "roles"),
        ("rbac.authorization.k8s.io", "clusterroles"),
    ],
    count_named: true,
};
const Q_IMPERSONATE: Query = Query {
    verbs: &["impersonate"],
    targets: &[
        ("", "users"),
        ("", "groups"),
        ("", "serviceaccounts"),
        ("authentication.k8s.io", "userextras"),
        ("authentication.k8s.io", "userextras/scopes"),
        ("authentication.k8s.io", "uids"),
    ],
    count_named: true,
};
const Q_NODE_PROXY: Query = Query {
    verbs: &["get", "create"],
    targets: &[("", "nodes/proxy")],
    count_named: false,
};
const Q_TOKEN: Query = Query {
    verbs: &["create"],
    targets: &[("", "serviceaccounts/token")],
    count_named: true,
};
const Q_CSR_APPROVAL: Query = Query {
    verbs: &["update", "patch"],
    targets: &[("certificates.k8s.io", "certificatesigningrequests/approval")],
    count_named: false,
};
const Q_SIGNERS: Query = Query {
    verbs: &["approve"],
    targets: &[("certificates.k8s.io", "signers")],
    count_named: false,
};
const Q_WEBHOOKS: Query = Query {
    verbs: DANGEROUS_VERBS,
    targets: &[
        (
            "admissionregistration.k8s.io",
            "mutatingwebhookconfigurations",
        ),
        (
            "admissionregistration.k8s.io",
            "validatingwebhookconfigurations",
        ),
    ],
    count_named: false,
};
const Q_PV: Query = Query {
    verbs: DANGEROUS_VERBS,
    targets: &[("", "persistentvolumes")],
    count_named: false,
};
const Q_RBAC_WRITE: Query = Query {
    verbs: DANGEROUS_VERBS,
    targets: &[
        ("rbac.authorization.k8s.io", "roles"),
        ("rbac.authorization.k8s.io", "clusterroles"),
        ("rbac.authorization.k8s.io", "rolebindings"),
        ("rbac.authorization.k8s.io", "clusterrolebindings"),
    ],
    count_named: false,
};
/// RBAC-030's pod hop: creating a pod or a pod controller runs code as any ServiceAccount of
/// the namespace. `create` cannot be limited by resourceNames, so named rules never count.
const Q_POD_CREATE: Query = Query {
    verbs: &["create"],
    targets: WORKLOADS,
    count_named: false,
};
/// RBAC-030's secret hop reads named Secrets too.
const Q_SECRETS_NAMED: Query = Query {
    verbs: &["get", "list", "watch"],
    targets: &[("", "secrets")],
    count_named: true,
};

/// Indices of the rules (in the role's effective rule list) that grant something; evidence is
/// formatted from them only when a finding is reported.
pub type RuleIdx = Vec<u32>;

/// What a role grants, seen through one binding scope.
#[derive(Clone, Debug, Default)]
pub struct Capabilities {
    /// RBAC-001: `*` verbs on `*` resources in `*` groups.
    pub cluster_admin: RuleIdx,
    /// RBAC-004: `*` in verbs or resources.
    pub wildcard: RuleIdx,
    pub secrets_read: RuleIdx,
    pub exec: RuleIdx,
    pub workload_write: RuleIdx,
    pub escalate: RuleIdx,
    pub node_proxy: RuleIdx,
    pub token_create: RuleIdx,
    pub csr_approval: RuleIdx,
    pub signers_approve: RuleIdx,
    pub webhooks: RuleIdx,
    pub pv_write: RuleIdx,
    pub rbac_write: RuleIdx,
    /// Any rule on resources (RBAC-003).
    pub any_resource: RuleIdx,
    /// Any rule at all (RBAC-015), and anything beyond the public URLs (RBAC-002).
    pub any: RuleIdx,
    pub beyond_public: RuleIdx,
    /// RBAC-030 hops.
    pub pod_create: bool,
    pub token_names: Option<Names>,
    pub secret_names: Option<Names>,
}

impl Capabilities {
    /// Summarise `rules`. With `namespaced`, rules on cluster-scoped resources are left out:
    /// a RoleBinding cannot grant them.
    pub fn of(rules: &[PolicyRule], namespaced: bool) -> Capabilities {
        let mut c = Capabilities::default();
        for (i, rule) in rules.iter().enumerate() {
            c.add_rule(i as u32, rule, namespaced);
        }
        c
    }

    fn add_rule(&mut self, text: u32, rule: &PolicyRule, namespaced: bool) {
        if rule.verbs.is_empty() {
            return;
        }
        let resources = rule.resources.as_deref().unwrap_or_default();
        let urls = rule.non_resource_urls.as_deref().unwrap_or_default();
        let named = rule.resource_names.as_ref().is_some_and(|n| !n.is_empty());
        if !urls.is_empty() {
            // Non-resource URLs are cluster-wide only; a RoleBinding ignores them.
            if !namespaced {
                push(&mut self.any, text);
                if urls.iter().any(|u| !PUBLIC_URLS.contains(&u.as_str())) {
                    push(&mut self.beyond_public, text);
                }
            }
        }
        if resources.is_empty() {
            return;
        }
        // The resources this rule reaches through the binding's scope.
        let effective = !namespaced
            || resources.iter().any(|r| {
                r == "*" || r.starts_with("*/") || {
                    let groups = rule.api_groups.as_deref().unwrap_or_default();
                    groups.iter().any(|g| g == "*" || !is_cluster_scoped(g, r))
                }
            });
        if !effective {
            return;
        }
        push(&mut self.any, text);
        push(&mut self.beyond_public, text);
        push(&mut self.any_resource, text);
        let groups = rule.api_groups.as_deref().unwrap_or_default();
        let star = |list: &[String]| list.iter().any(|x| x == "*");
        if !named && star(&rule.verbs) && star(groups) && star(resources) {
            push(&mut self.cluster_admin, text);
        }
        if !named && (star(&rule.verbs) || star(resources)) {
            push(&mut self.wildcard, text);
        }
        let ask = |q: &Query| -> Option<Names> {
            if named && !q.count_named {
                return None;
            }
            let mut out: Option<Names> = None;
            for &(g, r) in q.targets {
                if namespaced && is_cluster_scoped(g, r) {
                    continue;
                }
                for v in q.verbs {
                    if let Some(n) = grants(rule, v, g, r) {
                        match &mut out {
                            Some(o) => o.union(n),
                            None => out = Some(n),
                        }
                    }
                }
            }
            out
        };
        let flag = |q: &Query, list: &mut RuleIdx| {
            if ask(q).is_some() {
                push(list, text);
            }
        };
        flag(&Q_SECRETS, &mut self.secrets_read);
        flag(&Q_EXEC, &mut self.exec);
        flag(&Q_WORKLOAD_WRITE, &mut self.workload_write);
        flag(&Q_ESCALATE_BIND, &mut self.escalate);
        flag(&Q_IMPERSONATE, &mut self.escalate);
        flag(&Q_NODE_PROXY, &mut self.node_proxy);
        flag(&Q_TOKEN, &mut self.token_create);
        flag(&Q_CSR_APPROVAL, &mut self.csr_approval);
        flag(&Q_SIGNERS, &mut self.signers_approve);
        flag(&Q_WEBHOOKS, &mut self.webhooks);
        flag(&Q_PV, &mut self.pv_write);
        flag(&Q_RBAC_WRITE, &mut self.rbac_write);
        if ask(&Q_POD_CREATE).is_some() {
            self.pod_create = true;
        }
        if let Some(n) = ask(&Q_TOKEN) {
            merge(&mut self.token_names, n);
        }
        if let Some(n) = ask(&Q_SECRETS_NAMED) {
            merge(&mut self.secret_names, n);
        }
    }
}

fn merge(slot: &mut Option<Names>, n: Names) {
    match slot {
        Some(s) => s.union(n),
        None => *slot = Some(n),
    }
}

fn push(list: &mut RuleIdx, i: u32) {
    if list.last() != Some(&i) {
        list.push(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        PolicyRule {
            verbs: v(verbs),
            api_groups: Some(v(groups)),
            resources: Some(v(resources)),
            resource_names: if names.is_empty() {
                None
            } else {
                Some(v(names))
            },
            non_resource_urls: None,
        }
    }

    #[test]
    fn subresource_matching() {
        let r = rule(&["create"], &[""], &["*/exec"], &[]);
        assert!(grants(&r, "create", "", "pods/exec").is_some());
        assert!(grants(&r, "create", "", "pods").is_none());
        assert!(grants(&r, "create", "", "pods/attach").is_none());
        let r = rule(&["*"], &["*"], &["*"], &[]);
        assert!(
            grants(&r, "create", "", "pods/exec").is_some(),
            "* covers subresources"
        );
        let r = rule(&["get"], &[""], &["pods"], &[]);
        assert!(
            grants(&r, "get", "", "pods/exec").is_none(),
            "a resource does not cover its subresources"
        );
        let r = rule(&["get"], &["apps"], &["secrets"], &[]);
        assert!(
            grants(&r, "get", "", "secrets").is_none(),
            "group must match"
        );
    }

    #[test]
    fn resource_names_limit_and_are_ignored_where_the_spec_says() {
        let r = rule(&["get"], &[""], &["secrets"], &["one"]);
        assert_eq!(
            grants(&r, "get", "", "secrets"),
            Some(Names::Only(["one".to_string()].into()))
        );
        let c = Capabilities::of(&[r], false);
        assert!(
            c.secrets_read.is_empty(),
            "RBAC-005 ignores resourceNames rules"
        );
        assert!(
            c.secret_names
                .as_ref()
                .is_some_and(|n| n.contains("one") && !n.contains("two"))
        );
        let r = rule(&["create"], &[""], &["serviceaccounts/token"], &["bot"]);
        let c = Capabilities::of(&[r], false);
        assert!(
            !c.token_create.is_empty(),
            "RBAC-010 counts resourceNames rules"
        );
    }

    #[test]
    fn wildcard_means_exactly_star() {
        let c = Capabilities::of(&[rule(&["get"], &["apps"], &["*/scale"], &[])], false);
        assert!(c.wildcard.is_empty());
        let c = Capabilities::of(&[rule(&["*"], &["apps"], &["deployments"], &[])], false);
        assert_eq!(c.wildcard.len(), 1);
        assert!(c.cluster_admin.is_empty());
        let c = Capabilities::of(&[rule(&["*"], &["*"], &["*"], &[])], false);
        assert_eq!(c.cluster_admin.len(), 1);
    }

    #[test]
    fn role_bindings_cannot_grant_cluster_scoped_resources() {
        let rules = [rule(&["get", "create"], &[""], &["nodes/proxy"], &[])];
        assert!(!Capabilities::of(&rules, false).node_proxy.is_empty());
        let c = Capabilities::of(&rules, true);
        assert!(c.node_proxy.is_empty() && c.any.is_empty());
    }
}
