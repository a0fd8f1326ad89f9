//! Shared helpers for the e2e tests: the cluster under test, isolated fixture instances,
//! server-side apply, and running `kube-posture` and `kubectl` as a user would.
//!
//! Tests run against `E2E_KUBECONFIG` (set by `e2e/scripts/control-plane.sh run`, or by a
//! user pointing at kind or a real cluster). Each test instantiates what it needs under its own
//! prefix, so tests can share one API server and run concurrently.

pub mod fixture;
pub mod operator;
pub mod private_plane;

use anyhow::{Context, Result, bail};
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::{ApiResource, Discovery, Scope};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub const FIELD_MANAGER: &str = "kube-posture-e2e";

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn admin_kubeconfig() -> PathBuf {
    match std::env::var_os("E2E_KUBECONFIG") {
        Some(p) => PathBuf::from(p),
        None => panic!(
            "E2E_KUBECONFIG is not set: run the e2e tests with `make e2e` (which starts a local \
             control plane), or point E2E_KUBECONFIG at a cluster you may write to"
        ),
    }
}

/// The kubeconfig of the operator's own identity (the `kube-posture` ServiceAccount), when
/// the harness provides one.
pub fn operator_kubeconfig() -> Option<PathBuf> {
    std::env::var_os("E2E_OPERATOR_KUBECONFIG").map(PathBuf::from)
}

pub async fn client_for(kubeconfig: &Path) -> Result<Client> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)?;
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?;
    Ok(Client::try_from(config)?)
}

pub async fn admin() -> Client {
    client_for(&admin_kubeconfig()).await.expect("admin client")
}

/// A name prefix unique to this test run and test: `<test>-<4 hex>`.
pub fn prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let salt = (nanos ^ std::process::id().wrapping_mul(2654435761)) & 0xffff;
    format!("{test}-{salt:04x}")
}

/// Server-side apply of every document, namespaces and CRDs first.
pub async fn apply(client: &Client, docs: &[Value]) -> Result<()> {
    let discovery = Discovery::new(client.clone()).run().await?;
    let mut ordered: Vec<&Value> = docs.iter().collect();
    ordered.sort_by_key(|d| match d["kind"].as_str() {
        Some("CustomResourceDefinition") => 0,
        Some("Namespace") => 1,
        Some("ServiceAccount") | Some("ClusterRole") | Some("Role") => 2,
        _ => 3,
    });
    for doc in ordered {
        apply_one(client, &discovery, doc).await?;
    }
    Ok(())
}

fn resource_of(discovery: &Discovery, doc: &Value) -> Result<(ApiResource, bool)> {
    let api_version = doc["apiVersion"].as_str().context("apiVersion")?;
    let kind = doc["kind"].as_str().context("kind")?;
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    for g in discovery.groups() {
        if g.name() != group {
            continue;
        }
        for (ar, caps) in g.versioned_resources(version) {
            if ar.kind == kind {
                return Ok((ar, caps.scope == Scope::Namespaced));
            }
        }
    }
    bail!("{api_version} {kind} is not served by this API server")
}

async fn apply_one(client: &Client, discovery: &Discovery, doc: &Value) -> Result<()> {
    let (ar, namespaced) = resource_of(discovery, doc)?;
    let name = doc["metadata"]["name"].as_str().context("metadata.name")?;
    let api: Api<DynamicObject> = if namespaced {
        let ns = doc["metadata"]["namespace"].as_str().unwrap_or("default");
        Api::namespaced_with(client.clone(), ns, &ar)
    } else {
        Api::all_with(client.clone(), &ar)
    };
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    let mut attempts = 0;
    loop {
        match api.patch(name, &pp, &Patch::Apply(doc)).await {
            Ok(_) => return Ok(()),
            // The server asks to come back later, e.g. a Pod before its ServiceAccount's token
            // Secret exists (API servers before 1.24).
            Err(kube::Error::Api(s))
                if attempts < 30
                    && s.details
                        .as_ref()
                        .is_some_and(|d| d.retry_after_seconds > 0) =>
            {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e).with_context(|| format!("apply {} {name}", ar.kind)),
        }
    }
}

/// Apply the CRDs from `crds/` and wait until they are established (idempotent).
pub async fn install_crds(client: &Client) -> Result<()> {
    let text = std::fs::read_to_string(repo().join("crds/crds.yaml"))?;
    let docs: Vec<Value> = kube_posture::yaml::from_str_multi(&text).map_err(anyhow::Error::msg)?;
    apply(client, &docs).await?;
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(client.clone());
    for name in ["securitypolicies.kubeposture.io", "findings.kubeposture.io"] {
        wait_for(Duration::from_secs(30), || async {
            let crd = crds.get(name).await.ok()?;
            let established = crd
                .status?
                .conditions?
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            established.then_some(())
        })
        .await
        .with_context(|| format!("CRD {name} established"))?;
    }
    Ok(())
}

