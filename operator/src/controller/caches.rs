//! The controller's view of the cluster: one reflector per kind the audit reads, trimmed
//! before it is stored, and the health of each watch. An audit reads a [`Snapshot`] made from
//! these stores: no `list` call in the hot path.

use super::store::Cache;
use crate::model::{
    CronJob, DaemonSet, Deployment, Job, Pod, ReplicaSet, ReplicationController, StatefulSet,
};
use crate::snapshot::{Kind, ObjectKind, Snapshot, Unavailable};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

use crate::snapshot::trim;

/// How a kind's watch is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchState {
    /// Not listed yet.
    Starting,
    /// Listed and watching.
    Ready,
    /// Not served (404) or, for watch errors, forbidden: its checks are not assessed.
    Unavailable(String),
    /// RBAC no longer allows list/watch (found by the periodic access check, which also
    /// clears it): its checks are not assessed.
    Forbidden(String),
}

/// Watch health per kind, and a counter that moves on every change to an audited object.
#[derive(Default)]
pub struct Health {
    states: Mutex<BTreeMap<ObjectKind, WatchState>>,
    /// Kinds whose store has completed a list at least once.
    listed: Mutex<std::collections::BTreeSet<ObjectKind>>,
    /// Watch (re)starts after an error, for metrics.
    pub restarts: std::sync::atomic::AtomicU64,
    /// Kinds whose watch is failing: since when, the last error's time and text, and whether
    /// the failure has lasted long enough to be reported.
    failing: Mutex<BTreeMap<ObjectKind, Failing>>,
}

#[derive(Clone, Debug)]
struct Failing {
    since: std::time::Instant,
    last: std::time::Instant,
    error: String,
    reported: bool,
}

/// A watch failing without a break for this long no longer vouches for its cached objects:
/// the kind's checks are not assessed (their Findings are held) until it works again. Longer
/// than an API server restart (its watches fail for the seconds it is down).
pub const WATCH_FAILING_AFTER: std::time::Duration = std::time::Duration::from_secs(60);
/// Errors further apart than this are separate failures: retries come at most
/// [`WatchBackoff::MAX`] apart while a watch keeps failing, and a watch that reconnects
/// quietly (no event to show for it) has stopped failing once no error came for this long.
const FAILING_GAP: std::time::Duration = std::time::Duration::from_secs(12);

impl Health {
    /// Record a watch error; returns true when the failure has just become long enough to be
    /// reported.
    fn watch_failed(&self, kind: ObjectKind, error: String) -> bool {
        let now = std::time::Instant::now();
        let mut failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        let f = failing.entry(kind).or_insert(Failing {
            since: now,
            last: now,
            error: String::new(),
            reported: false,
        });
        if now.duration_since(f.last) > FAILING_GAP {
            f.since = now;
            f.reported = false;
        }
        f.last = now;
        f.error = error;
        if !f.reported && now.duration_since(f.since) >= WATCH_FAILING_AFTER {
            f.reported = true;
            return true;
        }
        false
    }

    /// The watch works again; returns whether a failure had been reported.
    fn watch_works(&self, kind: ObjectKind) -> bool {
        let mut failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        failing.remove(&kind).is_some_and(|f| f.reported)
    }

    /// Why `kind`'s cached objects cannot be vouched for now: its watch has failed without a
    /// break for [`WATCH_FAILING_AFTER`] and is still failing.
    pub fn failing_reason(&self, kind: ObjectKind) -> Option<String> {
        let failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        let f = failing.get(&kind)?;
        let now = std::time::Instant::now();
        let lasting = f.last.duration_since(f.since);
        (now.duration_since(f.last) <= FAILING_GAP && lasting >= WATCH_FAILING_AFTER).then(|| {
            format!(
                "watch failing for {}s: {}",
                now.duration_since(f.since).as_secs(),
                f.error
            )
        })
    }
}

impl Health {
    fn set(&self, kind: ObjectKind, state: WatchState) {
        let mut s = self.states.lock().unwrap_or_else(|e| e.into_inner());
        s.insert(kind, state);
    }

