//! Paths across layers (category `layers`, host.md "XL-*"): what no single layer shows. They
//! run last and read the lower layers' *facts*, not their reported findings: a lower check
//! that the policy disables, or a lower finding an exception waives, does not hide the path
//! (the lower facts are computed whatever the policy enables; only the XL-* check itself must
//! be enabled). A path through a node whose kernel could not be judged is "not assessed", with
//! the reason and the node count, never a silent pass.

pub mod placement;
#[cfg(test)]
mod tests;

use crate::audit::nodes::{HostFacts, KernelHit, NodeFacts, Privilege, count_nodes};
use crate::audit::workloads::{
    ContainerRef, Workload, containers, host_path_severity, namespaces_without_pod_security,
    normalize_path, seccomp_of,
};
use crate::audit::{Ctx, Finding, ObjectRef, Sink, bounds};
use crate::catalog::CheckId;
use crate::catalog::{Category, Severity};
use crate::outcome::SubjectRef;
use crate::snapshot::ObjectKind;
use foldhash::{HashMap, HashMapExt};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Whether each node's kubelet runs Pods without a profile under RuntimeDefault
/// (`seccompDefault: true`), by node name, from the kubelet layer
/// ([`crate::audit::kubelet::seccomp_defaults`]). A node missing from it is unknown, and XL-002
/// treats unknown as not defaulting (the kubelet's own default is false).
pub type SeccompDefaults<'a> = foldhash::HashMap<&'a str, bool>;

pub fn audit(
    ctx: &Ctx,
    host: &HostFacts,
    seccomp: &SeccompDefaults,
    keep: &mut dyn Keep,
    sink: &mut Sink,
) {
    let [xl1, xl2, xl3] = [CheckId::Xl001, CheckId::Xl002, CheckId::Xl003].map(|c| ctx.enabled(c));
    if !(xl1 || xl2 || xl3) {
        return;
    }
    if let Some(why) = &host.unavailable {
        sink.not_assessed(
            Category::Layers,
            format!("Nodes could not be read ({why}): paths through nodes are unknown"),
        );
        return;
    }
    // No Node at all (a manifest directory, a control plane without kubelets): no path through
    // a node can be traced, so nothing is known about them. Not a pass.
    if ctx.snapshot.nodes.is_empty() {
        sink.not_assessed(
            Category::Layers,
            "no Node in the input: paths through nodes cannot be traced".to_string(),
        );
        return;
    }
    if xl1 || xl2 {
        match keep.all_paths() {
            Some(kept) => sink.merge(kept),
            None => {
                let mut part = Sink::default();
                workload_paths(ctx, host, seccomp, xl1, xl2, keep, &mut part);
                keep.all_paths_done(&part);
                sink.merge(part);
            }
        }
    }
    if xl3 {
        placement_paths(ctx, host, keep, sink);
    }
}

fn is_cap(cap: &str, name: &str) -> bool {
    let upper = cap.to_ascii_uppercase();
    upper.strip_prefix("CAP_").unwrap_or(&upper) == name
}

fn privileged(c: &ContainerRef) -> bool {
    c.security_context.and_then(|s| s.privileged) == Some(true)
}

/// A workload's ways to the host (XL-001): WL-001 privileged, WL-002 hostPID, WL-003 a runtime
/// socket or the host's root, or SYS_ADMIN added. One evidence line each.
pub fn ways_out(w: &Workload) -> Vec<String> {
    let mut out = Vec::new();
    for c in containers(w.spec) {
        if privileged(&c) {
            out.push(format!("container {} is privileged (WL-001)", c.name));
        }
        let added = c
            .security_context
            .and_then(|s| s.capabilities.as_ref())
            .and_then(|caps| caps.add.as_ref());
        if added
            .into_iter()
            .flatten()
            .any(|cap| is_cap(cap, "SYS_ADMIN") || is_cap(cap, "ALL"))
        {
            out.push(format!("container {} adds SYS_ADMIN", c.name));
        }
    }
    if w.spec.host_pid == Some(true) {
        out.push("hostPID: true (WL-002)".to_string());
    }
    for v in w.spec.volumes.iter().flatten() {
        let Some(hp) = v.host_path.as_ref() else {
            continue;
        };
        // WL-003 rates runtime sockets (and the directories holding them) critical.
        let runtime = host_path_severity(&hp.path) == Some(Severity::Critical);
        if runtime || normalize_path(&hp.path) == "/" {
            out.push(format!(
                "volume {}: hostPath {} ({}, WL-003)",
                v.name,
                hp.path,
                if runtime {
                    "the container runtime's socket"
                } else {
                    "the host's root"
                }
            ));
        }
    }
    out
}