/// A Node's `status.nodeInfo` as a kubelet 1.20.2 on containerd reports it, with this kernel
/// and operating system.
pub fn node_info(kernel: &str, os_image: &str, operating_system: &str) -> Value {
    serde_json::json!({
        "kubeletVersion": "v1.20.2", "kubeProxyVersion": "v1.20.2",
        "containerRuntimeVersion": "containerd://1.7.22",
        "machineID": "m", "systemUUID": "s", "bootID": "b", "architecture": "amd64",
        "kernelVersion": kernel, "osImage": os_image, "operatingSystem": operating_system})
}

/// Create a Node from `node` (`metadata`, and `spec` if any) and set its `status` through the
/// status subresource, as a kubelet would: no kubelet registers Nodes on the e2e planes.
pub async fn create_node(client: &Client, mut node: Value, status: Value) -> Result<()> {
    node["apiVersion"] = "v1".into();
    node["kind"] = "Node".into();
    let name = node["metadata"]["name"]
        .as_str()
        .context("the Node has no metadata.name")?
        .to_string();
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(client.clone());
    nodes
        .create(&Default::default(), &serde_json::from_value(node)?)
        .await
        .with_context(|| format!("create Node {name}"))?;
    nodes
        .patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(&serde_json::json!({ "status": status })),
        )
        .await
        .with_context(|| format!("status of Node {name}"))?;
    Ok(())
}

/// Poll `f` every 200 ms until it returns `Some`, or fail after `timeout`.
pub async fn wait_for<T, F, Fut>(timeout: Duration, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return Ok(v);
        }
        if start.elapsed() > timeout {
            bail!("timed out after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Use `bin` as the `kube-posture` binary ([`kube_posture_bin`]) for the rest of the process,
/// unless `KUBE_POSTURE_BIN` names one: the benchmarks run the release build.
pub fn use_binary(bin: PathBuf) {
    let _ = BINARY.set(bin);
}

/// The `kube-posture` binary built for this workspace: `KUBE_POSTURE_BIN`, else the one
/// given to [`use_binary`], else the debug build.
pub fn kube_posture_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("KUBE_POSTURE_BIN") {
        return PathBuf::from(p);
    }
    if let Some(p) = BINARY.get() {
        return p.clone();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"));
    let bin = target.join("debug/kube-posture");
    assert!(
        bin.exists(),
        "{} not found: build it first (`cargo build -p kube-posture`; `make e2e` does)",
        bin.display()
    );
    bin
}

/// Run `kube-posture` with the admin kubeconfig.
pub fn kube_posture(args: &[&str]) -> Output {
    Command::new(kube_posture_bin())
        .args(args)
        .env("KUBECONFIG", admin_kubeconfig())
        .output()
        .expect("kube-posture runs")
}

/// Run kubectl as the admin. kubectl is required: a check of what users see must not pass for want of it.
pub fn kubectl(args: &[&str]) -> Output {
    match Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", admin_kubeconfig())
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!(
            "kubectl {}: {e} (the e2e tests check what users see with kubectl: install it; \
             .ci/run does)",
            args.join(" ")
        ),
    }
}

/// The API server's own Table rendering of `path` (what `kubectl get` prints, computed on the
/// server from the CRD's `additionalPrinterColumns`): the column names and each row's cells.
/// Asking the server rather than a local kubectl checks the CRD itself, whatever kubectl is
/// installed.
pub async fn server_table(client: &Client, path: &str) -> Result<(Vec<String>, Vec<Vec<Value>>)> {
    let req = http::Request::get(path)
        .header(
            http::header::ACCEPT,
            "application/json;as=Table;v=v1;g=meta.k8s.io",
        )
        .body(Vec::new())?;
    let table: Value = client
        .request(req)
        .await
        .with_context(|| format!("GET {path} as a Table"))?;
    if table["kind"] != "Table" {
        bail!(
            "GET {path}: the server answered {} instead of a Table",
            table["kind"]
        );
    }
    let columns = table["columnDefinitions"]
        .as_array()
        .context("Table.columnDefinitions")?
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_string())
        .collect();
    let rows = table["rows"]
        .as_array()
        .context("Table.rows")?
        .iter()
        .map(|r| r["cells"].as_array().cloned().unwrap_or_default())
        .collect();
    Ok((columns, rows))
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A plain HTTP/1.0 GET (for /metrics, /healthz, /readyz): status code and body.
pub fn http_get(url: &str) -> Result<(u16, String)> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").context("http:// URL")?;
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".to_string()));
    let mut stream = std::net::TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("HTTP status line")?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}
