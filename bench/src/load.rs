//! Loading a generated cluster into a real API server: Namespaces first, then every other kind,
//! created concurrently. Server-owned metadata (uid, resourceVersion, managedFields,
//! creationTimestamp) is dropped; owner references stay, so run it where the garbage collector
//! is off (`make bench` restricts the controller manager to the namespace and serviceaccount
//! controllers, so nothing deletes or adds Pods behind the benchmark's back).

use crate::synth::{ByKind, Sizes, generate};
use anyhow::{Context, Result};
use futures::{StreamExt, TryStreamExt};
use kube::Client;
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;
use std::time::{Duration, Instant};

fn clean(mut v: Value) -> Value {
    if let Some(m) = v["metadata"].as_object_mut() {
        for k in [
            "uid",
            "resourceVersion",
            "managedFields",
            "creationTimestamp",
            "generation",
        ] {
            m.remove(k);
        }
    }
    v
}

fn resource(v: &Value) -> Result<ApiResource> {
    let api_version = v["apiVersion"].as_str().context("apiVersion")?;
    let kind = v["kind"].as_str().context("kind")?;
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    Ok(ApiResource::from_gvk(&GroupVersionKind::gvk(
        group, version, kind,
    )))
}

/// Create every object of `sizes`' cluster; returns how many and how long it took.
pub async fn load(client: &Client, sizes: &Sizes, concurrency: usize) -> Result<(usize, Duration)> {
    let mut all = ByKind::default();
    generate(sizes, &mut all);
    let started = Instant::now();
    let namespaces = all.0.remove("namespaces").unwrap_or_default();
    let mut total = 0;
    for (what, batch) in [("namespaces", namespaces)].into_iter().chain(all.0) {
        let n = batch.len();
        let t = Instant::now();
        futures::stream::iter(batch.into_iter().map(|obj| {
            let client = client.clone();
            async move {
                let ar = resource(&obj)?;
                let ns = obj["metadata"]["namespace"].as_str().map(str::to_string);
                let api: Api<DynamicObject> = match &ns {
                    Some(ns) => Api::namespaced_with(client, ns, &ar),
                    None => Api::all_with(client, &ar),
                };
                let obj: DynamicObject = serde_json::from_value(clean(obj))?;
                // A loaded API server times requests out now and then: retry those.
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    match api.create(&PostParams::default(), &obj).await {
                        Ok(_) => return Ok(()),
                        // Re-running against the same control plane, or a built-in namespace.
                        Err(kube::Error::Api(e)) if e.code == 409 => return Ok(()),
                        Err(kube::Error::Api(e)) if e.code < 500 && e.code != 429 => {
                            return Err(anyhow::anyhow!(
                                "creating {} {}/{}: {e}",
                                ar.kind,
                                ns.unwrap_or_default(),
                                obj.metadata.name.unwrap_or_default()
                            ));
                        }
                        Err(e) if attempt >= 8 => {
                            return Err(anyhow::Error::new(e).context(format!(
                                "creating {} {}/{} ({attempt} attempts)",
                                ar.kind,
                                ns.unwrap_or_default(),
                                obj.metadata.name.clone().unwrap_or_default()
                            )));
                        }
                        Err(_) => {
                            tokio::time::sleep(Duration::from_millis(250 << attempt.min(5))).await
                        }
                    }
                }
            }
        }))
        .buffer_unordered(concurrency)
        .try_collect::<Vec<()>>()
        .await?;
        total += n;
        eprintln!(
            "loaded {n} {what} in {:.1?} ({:.0}/s)",
            t.elapsed(),
            n as f64 / t.elapsed().as_secs_f64().max(0.001)
        );
    }
    Ok((total, started.elapsed()))
}
