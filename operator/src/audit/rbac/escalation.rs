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

use super::keep::OwnedSubject;
use super::rules::Names;
use super::{BindingRef, RbacAnalysis, RoleKey, Subject};
use crate::audit::{Finding, Sink, bounds};
use crate::catalog::CheckId;
use crate::snapshot::Snapshot;
use foldhash::{HashMap, HashMapExt};
use std::collections::BTreeSet;
use std::sync::Arc;

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
    /// The graph of every subject; with `only`, of those subjects only, and without the
    /// universe of ServiceAccounts (enough to find their first hops into a kept search).
    fn build(
        a: &'a RbacAnalysis<'a>,
        snapshot: &'a Snapshot,
        only: Option<&foldhash::HashSet<Subject<'_>>>,
    ) -> Graph<'a> {
        let mut edges: HashMap<Subject, Vec<Edge>> = HashMap::new();
        let mut power = HashMap::new();
        let mut universe = BTreeSet::new();
        for g in &a.grants {
            if only.is_some_and(|o| !o.contains(&g.subject)) {
                continue;
            }
            if let Subject::ServiceAccount { namespace, name } = g.subject {
                universe.insert((namespace, name));
            }
            let Some(caps) = a.caps(g) else {
                if g.binding.namespace.is_none() && g.role == RoleKey::ClusterRole("cluster-admin")
                {
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
            if let (Some(sa), Some(ns), Some(name)) = (
                sa,
                s.metadata.namespace.as_deref(),
                s.metadata.name.as_deref(),
            ) {
                token_secrets
                    .entry((ns, sa.as_str()))
                    .or_default()
                    .insert(name);
            }
        }
        for sa in &snapshot.service_accounts {
            let (Some(ns), Some(name)) = (
                sa.metadata.namespace.as_deref(),
                sa.metadata.name.as_deref(),
            ) else {
                continue;
            };
            if only.is_none() {
                universe.insert((ns, name));
            }
            for r in sa.secrets.iter().flatten() {
                if let Some(secret) = r.name.as_deref() {
                    token_secrets.entry((ns, name)).or_default().insert(secret);
                }
            }
        }
        for ns in snapshot.namespaces.iter().filter(|_| only.is_none()) {
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
        if let Some(b) = self.power.get(&Subject::ServiceAccount {
            namespace: ns,
            name,
        }) {
            return Some(*b);
        }
        sa_groups(ns)
            .iter()
            .find_map(|g| self.group_power.get(g.as_str()).copied())
    }

    /// A ServiceAccount's edges, its own and its groups'.
    fn sa_edges(&self, (ns, name): Sa<'a>) -> Vec<&Edge<'a>> {
        let mut out: Vec<&Edge> = self
            .edges
            .get(&Subject::ServiceAccount {
                namespace: ns,
                name,
            })
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

/// `reach`'s ServiceAccounts with their path lengths, shortest first, then by name: the
/// order [`ReachIndex::new`] reads.
fn ordered<'a>(reach: &HashMap<Sa<'a>, (usize, Step<'a>)>) -> Vec<(usize, Sa<'a>)> {
    let mut order: Vec<(usize, Sa)> = reach.iter().map(|(sa, (len, _))| (*len, *sa)).collect();
    order.sort_unstable();
    order
}

impl<'a> ReachIndex<'a> {
    /// The index of the reaching ServiceAccounts `order` lists, shortest path first, then
    /// by name (see [`ordered`]; the kept search keeps its reach in that order).
    fn new(
        graph: &Graph<'a>,
        order: impl ExactSizeIterator<Item = (usize, Sa<'a>)>,
    ) -> ReachIndex<'a> {
        let mut idx = ReachIndex {
            len: HashMap::with_capacity(order.len()),
            best_in_ns: HashMap::new(),
            best: Vec::new(),
            best_secret_in_ns: HashMap::new(),
            best_secret: Vec::new(),
            by_name: HashMap::new(),
        };
        for (len, sa) in order {
            idx.len.insert(sa, len);
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
                        Some(ns) => graph
                            .secret_owner
                            .get(&(ns, secret.as_str()))
                            .cloned()
                            .unwrap_or_default(),
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

/// One hop of a path: `from` reaches ServiceAccount `to` through edge kind `kind`.
#[derive(Clone, Copy, Debug)]
struct Hop<'a> {
    kind: EdgeKind,
    via: BindingRef<'a>,
    to: Sa<'a>,
    /// The token Secret read, for `SecretRead`.
    secret: Option<&'a str>,
}

impl Hop<'_> {
    fn describe(&self, from: &str) -> String {
        let (ns, name) = self.to;
        match self.kind {
            EdgeKind::PodCreate => format!(
                "{from} can create pods in namespace {ns} ({}) → runs a pod as ServiceAccount {ns}/{name}",
                self.via
            ),
            EdgeKind::TokenCreate => format!(
                "{from} can create serviceaccounts/token for {ns}/{name} ({}) → gets a token of ServiceAccount {ns}/{name}",
                self.via
            ),
            EdgeKind::SecretRead => format!(
                "{from} can read Secret {ns}/{} ({}) → gets the token of ServiceAccount {ns}/{name}",
                self.secret.unwrap_or(""),
                self.via
            ),
        }
    }
}

/// How a ServiceAccount reaches cluster-admin: it holds it, or it makes a hop to one that does.
#[derive(Clone, Copy, Debug)]
enum Step<'a> {
    Holds(BindingRef<'a>),
    Hop(Hop<'a>),
}

/// The hop an edge makes to ServiceAccount `to`; `None` when the edge does not reach it.
fn hop<'a>(graph: &Graph<'a>, e: &Edge<'a>, to: Sa<'a>) -> Option<Hop<'a>> {
    if e.namespace.is_some_and(|n| n != to.0) {
        return None;
    }
    let found = |secret| Hop {
        kind: e.kind,
        via: e.via,
        to,
        secret,
    };
    match e.kind {
        EdgeKind::PodCreate => Some(found(None)),
        EdgeKind::TokenCreate => e.names.contains(to.1).then(|| found(None)),
        EdgeKind::SecretRead => graph
            .token_secrets
            .get(&to)
            .and_then(|secrets| secrets.iter().find(|s| e.names.contains(s)))
            .map(|secret| found(Some(*secret))),
    }
}

/// The best first hop from `edges` into the reaching set (shortest remaining path, then name
/// order), never to the subject itself.
fn best_hop<'a>(
    graph: &Graph<'a>,
    self_sa: Option<Sa<'a>>,
    edges: &[&Edge<'a>],
    idx: &ReachIndex<'a>,
) -> Option<Hop<'a>> {
    let mut best: Option<(usize, Hop<'a>)> = None;
    for e in edges {
        for target in idx.candidates(graph, e) {
            if Some(target) == self_sa {
                continue;
            }
            let Some(&len) = idx.len.get(&target) else {
                continue;
            };
            if best
                .as_ref()
                .is_some_and(|(l, h)| (*l, h.to) <= (len, target))
            {
                continue;
            }
            if let Some(h) = hop(graph, e, target) {
                best = Some((len, h));
            }
        }
    }
    best.map(|(_, h)| h)
}

/// The evidence of a path starting at `first` (made by `from`). The description of each
/// ServiceAccount's own step is formatted once and reused by every path through it.
fn path<'a>(
    reach: &HashMap<Sa<'a>, (usize, Step<'a>)>,
    described: &mut HashMap<Sa<'a>, String>,
    from: &str,
    first: Hop<'a>,
) -> Vec<String> {
    let mut out = vec![first.describe(from)];
    let mut at = first.to;
    while let Some((_, step)) = reach.get(&at) {
        let line = described.entry(at).or_insert_with(|| {
            let here = format!("ServiceAccount {}/{}", at.0, at.1);
            match step {
                Step::Holds(b) => format!("{here} has cluster-admin power ({b})"),
                Step::Hop(h) => h.describe(&here),
            }
        });
        out.push(line.clone());
        match step {
            Step::Holds(_) => break,
            Step::Hop(h) => at = h.to,
        }
    }
    out
}

/// What RBAC-030 computed, owned, so that the next audit may reuse it
/// ([`super::keep`]): which ServiceAccounts reach cluster-admin and how, and the findings.
#[derive(Debug, Default)]
pub struct Kept {
    /// Shortest path first, then by name ([`ordered`]): the index is built from it as it
    /// stands (sorting it again was a third of a kept search at S).
    reach: Vec<((String, String), (usize, OwnedStep))>,
    /// In subject order, one per reported subject.
    findings: Vec<(OwnedSubject, Arc<Finding>)>,
}

#[derive(Clone, Debug)]
struct OwnedBinding {
    namespace: Option<String>,
    name: String,
    builtin: bool,
}

impl OwnedBinding {
    fn new(b: BindingRef) -> OwnedBinding {
        OwnedBinding {
            namespace: b.namespace.map(str::to_string),
            name: b.name.to_string(),
            builtin: b.builtin,
        }
    }

    fn borrow(&self) -> BindingRef<'_> {
        BindingRef {
            namespace: self.namespace.as_deref(),
            name: &self.name,
            builtin: self.builtin,
        }
    }
}

#[derive(Clone, Debug)]
enum OwnedStep {
    Holds(OwnedBinding),
    Hop {
        kind: EdgeKind,
        via: OwnedBinding,
        to: (String, String),
        secret: Option<String>,
    },
}

impl OwnedStep {
    fn new(step: &Step) -> OwnedStep {
        match step {
            Step::Holds(b) => OwnedStep::Holds(OwnedBinding::new(*b)),
            Step::Hop(h) => OwnedStep::Hop {
                kind: h.kind,
                via: OwnedBinding::new(h.via),
                to: (h.to.0.to_string(), h.to.1.to_string()),
                secret: h.secret.map(str::to_string),
            },
        }
    }

    fn borrow(&self) -> Step<'_> {
        match self {
            OwnedStep::Holds(b) => Step::Holds(b.borrow()),
            OwnedStep::Hop {
                kind,
                via,
                to,
                secret,
            } => Step::Hop(Hop {
                kind: *kind,
                via: via.borrow(),
                to: (&to.0, &to.1),
                secret: secret.as_deref(),
            }),
        }
    }
}

