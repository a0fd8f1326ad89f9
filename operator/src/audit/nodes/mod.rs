//! Nodes (category `node`): kubelet end of life, version skew, container runtimes with known
//! escape CVEs. The dated tables ship with the program (`operator/data/release-data.yaml`) and
//! can be replaced by `audit --release-data FILE`.

mod data;
mod kernel;
mod os;
#[cfg(test)]
mod tests;

pub use data::{
    EndOfLife, KernelCve, OsRelease, Privilege, ReleaseData, ReleaseDataError, RuntimeAdvisory,
};
pub use kernel::{KernelClass, KernelHit, KernelVerdict, classify};

use crate::audit::controlplane::{Component, Version, image_version};
use crate::audit::{Ctx, Finding, ObjectRef, Sink, bounds};
use crate::catalog::Category;
use crate::catalog::CheckId;
use crate::snapshot::ObjectKind;
use foldhash::HashMap;
use jiff::civil::Date;
use k8s_openapi::api::core::v1::NodeSystemInfo;
use std::collections::BTreeMap;

/// What the node checks learn about each Node, whatever the policy enables: the paths across
/// layers (XL-*) read it too, so a disabled or waived NODE-003/004 does not hide a path.
pub struct HostFacts<'a> {
    /// Why Nodes could not be read, if they could not.
    pub unavailable: Option<String>,
    pub nodes: Vec<NodeFacts<'a>>,
}

pub struct NodeFacts<'a> {
    pub name: &'a str,
    pub info: &'a NodeSystemInfo,
    /// The container runtime's CVEs (NODE-003's, built only by [`audit`]).
    pub runtime_cves: Vec<&'a str>,
    /// NODE-004's verdict; `None` for nodes that are not Linux (nothing to say).
    pub kernel: Option<KernelVerdict<'a>>,
}

impl NodeFacts<'_> {
    /// The kernel CVEs that affect the node (empty when not judged).
    pub fn kernel_hits(&self) -> &[KernelHit<'_>] {
        match &self.kernel {
            Some(KernelVerdict::Judged { hits, .. }) => hits,
            _ => &[],
        }
    }

    /// Why the kernel's CVEs are not fully known, if they are not: not judged, or a distro
    /// stream with fix data for only some CVEs. `None` for non-Linux nodes (nothing to say).
    pub fn kernel_unknown(&self) -> Option<String> {
        match &self.kernel {
            Some(KernelVerdict::NotAssessed(why)) => Some(why.clone()),
            Some(KernelVerdict::Judged { partial, .. }) if !partial.is_empty() => {
                Some("distro kernel carries backports; fix data covers only some CVEs".to_string())
            }
            _ => None,
        }
    }
}

fn is_linux(info: &NodeSystemInfo) -> bool {
    info.operating_system.is_empty() || info.operating_system.eq_ignore_ascii_case("linux")
}

/// NODE-003 and NODE-004 for every Node with `nodeInfo`.
pub fn facts<'a>(ctx: &Ctx<'a>) -> HostFacts<'a> {
    if let Some(why) = ctx.snapshot.unavailable(ObjectKind::Node) {
        return HostFacts {
            unavailable: Some(why.to_string()),
            nodes: Vec::new(),
        };
    }
    let data = ctx.release_data;
    // Judged once per kernel and per runtime: a cluster's thousands of Nodes run a few of
    // each, and every audit asks (the layers read these facts).
    let mut kernels: HashMap<(&str, &str), KernelVerdict<'a>> = HashMap::default();
    let mut runtimes: HashMap<&str, Vec<&'a str>> = HashMap::default();
    let nodes = ctx
        .snapshot
        .nodes
        .iter()
        .filter_map(|node| {
            let name = node.metadata.name.as_deref().unwrap_or("");
            let info = node.status.as_ref()?.node_info.as_ref()?;
            let runtime_cves = runtimes
                .entry(&info.container_runtime_version)
                .or_insert_with(|| runtime_cves(data, info))
                .clone();
            let kernel = is_linux(info).then(|| {
                kernels
                    .entry((&info.kernel_version, &info.os_image))
                    .or_insert_with(|| kernel::assess(data, &info.kernel_version, &info.os_image))
                    .clone()
            });
            Some(NodeFacts {
                name,
                info,
                runtime_cves,
                kernel,
            })
        })
        .collect();
    HostFacts {
        unavailable: None,
        nodes,
    }
}

/// Not-assessed reasons of one check, with the nodes each applies to, reported once per
/// reason with the node count (host.md: "per reason ... and how many nodes").
#[derive(Default)]
struct PerReason<'a>(BTreeMap<(CheckId, String), Vec<&'a str>>);

