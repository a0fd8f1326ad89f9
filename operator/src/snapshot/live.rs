//! Reading a snapshot from a live cluster with paginated lists (pages of 500). Used by
//! `audit` without `--snapshot` and by `snapshot -o DIR`; the controller reads its watch caches
//! instead. A kind that is forbidden or not served degrades only the checks that need it.
//! Secrets are never read: ServiceAccount `secrets` references stand in for token Secrets.

use super::{ObjectKind, Snapshot, Unavailable, trim};
use crate::model::CronJob;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::Arc;

pub const PAGE_SIZE: u32 = 500;

/// Every object of `api`, page by page. A continue token that expired (410 Gone) restarts
/// the list once.
pub async fn list_all<K>(api: &Api<K>) -> Result<Vec<K>, kube::Error>
where
    K: Clone + DeserializeOwned + Debug,
{
    let mut restarted = false;
    'outer: loop {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut lp = ListParams::default().limit(PAGE_SIZE);
            if let Some(t) = &token {
                lp = lp.continue_token(t);
            }
            let page = match api.list(&lp).await {
                Ok(p) => p,
                Err(kube::Error::Api(s)) if s.code == 410 && !restarted => {
                    restarted = true;
                    continue 'outer;
                }
                Err(e) => return Err(e),
            };
            out.extend(page.items);
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(c) => token = Some(c),
                None => return Ok(out),
            }
        }
    }
}

/// Why a kind cannot be read, if the error means "not for us" rather than "broken".
pub fn degraded_reason(e: &kube::Error) -> Option<String> {
    match e {
        kube::Error::Api(s) if s.code == 403 => Some(format!("forbidden: {}", s.message)),
        kube::Error::Api(s) if s.code == 404 => Some("not served by this API server".to_string()),
        _ => None,
    }
}

/// API servers before 1.21 serve CronJobs only as batch/v1beta1 (same shape for what we read).
pub fn cronjob_v1beta1() -> ApiResource {
    ApiResource {
        group: "batch".into(),
        version: "v1beta1".into(),
        api_version: "batch/v1beta1".into(),
        kind: "CronJob".into(),
        plural: "cronjobs".into(),
    }
}

async fn list_cronjobs(client: &Client) -> Result<Vec<CronJob>, kube::Error> {
    match list_all(&Api::<CronJob>::all(client.clone())).await {
        Err(kube::Error::Api(s)) if s.code == 404 => {
            let api = Api::<DynamicObject>::all_with(client.clone(), &cronjob_v1beta1());
            let objs = list_all(&api).await?;
            Ok(objs
                .into_iter()
                .filter_map(|o| {
                    serde_json::to_value(o)
                        .ok()
                        .and_then(|v| serde_json::from_value(v).ok())
                })
                .collect())
        }
        other => other,
    }
}