/// ServiceAccounts that reach cluster-admin: path length and the next step. Breadth-first: a
/// ServiceAccount first reached in round k hops to one reached in round k-1, so each round
/// only needs an index of the previous round's frontier.
fn reach<'a>(graph: &Graph<'a>) -> HashMap<Sa<'a>, (usize, Step<'a>)> {
    let mut reach: HashMap<Sa, (usize, Step)> = HashMap::new();
    for &sa in &graph.universe {
        if let Some(b) = graph.sa_power(sa) {
            reach.insert(sa, (1, Step::Holds(b)));
        }
    }
    if reach.is_empty() {
        return reach;
    }
    // ServiceAccounts with any edge (their own or their groups'), computed once.
    let active: Vec<(Sa, Vec<&Edge>)> = graph
        .universe
        .iter()
        .map(|&sa| (sa, graph.sa_edges(sa)))
        .filter(|(_, e)| !e.is_empty())
        .collect();
    let mut frontier: HashMap<Sa, (usize, Step)> = reach.clone();
    for _ in 0..MAX_HOPS {
        let idx = ReachIndex::new(graph, ordered(&frontier).into_iter());
        let mut added = HashMap::new();
        for (sa, edges) in &active {
            if reach.contains_key(sa) {
                continue;
            }
            if let Some(h) = best_hop(graph, Some(*sa), edges, &idx) {
                added.insert(*sa, (idx.len[&h.to] + 1, Step::Hop(h)));
            }
        }
        if added.is_empty() {
            break;
        }
        reach.extend(added.iter().map(|(k, v)| (*k, *v)));
        frontier = added;
    }
    reach
}