impl<'a> PerReason<'a> {
    fn add(&mut self, check: CheckId, reason: String, node: &'a str) {
        self.0.entry((check, reason)).or_default().push(node);
    }

    fn report(self, sink: &mut Sink) {
        for ((check, reason), mut nodes) in self.0 {
            nodes.sort_unstable();
            sink.not_assessed_partly(
                Category::Node,
                format!("{check} not assessed on {}: {reason}", count_nodes(&nodes)),
                &[check],
            );
        }
    }
}

/// `3 nodes (a, b, c)`, the names bounded.
pub fn count_nodes(nodes: &[&str]) -> String {
    format!(
        "{} node{} ({})",
        nodes.len(),
        if nodes.len() == 1 { "" } else { "s" },
        bounds::join_names(nodes, ", ", 200)
    )
}

/// One Node's part of the node family: its findings, and the checks that could not be
/// assessed on it with the reason. It depends on the Node, the release data, the audit's day
/// and the API servers' versions only, so an incremental audit keeps it per Node object.
#[derive(Clone, Debug, Default)]
pub struct NodePart {
    findings: Vec<std::sync::Arc<Finding>>,
    not_assessed: Vec<(CheckId, String)>,
}

pub fn audit(ctx: &Ctx, host: &HostFacts, sink: &mut Sink) {
    audit_kept(ctx, host, &mut |_, compute| compute(), sink);
}

/// [`audit`], each Node's part got through `part_of` (given the Node's facts and what computes
/// its part), so that an incremental audit may return the part it kept for the same Node.
pub fn audit_kept(
    ctx: &Ctx,
    host: &HostFacts,
    part_of: &mut dyn FnMut(&NodeFacts, &dyn Fn() -> NodePart) -> NodePart,
    sink: &mut Sink,
) {
    let [eol, skew, runtime, kernel, os] = [
        CheckId::Node001,
        CheckId::Node002,
        CheckId::Node003,
        CheckId::Node004,
        CheckId::Node005,
    ]
    .map(|c| ctx.enabled(c));
    if !(eol || skew || runtime || kernel || os) {
        return;
    }
    if let Some(why) = &host.unavailable {
        sink.not_assessed(Category::Node, format!("Nodes could not be read ({why})"));
        return;
    }
    if host.nodes.is_empty() {
        return;
    }
    let data = ctx.release_data;
    let today = ctx.now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let api_servers = if skew {
        match api_server_versions(ctx) {
            Ok(v) => Some(v),
            Err(why) => {
                sink.not_assessed(Category::Node, why);
                None
            }
        }
    } else {
        None
    };
    let node_part = |n: &NodeFacts| {
        let mut part = NodePart::default();
        let mut push = |f: Finding| part.findings.push(bounds::bounded(f));
        let (name, info) = (n.name, n.info);
        let kubelet = Version::parse(&info.kubelet_version);
        if let (true, Some(k)) = (eol, kubelet)
            && let Some(f) = end_of_life(data, today, name, info, k)
        {
            push(f);
        }
        if let (Some(servers), Some(k)) = (&api_servers, kubelet)
            && let Some(f) = out_of_skew(data, servers, name, info, k)
        {
            push(f);
        }
        if runtime && let Some(f) = vulnerable_runtime(data, name, n.info) {
            push(f);
        }
        let mut not_assessed = Vec::new();
        if kernel {
            match &n.kernel {
                Some(KernelVerdict::NotAssessed(why)) => not_assessed.push((
                    CheckId::Node004,
                    format!("{why} (kernel {})", kernel_family(n)),
                )),
                Some(KernelVerdict::Judged {
                    class,
                    hits,
                    partial,
                }) => {
                    if !partial.is_empty() {
                        let stream = match class {
                            KernelClass::Distro { stream, .. } => stream.as_str(),
                            _ => "",
                        };
                        not_assessed.push((
                            CheckId::Node004,
                            format!(
                                "distro kernel carries backports; no fix data for {} of the {} CVEs in stream {stream}",
                                partial.len(),
                                data.kernel_cves.len()
                            ),
                        ));
                    }
                    if let Some(f) = vulnerable_kernel(data, name, info, class, hits) {
                        push(f);
                    }
                }
                None => {}
            }
        }
        if os {
            match os_end_of_life(data, today, name, info) {
                Ok(Some(f)) => push(f),
                Ok(None) => {}
                Err(why) => not_assessed.push((CheckId::Node005, why)),
            }
        }
        part.not_assessed = not_assessed;
        part
    };
    let mut not_assessed = PerReason::default();
    for n in &host.nodes {
        let part = part_of(n, &|| node_part(n));
        sink.findings.extend(part.findings);
        for (check, reason) in part.not_assessed {
            not_assessed.add(check, reason, n.name);
        }
    }
    not_assessed.report(sink);
}

