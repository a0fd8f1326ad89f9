//! What one change costs the incremental audit (issue 16): a generated cluster is loaded once,
//! audited in full, then changed one object at a time, as a watch would change the controller's
//! caches (the changed object replaced by a new `Arc`, the others kept), and audited by the
//! same engine after each change. Single-threaded, in process: the time of a run is its CPU
//! time on an idle machine. The last state is audited in full too, and the two reports must be
//! equal.

use anyhow::{Result, bail};
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube_posture::audit::incremental::{Engine, Reuse};
use kube_posture::audit::{AuditInput, Report, run_with_previous};
use kube_posture::policy::EffectivePolicy;
use kube_posture::snapshot::Snapshot;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The kinds of change measured, in turn.
const KINDS: [&str; 6] = [
    "bare Pod: securityContext changed",
    "Deployment Pod: moved to another node",
    "Deployment: template changed",
    "ClusterRoleBinding created",
    "Namespace: label changed",
    "Node: kernel changed",
];

/// The position of the `i`-th Pod (spread over the list) with or without an owner.
fn pick_pod(s: &Snapshot, owned: bool, i: usize) -> usize {
    let matching: Vec<usize> = (0..s.pods.len())
        .filter(|&p| s.pods[p].metadata.owner_references.is_some() == owned)
        .collect();
    matching[i * 7919 % matching.len()]
}