/// The runtime's default capability set (containerd, CRI-O and Docker agree on it).
const DEFAULT_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// Whether a container holds capability `cap` (without `CAP_`).
fn holds(c: &ContainerRef, cap: &str) -> bool {
    if privileged(c) {
        return true;
    }
    let caps = c.security_context.and_then(|s| s.capabilities.as_ref());
    let listed = |l: Option<&Vec<String>>| {
        l.into_iter()
            .flatten()
            .any(|x| is_cap(x, cap) || is_cap(x, "ALL"))
    };
    if listed(caps.and_then(|c| c.add.as_ref())) {
        return true;
    }
    if listed(caps.and_then(|c| c.drop.as_ref())) {
        return false;
    }
    DEFAULT_CAPABILITIES.contains(&cap)
}

/// Why a container runs without seccomp filtering, if it does (XL-002).
fn unconfined(
    w: &Workload,
    c: &ContainerRef,
    kubelet_default: Option<bool>,
) -> Option<&'static str> {
    if privileged(c) {
        return Some("privileged (no seccomp filter)");
    }
    match seccomp_of(w, c).as_deref() {
        Some("Unconfined") => Some("seccompProfile Unconfined"),
        None if kubelet_default != Some(true) => {
            Some("no seccomp profile, and the kubelet is not known to default to RuntimeDefault")
        }
        _ => None,
    }
}

/// The node's CVEs an unconfined container can use: those needing a user namespace (which
/// seccomp's default profile blocks) or a capability the container holds.
fn usable<'h>(c: &ContainerRef, hits: &'h [KernelHit<'h>]) -> Vec<&'h KernelHit<'h>> {
    hits.iter()
        .filter(|h| match h.cve.privilege {
            Privilege::UserNamespace => true,
            p => p.capability().is_some_and(|cap| holds(c, cap)),
        })
        .collect()
}

fn kernel_line(n: &NodeFacts, hits: &[&KernelHit]) -> String {
    let cves: Vec<String> = hits.iter().map(|h| h.label()).collect();
    format!(
        "node {}: kernelVersion {}: {} (NODE-004)",
        n.name,
        n.info.kernel_version,
        cves.join(", ")
    )
}

/// The workloads' parts whose paths could not be judged on some node, gathered (shared with
/// the parts) and counted once, at the end: thousands of workloads on nodes of an unknown
/// kernel name a few nodes and reasons many times over.
#[derive(Default)]
struct Unknown {
    parts: Vec<Arc<UnknownOn>>,
}

impl Unknown {
    fn add(&mut self, part: &Option<Arc<UnknownOn>>) {
        if let Some(u) = part {
            self.parts.push(u.clone());
        }
    }

    fn report(&self, check: CheckId, what: &str, sink: &mut Sink) {
        if self.parts.is_empty() {
            return;
        }
        fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
            let set: foldhash::HashSet<&str> = items.collect();
            let mut out: Vec<&str> = set.into_iter().collect();
            out.sort_unstable();
            out
        }
        let parts = &self.parts;
        let workloads = distinct(parts.iter().map(|u| u.workload.as_str())).len();
        let nodes = distinct(
            parts
                .iter()
                .flat_map(|u| u.nodes.iter().map(String::as_str)),
        );
        let reasons = distinct(
            parts
                .iter()
                .flat_map(|u| u.reasons.iter().map(String::as_str)),
        );
        sink.not_assessed_partly(
            Category::Layers,
            format!(
                "{check} not assessed for {} workload{} {what} on {}: their kernel could not be judged ({})",
                workloads,
                if workloads == 1 { "" } else { "s" },
                count_nodes(&nodes),
                bounds::join_names(&reasons, "; ", 300)
            ),
            &[check],
        );
    }
}

/// One workload's nodes and reasons for which a path could not be judged.
#[derive(Clone, Debug, Default)]
pub struct UnknownOn {
    workload: String,
    nodes: Vec<String>,
    reasons: Vec<String>,
}

impl UnknownOn {
    fn add(part: &mut Option<Arc<UnknownOn>>, w: &Workload, node: &str, why: &str) {
        let u = part.get_or_insert_with(|| {
            Arc::new(UnknownOn {
                workload: w.to_string(),
                ..UnknownOn::default()
            })
        });
        // Built before the part is shared: the only holder.
        let u = Arc::get_mut(u).expect("a part being built is not shared");
        u.nodes.push(node.to_string());
        // One reason per kind of kernel, not per node: the nodes of a workload mostly share it.
        if !u.reasons.iter().any(|r| r == why) {
            u.reasons.push(why.to_string());
        }
    }
}

