//! RBAC-030: escalation paths to cluster-admin power.
//!
//! A subject that does not hold cluster-admin power (cluster-wide RBAC-001 or RBAC-008) may
//! still reach it, hop by hop, through ServiceAccounts: by creating pods (or pod controllers) in
//! a ServiceAccount's namespace, by minting its tokens (`serviceaccounts/token`), or by reading
//! a Secret that holds its token. The analysis runs backwards from the powerful
//! ServiceAccounts, one hop per round, so each ServiceAccount gets its shortest path. A subject
//! is reported when its *first* hop comes from a non-built-in binding; later hops may go through
//! Kubernetes' own bindings (a controller's ServiceAccount in kube-system is a real target).
//! A ServiceAccount's permissions include those of its groups (`system:serviceaccounts`,
//! `system:serviceaccounts:<ns>`, `system:authenticated`).

use super::rules::Names;
use super::{BindingRef, RbacAnalysis, RoleKey, Subject};
use crate::audit::{Finding, Sink};
use crate::snapshot::Snapshot;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Rounds of the backward search; paths longer than this are not followed.
const MAX_HOPS: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EdgeKind {
    PodCreate,
    TokenCreate,
    SecretRead,
}

#[derive(Clone, Debug)]
struct Edge<'a> {
    kind: EdgeKind,
    /// `None`: every namespace.
    namespace: Option<&'a str>,
    names: Names,
    via: BindingRef<'a>,
}

type Sa<'a> = (&'a str, &'a str);

struct Graph<'a> {
    edges: HashMap<Subject<'a>, Vec<Edge<'a>>>,
    power: HashMap<Subject<'a>, BindingRef<'a>>,
    /// Groups' edges and power again, keyed by name for membership lookups.
    group_edges: HashMap<String, Vec<Edge<'a>>>,
    group_power: HashMap<String, BindingRef<'a>>,
    token_secrets: HashMap<Sa<'a>, BTreeSet<&'a str>>,
    /// (namespace, Secret name) → the ServiceAccounts whose token it holds.
    secret_owner: HashMap<(&'a str, &'a str), Vec<Sa<'a>>>,
    universe: BTreeSet<Sa<'a>>,
}

fn sa_groups(ns: &str) -> [String; 3] {
    [
        "system:serviceaccounts".to_string(),
        format!("system:serviceaccounts:{ns}"),
        "system:authenticated".to_string(),
    ]
}

