//! What `kube-posture run` checks before it starts: that it can work at all. A start that
//! cannot work fails at once (exit 1) with an error that says how to fix it, instead of
//! retrying forever with nothing on the SecurityPolicies to say why (controller-runtime does
//! the same for a leader-election namespace that does not exist).

use crate::api::{Finding, SecurityPolicy};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, ListParams, PostParams};
use kube::{Client, CustomResourceExt};
use std::time::Duration;

/// Why the operator cannot start.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error(
        "the CustomResourceDefinition {crd} is not installed (the API server does not serve \
         {plural}): install the CRDs first with `kubectl apply -f crds/` (or \
         `kube-posture crds | kubectl apply -f -`)"
    )]
    CrdMissing { crd: String, plural: &'static str },
    #[error(
        "the operator may not {verb} {plural} ({message}): bind it to the ClusterRole in \
         manifests/rbac.yaml (`kubectl apply -f manifests/rbac.yaml`)"
    )]
    Forbidden {
        verb: &'static str,
        plural: &'static str,
        message: String,
    },
    #[error(
        "the leader-election namespace {namespace:?} does not exist: create it \
         (`kubectl create namespace {namespace}`, or apply manifests/), choose an existing one \
         with --lease-namespace, or run a single replica with --no-leader-election"
    )]
    LeaseNamespaceMissing { namespace: String },
    #[error(
        "the operator may not create its leader Lease in namespace {namespace:?} ({message}): \
         apply manifests/leader-election.yaml there, choose another namespace with \
         --lease-namespace, or run a single replica with --no-leader-election"
    )]
    LeaseForbidden { namespace: String, message: String },
    #[error("cannot reach the API server: {0}")]
    Unreachable(#[source] kube::Error),
}

/// Transport errors are retried for this long before the start fails.
const REACH_FOR: Duration = Duration::from_secs(30);

/// Check the CRDs and, with leader election, the Lease's namespace.
pub async fn check(client: &Client, lease_namespace: Option<&str>) -> Result<(), PreflightError> {
    let deadline = tokio::time::Instant::now() + REACH_FOR;
    loop {
        match check_once(client, lease_namespace).await {
            Err(PreflightError::Unreachable(e)) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, "API server not reachable yet; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            other => return other,
        }
    }
}

async fn check_once(client: &Client, lease_namespace: Option<&str>) -> Result<(), PreflightError> {
    served::<SecurityPolicy>(client, "securitypolicies").await?;
    served::<Finding>(client, "findings").await?;
    if let Some(ns) = lease_namespace {
        lease_writable(client, ns).await?;
    }
    Ok(())
}

async fn served<K>(client: &Client, plural: &'static str) -> Result<(), PreflightError>
where
    K: kube::Resource<DynamicType = ()>
        + CustomResourceExt
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned,
{
    let api: Api<K> = Api::all(client.clone());
    match api.list_metadata(&ListParams::default().limit(1)).await {
        Ok(_) => Ok(()),
        // An unserved path is a bare "404 page not found".
        Err(kube::Error::Api(s)) if s.code == 404 => Err(PreflightError::CrdMissing {
            crd: K::crd_name().to_string(),
            plural,
        }),
        Err(kube::Error::Api(s)) if s.code == 403 => Err(PreflightError::Forbidden {
            verb: "list",
            plural,
            message: s.message,
        }),
        Err(e) => Err(PreflightError::Unreachable(e)),
    }
}

/// A dry-run create of a Lease: refused with 404 when the namespace does not exist, 403 when
/// RBAC does not allow it; `AlreadyExists` is fine (the Lease is there).
async fn lease_writable(client: &Client, namespace: &str) -> Result<(), PreflightError> {
    let api: Api<Lease> = Api::namespaced(client.clone(), namespace);
    let probe = Lease {
        metadata: kube::api::ObjectMeta {
            generate_name: Some("kube-posture-preflight-".to_string()),
            ..Default::default()
        },
        spec: None,
    };
    let pp = PostParams {
        dry_run: true,
        ..Default::default()
    };
    match api.create(&pp, &probe).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Err(PreflightError::LeaseNamespaceMissing {
            namespace: namespace.to_string(),
        }),
        Err(kube::Error::Api(s)) if s.code == 403 => {
            // Creating a Lease in a namespace that does not exist is also refused by RBAC when
            // the operator's Role lives in that namespace: tell the two apart.
            let ns_api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
            match ns_api.get_opt(namespace).await {
                Ok(None) => Err(PreflightError::LeaseNamespaceMissing {
                    namespace: namespace.to_string(),
                }),
                _ => Err(PreflightError::LeaseForbidden {
                    namespace: namespace.to_string(),
                    message: s.message,
                }),
            }
        }
        Err(e) => Err(PreflightError::Unreachable(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_how_to_fix_them() {
        let e = PreflightError::LeaseNamespaceMissing {
            namespace: "kube-posture-system".into(),
        }
        .to_string();
        for needle in [
            "\"kube-posture-system\" does not exist",
            "kubectl create namespace kube-posture-system",
            "--lease-namespace",
            "--no-leader-election",
        ] {
            assert!(e.contains(needle), "{needle}: {e}");
        }
        let e = PreflightError::CrdMissing {
            crd: "findings.kubeposture.io".into(),
            plural: "findings",
        }
        .to_string();
        assert!(e.contains("findings.kubeposture.io") && e.contains("kubectl apply -f crds/"));
    }
}
