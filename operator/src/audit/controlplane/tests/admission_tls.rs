//! API-003 and API-009…014 (admission plugins), API-029, API-031 and API-032 (transport).

use super::*;
use crate::audit::testutil::{audit, checks};

#[test]
fn api_003_deny_service_external_ips_from_1_21() {
    let plugins = "--enable-admission-plugins=NodeRestriction,EventRateLimit,AlwaysPullImages";
    assert_eq!(apiserver(&[plugins]), ["API-003"]);
    let at = |image: &str| {
        let p = pod(
            "kube-apiserver-cp1",
            "kube-apiserver",
            image,
            &with(SECURE_APISERVER, &[plugins]),
            "",
        );
        checks(&audit(&p))
    };
    assert!(
        at("k8s.gcr.io/kube-apiserver:v1.20.2").is_empty(),
        "1.20 lacks the plugin"
    );
    assert_eq!(at("k8s.gcr.io/kube-apiserver:v1.21.0"), ["API-003"]);
    assert_eq!(
        at("my.registry/kube-apiserver:latest"),
        ["API-003"],
        "unknown version: runs"
    );
}

#[test]
fn api_009_to_014_admission_plugins() {
    let enable = |list: &str| format!("--enable-admission-plugins={list}");
    let all = "NodeRestriction,EventRateLimit,AlwaysPullImages,DenyServiceExternalIPs";
    assert_eq!(
        apiserver(&[&enable(
            "NodeRestriction,AlwaysPullImages,DenyServiceExternalIPs"
        )]),
        ["API-009"]
    );
    assert_eq!(
        apiserver(&[&enable(&format!("{all},AlwaysAdmit"))]),
        ["API-010"]
    );
    assert_eq!(
        apiserver(&[&enable(
            "NodeRestriction,EventRateLimit,DenyServiceExternalIPs"
        )]),
        ["API-011"]
    );
    assert_eq!(
        apiserver(&["--disable-admission-plugins=ServiceAccount"]),
        ["API-012"]
    );
    assert_eq!(
        apiserver(&["--disable-admission-plugins=NamespaceLifecycle"]),
        ["API-013"]
    );
    assert_eq!(
        apiserver(&[&enable(
            "EventRateLimit,AlwaysPullImages,DenyServiceExternalIPs"
        )]),
        ["API-014"]
    );
    // Defaults count without being named; disabling a plugin nobody needs changes nothing.
    assert!(apiserver(&["--disable-admission-plugins=DefaultStorageClass"]).is_empty());
}

#[test]
fn api_009_to_014_admission_control_is_the_complete_list() {
    let r = audit(&apiserver_pod(&[
        "!--enable-admission-plugins",
        "--admission-control=NodeRestriction,AlwaysAdmit",
    ]));
    assert_eq!(
        checks(&r),
        [
            "API-003", "API-009", "API-010", "API-011", "API-012", "API-013"
        ]
    );
    let f = of(&r, "API-012")[0];
    assert_eq!(
        f.evidence,
        ["--admission-control=NodeRestriction,AlwaysAdmit"]
    );
    // The remediation is the catalog's, which covers both lists; the evidence names the one
    // this API server uses.
    assert!(
        f.remediation.starts_with(
            "Remove ServiceAccount from --disable-admission-plugins (where the API server takes \
             the older --admission-control list, add it there) in the kube-apiserver command line"
        ),
        "{}",
        f.remediation
    );
}

#[test]
fn api_029_weak_cipher_suites() {
    let r = audit(&apiserver_pod(&[
        "--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    ]));
    assert_eq!(checks(&r), ["API-029"]);
    assert!(
        of(&r, "API-029")[0]
            .message
            .ends_with("TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
        "{}",
        of(&r, "API-029")[0].message
    );
    assert!(
        apiserver(&["!--tls-cipher-suites"]).is_empty(),
        "Go defaults"
    );
    assert!(
        apiserver(&[
            "--tls-cipher-suites=TLS_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"
        ])
        .is_empty()
    );
}

#[test]
fn api_031_insecure_port_only_when_set() {
    assert_eq!(apiserver(&["--insecure-port=8080"]), ["API-031"]);
    assert_eq!(apiserver(&["--insecure-bind-address=0.0.0.0"]), ["API-031"]);
    assert!(apiserver(&["--insecure-port=0"]).is_empty());
    let r = audit(&apiserver_pod(&[
        "--insecure-port=8080",
        "--insecure-bind-address=127.0.0.1",
    ]));
    assert_eq!(
        of(&r, "API-031")[0].evidence,
        ["--insecure-port=8080", "--insecure-bind-address=127.0.0.1"]
    );
}

#[test]
fn api_032_tls_below_1_2() {
    assert_eq!(apiserver(&["--tls-min-version=VersionTLS10"]), ["API-032"]);
    assert_eq!(apiserver(&["--tls-min-version=VersionTLS11"]), ["API-032"]);
    assert!(apiserver(&["--tls-min-version=VersionTLS13"]).is_empty());
    assert!(
        apiserver(&["!--tls-min-version"]).is_empty(),
        "API server minimum is 1.2"
    );
}
