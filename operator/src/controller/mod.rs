//! `kube-posture run`: the audit engine as a controller. Watches fill caches; a change to any
//! watched object re-audits every valid policy after a short debounce; each policy is also
//! re-audited every `spec.interval`. SecurityPolicies trigger on spec changes only (their
//! generation), so the controller never wakes itself with its own status or Finding writes.

#[cfg(test)]
mod bounds_tests;
mod caches;
mod desired;
mod events;
mod http;
pub mod leader;
mod metrics;
pub mod metrics_auth;
#[cfg(test)]
mod monitoring_tests;
mod preflight;
mod probe;
mod reconcile;
pub mod reports;
pub mod schedule;
mod status;
mod store;
pub mod tls;

pub use caches::{Caches, WatchState, watched};

use crate::api::{Finding as FindingObject, SecurityPolicy};
use crate::audit::nodes::ReleaseData;
use futures::StreamExt;
use kube::api::{Api, ListParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, predicates, watcher};
use kube::{Client, ResourceExt};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// The longest a single write (status, Finding, Event, Lease release) may take before it
/// counts as failed: a hung request must not hold a reconcile past the leader's tenure.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// `write` under [`WRITE_TIMEOUT`].
pub async fn bounded<T>(
    write: impl std::future::Future<Output = Result<T, kube::Error>>,
) -> Result<T, kube::Error> {
    match tokio::time::timeout(WRITE_TIMEOUT, write).await {
        Ok(r) => r,
        Err(_) => Err(kube::Error::Service(Box::new(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {WRITE_TIMEOUT:?}"),
        )))),
    }
}

/// Retry delay after a failed reconcile, doubling up to the policy's interval.
pub const MIN_RETRY: Duration = Duration::from_secs(5);

/// Everything reconciles share, built once.
pub struct Context {
    pub client: Client,
    /// Whether this replica holds the Lease (for the loop to react to changes).
    pub leading: watch::Receiver<bool>,
    /// Until when it may write: checked right before every write.
    pub tenure: leader::Tenure,
    pub caches: Caches,
    pub findings: Store<FindingObject>,
    pub recorder: events::Recorder,
    pub probe: probe::Prober,
    pub release_data: &'static ReleaseData,
    /// Fetches image configs for policies with `spec.images.inspect`.
    pub inspector: crate::registry::Inspector,
    /// Writes the policy reports (OpenReports or the legacy group).
    pub reports: reports::Reports,
    /// Reads kubelets for `spec.kubelet.configz` and `spec.probes.kubelet`.
    pub kubelets: crate::kubelets::KubeletReader,
    /// Each policy's incremental audit engine, by policy name.
    pub engines: std::sync::Mutex<HashMap<String, crate::audit::incremental::Engine>>,
}

/// Whether engines are kept between audits: `KUBE_POSTURE_INCREMENTAL=0` makes every audit a
/// full one (the same report, more CPU; to compare, or to rule the engine out).
fn incremental() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("KUBE_POSTURE_INCREMENTAL").as_deref() != Ok("0"))
}

/// What `kube-posture run` needs to start.
pub struct RunOptions {
    pub config: kube::Config,
    /// This process's identity in Events and the Lease (defaults to the pod or host name).
    pub instance: String,
    /// Reconcile only SecurityPolicies with these labels (a label selector), e.g. to run a
    /// canary operator beside the main one.
    pub policy_selector: Option<String>,
    /// The leader Lease (namespace, name, duration); `None` runs without election (a single
    /// replica, or tests).
    pub lease: Option<(String, String, Duration)>,
    /// Where to serve /healthz and /readyz (plain HTTP); `None`: not at all.
    pub health_addr: Option<std::net::SocketAddr>,
    /// Where and how to serve /metrics; `None`: not at all.
    pub metrics: Option<MetricsServing>,
    /// How bursts of watch events are coalesced into one audit.
    pub debounce: schedule::Debounce,
    /// How image configs are fetched (`spec.images.inspect`).
    pub inspector: crate::registry::Inspector,
    /// Which policy report API to write (`--reports`).
    pub reports: reports::ReportsMode,
    /// How much one policy report may hold.
    pub report_budget: reports::Budget,
}

