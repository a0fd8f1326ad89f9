//! The incremental audit: an [`Engine`] keeps what its last audit computed and, given the
//! next state of the cluster, evaluates again only what the change touches. Its report is
//! always the report of a full audit of the same state ([`super::run_with_previous`] is an
//! [`Engine::once`], which keeps nothing); `incremental_equals_full` proves it over random sequences of
//! changes.
//!
//! # What is kept, and when it is reused
//!
//! The engine keeps the previous [`Snapshot`] (a pointer per object). While it holds an
//! object, no other object can have that object's address, so "the same object" is a pointer
//! comparison, and "a kind is unchanged" is the same objects in the same order, each the same
//! pointer or an equal value (a store that reorders unchanged objects only costs a
//! recomputation). Nothing is trusted from the caller: there is no change list to forget.
//!
//! | part | reused when | cost it saves at M |
//! |---|---|---|
//! | RBAC analysis and findings (RBAC-*, and the facts WL-010 and XL-003 read) | Roles, ClusterRoles, their bindings, ServiceAccounts and Secrets unchanged, the same Namespace names | the largest: about 0.9 s |
//! | after a binding change: each other binding's checks, and RBAC-030's search | see [`rbac::keep`] | about 0.6 s |
//! | one workload's WL-001…012 | the same workload object, ServiceAccounts unchanged, the same powerful accounts, no image inspection | per workload |
//! | one workload's XL-001/002 | the same workload object on the same nodes, none of those Nodes changed, the same seccomp defaults | per workload (a Node change re-evaluates only the workloads on it) |
//! | every workload's XL-001/002 at once | the same workloads in the same order, Pods and Nodes unchanged, the same seccomp defaults | about 0.1 s: the per-workload bookkeeping itself (an RBAC or Namespace change) |
//! | XL-003 | RBAC kept, Nodes unchanged, the same namespaces in scope without enforcement | about 0.25 s |
//! | which ServiceAccounts are powerful (WL-010's input) | RBAC kept, and the policy judges findings alike ([`crate::policy::EffectivePolicy::judgement`]: overrides, exceptions, which have expired) | about 9 ms |
//! | WL-013 of one Namespace | the same Namespace (or an equal one) at the same place | about 5 ms (10,000 findings built and sorted) |
//! | which Pods are control-plane Pods | the Pods at their places are the very same objects (only the others are looked at) | about 7 ms |
//! | the node family (NODE-001…005) | Nodes unchanged, the same kube-apiserver Pods, the same day (end of life is judged by date) | about 50 ms |
//! | one Node's NODE-001…005 | the same Node object, the same kube-apiserver Pods, the same day | about 6 ms of a Node change at S |
//!
//! Kept findings are shared with the report (`Arc`), never copied: the end of the audit copies
//! only a finding it changes (an override, an exception). The last report's order is kept
//! too, so that the next report merges its few new findings in rather than sorting all.
//!
//! Everything else is evaluated on every audit: it is cheap (control plane, DaemonSet
//! coverage, kubelets, the probe, images, WL-013), or reads the clock
//! (end-of-life, exceptions), or is the report itself (scoping, overrides, exceptions, sort,
//! bounds, score). Any change of the policy's enabled checks, of the release data, or of what
//! could be read (unavailable and absent kinds) drops everything kept.

use super::identity::{self, ByPlace, identical, same, same_names};
use super::layers::placement::{self, PodPlaces};
use super::layers::{self, PathPart, SeccompDefaults};
use super::workloads::{self, PowerfulAccounts, Workload};
use super::{AuditInput, Ctx, Finding, Report, Sink, controlplane, daemonset, images, kubelet};
use super::{nodes, probe, rbac};
use crate::catalog::CheckId;
use crate::snapshot::{ObjectKind, Snapshot};
use foldhash::{HashMap, HashMapExt, HashSet};
use k8s_openapi::api::core::v1::Node;
use std::collections::BTreeSet;
use std::sync::Arc;

