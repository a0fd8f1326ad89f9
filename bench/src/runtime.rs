//! Does the audit leave the runtime free? The operator runs under the Deployment's CPU limit
//! (one CPU, as a cgroup CFS quota), with leader election, while audits run back to back
//! (a change every 100 ms, `--debounce 1ms --max-delay 1ms`). Meanwhile `/healthz` is asked
//! every 100 ms on a new connection (as the kubelet does) and the Lease is watched: every
//! renewal's `renewTime` is seen, so a missed renewal is a gap longer than the renew
//! deadline. Needs `E2E_KUBECONFIG` (run it under `e2e/scripts/control-plane.sh run --`).

use crate::controller::percentile;
use anyhow::{Context, Result, bail};
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube_posture_e2e::operator::{Operator, Options, create_policy, policy};
use kube_posture_e2e::{admin, http_get, prefix};
use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The renew deadline of the default 15 s Lease (2/3 of it): a gap between two renewals
/// longer than this is a missed renewal (the leader steps down).
const RENEW_DEADLINE: Duration = Duration::from_secs(10);

/// A CPU limit on one process, as a cgroup of its own (v2 `cpu.max`, or v1 CFS quota).
struct CpuLimit {
    dir: PathBuf,
    v2: bool,
}

impl CpuLimit {
    fn apply(pid: u32, cpus: f64) -> Result<CpuLimit> {
        let period = 100_000u64;
        let quota = (cpus * period as f64).round() as u64;
        let name = format!("kube-posture-bench-{}", std::process::id());
        let (dir, v2) = if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
            let _ = std::fs::write("/sys/fs/cgroup/cgroup.subtree_control", "+cpu");
            (PathBuf::from("/sys/fs/cgroup").join(name), true)
        } else if std::path::Path::new("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").exists() {
            (PathBuf::from("/sys/fs/cgroup/cpu").join(name), false)
        } else {
            bail!(
                "no cgroup cpu controller at /sys/fs/cgroup: cannot limit the CPU (use --cpu-limit 0 to run without)"
            );
        };
        let ctx = || format!("cgroup {} (needs root)", dir.display());
        std::fs::create_dir_all(&dir).with_context(ctx)?;
        if v2 {
            std::fs::write(dir.join("cpu.max"), format!("{quota} {period}")).with_context(ctx)?;
        } else {
            std::fs::write(dir.join("cpu.cfs_period_us"), period.to_string()).with_context(ctx)?;
            std::fs::write(dir.join("cpu.cfs_quota_us"), quota.to_string()).with_context(ctx)?;
        }
        std::fs::write(dir.join("cgroup.procs"), pid.to_string()).with_context(ctx)?;
        Ok(CpuLimit { dir, v2 })
    }

    /// (periods, throttled periods, throttled time).
    fn throttling(&self) -> (u64, u64, Duration) {
        let stat = std::fs::read_to_string(self.dir.join("cpu.stat")).unwrap_or_default();
        let get = |k: &str| {
            stat.lines()
                .find_map(|l| l.strip_prefix(k)?.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        let time = if self.v2 {
            Duration::from_micros(get("throttled_usec "))
        } else {
            Duration::from_nanos(get("throttled_time "))
        };
        (get("nr_periods "), get("nr_throttled "), time)
    }
}

impl Drop for CpuLimit {
    fn drop(&mut self) {
        // The process has exited (or is moved back to the root group) before the group goes.
        let root = self.dir.parent().map(|p| p.join("cgroup.procs"));
        if let (Ok(pids), Some(root)) =
            (std::fs::read_to_string(self.dir.join("cgroup.procs")), root)
        {
            for pid in pids.lines() {
                let _ = std::fs::write(&root, pid);
            }
        }
        let _ = std::fs::remove_dir(&self.dir);
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Upper bound of the bucket holding quantile `q` of a Prometheus histogram on /metrics.
fn histogram_quantile(metrics: &str, name: &str, q: f64) -> Option<(f64, u64)> {
    let buckets: Vec<(f64, u64)> = metrics
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(&format!("{name}_bucket{{le=\""))?;
            let (le, rest) = rest.split_once("\"}")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, rest.trim().parse::<f64>().ok()? as u64))
        })
        .collect();
    let count = buckets.last()?.1;
    let want = (count as f64 * q).ceil() as u64;
    buckets
        .iter()
        .find(|(_, n)| *n >= want)
        .map(|(le, _)| (*le, count))
}