/// The kernel family named in a not-assessed reason, so reasons group by family, not by
/// every build string.
fn kernel_family(n: &NodeFacts) -> String {
    match classify(&n.info.kernel_version, &n.info.os_image) {
        KernelClass::Distro { stream, .. } => stream,
        KernelClass::Other(_) => format!("{:?}", n.info.kernel_version),
        KernelClass::Upstream { build, .. } => build.to_string(),
        KernelClass::Vendor { stream, .. } => stream,
    }
}

fn node_finding(check: CheckId, node: &str, message: String) -> Finding {
    Finding::new(check, ObjectRef::new(ObjectKind::Node, None, node), message).node(node)
}

fn minor(v: Version) -> String {
    format!("{}.{}", v.major, v.minor)
}

/// NODE-001: the kubelet's minor release is at or past its end-of-life date on the audit day.
fn end_of_life(
    data: &ReleaseData,
    today: Date,
    node: &str,
    info: &NodeSystemInfo,
    k: Version,
) -> Option<Finding> {
    let eol = data.end_of_life(k)?;
    if today < eol.date {
        return None;
    }
    let what = if eol.exact {
        format!(
            "Kubernetes {}, which reached end of life on {}",
            eol.release, eol.date
        )
    } else {
        format!(
            "older than Kubernetes {}, which reached end of life on {}",
            eol.release, eol.date
        )
    };
    // The oldest release still supported on the audit day, as the upgrade target.
    let target = data
        .kubernetes
        .iter()
        .filter(|r| r.end_of_life.parse::<Date>().is_ok_and(|d| d > today))
        .filter_map(|r| Version::parse(&r.minor).map(|v| (v, r.minor.as_str())))
        .min_by_key(|(v, _)| *v)
        .map(|(_, m)| format!("Kubernetes {m} or later"))
        .unwrap_or_else(|| "a supported Kubernetes release".to_string());
    Some(
        node_finding(
            CheckId::Node001,
            node,
            format!(
                "Kubelet {} on node {node} is {what}: it gets no security fixes",
                info.kubelet_version
            ),
        )
        .evidence([
            format!("status.nodeInfo.kubeletVersion: {}", info.kubelet_version),
            format!(
                "end of life of {}: {} (release table reviewed {})",
                eol.release, eol.date, data.reviewed
            ),
        ])
        .fill(&[("node", node), ("target", &target)]),
    )
}

/// The kube-apiserver versions seen (with their Pods), or why NODE-002 cannot be assessed.
fn api_server_versions(ctx: &Ctx) -> Result<Vec<(Version, String)>, String> {
    let pods: Vec<_> = ctx
        .components
        .iter()
        .filter(|c| c.component == Component::ApiServer)
        .collect();
    if pods.is_empty() {
        return Err(
            "NODE-002 not assessed: no kube-apiserver Pod in kube-system, so the API \
                    server version the kubelets are compared with is unknown"
                .to_string(),
        );
    }
    let versions: Vec<(Version, String)> = pods
        .iter()
        .filter_map(|c| {
            let image = c.container.image?;
            image_version(image).map(|v| (v, format!("Pod kube-system/{} runs {image}", c.name())))
        })
        .collect();
    if versions.is_empty() {
        let images: Vec<&str> = pods.iter().filter_map(|c| c.container.image).collect();
        return Err(format!(
            "NODE-002 not assessed: the kube-apiserver image tag is not a version ({})",
            if images.is_empty() {
                "no image".to_string()
            } else {
                images.join(", ")
            }
        ));
    }
    Ok(versions)
}