/// An audit that remembers its last run. One engine per policy: what it keeps is the policy's.
#[derive(Default)]
pub struct Engine {
    kept: Option<Kept>,
    /// Keep nothing: one audit, as `audit --snapshot` runs (no copies of the results).
    once: bool,
    /// What the last [`Engine::run`] reused and evaluated.
    pub last: Reuse,
}

/// What one run reused (`…_kept`) and evaluated again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reuse {
    /// RBAC unchanged: every RBAC finding kept.
    pub rbac_kept: bool,
    /// RBAC changed: what its evaluation reused (bindings seen before, the escalation search).
    pub rbac: rbac::keep::Reuse,
    pub workloads_kept: usize,
    pub workloads_evaluated: usize,
    pub paths_kept: usize,
    pub paths_evaluated: usize,
    /// Every workload's XL-001/002 kept at once (nothing they read changed).
    pub all_paths_kept: bool,
    /// XL-003 (placing Pods where a kernel escape awaits) reused.
    pub placement_kept: bool,
    /// The node family (NODE-*) reused.
    pub nodes_kept: bool,
    /// Nodes whose NODE-* part was kept while the family was evaluated again.
    pub node_parts_kept: usize,
}

struct Kept {
    /// The state these results are of; holding it keeps its objects' addresses unique.
    snapshot: Snapshot,
    enabled: BTreeSet<CheckId>,
    release_data: usize,
    rbac: Sink,
    /// What RBAC's evaluation keeps, for a change to RBAC.
    rbac_parts: rbac::keep::Kept,
    powerful: PowerfulAccounts,
    /// How the policy judged findings when `powerful` was found.
    judgement: crate::policy::Judgement,
    /// Whether per-workload results may be reused at all (no image inspection).
    workloads_reusable: bool,
    /// By the address of the workload object's metadata.
    workloads: ByPlace<Sink>,
    seccomp: HashMap<String, bool>,
    /// By the address of the workload object's metadata: the nodes it ran on, and its paths.
    paths: ByPlace<(Option<Vec<String>>, PathPart)>,
    /// XL-003: the namespaces it was computed for, and its result.
    placement: Option<(Vec<(String, String)>, Sink)>,
    /// The workloads audited (by the address of their metadata, in order), and XL-001/002 of
    /// all of them.
    workload_addresses: Vec<usize>,
    all_paths: Option<Sink>,
    /// The node family's result, the day it was judged on and the kube-apiserver Pods (by
    /// address) whose version NODE-002 compares kubelets with.
    nodes: Sink,
    /// Each Node's part of it, by the address of the Node's `nodeInfo`, in the facts' order.
    node_parts: ByPlace<nodes::NodePart>,
    nodes_day: jiff::civil::Date,
    api_servers: Vec<usize>,
    /// The last report's findings, in order: the next report's are mostly the same.
    order: super::Order,
    /// Which controllers and Pods of `snapshot` are owned (not top-level workloads).
    ownership: workloads::Ownership,
    /// WL-013 of each of `snapshot`'s Namespaces, by place.
    namespace_parts: Vec<Option<Arc<Finding>>>,
    /// The places of `snapshot`'s control-plane Pods among its Pods.
    component_places: Vec<usize>,
    /// Which workload each placed Pod of `snapshot` belongs to.
    pod_places: PodPlaces,
    /// Each workload's kind and place among `snapshot`'s objects of its kind.
    workload_at: Vec<(ObjectKind, usize)>,
}

/// The engine's [`layers::Keep`]: kept parts in, this run's parts out.
struct KeepLayers<'r> {
    paths: ByPlace<(Option<Vec<String>>, PathPart)>,
    /// Nodes added, removed or changed since the kept run: a workload's paths are kept only
    /// while none of the nodes it runs on is among them.
    changed_nodes: HashSet<String>,
    placement: Option<(Vec<(String, String)>, Sink)>,
    new_paths: ByPlace<(Option<Vec<String>>, PathPart)>,
    new_placement: Option<(Vec<(String, String)>, Sink)>,
    /// XL-001/002 of every workload, when kept whole ([`layers::Keep::all_paths`]).
    all_paths: Option<Sink>,
    new_all_paths: Option<Sink>,
    /// Whether this run's parts are kept (not for [`Engine::once`]).
    keep: bool,
    /// The last run's Pods' workloads, when the controllers and workloads are the same.
    pod_places: Option<PodPlaces>,
    new_pod_places: Option<PodPlaces>,
    reuse: &'r mut Reuse,
}