/// A subject's own non-built-in edges: a path is reported only when its first hop is one.
fn own_edges<'g, 'a>(graph: &'g Graph<'a>, subject: &Subject<'a>) -> Vec<&'g Edge<'a>> {
    graph
        .edges
        .get(subject)
        .into_iter()
        .flatten()
        .filter(|e| !e.via.builtin)
        .collect()
}

/// RBAC-030 for one subject with its own non-built-in `edges`, if it reaches cluster-admin
/// without holding it.
fn subject_finding<'a>(
    graph: &Graph<'a>,
    idx: &ReachIndex<'a>,
    reach: &HashMap<Sa<'a>, (usize, Step<'a>)>,
    described: &mut HashMap<Sa<'a>, String>,
    subject: Subject<'a>,
    edges: &[&Edge<'a>],
) -> Option<Finding> {
    let (self_sa, powerful) = match subject {
        Subject::ServiceAccount { namespace, name } => (
            Some((namespace, name)),
            graph.sa_power((namespace, name)).is_some(),
        ),
        other => (None, graph.power.contains_key(&other)),
    };
    if powerful {
        return None;
    }
    let first = best_hop(graph, self_sa, edges, idx)?;
    let evidence = path(reach, described, &subject.to_string(), first);
    let hops = evidence.len() - 1;
    Some(
        Finding::new(
            CheckId::Rbac030,
            subject.object_ref(),
            format!(
                "{subject} can reach cluster-admin power in {hops} hop{} through ServiceAccount {}/{}",
                if hops == 1 { "" } else { "s" },
                first.to.0,
                first.to.1
            ),
        )
        .subject(subject.to_ref())
        .evidence(evidence)
        .fill(&[
            ("binding", &first.via.to_string()),
            ("edit", &first.via.edit_command()),
        ]),
    )
}

