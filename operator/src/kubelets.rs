//! The effect half of KUBELET-*: each kubelet's `configz` through the API server's node proxy
//! (`spec.kubelet.configz`) and the unauthenticated live probes (`spec.probes.kubelet`). The
//! controller and the CLI read here into a [`LiveKubelets`] that the pure audit judges.
//!
//! Bounded: at most [`CONCURRENCY`] nodes at once, a timeout on every request, at most
//! [`MAX_PROBE_BODY`] bytes of a probe answer read and only whether it began with `ok` kept.
//! Results are reused for [`TTL`], so change-driven audits do not hammer the kubelets.

use crate::audit::kubelet::probes::{
    Answer, NodeProbes, ProbePath, READ_ONLY_PORT, probe_url, should_probe_pods,
};
use crate::audit::kubelet::{LiveKubelets, parse_configz};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Node;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Nodes read or probed at once.
pub const CONCURRENCY: usize = 8;
/// Probe timeouts (host.md): to connect, and for the whole request.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// The most of a probe answer's body read.
pub const MAX_PROBE_BODY: usize = 1024;
/// The most time one node's configz may take.
pub const CONFIGZ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long results are reused.
pub const TTL: Duration = Duration::from_secs(60);
/// Tests only: the read-only port to probe instead of 10255 (a test cannot bind 10255 for
/// each of its fake nodes). Not a flag, not documented for users.
const READ_ONLY_PORT_ENV: &str = "KUBE_POSTURE_TEST_READ_ONLY_PORT";

#[derive(Debug, thiserror::Error)]
pub enum KubeletError {
    #[error("cannot build the probe HTTP client: {0}")]
    Client(String),
}

type Key = (bool, bool, Vec<(String, Option<IpAddr>, Option<u16>)>);

/// Reads kubelets; one per process.
pub struct KubeletReader {
    client: kube::Client,
    http: reqwest::Client,
    read_only_port: u16,
    last: Mutex<Option<(Instant, Key, LiveKubelets)>>,
}

