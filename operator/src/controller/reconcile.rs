//! One SecurityPolicy, reconciled: validate, audit from the caches, write the Finding objects
//! that changed, remediation Events, and the status (only when it changed).

use super::Context;
use super::desired::{self, Plan};
use super::events::{EventType, Note};
use super::status::{self, Outcome};
use crate::api::{Finding as FindingObject, FindingStatus, SecurityPolicy};
use crate::audit::{AuditInput, Report};
use crate::policy::EffectivePolicy;
use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::Resource;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use std::time::Duration;

pub const FIELD_MANAGER: &str = "kube-posture";
/// Writes in flight at once: a first audit of a large cluster must not flood the API server.
pub const MAX_IN_FLIGHT: usize = 4;
/// New-finding Warning Events per reconcile, at most.
pub const EVENT_BUDGET: usize = 100;

/// Why a reconcile could not finish. Each variant has a metric label
/// (`kube_posture_reconcile_errors_total{reason}`) and says what the loop does next.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The status could not be written: retried with backoff.
    #[error("writing status: {0}")]
    Status(#[source] kube::Error),
    /// Leadership ended during the reconcile: its remaining writes were not sent. Nothing to
    /// retry here; the new leader audits everything.
    #[error("this replica stopped leading during the reconcile: its remaining writes were skipped")]
    NotLeading,
    /// The audit itself failed (a bug: it panicked). Retried with backoff; nothing was written.
    #[error("the audit failed: {0}")]
    Audit(String),
}

impl ReconcileError {
    pub fn metric_label(&self) -> &'static str {
        match self {
            ReconcileError::Status(_) => "status_write",
            ReconcileError::NotLeading => "not_leading",
            ReconcileError::Audit(_) => "audit_failed",
        }
    }

    /// Whether the loop should retry this policy with backoff.
    pub fn retry(&self) -> bool {
        matches!(self, ReconcileError::Status(_) | ReconcileError::Audit(_))
    }
}

/// Why one write was not made.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// This replica no longer leads (or its tenure ran out): the write was not sent.
    #[error("this replica no longer leads: write skipped")]
    NotLeading,
    #[error(transparent)]
    Kube(#[from] kube::Error),
}

/// What a reconcile did, for the loop's scheduling, logs and metrics.
#[derive(Debug, Default)]
pub struct Done {
    pub valid: bool,
    pub interval: Option<Duration>,
    pub findings: usize,
    pub writes: usize,
    pub events: usize,
    pub status_written: bool,
    pub findings_failed: bool,
    pub audit_duration: Duration,
    /// What the incremental audit reused and evaluated again.
    pub reuse: crate::audit::incremental::Reuse,
    pub report: Option<Report>,
    /// When the audit completed (Unix seconds), for the staleness gauge.
    pub audited_at: f64,
    /// The status's conditions after the reconcile, by type: True or not.
    pub conditions: Vec<(String, bool)>,
    /// The policy's Finding objects once this reconcile's writes are in (`None`: no audit
    /// ran), for the policy reports.
    pub findings_after: Option<Vec<std::sync::Arc<FindingObject>>>,
    /// The audit's `status.frameworks` and `status.layers`, for their gauges (empty when the
    /// spec is invalid and nothing was audited).
    pub frameworks: Vec<crate::api::FrameworkStatus>,
    pub layers: Vec<crate::api::LayerStatus>,
}