/// RBAC-030 for `subjects`, in their order, against the search `reach` (indexed by `idx`):
/// each subject whose first hop is one of its own non-built-in grants, bounded, to `found`.
fn report<'a>(
    graph: &Graph<'a>,
    reach: &HashMap<Sa<'a>, (usize, Step<'a>)>,
    idx: &ReachIndex<'a>,
    subjects: impl IntoIterator<Item = Subject<'a>>,
    mut found: impl FnMut(Subject<'a>, Arc<Finding>),
) {
    if reach.is_empty() {
        return;
    }
    let mut described = HashMap::new();
    for subject in subjects {
        let edges = own_edges(graph, &subject);
        if edges.is_empty() {
            continue;
        }
        if let Some(f) = subject_finding(graph, idx, reach, &mut described, subject, &edges) {
            found(subject, bounds::bounded(f));
        }
    }
}

/// RBAC-030. With `prior` (what an earlier audit kept, and the subjects of the bindings
/// changed since), the caller vouches that which ServiceAccounts reach cluster-admin, and
/// how, is unchanged ([`super::keep`] says when): only the changed subjects are evaluated,
/// the other subjects' findings are the kept ones. Returns what to keep when `keep`.
pub fn audit(
    a: &RbacAnalysis,
    snapshot: &Snapshot,
    prior: Option<(Kept, &BTreeSet<OwnedSubject>)>,
    keep: bool,
    sink: &mut Sink,
) -> Option<Kept> {
    let only: Option<foldhash::HashSet<Subject>> = prior
        .as_ref()
        .map(|(_, changed)| changed.iter().map(OwnedSubject::borrow).collect());
    let graph = Graph::build(a, snapshot, only.as_ref());
    let Some((kept, changed)) = prior else {
        let reach = reach(&graph);
        let order = ordered(&reach);
        let idx = ReachIndex::new(&graph, order.iter().copied());
        let mut subjects: Vec<Subject> = graph.edges.keys().copied().collect();
        subjects.sort();
        let mut findings = Vec::new();
        report(&graph, &reach, &idx, subjects, |subject, f| {
            if keep {
                findings.push((OwnedSubject::new(subject), f.clone()));
            }
            sink.findings.push(f);
        });
        return keep.then(|| Kept {
            reach: order
                .iter()
                .map(|&(len, sa)| {
                    (
                        (sa.0.to_string(), sa.1.to_string()),
                        (len, OwnedStep::new(&reach[&sa].1)),
                    )
                })
                .collect(),
            findings,
        });
    };
    let mut fresh = Vec::new();
    {
        let reach: HashMap<Sa, (usize, Step)> = kept
            .reach
            .iter()
            .map(|(sa, (len, step))| ((sa.0.as_str(), sa.1.as_str()), (*len, step.borrow())))
            .collect();
        let idx = ReachIndex::new(
            &graph,
            kept.reach
                .iter()
                .map(|(sa, (len, _))| (*len, (sa.0.as_str(), sa.1.as_str()))),
        );
        report(
            &graph,
            &reach,
            &idx,
            changed.iter().map(OwnedSubject::borrow),
            |subject, f| fresh.push((OwnedSubject::new(subject), f)),
        );
    }
    // The kept findings of unchanged subjects and the changed subjects' new ones, in
    // subject order (`changed` is ordered, so `fresh` is).
    let mut findings = Vec::with_capacity(kept.findings.len() + fresh.len());
    let mut old = kept
        .findings
        .into_iter()
        .filter(|(s, _)| !changed.contains(s))
        .peekable();
    let mut fresh = fresh.into_iter().peekable();
    loop {
        let next = match (old.peek(), fresh.peek()) {
            (Some(a), Some(b)) if b.0 < a.0 => fresh.next(),
            (Some(_), _) => old.next(),
            (None, _) => fresh.next(),
        };
        let Some(next) = next else { break };
        findings.push(next);
    }
    sink.findings
        .extend(findings.iter().map(|(_, f)| f.clone()));
    keep.then_some(Kept {
        reach: kept.reach,
        findings,
    })
}