impl KubeletReader {
    pub fn new(client: kube::Client) -> Result<KubeletReader, KubeletError> {
        // The same rustls provider as kube and the registry client.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // No credentials and nothing secret is sent, so the kubelet's (usually self-signed)
        // certificate is not verified; no proxy, no redirects: only the URLs probe_url builds.
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(PROBE_TIMEOUT)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| KubeletError::Client(e.to_string()))?;
        let read_only_port = std::env::var(READ_ONLY_PORT_ENV)
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(READ_ONLY_PORT);
        Ok(KubeletReader {
            client,
            http,
            read_only_port,
            last: Mutex::new(None),
        })
    }

    /// Read what the policy asks for from every node.
    pub async fn read(&self, nodes: &[Arc<Node>], configz: bool, probes: bool) -> LiveKubelets {
        let targets: Vec<Target> = nodes.iter().map(|n| Target::of(n)).collect();
        let key: Key = (
            configz,
            probes,
            targets
                .iter()
                .map(|t| (t.name.clone(), t.address.clone().ok(), t.port))
                .collect(),
        );
        {
            let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, k, r)) = last.as_ref()
                && *k == key
                && at.elapsed() < TTL
            {
                return r.clone();
            }
        }
        let configz_results = if configz {
            Some(
                futures::stream::iter(targets.iter())
                    .map(|t| async move { (t.name.clone(), self.configz(&t.name).await) })
                    .buffer_unordered(CONCURRENCY)
                    .collect()
                    .await,
            )
        } else {
            None
        };
        let probe_results = if probes {
            Some(
                futures::stream::iter(targets.iter())
                    .map(|t| self.probe(t))
                    .buffer_unordered(CONCURRENCY)
                    .collect::<Vec<_>>()
                    .await,
            )
        } else {
            None
        };
        let r = LiveKubelets {
            configz: configz_results,
            probes: probe_results,
        };
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), key, r.clone()));
        r
    }

    async fn configz(
        &self,
        node: &str,
    ) -> Result<crate::audit::kubelet::config::KubeletConfig, String> {
        // Node names are DNS subdomains; anything else is not put into a URL.
        if node.is_empty()
            || !node
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        {
            return Err("the node name is not a DNS subdomain".into());
        }
        let request = http::Request::get(format!("/api/v1/nodes/{node}/proxy/configz"))
            .body(Vec::new())
            .map_err(|e| e.to_string())?;
        match tokio::time::timeout(CONFIGZ_TIMEOUT, self.client.request_text(request)).await {
            Err(_) => Err(format!(
                "no answer within {}s",
                CONFIGZ_TIMEOUT.as_secs()
            )),
            Ok(Err(kube::Error::Api(s))) if s.code == 403 => Err(
                "forbidden: the operator may not get nodes/proxy (apply manifests/optional/kubelet-configz-rbac.yaml)"
                    .into(),
            ),
            Ok(Err(kube::Error::Api(s))) => Err(format!("HTTP {}: {}", s.code, s.message)),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok(body)) => parse_configz(body.as_bytes()),
        }
    }

    async fn probe(&self, t: &Target) -> NodeProbes {
        let mut p = NodeProbes {
            node: t.name.clone(),
            address: t.address.clone(),
            kubelet_port: t.port,
            read_only_port: self.read_only_port,
            healthz: None,
            pods: None,
            read_only: None,
        };
        let Ok(ip) = t.address else {
            return p;
        };
        if let Some(port) = t.port {
            let healthz = self.get(&probe_url(ip, port, ProbePath::Healthz)).await;
            if should_probe_pods(&healthz) {
                p.pods = Some(self.get(&probe_url(ip, port, ProbePath::Pods)).await);
            }
            p.healthz = Some(healthz);
        }
        p.read_only = Some(
            self.get(&probe_url(
                ip,
                self.read_only_port,
                ProbePath::ReadOnlyHealthz,
            ))
            .await,
        );
        p
    }

    /// One unauthenticated GET: the status and whether the body began with `ok`; the body
    /// itself is dropped unread beyond [`MAX_PROBE_BODY`].
    async fn get(&self, url: &str) -> Answer {
        let mut resp = match self.http.get(url).send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Answer::Failed("timed out".into()),
            Err(e) if e.is_connect() => {
                return Answer::Failed("connection refused or unreachable".into());
            }
            Err(e) => return Answer::Failed(e.without_url().to_string()),
        };
        let status = resp.status().as_u16();
        let mut head: Vec<u8> = Vec::new();
        while head.len() < MAX_PROBE_BODY {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    let room = MAX_PROBE_BODY - head.len();
                    head.extend_from_slice(&c[..c.len().min(room)]);
                }
                _ => break,
            }
        }
        Answer::Http {
            status,
            ok_body: head.trim_ascii_start().starts_with(b"ok"),
        }
    }
}

/// A node as the probes see it.
struct Target {
    name: String,
    address: Result<IpAddr, String>,
    port: Option<u16>,
}

impl Target {
    fn of(n: &Node) -> Target {
        let status = n.status.as_ref();
        let address = status
            .and_then(|s| s.addresses.as_ref())
            .and_then(|a| a.iter().find(|a| a.type_ == "InternalIP"))
            .ok_or_else(|| "no InternalIP".to_string())
            .and_then(|a| {
                a.address
                    .parse::<IpAddr>()
                    .map_err(|_| "its InternalIP is not an IP address".to_string())
            });
        let port = status
            .and_then(|s| s.daemon_endpoints.as_ref())
            .and_then(|d| d.kubelet_endpoint.as_ref())
            .and_then(|e| u16::try_from(e.port).ok())
            .filter(|p| *p != 0);
        Target {
            name: n.metadata.name.clone().unwrap_or_default(),
            address,
            port,
        }
    }
}
