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

fn percentile(sorted: &[Duration], p: f64) -> Duration {
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

pub async fn latency(changes: usize) -> Result<()> {
    let client = admin().await;
    let p = prefix("bench");
    let dir = std::env::temp_dir().join(format!("kp-bench-{p}"));
    instantiate_sample(&p, &dir).await;
    let started = Instant::now();
    let op = Operator::start(&p).await;
    let name = format!("{p}-bench");
    create_policy(
        &client,
        &policy(
            &p,
            &name,
            json!({"namespaces": {"include": [format!("{p}-*")]}}),
        ),
    )
    .await;
    let first = loop {
        if let Some(l) = op.log_lines("reconciled", Some(&name)).into_iter().next() {
            break l;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(120),
            "no reconcile:\n{}",
            op.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let first_audit = started.elapsed();
    let rss = rss_kib(op.pid());

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
        // Spread the changes so each is its own debounce window.
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    latencies.sort();
    let audit_ms: Vec<u64> = op
        .log_lines("reconciled", Some(&name))
        .iter()
        .filter_map(|l| l["audit_ms"].as_u64())
        .collect();
    println!("| what | figure |");
    println!("|---|---|");
    println!(
        "| operator start to first complete audit (sample cluster) | {:.2?} |",
        first_audit
    );
    println!(
        "| API writes of the first audit (Findings ×2, deletes, status) | {} |",
        first["writes"]
    );
    println!(
        "| Warning Events of the first audit | {} |",
        first["events"]
    );
    println!("| findings of the first audit | {} |", first["findings"]);
    println!(
        "| RSS after the first audit | {} |",
        rss.map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
            .unwrap_or_else(|| "n/a".into())
    );
    println!(
        "| change → Finding, {} changes: p50 / p99 / max | {} / {} / {} ms |",
        latencies.len(),
        percentile(&latencies, 0.5).as_millis(),
        percentile(&latencies, 0.99).as_millis(),
        latencies.last().copied().unwrap_or_default().as_millis()
    );
    println!(
        "| audit duration per reconcile (debug or release build as run): median | {} ms |",
        {
            let mut a = audit_ms.clone();
            a.sort();
            a.get(a.len() / 2).copied().unwrap_or(0)
        }
    );
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
