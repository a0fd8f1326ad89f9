//! The effect half of policy reports: discover which report API is served, learn which of our
//! reports exist (a metadata-only list, labelled ones only), then apply the reports whose
//! content changed and delete those with no result left. Everything it decides comes from
//! [`super::build`].

use super::build::{self, Budget, Built, MANAGED_BY, Owners, ReportKey, SOURCE};
use super::flavor::{self, Flavor, Off, ReportsMode, Served};
use crate::api::{Finding as FindingObject, SecurityPolicy};
use crate::controller::reconcile::{FIELD_MANAGER, MAX_IN_FLIGHT, finding_api_missing};
use crate::controller::status::ReportsState;
use crate::controller::{Context, bounded, desired};
use futures::StreamExt;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How often discovery is asked again, and our reports listed again. Discovery at start
/// alone would miss report CRDs installed after the operator (a common order: the operator
/// first, Policy Reporter later); one GET per group and one metadata list per kind every five
/// minutes costs the API server nothing noticeable, and the list also brings back reports
/// someone deleted by hand.
pub const REFRESH_EVERY: Duration = Duration::from_secs(300);

/// What one pass did, for the loop's logs and metrics.
#[derive(Debug, Default)]
pub struct PassOutcome {
    /// `None`: no pass (not leading).
    pub output: Option<Result<Flavor, Off>>,
    pub applied: usize,
    pub deleted: usize,
    pub unchanged: usize,
    pub omitted: usize,
    /// Reports wanted, and the largest one's serialized size in bytes.
    pub reports: usize,
    pub largest_bytes: usize,
    pub error: Option<String>,
}

/// The report writer's memory: what discovery said, which reports exist with which content
/// hash, and each policy's Finding objects as its last reconcile left them.
#[derive(Default)]
struct State {
    served: Option<(Served, Instant)>,
    /// Our reports of `Flavor` and their content hashes (from the last list, updated by our
    /// writes); `None`: list before writing.
    known: Option<(Flavor, Instant, HashMap<ReportKey, u64>)>,
    by_policy: HashMap<String, Vec<Arc<FindingObject>>>,
}

pub struct Reports {
    mode: ReportsMode,
    budget: Budget,
    state: tokio::sync::Mutex<State>,
    /// The `ReportsWritten` condition reconciles put on their policy: from discovery at start,
    /// then from each pass (so a write error shows at the policy's next reconcile).
    condition: std::sync::Mutex<Option<ReportsState>>,
}

impl Reports {
    pub fn new(mode: ReportsMode, budget: Budget) -> Reports {
        Reports {
            mode,
            budget,
            state: Default::default(),
            condition: Default::default(),
        }
    }

