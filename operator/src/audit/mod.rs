//! The audit: a pure function from a snapshot and a policy to a report. It never touches the
//! network or a clock it was not given; the CLI and the controller both call [`run`].

pub mod bounds;
pub mod controlplane;
pub mod daemonset;
mod finding;
mod hygiene;
pub mod identity;
pub mod images;
pub mod incremental;
pub mod kubelet;
pub mod layers;
pub mod nodes;
pub mod probe;
pub mod rbac;
mod score;
pub mod workloads;

pub use finding::{ExceptionRef, Finding, ObjectRef, SourceLocation};

use crate::catalog::CheckId;
use crate::catalog::{Category, Severity};
use crate::outcome::{LayerStatus, NotAssessed, Summary};
use crate::policy::EffectivePolicy;
use crate::snapshot::Snapshot;
use jiff::Timestamp;
use std::sync::Arc;

/// Everything an audit reads.
pub struct AuditInput<'a> {
    pub snapshot: &'a Snapshot,
    pub policy: &'a EffectivePolicy,
    /// "Now", for exception expiry and end-of-life dates (`audit --as-of` fixes it).
    pub now: Timestamp,
    /// Release end-of-life dates and runtime advisories (NODE-*).
    pub release_data: &'a nodes::ReleaseData,
    /// The live anonymous-access probe (API-033); `None` offline.
    pub probe: Option<&'a crate::snapshot::ProbeResult>,
    /// Image configs fetched from registries (`spec.images.inspect`); `None` when off.
    pub images: Option<&'a images::ImageConfigs>,
    /// What the kubelets answered (`spec.kubelet.configz`, `spec.probes.kubelet`); `None`
    /// offline or when neither is on.
    pub kubelet: Option<&'a kubelet::LiveKubelets>,
}

impl<'a> AuditInput<'a> {
    /// An audit of files: the built-in release data, no live probe, no image configs, no
    /// kubelet answers.
    pub fn offline(
        snapshot: &'a Snapshot,
        policy: &'a EffectivePolicy,
        now: Timestamp,
    ) -> AuditInput<'a> {
        AuditInput {
            snapshot,
            policy,
            now,
            release_data: nodes::ReleaseData::builtin(),
            probe: None,
            images: None,
            kubelet: None,
        }
    }
}

/// The result of one audit.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Sorted by severity, check, namespace, name. Shared: an incremental engine keeps the
    /// same findings for its next audit, and a finding is copied only when this report's
    /// policy changes it (a severity override, an exception); findings are bounded as they
    /// enter ([`bounds::bounded`]).
    pub findings: Vec<Arc<Finding>>,
    pub summary: Summary,
    pub not_assessed: Vec<NotAssessed>,
    /// 0-100, see [`score`].
    pub score: u32,
    /// The checks the policy enabled, in catalog order: what was audited (JUnit lists each).
    pub checks: Vec<CheckId>,
    /// The enabled checks this audit could judge, in catalog order (see
    /// [`score::assessed`]): compliance frameworks never pass a control on a check that did
    /// not run.
    pub assessed: Vec<CheckId>,
    /// How many resources each assessed check examined, for checks that report at most one
    /// finding per resource of a known set (workloads, namespaces, nodes, control-plane Pods);
    /// RBAC checks, whose targets are grants, are absent. Frameworks derive passing counts
    /// from it, and never pass a control on zero resources.
    pub examined: std::collections::BTreeMap<CheckId, usize>,
    /// The posture layer by layer (see [`score::layers`]).
    pub layers: Vec<LayerStatus>,
}

impl Report {
    /// Unsuppressed findings at or above `threshold`.
    pub fn count_at_or_above(&self, threshold: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| !f.suppressed && f.severity >= threshold)
            .count()
    }
}

/// What check families write to.
#[derive(Clone, Debug, Default)]
pub struct Sink {
    /// Shared, so that a kept part costs a pointer per finding (see [`Report::findings`]).
    pub findings: Vec<Arc<Finding>>,
    /// What could not be judged. Boxed: most sinks are one workload's part, which the
    /// incremental engine keeps for each of a large cluster's workloads, and records none
    /// (a `Sink` is 32 bytes, was 144).
    gaps: Option<Box<Gaps>>,
}