impl layers::Keep for KeepLayers<'_> {
    fn paths(
        &mut self,
        w: &Workload,
        on: Option<&[&str]>,
        compute: &dyn Fn() -> PathPart,
    ) -> PathPart {
        let key = address(w);
        let (on, part) = match self.paths.take_next(key) {
            Some((then, part))
                if same_nodes(then.as_deref(), on)
                    && on.is_none_or(|on| !on.iter().any(|n| self.changed_nodes.contains(*n))) =>
            {
                self.reuse.paths_kept += 1;
                (then, part)
            }
            _ => {
                self.reuse.paths_evaluated += 1;
                (placed(on), compute())
            }
        };
        if self.keep {
            self.new_paths.push(key, (on, part.clone()));
        }
        part
    }

    fn placement(&mut self, open: &[(&str, &str)], compute: &dyn Fn() -> Sink) -> Sink {
        let same_open = |then: &[(String, String)]| {
            then.len() == open.len()
                && then
                    .iter()
                    .zip(open)
                    .all(|((a, b), (c, d))| a == c && b == d)
        };
        let part = match self.placement.take() {
            Some((then, part)) if same_open(&then) => {
                self.reuse.placement_kept = true;
                part
            }
            _ => compute(),
        };
        if self.keep {
            let owned = open
                .iter()
                .map(|(n, p)| (n.to_string(), p.to_string()))
                .collect();
            self.new_placement = Some((owned, part.clone()));
        }
        part
    }

    fn all_paths(&mut self) -> Option<Sink> {
        let all = self.all_paths.take()?;
        // The same workloads: each one's part is kept as it was, for a later change.
        self.reuse.paths_kept += self.paths.len();
        self.reuse.all_paths_kept = true;
        if self.keep {
            self.new_paths = std::mem::take(&mut self.paths);
            self.new_all_paths = Some(all.clone());
        }
        Some(all)
    }

    fn all_paths_done(&mut self, all: &Sink) {
        if self.keep {
            self.new_all_paths = Some(all.clone());
        }
    }

    fn keeps(&self) -> bool {
        self.keep
    }

    fn pod_places(&mut self) -> Option<PodPlaces> {
        self.pod_places.take()
    }

    fn pod_places_done(&mut self, places: PodPlaces) {
        self.new_pod_places = Some(places);
    }
}

/// The names of the Nodes added, removed or changed between `then` and `now` (by name, so
/// that two objects of one name, possible in files, are compared as a whole).
fn changed_nodes(now: &[Arc<Node>], then: &[Arc<Node>]) -> HashSet<String> {
    fn by_name(nodes: &[Arc<Node>]) -> HashMap<&str, Vec<Arc<Node>>> {
        let mut out: HashMap<&str, Vec<Arc<Node>>> = HashMap::new();
        for n in nodes {
            out.entry(n.metadata.name.as_deref().unwrap_or(""))
                .or_default()
                .push(n.clone());
        }
        out
    }
    let (now, then) = (by_name(now), by_name(then));
    now.iter()
        .filter(|(name, objects)| !then.get(*name).is_some_and(|t| same(objects, t)))
        .map(|(name, _)| name.to_string())
        .chain(
            then.keys()
                .filter(|name| !now.contains_key(*name))
                .map(|name| name.to_string()),
        )
        .collect()
}

fn address(w: &Workload) -> usize {
    identity::address(w.meta)
}

fn same_nodes(then: Option<&[String]>, now: Option<&[&str]>) -> bool {
    match (then, now) {
        (Some(then), Some(now)) => then.iter().map(String::as_str).eq(now.iter().copied()),
        (None, None) => true,
        _ => false,
    }
}