/// What XL-001 and XL-002 found for one workload: its findings, the nodes on which its
/// paths could not be judged, and whether where it runs is unknown. Owned, so that the
/// incremental audit can keep it ([`crate::audit::incremental`]).
#[derive(Clone, Debug, Default)]
pub struct PathPart {
    /// Shared with the engine that keeps the part (see [`super::Report::findings`]).
    pub findings: Vec<std::sync::Arc<Finding>>,
    /// Out of line: rare (a node whose kernel cannot be judged), and the engine keeps a part
    /// per workload; shared, so that keeping a part does not copy its names.
    unknown1: Option<Arc<UnknownOn>>,
    unknown2: Option<Arc<UnknownOn>>,
    unplaced: bool,
}

/// What one workload's paths read besides the workload and the nodes it runs on.
pub struct PathInputs<'c, 'a> {
    ctx: &'c Ctx<'a>,
    nodes: HashMap<&'c str, &'c NodeFacts<'a>>,
    seccomp: &'c SeccompDefaults<'c>,
    xl1: bool,
    xl2: bool,
}

/// How [`audit`] gets the parts an incremental audit may keep: each method is given the
/// inputs the part depends on besides the engine's own conditions, and `compute`, which
/// evaluates it; an engine may return a kept result instead. A full audit passes [`Compute`].
pub trait Keep {
    /// One workload's XL-001/002, placed on `on` (`None`: no Pod of it is placed).
    fn paths(
        &mut self,
        w: &Workload,
        on: Option<&[&str]>,
        compute: &dyn Fn() -> PathPart,
    ) -> PathPart;

    /// XL-003, for the namespaces in scope without enforcement, `open`.
    fn placement(&mut self, open: &[(&str, &str)], compute: &dyn Fn() -> Sink) -> Sink;

    /// XL-001/002 of every workload at once, if the engine kept them whole (its conditions:
    /// the same workloads, Pods, Nodes and seccomp defaults); `None`: evaluated workload by
    /// workload through [`Keep::paths`].
    fn all_paths(&mut self) -> Option<Sink> {
        None
    }

    /// What this run found for XL-001/002 of every workload, for the next run.
    fn all_paths_done(&mut self, _: &Sink) {}

    /// Whether the engine keeps this run's parts (then [`Keep::pod_places_done`] is told).
    fn keeps(&self) -> bool {
        false
    }

    /// The Pods' workloads of the last run, if the engine kept them and they still apply (the
    /// same controllers and workloads: see [`placement::nodes_of_kept`]).
    fn pod_places(&mut self) -> Option<placement::PodPlaces> {
        None
    }

    /// This run's Pods' workloads, for the next run.
    fn pod_places_done(&mut self, _: placement::PodPlaces) {}
}

/// The [`Keep`] of a full audit: always evaluate.
pub struct Compute;

impl Keep for Compute {
    fn paths(
        &mut self,
        _: &Workload,
        _: Option<&[&str]>,
        compute: &dyn Fn() -> PathPart,
    ) -> PathPart {
        compute()
    }

    fn placement(&mut self, _: &[(&str, &str)], compute: &dyn Fn() -> Sink) -> Sink {
        compute()
    }
}