/// Where and how /metrics is served.
pub struct MetricsServing {
    pub addr: std::net::SocketAddr,
    /// HTTPS with TokenReview/SubjectAccessReview (the default), or plain and open.
    pub secure: bool,
    /// `tls.crt` and `tls.key` for HTTPS; `None`: a self-signed certificate.
    pub cert_dir: Option<std::path::PathBuf>,
}

impl Context {
    /// `policy`'s engine (a new one, whose first audit is full, if it has none). An audit
    /// that fails or is abandoned drops it: the next one is full.
    pub fn take_engine(&self, policy: &str) -> crate::audit::incremental::Engine {
        let mut engines = self.engines.lock().unwrap_or_else(|e| e.into_inner());
        engines.remove(policy).unwrap_or_default()
    }

    pub fn put_engine(&self, policy: &str, engine: crate::audit::incremental::Engine) {
        if !incremental() {
            return;
        }
        let mut engines = self.engines.lock().unwrap_or_else(|e| e.into_inner());
        engines.insert(policy.to_string(), engine);
    }

    /// Whether a write may go out now: this replica leads, and its last renewal is recent
    /// enough (within the renew deadline) that no other replica can have taken over.
    pub fn is_leader(&self) -> bool {
        *self.leading.borrow() && self.tenure.valid()
    }
}

/// A receiver that turns true when the process is asked to stop (SIGTERM or SIGINT). The
/// SIGTERM handler is installed before this returns, so a SIGTERM at any point after (during
/// startup, in the middle of a reconcile) shuts down cleanly instead of killing the process.
fn shutdown_signal() -> watch::Receiver<bool> {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, rx) = watch::channel(false);
    let term = signal(SignalKind::terminate());
    tokio::spawn(async move {
        match term {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        let _ = tx.send(true);
    });
    rx
}

/// Stop: end the election, release the Lease if we hold it (a successor takes over at once).
async fn shut_down(
    client: &Client,
    stop_tx: watch::Sender<bool>,
    election: Option<tokio::task::JoinHandle<()>>,
    lease_cfg: Option<&leader::LeaderConfig>,
) -> Result<(), RunError> {
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    if let Some(task) = election {
        let _ = task.await;
    }
    if let Some(cfg) = lease_cfg {
        match bounded(leader::release(client, cfg)).await {
            Ok(true) => tracing::info!(lease = %cfg.name, "lease released"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "could not release the lease"),
        }
    }
    Ok(())
}

