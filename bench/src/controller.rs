//! The operator against a real API server: how long until the first complete audit, what it
//! writes, how fast a misconfiguration becomes a Finding. Needs `E2E_KUBECONFIG` (run it under
//! `e2e/scripts/control-plane.sh run --`).

use anyhow::{Context, Result};
use futures::StreamExt;
use kube::api::{Api, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube_posture::api::Finding;
use kube_posture_e2e::fixture::instantiate_sample;
use kube_posture_e2e::operator::{Operator, create_policy, policy};
use kube_posture_e2e::{admin, prefix};
use serde_json::json;
use std::time::{Duration, Instant};

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Operator requests seen in the API server's audit log (see `bench/audit-policy.yaml`).
#[derive(Default)]
pub struct Requests {
    pub by_verb_resource: std::collections::BTreeMap<(String, String), usize>,
    pub unpaginated_lists: usize,
    pub total: usize,
}

fn requests_from_audit_log(text: &str, user: &str) -> Requests {
    use std::collections::HashSet;
    let mut seen = HashSet::new();
    let mut r = Requests::default();
    for line in text.lines() {
        let Ok(e) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if e["user"]["username"].as_str() != Some(user) {
            continue;
        }
        // A watch logs ResponseStarted and ResponseComplete: count each request once.
        if !seen.insert(e["auditID"].as_str().unwrap_or("").to_string()) {
            continue;
        }
        let verb = e["verb"].as_str().unwrap_or("?").to_string();
        let resource = e["objectRef"]["resource"]
            .as_str()
            .map(|r| match e["objectRef"]["subresource"].as_str() {
                Some(sub) => format!("{r}/{sub}"),
                None => r.to_string(),
            })
            .unwrap_or_else(|| e["requestURI"].as_str().unwrap_or("?").to_string());
        let uri = e["requestURI"].as_str().unwrap_or("");
        if verb == "list" && !uri.contains("limit=") {
            r.unpaginated_lists += 1;
        }
        r.total += 1;
        *r.by_verb_resource.entry((verb, resource)).or_default() += 1;
    }
    r
}

fn cached_objects(metrics: &str) -> usize {
    metrics
        .lines()
        .filter(|l| l.starts_with("kube_posture_cached_objects{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as usize
}

pub async fn latency(
    changes: usize,
    size: Option<crate::synth::Sizes>,
    skip_load: bool,
) -> Result<()> {
    let client = admin().await;
    kube_posture_e2e::operator::install(&client).await?;
    let p = prefix("bench");
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut row = |what: &str, figure: String| rows.push((what.to_string(), figure));
    if let Some(sizes) = size.as_ref().filter(|_| !skip_load) {
        let (n, took) = crate::load::load(&client, sizes, 16).await?;
        row(
            "synthetic cluster loaded into the API server",
            format!(
                "{n} objects ({} nodes, {} pods, {} RoleBindings) in {took:.0?}",
                sizes.nodes, sizes.pods, sizes.role_bindings
            ),
        );
    }
    // The sample cluster needs the workload controllers for its Pods; a synthetic cluster
    // stands alone (and runs without them, see bench/run.sh).
    let dir = std::env::temp_dir().join(format!("kp-bench-{p}"));
    if size.is_none() {
        instantiate_sample(&p, &dir).await;
    }
    let name = format!("{p}-bench");
    // At a synthetic size the policy covers the whole cluster; otherwise the sample's namespaces.
    let spec = if size.is_some() {
        json!({})
    } else {
        json!({"namespaces": {"include": [format!("{p}-*")]}})
    };
    create_policy(&client, &policy(&p, &name, spec)).await;
    let audit_log = std::env::var_os("BENCH_AUDIT_LOG").map(std::path::PathBuf::from);
    let log_start = audit_log
        .as_ref()
        .and_then(|l| std::fs::metadata(l).ok())
        .map_or(0, |m| m.len());
    let started = Instant::now();
    // The first list of 150,000 Pods (M) takes minutes on this machine, not seconds.
    let op = Operator::start_with(
        &p,
        kube_posture_e2e::operator::Options {
            sync_timeout: Some(Duration::from_secs(if size.is_some() { 1800 } else { 60 })),
            ..Default::default()
        },
    )
    .await;
    let synced = started.elapsed();
    let first = loop {
        if let Some(l) = op.log_lines("reconciled", Some(&name)).into_iter().next() {
            break l;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(1800),
            "no reconcile:\n{}",
            op.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let first_audit = started.elapsed();
    let rss_first = rss_kib(op.pid());
    // Steady state: a few seconds after the first audit's writes settled.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let rss_steady = rss_kib(op.pid());
    let (_, metrics) = kube_posture_e2e::http_get(&format!("{}/metrics", op.metrics_url()))?;
    let cached = cached_objects(&metrics);

    // Watch this policy's Findings to time each change precisely.
    let findings: Api<Finding> = Api::all(client.clone());
    let wc = watcher::Config::default().labels(&format!("kubeposture.io/policy={name}"));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
    tokio::spawn(async move {
        let stream = watcher(findings, wc).applied_objects();
        futures::pin_mut!(stream);
        while let Some(Ok(f)) = stream.next().await {
            let _ = tx.send((f.spec.resource.name.clone(), Instant::now()));
        }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    while rx.try_recv().is_ok() {}
    let reconciles_before = op.log_lines("reconciled", Some(&name)).len();
    let crbs: Api<k8s_openapi::api::rbac::v1::ClusterRoleBinding> = Api::all(client.clone());
    let mut latencies = Vec::new();
    for i in 0..changes {
        let crb = format!("{p}-lat-{i}");
        let body = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": crb},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": format!("{p}-u{i}")}]});
        let t0 = Instant::now();
        crbs.create(&PostParams::default(), &serde_json::from_value(body)?)
            .await?;
        let seen = loop {
            let (n, at) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .context("finding did not appear within 30 s")?
                .context("watch ended")?;
            if n == crb {
                break at;
            }
        };
        latencies.push(seen - t0);
        if (i + 1) % 20 == 0 {
            eprintln!("{} changes measured", i + 1);
        }
        // Spread the changes so each is its own debounce window.
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    latencies.sort();
    let heartbeats = heartbeat_audits(&client, &op, &name).await?;
    let mut audit_ms: Vec<u64> = op
        .log_lines("reconciled", Some(&name))
        .iter()
        .skip(reconciles_before)
        .take(latencies.len())
        .filter_map(|l| l["audit_ms"].as_u64())
        .collect();
    audit_ms.sort();
    let requests = match &audit_log {
        Some(path) => Some(requests_from_audit_log_since(path, log_start)?),
        None => None,
    };
    let mib = |k: Option<u64>| {
        k.map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
            .unwrap_or_else(|| "n/a".into())
    };
    row(
        "operator start to caches synced",
        format!("{:.2} s", synced.as_secs_f64()),
    );
    row(
        "operator start to first complete audit",
        format!("{:.2} s", first_audit.as_secs_f64()),
    );
    row("objects in the watch caches", cached.to_string());
    row("findings of the first audit", first["findings"].to_string());
    row(
        "API writes of the first audit (Findings ×2, deletes, status)",
        first["writes"].to_string(),
    );
    row(
        "Warning Events of the first audit",
        first["events"].to_string(),
    );
    row("RSS right after the first audit", mib(rss_first));
    row("steady RSS (10 s later)", mib(rss_steady));
    if let Some(k) = rss_steady
        && cached > 0
    {
        row(
            "RSS per cached object (upper bound: whole process / objects)",
            format!("{:.0} bytes", k as f64 * 1024.0 / cached as f64),
        );
    }
    row(
        &format!(
            "change → Finding, {} changes: p50 / p99 / max",
            latencies.len()
        ),
        format!(
            "{} / {} / {} ms",
            percentile(&latencies, 0.5).as_millis(),
            percentile(&latencies, 0.99).as_millis(),
            latencies.last().copied().unwrap_or_default().as_millis()
        ),
    );
    row(
        "re-audit after one change (a ClusterRoleBinding: RBAC evaluated again, the rest kept): median / max",
        format!(
            "{} / {} ms",
            audit_ms.get(audit_ms.len() / 2).copied().unwrap_or(0),
            audit_ms.last().copied().unwrap_or(0)
        ),
    );
    if let Some((nodes, audits)) = heartbeats {
        row(
            &format!("Node status heartbeats ({nodes} Nodes, Ready unchanged, over 2 s) → audits"),
            audits.to_string(),
        );
    }
    if let Some(r) = &requests {
        row(
            "API requests by the operator (whole run)",
            format!("{} ({} unpaginated lists)", r.total, r.unpaginated_lists),
        );
        let mut kinds: Vec<String> = r
            .by_verb_resource
            .iter()
            .map(|((v, res), n)| format!("{v} {res} ×{n}"))
            .collect();
        kinds.sort();
        row("requests by verb and resource", kinds.join(", "));
    }
    println!(
        "| controller ({}) | figure |",
        if size.is_some() {
            "synthetic cluster"
        } else {
            "sample cluster"
        }
    );
    println!("|---|---|");
    for (w, f) in rows {
        println!("| {w} | {f} |");
    }
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// Status traffic: up to 100 Nodes post their Ready condition twice, as kubelets do, the
/// second time with only a new heartbeat time. Returns the Nodes and the audits the second
/// round caused (none is needed: nothing the checks read changed). `None` without Nodes.
async fn heartbeat_audits(
    client: &kube::Client,
    op: &Operator,
    policy: &str,
) -> Result<Option<(usize, usize)>> {
    use k8s_openapi::api::core::v1::Node;
    use kube::api::{ListParams, Patch, PatchParams};
    let nodes: Api<Node> = Api::all(client.clone());
    let names: Vec<String> = nodes
        .list(&ListParams::default().limit(100))
        .await?
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    if names.is_empty() {
        return Ok(None);
    }
    // One round: every Node posts Ready with a fresh heartbeat, spread over 2 s, then the
    // debounce, the longest delay and an audit's time pass.
    let post_all = || async {
        let beat = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let status = json!({"status": {"conditions": [{"type": "Ready", "status": "True",
            "reason": "KubeletReady", "message": "kubelet is posting ready status",
            "lastHeartbeatTime": beat, "lastTransitionTime": "2026-10-01T08:00:00Z"}]}});
        for n in &names {
            nodes
                .patch_status(n, &PatchParams::default(), &Patch::Merge(&status))
                .await?;
            tokio::time::sleep(Duration::from_millis(2000 / names.len() as u64)).await;
        }
        tokio::time::sleep(Duration::from_secs(8)).await;
        anyhow::Ok(())
    };
    // The first round may change the Nodes (a Ready condition where there was none).
    post_all().await?;
    let before = op.log_lines("reconciled", Some(policy)).len();
    post_all().await?;
    let audits = op.log_lines("reconciled", Some(policy)).len() - before;
    Ok(Some((names.len(), audits)))
}

fn requests_from_audit_log_since(path: &std::path::Path, from: u64) -> Result<Requests> {
    // The log only grows during a run: skip what was there before it started.
    let log = std::fs::read(path)?;
    let tail = String::from_utf8_lossy(&log[(from as usize).min(log.len())..]);
    Ok(requests_from_audit_log(
        &tail,
        "system:serviceaccount:kube-posture-system:kube-posture",
    ))
}
