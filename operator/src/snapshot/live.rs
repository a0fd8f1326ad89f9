//! Reading a snapshot from a live cluster with paginated lists (pages of 500). Used by
//! `audit` without `--snapshot` and by `snapshot -o DIR`; the controller reads its watch caches
//! instead. A kind that is forbidden or not served degrades only the checks that need it.
//! Secrets are never read: ServiceAccount `secrets` references stand in for token Secrets.

use super::{Kind, KindVisitor, ObjectKind, Snapshot, Unavailable, visit_kinds};
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

/// `api`'s objects read as the typed `K` (a dynamic list: an older version, or a kind read in
/// one namespace, which `Api::<K>::namespaced` cannot express for every `K`).
async fn list_as<K: DeserializeOwned>(api: &Api<DynamicObject>) -> Result<Vec<K>, kube::Error> {
    Ok(list_all(api)
        .await?
        .into_iter()
        .filter_map(|o| {
            serde_json::to_value(o)
                .ok()
                .and_then(|v| serde_json::from_value(v).ok())
        })
        .collect())
}

/// Every object of `K` where the registry says it is read, kept and trimmed as it says.
async fn list_kind<K: Kind>(client: &Client) -> Result<Vec<Arc<K>>, kube::Error> {
    let info = K::KIND.info();
    let items = match info.only_namespace() {
        // Of ConfigMaps, only kubeadm's kubelet baseline, listed in kube-system alone (a Role
        // there grants it): nothing else of any namespace is read.
        Some(ns) => {
            let ar = ApiResource::erase::<K>(&());
            list_as(&Api::<DynamicObject>::namespaced_with(
                client.clone(),
                ns,
                &ar,
            ))
            .await?
        }
        None => match list_all(&Api::<K>::all(client.clone())).await {
            Err(kube::Error::Api(s)) if s.code == 404 && K::KIND == ObjectKind::CronJob => {
                list_as(&Api::<DynamicObject>::all_with(
                    client.clone(),
                    &cronjob_v1beta1(),
                ))
                .await?
            }
            other => other?,
        },
    };
    Ok(items
        .into_iter()
        .filter(|o| {
            let meta = o.meta();
            info.keeps(
                meta.namespace.as_deref(),
                meta.name.as_deref().unwrap_or(""),
            )
        })
        .map(|mut o| {
            o.trim();
            Arc::new(o)
        })
        .collect())
}

/// What reading one kind did to the snapshot: its objects, or why it is unavailable.
type Outcome = Box<dyn FnOnce(&mut Snapshot) + Send>;

async fn load_kind<K: Kind>(client: &Client) -> Result<Outcome, kube::Error> {
    match list_kind::<K>(client).await {
        Ok(items) => Ok(Box::new(move |s| *K::objects_mut(s) = items)),
        Err(e) => match degraded_reason(&e) {
            Some(reason) => Ok(Box::new(move |s| {
                s.unavailable.push(Unavailable {
                    kind: K::KIND,
                    reason,
                })
            })),
            None => Err(e),
        },
    }
}

/// Read every kind the registry says a live audit reads (never Secrets) from the cluster, one
/// kind after the other in registry order.
pub async fn load_live(client: &Client) -> Result<Snapshot, kube::Error> {
    type Pending<'a> = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Outcome, kube::Error>> + Send + 'a>,
    >;
    struct Loads<'a> {
        client: &'a Client,
        pending: Vec<Pending<'a>>,
    }
    impl KindVisitor for Loads<'_> {
        fn visit<K: Kind>(&mut self) {
            if K::KIND.info().is_read_live() {
                self.pending.push(Box::pin(load_kind::<K>(self.client)));
            }
        }
    }
    let mut loads = Loads {
        client,
        pending: Vec::new(),
    };
    visit_kinds(&mut loads);
    let mut s = Snapshot::default();
    for load in loads.pending {
        (load.await?)(&mut s);
    }
    Ok(s)
}

/// Send `GET /api` with the cluster's address and CA but no credentials.
/// API-033's probe: the cluster's address and CA, no credentials.
pub async fn probe_anonymous(config: &kube::Config) -> super::ProbeResult {
    let mut anonymous = config.clone();
    anonymous.auth_info = Default::default();
    let server = config.cluster_url.to_string();
    let client = match kube::Client::try_from(anonymous) {
        Ok(c) => c,
        Err(e) => {
            return super::ProbeResult {
                server,
                status: None,
                error: Some(e.to_string()),
            };
        }
    };
    let request = match http::Request::get("/api").body(Vec::new()) {
        Ok(r) => r,
        Err(e) => {
            return super::ProbeResult {
                server,
                status: None,
                error: Some(e.to_string()),
            };
        }
    };
    match client.request_text(request).await {
        Ok(_) => super::ProbeResult {
            server,
            status: Some(200),
            error: None,
        },
        Err(kube::Error::Api(s)) => super::ProbeResult {
            server,
            status: Some(s.code),
            error: None,
        },
        Err(e) => super::ProbeResult {
            server,
            status: None,
            error: Some(e.to_string()),
        },
    }
}