    /// The `ReportsWritten` condition as of the last pass (`None` before any).
    pub fn condition(&self) -> Option<ReportsState> {
        self.condition
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_condition(&self, output: Result<Flavor, Off>, error: Option<&str>) {
        *self.condition.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(flavor::condition(output, error));
    }

    /// Discover the report APIs before the first reconcile, so that its status already says
    /// where reports go. A failure is left to the first pass.
    pub async fn discover_at_start(&self, client: &Client) {
        if self.mode == ReportsMode::None {
            self.set_condition(Err(Off::Disabled), None);
            return;
        }
        let mut st = self.state.lock().await;
        match discover(client).await {
            Ok(served) => {
                st.served = Some((served, Instant::now()));
                let output = flavor::resolve(self.mode, served);
                tracing::info!(
                    output = output.map_or_else(|off| off.as_str(), |f| f.as_str()),
                    "policy report output"
                );
                self.set_condition(output, None);
            }
            Err(e) => {
                tracing::warn!(error = %e, "report API discovery failed; retrying at the first audit")
            }
        }
    }

    /// Leadership ended: another replica may write meanwhile, so what we know of the
    /// reports is listed again before our next write.
    pub async fn forget(&self) {
        self.state.lock().await.known = None;
    }

    /// After reconciles: record what they left (`updates`: policy → its Finding objects),
    /// then bring every report up to date with all `policies`' Findings.
    pub async fn pass(
        &self,
        ctx: &Context,
        policies: &[Arc<SecurityPolicy>],
        updates: Vec<(String, Vec<Arc<FindingObject>>)>,
    ) -> PassOutcome {
        let out = self.pass_inner(ctx, policies, updates).await;
        if let Some(output) = out.output {
            self.set_condition(output, out.error.as_deref());
        }
        out
    }

    async fn pass_inner(
        &self,
        ctx: &Context,
        policies: &[Arc<SecurityPolicy>],
        updates: Vec<(String, Vec<Arc<FindingObject>>)>,
    ) -> PassOutcome {
        let mut st = self.state.lock().await;
        st.by_policy.extend(updates);
        st.by_policy
            .retain(|name, _| policies.iter().any(|p| p.name_any() == *name));
        let mut out = PassOutcome::default();
        if !ctx.is_leader() {
            return out;
        }
        let now = Instant::now();
        if self.mode == ReportsMode::None {
            out.output = Some(Err(Off::Disabled));
            return out;
        }
        if st
            .served
            .is_none_or(|(_, at)| now.duration_since(at) >= REFRESH_EVERY)
        {
            match discover(&ctx.client).await {
                Ok(served) => st.served = Some((served, now)),
                Err(e) if st.served.is_none() => {
                    out.error = Some(format!("cannot discover the report APIs: {e}"));
                    return out;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "report API discovery failed; keeping the last answer")
                }
            }
        }
        let served = st.served.map(|(s, _)| s).unwrap_or_default();
        let flavor = match flavor::resolve(self.mode, served) {
            Ok(f) => f,
            Err(off) => {
                out.output = Some(Err(off));
                return out;
            }
        };
        out.output = Some(Ok(flavor));
        let stale = st
            .known
            .as_ref()
            .is_none_or(|(f, at, _)| *f != flavor || now.duration_since(*at) >= REFRESH_EVERY);
        if stale {
            match list_ours(&ctx.client, flavor).await {
                Ok(known) => st.known = Some((flavor, now, known)),
                Err(e) => {
                    // Retried at the next pass: keep no stale list.
                    st.known = None;
                    out.error = Some(format!("cannot list {} reports: {e}", flavor.as_str()));
                    return out;
                }
            }
            // Policy Reporter reads both groups: reports of ours left in the other one (written
            // before OpenReports was installed, or before --reports changed) would show every
            // result twice.
            let other = flavor.other();
            if served.serves(other) {
                out.deleted += delete_all_ours(ctx, other).await;
            }
        }
        // Policies not reconciled since this process started: their Finding objects as stored.
        let all = ctx.findings.state();
        let mut findings = Vec::new();
        for p in policies {
            match st.by_policy.get(&p.name_any()) {
                Some(f) => findings.extend(f.iter().cloned()),
                None => findings.extend(desired::owned_by(p, &all)),
            }
        }
        let owners = Owners::from_snapshot(&ctx.caches.snapshot(), policies);
        let built = build::build(flavor, &findings, &owners, self.budget);
        out.reports = built.len();
        out.largest_bytes = built.iter().map(Built::bytes).max().unwrap_or(0);
        out.omitted = built.iter().map(|b| b.omitted).sum();
        let Some((_, _, known)) = st.known.as_mut() else {
            return out;
        };
        let plan = build::plan(&built, known);
        out.unchanged = plan.unchanged;
        let mut first_error: Option<kube::Error> = None;
        let pp = PatchParams::apply(FIELD_MANAGER).force();
        let mut applies = futures::stream::iter(plan.apply.iter().map(|b| {
            let pp = &pp;
            async move {
                if !ctx.is_leader() {
                    return (b, Ok(false));
                }
                let api = api(&ctx.client, flavor, &b.key);
                let body = serde_json::to_value(&b.report).unwrap_or_default();
                let r = bounded(api.patch(&b.key.name, pp, &Patch::Apply(&body))).await;
                (b, r.map(|_| true))
            }
        }))
        .buffer_unordered(MAX_IN_FLIGHT);
        while let Some((b, r)) = applies.next().await {
            match r {
                Ok(true) => {
                    known.insert(b.key.clone(), b.hash);
                    out.applied += 1;
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(report = %b.key, error = %e, "cannot write policy report");
                    first_error.get_or_insert(e);
                }
            }
        }
        drop(applies);
        let mut deletes = futures::stream::iter(plan.delete.iter().map(|key| async move {
            if !ctx.is_leader() {
                return (key, Ok(false));
            }
            let api = api(&ctx.client, flavor, key);
            match bounded(api.delete(&key.name, &DeleteParams::default())).await {
                Ok(_) => (key, Ok(true)),
                // Already gone: garbage-collected with its resource.
                Err(kube::Error::Api(s)) if s.code == 404 && s.reason == "NotFound" => {
                    (key, Ok(false))
                }
                Err(e) => (key, Err(e)),
            }
        }))
        .buffer_unordered(MAX_IN_FLIGHT);
        let mut gone = Vec::new();
        while let Some((key, r)) = deletes.next().await {
            match r {
                Ok(deleted) => {
                    gone.push(key.clone());
                    out.deleted += usize::from(deleted);
                }
                Err(e) => {
                    tracing::warn!(report = %key, error = %e, "cannot delete policy report");
                    first_error.get_or_insert(e);
                }
            }
        }
        drop(deletes);
        for key in gone {
            known.remove(&key);
        }
        if let Some(e) = first_error {
            if finding_api_missing(&e) {
                // The report CRDs went away: ask discovery again next time.
                st.served = None;
                st.known = None;
            }
            out.error = Some(format!("cannot write {} reports: {e}", flavor.as_str()));
        }
        out
    }
}