/// NODE-002: the version-skew policy. With several API servers (an HA upgrade in progress) the
/// kubelet must not be newer than the oldest nor older than the newest allows.
fn out_of_skew(
    data: &ReleaseData,
    servers: &[(Version, String)],
    node: &str,
    info: &NodeSystemInfo,
    k: Version,
) -> Option<Finding> {
    let (oldest, oldest_pod) = servers.iter().min_by_key(|(v, _)| *v)?;
    let (newest, newest_pod) = servers.iter().max_by_key(|(v, _)| *v)?;
    let allowed = data.kubelet_older(*newest)?;
    let kubelet = format!("Kubelet {} on node {node}", info.kubelet_version);
    let (message, step, pod) = if (k.major, k.minor) > (oldest.major, oldest.minor) {
        (
            format!(
                "{kubelet} is newer than the API server ({oldest}): a kubelet must never be newer \
                 than kube-apiserver"
            ),
            format!(
                "upgrade the control plane to {} or later first, or run kubelet {} or older",
                minor(k),
                minor(*oldest)
            ),
            oldest_pod,
        )
    } else {
        let behind = if k.major == newest.major {
            newest.minor.saturating_sub(k.minor)
        } else {
            u32::MAX
        };
        if behind <= allowed {
            return None;
        }
        let floor = Version {
            major: newest.major,
            minor: newest.minor.saturating_sub(allowed),
            patch: 0,
        };
        (
            format!(
                "{kubelet} is {} minor versions older than the API server ({newest}); the \
                 supported skew is {allowed}",
                if behind == u32::MAX {
                    "many".to_string()
                } else {
                    behind.to_string()
                }
            ),
            format!("upgrade it to {} or later", minor(floor)),
            newest_pod,
        )
    };
    Some(
        node_finding(CheckId::Node002, node, message)
            .evidence([
                format!("status.nodeInfo.kubeletVersion: {}", info.kubelet_version),
                format!("API server {pod}"),
            ])
            .fill(&[("node", node), ("step", &step)]),
    )
}

/// NODE-003: `containerRuntimeVersion` (`containerd://1.7.22`) is in an advisory's range.
fn vulnerable_runtime(data: &ReleaseData, node: &str, info: &NodeSystemInfo) -> Option<Finding> {
    let (runtime, raw) = info.container_runtime_version.split_once("://")?;
    let v = Version::parse(raw)?;
    let hits = data.advisories(runtime, v);
    if hits.is_empty() {
        return None;
    }
    let mut cves: Vec<&str> = hits.iter().map(|a| a.cve.as_str()).collect();
    cves.sort_unstable();
    cves.dedup();
    let fixed = hits.iter().filter_map(|a| Version::parse(&a.fixed)).max()?;
    let target = if data.advisories(runtime, fixed).is_empty() {
        format!(
            "{runtime} {raw_fixed} or later",
            raw_fixed = fixed_text(&hits, fixed)
        )
    } else {
        format!("a {runtime} release that fixes them")
    };
    Some(
        node_finding(
            CheckId::Node003,
            node,
            format!(
                "Node {node} runs {runtime} {raw}, which has known container-escape \
                 vulnerabilities: {}",
                cves.join(", ")
            ),
        )
        .evidence(
            std::iter::once(format!(
                "status.nodeInfo.containerRuntimeVersion: {}",
                info.container_runtime_version
            ))
            .chain(hits.iter().map(|a| {
                format!(
                    "{} (affects {} {} to before {}): {}",
                    a.cve, a.runtime, a.from, a.fixed, a.summary
                )
            })),
        )
        .fill(&[
            ("node", node),
            ("target", &target),
            ("reviewed", &data.reviewed.to_string()),
        ]),
    )
}

/// The `fixed` text of the row whose version is `fixed` (as the table spells it).
fn fixed_text(hits: &[&RuntimeAdvisory], fixed: Version) -> String {
    hits.iter()
        .find(|a| Version::parse(&a.fixed) == Some(fixed))
        .map(|a| a.fixed.clone())
        .unwrap_or_else(|| fixed.to_string())
}