fn placed(on: Option<&[&str]>) -> Option<Vec<String>> {
    on.map(|on| on.iter().map(|n| n.to_string()).collect())
}

impl Kept {
    /// Whether anything kept may be reused for `input`.
    fn usable_for(&self, input: &AuditInput) -> bool {
        let (now, then) = (input.snapshot, &self.snapshot);
        *input.policy.enabled_ids() == self.enabled
            && std::ptr::from_ref(input.release_data) as usize == self.release_data
            && now.unavailable == then.unavailable
            && now.absent == then.absent
            && now.read_kinds == then.read_kinds
    }

    fn rbac_unchanged(&self, now: &Snapshot) -> bool {
        let then = &self.snapshot;
        same(&now.roles, &then.roles)
            && same(&now.cluster_roles, &then.cluster_roles)
            && same(&now.role_bindings, &then.role_bindings)
            && same(&now.cluster_role_bindings, &then.cluster_role_bindings)
            && same(&now.service_accounts, &then.service_accounts)
            && same(&now.secrets, &then.secrets)
            && same_names(&now.namespaces, &then.namespaces)
    }
}

impl Engine {
    /// Audit `input` as [`super::run_with_previous`] does, reusing what the last run computed
    /// where its inputs are unchanged.
    pub fn run(&mut self, input: &AuditInput, previous: &[Arc<Finding>]) -> Report {
        let snapshot = input.snapshot;
        let policy = input.policy;
        let mut kept = self.kept.take();
        let keep = !self.once;
        // While `kept` holds its snapshot, its objects' addresses are theirs alone.
        let (ctx, ownership) = Ctx::kept(
            input,
            kept.as_ref()
                .map(|k| (&k.ownership, &k.component_places[..], &k.snapshot)),
            keep,
        );
        // The order is checked, not trusted (see `sorted_like`): reused whatever changed.
        let before = kept
            .as_mut()
            .map(|k| std::mem::take(&mut k.order))
            .unwrap_or_default();
        let mut kept = kept.filter(|k| k.usable_for(input));
        let mut reuse = Reuse::default();
        let mut sink = Sink::default();

        // RBAC findings are computed in full (whatever the policy enables) because WL-010 and
        // XL-003 read them, judged as the policy judges them (overrides, exceptions); only
        // enabled ones are reported.
        let (rbac_part, rbac_parts) = match kept.as_mut().filter(|k| k.rbac_unchanged(snapshot)) {
            Some(k) => {
                reuse.rbac_kept = true;
                // The parts are by binding object: kept only while the objects are the same
                // (an equal object has another address, which a later object may take).
                let parts = (identical(&snapshot.role_bindings, &k.snapshot.role_bindings)
                    && identical(
                        &snapshot.cluster_role_bindings,
                        &k.snapshot.cluster_role_bindings,
                    ))
                .then(|| std::mem::take(&mut k.rbac_parts));
                (std::mem::take(&mut k.rbac), parts)
            }
            None => {
                let mut part = Sink::default();
                let prior = kept.as_mut().map(|k| {
                    let parts = std::mem::take(&mut k.rbac_parts);
                    (&k.snapshot, parts)
                });
                let (parts, r) = rbac::keep::audit(snapshot, prior, keep, &mut part);
                reuse.rbac = r;
                (part, parts)
            }
        };
        let rbac_keep = keep.then(|| rbac_part.clone());
        sink.merge(rbac_part);
        // Which accounts are powerful: from the RBAC findings as the policy judges them (about
        // 9 ms at M), so kept while both are.
        let judgement = policy.judgement(input.now);
        let (powerful, same_powerful) = match kept
            .as_mut()
            .filter(|k| reuse.rbac_kept && k.judgement == judgement)
        {
            Some(k) => (std::mem::take(&mut k.powerful), true),
            None => {
                let p = PowerfulAccounts::from_rbac(policy, input.now, &sink.findings);
                let same = kept.as_ref().is_some_and(|k| k.powerful == p);
                (p, same)
            }
        };

        workloads::unreadable_inputs(&ctx, &mut sink);
        let workloads_reusable = input.images.is_none();
        let mut kept_workloads = kept
            .as_mut()
            .filter(|k| {
                k.workloads_reusable
                    && workloads_reusable
                    && same_powerful
                    && same(&snapshot.service_accounts, &k.snapshot.service_accounts)
            })
            .map(|k| std::mem::take(&mut k.workloads))
            .unwrap_or_default();
        // Room only when kept: at M, 78,000 entries an audit run once never fills.
        let room = if keep { ctx.workloads.len() } else { 0 };
        let mut workload_parts = ByPlace::with_capacity(room);
        for w in &ctx.workloads {
            let (part, kept) = kept_workloads.take_next_or(
                address(w),
                keep.then_some(&mut workload_parts),
                || {
                    let mut part = Sink::default();
                    workloads::audit_workload(&ctx, w, &powerful, &mut part);
                    part
                },
            );
            if kept {
                reuse.workloads_kept += 1;
            } else {
                reuse.workloads_evaluated += 1;
            }
            sink.merge(part);
        }
        let namespace_parts = workloads::namespace_checks(
            &ctx,
            kept.as_ref().map(|k| (&k.snapshot, &k.namespace_parts[..])),
            &mut sink,
        );

        probe::audit(input.probe, policy.is_enabled(CheckId::Api033), &mut sink);
        controlplane::audit(&ctx, &mut sink);
        daemonset::audit(&ctx, &mut sink);
        let host = nodes::facts(&ctx);
        let nodes_unchanged = kept
            .as_ref()
            .is_some_and(|k| same(&snapshot.nodes, &k.snapshot.nodes));
        let nodes_day = input.now.to_zoned(jiff::tz::TimeZone::UTC).date();
        let api_servers: Vec<usize> = ctx
            .components
            .iter()
            .filter(|c| c.component == controlplane::Component::ApiServer)
            .map(|c| identity::address(&c.pod.metadata))
            .collect();
        let (node_part, node_parts) = match kept
            .as_mut()
            .filter(|k| nodes_unchanged && k.nodes_day == nodes_day && k.api_servers == api_servers)
        {
            Some(k) => {
                reuse.nodes_kept = true;
                // The parts are by Node object: kept only while the objects are the very same
                // (an equal object has another address, which a later object may take).
                let parts = if identical(&snapshot.nodes, &k.snapshot.nodes) {
                    std::mem::take(&mut k.node_parts)
                } else {
                    ByPlace::default()
                };
                (std::mem::take(&mut k.nodes), parts)
            }
            None => {
                // Each Node's part is kept for the same Node object, judged on the same day
                // against the same API servers; the others are evaluated.
                let mut old = kept
                    .as_mut()
                    .filter(|k| k.nodes_day == nodes_day && k.api_servers == api_servers)
                    .map(|k| std::mem::take(&mut k.node_parts))
                    .unwrap_or_default();
                let mut new = ByPlace::with_capacity(if keep { host.nodes.len() } else { 0 });
                let mut part = Sink::default();
                nodes::audit_kept(
                    &ctx,
                    &host,
                    &mut |n, compute| {
                        let key = std::ptr::from_ref(n.info) as usize;
                        let (p, kept) = old.take_next_or(key, keep.then_some(&mut new), compute);
                        if kept {
                            reuse.node_parts_kept += 1;
                        }
                        p
                    },
                    &mut part,
                );
                (part, new)
            }
        };
        let nodes_keep = keep.then(|| node_part.clone());
        sink.merge(node_part);
        kubelet::audit(
            snapshot,
            input.kubelet,
            &|c| policy.is_enabled(c),
            &mut sink,
        );
        images::audit(&ctx, &mut sink);
        // Last: paths across layers read the lower layers' facts, before exceptions.
        let seccomp: SeccompDefaults = if policy.is_enabled(CheckId::Xl002) {
            kubelet::seccomp_defaults(snapshot, input.kubelet)
        } else {
            Default::default()
        };
        let seccomp_owned: HashMap<String, bool> =
            seccomp.iter().map(|(n, d)| (n.to_string(), *d)).collect();
        let workload_addresses: Vec<usize> = ctx.workloads.iter().map(address).collect();
        // The paths of all workloads at once: nothing they read changed (the workloads are
        // the same objects, in the same order, on unchanged Pods and Nodes).
        let all_paths = kept
            .as_mut()
            .filter(|k| {
                nodes_unchanged
                    && k.seccomp == seccomp_owned
                    && k.workload_addresses == workload_addresses
                    && same(&snapshot.pods, &k.snapshot.pods)
            })
            .and_then(|k| k.all_paths.take());
        let mut layers_keep = KeepLayers {
            changed_nodes: kept
                .as_ref()
                .filter(|_| !nodes_unchanged)
                .map(|k| changed_nodes(&snapshot.nodes, &k.snapshot.nodes))
                .unwrap_or_default(),
            paths: kept
                .as_mut()
                .filter(|k| k.seccomp == seccomp_owned)
                .map(|k| std::mem::take(&mut k.paths))
                .unwrap_or_default(),
            placement: kept
                .as_mut()
                .filter(|_| nodes_unchanged && reuse.rbac_kept)
                .and_then(|k| k.placement.take()),
            new_paths: ByPlace::with_capacity(room),
            new_placement: None,
            all_paths,
            new_all_paths: None,
            keep,
            pod_places: kept
                .as_mut()
                .filter(|k| {
                    placement::places_hold(snapshot, &ctx.workloads, &k.snapshot, &k.workload_at)
                })
                .map(|k| std::mem::take(&mut k.pod_places)),
            new_pod_places: None,
            reuse: &mut reuse,
        };
        layers::audit(&ctx, &host, &seccomp, &mut layers_keep, &mut sink);
        let KeepLayers {
            new_paths,
            new_placement,
            new_all_paths,
            new_pod_places,
            pod_places: unused_places,
            ..
        } = layers_keep;
        // Places not looked at (every workload's paths kept whole) still hold while the Pods
        // are the very same objects: their addresses stay this snapshot's.
        let pods_identical = kept
            .as_ref()
            .is_some_and(|k| identical(&snapshot.pods, &k.snapshot.pods));
        let new_pod_places = new_pod_places.or(unused_places.filter(|_| pods_identical));

        self.kept = keep.then(|| Kept {
            snapshot: snapshot.clone(),
            enabled: policy.enabled_ids().clone(),
            release_data: std::ptr::from_ref(input.release_data) as usize,
            rbac: rbac_keep.unwrap_or_default(),
            rbac_parts: rbac_parts.unwrap_or_default(),
            powerful,
            judgement,
            workloads_reusable,
            workloads: workload_parts,
            seccomp: seccomp_owned,
            paths: new_paths,
            placement: new_placement,
            workload_addresses,
            all_paths: new_all_paths,
            nodes: nodes_keep.unwrap_or_default(),
            node_parts,
            nodes_day,
            api_servers,
            order: super::Order::default(),
            ownership: ownership.unwrap_or_default(),
            component_places: ctx.component_places.clone(),
            namespace_parts,
            pod_places: new_pod_places.unwrap_or_default(),
            workload_at: ctx.workloads.iter().map(|w| (w.kind, w.index)).collect(),
        });
        self.last = reuse;
        let (report, order) = super::finish(input, &ctx, sink, previous, before, keep);
        if let (Some(k), Some(order)) = (self.kept.as_mut(), order) {
            k.order = order;
        }
        report
    }

    /// An engine for one audit: it keeps nothing, so it copies nothing.
    pub fn once() -> Engine {
        Engine {
            once: true,
            ..Engine::default()
        }
    }

    /// Forget everything kept (the next run is a full audit).
    pub fn clear(&mut self) {
        self.kept = None;
    }
}

#[cfg(test)]
#[path = "incremental_tests.rs"]
mod tests;
