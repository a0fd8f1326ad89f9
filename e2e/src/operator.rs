//! An operator process for one test: `kube-posture run` as the operator's own ServiceAccount
//! identity (bound to exactly the ClusterRole in manifests/), reconciling only the test's
//! policies (labelled `kubeposture.io/e2e=<prefix>`). Killed when dropped.

use crate::{
    admin, admin_kubeconfig, apply, client_for, install_crds, kube_posture_bin,
    operator_kubeconfig, repo, wait_for,
};
use anyhow::Result;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::DeleteParams;
use kube::api::{Api, ListParams, PostParams};
use kube_posture::api::{Finding, SecurityPolicy};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const E2E_LABEL: &str = "kubeposture.io/e2e";

/// Apply the CRDs and the operator's namespace, RBAC and metrics access from manifests/.
pub async fn install(client: &Client) -> Result<()> {
    install_crds(client).await?;
    let mut docs = Vec::new();
    for f in [
        "namespace.yaml",
        "rbac.yaml",
        "leader-election.yaml",
        "metrics.yaml",
    ] {
        let text = std::fs::read_to_string(repo().join("manifests").join(f))?;
        let values: Vec<Value> =
            kube_posture::yaml::from_str_multi(&text).map_err(anyhow::Error::msg)?;
        docs.extend(values);
    }
    apply(client, &docs).await
}

pub struct Operator {
    child: Child,
    pub log: PathBuf,
    pub prefix: String,
}

/// How to start an operator; defaults: its own Lease, the operator identity.
#[derive(Default)]
pub struct Options {
    /// Replica name (default: the prefix).
    pub instance: Option<String>,
    /// Lease name (default: `kube-posture-<prefix>`); replicas sharing one elect a leader.
    pub lease: Option<String>,
    /// Kubeconfig (default: the operator identity's, else the admin's).
    pub kubeconfig: Option<PathBuf>,
    /// Admin kubeconfig that installs the CRDs and RBAC (default: `E2E_KUBECONFIG`); a
    /// private control plane's.
    pub admin_kubeconfig: Option<PathBuf>,
    /// Serve /metrics as deployed (HTTPS, TokenReview and SubjectAccessReview) instead of
    /// plain HTTP.
    pub secure_metrics: bool,
    /// `--reports` (default `none`): policy reports are written by one operator per cluster,
    /// and the tests' operators share one API server; the tests of reports choose their API.
    pub reports: Option<String>,
    pub extra: Vec<String>,
    /// Extra environment variables of the operator process.
    pub env: Vec<(String, String)>,
    /// How long the first list of every watched kind may take (default 60 s; a benchmark
    /// cluster of 150,000 Pods needs minutes).
    pub sync_timeout: Option<Duration>,
}

impl Operator {
    /// Start an operator for the policies labelled with `prefix`.
    pub async fn start(prefix: &str) -> Operator {
        Self::start_with(prefix, Options::default()).await
    }