#[derive(Clone, Debug, Default)]
struct Gaps {
    /// Why a category, or some of its checks (`None`: every check of the category), could not
    /// be assessed.
    not_assessed: Vec<(Category, String, Option<Vec<CheckId>>)>,
    /// Reasons that concern only some of a check's resources (`partial`): the check judged the
    /// rest, so its earlier findings are not held (see [`run_with_previous`]).
    partial: std::collections::HashSet<String>,
    /// Resources a check judged none of this time (a node whose kubelet could not be read)
    /// while it judged others: their earlier findings of that check are held.
    held_on: std::collections::HashMap<ObjectRef, Vec<CheckId>>,
}

impl Sink {
    fn gaps(&mut self) -> &mut Gaps {
        self.gaps.get_or_insert_default()
    }

    pub fn push(&mut self, f: Finding) {
        self.findings.push(bounds::bounded(f));
    }

    /// Push every finding of `fs` (an `Option` pushes its finding, if any).
    pub fn extend(&mut self, fs: impl IntoIterator<Item = Finding>) {
        self.findings.extend(fs.into_iter().map(bounds::bounded));
    }

    /// Every check of `category` could not be assessed, for `reason`.
    pub fn not_assessed(&mut self, category: Category, reason: impl Into<String>) {
        self.record(category, reason.into(), None);
    }

    /// Only `checks` (of `category`) could not be assessed, for `reason`.
    pub fn not_assessed_checks(
        &mut self,
        category: Category,
        reason: impl Into<String>,
        checks: &[CheckId],
    ) {
        self.record(category, reason.into(), Some(checks.to_vec()));
    }

    /// Only `checks` could not be assessed for some of their resources (nodes whose kernel
    /// cannot be judged), for `reason`; the other resources were judged. Their findings from
    /// earlier audits are not held: a fixed node must not keep its finding because another
    /// node cannot be judged.
    pub fn not_assessed_partly(
        &mut self,
        category: Category,
        reason: impl Into<String>,
        checks: &[CheckId],
    ) {
        let reason = reason.into();
        self.gaps().partial.insert(reason.clone());
        self.record(category, reason, Some(checks.to_vec()));
    }

    /// `checks` judged the other nodes but not `nodes`, for `reason`: a partial reason (see
    /// [`Sink::not_assessed_partly`]), and the earlier findings of `checks` on those Nodes are
    /// held, not resolved. A node fixed since loses its finding; one that cannot be judged keeps
    /// its own.
    pub fn not_assessed_on_nodes(
        &mut self,
        category: Category,
        reason: impl Into<String>,
        checks: &[CheckId],
        nodes: &[&str],
    ) {
        self.not_assessed_partly(category, reason, checks);
        for node in nodes {
            let resource = ObjectRef::new(crate::snapshot::ObjectKind::Node, None, node);
            self.gaps()
                .held_on
                .entry(resource)
                .or_default()
                .extend(checks);
        }
    }

    /// Add what `other` recorded, as if it had been written here.
    pub fn merge(&mut self, other: Sink) {
        self.findings.extend(other.findings);
        let Some(other) = other.gaps else { return };
        for (category, reason, checks) in other.not_assessed {
            self.record(category, reason, checks);
        }
        let gaps = self.gaps();
        gaps.partial.extend(other.partial);
        for (resource, checks) in other.held_on {
            gaps.held_on.entry(resource).or_default().extend(checks);
        }
    }

    fn record(&mut self, category: Category, reason: String, checks: Option<Vec<CheckId>>) {
        let not_assessed = &mut self.gaps().not_assessed;
        match not_assessed
            .iter_mut()
            .find(|(c, r, _)| *c == category && *r == reason)
        {
            Some((_, _, cur)) => match (cur.as_mut(), checks) {
                (Some(cur), Some(more)) => cur.extend(more),
                (_, None) => *cur = None,
                (None, Some(_)) => {}
            },
            None => not_assessed.push((category, reason, checks)),
        }
    }