impl<'a> Graph<'a> {
    fn build(a: &'a RbacAnalysis<'a>, snapshot: &'a Snapshot) -> Graph<'a> {
        let mut edges: HashMap<Subject, Vec<Edge>> = HashMap::new();
        let mut power = HashMap::new();
        let mut universe = BTreeSet::new();
        for g in &a.grants {
            if let Subject::ServiceAccount { namespace, name } = g.subject {
                universe.insert((namespace, name));
            }
            let Some(caps) = a.caps(g) else {
                if g.binding.namespace.is_none() && g.role == RoleKey::ClusterRole("cluster-admin") {
                    power.entry(g.subject).or_insert(g.binding);
                }
                continue;
            };
            let cluster_wide = g.binding.namespace.is_none();
            if cluster_wide
                && (g.role == RoleKey::ClusterRole("cluster-admin")
                    || !caps.cluster_admin.is_empty()
                    || !caps.escalate.is_empty())
            {
                power.entry(g.subject).or_insert(g.binding);
            }
            let mut add = |kind, names: Names| {
                edges.entry(g.subject).or_default().push(Edge {
                    kind,
                    namespace: g.binding.namespace,
                    names,
                    via: g.binding,
                })
            };
            if caps.pod_create {
                add(EdgeKind::PodCreate, Names::All);
            }
            if let Some(n) = &caps.token_names {
                add(EdgeKind::TokenCreate, n.clone());
            }
            if let Some(n) = &caps.secret_names {
                add(EdgeKind::SecretRead, n.clone());
            }
        }
        let mut token_secrets: HashMap<Sa, BTreeSet<&str>> = HashMap::new();
        for s in &snapshot.secrets {
            if s.type_.as_deref() != Some("kubernetes.io/service-account-token") {
                continue;
            }
            let sa = s
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("kubernetes.io/service-account.name"));
            if let (Some(sa), Some(ns), Some(name)) =
                (sa, s.metadata.namespace.as_deref(), s.metadata.name.as_deref())
            {
                token_secrets.entry((ns, sa.as_str())).or_default().insert(name);
            }
        }
        for sa in &snapshot.service_accounts {
            let (Some(ns), Some(name)) = (sa.metadata.namespace.as_deref(), sa.metadata.name.as_deref()) else {
                continue;
            };
            universe.insert((ns, name));
            for r in sa.secrets.iter().flatten() {
                if let Some(secret) = r.name.as_deref() {
                    token_secrets.entry((ns, name)).or_default().insert(secret);
                }
            }
        }
        for ns in &snapshot.namespaces {
            if let Some(n) = ns.metadata.name.as_deref() {
                universe.insert((n, "default"));
            }
        }
        let mut secret_owner: HashMap<(&str, &str), Vec<Sa>> = HashMap::new();
        for (&sa, secrets) in &token_secrets {
            for &secret in secrets {
                secret_owner.entry((sa.0, secret)).or_default().push(sa);
            }
        }
        let group_edges = edges
            .iter()
            .filter_map(|(s, e)| match s {
                Subject::Group(g) => Some((g.to_string(), e.clone())),
                _ => None,
            })
            .collect();
        let group_power = power
            .iter()
            .filter_map(|(s, b)| match s {
                Subject::Group(g) => Some((g.to_string(), *b)),
                _ => None,
            })
            .collect();
        Graph {
            edges,
            power,
            group_edges,
            group_power,
            token_secrets,
            secret_owner,
            universe,
        }
    }

    /// A ServiceAccount's cluster-admin binding, its own or its groups'.
    fn sa_power(&self, (ns, name): Sa<'a>) -> Option<BindingRef<'a>> {
        if let Some(b) = self.power.get(&Subject::ServiceAccount { namespace: ns, name }) {
            return Some(*b);
        }
        sa_groups(ns).iter().find_map(|g| self.group_power.get(g.as_str()).copied())
    }

    /// A ServiceAccount's edges, its own and its groups'.
    fn sa_edges(&self, (ns, name): Sa<'a>) -> Vec<&Edge<'a>> {
        let mut out: Vec<&Edge> = self
            .edges
            .get(&Subject::ServiceAccount { namespace: ns, name })
            .into_iter()
            .flatten()
            .collect();
        for g in sa_groups(ns) {
            out.extend(self.group_edges.get(g.as_str()).into_iter().flatten());
        }
        out
    }
}

/// Where the ServiceAccounts that reach cluster-admin are, rebuilt each round so a lookup per
/// edge is a map access rather than a scan.
struct ReachIndex<'a> {
    /// Path length of each reaching ServiceAccount.
    len: HashMap<Sa<'a>, usize>,
    /// The best (shortest path, then name) reaching ServiceAccounts per namespace, and overall;
    /// two of each so that excluding the subject itself still leaves an answer.
    best_in_ns: HashMap<&'a str, Vec<Sa<'a>>>,
    best: Vec<Sa<'a>>,
    /// Likewise among those with a known token Secret.
    best_secret_in_ns: HashMap<&'a str, Vec<Sa<'a>>>,
    best_secret: Vec<Sa<'a>>,
    by_name: HashMap<&'a str, Vec<Sa<'a>>>,
}

fn keep_two<'a>(slot: &mut Vec<Sa<'a>>, sa: Sa<'a>) {
    if slot.len() < 2 {
        slot.push(sa);
    }
}