/// Delete every report of ours in `flavor`'s group; returns how many. Failures are logged and
/// left to the next refresh.
async fn delete_all_ours(ctx: &Context, flavor: Flavor) -> usize {
    let keys = match list_ours(&ctx.client, flavor).await {
        Ok(k) => k,
        Err(e) => {
            tracing::warn!(api = flavor.as_str(), error = %e, "cannot list old policy reports");
            return 0;
        }
    };
    let mut deleted = 0;
    for key in keys.keys() {
        if !ctx.is_leader() {
            break;
        }
        match bounded(api(&ctx.client, flavor, key).delete(&key.name, &DeleteParams::default()))
            .await
        {
            Ok(_) => deleted += 1,
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                tracing::warn!(api = flavor.as_str(), report = %key, error = %e, "cannot delete old policy report")
            }
        }
    }
    if deleted > 0 {
        tracing::info!(api = flavor.as_str(), deleted, "old policy reports deleted");
    }
    deleted
}

fn api(client: &Client, flavor: Flavor, key: &ReportKey) -> Api<DynamicObject> {
    let ar = flavor.api_resource(key.namespace.is_none());
    match &key.namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    }
}

/// Whether each report group serves both its kinds.
async fn discover(client: &Client) -> Result<Served, kube::Error> {
    let mut served = Served::default();
    for flavor in [Flavor::OpenReports, Flavor::WgPolicy] {
        let ok = match client.list_api_group_resources(flavor.api_version()).await {
            Ok(list) => [false, true].iter().all(|cluster| {
                list.resources
                    .iter()
                    .any(|r| r.name == flavor.plural(*cluster))
            }),
            // An unserved group is a bare 404.
            Err(kube::Error::Api(s)) if s.code == 404 => false,
            Err(e) => return Err(e),
        };
        match flavor {
            Flavor::OpenReports => served.openreports = ok,
            Flavor::WgPolicy => served.wgpolicy = ok,
        }
    }
    Ok(served)
}

/// Our reports of `flavor` (labelled managed-by kube-posture; never another engine's) and the
/// content hash each carries, from metadata-only lists in pages of 500.
async fn list_ours(
    client: &Client,
    flavor: Flavor,
) -> Result<HashMap<ReportKey, u64>, kube::Error> {
    let mut known = HashMap::new();
    for cluster in [true, false] {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &flavor.api_resource(cluster));
        let mut lp = ListParams::default()
            .labels(&format!("{MANAGED_BY}={SOURCE}"))
            .limit(500);
        loop {
            let page = api.list_metadata(&lp).await?;
            for o in &page.items {
                let hash = o
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(build::HASH_ANNOTATION))
                    .and_then(|h| u64::from_str_radix(h, 16).ok())
                    .unwrap_or(0);
                let key = ReportKey {
                    namespace: if cluster {
                        None
                    } else {
                        o.metadata.namespace.clone()
                    },
                    name: o.metadata.name.clone().unwrap_or_default(),
                };
                known.insert(key, hash);
            }
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(c) => lp = lp.continue_token(&c),
                None => break,
            }
        }
    }
    Ok(known)
}