/// NODE-004: one finding per node listing every CVE that affects its kernel.
fn vulnerable_kernel(
    data: &ReleaseData,
    node: &str,
    info: &NodeSystemInfo,
    class: &KernelClass,
    hits: &[KernelHit],
) -> Option<Finding> {
    let severity = hits.iter().map(KernelHit::severity).max()?;
    let labels: Vec<String> = hits.iter().map(KernelHit::label).collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let (class_text, vendor_note) = match class {
        KernelClass::Upstream { build, .. } => (format!("exact upstream ({build})"), ""),
        KernelClass::Vendor { vendor, .. } => (
            format!("vendor kernel ({vendor}) tracking a stable branch"),
            if hits.iter().any(|h| h.inferred) {
                " (judged on the upstream table: the vendor may have backported the fix)"
            } else {
                ""
            },
        ),
        KernelClass::Distro { distro, stream, .. } => {
            (format!("{distro} kernel, stream {stream}"), "")
        }
        KernelClass::Other(_) => return None,
    };
    let message = format!(
        "Node {node} runs kernel {} with known privilege-escalation or container-escape \
         vulnerabilities{vendor_note}: {}",
        info.kernel_version,
        bounds::join_names(&labels, ", ", bounds::MAX_MESSAGE / 2)
    );
    let evidence = std::iter::once(format!(
        "status.nodeInfo.kernelVersion: {} ({class_text})",
        info.kernel_version
    ))
    .chain(hits.iter().map(|h| {
        let judged = match (h.row, h.branch_fix) {
            (Some(row), _) => format!("fixed in {} ({})", row.fixed, row.source),
            (None, Some(fix)) => format!(
                "affects {} to before {}; the {}.{} branch is fixed in {}.{}.{}",
                h.cve.introduced,
                h.cve.fixed_mainline,
                fix.major,
                fix.minor,
                fix.major,
                fix.minor,
                fix.patch
            ),
            (None, None) => format!(
                "affects {} to before {}; this branch never got the fix",
                h.cve.introduced, h.cve.fixed_mainline
            ),
        };
        format!(
            "{}: {}; {judged}; {}{}; source: {}",
            h.label(),
            h.cve.summary,
            h.cve.privilege.describe(),
            if h.cve.kev {
                "; known exploited (CISA KEV)"
            } else {
                ""
            },
            h.cve.source
        )
    }))
    .chain(std::iter::once(format!(
        "kernel table reviewed {}",
        data.reviewed
    )));
    // The upgrade target: the newest branch fix when every CVE has one in the node's branch.
    let target = if hits
        .iter()
        .all(|h| h.row.is_none() && h.branch_fix.is_some())
    {
        hits.iter()
            .filter_map(|h| h.branch_fix)
            .max()
            .map(|v| format!("{}.{}.{} or later", v.major, v.minor, v.patch))
    } else {
        None
    }
    .unwrap_or_else(|| "a release that carries every fix".to_string());
    let mut f = node_finding(CheckId::Node004, node, message)
        .evidence(bounds::capped(evidence, bounds::MAX_EVIDENCE, |e| e))
        .fill(&[("node", node), ("target", &target)]);
    f.severity = severity;
    Some(f)
}

/// NODE-005: `Err` is the not-assessed reason.
fn os_end_of_life(
    data: &ReleaseData,
    today: Date,
    node: &str,
    info: &NodeSystemInfo,
) -> Result<Option<Finding>, String> {
    let id = os::parse(&info.os_image)?;
    let Some(row) = os::row(data, &id) else {
        return Err(format!(
            "no end-of-life date in the release data for {} {}",
            id.os, id.version
        ));
    };
    let evidence = |date: Date, what: &str| {
        vec![
            format!("status.nodeInfo.osImage: {}", info.os_image),
            format!(
                "{} {}: {what} {date} ({}; table reviewed {}, audit date {today})",
                id.os, id.version, row.source, data.reviewed
            ),
        ]
    };
    let os_name = id.os.to_string();
    let fix = [("node", node), ("os", os_name.as_str())];
    Ok(match os::support(row, today) {
        os::Support::Supported => None,
        os::Support::Extended(row, until) => {
            let name = row.extended_name.as_deref().unwrap_or("extended support");
            Some(
                node_finding(
                    CheckId::Node005,
                    node,
                    format!(
                        "Node {node} runs {}, past its standard support ({}): only {name} \
                         (paid, until {until}) still ships fixes, and whether this node has it \
                         cannot be seen from the API",
                        info.os_image, row.standard_end
                    ),
                )
                .reduced()
                .evidence(evidence(
                    until,
                    &format!("standard support ended {}, {name} until", row.standard_end),
                ))
                .fill(&fix),
            )
        }
        os::Support::Ended(_, date) => Some(
            node_finding(
                CheckId::Node005,
                node,
                format!(
                    "Node {node} runs {}, past the end of all support ({date}): it gets no \
                     security fixes",
                    info.os_image
                ),
            )
            .evidence(evidence(date, "support ended"))
            .fill(&fix),
        ),
    })
}

/// The CVEs of NODE-003's advisories that affect the node's runtime, sorted.
fn runtime_cves<'a>(data: &'a ReleaseData, info: &NodeSystemInfo) -> Vec<&'a str> {
    let Some((runtime, raw)) = info.container_runtime_version.split_once("://") else {
        return Vec::new();
    };
    let Some(v) = Version::parse(raw) else {
        return Vec::new();
    };
    let mut cves: Vec<&str> = data
        .advisories(runtime, v)
        .iter()
        .map(|a| a.cve.as_str())
        .collect();
    cves.sort_unstable();
    cves.dedup();
    cves
}