    pub async fn start_with(prefix: &str, opts: Options) -> Operator {
        let client = match &opts.admin_kubeconfig {
            Some(path) => client_for(path).await.expect("admin client"),
            None => admin().await,
        };
        install(&client)
            .await
            .expect("install CRDs and operator RBAC");
        let kubeconfig = opts
            .kubeconfig
            .clone()
            .or_else(operator_kubeconfig)
            .unwrap_or_else(admin_kubeconfig);
        let instance = opts.instance.clone().unwrap_or_else(|| prefix.to_string());
        let lease = opts
            .lease
            .clone()
            .unwrap_or_else(|| format!("kube-posture-{prefix}"));
        let log = std::env::temp_dir().join(format!("kp-e2e-operator-{instance}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(kube_posture_bin())
            .args([
                "--kubeconfig",
                kubeconfig.to_str().unwrap(),
                "run",
                "--log-format",
                "json",
                "--instance",
                &instance,
                "--policy-selector",
                &format!("{E2E_LABEL}={prefix}"),
                "--lease-name",
                &lease,
                "--health-addr",
                "127.0.0.1:0",
                "--metrics-addr",
                "127.0.0.1:0",
            ])
            // Plain /metrics, so that the helpers below can scrape with any cluster's
            // credentials; the secured endpoint has a test of its own (metrics_auth.rs).
            .args(if opts.secure_metrics {
                &[][..]
            } else {
                &["--metrics-secure=false"][..]
            })
            .args(["--reports", opts.reports.as_deref().unwrap_or("none")])
            .args(&opts.extra)
            .env("RUST_LOG", "info,kube_client=warn,kube_runtime=warn")
            .envs(opts.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("kube-posture run starts");
        let op = Operator {
            child,
            log,
            prefix: prefix.to_string(),
        };
        let sync_timeout = opts.sync_timeout.unwrap_or(Duration::from_secs(60));
        wait_for(sync_timeout, || async {
            op.log_text().contains("caches synced").then_some(())
        })
        .await
        .unwrap_or_else(|_| panic!("operator did not sync its caches:\n{}", op.log_text()));
        op
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Log lines (JSON) with `"message":"<message>"` and, if given, the policy.
    pub fn log_lines(&self, message: &str, policy: Option<&str>) -> Vec<Value> {
        self.log_text()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["message"] == message && policy.is_none_or(|p| v["policy"] == p))
            .collect()
    }

    /// Whether this replica currently leads (its last "leadership changed" line).
    pub fn leading(&self) -> bool {
        self.log_lines("leadership changed", None)
            .last()
            .is_some_and(|l| l["leading"] == true)
    }

    /// The `scheme://addr` of the endpoint logged as `message`.
    fn endpoint(&self, message: &str) -> String {
        let line = self.log_lines(message, None);
        let line = line
            .first()
            .unwrap_or_else(|| panic!("{message:?} in the log:\n{}", self.log_text()));
        let addr = line["addr"].as_str().expect("addr in the log line");
        let scheme = line["scheme"].as_str().unwrap_or("http");
        format!("{scheme}://{addr}")
    }

    /// Where /healthz and /readyz are served.
    pub fn health_url(&self) -> String {
        self.endpoint("serving /healthz and /readyz")
    }

    /// Where /metrics is served (`http://…`, or `https://…` with `secure_metrics`).
    pub fn metrics_url(&self) -> String {
        self.endpoint("serving /metrics")
    }

    /// The sum of a metric's samples on /metrics (`name` and `name{…}` lines); 0 when the
    /// metric has no sample yet. A failed scrape fails the test: it is not a zero.
    pub fn metric(&self, name: &str) -> f64 {
        let url = format!("{}/metrics", self.metrics_url());
        let (code, body) = crate::http_get(&url).unwrap_or_else(|e| panic!("scrape {url}: {e}"));
        assert_eq!(code, 200, "scrape {url}: HTTP {code}");
        body.lines()
            .filter(|l| {
                l.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Send a signal (`TERM`, `KILL`) and return when it has exited (or after 30 s).
    pub fn signal(&mut self, sig: &str) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status();
        for _ in 0..300 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The policy most tests start from: over the namespaces of `prefix`'s sample cluster. Its
/// findingLimit is the highest allowed: the shared API server accumulates other tests'
/// cluster-scoped objects (their control-plane Pods, ClusterRoleBindings), whose findings this
/// policy sees too, and at the default 500 they would push this test's own Findings out.
pub fn sample_policy(prefix: &str, name: &str) -> SecurityPolicy {
    policy(
        prefix,
        name,
        json!({"namespaces": {"include": [format!("{prefix}-*")]}, "findingLimit": 10000}),
    )
}

/// A SecurityPolicy labelled for `prefix`'s operator.
pub fn policy(prefix: &str, name: &str, spec: Value) -> SecurityPolicy {
    serde_json::from_value(json!({
        "apiVersion": "kubeposture.io/v1alpha1",
        "kind": "SecurityPolicy",
        "metadata": {"name": name, "labels": {E2E_LABEL: prefix}},
        "spec": spec,
    }))
    .expect("policy")
}

pub async fn create_policy(client: &Client, p: &SecurityPolicy) -> SecurityPolicy {
    Api::<SecurityPolicy>::all(client.clone())
        .create(&PostParams::default(), p)
        .await
        .expect("create policy")
}

pub async fn get_policy(client: &Client, name: &str) -> SecurityPolicy {
    Api::<SecurityPolicy>::all(client.clone())
        .get(name)
        .await
        .expect("get policy")
}

/// The Finding objects of a policy.
pub async fn findings(client: &Client, policy: &str) -> Vec<Finding> {
    Api::<Finding>::all(client.clone())
        .list(&ListParams::default().labels(&format!("kubeposture.io/policy={policy}")))
        .await
        .expect("list findings")
        .items
}

/// The Findings of a policy once an audit's writes have settled: every Finding has its status
/// (the operator creates a Finding, then writes its status subresource) and the policy's status
/// (written after the Findings) counts exactly these. `None` while the writes are under way: a
/// test that reads the Findings mid-write sees some of them, or one without its status.
pub async fn settled_findings(client: &Client, policy: &str) -> Option<Vec<Finding>> {
    let fs = findings(client, policy).await;
    let summary = get_policy(client, policy).await.status?.summary?;
    let all_written = fs
        .iter()
        .all(|f| f.status.as_ref().is_some_and(|s| s.severity.is_some()));
    (all_written && (summary.total + summary.suppressed) as usize == fs.len()).then_some(fs)
}

/// Wait until the policy's status has a Ready condition for its current generation.
pub async fn wait_reconciled(client: &Client, name: &str) -> SecurityPolicy {
    wait_for(Duration::from_secs(30), || async {
        let p = get_policy(client, name).await;
        let st = p.status.as_ref()?;
        (st.observed_generation == p.metadata.generation
            && st.conditions.iter().any(|c| c.type_ == "Ready"))
        .then_some(p)
    })
    .await
    .unwrap_or_else(|_| panic!("policy {name} was not reconciled"))
}

pub fn condition<'a>(
    p: &'a SecurityPolicy,
    type_: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    p.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
}

/// An identity of the test's own, bound to a copy of the operator's ClusterRole (named `p`, so
/// the test can take permissions away without touching other tests), and a kubeconfig that
/// impersonates it. Returns the ClusterRole and the kubeconfig's path.
pub async fn own_operator_identity(client: &Client, p: &str) -> (ClusterRole, PathBuf) {
    let user = format!("system:serviceaccount:kube-posture-system:{p}");
    let manifest = std::fs::read_to_string(repo().join("manifests/rbac.yaml")).unwrap();
    let docs: Vec<Value> = kube_posture::yaml::from_str_multi(&manifest).unwrap();
    // The kube-system Role (kubeadm's kubelet ConfigMap) comes along under the same name.
    let mut ns_role: Role = serde_json::from_value(
        docs.iter()
            .find(|d| d["kind"] == "Role")
            .cloned()
            .expect("manifests/rbac.yaml has the operator's kube-system Role"),
    )
    .unwrap();
    ns_role.metadata.name = Some(p.to_string());
    Api::<Role>::namespaced(client.clone(), "kube-system")
        .create(&PostParams::default(), &ns_role)
        .await
        .unwrap();
    let ns_binding: RoleBinding = serde_json::from_value(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": p, "namespace": "kube-system"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": p},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]
    }))
    .unwrap();
    Api::<RoleBinding>::namespaced(client.clone(), "kube-system")
        .create(&PostParams::default(), &ns_binding)
        .await
        .unwrap();
    let mut role: ClusterRole = serde_json::from_value(
        docs.into_iter()
            .find(|d| d["kind"] == "ClusterRole")
            .expect("manifests/rbac.yaml has the operator's ClusterRole"),
    )
    .unwrap();
    role.metadata.name = Some(p.to_string());
    Api::<ClusterRole>::all(client.clone())
        .create(&PostParams::default(), &role)
        .await
        .unwrap();
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": p},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": p},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]
    }))
    .unwrap();
    Api::<ClusterRoleBinding>::all(client.clone())
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
    let mut kc = kube::config::Kubeconfig::read_from(admin_kubeconfig()).unwrap();
    for a in &mut kc.auth_infos {
        if let Some(info) = a.auth_info.as_mut() {
            info.impersonate = Some(user.clone());
            info.impersonate_groups = Some(vec![
                "system:serviceaccounts".into(),
                "system:authenticated".into(),
            ]);
        }
    }
    let kc_path = std::env::temp_dir().join(format!("kp-e2e-{p}.kubeconfig"));
    std::fs::write(&kc_path, kube_posture::yaml::to_string(&kc).unwrap()).unwrap();
    (role, kc_path)
}

