//! Nodes (category `node`): kubelet end of life, version skew, container runtimes with known
//! escape CVEs. The dated tables ship with the program (`operator/data/release-data.yaml`) and
//! can be replaced by `audit --release-data FILE`.

mod data;
#[cfg(test)]
mod tests;

pub use data::{EndOfLife, ReleaseData, ReleaseDataError, RuntimeAdvisory};

use crate::audit::controlplane::{Component, Version, image_version};
use crate::audit::{Ctx, Finding, ObjectRef, Sink};
use crate::catalog::Category;
use crate::snapshot::ObjectKind;
use jiff::civil::Date;
use k8s_openapi::api::core::v1::NodeSystemInfo;

pub fn audit(ctx: &Ctx, sink: &mut Sink) {
    let [eol, skew, runtime] = ["NODE-001", "NODE-002", "NODE-003"].map(|c| ctx.enabled(c));
    if !(eol || skew || runtime) {
        return;
    }
    if let Some(why) = ctx.snapshot.unavailable(ObjectKind::Node) {
        sink.not_assessed(Category::Node, format!("Nodes could not be read ({why})"));
        return;
    }
    if ctx.snapshot.nodes.is_empty() {
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
    for node in &ctx.snapshot.nodes {
        let name = node.metadata.name.as_deref().unwrap_or("");
        let Some(info) = node.status.as_ref().and_then(|s| s.node_info.as_ref()) else {
            continue;
        };
        let kubelet = Version::parse(&info.kubelet_version);
        if let (true, Some(k)) = (eol, kubelet)
            && let Some(f) = end_of_life(data, today, name, info, k)
        {
            sink.push(f);
        }
        if let (Some(servers), Some(k)) = (&api_servers, kubelet)
            && let Some(f) = out_of_skew(data, servers, name, info, k)
        {
            sink.push(f);
        }
        if runtime && let Some(f) = vulnerable_runtime(data, name, info) {
            sink.push(f);
        }
    }
}

fn node_finding(check: &'static str, node: &str, message: String) -> Finding {
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
            "NODE-001",
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
        .remediation(format!(
            "Upgrade node {node} to {target} (one minor release at a time, control plane first, \
             then kubelets; drain the node before: kubectl drain {node} --ignore-daemonsets), or replace it with a node built \
             from a current image."
        )),
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
    let (message, remediation, pod) = if (k.major, k.minor) > (oldest.major, oldest.minor) {
        (
            format!(
                "{kubelet} is newer than the API server ({oldest}): a kubelet must never be newer \
                 than kube-apiserver"
            ),
            format!(
                "Upgrade the control plane to {} or later first, or run kubelet {} or older on \
                 node {node}.",
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
            format!(
                "Upgrade the kubelet on node {node} to {} or later (drain it first: kubectl \
                 drain {node} --ignore-daemonsets).",
                minor(floor)
            ),
            newest_pod,
        )
    };
    Some(
        node_finding("NODE-002", node, message)
            .evidence([
                format!("status.nodeInfo.kubeletVersion: {}", info.kubelet_version),
                format!("API server {pod}"),
            ])
            .remediation(remediation),
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
            "NODE-003",
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
        .remediation(format!(
            "Upgrade the container runtime on node {node} to {target}, or replace the node with \
             one built from a current image (release table reviewed {}).",
            data.reviewed
        )),
    )
}

/// The `fixed` text of the row whose version is `fixed` (as the table spells it).
fn fixed_text(hits: &[&RuntimeAdvisory], fixed: Version) -> String {
    hits.iter()
        .find(|a| Version::parse(&a.fixed) == Some(fixed))
        .map(|a| a.fixed.clone())
        .unwrap_or_else(|| fixed.to_string())
}