fn change(s: &mut Snapshot, kind: usize, i: usize) {
    match kind {
        0 => {
            let at = pick_pod(s, false, i);
            let mut pod = (*s.pods[at]).clone();
            if let Some(c) = pod.spec.as_mut().and_then(|sp| sp.containers.first_mut()) {
                let sc = c.security_context.get_or_insert_with(Default::default);
                sc.privileged = Some(!sc.privileged.unwrap_or(false));
            }
            s.pods[at] = Arc::new(pod);
        }
        1 => {
            let at = pick_pod(s, true, i);
            let mut pod = (*s.pods[at]).clone();
            let node = s.nodes[i * 31 % s.nodes.len()].metadata.name.clone();
            if let Some(sp) = pod.spec.as_mut() {
                sp.node_name = node;
            }
            s.pods[at] = Arc::new(pod);
        }
        2 => {
            let at = i * 7919 % s.deployments.len();
            let mut d = (*s.deployments[at]).clone();
            if let Some(c) = d
                .spec
                .as_mut()
                .and_then(|sp| sp.template.as_mut())
                .and_then(|t| t.spec.as_mut())
                .and_then(|sp| sp.containers.first_mut())
            {
                let sc = c.security_context.get_or_insert_with(Default::default);
                sc.privileged = Some(!sc.privileged.unwrap_or(false));
            }
            s.deployments[at] = Arc::new(d);
        }
        3 => s.cluster_role_bindings.push(Arc::new(ClusterRoleBinding {
            metadata: ObjectMeta {
                name: Some(format!("bench-admin-{i}")),
                ..Default::default()
            },
            role_ref: RoleRef {
                api_group: Some("rbac.authorization.k8s.io".into()),
                kind: "ClusterRole".into(),
                name: "cluster-admin".into(),
            },
            subjects: Some(vec![Subject {
                kind: "User".into(),
                name: format!("bench-user-{i}"),
                api_group: Some("rbac.authorization.k8s.io".into()),
                namespace: None,
            }]),
        })),
        4 => {
            let at = i * 7919 % s.namespaces.len();
            let mut n = (*s.namespaces[at]).clone();
            n.metadata
                .labels
                .get_or_insert_with(Default::default)
                .insert("bench".into(), i.to_string());
            s.namespaces[at] = Arc::new(n);
        }
        _ => {
            let at = i * 31 % s.nodes.len();
            let mut n = (*s.nodes[at]).clone();
            if let Some(info) = n.status.as_mut().and_then(|st| st.node_info.as_mut()) {
                info.kernel_version = if info.kernel_version == "6.6.60" {
                    "5.10.50".into()
                } else {
                    "6.6.60".into()
                };
            }
            s.nodes[at] = Arc::new(n);
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// Audit `dir`, then `per_kind` changes of each kind (of those whose name holds `only`), then
/// the last state `unchanged` times; print the table.
pub fn run(
    dir: &Path,
    label: &str,
    per_kind: usize,
    unchanged_runs: usize,
    only: Option<&str>,
) -> Result<()> {
    let kinds: Vec<usize> = (0..KINDS.len())
        .filter(|&k| only.is_none_or(|o| KINDS[k].to_lowercase().contains(&o.to_lowercase())))
        .collect();
    if kinds.is_empty() {
        bail!("no kind of change matches {only:?}: the kinds are {KINDS:?}");
    }
    let t = Instant::now();
    let before_load = crate::counting::live();
    let (mut snapshot, _) = kube_posture::snapshot::load_paths(&[dir.to_path_buf()])?;
    let model_bytes = crate::counting::live() - before_load;
    eprintln!("read {} objects in {:.1?}", snapshot.len(), t.elapsed());
    let policy = EffectivePolicy::default_policy();
    let now: jiff::Timestamp = "2026-11-28T12:00:00Z".parse()?;
    let mut engine = Engine::default();
    let t = Instant::now();
    let before_audit = crate::counting::live();
    let mut report: Report = engine.run(&AuditInput::offline(&snapshot, &policy, now), &[]);
    let first = t.elapsed();
    let audit_bytes = crate::counting::live() - before_audit;
    let report_bytes = {
        let before = crate::counting::live();
        // A deep copy: the report shares its findings with the engine.
        let copy: Vec<Arc<kube_posture::audit::Finding>> = report
            .findings
            .iter()
            .map(|f| Arc::new(kube_posture::audit::Finding::clone(f)))
            .collect();
        let bytes = crate::counting::live() - before;
        drop(copy);
        bytes
    };
    let mut times: BTreeMap<usize, (Vec<Duration>, Reuse)> = BTreeMap::new();
    for round in 0..per_kind {
        for &kind in &kinds {
            change(&mut snapshot, kind, round);
            let t = Instant::now();
            let next = engine.run(
                &AuditInput::offline(&snapshot, &policy, now),
                &report.findings,
            );
            let took = t.elapsed();
            report = next;
            let e = times.entry(kind).or_default();
            e.0.push(took);
            e.1 = engine.last;
        }
    }
    // Nothing changed (after the changes, so that the first run's allocations are behind).
    let mut unchanged = Vec::new();
    for _ in 0..unchanged_runs {
        let t = Instant::now();
        report = engine.run(
            &AuditInput::offline(&snapshot, &policy, now),
            &report.findings,
        );
        unchanged.push(t.elapsed());
    }
    let unchanged = percentile(&mut unchanged, 0.5);
    let t = Instant::now();
    let full = run_with_previous(
        &AuditInput::offline(&snapshot, &policy, now),
        &report.findings,
    );
    let full_time = t.elapsed();
    let last = engine.run(
        &AuditInput::offline(&snapshot, &policy, now),
        &report.findings,
    );
    if last != full {
        bail!("the incremental report differs from a full audit of the same state");
    }
    println!(
        "| one change, {label} ({} objects, {} findings) | median | p99 | max | evaluated again (last run) |",
        snapshot.len(),
        full.findings.len()
    );
    println!("|---|---|---|---|---|");
    println!(
        "| full audit (first run / a full audit of the last state) | {} / {} | | | everything |",
        ms(first),
        ms(full_time)
    );
    println!(
        "| nothing changed (median of {unchanged_runs}) | {} | | | nothing but the always-evaluated parts |",
        ms(unchanged)
    );
    for (kind, (mut v, reuse)) in times {
        let median = percentile(&mut v, 0.5);
        let p99 = percentile(&mut v, 0.99);
        let max = *v.iter().max().unwrap_or(&Duration::ZERO);
        println!(
            "| {} | {} | {} | {} | RBAC {}, {} workloads, {} workloads' paths{} |",
            KINDS[kind],
            ms(median),
            ms(p99),
            ms(max),
            if reuse.rbac_kept {
                "kept".to_string()
            } else {
                format!(
                    "again: {} binding{}, the escalation search {}",
                    reuse.rbac.bindings_evaluated,
                    if reuse.rbac.bindings_evaluated == 1 {
                        ""
                    } else {
                        "s"
                    },
                    if reuse.rbac.escalation_kept {
                        "kept"
                    } else {
                        "again"
                    }
                )
            },
            reuse.workloads_evaluated,
            reuse.paths_evaluated,
            if reuse.all_paths_kept {
                " (all kept at once)"
            } else {
                ""
            }
        );
    }
    let mib = |b: isize| b as f64 / (1024.0 * 1024.0);
    println!(
        "\nHeld after the first audit: the model {:.1} MiB ({} bytes/object); the report's {} findings {:.1} MiB ({} bytes/finding); the engine's kept results besides the findings it shares with the report {:.1} MiB",
        mib(model_bytes),
        model_bytes / snapshot.len().max(1) as isize,
        report.findings.len(),
        mib(report_bytes),
        report_bytes / report.findings.len().max(1) as isize,
        mib(audit_bytes - report_bytes)
    );
    println!("\n(incremental report of the last state = full audit's: checked)");
    Ok(())
}
