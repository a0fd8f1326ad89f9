//! KUBELET-101/102 from live probe results: the shell sends the requests (only those
//! [`probe_url`] can build), the audit judges the answers. Bodies are never kept: an answer is
//! its status code and whether it began with `ok`.

use super::{listed, nodes_word};
use crate::audit::{Finding, ObjectRef, Sink};
use crate::catalog::Category;
use crate::catalog::CheckId;
use crate::snapshot::ObjectKind;
use std::net::IpAddr;

/// The kubelet's read-only port (`--read-only-port` default when it is on).
pub const READ_ONLY_PORT: u16 = 10255;

/// The only requests a kubelet probe ever sends: no exec, attach, run or logs endpoint can
/// be named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbePath {
    /// `https://IP:port/healthz` on the authenticated port.
    Healthz,
    /// `https://IP:port/pods` on the authenticated port.
    Pods,
    /// `http://IP:port/healthz` on the read-only port.
    ReadOnlyHealthz,
}

/// The URL of a probe. `ip` is an address (never a name a Node's author chose), so nothing
/// can be smuggled into the host or path.
pub fn probe_url(ip: IpAddr, port: u16, path: ProbePath) -> String {
    let host = match ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    };
    match path {
        ProbePath::Healthz => format!("https://{host}:{port}/healthz"),
        ProbePath::Pods => format!("https://{host}:{port}/pods"),
        ProbePath::ReadOnlyHealthz => format!("http://{host}:{port}/healthz"),
    }
}

/// What one probe got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// An HTTP answer: its status, and whether the body began with `ok`.
    Http { status: u16, ok_body: bool },
    /// No answer: refused, timed out, TLS failure (the reason, without any body).
    Failed(String),
}

/// The probes of one node. `None`: not sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeProbes {
    pub node: String,
    /// The InternalIP probed, or why there was none to probe.
    pub address: Result<IpAddr, String>,
    pub kubelet_port: Option<u16>,
    pub read_only_port: u16,
    pub healthz: Option<Answer>,
    pub pods: Option<Answer>,
    pub read_only: Option<Answer>,
}

/// Whether `/pods` is worth asking after `/healthz` answered so: anything but a 401 (anonymous
/// requests refused) or no answer at all.
pub fn should_probe_pods(healthz: &Answer) -> bool {
    matches!(healthz, Answer::Http { status, .. } if *status != 401)
}

fn node_finding(check: CheckId, node: &str, message: String) -> Finding {
    Finding::new(check, ObjectRef::new(ObjectKind::Node, None, node), message).node(node)
}