/// The Finding watch failed because the Finding API is not served (its CRD deleted).
fn finding_api_gone(e: &watcher::Error) -> bool {
    match e {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => reconcile::finding_api_missing(e),
        watcher::Error::WatchError(s) => s.code == 404,
        _ => false,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot start: {0}")]
    Preflight(#[from] preflight::PreflightError),
    #[error("cannot connect to the API server: {0}")]
    Client(#[source] kube::Error),
    #[error("cannot serve {what} on {addr}: {source}")]
    Http {
        what: &'static str,
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot serve /metrics over HTTPS: {0}")]
    Tls(#[from] tls::TlsError),
    #[error("{0}")]
    Kubelets(#[from] crate::kubelets::KubeletError),
}

/// Name this replica in every request (`kube-posture/<version> (<instance>)`), so the API
/// server's audit log tells replicas apart.
fn with_user_agent(mut config: kube::Config, instance: &str) -> kube::Config {
    let agent = format!("kube-posture/{} ({instance})", env!("CARGO_PKG_VERSION"));
    if let Ok(v) = ::http::HeaderValue::from_str(&agent) {
        config.headers.push((::http::header::USER_AGENT, v));
    }
    config
}

/// The main loop wakes at least this often (health heartbeat, metrics refresh).
const MAX_SLEEP: Duration = Duration::from_secs(15);

/// Does the API server serve batch/v1 CronJobs? (1.21+; older ones only batch/v1beta1.)
async fn cronjobs_need_v1beta1(client: &Client) -> bool {
    let api: Api<k8s_openapi::api::batch::v1::CronJob> = Api::all(client.clone());
    matches!(api.list(&ListParams::default().limit(1)).await, Err(kube::Error::Api(s)) if s.code == 404)
}

/// Per-policy scheduling state.
#[derive(Default)]
struct Schedule {
    next_due: Option<Instant>,
    /// The generation last reconciled, so invalid specs are not retried until they change.
    generation: Option<i64>,
    retry: Option<Duration>,
}

pub async fn run(opts: RunOptions) -> Result<(), RunError> {
    let mut shutdown = shutdown_signal();
    let client = Client::try_from(with_user_agent(opts.config.clone(), &opts.instance))
        .map_err(RunError::Client)?;
    let metrics = Arc::new(metrics::Metrics::new());
    let health = Arc::new(http::Health::default());
    health.beat();
    if let Some(addr) = opts.health_addr {
        let bound = http::serve_health(addr, health.clone())
            .await
            .map_err(|source| RunError::Http {
                what: "/healthz and /readyz",
                addr,
                source,
            })?;
        tracing::info!(addr = %bound, "serving /healthz and /readyz");
    }
    if let Some(serving) = &opts.metrics {
        let access = if serving.secure {
            http::MetricsAccess::Secured {
                tls: tls::config(
                    serving.cert_dir.as_deref(),
                    std::slice::from_ref(&opts.instance),
                )?,
                auth: Arc::new(metrics_auth::MetricsAuth::new(client.clone())),
            }
        } else {
            http::MetricsAccess::Open
        };
        let addr = serving.addr;
        let bound = http::serve_metrics(addr, metrics.clone(), access)
            .await
            .map_err(|source| RunError::Http {
                what: "/metrics",
                addr,
                source,
            })?;
        let scheme = if serving.secure { "https" } else { "http" };
        tracing::info!(addr = %bound, scheme, "serving /metrics");
    }
    preflight::check(&client, opts.lease.as_ref().map(|(ns, _, _)| ns.as_str())).await?;
    let v1beta1 = cronjobs_need_v1beta1(&client).await;
    let (changes_tx, mut changes) = watch::channel(0u64);
    let caches = caches::start(&client, changes_tx.clone(), v1beta1);
    caches::spawn_access_checks(client.clone(), caches.health.clone(), changes_tx);

    // Findings: a cache to diff against (no trigger on its events: our own writes must not wake
    // us). Two exceptions re-audit every policy once: the Finding API is gone (its CRD
    // deleted: say so in the status now, not at the next interval), and the watch has listed
    // again after failing (the store may have missed our own writes meanwhile, or the CRD is
    // back: bring the Finding objects up to date now).
    let (findings, findings_writer) = reflector::store::<FindingObject>();
    let (resync_tx, mut resync) = mpsc::unbounded_channel::<()>();
    let finding_stream = watcher(
        Api::<FindingObject>::all(client.clone()),
        watcher::Config::default(),
    )
    .backoff(caches::WatchBackoff::new())
    .reflect(findings_writer);
    tokio::spawn(async move {
        futures::pin_mut!(finding_stream);
        let mut failing = false;
        while let Some(e) = finding_stream.next().await {
            match e {
                Ok(watcher::Event::InitDone) if failing => {
                    failing = false;
                    tracing::info!("Finding watch recovered; re-auditing");
                    let _ = resync_tx.send(());
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "Finding watch error; retrying with backoff");
                    if !failing && finding_api_gone(&e) {
                        let _ = resync_tx.send(());
                    }
                    failing = true;
                }
            }
        }
    });

    // Policies: trigger on spec changes (generation), never on status.
    let (policies, policy_writer) = reflector::store::<SecurityPolicy>();
    let (policy_tx, mut policy_events) = mpsc::unbounded_channel::<String>();
    let mut policy_config = watcher::Config::default();
    if let Some(sel) = &opts.policy_selector {
        policy_config = policy_config.labels(sel);
    }
    let policy_stream = watcher(Api::<SecurityPolicy>::all(client.clone()), policy_config)
        .backoff(caches::WatchBackoff::new())
        .reflect(policy_writer)
        .applied_objects()
        .predicate_filter(predicates::generation, Default::default());
    tokio::spawn(async move {
        futures::pin_mut!(policy_stream);
        while let Some(e) = policy_stream.next().await {
            match e {
                Ok(p) => {
                    let _ = policy_tx.send(p.name_any());
                }
                Err(e) => {
                    tracing::warn!(error = %e, "SecurityPolicy watch error; retrying with backoff")
                }
            }
        }
    });

    // Leadership: with a Lease, follow the election; without, always lead.
    let (leading_tx, leading) = watch::channel(opts.lease.is_none());
    let (stop_tx, stop_rx) = watch::channel(false);
    let lease_cfg = opts
        .lease
        .as_ref()
        .map(|(ns, name, d)| leader::LeaderConfig::new(ns, name, &opts.instance, *d));
    let tenure = if lease_cfg.is_some() {
        leader::Tenure::default()
    } else {
        leader::Tenure::unlimited()
    };
    let election = lease_cfg.clone().map(|cfg| {
        let m = metrics.clone();
        tokio::spawn(leader::run(
            client.clone(),
            cfg,
            leading_tx,
            tenure.clone(),
            stop_rx,
            move |took| m.lease_renewed(took),
        ))
    });
    let mut leading_changes = leading.clone();

    let kubelets = crate::kubelets::KubeletReader::new(client.clone())?;
    let ctx = Arc::new(Context {
        leading,
        tenure,
        recorder: events::Recorder::new(client.clone(), opts.instance.clone()),
        probe: probe::Prober::new(opts.config.clone()),
        client,
        caches,
        findings,
        release_data: ReleaseData::builtin(),
        inspector: opts.inspector,
        reports: reports::Reports::new(opts.reports, opts.report_budget),
        kubelets,
        engines: Default::default(),
    });

    // Let the first lists finish before the first audit, so it is complete.
    let startup = async {
        let settle_deadline = Instant::now() + Duration::from_secs(60);
        while !ctx.caches.health.all_settled() && Instant::now() < settle_deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = policies.wait_until_ready().await;
        let _ = ctx.findings.wait_until_ready().await;
    };
    tokio::select! {
        _ = startup => {}
        _ = shutdown.wait_for(|stop| *stop) => {
            return shut_down(&ctx.client, stop_tx, election, lease_cfg.as_ref()).await;
        }
    }
    tracing::info!(objects = ctx.caches.len(), "caches synced");
    ctx.reports.discover_at_start(&ctx.client).await;
    health
        .ready
        .store(true, std::sync::atomic::Ordering::Relaxed);

    let mut schedule: HashMap<String, Schedule> = HashMap::new();
    let mut burst = schedule::Burst::default();
    // A report pass outside reconciles: to retry a failed one, or to look again for report
    // APIs that were not served.
    let mut reports_due: Option<Instant> = None;
    changes.borrow_and_update();
    loop {
        // Everything known is due once at start.
        for p in policies.state() {
            schedule.entry(p.name_any()).or_insert_with(|| Schedule {
                next_due: Some(Instant::now()),
                ..Default::default()
            });
        }
        health.beat();
        metrics.set_leader(ctx.is_leader());
        metrics.set_step_downs(
            ctx.tenure
                .step_downs
                .load(std::sync::atomic::Ordering::Relaxed),
        );
        metrics.set_watch_restarts(
            ctx.caches
                .health
                .restarts
                .load(std::sync::atomic::Ordering::Relaxed),
        );
        for (kind, n) in ctx.caches.counts() {
            metrics.set_cached(kind.name(), n);
        }
        let next_policy = schedule.values().filter_map(|s| s.next_due).min();
        let debounce = burst.due(&opts.debounce);
        let heartbeat = Some(Instant::now() + MAX_SLEEP);
        let wake = [next_policy, debounce, heartbeat, reports_due]
            .into_iter()
            .flatten()
            .min();
        tokio::select! {
            _ = async { match wake { Some(t) => tokio::time::sleep_until(t).await, None => std::future::pending().await } } => {}
            Ok(()) = changes.changed() => {
                changes.borrow_and_update();
                burst.change(Instant::now());
                continue;
            }
            Some(name) = policy_events.recv() => {
                schedule.entry(name).or_default().next_due = Some(Instant::now());
                continue;
            }
            Some(()) = resync.recv() => {
                // Valid policies only: an invalid one waits for its next edit.
                for s in schedule.values_mut().filter(|s| s.next_due.is_some()) {
                    s.next_due = Some(Instant::now());
                }
                continue;
            }
            Ok(()) = leading_changes.changed() => {
                // A new leader audits everything at once; a follower waits.
                if *leading_changes.borrow_and_update() {
                    for s in schedule.values_mut() {
                        s.next_due = Some(Instant::now());
                        s.generation = None;
                    }
                } else {
                    metrics.forget_policies();
                    ctx.reports.forget().await;
                }
                continue;
            }
            _ = shutdown.wait_for(|stop| *stop) => {
                return shut_down(&ctx.client, stop_tx, election, lease_cfg.as_ref()).await;
            }
        }
        if !ctx.is_leader() {
            continue;
        }
        let now = Instant::now();
        let burst_due = burst.take_if_due(now, &opts.debounce);
        let mut alive = std::collections::HashSet::new();
        let mut report_updates = Vec::new();
        let mut reconciled_any = false;
        for policy in policies.state() {
            let name = policy.name_any();
            alive.insert(name.clone());
            let s = schedule.entry(name.clone()).or_default();
            let spec_changed = s.generation != policy.metadata.generation;
            let due = s.next_due.is_some_and(|t| t <= now)
                || (burst_due && s.retry.is_none() && s.next_due.is_some())
                || spec_changed;
            if !due {
                continue;
            }
            // A SIGTERM does not wait for a long reconcile (thousands of writes): it is
            // abandoned (every write is an idempotent apply; the next leader redoes it).
            let result = tokio::select! {
                r = reconcile::reconcile(&ctx, &policy) => r,
                _ = shutdown.wait_for(|stop| *stop) => {
                    tracing::info!(policy = %name, "reconcile abandoned to shut down");
                    return shut_down(&ctx.client, stop_tx, election, lease_cfg.as_ref()).await;
                }
            };
            match result {
                Ok(mut done) => {
                    reconciled_any = true;
                    if let Some(after) = done.findings_after.take() {
                        report_updates.push((name.clone(), after));
                    }
                    s.generation = policy.metadata.generation;
                    metrics.reconciled(&name, done.writes, done.events);
                    if let Some(report) = &done.report {
                        metrics.record_report(&name, report, done.audit_duration.as_secs_f64());
                        metrics.audited(&name, done.audited_at);
                        metrics.set_frameworks(&name, &done.frameworks);
                        metrics.set_layers(&name, &done.layers);
                    }
                    metrics.set_interval(&name, done.interval);
                    metrics.set_conditions(
                        &name,
                        done.conditions.iter().map(|(t, v)| (t.as_str(), *v)),
                    );
                    if done.findings_failed {
                        metrics.reconcile_error("findings_write");
                    }
                    tracing::info!(
                        policy = %name,
                        valid = done.valid,
                        findings = done.findings,
                        writes = done.writes,
                        events = done.events,
                        status_written = done.status_written,
                        audit_ms = done.audit_duration.as_millis() as u64,
                        rbac_kept = done.reuse.rbac_kept,
                        rbac_bindings_evaluated = done.reuse.rbac.bindings_evaluated,
                        escalation_kept = done.reuse.rbac.escalation_kept,
                        workloads_evaluated = done.reuse.workloads_evaluated,
                        paths_evaluated = done.reuse.paths_evaluated,
                        all_paths_kept = done.reuse.all_paths_kept,
                        nodes_kept = done.reuse.nodes_kept,
                        "reconciled"
                    );
                    s.next_due = match (done.valid, done.interval) {
                        // An invalid spec waits for its next change.
                        (false, _) | (_, None) => None,
                        (true, Some(_)) if done.findings_failed => {
                            let r = s.retry.map_or(MIN_RETRY, |r| {
                                (r * 2).min(done.interval.unwrap_or(MIN_RETRY))
                            });
                            s.retry = Some(r);
                            Some(Instant::now() + r)
                        }
                        (true, Some(interval)) => {
                            s.retry = None;
                            Some(Instant::now() + interval)
                        }
                    };
                }
                Err(e) => {
                    metrics.reconcile_error(e.metric_label());
                    if e.retry() {
                        let r = s
                            .retry
                            .map_or(MIN_RETRY, |r| (r * 2).min(Duration::from_secs(300)));
                        s.retry = Some(r);
                        s.next_due = Some(Instant::now() + r);
                        tracing::warn!(policy = %name, error = %e, reason = e.metric_label(), retry_in = ?r, "reconcile failed");
                    } else {
                        // A new leadership audits every policy at once.
                        s.next_due = Some(Instant::now());
                        s.generation = None;
                        tracing::warn!(policy = %name, error = %e, reason = e.metric_label(), "reconcile stopped");
                    }
                }
            }
        }
        let before = schedule.len();
        ctx.engines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|name, _| alive.contains(name));
        schedule.retain(|name, _| {
            let keep = alive.contains(name);
            if !keep {
                metrics.forget_policy(name);
            }
            keep
        });
        let policy_gone = schedule.len() < before;
        if reconciled_any || policy_gone || reports_due.is_some_and(|t| t <= now) {
            let current = policies.state();
            let pass = tokio::select! {
                p = ctx.reports.pass(&ctx, &current, report_updates) => p,
                _ = shutdown.wait_for(|stop| *stop) => {
                    return shut_down(&ctx.client, stop_tx, election, lease_cfg.as_ref()).await;
                }
            };
            reports_due = report_pass_done(&metrics, &pass);
        }
    }
}

/// Record a report pass in metrics and the log; when the next pass outside reconciles is due.
fn report_pass_done(
    metrics: &metrics::Metrics,
    pass: &reports::sync::PassOutcome,
) -> Option<Instant> {
    let output = pass.output?;
    metrics.set_report_output(match output {
        Ok(f) => f.as_str(),
        Err(off) => off.as_str(),
    });
    metrics.report_pass(pass.applied, pass.deleted, pass.unchanged, pass.omitted);
    match (&pass.error, output) {
        (Some(e), _) => {
            metrics.reconcile_error("reports_write");
            tracing::warn!(error = %e, retry_in = ?MIN_RETRY, "policy reports not written");
            Some(Instant::now() + MIN_RETRY)
        }
        (None, Err(off)) => {
            tracing::info!(output = off.as_str(), "no policy reports written");
            (off == reports::flavor::Off::NotServed)
                .then(|| Instant::now() + reports::sync::REFRESH_EVERY)
        }
        (None, Ok(flavor)) => {
            tracing::info!(
                api = flavor.as_str(),
                reports = pass.reports,
                applied = pass.applied,
                deleted = pass.deleted,
                unchanged = pass.unchanged,
                omitted = pass.omitted,
                largest_bytes = pass.largest_bytes,
                "policy reports written"
            );
            None
        }
    }
}