impl<'a> ReachIndex<'a> {
    fn new(graph: &Graph<'a>, reach: &BTreeMap<Sa<'a>, Vec<String>>) -> ReachIndex<'a> {
        let mut order: Vec<Sa> = reach.keys().copied().collect();
        order.sort_by_key(|sa| (reach[sa].len(), *sa));
        let mut idx = ReachIndex {
            len: HashMap::with_capacity(order.len()),
            best_in_ns: HashMap::new(),
            best: Vec::new(),
            best_secret_in_ns: HashMap::new(),
            best_secret: Vec::new(),
            by_name: HashMap::new(),
        };
        for sa in order {
            idx.len.insert(sa, reach[&sa].len());
            keep_two(idx.best_in_ns.entry(sa.0).or_default(), sa);
            keep_two(&mut idx.best, sa);
            if graph.token_secrets.contains_key(&sa) {
                keep_two(idx.best_secret_in_ns.entry(sa.0).or_default(), sa);
                keep_two(&mut idx.best_secret, sa);
            }
            idx.by_name.entry(sa.1).or_default().push(sa);
        }
        idx
    }

    /// Reaching ServiceAccounts an edge may lead to (a superset; `hop` decides).
    fn candidates(&self, graph: &Graph<'a>, e: &Edge<'a>) -> Vec<Sa<'a>> {
        let in_scope = |sa: &Sa| e.namespace.is_none_or(|n| n == sa.0);
        let best = |per_ns: &HashMap<&str, Vec<Sa<'a>>>, all: &Vec<Sa<'a>>| match e.namespace {
            Some(ns) => per_ns.get(ns).cloned().unwrap_or_default(),
            None => all.clone(),
        };
        match (e.kind, &e.names) {
            (EdgeKind::PodCreate, _) | (EdgeKind::TokenCreate, Names::All) => {
                best(&self.best_in_ns, &self.best)
            }
            (EdgeKind::TokenCreate, Names::Only(names)) => names
                .iter()
                .flat_map(|n| self.by_name.get(n.as_str()).into_iter().flatten())
                .copied()
                .filter(in_scope)
                .collect(),
            (EdgeKind::SecretRead, Names::All) => best(&self.best_secret_in_ns, &self.best_secret),
            (EdgeKind::SecretRead, Names::Only(names)) => names
                .iter()
                .flat_map(|secret| -> Vec<Sa<'a>> {
                    match e.namespace {
                        Some(ns) => graph.secret_owner.get(&(ns, secret.as_str())).cloned().unwrap_or_default(),
                        // A cluster-wide grant on named Secrets: any namespace's Secret of that name.
                        None => graph
                            .secret_owner
                            .iter()
                            .filter(|((_, s), _)| *s == secret.as_str())
                            .flat_map(|(_, owners)| owners.iter().copied())
                            .collect(),
                    }
                })
                .filter(|sa| in_scope(sa) && self.len.contains_key(sa))
                .collect(),
        }
    }
}

/// The hop an edge makes to ServiceAccount `to`, described for evidence; `None` when the edge
/// does not reach it.
fn hop<'a>(graph: &Graph<'a>, from: &str, e: &Edge<'a>, to: Sa<'a>) -> Option<String> {
    let (ns, name) = to;
    if e.namespace.is_some_and(|n| n != ns) {
        return None;
    }
    match e.kind {
        EdgeKind::PodCreate => Some(format!(
            "{from} can create pods in namespace {ns} ({}) → runs a pod as ServiceAccount {ns}/{name}",
            e.via
        )),
        EdgeKind::TokenCreate => e.names.contains(name).then(|| {
            format!(
                "{from} can create serviceaccounts/token for {ns}/{name} ({}) → gets a token of ServiceAccount {ns}/{name}",
                e.via
            )
        }),
        EdgeKind::SecretRead => graph
            .token_secrets
            .get(&to)
            .and_then(|secrets| secrets.iter().find(|s| e.names.contains(s)))
            .map(|secret| {
                format!(
                    "{from} can read Secret {ns}/{secret} ({}) → gets the token of ServiceAccount {ns}/{name}",
                    e.via
                )
            }),
    }
}