pub async fn reconcile(ctx: &Context, policy: &SecurityPolicy) -> Result<Done, ReconcileError> {
    let name = policy.metadata.name.clone().unwrap_or_default();
    let now = Timestamp::now();
    let generation = policy.metadata.generation;
    let effective = EffectivePolicy::compile(&name, &policy.spec);
    // What the object shows now (or after the Reconciling write below).
    let mut current = policy.status.clone();
    let mut done = Done::default();
    let outcome_status = match &effective {
        Err(errors) => {
            let s = status::desired(&Outcome {
                generation,
                now,
                audit: Err(errors.to_string()),
                degraded: vec![],
                findings_error: None,
                reports: None,
            });
            tracing::warn!(policy = %name, errors = %errors, "invalid policy");
            s
        }
        Ok(effective) => {
            done.valid = true;
            done.interval = Some(effective.interval);
            if let Some(pending) = status::reconciling(current.as_ref(), generation, now) {
                match write_status(ctx, &name, &pending).await {
                    Ok(()) => {
                        done.writes += 1;
                        current = Some(pending);
                    }
                    Err(WriteError::NotLeading) => return Err(ReconcileError::NotLeading),
                    // The audit matters more than announcing it: go on.
                    Err(WriteError::Kube(e)) => {
                        tracing::warn!(policy = %name, error = %e, "cannot mark the policy Reconciling")
                    }
                }
            }
            let snapshot = ctx.caches.snapshot();
            let probe = ctx.probe.current().await;
            let images = if effective.inspect_images {
                let requests = crate::audit::images::requests(&snapshot, effective);
                Some(ctx.inspector.inspect(&requests).await)
            } else {
                None
            };
            let kubelets = if effective.kubelet_configz || effective.probe_kubelets {
                Some(
                    ctx.kubelets
                        .read(
                            &snapshot.nodes,
                            effective.kubelet_configz,
                            effective.probe_kubelets,
                        )
                        .await,
                )
            } else {
                None
            };
            let existing = desired::owned_by(policy, &ctx.findings.state());
            let recorded = desired::recorded_findings(&name, &existing);
            // The audit is CPU-bound (a second at large sizes): it runs on a blocking thread so
            // that Lease renewals, watches and /healthz never wait for it.
            let policy_copy = effective.clone();
            let release_data = ctx.release_data;
            // The policy's engine: what its last audit computed, reused where unchanged.
            let mut engine = ctx.take_engine(&name);
            let (report, audit_duration, snapshot, engine) =
                tokio::task::spawn_blocking(move || {
                    let started = std::time::Instant::now();
                    let report = engine.run(
                        &AuditInput {
                            snapshot: &snapshot,
                            policy: &policy_copy,
                            now,
                            release_data,
                            probe: probe.as_ref(),
                            images: images.as_ref(),
                            kubelet: kubelets.as_ref(),
                        },
                        &recorded,
                    );
                    (report, started.elapsed(), snapshot, engine)
                })
                .await
                .map_err(|e| ReconcileError::Audit(e.to_string()))?;
            done.reuse = engine.last;
            ctx.put_engine(&name, engine);
            done.audit_duration = audit_duration;
            done.audited_at = Timestamp::now().as_millisecond() as f64 / 1000.0;
            done.findings = report.findings.len();
            let plan = desired::plan(
                policy,
                &report,
                effective.finding_limit,
                &existing,
                &now.to_string(),
            );
            let findings_error = match apply_plan(ctx, &plan).await {
                Ok(n) => {
                    done.writes += n;
                    None
                }
                Err(WriteError::NotLeading) => return Err(ReconcileError::NotLeading),
                Err(WriteError::Kube(e)) => {
                    done.findings_failed = true;
                    tracing::warn!(policy = %name, error = %e, "cannot write Finding objects");
                    Some(findings_error_message(&e))
                }
            };
            done.findings_after = Some(plan.outcome(&existing));
            if findings_error.is_none() && effective.events {
                done.events += publish_events(ctx, policy, &plan).await;
            }
            let degraded: Vec<String> = snapshot
                .unavailable
                .iter()
                .map(|u| format!("{} ({})", u.kind.plural(), u.reason))
                .collect();
            let s = status::desired(&Outcome {
                generation,
                now,
                audit: Ok((&report, effective)),
                degraded,
                findings_error,
                reports: ctx.reports.condition(),
            });
            done.report = Some(report);
            done.frameworks = s.frameworks.clone();
            done.layers = s.layers.clone();
            s
        }
    };
    let mut desired_status = outcome_status;
    done.conditions = desired_status
        .conditions
        .iter()
        .map(|c| (c.type_.clone(), c.status == "True"))
        .collect();
    if status::settle(&mut desired_status, current.as_ref()) {
        write_status(ctx, &name, &desired_status)
            .await
            .map_err(|e| match e {
                WriteError::NotLeading => ReconcileError::NotLeading,
                WriteError::Kube(e) => ReconcileError::Status(e),
            })?;
        done.status_written = true;
        done.writes += 1;
    }
    Ok(done)
}

/// Apply a policy's whole status (one field manager, so fields left out are removed).
async fn write_status(
    ctx: &Context,
    name: &str,
    status: &crate::api::SecurityPolicyStatus,
) -> Result<(), WriteError> {
    not_leading(ctx)?;
    let api: Api<SecurityPolicy> = Api::all(ctx.client.clone());
    let patch = serde_json::json!({
        "apiVersion": crate::api::API_VERSION,
        "kind": "SecurityPolicy",
        "status": status,
    });
    super::bounded(api.patch_status(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    ))
    .await?;
    Ok(())
}

/// Refuse a write when this replica no longer leads: a lost Lease (or a tenure run out) stops
/// writes at once, even in the middle of a reconcile.
fn not_leading(ctx: &Context) -> Result<(), WriteError> {
    if ctx.is_leader() {
        Ok(())
    } else {
        Err(WriteError::NotLeading)
    }
}