pub async fn runtime(
    size: Option<crate::synth::Sizes>,
    skip_load: bool,
    seconds: u64,
    cpus: f64,
) -> Result<()> {
    let client = admin().await;
    kube_posture_e2e::operator::install(&client).await?;
    let p = prefix("bench-rt");
    let mut rows: Vec<(String, String)> = Vec::new();
    if let Some(sizes) = size.as_ref().filter(|_| !skip_load) {
        let (n, took) = crate::load::load(&client, sizes, 16).await?;
        rows.push((
            "synthetic cluster loaded into the API server".into(),
            format!("{n} objects in {took:.0?}"),
        ));
    }
    let name = format!("{p}-rt");
    create_policy(&client, &policy(&p, &name, json!({}))).await;
    let lease_name = format!("kube-posture-{p}");
    let op = Operator::start_with(
        &p,
        Options {
            lease: Some(lease_name.clone()),
            extra: ["--debounce", "1ms", "--max-delay", "1ms"]
                .map(String::from)
                .to_vec(),
            ..Default::default()
        },
    )
    .await;
    let limit = if cpus > 0.0 {
        Some(CpuLimit::apply(op.pid(), cpus)?)
    } else {
        None
    };
    // The first audit, then the measured window.
    let t0 = Instant::now();
    while op.log_lines("reconciled", Some(&name)).is_empty() {
        anyhow::ensure!(
            t0.elapsed() < Duration::from_secs(600),
            "no reconcile:\n{}",
            op.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reconciles_before = op.log_lines("reconciled", Some(&name)).len();
    let throttled_before = limit.as_ref().map(CpuLimit::throttling);
    let stop = Arc::new(AtomicBool::new(false));

    // /healthz every 100 ms, on a thread of its own (the bench's runtime cannot delay it).
    let health = format!("{}/healthz", op.health_url());
    let probes: Arc<Mutex<(Vec<Duration>, usize)>> = Arc::default();
    let prober = {
        let (stop, probes) = (stop.clone(), probes.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let ok = matches!(http_get(&health), Ok((200, _)));
                let took = t.elapsed();
                let mut p = probes.lock().unwrap();
                if ok {
                    p.0.push(took);
                } else {
                    p.1 += 1;
                }
                drop(p);
                std::thread::sleep(Duration::from_millis(100).saturating_sub(took));
            }
        })
    };

    // Every renewal of the Lease, as the API server stored it.
    let renewals: Arc<Mutex<Vec<jiff::Timestamp>>> = Arc::default();
    let watch = {
        let renewals = renewals.clone();
        let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-posture-system");
        let wc = watcher::Config::default().fields(&format!("metadata.name={lease_name}"));
        tokio::spawn(async move {
            let stream = watcher(leases, wc).applied_objects();
            futures::pin_mut!(stream);
            while let Some(Ok(l)) = stream.next().await {
                if let Some(t) = l.spec.and_then(|s| s.renew_time) {
                    let mut r = renewals.lock().unwrap();
                    if r.last() != Some(&t.0) {
                        r.push(t.0);
                    }
                }
            }
        })
    };

    // Audits back to back: a change every 100 ms (ten ClusterRoleBindings to cluster-admin,
    // created and deleted in turn, so the cluster keeps its size).
    let crbs: Api<ClusterRoleBinding> = Api::all(client.clone());
    let window = Instant::now();
    let mut i = 0usize;
    let mut present = [false; 10];
    while window.elapsed() < Duration::from_secs(seconds) {
        let k = i % present.len();
        let crb = format!("{p}-rt-{k}");
        if present[k] {
            crbs.delete(&crb, &DeleteParams::default()).await?;
        } else {
            let body = json!({"metadata": {"name": crb},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": format!("{p}-u{k}")}]});
            crbs.create(&PostParams::default(), &serde_json::from_value(body)?)
                .await?;
        }
        present[k] = !present[k];
        i += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = window.elapsed();
    stop.store(true, Ordering::Relaxed);
    prober.join().ok();
    watch.abort();
    for (k, on) in present.iter().enumerate() {
        if *on {
            crbs.delete(&format!("{p}-rt-{k}"), &DeleteParams::default())
                .await?;
        }
    }

    let audits: Vec<u64> = op
        .log_lines("reconciled", Some(&name))
        .iter()
        .skip(reconciles_before)
        .filter_map(|l| l["audit_ms"].as_u64())
        .collect();
    let busy: u64 = audits.iter().sum();
    let (mut ok, failed) = std::mem::take(&mut *probes.lock().unwrap());
    ok.sort();
    let stamps = renewals.lock().unwrap().clone();
    let mut gaps: Vec<Duration> = stamps
        .windows(2)
        .filter_map(|w| {
            let d = w[1].duration_since(w[0]);
            Duration::try_from(d).ok()
        })
        .collect();
    gaps.sort();
    let (_, metrics) = http_get(&format!("{}/metrics", op.metrics_url()))?;
    let step_downs = metrics
        .lines()
        .find_map(|l| l.strip_prefix("kube_posture_leader_step_downs_total "))
        .unwrap_or("?")
        .to_string();

    let mut row = |w: &str, f: String| rows.push((w.to_string(), f));
    row(
        "CPU limit",
        match (&limit, &throttled_before) {
            (Some(l), Some((p0, t0, d0))) => {
                let (p1, t1, d1) = l.throttling();
                format!(
                    "{cpus} CPU (cgroup {}); throttled in {} of {} periods, {:.1} s in all",
                    if l.v2 { "v2 cpu.max" } else { "v1 CFS quota" },
                    t1 - t0,
                    p1 - p0,
                    (d1 - *d0).as_secs_f64()
                )
            }
            _ => "none".into(),
        },
    );
    row(
        "audits in the window (a change every 100 ms)",
        format!(
            "{} in {:.0} s ({} changes); audit time {:.0}% of the window; median {} ms",
            audits.len(),
            elapsed.as_secs_f64(),
            i,
            busy as f64 / elapsed.as_millis() as f64 * 100.0,
            {
                let mut a = audits.clone();
                a.sort();
                a.get(a.len() / 2).copied().unwrap_or(0)
            }
        ),
    );
    if ok.is_empty() {
        bail!("no /healthz answer at all ({failed} failures)");
    }
    row(
        "/healthz latency, every 100 ms on a new connection: p50 / p99 / max",
        format!(
            "{} / {} / {} ms ({} answers, {failed} failures)",
            ms(percentile(&ok, 0.5)),
            ms(percentile(&ok, 0.99)),
            ms(*ok.last().unwrap()),
            ok.len()
        ),
    );
    if gaps.is_empty() {
        bail!("no Lease renewal seen in the window");
    }
    row(
        "Lease renewals (renewTime on a watch): interval p50 / p99 / max",
        format!(
            "{} renewals; {} / {} / {} ms (retry every 2 s; missed = a gap over the {} s renew deadline: {})",
            stamps.len(),
            ms(percentile(&gaps, 0.5)),
            ms(percentile(&gaps, 0.99)),
            ms(*gaps.last().unwrap()),
            RENEW_DEADLINE.as_secs(),
            gaps.iter().filter(|g| **g > RENEW_DEADLINE).count()
        ),
    );
    if let Some((le, n)) =
        histogram_quantile(&metrics, "kube_posture_lease_renew_duration_seconds", 0.99)
    {
        row(
            "Lease get+update duration (operator histogram): p99",
            format!("≤ {} ms ({n} renewals)", le * 1000.0),
        );
    }
    row("leader step-downs", step_downs);

    println!("| runtime under audit load | figure |");
    println!("|---|---|");
    for (w, f) in rows {
        println!("| {w} | {f} |");
    }
    drop(op);
    drop(limit);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_are_bucket_bounds() {
        let m = "x_bucket{le=\"0.005\"} 90\nx_bucket{le=\"0.01\"} 99\nx_bucket{le=\"0.02\"} 100\nx_bucket{le=\"+Inf\"} 100\n";
        assert_eq!(histogram_quantile(m, "x", 0.5), Some((0.005, 100)));
        assert_eq!(histogram_quantile(m, "x", 0.99), Some((0.01, 100)));
        assert_eq!(histogram_quantile(m, "x", 1.0), Some((0.02, 100)));
        assert_eq!(histogram_quantile("", "x", 0.99), None);
    }
}