    fn is_forbidden(&self, kind: ObjectKind) -> bool {
        let s = self.states.lock().unwrap_or_else(|e| e.into_inner());
        matches!(s.get(&kind), Some(WatchState::Forbidden(_)))
    }

    pub fn states(&self) -> BTreeMap<ObjectKind, WatchState> {
        self.states
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Every kind listed at least once, or known to be unavailable.
    pub fn all_settled(&self) -> bool {
        let s = self.states.lock().unwrap_or_else(|e| e.into_inner());
        s.len() == watched().count() && s.values().all(|v| *v != WatchState::Starting)
    }
}

/// The kinds the controller watches: those the registry says are read live (all the audit
/// reads but Secrets, which it never reads). ConfigMaps are watched in kube-system only, and
/// only kubeadm's kubelet baseline is kept.
pub fn watched() -> impl Iterator<Item = ObjectKind> {
    crate::snapshot::REGISTRY
        .iter()
        .filter(|k| k.is_read_live())
        .map(|k| k.kind)
}

/// The stores, one per kind.
#[derive(Clone)]
pub struct Caches {
    pub namespaces: Cache<Namespace>,
    pub nodes: Cache<Node>,
    pub pods: Cache<Pod>,
    pub deployments: Cache<Deployment>,
    pub stateful_sets: Cache<StatefulSet>,
    pub daemon_sets: Cache<DaemonSet>,
    pub replica_sets: Cache<ReplicaSet>,
    pub replication_controllers: Cache<ReplicationController>,
    pub jobs: Cache<Job>,
    pub cron_jobs: Cache<CronJob>,
    pub services: Cache<Service>,
    pub service_accounts: Cache<ServiceAccount>,
    pub roles: Cache<Role>,
    pub cluster_roles: Cache<ClusterRole>,
    pub role_bindings: Cache<RoleBinding>,
    pub cluster_role_bindings: Cache<ClusterRoleBinding>,
    pub config_maps: Cache<ConfigMap>,
    pub health: Arc<Health>,
}

impl Caches {
    /// What an audit reads: every store's current objects (shared, not copied).
    pub fn snapshot(&self) -> Snapshot {
        let mut s = Snapshot {
            namespaces: self.namespaces.state(),
            nodes: self.nodes.state(),
            pods: self.pods.state(),
            deployments: self.deployments.state(),
            stateful_sets: self.stateful_sets.state(),
            daemon_sets: self.daemon_sets.state(),
            replica_sets: self.replica_sets.state(),
            replication_controllers: self.replication_controllers.state(),
            jobs: self.jobs.state(),
            cron_jobs: self.cron_jobs.state(),
            services: self.services.state(),
            service_accounts: self.service_accounts.state(),
            secrets: Vec::new(),
            roles: self.roles.state(),
            cluster_roles: self.cluster_roles.state(),
            role_bindings: self.role_bindings.state(),
            cluster_role_bindings: self.cluster_role_bindings.state(),
            config_maps: self.config_maps.state(),
            dockerfiles: Vec::new(),
            unavailable: Vec::new(),
            read_kinds: Vec::new(),
            absent: Vec::new(),
        };
        for (kind, state) in self.health.states() {
            match state {
                WatchState::Unavailable(reason) | WatchState::Forbidden(reason) => {
                    // What we may no longer read is not used: stale objects would give
                    // findings (or their absence) nobody can vouch for.
                    s.clear(kind);
                    s.unavailable.push(Unavailable { kind, reason })
                }
                WatchState::Starting => s.unavailable.push(Unavailable {
                    kind,
                    reason: "not listed yet".to_string(),
                }),
                WatchState::Ready => {
                    if let Some(reason) = self.health.failing_reason(kind) {
                        s.clear(kind);
                        s.unavailable.push(Unavailable { kind, reason })
                    }
                }
            }
        }
        s
    }