/// Read every kind the audit uses (but Secrets) from the cluster.
pub async fn load_live(client: &Client) -> Result<Snapshot, kube::Error> {
    let mut s = Snapshot::default();
    macro_rules! kind {
        ($field:ident, $kind:expr, $list:expr, $trim:expr) => {
            match $list.await {
                Ok(mut items) => {
                    items.iter_mut().for_each($trim);
                    s.$field = items.into_iter().map(Arc::new).collect();
                }
                Err(e) => match degraded_reason(&e) {
                    Some(reason) => s.unavailable.push(Unavailable {
                        kind: $kind,
                        reason,
                    }),
                    None => return Err(e),
                },
            }
        };
    }
    macro_rules! all {
        ($t:ty) => {
            list_all(&Api::<$t>::all(client.clone()))
        };
    }
    use crate::model::{
        DaemonSet, Deployment, Job, Pod, ReplicaSet, ReplicationController, StatefulSet,
    };
    use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Service, ServiceAccount};
    use k8s_openapi::api::rbac::v1::*;
    kind!(
        namespaces,
        ObjectKind::Namespace,
        all!(Namespace),
        trim::object
    );
    kind!(nodes, ObjectKind::Node, all!(Node), trim::node);
    kind!(pods, ObjectKind::Pod, all!(Pod), trim::pod);
    kind!(
        deployments,
        ObjectKind::Deployment,
        all!(Deployment),
        trim::deployment
    );
    kind!(
        stateful_sets,
        ObjectKind::StatefulSet,
        all!(StatefulSet),
        trim::stateful_set
    );
    kind!(
        daemon_sets,
        ObjectKind::DaemonSet,
        all!(DaemonSet),
        trim::daemon_set
    );
    kind!(
        replica_sets,
        ObjectKind::ReplicaSet,
        all!(ReplicaSet),
        trim::replica_set
    );
    kind!(
        replication_controllers,
        ObjectKind::ReplicationController,
        all!(ReplicationController),
        trim::replication_controller
    );
    kind!(jobs, ObjectKind::Job, all!(Job), trim::job);
    kind!(
        cron_jobs,
        ObjectKind::CronJob,
        list_cronjobs(client),
        trim::cron_job
    );
    kind!(services, ObjectKind::Service, all!(Service), trim::object);
    kind!(
        service_accounts,
        ObjectKind::ServiceAccount,
        all!(ServiceAccount),
        trim::object
    );
    kind!(roles, ObjectKind::Role, all!(Role), trim::object);
    kind!(
        cluster_roles,
        ObjectKind::ClusterRole,
        all!(ClusterRole),
        trim::object
    );
    kind!(
        role_bindings,
        ObjectKind::RoleBinding,
        all!(RoleBinding),
        trim::object
    );
    kind!(
        cluster_role_bindings,
        ObjectKind::ClusterRoleBinding,
        all!(ClusterRoleBinding),
        trim::object
    );
    // Of ConfigMaps, only kubeadm's kubelet baseline, listed in kube-system alone (a Role
    // there grants it): nothing else of any namespace is read.
    kind!(
        config_maps,
        ObjectKind::ConfigMap,
        async {
            list_all(&Api::<ConfigMap>::namespaced(
                client.clone(),
                super::KUBELET_CONFIG_NAMESPACE,
            ))
            .await
            .map(|items| {
                items
                    .into_iter()
                    .filter(|c| {
                        super::is_kubelet_config_map(
                            c.metadata.namespace.as_deref(),
                            c.metadata.name.as_deref().unwrap_or(""),
                        )
                    })
                    .collect::<Vec<_>>()
            })
        },
        trim::kubelet_config_map
    );
    Ok(s)
}

/// Send `GET /api` with the cluster's address and CA but no credentials.
/// API-033's probe: the cluster's address and CA, no credentials.
pub async fn probe_anonymous(config: &kube::Config) -> crate::audit::probe::ProbeResult {
    let mut anonymous = config.clone();
    anonymous.auth_info = Default::default();
    let server = config.cluster_url.to_string();
    let client = match kube::Client::try_from(anonymous) {
        Ok(c) => c,
        Err(e) => {
            return crate::audit::probe::ProbeResult {
                server,
                status: None,
                error: Some(e.to_string()),
            };
        }
    };
    let request = match http::Request::get("/api").body(Vec::new()) {
        Ok(r) => r,
        Err(e) => {
            return crate::audit::probe::ProbeResult {
                server,
                status: None,
                error: Some(e.to_string()),
            };
        }
    };
    match client.request_text(request).await {
        Ok(_) => crate::audit::probe::ProbeResult {
            server,
            status: Some(200),
            error: None,
        },
        Err(kube::Error::Api(s)) => crate::audit::probe::ProbeResult {
            server,
            status: Some(s.code),
            error: None,
        },
        Err(e) => crate::audit::probe::ProbeResult {
            server,
            status: None,
            error: Some(e.to_string()),
        },
    }
}
