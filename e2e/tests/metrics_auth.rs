//! Secured /metrics (issue 13): served over HTTPS as deployed, to callers the API server
//! authenticates (TokenReview) and authorizes for `get /metrics` (SubjectAccessReview), with
//! /healthz and /readyz on a plain port of their own. The operator runs as its own identity,
//! bound to exactly the ClusterRole of manifests/rbac.yaml; the scraper is a ServiceAccount
//! bound to the kube-posture-metrics-reader ClusterRole of manifests/metrics.yaml.

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use kube::Client;
use kube::api::{Api, DeleteParams, PostParams};
use kube_posture_e2e::operator::{Operator, Options};
use kube_posture_e2e::{admin, http_get, prefix, text};
use serde_json::json;
use std::process::Command;

/// `curl -k` (the certificate is the self-signed one made at start): the HTTP status and the
/// body. A transport failure is reported as status 0 with curl's error.
fn curl(url: &str, token: Option<&str>) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-k", "--max-time", "10", "-w", "\n%{http_code}", url]);
    if let Some(t) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    let out = cmd
        .output()
        .expect("curl runs (.ci/run installs it; apt-get install curl)");
    let stdout = text(&out.stdout);
    let (body, code) = stdout.rsplit_once('\n').unwrap_or(("", stdout.as_str()));
    let code = code.trim().parse().unwrap_or(0);
    if code == 0 {
        return (0, text(&out.stderr));
    }
    (code, body.to_string())
}

async fn service_account_token(client: &Client, ns: &str, name: &str) -> String {
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    let sa: ServiceAccount = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    sas.create(&PostParams::default(), &sa).await.unwrap();
    let request = TokenRequest {
        // No audiences: the API server's own, which its TokenReview accepts.
        spec: Some(TokenRequestSpec {
            expiration_seconds: Some(3600),
            ..Default::default()
        }),
        ..Default::default()
    };
    sas.create_token_request(name, &PostParams::default(), &request)
        .await
        .unwrap_or_else(|e| panic!("TokenRequest for {ns}/{name}: {e}"))
        .status
        .and_then(|s| s.token)
        .expect("a token in the TokenRequest status")
}

#[tokio::test]
async fn metrics_need_a_token_the_api_server_authorizes() {
    let client = admin().await;
    let p = prefix("metrics-auth");
    let op = Operator::start_with(
        &p,
        Options {
            secure_metrics: true,
            ..Default::default()
        },
    )
    .await;

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": p}})).unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let scraper = service_account_token(&client, &p, "scraper").await;
    let nobody = service_account_token(&client, &p, "nobody").await;
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": format!("{p}-scraper")},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "kube-posture-metrics-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "scraper", "namespace": p}]
    }))
    .unwrap();
    let bindings: Api<ClusterRoleBinding> = Api::all(client.clone());
    bindings
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();

    let url = format!("{}/metrics", op.metrics_url());
    assert!(url.starts_with("https://"), "{url}");

    let (code, body) = curl(&url, None);
    assert_eq!(code, 401, "no token: {body}");
    assert!(
        !body.contains("kube_posture_"),
        "a refusal shows no metrics: {body}"
    );
    let (code, body) = curl(&url, Some("not-a-token"));
    assert_eq!(code, 401, "a made-up token: {body}");
    let (code, body) = curl(&url, Some(&nobody));
    assert_eq!(code, 403, "a valid token without the role: {body}");
    assert!(
        body.contains(&format!("system:serviceaccount:{p}:nobody")),
        "{body}"
    );
    assert!(
        !body.contains("kube_posture_"),
        "a refusal shows no metrics: {body}"
    );
    let (code, body) = curl(&url, Some(&scraper));
    assert_eq!(code, 200, "the scraper's token: {body}");
    assert!(body.contains("kube_posture_cached_objects"), "{body}");
    for answer in ["401", "403"] {
        assert!(
            body.lines().any(|l| l.starts_with(&format!(
                "kube_posture_metrics_requests_total{{code=\"{answer}\"}}"
            ))),
            "the refusals are counted ({answer}):\n{body}"
        );
    }
    // Cached decisions answer the same.
    assert_eq!(curl(&url, Some(&nobody)).0, 403);
    assert_eq!(curl(&url, Some(&scraper)).0, 200);

    // No clear text on the metrics port: a plain HTTP request gets no metrics.
    let plain = url.replacen("https://", "http://", 1);
    // (An error is fine too: the TLS server closed the connection.)
    if let Ok((code, body)) = http_get(&plain) {
        assert!(
            !body.contains("kube_posture_"),
            "plain HTTP got metrics: HTTP {code}"
        );
    }

    // Health stays open, on its own plain port, for the kubelet.
    let health = op.health_url();
    assert!(health.starts_with("http://"), "{health}");
    assert_eq!(http_get(&format!("{health}/healthz")).unwrap().0, 200);
    assert_eq!(http_get(&format!("{health}/readyz")).unwrap().0, 200);
    assert_ne!(health, op.metrics_url());

    bindings
        .delete(&format!("{p}-scraper"), &DeleteParams::default())
        .await
        .unwrap();
    namespaces
        .delete(&p, &DeleteParams::default())
        .await
        .unwrap();
}