/// XL-001 and XL-002: one finding per (workload, node).
fn workload_paths(
    ctx: &Ctx,
    host: &HostFacts,
    seccomp: &SeccompDefaults,
    xl1: bool,
    xl2: bool,
    keep: &mut dyn Keep,
    sink: &mut Sink,
) {
    if let Some(why) = ctx.snapshot.unavailable(ObjectKind::Pod) {
        sink.not_assessed_checks(
            Category::Layers,
            format!("cannot read pods ({why}): which node a workload runs on is unknown"),
            &[CheckId::Xl001, CheckId::Xl002],
        );
        return;
    }
    let inputs = PathInputs {
        ctx,
        nodes: host.nodes.iter().map(|n| (n.name, n)).collect(),
        seccomp,
        xl1,
        xl2,
    };
    let then = keep.pod_places();
    let (placed, now) =
        placement::nodes_of_kept(ctx.snapshot, &ctx.workloads, then.as_ref(), keep.keeps());
    drop(then);
    if let Some(now) = now {
        keep.pod_places_done(now);
    }
    let (mut unknown1, mut unknown2) = (Unknown::default(), Unknown::default());
    let mut unplaced = 0usize;
    for (i, w) in ctx.workloads.iter().enumerate() {
        if ctx.is_control_plane(w) {
            continue;
        }
        let on = Some(placed[i].as_slice()).filter(|on| !on.is_empty());
        let part = keep.paths(w, on, &|| paths_of_workload(&inputs, w, on));
        sink.findings.extend(part.findings);
        unknown1.add(&part.unknown1);
        unknown2.add(&part.unknown2);
        unplaced += usize::from(part.unplaced);
    }
    if xl1 {
        unknown1.report(CheckId::Xl001, "with a way to the host", sink);
    }
    if xl2 {
        unknown2.report(CheckId::Xl002, "with unconfined containers", sink);
    }
    if unplaced > 0 {
        sink.not_assessed_partly(
            Category::Layers,
            format!(
                "XL-001 not assessed for {unplaced} workload{} with a way to the host: the input has no Pods, so which node {} on is unknown",
                if unplaced == 1 { "" } else { "s" },
                if unplaced == 1 { "it runs" } else { "they run" }
            ),
            &[CheckId::Xl001],
        );
    }
}

