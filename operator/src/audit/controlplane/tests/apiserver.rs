//! API-001, 002, 004…008, 015…027, 030: authentication, authorization, logging and files.

use super::*;
use crate::audit::testutil::{audit, audit_with, checks, ids};
use crate::catalog::{Category, Severity};
use crate::policy::EffectivePolicy;

#[test]
fn a_hardened_apiserver_has_no_findings() {
    assert!(apiserver(&[]).is_empty(), "{:?}", apiserver(&[]));
}

#[test]
fn api_001_anonymous_auth_defaults_to_true() {
    let r = audit(&apiserver_pod(&["!--anonymous-auth"]));
    assert_eq!(ids(&r), ["API-001 Pod kube-system/kube-apiserver-cp1"]);
    let f = of(&r, "API-001")[0];
    assert_eq!(f.evidence, ["--anonymous-auth: (unset, default true)"]);
    assert_eq!(f.category, Category::Apiserver);
    assert!(
        f.remediation.contains("--anonymous-auth=false")
            && f.remediation
                .contains("/etc/kubernetes/manifests/kube-apiserver.yaml on node cp1")
            && f.remediation.contains("apiServer.extraArgs"),
        "{}",
        f.remediation
    );
    assert_eq!(apiserver(&["--anonymous-auth=true"]), ["API-001"]);
}

#[test]
fn api_001_a_bare_boolean_is_true_and_a_separate_false_is_a_stray_argument() {
    assert_eq!(apiserver(&["--anonymous-auth"]), ["API-001"]);
    let r = audit(&apiserver_pod(&["--anonymous-auth", "false"]));
    assert_eq!(checks(&r), ["API-001"]);
    assert_eq!(of(&r, "API-001")[0].evidence, ["--anonymous-auth=true"]);
    assert!(apiserver(&["--anonymous-auth=False"]).is_empty());
}

/// The kube-apiserver Pod with `argv` as is (repeated flags kept).
fn apiserver_argv(image: &str, argv: &[String]) -> String {
    pod("kube-apiserver-cp1", "kube-apiserver", image, argv, "")
}

#[test]
fn api_001_the_last_occurrence_wins() {
    let mut argv = with(SECURE_APISERVER, &["!--anonymous-auth"]);
    argv.extend([
        "--anonymous-auth=false".into(),
        "--anonymous-auth=true".into(),
    ]);
    assert_eq!(
        checks(&audit(&apiserver_argv(APISERVER_IMAGE, &argv))),
        ["API-001"]
    );
    argv.push("--anonymous-auth=false".into());
    assert!(checks(&audit(&apiserver_argv(APISERVER_IMAGE, &argv))).is_empty());
}

#[test]
fn api_001_is_not_assessed_when_a_structured_authentication_config_decides() {
    let structured = with(
        SECURE_APISERVER,
        &[
            "!--anonymous-auth",
            "--authentication-config=/etc/kubernetes/authn.yaml",
        ],
    );
    for image in [
        "registry.k8s.io/kube-apiserver:v1.32.0",
        "kube-apiserver:latest",
    ] {
        let r = audit(&apiserver_argv(image, &structured));
        assert!(checks(&r).is_empty(), "{image}");
        assert!(
            not_assessed(&r)
                .iter()
                .any(|n| n.starts_with("apiserver: ") && n.contains("--authentication-config")),
            "{:?}",
            not_assessed(&r)
        );
    }
    // Before 1.31 the file cannot configure anonymous access: the flag's default applies.
    assert_eq!(
        checks(&audit(&apiserver_argv(APISERVER_IMAGE, &structured))),
        ["API-001"]
    );
    // An explicit flag still decides (the API server refuses it alongside an anonymous
    // section in the file).
    let explicit = with(
        &structured.iter().map(String::as_str).collect::<Vec<_>>(),
        &["--anonymous-auth=true"],
    );
    let r = audit(&apiserver_argv(
        "registry.k8s.io/kube-apiserver:v1.32.0",
        &explicit,
    ));
    assert_eq!(checks(&r), ["API-001"]);
}