/// Whether `e` says the Finding API itself is not served (its CRD deleted, not installed, or
/// being deleted), rather than something about one object: every further write fails alike.
pub fn finding_api_missing(e: &kube::Error) -> bool {
    match e {
        // An unserved path is a bare "404 page not found"; a missing object of a served
        // resource is a Status with reason NotFound.
        kube::Error::Api(s) if s.code == 404 => s.reason != "NotFound",
        // "create not allowed while custom resource definition is terminating"
        kube::Error::Api(s) => s.code == 405,
        _ => false,
    }
}

/// The Ready=False message when Finding objects could not be written.
pub fn findings_error_message(e: &kube::Error) -> String {
    use kube::CustomResourceExt;
    match e {
        kube::Error::Api(s) if finding_api_missing(e) => format!(
            "cannot write Finding objects: the Finding API is not served (CustomResourceDefinition \
             {} deleted or not installed; apply crds/ to restore it): HTTP {}: {}",
            FindingObject::crd_name(),
            s.code,
            s.message
        ),
        _ => format!("cannot write Finding objects: {e}"),
    }
}

/// Apply a plan, at most [`MAX_IN_FLIGHT`] writes at a time. Returns the number of writes.
/// Once the Finding API turns out not to be served, the rest of the plan is skipped.
async fn apply_plan(ctx: &Context, plan: &Plan<'_>) -> Result<usize, WriteError> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let missing = AtomicBool::new(false);
    let missing = &missing;
    let note = |e: kube::Error| {
        if finding_api_missing(&e) {
            missing.store(true, Ordering::Relaxed);
        }
        e
    };
    let api: Api<FindingObject> = Api::all(ctx.client.clone());
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    let write_status = |name: String, status: FindingStatus| {
        let api = api.clone();
        let pp = pp.clone();
        async move {
            let patch = serde_json::json!({
                "apiVersion": crate::api::API_VERSION,
                "kind": "Finding",
                "status": status,
            });
            not_leading(ctx)?;
            super::bounded(api.patch_status(&name, &pp, &Patch::Apply(&patch)))
                .await
                .map(|_| ())
                .map_err(WriteError::from)
        }
    };
    let upserts = plan
        .create
        .iter()
        .map(|(o, s, _)| (o, s))
        .chain(plan.update.iter().map(|(o, s)| (o, s)));
    let mut results = futures::stream::iter(upserts.map(|(obj, status)| {
        let api = api.clone();
        let pp = pp.clone();
        let write_status = &write_status;
        let note = &note;
        async move {
            if missing.load(Ordering::Relaxed) {
                return Ok(0);
            }
            not_leading(ctx)?;
            let name = obj.metadata.name.clone().unwrap_or_default();
            let mut body = serde_json::to_value(obj).unwrap_or_default();
            if let Some(m) = body.as_object_mut() {
                m.remove("status");
            }
            super::bounded(api.patch(&name, &pp, &Patch::Apply(&body)))
                .await
                .map_err(note)?;
            write_status(name, status.clone()).await?;
            Ok::<usize, WriteError>(2)
        }
    }))
    .buffer_unordered(MAX_IN_FLIGHT);
    let mut writes = 0;
    let mut first_error = None;
    while let Some(r) = results.next().await {
        match r {
            Ok(n) => writes += n,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    drop(results);
    let mut deletes = futures::stream::iter(plan.delete.iter().map(|f| {
        let api = api.clone();
        async move {
            if missing.load(Ordering::Relaxed) {
                return Ok(0);
            }
            not_leading(ctx)?;
            let name = f.metadata.name.clone().unwrap_or_default();
            match super::bounded(api.delete(&name, &DeleteParams::default())).await {
                Ok(_) => Ok(1),
                Err(e) if finding_api_missing(&e) => Err(note(e).into()),
                Err(kube::Error::Api(s)) if s.code == 404 => Ok(0),
                Err(e) => Err(e.into()),
            }
        }
    }))
    .buffer_unordered(MAX_IN_FLIGHT);
    while let Some(r) = deletes.next().await {
        match r {
            Ok(n) => writes += n,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(writes),
    }
}

fn reference(
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
) -> ObjectReference {
    ObjectReference {
        api_version: Some(api_version.to_string()),
        kind: Some(kind.to_string()),
        namespace: namespace.filter(|n| !n.is_empty()).map(str::to_string),
        name: Some(name.to_string()),
        ..Default::default()
    }
}

fn policy_reference(policy: &SecurityPolicy) -> ObjectReference {
    let mut r = reference(
        crate::api::API_VERSION,
        "SecurityPolicy",
        None,
        policy.metadata.name.as_deref().unwrap_or(""),
    );
    r.uid = policy.meta().uid.clone();
    r
}

/// Warning Events on the targets of new findings, Normal `FindingResolved` on the policy for
/// resolved ones. Returns the number published.
async fn publish_events(ctx: &Context, policy: &SecurityPolicy, plan: &Plan<'_>) -> usize {
    let related = policy_reference(policy);
    let mut sent = 0;
    let new = plan.create.iter().filter(|(_, _, f)| !f.suppressed);
    for (_, _, f) in new.take(EVENT_BUDGET) {
        let target = reference(
            &f.resource.api_version,
            &f.resource.kind,
            f.resource.namespace.as_deref(),
            &f.resource.name,
        );
        let note = Note {
            type_: EventType::Warning,
            reason: f.check.meta().event_reason.to_string(),
            note: warning_note(f.check.as_str(), &f.message, &f.remediation),
            action: "Audit",
            related: Some(related.clone()),
        };
        if !ctx.is_leader() {
            break;
        }
        match super::bounded(ctx.recorder.publish(&note, &target)).await {
            Ok(_) => sent += 1,
            Err(e) => tracing::warn!(error = %e, target = ?target.name, "cannot publish event"),
        }
    }
    for f in plan.resolved.iter().take(EVENT_BUDGET) {
        let note = Note {
            type_: EventType::Normal,
            reason: "FindingResolved".to_string(),
            note: format!(
                "{} on {} {}{} resolved",
                f.spec.check,
                f.spec.resource.kind,
                if f.spec.resource.namespace.is_empty() {
                    String::new()
                } else {
                    format!("{}/", f.spec.resource.namespace)
                },
                f.spec.resource.name
            ),
            action: "Audit",
            related: Some(reference(
                &f.spec.resource.api_version,
                &f.spec.resource.kind,
                Some(&f.spec.resource.namespace),
                &f.spec.resource.name,
            )),
        };
        if !ctx.is_leader() {
            break;
        }
        match super::bounded(ctx.recorder.publish(&note, &related)).await {
            Ok(_) => sent += 1,
            Err(e) => tracing::warn!(error = %e, "cannot publish event"),
        }
    }
    sent
}

/// A new finding's Event note: the message and the fix, each given part of the note's budget
/// so that a long message never pushes the fix out of the Event.
fn warning_note(check: &str, message: &str, remediation: &str) -> String {
    use crate::audit::bounds;
    let budget = super::events::MAX_NOTE - check.len() - ": ".len() - " Fix: ".len();
    let fix = bounds::truncated(
        remediation,
        (budget / 2).max(budget.saturating_sub(message.len())),
    );
    let message = bounds::truncated(message, budget - fix.len());
    format!("{check}: {message} Fix: {fix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_labels_and_decide_retries() {
        let status = ReconcileError::Status(api_error(500, "InternalError", "boom"));
        assert_eq!(
            (status.metric_label(), status.retry()),
            ("status_write", true)
        );
        let lost = ReconcileError::NotLeading;
        assert_eq!((lost.metric_label(), lost.retry()), ("not_leading", false));
        let audit = ReconcileError::Audit("panicked".into());
        assert_eq!(
            (audit.metric_label(), audit.retry()),
            ("audit_failed", true)
        );
    }

    #[test]
    fn a_long_message_leaves_room_for_the_fix() {
        let note = warning_note("WL-001", &"m".repeat(5000), "Set privileged: false");
        assert!(
            note.len() <= super::super::events::MAX_NOTE,
            "{}",
            note.len()
        );
        assert!(note.ends_with("Fix: Set privileged: false"), "{note}");
        let note = warning_note("WL-001", "short", &"r".repeat(5000));
        assert!(note.len() <= super::super::events::MAX_NOTE);
        assert!(note.starts_with("WL-001: short Fix: rrr"), "{note}");
        assert_eq!(warning_note("A-1", "m", "r"), "A-1: m Fix: r");
    }

    fn api_error(code: u16, reason: &str, message: &str) -> kube::Error {
        kube::Error::Api(Box::new(
            kube::core::Status::failure(message, reason).with_code(code),
        ))
    }

    #[test]
    fn a_deleted_finding_crd_is_told_apart_from_a_missing_object() {
        let unserved = api_error(404, "Failed to parse error data", "404 page not found");
        assert!(finding_api_missing(&unserved));
        let terminating = api_error(
            405,
            "MethodNotAllowed",
            "create not allowed while custom resource definition is terminating",
        );
        assert!(finding_api_missing(&terminating));
        let gone = api_error(404, "NotFound", "findings.kubeposture.io \"x\" not found");
        assert!(!finding_api_missing(&gone));
        assert!(!finding_api_missing(&api_error(
            409, "Conflict", "conflict"
        )));
        let m = findings_error_message(&unserved);
        assert!(
            m.contains("findings.kubeposture.io") && m.contains("HTTP 404"),
            "{m}"
        );
        assert!(findings_error_message(&gone).starts_with("cannot write Finding objects: "));
    }
}