/// XL-001 and XL-002 for one workload running on `on` (`None`: no Pod of it is placed).
fn paths_of_workload(p: &PathInputs, w: &Workload, on: Option<&[&str]>) -> PathPart {
    let mut part = PathPart::default();
    let ways = if p.xl1 { ways_out(w) } else { Vec::new() };
    let Some(on) = on else {
        // Files without Pods: where the workload runs is unknown.
        part.unplaced = p.ctx.snapshot.is_absent(ObjectKind::Pod) && !ways.is_empty();
        return part;
    };
    for n in on.iter().filter_map(|name| p.nodes.get(name)) {
        let unknown = n.kernel_unknown();
        if !ways.is_empty() {
            let hits: Vec<&KernelHit> = n.kernel_hits().iter().collect();
            if !hits.is_empty() || !n.runtime_cves.is_empty() {
                part.findings
                    .push(bounds::bounded(escape_path(w, n, &ways, &hits)));
            } else if let Some(why) = &unknown {
                UnknownOn::add(&mut part.unknown1, w, n.name, why);
            }
        }
        if p.xl2 {
            let default = p.seccomp.get(n.name).copied();
            let open: Vec<(ContainerRef, &'static str)> = containers(w.spec)
                .filter_map(|c| unconfined(w, &c, default).map(|why| (c, why)))
                .collect();
            if open.is_empty() {
                continue;
            }
            let usable: Vec<(&ContainerRef, &'static str, Vec<&KernelHit>)> = open
                .iter()
                .map(|(c, why)| (c, *why, usable(c, n.kernel_hits())))
                .filter(|(_, _, h)| !h.is_empty())
                .collect();
            if !usable.is_empty() {
                part.findings
                    .push(bounds::bounded(unconfined_path(w, n, &usable)));
            } else if let Some(why) = &unknown {
                UnknownOn::add(&mut part.unknown2, w, n.name, why);
            }
        }
    }
    part
}

/// XL-001's finding: workload → way out → node → CVE.
fn escape_path(w: &Workload, n: &NodeFacts, ways: &[String], hits: &[&KernelHit]) -> Finding {
    let mut cves: Vec<String> = n.runtime_cves.iter().map(|c| c.to_string()).collect();
    cves.extend(hits.iter().map(|h| h.label()));
    let first_way = ways[0].split(" (").next().unwrap_or(&ways[0]);
    let mut evidence = vec![format!(
        "path: {w} → {first_way} → node {} → {}",
        n.name, cves[0]
    )];
    evidence.extend(ways.iter().map(|w| format!("way out: {w}")));
    if !n.runtime_cves.is_empty() {
        evidence.push(format!(
            "node {}: containerRuntimeVersion {}: {} (NODE-003)",
            n.name,
            n.info.container_runtime_version,
            n.runtime_cves.join(", ")
        ));
    }
    if !hits.is_empty() {
        evidence.push(kernel_line(n, hits));
    }
    let cve_refs: Vec<&str> = cves.iter().map(String::as_str).collect();
    let ways_text = match ways.len() {
        1 => first_way.to_string(),
        n => format!("{first_way}, and {} more", n - 1),
    };
    Finding::new(
        CheckId::Xl001,
        w.object_ref(),
        format!(
            "{w} has a way to the host ({ways_text}) and runs on node {}, which has known escape vulnerabilities: {}",
            n.name,
            bounds::join_names(&cve_refs, ", ", bounds::MAX_MESSAGE / 2)
        ),
    )
    .node(n.name)
    .evidence(bounds::capped(evidence, bounds::MAX_EVIDENCE, |e| e))
    .fill(&[
        ("workload", &w.to_string()),
        ("edit", &w.edit_command()),
        ("node", n.name),
    ])
}

/// XL-002's finding: the unconfined containers and the CVEs each can use.
fn unconfined_path(
    w: &Workload,
    n: &NodeFacts,
    usable: &[(&ContainerRef, &'static str, Vec<&KernelHit>)],
) -> Finding {
    let names: Vec<&str> = usable.iter().map(|(c, _, _)| c.name).collect();
    let mut all: Vec<&KernelHit> = usable
        .iter()
        .flat_map(|(_, _, h)| h.iter().copied())
        .collect();
    all.sort_by(|a, b| a.cve.cve.cmp(&b.cve.cve));
    all.dedup_by(|a, b| a.cve.cve == b.cve.cve);
    let labels: Vec<String> = all.iter().map(|h| h.label()).collect();
    let mut evidence: Vec<String> = usable
        .iter()
        .map(|(c, why, hits)| {
            let cves: Vec<String> = hits
                .iter()
                .map(|h| format!("{} ({})", h.cve.cve, h.cve.privilege.describe()))
                .collect();
            format!("container {}: {why}; can use {}", c.name, cves.join(", "))
        })
        .collect();
    evidence.push(kernel_line(n, &all));
    evidence.push(format!(
        "path: {w} → container {} without seccomp → node {} → {}",
        names[0], n.name, labels[0]
    ));
    Finding::new(
        CheckId::Xl002,
        w.object_ref(),
        format!(
            "{w} runs containers without seccomp filtering on node {}, whose kernel has CVEs they can reach: {}",
            n.name,
            labels.join(", ")
        ),
    )
    .node(n.name)
    .container(&names)
    .evidence(bounds::capped(evidence, bounds::MAX_EVIDENCE, |e| e))
    .fill(&[("edit", &w.edit_command()), ("node", n.name)])
}

fn subject_label(s: &SubjectRef) -> String {
    match &s.namespace {
        Some(ns) => format!("{} {ns}/{}", s.kind, s.name),
        None => format!("{} {}", s.kind, s.name),
    }
}

/// XL-003: one finding per (binding, subject) with an RBAC-006/007 finding that reaches a
/// namespace without Pod Security enforcement, while some node's kernel has a NODE-004 CVE.
fn placement_paths(ctx: &Ctx, host: &HostFacts, keep: &mut dyn Keep, sink: &mut Sink) {
    if let Some(why) = ctx.snapshot.unavailable(ObjectKind::Namespace) {
        sink.not_assessed_checks(
            Category::Layers,
            format!("cannot read namespaces ({why}): where Pod Security is enforced is unknown"),
            &[CheckId::Xl003],
        );
        return;
    }
    let open: Vec<(&str, &str)> = namespaces_without_pod_security(ctx.snapshot)
        .into_iter()
        .filter(|(ns, _, _)| ctx.policy.namespaces.contains(ns))
        .map(|(ns, problem, _)| (ns, problem))
        .collect();
    if open.is_empty() {
        return;
    }
    let part = keep.placement(&open, &|| {
        let mut part = Sink::default();
        placement_reach(host, &open, &sink.findings, &mut part);
        part
    });
    sink.merge(part);
}

/// XL-003 given the namespaces in scope without enforcement (`open`, with their problem) and
/// the RBAC findings: what [`placement_paths`] computes, kept by an incremental audit while
/// its inputs are unchanged.
fn placement_reach(
    host: &HostFacts,
    open: &[(&str, &str)],
    rbac: &[std::sync::Arc<Finding>],
    sink: &mut Sink,
) {
    let vulnerable: Vec<&NodeFacts> = host
        .nodes
        .iter()
        .filter(|n| !n.kernel_hits().is_empty())
        .collect();
    let unknown: Vec<&NodeFacts> = if vulnerable.is_empty() {
        host.nodes
            .iter()
            .filter(|n| n.kernel_unknown().is_some())
            .collect()
    } else {
        Vec::new()
    };
    // No node with a known escape, and none unknown: no path, and nothing to say (the
    // grants are not even gathered: thousands of RBAC findings at a large cluster).
    if vulnerable.is_empty() && unknown.is_empty() {
        return;
    }
    // The open namespaces by name, in `open`'s order: a RoleBinding reaches its own
    // namespace only (a scan of `open` per binding was quadratic: minutes of CPU at 10,000
    // namespaces and 50,000 RoleBindings).
    let mut open_in: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
    for &(ns, problem) in open {
        open_in.entry(ns).or_default().push((ns, problem));
    }
    let reach = |binding: &ObjectRef| -> &[(&str, &str)] {
        match (binding.kind.as_ref(), binding.namespace.as_deref()) {
            ("RoleBinding", Some(ns)) => open_in.get(ns).map_or(&[], Vec::as_slice),
            ("RoleBinding", None) => &[],
            _ => open,
        }
    };
    // The RBAC findings are computed whatever the policy enables (see audit::run). Only the
    // grants of bindings that reach an open namespace are gathered (a large cluster's
    // RoleBindings mostly reach none). Grouped by hashing, in no order: the report orders
    // findings (one XL-003 per binding and subject, in the findings' own order within it),
    // and ordering thousands of pairs by their names was most of an RBAC change's XL-003
    // time, when only their number is said.
    let mut grants: HashMap<(&ObjectRef, &SubjectRef), Vec<&Finding>> = HashMap::new();
    for f in rbac
        .iter()
        .filter(|f| matches!(f.check, CheckId::Rbac006 | CheckId::Rbac007))
    {
        let Some(subject) = &f.subject else { continue };
        if !reach(&f.resource).is_empty() {
            grants.entry((&f.resource, subject)).or_default().push(f);
        }
    }
    if grants.is_empty() {
        return;
    }
    if vulnerable.is_empty() {
        let mut names: Vec<&str> = unknown.iter().map(|n| n.name).collect();
        names.sort_unstable();
        let reasons: BTreeSet<String> = unknown.iter().filter_map(|n| n.kernel_unknown()).collect();
        let reasons: Vec<&str> = reasons.iter().map(String::as_str).collect();
        sink.not_assessed_checks(
            Category::Layers,
            format!(
                "XL-003 not assessed for {} subject{} that can place Pods in namespaces without Pod Security enforcement: the kernel of {} could not be judged ({})",
                grants.len(),
                if grants.len() == 1 { "" } else { "s" },
                count_nodes(&names),
                bounds::join_names(&reasons, "; ", 300)
            ),
            &[CheckId::Xl003],
        );
        return;
    }
    // What every subject's finding says of the nodes: built once, not per subject (thousands
    // of subjects and nodes at a large cluster).
    let node_names: Vec<&str> = vulnerable.iter().map(|n| n.name).collect();
    let nodes_text = if node_names.len() == 1 {
        format!("node {}", node_names[0])
    } else {
        format!("nodes {}", bounds::join_names(&node_names, ", ", 200))
    };
    let first = vulnerable[0];
    let first_cve = first.kernel_hits()[0].label();
    let kernel_lines = bounds::capped(vulnerable.iter(), 5, |n| {
        let hits: Vec<&KernelHit> = n.kernel_hits().iter().collect();
        kernel_line(n, &hits)
    });
    for ((binding, subject), found) in grants {
        let ns = reach(binding);
        let lines = found.iter().map(|f| format!("{}: {}", f.check, f.message));
        let who = subject_label(subject);
        let ns_names: Vec<&str> = ns.iter().map(|(n, _)| *n).collect();
        let mut evidence = vec![format!(
            "path: {who} → namespace {} → node {} → {first_cve}",
            ns_names[0], first.name
        )];
        evidence.extend(lines);
        evidence.extend(bounds::capped(ns.iter(), 5, |(n, problem)| {
            format!("namespace {n} {problem} (WL-013)")
        }));
        evidence.extend(kernel_lines.iter().cloned());
        sink.push(
            Finding::new(
                CheckId::Xl003,
                binding.clone(),
                format!(
                    "{who} can create or exec into Pods in namespaces without Pod Security enforcement ({}) through {} {}, and {} run a kernel with a known escape: it can place an escape there",
                    bounds::join_names(&ns_names, ", ", 300),
                    binding.kind,
                    binding.name,
                    nodes_text
                ),
            )
            .subject(subject.clone())
            .evidence(bounds::capped(evidence, bounds::MAX_EVIDENCE, |e| e)),
        );
    }
}