    /// Objects held per kind.
    pub fn counts(&self) -> [(ObjectKind, usize); 17] {
        fn count<K: Kind>(store: &Cache<K>) -> (ObjectKind, usize) {
            (K::KIND, store.len())
        }
        [
            count(&self.namespaces),
            count(&self.nodes),
            count(&self.pods),
            count(&self.deployments),
            count(&self.stateful_sets),
            count(&self.daemon_sets),
            count(&self.replica_sets),
            count(&self.replication_controllers),
            count(&self.jobs),
            count(&self.cron_jobs),
            count(&self.services),
            count(&self.service_accounts),
            count(&self.roles),
            count(&self.cluster_roles),
            count(&self.role_bindings),
            count(&self.cluster_role_bindings),
            count(&self.config_maps),
        ]
    }

    /// Objects held, all kinds together.
    pub fn len(&self) -> usize {
        self.counts().iter().map(|(_, n)| n).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why an error makes a kind unavailable rather than being a passing fault.
/// A watch event with its object mapped by `f` (a conversion or a filter of the model's
/// trimming code); `None` drops the event.
fn map_event<A, B>(ev: watcher::Event<A>, f: impl Fn(A) -> Option<B>) -> Option<watcher::Event<B>> {
    Some(match ev {
        watcher::Event::Apply(o) => watcher::Event::Apply(f(o)?),
        watcher::Event::Delete(o) => watcher::Event::Delete(f(o)?),
        watcher::Event::InitApply(o) => watcher::Event::InitApply(f(o)?),
        watcher::Event::Init => watcher::Event::Init,
        watcher::Event::InitDone => watcher::Event::InitDone,
    })
}

/// What happened, without the object.
fn shape<K>(ev: &watcher::Event<K>) -> watcher::Event<()> {
    match ev {
        watcher::Event::Apply(_) => watcher::Event::Apply(()),
        watcher::Event::Delete(_) => watcher::Event::Delete(()),
        watcher::Event::Init => watcher::Event::Init,
        watcher::Event::InitApply(_) => watcher::Event::InitApply(()),
        watcher::Event::InitDone => watcher::Event::InitDone,
    }
}

fn unavailable_reason(e: &watcher::Error) -> Option<String> {
    let inner = match e {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => e,
        watcher::Error::WatchError(s) if s.code == 403 => {
            return Some(format!("forbidden: {}", s.message));
        }
        _ => return None,
    };
    crate::snapshot::live::degraded_reason(inner)
}

/// What a watch error does to a kind's state: `None` leaves it (and its cached objects) as
/// they are. A kind already listed keeps its objects through a 403 or 404: an API server
/// that has just restarted answers so for a few seconds (its authorizer and CRD caches are
/// still filling), and clearing the kind would delete its Findings and re-create them a moment
/// later. Permissions really taken away are found by the access check, which confirms them.
fn state_after_error(e: &watcher::Error, listed: bool) -> Option<WatchState> {
    let reason = unavailable_reason(e)?;
    (!listed).then_some(WatchState::Unavailable(reason))
}

/// Run one kind's reflector until the process ends: records health, and bumps `changes` on
/// every event about an audited object that changes what the audit reads. An update whose
/// trimmed object equals the cached one (a Node's heartbeat, a Deployment's replica counts, a
/// Pod's conditions: most of a busy cluster's events) is stored and costs no audit.
async fn run_watch<K, S>(
    kind: ObjectKind,
    stream: S,
    cache: Cache<K>,
    health: Arc<Health>,
    changes: watch::Sender<u64>,
) where
    K: Resource + Clone + Debug + PartialEq + Send + Sync + 'static,
    S: futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send,
{
    health.set(kind, WatchState::Starting);
    // Each event is stored, and passed on without its object, with whether it left the
    // cache as it was (an update equal to the object held).
    let stream = stream.map_ok(move |ev| {
        let unchanged = matches!(&ev, watcher::Event::Apply(o) if cache.holds_equal(o));
        let shape = shape(&ev);
        cache.apply(ev);
        (shape, unchanged)
    });
    futures::pin_mut!(stream);
    let mut failing = false;
    while let Some(event) = stream.next().await {
        match event {
            Ok((ev, unchanged)) => {
                if failing {
                    failing = false;
                    tracing::info!(kind = %kind, "watch recovered");
                    if health.watch_works(kind) {
                        changes.send_modify(|n| *n += 1);
                    }
                }
                if matches!(ev, watcher::Event::InitDone) {
                    health
                        .listed
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(kind);
                    if !health.is_forbidden(kind) {
                        health.set(kind, WatchState::Ready);
                    }
                }
                if !matches!(ev, watcher::Event::Init | watcher::Event::InitApply(_)) && !unchanged
                {
                    changes.send_modify(|n| *n += 1);
                }
            }
            Err(e) => {
                health
                    .restarts
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let listed = health
                    .listed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .contains(&kind);
                match state_after_error(&e, listed) {
                    Some(state) => {
                        if !failing {
                            tracing::warn!(kind = %kind, state = ?state, "cannot watch; its checks are not assessed");
                        }
                        health.set(kind, state);
                        changes.send_modify(|n| *n += 1);
                    }
                    None => {
                        tracing::warn!(kind = %kind, error = %e, "watch error; retrying with backoff");
                        if health.watch_failed(kind, e.to_string()) {
                            tracing::warn!(kind = %kind, after = ?WATCH_FAILING_AFTER, "watch keeps failing; its checks are not assessed");
                            changes.send_modify(|n| *n += 1);
                        }
                    }
                }
                failing = true;
            }
        }
    }
}

/// Watch retry delays: 0.8 s doubling up to [`WatchBackoff::MAX`], with jitter, back to the
/// start on the first success. kube's default backoff climbs to 30 s and only resets after two
/// quiet minutes: after an API server outage of 30 s, every watch waited up to 30 s more to
/// reconnect, and as long again for the relist its `410 Gone` asks for, so changes went unseen
/// for most of a minute after the server was back.
pub struct WatchBackoff {
    next: std::time::Duration,
}

impl WatchBackoff {
    pub const MIN: std::time::Duration = std::time::Duration::from_millis(800);
    pub const MAX: std::time::Duration = std::time::Duration::from_secs(5);

    pub fn new() -> WatchBackoff {
        WatchBackoff { next: Self::MIN }
    }
}

impl Default for WatchBackoff {
    fn default() -> Self {
        WatchBackoff::new()
    }
}

impl Iterator for WatchBackoff {
    type Item = std::time::Duration;

    fn next(&mut self) -> Option<std::time::Duration> {
        let d = self.next;
        self.next = (d * 2).min(Self::MAX);
        // Jitter of up to a quarter, so that the watches do not all retry at once.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |t| t.subsec_nanos());
        Some(d.mul_f64(1.0 - f64::from(nanos % 1000) / 4000.0))
    }
}

impl kube::runtime::utils::Backoff for WatchBackoff {
    fn reset(&mut self) {
        self.next = Self::MIN;
    }
}

fn typed_stream<K>(
    client: &Client,
    trim: fn(&mut K),
) -> impl futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
{
    let api: Api<K> = Api::all(client.clone());
    watcher(api, watcher::Config::default())
        .backoff(WatchBackoff::new())
        .modify(trim)
}

/// Start every watch; the returned caches fill as the lists complete.
pub fn start(client: &Client, changes: watch::Sender<u64>, cronjobs_v1beta1: bool) -> Caches {
    let health = Arc::new(Health::default());
    // One reflector per Rust type (a store is typed); the kind and its trim come from the
    // registry, and a test checks that every kind it says is read live has a store.
    macro_rules! watch_kind {
        ($t:ty) => {{
            let store = Cache::<$t>::new();
            tokio::spawn(run_watch(
                <$t as Kind>::KIND,
                typed_stream::<$t>(client, <$t as Kind>::trim),
                store.clone(),
                health.clone(),
                changes.clone(),
            ));
            store
        }};
    }
    let cron_jobs = if cronjobs_v1beta1 {
        let store = Cache::<CronJob>::new();
        let ar: ApiResource = crate::snapshot::live::cronjob_v1beta1();
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        let stream = watcher(api, watcher::Config::default())
            .backoff(WatchBackoff::new())
            .try_filter_map(|ev| {
                futures::future::ready(Ok(map_event(ev, |o| {
                    trim::v1beta1_cron_job(serde_json::to_value(o).ok()?)
                })))
            });
        tokio::spawn(run_watch(
            ObjectKind::CronJob,
            stream,
            store.clone(),
            health.clone(),
            changes.clone(),
        ));
        store
    } else {
        watch_kind!(CronJob)
    };
    Caches {
        namespaces: watch_kind!(Namespace),
        nodes: watch_kind!(Node),
        pods: watch_kind!(Pod),
        deployments: watch_kind!(Deployment),
        stateful_sets: watch_kind!(StatefulSet),
        daemon_sets: watch_kind!(DaemonSet),
        replica_sets: watch_kind!(ReplicaSet),
        replication_controllers: watch_kind!(ReplicationController),
        jobs: watch_kind!(Job),
        cron_jobs,
        services: watch_kind!(Service),
        service_accounts: watch_kind!(ServiceAccount),
        roles: watch_kind!(Role),
        cluster_roles: watch_kind!(ClusterRole),
        role_bindings: watch_kind!(RoleBinding),
        cluster_role_bindings: watch_kind!(ClusterRoleBinding),
        config_maps: {
            let store = Cache::<ConfigMap>::new();
            let api: Api<ConfigMap> =
                Api::namespaced(client.clone(), crate::snapshot::KUBELET_CONFIG_NAMESPACE);
            let stream = watcher(api, watcher::Config::default())
                .backoff(WatchBackoff::new())
                .try_filter_map(|ev| {
                    futures::future::ready(Ok(map_event(ev, trim::kubelet_baseline)))
                });
            tokio::spawn(run_watch(
                ObjectKind::ConfigMap,
                stream,
                store.clone(),
                health.clone(),
                changes.clone(),
            ));
            store
        },
        health,
    }
}

/// How often the access check runs.
pub const ACCESS_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(20);
/// A denial is asked again after this long before it counts: an API server that has just
/// started denies everything until its RBAC caches have filled.
pub const ACCESS_CONFIRM_AFTER: std::time::Duration = std::time::Duration::from_secs(3);

/// May we list and watch `kind` everywhere (ConfigMaps: in kube-system)? A SelfSubjectAccessReview (every authenticated
/// identity may create one) answers without waiting for a watch to fail.
async fn allowed(client: &Client, kind: ObjectKind) -> Result<bool, kube::Error> {
    use k8s_openapi::api::authorization::v1::{
        ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    };
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let info = kind.info();
    // What the reflectors use of the verbs the registry grants.
    for verb in info.verbs.iter().filter(|v| ["list", "watch"].contains(v)) {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(verb.to_string()),
                    group: Some(info.group().to_string()),
                    resource: Some(info.plural.to_string()),
                    // ConfigMaps are read in kube-system only (the kubelet baseline).
                    namespace: info.only_namespace().map(str::to_string),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let answer = api.create(&Default::default(), &review).await?;
        if !answer.status.is_some_and(|s| s.allowed) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Revoked permissions do not close established watches: check access periodically, so a
/// kind whose RBAC was taken away is reported within [`ACCESS_CHECK_EVERY`], and recovers
/// as soon as it is given back.
pub fn spawn_access_checks(client: Client, health: Arc<Health>, changes: watch::Sender<u64>) {
    tokio::spawn(async move {
        loop {
            for kind in watched() {
                let mut answer = allowed(&client, kind).await;
                let known_forbidden =
                    matches!(health.states().get(&kind), Some(WatchState::Forbidden(_)));
                if matches!(answer, Ok(false)) && !known_forbidden {
                    tokio::time::sleep(ACCESS_CONFIRM_AFTER).await;
                    answer = allowed(&client, kind).await;
                }
                match answer {
                    Ok(false) => {
                        let reason = format!(
                            "forbidden: RBAC does not allow list and watch on {}",
                            kind.plural()
                        );
                        if health.states().get(&kind)
                            != Some(&WatchState::Forbidden(reason.clone()))
                        {
                            tracing::warn!(kind = %kind, "access revoked; its checks are not assessed");
                            health.set(kind, WatchState::Forbidden(reason));
                            changes.send_modify(|n| *n += 1);
                        }
                    }
                    Ok(true) => {
                        let state = health.states().get(&kind).cloned();
                        let forbidden_by_watch = matches!(&state, Some(WatchState::Unavailable(r)) if r.starts_with("forbidden"));
                        if matches!(state, Some(WatchState::Forbidden(_))) || forbidden_by_watch {
                            tracing::info!(kind = %kind, "access restored");
                            // A store never listed stays "not listed yet" until its watch lists.
                            let listed = health
                                .listed
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .contains(&kind);
                            health.set(
                                kind,
                                if listed {
                                    WatchState::Ready
                                } else {
                                    WatchState::Starting
                                },
                            );
                            changes.send_modify(|n| *n += 1);
                        }
                    }
                    Err(e) => tracing::debug!(kind = %kind, error = %e, "access check failed"),
                }
            }
            tokio::time::sleep(ACCESS_CHECK_EVERY).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only kubeadm's kubelet baseline reaches the ConfigMap store, trimmed; markers pass.
    #[test]
    fn config_map_events_keep_only_the_kubelet_baseline() {
        let cm = |name: &str| -> ConfigMap {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": name, "namespace": "kube-system"},
                "data": {"kubelet": "readOnlyPort: 0", "other": "secret-ish"}}))
            .unwrap()
        };
        let kept = map_event(
            watcher::Event::Apply(cm("kubelet-config")),
            trim::kubelet_baseline,
        );
        let Some(watcher::Event::Apply(c)) = kept else {
            panic!("kubelet-config dropped");
        };
        let keys: Vec<&String> = c.data.as_ref().unwrap().keys().collect();
        assert_eq!(keys, ["kubelet"]);
        assert!(map_event(watcher::Event::Apply(cm("coredns")), trim::kubelet_baseline).is_none());
        assert!(matches!(
            map_event(
                watcher::Event::<ConfigMap>::InitDone,
                trim::kubelet_baseline
            ),
            Some(watcher::Event::InitDone)
        ));
    }

    fn forbidden() -> watcher::Error {
        watcher::Error::InitialListFailed(kube::Error::Api(Box::new(
            kube::core::Status::failure("pods is forbidden", "Forbidden").with_code(403),
        )))
    }

    /// Caches with empty stores (nothing will fill them).
    fn empty() -> Caches {
        fn store<K: Resource + Clone>() -> Cache<K> {
            Cache::new()
        }
        Caches {
            namespaces: store(),
            nodes: store(),
            pods: store(),
            deployments: store(),
            stateful_sets: store(),
            daemon_sets: store(),
            replica_sets: store(),
            replication_controllers: store(),
            jobs: store(),
            cron_jobs: store(),
            services: store(),
            service_accounts: store(),
            roles: store(),
            cluster_roles: store(),
            role_bindings: store(),
            cluster_role_bindings: store(),
            config_maps: store(),
            health: Arc::default(),
        }
    }

    /// An update that leaves the trimmed object as cached is stored but bumps nothing: no
    /// audit for a status heartbeat. A new object, a real change and a delete do.
    #[tokio::test]
    async fn an_update_that_changes_nothing_audited_costs_no_audit() {
        let ns = |label: &str, rv: &str| -> Namespace {
            let mut n: Namespace = serde_json::from_value(serde_json::json!({
                "metadata": {"name": "shop", "labels": {"a": label}, "resourceVersion": rv},
                "status": {"phase": "Active"}}))
            .unwrap();
            trim::object(&mut n);
            n
        };
        let events = vec![
            Ok(watcher::Event::Apply(ns("1", "1"))),
            Ok(watcher::Event::Apply(ns("1", "2"))),
            Ok(watcher::Event::Apply(ns("2", "3"))),
            Ok(watcher::Event::Delete(ns("2", "4"))),
        ];
        let store = Cache::<Namespace>::new();
        let (tx, rx) = watch::channel(0u64);
        run_watch(
            ObjectKind::Namespace,
            futures::stream::iter(events),
            store.clone(),
            Arc::default(),
            tx,
        )
        .await;
        assert_eq!(
            *rx.borrow(),
            3,
            "new, changed, deleted: not the equal update"
        );
        assert!(store.state().is_empty());
    }

    #[test]
    fn every_kind_the_registry_reads_live_has_a_store() {
        // The stores are typed, so they are written per type; a kind added to the registry
        // without its reflector fails here.
        let stored: Vec<ObjectKind> = empty().counts().iter().map(|(k, _)| *k).collect();
        assert_eq!(stored, watched().collect::<Vec<_>>());
        assert!(
            !stored.contains(&ObjectKind::Secret),
            "Secrets are never watched"
        );
    }

    #[test]
    fn a_listed_kind_keeps_its_objects_through_a_403() {
        // At startup, a kind the operator may not read is unavailable at once.
        assert!(matches!(
            state_after_error(&forbidden(), false),
            Some(WatchState::Unavailable(r)) if r.starts_with("forbidden")
        ));
        // Once listed, a 403 (an API server restarting) leaves the cached objects alone.
        assert_eq!(state_after_error(&forbidden(), true), None);
        let refused = watcher::Error::InitialListFailed(kube::Error::Api(Box::new(
            kube::core::Status::failure("timeout", "Timeout").with_code(504),
        )));
        assert_eq!(state_after_error(&refused, false), None);
    }

    #[test]
    fn a_watch_failing_for_long_is_reported_and_recovers() {
        let h = Health::default();
        assert!(!h.watch_failed(ObjectKind::Pod, "500".into()));
        assert_eq!(
            h.failing_reason(ObjectKind::Pod),
            None,
            "a short failure is not reported"
        );
        {
            // Pretend it began long ago and went on without a break.
            let mut f = h.failing.lock().unwrap();
            let e = f.get_mut(&ObjectKind::Pod).unwrap();
            e.since -= WATCH_FAILING_AFTER + std::time::Duration::from_secs(1);
        }
        assert!(
            h.watch_failed(ObjectKind::Pod, "500 again".into()),
            "reported once"
        );
        assert!(!h.watch_failed(ObjectKind::Pod, "500 again".into()));
        let why = h.failing_reason(ObjectKind::Pod).unwrap();
        assert!(
            why.starts_with("watch failing for 6") && why.ends_with("500 again"),
            "{why}"
        );
        assert!(h.watch_works(ObjectKind::Pod), "the recovery is news");
        assert_eq!(h.failing_reason(ObjectKind::Pod), None);
        // A new error after a quiet spell starts a new failure.
        assert!(!h.watch_failed(ObjectKind::Pod, "x".into()));
        assert_eq!(h.failing_reason(ObjectKind::Pod), None);
    }

    #[test]
    fn watch_retries_stay_within_seconds_and_reset() {
        use kube::runtime::utils::Backoff;
        let mut b = WatchBackoff::new();
        let delays: Vec<_> = (&mut b).take(10).collect();
        assert!(delays[0] <= WatchBackoff::MIN && delays[0] >= WatchBackoff::MIN * 3 / 4);
        assert!(delays.iter().all(|d| *d <= WatchBackoff::MAX));
        assert!(delays[9] >= WatchBackoff::MAX * 3 / 4, "{delays:?}");
        b.reset();
        assert!(b.next().unwrap() <= WatchBackoff::MIN);
    }
}