    /// The entries, with the checks of each resolved against the policy: only enabled checks
    /// are named, and an entry naming none (its checks are all off) is dropped.
    fn resolve_not_assessed(&mut self, policy: &EffectivePolicy) -> Vec<NotAssessed> {
        let entries = self
            .gaps
            .as_mut()
            .map(|g| std::mem::take(&mut g.not_assessed));
        let mut out: Vec<NotAssessed> = entries
            .into_iter()
            .flatten()
            .filter_map(|(category, reason, checks)| {
                let mut ids: Vec<String> = match checks {
                    None => crate::catalog::CHECKS
                        .iter()
                        .filter(|c| c.category == category)
                        .map(|c| c.id)
                        .filter(|id| policy.is_enabled(*id))
                        .map(String::from)
                        .collect(),
                    Some(ids) => ids
                        .into_iter()
                        .filter(|id| policy.is_enabled(*id))
                        .map(String::from)
                        .collect(),
                };
                ids.sort();
                ids.dedup();
                (!ids.is_empty()).then(|| NotAssessed {
                    category: category.as_str().to_string(),
                    reason,
                    checks: ids,
                })
            })
            .collect();
        out.sort();
        out
    }
}

/// What every check family reads: the input, and the indexes built once per audit.
pub struct Ctx<'a> {
    pub snapshot: &'a Snapshot,
    pub policy: &'a EffectivePolicy,
    pub now: Timestamp,
    pub release_data: &'a nodes::ReleaseData,
    /// Every pod spec, on its top-level object.
    pub workloads: Vec<workloads::Workload<'a>>,
    /// The control-plane Pods (kube-system).
    pub components: Vec<controlplane::ComponentPod<'a>>,
    /// Their places in `snapshot.pods`, for the next audit (see [`controlplane::component_pods_kept`]).
    pub component_places: Vec<usize>,
    /// Inspected image configs, and the Pods' running images to match them with.
    pub images: Option<(&'a images::ImageConfigs, images::RunningImages<'a>)>,
}