#[test]
fn api_002_static_token_file() {
    assert_eq!(
        apiserver(&["--token-auth-file=/etc/kubernetes/tokens.csv"]),
        ["API-002"]
    );
    assert_eq!(
        apiserver(&["--token-auth-file", "/etc/tokens.csv"]),
        ["API-002"]
    );
    assert!(
        apiserver(&["--token-auth-file="]).is_empty(),
        "empty = unset"
    );
}

#[test]
fn api_004_005_kubelet_client_certificate_and_ca() {
    let r = audit(&apiserver_pod(&["!--kubelet-client-key"]));
    assert_eq!(checks(&r), ["API-004"]);
    assert_eq!(
        of(&r, "API-004")[0].evidence,
        [
            "--kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt",
            "--kubelet-client-key: (unset)"
        ]
    );
    assert_eq!(
        apiserver(&["!--kubelet-certificate-authority"]),
        ["API-005"]
    );
}

#[test]
fn api_006_007_008_authorization_mode() {
    let r = audit(&apiserver_pod(&["!--authorization-mode"]));
    assert_eq!(checks(&r), ["API-006", "API-007", "API-008"]);
    assert_eq!(
        of(&r, "API-006")[0].evidence,
        ["--authorization-mode: (unset, default AlwaysAllow)"]
    );
    assert_eq!(of(&r, "API-006")[0].severity, Severity::Critical);
    assert_eq!(
        apiserver(&["--authorization-mode=AlwaysAllow,Node,RBAC"]),
        ["API-006"]
    );
    assert_eq!(apiserver(&["--authorization-mode=RBAC"]), ["API-007"]);
    assert_eq!(
        apiserver(&["--authorization-mode=Node,Webhook"]),
        ["API-008"]
    );
    assert!(apiserver(&["--authorization-mode=Node,RBAC,Webhook"]).is_empty());
}

#[test]
fn api_006_repeated_authorization_modes_add_up_as_in_pflag() {
    let mut argv = with(SECURE_APISERVER, &["--authorization-mode=AlwaysAllow"]);
    argv.push("--authorization-mode=Node,RBAC".into());
    let r = audit(&apiserver_argv(APISERVER_IMAGE, &argv));
    assert_eq!(checks(&r), ["API-006"]);
    assert_eq!(
        of(&r, "API-006")[0].evidence,
        ["--authorization-mode=AlwaysAllow --authorization-mode=Node,RBAC"]
    );
}

#[test]
fn api_006_007_008_are_not_assessed_with_a_structured_authorization_config() {
    let r = audit(&apiserver_pod(&[
        "!--authorization-mode",
        "--authorization-config=/etc/kubernetes/authz.yaml",
    ]));
    assert!(checks(&r).is_empty());
    assert!(
        not_assessed(&r)
            .iter()
            .any(|n| n.starts_with("apiserver: ") && n.contains("API-006, API-007 and API-008")),
        "{:?}",
        not_assessed(&r)
    );
}

#[test]
fn api_015_profiling() {
    assert_eq!(apiserver(&["!--profiling"]), ["API-015"]);
    assert_eq!(apiserver(&["--profiling"]), ["API-015"]);
    assert_eq!(apiserver(&["--profiling", "false"]), ["API-015"]);
    assert_eq!(apiserver(&["--profiling=true"]), ["API-015"]);
}

#[test]
fn api_016_without_an_audit_log_017_to_019_do_not_apply() {
    let r = audit(&apiserver_pod(&[
        "!--audit-log-path",
        "!--audit-log-maxage",
        "!--audit-log-maxbackup",
        "!--audit-log-maxsize",
    ]));
    assert_eq!(checks(&r), ["API-016"]);
    assert_eq!(
        apiserver(&["--audit-log-path="]),
        ["API-016"],
        "empty = unset"
    );
}

#[test]
fn api_017_to_019_retention_below_the_minimum_or_unset() {
    assert_eq!(apiserver(&["--audit-log-maxage=7"]), ["API-017"]);
    assert_eq!(apiserver(&["!--audit-log-maxbackup"]), ["API-018"]);
    assert_eq!(apiserver(&["--audit-log-maxsize=50"]), ["API-019"]);
    assert!(apiserver(&["--audit-log-maxage=365", "--audit-log-maxsize=200"]).is_empty());
    // Auditing to stdout: retention is someone else's concern.
    assert!(
        apiserver(&[
            "--audit-log-path=-",
            "!--audit-log-maxage",
            "!--audit-log-maxbackup",
            "!--audit-log-maxsize"
        ])
        .is_empty()
    );
    let r = audit(&apiserver_pod(&["--audit-log-maxage=7"]));
    assert_eq!(
        of(&r, "API-017")[0].evidence,
        [
            "--audit-log-maxage=7",
            "--audit-log-path=/var/log/kubernetes/audit/audit.log"
        ]
    );
}

