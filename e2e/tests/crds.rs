//! The generated CRDs on a real API server: accepted by kubectl apply and server-side apply,
//! printer columns (the server's Table output), short names and the `posture` category
//! (discovery); the schema refuses invalid
//! policies and accepts the samples.

use kube::api::{Api, DeleteParams, PostParams};
use kube_posture::api::{Finding, FindingSpec, SecurityPolicy, TargetRef};
use kube_posture_e2e::{admin, install_crds, kubectl, prefix, repo, server_table, text};
use serde_json::{Value, json};

#[tokio::test]
async fn crds_apply_with_kubectl_and_server_side_apply() {
    let client = admin().await;
    {
        let o = kubectl(&[
            "apply",
            "-f",
            repo().join("crds/crds.yaml").to_str().unwrap(),
        ]);
        assert!(o.status.success(), "kubectl apply: {}", text(&o.stderr));
    }
    install_crds(&client)
        .await
        .expect("server-side apply of crds/");
    install_crds(&client).await.expect("re-applying is a no-op");
}

#[tokio::test]
async fn printer_columns_short_names_and_category() {
    let client = admin().await;
    install_crds(&client).await.unwrap();
    let p = prefix("columns");
    let policies: Api<SecurityPolicy> = Api::all(client.clone());
    let policy: SecurityPolicy = serde_json::from_value(json!({
        "apiVersion": "kubeposture.io/v1alpha1", "kind": "SecurityPolicy",
        "metadata": {"name": p}, "spec": {"checks": {"include": ["rbac"]}}
    }))
    .unwrap();
    policies
        .create(&PostParams::default(), &policy)
        .await
        .unwrap();
    let findings: Api<Finding> = Api::all(client.clone());
    let finding = Finding::new(
        &format!("{p}-rbac-001-00000000"),
        FindingSpec {
            policy: p.clone(),
            check: "RBAC-001".into(),
            resource: TargetRef {
                api_version: "rbac.authorization.k8s.io/v1".into(),
                kind: "ClusterRoleBinding".into(),
                namespace: String::new(),
                name: "ci-admin".into(),
            },
        },
    );
    findings
        .create(&PostParams::default(), &finding)
        .await
        .unwrap();

    // The server's Table output: the columns come from the CRD, not from a local kubectl.
    {
        let (columns, rows) = server_table(
            &client,
            &format!("/apis/kubeposture.io/v1alpha1/securitypolicies/{p}"),
        )
        .await
        .unwrap();
        assert_eq!(
            columns,
            [
                "Name",
                "Ready",
                "Compliant",
                "Critical",
                "High",
                "Score",
                "Age"
            ]
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0][0], json!(p));
    }
    {
        let name = format!("{p}-rbac-001-00000000");
        let (columns, rows) = server_table(
            &client,
            &format!("/apis/kubeposture.io/v1alpha1/findings/{name}"),
        )
        .await
        .unwrap();
        assert_eq!(
            columns,
            [
                "Name",
                "Severity",
                "Check",
                "Kind",
                "Namespace",
                "Name",
                "Age"
            ]
        );
        assert_eq!(rows.len(), 1);
        let cells = &rows[0];
        assert_eq!(cells[0], json!(name));
        assert_eq!(cells[2], json!("RBAC-001"));
        assert_eq!(cells[3], json!("ClusterRoleBinding"));
        assert_eq!(cells[5], json!("ci-admin"));
    }
    // Short names and the `posture` category, as discovery serves them (what `kubectl get
    // secpol` / `kubectl get posture` resolve through).
    {
        let list: Value = client
            .request(
                http::Request::get("/apis/kubeposture.io/v1alpha1")
                    .body(Vec::new())
                    .unwrap(),
            )
            .await
            .unwrap();
        let resource = |plural: &str| {
            list["resources"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["name"] == plural)
                .cloned()
                .unwrap_or_else(|| panic!("discovery lists {plural}: {list}"))
        };
        let policies = resource("securitypolicies");
        assert_eq!(policies["shortNames"], json!(["secpol"]));
        assert_eq!(policies["categories"], json!(["posture"]));
        let findings = resource("findings");
        assert_eq!(findings["shortNames"], json!(["fnd"]));
        assert_eq!(findings["categories"], json!(["posture"]));
    }
    findings
        .delete(&format!("{p}-rbac-001-00000000"), &DeleteParams::default())
        .await
        .unwrap();
    policies.delete(&p, &DeleteParams::default()).await.unwrap();
}