pub async fn cleanup_identity(client: &Client, p: &str) {
    let _ = Api::<Role>::namespaced(client.clone(), "kube-system")
        .delete(p, &DeleteParams::default())
        .await;
    let _ = Api::<RoleBinding>::namespaced(client.clone(), "kube-system")
        .delete(p, &DeleteParams::default())
        .await;
    let _ = Api::<ClusterRole>::all(client.clone())
        .delete(p, &DeleteParams::default())
        .await;
    let _ = Api::<ClusterRoleBinding>::all(client.clone())
        .delete(p, &DeleteParams::default())
        .await;
}

/// `FindingResolved` Events about `policy` at or after `since`.
pub async fn resolved_events_since(client: &Client, policy: &str, since: Timestamp) -> usize {
    Api::<Event>::all(client.clone())
        .list(&ListParams::default())
        .await
        .expect("list events")
        .items
        .into_iter()
        .filter(|e| {
            e.reason.as_deref() == Some("FindingResolved")
                && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(policy)
        })
        .filter(|e| {
            let first = e.event_time.as_ref().map(|t| t.0);
            let last = e.series.as_ref().map(|s| s.last_observed_time.0);
            first.into_iter().chain(last).any(|t| t >= since)
        })
        .count()
}

/// A finding's identity: (check, target, subject / DaemonSet / exception).
pub fn identity(f: &Finding) -> String {
    let s = f.status.as_ref();
    format!(
        "{} {} {}/{} {:?} {:?} {:?}",
        f.spec.check,
        f.spec.resource.kind,
        f.spec.resource.namespace,
        f.spec.resource.name,
        s.and_then(|s| s.subject.as_ref())
            .map(|x| serde_json::to_string(x).unwrap_or_default()),
        s.and_then(|s| s.daemon_set.as_ref())
            .map(|x| serde_json::to_string(x).unwrap_or_default()),
        s.and_then(|s| s.exception.as_ref())
            .map(|e| e.waives.clone()),
    )
}