/// KUBELET-101 and KUBELET-102 from the probes of every node.
pub fn audit(probes: &[NodeProbes], secure: bool, read_only: bool, sink: &mut Sink) {
    let mut no_address: Vec<&str> = Vec::new();
    let mut silent_101: Vec<&str> = Vec::new();
    let mut odd_101: Vec<&str> = Vec::new();
    let mut silent_102: Vec<&str> = Vec::new();
    for p in probes {
        let ip = match &p.address {
            Ok(ip) => *ip,
            Err(_) => {
                no_address.push(&p.node);
                continue;
            }
        };
        if secure {
            match (p.kubelet_port, &p.healthz) {
                (Some(port), Some(healthz)) => {
                    let url = |path| probe_url(ip, port, path);
                    match (healthz, &p.pods) {
                        (_, Some(Answer::Http { status: 200, .. })) => sink.push(
                            node_finding(
                                CheckId::Kubelet101,
                                &p.node,
                                format!(
                                    "the kubelet of node {} lists its pods to anyone: an unauthenticated GET {} answered 200",
                                    p.node,
                                    url(ProbePath::Pods)
                                ),
                            )
                            .evidence([
                                "source: probe from the operator, no credentials, TLS not verified".to_string(),
                                format!("GET {}: {}", url(ProbePath::Healthz), shown(healthz)),
                                format!("GET {}: HTTP 200", url(ProbePath::Pods)),
                            ]),
                        ),
                        (Answer::Http { status: 401, .. }, _) => {}
                        // Anonymous requests get through authentication; the authorizer stops
                        // them (403), or lets /healthz through but not /pods.
                        (Answer::Http { status: 403, .. }, _)
                        | (
                            Answer::Http { status: 200, .. },
                            Some(Answer::Http {
                                status: 401 | 403,
                                ..
                            }),
                        ) => sink.push(
                            node_finding(
                                CheckId::Kubelet101,
                                &p.node,
                                format!(
                                    "the kubelet of node {} accepts anonymous requests (its authorizer denies them for now): an unauthenticated GET {} answered {}",
                                    p.node,
                                    url(ProbePath::Healthz),
                                    shown(healthz)
                                ),
                            )
                            .reduced()
                            .evidence(
                                [
                                    Some("source: probe from the operator, no credentials, TLS not verified".to_string()),
                                    Some(format!("GET {}: {}", url(ProbePath::Healthz), shown(healthz))),
                                    p.pods.as_ref().map(|a| format!("GET {}: {}", url(ProbePath::Pods), shown(a))),
                                ]
                                .into_iter()
                                .flatten(),
                            ),
                        ),
                        (Answer::Failed(_), _) => silent_101.push(&p.node),
                        _ => odd_101.push(&p.node),
                    }
                }
                _ => silent_101.push(&p.node),
            }
        }
        if read_only {
            match &p.read_only {
                Some(Answer::Http {
                    status: 200,
                    ok_body: true,
                }) => {
                    let url = probe_url(ip, p.read_only_port, ProbePath::ReadOnlyHealthz);
                    sink.push(
                        node_finding(
                            CheckId::Kubelet102,
                            &p.node,
                            format!(
                                "the kubelet of node {} serves its unauthenticated read-only port: GET {url} answered 200 ok",
                                p.node
                            ),
                        )
                        .evidence([
                            "source: probe from the operator, no credentials".to_string(),
                            format!("GET {url}: HTTP 200, body begins with ok"),
                        ]),
                    )
                }
                Some(Answer::Http { .. }) => {}
                Some(Answer::Failed(_)) | None => silent_102.push(&p.node),
            }
        }
    }
    let both: &[CheckId] = match (secure, read_only) {
        (true, true) => &[CheckId::Kubelet101, CheckId::Kubelet102],
        (true, false) => &[CheckId::Kubelet101],
        (false, true) => &[CheckId::Kubelet102],
        (false, false) => &[],
    };
    // Each check judged the nodes that answered: only the silent nodes' earlier findings
    // are held, so a node fixed since does not keep its finding because another is silent.
    let mut silent = |mut nodes: Vec<&str>, checks: &[CheckId], what: &str, why: &str| {
        if nodes.is_empty() || checks.is_empty() {
            return;
        }
        nodes.sort_unstable();
        sink.not_assessed_on_nodes(
            Category::Kubelet,
            format!(
                "{what}{} {why}: {}",
                nodes_word(nodes.len()),
                listed(&nodes)
            ),
            checks,
            &nodes,
        );
    };
    silent(no_address, both, "", "without an InternalIP to probe");
    silent(
        silent_101,
        &[CheckId::Kubelet101],
        "the kubelet port of ",
        "did not answer the probe from where the operator runs (refused or timed out: inconclusive from this vantage point)",
    );
    silent(
        odd_101,
        &[CheckId::Kubelet101],
        "the kubelet port of ",
        "gave an answer no kubelet gives to an anonymous /healthz",
    );
    silent(
        silent_102,
        &[CheckId::Kubelet102],
        "the read-only port of ",
        "did not answer the probe from where the operator runs (refused or timed out: inconclusive from this vantage point, the port may be closed or filtered)",
    );
}

fn shown(a: &Answer) -> String {
    match a {
        Answer::Http { status, .. } => format!("HTTP {status}"),
        Answer::Failed(why) => format!("no answer ({why})"),
    }
}