/// Creating `spec` must fail with 422 Invalid, naming `field`.
async fn refused(api: &Api<SecurityPolicy>, name: &str, spec: Value, field: &str) {
    let body: SecurityPolicy = match serde_json::from_value(json!({
        "apiVersion": "kubeposture.io/v1alpha1", "kind": "SecurityPolicy",
        "metadata": {"name": name}, "spec": spec.clone()
    })) {
        Ok(b) => b,
        // A spec our own types cannot even hold (a wrong enum value) goes in raw.
        Err(_) => {
            let raw: Api<kube::api::DynamicObject> = Api::all_with(
                api.clone().into_client(),
                &kube::api::ApiResource::erase::<SecurityPolicy>(&()),
            );
            let obj: kube::api::DynamicObject = serde_json::from_value(json!({
                "apiVersion": "kubeposture.io/v1alpha1", "kind": "SecurityPolicy",
                "metadata": {"name": name}, "spec": spec
            }))
            .unwrap();
            let err = raw
                .create(&PostParams::default(), &obj)
                .await
                .expect_err("schema refuses it");
            assert_invalid(err, field);
            return;
        }
    };
    let err = api
        .create(&PostParams::default(), &body)
        .await
        .expect_err("schema refuses it");
    assert_invalid(err, field);
}

fn assert_invalid(err: kube::Error, field: &str) {
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 422, "{s:?}");
            assert!(
                s.message.contains(field),
                "message names {field}: {}",
                s.message
            );
        }
        other => panic!("expected 422, got {other}"),
    }
}

#[tokio::test]
async fn schema_refuses_invalid_policies() {
    let client = admin().await;
    install_crds(&client).await.unwrap();
    let api: Api<SecurityPolicy> = Api::all(client);
    let p = prefix("schema");
    refused(
        &api,
        &format!("{p}-a"),
        json!({"failureThreshold": "urgent"}),
        "failureThreshold",
    )
    .await;
    refused(
        &api,
        &format!("{p}-b"),
        json!({"checks": {"include": ["rbac-001"]}}),
        "include",
    )
    .await;
    refused(
        &api,
        &format!("{p}-c"),
        json!({"severityOverrides": [{"check": "API-015", "severity": "meh"}]}),
        "severity",
    )
    .await;
    let many: Vec<String> = (0..201).map(|i| format!("RBAC-{:03}", i % 999)).collect();
    refused(
        &api,
        &format!("{p}-d"),
        json!({"checks": {"exclude": many}}),
        "exclude",
    )
    .await;
    refused(
        &api,
        &format!("{p}-e"),
        json!({"exceptions": [{"check": "any", "reason": "x"}]}),
        "check",
    )
    .await;
    refused(
        &api,
        &format!("{p}-f"),
        json!({"interval": "ten minutes"}),
        "interval",
    )
    .await;
    refused(
        &api,
        &format!("{p}-g"),
        json!({"findingLimit": 100000}),
        "findingLimit",
    )
    .await;
    refused(
        &api,
        &format!("{p}-h"),
        json!({"exceptions": [{"check": "RBAC-001"}]}),
        "reason",
    )
    .await;
}

#[tokio::test]
async fn samples_are_accepted() {
    let client = admin().await;
    install_crds(&client).await.unwrap();
    let api: Api<SecurityPolicy> = Api::all(client);
    let dir = repo().join("config/samples");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let policy: SecurityPolicy = kube_posture::yaml::from_str(&text).unwrap();
        let pp = PostParams {
            dry_run: true,
            ..Default::default()
        };
        api.create(&pp, &policy)
            .await
            .unwrap_or_else(|e| panic!("{} refused: {e}", path.display()));
        n += 1;
    }
    assert!(n >= 4, "config/samples holds the sample policies");
}