/// The best first hop from `edges` into the reaching set (shortest remaining path, then name
/// order), never to the subject itself.
fn best_hop<'a>(
    graph: &Graph<'a>,
    from: &str,
    self_sa: Option<Sa<'a>>,
    edges: &[&Edge<'a>],
    idx: &ReachIndex<'a>,
) -> Option<(String, Sa<'a>)> {
    let mut best: Option<(usize, Sa<'a>, String)> = None;
    for e in edges {
        for target in idx.candidates(graph, e) {
            if Some(target) == self_sa {
                continue;
            }
            let Some(&len) = idx.len.get(&target) else { continue };
            if best.as_ref().is_some_and(|(l, sa, _)| (*l, *sa) <= (len, target)) {
                continue;
            }
            if let Some(h) = hop(graph, from, e, target) {
                best = Some((len, target, h));
            }
        }
    }
    best.map(|(_, sa, h)| (h, sa))
}

pub fn audit(a: &RbacAnalysis, snapshot: &Snapshot, sink: &mut Sink) {
    let graph = Graph::build(a, snapshot);
    // ServiceAccounts that reach cluster-admin, with their path (hops after them).
    let mut reach: BTreeMap<Sa, Vec<String>> = BTreeMap::new();
    for &sa in &graph.universe {
        if let Some(b) = graph.sa_power(sa) {
            reach.insert(sa, vec![format!("ServiceAccount {}/{} has cluster-admin power ({b})", sa.0, sa.1)]);
        }
    }
    if reach.is_empty() {
        return;
    }
    for _ in 0..MAX_HOPS {
        let idx = ReachIndex::new(&graph, &reach);
        let mut added = Vec::new();
        for &sa in &graph.universe {
            if reach.contains_key(&sa) {
                continue;
            }
            let edges = graph.sa_edges(sa);
            if edges.is_empty() {
                continue;
            }
            let from = format!("ServiceAccount {}/{}", sa.0, sa.1);
            if let Some((h, target)) = best_hop(&graph, &from, Some(sa), &edges, &idx) {
                let mut path = vec![h];
                path.extend(reach[&target].iter().cloned());
                added.push((sa, path));
            }
        }
        if added.is_empty() {
            break;
        }
        reach.extend(added);
    }

    // Report subjects whose first hop is one of their own non-built-in grants.
    let idx = ReachIndex::new(&graph, &reach);
    let mut first_hops: BTreeMap<Subject, Vec<&Edge>> = BTreeMap::new();
    for (subject, edges) in &graph.edges {
        let own: Vec<&Edge> = edges.iter().filter(|e| !e.via.builtin).collect();
        if !own.is_empty() {
            first_hops.insert(*subject, own);
        }
    }
    for (subject, edges) in first_hops {
        let (self_sa, powerful) = match subject {
            Subject::ServiceAccount { namespace, name } => {
                (Some((namespace, name)), graph.sa_power((namespace, name)).is_some())
            }
            other => (None, graph.power.contains_key(&other)),
        };
        if powerful {
            continue;
        }
        let from = subject.to_string();
        let Some((h, target)) = best_hop(&graph, &from, self_sa, &edges, &idx) else {
            continue;
        };
        let mut path = vec![h];
        path.extend(reach[&target].iter().cloned());
        let hops = path.len() - 1;
        let first_binding = edges
            .iter()
            .find(|e| hop(&graph, &from, e, target).is_some())
            .map(|e| e.via);
        let fix = first_binding
            .map(|b| format!(" The first hop is granted by {b}: {}", b.edit_command()))
            .unwrap_or_default();
        sink.push(
            Finding::new(
                "RBAC-030",
                subject.object_ref(),
                format!(
                    "{subject} can reach cluster-admin power in {hops} hop{} through ServiceAccount {}/{}",
                    if hops == 1 { "" } else { "s" },
                    target.0,
                    target.1
                ),
            )
            .subject(subject.to_ref())
            .evidence(path)
            .remediation(format!(
                "Break the weakest hop in the evidence: usually the pod-create, token or secret-read grant in the namespace of the powerful ServiceAccount.{fix}"
            )),
        );
    }
}