impl<'a> Ctx<'a> {
    pub fn new(input: &AuditInput<'a>) -> Ctx<'a> {
        Ctx::kept(input, None, false).0
    }

    /// [`Ctx::new`], reusing the ownership of workloads and the places of control-plane Pods
    /// an earlier audit found in a snapshot still held (see [`workloads::top_level_kept`],
    /// [`controlplane::component_pods_kept`]), and returning this one's ownership with `keep`.
    pub fn kept(
        input: &AuditInput<'a>,
        then: Option<(&workloads::Ownership, &[usize], &Snapshot)>,
        keep: bool,
    ) -> (Ctx<'a>, Option<workloads::Ownership>) {
        let (workloads, ownership) = workloads::top_level_kept(
            input.snapshot,
            then.map(|(ownership, _, snapshot)| (ownership, snapshot)),
            keep,
        );
        let (components, component_places) = controlplane::component_pods_kept(
            input.snapshot,
            then.map(|(_, places, snapshot)| (places, snapshot)),
        );
        let ctx = Ctx {
            snapshot: input.snapshot,
            policy: input.policy,
            now: input.now,
            release_data: input.release_data,
            workloads,
            components,
            component_places,
            images: input
                .images
                .map(|i| (i, images::RunningImages::new(input.snapshot))),
        };
        (ctx, ownership)
    }

    pub fn enabled(&self, check: CheckId) -> bool {
        self.policy.is_enabled(check)
    }

    /// Whether a workload is a control-plane Pod (exempt from WL-* and ETCD-009).
    pub fn is_control_plane(&self, w: &workloads::Workload) -> bool {
        w.pod
            .is_some_and(|p| self.components.iter().any(|c| std::ptr::eq(c.pod, p)))
    }
}

/// Run every enabled check of `input.policy` over `input.snapshot`.
pub fn run(input: &AuditInput) -> Report {
    run_with_previous(input, &[])
}

/// [`run`], knowing the findings of an earlier audit (the controller's Finding objects).
///
/// A check that cannot be assessed now (a kind it reads is forbidden, gone, or its watch keeps
/// failing) says nothing about whether its earlier findings were fixed: those are *held*,
/// carried into this report as they were last seen (with exceptions applied anew), so their
/// Finding objects stay, keep their `firstSeen`, and no `FindingResolved` is reported for
/// them. Findings the check still produces from what can be read are reported as usual. Held
/// findings go once the check is assessed again and does not find them.
pub fn run_with_previous(input: &AuditInput, previous: &[Arc<Finding>]) -> Report {
    incremental::Engine::once().run(input, previous)
}

/// The end of every audit, after the check families wrote to `sink`: hold what could not be
/// assessed, apply scoping, severity overrides and exceptions, add the policy's own hygiene,
/// sort, score. (Findings are bounded as they enter: [`bounds::bounded`].) With `keep`, also
/// returns the order an engine keeps for the next audit (see [`sorted_deduped_like`]).
fn finish(
    input: &AuditInput,
    ctx: &Ctx,
    mut sink: Sink,
    previous: &[Arc<Finding>],
    before: Order,
    keep: bool,
) -> (Report, Option<Order>) {
    let policy = input.policy;
    let not_assessed = sink.resolve_not_assessed(policy);
    let unassessed: foldhash::HashSet<&str> = not_assessed
        .iter()
        .flat_map(|n| n.checks.iter().map(String::as_str))
        .collect();
    let wholly_unassessed: foldhash::HashSet<&str> = not_assessed
        .iter()
        .filter(|n| {
            !sink
                .gaps
                .as_ref()
                .is_some_and(|g| g.partial.contains(&n.reason))
        })
        .flat_map(|n| n.checks.iter().map(String::as_str))
        .collect();
    hold(previous, &wholly_unassessed, &mut sink.findings);
    let held_on = sink
        .gaps
        .as_mut()
        .map(|g| std::mem::take(&mut g.held_on))
        .unwrap_or_default();
    if !held_on.is_empty() {
        // Looked up by reference: no key is built per earlier finding; and only for the few
        // checks held somewhere, so that most findings cost a comparison, not a hash.
        let mut held_checks: Vec<CheckId> = held_on.values().flatten().copied().collect();
        held_checks.sort_unstable_by_key(|c| *c as usize);
        held_checks.dedup();
        hold_matching(
            previous,
            |p| {
                held_checks.contains(&p.check)
                    && held_on
                        .get(&p.resource)
                        .is_some_and(|c| c.contains(&p.check))
            },
            &mut sink.findings,
        );
    }

    // One pass over the findings (a large cluster has 100,000): scoping, severity overrides,
    // exceptions, and the counts the summary, score and layers read.
    let mut tallies = score::Tallies::default();
    let mut used = vec![false; policy.exceptions.len()];
    let mut findings: Vec<Arc<Finding>> = Vec::with_capacity(sink.findings.len());
    for mut f in sink.findings {
        if !(policy.is_enabled(f.check) && in_scope(policy, &f)) {
            continue;
        }
        override_severity(policy, &mut f);
        hygiene::waive(policy, input.now, &mut f, &mut used);
        tallies.add(&f);
        findings.push(f);
    }
    let (hygiene_findings, not_judged) =
        hygiene::audit(policy, input.now, &used, &unassessed, previous);
    // Hygiene findings take overrides like any other (they are never suppressed by `*`).
    for f in hygiene_findings {
        let mut f = bounds::bounded(f);
        override_severity(policy, &mut f);
        tallies.add(&f);
        findings.push(f);
    }
    let mut not_assessed = not_assessed;
    if !not_judged.is_empty() {
        let list: Vec<String> = not_judged.iter().map(usize::to_string).collect();
        not_assessed.push(NotAssessed {
            category: Category::Policy.as_str().to_string(),
            reason: format!(
                "spec.exceptions[{}] waive checks not assessed: whether they still match a finding is unknown",
                list.join("], [")
            ),
            checks: vec![CheckId::Pol002.to_string()],
        });
        not_assessed.sort();
    }

    let (findings, order) = sorted_deduped_like(findings, before, Some(&mut tallies), keep);
    let summary = tallies.summary(|_| true);
    let live = input.probe.is_some();
    let dockerfiles = !input.snapshot.dockerfiles.is_empty() || input.images.is_some();
    let score = score::score(policy, &tallies, &not_assessed, live, dockerfiles);
    let assessed = score::assessed(policy, &tallies, &not_assessed, live, dockerfiles);
    let layers = score::layers(
        policy,
        &tallies,
        &not_assessed,
        &assessed,
        live,
        dockerfiles,
    );
    let examined = examined(ctx, &assessed);
    let report = Report {
        findings,
        summary,
        not_assessed,
        score,
        checks: policy.enabled_checks().map(|c| c.id).collect(),
        assessed,
        examined,
        layers,
    };
    (report, order)
}

/// The size of the set of resources each of `assessed` examines (see [`Report::examined`]),
/// counted as the checks and namespace scoping count them.
fn examined(ctx: &Ctx, assessed: &[CheckId]) -> std::collections::BTreeMap<CheckId, usize> {
    use controlplane::Component;
    let policy = ctx.policy;
    let workloads = ctx
        .workloads
        .iter()
        .filter(|w| !ctx.is_control_plane(w) && policy.namespaces.contains(w.namespace))
        .count();
    // WL-013's set: namespaces in scope but the system ones.
    let namespaces = ctx
        .snapshot
        .namespaces
        .iter()
        .filter_map(|n| n.metadata.name.as_deref())
        .filter(|n| !workloads::SYSTEM_NAMESPACES.contains(n) && policy.namespaces.contains(n))
        .count();
    let pods = |c: Component| ctx.components.iter().filter(|p| p.component == c).count();
    assessed
        .iter()
        .filter_map(|&id| {
            let n = match (id.family(), id) {
                (_, CheckId::Wl013) => namespaces,
                (_, CheckId::Etcd009 | CheckId::Img002) | ("WL", _) => workloads,
                (_, CheckId::Api033 | CheckId::Etcd008) => return None,
                ("API", _) => pods(Component::ApiServer),
                ("ETCD", _) => pods(Component::Etcd),
                ("CM", _) => pods(Component::ControllerManager),
                ("SCH", _) => pods(Component::Scheduler),
                ("NODE", _) => ctx.snapshot.nodes.len(),
                ("KUBELET", _) => ctx.snapshot.nodes.len(),
                _ => return None,
            };
            Some((id, n))
        })
        .collect()
}

/// Carry the `previous` findings of checks not assessed now into `findings`, unless this audit
/// found them again. Their suppression is decided anew by the policy's exceptions.
fn hold(
    previous: &[Arc<Finding>],
    unassessed: &foldhash::HashSet<&str>,
    findings: &mut Vec<Arc<Finding>>,
) {
    if unassessed.is_empty() {
        return;
    }
    // By check, as an index: every earlier finding is asked.
    let mut mask = vec![false; CheckId::ALL.len()];
    for id in unassessed.iter().filter_map(|c| c.parse::<CheckId>().ok()) {
        mask[id as usize] = true;
    }
    hold_matching(previous, |p| mask[p.check as usize], findings);
}

/// Carry the earlier findings `held` selects into `findings`, unless found again.
fn hold_matching(
    previous: &[Arc<Finding>],
    held: impl Fn(&Finding) -> bool,
    findings: &mut Vec<Arc<Finding>>,
) {
    let mut held_previous = previous.iter().filter(|p| held(p)).peekable();
    if held_previous.peek().is_none() {
        return;
    }
    let seen: foldhash::HashSet<String> = findings
        .iter()
        .filter(|f| held(f))
        .map(|f| f.identity())
        .collect();
    for p in held_previous {
        if seen.contains(&p.identity()) {
            continue;
        }
        let mut held = Finding::clone(p);
        held.suppressed = false;
        held.suppressed_by = None;
        findings.push(bounds::bounded(held));
    }
}

/// The policy's severity for `f`, copying the finding only when it differs (the finding may
/// be shared with an incremental engine, which must keep the check's own severity).
fn override_severity(policy: &EffectivePolicy, f: &mut Arc<Finding>) {
    let severity = policy.severity_of(f.check, f.severity);
    if severity != f.severity {
        Arc::make_mut(f).severity = severity;
    }
}

/// A report's findings in order, and whether each one's sort key is below the next one's.
#[derive(Clone, Debug, Default)]
pub(crate) struct Order {
    pub findings: Vec<Arc<Finding>>,
    /// Every key below the next: then two of these findings that are still in order are in
    /// order without comparing them (see [`sorted_deduped_like`]).
    pub strict: bool,
}

impl Order {
    /// `findings`, sorted and deduped, with their strictness found by comparing every pair.
    fn checked(findings: Vec<Arc<Finding>>) -> Order {
        let strict = findings
            .windows(2)
            .all(|w| w[0].sort_key() < w[1].sort_key());
        Order { findings, strict }
    }
}

/// The findings as a report holds them: [`sorted`], then each run of findings with one
/// identity reduced to its first (RBAC reports some findings twice). `tallies` loses the
/// findings dropped.
///
/// Knowing the last audit's order (`before`, itself sorted and deduped) makes it linear: most
/// findings of an audit after a small change are the same `Arc`s, already in order. Those are
/// taken in their earlier order, the others sorted, and the two merged. The result is the full
/// sort's exactly: it is used only when every key differs from its neighbour's or the two
/// findings are equal (then the order of values is unique); otherwise, with equal keys whose
/// order a stable sort takes from the input, the input is sorted again. Two earlier findings
/// need no comparison when `before` was strictly ordered: they are in order by transitivity,
/// and if they were neighbours then, of different identities. So an audit that changed a few
/// findings reads only those and their neighbours, not the 100,000 others.
///
/// With `keep`, also returns the order to keep for the next audit: the same findings, the
/// earlier ones moved from `before` rather than copied (copying an `Arc` writes its count in
/// the finding's memory: two writes per finding and audit, for the copy and for dropping
/// `before`, that a large cluster's 100,000 findings each paid).
pub(crate) fn sorted_deduped_like(
    findings: Vec<Arc<Finding>>,
    before: Order,
    tallies: Option<&mut score::Tallies>,
    keep: bool,
) -> (Vec<Arc<Finding>>, Option<Order>) {
    let full = |findings: Vec<Arc<Finding>>, tallies: Option<&mut score::Tallies>| {
        let mut sorted = sorted(findings);
        let mut dropped = Vec::new();
        sorted.dedup_by(|b, a| {
            let same = a.same_identity(b);
            if same {
                dropped.push(b.clone());
            }
            same
        });
        if let Some(t) = tallies {
            for f in &dropped {
                t.remove(f);
            }
        }
        let kept = keep.then(|| Order::checked(sorted.clone()));
        (sorted, kept)
    };
    if before.findings.is_empty() || !before.strict {
        return full(findings, tallies);
    }
    // `before` holds its findings, so no other finding can have one of their addresses.
    let at: foldhash::HashMap<*const Finding, usize> = before
        .findings
        .iter()
        .enumerate()
        .map(|(i, f)| (Arc::as_ptr(f), i))
        .collect();
    // Indices into `findings` throughout: cloning an `Arc` writes its count, in the
    // finding's own memory, which is what this avoids reading.
    let mut slots: Vec<Option<usize>> = vec![None; before.findings.len()];
    let mut fresh: Vec<usize> = Vec::new();
    for (n, f) in findings.iter().enumerate() {
        match at.get(&Arc::as_ptr(f)) {
            Some(&i) if slots[i].is_none() => slots[i] = Some(n),
            _ => fresh.push(n),
        }
    }
    drop(at);
    // As `sorted` orders them: by key, then by input position.
    fresh.sort_by(|&a, &b| {
        findings[a]
            .sort_key()
            .cmp(&findings[b].sort_key())
            .then(a.cmp(&b))
    });
    let old: Vec<(usize, usize)> = slots
        .into_iter()
        .enumerate()
        .filter_map(|(i, n)| Some((n?, i)))
        .collect();
    // Merged: each finding with its place in `before` (none for a fresh one). A fresh one
    // goes after the earlier ones whose key is not above its own (as a merge that takes the
    // earlier one on equal keys), found by bisection: the earlier findings are not read.
    let mut merged: Vec<(usize, Option<usize>)> = Vec::with_capacity(findings.len());
    let mut from = 0;
    for n in fresh {
        let f = &findings[n];
        let at =
            from + old[from..].partition_point(|&(o, _)| findings[o].sort_key() <= f.sort_key());
        merged.extend(old[from..at].iter().map(|&(o, i)| (o, Some(i))));
        merged.push((n, None));
        from = at;
    }
    merged.extend(old[from..].iter().map(|&(o, i)| (o, Some(i))));
    drop(old);
    // Checked pair by pair, but a pair of earlier findings needs no reading (see above).
    for w in merged.windows(2) {
        let ((p, p_place), (f, place)) = (w[0], w[1]);
        let (p, f) = (&findings[p], &findings[f]);
        let both_earlier = p_place.is_some() && place.is_some();
        if !(both_earlier || p.sort_key() < f.sort_key() || **p == **f) {
            drop(merged);
            return full(findings, tallies);
        }
    }
    let mut findings: Vec<Option<Arc<Finding>>> = findings.into_iter().map(Some).collect();
    let mut out: Vec<Arc<Finding>> = Vec::with_capacity(merged.len());
    // The order kept: earlier findings moved out of `before` (the same findings: a place is
    // an address found in both), fresh ones copied.
    let mut earlier: Vec<Option<Arc<Finding>>> = if keep {
        before.findings.into_iter().map(Some).collect()
    } else {
        Vec::new()
    };
    let mut kept_order: Vec<Arc<Finding>> = Vec::with_capacity(if keep { merged.len() } else { 0 });
    let mut dropped = Vec::new();
    // The place in `before` of the last finding kept.
    let mut last: Option<usize> = None;
    for (n, place) in merged {
        let Some(f) = findings[n].take() else {
            continue;
        };
        let kept = out.last().is_some_and(|l| {
            // Neighbours in `before`: different identities (it was deduped).
            let neighbours = matches!((last, place), (Some(i), Some(j)) if j == i + 1);
            !neighbours && l.same_identity(&f)
        });
        if kept {
            dropped.push(f);
        } else {
            last = place;
            if keep {
                let moved = place.and_then(|i| earlier.get_mut(i)?.take());
                kept_order.push(moved.unwrap_or_else(|| f.clone()));
            }
            out.push(f);
        }
    }
    if let Some(t) = tallies {
        for f in &dropped {
            t.remove(f);
        }
    }
    // Strict: earlier findings were, the pairs compared were (equal ones are deduped), and
    // dropping a finding keeps its neighbours in order.
    let kept = keep.then_some(Order {
        findings: kept_order,
        strict: true,
    });
    (out, kept)
}

/// Sort by [`Finding::sort_key`] through a permutation: findings are large, and moving
/// indices instead of them makes sorting 100,000 findings cheap.
pub(crate) fn sorted(findings: Vec<Arc<Finding>>) -> Vec<Arc<Finding>> {
    // Keys side by side (with the input position last: the order of a stable sort), so that
    // comparing does not walk the findings themselves.
    let mut keyed: Vec<_> = findings
        .iter()
        .enumerate()
        .map(|(i, f)| (f.sort_key(), i))
        .collect();
    keyed.sort_unstable();
    let order: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    let mut slots: Vec<Option<Arc<Finding>>> = findings.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// Namespace scoping applies to namespaced targets of user-facing checks: RBAC bindings and
/// subjects, workloads, Services (ETCD-008), Namespaces themselves (WL-013), and the
/// workloads and bindings paths across layers (XL-*) are about. The control
/// plane's flags are cluster configuration and always audited.
///
/// (WL-010 reads RBAC findings before scoping: a workload in scope whose ServiceAccount is
/// powerful through a binding in an excluded namespace is still reported.)
fn in_scope(policy: &EffectivePolicy, f: &Finding) -> bool {
    let scoped = matches!(
        f.category,
        Category::Rbac | Category::Workload | Category::Image | Category::Layers
    ) || matches!(f.check, CheckId::Etcd008 | CheckId::Etcd009);
    if !scoped {
        return true;
    }
    let namespace = if f.resource.kind == "Namespace" {
        Some(f.resource.name.as_str())
    } else {
        f.resource.namespace.as_deref()
    };
    namespace.is_none_or(|ns| policy.namespaces.contains(ns))
}

#[cfg(test)]
mod held_tests;
#[cfg(test)]
mod registry_tests;
#[cfg(test)]
pub(crate) mod testutil;

#[cfg(test)]
mod sink_size_tests {
    /// The engine keeps a sink per workload (78,000 at M): what it records besides findings
    /// stays out of line.
    #[test]
    fn a_sink_stays_small_inline() {
        let size = std::mem::size_of::<super::Sink>();
        assert!(size <= 32, "Sink is {size} bytes inline");
    }
}