#[test]
fn api_021_service_account_lookup() {
    assert_eq!(apiserver(&["--service-account-lookup=false"]), ["API-021"]);
    assert!(apiserver(&["--service-account-lookup=true"]).is_empty());
    assert!(apiserver(&["--service-account-lookup"]).is_empty());
}

#[test]
fn api_022_to_027_required_files() {
    assert_eq!(apiserver(&["!--service-account-key-file"]), ["API-022"]);
    assert_eq!(apiserver(&["!--etcd-keyfile"]), ["API-023"]);
    assert_eq!(apiserver(&["!--tls-cert-file"]), ["API-024"]);
    assert_eq!(apiserver(&["--client-ca-file="]), ["API-025"]);
    assert_eq!(apiserver(&["!--etcd-cafile"]), ["API-026"]);
    let r = audit(&apiserver_pod(&["!--encryption-provider-config"]));
    assert_eq!(checks(&r), ["API-027"]);
    assert_eq!(
        of(&r, "API-027")[0].category,
        Category::Etcd,
        "an etcd concern"
    );
}

#[test]
fn api_030_token_expiration_extension() {
    assert_eq!(
        apiserver(&["!--service-account-extend-token-expiration"]),
        ["API-030"]
    );
    assert_eq!(
        apiserver(&["--service-account-extend-token-expiration=true"]),
        ["API-030"]
    );
}

#[test]
fn one_finding_per_replica() {
    let argv = with(SECURE_APISERVER, &["!--profiling"]);
    let yaml = ["cp1", "cp2", "cp3"]
        .map(|n| {
            pod(
                &format!("kube-apiserver-{n}"),
                "kube-apiserver",
                APISERVER_IMAGE,
                &argv,
                "",
            )
        })
        .join("---");
    assert_eq!(
        ids(&audit(&yaml)),
        [
            "API-015 Pod kube-system/kube-apiserver-cp1",
            "API-015 Pod kube-system/kube-apiserver-cp2",
            "API-015 Pod kube-system/kube-apiserver-cp3"
        ]
    );
}

#[test]
fn flags_split_between_command_and_args_are_joined() {
    let yaml = format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{namespace: kube-system, name: kube-apiserver-cp1, labels: {{component: kube-apiserver}}}}
spec:
  containers:
  - name: kube-apiserver
    image: "{APISERVER_IMAGE}"
    command: [/usr/local/bin/kube-apiserver, --profiling=true]
    args: {}
"#,
        serde_json::to_string(&with(SECURE_APISERVER, &["!--profiling"])).unwrap()
    );
    assert_eq!(checks(&audit(&yaml)), ["API-015"]);
}

#[test]
fn disabled_checks_do_not_run() {
    let spec = crate::api::SecurityPolicySpec {
        checks: crate::api::CheckSelection {
            include: vec![],
            exclude: vec!["API-015".into(), "API-001".into()],
        },
        ..Default::default()
    };
    let policy = EffectivePolicy::compile("p", &spec).unwrap();
    let r = audit_with(
        &apiserver_pod(&["!--profiling", "!--anonymous-auth"]),
        &policy,
    );
    assert!(checks(&r).is_empty());
}

#[test]
fn flags_in_a_shell_wrapper_are_read() {
    let script = format!(
        "exec /usr/local/bin/kube-apiserver {}",
        with(SECURE_APISERVER, &["--profiling=true"]).join(" ")
    );
    let argv = vec!["-c".to_string(), script];
    let yaml = pod(
        "kube-apiserver-cp1",
        "kube-apiserver",
        APISERVER_IMAGE,
        &argv,
        "",
    )
    .replace("command: [\"kube-apiserver\",", "command: [\"/bin/sh\",");
    assert_eq!(checks(&audit(&yaml)), ["API-015"]);
}
